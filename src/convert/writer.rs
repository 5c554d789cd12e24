//! Executes an [`OutputPlan`]: computes every array from its [`Source`], writes the chunks (or
//! shards) through `zarrs`, then — data first, metadata last — every array's and group's
//! `zarr.json`, and finally the inline consolidated metadata. A run that stops half way leaves
//! chunks without metadata, which no reader or validator takes for a finished output.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use zarrs::array::{Array, ArrayBytes, ArrayMetadata, ArrayMetadataV3};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{StoreKey, WritableStorageTraits};

use super::s2::{OutArray, OutputPlan, Source};
use crate::error::{Error, Result, show};
use crate::hierarchy::Hierarchy;
use crate::kernels::cpu::{Edge, block_nanmean_f32};
use crate::plan::Profile;

/// What a write did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WriteReport {
    pub arrays: usize,
    pub groups: usize,
    pub bytes_in: u64,
}

/// A computed float32 raster kept for the levels derived from it.
struct Raster {
    values: Vec<f32>,
    width: usize,
    height: usize,
}

fn shape_of(doc: &Value) -> Vec<u64> {
    doc["shape"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn read_raw(input: &Hierarchy, path: &str) -> Result<Vec<u8>> {
    let array = input.open_array(path)?;
    let at = format!("{}{path}", input.location());
    let bytes: ArrayBytes = array
        .retrieve_array_subset(&array.subset_all())
        .map_err(|e| Error::Chunk {
            path: at.clone(),
            chunk: "(any)".into(),
            reason: e.to_string(),
        })?;
    Ok(bytes
        .into_fixed()
        .map_err(|e| Error::invalid(&at, e))?
        .into_owned())
}

fn read_u16(input: &Hierarchy, path: &str) -> Result<Vec<u16>> {
    Ok(input.read::<u16>(path)?.iter().copied().collect())
}

/// Execute `plan` from `input` into a new local store at `output`.
pub fn write_plan(
    input: &Hierarchy,
    plan: &OutputPlan,
    output: &Path,
    profile: Profile,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<WriteReport> {
    let at = show(output);
    std::fs::create_dir_all(output).map_err(|e| Error::io(&at, e))?;
    let store = Arc::new(FilesystemStore::new(output).map_err(|e| Error::io(&at, e))?);
    let edge = match profile {
        Profile::Reference => Edge::Trim,
        Profile::Geozarr => Edge::Partial,
    };
    let mut rasters: HashMap<String, Raster> = HashMap::new();
    let total = plan.arrays.len();
    let mut report = WriteReport::default();
    for (i, out) in plan.arrays.iter().enumerate() {
        progress(i, total, &out.path);
        let shape = shape_of(&out.doc);
        let bytes: Vec<u8> = match &out.source {
            Source::Copy { from } => read_raw(input, from)?,
            Source::Decode { from, cf } => {
                let v = read_u16(input, from)?;
                report.bytes_in += v.len() as u64 * 2;
                let f = crate::kernels::cpu::decode_u16(&v, cf);
                keep(&mut rasters, out, &shape, f)
            }
            Source::InjectMean { from, cf, factor } => {
                let meta = input.array_meta(from)?;
                let (h, w) = (meta.shape[0] as usize, meta.shape[1] as usize);
                let v = read_u16(input, from)?;
                report.bytes_in += v.len() as u64 * 2;
                let exact: Vec<f64> = v.iter().map(|&d| cf.decode_f64(f64::from(d))).collect();
                let f = nanmean_f64_to_f32(&exact, w, h, *factor as usize, edge);
                keep(&mut rasters, out, &shape, f)
            }
            Source::Coarsen { from, factor } => {
                let src = rasters.get(from).ok_or_else(|| {
                    Error::invalid(&out.path, format!("{from} was not computed before"))
                })?;
                let (f, _, _) =
                    block_nanmean_f32(&src.values, src.width, src.height, *factor as usize, edge);
                keep(&mut rasters, out, &shape, f)
            }
            Source::Values(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Source::Zero => 0i64.to_le_bytes().to_vec(),
        };
        write_array(&store, out, bytes, &at)?;
        report.arrays += 1;
    }
    progress(total, total, "metadata");
    // Metadata last: arrays, then groups, then consolidated metadata.
    for out in &plan.arrays {
        put_json(&store, &meta_key(&out.path), &out.doc, &at)?;
    }
    let docs = all_docs(plan);
    for (path, attrs) in &plan.groups {
        let mut doc = json!({"zarr_format": 3, "node_type": "group", "attributes": attrs});
        if plan.consolidate.iter().any(|c| c == path) {
            doc["consolidated_metadata"] = consolidated(path, plan, &docs);
        }
        put_json(&store, &meta_key(path), &doc, &at)?;
        report.groups += 1;
    }
    Ok(report)
}

fn keep(
    rasters: &mut HashMap<String, Raster>,
    out: &OutArray,
    shape: &[u64],
    values: Vec<f32>,
) -> Vec<u8> {
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    if shape.len() == 2 {
        rasters.insert(
            out.path.clone(),
            Raster {
                values,
                width: shape[1] as usize,
                height: shape[0] as usize,
            },
        );
    }
    bytes
}

fn nanmean_f64_to_f32(src: &[f64], w: usize, h: usize, factor: usize, edge: Edge) -> Vec<f32> {
    let f = factor.max(1);
    let (ow, oh) = (
        crate::kernels::cpu::reduced_size(w, f, edge),
        crate::kernels::cpu::reduced_size(h, f, edge),
    );
    let mut out = vec![f32::NAN; ow * oh];
    for oy in 0..oh {
        for ox in 0..ow {
            let (mut s, mut n) = (0f64, 0u32);
            for y in oy * f..((oy + 1) * f).min(h) {
                for x in ox * f..((ox + 1) * f).min(w) {
                    let v = src[y * w + x];
                    if !v.is_nan() {
                        s += v;
                        n += 1;
                    }
                }
            }
            if n > 0 {
                out[oy * ow + ox] = (s / f64::from(n)) as f32;
            }
        }
    }
    out
}

fn meta_key(path: &str) -> String {
    let r = path.trim_matches('/');
    if r.is_empty() {
        "zarr.json".into()
    } else {
        format!("{r}/zarr.json")
    }
}

fn put_json(store: &FilesystemStore, key: &str, v: &Value, at: &str) -> Result<()> {
    let k = StoreKey::new(key).map_err(|e| Error::invalid(at, e))?;
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::invalid(at, e))?;
    store
        .set(&k, bytes.into())
        .map_err(|e| Error::io(format!("{at}/{key}"), e))
}

fn write_array(
    store: &Arc<FilesystemStore>,
    out: &OutArray,
    bytes: Vec<u8>,
    at: &str,
) -> Result<()> {
    let meta: ArrayMetadataV3 = serde_json::from_value(out.doc.clone())
        .map_err(|e| Error::invalid(format!("{at}{}", out.path), e))?;
    let array = Array::new_with_metadata(store.clone(), &out.path, ArrayMetadata::V3(meta))
        .map_err(|e| Error::invalid(format!("{at}{}", out.path), e))?;
    let subset = array.subset_all();
    array
        .store_array_subset(&subset, ArrayBytes::new_flen(bytes))
        .map_err(|e| Error::io(format!("{at}{}", out.path), e))
}

/// Every node's full document by path.
fn all_docs(plan: &OutputPlan) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = plan
        .groups
        .iter()
        .map(|(p, a)| {
            (
                p.clone(),
                json!({"zarr_format": 3, "node_type": "group", "attributes": a}),
            )
        })
        .collect();
    v.extend(plan.arrays.iter().map(|a| (a.path.clone(), a.doc.clone())));
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Inline consolidated metadata of `group`: every descendant's document by relative path; a
/// descendant group carries its own (possibly empty) `consolidated_metadata`.
fn consolidated(group: &str, plan: &OutputPlan, docs: &[(String, Value)]) -> Value {
    let prefix = if group == "/" {
        "/".to_string()
    } else {
        format!("{group}/")
    };
    let mut meta = Map::new();
    for (p, d) in docs {
        if !p.starts_with(&prefix) || p == group {
            continue;
        }
        let mut d = d.clone();
        if d["node_type"] == "group" {
            d["consolidated_metadata"] = if plan.consolidate.iter().any(|c| c == p) {
                consolidated(p, plan, docs)
            } else {
                json!({"kind": "inline", "must_understand": false, "metadata": {}})
            };
        }
        meta.insert(p[prefix.len()..].to_string(), d);
    }
    json!({"kind": "inline", "must_understand": false, "metadata": meta})
}
