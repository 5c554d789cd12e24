//! The kernels of the pyramids, twice: [`cpu`] (rayon, the fallback) and [`gpu`] (wgpu compute,
//! WGSL in `shaders/`). [`Kernels`] is the one API the conversions use: it dispatches to the GPU
//! or the CPU as [`Device`] decides. Agreement rule (src/kernels/mod.rs): integer kernels bit-identical,
//! float kernels within 4 ULP.

pub mod cpu;
pub mod gpu;

use std::sync::Arc;

pub use cpu::Edge;
pub use gpu::{AdapterDescription, GpuConfig, GpuTiming, configure as configure_gpu};

use crate::error::{Error, Result};
use crate::product::CfEncoding;

/// One computed level: values, width, height.
pub type Level = (Vec<f32>, usize, usize);

/// Where kernels run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Device {
    /// A real GPU adapter when there is one; with only a CPU implementation (lavapipe, 7–13×
    /// slower than rayon here) or none, the CPU kernels.
    #[default]
    Auto,
    /// wgpu on whatever adapter there is (a CPU implementation included); an error without one.
    Gpu,
    /// The rayon kernels.
    Cpu,
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Device::Auto),
            "gpu" => Ok(Device::Gpu),
            "cpu" => Ok(Device::Cpu),
            o => Err(format!("unknown device {o:?} (auto, gpu, cpu)")),
        }
    }
}

/// The kernel dispatcher.
#[derive(Clone)]
pub struct Kernels {
    gpu: Option<Arc<gpu::GpuContext>>,
    /// Which path runs and why (logged once, shown by `bench` and the app).
    pub note: String,
    /// Strip size override in bytes (tests use it to split small inputs into several strips).
    strip_limit: Option<u64>,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.note)
    }
}

impl Kernels {
    /// The CPU kernels.
    pub fn cpu() -> Self {
        Kernels {
            gpu: None,
            note: format!("CPU (rayon, {} threads)", rayon::current_num_threads()),
            strip_limit: None,
        }
    }

    /// Choose the path for `device`; `Gpu` fails when wgpu finds no adapter.
    pub fn new(device: Device) -> Result<Self> {
        match device {
            Device::Cpu => Ok(Self::cpu()),
            Device::Gpu => match gpu::context() {
                Ok(ctx) => Ok(Kernels {
                    note: format!(
                        "GPU: {} ({}, {})",
                        ctx.adapter.name, ctx.adapter.backend, ctx.adapter.device_type
                    ),
                    gpu: Some(ctx),
                    strip_limit: None,
                }),
                Err(e) => Err(Error::Input(format!("--device gpu: {e}"))),
            },
            Device::Auto => {
                // Look before creating a device: a CPU implementation would only cost memory.
                let adapters = gpu::list_adapters();
                let real = adapters.iter().find(|a| !a.is_cpu);
                let k = match (real, gpu::context()) {
                    (Some(_), Ok(ctx)) if !ctx.adapter.is_cpu => Kernels {
                        note: format!(
                            "GPU: {} ({}, {})",
                            ctx.adapter.name, ctx.adapter.backend, ctx.adapter.device_type
                        ),
                        gpu: Some(ctx),
                        strip_limit: None,
                    },
                    (Some(a), Err(e)) => Kernels {
                        note: format!(
                            "CPU (rayon, {} threads): {} could not be used: {e}",
                            rayon::current_num_threads(),
                            a.name
                        ),
                        ..Self::cpu()
                    },
                    _ => match adapters.first() {
                        Some(a) => Kernels {
                            note: format!(
                                "CPU (rayon, {} threads): the only adapter, {}, is a CPU implementation (--device gpu forces it)",
                                rayon::current_num_threads(),
                                a.name
                            ),
                            ..Self::cpu()
                        },
                        None => Kernels {
                            note: format!(
                                "CPU (rayon, {} threads): no wgpu adapter",
                                rayon::current_num_threads()
                            ),
                            ..Self::cpu()
                        },
                    },
                };
                tracing::info!("kernels: {}", k.note);
                Ok(k)
            }
        }
    }

    /// Split GPU inputs into strips of at most `bytes` (never above the adapter's limit).
    pub fn with_strip_limit(mut self, bytes: u64) -> Self {
        self.strip_limit = Some(bytes);
        self
    }

    /// Whether kernels run on wgpu.
    pub fn is_gpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// The adapter in use, if any.
    pub fn adapter(&self) -> Option<&AdapterDescription> {
        self.gpu.as_ref().map(|g| &g.adapter)
    }

    /// CF decode of u16 (fill → NaN, `v·scale + offset` in f64, then f32).
    pub fn decode_u16(
        &self,
        src: &[u16],
        cf: &CfEncoding,
    ) -> Result<(Vec<f32>, Option<GpuTiming>)> {
        match &self.gpu {
            Some(g) => g
                .decode_u16(src, cf, self.strip_limit)
                .map(|(v, t)| (v, Some(t))),
            None => Ok((cpu::decode_u16(src, cf), None)),
        }
    }

    /// Block mean of f32: NaN-skipping (`skip_nan`, all-NaN → NaN) or plain (any NaN → NaN).
    pub fn block_mean_f32(
        &self,
        src: &[f32],
        w: usize,
        h: usize,
        factor: usize,
        edge: Edge,
        skip_nan: bool,
    ) -> Result<(Vec<f32>, usize, usize, Option<GpuTiming>)> {
        match &self.gpu {
            Some(g) => g
                .block_mean_f32(src, w, h, factor, edge, skip_nan, self.strip_limit)
                .map(|(v, a, b, t)| (v, a, b, Some(t))),
            None => {
                let (v, a, b) = if skip_nan {
                    cpu::block_nanmean_f32(src, w, h, factor, edge)
                } else {
                    cpu::block_mean_f32(src, w, h, factor, edge)
                };
                Ok((v, a, b, None))
            }
        }
    }

    /// Integer block reduction of u8 values.
    pub fn block_u8(
        &self,
        src: &[u8],
        w: usize,
        h: usize,
        factor: usize,
        edge: Edge,
        op: IntOp,
    ) -> Result<(Vec<u8>, usize, usize, Option<GpuTiming>)> {
        match &self.gpu {
            Some(g) => g
                .block_int(src, 1, w, h, factor, edge, op as u32, self.strip_limit)
                .map(|(v, a, b, t)| (v, a, b, Some(t))),
            None => {
                let (v, a, b) = match op {
                    IntOp::Or => cpu::block_or_u8(src, w, h, factor, edge),
                    IntOp::Max => cpu::block_max_u8(src, w, h, factor, edge),
                    IntOp::Mean => cpu::block_mean_u8(src, w, h, factor, edge),
                    IntOp::Mode => cpu::block_mode_u8(src, w, h, factor, edge),
                };
                Ok((v, a, b, None))
            }
        }
    }

    /// Rounded block mean of u16 values.
    pub fn block_mean_u16(
        &self,
        src: &[u16],
        w: usize,
        h: usize,
        factor: usize,
        edge: Edge,
    ) -> Result<(Vec<u16>, usize, usize, Option<GpuTiming>)> {
        match &self.gpu {
            Some(g) => {
                let bytes: &[u8] = bytemuck::cast_slice(src);
                let (v, a, b, t) = g.block_int(
                    bytes,
                    2,
                    w,
                    h,
                    factor,
                    edge,
                    IntOp::Mean as u32,
                    self.strip_limit,
                )?;
                let out: Vec<u16> = v
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                Ok((out, a, b, Some(t)))
            }
            None => {
                let (v, a, b) = cpu::block_mean_u16(src, w, h, factor, edge);
                Ok((v, a, b, None))
            }
        }
    }

    /// Values of an f32 raster at `rows × cols` (top-left, centre and nearest sampling; see
    /// [`Sampling::indices`]).
    pub fn sample_f32(
        &self,
        src: &[f32],
        w: usize,
        rows: &[u32],
        cols: &[u32],
    ) -> Result<(Vec<f32>, Option<GpuTiming>)> {
        match &self.gpu {
            Some(g) => {
                let bits: &[u32] = bytemuck::cast_slice(src);
                let (v, t) = g.gather_u32(bits, w, rows, cols, self.strip_limit)?;
                Ok((v.into_iter().map(f32::from_bits).collect(), Some(t)))
            }
            None => Ok((cpu::gather(src, w, rows, cols), None)),
        }
    }

    /// The fused pyramid: NaN-mean levels for `factors` (each relative to the previous level),
    /// computed from one upload per strip on the GPU, or level after level on the CPU.
    pub fn pyramid_f32(
        &self,
        src: &[f32],
        w: usize,
        h: usize,
        factors: &[usize],
        edge: Edge,
    ) -> Result<(Vec<Level>, Option<GpuTiming>)> {
        match &self.gpu {
            Some(g) => g
                .pyramid_f32(src, w, h, factors, edge, self.strip_limit)
                .map(|(v, t)| (v, Some(t))),
            None => {
                let mut out: Vec<Level> = Vec::new();
                for &f in factors {
                    let level = match out.last() {
                        Some((v, lw, lh)) => cpu::block_nanmean_f32(v, *lw, *lh, f, edge),
                        None => cpu::block_nanmean_f32(src, w, h, f, edge),
                    };
                    out.push(level);
                }
                Ok((out, None))
            }
        }
    }
}

/// Integer block reductions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOp {
    /// Bitwise OR (bit masks).
    Or = 0,
    /// Maximum.
    Max = 1,
    /// Mean rounded half up.
    Mean = 2,
    /// Most frequent value, ties → the smallest (classes).
    Mode = 3,
}

/// Sampling rules that pick one source pixel per output pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// The first pixel of each `factor` block (the reference's SCL "coarsening").
    TopLeft(usize),
    /// The centre pixel of each `factor` block (`k·f + f/2`, clamped to the last pixel).
    Centre(usize),
    /// `floor(linspace(0, s − 1, t))` (the reference's `downsample_2d_array` nearest branch).
    Nearest(usize),
}

impl Sampling {
    /// The source indices along an axis of `n` pixels (`edge` decides partial blocks).
    pub fn indices(self, n: usize, edge: Edge) -> Vec<u32> {
        match self {
            Sampling::TopLeft(f) => (0..cpu::reduced_size(n, f.max(1), edge))
                .map(|k| (k * f.max(1)) as u32)
                .collect(),
            Sampling::Centre(f) => (0..cpu::reduced_size(n, f.max(1), edge))
                .map(|k| ((k * f + f / 2).min(n - 1)) as u32)
                .collect(),
            Sampling::Nearest(t) => {
                if t <= 1 {
                    return vec![0; t];
                }
                let step = (n as f64 - 1.0) / (t as f64 - 1.0);
                (0..t)
                    .map(|i| {
                        if i == t - 1 {
                            (n - 1) as u32
                        } else {
                            (i as f64 * step).floor() as u32
                        }
                    })
                    .collect()
            }
        }
    }
}
