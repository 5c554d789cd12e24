//! Colouring the map's tiles on the GPU (`shaders/colour.wgsl`) through `egui_wgpu` paint
//! callbacks. Each tile's bands are uploaded once in their stored type — `R16Uint` / `R8Uint`
//! textures for u16 / u8 (decoded in the shader with the CF scale, offset and fill), `R32Float`
//! for f32 —, at most one tile edge ([`super::canvas::TILE`], never more than the adapter's
//! `max_texture_dimension_2d`) per texture. Stretch, gamma, colour map, NDVI and SCL colours are
//! uniforms and tables: changing them costs no re-upload. Uploaded tiles are kept in the
//! renderer's callback resources, least recently drawn dropped over the memory budget.
//! [`install`] puts the pipelines there (the window does it at start; tests with their own render
//! state); without it the CPU path is used.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui_wgpu;
use eframe::egui_wgpu::wgpu;

use crate::render::{Colormap, Preset, RawData, RawTile, Stretch};

/// A new id for an uploaded tile.
pub fn next_id() -> u64 {
    static V: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    V.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rect: [f32; 4],
    lo: [f32; 4],
    hi: [f32; 4],
    scale: [f32; 4],
    offset: [f32; 4],
    fill: [f32; 4],
    gamma: f32,
    mode: u32,
    width: u32,
    height: u32,
    srgb_target: u32,
    has_fill: u32,
    decode: u32,
    pad: u32,
}

struct GpuTile {
    bind_group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    uint: bool,
    bytes: usize,
    last_used: u64,
    _textures: Vec<wgpu::Texture>,
}

/// The pipelines, the colour tables and the uploaded tiles, kept in the renderer's callback
/// resources.
pub struct Resources {
    float_pipeline: wgpu::RenderPipeline,
    uint_pipeline: wgpu::RenderPipeline,
    float_layout: wgpu::BindGroupLayout,
    uint_layout: wgpu::BindGroupLayout,
    lut: wgpu::Texture,
    lut_view: wgpu::TextureView,
    colormap: Option<Colormap>,
    srgb_target: bool,
    tiles: HashMap<u64, GpuTile>,
    frame: u64,
    budget: usize,
    /// Band textures uploaded so far (a stretch change must not add one).
    pub uploads: u64,
    /// Bytes of band textures held.
    pub bytes: usize,
    /// The adapter's largest 2-D texture edge.
    pub max_texture: u32,
}

/// The largest texture edge of `rs`'s device (tiles are cut to it).
pub fn max_texture(rs: &egui_wgpu::RenderState) -> u32 {
    rs.device.limits().max_texture_dimension_2d
}

/// Create the pipelines for `rs`'s target format and store them in its callback resources.
pub fn install(rs: &egui_wgpu::RenderState) {
    install_with_budget(rs, super::config::DEFAULT_TILE_CACHE_BYTES);
}

/// [`install`] with the memory budget of the GPU tiles in bytes.
pub fn install_with_budget(rs: &egui_wgpu::RenderState, budget: usize) {
    let device = &rs.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("eopf-geozarr colour"),
        source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/colour.wgsl").into()),
    });
    let tex = |binding, sample_type| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    };
    let float = wgpu::TextureSampleType::Float { filterable: false };
    let layout = |first: u32, sample_type| {
        device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("eopf-geozarr colour"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                tex(1, float),
                tex(first, sample_type),
                tex(first + 1, sample_type),
                tex(first + 2, sample_type),
            ],
        })
    };
    let float_layout = layout(2, float);
    let uint_layout = layout(5, wgpu::TextureSampleType::Uint);
    let pipeline = |layout: &wgpu::BindGroupLayout, entry: &str| {
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("eopf-geozarr colour"),
            bind_group_layouts: &[Some(layout)],
            immediate_size: 0,
        });
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("eopf-geozarr colour"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: rs.target_format,
                    blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
    };
    let float_pipeline = pipeline(&float_layout, "fs_float");
    let uint_pipeline = pipeline(&uint_layout, "fs_uint");
    let mut lut_rows = lut_row(None);
    lut_rows.extend(scl_row());
    let lut = texture(
        device,
        &rs.queue,
        (256, 2),
        wgpu::TextureFormat::Rgba8Unorm,
        &lut_rows,
        4,
    );
    let lut_view = lut.create_view(&wgpu::TextureViewDescriptor::default());
    tracing::info!(
        "map colouring on the GPU ({}, target {:?})",
        rs.adapter.get_info().name,
        rs.target_format
    );
    rs.renderer.write().callback_resources.insert(Resources {
        float_pipeline,
        uint_pipeline,
        float_layout,
        uint_layout,
        lut,
        lut_view,
        colormap: None,
        srgb_target: rs.target_format.is_srgb(),
        tiles: HashMap::new(),
        frame: 0,
        budget,
        uploads: 0,
        bytes: 0,
        max_texture: max_texture(rs),
    });
}

/// One frame's paint of one tile.
pub struct TileCallback {
    /// Identifies the tile's data (a new id for new data).
    pub id: u64,
    pub tile: Arc<RawTile>,
    /// What the map shows (the tile's bands; its colour map may be newer than the tile).
    pub preset: Preset,
    /// Where the tile goes on the screen, in points (may extend past the screen).
    pub rect: egui::Rect,
    /// Bounds of the stretched presets (ignored by NDVI and SCL).
    pub stretch: Stretch,
    /// The application's frame number, which only grows (for the least-recently-drawn
    /// eviction).
    pub frame: u64,
}

fn texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    (w, h): (u32, u32),
    format: wgpu::TextureFormat,
    bytes: &[u8],
    bytes_per_pixel: u32,
) -> wgpu::Texture {
    let size = wgpu::Extent3d {
        width: w.max(1),
        height: h.max(1),
        depth_or_array_layers: 1,
    };
    let t = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("eopf-geozarr band"),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    if !bytes.is_empty() {
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &t,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytes,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w.max(1) * bytes_per_pixel),
                rows_per_image: Some(h.max(1)),
            },
            size,
        );
    }
    t
}

/// Row 0 of the colour table: a single band's colour map.
fn lut_row(c: Option<Colormap>) -> Vec<u8> {
    (0..256)
        .flat_map(|i| {
            let rgb = c.unwrap_or(Colormap::Greys).colour(i as f32 / 255.0);
            [rgb[0], rgb[1], rgb[2], 255]
        })
        .collect()
}

/// Row 1: ESA's SCL class colours by code (alpha 0: no data).
fn scl_row() -> Vec<u8> {
    (0..=255u8)
        .flat_map(|c| match crate::render::raw::scl_colour(c) {
            Some(rgb) => [rgb[0], rgb[1], rgb[2], 255],
            None => [0, 0, 0, 0],
        })
        .collect()
}

/// The texture format, bytes per texel and bytes of one band; u16 and u8 stay as they are.
fn band_bytes(d: &RawData) -> (wgpu::TextureFormat, u32, &[u8]) {
    match d {
        RawData::U8(v) => (wgpu::TextureFormat::R8Uint, 1, v.as_slice()),
        RawData::U16(v) => (wgpu::TextureFormat::R16Uint, 2, bytemuck::cast_slice(v)),
        RawData::F32(v) => (wgpu::TextureFormat::R32Float, 4, bytemuck::cast_slice(v)),
    }
}

impl Resources {
    /// Upload a tile's bands (one texture each; a tile mixing integer and float bands is decoded
    /// to f32 first).
    fn upload(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, tile: &RawTile) -> GpuTile {
        let all_uint = tile
            .bands
            .iter()
            .all(|b| matches!(b.data, RawData::U8(_) | RawData::U16(_)));
        let all_float = tile.bands.iter().all(|b| matches!(b.data, RawData::F32(_)));
        let decoded;
        let bands: &[crate::render::RawBand] = if all_uint || all_float {
            &tile.bands
        } else {
            decoded = tile
                .bands
                .iter()
                .map(|b| crate::render::RawBand {
                    width: b.width,
                    height: b.height,
                    data: RawData::F32(b.decode().values),
                    cf: None,
                })
                .collect::<Vec<_>>();
            &decoded
        };
        let mut bytes = 0;
        let mut textures: Vec<wgpu::Texture> = bands
            .iter()
            .map(|b| {
                let (format, bpp, data) = band_bytes(&b.data);
                bytes += data.len();
                texture(
                    device,
                    queue,
                    (b.width as u32, b.height as u32),
                    format,
                    data,
                    bpp,
                )
            })
            .collect();
        if textures.is_empty() {
            textures.push(texture(
                device,
                queue,
                (1, 1),
                wgpu::TextureFormat::R32Float,
                &[],
                4,
            ));
        }
        self.uploads += 1;
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("eopf-geozarr tile params"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let views: Vec<wgpu::TextureView> = (0..3)
            .map(|c| textures[c.min(textures.len() - 1)].create_view(&Default::default()))
            .collect();
        let uint = all_uint && !tile.bands.is_empty();
        let first = if uint { 5 } else { 2 };
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: uniform.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::TextureView(&self.lut_view),
            },
        ];
        for (i, v) in views.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: first + i as u32,
                resource: wgpu::BindingResource::TextureView(v),
            });
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("eopf-geozarr tile"),
            layout: if uint {
                &self.uint_layout
            } else {
                &self.float_layout
            },
            entries: &entries,
        });
        GpuTile {
            bind_group,
            uniform,
            uint,
            bytes,
            last_used: 0,
            _textures: textures,
        }
    }

    /// Drop the least recently drawn tiles over the budget (never those of this frame).
    fn evict(&mut self) {
        self.bytes = self.tiles.values().map(|t| t.bytes).sum();
        if self.bytes <= self.budget {
            return;
        }
        let mut by_age: Vec<(u64, u64)> =
            self.tiles.iter().map(|(k, t)| (t.last_used, *k)).collect();
        by_age.sort();
        for (used, k) in by_age {
            if self.bytes <= self.budget || used >= self.frame {
                break;
            }
            if let Some(t) = self.tiles.remove(&k) {
                self.bytes -= t.bytes;
            }
        }
    }
}

impl egui_wgpu::CallbackTrait for TileCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(res) = resources.get_mut::<Resources>() else {
            return Vec::new();
        };
        if self.frame > res.frame {
            res.frame = self.frame;
            res.evict();
        }
        let colormap = match self.preset {
            Preset::Single { colormap, .. } => Some(colormap),
            _ => None,
        };
        if colormap.is_some() && res.colormap != colormap {
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &res.lut,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                &lut_row(colormap),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(256 * 4),
                    rows_per_image: Some(1),
                },
                wgpu::Extent3d {
                    width: 256,
                    height: 1,
                    depth_or_array_layers: 1,
                },
            );
            res.colormap = colormap;
        }
        if !res.tiles.contains_key(&self.id) {
            let t = res.upload(device, queue, &self.tile);
            res.bytes += t.bytes;
            res.tiles.insert(self.id, t);
        }
        let srgb_target = res.srgb_target;
        let Some(t) = res.tiles.get_mut(&self.id) else {
            return Vec::new();
        };
        t.last_used = self.frame;
        // Points → normalised device coordinates of the whole screen.
        let (sw, sh) = (
            screen.size_in_pixels[0].max(1) as f32,
            screen.size_in_pixels[1].max(1) as f32,
        );
        let ppp = screen.pixels_per_point;
        let ndc = |x: f32, y: f32| [x * ppp / sw * 2.0 - 1.0, 1.0 - y * ppp / sh * 2.0];
        let [x0, y0] = ndc(self.rect.min.x, self.rect.min.y);
        let [x1, y1] = ndc(self.rect.max.x, self.rect.max.y);
        let mut scale = [1.0f32; 4];
        let mut offset = [0.0f32; 4];
        let mut fill = [0.0f32; 4];
        let (mut has_fill, mut decode) = (0u32, 0u32);
        for (c, b) in self.tile.bands.iter().take(3).enumerate() {
            // Mixed tiles were decoded at upload.
            let cf = if t.uint || matches!(b.data, RawData::F32(_)) {
                b.cf
            } else {
                None
            };
            if let Some(cf) = cf {
                if let Some(f) = cf.fill {
                    fill[c] = f as f32;
                    has_fill |= 1 << c;
                }
                scale[c] = cf.scale_factor as f32;
                offset[c] = cf.add_offset as f32;
                decode |= 1 << c;
            }
        }
        // Single-band and NDVI tiles bind their first bands again in the unused slots.
        if self.tile.bands.len() < 3 {
            for c in self.tile.bands.len()..3 {
                let src = c.min(self.tile.bands.len().saturating_sub(1));
                scale[c] = scale[src];
                offset[c] = offset[src];
                fill[c] = fill[src];
                has_fill |= ((has_fill >> src) & 1) << c;
                decode |= ((decode >> src) & 1) << c;
            }
        }
        let s = &self.stretch;
        let (w, h) = self.tile.size();
        let params = Params {
            rect: [x0, y0, x1, y1],
            lo: [s.bounds[0].0, s.bounds[1].0, s.bounds[2].0, 0.0],
            hi: [s.bounds[0].1, s.bounds[1].1, s.bounds[2].1, 1.0],
            scale,
            offset,
            fill,
            gamma: s.gamma,
            mode: match self.preset {
                Preset::Single { .. } => 1,
                Preset::Ndvi => 2,
                Preset::Scl => 3,
                _ => 0,
            },
            width: w as u32,
            height: h as u32,
            srgb_target: u32::from(srgb_target),
            has_fill,
            decode,
            pad: 0,
        };
        queue.write_buffer(&t.uniform, 0, bytemuck::bytes_of(&params));
        Vec::new()
    }

    fn paint(
        &self,
        info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<Resources>() else {
            return;
        };
        let Some(t) = res.tiles.get(&self.id) else {
            return;
        };
        // The quad is placed by its own coordinates: the viewport is the whole screen (egui
        // clamps the callback's viewport to the screen, which would squeeze a tile partly off
        // it); the scissor (the map's clip rectangle) stays as egui set it.
        let [w, h] = info.screen_size_px;
        pass.set_viewport(0.0, 0.0, w as f32, h as f32, 0.0, 1.0);
        pass.set_pipeline(if t.uint {
            &res.uint_pipeline
        } else {
            &res.float_pipeline
        });
        pass.set_bind_group(0, &t.bind_group, &[]);
        pass.draw(0..6, 0..1);
    }
}

/// Band textures the installed pipeline has uploaded (tests: a stretch change adds none).
pub fn uploads(rs: &egui_wgpu::RenderState) -> Option<u64> {
    rs.renderer
        .read()
        .callback_resources
        .get::<Resources>()
        .map(|r| r.uploads)
}

/// The formats of the band textures of a tile as uploaded (tests).
pub fn texture_formats(tile: &RawTile) -> Vec<wgpu::TextureFormat> {
    tile.bands.iter().map(|b| band_bytes(&b.data).0).collect()
}
