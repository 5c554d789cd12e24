//! Executes an [`OutputPlan`]: computes every array from its [`Source`], writes the chunks (or
//! shards) through `zarrs`, then — data first, metadata last — every array's and group's
//! `zarr.json`, and finally the inline consolidated metadata. A run that stops half way leaves
//! chunks without metadata, which no reader or validator takes for a finished output.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use zarrs::array::{Array, ArrayBytes, ArrayMetadata, ArrayMetadataV3};
use zarrs::filesystem::FilesystemStore;

use super::s2::{OutArray, OutputPlan, Source};
use crate::error::{Error, Result, show};
use crate::hierarchy::Hierarchy;
use crate::kernels::cpu::{Edge, block_nanmean_f32};
use crate::plan::Profile;
use crate::storage::put_json;

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

impl Raster {
    fn new(values: Vec<f32>, shape: &[u64]) -> Self {
        Raster {
            values,
            width: shape[1] as usize,
            height: shape[0] as usize,
        }
    }
}

/// Execute `plan` from `input` into a new local store at `output`. Arrays are written one after
/// the other; within an array its shards (or chunks) are computed and written in parallel, each
/// from the matching region of its source, so memory holds a few shards, not whole products.
pub fn write_plan(
    input: &Hierarchy,
    plan: &OutputPlan,
    output: &Path,
    profile: Profile,
    fingerprint: &str,
    done: &std::collections::HashSet<String>,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<WriteReport> {
    let at = show(output);
    std::fs::create_dir_all(output).map_err(|e| Error::io(&at, e))?;
    let store = Arc::new(FilesystemStore::new(output).map_err(|e| Error::io(&at, e))?);
    let edge = match profile {
        Profile::Reference => Edge::Trim,
        Profile::Geozarr => Edge::Partial,
    };
    // Arrays whose whole values later levels are derived from (r60m, r120m, r360m bands).
    let needed: std::collections::HashSet<&str> = plan
        .arrays
        .iter()
        .filter_map(|a| coarsen_source(&a.source))
        .collect();
    let mut rasters: HashMap<String, Raster> = HashMap::new();
    let mut journal: Vec<String> = Vec::new();
    let total = plan.arrays.len();
    let bytes_in = AtomicU64::new(0);
    let mut report = WriteReport::default();
    for (i, out) in plan.arrays.iter().enumerate() {
        progress(i, total, &out.path);
        tracing::info!("writing {} ({}/{total})", out.path, i + 1);
        let array = open_out(&store, out, &at)?;
        let shape = super::s2::doc_shape(&out.doc);
        let keep = needed.contains(out.path.as_str()) && shape.len() == 2;
        if done.contains(&out.path) {
            // Resumed: written by the interrupted run; read back what later levels need.
            if keep {
                let values: Vec<f32> = array
                    .retrieve_array_subset::<Vec<f32>>(&array.subset_all())
                    .map_err(|e| Error::io(format!("{at}{}", out.path), e))?;
                rasters.insert(out.path.clone(), Raster::new(values, &shape));
            }
            journal.push(out.path.clone());
            report.arrays += 1;
            continue;
        }
        let full = keep.then(|| Mutex::new(vec![f32::NAN; (shape[0] * shape[1]) as usize]));
        let cells: Vec<Vec<u64>> = if shape.is_empty() {
            vec![vec![]]
        } else {
            let grid = array.chunk_grid_shape().to_vec();
            let count: u64 = grid.iter().product();
            (0..count)
                .map(|lin| {
                    let mut rem = lin;
                    let mut idx = vec![0u64; grid.len()];
                    for d in (0..grid.len()).rev() {
                        idx[d] = rem % grid[d];
                        rem /= grid[d];
                    }
                    idx
                })
                .collect()
        };
        let reader = match read_source(&out.source) {
            Some(from) => Some(input.region_reader(from, SOURCE_CACHE_BYTES)?),
            None => None,
        };
        let ctx = RegionCtx {
            input,
            reader: reader.as_ref(),
            rasters: &rasters,
            edge,
            bytes_in: &bytes_in,
        };
        cells.par_iter().try_for_each(|idx| -> Result<()> {
            let (subset, ranges) = if idx.is_empty() {
                (array.subset_all(), vec![])
            } else {
                let sub = array
                    .chunk_subset_bounded(idx)
                    .map_err(|e| Error::invalid(format!("{at}{}", out.path), e))?;
                let r = sub.to_ranges();
                (sub, r)
            };
            let region = ctx.region(&out.source, &ranges, &out.path)?;
            if let (Some(full), Some(values)) = (&full, &region.values) {
                let mut f = full
                    .lock()
                    .map_err(|_| Error::invalid(&out.path, "poisoned lock"))?;
                let w = shape[1] as usize;
                let (r0, c0) = (ranges[0].start as usize, ranges[1].start as usize);
                let rw = (ranges[1].end - ranges[1].start) as usize;
                for (k, row) in values.chunks(rw.max(1)).enumerate() {
                    let o = (r0 + k) * w + c0;
                    f[o..o + row.len()].copy_from_slice(row);
                }
            }
            array
                .store_array_subset(&subset, ArrayBytes::new_flen(region.bytes))
                .map_err(|e| Error::io(format!("{at}{}", out.path), e))
        })?;
        if let Some(full) = full {
            let values = full
                .into_inner()
                .map_err(|_| Error::invalid(&out.path, "poisoned lock"))?;
            rasters.insert(out.path.clone(), Raster::new(values, &shape));
        }
        journal.push(out.path.clone());
        write_journal(&store, fingerprint, &journal, &at)?;
        report.arrays += 1;
    }
    report.bytes_in = bytes_in.load(Ordering::Relaxed);
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
    // Complete: the journal goes.
    let _ = std::fs::remove_file(output.join(JOURNAL));
    Ok(report)
}

/// The journal of a conversion in progress, at the output's root.
pub const JOURNAL: &str = ".eopf-geozarr-journal.json";

/// A journal: which input and options, and the arrays whose data is completely written.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Journal {
    pub fingerprint: String,
    pub done: Vec<String>,
}

/// Read the journal of an interrupted conversion, if any.
pub fn read_journal(output: &Path) -> Result<Option<Journal>> {
    let p = output.join(JOURNAL);
    if !p.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(show(&p), e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::invalid(show(&p), e))
}

fn write_journal(
    store: &FilesystemStore,
    fingerprint: &str,
    done: &[String],
    at: &str,
) -> Result<()> {
    let j = Journal {
        fingerprint: fingerprint.to_string(),
        done: done.to_vec(),
    };
    let v = serde_json::to_value(&j).map_err(|e| Error::invalid(at, e))?;
    put_json(store, JOURNAL, &v, at)
}

/// The input array a source reads (looking through packing).
fn read_source(s: &Source) -> Option<&str> {
    match s {
        Source::Copy { from }
        | Source::Decode { from, .. }
        | Source::InjectMean { from, .. }
        | Source::Reduce { from, .. } => Some(from.as_str()),
        Source::Pack { inner, .. } => read_source(inner),
        _ => None,
    }
}

/// The array a source coarsens (looking through packing).
fn coarsen_source(s: &Source) -> Option<&str> {
    match s {
        Source::Coarsen { from, .. } => Some(from.as_str()),
        Source::Pack { inner, .. } => coarsen_source(inner),
        _ => None,
    }
}

/// The values of one output region: its encoded bytes and, for float rasters, the f32 values.
struct Region {
    bytes: Vec<u8>,
    values: Option<Vec<f32>>,
}

/// Decoded source chunks kept per array: a whole 10980² u16 chunk (241 MB, e.g. `aot`) fits.
const SOURCE_CACHE_BYTES: u64 = 256 << 20;

struct RegionCtx<'a> {
    input: &'a Hierarchy,
    reader: Option<&'a crate::hierarchy::RegionReader<'a>>,

    rasters: &'a HashMap<String, Raster>,
    edge: Edge,
    bytes_in: &'a AtomicU64,
}

fn f32_region(values: Vec<f32>) -> Region {
    Region {
        bytes: values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        values: Some(values),
    }
}

/// The source rows/columns a region of a level `factor` times coarser comes from.
fn source_ranges(ranges: &[Range<u64>], factor: u64, dims: &[u64]) -> Vec<Range<u64>> {
    ranges
        .iter()
        .zip(dims)
        .map(|(r, &d)| (r.start * factor).min(d)..(r.end * factor).min(d))
        .collect()
}

impl RegionCtx<'_> {
    /// A region of an input array, through the chunk cache when there is one.
    fn read<T: zarrs::array::ElementOwned + Clone + Default>(
        &self,
        from: &str,
        ranges: &[Range<u64>],
    ) -> Result<Vec<T>> {
        match self.reader {
            Some(r) => r.read::<T>(ranges),
            None => Ok(self
                .input
                .read_region::<T>(from, ranges)?
                .iter()
                .cloned()
                .collect()),
        }
    }

    fn region(&self, source: &Source, ranges: &[Range<u64>], path: &str) -> Result<Region> {
        Ok(match source {
            Source::Copy { from } => {
                let b = match self.reader {
                    Some(r) => r.read_bytes(ranges)?,
                    None => self.input.read_region_bytes(from, ranges)?,
                };
                self.bytes_in.fetch_add(b.len() as u64, Ordering::Relaxed);
                Region {
                    bytes: b,
                    values: None,
                }
            }
            Source::Decode { from, cf } => {
                let v: Vec<u16> = self.read::<u16>(from, ranges)?;
                self.bytes_in
                    .fetch_add(v.len() as u64 * 2, Ordering::Relaxed);
                f32_region(crate::kernels::cpu::decode_u16(&v, cf))
            }
            Source::InjectMean { from, cf, factor } => {
                let dims = self.input.array_meta(from)?.shape.clone();
                let src = source_ranges(ranges, *factor, &dims);
                let v: Vec<u16> = self.read::<u16>(from, &src)?;
                self.bytes_in
                    .fetch_add(v.len() as u64 * 2, Ordering::Relaxed);
                let (h, w) = (
                    (src[0].end - src[0].start) as usize,
                    (src[1].end - src[1].start) as usize,
                );
                f32_region(nanmean_decoded(&v, cf, w, h, *factor as usize, self.edge))
            }
            Source::Coarsen { from, factor } => {
                let r = self.rasters.get(from).ok_or_else(|| {
                    Error::invalid(path, format!("{from} was not computed before"))
                })?;
                let src = source_ranges(ranges, *factor, &[r.height as u64, r.width as u64]);
                let (y0, y1, x0, x1) = (
                    src[0].start as usize,
                    src[0].end as usize,
                    src[1].start as usize,
                    src[1].end as usize,
                );
                let mut sub = Vec::with_capacity((y1 - y0) * (x1 - x0));
                for y in y0..y1 {
                    sub.extend_from_slice(&r.values[y * r.width + x0..y * r.width + x1]);
                }
                let (v, _, _) =
                    block_nanmean_f32(&sub, x1 - x0, y1 - y0, *factor as usize, self.edge);
                f32_region(v)
            }
            Source::Values(v) => {
                let (a, b) = ranges
                    .first()
                    .map_or((0, v.len()), |r| (r.start as usize, r.end as usize));
                Region {
                    bytes: v[a..b].iter().flat_map(|x| x.to_le_bytes()).collect(),
                    values: None,
                }
            }
            Source::Pack { inner, cf } => {
                let r = self.region(inner, ranges, path)?;
                let values = r
                    .values
                    .ok_or_else(|| Error::invalid(path, "only float rasters can be packed"))?;
                let fill = cf.fill.unwrap_or(0.0) as u16;
                let (off, scale) = (cf.add_offset as f32, cf.scale_factor as f32);
                let packed: Vec<u8> = values
                    .iter()
                    .flat_map(|&v| {
                        let p = if v.is_nan() {
                            fill
                        } else {
                            ((v - off) / scale).round_ties_even().clamp(0.0, 65535.0) as u16
                        };
                        p.to_le_bytes()
                    })
                    .collect();
                Region {
                    bytes: packed,
                    values: Some(values),
                }
            }
            Source::Reduce {
                from,
                factor,
                kernel,
            } => {
                use crate::convert::s2::Kernel;
                use crate::kernels::cpu as k;
                let meta = self.input.array_meta(from)?;
                let dims = meta.shape.clone();
                let dtype = meta.dtype.trim_start_matches(['<', '|', '=']).to_string();
                let src = source_ranges(ranges, *factor, &dims);
                let (h, w) = (
                    (src[0].end - src[0].start) as usize,
                    (src[1].end - src[1].start) as usize,
                );
                let f = *factor as usize;
                let bytes = match (dtype.as_str(), kernel) {
                    ("u1" | "uint8", _) => {
                        let v: Vec<u8> = self.read::<u8>(from, &src)?;
                        let (o, _, _) = match kernel {
                            Kernel::Mode => k::block_mode_u8(&v, w, h, f, self.edge),
                            Kernel::Or => k::block_or_u8(&v, w, h, f, self.edge),
                            Kernel::Mean => k::block_mean_u8(&v, w, h, f, self.edge),
                        };
                        o
                    }
                    ("u2" | "uint16", Kernel::Mean) => {
                        let v: Vec<u16> = self.read::<u16>(from, &src)?;
                        let (o, _, _) = k::block_mean_u16(&v, w, h, f, self.edge);
                        o.iter().flat_map(|x| x.to_le_bytes()).collect()
                    }
                    (other, _) => {
                        return Err(Error::Unsupported {
                            path: path.to_string(),
                            what: "data type",
                            reason: format!("no {kernel:?} pyramid kernel for {other}"),
                        });
                    }
                };
                Region {
                    bytes,
                    values: None,
                }
            }
            Source::Zero => Region {
                bytes: 0i64.to_le_bytes().to_vec(),
                values: None,
            },
        })
    }
}

fn open_out(
    store: &Arc<FilesystemStore>,
    out: &OutArray,
    at: &str,
) -> Result<Array<FilesystemStore>> {
    let meta: ArrayMetadataV3 = serde_json::from_value(out.doc.clone())
        .map_err(|e| Error::invalid(format!("{at}{}", out.path), e))?;
    Array::new_with_metadata(store.clone(), &out.path, ArrayMetadata::V3(meta))
        .map_err(|e| Error::invalid(format!("{at}{}", out.path), e))
}

/// NaN-skipping block means of CF-decoded u16 values, decoded in f64 on the fly (the reference
/// decodes to float64 before coarsening), rounded to f32.
fn nanmean_decoded(
    src: &[u16],
    cf: &crate::product::CfEncoding,
    w: usize,
    h: usize,
    factor: usize,
    edge: Edge,
) -> Vec<f32> {
    let f = factor.max(1);
    let (ow, oh) = (
        crate::kernels::cpu::reduced_size(w, f, edge),
        crate::kernels::cpu::reduced_size(h, f, edge),
    );
    let mut out = vec![f32::NAN; ow * oh];
    out.par_chunks_mut(ow.max(1))
        .enumerate()
        .for_each(|(oy, row)| {
            for (ox, o) in row.iter_mut().enumerate() {
                let (mut s, mut n) = (0f64, 0u32);
                for y in oy * f..((oy + 1) * f).min(h) {
                    for &d in &src[y * w + ox * f..y * w + ((ox + 1) * f).min(w)] {
                        let v = cf.decode_f64(f64::from(d));
                        if !v.is_nan() {
                            s += v;
                            n += 1;
                        }
                    }
                }
                if n > 0 {
                    *o = (s / f64::from(n)) as f32;
                }
            }
        });
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
