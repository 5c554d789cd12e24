//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])
#![allow(dead_code)]

pub mod digests;
pub mod s3;
#[cfg(feature = "gui")]
pub mod ui;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eopf-geozarr"));
    c.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    c
}

/// `eopf-geozarr demo DIR/NAME --size 366 --format FORMAT` (v2 or v3), asserting success.
pub fn demo_at(dir: &Path, name: &str, format: &str) -> PathBuf {
    let p = dir.join(name);
    run_ok(&[
        "demo",
        p.to_str().unwrap(),
        "--size",
        "366",
        "--format",
        format,
    ]);
    p
}

/// Run the binary with `args`.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// [`run`], asserting that the command succeeded (its arguments and standard error otherwise).
pub fn run_ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

fn truthy(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v == "true")
}

/// `../shared/fixtures` (or `$EOPF_FIXTURES`). When it is missing, tests that need it return
/// early after saying so loudly — unless `EOPF_REQUIRE_FIXTURES=1` or `CI=true`, where it fails.
pub fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("EOPF_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.is_dir() {
        return Some(dir);
    }
    if truthy("EOPF_REQUIRE_FIXTURES") || truthy("CI") {
        panic!(
            "fixtures required (CI / EOPF_REQUIRE_FIXTURES) but {} is missing",
            dir.display()
        );
    }
    eprintln!(
        "\n!!!!!!!! FIXTURE TEST DID NOT RUN: {} is missing !!!!!!!!\n",
        dir.display()
    );
    None
}

/// The Python interpreter with zarr-python and xarray (`$EOPF_PYTHON`). Missing: fail under
/// `EOPF_REQUIRE_PYTHON=1` (make test), otherwise skip with a message.
pub fn python() -> Option<PathBuf> {
    let py = std::env::var_os("EOPF_PYTHON").map(PathBuf::from);
    let ok = py.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import zarr, xarray, numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if ok {
        return py;
    }
    if truthy("EOPF_REQUIRE_PYTHON") {
        panic!(
            "EOPF_REQUIRE_PYTHON=1 but $EOPF_PYTHON ({py:?}) cannot import zarr, xarray and numpy; run `make test`"
        );
    }
    eprintln!(
        "SKIPPED: interop test needs $EOPF_PYTHON with zarr-python and xarray (make test sets it up)"
    );
    None
}

/// The wgpu kernels on whatever adapter there is (`--device gpu`). Without one: fail under
/// `EOPF_REQUIRE_GPU=1` (make test, with Mesa lavapipe installed), otherwise skip with a message.
pub fn gpu_kernels() -> Option<eopf_geozarr::kernels::Kernels> {
    match eopf_geozarr::kernels::Kernels::new(eopf_geozarr::kernels::Device::Gpu) {
        Ok(k) => Some(k),
        Err(e) => {
            if truthy("EOPF_REQUIRE_GPU") {
                panic!(
                    "EOPF_REQUIRE_GPU=1 but no wgpu adapter: {e} (make test installs mesa-vulkan-drivers)"
                );
            }
            eprintln!(
                "SKIPPED: GPU kernel test needs a wgpu adapter ({e}); make test uses Mesa lavapipe"
            );
            None
        }
    }
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Copy a directory tree (for tests that damage a store; fixtures are never modified).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
            let mut perm = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&target, perm).unwrap();
        }
    }
}

/// Flatten a pydantic-zarr v3 GroupSpec into path → document (groups: `{"attributes": …}`).
pub fn flatten(
    v: &serde_json::Value,
    path: &str,
    out: &mut std::collections::BTreeMap<String, serde_json::Value>,
) {
    let node_type = v
        .get("node_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("group");
    if node_type == "array" {
        out.insert(path.to_string(), v.clone());
        return;
    }
    out.insert(
        path.to_string(),
        serde_json::json!({"attributes": v["attributes"]}),
    );
    if let Some(m) = v.get("members").and_then(serde_json::Value::as_object) {
        for (k, c) in m {
            let p = if path == "/" {
                format!("/{k}")
            } else {
                format!("{path}/{k}")
            };
            flatten(c, &p, out);
        }
    }
}

pub const ARRAY_KEYS: [&str; 8] = [
    "shape",
    "data_type",
    "chunk_grid",
    "codecs",
    "fill_value",
    "dimension_names",
    "attributes",
    "chunk_key_encoding",
];

/// Differences between a plan and a v3 GroupSpec document (node set, then per node).
pub fn diff(plan: &eopf_geozarr::convert::OutputPlan, want_doc: &serde_json::Value) -> Vec<String> {
    let mut ours: std::collections::BTreeMap<String, serde_json::Value> =
        std::collections::BTreeMap::new();
    for (g, attrs) in &plan.groups {
        ours.insert(g.clone(), serde_json::json!({"attributes": attrs}));
    }
    for a in &plan.arrays {
        ours.insert(a.path.clone(), a.doc.clone());
    }
    let mut want = std::collections::BTreeMap::new();
    flatten(want_doc, "/", &mut want);
    let mut diffs = Vec::new();
    for k in want.keys().filter(|k| !ours.contains_key(*k)) {
        diffs.push(format!("{k}: missing"));
    }
    for k in ours.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("{k}: extra"));
    }
    for (path, w) in &want {
        let Some(o) = ours.get(path) else { continue };
        if w.get("node_type").is_some() {
            for k in ARRAY_KEYS {
                if w.get(k) != o.get(k) {
                    diffs.push(format!(
                        "{path} {k}:\n  want {}\n  ours {}",
                        w.get(k).map(|v| v.to_string()).unwrap_or_default(),
                        o.get(k).map(|v| v.to_string()).unwrap_or_default()
                    ));
                }
            }
        } else if w["attributes"] != o["attributes"] {
            diffs.push(format!(
                "{path} group attributes:\n  want {}\n  ours {}",
                w["attributes"], o["attributes"]
            ));
        }
    }
    diffs
}

pub fn assert_no_differences(what: &str, d: &[String]) {
    assert!(
        d.is_empty(),
        "{what}: {} differences:\n{}",
        d.len(),
        d.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
}
