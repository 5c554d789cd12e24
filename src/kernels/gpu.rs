//! The wgpu compute path: one device per process (created on first use, reused), one pipeline per
//! WGSL kernel (`shaders/`), inputs split into row strips within the adapter's storage-binding
//! limit (128 MiB on lavapipe). Every call reports its upload / compute / readback times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use wgpu::util::DeviceExt;

use super::cpu::{Edge, reduced_size};
use crate::error::{Error, Result};
use crate::product::CfEncoding;

/// Time spent in one GPU call, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct GpuTiming {
    pub upload: f64,
    pub compute: f64,
    pub readback: f64,
}

impl GpuTiming {
    pub fn total(&self) -> f64 {
        self.upload + self.compute + self.readback
    }
    fn add(&mut self, o: GpuTiming) {
        self.upload += o.upload;
        self.compute += o.compute;
        self.readback += o.readback;
    }
}

/// What the adapter is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AdapterDescription {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    /// A CPU implementation (lavapipe, llvmpipe, WARP): correct but slower than the rayon path.
    pub is_cpu: bool,
}

/// The shared wgpu device and its pipelines.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pub adapter: AdapterDescription,
    /// Largest storage buffer binding (bytes).
    pub max_binding: u64,
    pipelines: Mutex<HashMap<&'static str, Arc<wgpu::ComputePipeline>>>,
}

const SHADERS: [(&str, &str); 4] = [
    ("decode_u16", include_str!("../../shaders/decode_u16.wgsl")),
    (
        "block_mean_f32",
        include_str!("../../shaders/block_mean_f32.wgsl"),
    ),
    ("block_int", include_str!("../../shaders/block_int.wgsl")),
    ("gather_f32", include_str!("../../shaders/gather_f32.wgsl")),
];

/// Workgroup size of every kernel.
const WG: u32 = 256;
/// Most workgroups per dispatch dimension (WebGPU's guaranteed limit).
const MAX_GROUPS: u32 = 65535;

static CONTEXT: OnceLock<std::result::Result<Arc<GpuContext>, String>> = OnceLock::new();

/// Which wgpu backends and instance flags the process's GPU context uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuConfig {
    pub backends: wgpu::Backends,
    pub flags: wgpu::InstanceFlags,
}

impl Default for GpuConfig {
    /// The primary backends (Vulkan, Metal, DX12 — GL needs a display and only adds a slower
    /// path) and wgpu's default flags.
    fn default() -> Self {
        GpuConfig {
            backends: wgpu::Backends::PRIMARY,
            flags: wgpu::InstanceFlags::default(),
        }
    }
}

static CONFIG: OnceLock<GpuConfig> = OnceLock::new();

/// Set the GPU configuration before the first GPU use (the CLI passes wgpu's environment
/// variables, `WGPU_BACKEND` and kin, this way). Later calls, or calls after the context
/// exists, are ignored: the context is created once per process.
pub fn configure(config: GpuConfig) {
    let _ = CONFIG.set(config);
}

/// Every adapter wgpu can see on the configured backends.
fn adapters() -> (wgpu::Instance, Vec<wgpu::Adapter>) {
    let config = CONFIG.get().copied().unwrap_or_default();
    let backends = config.backends;
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    desc.flags = config.flags;
    let instance = wgpu::Instance::new(desc);
    let list = pollster::block_on(instance.enumerate_adapters(backends));
    (instance, list)
}

fn describe(a: &wgpu::Adapter) -> AdapterDescription {
    let info = a.get_info();
    AdapterDescription {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        is_cpu: info.device_type == wgpu::DeviceType::Cpu,
    }
}

/// The adapters wgpu finds, described (for `bench` and the app).
pub fn list_adapters() -> Vec<AdapterDescription> {
    adapters().1.iter().map(describe).collect()
}

/// The process's GPU context: the best adapter (a real GPU before a CPU implementation), created
/// once. The error says why there is none.
pub fn context() -> std::result::Result<Arc<GpuContext>, String> {
    CONTEXT
        .get_or_init(|| {
            let (_instance, mut list) = adapters();
            if list.is_empty() {
                return Err(
                    "no wgpu adapter (no GPU, and no Vulkan/GL driver such as Mesa lavapipe)"
                        .to_string(),
                );
            }
            // Real GPUs first (discrete, integrated, virtual), then CPU implementations.
            list.sort_by_key(|a| match a.get_info().device_type {
                wgpu::DeviceType::DiscreteGpu => 0,
                wgpu::DeviceType::IntegratedGpu => 1,
                wgpu::DeviceType::VirtualGpu => 2,
                wgpu::DeviceType::Other => 3,
                wgpu::DeviceType::Cpu => 4,
            });
            let adapter = list.remove(0);
            let desc = describe(&adapter);
            let limits = adapter.limits();
            let (device, queue) =
                pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                    label: Some("eopf-geozarr kernels"),
                    required_features: wgpu::Features::empty(),
                    required_limits: limits.clone(),
                    ..Default::default()
                }))
                .map_err(|e| format!("{}: cannot create a device: {e}", desc.name))?;
            tracing::info!(
                "wgpu adapter: {} ({}, {})",
                desc.name,
                desc.backend,
                desc.device_type
            );
            Ok(Arc::new(GpuContext {
                device,
                queue,
                adapter: desc,
                max_binding: limits
                    .max_storage_buffer_binding_size
                    .min(limits.max_buffer_size),
                pipelines: Mutex::new(HashMap::new()),
            }))
        })
        .clone()
}

/// One binding of a dispatch.
enum Bind<'a> {
    Uniform(&'a [u8]),
    Read(&'a [u8]),
    /// An output of this many bytes.
    Out(u64),
}

/// Dispatch size for `n` invocations: (groups x, groups y, row stride in invocations).
fn grid(n: u64) -> (u32, u32, u32) {
    let groups = n.div_ceil(u64::from(WG)).max(1);
    let gx = groups.min(u64::from(MAX_GROUPS)) as u32;
    let gy = groups.div_ceil(u64::from(gx)) as u32;
    (gx, gy, gx * WG)
}

fn words<T: bytemuck::Pod>(v: &[T]) -> Vec<u8> {
    let mut b = bytemuck::cast_slice::<T, u8>(v).to_vec();
    // Storage buffers hold whole u32 words (and at least one).
    let len = b.len().div_ceil(4).max(1) * 4;
    b.resize(len, 0);
    b
}

impl GpuContext {
    fn pipeline(&self, name: &'static str) -> Result<Arc<wgpu::ComputePipeline>> {
        let mut map = self
            .pipelines
            .lock()
            .map_err(|_| Error::invalid(name, "poisoned lock"))?;
        if let Some(p) = map.get(name) {
            return Ok(p.clone());
        }
        let src = SHADERS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .ok_or_else(|| Error::invalid(name, "no such shader"))?;
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            });
        let p = Arc::new(
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(name),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                }),
        );
        map.insert(name, p.clone());
        Ok(p)
    }

    fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::invalid("wgpu", e))
    }

    /// One dispatch of `kernel` over `n` invocations; returns the output buffers' bytes.
    fn run(
        &self,
        kernel: &'static str,
        binds: &[Bind<'_>],
        n: u64,
    ) -> Result<(Vec<Vec<u8>>, GpuTiming)> {
        let pipeline = self.pipeline(kernel)?;
        let mut t = GpuTiming::default();
        let t0 = Instant::now();
        let mut buffers = Vec::with_capacity(binds.len());
        for b in binds {
            let buf = match b {
                Bind::Uniform(d) => {
                    self.device
                        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: None,
                            contents: d,
                            usage: wgpu::BufferUsages::UNIFORM,
                        })
                }
                Bind::Read(d) => {
                    self.device
                        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: None,
                            contents: d,
                            usage: wgpu::BufferUsages::STORAGE,
                        })
                }
                Bind::Out(size) => self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: (*size).max(4).div_ceil(4) * 4,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                }),
            };
            buffers.push(buf);
        }
        self.queue.submit([]);
        self.wait()?;
        t.upload = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let layout = pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        });
        let (gx, gy, _) = grid(n);
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        self.queue.submit([enc.finish()]);
        self.wait()?;
        t.compute = t1.elapsed().as_secs_f64();
        let t2 = Instant::now();
        let mut outs = Vec::new();
        for (b, buf) in binds.iter().zip(&buffers) {
            if let Bind::Out(size) = b {
                outs.push(self.read_back(buf, *size)?);
            }
        }
        t.readback = t2.elapsed().as_secs_f64();
        Ok((outs, t))
    }

    fn read_back(&self, buf: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
        let padded = size.max(4).div_ceil(4) * 4;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: padded,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        enc.copy_buffer_to_buffer(buf, 0, &staging, 0, padded);
        self.queue.submit([enc.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .map_err(|e| Error::invalid("wgpu readback", e))?
            .map_err(|e| Error::invalid("wgpu readback", e))?;
        let data = slice
            .get_mapped_range()
            .map_err(|e| Error::invalid("wgpu readback", e))?[..size as usize]
            .to_vec();
        staging.unmap();
        Ok(data)
    }

    /// Rows per strip for rows of `row_bytes`, a multiple of `multiple`, within the binding limit.
    fn strip_rows(&self, row_bytes: u64, multiple: usize, limit: Option<u64>) -> Result<usize> {
        let lim = limit.unwrap_or(self.max_binding).min(self.max_binding);
        let rows = (lim / row_bytes.max(1)) as usize;
        let mut rows = rows / multiple * multiple;
        // A requested strip size smaller than one block row gives one block row per strip.
        if rows == 0 && multiple as u64 * row_bytes <= self.max_binding {
            rows = multiple;
        }
        if rows == 0 {
            return Err(Error::Input(format!(
                "a block row of {multiple} rows × {row_bytes} bytes exceeds the GPU's storage binding limit of {lim} bytes"
            )));
        }
        Ok(rows)
    }

    /// CF decode of u16 through the 65536-entry table of `cf` (bit-identical to the CPU).
    pub fn decode_u16(
        &self,
        src: &[u16],
        cf: &CfEncoding,
        limit: Option<u64>,
    ) -> Result<(Vec<f32>, GpuTiming)> {
        let lut: Vec<u32> = cf.u16_table().iter().map(|v| v.to_bits()).collect();
        let lut_bytes = words(&lut);
        let mut out = Vec::with_capacity(src.len());
        let mut t = GpuTiming::default();
        // Elements per strip: 4 bytes out per element dominates.
        let per =
            ((limit.unwrap_or(self.max_binding).min(self.max_binding) / 4) as usize / 2 * 2).max(2);
        for chunk in src.chunks(per) {
            let n = chunk.len() as u64;
            let (_, _, stride) = grid(n);
            let params = words(&[n as u32, stride, 0, 0]);
            let (o, tt) = self.run(
                "decode_u16",
                &[
                    Bind::Uniform(&params),
                    Bind::Read(&words(chunk)),
                    Bind::Read(&lut_bytes),
                    Bind::Out(n * 4),
                ],
                n,
            )?;
            out.extend(bytemuck::pod_collect_to_vec::<u8, f32>(
                &o[0][..(n * 4) as usize],
            ));
            t.add(tt);
        }
        Ok((out, t))
    }

    /// Block means of f32 (`skip_nan`: NaN-skipping, else plain), strip by strip.
    #[allow(clippy::too_many_arguments)]
    pub fn block_mean_f32(
        &self,
        src: &[f32],
        w: usize,
        h: usize,
        factor: usize,
        edge: Edge,
        skip_nan: bool,
        limit: Option<u64>,
    ) -> Result<(Vec<f32>, usize, usize, GpuTiming)> {
        let f = factor.max(1);
        let (ow, oh) = (reduced_size(w, f, edge), reduced_size(h, f, edge));
        let rows = self.strip_rows((w * 4) as u64, f, limit)?;
        let mut out: Vec<f32> = Vec::with_capacity(ow * oh);
        let mut t = GpuTiming::default();
        let mut y = 0;
        while y < h && out.len() < ow * oh {
            let sh = rows.min(h - y);
            let soh = reduced_size(sh, f, edge).min(oh - out.len() / ow.max(1));
            if soh == 0 {
                break;
            }
            let n = (ow * soh) as u64;
            let (_, _, stride) = grid(n);
            let params = words(&[
                w as u32,
                sh as u32,
                ow as u32,
                soh as u32,
                f as u32,
                u32::from(skip_nan),
                stride,
                0,
            ]);
            let (o, tt) = self.run(
                "block_mean_f32",
                &[
                    Bind::Uniform(&params),
                    Bind::Read(&words(&src[y * w..(y + sh) * w])),
                    Bind::Out(n * 4),
                ],
                n,
            )?;
            out.extend(bytemuck::pod_collect_to_vec::<u8, f32>(
                &o[0][..(n * 4) as usize],
            ));
            t.add(tt);
            y += sh;
        }
        Ok((out, ow, oh, t))
    }

    /// Integer block reductions (`op`: 0 OR, 1 max, 2 rounded mean, 3 mode) of u8 (`esize` 1)
    /// or u16 (`esize` 2) values given as little-endian bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn block_int(
        &self,
        src: &[u8],
        esize: usize,
        w: usize,
        h: usize,
        factor: usize,
        edge: Edge,
        op: u32,
        limit: Option<u64>,
    ) -> Result<(Vec<u8>, usize, usize, GpuTiming)> {
        let f = factor.max(1);
        let (ow, oh) = (reduced_size(w, f, edge), reduced_size(h, f, edge));
        let rows = self.strip_rows((w * esize) as u64, f, limit)?;
        let mut out: Vec<u8> = Vec::with_capacity(ow * oh * esize);
        let mut t = GpuTiming::default();
        let mut y = 0;
        let mut done_rows = 0;
        while y < h && done_rows < oh {
            let sh = rows.min(h - y);
            let soh = reduced_size(sh, f, edge).min(oh - done_rows);
            if soh == 0 {
                break;
            }
            let n_out = (ow * soh) as u64;
            let (_, _, stride) = grid(n_out);
            let params = words(&[
                w as u32,
                sh as u32,
                ow as u32,
                soh as u32,
                f as u32,
                op,
                esize as u32,
                stride,
            ]);
            let (o, tt) = self.run(
                "block_int",
                &[
                    Bind::Uniform(&params),
                    Bind::Read(&words(&src[y * w * esize..(y + sh) * w * esize])),
                    Bind::Out(n_out * 4),
                ],
                n_out,
            )?;
            for v in bytemuck::pod_collect_to_vec::<u8, u32>(&o[0][..(n_out * 4) as usize]) {
                out.extend_from_slice(&v.to_le_bytes()[..esize]);
            }
            t.add(tt);
            y += sh;
            done_rows += soh;
        }
        Ok((out, ow, oh, t))
    }

    /// Values of a 32-bit raster at `rows × cols` (strip by strip over the source rows).
    pub fn gather_u32(
        &self,
        src: &[u32],
        w: usize,
        rows: &[u32],
        cols: &[u32],
        limit: Option<u64>,
    ) -> Result<(Vec<u32>, GpuTiming)> {
        let strip = self.strip_rows((w * 4) as u64, 1, limit)?;
        let mut out = Vec::with_capacity(rows.len() * cols.len());
        let mut t = GpuTiming::default();
        let cols_b = words(cols);
        // Group consecutive output rows whose source rows fall in one strip.
        let mut k = 0;
        while k < rows.len() {
            let r0 = rows[k] as usize;
            let mut k1 = k;
            while k1 < rows.len() && (rows[k1] as usize) < r0 + strip && rows[k1] as usize >= r0 {
                k1 += 1;
            }
            let r1 = rows[k..k1].iter().map(|&r| r as usize).max().unwrap_or(r0) + 1;
            let rel: Vec<u32> = rows[k..k1].iter().map(|&r| r - r0 as u32).collect();
            let n = ((k1 - k) * cols.len()) as u64;
            let (_, _, stride) = grid(n);
            let params = words(&[w as u32, cols.len() as u32, (k1 - k) as u32, stride]);
            let (o, tt) = self.run(
                "gather_f32",
                &[
                    Bind::Uniform(&params),
                    Bind::Read(&words(&src[r0 * w..r1 * w])),
                    Bind::Read(&words(&rel)),
                    Bind::Read(&cols_b),
                    Bind::Out(n * 4),
                ],
                n,
            )?;
            out.extend(bytemuck::pod_collect_to_vec::<u8, u32>(
                &o[0][..(n * 4) as usize],
            ));
            t.add(tt);
            k = k1;
        }
        Ok((out, t))
    }

    /// The fused pyramid: each strip of the f32 level is uploaded once and the NaN-mean levels
    /// for `factors` (each relative to the previous level) are chained on the device; every
    /// level is read back.
    pub fn pyramid_f32(
        &self,
        src: &[f32],
        w: usize,
        h: usize,
        factors: &[usize],
        edge: Edge,
        limit: Option<u64>,
    ) -> Result<(Vec<super::Level>, GpuTiming)> {
        let total: usize = factors.iter().map(|f| (*f).max(1)).product();
        let rows = self.strip_rows((w * 4) as u64, total, limit)?;
        let pipeline = self.pipeline("block_mean_f32")?;
        let layout = pipeline.get_bind_group_layout(0);
        // Whole-array sizes per level.
        let mut sizes = Vec::new();
        let (mut cw, mut ch) = (w, h);
        for &f in factors {
            cw = reduced_size(cw, f.max(1), edge);
            ch = reduced_size(ch, f.max(1), edge);
            sizes.push((cw, ch));
        }
        let mut levels: Vec<Vec<f32>> = sizes
            .iter()
            .map(|(a, b)| Vec::with_capacity(a * b))
            .collect();
        let mut t = GpuTiming::default();
        let mut y = 0;
        while y < h {
            let sh = rows.min(h - y);
            let t0 = Instant::now();
            let input = self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: None,
                    contents: &words(&src[y * w..(y + sh) * w]),
                    usage: wgpu::BufferUsages::STORAGE,
                });
            self.queue.submit([]);
            self.wait()?;
            t.upload += t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let mut enc = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            let mut outs: Vec<(wgpu::Buffer, usize)> = Vec::new();
            let (mut lw, mut lh) = (w, sh);
            let mut keep = Vec::new();
            for (k, &f) in factors.iter().enumerate() {
                let f = f.max(1);
                let (ow, _) = sizes[k];
                let oh = reduced_size(lh, f, edge);
                let n = (ow * oh) as u64;
                let (gx, gy, stride) = grid(n);
                let params = self
                    .device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: None,
                        contents: &words(&[
                            lw as u32, lh as u32, ow as u32, oh as u32, f as u32, 1u32, stride, 0,
                        ]),
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                let out = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: (n * 4).max(4),
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                });
                let prev = outs.last().map_or(&input, |o| &o.0);
                let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &layout,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: params.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: prev.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 2,
                            resource: out.as_entire_binding(),
                        },
                    ],
                });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind, &[]);
                    pass.dispatch_workgroups(gx, gy, 1);
                }
                keep.push(params);
                outs.push((out, (n * 4) as usize));
                lw = ow;
                lh = oh;
            }
            self.queue.submit([enc.finish()]);
            self.wait()?;
            t.compute += t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            for (k, (buf, bytes)) in outs.iter().enumerate() {
                let data = self.read_back(buf, *bytes as u64)?;
                levels[k].extend(bytemuck::pod_collect_to_vec::<u8, f32>(&data[..*bytes]));
            }
            t.readback += t2.elapsed().as_secs_f64();
            y += sh;
        }
        Ok((
            levels
                .into_iter()
                .zip(sizes)
                .map(|(v, (a, b))| (v, a, b))
                .collect(),
            t,
        ))
    }
}
