//! Conversion pipelines. Pipeline B (`convert_s2_optimized`, docs/reference.md §2B) is planned by [`s2`],
//! pipeline A (`create_geozarr_dataset`, §2A) by [`generic`]: every output node with its exact
//! metadata and the source of its values; [`metadata`] holds the Zarr v3 documents the reference
//! writes; [`writer`] executes a plan.

pub mod attrs;
pub mod dask;
pub mod generic;
pub mod ir;
pub mod metadata;
pub mod num;
pub mod s2;
pub mod writer;

pub use generic::{GenericOptions, plan_generic};
pub use ir::{OutArray, OutputPlan, Source};
pub use s2::{S2Options, plan_s2};
pub use writer::{WriteReport, WriteSettings, write_plan};

use crate::storage::{Location, ToLocation};

use crate::error::{Error, Result};
use crate::geo::epsg_exists;
use crate::hierarchy::Hierarchy;
use crate::product::{check_sentinel2, resolve_crs};

/// What a conversion does with its output, decided before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// Write it, keeping the arrays of an interrupted run of the same conversion (`--resume`).
    Write(std::collections::HashSet<String>),
    /// It already holds the complete output of the same input and options (`--resume`).
    UpToDate,
}

/// Apply the existing-output policy before a conversion writes anything (README.md "Safety"): an existing
/// output is an error; `Overwrite` erases it only when it is a Zarr store or an output of ours
/// (never a folder or prefix holding anything else, never a bucket root, never through a
/// symbolic link); `Resume` finishes an interrupted conversion of ours with the same input and
/// options, does nothing on a complete one, and refuses anything else. Local folders and S3
/// prefixes alike.
pub fn prepare_output(
    output: impl ToLocation,
    existing: Existing,
    fingerprint: &str,
) -> Result<Prepared> {
    let loc = output.to_location()?;
    let (store, at) = crate::storage::open_write(&loc)?;
    prepare_store(&loc, &store, &at, existing, fingerprint)
}

/// [`prepare_output`] on an opened output store.
fn prepare_store(
    loc: &crate::storage::Location,
    store: &crate::storage::OutStore,
    at: &str,
    existing: Existing,
    fingerprint: &str,
) -> Result<Prepared> {
    use crate::storage::safety::{Contents, check_erasable, contents};
    let found = contents(loc, store, at)?;
    let fresh = Prepared::Write(Default::default());
    match (existing, &found) {
        (_, Contents::Empty) => Ok(fresh),
        (Existing::Error, _) => Err(Error::Refused(format!(
            "{at}: output already exists (use --overwrite to replace it or --resume to finish an interrupted conversion)"
        ))),
        (Existing::Overwrite, _) => {
            check_erasable(loc, &found, at, "overwrite it")?;
            crate::storage::erase_all(store, at)?;
            Ok(fresh)
        }
        (Existing::Replace, _) => {
            check_erasable(loc, &found, at, "replace it")?;
            if let Contents::Zarr { journal: true } = found
                && let Some(j) = writer::read_journal_from(&**store, at)?
                && j.fingerprint == fingerprint
                && !j.complete
            {
                tracing::info!(
                    "{at}: resuming an interrupted conversion of the same input and options"
                );
                return Ok(Prepared::Write(j.done.into_iter().collect()));
            }
            crate::storage::erase_all(store, at)?;
            Ok(fresh)
        }
        (Existing::Resume, Contents::Foreign(_)) => {
            check_erasable(loc, &found, at, "resume into it").map(|_| fresh)
        }
        (Existing::Resume, Contents::Zarr { journal: false }) => Err(Error::Refused(format!(
            "{at}: refusing to resume: it is a Zarr store that no conversion of ours wrote (no journal); nothing was touched (use --overwrite to replace it)"
        ))),
        (Existing::Resume, Contents::Zarr { journal: true }) => {
            check_erasable(loc, &found, at, "resume into it")?;
            match writer::read_journal_from(&**store, at)? {
                Some(j) if j.fingerprint == fingerprint && j.complete => Ok(Prepared::UpToDate),
                Some(j) if j.fingerprint == fingerprint => {
                    Ok(Prepared::Write(j.done.into_iter().collect()))
                }
                _ => Err(Error::Refused(format!(
                    "{at}: refusing to resume: it holds a conversion of another input or with other options; nothing was touched (use --overwrite)"
                ))),
            }
        }
    }
}

/// Pipeline A (`create_geozarr_dataset`, docs/reference.md §2A) end to end on local paths: open `input`,
/// plan the requested GeoZarr groups (Sentinel-1: georeferenced from the GCPs) and the copied
/// groups, and write `output`. Works on any product; requested groups that are missing or have no
/// data variables are skipped (logged).
pub fn create_geozarr_dataset(
    input: impl ToLocation,
    output: impl ToLocation,
    opts: &GenericOptions,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<(OutputPlan, WriteReport)> {
    let output = output.to_location()?;
    let h = Hierarchy::open(input)?;
    crate::product::check_shapes(&h)?;
    let plan = plan_generic(&h, opts)?;
    let job = Job {
        profile: opts.profile,
        max_retries: opts.max_retries,
        device: opts.device,
        cancel: opts.cancel.clone(),
        source_cache_bytes: opts.source_cache_bytes,
        fingerprint: format!("{} | {:?}", h.location(), opts.output_choices()),
    };
    let report = run_plan(&h, &plan, &output, &job, existing, progress)?;
    Ok((plan, report))
}

/// What to do with an existing output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// An existing, non-empty output is an error.
    #[default]
    Error,
    /// Remove it and convert again — only a Zarr store or an output of ours.
    Overwrite,
    /// Finish an interrupted conversion of the same input with the same options: arrays the
    /// journal lists as complete are kept, everything else (and all metadata) is written again.
    /// A complete output of the same conversion is left as it is; anything else is refused.
    Resume,
    /// What the reference's Python API does, within the trust rules (the Python package): an
    /// interrupted conversion of ours with the same input and options is resumed; any other Zarr
    /// store or output of ours is erased and written again; anything else is refused.
    Replace,
}

/// Pipeline B end to end on local paths: open `input`, check it is Sentinel-2, resolve the CRS,
/// plan, and write `output`.
pub fn convert_s2_optimized(
    input: impl ToLocation,
    output: impl ToLocation,
    opts: &S2Options,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<(OutputPlan, WriteReport)> {
    let output = output.to_location()?;
    let h = Hierarchy::open(input)?;
    check_sentinel2(&h).map_err(|why| {
        Error::Input(format!(
            "{}: input is not a Sentinel-2 product: {why}",
            h.location()
        ))
    })?;
    crate::product::check_shapes(&h)?;
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
        source_cache_bytes: opts.source_cache_bytes,
        fingerprint: format!("{} | {:?}", h.location(), opts.output_choices()),
    };
    let report = run_plan(&h, &plan, &output, &job, existing, progress)?;
    Ok((plan, report))
}

/// How one conversion is written.
struct Job {
    profile: crate::plan::Profile,
    max_retries: u32,
    device: crate::kernels::Device,
    source_cache_bytes: u64,
    fingerprint: String,
    cancel: writer::CancelFlag,
}

/// Write a plan to a new store (local or S3) with the existing-output policy and the chosen kernels.
fn run_plan(
    h: &Hierarchy,
    plan: &OutputPlan,
    output: &Location,
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
        source_cache_bytes: job.source_cache_bytes,
    };
    let (store, at) = crate::storage::open_write(output)?;
    match prepare_store(output, &store, &at, existing, &job.fingerprint)? {
        Prepared::Write(done) => {
            // Checked: a local folder is opened again for the data, with direct I/O where it
            // takes it (object stores keep theirs).
            let (store, at) = match output {
                Location::Local(_) => {
                    drop(store);
                    crate::storage::open_write_data(output)?
                }
                _ => (store, at),
            };
            writer::write_plan_to(h, plan, store, &at, &settings, &done, progress)
        }
        Prepared::UpToDate => {
            tracing::info!(
                "{at}: already the complete output of this input and these options: nothing to do"
            );
            Ok(WriteReport {
                up_to_date: true,
                kernels: kernels.note.clone(),
                ..WriteReport::default()
            })
        }
    }
}

/// The reference's `write_geozarr_group` (§2A.2–2A.3): one group of `input` converted to a GeoZarr
/// group with its overviews and `multiscales` in a new store at `output`; nothing else is copied.
pub fn write_geozarr_group(
    input: impl ToLocation,
    output: impl ToLocation,
    group: &str,
    opts: &GenericOptions,
    existing: Existing,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<(OutputPlan, WriteReport)> {
    let output = output.to_location()?;
    let h = Hierarchy::open(input)?;
    crate::product::check_shapes(&h)?;
    let plan = generic::plan_geozarr_group_only(&h, group, opts)?;
    let job = Job {
        profile: opts.profile,
        max_retries: opts.max_retries,
        device: opts.device,
        cancel: opts.cancel.clone(),
        source_cache_bytes: opts.source_cache_bytes,
        fingerprint: format!("{} | {group} | {:?}", h.location(), opts.output_choices()),
    };
    let report = run_plan(&h, &plan, &output, &job, existing, progress)?;
    Ok((plan, report))
}

/// The reference's `create_multiscale_from_datatree` (§2B.2–2B.9): pipeline B without the store
/// root finalisation (no root bbox; consolidated at `/measurements/reflectance` only).
pub fn create_multiscale_from_datatree(
    input: impl ToLocation,
    output: impl ToLocation,
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
