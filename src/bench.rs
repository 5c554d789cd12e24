//! `eopf-geozarr bench`: wall times of a whole conversion and of its codec floor (decoding the
//! input and compressing the output with the chosen codec on all cores — what no conversion can
//! beat, README.md "Performance").

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
        .map(|n| n.path.to_string())
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

/// Compress the output arrays that come straight from input arrays (decoded or repacked reflectance, copied
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
            // --keep-scale-offset: a native band repacked (the conversion's table).
            Source::Pack { inner, cf } => match &**inner {
                Source::Decode { from, cf: decode } => {
                    let v = h.read::<u16>(from)?;
                    let table = crate::convert::writer::repack_table(&decode.u16_table(), cf);
                    v.iter()
                        .flat_map(|&x| table[usize::from(x)].to_le_bytes())
                        .collect()
                }
                _ => continue,
            },
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
pub fn convert_once(input: impl crate::storage::ToLocation, opts: &S2Options) -> Result<Timing> {
    let dir = std::env::temp_dir().join(format!("eopf-geozarr-bench-{}", std::process::id()));
    // (`Overwrite` replaces a stale output of ours and refuses anything else by that name.)
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

/// One row of the kernel benchmark: CPU vs GPU on the same input.
#[derive(Debug, Clone, Serialize)]
pub struct KernelRow {
    pub kernel: String,
    /// Input size, e.g. `10980x10980 u16`.
    pub size: String,
    pub cpu_ms: f64,
    /// `None` without a GPU adapter.
    pub gpu: Option<GpuSplit>,
    /// CPU time / GPU total time.
    pub speedup: Option<f64>,
    /// Largest difference between the two results (ULP for floats, 0 = identical).
    pub max_ulp: Option<u64>,
}

/// GPU time of one kernel call, split.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GpuSplit {
    pub upload_ms: f64,
    pub compute_ms: f64,
    pub readback_ms: f64,
    pub total_ms: f64,
}

/// The kernel benchmark of `eopf-geozarr bench --kernels`: what the desktop app's benchmark panel
/// plots.
#[derive(Debug, Clone, Serialize)]
pub struct KernelReport {
    /// The adapter the GPU column ran on (`None`: no adapter, GPU column empty).
    pub adapter: Option<crate::kernels::AdapterDescription>,
    pub cpu: String,
    pub rows: Vec<KernelRow>,
    /// Whole conversions (pipeline B, geozarr, sharded) on each device.
    pub conversions: Vec<Timing>,
}

fn ulp_f32(a: &[f32], b: &[f32]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            if x.is_nan() && y.is_nan() {
                0
            } else if x.is_nan() || y.is_nan() {
                u64::MAX
            } else {
                (i64::from(x.to_bits() as i32) - i64::from(y.to_bits() as i32)).unsigned_abs()
            }
        })
        .max()
        .unwrap_or(0)
}

fn split(t: crate::kernels::GpuTiming) -> GpuSplit {
    GpuSplit {
        upload_ms: t.upload * 1e3,
        compute_ms: t.compute * 1e3,
        readback_ms: t.readback * 1e3,
        total_ms: t.total() * 1e3,
    }
}

/// Synthetic `n × n` kernel inputs: u16 digital numbers 1000–4999 with their CF encoding,
/// the reflectance they decode to with 5 % NaN, and u8 classes 0–11.
pub fn synthetic_inputs(n: usize) -> (Vec<u16>, crate::product::CfEncoding, Vec<f32>, Vec<u8>) {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let dn: Vec<u16> = (0..n * n).map(|_| 1000 + (next() % 4000) as u16).collect();
    let cf = crate::product::CfEncoding {
        fill: Some(0.0),
        scale_factor: 1e-4,
        add_offset: -0.1,
    };
    let refl: Vec<f32> = dn
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if i % 20 == 0 {
                f32::NAN
            } else {
                f32::from(v) * 1e-4
            }
        })
        .collect();
    let classes: Vec<u8> = (0..n * n).map(|_| (next() % 12) as u8).collect();
    (dn, cf, refl, classes)
}

/// Time every kernel on synthetic `n × n` inputs (reflectance-like f32 with 5 % NaN, u16 digital
/// numbers, u8 classes) on the CPU and, when `gpu` is given, on wgpu; compare the results.
pub fn kernel_table(n: usize, gpu: Option<&crate::kernels::Kernels>) -> Result<Vec<KernelRow>> {
    use crate::kernels::{Edge, IntOp, Kernels, Sampling};
    let cpu = Kernels::cpu();
    let (dn, cf, refl, classes) = synthetic_inputs(n);
    let mut rows = Vec::new();
    let mut push = |kernel: &str,
                    size: String,
                    cpu_s: f64,
                    gpu_t: Option<crate::kernels::GpuTiming>,
                    ulp: Option<u64>| {
        let g = gpu_t.map(split);
        rows.push(KernelRow {
            kernel: kernel.into(),
            size,
            cpu_ms: cpu_s * 1e3,
            speedup: g.map(|g| cpu_s * 1e3 / g.total_ms.max(1e-9)),
            gpu: g,
            max_ulp: ulp,
        });
    };
    let time = |f: &mut dyn FnMut() -> Result<()>| -> Result<f64> {
        let t = Instant::now();
        f()?;
        Ok(t.elapsed().as_secs_f64())
    };
    // CF decode.
    let mut c_out = vec![];
    let c = time(&mut || {
        c_out = cpu.decode_u16(&dn, &cf)?.0;
        Ok(())
    })?;
    let (g_t, ulp) = match gpu {
        Some(g) => {
            let (o, t) = g.decode_u16(&dn, &cf)?;
            (t, Some(ulp_f32(&c_out, &o)))
        }
        None => (None, None),
    };
    push("CF decode u16 to f32", format!("{n}x{n} u16"), c, g_t, ulp);
    // Block means.
    for (name, f, edge, skip) in [
        ("NaN-mean 2×2", 2, Edge::Trim, true),
        ("NaN-mean 6×6 (partial edges)", 6, Edge::Partial, true),
        ("plain mean 2×2", 2, Edge::Trim, false),
    ] {
        let mut c_out = vec![];
        let c = time(&mut || {
            c_out = cpu.block_mean_f32(&refl, n, n, f, edge, skip)?.0;
            Ok(())
        })?;
        let (g_t, ulp) = match gpu {
            Some(g) => {
                let (o, _, _, t) = g.block_mean_f32(&refl, n, n, f, edge, skip)?;
                (t, Some(ulp_f32(&c_out, &o)))
            }
            None => (None, None),
        };
        push(name, format!("{n}x{n} f32"), c, g_t, ulp);
    }
    // Integer kernels.
    for (name, op) in [
        ("mode 2×2 (u8 classes)", IntOp::Mode),
        ("bitwise OR 2×2 (u8)", IntOp::Or),
        ("max 2×2 (u8)", IntOp::Max),
        ("rounded mean 2×2 (u8)", IntOp::Mean),
    ] {
        let mut c_out = vec![];
        let c = time(&mut || {
            c_out = cpu.block_u8(&classes, n, n, 2, Edge::Partial, op)?.0;
            Ok(())
        })?;
        let (g_t, ulp) = match gpu {
            Some(g) => {
                let (o, _, _, t) = g.block_u8(&classes, n, n, 2, Edge::Partial, op)?;
                (t, Some(u64::from(o != c_out)))
            }
            None => (None, None),
        };
        push(name, format!("{n}x{n} u8"), c, g_t, ulp);
    }
    // Sampling.
    let (r, cl) = (
        Sampling::TopLeft(2).indices(n, Edge::Trim),
        Sampling::TopLeft(2).indices(n, Edge::Trim),
    );
    let mut c_out = vec![];
    let c = time(&mut || {
        c_out = cpu.sample_f32(&refl, n, &r, &cl)?.0;
        Ok(())
    })?;
    let (g_t, ulp) = match gpu {
        Some(g) => {
            let (o, t) = g.sample_f32(&refl, n, &r, &cl)?;
            (t, Some(ulp_f32(&c_out, &o)))
        }
        None => (None, None),
    };
    push("top-left sampling 2×2", format!("{n}x{n} f32"), c, g_t, ulp);
    // Fused pyramid: r10m → r20m → r60m → r120m-like chain.
    let factors = [2usize, 3, 2];
    let mut c_out = vec![];
    let c = time(&mut || {
        c_out = cpu.pyramid_f32(&refl, n, n, &factors, Edge::Partial)?.0;
        Ok(())
    })?;
    let (g_t, ulp) = match gpu {
        Some(g) => {
            let (o, t) = g.pyramid_f32(&refl, n, n, &factors, Edge::Partial)?;
            let u = c_out
                .iter()
                .zip(&o)
                .map(|(a, b)| ulp_f32(&a.0, &b.0))
                .max()
                .unwrap_or(0);
            (t, Some(u))
        }
        None => (None, None),
    };
    push("fused pyramid 2·3·2", format!("{n}x{n} f32"), c, g_t, ulp);
    Ok(rows)
}

/// A whole conversion (geozarr profile, sharded) with the kernels on `device`.
pub fn convert_on(
    input: impl crate::storage::ToLocation,
    opts: &S2Options,
    device: crate::kernels::Device,
) -> Result<Timing> {
    let opts = S2Options {
        device,
        ..opts.clone()
    };
    let mut t = convert_once(input, &opts)?;
    t.what = format!("conversion, kernels on {device:?}");
    Ok(t)
}

/// One tool's conversion in `bench --versus`.
#[derive(Debug, Clone, Serialize)]
pub struct ToolRun {
    /// The command line (program and arguments).
    pub command: Vec<String>,
    pub wall_s: f64,
    /// Peak resident set of the tool's process (`wait4`'s `ru_maxrss`; its child processes are
    /// not counted).
    pub peak_rss_bytes: u64,
    /// Bytes of every file of the output.
    pub bytes_written: u64,
    /// The exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// The last lines of its standard error when it failed.
    pub error: Option<String>,
}

/// `bench --versus`: the same conversion by two command-line tools, one after the other.
#[derive(Debug, Clone, Serialize)]
pub struct Versus {
    pub input: String,
    pub ours: ToolRun,
    pub theirs: ToolRun,
}

impl Versus {
    /// `theirs / ours` for time, peak memory and bytes written (`None` when either run failed).
    pub fn ratios(&self) -> Option<(f64, f64, f64)> {
        let ok = |r: &ToolRun| r.exit_code == Some(0);
        (ok(&self.ours) && ok(&self.theirs)).then(|| {
            let q = |a: f64, b: f64| a / b.max(1e-9);
            (
                q(self.theirs.wall_s, self.ours.wall_s),
                q(
                    self.theirs.peak_rss_bytes as f64,
                    self.ours.peak_rss_bytes as f64,
                ),
                q(
                    self.theirs.bytes_written as f64,
                    self.ours.bytes_written as f64,
                ),
            )
        })
    }
}

/// The total size of the files below `dir`.
fn tree_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// Run `program args…` to completion: wall time, peak RSS, exit code; standard error goes to
/// `log` (read back on failure).
fn run_measured(
    program: &std::path::Path,
    args: &[String],
    log: &std::path::Path,
) -> Result<(f64, u64, Option<i32>)> {
    let at = program.display().to_string();
    let err = std::fs::File::create(log).map_err(|e| Error::io(log.display(), e))?;
    // Each tool starts with no write-back pending from the one before (the other's gigabytes of
    // output would otherwise be flushed to disk during its run).
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let t = Instant::now();
    let child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(err)
        .spawn()
        .map_err(|e| Error::io(&at, e))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's `Child` is never waited on).
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t.elapsed().as_secs_f64();
    if r != pid {
        return Err(Error::io(&at, std::io::Error::last_os_error()));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // ru_maxrss is in KiB on Linux.
    Ok((wall, (usage.ru_maxrss.max(0) as u64) << 10, code))
}

/// Convert `input` with our CLI (`ours`: the program and arguments for it alone) and another
/// one with the same command-line interface (`theirs`: the Python reference's `eopf-geozarr`),
/// `convert-s2-optimized --enable-sharding` (plus `--keep-scale-offset` on both sides when
/// asked), each into a fresh folder below `scratch`, which is removed after its size is taken.
pub fn versus(
    input: &str,
    (ours, ours_extra): (&std::path::Path, &[String]),
    theirs: &std::path::Path,
    keep_scale_offset: bool,
    scratch: &std::path::Path,
) -> Result<Versus> {
    std::fs::create_dir_all(scratch).map_err(|e| Error::io(scratch.display(), e))?;
    let run = |name: &str, program: &std::path::Path, extra: &[String]| -> Result<ToolRun> {
        let out = scratch.join(format!("{name}.zarr"));
        if out.exists() {
            // Not written by this run: not ours to erase.
            return Err(Error::Input(format!(
                "{}: already exists; remove it or run again",
                out.display()
            )));
        }
        let mut args: Vec<String> = vec![
            "convert-s2-optimized".into(),
            input.into(),
            out.display().to_string(),
            "--enable-sharding".into(),
        ];
        if keep_scale_offset {
            args.push("--keep-scale-offset".into());
        }
        args.extend(extra.iter().cloned());
        let log = scratch.join(format!("{name}.stderr"));
        let (wall_s, peak_rss_bytes, exit_code) = run_measured(program, &args, &log)?;
        let error = (exit_code != Some(0)).then(|| {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().rev().take(5).collect();
            lines.into_iter().rev().collect::<Vec<_>>().join("\n")
        });
        let bytes_written = tree_bytes(&out);
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_file(&log);
        let mut command = vec![program.display().to_string()];
        command.extend(args);
        Ok(ToolRun {
            command,
            wall_s,
            peak_rss_bytes,
            bytes_written,
            exit_code,
            error,
        })
    };
    let ours = run("ours", ours, ours_extra)?;
    let theirs = run("theirs", theirs, &[])?;
    let _ = std::fs::remove_dir(scratch);
    Ok(Versus {
        input: input.to_string(),
        ours,
        theirs,
    })
}

/// One row of `bench --codecs`.
#[derive(Debug, Clone, Serialize)]
pub struct CodecRow {
    pub codec: String,
    /// `uint16 DN`, `float32 reflectance` or `float32 2×2 mean` (a derived level's values).
    pub data: String,
    /// Raw bytes / stored bytes (chunk payloads of 256² inner chunks).
    pub ratio: f64,
    /// Single-core throughput over the raw bytes.
    pub encode_mb_s: f64,
    pub decode_mb_s: f64,
}

/// The codec chains compared by `bench --codecs` (name, codec after `bytes`). A standalone `lz4`
/// codec is not among zarrs' Zarr v3 codecs; LZ4 is measured inside Blosc.
pub fn codec_candidates(item: usize) -> Vec<(String, serde_json::Value)> {
    use serde_json::json;
    let mut v = Vec::new();
    // 7 and 9 besides the study's 1/3/5: whether any higher level is smaller than 3.
    for level in [1, 3, 5, 7, 9] {
        v.push((
            format!("zstd {level}"),
            json!({"name": "zstd", "configuration": {"level": level, "checksum": false}}),
        ));
    }
    // Blosc's clevel 2 is zstd 3 inside Blosc (its clevel 3 is zstd 5).
    for (shuffle, label, levels) in [
        ("shuffle", "shuffle", &[1, 2, 3][..]),
        ("bitshuffle", "bit-shuffle", &[1, 3][..]),
    ] {
        for &level in levels {
            v.push((
                format!("blosc-zstd {label} {level}"),
                json!({"name": "blosc", "configuration": {"cname": "zstd", "clevel": level,
                    "shuffle": shuffle, "typesize": item, "blocksize": 0}}),
            ));
        }
    }
    v.push((
        "blosc-lz4 shuffle 5".into(),
        json!({"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5,
            "shuffle": "shuffle", "typesize": item, "blocksize": 0}}),
    ));
    v
}

/// One kind of data of `bench --codecs`: its label, 2-D shape, whether float32 (else uint16),
/// and its bytes.
struct CodecSample {
    data: &'static str,
    shape: [u64; 2],
    float: bool,
    raw: Vec<u8>,
}

/// `bench --codecs`: every [`codec_candidates`] chain on the r10m B04 of `h` (a window of at
/// most `edge`² pixels), as the stored uint16 digital numbers, as decoded float32 reflectance and
/// as a derived level's 2×2 NaN-means of it, in 256² chunks, encoded and decoded on one core.
pub fn codec_study(h: &Hierarchy, edge: u64) -> Result<Vec<CodecRow>> {
    let path = "/measurements/reflectance/r10m/b04";
    let meta = h.array_meta(path)?;
    let (hh, ww) = match meta.shape[..] {
        [a, b] => (a.min(edge), b.min(edge)),
        _ => return Err(Error::invalid(path, "B04 is not 2-D")),
    };
    let node = h
        .node(path)
        .ok_or_else(|| Error::invalid(path, "vanished"))?;
    let cf = crate::product::CfEncoding::from_attributes(&node.attributes, &meta.fill_value);
    // One read: the window twice the size where the band has it, for a derived level's values
    // (r20m b08, r120m …: NaN-means of 2×2 blocks of the decoded band); its top-left `hh`×`ww`
    // for the stored and decoded rows.
    let (h2, w2) = ((2 * hh).min(meta.shape[0]), (2 * ww).min(meta.shape[1]));
    let dn2: Vec<u16> = h
        .read_region::<u16>(path, &[0..h2, 0..w2])?
        .iter()
        .copied()
        .collect();
    let dn: Vec<u16> = dn2
        .chunks(w2 as usize)
        .take(hh as usize)
        .flat_map(|row| &row[..ww as usize])
        .copied()
        .collect();
    let refl = crate::kernels::cpu::decode_u16(&dn, &cf);
    let (mean, mw, mh) = crate::kernels::cpu::block_nanmean_f32(
        &crate::kernels::cpu::decode_u16(&dn2, &cf),
        w2 as usize,
        h2 as usize,
        2,
        crate::kernels::Edge::Partial,
    );
    let inputs = [
        CodecSample {
            data: "uint16 DN",
            shape: [hh, ww],
            float: false,
            raw: bytemuck::cast_slice(&dn).to_vec(),
        },
        CodecSample {
            data: "float32 reflectance",
            shape: [hh, ww],
            float: true,
            raw: bytemuck::cast_slice(&refl).to_vec(),
        },
        CodecSample {
            data: "float32 2×2 mean",
            shape: [mh as u64, mw as u64],
            float: true,
            raw: bytemuck::cast_slice(&mean).to_vec(),
        },
    ];
    let options = zarrs::array::CodecOptions::default().with_concurrent_target(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::invalid("bench --codecs", e))?;
    let mut rows = Vec::new();
    for CodecSample {
        data,
        shape,
        float,
        raw,
    } in &inputs
    {
        let (dt, item, fill) = if *float {
            ("float32", 4, serde_json::json!("NaN"))
        } else {
            ("uint16", 2, serde_json::json!(0))
        };
        for (codec, doc) in codec_candidates(item) {
            let array_doc = crate::convert::metadata::array_doc(
                shape,
                serde_json::json!(dt),
                &[256, 256],
                fill.clone(),
                vec![crate::convert::metadata::bytes_codec(item), doc],
                serde_json::Map::new(),
                Some(vec!["y".into(), "x".into()]),
            );
            let store = Arc::new(MemoryStore::new());
            let m: ArrayMetadataV3 =
                serde_json::from_value(array_doc).map_err(|e| Error::invalid(&codec, e))?;
            let array = Array::new_with_metadata(store.clone(), "/a", ArrayMetadata::V3(m))
                .map_err(|e| Error::invalid(&codec, e))?;
            let (enc, dec, stored) = pool.install(|| -> Result<(f64, f64, u64)> {
                let t = Instant::now();
                array
                    .store_array_subset_opt(
                        &array.subset_all(),
                        ArrayBytes::new_flen(raw.as_slice()),
                        &options,
                    )
                    .map_err(|e| Error::io(&codec, e))?;
                let enc = t.elapsed().as_secs_f64();
                let stored = zarrs::storage::ListableStorageTraits::size(&*store)
                    .map_err(|e| Error::io(&codec, e))?;
                let t = Instant::now();
                let back: ArrayBytes = array
                    .retrieve_array_subset_opt(&array.subset_all(), &options)
                    .map_err(|e| Error::io(&codec, e))?;
                let dec = t.elapsed().as_secs_f64();
                let back = back.into_fixed().map_err(|e| Error::invalid(&codec, e))?;
                if back.as_ref() != raw.as_slice() {
                    return Err(Error::invalid(&codec, "the round trip changed the data"));
                }
                Ok((enc, dec, stored))
            })?;
            let mb = raw.len() as f64 / 1e6;
            rows.push(CodecRow {
                codec,
                data: data.to_string(),
                ratio: raw.len() as f64 / stored.max(1) as f64,
                encode_mb_s: mb / enc.max(1e-9),
                decode_mb_s: mb / dec.max(1e-9),
            });
        }
    }
    Ok(rows)
}
