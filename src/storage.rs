//! Local storage helpers shared by the writers: JSON documents into a `zarrs` store, and the state
//! of an output path, the reference's path helpers, and `consolidate_metadata`. (Object storage
//! arrives with the S3 work.)

use std::path::Path;

use serde_json::Value;
use zarrs::storage::{StoreKey, WritableStorageTraits};

/// The store a conversion writes to: any `zarrs` store that can read, write and list (local
/// folders today; the object-store backend plugs in here).
pub type OutStore = zarrs::storage::ReadableWritableListableStorage;

use crate::error::{Error, Result};

/// Write a JSON document (pretty, strict JSON) at `key` of any writable `zarrs` store; `at` names
/// the store in errors.
pub fn put_json<S: WritableStorageTraits + ?Sized>(
    store: &S,
    key: &str,
    v: &Value,
    at: &str,
) -> Result<()> {
    let k = StoreKey::new(key).map_err(|e| Error::invalid(at, e))?;
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::invalid(at, e))?;
    store
        .set(&k, bytes.into())
        .map_err(|e| Error::io(format!("{at}/{key}"), e))
}

/// Whether an output path holds something: `false` when it is missing or an empty directory.
pub fn output_in_use(path: &Path) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    if !path.is_dir() {
        return Ok(true);
    }
    Ok(path
        .read_dir()
        .map_err(|e| Error::io(path.display(), e))?
        .next()
        .is_some())
}

/// The reference's `is_s3_path`: true iff the path starts with `s3://` (case-sensitive).
///
/// ```
/// use eopf_geozarr::storage::is_s3_path;
/// assert!(is_s3_path("s3://bucket/key.zarr"));
/// assert!(!is_s3_path("S3://bucket") && !is_s3_path("gs://b/k") && !is_s3_path("s3a://b/k"));
/// ```
pub fn is_s3_path(p: &str) -> bool {
    p.starts_with("s3://")
}

/// The reference's `parse_s3_path`: `(bucket, key)`; anything but `s3://` is an error.
///
/// ```
/// use eopf_geozarr::storage::parse_s3_path;
/// assert_eq!(parse_s3_path("s3://my-bucket/data/file.zarr").unwrap(), ("my-bucket".into(), "data/file.zarr".into()));
/// assert_eq!(parse_s3_path("s3://bucket/").unwrap(), ("bucket".into(), "".into()));
/// assert!(parse_s3_path("https://bucket/key").is_err());
/// ```
pub fn parse_s3_path(p: &str) -> Result<(String, String)> {
    let rest = p
        .strip_prefix("s3://")
        .ok_or_else(|| Error::Input(format!("Invalid S3 path: {p}")))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((bucket.to_string(), key.to_string()))
}

/// The reference's `normalize_s3_path`: empty segments dropped; `s3://` alone and non-S3 paths
/// unchanged.
///
/// ```
/// use eopf_geozarr::storage::normalize_s3_path;
/// assert_eq!(normalize_s3_path("s3://bucket/path//to//file.zarr"), "s3://bucket/path/to/file.zarr");
/// assert_eq!(normalize_s3_path("s3://"), "s3://");
/// ```
pub fn normalize_s3_path(p: &str) -> String {
    match p.strip_prefix("s3://") {
        Some("") | None => p.to_string(),
        Some(rest) => {
            let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            format!("s3://{}", parts.join("/"))
        }
    }
}

/// The reference's `normalize_path`: S3 paths as [`normalize_s3_path`], others with
/// `os.path.normpath`'s rules (collapse `//` and `.`, resolve `..` lexically, drop a trailing `/`).
///
/// ```
/// use eopf_geozarr::storage::normalize_path;
/// assert_eq!(normalize_path("/data//out/./a/../b.zarr/"), "/data/out/b.zarr");
/// assert_eq!(normalize_path("rel/../x"), "x");
/// assert_eq!(normalize_path(""), ".");
/// ```
pub fn normalize_path(p: &str) -> String {
    if is_s3_path(p) {
        return normalize_s3_path(p);
    }
    let absolute = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|s| *s != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The reference's `consolidate_metadata(store, path)`: write inline consolidated metadata
/// (every descendant's `zarr.json`, by path relative to `group`) into `group`'s `zarr.json` of a
/// local Zarr v3 store. Errors name the file that cannot be read or parsed.
pub fn consolidate_metadata(store_path: &Path, group: &str) -> Result<()> {
    let rel = group.trim_matches('/');
    let gdir = if rel.is_empty() {
        store_path.to_path_buf()
    } else {
        store_path.join(rel)
    };
    let read = |p: &Path| -> Result<Value> {
        let text = std::fs::read_to_string(p).map_err(|e| Error::io(p.display(), e))?;
        serde_json::from_str(&text).map_err(|e| Error::invalid(p.display(), e))
    };
    let gfile = gdir.join("zarr.json");
    let mut gdoc = read(&gfile)?;
    if gdoc.get("node_type").and_then(Value::as_str) != Some("group") {
        return Err(Error::Input(format!(
            "{}: not a Zarr v3 group",
            gfile.display()
        )));
    }
    let mut meta = serde_json::Map::new();
    let mut stack = vec![gdir.clone()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| Error::io(d.display(), e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        entries.sort();
        for child in entries {
            let f = child.join("zarr.json");
            if f.is_file() {
                let mut doc = read(&f)?;
                if let Some(o) = doc.as_object_mut() {
                    o.remove("consolidated_metadata");
                }
                let key = child
                    .strip_prefix(&gdir)
                    .map_err(|e| Error::invalid(child.display(), e))?
                    .to_string_lossy()
                    .replace('\\', "/");
                meta.insert(key, doc);
                stack.push(child);
            } else if child.is_dir() {
                // Implicit groups (no zarr.json) and chunk folders: only descend into groups.
                continue;
            }
        }
    }
    gdoc["consolidated_metadata"] =
        serde_json::json!({"kind": "inline", "must_understand": false, "metadata": meta});
    let bytes = serde_json::to_vec_pretty(&gdoc).map_err(|e| Error::invalid(gfile.display(), e))?;
    std::fs::write(&gfile, bytes).map_err(|e| Error::io(gfile.display(), e))
}

/// Remove `key` from a store (missing is fine).
pub fn erase_key<S: WritableStorageTraits + ?Sized>(store: &S, key: &str, at: &str) -> Result<()> {
    let k = StoreKey::new(key).map_err(|e| Error::invalid(at, e))?;
    store
        .erase(&k)
        .map_err(|e| Error::io(format!("{at}/{key}"), e))
}
