//! Pipeline B's plan with `--profile reference` (sharding, chunk 256, decoded floats) on the
//! materialised fixture layouts reproduces `optimized_geozarr_examples/*.json` node by node: node set,
//! shapes, data types, chunk/shard shapes, codecs, fill values, dimension names and attributes.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use eopf_geozarr::convert::{S2Options, plan_s2};
use eopf_geozarr::geo::epsg_exists;
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::layout::GroupSpec;
use eopf_geozarr::plan::Profile;
use eopf_geozarr::product::resolve_crs;
use serde_json::Value;

fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn compare(fixture_dir: &str, name: &str, opts: &S2Options) -> Vec<String> {
    let fx = common::fixtures().expect("checked by the caller");
    let layout = GroupSpec::from_file(&fx.join("s2_examples").join(name)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.zarr");
    layout.materialise(&p).unwrap();
    let h = Hierarchy::open(&p).unwrap();
    let crs = resolve_crs(&h, &epsg_exists).map(|c| c.0);
    let plan = plan_s2(&h, crs, opts).unwrap();
    common::diff(&plan, &read_json(&fx.join(fixture_dir).join(name)))
}

const PRODUCTS: [&str; 2] = [
    "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json",
    "S2B_MSIL1C_20250113T103309_N0511_R108_T32TLQ_20250113T122458.json",
];

/// `create_multiscale_from_datatree(sharding, chunk 256, decoded)` — no root finalisation.
#[test]
fn reference_plan_reproduces_optimized_geozarr_examples() {
    if common::fixtures().is_none() {
        return;
    }
    let opts = S2Options {
        profile: Profile::Reference,
        spatial_chunk: 256,
        enable_sharding: true,
        finalise_root: false,
        ..Default::default()
    };
    for name in PRODUCTS {
        let d = compare("optimized_geozarr_examples", name, &opts);
        common::assert_no_differences(name, &d);
    }
}

/// CLI `convert --spatial-chunk 1024` (pipeline B without sharding, with the store-root bbox
/// `[4.511256115612801, 0, 4.511256115612801, 0]` of the zero coordinates).
#[test]
fn reference_plan_reproduces_geozarr_examples() {
    if common::fixtures().is_none() {
        return;
    }
    let opts = S2Options {
        profile: Profile::Reference,
        spatial_chunk: 1024,
        enable_sharding: false,
        finalise_root: true,
        ..Default::default()
    };
    for name in PRODUCTS {
        let d = compare("geozarr_examples", name, &opts);
        common::assert_no_differences(name, &d);
    }
}

/// Real coordinates: planning the golden 1/10 L2A input gives the golden output's metadata
/// (`spatial:transform` edge-vs-centre rule, stale `GeoTransform` on computed levels, scales
/// 183/91 and 91/30, store-root bbox from two corners).
#[test]
fn reference_plan_reproduces_the_golden_output_metadata() {
    let Some(fx) = common::fixtures() else { return };
    let h = Hierarchy::open(fx.join("golden/in_l2a_shard.zarr")).unwrap();
    let crs = resolve_crs(&h, &epsg_exists).map(|c| c.0);
    let opts = S2Options {
        profile: Profile::Reference,
        spatial_chunk: 256,
        enable_sharding: true,
        finalise_root: true,
        ..Default::default()
    };
    let plan = plan_s2(&h, crs, &opts).unwrap();
    let diffs = common::diff(
        &plan,
        &read_json(&fx.join("golden/out_l2a_shard_spec.json")),
    );
    common::assert_no_differences("golden/out_l2a_shard_spec.json", &diffs);
}
