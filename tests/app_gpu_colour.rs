//! The map's tiles coloured on the GPU (bands uploaded as stored — `R16Uint` for the L2A u16
//! reflectance — and decoded, stretched and coloured in `shaders/colour.wgsl` through
//! `egui_wgpu` paint callbacks) against the CPU colouring of the same tiles: the same pixels
//! (within one 8-bit step) for true colour, a single band through colour maps, NDVI and SCL, at
//! the fitted view, zoomed far in (tiles larger than and partly off the screen) and with tiles
//! cut to a small maximum texture size. A stretch or colour-map change re-colours without
//! uploading anything again. Rendered with wgpu (Mesa lavapipe under `make test`, where a
//! missing adapter fails).
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use egui_kittest::Harness;
use eopf_geozarr::app::{ViewerApp, gpu_colour};

use common::ui::{choose_preset, step_until, tiles_settled};

/// The canvas background (left of the fitted product).
const BACKGROUND: [u8; 4] = [27, 27, 27, 255];

/// Pixels of the map canvas (left of the side panel, below the bars) that differ by more than
/// one step in some channel, and how many were compared. The product's outermost screen pixels
/// (next to the background in `a`) are left out: there the CPU path's base image is blended
/// with the background by egui's anti-aliasing, which the GPU tiles do not draw.
fn differing(a: &image::RgbaImage, b: &image::RgbaImage) -> (usize, usize) {
    let (mut bad, mut n) = (0, 0);
    for y in 140..760 {
        for x in 20..840 {
            let edge = (-1i32..=1).any(|dy| {
                (-1i32..=1).any(|dx| {
                    a.get_pixel((x as i32 + dx) as u32, (y as i32 + dy) as u32)
                        .0
                        == BACKGROUND
                })
            });
            if edge {
                continue;
            }
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            n += 1;
            if p.0.iter().zip(q.0.iter()).any(|(u, v)| u.abs_diff(*v) > 1) {
                bad += 1;
            }
        }
    }
    (bad, n)
}

/// Render the settled map with the CPU and then the GPU colouring.
fn cpu_and_gpu(h: &mut Harness<'_, ViewerApp>) -> (image::RgbaImage, image::RgbaImage) {
    let settle = |h: &mut Harness<'_, ViewerApp>| {
        step_until(h, |h| {
            !h.state().is_rendering()
                && h.state().render.tiles.as_ref().is_some_and(|t| !t.busy())
                && tiles_settled(h)
        });
        h.run_steps(10);
    };
    h.state_mut().render.gpu_colour = false;
    h.run_steps(2);
    settle(h);
    let cpu = h.render().unwrap();
    h.state_mut().render.gpu_colour = true;
    h.run_steps(2);
    settle(h);
    let gpu = h.render().unwrap();
    (cpu, gpu)
}

fn assert_same(what: &str, cpu: &image::RgbaImage, gpu: &image::RgbaImage) {
    assert_same_over(what, cpu, gpu, 300_000);
}

fn assert_same_over(what: &str, cpu: &image::RgbaImage, gpu: &image::RgbaImage, min: usize) {
    let (bad, n) = differing(cpu, gpu);
    if bad > 0 {
        let dir = std::env::temp_dir().join("eopf-gpu-colour");
        let _ = std::fs::create_dir_all(&dir);
        let name = what.replace([' ', ','], "_");
        let _ = cpu.save(dir.join(format!("{name}-cpu.png")));
        let _ = gpu.save(dir.join(format!("{name}-gpu.png")));
        eprintln!("images of the mismatch in {}", dir.display());
    }
    assert!(n > min, "{what}: {n} pixels compared");
    assert_eq!(
        bad, 0,
        "{what}: {bad} of {n} pixels differ between the CPU and GPU colouring"
    );
}

#[test]
fn gpu_colouring_matches_the_cpu() {
    if common::gpu_kernels().is_none() {
        return;
    }
    let Some(fx) = common::fixtures() else { return };
    let rs = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        eframe::egui_wgpu::RendererOptions::PREDICTABLE,
    );
    gpu_colour::install(&rs);
    let mut app = ViewerApp::new(fx.join("golden/in_l2a_shard.zarr"), None);
    app.render.max_texture = u64::from(gpu_colour::max_texture(&rs));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(
            rs.clone(),
        ))
        .build_ui_state(|ui, app: &mut ViewerApp| app.draw(ui), app);
    step_until(&mut h, |h| h.state().is_ready());

    // Fitted: r20m tiles over the coarser levels.
    let (cpu, gpu) = cpu_and_gpu(&mut h);
    assert!(h.state().view.level_label.starts_with("Level r20m"));
    assert_eq!(cpu.get_pixel(40, 400).0, BACKGROUND);
    assert_same("true colour, fitted", &cpu, &gpu);
    // The bands went up as stored: u16 → R16Uint.
    let tiles = h.state().render.tiles.as_ref().unwrap();
    let formats: Vec<_> = tiles
        .raw_tiles()
        .flat_map(|t| gpu_colour::texture_formats(t))
        .collect();
    assert!(!formats.is_empty());
    assert!(
        formats
            .iter()
            .all(|f| *f == eframe::egui_wgpu::wgpu::TextureFormat::R16Uint
                || *f == eframe::egui_wgpu::wgpu::TextureFormat::R32Float),
        "{formats:?}"
    );
    assert!(formats.contains(&eframe::egui_wgpu::wgpu::TextureFormat::R16Uint));

    // A stretch change: re-coloured, no upload, no background rendering.
    let before = gpu_colour::uploads(&rs).unwrap();
    assert!(before > 0);
    h.state_mut().render.stretch.as_mut().unwrap().gamma = 2.0;
    h.run_steps(5);
    assert!(!h.state().is_rendering());
    let brighter = h.render().unwrap();
    assert_eq!(
        gpu_colour::uploads(&rs),
        Some(before),
        "no re-upload for a stretch change"
    );
    let (changed, _) = differing(&gpu, &brighter);
    assert!(
        changed > 100_000,
        "gamma 2 brightens the image: {changed} pixels changed"
    );
    h.state_mut().render.stretch.as_mut().unwrap().gamma = 1.0;

    // Zoomed far in: tiles much larger than the screen and partly off it.
    for _ in 0..8 {
        h.key_press(egui::Key::Plus);
        h.run_steps(2);
    }
    let (cpu, gpu) = cpu_and_gpu(&mut h);
    assert!(h.state().view.level_label.starts_with("Level r10m"));
    assert_same("true colour, zoomed in", &cpu, &gpu);
    h.key_press(egui::Key::Num0);
    h.run_steps(4);

    // Tiles cut to a 64-pixel maximum texture edge: the same picture.
    h.state_mut().render.max_texture = 64;
    let (cpu_fit, small) = cpu_and_gpu(&mut h);
    assert_eq!(h.state().render.tiles.as_ref().unwrap().edge, 64);
    for t in h.state().render.tiles.as_ref().unwrap().raw_tiles() {
        assert!(t.bands.iter().all(|b| b.width <= 64 && b.height <= 64));
    }
    assert_same("64-pixel tiles", &cpu_fit, &small);
    h.state_mut().render.max_texture = u64::from(gpu_colour::max_texture(&rs));

    // One band through viridis; then magma: a new table, nothing uploaded.
    choose_preset(&mut h, "Single band");
    let (cpu1, gpu1) = cpu_and_gpu(&mut h);
    assert_same("single band, viridis", &cpu1, &gpu1);
    let before = gpu_colour::uploads(&rs).unwrap();
    let single = |c| eopf_geozarr::render::Preset::Single {
        band: 3,
        colormap: c,
    };
    assert_eq!(
        h.state().render.preset,
        single(eopf_geozarr::render::Colormap::Viridis)
    );
    h.state_mut()
        .set_preset(single(eopf_geozarr::render::Colormap::Magma));
    step_until(&mut h, |h| !h.state().is_rendering());
    h.run_steps(5);
    let magma = h.render().unwrap();
    assert_eq!(
        gpu_colour::uploads(&rs),
        Some(before),
        "a colour map is a table"
    );
    assert!(differing(&gpu1, &magma).0 > 100_000);
    let (cpu_m, gpu_m) = cpu_and_gpu(&mut h);
    assert_same("single band, magma", &cpu_m, &gpu_m);

    // NDVI in float in the shader, and SCL through ESA's colours.
    choose_preset(&mut h, "NDVI");
    let (cpu, gpu) = cpu_and_gpu(&mut h);
    assert_same("NDVI", &cpu, &gpu);
    choose_preset(&mut h, "Scene classification (SCL)");
    let (cpu, gpu) = cpu_and_gpu(&mut h);
    // (class 0 is transparent: its neighbours count as edges and are left out)
    assert_same_over("SCL", &cpu, &gpu, 150_000);

    // Zoomed out past r60m: an overview computed with the kernels (r120m = 2×2 means of r60m).
    choose_preset(&mut h, "True colour (B04/B03/B02)");
    for _ in 0..5 {
        h.key_press(egui::Key::Minus);
        h.run_steps(2);
    }
    let (cpu, gpu) = cpu_and_gpu(&mut h);
    let label = h.state().view.level_label.clone();
    assert!(
        label.starts_with("Level r120m") || label.starts_with("Level r360m"),
        "{label}"
    );
    // The product is ~90 screen pixels wide now.
    assert_same_over("true colour, zoomed out", &cpu, &gpu, 5_000);
}
