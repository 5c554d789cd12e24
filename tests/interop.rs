//! zarr-python and `xarray.open_datatree` read both profiles' outputs: shapes, CRS attributes and a
//! sample of values agree with our reader.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use eopf_geozarr::convert::{S2Options, convert_s2_optimized};
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::plan::Profile;
use serde_json::Value;

#[test]
fn python_readers_open_both_profiles() {
    let Some(py) = common::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zarr");
    common::run_ok(&[
        "demo",
        input.to_str().unwrap(),
        "--size",
        "1098",
        "--seed",
        "11",
    ]);
    for (profile, sharding) in [
        (Profile::Reference, true),
        (Profile::Geozarr, true),
        (Profile::Geozarr, false),
    ] {
        let out = dir.path().join(format!("{profile:?}-{sharding}.zarr"));
        let opts = S2Options {
            profile,
            enable_sharding: sharding,
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
        let o = std::process::Command::new(&py)
            .arg(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/python/read_geozarr.py"),
            )
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{profile:?}: python failed: {}",
            common::stderr(&o)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            v["assets"],
            serde_json::json!(["r10m", "r20m", "r60m", "r120m", "r360m", "r720m"])
        );
        let h = Hierarchy::open(&out).unwrap();
        for (name, level) in v["levels"].as_object().unwrap() {
            let ours = h
                .read::<f32>(&format!("/measurements/reflectance/{name}/b04"))
                .unwrap();
            let shape: Vec<u64> = ours.shape().iter().map(|&d| d as u64).collect();
            assert_eq!(
                level["shape"],
                serde_json::json!(shape),
                "{profile:?} {name}"
            );
            assert_eq!(level["xarray_shape"], level["shape"]);
            assert_eq!(level["xarray_dims"], serde_json::json!(["y", "x"]));
            assert_eq!(level["proj_code"], "EPSG:32632", "{profile:?} {name}");
            for (k, ij) in level["index"].as_array().unwrap().iter().enumerate() {
                let (i, j) = (
                    ij[0].as_u64().unwrap() as usize,
                    ij[1].as_u64().unwrap() as usize,
                );
                let want = ours[[i, j]];
                for key in ["samples_zarr", "samples_xarray"] {
                    let got = &level[key][k];
                    if want.is_nan() {
                        assert!(
                            got.is_null(),
                            "{profile:?} {name} {key}[{i},{j}]: {got} vs NaN"
                        );
                    } else {
                        assert_eq!(
                            got.as_f64().unwrap() as f32,
                            want,
                            "{profile:?} {name} {key}[{i},{j}]"
                        );
                    }
                }
            }
        }
    }
}

/// Pipeline A outputs: the geozarr profile (flat levels) opens with `open_datatree`; the reference
/// profile (levels nested under the native one, docs/reference.md E-9) level by level with `open_dataset`.
#[test]
fn python_readers_open_pipeline_a_outputs() {
    let Some(py) = common::python() else { return };
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let group = "measurements/reflectance/r10m";
    for profile in [Profile::Reference, Profile::Geozarr] {
        let out = dir.path().join(format!("a-{profile:?}.zarr"));
        let opts = eopf_geozarr::convert::GenericOptions {
            profile,
            groups: vec![format!("/{group}")],
            spatial_chunk: 256,
            min_dimension: 128,
            ..Default::default()
        };
        eopf_geozarr::convert::create_geozarr_dataset(
            fx.join("golden/in_l2a_shard.zarr"),
            &out,
            &opts,
            eopf_geozarr::convert::Existing::Error,
            &|_, _, _| {},
        )
        .unwrap();
        let mut cmd = std::process::Command::new(&py);
        cmd.arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_geozarr.py"),
        )
        .arg(&out)
        .arg(group)
        .arg("b04");
        if profile == Profile::Reference {
            cmd.arg("--per-level");
        }
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{profile:?}: python failed: {}",
            common::stderr(&o)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let want_assets = match profile {
            Profile::Reference => serde_json::json!([".", "r2", "r4", "r8"]),
            Profile::Geozarr => serde_json::json!(["r1", "r2", "r4", "r8"]),
        };
        assert_eq!(v["assets"], want_assets);
        let h = Hierarchy::open(&out).unwrap();
        for (name, level) in v["levels"].as_object().unwrap() {
            let path = if name == "." {
                format!("/{group}/b04")
            } else {
                format!("/{group}/{name}/b04")
            };
            let ours = h.read::<f64>(&path).unwrap();
            let shape: Vec<u64> = ours.shape().iter().map(|&d| d as u64).collect();
            assert_eq!(
                level["shape"],
                serde_json::json!(shape),
                "{profile:?} {name}"
            );
            assert_eq!(level["xarray_shape"], level["shape"]);
            assert_eq!(level["xarray_dims"], serde_json::json!(["y", "x"]));
            assert_eq!(level["crs_wkt_epsg"], "32632", "{profile:?} {name}");
            for (k, ij) in level["index"].as_array().unwrap().iter().enumerate() {
                let (i, j) = (
                    ij[0].as_u64().unwrap() as usize,
                    ij[1].as_u64().unwrap() as usize,
                );
                let want = ours[[i, j]];
                for key in ["samples_zarr", "samples_xarray"] {
                    let got = &level[key][k];
                    if want.is_nan() {
                        assert!(got.is_null(), "{profile:?} {name} {key}[{i},{j}]");
                    } else {
                        assert_eq!(
                            got.as_f64().unwrap(),
                            want,
                            "{profile:?} {name} {key}[{i},{j}]"
                        );
                    }
                }
            }
        }
    }
}

/// Today's clients with default options, on the default (geozarr) profile of a v2 (N0511) and a
/// v3 (N0512) input: zarr-cm's `validate_all` passes on every node; `xr.open_datatree(store,
/// engine="zarr")` with no other option makes `spatial_ref` a coordinate, so rioxarray finds the
/// CRS and the edge transform of every level (equal to our `spatial:transform`); xarray's values
/// equal our reader's.
#[test]
fn todays_python_clients_accept_the_default_output_of_v2_and_v3_inputs() {
    let Some(py) = common::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for format in ["v2", "v3"] {
        let input = dir.path().join(format!("in-{format}.zarr"));
        common::run_ok(&[
            "demo",
            input.to_str().unwrap(),
            "--size",
            "366",
            "--format",
            format,
        ]);
        let out = dir.path().join(format!("out-{format}.zarr"));
        let o = common::run(&[
            "convert-s2-optimized",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--enable-sharding",
        ]);
        assert!(o.status.success(), "{format}: {}", common::stderr(&o));
        let o = std::process::Command::new(&py)
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/clients.py"))
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{format}: clients.py failed (rioxarray and zarr-cm must be installed): {}",
            common::stderr(&o)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let nodes = v["zarr_cm"].as_object().unwrap();
        assert!(nodes.len() > 100, "{format}: {} nodes checked", nodes.len());
        for (path, err) in nodes {
            assert!(err.is_null(), "{format} {path}: zarr-cm: {err}");
        }
        let h = Hierarchy::open(&out).unwrap();
        let levels = v["levels"].as_object().unwrap();
        assert_eq!(levels.len(), 6, "{format}");
        for (name, level) in levels {
            let group = format!("/measurements/reflectance/{name}");
            assert_eq!(level["crs_epsg"], 32632, "{format} {name}: rioxarray CRS");
            assert_eq!(level["grid_mapping_is_coordinate"], true, "{format} {name}");
            let st: Vec<f64> = h.node(&group).unwrap().attributes["spatial:transform"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            // rioxarray's GDAL order (c, a, b, f, d, e) against ours (a, b, c, d, e, f).
            let t: Vec<f64> = level["transform"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let ours = [st[2], st[0], st[1], st[5], st[3], st[4]];
            for (a, b) in t.iter().zip(ours) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "{format} {name}: {t:?} vs {ours:?}"
                );
            }
            let data = h.read::<f32>(&format!("{group}/b04")).unwrap();
            for (k, ij) in level["index"].as_array().unwrap().iter().enumerate() {
                let (i, j) = (
                    ij[0].as_u64().unwrap() as usize,
                    ij[1].as_u64().unwrap() as usize,
                );
                let want = data[[i, j]];
                let got = &level["values"][k];
                if want.is_nan() {
                    assert!(got.is_null(), "{format} {name}[{i},{j}]: {got} vs NaN");
                } else {
                    assert_eq!(
                        got.as_f64().unwrap() as f32,
                        want,
                        "{format} {name}[{i},{j}]"
                    );
                }
            }
        }
    }
}
