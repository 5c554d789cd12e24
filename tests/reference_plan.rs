//! Pipeline B's plan with `--profile reference` (sharding, chunk 256, decoded floats) on the
//! materialised fixture layouts reproduces `optimized_geozarr_examples/*.json` node by node: node set,
//! shapes, data types, chunk/shard shapes, codecs, fill values, dimension names and attributes.

mod common;

use std::collections::BTreeMap;

use eopf_geozarr::convert::{S2Options, plan_s2};
use eopf_geozarr::geo::epsg_exists;
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::layout::GroupSpec;
use eopf_geozarr::plan::Profile;
use eopf_geozarr::product::resolve_crs;
use serde_json::Value;

/// Flatten a pydantic-zarr v3 GroupSpec into path → document (groups: `{"attributes": …}`).
fn flatten(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    let node_type = v
        .get("node_type")
        .and_then(Value::as_str)
        .unwrap_or("group");
    if node_type == "array" {
        out.insert(path.to_string(), v.clone());
        return;
    }
    out.insert(
        path.to_string(),
        serde_json::json!({"attributes": v["attributes"]}),
    );
    if let Some(m) = v.get("members").and_then(Value::as_object) {
        for (k, c) in m {
            let p = if path == "/" {
                format!("/{k}")
            } else {
                format!("{path}/{k}")
            };
            flatten(c, &p, out);
        }
    }
}

const ARRAY_KEYS: [&str; 8] = [
    "shape",
    "data_type",
    "chunk_grid",
    "codecs",
    "fill_value",
    "dimension_names",
    "attributes",
    "chunk_key_encoding",
];

/// Differences between a plan and a v3 GroupSpec document (node set, then per node).
fn diff(plan: &eopf_geozarr::convert::OutputPlan, want_doc: &Value) -> Vec<String> {
    let mut ours: BTreeMap<String, Value> = BTreeMap::new();
    for (g, attrs) in &plan.groups {
        ours.insert(g.clone(), serde_json::json!({"attributes": attrs}));
    }
    for a in &plan.arrays {
        ours.insert(a.path.clone(), a.doc.clone());
    }
    let mut want = BTreeMap::new();
    flatten(want_doc, "/", &mut want);
    let mut diffs = Vec::new();
    for k in want.keys().filter(|k| !ours.contains_key(*k)) {
        diffs.push(format!("{k}: missing"));
    }
    for k in ours.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("{k}: extra"));
    }
    for (path, w) in &want {
        let Some(o) = ours.get(path) else { continue };
        if w.get("node_type").is_some() {
            for k in ARRAY_KEYS {
                if w.get(k) != o.get(k) {
                    diffs.push(format!(
                        "{path} {k}:\n  want {}\n  ours {}",
                        w.get(k).map(|v| v.to_string()).unwrap_or_default(),
                        o.get(k).map(|v| v.to_string()).unwrap_or_default()
                    ));
                }
            }
        } else if w["attributes"] != o["attributes"] {
            diffs.push(format!(
                "{path} group attributes:\n  want {}\n  ours {}",
                w["attributes"], o["attributes"]
            ));
        }
    }
    diffs
}

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
    diff(&plan, &read_json(&fx.join(fixture_dir).join(name)))
}

fn assert_no_differences(what: &str, d: &[String]) {
    assert!(
        d.is_empty(),
        "{what}: {} differences:\n{}",
        d.len(),
        d.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
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
        assert_no_differences(name, &d);
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
        assert_no_differences(name, &d);
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
    let diffs = diff(
        &plan,
        &read_json(&fx.join("golden/out_l2a_shard_spec.json")),
    );
    assert_no_differences("golden/out_l2a_shard_spec.json", &diffs);
}
