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

#[test]
fn reference_plan_reproduces_optimized_geozarr_examples() {
    let Some(fx) = common::fixtures() else { return };
    for name in [
        "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json",
        "S2B_MSIL1C_20250113T103309_N0511_R108_T32TLQ_20250113T122458.json",
    ] {
        let layout = GroupSpec::from_file(&fx.join("s2_examples").join(name)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.zarr");
        layout.materialise(&p).unwrap();
        let h = Hierarchy::open(&p).unwrap();
        let crs = resolve_crs(&h, &epsg_exists).map(|c| c.0);
        let opts = S2Options {
            profile: Profile::Reference,
            spatial_chunk: 256,
            enable_sharding: true,
            finalise_root: false,
            ..Default::default()
        };
        let plan = plan_s2(&h, crs, &opts).unwrap();
        let mut ours: BTreeMap<String, Value> = BTreeMap::new();
        for (g, attrs) in &plan.groups {
            ours.insert(g.clone(), serde_json::json!({"attributes": attrs}));
        }
        for a in &plan.arrays {
            ours.insert(a.path.clone(), a.doc.clone());
        }
        let want_doc: Value = serde_json::from_str(
            &std::fs::read_to_string(fx.join("optimized_geozarr_examples").join(name)).unwrap(),
        )
        .unwrap();
        let mut want = BTreeMap::new();
        flatten(&want_doc, "/", &mut want);

        let only_want: Vec<&String> = want.keys().filter(|k| !ours.contains_key(*k)).collect();
        let only_ours: Vec<&String> = ours.keys().filter(|k| !want.contains_key(*k)).collect();
        assert!(
            only_want.is_empty() && only_ours.is_empty(),
            "{name}: missing {only_want:?}, extra {only_ours:?}"
        );
        let mut diffs = Vec::new();
        for (path, w) in &want {
            let o = &ours[path];
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
        assert!(
            diffs.is_empty(),
            "{name}: {} differences:\n{}",
            diffs.len(),
            diffs
                .iter()
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
