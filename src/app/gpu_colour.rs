//! Colouring the map's base image on the GPU (`shaders/colour.wgsl`) through an `egui_wgpu`
//! paint callback: the decoded bands are uploaded once as R32Float textures, and the stretch,
//! gamma and colour map are uniforms — changing them costs no re-upload and no background
//! rendering. [`install`] puts the pipeline into a renderer's callback resources (the window does
//! it at start; tests with their own render state); without it the CPU path is used.

use std::sync::Arc;

use eframe::egui_wgpu;
use eframe::egui_wgpu::wgpu;

use crate::render::{Colormap, Stretch};

/// A new [`BaseBands::version`].
pub fn next_version() -> u64 {
    static V: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    V.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Read the bands behind a stretched preset at `resolution` (`None` for NDVI and SCL).
pub fn read_bands(
    h: &crate::hierarchy::Hierarchy,
    resolution: &str,
    preset: crate::render::Preset,
) -> crate::Result<Option<BaseBands>> {
    let Some(paths) = crate::render::preset_band_paths(h, resolution, preset)? else {
        return Ok(None);
    };
    let bands = paths
        .iter()
        .map(|p| crate::render::read_band(h, p))
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(Some(BaseBands {
        version: next_version(),
        width: bands[0].width as u32,
        height: bands[0].height as u32,
        channels: bands.into_iter().map(|b| b.values).collect(),
    }))
}

/// Decoded bands of the base image (R, G, B; one for a single band), row-major, NaN = nodata.
pub struct BaseBands {
    /// Changes whenever the bands change (a new preset or product).
    pub version: u64,
    pub width: u32,
    pub height: u32,
    pub channels: Vec<Vec<f32>>,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    lo: [f32; 4],
    hi: [f32; 4],
    gamma: f32,
    mode: u32,
    width: u32,
    height: u32,
    srgb_target: u32,
    pad: [u32; 3],
}

struct Uploaded {
    version: u64,
    colormap: Option<Colormap>,
    bind_group: wgpu::BindGroup,
    lut: wgpu::Texture,
    _textures: Vec<wgpu::Texture>,
}

/// The pipeline and the uploaded data, kept in the renderer's callback resources.
pub struct Resources {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    uniform: wgpu::Buffer,
    srgb_target: bool,
    uploaded: Option<Uploaded>,
    /// Uploads of band data so far (a stretch change must not add one).
    pub uploads: u64,
}

/// Create the pipeline for `rs`'s target format and store it in its callback resources.
pub fn install(rs: &egui_wgpu::RenderState) {
    let device = &rs.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("eopf-geozarr colour"),
        source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/colour.wgsl").into()),
    });
    let tex = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    };
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("eopf-geozarr colour"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            tex(1),
            tex(2),
            tex(3),
            tex(4),
        ],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("eopf-geozarr colour"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
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
            entry_point: Some("fs"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: rs.target_format,
                blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    });
    let uniform = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("eopf-geozarr colour params"),
        size: std::mem::size_of::<Params>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    tracing::info!(
        "map colouring on the GPU ({}, target {:?})",
        rs.adapter.get_info().name,
        rs.target_format
    );
    rs.renderer.write().callback_resources.insert(Resources {
        pipeline,
        layout,
        uniform,
        srgb_target: rs.target_format.is_srgb(),
        uploaded: None,
        uploads: 0,
    });
}

/// One frame's paint of the base image.
pub struct ColourCallback {
    pub bands: Arc<BaseBands>,
    pub stretch: Stretch,
    /// `Some` for a single band.
    pub colormap: Option<Colormap>,
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
    t
}

fn lut_bytes(c: Option<Colormap>) -> Vec<u8> {
    (0..256)
        .flat_map(|i| {
            let rgb = c.unwrap_or(Colormap::Greys).colour(i as f32 / 255.0);
            [rgb[0], rgb[1], rgb[2], 255]
        })
        .collect()
}

impl egui_wgpu::CallbackTrait for ColourCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(res) = resources.get_mut::<Resources>() else {
            return Vec::new();
        };
        let b = &self.bands;
        let stale = res.uploaded.as_ref().is_none_or(|u| u.version != b.version);
        if stale && !b.channels.is_empty() {
            let dims = (b.width, b.height);
            let textures: Vec<wgpu::Texture> = (0..3)
                .map(|c| {
                    let ch = &b.channels[c.min(b.channels.len() - 1)];
                    texture(
                        device,
                        queue,
                        dims,
                        wgpu::TextureFormat::R32Float,
                        bytemuck::cast_slice(ch),
                        4,
                    )
                })
                .collect();
            let lut = texture(
                device,
                queue,
                (256, 1),
                wgpu::TextureFormat::Rgba8Unorm,
                &lut_bytes(self.colormap),
                4,
            );
            let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
            let views: Vec<wgpu::TextureView> = textures.iter().map(view).collect();
            let lut_view = view(&lut);
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("eopf-geozarr colour"),
                layout: &res.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: res.uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&views[0]),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(&views[1]),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::TextureView(&views[2]),
                    },
                    wgpu::BindGroupEntry {
                        binding: 4,
                        resource: wgpu::BindingResource::TextureView(&lut_view),
                    },
                ],
            });
            res.uploads += 1;
            res.uploaded = Some(Uploaded {
                version: b.version,
                colormap: self.colormap,
                bind_group,
                lut,
                _textures: textures,
            });
        }
        if let Some(u) = res.uploaded.as_mut()
            && u.colormap != self.colormap
        {
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &u.lut,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                &lut_bytes(self.colormap),
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
            u.colormap = self.colormap;
        }
        let s = &self.stretch;
        let params = Params {
            lo: [s.bounds[0].0, s.bounds[1].0, s.bounds[2].0, 0.0],
            hi: [s.bounds[0].1, s.bounds[1].1, s.bounds[2].1, 1.0],
            gamma: s.gamma,
            mode: u32::from(self.colormap.is_some()),
            width: b.width,
            height: b.height,
            srgb_target: u32::from(res.srgb_target),
            pad: [0; 3],
        };
        queue.write_buffer(&res.uniform, 0, bytemuck::bytes_of(&params));
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<Resources>() else {
            return;
        };
        let Some(u) = &res.uploaded else {
            return;
        };
        pass.set_pipeline(&res.pipeline);
        pass.set_bind_group(0, &u.bind_group, &[]);
        pass.draw(0..6, 0..1);
    }
}

/// Uploads of band data the installed pipeline has made (tests: a stretch change adds none).
pub fn uploads(rs: &egui_wgpu::RenderState) -> Option<u64> {
    rs.renderer
        .read()
        .callback_resources
        .get::<Resources>()
        .map(|r| r.uploads)
}
