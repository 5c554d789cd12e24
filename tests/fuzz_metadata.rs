//! Property-based fuzzing (proptest, on stable) of the metadata parsers and the product model:
//! the seed documents of `tests/fuzz_corpus/` mutated at random paths with arbitrary JSON, and
//! wholly arbitrary documents, are read as a Zarr v3 and a Zarr v2 hierarchy (consolidated and
//! listed) and as pydantic-zarr layouts; every reader and every model function (detection, shape
//! checks, CRS resolution, `info`, `validate`) returns a value or an error, never panics. The case
//! count is fixed, so the run is bounded (a few seconds in `make test`).
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use std::sync::Arc;

use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::layout::GroupSpec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use zarrs::storage::store::MemoryStore;
use zarrs::storage::{StoreKey, WritableStorageTraits};

fn corpus() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let mut v: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&text).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(v.len() >= 5, "corpus in {}", dir.display());
    v
}

/// Keys the readers look at, so that random objects hit real code paths.
const KEYS: [&str; 24] = [
    "zarr_format",
    "node_type",
    "shape",
    "data_type",
    "chunk_grid",
    "configuration",
    "chunk_shape",
    "codecs",
    "name",
    "fill_value",
    "attributes",
    "dimension_names",
    "consolidated_metadata",
    "metadata",
    "chunks",
    "dtype",
    "compressor",
    "members",
    "multiscales",
    "layout",
    "spatial:transform",
    "proj:code",
    "_ARRAY_DIMENSIONS",
    "scale_factor",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        prop_oneof![
            Just("NaN".to_string()),
            Just("uint16".to_string()),
            Just("float32".to_string()),
            Just("<u2".to_string()),
            Just("|S3".to_string()),
            Just("array".to_string()),
            Just("group".to_string()),
            Just("EPSG:32632".to_string()),
            Just("AAAAAAAA+H8=".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..6).prop_map(|kv| {
                let m: Map<String, Value> =
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                Value::Object(m)
            }),
        ]
    })
}

/// Replace the value at a pseudo-random path of `doc` (chosen by `seed`) by `with`.
fn mutate(doc: &mut Value, mut seed: u64, with: Value) {
    let mut cur = doc;
    loop {
        let next_seed = seed / 7;
        let children = match cur {
            Value::Object(m) if !m.is_empty() => m.len(),
            Value::Array(a) if !a.is_empty() => a.len(),
            _ => 0,
        };
        // Stop here with probability 1/4 (or at a leaf).
        if children == 0 || seed.is_multiple_of(4) {
            *cur = with;
            return;
        }
        let i = (seed as usize / 4) % children;
        cur = match cur {
            Value::Object(m) => m.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
        seed = next_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7;
    }
}

fn put(store: &MemoryStore, key: &str, v: &Value) {
    store
        .set(
            &StoreKey::new(key).unwrap(),
            serde_json::to_vec(v).unwrap().into(),
        )
        .unwrap();
}

/// Open a store and run every model function on it: any result is fine, a panic is not.
fn exercise(store: Arc<MemoryStore>) {
    let Ok(h) = Hierarchy::open_store(store, "mem://fuzz".into()) else {
        return;
    };
    let _ = eopf_geozarr::product::detect(&h);
    let _ = eopf_geozarr::product::check_sentinel2(&h);
    let _ = eopf_geozarr::product::check_shapes(&h);
    let _ = eopf_geozarr::product::resolve_crs(&h, &|c| c == 32632 || c == 32633);
    let _ = eopf_geozarr::inspect::inspect(&h);
    let _ = eopf_geozarr::validate::validate(&h);
    let _ = h.check_decodable();
}

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The unmutated seeds open and go through the whole model: the fuzzed paths are real ones.
#[test]
fn seeds_open_and_run_through_the_model() {
    let seeds = corpus();
    let get = |n: &str| seeds.iter().find(|(k, _)| k == n).unwrap().1.clone();
    for child in ["v3_array.json", "v3_sharded.json", "v3_strings.json"] {
        let store = Arc::new(MemoryStore::default());
        put(&store, "zarr.json", &get("v3_root.json"));
        put(
            &store,
            "g/zarr.json",
            &json!({"zarr_format": 3, "node_type": "group"}),
        );
        put(&store, "g/a/zarr.json", &get(child));
        let h = Hierarchy::open_store(store, "mem://seed".into()).unwrap();
        assert!(h.node("/g/a").is_some(), "{child}");
        h.check_decodable().unwrap();
        eopf_geozarr::inspect::inspect(&h).unwrap();
        let _ = eopf_geozarr::validate::validate(&h);
    }
    assert!(GroupSpec::from_json(&get("layout_v3.json"), "seed").is_ok());
}

proptest! {
    #![proptest_config(cfg())]

    /// A v3 store: the root (a mutated seed root or an arbitrary document) with a mutated seed
    /// array as its child, consolidated inline or listed.
    #[test]
    fn v3_hierarchies_never_panic(
        root_pick in 0usize..6, child_pick in 0usize..6,
        s1 in any::<u64>(), s2 in any::<u64>(), v1 in value(), v2 in value(),
        consolidated in any::<bool>(), arbitrary_root in any::<bool>(),
    ) {
        let seeds = corpus();
        let mut root = seeds[root_pick % seeds.len()].1.clone();
        if arbitrary_root {
            root = v1.clone();
        } else {
            mutate(&mut root, s1, v1);
        }
        let mut child = seeds[child_pick % seeds.len()].1.clone();
        mutate(&mut child, s2, v2);
        let store = Arc::new(MemoryStore::default());
        if consolidated && root.is_object() {
            root["consolidated_metadata"] = json!({"kind": "inline", "must_understand": false,
                "metadata": {"g": {"zarr_format": 3, "node_type": "group", "attributes": {}}, "g/a": child.clone()}});
        }
        put(&store, "zarr.json", &root);
        put(&store, "g/zarr.json", &json!({"zarr_format": 3, "node_type": "group"}));
        put(&store, "g/a/zarr.json", &child);
        exercise(store);
    }

    /// A v2 store: a mutated `.zarray` under a group, through `.zmetadata` or listing.
    #[test]
    fn v2_hierarchies_never_panic(s in any::<u64>(), v in value(), consolidated in any::<bool>()) {
        let mut zarray = corpus().into_iter().find(|(n, _)| n == "v2_zarray.json").unwrap().1;
        mutate(&mut zarray, s, v);
        let store = Arc::new(MemoryStore::default());
        put(&store, ".zgroup", &json!({"zarr_format": 2}));
        put(&store, "b/.zarray", &zarray);
        put(&store, "b/.zattrs", &json!({"_ARRAY_DIMENSIONS": ["y", "x"]}));
        if consolidated {
            put(&store, ".zmetadata", &json!({"zarr_consolidated_format": 1, "metadata": {
                ".zgroup": {"zarr_format": 2}, "b/.zarray": zarray,
                "b/.zattrs": {"_ARRAY_DIMENSIONS": ["y", "x"]}}}));
        }
        exercise(store);
    }

    /// pydantic-zarr layouts of both versions, mutated or arbitrary.
    #[test]
    fn layouts_never_panic(pick in 0usize..6, s in any::<u64>(), v in value(), arbitrary in any::<bool>()) {
        let seeds = corpus();
        let mut doc = seeds[pick % seeds.len()].1.clone();
        if arbitrary {
            doc = v;
        } else {
            mutate(&mut doc, s, v);
        }
        if let Ok(g) = GroupSpec::from_json(&doc, "fuzz") {
            for (p, a) in g.arrays() {
                let _ = a.zarr_json(&p);
            }
            let _ = g.to_json_v3("fuzz");
        }
    }
}
