//! `--profile geozarr` on the golden input: exact edge georeferencing at every level, the partial
//! last block kept with scale exactly 2.0, the v0.1 declarations, CRS on /conditions rasters,
//! sharded quality rasters, zstd at the requested level, and a clean validation.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use eopf_geozarr::convert::s2::Codec;
use eopf_geozarr::convert::{S2Options, convert_s2_optimized};
use eopf_geozarr::hierarchy::{Hierarchy, NodeKind};
use eopf_geozarr::plan::Profile;
use eopf_geozarr::validate::validate;
use serde_json::{Value, json};

fn geozarr_output(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let fx = common::fixtures()?;
    let out = dir.join("gz.zarr");
    let opts = S2Options {
        profile: Profile::Geozarr,
        enable_sharding: true,
        codec: Codec::Zstd,
        compression_level: 5,
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
    Some(out)
}

#[test]
fn geozarr_profile_is_exact_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = geozarr_output(dir.path()) else {
        return;
    };
    let h = Hierarchy::open(&out).unwrap();
    let refl = h.node("/measurements/reflectance").unwrap();
    let layout = refl.attributes["multiscales"]["layout"]
        .as_array()
        .unwrap()
        .clone();
    let want = [
        ("r10m", 1098, 10.0),
        ("r20m", 549, 20.0),
        ("r60m", 183, 60.0),
        ("r120m", 92, 120.0),
        ("r360m", 31, 360.0),
        ("r720m", 16, 720.0),
    ];
    assert_eq!(layout.len(), 6);
    for (e, (name, n, res)) in layout.iter().zip(want) {
        assert_eq!(e["asset"], name);
        assert_eq!(e["spatial:shape"], json!([n, n]), "{name}");
        // Edges 699960 / 4700040 at every level.
        assert_eq!(
            e["spatial:transform"],
            json!([res, 0.0, 699960.0, 0.0, -res, 4700040.0]),
            "{name}"
        );
        let g = h
            .node(&format!("/measurements/reflectance/{name}"))
            .unwrap();
        assert_eq!(
            g.attributes["spatial:transform"], e["spatial:transform"],
            "{name}"
        );
        let b = g.attributes["spatial:bbox"].as_array().unwrap();
        assert_eq!(b[0], json!(699960.0));
        assert_eq!(b[3], json!(4700040.0));
        // No stale GeoTransform, per-array proj:* rewritten for the level.
        assert!(
            !h.node(&format!("/measurements/reflectance/{name}/spatial_ref"))
                .unwrap()
                .attributes
                .contains_key("GeoTransform")
        );
        let b04 = h
            .node(&format!("/measurements/reflectance/{name}/b04"))
            .unwrap();
        assert_eq!(b04.attributes["proj:shape"], json!([n, n]));
        assert_eq!(b04.attributes["proj:transform"][0], json!(res));
    }
    // The r720m-equivalent level keeps its partial block and states scale exactly 2.0.
    assert_eq!(layout[5]["transform"]["scale"], json!([2.0, 2.0]));
    assert_eq!(layout[4]["transform"]["scale"], json!([3.0, 3.0]));
    // v0.1 declarations everywhere, on the root too.
    let decl = refl.attributes["zarr_conventions"].as_array().unwrap();
    assert_eq!(
        decl[0]["schema_url"],
        "https://raw.githubusercontent.com/zarr-conventions/multiscales/refs/tags/v0.1/schema.json"
    );
    assert_eq!(decl[1]["name"], "spatial");
    assert!(h.root().attributes.contains_key("zarr_conventions"));
    assert_eq!(h.root().attributes["proj:code"], "EPSG:4326");
    // CRS and spatial: on /conditions rasters (B-11).
    let scl = h.node("/conditions/mask/l2a_classification/r20m").unwrap();
    assert_eq!(scl.attributes["proj:code"], "EPSG:32632");
    assert_eq!(
        scl.attributes["spatial:transform"],
        json!([20.0, 0.0, 699960.0, 0.0, -20.0, 4700040.0])
    );
    // Quality rasters are sharded with the policy, data arrays compressed with zstd level 5.
    let aot = h.array_meta("/quality/atmosphere/r10m/aot").unwrap();
    assert_eq!(aot.chunks, vec![183, 183]);
    assert_eq!(aot.shard_shape, Some(vec![1098, 1098]));
    assert!(
        aot.codecs.iter().any(|c| c == "zstd(level=5)"),
        "{:?}",
        aot.codecs
    );
    // Invariants of the reference's test_array_attrs (its tests/test_array_attrs.py checks).
    for n in h.nodes() {
        assert!(!n.attributes.contains_key("_eopf_attrs"), "{}", n.path);
        assert!(
            !n.attributes.keys().any(|k| k.starts_with("tile_matrix")),
            "{}",
            n.path
        );
        if let NodeKind::Array(m) = &n.kind
            && m.dtype.starts_with("float")
        {
            assert_ne!(
                n.attributes.get("units"),
                Some(&Value::from("digital_counts")),
                "{}",
                n.path
            );
            if n.path.starts_with("/measurements/") {
                assert_eq!(
                    n.attributes.get("_FillValue"),
                    Some(&Value::from("AAAAAAAA+H8=")),
                    "{}",
                    n.path
                );
            }
        }
    }
    let r = validate(&h);
    assert!(r.is_valid(), "{}", r.to_text());
    for code in [
        "half-pixel",
        "level-trimmed",
        "scale-mismatch",
        "convention-draft",
        "root-conventions",
        "origin-shift",
    ] {
        assert!(!r.has(code), "{code} in\n{}", r.to_text());
    }
}

#[test]
fn partial_blocks_are_averaged_over_the_pixels_they_have() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = geozarr_output(dir.path()) else {
        return;
    };
    let h = Hierarchy::open(&out).unwrap();
    let r60 = h.read::<f32>("/measurements/reflectance/r60m/b04").unwrap();
    let r120 = h
        .read::<f32>("/measurements/reflectance/r120m/b04")
        .unwrap();
    assert_eq!(r120.shape(), &[92, 92]);
    // The last column of r120m holds r60m's column 182 alone (183 is odd).
    for row in [10usize, 50, 90] {
        let vals: Vec<f32> = [r60[[2 * row, 182]], r60[[2 * row + 1, 182]]]
            .into_iter()
            .filter(|v| !v.is_nan())
            .collect();
        let want = vals.iter().map(|&v| f64::from(v)).sum::<f64>() / vals.len() as f64;
        assert!(
            (f64::from(r120[[row, 91]]) - want).abs() < 1e-6,
            "row {row}"
        );
    }
    // x coordinates are the centres of the level's own grid.
    let x = h.read::<f64>("/measurements/reflectance/r120m/x").unwrap();
    assert_eq!(
        (x[0], x[91]),
        (699960.0 + 60.0, 699960.0 + 60.0 + 91.0 * 120.0)
    );
}

#[test]
fn classes_masks_and_probabilities_get_type_correct_pyramids() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = geozarr_output(dir.path()) else {
        return;
    };
    let fx = common::fixtures().unwrap();
    let input = Hierarchy::open(fx.join("golden/in_l2a_shard.zarr")).unwrap();
    let h = Hierarchy::open(&out).unwrap();
    // SCL: r120m = mode of 2×2 r60m pixels, r360m = mode of 6×6, partial edge blocks kept.
    let scl60 = input
        .read::<u8>("/conditions/mask/l2a_classification/r60m/scl")
        .unwrap();
    for (level, f) in [("r120m", 2usize), ("r360m", 6), ("r720m", 12)] {
        let got = h
            .read::<u8>(&format!("/conditions/mask/l2a_classification/{level}/scl"))
            .unwrap();
        assert_eq!(
            got.shape(),
            &[183usize.div_ceil(f), 183usize.div_ceil(f)],
            "{level}"
        );
        for (oy, ox) in [
            (0usize, 0usize),
            (5, 7),
            (got.shape()[0] - 1, got.shape()[1] - 1),
        ] {
            let mut counts = [0u32; 256];
            for y in oy * f..((oy + 1) * f).min(183) {
                for x in ox * f..((ox + 1) * f).min(183) {
                    counts[scl60[[y, x]] as usize] += 1;
                }
            }
            let mode = (0..256).fold(
                0usize,
                |best, v| if counts[v] > counts[best] { v } else { best },
            );
            assert_eq!(got[[oy, ox]] as usize, mode, "{level} [{oy},{ox}]");
        }
    }
    // Quality masks: bitwise OR.
    let m60 = input.read::<u8>("/quality/mask/r60m/b01").unwrap();
    let m120 = h.read::<u8>("/quality/mask/r120m/b01").unwrap();
    let want = m60[[20, 30]] | m60[[20, 31]] | m60[[21, 30]] | m60[[21, 31]];
    assert_eq!(m120[[10, 15]], want);
    // Probabilities (only r20m in the product): r60m = rounded mean of 3×3 r20m pixels.
    let c20 = input.read::<u8>("/quality/probability/r20m/cld").unwrap();
    let c60 = h.read::<u8>("/quality/probability/r60m/cld").unwrap();
    let sum: u32 = (30..33)
        .flat_map(|y| (60..63).map(move |x| (y, x)))
        .map(|(y, x)| u32::from(c20[[y, x]]))
        .sum();
    assert_eq!(c60[[10, 20]], (f64::from(sum) / 9.0).round() as u8);
    // Each family carries its own multiscales with the kernel named per level.
    let fam = h.node("/conditions/mask/l2a_classification").unwrap();
    let layout = fam.attributes["multiscales"]["layout"].as_array().unwrap();
    let assets: Vec<&str> = layout
        .iter()
        .map(|e| e["asset"].as_str().unwrap())
        .collect();
    assert_eq!(assets, ["r20m", "r60m", "r120m", "r360m", "r720m"]);
    assert_eq!(layout[2]["resampling_method"], "mode");
    assert_eq!(
        layout[2]["spatial:transform"],
        json!([120.0, 0.0, 699960.0, 0.0, -120.0, 4700040.0])
    );
    let qm = &h.node("/quality/mask").unwrap().attributes["multiscales"]["layout"];
    assert_eq!(qm[3]["resampling_method"], "bitwise_or");
    assert_eq!(
        h.node("/quality/probability").unwrap().attributes["multiscales"]["layout"][1]["resampling_method"],
        "average"
    );
}

/// /conditions/geometry (5 km angle grids with their own x/y) gets a grid mapping with the exact
/// edge GeoTransform, named by every variable on y/x (B-11), and stays valid.
#[test]
fn geometry_angle_grids_are_georeferenced() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = geozarr_output(dir.path()) else {
        return;
    };
    let h = Hierarchy::open(&out).unwrap();
    let g = "/conditions/geometry";
    assert_eq!(h.node(g).unwrap().attributes["grid_mapping"], "spatial_ref");
    let sr = h.node(&format!("{g}/spatial_ref")).unwrap();
    let x: Vec<i64> = h
        .read::<i64>(&format!("{g}/x"))
        .unwrap()
        .iter()
        .copied()
        .collect();
    let y: Vec<i64> = h
        .read::<i64>(&format!("{g}/y"))
        .unwrap()
        .iter()
        .copied()
        .collect();
    let res = (x[1] - x[0]) as f64;
    let gt = format!(
        "{:.1} {res:.1} 0.0 {:.1} 0.0 {:.1}",
        x[0] as f64 - res / 2.0,
        y[0] as f64 + res / 2.0,
        -res
    );
    assert_eq!(sr.attributes["GeoTransform"], json!(gt));
    assert_eq!(
        h.node(&format!("{g}/sun_angles")).unwrap().attributes["grid_mapping"],
        "spatial_ref"
    );
    assert!(
        !h.node(&format!("{g}/mean_sun_angles"))
            .unwrap()
            .attributes
            .contains_key("grid_mapping")
    );
    assert!(validate(&h).is_valid());
}
