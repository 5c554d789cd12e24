//! Every fixture layout materialises (empty data) as a real Zarr v2 store, opens, and is detected
//! like the reference does; the built-in layouts match the real products' structure.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::{Path, PathBuf};

use eopf_geozarr::demo::layouts::builtin_layout;
use eopf_geozarr::hierarchy::{Hierarchy, NodeKind};
use eopf_geozarr::layout::{ArraySpec, GroupSpec, LayoutNode};
use eopf_geozarr::product::{ProductKind, S2Level, check_sentinel2, detect};
use serde_json::Value;

fn jsons(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn materialise(layout: &GroupSpec) -> (tempfile::TempDir, Hierarchy) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.zarr");
    layout.materialise(&path).unwrap();
    let h = Hierarchy::open(&path).unwrap();
    (dir, h)
}

#[test]
fn s2_fixture_layouts_materialise_open_and_are_sentinel2() {
    let Some(fx) = common::fixtures() else { return };
    let files = jsons(&fx.join("s2_examples"));
    assert!(!files.is_empty());
    for f in files {
        let layout = GroupSpec::from_file(&f).unwrap();
        let (_d, h) = materialise(&layout);
        assert_eq!(h.zarr_format(), 2);
        // Every node of the layout is in the opened tree with the same shape, dtype and chunks.
        for (p, node) in layout.walk() {
            let n = h
                .node(&p)
                .unwrap_or_else(|| panic!("{p} missing after materialising"));
            match (node, &n.kind) {
                (LayoutNode::Array(a), NodeKind::Array(m)) => {
                    assert_eq!(a.shape, m.shape, "{p}");
                    assert_eq!(a.chunks, m.chunks, "{p}");
                    assert_eq!(a.dtype, m.dtype, "{p}");
                    assert_eq!(a.fill_value, m.fill_value, "{p}");
                    assert_eq!(a.attributes, n.attributes, "{p}");
                }
                (LayoutNode::Group(g), NodeKind::Group) => {
                    assert_eq!(g.attributes, n.attributes, "{p}")
                }
                _ => panic!("{p}: node kind differs"),
            }
        }
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let want = if name.contains("MSIL1C") {
            S2Level::L1C
        } else {
            S2Level::L2A
        };
        assert_eq!(detect(&h), ProductKind::Sentinel2 { level: want }, "{name}");
        // Every array opens with zarrs (EOPF's blosc bit-shuffle, `<U7`, null fills …).
        h.check_decodable().unwrap();
        // Empty data reads as the fill value.
        let b02 = h.read::<u16>("/measurements/reflectance/r10m/b02").unwrap();
        assert!(b02.iter().take(1000).all(|&v| v == 0));
    }
}

#[test]
fn s1_fixture_layouts_are_not_sentinel2() {
    let Some(fx) = common::fixtures() else { return };
    let files = jsons(&fx.join("s1_examples"));
    assert_eq!(files.len(), 3);
    for f in files {
        let layout = GroupSpec::from_file(&f).unwrap();
        let (_d, h) = materialise(&layout);
        h.check_decodable().unwrap();
        let reason = check_sentinel2(&h).unwrap_err();
        assert!(
            reason.contains("unexpected member") || reason.contains("has no member"),
            "{reason}"
        );
        assert_eq!(detect(&h), ProductKind::Sentinel1, "{}", f.display());
    }
}

#[test]
fn one_extra_array_makes_detection_fail_with_a_reason() {
    let Some(fx) = common::fixtures() else { return };
    let f =
        fx.join("s2_examples/S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json");
    let mut layout = GroupSpec::from_file(&f).unwrap();
    let Some(LayoutNode::Group(r10m)) = layout.get_mut("/measurements/reflectance/r10m") else {
        panic!("no r10m")
    };
    r10m.members.insert(
        "spatial_ref".into(),
        LayoutNode::Array(ArraySpec::eopf(vec![], vec![], "<i8", Value::Null)),
    );
    let (_d, h) = materialise(&layout);
    let reason = check_sentinel2(&h).unwrap_err();
    assert!(
        reason.contains("/measurements/reflectance/r10m/spatial_ref"),
        "{reason}"
    );
    match detect(&h) {
        ProductKind::Other { reason } => assert!(reason.contains("spatial_ref")),
        other => panic!("expected not-S2, got {other:?}"),
    }
}

#[test]
fn missing_top_level_group_is_reported() {
    let layout = {
        let mut l = builtin_layout(S2Level::L2A, None);
        l.members.remove("quality");
        eopf_geozarr::demo::scale_layout(&l, 366).unwrap()
    };
    let (_d, h) = materialise(&layout);
    assert_eq!(
        check_sentinel2(&h).unwrap_err(),
        "/ has no member \"quality\""
    );
}

type Summary = Vec<(String, Option<(Vec<u64>, Vec<u64>, String, Value, Value)>)>;

/// Structural summary of a layout: path → shape, chunks, dtype, fill, compressor (None for groups).
fn summary(l: &GroupSpec) -> Summary {
    l.walk()
        .into_iter()
        .map(|(p, n)| {
            let d = match n {
                LayoutNode::Group(_) => None,
                LayoutNode::Array(a) => Some((
                    a.shape.clone(),
                    a.chunks.clone(),
                    a.dtype.clone(),
                    a.fill_value.clone(),
                    a.compressor.clone(),
                )),
            };
            (p, d)
        })
        .collect()
}

#[test]
fn builtin_layouts_have_the_structure_of_real_products() {
    let Some(fx) = common::fixtures() else { return };
    for (level, file) in [
        (
            S2Level::L2A,
            "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json",
        ),
        (
            S2Level::L1C,
            "S2B_MSIL1C_20250113T103309_N0511_R108_T32TLQ_20250113T122458.json",
        ),
    ] {
        let real = GroupSpec::from_file(&fx.join("s2_examples").join(file)).unwrap();
        let ours = builtin_layout(level, None);
        let (a, b) = (summary(&real), summary(&ours));
        let only_real: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
        let only_ours: Vec<_> = b.iter().filter(|x| !a.contains(x)).collect();
        assert!(
            only_real.is_empty() && only_ours.is_empty(),
            "{level}: only in the real product: {only_real:#?}\nonly in ours: {only_ours:#?}"
        );
        // Per-array attribute keys match too (values are our synthetic product's).
        for (p, n) in real.walk() {
            if let (LayoutNode::Array(r), Some(LayoutNode::Array(o))) = (n, ours.get(&p)) {
                for key in [
                    "_ARRAY_DIMENSIONS",
                    "scale_factor",
                    "add_offset",
                    "proj:epsg",
                    "proj:bbox",
                    "proj:shape",
                    "proj:transform",
                    "flag_masks",
                    "flag_meanings",
                ] {
                    assert_eq!(
                        r.attributes.get(key),
                        o.attributes.get(key),
                        "{level} {p} {key}"
                    );
                }
            }
        }
        assert_eq!(
            real.attributes["other_metadata"]["horizontal_CRS_code"],
            ours.attributes["other_metadata"]["horizontal_CRS_code"]
        );
    }
}

#[test]
fn layout_files_feed_the_demo_through_the_binary() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in jsons(&fx.join("s2_examples"))
        .into_iter()
        .chain(jsons(&fx.join("s1_examples")))
        .enumerate()
    {
        let out = dir.path().join(format!("{i}.zarr"));
        let o = common::run(&[
            "demo",
            out.to_str().unwrap(),
            "--layout",
            f.to_str().unwrap(),
            "--size",
            "1098",
            "--empty",
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            f.display(),
            common::stderr(&o)
        );
        let info = common::run_ok(&["info", out.to_str().unwrap(), "--json"]);
        let v: Value = serde_json::from_slice(&info.stdout).unwrap();
        let is_s1 = f.to_string_lossy().contains("s1_examples");
        assert_eq!(
            v["product"],
            if is_s1 { "sentinel-1" } else { "sentinel-2" }
        );
        if !is_s1 {
            let g = v["groups"].as_array().unwrap();
            let r10 = g
                .iter()
                .find(|g| g["path"] == "/measurements/reflectance/r10m")
                .unwrap();
            let b = r10["arrays"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == "b02" || a["name"] == "b04")
                .unwrap();
            assert_eq!(b["shape"], serde_json::json!([1098, 1098]));
        }
    }
}
