//! Pixel parity: converting `golden/in_l2a_shard.zarr` with the reference profile (sharding, chunk
//! 256) matches `golden/out_l2a_shard.zarr` value by value — integers exactly, floats within
//! 1 ULP × block size.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use eopf_geozarr::convert::{S2Options, convert_s2_optimized};
use eopf_geozarr::hierarchy::{Hierarchy, NodeKind};
use eopf_geozarr::plan::Profile;

fn raw(h: &Hierarchy, path: &str) -> Vec<u8> {
    let a = h.open_array(path).unwrap();
    let b: zarrs::array::ArrayBytes = a.retrieve_array_subset(&a.subset_all()).unwrap();
    b.into_fixed().unwrap().into_owned()
}

/// 1 ULP × the block size of the reduction that made the value (r20m/r60m b08: 2×2 / 6×6 of
/// r10m; r120m 2×2, r360m 3×3, r720m 2×2 of the level before).
fn tolerance_ulps(path: &str) -> f32 {
    if path.contains("/r360m/") {
        9.0
    } else if path.contains("/r120m/") || path.contains("/r720m/") || path.ends_with("r20m/b08") {
        4.0
    } else if path.ends_with("r60m/b08") {
        36.0
    } else {
        1.0
    }
}

#[test]
fn reference_conversion_matches_the_golden_output() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.zarr");
    let opts = S2Options {
        profile: Profile::Reference,
        spatial_chunk: 256,
        enable_sharding: true,
        ..Default::default()
    };
    convert_s2_optimized(
        fx.join("golden/in_l2a_shard.zarr"),
        &out,
        &opts,
        eopf_geozarr::convert::Existing::Error,
        &|_, _, _| {},
    )
    .unwrap();
    let ours = Hierarchy::open(&out).unwrap();
    let gold = Hierarchy::open(fx.join("golden/out_l2a_shard.zarr")).unwrap();
    let mut compared = 0;
    let mut worst: (f32, String) = (0.0, String::new());
    for n in gold.nodes() {
        let NodeKind::Array(m) = &n.kind else {
            continue;
        };
        let ours_meta = ours.array_meta(&n.path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ours_meta.shape, m.shape, "{}", n.path);
        assert_eq!(ours_meta.dtype, m.dtype, "{}", n.path);
        let (a, b) = (raw(&ours, &n.path), raw(&gold, &n.path));
        assert_eq!(a.len(), b.len(), "{}", n.path);
        match m.dtype.as_str() {
            "float32" => {
                let tol = tolerance_ulps(&n.path);
                for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
                    let (x, y) = (
                        f32::from_le_bytes(x.try_into().unwrap()),
                        f32::from_le_bytes(y.try_into().unwrap()),
                    );
                    if y.is_nan() {
                        assert!(x.is_nan(), "{}: {x} where the reference has NaN", n.path);
                        continue;
                    }
                    let ulp = (y.abs() * f32::EPSILON).max(f32::MIN_POSITIVE);
                    let err = (x - y).abs() / ulp;
                    assert!(err <= tol, "{}: {x} vs {y} ({err} ULP > {tol})", n.path);
                    if err > worst.0 {
                        worst = (err, n.path.to_string());
                    }
                }
            }
            "float64" => {
                for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
                    let (x, y) = (
                        f64::from_le_bytes(x.try_into().unwrap()),
                        f64::from_le_bytes(y.try_into().unwrap()),
                    );
                    assert!(
                        (x.is_nan() && y.is_nan()) || x == y,
                        "{}: {x} vs {y}",
                        n.path
                    );
                }
            }
            _ => assert!(a == b, "{}: values differ", n.path),
        }
        compared += 1;
    }
    eprintln!(
        "compared {compared} arrays; worst float difference {} ULP in {}",
        worst.0, worst.1
    );
    assert!(compared > 100, "only {compared} arrays compared");
}
