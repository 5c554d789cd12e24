//! `info --json` on the golden EOPF input and GeoZarr output, and `info` text on a demo product.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use serde_json::{Value, json};

fn info_json(path: &std::path::Path) -> Value {
    let o = common::run_ok(&["info", path.to_str().unwrap(), "--json"]);
    serde_json::from_slice(&o.stdout).unwrap()
}

fn array<'a>(v: &'a Value, group: &str, name: &str) -> &'a Value {
    let g = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["path"] == group)
        .unwrap_or_else(|| panic!("{group}"));
    g["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{group}/{name}"))
}

#[test]
fn info_json_on_the_golden_eopf_input() {
    let Some(fx) = common::fixtures() else { return };
    let v = info_json(&fx.join("golden/in_l2a_shard.zarr"));
    assert_eq!(v["product"], "sentinel-2");
    assert_eq!(v["level"], "L2A");
    assert_eq!(v["zarr_format"], 2);
    assert_eq!(v["product_type"], "S02MSIL2A");
    assert_eq!(v["tile"], "T32TQM");
    assert_eq!(v["crs"], "EPSG:32632");
    // 1098 px of 10 m from the edge origin 699960 / 4700040.
    assert_eq!(
        v["native_bbox"],
        json!([699960.0, 4689060.0, 710940.0, 4700040.0])
    );
    let ll = v["lonlat_bbox"].as_array().unwrap();
    assert!(
        (ll[0].as_f64().unwrap() - 11.4269).abs() < 1e-3
            && (ll[3].as_f64().unwrap() - 42.4269).abs() < 1e-3,
        "{ll:?}"
    );
    let b02 = array(&v, "/measurements/reflectance/r10m", "b02");
    assert_eq!(b02["shape"], json!([1098, 1098]));
    assert_eq!(b02["dtype"], "<u2");
    assert_eq!(b02["codecs"], json!(["blosc(zstd, clevel=3, bitshuffle)"]));
    assert_eq!(
        array(&v, "/measurements/reflectance/r60m", "b01")["shape"],
        json!([183, 183])
    );
    assert_eq!(
        array(&v, "/quality/l2a_quicklook/r10m", "tci")["shape"],
        json!([3, 1098, 1098])
    );
    assert!(v["multiscales"].as_array().unwrap().is_empty());
}

#[test]
fn info_json_on_the_golden_geozarr_output() {
    let Some(fx) = common::fixtures() else { return };
    let v = info_json(&fx.join("golden/out_l2a_shard.zarr"));
    assert_eq!(v["product"], "geozarr");
    assert_eq!(v["level"], "L2A");
    assert_eq!(v["zarr_format"], 3);
    assert_eq!(v["consolidated"], true);
    assert_eq!(v["crs"], "EPSG:32632");
    let b02 = array(&v, "/measurements/reflectance/r10m", "b02");
    assert_eq!(b02["shape"], json!([1098, 1098]));
    assert_eq!(b02["dtype"], "float32");
    // The reference aligns the inner chunk to the dimension: 1098 with target 256 → 183.
    assert_eq!(b02["chunks"], json!([183, 183]));
    assert_eq!(b02["shard_shape"], json!([1098, 1098]));
    let ms = &v["multiscales"][0];
    assert_eq!(ms["group"], "/measurements/reflectance");
    let levels: Vec<(String, Value)> = ms["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["asset"].as_str().unwrap().to_string(), l["shape"].clone()))
        .collect();
    assert_eq!(
        levels,
        vec![
            ("r10m".into(), json!([1098, 1098])),
            ("r20m".into(), json!([549, 549])),
            ("r60m".into(), json!([183, 183])),
            ("r120m".into(), json!([91, 91])),
            ("r360m".into(), json!([30, 30])),
            ("r720m".into(), json!([15, 15])),
        ]
    );
    assert_eq!(
        ms["levels"][1]["transform"],
        json!([20.0, 0.0, 699970.0, 0.0, -20.0, 4700030.0])
    );
    assert_eq!(ms["levels"][5]["scale"], json!([2.0, 2.0]));
    assert_eq!(
        array(&v, "/measurements/reflectance/r720m", "b04")["shape"],
        json!([15, 15])
    );
}

#[test]
fn info_text_on_a_v3_demo_product() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.zarr");
    common::run_ok(&["demo", p.to_str().unwrap(), "--size", "366"]);
    let o = common::run(&["info", p.to_str().unwrap()]);
    assert!(o.status.success());
    let text = common::stdout(&o);
    for needle in [
        "format:      Zarr v3 (consolidated metadata)",
        "Sentinel-2 L2A (EOPF)",
        "tile:        T32TQM",
        "CRS:         EPSG:32632",
        "bbox:        699960 4590240 809760 4700040",
        "Resolutions:",
        "r10m       366×366  origin (699960, 4700040), pixel 300×300  4 bands: b02 b03 b04 b08",
        "band                                           13 |S3",
        "angle                                           2 <U7",
        "[bytes, zstd(level=0)]",
        "[bytes(little), zstd(level=0)]",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(
        !text.contains("meteorology"),
        "N0512 has no meteorology group"
    );
}

#[test]
fn info_text_on_a_demo_product() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.zarr");
    common::run_ok(&[
        "demo",
        p.to_str().unwrap(),
        "--format",
        "v2",
        "--level",
        "l1c",
        "--size",
        "366",
        "--seed",
        "3",
    ]);
    let o = common::run(&["info", p.to_str().unwrap()]);
    assert!(o.status.success());
    let text = common::stdout(&o);
    for needle in [
        "Sentinel-2 L1C (EOPF)",
        "tile:        T32TLQ",
        "CRS:         EPSG:32632 (from other_metadata.horizontal_CRS_code)",
        "bbox:        300000 4890240 409800 5000040",
        "Total groups: 3",
        "Group structure:",
        "/measurements/reflectance/r60m",
        "blosc(zstd, clevel=3, bitshuffle)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}
