//! Bad input through the binary: one clear `error:` line naming the path and the problem, exit 1.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::{Path, PathBuf};

/// A v2 (N0511) demo product: most tests below break its v2 files.
fn demo(dir: &Path) -> PathBuf {
    demo_as(dir, "v2")
}

fn demo_as(dir: &Path, format: &str) -> PathBuf {
    common::demo_at(dir, "demo.zarr", format)
}

/// Drop the consolidated metadata of a v3 store, so that each `zarr.json` is read.
fn unconsolidate_v3(p: &Path) {
    let root = p.join("zarr.json");
    let mut r: serde_json::Value = serde_json::from_slice(&std::fs::read(&root).unwrap()).unwrap();
    r.as_object_mut().unwrap().remove("consolidated_metadata");
    std::fs::write(&root, serde_json::to_vec(&r).unwrap()).unwrap();
}

#[test]
fn bad_v3_input_gets_what_bad_v2_input_gets() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_as(dir.path(), "v3");
    let png = dir.path().join("x.png");
    let out = dir.path().join("out.zarr");
    // A corrupt chunk (`/` chunk keys, `bytes` + `zstd`).
    let chunk = p.join("measurements/reflectance/r60m/b04/c/0/0");
    let good = std::fs::read(&chunk).unwrap();
    let mut bytes = good.clone();
    for b in bytes.iter_mut().skip(8).step_by(5) {
        *b ^= 0xA5;
    }
    std::fs::write(&chunk, &bytes).unwrap();
    fails_with(
        &["preview", p.to_str().unwrap(), "-o", png.to_str().unwrap()],
        &[
            "measurements/reflectance/r60m/b04",
            "chunk 0.0",
            "could not be decoded",
        ],
    );
    assert!(!png.exists());
    // A truncated one.
    std::fs::write(&chunk, &good[..good.len() / 2]).unwrap();
    fails_with(
        &["preview", p.to_str().unwrap(), "-o", png.to_str().unwrap()],
        &["measurements/reflectance/r60m/b04", "could not be decoded"],
    );
    std::fs::write(&chunk, &good).unwrap();
    // Missing float32 coordinates read as their NaN fill: not a pixel grid.
    let x = p.join("measurements/reflectance/r20m/x/c/0");
    let xb = std::fs::read(&x).unwrap();
    std::fs::remove_file(&x).unwrap();
    fails_with(
        &[
            "convert-s2-optimized",
            p.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        &["measurements/reflectance/r20m/x", "NaN", "must be finite"],
    );
    assert!(
        !out.join("zarr.json").exists(),
        "nothing that could pass for an output"
    );
    std::fs::write(&x, xb).unwrap();
    // Invalid JSON in a node document (read by listing).
    unconsolidate_v3(&p);
    let doc = p.join("measurements/reflectance/r20m/b05/zarr.json");
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, &text[..text.len() / 2]).unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &[
            "measurements/reflectance/r20m/b05/zarr.json",
            "not valid JSON",
        ],
    );
    // An unknown data type and an unknown codec name the array.
    std::fs::write(&doc, text.replace("\"uint16\"", "\"uint12_magic\"")).unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &["measurements/reflectance/r20m/b05", "data type"],
    );
    std::fs::write(&doc, text.replace("\"zstd\"", "\"lzma-magic\"")).unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &["measurements/reflectance/r20m/b05", "unsupported codec"],
    );
}

/// Runs `args`, expects exit 1 and a single `error:` line containing every `needles`.
fn fails_with(args: &[&str], needles: &[&str]) {
    let o = common::run(args);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{args:?}: {n:?} not in {err}");
    }
}

#[test]
fn path_that_does_not_exist() {
    fails_with(
        &["info", "/nonexistent/product.zarr"],
        &["/nonexistent/product.zarr", "no such file or directory"],
    );
    fails_with(
        &["preview", "/nonexistent/p.zarr", "-o", "/tmp/x.png"],
        &["/nonexistent/p.zarr", "no such file"],
    );
}

#[test]
fn folder_that_is_not_zarr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("readme.txt"), "hello").unwrap();
    let p = dir.path().to_str().unwrap();
    fails_with(
        &["info", p],
        &[p, "not a Zarr store", "no .zgroup, .zarray or zarr.json"],
    );
    let f = dir.path().join("readme.txt");
    fails_with(
        &["info", f.to_str().unwrap()],
        &["readme.txt", "not a Zarr store"],
    );
}

#[test]
fn invalid_json_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path());
    // Without consolidated metadata the reader lists the store and parses each document.
    std::fs::remove_file(p.join(".zmetadata")).unwrap();
    let bad = p.join("measurements/reflectance/r20m/b05/.zarray");
    std::fs::write(&bad, "{\"shape\": [61, 61], \"chunks\": ").unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &[
            "measurements/reflectance/r20m/b05/.zarray",
            "invalid metadata",
            "not valid JSON",
        ],
    );
    // Invalid consolidated metadata is reported with its path too.
    std::fs::write(p.join(".zmetadata"), "[1, 2").unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &[".zmetadata", "not valid JSON"],
    );
}

#[test]
fn truncated_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path());
    let chunk = p.join("measurements/reflectance/r60m/b04/0.0");
    let bytes = std::fs::read(&chunk).unwrap();
    std::fs::write(&chunk, &bytes[..bytes.len() / 2]).unwrap();
    let png = dir.path().join("x.png");
    fails_with(
        &["preview", p.to_str().unwrap(), "-o", png.to_str().unwrap()],
        &[
            "measurements/reflectance/r60m/b04",
            "chunk 0.0",
            "could not be decoded",
        ],
    );
    assert!(!png.exists(), "no PNG may be written on failure");
}

#[test]
fn corrupt_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path());
    // Garbage inside the compressed stream of a reflectance chunk breaks the preview.
    let chunk = p.join("measurements/reflectance/r60m/b04/0.0");
    let mut bytes = std::fs::read(&chunk).unwrap();
    for b in bytes.iter_mut().skip(32).step_by(7) {
        *b ^= 0xA5;
    }
    std::fs::write(&chunk, &bytes).unwrap();
    let png = dir.path().join("x.png");
    fails_with(
        &["preview", p.to_str().unwrap(), "-o", png.to_str().unwrap()],
        &[
            "measurements/reflectance/r60m/b04",
            "chunk 0.0",
            "could not be decoded",
        ],
    );
    assert!(!png.exists());
    // A broken coordinate chunk breaks `info` (it reads x/y for the bbox).
    let x = p.join("measurements/reflectance/r10m/x/0");
    let bytes = std::fs::read(&x).unwrap();
    std::fs::write(&x, &bytes[..bytes.len() - 9]).unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &[
            "measurements/reflectance/r10m/x",
            "chunk 0",
            "could not be decoded",
        ],
    );
}

#[test]
fn unsupported_codec() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path());
    std::fs::remove_file(p.join(".zmetadata")).unwrap();
    let zarray = p.join("measurements/reflectance/r10m/b02/.zarray");
    let text = std::fs::read_to_string(&zarray)
        .unwrap()
        .replace("\"blosc\"", "\"lzma-magic\"");
    std::fs::write(&zarray, text).unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &["measurements/reflectance/r10m/b02", "unsupported codec"],
    );
}

#[test]
fn bad_demo_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.zarr");
    fails_with(
        &["demo", out.to_str().unwrap(), "--size", "1000"],
        &["--size 1000", "multiple of 6"],
    );
    assert!(!out.exists());
    fails_with(
        &[
            "demo",
            out.to_str().unwrap(),
            "--layout",
            "/nonexistent/layout.json",
        ],
        &["/nonexistent/layout.json", "no such file"],
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"members\": {\"../escape\": {\"members\": {}}}}").unwrap();
    fails_with(
        &[
            "demo",
            out.to_str().unwrap(),
            "--layout",
            bad.to_str().unwrap(),
        ],
        &["bad.json", "unsafe or reserved member name"],
    );
    assert!(!out.exists() && !dir.path().join("escape").exists());
    let existing = demo(dir.path());
    fails_with(
        &["demo", existing.to_str().unwrap()],
        &["demo.zarr", "already exists"],
    );
}

#[test]
fn unsafe_node_names_in_consolidated_metadata_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path());
    let zmeta = p.join(".zmetadata");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&zmeta).unwrap()).unwrap();
    let m = v["metadata"].as_object_mut().unwrap();
    m.insert(
        "../escape/.zgroup".into(),
        serde_json::json!({"zarr_format": 2}),
    );
    std::fs::write(&zmeta, serde_json::to_vec(&v).unwrap()).unwrap();
    fails_with(
        &["info", p.to_str().unwrap()],
        &["demo.zarr", "unsafe node name", "../escape"],
    );
    let out = dir.path().join("out.zarr");
    fails_with(
        &[
            "convert-s2-optimized",
            p.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        &["unsafe node name"],
    );
    assert!(!out.exists() && !dir.path().join("escape").exists());
}

/// A path or URL of a scheme we do not read is one clear error naming it, for every command that
/// takes a store, and nothing is written.
#[test]
fn unsupported_url_schemes_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.zarr");
    let out = out.to_str().unwrap();
    for args in [
        vec!["info", "gs://bucket/p.zarr"],
        vec!["validate", "az://container/p.zarr"],
        vec!["convert-s2-optimized", "gs://bucket/p.zarr", out],
        vec!["convert", "s3a://bucket/p.zarr", out],
        vec!["demo", "gs://bucket/demo.zarr"],
        vec!["preview", "gs://bucket/p.zarr", "-o", out],
    ] {
        let scheme = args
            .iter()
            .find_map(|a| a.split_once("://").map(|(s, _)| s))
            .unwrap();
        fails_with(
            &args,
            &[&format!("unsupported URL scheme {scheme}://"), "s3://"],
        );
    }
    assert!(!dir.path().join("out.zarr").exists());
}
