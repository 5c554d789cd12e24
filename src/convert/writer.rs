//! Executes an [`OutputPlan`]: computes every array from its [`Source`], writes the chunks (or
//! shards) through `zarrs`, then — data first, metadata last — every array's and group's
//! `zarr.json`, and finally the inline consolidated metadata. A run that stops half way leaves
//! chunks without metadata, which no reader or validator takes for a finished output.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use serde_json::{Map, Value, json};
use zarrs::array::{Array, ArrayBytes, ArrayMetadata, ArrayMetadataV3};

use crate::storage::OutStore;

use super::ir::{Down, Kernel, OutArray, OutputPlan, Source};
use super::num::Num;
use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::kernels::cpu::Edge;
use crate::product::CfEncoding;
use crate::profile::{Profile, Trimming};
use crate::storage::put_json;

/// What a write did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WriteReport {
    pub arrays: usize,
    pub groups: usize,
    pub bytes_in: u64,
    /// Where the kernels ran (`CPU (rayon, 2 threads)`, `GPU: <adapter> (<backend>, <type>)`).
    pub kernels: String,
    /// `--resume` found the complete output of the same conversion: nothing was written.
    pub up_to_date: bool,
}

/// A flag that stops a conversion between two chunk writes (the desktop app's Cancel). Its
/// `Debug` is constant so it does not change a conversion's fingerprint.
#[derive(Clone, Default)]
pub struct CancelFlag(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl CancelFlag {
    /// Ask the conversion to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether stopping was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for CancelFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CancelFlag")
    }
}

/// How a plan is written.
#[derive(Debug, Clone, Copy)]
pub struct WriteSettings<'a> {
    /// Edge rule of the pipeline-B pyramid (trim or partial blocks).
    pub profile: Profile,
    /// Attempts per chunk/shard write (at least one).
    pub max_retries: u32,
    /// Input and options of the conversion, recorded in the journal for `--resume`.
    pub fingerprint: &'a str,
    /// Where the pyramid kernels run.
    pub kernels: &'a crate::kernels::Kernels,
    /// Checked before every chunk/shard write.
    pub cancel: &'a CancelFlag,
    /// Decoded source chunks kept per input array.
    pub source_cache_bytes: u64,
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

/// Execute `plan` from `input` into a new store at `output` (a local folder or `s3://`). Large
/// arrays are written one after the other, their shards (or chunks) computed and written in
/// parallel, each from the matching region of its source, so memory holds a few shards, not whole
/// products; runs of small independent arrays are written side by side.
pub fn write_plan(
    input: &Hierarchy,
    plan: &OutputPlan,
    output: impl crate::storage::ToLocation,
    settings: &WriteSettings<'_>,
    done: &std::collections::HashSet<String>,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<WriteReport> {
    let (store, at) = crate::storage::open_write_data(output)?;
    write_plan_to(input, plan, store, &at, settings, done, progress)
}

/// [`write_plan`] into any `zarrs` store (`at` names it in errors): the writer only uses the
/// storage traits, so an object-store backend drops in.
pub fn write_plan_to(
    input: &Hierarchy,
    plan: &OutputPlan,
    store: OutStore,
    at: &str,
    settings: &WriteSettings<'_>,
    done: &std::collections::HashSet<String>,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<WriteReport> {
    let at = at.to_string();
    let WriteSettings {
        profile,
        max_retries,
        fingerprint,
        kernels,
        cancel,
        source_cache_bytes,
    } = *settings;
    let edge = match profile.choices().trimming {
        Trimming::DropPartialBlocks => Edge::Trim,
        Trimming::KeepPartialBlocks => Edge::Partial,
    };
    // Arrays whose whole values later levels are derived from (r60m, r120m, r360m bands).
    let needed: std::collections::HashSet<&str> = plan
        .arrays
        .iter()
        .filter_map(|a| coarsen_source(&a.source))
        .collect();
    let mut rasters: HashMap<String, Raster> = HashMap::new();
    // Levels computed ahead by the fused GPU pyramid (path → whole level).
    let mut fused: HashMap<String, Raster> = HashMap::new();
    let mut journal: Vec<String> = Vec::new();
    let mut last_journal = std::time::Instant::now();
    let total = plan.arrays.len();
    let bytes_in = AtomicU64::new(0);
    let mut report = WriteReport {
        kernels: kernels.note.clone(),
        ..WriteReport::default()
    };
    // The journal first, before any data: an output interrupted at any moment is recognisably
    // ours (and resumable), never an anonymous folder of chunks.
    let kept: std::collections::BTreeSet<&String> = done.iter().collect();
    let kept: Vec<String> = kept.into_iter().cloned().collect();
    write_journal(&store, fingerprint, &kept, &at, false)?;
    // On an error or a cancel, the arrays completed so far go into the journal for --resume.
    let job = ArrayJob {
        input,
        plan,
        store: &store,
        at: &at,
        needed: &needed,
        edge,
        kernels,
        cancel,
        max_retries,
        source_cache_bytes,
        bytes_in: &bytes_in,
    };
    let arrays = (|| -> Result<()> {
        let mut i = 0;
        while i < total {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled { path: at.clone() });
            }
            let out = &plan.arrays[i];
            if done.contains(&out.path) {
                // Resumed: written by the interrupted run; read back what later levels need.
                progress(i, total, &out.path);
                let shape = super::attrs::doc_shape(&out.doc);
                if needed.contains(out.path.as_str()) && shape.len() == 2 {
                    let array = open_out(&store, out, &at)?;
                    let values: Vec<f32> = array
                        .retrieve_array_subset::<Vec<f32>>(&array.subset_all())
                        .map_err(|e| Error::io(format!("{at}{}", out.path), e))?;
                    rasters.insert(out.path.clone(), Raster::new(values, &shape));
                }
                journal.push(out.path.clone());
                report.arrays += 1;
                i += 1;
                continue;
            }
            let batch = small_batch(input, plan, i, done, kernels.is_gpu());
            // On the GPU, the first derived level of a chain (r120m ← r60m) computes the whole
            // chain (r120m, r360m, r720m) in one fused pyramid: one upload, the levels chained on
            // the device (such a level is never in a batch).
            if kernels.is_gpu()
                && let Source::Coarsen { from, factor } = &out.source
                && !fused.contains_key(&out.path)
                && let Some(src) = rasters.get(from)
            {
                fuse_chain(plan, (&out.path, *factor), src, (kernels, edge), &mut fused)?;
            }
            // Runs of small independent arrays (one shard each, mostly) side by side: written
            // one after the other they leave a core idle at every array's tail.
            let results: Vec<Result<Option<Raster>>> = plan.arrays[i..i + batch]
                .par_iter()
                .enumerate()
                .map(|(k, out)| {
                    progress(i + k, total, &out.path);
                    job.write(out, &rasters, &fused)
                })
                .collect();
            let mut first_err = None;
            for (out, r) in plan.arrays[i..i + batch].iter().zip(results) {
                match r {
                    Ok(raster) => {
                        if let Some(r) = raster {
                            rasters.insert(out.path.clone(), r);
                        }
                        journal.push(out.path.clone());
                        report.arrays += 1;
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_err {
                return Err(e);
            }
            i += batch;
            // The journal (what `--resume` keeps) at most every two seconds: on object storage each
            // write waits for the uploads before it.
            if last_journal.elapsed() >= std::time::Duration::from_secs(2) {
                write_journal(&store, fingerprint, &journal, &at, false)?;
                last_journal = std::time::Instant::now();
            }
        }
        Ok(())
    })();
    if let Err(e) = arrays {
        if !journal.is_empty() {
            let _ = write_journal(&store, fingerprint, &journal, &at, false);
        }
        return Err(e);
    }
    report.bytes_in = bytes_in.load(Ordering::Relaxed);
    progress(total, total, "metadata");
    // Metadata last: arrays, then groups from the deepest up: the root's document (which holds
    // the consolidated metadata) is the last one written.
    for (key, doc) in metadata_documents(plan) {
        put_json(&*store, &key, &doc, &at)?;
        if doc["node_type"] == "group" {
            report.groups += 1;
        }
    }
    // Complete: the journal says so (what `--resume` and `--overwrite` recognise as ours).
    let all: Vec<String> = plan.arrays.iter().map(|a| a.path.clone()).collect();
    write_journal(&store, fingerprint, &all, &at, true)?;
    Ok(report)
}

/// Arrays of at most this many elements, from inputs of at most this many, are written side by
/// side (a 1830² r60m band is 3.3 M; a level reduced from a 10 m raster is not batched: two of
/// those at once would hold two decoded 10 m rasters).
const SMALL_ARRAY_ELEMENTS: u64 = 4 << 20;

/// How many arrays from `start` on are written side by side: two copies of large one-chunk
/// arrays ([`one_chunk_copy`]), or consecutive small arrays, not done, none derived from another
/// in the same batch (nor fused on the GPU); 1 when there is no batch.
fn small_batch(
    input: &Hierarchy,
    plan: &OutputPlan,
    start: usize,
    done: &std::collections::HashSet<String>,
    gpu: bool,
) -> usize {
    let pairs = plan.arrays[start..]
        .iter()
        .take(2)
        .take_while(|out| !done.contains(&out.path) && one_chunk_copy(input, out))
        .count();
    if pairs > 0 {
        return pairs;
    }
    let mut paths: Vec<&str> = Vec::new();
    for out in &plan.arrays[start..] {
        let elements: u64 = super::attrs::doc_shape(&out.doc).iter().product();
        let depends = match &out.source {
            Source::Downsample { from, .. } => Some(from.as_str()),
            s => coarsen_source(s),
        };
        let fused = gpu && matches!(out.source, Source::Coarsen { .. });
        let source_elements: u64 = read_source(&out.source)
            .and_then(|from| input.array_meta(from).ok())
            .map_or(0, |m| m.shape.iter().product());
        if elements > SMALL_ARRAY_ELEMENTS
            || source_elements > SMALL_ARRAY_ELEMENTS
            || done.contains(&out.path)
            || fused
            || depends.is_some_and(|d| paths.contains(&d))
            || paths.len() >= 64
        {
            break;
        }
        paths.push(&out.path);
    }
    paths.len().max(1)
}

/// A copied array whose source is one chunk of at most this many decoded bytes (a 10980² uint8
/// mask of a Zarr v2 product: 121 MB) is written side by side with the next such array: alone,
/// one thread decodes the whole chunk while the other waits for it.
const PAIR_SOURCE_BYTES: u64 = 128 << 20;

/// Whether `out` is copied from a large array stored as one chunk of at most
/// [`PAIR_SOURCE_BYTES`] (see [`small_batch`]).
fn one_chunk_copy(input: &Hierarchy, out: &OutArray) -> bool {
    let Source::Copy { from } = &out.source else {
        return false;
    };
    let Ok(m) = input.array_meta(from) else {
        return false;
    };
    let elements: u64 = m.shape.iter().product();
    let bytes = m
        .data_type
        .item_size()
        .map_or(u64::MAX, |n| elements.saturating_mul(n as u64));
    m.shard_shape.is_none()
        && m.chunks.len() == m.shape.len()
        && m.chunks.iter().zip(&m.shape).all(|(c, s)| c >= s)
        && elements > SMALL_ARRAY_ELEMENTS
        && bytes <= PAIR_SOURCE_BYTES
}

/// What writing one array needs (shared by the arrays written side by side).
struct ArrayJob<'a> {
    input: &'a Hierarchy,
    plan: &'a OutputPlan,
    store: &'a OutStore,
    at: &'a String,
    needed: &'a std::collections::HashSet<&'a str>,
    edge: Edge,
    kernels: &'a crate::kernels::Kernels,
    cancel: &'a CancelFlag,
    max_retries: u32,
    source_cache_bytes: u64,
    bytes_in: &'a AtomicU64,
}

impl ArrayJob<'_> {
    /// Compute and write every chunk/shard of `out` (in parallel); the whole raster when later
    /// levels are derived from it.
    fn write(
        &self,
        out: &OutArray,
        rasters: &HashMap<String, Raster>,
        fused: &HashMap<String, Raster>,
    ) -> Result<Option<Raster>> {
        let at = self.at;
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled { path: at.clone() });
        }
        tracing::info!("writing {}", out.path);
        let array = open_out(self.store, out, at)?;
        let shape = super::attrs::doc_shape(&out.doc);
        let keep = self.needed.contains(out.path.as_str()) && shape.len() == 2;
        let full = keep.then(|| Mutex::new(vec![f32::NAN; (shape[0] * shape[1]) as usize]));
        let cells = chunk_indices(&array, &shape);
        let reader = match read_source(&out.source) {
            Some(from) => Some(self.input.region_reader(from, self.source_cache_bytes)?),
            None => None,
        };
        // Pipeline A's overview levels read the level written before them.
        let prev = match &out.source {
            Source::Downsample { from, .. } => {
                let p = self
                    .plan
                    .arrays
                    .iter()
                    .find(|a| &a.path == from)
                    .ok_or_else(|| Error::invalid(&out.path, format!("{from} is not planned")))?;
                Some(open_out(self.store, p, at)?)
            }
            _ => None,
        };
        let ctx = RegionCtx {
            input: self.input,
            reader: reader.as_ref(),
            rasters,
            fused,
            edge: self.edge,
            bytes_in: self.bytes_in,
            out_shape: &shape,
            prev: prev.as_ref(),
            kernels: self.kernels,
            keep_values: keep,
        };
        cells.par_iter().try_for_each(|idx| -> Result<()> {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled { path: at.clone() });
            }
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
                paste(&mut f, shape[1] as usize, &ranges, values);
            }
            store_with_retries(
                &array,
                &subset,
                &region.bytes(),
                self.max_retries,
                (at, &out.path),
            )
        })?;
        match full {
            Some(full) => {
                let values = full
                    .into_inner()
                    .map_err(|_| Error::invalid(&out.path, "poisoned lock"))?;
                Ok(Some(Raster::new(values, &shape)))
            }
            None => Ok(None),
        }
    }
}

/// The chunk (or shard) grid indices of an array, in C order (`[[]]` for a 0-d array).
fn chunk_indices(array: &OutArrayHandle, shape: &[u64]) -> Vec<Vec<u64>> {
    if shape.is_empty() {
        return vec![vec![]];
    }
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
}

/// The rows `ranges[0]` × columns `ranges[1]` of a whole raster.
fn window(r: &Raster, ranges: &[Range<u64>]) -> Vec<f32> {
    let (y0, y1, x0, x1) = (
        ranges[0].start as usize,
        ranges[0].end as usize,
        ranges[1].start as usize,
        ranges[1].end as usize,
    );
    let mut sub = Vec::with_capacity((y1 - y0) * (x1 - x0));
    for y in y0..y1 {
        sub.extend_from_slice(&r.values[y * r.width + x0..y * r.width + x1]);
    }
    sub
}

/// An output array opened for writing.
type OutArrayHandle = Array<dyn zarrs::storage::ReadableWritableListableStorageTraits>;

/// On the GPU, the first derived level of a chain (r120m ← r60m) computes the whole chain
/// (r120m, r360m, r720m) in one fused pyramid: one upload, the levels chained on the device.
fn fuse_chain(
    plan: &OutputPlan,
    (first, factor): (&str, u64),
    src: &Raster,
    (kernels, edge): (&crate::kernels::Kernels, Edge),
    fused: &mut HashMap<String, Raster>,
) -> Result<()> {
    let mut chain = vec![(first.to_string(), factor as usize)];
    loop {
        let last = chain[chain.len() - 1].0.clone();
        match plan
            .arrays
            .iter()
            .find(|a| matches!(&a.source, Source::Coarsen { from, .. } if *from == last))
        {
            Some(next) => {
                let Source::Coarsen { factor, .. } = &next.source else {
                    break;
                };
                chain.push((next.path.clone(), *factor as usize));
            }
            None => break,
        }
    }
    let factors: Vec<usize> = chain.iter().map(|c| c.1).collect();
    tracing::debug!("fused GPU pyramid {factors:?} for {first}");
    let (levels, _) = kernels.pyramid_f32(&src.values, src.width, src.height, &factors, edge)?;
    for ((path, _), (values, w, h)) in chain.into_iter().zip(levels) {
        fused.insert(
            path,
            Raster {
                values,
                width: w,
                height: h,
            },
        );
    }
    Ok(())
}

/// Write one chunk/shard, retrying failed writes with a growing pause (transient store errors).
fn store_with_retries(
    array: &OutArrayHandle,
    subset: &zarrs::array::ArraySubset,
    bytes: &[u8],
    max_retries: u32,
    (at, path): (&str, &str),
) -> Result<()> {
    let attempts = max_retries.max(1);
    let mut attempt = 1;
    loop {
        match array.store_array_subset(subset, ArrayBytes::new_flen(bytes)) {
            Ok(()) => return Ok(()),
            Err(e) if attempt < attempts => {
                tracing::warn!("{at}{path}: write failed (attempt {attempt}/{attempts}): {e}");
                std::thread::sleep(std::time::Duration::from_millis(100 << attempt));
                attempt += 1;
            }
            Err(e) => return Err(Error::io(format!("{at}{path}"), e)),
        }
    }
}

/// Copy a region's values (rows of `ranges[1]`'s width) into a whole raster of width `w`.
fn paste(full: &mut [f32], w: usize, ranges: &[Range<u64>], values: &[f32]) {
    let (r0, c0) = (ranges[0].start as usize, ranges[1].start as usize);
    let rw = (ranges[1].end - ranges[1].start) as usize;
    for (k, row) in values.chunks(rw.max(1)).enumerate() {
        let o = (r0 + k) * w + c0;
        full[o..o + row.len()].copy_from_slice(row);
    }
}

pub use crate::storage::JOURNAL;

/// A journal: which input and options, the arrays whose data is completely written, and whether
/// the whole conversion (metadata included) is complete.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Journal {
    pub fingerprint: String,
    pub done: Vec<String>,
    #[serde(default)]
    pub complete: bool,
}

/// Read the journal of an interrupted conversion, if any (local folder or remote store).
pub fn read_journal(output: impl crate::storage::ToLocation) -> Result<Option<Journal>> {
    let (store, at) = crate::storage::open_read(output)?;
    read_journal_from(&store, &at)
}

/// [`read_journal`] from an opened store (`at` names it).
pub fn read_journal_from<S: zarrs::storage::ReadableStorageTraits + ?Sized>(
    store: &S,
    at: &str,
) -> Result<Option<Journal>> {
    let key = zarrs::storage::StoreKey::new(JOURNAL).map_err(|e| Error::invalid(at, e))?;
    let Some(bytes) = store
        .get(&key)
        .map_err(|e| Error::io(format!("{at}/{JOURNAL}"), e))?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::invalid(format!("{at}/{JOURNAL}"), e))
}

fn write_journal(
    store: &OutStore,
    fingerprint: &str,
    done: &[String],
    at: &str,
    complete: bool,
) -> Result<()> {
    let j = Journal {
        fingerprint: fingerprint.to_string(),
        done: done.to_vec(),
        complete,
    };
    let v = serde_json::to_value(&j).map_err(|e| Error::invalid(at, e))?;
    put_json(&**store, JOURNAL, &v, at)
}

/// The input array a source reads (looking through packing).
fn read_source(s: &Source) -> Option<&str> {
    match s {
        Source::Copy { from }
        | Source::Decode { from, .. }
        | Source::InjectMean { from, .. }
        | Source::Reduce { from, .. }
        | Source::DecodeAs { from, .. }
        | Source::Warp { from, .. } => Some(from.as_str()),
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
    /// The encoded elements; `None`: `values` as little-endian float32 (borrowed, not copied).
    bytes: Option<Vec<u8>>,
    values: Option<Vec<f32>>,
}

impl Region {
    fn raw(bytes: Vec<u8>) -> Self {
        Region {
            bytes: Some(bytes),
            values: None,
        }
    }

    /// The bytes to store.
    fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match (&self.bytes, &self.values) {
            (Some(b), _) => std::borrow::Cow::Borrowed(b),
            (None, Some(v)) if cfg!(target_endian = "little") => {
                std::borrow::Cow::Borrowed(bytemuck::cast_slice(v))
            }
            (None, Some(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            (None, None) => std::borrow::Cow::Borrowed(&[]),
        }
    }
}

/// Decoded source chunks kept per array by default: a whole 10980² u16 chunk (241 MB, e.g.
/// `aot`) fits (`EOPF_SOURCE_CACHE_MB` in the CLI).
pub const SOURCE_CACHE_BYTES: u64 = 256 << 20;

/// Source bytes (u16) read at once by the b08 injection: a 10 m band is read in strips of about
/// this size instead of whole (241 MB for a full tile).
const INJECT_STRIP_BYTES: u64 = 32 << 20;

struct RegionCtx<'a> {
    input: &'a Hierarchy,
    reader: Option<&'a crate::hierarchy::RegionReader<'a>>,

    rasters: &'a HashMap<String, Raster>,
    fused: &'a HashMap<String, Raster>,
    edge: Edge,
    bytes_in: &'a AtomicU64,
    /// Shape of the array being written.
    out_shape: &'a [u64],
    /// The previous level of a `Downsample` source, opened in the output store.
    prev: Option<&'a Array<dyn zarrs::storage::ReadableWritableListableStorageTraits>>,
    kernels: &'a crate::kernels::Kernels,
    /// Whether the f32 values of a packed region are wanted (levels are derived from them).
    keep_values: bool,
}

/// `$body` with the type `$t` bound to the Rust element type of `$num` (one arm per [`Num`]).
macro_rules! by_num {
    ($num:expr, |$t:ident| $body:expr) => {
        match $num {
            Num::U8 => {
                type $t = u8;
                $body
            }
            Num::U16 => {
                type $t = u16;
                $body
            }
            Num::U32 => {
                type $t = u32;
                $body
            }
            Num::U64 => {
                type $t = u64;
                $body
            }
            Num::I8 => {
                type $t = i8;
                $body
            }
            Num::I16 => {
                type $t = i16;
                $body
            }
            Num::I32 => {
                type $t = i32;
                $body
            }
            Num::I64 => {
                type $t = i64;
                $body
            }
            Num::F32 => {
                type $t = f32;
                $body
            }
            Num::F64 => {
                type $t = f64;
                $body
            }
        }
    };
}

/// A region of an output array as f64.
#[allow(clippy::unnecessary_cast)] // `as f64` is a no-op in the f64 arm of `by_num!`
fn read_out_f64(
    array: &Array<dyn zarrs::storage::ReadableWritableListableStorageTraits>,
    ranges: &[Range<u64>],
    num: Num,
    at: &str,
) -> Result<Vec<f64>> {
    let subset = zarrs::array::ArraySubset::new_with_ranges(ranges);
    Ok(by_num!(num, |T| array
        .retrieve_array_subset::<Vec<T>>(&subset)
        .map_err(|e| Error::io(at, e))?
        .into_iter()
        .map(|v| v as f64)
        .collect()))
}

/// Row-major slices of a region: `(leading count, rows, cols)`.
fn slices(ranges: &[Range<u64>]) -> (usize, usize, usize) {
    let n = ranges.len();
    let len = |r: &Range<u64>| (r.end - r.start) as usize;
    let lead: usize = ranges[..n - 2].iter().map(len).product();
    (lead, len(&ranges[n - 2]), len(&ranges[n - 1]))
}

/// `floor(linspace(0, s − 1, t))` as NumPy computes it (`i·step`, last value exact).
fn linspace_picks(s: u64, t: u64) -> Vec<u64> {
    if t <= 1 {
        return vec![0; t as usize];
    }
    let step = (s as f64 - 1.0) / (t as f64 - 1.0);
    (0..t)
        .map(|i| {
            if i == t - 1 {
                s - 1
            } else {
                (i as f64 * step).floor() as u64
            }
        })
        .collect()
}

/// A float32 value packed to uint16 with `cf` (`--keep-scale-offset`): NaN → the fill value,
/// else `(v − add_offset) / scale_factor` rounded half to even, clamped to 0..=65535.
fn pack_u16(cf: &CfEncoding, v: f32) -> u16 {
    if v.is_nan() {
        cf.fill.unwrap_or(0.0) as u16
    } else {
        round_ties_even_u16((v - cf.add_offset as f32) / cf.scale_factor as f32)
    }
}

/// `x.round_ties_even().clamp(0.0, 65535.0) as u16` without a call to `rintf` (what
/// `round_ties_even` compiles to on x86-64 without SSE4.1): clamped first (the same, as the bounds
/// are integers), then 2²³ added, which puts the value where f32 holds integers only, so the
/// addition itself rounds to the nearest with ties to even; the subtraction is exact.
#[inline]
fn round_ties_even_u16(x: f32) -> u16 {
    const TWO_23: f32 = 8_388_608.0;
    ((x.clamp(0.0, 65535.0) + TWO_23) - TWO_23) as u16
}

/// `pack_u16(cf, decoded[x])` for every u16 `x`, `decoded` being a decode table
/// ([`CfEncoding::u16_table`]): a native band repacked, as one lookup.
pub fn repack_table(decoded: &[f32], cf: &CfEncoding) -> Vec<u16> {
    decoded.iter().map(|&d| pack_u16(cf, d)).collect()
}

/// `f` of every element of `src` as u16 bytes in native order (what regions hold), on all cores.
fn u16_bytes<T: Sync>(src: &[T], f: impl Fn(&T) -> u16 + Sync) -> Vec<u8> {
    let mut out = vec![0u8; src.len() * 2];
    out.par_chunks_mut(1 << 17)
        .zip(src.par_chunks(1 << 16))
        .for_each(|(o, s)| {
            for (o, x) in o.chunks_exact_mut(2).zip(s) {
                o.copy_from_slice(&f(x).to_ne_bytes());
            }
        });
    out
}

/// Values in their native-order bytes: borrowed when aligned (as allocations are), else copied.
fn view<T: bytemuck::Pod>(b: &[u8]) -> std::borrow::Cow<'_, [T]> {
    match bytemuck::try_cast_slice(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(bytemuck::pod_collect_to_vec(b)),
    }
}

fn f32_region(values: Vec<f32>) -> Region {
    Region {
        bytes: None,
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

    /// A region of an input array of `T` as the decoded bytes (native order), not copied into a
    /// typed vector: [`view`] views them. Any other size per element is an error.
    fn read_raw<T>(&self, from: &str, ranges: &[Range<u64>]) -> Result<Vec<u8>> {
        let b = match self.reader {
            Some(r) => r.read_bytes(ranges)?,
            None => self.input.read_region_bytes(from, ranges)?,
        };
        let n: u64 = ranges.iter().map(|r| r.end - r.start).product();
        let item = std::mem::size_of::<T>() as u64;
        if b.len() as u64 != n * item {
            return Err(Error::invalid(
                from,
                format!("{} bytes for {n} values of {item} bytes", b.len()),
            ));
        }
        self.bytes_in.fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok(b)
    }

    fn region(&self, source: &Source, ranges: &[Range<u64>], path: &str) -> Result<Region> {
        Ok(match source {
            Source::Copy { from } => {
                let b = match self.reader {
                    Some(r) => r.read_bytes(ranges)?,
                    None => self.input.read_region_bytes(from, ranges)?,
                };
                self.bytes_in.fetch_add(b.len() as u64, Ordering::Relaxed);
                Region::raw(b)
            }
            Source::Decode { from, cf } => {
                let b = self.read_raw::<u16>(from, ranges)?;
                f32_region(self.kernels.decode_u16(&view::<u16>(&b), cf)?.0)
            }
            Source::InjectMean { from, cf, factor } => {
                self.inject_mean(from, cf, *factor, ranges)?
            }
            Source::Coarsen { .. } if self.fused.contains_key(path) => {
                let r = &self.fused[path];
                f32_region(window(r, &[ranges[0].clone(), ranges[1].clone()]))
            }
            Source::Coarsen { from, factor } => self.coarsen(from, *factor, ranges, path)?,
            Source::Values(v) => {
                let (a, b) = ranges
                    .first()
                    .map_or((0, v.len()), |r| (r.start as usize, r.end as usize));
                Region::raw(v[a..b].iter().flat_map(|x| x.to_le_bytes()).collect())
            }
            Source::Pack { inner, cf } => self.pack(inner, cf, ranges, path)?,
            Source::Reduce {
                from,
                factor,
                kernel,
            } => self.reduce(from, *factor, *kernel, ranges, path)?,
            Source::Zero => Region::raw(0i64.to_le_bytes().to_vec()),
            Source::DecodeAs { from, cf, src, out } => {
                let v = self.read_in_f64(from, ranges, *src)?;
                self.bytes_in
                    .fetch_add((v.len() * src.size()) as u64, Ordering::Relaxed);
                let d: Vec<f64> = v.iter().map(|&x| cf.decode_f64(x)).collect();
                Region::raw(out.encode(&d))
            }
            Source::ValuesAs { values, out } => {
                let (a, b) = ranges
                    .first()
                    .map_or((0, values.len()), |r| (r.start as usize, r.end as usize));
                Region::raw(out.encode(&values[a..b]))
            }
            Source::Downsample {
                from_shape,
                from_num,
                down,
                out,
                ..
            } => self.downsample(ranges, from_shape, *from_num, *down, *out, path)?,
            Source::Warp { from, warp, src } => self.warp(from, warp, *src, ranges)?,
        })
    }

    /// b08 injection: NaN-mean blocks of the decoded 10 m band, in strips of whole output rows
    /// (each block lies in one strip, so the values are those of one pass) so that a whole r60m
    /// level does not hold the whole decoded 10 m band at once.
    fn inject_mean(
        &self,
        from: &str,
        cf: &CfEncoding,
        factor: u64,
        ranges: &[Range<u64>],
    ) -> Result<Region> {
        let dims = self.input.array_meta(from)?.shape.clone();
        let src_cols = source_ranges(&ranges[1..], factor, &dims[1..]);
        let src_w = (src_cols[0].end - src_cols[0].start).max(1);
        let strip = (INJECT_STRIP_BYTES / (src_w * 2 * factor.max(1))).max(1);
        let mut out = Vec::new();
        let mut r0 = ranges[0].start;
        while r0 < ranges[0].end {
            let r1 = (r0 + strip).min(ranges[0].end);
            let sub = [r0..r1, ranges[1].clone()];
            let v = self.inject_mean_strip(from, cf, factor, &sub, &dims)?;
            if out.is_empty() {
                out = v;
            } else {
                out.extend_from_slice(&v);
            }
            r0 = r1;
        }
        Ok(f32_region(out))
    }

    /// One strip of [`Self::inject_mean`].
    fn inject_mean_strip(
        &self,
        from: &str,
        cf: &CfEncoding,
        factor: u64,
        ranges: &[Range<u64>],
        dims: &[u64],
    ) -> Result<Vec<f32>> {
        let src = source_ranges(ranges, factor, dims);
        let b = self.read_raw::<u16>(from, &src)?;
        let v = view::<u16>(&b);
        let (h, w) = (
            (src[0].end - src[0].start) as usize,
            (src[1].end - src[1].start) as usize,
        );
        if self.kernels.is_gpu() {
            // Decoded to f32 through the table, then the NaN-mean on the device.
            let d = self.kernels.decode_u16(&v, cf)?.0;
            let (m, ..) =
                self.kernels
                    .block_mean_f32(&d, w, h, factor as usize, self.edge, true)?;
            Ok(m)
        } else {
            Ok(nanmean_decoded(&v, cf, w, h, factor as usize, self.edge))
        }
    }

    /// A derived level's region: NaN-mean blocks of the whole level it is derived from.
    fn coarsen(
        &self,
        from: &str,
        factor: u64,
        ranges: &[Range<u64>],
        path: &str,
    ) -> Result<Region> {
        let r = self
            .rasters
            .get(from)
            .ok_or_else(|| Error::invalid(path, format!("{from} was not computed before")))?;
        let src = source_ranges(ranges, factor, &[r.height as u64, r.width as u64]);
        let sub = window(r, &src);
        let (w, h) = (
            (src[1].end - src[1].start) as usize,
            (src[0].end - src[0].start) as usize,
        );
        let (v, ..) = self
            .kernels
            .block_mean_f32(&sub, w, h, factor as usize, self.edge, true)?;
        Ok(f32_region(v))
    }

    /// `--keep-scale-offset`: the float values of `inner` packed back to u16.
    fn pack(
        &self,
        inner: &Source,
        cf: &CfEncoding,
        ranges: &[Range<u64>],
        path: &str,
    ) -> Result<Region> {
        if let Source::Decode { from, cf: decode } = inner {
            // A native band repacked: decode then pack is a function of the u16 value alone, so
            // one 65,536-entry table of it gives the same bits without a float32 raster between.
            let b = self.read_raw::<u16>(from, ranges)?;
            let v = view::<u16>(&b);
            let decoded = decode.u16_table();
            let packed = repack_table(&decoded, cf);
            let values = self
                .keep_values
                .then(|| v.iter().map(|&x| decoded[usize::from(x)]).collect());
            // Most often the table is the identity (same scale, offset and fill on both sides):
            // the bytes read are the bytes to write (as for a copy).
            let identity = packed.iter().enumerate().all(|(i, &p)| usize::from(p) == i);
            let bytes = if identity {
                drop(v);
                b
            } else {
                u16_bytes(&v, |&x| packed[usize::from(x)])
            };
            return Ok(Region {
                bytes: Some(bytes),
                values,
            });
        }
        let r = self.region(inner, ranges, path)?;
        let values = r
            .values
            .ok_or_else(|| Error::invalid(path, "only float rasters can be packed"))?;
        Ok(Region {
            bytes: Some(u16_bytes(&values, |&v| pack_u16(cf, v))),
            values: Some(values),
        })
    }

    /// A raster family's derived level: blocks reduced with the variable's kernel.
    fn reduce(
        &self,
        from: &str,
        factor: u64,
        kernel: Kernel,
        ranges: &[Range<u64>],
        path: &str,
    ) -> Result<Region> {
        use crate::kernels::IntOp;
        let meta = self.input.array_meta(from)?;
        let dims = meta.shape.clone();
        let data_type = meta.data_type.clone();
        let src = source_ranges(ranges, factor, &dims);
        let (h, w) = (
            (src[0].end - src[0].start) as usize,
            (src[1].end - src[1].start) as usize,
        );
        let f = factor as usize;
        use crate::dtype::DataType as D;
        let bytes = match (&data_type, kernel) {
            (D::U8, _) => {
                let v = self.read_raw::<u8>(from, &src)?;
                let op = match kernel {
                    Kernel::Mode => IntOp::Mode,
                    Kernel::Or => IntOp::Or,
                    Kernel::Mean => IntOp::Mean,
                };
                self.kernels.block_u8(&v, w, h, f, self.edge, op)?.0
            }
            (D::U16, Kernel::Mean) => {
                let b = self.read_raw::<u16>(from, &src)?;
                let (o, ..) = self
                    .kernels
                    .block_mean_u16(&view::<u16>(&b), w, h, f, self.edge)?;
                o.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
            // N0512 probabilities are float32 with NaN fill: the NaN-skipping mean.
            (D::F32, Kernel::Mean) => {
                let b = self.read_raw::<f32>(from, &src)?;
                let (o, ..) =
                    self.kernels
                        .block_mean_f32(&view::<f32>(&b), w, h, f, self.edge, true)?;
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
        Ok(Region::raw(bytes))
    }

    /// An input region of any numeric type as f64.
    #[allow(clippy::unnecessary_cast)] // `as f64` is a no-op in the f64 arm of `by_num!`
    fn read_in_f64(&self, from: &str, ranges: &[Range<u64>], num: Num) -> Result<Vec<f64>> {
        Ok(by_num!(num, |T| self
            .read::<T>(from, ranges)?
            .into_iter()
            .map(|v| v as f64)
            .collect()))
    }

    /// One region of a pipeline A overview level from the level before it.
    fn downsample(
        &self,
        ranges: &[Range<u64>],
        from_shape: &[u64],
        from_num: Num,
        down: Down,
        out: Num,
        path: &str,
    ) -> Result<Region> {
        let prev = self
            .prev
            .ok_or_else(|| Error::invalid(path, "previous level not open"))?;
        let n = ranges.len();
        let (sh, sw) = (from_shape[n - 2], from_shape[n - 1]);
        let (th, tw) = (self.out_shape[n - 2], self.out_shape[n - 1]);
        let (lead, rh, rw) = slices(ranges);
        let (r, c) = (&ranges[n - 2], &ranges[n - 1]);
        let mut values = Vec::with_capacity(lead * rh * rw);
        let (by, bx) = (sh / th.max(1), sw / tw.max(1));
        let mut src_ranges: Vec<Range<u64>> = ranges[..n - 2].to_vec();
        match down {
            Down::Reference if by > 1 && bx > 1 => {
                src_ranges.extend([r.start * by..r.end * by, c.start * bx..c.end * bx]);
                let src = read_out_f64(prev, &src_ranges, from_num, path)?;
                let (w, h) = (rw * bx as usize, rh * by as usize);
                for s in src.chunks(w * h) {
                    values.extend(crate::kernels::cpu::downsample_2d_array(s, w, h, rw, rh));
                }
            }
            Down::Reference => {
                // Nearest sampling at floor(linspace(0, s−1, t)).
                let rows = linspace_picks(sh, th);
                let cols = linspace_picks(sw, tw);
                let (rs, cs) = (
                    &rows[r.start as usize..r.end as usize],
                    &cols[c.start as usize..c.end as usize],
                );
                let (r0, r1) = (rs[0], rs[rs.len() - 1] + 1);
                let (c0, c1) = (cs[0], cs[cs.len() - 1] + 1);
                src_ranges.extend([r0..r1, c0..c1]);
                let src = read_out_f64(prev, &src_ranges, from_num, path)?;
                let (w, h) = ((c1 - c0) as usize, (r1 - r0) as usize);
                for s in src.chunks(w * h) {
                    for &y in rs {
                        for &x in cs {
                            values.push(s[(y - r0) as usize * w + (x - c0) as usize]);
                        }
                    }
                }
            }
            Down::Mean { .. } | Down::Classes(_) => {
                src_ranges.extend([
                    (r.start * 2).min(sh)..(r.end * 2).min(sh),
                    (c.start * 2).min(sw)..(c.end * 2).min(sw),
                ]);
                let src = read_out_f64(prev, &src_ranges, from_num, path)?;
                let h = (src_ranges[n - 2].end - src_ranges[n - 2].start) as usize;
                let w = (src_ranges[n - 1].end - src_ranges[n - 1].start) as usize;
                for s in src.chunks((w * h).max(1)) {
                    match down {
                        Down::Classes(k) => {
                            use crate::kernels::IntOp;
                            let u: Vec<u8> = s.iter().map(|&v| v as u8).collect();
                            let op = match k {
                                Kernel::Or => IntOp::Or,
                                _ => IntOp::Mode,
                            };
                            let (o, ..) = self.kernels.block_u8(&u, w, h, 2, Edge::Partial, op)?;
                            values.extend(o.into_iter().map(f64::from));
                        }
                        Down::Mean { nodata } => {
                            values.extend(block_mean_skipping(s, w, h, nodata));
                        }
                        Down::Reference => {}
                    }
                }
            }
        }
        let bytes = match down {
            Down::Mean { .. } => out.encode_rounded(&values),
            _ => out.encode(&values),
        };
        Ok(Region::raw(bytes))
    }

    /// One region of a Sentinel-1 variable warped from its GCPs (bilinear, GDAL's rules).
    fn warp(
        &self,
        from: &str,
        warp: &super::ir::S1Warp,
        src: Num,
        ranges: &[Range<u64>],
    ) -> Result<Region> {
        let n = ranges.len();
        let (lead, rh, rw) = slices(ranges);
        let coords = crate::warp::source_coordinates(
            &warp.transformer,
            &warp.grid,
            ranges[n - 2].clone(),
            ranges[n - 1].clone(),
        );
        let (sw, sh) = (warp.src_width as i64, warp.src_height as i64);
        let (mut x0, mut x1, mut y0, mut y1) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
        for &(sx, sy) in &coords {
            if !(sx.is_finite() && sy.is_finite()) {
                continue;
            }
            let (ix, iy) = ((sx - 0.5).floor() as i64, (sy - 0.5).floor() as i64);
            x0 = x0.min(ix);
            x1 = x1.max(ix + 1);
            y0 = y0.min(iy);
            y1 = y1.max(iy + 1);
        }
        let (x0, x1) = (x0.max(0), x1.min(sw - 1));
        let (y0, y1) = (y0.max(0), y1.min(sh - 1));
        let mut values = vec![warp.nodata; lead * rh * rw];
        if x0 <= x1 && y0 <= y1 {
            let mut src_ranges: Vec<Range<u64>> = ranges[..n - 2].to_vec();
            src_ranges.extend([y0 as u64..y1 as u64 + 1, x0 as u64..x1 as u64 + 1]);
            let window = self.read_in_f64(from, &src_ranges, src)?;
            self.bytes_in
                .fetch_add((window.len() * src.size()) as u64, Ordering::Relaxed);
            let (ww, wh) = ((x1 - x0 + 1) as usize, (y1 - y0 + 1) as usize);
            for (l, win) in window.chunks(ww * wh).enumerate() {
                for (k, &(sx, sy)) in coords.iter().enumerate() {
                    if let Some(v) = crate::warp::bilinear(
                        win,
                        ww,
                        wh,
                        x0,
                        y0,
                        warp.src_width,
                        warp.src_height,
                        sx,
                        sy,
                        warp.src_nodata,
                    ) {
                        values[l * rh * rw + k] = v;
                    }
                }
            }
        }
        Ok(Region::raw(src.encode_rounded(&values)))
    }
}

/// Factor-2 block means with partial edge blocks over the pixels that are neither NaN nor
/// `nodata`; a block without one gives `nodata` (or NaN).
fn block_mean_skipping(src: &[f64], w: usize, h: usize, nodata: Option<f64>) -> Vec<f64> {
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = Vec::with_capacity(ow * oh);
    for oy in 0..oh {
        for ox in 0..ow {
            let (mut s, mut k) = (0.0, 0u32);
            for y in oy * 2..(oy * 2 + 2).min(h) {
                for x in ox * 2..(ox * 2 + 2).min(w) {
                    let v = src[y * w + x];
                    if !v.is_nan() && Some(v) != nodata {
                        s += v;
                        k += 1;
                    }
                }
            }
            out.push(if k == 0 {
                nodata.unwrap_or(f64::NAN)
            } else {
                s / f64::from(k)
            });
        }
    }
    out
}

fn open_out(store: &OutStore, out: &OutArray, at: &str) -> Result<OutArrayHandle> {
    use zarrs::array::codec::array_to_bytes::sharding::{ShardingCodecOptions, SubchunkWriteOrder};
    let meta: ArrayMetadataV3 = serde_json::from_value(out.doc.clone())
        .map_err(|e| Error::invalid(format!("{at}{}", out.path), e))?;
    // Inner chunks in C order: the same input gives the same shard bytes on every run and store.
    let order = zarrs::array::CodecSpecificOptions::default().with_option(
        ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
    );
    Ok(
        Array::new_with_metadata(store.clone(), &out.path, ArrayMetadata::V3(meta))
            .map_err(|e| Error::invalid(format!("{at}{}", out.path), e))?
            .with_codec_specific_options(&order),
    )
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
    // Every u16 decoded once (the same f64 as `decode_f64` of each pixel).
    let table: Vec<f64> = (0..=u16::MAX)
        .map(|d| cf.decode_f64(f64::from(d)))
        .collect();
    let mut out = vec![f32::NAN; ow * oh];
    // Row by row of blocks: each source row adds into the sums of all the blocks it crosses, so a
    // block's values are added in the same order as block by block (rows, then columns).
    out.par_chunks_mut(ow.max(1)).enumerate().for_each_init(
        || (vec![0f64; ow], vec![0u32; ow]),
        |(sums, counts), (oy, row)| {
            sums.fill(0.0);
            counts.fill(0);
            for y in oy * f..((oy + 1) * f).min(h) {
                let line = &src[y * w..(y + 1) * w];
                for ((s, n), block) in sums.iter_mut().zip(counts.iter_mut()).zip(line.chunks(f)) {
                    for &d in block {
                        let v = table[usize::from(d)];
                        if !v.is_nan() {
                            *s += v;
                            *n += 1;
                        }
                    }
                }
            }
            for ((o, &s), &n) in row.iter_mut().zip(sums.iter()).zip(counts.iter()) {
                if n > 0 {
                    *o = (s / f64::from(n)) as f32;
                }
            }
        },
    );
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

/// Every `zarr.json` of the output by store key, in the order the writer puts them: arrays, then
/// groups from the deepest up (each consolidated group with its inline consolidated metadata), so
/// the root's document comes last. What a dry run, a digest or a metadata-only copy needs.
pub fn metadata_documents(plan: &OutputPlan) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = plan
        .arrays
        .iter()
        .map(|a| (meta_key(&a.path), a.doc.clone()))
        .collect();
    let docs = all_docs(plan);
    let mut groups: Vec<(&String, &Map<String, Value>)> = plan.groups.iter().collect();
    groups.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count() - usize::from(*p == "/")));
    for (path, attrs) in groups {
        let mut doc = json!({"zarr_format": 3, "node_type": "group", "attributes": attrs});
        if plan.consolidate.iter().any(|c| c == path) {
            doc["consolidated_metadata"] = consolidated(path, plan, &docs);
        }
        out.push((meta_key(path), doc));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use zarrs::storage::WritableStorageTraits;

    fn arr(path: &str, shape: &[u64], source: Source) -> OutArray {
        OutArray {
            path: path.into(),
            doc: json!({ "shape": shape }),
            source,
        }
    }

    fn empty_input() -> Hierarchy {
        let store = std::sync::Arc::new(zarrs::storage::store::MemoryStore::new());
        store
            .set(
                &zarrs::storage::StoreKey::new("zarr.json").unwrap(),
                br#"{"zarr_format":3,"node_type":"group","attributes":{}}"#
                    .to_vec()
                    .into(),
            )
            .unwrap();
        Hierarchy::open_store(store, "memory://".into()).unwrap()
    }

    /// An input of u8/u16 10980² arrays: `/m1`..`/m3` and `/u16` in one chunk, `/tiled` in 5490².
    fn masks_input() -> Hierarchy {
        let store = std::sync::Arc::new(zarrs::storage::store::MemoryStore::new());
        let put = |key: &str, doc: serde_json::Value| {
            store
                .set(
                    &zarrs::storage::StoreKey::new(key).unwrap(),
                    serde_json::to_vec(&doc).unwrap().into(),
                )
                .unwrap();
        };
        put(
            "zarr.json",
            json!({"zarr_format": 3, "node_type": "group", "attributes": {}}),
        );
        for (name, dtype, chunk) in [
            ("m1", "uint8", 10980),
            ("m2", "uint8", 10980),
            ("m3", "uint8", 10980),
            ("u16", "uint16", 10980),
            ("tiled", "uint8", 5490),
        ] {
            put(
                &format!("{name}/zarr.json"),
                json!({"zarr_format": 3, "node_type": "array", "shape": [10980, 10980],
                    "data_type": dtype,
                    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [chunk, chunk]}},
                    "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
                    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                    "attributes": {}}),
            );
        }
        Hierarchy::open_store(store, "memory://".into()).unwrap()
    }

    /// Decode-then-pack as one table: the identity for a band repacked with its own encoding
    /// (every one of the 65,536 values comes back), not when the fill values differ.
    #[test]
    fn repack_tables_are_the_identity_only_for_the_same_encoding() {
        let l2a = CfEncoding {
            fill: Some(0.0),
            scale_factor: 1e-4,
            add_offset: -0.1,
        };
        let t = repack_table(&l2a.u16_table(), &l2a);
        assert!(t.iter().enumerate().all(|(i, &p)| usize::from(p) == i));
        let other_fill = CfEncoding {
            fill: Some(65535.0),
            ..l2a
        };
        let t = repack_table(&other_fill.u16_table(), &l2a);
        // 65535 (the source's fill) becomes NaN, then the output's fill 0; 0 stays 0.
        assert_eq!((t[65535], t[0], t[1234]), (0, 0, 1234));
    }

    #[test]
    fn one_chunk_masks_are_written_in_pairs() {
        let copy =
            |p: &str, from: &str| arr(p, &[10980, 10980], Source::Copy { from: from.into() });
        let plan = OutputPlan {
            arrays: vec![
                copy("/o1", "/m1"),
                copy("/o2", "/m2"),
                copy("/o3", "/m3"),
                copy("/o4", "/u16"),
                copy("/o5", "/tiled"),
                copy("/o6", "/m1"),
            ],
            ..Default::default()
        };
        let input = masks_input();
        let none = HashSet::new();
        // Two one-chunk uint8 sources (121 MB each) side by side, never three.
        assert_eq!(small_batch(&input, &plan, 0, &none, false), 2);
        assert_eq!(small_batch(&input, &plan, 2, &none, false), 1);
        // A one-chunk uint16 source (241 MB) and a tiled one are written alone.
        assert_eq!(small_batch(&input, &plan, 3, &none, false), 1);
        assert_eq!(small_batch(&input, &plan, 4, &none, false), 1);
        // A done array is not paired.
        let done: HashSet<String> = ["/o2".to_string()].into();
        assert_eq!(small_batch(&input, &plan, 0, &done, false), 1);
    }

    #[test]
    fn small_batches_stop_at_a_dependency_a_large_array_a_done_one_and_a_fused_level() {
        let plan = OutputPlan {
            arrays: vec![
                arr("/a", &[1830, 1830], Source::Zero),
                arr(
                    "/b",
                    &[915, 915],
                    Source::Coarsen {
                        from: "/a".into(),
                        factor: 2,
                    },
                ),
                arr("/c", &[10], Source::Values(vec![0.0; 10])),
                arr("/big", &[10980, 10980], Source::Zero),
                arr("/d", &[10], Source::Zero),
                arr("/e", &[10], Source::Zero),
            ],
            ..Default::default()
        };
        let input = empty_input();
        let none = HashSet::new();
        // /b is derived from /a: not in /a's batch.
        assert_eq!(small_batch(&input, &plan, 0, &none, false), 1);
        // /b and /c side by side; /big (120 M elements) is not small.
        assert_eq!(small_batch(&input, &plan, 1, &none, false), 2);
        assert_eq!(small_batch(&input, &plan, 3, &none, false), 1);
        assert_eq!(small_batch(&input, &plan, 4, &none, false), 2);
        // A resumed (done) array ends the batch.
        let done: HashSet<String> = ["/e".to_string()].into();
        assert_eq!(small_batch(&input, &plan, 4, &done, false), 1);
        // On the GPU a derived level is computed by its chain's fused pyramid: never batched.
        assert_eq!(small_batch(&input, &plan, 1, &none, true), 1);
    }

    /// The block-by-block NaN-mean `nanmean_decoded` replaced: each output pixel's block summed
    /// in f64, rows then columns.
    fn nanmean_block_by_block(
        src: &[u16],
        cf: &CfEncoding,
        w: usize,
        h: usize,
        f: usize,
        edge: Edge,
    ) -> Vec<f32> {
        let ow = crate::kernels::cpu::reduced_size(w, f, edge);
        let oh = crate::kernels::cpu::reduced_size(h, f, edge);
        let mut out = vec![f32::NAN; ow * oh];
        for oy in 0..oh {
            for ox in 0..ow {
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
                    out[oy * ow + ox] = (s / f64::from(n)) as f32;
                }
            }
        }
        out
    }

    #[test]
    fn row_wise_nanmean_has_the_bits_of_the_block_by_block_one() {
        let cf = CfEncoding {
            fill: Some(0.0),
            scale_factor: 0.0001,
            add_offset: -0.1,
        };
        let mut seed = 7u64;
        for (w, h) in [(61, 37), (36, 36), (5, 1), (1, 7), (100, 13)] {
            let src: Vec<u16> = (0..w * h)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    // about one in eight the fill value, else anything
                    if (seed >> 61) == 0 {
                        0
                    } else {
                        (seed >> 40) as u16
                    }
                })
                .collect();
            for f in [1, 2, 3, 6, 7] {
                for edge in [Edge::Trim, Edge::Partial] {
                    let a = nanmean_decoded(&src, &cf, w, h, f, edge);
                    let b = nanmean_block_by_block(&src, &cf, w, h, f, edge);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "{w}×{h}, factor {f}, {edge:?}");
                }
            }
        }
    }

    #[test]
    fn packing_rounds_half_to_even_and_clamps_as_round_ties_even_does() {
        let mut xs = vec![
            -1.0e9,
            -65536.5,
            -1.5,
            -0.5,
            -0.25,
            -0.0,
            0.0,
            0.25,
            0.5,
            1.5,
            2.5,
            3.5,
            4095.5,
            65534.5,
            65535.0,
            65535.4,
            65535.5,
            65536.0,
            70000.5,
            1.0e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        // every half-integer tie, and values just either side of them, up to 2^16
        for k in 0..=65536u32 {
            let t = k as f32 + 0.5;
            xs.extend([
                t,
                f32::from_bits(t.to_bits() - 1),
                f32::from_bits(t.to_bits() + 1),
            ]);
        }
        for x in xs {
            let want = x.round_ties_even().clamp(0.0, 65535.0) as u16;
            assert_eq!(round_ties_even_u16(x), want, "{x}");
        }
    }
}
