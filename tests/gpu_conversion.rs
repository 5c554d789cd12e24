//! The written stores are the same whichever device ran the kernels (the agreement rule of src/kernels/mod.rs):
//! `--device gpu` (wgpu on lavapipe in `make test`) against `--device cpu`, for both pipelines and
//! both profiles on the golden input and for a demo product — every array, integers and strings
//! bit-identical, floats within 4 ULP, and identical metadata.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::Path;

use eopf_geozarr::convert::{
    Existing, GenericOptions, S2Options, convert_s2_optimized, create_geozarr_dataset,
};
use eopf_geozarr::hierarchy::{Hierarchy, NodeKind};
use eopf_geozarr::kernels::Device;
use eopf_geozarr::plan::Profile;

fn ulps64(a: f64, b: f64) -> u64 {
    if a.is_nan() && b.is_nan() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    (a.to_bits() as i128 - b.to_bits() as i128).unsigned_abs() as u64
}

/// Compare two stores array by array; returns the worst float difference in ULP.
fn compare(a: &Path, b: &Path) -> u64 {
    let (ha, hb) = (Hierarchy::open(a).unwrap(), Hierarchy::open(b).unwrap());
    let na: Vec<&str> = ha.nodes().map(|n| n.path.as_str()).collect();
    let nb: Vec<&str> = hb.nodes().map(|n| n.path.as_str()).collect();
    assert_eq!(na, nb, "node sets");
    let mut worst = 0;
    for n in ha.nodes() {
        let m = match &n.kind {
            NodeKind::Array(m) => m,
            NodeKind::Group => {
                assert_eq!(
                    n.attributes,
                    hb.node(&n.path).unwrap().attributes,
                    "{}",
                    n.path
                );
                continue;
            }
        };
        let mb = hb.array_meta(&n.path).unwrap();
        assert_eq!(format!("{m:?}"), format!("{mb:?}"), "{}", n.path);
        let all: Vec<std::ops::Range<u64>> = m.shape.iter().map(|&d| 0..d).collect();
        match m.dtype.as_str() {
            "float32" => {
                let (x, y) = (
                    ha.read::<f32>(&n.path).unwrap(),
                    hb.read::<f32>(&n.path).unwrap(),
                );
                for (p, q) in x.iter().zip(y.iter()) {
                    let (p, q) = (*p, *q);
                    let d = if p.is_nan() && q.is_nan() {
                        0
                    } else if p.is_nan() || q.is_nan() {
                        u64::MAX
                    } else {
                        (p.to_bits() as i64 - q.to_bits() as i64).unsigned_abs()
                    };
                    worst = worst.max(d);
                    assert!(d <= 4, "{}: {p} vs {q}", n.path);
                }
            }
            "float64" => {
                let (x, y) = (
                    ha.read::<f64>(&n.path).unwrap(),
                    hb.read::<f64>(&n.path).unwrap(),
                );
                for (p, q) in x.iter().zip(y.iter()) {
                    let d = ulps64(*p, *q);
                    worst = worst.max(d);
                    assert!(d <= 4, "{}: {p} vs {q}", n.path);
                }
            }
            _ => assert_eq!(
                ha.read_region_bytes(&n.path, &all).unwrap(),
                hb.read_region_bytes(&n.path, &all).unwrap(),
                "{}",
                n.path
            ),
        }
    }
    worst
}

#[test]
fn conversions_agree_between_devices() {
    if common::gpu_kernels().is_none() {
        return;
    }
    let Some(fx) = common::fixtures() else { return };
    let input = fx.join("golden/in_l2a_shard.zarr");
    let dir = tempfile::tempdir().unwrap();
    for profile in [Profile::Reference, Profile::Geozarr] {
        let mut outs = vec![];
        for device in [Device::Cpu, Device::Gpu] {
            let out = dir.path().join(format!("b-{profile:?}-{device:?}.zarr"));
            let opts = S2Options {
                profile,
                enable_sharding: true,
                device,
                ..Default::default()
            };
            let (_, r) =
                convert_s2_optimized(&input, &out, &opts, Existing::Error, &|_, _, _| {}).unwrap();
            assert_eq!(
                r.kernels.starts_with("GPU"),
                device == Device::Gpu,
                "{}",
                r.kernels
            );
            outs.push(out);
        }
        let w = compare(&outs[0], &outs[1]);
        eprintln!("pipeline B {profile:?}: worst float difference {w} ULP");
        let mut outs = vec![];
        for device in [Device::Cpu, Device::Gpu] {
            let out = dir.path().join(format!("a-{profile:?}-{device:?}.zarr"));
            let opts = GenericOptions {
                profile,
                groups: vec![
                    "/measurements/reflectance/r20m".into(),
                    "/conditions/mask/l2a_classification/r20m".into(),
                ],
                spatial_chunk: 256,
                min_dimension: 64,
                device,
                ..Default::default()
            };
            create_geozarr_dataset(&input, &out, &opts, Existing::Error, &|_, _, _| {}).unwrap();
            outs.push(out);
        }
        let w = compare(&outs[0], &outs[1]);
        eprintln!("pipeline A {profile:?}: worst float difference {w} ULP");
    }
}

#[test]
fn demo_conversion_agrees_between_devices() {
    if common::gpu_kernels().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("demo.zarr");
    common::run_ok(&[
        "demo",
        input.to_str().unwrap(),
        "--size",
        "1098",
        "--seed",
        "5",
    ]);
    for profile in ["geozarr", "reference"] {
        let mut outs = vec![];
        for device in ["cpu", "gpu"] {
            let out = dir.path().join(format!("{profile}-{device}.zarr"));
            let o = common::run_ok(&[
                "convert-s2-optimized",
                input.to_str().unwrap(),
                out.to_str().unwrap(),
                "--enable-sharding",
                "--profile",
                profile,
                "--device",
                device,
            ]);
            let stdout = common::stdout(&o);
            let want = if device == "gpu" {
                "kernels: GPU"
            } else {
                "kernels: CPU"
            };
            assert!(stdout.contains(want), "{stdout}");
            outs.push(out);
        }
        let w = compare(&outs[0], &outs[1]);
        eprintln!("demo {profile}: worst float difference {w} ULP");
    }
}
