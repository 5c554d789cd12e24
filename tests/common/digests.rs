//! Output digests: every file of a written store (or every metadata document of a plan) by path →
//! SHA-256, compared with the manifest committed under `tests/digests/`. They pin the bytes the
//! code wrote when the manifest was taken, so a refactor that changes any output byte fails here.
//! `UPDATE_DIGESTS=1` rewrites a manifest (only for a deliberate output change, said in the commit).
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The first 128 bits of the SHA-256, in hex (plenty to tell outputs apart, a third of the size).
fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file below `dir` (the journal aside: it names the input's location) → SHA-256.
pub fn of_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut t = super::s3::tree(dir);
    assert!(
        t.remove(".eopf-geozarr-journal.json").is_some(),
        "{}: no journal: not a complete output of ours",
        dir.display()
    );
    t.into_iter().map(|(k, v)| (k, hex(&v))).collect()
}

/// Every metadata document of a plan, as the writer serialises it → SHA-256.
pub fn of_plan(plan: &eopf_geozarr::convert::OutputPlan) -> BTreeMap<String, String> {
    eopf_geozarr::convert::writer::metadata_documents(plan)
        .into_iter()
        .map(|(k, v)| (k, hex(&serde_json::to_vec_pretty(&v).unwrap())))
        .collect()
}

fn manifest(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/digests")
        .join(format!("{case}.json"))
}

/// Compare `got` with the committed manifest of `case` and name every file that differs.
pub fn check(case: &str, got: &BTreeMap<String, String>) {
    let path = manifest(case);
    if std::env::var("UPDATE_DIGESTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(got).unwrap() + "\n").unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_DIGESTS=1 writes it)", path.display()));
    let want: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    let mut diffs = vec![];
    for (k, v) in &want {
        match got.get(k) {
            None => diffs.push(format!("missing: {k}")),
            Some(g) if g != v => diffs.push(format!("changed: {k}")),
            _ => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("new: {k}"));
    }
    assert!(
        diffs.is_empty(),
        "{case}: the output is no longer byte-identical to {} ({} of {} files):\n  {}",
        path.display(),
        diffs.len(),
        want.len(),
        diffs.join("\n  ")
    );
    assert!(!want.is_empty(), "{case}: an empty manifest pins nothing");
}
