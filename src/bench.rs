//! `eopf-geozarr bench`: wall times of a whole conversion and of its codec floor (decoding the
//! input and compressing the output with the chosen codec on all cores — what no conversion can
//! beat, PRODUCT §8).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use zarrs::array::{Array, ArrayBytes, ArrayMetadata, ArrayMetadataV3};
use zarrs::storage::WritableStorageTraits;
use zarrs::storage::store::MemoryStore;

use crate::convert::{S2Options, Source, convert_s2_optimized, plan_s2};
use crate::error::{Error, Result};
use crate::geo::epsg_exists;
use crate::hierarchy::{Hierarchy, NodeKind};
use crate::product::resolve_crs;

/// One timing.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub what: String,
    pub seconds: f64,
    pub bytes: u64,
}

/// Decode every array of the input (all cores): the read half of the floor.
pub fn decode_all(h: &Hierarchy) -> Result<Timing> {
    let paths: Vec<String> = h
        .nodes()
        .filter(|n| matches!(n.kind, NodeKind::Array(_)))
        .map(|n| n.path.clone())
        .collect();
    let t = Instant::now();
    let bytes: Result<Vec<u64>> = paths
        .par_iter()
        .map(|p| {
            let a = h.open_array(p)?;
            let b: ArrayBytes =
                a.retrieve_array_subset(&a.subset_all())
                    .map_err(|e| Error::Chunk {
                        path: p.clone(),
                        chunk: "(any)".into(),
                        reason: e.to_string(),
                    })?;
            Ok(b.size() as u64)
        })
        .collect();
    Ok(Timing {
        what: "decode the whole input".into(),
        seconds: t.elapsed().as_secs_f64(),
        bytes: bytes?.iter().sum(),
    })
}

/// Compress the output arrays that come straight from input arrays (decoded reflectance and copied
/// rasters, i.e. all but the small computed levels) into memory with the plan's codecs; array by
/// array, each encoded on all cores by `zarrs`. Only the encoding is timed.
pub fn compress_outputs(h: &Hierarchy, opts: &S2Options) -> Result<Timing> {
    let crs = resolve_crs(h, &epsg_exists).map(|c| c.0);
    let plan = plan_s2(h, crs, opts)?;
    let store = Arc::new(MemoryStore::new());
    let (mut seconds, mut bytes_total) = (0f64, 0u64);
    for a in &plan.arrays {
        let bytes: Vec<u8> = match &a.source {
            Source::Decode { from, cf } => {
                let v = h.read::<u16>(from)?;
                let f = crate::kernels::cpu::decode_u16(v.as_slice().unwrap_or(&[]), cf);
                f.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
            Source::Copy { from } => {
                let meta = h.array_meta(from)?;
                let all: Vec<std::ops::Range<u64>> = meta.shape.iter().map(|&n| 0..n).collect();
                h.read_region_bytes(from, &all)?
            }
            _ => continue,
        };
        let meta: ArrayMetadataV3 =
            serde_json::from_value(a.doc.clone()).map_err(|e| Error::invalid(&a.path, e))?;
        let array = Array::new_with_metadata(store.clone(), &a.path, ArrayMetadata::V3(meta))
            .map_err(|e| Error::invalid(&a.path, e))?;
        bytes_total += bytes.len() as u64;
        let t = Instant::now();
        array
            .store_array_subset(&array.subset_all(), ArrayBytes::new_flen(bytes))
            .map_err(|e| Error::io(&a.path, e))?;
        seconds += t.elapsed().as_secs_f64();
        // Keep memory flat: drop what was encoded.
        store
            .erase_prefix(&zarrs::storage::StorePrefix::root())
            .map_err(|e| Error::io(&a.path, e))?;
    }
    Ok(Timing {
        what: "compress the output arrays".into(),
        seconds,
        bytes: bytes_total,
    })
}

/// The whole conversion of `input` into a temporary directory.
pub fn convert_once(input: &Path, opts: &S2Options) -> Result<Timing> {
    let dir = std::env::temp_dir().join(format!("eopf-geozarr-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = Instant::now();
    let r = convert_s2_optimized(
        input,
        &dir,
        opts,
        crate::convert::Existing::Overwrite,
        &|_, _, _| {},
    );
    let seconds = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let (_, report) = r?;
    Ok(Timing {
        what: "convert-s2-optimized".into(),
        seconds,
        bytes: report.bytes_in,
    })
}
