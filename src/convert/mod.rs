//! Conversion pipelines. Pipeline B (`convert_s2_optimized`, REFERENCE §2B) is planned by [`s2`],
//! pipeline A (`create_geozarr_dataset`, §2A) by [`generic`]: every output node with its exact
//! metadata and the source of its values; [`metadata`] holds the Zarr v3 documents the reference
//! writes; [`writer`] executes a plan.

pub mod generic;
pub mod metadata;
pub mod num;
pub mod s2;
pub mod writer;

pub use generic::{GenericOptions, plan_generic};
pub use s2::{OutputPlan, S2Options, Source, plan_s2};
pub use writer::{WriteReport, WriteSettings, write_plan};

use std::path::Path;

use crate::error::{Error, Result};
use crate::geo::epsg_exists;
use crate::hierarchy::Hierarchy;
use crate::product::{check_sentinel2, resolve_crs};

/// Apply the existing-output policy before a conversion writes anything: an existing output is an
/// error, is removed (`Overwrite`), or — with a journal of the same input and options — kept for
/// `Resume`, which returns the arrays already complete. Local folders and S3 prefixes alike.
pub fn prepare_output(
    output: &Path,
    existing: Existing,
    fingerprint: &str,
) -> Result<std::collections::HashSet<String>> {
    let (store, at) = crate::storage::open_write(output)?;
    prepare_store(&store, &at, existing, fingerprint)
}

/// [`prepare_output`] on an opened output store.
fn prepare_store(
    store: &crate::storage::OutStore,
    at: &str,
    existing: Existing,
    fingerprint: &str,
) -> Result<std::collections::HashSet<String>> {
    let mut done = std::collections::HashSet::new();
    if crate::storage::store_in_use(store, at)? {
        match existing {
            Existing::Error => {
                return Err(Error::Input(format!(
                    "{at}: output already exists (use --overwrite to replace it or --resume to finish an interrupted conversion)"
                )));
            }
            Existing::Overwrite => crate::storage::erase_all(store, at)?,
            Existing::Resume => match writer::read_journal_from(store, at)? {
                Some(j) if j.fingerprint == fingerprint => done = j.done.into_iter().collect(),
                Some(_) => {
                    return Err(Error::Input(format!(
                        "{at}: the interrupted conversion used another input or other options; use --overwrite"
                    )));
                }
                None => {
                    tracing::warn!(
                        "{at}: no journal of an interrupted conversion: converting again"
                    );
                    crate::storage::erase_all(store, at)?;
                }
            },
        }
    }
    Ok(done)
}

/// Pipeline A (`create_geozarr_dataset`, REFERENCE §2A) end to end on local paths: open `input`,
/// plan the requested GeoZarr groups (Sentinel-1: georeferenced from the GCPs) and the copied
/// groups, and write `output`. Works on any product; requested groups that are missing or have no
/// data variables are skipped (logged).
pub fn create_geozarr_dataset(
    input: &Path,
    output: &Path,
    opts: &GenericOptions,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<(OutputPlan, WriteReport)> {
    let h = Hierarchy::open(input)?;
    let plan = plan_generic(&h, opts)?;
    let job = Job {
        profile: opts.profile,
        max_retries: opts.max_retries,
        device: opts.device,
        cancel: opts.cancel.clone(),
        fingerprint: format!("{} | {opts:?}", h.location()),
    };
    let report = run_plan(&h, &plan, output, &job, existing, progress)?;
    Ok((plan, report))
}

/// What to do with an existing output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// An existing, non-empty output is an error.
    #[default]
    Error,
    /// Remove it and convert again.
    Overwrite,
    /// Finish an interrupted conversion of the same input with the same options: arrays the
    /// journal lists as complete are kept, everything else (and all metadata) is written again.
    /// An output without a journal is converted again from scratch.
    Resume,
}

/// Pipeline B end to end on local paths: open `input`, check it is Sentinel-2, resolve the CRS,
/// plan, and write `output`.
pub fn convert_s2_optimized(
    input: &Path,
    output: &Path,
    opts: &S2Options,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<(OutputPlan, WriteReport)> {
    let h = Hierarchy::open(input)?;
    check_sentinel2(&h).map_err(|why| {
        Error::Input(format!(
            "{}: input is not a Sentinel-2 product: {why}",
            h.location()
        ))
    })?;
    let crs = resolve_crs(&h, &epsg_exists).map(|c| c.0);
    if crs.is_none() {
        tracing::warn!(
            "{}: no CRS found: no geo metadata will be written",
            h.location()
        );
    }
    let plan = plan_s2(&h, crs, opts)?;
    let job = Job {
        profile: opts.profile,
        max_retries: opts.max_retries,
        device: opts.device,
        cancel: opts.cancel.clone(),
        fingerprint: format!("{} | {opts:?}", h.location()),
    };
    let report = run_plan(&h, &plan, output, &job, existing, progress)?;
    Ok((plan, report))
}

/// How one conversion is written.
struct Job {
    profile: crate::plan::Profile,
    max_retries: u32,
    device: crate::kernels::Device,
    fingerprint: String,
    cancel: writer::CancelFlag,
}

/// Write a plan to a new store (local or S3) with the existing-output policy and the chosen kernels.
fn run_plan(
    h: &Hierarchy,
    plan: &OutputPlan,
    output: &Path,
    job: &Job,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<WriteReport> {
    let kernels = crate::kernels::Kernels::new(job.device)?;
    let settings = WriteSettings {
        profile: job.profile,
        max_retries: job.max_retries,
        fingerprint: &job.fingerprint,
        kernels: &kernels,
        cancel: &job.cancel,
    };
    let (store, at) = crate::storage::open_write(output)?;
    let done = prepare_store(&store, &at, existing, &job.fingerprint)?;
    writer::write_plan_to(h, plan, store, &at, &settings, &done, progress)
}

/// The reference's `write_geozarr_group` (§2A.2–2A.3): one group of `input` converted to a GeoZarr
/// group with its overviews and `multiscales` in a new store at `output`; nothing else is copied.
pub fn write_geozarr_group(
    input: &Path,
    output: &Path,
    group: &str,
    opts: &GenericOptions,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<(OutputPlan, WriteReport)> {
    let h = Hierarchy::open(input)?;
    let plan = generic::plan_geozarr_group_only(&h, group, opts)?;
    let job = Job {
        profile: opts.profile,
        max_retries: opts.max_retries,
        device: opts.device,
        cancel: opts.cancel.clone(),
        fingerprint: format!("{} | {group} | {opts:?}", h.location()),
    };
    let report = run_plan(&h, &plan, output, &job, existing, progress)?;
    Ok((plan, report))
}

/// The reference's `create_multiscale_from_datatree` (§2B.2–2B.9): pipeline B without the store
/// root finalisation (no root bbox; consolidated at `/measurements/reflectance` only).
pub fn create_multiscale_from_datatree(
    input: &Path,
    output: &Path,
    opts: &S2Options,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<(OutputPlan, WriteReport)> {
    let opts = S2Options {
        finalise_root: false,
        ..opts.clone()
    };
    convert_s2_optimized(input, output, &opts, existing, progress)
}
