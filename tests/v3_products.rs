//! Today's products: EOPF Zarr v3 (N0512) layouts materialise, open, are detected and reported
//! like v2 ones; `demo` writes both formats with the same decoded scene; both pipelines and both
//! profiles convert v3 input; the geozarr output's tree is compared with eopf-geozarr 0.12's.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])
// One range per dimension: 1-D arrays take a one-element list.
#![allow(clippy::single_range_in_vec_init)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use eopf_geozarr::convert::{Existing, S2Options, convert_s2_optimized};
use eopf_geozarr::hierarchy::{Hierarchy, NodeKind};
use eopf_geozarr::inspect::read_f64;
use eopf_geozarr::layout::{GroupSpec, LayoutNode, ZarrFormat};
use eopf_geozarr::plan::Profile;
use eopf_geozarr::product::{ProductKind, S2Level, detect};
use serde_json::Value;

const V3_L2A: &str =
    "v3_s2_examples/S2B_MSIL2A_20260721T100559_N0512_R022_T33UWQ_20260721T143508.json";

fn demo(out: &Path, extra: &[&str]) {
    let mut args = vec!["demo", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = common::run(&args);
    assert!(o.status.success(), "demo {extra:?}: {}", common::stderr(&o));
}

fn info(path: &Path) -> Value {
    let o = common::run(&["info", path.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "info: {}", common::stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn doc(store: &Path, node: &str) -> Value {
    let p = store.join(node.trim_start_matches('/')).join("zarr.json");
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

#[test]
fn v3_fixture_layout_materialises_with_data_at_a_tenth_and_empty_at_full_size() {
    let Some(fx) = common::fixtures() else { return };
    let layout_file = fx.join(V3_L2A);
    let (layout, format) = GroupSpec::from_file_with_format(&layout_file).unwrap();
    assert_eq!(format, ZarrFormat::V3);
    assert_eq!(layout.arrays().len(), 103, "the N0512 layout: 103 arrays");
    let dir = tempfile::tempdir().unwrap();

    // 1/10 size with demo data, written in the layout's own format (v3).
    // Named like the product (its metadata carries no tile name: `info` reads it from the path).
    let small = dir
        .path()
        .join("S2B_MSIL2A_20260721T100559_N0512_R022_T33UWQ_20260721T143508.zarr");
    demo(
        &small,
        &["--layout", layout_file.to_str().unwrap(), "--size", "1098"],
    );
    let h = Hierarchy::open(&small).unwrap();
    assert_eq!(h.zarr_format(), 3);
    assert!(
        h.consolidated(),
        "consolidated metadata inline in the root zarr.json"
    );
    assert_eq!(
        detect(&h),
        ProductKind::Sentinel2 {
            level: S2Level::L2A
        }
    );
    let raw = std::fs::read_to_string(&layout_file).unwrap();
    let full: Value = serde_json::from_str(&raw).unwrap();
    for (p, node) in layout.walk() {
        let n = h.node(&p).unwrap_or_else(|| panic!("{p} missing"));
        let LayoutNode::Array(a) = node else {
            assert!(matches!(n.kind, NodeKind::Group), "{p}");
            continue;
        };
        // Data types, codecs, fill values, dimension names and attributes as the layout.
        let want = full.pointer(&p.replace('/', "/members/")).cloned();
        let want = want.unwrap_or_else(|| panic!("{p} not in the fixture"));
        let got = doc(&small, &p);
        for key in [
            "data_type",
            "codecs",
            "fill_value",
            "dimension_names",
            "attributes",
        ] {
            assert_eq!(got[key], want[key], "{p}: {key}");
        }
        // Shapes scale by 1/10 and keep 6 × 6 chunks per raster.
        let shape: Vec<u64> = serde_json::from_value(got["shape"].clone()).unwrap();
        assert_eq!(shape.len(), a.shape.len(), "{p}");
        if shape.len() == 2 && a.shape[0] >= 1830 {
            assert_eq!(shape[0] * 10, a.shape[0], "{p}");
            let chunk = got["chunk_grid"]["configuration"]["chunk_shape"][0]
                .as_u64()
                .unwrap();
            assert_eq!(shape[0].div_ceil(chunk), 6, "{p}: 6 × 6 chunks");
        }
    }
    // Every array decodes, strings included (fixed_length_utf32, null_terminated_bytes).
    h.check_decodable().unwrap();
    let angle = h
        .read_region_bytes("/conditions/geometry/angle", &[0..2])
        .unwrap();
    assert_eq!(
        eopf_geozarr::zarr_ext::decode_utf32(&angle, 28),
        ["zenith", "azimuth"]
    );
    let band = h
        .read_region_bytes("/conditions/geometry/band", &[0..13])
        .unwrap();
    let labels = eopf_geozarr::zarr_ext::decode_null_terminated(&band, 3);
    assert_eq!(labels[0], "b01");
    assert_eq!(labels.len(), 13);
    // float32 pixel-centre coordinates give the tile's exact edge origin (STAC proj:transform).
    let v = info(&small);
    assert_eq!(v["product"], "sentinel-2");
    assert_eq!(v["level"], "L2A");
    assert_eq!(v["tile"], "T33UWQ");
    assert_eq!(v["crs"], "EPSG:32633");
    let res = v["resolutions"].as_array().unwrap();
    let names: Vec<&str> = res.iter().map(|r| r["group"].as_str().unwrap()).collect();
    assert_eq!(names, ["r10m", "r20m", "r60m"]);
    assert_eq!(res[0]["shape"], serde_json::json!([1098, 1098]));
    assert_eq!(res[2]["shape"], serde_json::json!([183, 183]));
    for r in res {
        let t = &r["geotransform"];
        assert_eq!(
            (t[0].as_f64(), t[3].as_f64()),
            (Some(499_980.0), Some(5_500_020.0)),
            "{r}"
        );
    }
    assert_eq!(res[1]["geotransform"][1], 200.0);

    // Full size, metadata and coordinates only.
    let big = dir
        .path()
        .join("full")
        .join("S2B_MSIL2A_20260721T100559_N0512_R022_T33UWQ_20260721T143508.zarr");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    demo(
        &big,
        &[
            "--layout",
            layout_file.to_str().unwrap(),
            "--size",
            "10980",
            "--empty",
        ],
    );
    let v = info(&big);
    assert_eq!(v["zarr_format"], 3);
    assert_eq!(v["product"], "sentinel-2");
    assert_eq!(v["tile"], "T33UWQ");
    assert_eq!(v["crs"], "EPSG:32633");
    assert_eq!(
        v["native_bbox"],
        serde_json::json!([499980.0, 5390220.0, 609780.0, 5500020.0])
    );
    let res = v["resolutions"].as_array().unwrap();
    assert_eq!(res[0]["shape"], serde_json::json!([10980, 10980]));
    assert_eq!(
        res[0]["geotransform"],
        serde_json::json!([499980.0, 10.0, 0.0, 5500020.0, 0.0, -10.0])
    );
    let b02 = doc(&big, "/measurements/reflectance/r10m/b02");
    assert_eq!(
        b02["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([1830, 1830])
    );
}

#[test]
fn v3_products_open_by_listing_without_consolidated_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.zarr");
    demo(&p, &["--size", "366", "--empty"]);
    let consolidated = Hierarchy::open(&p).unwrap();
    let root = p.join("zarr.json");
    let mut r: Value = serde_json::from_slice(&std::fs::read(&root).unwrap()).unwrap();
    r.as_object_mut().unwrap().remove("consolidated_metadata");
    std::fs::write(&root, serde_json::to_vec(&r).unwrap()).unwrap();
    let listed = Hierarchy::open(&p).unwrap();
    assert!(!listed.consolidated());
    let a: Vec<&str> = consolidated.nodes().map(|n| n.path.as_str()).collect();
    let b: Vec<&str> = listed.nodes().map(|n| n.path.as_str()).collect();
    assert_eq!(a, b);
    assert!(matches!(detect(&listed), ProductKind::Sentinel2 { .. }));
}

/// Every array of `path` decoded to f64 (strings as their bytes), by node path.
fn decoded(h: &Hierarchy) -> std::collections::BTreeMap<String, Vec<f64>> {
    let mut out = std::collections::BTreeMap::new();
    for n in h.nodes() {
        let NodeKind::Array(m) = &n.kind else {
            continue;
        };
        let t = m.dtype.trim_start_matches(['<', '|', '=']);
        if t.starts_with('U') || t.starts_with('S') || m.shape.is_empty() {
            continue;
        }
        let ranges: Vec<std::ops::Range<u64>> = m.shape.iter().map(|&d| 0..d).collect();
        let values: Vec<f64> = match t {
            "u1" | "uint8" => h
                .read_region::<u8>(&n.path, &ranges)
                .unwrap()
                .iter()
                .map(|&v| f64::from(v))
                .collect(),
            "u2" | "uint16" => h
                .read_region::<u16>(&n.path, &ranges)
                .unwrap()
                .iter()
                .map(|&v| f64::from(v))
                .collect(),
            "f4" | "float32" => h
                .read_region::<f32>(&n.path, &ranges)
                .unwrap()
                .iter()
                .map(|&v| f64::from(v))
                .collect(),
            _ if m.shape.len() == 1 => read_f64(h, &n.path).unwrap(),
            "f8" | "float64" => h
                .read_region::<f64>(&n.path, &ranges)
                .unwrap()
                .iter()
                .copied()
                .collect(),
            other => panic!("{}: unexpected dtype {other}", n.path),
        };
        out.insert(n.path.to_string(), values);
    }
    out
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[test]
fn v2_and_v3_demos_hold_the_same_decoded_scene() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("v2.zarr");
    let v3 = dir.path().join("v3.zarr");
    demo(&v2, &["--format", "v2", "--size", "366", "--seed", "7"]);
    demo(&v3, &["--size", "366", "--seed", "7"]);
    let (h2, h3) = (Hierarchy::open(&v2).unwrap(), Hierarchy::open(&v3).unwrap());
    assert_eq!((h2.zarr_format(), h3.zarr_format()), (2, 3));
    let (d2, d3) = (decoded(&h2), decoded(&h3));
    // N0512 drops the meteorology and quicklook groups and the scalar probability band label.
    let only_v2: BTreeSet<&String> = d2.keys().filter(|k| !d3.contains_key(*k)).collect();
    // (`detector` is a number in v2 and a `|S3` label in v3, compared as text below.)
    assert!(
        only_v2
            .iter()
            .all(|k| k.starts_with("/conditions/meteorology")
                || k.starts_with("/quality/l2a_quicklook")
                || *k == "/conditions/geometry/detector"),
        "{only_v2:?}"
    );
    let det2 = read_f64(&h2, "/conditions/geometry/detector").unwrap();
    let det3 = h3
        .read_region_bytes("/conditions/geometry/detector", &[0..det2.len() as u64])
        .unwrap();
    let det3 = eopf_geozarr::zarr_ext::decode_null_terminated(&det3, 3);
    let det2: Vec<String> = det2.iter().map(|d| format!("{d}")).collect();
    assert_eq!(det2, det3);
    assert!(d3.keys().all(|k| d2.contains_key(k)));
    let mut compared = 0;
    for (k, v) in &d3 {
        assert!(
            same(v, &d2[k]),
            "{k}: the decoded values differ between v2 and v3"
        );
        compared += 1;
    }
    assert!(compared > 90, "{compared} arrays compared");
    // The same exact edge origins from int64 (v2) and float32 (v3) pixel centres.
    let (i2, i3) = (info(&v2), info(&v3));
    assert_eq!(i2["resolutions"], i3["resolutions"]);
    assert_eq!(i2["native_bbox"], i3["native_bbox"]);
    assert_eq!(i3["resolutions"][0]["geotransform"][0], 699960.0);
}

fn convert(input: &Path, out: &Path, profile: Profile) {
    let opts = S2Options {
        profile,
        enable_sharding: true,
        ..Default::default()
    };
    convert_s2_optimized(input, out, &opts, Existing::Error, &|_, _, _| {}).unwrap();
    let report = eopf_geozarr::validate::validate(&Hierarchy::open(out).unwrap());
    assert!(report.is_valid(), "{profile:?}: {}", report.to_text());
}

#[test]
fn both_pipelines_and_profiles_convert_v3_input() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("v2.zarr");
    let v3 = dir.path().join("v3.zarr");
    demo(&v2, &["--format", "v2", "--size", "366", "--seed", "3"]);
    demo(&v3, &["--size", "366", "--seed", "3"]);
    for profile in [Profile::Geozarr, Profile::Reference] {
        let o2 = dir.path().join(format!("{profile:?}-2.zarr"));
        let o3 = dir.path().join(format!("{profile:?}-3.zarr"));
        convert(&v2, &o2, profile);
        convert(&v3, &o3, profile);
        // The reflectance pyramid of both inputs is the same, level by level.
        let (h2, h3) = (Hierarchy::open(&o2).unwrap(), Hierarchy::open(&o3).unwrap());
        for level in ["r10m", "r20m", "r60m", "r120m", "r360m", "r720m"] {
            for band in ["b02", "b04", "b8a", "b12"] {
                let p = format!("/measurements/reflectance/{level}/{band}");
                let (Some(_), Some(_)) = (h2.node(&p), h3.node(&p)) else {
                    assert!(
                        h2.node(&p).is_none() && h3.node(&p).is_none(),
                        "{profile:?} {p}"
                    );
                    continue;
                };
                let a = h2.read::<f32>(&p).unwrap();
                let b = h3.read::<f32>(&p).unwrap();
                assert_eq!(a.shape(), b.shape(), "{profile:?} {p}");
                let a: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
                let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
                assert!(same(&a, &b), "{profile:?} {p}: values differ");
            }
        }
        // Same spatial metadata on the multiscale group.
        let g2 = &h2.node("/measurements/reflectance").unwrap().attributes;
        let g3 = &h3.node("/measurements/reflectance").unwrap().attributes;
        assert_eq!(g2["multiscales"], g3["multiscales"], "{profile:?}");
        assert_eq!(g2["spatial:bbox"], g3["spatial:bbox"], "{profile:?}");
    }
    // `convert` runs pipeline B on Sentinel-2 input; --no-s2-optimized gives pipeline A.
    let b = dir.path().join("convert-b.zarr");
    let o = common::run_ok(&["convert", v3.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(
        common::stdout(&o).contains("S2 optimization completed"),
        "{}",
        common::stdout(&o)
    );
    assert!(b.join("measurements/reflectance/r720m").is_dir());
    let a = dir.path().join("convert-a.zarr");
    let o = common::run_ok(&[
        "convert",
        v3.to_str().unwrap(),
        a.to_str().unwrap(),
        "--no-s2-optimized",
        "--groups",
        "/measurements/reflectance/r10m",
        "/measurements/reflectance/r20m",
        "--min-dimension",
        "64",
    ]);
    assert!(common::stdout(&o).contains("Successfully converted EOPF dataset to GeoZarr format"));
    let h = Hierarchy::open(&a).unwrap();
    let ms = &h.node("/measurements/reflectance/r10m").unwrap().attributes["multiscales"];
    assert!(ms["layout"].as_array().unwrap().len() >= 2, "{ms}");
    assert!(
        h.node("/measurements/reflectance/r120m").is_none(),
        "pipeline A has no r120m"
    );
}

/// Python's `json.dumps` writes NaN as a bare token: make it the string "NaN" (outside strings).
fn bare_nan_to_string(text: &str) -> String {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let (mut in_str, mut esc) = (false, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if b[i..].starts_with(b"NaN") {
            out.extend_from_slice(b"\"NaN\"");
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The groups and arrays of a pydantic-zarr v3 GroupSpec dump.
fn tree(v: &Value, base: &str, out: &mut BTreeSet<String>) {
    for (k, m) in v["members"].as_object().into_iter().flatten() {
        let p = format!("{base}/{k}");
        out.insert(format!("{p}:{}", m["node_type"].as_str().unwrap_or("?")));
        if m["node_type"] == "group" {
            tree(m, &p, out);
        }
    }
}

#[test]
fn geozarr_tree_of_v3_input_against_reference_0_12() {
    let Some(fx) = common::fixtures() else { return };
    tree_against_reference_0_12(&fx, V3_L2A);
}

#[test]
fn geozarr_tree_of_v2_input_against_reference_0_12() {
    let Some(fx) = common::fixtures() else { return };
    tree_against_reference_0_12(
        &fx,
        "s2_examples/S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json",
    );
}

/// Our geozarr plan of the materialised layout `fixture` (full size) against the tree 0.12 wrote
/// for it: every difference is one we keep, with its reason, and every reflectance node of 0.12
/// is ours too.
fn tree_against_reference_0_12(fx: &Path, fixture: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zarr");
    let layout = fx.join(fixture);
    demo(
        &input,
        &[
            "--layout",
            layout.to_str().unwrap(),
            "--size",
            "10980",
            "--empty",
        ],
    );
    let h = Hierarchy::open(&input).unwrap();
    let crs = eopf_geozarr::product::resolve_crs(&h, &eopf_geozarr::geo::epsg_exists).map(|c| c.0);
    // 0.12 ran `convert-s2-optimized --enable-sharding --spatial-chunk 256`; ours at its defaults.
    let opts = S2Options {
        profile: Profile::Geozarr,
        codec: eopf_geozarr::convert::s2::Codec::Zstd,
        enable_sharding: true,
        ..Default::default()
    };
    let plan = eopf_geozarr::convert::plan_s2(&h, crs, &opts).unwrap();
    let mut ours = BTreeSet::new();
    for g in plan.groups.keys().filter(|g| *g != "/") {
        ours.insert(format!("{g}:group"));
    }
    for a in &plan.arrays {
        ours.insert(format!("{}:array", a.path));
    }
    let text = std::fs::read_to_string(fx.join("reference_0_12").join(format!(
        "convert-s2-optimized_{}",
        Path::new(fixture).file_name().unwrap().to_string_lossy()
    )))
    .unwrap();
    let reference: Value = serde_json::from_str(&bare_nan_to_string(&text)).unwrap();
    let mut theirs = BTreeSet::new();
    tree(&reference, "", &mut theirs);
    // Differences we keep, each with its reason.
    let kept = |n: &str| -> Option<&'static str> {
        let family = [
            "/quality/mask/",
            "/quality/atmosphere/",
            "/quality/probability/",
            "/conditions/mask/detector_footprint/",
            "/conditions/mask/l1c_classification/",
            "/conditions/mask/l2a_classification/",
        ];
        if family.iter().any(|f| n.starts_with(f))
            && ["/r120m", "/r360m", "/r720m"].iter().any(|l| n.contains(l))
        {
            return Some(
                "src/profile.rs, resampling: the geozarr profile builds type-correct pyramids of every raster family",
            );
        }
        if n.starts_with("/quality/probability/r60m") {
            return Some(
                "src/profile.rs, resampling: a family without r60m (probabilities) gets one derived from r20m for its pyramid",
            );
        }
        let scalar_names = [
            "time",
            "step",
            "surface",
            "valid_time",
            "number",
            "isobaricInhPa",
        ];
        if n.starts_with("/conditions/meteorology/")
            && scalar_names
                .iter()
                .any(|s| n.ends_with(&format!("/{s}:array")))
            && ours.contains(n)
        {
            // (v2 input) the forecast-time scalars of cams/ecmwf: 0.12 drops every scalar
            // coordinate; ours only those of georeferenced groups, where validators reject them.
            return Some("scalar coordinates outside a GeoZarr dataset are kept (no data dropped)");
        }
        if n.starts_with("/conditions/geometry/spatial_ref") {
            return Some(
                "B-11 (docs/reference.md): the 5 km angle grids are georeferenced by a CF grid mapping",
            );
        }
        None
    };
    let mut unexplained = Vec::new();
    for n in ours.symmetric_difference(&theirs) {
        let side = if ours.contains(n) {
            "only ours"
        } else {
            "only 0.12"
        };
        match kept(n) {
            None => unexplained.push(format!("{side}: {n}")),
            Some(why) => eprintln!("kept {side}: {n} — {why}"),
        }
    }
    assert!(
        unexplained.is_empty(),
        "unexplained differences:\n{}",
        unexplained.join("\n")
    );
    // Every reflectance level and band of 0.12 is there.
    for n in theirs.iter().filter(|n| n.starts_with("/measurements/")) {
        assert!(ours.contains(n), "{n}");
    }
}

/// Every node of a pydantic-zarr v3 GroupSpec dump by relative path.
fn members(v: &Value, base: &str, out: &mut std::collections::BTreeMap<String, Value>) {
    for (k, m) in v["members"].as_object().into_iter().flatten() {
        let p = if base.is_empty() {
            k.clone()
        } else {
            format!("{base}/{k}")
        };
        out.insert(p.clone(), m.clone());
        if m["node_type"] == "group" {
            members(m, &p, out);
        }
    }
}

/// The built-in demo in today's format is what EOPF writes: the node set, data types, codecs,
/// fill values, dimension names, chunking and attribute keys of the real N0512 product.
#[test]
fn builtin_v3_demo_has_the_n0512_structure() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.zarr");
    demo(&p, &["--size", "10980", "--empty"]);
    let root: Value = serde_json::from_slice(&std::fs::read(p.join("zarr.json")).unwrap()).unwrap();
    let ours = root["consolidated_metadata"]["metadata"]
        .as_object()
        .unwrap();
    let real: Value = serde_json::from_slice(&std::fs::read(fx.join(V3_L2A)).unwrap()).unwrap();
    let mut want = std::collections::BTreeMap::new();
    members(&real, "", &mut want);
    let a: BTreeSet<&String> = want.keys().collect();
    let b: BTreeSet<&String> = ours.keys().collect();
    assert_eq!(a, b, "node sets");
    let mut compared = 0;
    for (path, w) in &want {
        let o = &ours[path];
        assert_eq!(o["node_type"], w["node_type"], "{path}");
        if w["node_type"] != "array" {
            continue;
        }
        for key in ["data_type", "codecs", "fill_value", "dimension_names"] {
            assert_eq!(o[key], w[key], "{path}: {key}");
        }
        // Our tile has 6 detectors where this product has 2: the angle grids' detector axis.
        let detector_axis = matches!(
            path.as_str(),
            "conditions/geometry/detector" | "conditions/geometry/viewing_incidence_angles"
        );
        if !detector_axis {
            assert_eq!(o["chunk_grid"], w["chunk_grid"], "{path}: chunks");
        }
        let keys = |v: &Value| -> BTreeSet<String> {
            v["attributes"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let (ko, mut kw) = (keys(o), keys(w));
        // Not invented: they would change the decoded values, which are the same in both formats.
        if path.starts_with("quality/atmosphere/")
            && (path.ends_with("/aot") || path.ends_with("/wvp"))
        {
            for k in ["scale_factor", "add_offset", "fill_value"] {
                assert!(kw.remove(k), "{path}: {k}");
            }
        }
        assert_eq!(ko, kw, "{path}: attribute keys");
        compared += 1;
    }
    assert_eq!(compared, 103);
    // The root: the source's three attribute groups, lower-cased other_metadata keys, proj:code.
    let attrs = &root["attributes"];
    for k in ["stac_discovery", "other_metadata", "processing_history"] {
        assert!(attrs.get(k).is_some(), "{k}");
    }
    assert_eq!(attrs["other_metadata"]["horizontal_crs_code"], "EPSG:32632");
    assert_eq!(
        attrs["stac_discovery"]["properties"]["proj:code"],
        "EPSG:32632"
    );
    assert!(
        attrs["stac_discovery"]["properties"]
            .get("proj:epsg")
            .is_none()
    );
}

#[cfg(feature = "gui")]
/// The desktop app's loader opens a v3 product as it opens a v2 one: the same true-colour image
/// (same scene), an inspector, the product tree; a validation report for GeoZarr outputs only.
#[test]
fn the_app_loads_v3_products_like_v2_ones() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("v2.zarr");
    let v3 = dir.path().join("v3.zarr");
    demo(&v2, &["--format", "v2", "--size", "366", "--seed", "5"]);
    demo(&v3, &["--size", "366", "--seed", "5"]);
    let (a, b) = (
        eopf_geozarr::app::load(&v2).unwrap(),
        eopf_geozarr::app::load(&v3).unwrap(),
    );
    let (ia, ib) = (a.image.as_ref().unwrap(), b.image.as_ref().unwrap());
    assert_eq!((ia.width, ia.height), (ib.width, ib.height));
    assert!(
        ia.pixels == ib.pixels,
        "the same scene gives the same image"
    );
    assert!(a.inspector.is_some() && b.inspector.is_some());
    assert!(b.tree.len() > 10);
    assert!(
        a.validation.is_none() && b.validation.is_none(),
        "inputs are not validated as GeoZarr"
    );
    assert_eq!(b.info.zarr_format, 3);
    let out = dir.path().join("out.zarr");
    convert(&v3, &out, Profile::Geozarr);
    let c = eopf_geozarr::app::load(&out).unwrap();
    assert!(c.validation.as_ref().is_some_and(|r| r.is_valid()));
    assert!(c.image.is_some());
}
