//! The validator on the golden reference output, on our own reference-profile output, and on
//! broken stores; through the binary.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::Path;

use eopf_geozarr::convert::{S2Options, convert_s2_optimized};
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::plan::Profile;
use eopf_geozarr::validate::validate;
use serde_json::Value;

fn convert_demo(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("in.zarr");
    common::run_ok(&["demo", input.to_str().unwrap(), "--size", "1098"]);
    let out = dir.join("out.zarr");
    let opts = S2Options {
        profile: Profile::Reference,
        enable_sharding: true,
        ..Default::default()
    };
    convert_s2_optimized(
        &input,
        &out,
        &opts,
        eopf_geozarr::convert::Existing::Error,
        &|_, _, _| {},
    )
    .unwrap();
    out
}

#[test]
fn golden_reference_output_has_the_known_defects_as_warnings() {
    let Some(fx) = common::fixtures() else { return };
    let p = fx.join("golden/out_l2a_shard.zarr");
    let r = validate(&Hierarchy::open(&p).unwrap());
    assert!(r.is_valid(), "{}", r.to_text());
    let at = |code: &str, path: &str| r.findings.iter().any(|f| f.code == code && f.path == path);
    // r20m's centre-origin transform is half a pixel off the r10m edge.
    assert!(
        at("half-pixel", "/measurements/reflectance/r20m"),
        "{}",
        r.to_text()
    );
    // r720m: 15 px × 720 m = 10800 m of the 10980 m tile.
    assert!(
        at("level-trimmed", "/measurements/reflectance/r720m"),
        "{}",
        r.to_text()
    );
    assert!(
        at("scale-mismatch", "/measurements/reflectance/r120m"),
        "{}",
        r.to_text()
    );
    assert!(r.has("convention-draft") && r.has("root-conventions"));
    // Through the binary: exit 0, the findings printed.
    let o = common::run_ok(&["validate", p.to_str().unwrap()]);
    let text = common::stdout(&o);
    assert!(
        text.contains("[half-pixel]")
            && text.contains("[level-trimmed]")
            && text.contains("0 error(s)"),
        "{text}"
    );
}

#[test]
fn our_reference_output_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = convert_demo(dir.path());
    let r = validate(&Hierarchy::open(&out).unwrap());
    assert!(r.is_valid(), "{}", r.to_text());
    assert!(
        r.has("level-trimmed"),
        "the reference profile trims r720m: {}",
        r.to_text()
    );
}

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[test]
fn broken_stores_get_errors_with_paths() {
    let dir = tempfile::tempdir().unwrap();
    let out = convert_demo(dir.path());
    // Work on the per-node documents: drop the consolidated copy at the root.
    edit_json(&out.join("zarr.json"), |v| {
        v.as_object_mut().unwrap().remove("consolidated_metadata");
    });
    edit_json(&out.join("measurements/reflectance/zarr.json"), |v| {
        v.as_object_mut().unwrap().remove("consolidated_metadata");
        let layout = v["attributes"]["multiscales"]["layout"]
            .as_array_mut()
            .unwrap();
        layout[1].as_object_mut().unwrap().remove("spatial:shape");
        layout[2]["asset"] = Value::String("../r60m".into());
    });
    edit_json(&out.join("quality/mask/r20m/zarr.json"), |v| {
        v["attributes"].as_object_mut().unwrap().remove("proj:code");
    });
    let bad = out.join("measurements/reflectance/r120m/b02/zarr.json");
    let text = std::fs::read_to_string(&bad)
        .unwrap()
        .replace("\"NaN\"", "NaN");
    std::fs::write(&bad, text).unwrap();
    let r = validate(&Hierarchy::open(&out).unwrap());
    let at = |code: &str, path: &str| {
        r.findings.iter().any(|f| {
            f.code == code
                && f.path == path
                && f.severity == eopf_geozarr::validate::Severity::Error
        })
    };
    assert!(
        at("layout-shape", "/measurements/reflectance/r20m"),
        "{}",
        r.to_text()
    );
    assert!(
        at("unsafe-asset", "/measurements/reflectance"),
        "{}",
        r.to_text()
    );
    assert!(at("missing-crs", "/quality/mask/r20m"), "{}", r.to_text());
    assert!(
        at(
            "strict-json",
            "/measurements/reflectance/r120m/b02/zarr.json"
        ),
        "{}",
        r.to_text()
    );
    let o = common::run(&["validate", out.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["findings"].as_array().unwrap().len() >= 4);
    assert!(common::stderr(&o).contains("validation error(s)"));
}

#[test]
fn eopf_inputs_are_not_geozarr() {
    let dir = tempfile::tempdir().unwrap();
    for (format, finding) in [("v2", "[not-zarr-v3]"), ("v3", "[no-multiscales]")] {
        let p = dir.path().join(format!("in-{format}.zarr"));
        assert!(
            common::run(&[
                "demo",
                p.to_str().unwrap(),
                "--size",
                "366",
                "--format",
                format
            ])
            .status
            .success()
        );
        let o = common::run(&["validate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{format}");
        assert!(
            common::stdout(&o).contains(finding),
            "{format}: {}",
            common::stdout(&o)
        );
    }
}
