//! Pipeline A (`create_geozarr_dataset`, docs/reference.md §2A): the reference profile's plan reproduces
//! `golden/out_generic_spec.json` (S2 L2A input) and `golden/out_s1_spec.json` (the reference's
//! Sentinel-1 test mock, rebuilt here), and both profiles write stores whose values follow the
//! rules: plain/NaN means, truncation, nodata, the GCP warp.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eopf_geozarr::convert::generic::{GenericOptions, plan_generic};
use eopf_geozarr::convert::{Existing, create_geozarr_dataset};
use eopf_geozarr::hierarchy::{Hierarchy, v2_array};
use eopf_geozarr::layout::{ArraySpec, GroupSpec, LayoutNode};
use eopf_geozarr::plan::Profile;
use serde_json::{Value, json};
use zarrs::array::ArrayBytes;

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn generic_opts(profile: Profile) -> GenericOptions {
    GenericOptions {
        profile,
        groups: vec![
            "/measurements/reflectance/r10m".into(),
            "/measurements/reflectance/r20m".into(),
            "/measurements/reflectance/r60m".into(),
            "/quality/l2a_quicklook/r10m".into(),
        ],
        crs_groups: Some(vec!["/conditions/geometry".into()]),
        spatial_chunk: 256,
        min_dimension: 64,
        ..Default::default()
    }
}

/// `create_geozarr_dataset(dt, groups=[r10m, r20m, r60m, quicklook r10m],
/// crs_groups=["/conditions/geometry"], spatial_chunk=256, min_dimension=64)` on the golden L2A input.
#[test]
fn reference_plan_reproduces_out_generic_spec() {
    let Some(fx) = common::fixtures() else { return };
    let h = Hierarchy::open(fx.join("golden/in_l2a_shard.zarr")).unwrap();
    let plan = plan_generic(&h, &generic_opts(Profile::Reference)).unwrap();
    let d = common::diff(&plan, &read_json(&fx.join("golden/out_generic_spec.json")));
    common::assert_no_differences("golden/out_generic_spec.json", &d);
}

/// A deterministic pseudo-random sequence (xorshift).
fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    let step = (b - a) / (n - 1) as f64;
    (0..n)
        .map(|i| if i == n - 1 { b } else { a + i as f64 * step })
        .collect()
}

/// The reference's `MockSentinel1L1GRDBuilder` as a real EOPF-style Zarr v2 store: two
/// polarisation groups with `measurements/grd` (552 × 1131 uint16, 0–199), `conditions/gcp`
/// (10 × 21 GCPs on 15–18° E × 39–41° N), `conditions/orbit`, `quality/calibration`.
fn s1_mock(dir: &Path) -> PathBuf {
    let path = dir.join("s1.zarr");
    let prefix = "S01SIWGRD_20170508T164830_0025_A094_8604_01B54C";
    let mut root = GroupSpec::default();
    root.attributes.insert(
        "stac_discovery".into(),
        json!({"properties": {"product:type": "S01SIWGRH", "platform": "sentinel-1a"}}),
    );
    root.attributes
        .insert("other_metadata".into(), json!({"title": "S01SIWGRH"}));
    let arr = |shape: Vec<u64>, dtype: &str, dims: &[&str], fill: Value| {
        let mut a = ArraySpec::eopf(shape.clone(), shape, dtype, fill);
        a.attributes.insert("_ARRAY_DIMENSIONS".into(), json!(dims));
        a
    };
    // xarray writes the mock's datetime64 coordinates as int64 with CF units.
    let time = |n: u64, units: &str| {
        let mut a = arr(vec![n], "<i8", &["azimuth_time"], Value::Null);
        a.attributes
            .insert("calendar".into(), json!("proleptic_gregorian"));
        a.attributes.insert("units".into(), json!(units));
        LayoutNode::Array(a)
    };
    let coords = |g: &mut GroupSpec, az: usize, gr: usize| {
        g.members.insert(
            "azimuth_time".into(),
            time(az as u64, "microseconds since 2017-05-08 16:48:30"),
        );
        g.members.insert(
            "ground_range".into(),
            LayoutNode::Array(arr(vec![gr as u64], "<f8", &["ground_range"], json!("NaN"))),
        );
        g.members.insert(
            "line".into(),
            LayoutNode::Array(arr(vec![az as u64], "<i8", &["azimuth_time"], Value::Null)),
        );
        g.members.insert(
            "pixel".into(),
            LayoutNode::Array(arr(vec![gr as u64], "<i8", &["ground_range"], Value::Null)),
        );
    };
    let var = |shape: Vec<u64>, dtype: &str, fill: Value| {
        let mut a = arr(shape, dtype, &["azimuth_time", "ground_range"], fill);
        a.attributes
            .insert("coordinates".into(), json!("line pixel"));
        LayoutNode::Array(a)
    };
    for pol in ["VH", "VV"] {
        let mut meas = GroupSpec::default();
        coords(&mut meas, 552, 1131);
        meas.members
            .insert("grd".into(), var(vec![552, 1131], "<u2", Value::Null));
        let mut gcp = GroupSpec::default();
        coords(&mut gcp, 10, 21);
        for v in ["height", "latitude", "longitude"] {
            gcp.members
                .insert(v.into(), var(vec![10, 21], "<f8", json!("NaN")));
        }
        let mut orbit = GroupSpec::default();
        orbit.members.insert(
            "azimuth_time".into(),
            time(17, "milliseconds since 2017-05-08 16:47:00"),
        );
        for v in ["position", "velocity"] {
            orbit.members.insert(
                v.into(),
                LayoutNode::Array(arr(
                    vec![17, 3],
                    "<f8",
                    &["azimuth_time", "axis"],
                    json!("NaN"),
                )),
            );
        }
        let mut cal = GroupSpec::default();
        coords(&mut cal, 27, 657);
        for v in ["beta_nought", "dn", "gamma", "sigma_nought"] {
            cal.members
                .insert(v.into(), var(vec![27, 657], "<f8", json!("NaN")));
        }
        let mut conditions = GroupSpec::default();
        conditions
            .members
            .insert("gcp".into(), LayoutNode::Group(gcp));
        conditions
            .members
            .insert("orbit".into(), LayoutNode::Group(orbit));
        let mut quality = GroupSpec::default();
        quality
            .members
            .insert("calibration".into(), LayoutNode::Group(cal));
        let mut pg = GroupSpec::default();
        pg.members
            .insert("measurements".into(), LayoutNode::Group(meas));
        pg.members
            .insert("conditions".into(), LayoutNode::Group(conditions));
        pg.members
            .insert("quality".into(), LayoutNode::Group(quality));
        root.members
            .insert(format!("{prefix}_{pol}"), LayoutNode::Group(pg));
    }
    let store = root.materialise(&path).unwrap();
    let mut next = rng(7);
    let (lat, lon): (Vec<f64>, Vec<f64>) = {
        let la = linspace(39.0, 41.0, 10);
        let lo = linspace(15.0, 18.0, 21);
        let mut lat = vec![];
        let mut lon = vec![];
        for a in &la {
            for o in &lo {
                lat.push(*a);
                lon.push(*o);
            }
        }
        (lat, lon)
    };
    let trunc = |a: f64, b: f64, n: usize| -> Vec<i64> {
        linspace(a, b, n).iter().map(|v| *v as i64).collect()
    };
    for (p, spec) in root.arrays() {
        let name = p.rsplit('/').next().unwrap();
        let n: u64 = spec.shape.iter().product();
        let bytes: Vec<u8> = match (name, spec.shape.first().copied()) {
            ("grd", _) => (0..n)
                .flat_map(|_| ((next() % 200) as u16).to_le_bytes())
                .collect(),
            ("latitude", _) => lat.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ("longitude", _) => lon.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ("line", Some(s)) => trunc(0.0, 552.0, s as usize)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            ("pixel", Some(s)) => trunc(0.0, 1131.0, s as usize)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            ("ground_range", Some(s)) => linspace(0.0, 262380.0, s as usize)
                .iter()
                .flat_map(|v| v.floor().to_le_bytes())
                .collect(),
            (_, _) if spec.dtype == "<f8" => (0..n)
                .flat_map(|_| ((next() % 1000) as f64 / 7.0).to_le_bytes())
                .collect(),
            _ => (0..n).flat_map(|i| (i as i64).to_le_bytes()).collect(),
        };
        let a = v2_array(Arc::clone(&store), &p, &spec.zarray()).unwrap();
        a.store_array_subset(&a.subset_all(), ArrayBytes::new_flen(bytes))
            .unwrap();
    }
    path
}

fn s1_opts(profile: Profile) -> GenericOptions {
    GenericOptions {
        profile,
        groups: vec!["measurements".into()],
        gcp_group: Some("conditions/gcp".into()),
        spatial_chunk: 1024,
        min_dimension: 256,
        ..Default::default()
    }
}

/// Numbers of the GCP warp compared with tolerance: GDAL's least-squares solver and ours agree to
/// ~1e-13 in the origin, not to the last digit of the shortest repr.
fn close_numbers(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-11 * x.abs().max(1.0)
        }
        (Value::String(x), Value::String(y)) => {
            let p =
                |s: &str| -> Option<Vec<f64>> { s.split(' ').map(|t| t.parse().ok()).collect() };
            match (p(x), p(y)) {
                (Some(x), Some(y)) => {
                    x.len() == y.len()
                        && x.iter()
                            .zip(&y)
                            .all(|(a, b)| (a - b).abs() <= 1e-11 * a.abs().max(1.0))
                }
                _ => x == y,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close_numbers(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| close_numbers(v, w)))
        }
        _ => a == b,
    }
}

/// `create_geozarr_dataset(mock, groups=["measurements"], gcp_group="conditions/gcp",
/// spatial_chunk=1024, min_dimension=256)` reproduces `golden/out_s1_spec.json`: node set, shapes,
/// types, chunks, codecs, fills and attributes exactly; the numbers that come from the GCP fit
/// (transforms, bbox, GeoTransform strings) within 1e-11.
#[test]
fn reference_plan_reproduces_out_s1_spec_for_the_mock() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = s1_mock(dir.path());
    let h = Hierarchy::open(&input).unwrap();
    let plan = plan_generic(&h, &s1_opts(Profile::Reference)).unwrap();
    let want_doc = read_json(&fx.join("golden/out_s1_spec.json"));
    let mut want = std::collections::BTreeMap::new();
    common::flatten(&want_doc, "/", &mut want);
    let mut ours = std::collections::BTreeMap::new();
    for (g, a) in &plan.groups {
        ours.insert(g.clone(), json!({"attributes": a}));
    }
    for a in &plan.arrays {
        ours.insert(a.path.clone(), a.doc.clone());
    }
    let wk: Vec<&String> = want.keys().collect();
    let ok: Vec<&String> = ours.keys().collect();
    assert_eq!(wk, ok, "node sets differ");
    let mut diffs = vec![];
    for (p, w) in &want {
        let o = &ours[p];
        let keys: Vec<&str> = if w.get("node_type").is_some() {
            common::ARRAY_KEYS.to_vec()
        } else {
            vec!["attributes"]
        };
        for k in keys {
            if !close_numbers(&w[k], &o[k]) {
                diffs.push(format!("{p} {k}:\n  want {}\n  ours {}", w[k], o[k]));
            }
        }
    }
    common::assert_no_differences("golden/out_s1_spec.json", &diffs);
}

#[test]
fn s1_without_gcp_group_or_with_a_wrong_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = s1_mock(dir.path());
    let h = Hierarchy::open(&input).unwrap();
    let mut o = s1_opts(Profile::Reference);
    o.gcp_group = None;
    let e = plan_generic(&h, &o).unwrap_err().to_string();
    assert!(
        e.contains("Detected Sentinel-1") && e.contains("GCP group not provided"),
        "{e}"
    );
    o.gcp_group = Some("invalid/gcp".into());
    let e = plan_generic(&h, &o).unwrap_err().to_string();
    assert!(e.contains("GCP group") && e.contains("not found"), "{e}");
}

fn read_f64(h: &Hierarchy, p: &str) -> Vec<f64> {
    let dt = h.array_meta(p).unwrap().dtype.clone();
    match dt.as_str() {
        "uint8" => h
            .read::<u8>(p)
            .unwrap()
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
        "uint16" => h
            .read::<u16>(p)
            .unwrap()
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
        "float32" => h
            .read::<f32>(p)
            .unwrap()
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
        _ => eopf_geozarr::inspect::read_f64(h, p).unwrap(),
    }
}

/// The written S1 stores: the native grd is the bilinear warp of the input (checked at pixels
/// whose source position is known), the r2 overview is the plain mean of 2×2 blocks including
/// the 65535 nodata (reference, B-8) or the mean of valid pixels kept uint16 with fill 65535
/// (geozarr).
#[test]
fn s1_conversion_writes_the_warp_and_its_overviews() {
    let dir = tempfile::tempdir().unwrap();
    let input = s1_mock(dir.path());
    let hin = Hierarchy::open(&input).unwrap();
    let grd_in: Vec<u16> = hin
        .read::<u16>("/S01SIWGRD_20170508T164830_0025_A094_8604_01B54C_VH/measurements/grd")
        .unwrap()
        .iter()
        .copied()
        .collect();
    for profile in [Profile::Reference, Profile::Geozarr] {
        let out = dir.path().join(format!("out-{profile:?}.zarr"));
        create_geozarr_dataset(
            &input,
            &out,
            &s1_opts(profile),
            Existing::Error,
            &|_, _, _| {},
        )
        .unwrap();
        let h = Hierarchy::open(&out).unwrap();
        let g = "/S01SIWGRD_20170508T164830_0025_A094_8604_01B54C_VH/measurements";
        // The reference nests the overviews under the native level; geozarr has flat r1, r2.
        let n = match profile {
            Profile::Reference => g.to_string(),
            Profile::Geozarr => format!("{g}/r1"),
        };
        let native = read_f64(&h, &format!("{n}/grd"));
        assert_eq!(
            h.array_meta(&format!("{n}/grd")).unwrap().shape,
            vec![698, 1047]
        );
        // Every output value is nodata or inside the input's range (bilinear of 0–199).
        assert!(native.iter().all(|&v| v == 65535.0 || v < 200.0));
        let valid = native.iter().filter(|&&v| v != 65535.0).count();
        assert!(valid > native.len() * 9 / 10, "{valid} of {}", native.len());
        // The GCP grid is regular in lon/lat, so the top-left output pixel comes from near the
        // bottom-left input pixel (lat grows with the line): same neighbourhood of values.
        let mean_in: f64 = grd_in.iter().map(|&v| f64::from(v)).sum::<f64>() / grd_in.len() as f64;
        let mean_out: f64 = native.iter().filter(|&&v| v != 65535.0).sum::<f64>() / valid as f64;
        assert!((mean_in - mean_out).abs() < 2.0, "{mean_in} vs {mean_out}");
        let r2 = read_f64(&h, &format!("{g}/r2/grd"));
        let (w, w2) = match profile {
            Profile::Reference => (1047usize, 523usize),
            Profile::Geozarr => (1047, 524),
        };
        for (oy, ox) in [(0usize, 0usize), (100, 200), (348, 522)] {
            let block: Vec<f64> = [(0, 0), (0, 1), (1, 0), (1, 1)]
                .iter()
                .map(|(dy, dx)| native[(2 * oy + dy) * w + 2 * ox + dx])
                .collect();
            let got = r2[oy * w2 + ox];
            match profile {
                Profile::Reference => {
                    let m = block.iter().sum::<f64>() / 4.0;
                    assert_eq!(got, m, "reference r2 at {oy},{ox}");
                }
                Profile::Geozarr => {
                    let v: Vec<f64> = block.iter().copied().filter(|&x| x != 65535.0).collect();
                    let want = if v.is_empty() {
                        65535.0
                    } else {
                        (v.iter().sum::<f64>() / v.len() as f64 + 0.5).floor()
                    };
                    assert_eq!(got, want, "geozarr r2 at {oy},{ox}");
                }
            }
        }
        let meta = h.array_meta(&format!("{g}/r2/grd")).unwrap();
        match profile {
            Profile::Reference => assert_eq!(meta.dtype, "float64"),
            Profile::Geozarr => {
                assert_eq!(meta.dtype, "uint16");
                assert_eq!(meta.fill_value, json!(65535));
            }
        }
        let v = eopf_geozarr::validate::validate(&h);
        assert!(
            v.is_valid(),
            "{profile:?}: {:?}",
            v.errors().collect::<Vec<_>>()
        );
    }
}

/// The written S2 stores of pipeline A: decoded float64 native bands equal the CF decode of the
/// input; reference overviews are plain means of the previous level (float64), the 3-D quicklook's
/// truncated to uint8; geozarr overviews are NaN-means with partial blocks, quicklook rounded.
#[test]
fn s2_conversion_values_follow_the_level_rules() {
    let Some(fx) = common::fixtures() else { return };
    let input = fx.join("golden/in_l2a_shard.zarr");
    let hin = Hierarchy::open(&input).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for profile in [Profile::Reference, Profile::Geozarr] {
        let out = dir.path().join(format!("out-{profile:?}.zarr"));
        create_geozarr_dataset(
            &input,
            &out,
            &generic_opts(profile),
            Existing::Error,
            &|_, _, _| {},
        )
        .unwrap();
        let h = Hierarchy::open(&out).unwrap();
        let b = "/measurements/reflectance/r20m";
        let native_of = |g: &str| match profile {
            Profile::Reference => g.to_string(),
            Profile::Geozarr => format!("{g}/r1"),
        };
        let raw: Vec<u16> = hin
            .read::<u16>(&format!("{b}/b05"))
            .unwrap()
            .iter()
            .copied()
            .collect();
        let native = read_f64(&h, &format!("{}/b05", native_of(b)));
        for (r, n) in raw.iter().zip(&native) {
            if *r == 0 {
                assert!(n.is_nan());
            } else {
                assert_eq!(*n, f64::from(*r) * 0.0001 - 0.1);
            }
        }
        let r2 = read_f64(&h, &format!("{b}/r2/b05"));
        let (w, w2) = (
            549usize,
            match profile {
                Profile::Reference => 274usize,
                Profile::Geozarr => 275,
            },
        );
        assert_eq!(r2.len(), w2 * w2);
        for (oy, ox) in [(0usize, 0usize), (5, 7), (273, 273)] {
            let block: Vec<f64> = [(0, 0), (0, 1), (1, 0), (1, 1)]
                .iter()
                .map(|(dy, dx)| native[(2 * oy + dy) * w + 2 * ox + dx])
                .collect();
            let got = r2[oy * w2 + ox];
            match profile {
                Profile::Reference => {
                    let m = block.iter().sum::<f64>() / 4.0;
                    assert!(got == m || (got.is_nan() && m.is_nan()), "{got} vs {m}");
                }
                Profile::Geozarr => {
                    let v: Vec<f64> = block.iter().copied().filter(|x| !x.is_nan()).collect();
                    let m = v.iter().sum::<f64>() / v.len() as f64;
                    assert!(
                        v.is_empty() && got.is_nan() || (got - m).abs() <= 1e-15,
                        "{got} vs {m}"
                    );
                }
            }
        }
        if profile == Profile::Geozarr {
            // The partial last block (549 = 2·274 + 1) is the mean of its one column.
            let last = r2[274];
            let col: Vec<f64> = [native[548], native[w + 548]]
                .into_iter()
                .filter(|x| !x.is_nan())
                .collect();
            if !col.is_empty() {
                assert!((last - col.iter().sum::<f64>() / col.len() as f64).abs() <= 1e-15);
            }
        }
        let q = "/quality/l2a_quicklook/r10m";
        let tci = read_f64(&h, &format!("{}/tci", native_of(q)));
        let tci2 = read_f64(&h, &format!("{q}/r2/tci"));
        let (w, w2) = (1098usize, 549usize);
        for (band, oy, ox) in [(0usize, 0usize, 0usize), (2, 100, 300)] {
            let o = band * w * w;
            let s: f64 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                .iter()
                .map(|(dy, dx)| tci[o + (2 * oy + dy) * w + 2 * ox + dx])
                .sum();
            let want = match profile {
                Profile::Reference => (s / 4.0).trunc(),
                Profile::Geozarr => (s / 4.0 + 0.5).floor(),
            };
            assert_eq!(tci2[band * w2 * w2 + oy * w2 + ox], want);
        }
        let v = eopf_geozarr::validate::validate(&h);
        match profile {
            Profile::Geozarr => assert!(
                v.is_valid() && v.warnings().count() == 0,
                "{:?}",
                v.findings
            ),
            Profile::Reference => assert!(v.is_valid(), "{:?}", v.errors().collect::<Vec<_>>()),
        }
    }
}

/// The Python-API mirrors of pipeline A: `write_geozarr_group` writes one group only;
/// `is_grid_mapping_variable`, `validate_existing_band_data` and `consolidate_metadata` on its
/// output behave as the reference's.
#[test]
fn api_mirrors_of_pipeline_a() {
    use eopf_geozarr::convert::generic::{is_grid_mapping_variable, validate_existing_band_data};
    use eopf_geozarr::convert::write_geozarr_group;
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one.zarr");
    let g = "/measurements/reflectance/r60m";
    let (plan, _) = write_geozarr_group(
        fx.join("golden/in_l2a_shard.zarr"),
        &out,
        g,
        &generic_opts(Profile::Reference),
        Existing::Error,
        &|_, _, _| {},
    )
    .unwrap();
    assert!(plan.arrays.iter().all(|a| a.path.starts_with(g)));
    let h = Hierarchy::open(&out).unwrap();
    assert!(h.node("/conditions").is_none() && h.node(&format!("{g}/r2/b01")).is_some());
    assert!(is_grid_mapping_variable(&h, g, "spatial_ref"));
    assert!(!is_grid_mapping_variable(&h, g, "b01"));
    let wkt = h.node(&format!("{g}/spatial_ref")).unwrap().attributes["crs_wkt"]
        .as_str()
        .unwrap()
        .to_string();
    // The golden input has a 12×12 nodata corner: b02's first value is NaN ⇒ not kept (B-19).
    assert!(h.read::<f64>(&format!("{g}/b02")).unwrap()[[0, 0]].is_nan());
    assert!(!validate_existing_band_data(
        &h,
        g,
        "b02",
        &[183, 183],
        Some(&wkt)
    ));
    assert!(!validate_existing_band_data(
        &h,
        g,
        "nope",
        &[183, 183],
        None
    ));
    // The quicklook (uint8) is kept when shape and CRS match.
    let q = "/quality/l2a_quicklook/r10m";
    let out_q = dir.path().join("q.zarr");
    write_geozarr_group(
        fx.join("golden/in_l2a_shard.zarr"),
        &out_q,
        q,
        &generic_opts(Profile::Reference),
        Existing::Error,
        &|_, _, _| {},
    )
    .unwrap();
    let hq = Hierarchy::open(&out_q).unwrap();
    assert!(validate_existing_band_data(
        &hq,
        q,
        "tci",
        &[3, 1098, 1098],
        Some(&wkt)
    ));
    assert!(!validate_existing_band_data(
        &hq,
        q,
        "tci",
        &[3, 549, 549],
        Some(&wkt)
    ));
    assert!(!validate_existing_band_data(
        &hq,
        q,
        "tci",
        &[3, 1098, 1098],
        Some("GEOGCS[]")
    ));
    // consolidate_metadata: the root gets every node's document.
    eopf_geozarr::storage::consolidate_metadata(&out, "/").unwrap();
    let root: Value = read_json(&out.join("zarr.json"));
    let meta = root["consolidated_metadata"]["metadata"]
        .as_object()
        .unwrap();
    assert!(meta.contains_key("measurements/reflectance/r60m/r2/b01"));
    assert_eq!(
        meta["measurements/reflectance/r60m/b01"]["shape"],
        json!([183, 183])
    );
    let e = eopf_geozarr::storage::consolidate_metadata(&out, "/measurements/reflectance/r60m/b01")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a Zarr v3 group"), "{e}");
}

/// The writer works through the `zarrs` storage traits: the same plan written into an in-memory
/// store gives the same documents as on disk (the object-store backend plugs in the same way).
#[test]
fn plans_write_into_any_zarrs_store() {
    use eopf_geozarr::convert::writer::{WriteSettings, write_plan_to};
    use zarrs::storage::{ReadableStorageTraits, StoreKey};
    let Some(fx) = common::fixtures() else { return };
    let h = Hierarchy::open(fx.join("golden/in_l2a_shard.zarr")).unwrap();
    let plan = plan_generic(&h, &generic_opts(Profile::Geozarr)).unwrap();
    let mem = Arc::new(zarrs::storage::store::MemoryStore::new());
    let kernels = eopf_geozarr::kernels::Kernels::cpu();
    let settings = WriteSettings {
        profile: Profile::Geozarr,
        max_retries: 1,
        fingerprint: "memory",
        kernels: &kernels,
        cancel: &Default::default(),
        source_cache_bytes: eopf_geozarr::convert::writer::SOURCE_CACHE_BYTES,
    };
    write_plan_to(
        &h,
        &plan,
        mem.clone(),
        "memory://",
        &settings,
        &Default::default(),
        &|_, _, _| {},
    )
    .unwrap();
    for a in &plan.arrays {
        let key = format!("{}/zarr.json", a.path.trim_start_matches('/'));
        let bytes = mem.get(&StoreKey::new(&key).unwrap()).unwrap().unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc, a.doc, "{key}");
    }
    // The journal records the conversion as complete.
    let j: Value = serde_json::from_slice(
        &mem.get(&StoreKey::new(".eopf-geozarr-journal.json").unwrap())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(j["complete"], true);
}

/// The Sentinel-1 mock's conversions in both profiles, byte for byte (see
/// `tests/output_digests.rs`).
#[test]
fn s1_conversions_write_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let input = s1_mock(dir.path());
    for (name, profile) in [
        ("reference", Profile::Reference),
        ("geozarr", Profile::Geozarr),
    ] {
        let out = dir.path().join(format!("digest-{name}.zarr"));
        let opts = GenericOptions {
            device: eopf_geozarr::kernels::Device::Cpu,
            ..s1_opts(profile)
        };
        create_geozarr_dataset(&input, &out, &opts, Existing::Error, &|_, _, _| {}).unwrap();
        common::digests::check(
            &format!("s1-mock.a-{name}"),
            &common::digests::of_tree(&out),
        );
    }
}
