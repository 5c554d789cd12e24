//! `eopf_geozarr_rs._native`: the eopf-geozarr engine for Python. Every function here is a thin
//! call into the library's public API (the same one the CLI uses); the long ones run with the GIL
//! released. The Python modules of `eopf_geozarr_rs` give them the reference's names, parameters
//! and return values.

use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use serde_json::{Value, json};

use eopf_geozarr::Error;
use eopf_geozarr::convert::{self, Existing, GenericOptions, S2Options, WriteReport};
use eopf_geozarr::storage::{self, S3Config};

/// A library error as the Python exception of the reference's kind, with our message (secrets
/// masked).
fn py_err(e: Error) -> PyErr {
    let msg = storage::mask_secrets(&e.to_string());
    match &e {
        Error::NotFound { .. } => PyFileNotFoundError::new_err(msg),
        Error::Refused(_) => PyPermissionError::new_err(msg),
        Error::Io { reason, .. } => {
            let r = reason.to_ascii_lowercase();
            if [
                "permission denied",
                "access denied",
                "403 forbidden",
                "credentials were refused",
            ]
            .iter()
            .any(|k| r.contains(k))
            {
                PyPermissionError::new_err(msg)
            } else if r.contains("no such file") || r.contains("nosuchbucket") {
                PyFileNotFoundError::new_err(msg)
            } else {
                PyOSError::new_err(msg)
            }
        }
        Error::Cancelled { .. } => PyRuntimeError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

fn value_err(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// The object-storage settings of the next calls: the `AWS_*` environment as it is now (Python may
/// have changed `os.environ`), with the s3fs-style options a caller passed (`endpoint_url`, `key`,
/// `secret`, `token`, `anon`, `region_name` or `client_kwargs.region_name`).
fn configure_s3(overrides: Option<&str>) -> PyResult<()> {
    let mut c = S3Config::from_env();
    if let Some(text) = overrides {
        let v: Value = serde_json::from_str(text).map_err(|e| value_err(e.to_string()))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
        if let Some(e) = s("endpoint_url").or_else(|| {
            v.pointer("/client_kwargs/endpoint_url")
                .and_then(Value::as_str)
                .map(String::from)
        }) {
            c.endpoint = Some(e);
        }
        if let Some(r) = v
            .pointer("/client_kwargs/region_name")
            .or_else(|| v.get("region_name"))
            .and_then(Value::as_str)
        {
            c.region = r.to_string();
        }
        if let Some(k) = s("key") {
            c.access_key_id = Some(k);
        }
        if let Some(k) = s("secret") {
            c.secret_access_key = Some(k);
        }
        if let Some(k) = s("token") {
            c.session_token = Some(k);
        }
        if let Some(a) = v.get("anon").and_then(Value::as_bool) {
            c.anonymous = a;
        }
    }
    storage::set_s3_config(c);
    Ok(())
}

fn parse<T: std::str::FromStr<Err = String>>(what: &str, s: &str) -> PyResult<T> {
    s.parse()
        .map_err(|e: String| value_err(format!("{what}: {e}")))
}

/// One of our named options (`profile`, `codec`, `shard_size`), parsed as the CLI parses it.
fn named<T: std::str::FromStr<Err = String>>(what: &str, s: &str) -> PyResult<T> {
    s.parse()
        .map_err(|e: String| value_err(format!("{what} {e}")))
}

fn existing(s: &str) -> PyResult<Existing> {
    match s {
        "replace" => Ok(Existing::Replace),
        "error" => Ok(Existing::Error),
        "overwrite" => Ok(Existing::Overwrite),
        "resume" => Ok(Existing::Resume),
        o => Err(value_err(format!(
            "existing {o:?}: expected replace, error, overwrite or resume"
        ))),
    }
}

fn check_chunk(spatial_chunk: u64) -> PyResult<()> {
    if spatial_chunk == 0 {
        return Err(value_err("spatial_chunk must be at least 1"));
    }
    Ok(())
}

/// What a conversion reports back: counts, where the kernels ran, and every group written.
fn report(plan: &convert::OutputPlan, r: &WriteReport) -> String {
    json!({
        "arrays": r.arrays,
        "groups": plan.groups.keys().collect::<Vec<_>>(),
        "array_paths": plan.arrays.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(),
        "kernels": r.kernels,
        "up_to_date": r.up_to_date,
    })
    .to_string()
}

/// Validate a written store; a store with errors is a `ValueError` listing them.
fn check_valid(output: &str) -> PyResult<()> {
    let h = eopf_geozarr::hierarchy::Hierarchy::open(output).map_err(py_err)?;
    let v = eopf_geozarr::validate::validate(&h);
    if v.is_valid() {
        return Ok(());
    }
    let lines: Vec<String> = v
        .errors()
        .map(|f| format!("{} [{}] {}", f.path, f.code, f.message))
        .collect();
    Err(value_err(format!(
        "{output}: the output does not validate ({} error(s)): {}",
        lines.len(),
        lines.join("; ")
    )))
}

/// Pipeline B (`convert_s2_optimized`). `finalise_root = false` is the reference's
/// `create_multiscale_from_datatree` (no store-root bbox, consolidated at the reflectance group).
#[pyfunction]
#[pyo3(signature = (input, output, *, enable_sharding, spatial_chunk, compression_level,
    validate_output, keep_scale_offset, max_retries, profile_name, codec_name, shard, device,
    finalise_root, on_existing, storage_options))]
#[allow(clippy::too_many_arguments)]
fn convert_s2_optimized(
    py: Python<'_>,
    input: String,
    output: String,
    enable_sharding: bool,
    spatial_chunk: u64,
    compression_level: u8,
    validate_output: bool,
    keep_scale_offset: bool,
    max_retries: u32,
    profile_name: &str,
    codec_name: &str,
    shard: &str,
    device: &str,
    finalise_root: bool,
    on_existing: &str,
    storage_options: Option<String>,
) -> PyResult<String> {
    check_chunk(spatial_chunk)?;
    if !(1..=9).contains(&compression_level) {
        return Err(value_err(format!(
            "compression_level {compression_level}: expected 1 to 9"
        )));
    }
    configure_s3(storage_options.as_deref())?;
    let opts = S2Options {
        profile: named("profile", profile_name)?,
        spatial_chunk,
        enable_sharding,
        compression_level,
        finalise_root,
        codec: named("codec", codec_name)?,
        shard_size: named("shard_size", shard)?,
        keep_scale_offset,
        max_retries: max_retries.max(1),
        device: parse("device", device)?,
        ..S2Options::default()
    };
    let existing = existing(on_existing)?;
    py.detach(|| {
        let (plan, r) =
            convert::convert_s2_optimized(&*input, &*output, &opts, existing, &|_, _, _| {})
                .map_err(py_err)?;
        if validate_output && !r.up_to_date {
            check_valid(&output)?;
        }
        Ok(report(&plan, &r))
    })
}

/// Pipeline A (`create_geozarr_dataset`).
#[pyfunction]
#[pyo3(signature = (input, output, *, groups, spatial_chunk, min_dimension, max_retries,
    crs_groups, gcp_group, enable_sharding, profile_name, codec_name, shard, device, on_existing,
    storage_options))]
#[allow(clippy::too_many_arguments)]
fn create_geozarr_dataset(
    py: Python<'_>,
    input: String,
    output: String,
    groups: Vec<String>,
    spatial_chunk: u64,
    min_dimension: u64,
    max_retries: u32,
    crs_groups: Option<Vec<String>>,
    gcp_group: Option<String>,
    enable_sharding: bool,
    profile_name: &str,
    codec_name: &str,
    shard: &str,
    device: &str,
    on_existing: &str,
    storage_options: Option<String>,
) -> PyResult<String> {
    check_chunk(spatial_chunk)?;
    configure_s3(storage_options.as_deref())?;
    let opts = GenericOptions {
        profile: named("profile", profile_name)?,
        groups,
        spatial_chunk,
        min_dimension,
        crs_groups,
        gcp_group,
        enable_sharding,
        codec: named("codec", codec_name)?,
        shard_size: named("shard_size", shard)?,
        max_retries: max_retries.max(1),
        device: parse("device", device)?,
        ..GenericOptions::default()
    };
    let existing = existing(on_existing)?;
    py.detach(|| {
        let (plan, r) =
            convert::create_geozarr_dataset(&*input, &*output, &opts, existing, &|_, _, _| {})
                .map_err(py_err)?;
        Ok(report(&plan, &r))
    })
}

/// Whether a product is Sentinel-2 (the reference's `is_sentinel2_dataset`); the reason when not.
#[pyfunction]
fn sentinel2_check(py: Python<'_>, input: String) -> PyResult<Option<String>> {
    py.detach(|| {
        let h = eopf_geozarr::hierarchy::Hierarchy::open(&*input).map_err(py_err)?;
        Ok(eopf_geozarr::product::check_sentinel2(&h).err())
    })
}

/// The validator's report as JSON.
#[pyfunction]
fn validate(py: Python<'_>, input: String) -> PyResult<String> {
    py.detach(|| {
        let h = eopf_geozarr::hierarchy::Hierarchy::open(&*input).map_err(py_err)?;
        serde_json::to_string(&eopf_geozarr::validate::validate(&h))
            .map_err(|e| value_err(e.to_string()))
    })
}

/// Write the synthetic demo product.
#[pyfunction]
#[pyo3(signature = (output, *, size, seed, level, zarr_format))]
fn write_demo(
    py: Python<'_>,
    output: String,
    size: u64,
    seed: u64,
    level: &str,
    zarr_format: u8,
) -> PyResult<String> {
    use eopf_geozarr::{demo::DemoOptions, layout::ZarrFormat, product::S2Level};
    let opts = DemoOptions {
        level: match level {
            "l2a" | "L2A" => S2Level::L2A,
            "l1c" | "L1C" => S2Level::L1C,
            o => {
                return Err(value_err(format!(
                    "level {o:?}: expected \"l2a\" or \"l1c\""
                )));
            }
        },
        format: Some(match zarr_format {
            2 => ZarrFormat::V2,
            3 => ZarrFormat::V3,
            o => return Err(value_err(format!("zarr_format {o}: expected 2 or 3"))),
        }),
        size,
        seed,
        ..DemoOptions::default()
    };
    py.detach(|| {
        let r = eopf_geozarr::demo::write_demo(&*output, &opts, &|_, _| {}).map_err(py_err)?;
        Ok(r.path.to_string())
    })
}

#[pyfunction]
fn calculate_aligned_chunk_size(dimension_size: u64, target_chunk_size: u64) -> u64 {
    eopf_geozarr::plan::calculate_aligned_chunk_size(dimension_size, target_chunk_size)
}

#[pyfunction]
fn calculate_aligned_chunk_size_s2(dimension_size: u64, target_chunk: u64) -> u64 {
    eopf_geozarr::plan::calculate_aligned_chunk_size_s2(dimension_size, target_chunk)
}

#[pyfunction]
fn calculate_simple_shard_dimensions(shape: Vec<u64>, chunks: Vec<u64>) -> PyResult<Vec<u64>> {
    if shape.len() != chunks.len() {
        return Err(value_err(format!(
            "shape {shape:?} and chunks {chunks:?} differ in length"
        )));
    }
    Ok(eopf_geozarr::plan::calculate_simple_shard_dimensions(
        &shape, &chunks,
    ))
}

/// Pipeline A's overview levels as the reference's dictionaries (JSON).
#[pyfunction]
fn calculate_overview_levels(native_width: u64, native_height: u64, min_dimension: u64) -> String {
    serde_json::to_string(&eopf_geozarr::plan::calculate_overview_levels(
        native_width,
        native_height,
        min_dimension,
    ))
    .unwrap_or_else(|_| "[]".into())
}

/// The block-mean branch of `downsample_2d_array` on float64 pixels (native-endian row-major
/// bytes in, the same out).
#[pyfunction]
#[pyo3(signature = (data, height, width, target_height, target_width, nodata))]
fn block_mean_2d<'py>(
    py: Python<'py>,
    data: &[u8],
    height: usize,
    width: usize,
    target_height: usize,
    target_width: usize,
    nodata: Option<f64>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    if data.len() != height.saturating_mul(width).saturating_mul(8)
        || target_height == 0
        || target_width == 0
    {
        return Err(value_err(format!(
            "downsample_2d_array: {} bytes for a {height}×{width} float64 array to {target_height}×{target_width}",
            data.len()
        )));
    }
    let out = py.detach(|| {
        let src: Vec<f64> = data
            .chunks_exact(8)
            .map(|b| f64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect();
        eopf_geozarr::kernels::cpu::downsample_2d_array_nodata(
            &src,
            width,
            height,
            target_width,
            target_height,
            nodata,
        )
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect::<Vec<u8>>()
    });
    Ok(pyo3::types::PyBytes::new(py, &out))
}

#[pyfunction]
fn is_s3_path(path: &str) -> bool {
    storage::is_s3_path(path)
}

#[pyfunction]
fn parse_s3_path(path: &str) -> PyResult<(String, String)> {
    storage::parse_s3_path(path).map_err(|e| value_err(e.to_string()))
}

#[pyfunction]
fn normalize_s3_path(path: &str) -> String {
    storage::normalize_s3_path(path)
}

#[pyfunction]
fn normalize_path(path: &str) -> String {
    storage::normalize_path(path)
}

/// `get_s3_storage_options` (JSON), from the environment as it is now.
#[pyfunction]
fn s3_storage_options() -> String {
    S3Config::from_env().storage_options().to_string()
}

#[pyfunction]
fn s3_credentials_info() -> String {
    S3Config::from_env().credentials_info().to_string()
}

#[pyfunction]
#[pyo3(signature = (path, storage_options=None))]
fn validate_s3_access(
    py: Python<'_>,
    path: String,
    storage_options: Option<String>,
) -> PyResult<(bool, Option<String>)> {
    configure_s3(storage_options.as_deref())?;
    Ok(py.detach(|| storage::validate_s3_access(&path)))
}

#[pyfunction]
#[pyo3(signature = (path, storage_options=None))]
fn path_exists(py: Python<'_>, path: String, storage_options: Option<String>) -> PyResult<bool> {
    configure_s3(storage_options.as_deref())?;
    py.detach(|| storage::path_exists(&path)).map_err(py_err)
}

#[pyfunction]
#[pyo3(signature = (path, storage_options=None))]
fn s3_path_exists(py: Python<'_>, path: String, storage_options: Option<String>) -> PyResult<bool> {
    configure_s3(storage_options.as_deref())?;
    py.detach(|| storage::s3_path_exists(&path)).map_err(py_err)
}

/// Write a JSON document (given as text) to a local path or `s3://`.
#[pyfunction]
#[pyo3(signature = (path, text, storage_options=None))]
fn write_json_metadata(
    py: Python<'_>,
    path: String,
    text: String,
    storage_options: Option<String>,
) -> PyResult<()> {
    configure_s3(storage_options.as_deref())?;
    let v: Value = serde_json::from_str(&text).map_err(|e| value_err(format!("{path}: {e}")))?;
    py.detach(|| storage::write_json_metadata(&path, &v))
        .map_err(py_err)
}

/// Read a JSON document (returned as text) from a local path or `s3://`.
#[pyfunction]
#[pyo3(signature = (path, storage_options=None))]
fn read_json_metadata(
    py: Python<'_>,
    path: String,
    storage_options: Option<String>,
) -> PyResult<String> {
    configure_s3(storage_options.as_deref())?;
    let v = py
        .detach(|| storage::read_json_metadata(&path))
        .map_err(py_err)?;
    Ok(v.to_string())
}

/// Inline consolidated metadata of everything below `group` of a Zarr v3 store.
#[pyfunction]
#[pyo3(signature = (store, group, storage_options=None))]
fn consolidate_metadata(
    py: Python<'_>,
    store: String,
    group: String,
    storage_options: Option<String>,
) -> PyResult<()> {
    configure_s3(storage_options.as_deref())?;
    py.detach(|| storage::consolidate_metadata(&*store, &group))
        .map_err(py_err)
}

/// The engine's version.
#[pyfunction]
fn engine_version() -> &'static str {
    eopf_geozarr::VERSION
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(convert_s2_optimized, m)?)?;
    m.add_function(wrap_pyfunction!(create_geozarr_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(sentinel2_check, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(write_demo, m)?)?;
    m.add_function(wrap_pyfunction!(calculate_aligned_chunk_size, m)?)?;
    m.add_function(wrap_pyfunction!(calculate_aligned_chunk_size_s2, m)?)?;
    m.add_function(wrap_pyfunction!(calculate_simple_shard_dimensions, m)?)?;
    m.add_function(wrap_pyfunction!(calculate_overview_levels, m)?)?;
    m.add_function(wrap_pyfunction!(block_mean_2d, m)?)?;
    m.add_function(wrap_pyfunction!(is_s3_path, m)?)?;
    m.add_function(wrap_pyfunction!(parse_s3_path, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_s3_path, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_path, m)?)?;
    m.add_function(wrap_pyfunction!(s3_storage_options, m)?)?;
    m.add_function(wrap_pyfunction!(s3_credentials_info, m)?)?;
    m.add_function(wrap_pyfunction!(validate_s3_access, m)?)?;
    m.add_function(wrap_pyfunction!(path_exists, m)?)?;
    m.add_function(wrap_pyfunction!(s3_path_exists, m)?)?;
    m.add_function(wrap_pyfunction!(write_json_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(read_json_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(consolidate_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(engine_version, m)?)?;
    Ok(())
}
