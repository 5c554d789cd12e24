//! What an existing output location holds, decided before `--overwrite` or `--resume` touches
//! anything: the tool only ever erases or rewrites a Zarr store or an output of its own
//! (README.md "Safety"). A local folder or an S3 prefix holding anything else is refused with the first
//! foreign entry; symbolic links are never followed (a link is itself foreign); a bucket root is
//! never erased.

use std::collections::BTreeSet;
use std::path::Path;

use zarrs::storage::StorePrefix;

use super::{Location, OutStore};
use crate::error::{Error, Result};

/// The record of a conversion of ours at the output's root: in progress (the arrays written so
/// far, for `--resume`) or complete (so that `--resume` knows there is nothing left to do).
pub const JOURNAL: &str = ".eopf-geozarr-journal.json";

/// What an existing output holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// Nothing (missing, an empty folder, or an empty prefix).
    Empty,
    /// A Zarr store (v2 or v3 documents, chunks), with or without our journal.
    Zarr { journal: bool },
    /// Something else: the first entry that is not part of a Zarr store.
    Foreign(String),
}

const METADATA: [&str; 5] = ["zarr.json", ".zgroup", ".zarray", ".zattrs", ".zmetadata"];

/// Whether a key can belong to a Zarr store: a metadata document, our journal, or a chunk key
/// (`c`, `c/0/1`, `0.0`, `0/1`) below a node that has a metadata document (`nodes`: the folders
/// holding one, `""` for the root). An interrupted conversion of ours (`journal`) has chunks and
/// no metadata yet (metadata is written last): there any chunk-shaped key is ours.
fn zarr_key(key: &str, nodes: &BTreeSet<String>, journal: bool) -> bool {
    if key == JOURNAL {
        return true;
    }
    let parts: Vec<&str> = key.split('/').collect();
    let last = parts.last().copied().unwrap_or("");
    if METADATA.contains(&last) {
        return true;
    }
    let is_index = |p: &str| {
        !p.is_empty()
            && p.split('.')
                .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    };
    // Strip the chunk part (`c` and/or numeric components); what is left must be a node.
    let mut n = parts.len();
    while n > 0 && is_index(parts[n - 1]) {
        n -= 1;
    }
    if n > 0 && parts[n - 1] == "c" {
        n -= 1;
    }
    if n == parts.len() {
        return false;
    }
    let node = parts[..n].join("/");
    journal || nodes.contains(&node)
}

fn classify_keys(keys: &[String]) -> Contents {
    if keys.is_empty() {
        return Contents::Empty;
    }
    let nodes: BTreeSet<String> = keys
        .iter()
        .filter_map(|k| {
            let (dir, name) = k.rsplit_once('/').unwrap_or(("", k.as_str()));
            METADATA.contains(&name).then(|| dir.to_string())
        })
        .collect();
    let journal = keys.iter().any(|k| k == JOURNAL);
    if let Some(k) = keys.iter().find(|k| !zarr_key(k, &nodes, journal)) {
        return Contents::Foreign(k.clone());
    }
    if !nodes.contains("") && !journal {
        // Documents only below the root: not one Zarr store but a folder of them.
        return Contents::Foreign(keys[0].clone());
    }
    Contents::Zarr { journal }
}

/// Every file below a local folder, as `/`-separated keys, sorted; a symbolic link (to a file or
/// a folder, inside or outside) or anything but a file or folder is reported as foreign and not
/// followed.
fn local_keys(root: &Path) -> Result<std::result::Result<Vec<String>, String>> {
    let mut keys = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| Error::io(d.display(), e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::io(d.display(), e))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .map_err(|e| Error::invalid(p.display(), e))?
                .to_string_lossy()
                .replace('\\', "/");
            let ft = e.file_type().map_err(|e| Error::io(p.display(), e))?;
            if ft.is_symlink() {
                return Ok(Err(format!("{rel} (a symbolic link)")));
            } else if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                keys.push(rel);
            } else {
                return Ok(Err(format!("{rel} (not a regular file)")));
            }
        }
    }
    keys.sort();
    Ok(Ok(keys))
}

/// What the output at `loc` (opened as `store`) holds.
pub fn contents(loc: &Location, store: &OutStore, at: &str) -> Result<Contents> {
    let keys = match loc {
        Location::Local(p) => {
            if !p.exists() {
                return Ok(Contents::Empty);
            }
            if !p.is_dir() {
                return Ok(Contents::Foreign(format!("{at} (a file, not a folder)")));
            }
            match local_keys(p)? {
                Ok(k) => k,
                Err(foreign) => return Ok(Contents::Foreign(foreign)),
            }
        }
        _ => {
            let mut keys: Vec<String> = store
                .list_prefix(&StorePrefix::root())
                .map_err(|e| Error::io(at, e))?
                .into_iter()
                .map(|k| k.as_str().to_string())
                .collect();
            keys.sort();
            keys
        }
    };
    Ok(classify_keys(&keys))
}

/// Refuse to erase or rewrite the output unless it is a Zarr store or an output of ours; a bucket
/// root is never erased. `verb` says what would have happened (`overwrite`, `resume`).
pub fn check_erasable(loc: &Location, contents: &Contents, at: &str, verb: &str) -> Result<()> {
    match contents {
        Contents::Empty => Ok(()),
        Contents::Foreign(entry) => Err(Error::Refused(format!(
            "{at}: refusing to {verb}: it holds {entry}, which is not part of a Zarr store; \
             nothing was touched (choose another output)"
        ))),
        Contents::Zarr { .. } => match loc {
            Location::S3 { bucket, key } if key.is_empty() => Err(Error::Refused(format!(
                "{at}: refusing to {verb} the root of bucket {bucket}; nothing was touched \
                 (write to a prefix, e.g. s3://{bucket}/product.zarr)"
            ))),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(keys: &[&str]) -> Contents {
        classify_keys(&keys.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn zarr_stores_and_foreign_entries() {
        assert_eq!(c(&[]), Contents::Empty);
        // v3: documents, `c/…` chunks and shards.
        assert_eq!(
            c(&[
                "zarr.json",
                "a/zarr.json",
                "a/b/zarr.json",
                "a/b/c/0/1",
                "a/s/zarr.json",
                "a/s/c"
            ]),
            Contents::Zarr { journal: false }
        );
        // v2: `.`-separated and `/`-separated chunk keys; our journal.
        assert_eq!(
            c(&[
                ".eopf-geozarr-journal.json",
                ".zgroup",
                ".zmetadata",
                "r/.zarray",
                "r/0.0",
                "q/.zarray",
                "q/1/2"
            ]),
            Contents::Zarr { journal: true }
        );
        // The user's files.
        assert_eq!(
            c(&["sub/data.csv", "thesis.txt"]),
            Contents::Foreign("sub/data.csv".into())
        );
        assert_eq!(
            c(&["zarr.json", "a/zarr.json", "a/notes.txt"]),
            Contents::Foreign("a/notes.txt".into())
        );
        // Chunk-like names where no array is.
        assert_eq!(
            c(&["zarr.json", "photos/2024"]),
            Contents::Foreign("photos/2024".into())
        );
        // An interrupted conversion of ours: chunks and the journal, metadata not yet written.
        assert_eq!(
            c(&[
                ".eopf-geozarr-journal.json",
                "m/r/b02/c/0/0",
                "m/r/b03/c/1/0"
            ]),
            Contents::Zarr { journal: true }
        );
        assert_eq!(
            c(&[
                ".eopf-geozarr-journal.json",
                "m/r/b02/c/0/0",
                "m/readme.txt"
            ]),
            Contents::Foreign("m/readme.txt".into())
        );
        // A folder of stores is not a store.
        assert_eq!(
            c(&["one/zarr.json", "two/zarr.json"]),
            Contents::Foreign("one/zarr.json".into())
        );
    }

    #[test]
    fn symlinks_are_foreign_and_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir_all(out.join("a")).unwrap();
        std::fs::write(out.join("zarr.json"), "{}").unwrap();
        std::fs::write(out.join("a/zarr.json"), "{}").unwrap();
        let outside = d.path().join("precious");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("zarr.json"), "{}").unwrap();
        std::os::unix::fs::symlink(&outside, out.join("a/link")).unwrap();
        let k = local_keys(&out).unwrap();
        assert_eq!(k, Err("a/link (a symbolic link)".to_string()));
    }
}
