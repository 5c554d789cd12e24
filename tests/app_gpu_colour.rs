//! The map's base image coloured on the GPU (`shaders/colour.wgsl` through an `egui_wgpu` paint
//! callback) against the CPU colouring: the same pixels (within one 8-bit step) for a true-colour
//! composite and a single band through a colour map; a stretch change re-colours without
//! uploading the bands again or rendering anything in the background. Rendered with wgpu (Mesa
//! lavapipe under `make test`, where a missing adapter fails).

mod common;

use egui_kittest::Harness;
use eopf_geozarr::app::{ViewerApp, gpu_colour};

use common::ui::{choose_preset, step_until};

/// Pixels of the map canvas (left of the side panel, below the bars) that differ by more than
/// one step in some channel, and how many were compared.
fn differing(a: &image::RgbaImage, b: &image::RgbaImage) -> (usize, usize) {
    let (mut bad, mut n) = (0, 0);
    for y in 140..760 {
        for x in 20..840 {
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            n += 1;
            if p.0.iter().zip(q.0.iter()).any(|(u, v)| u.abs_diff(*v) > 1) {
                bad += 1;
            }
        }
    }
    (bad, n)
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
    let app = ViewerApp::new(fx.join("golden/in_l2a_shard.zarr"), None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(
            rs.clone(),
        ))
        .build_ui_state(|ui, app: &mut ViewerApp| app.draw(ui), app);
    step_until(&mut h, |h| h.state().is_ready());
    // Zoom out until the r60m image itself is shown (no finer tiles over it).
    for _ in 0..3 {
        h.key_press(egui::Key::Minus);
        h.run_steps(2);
    }
    step_until(&mut h, |h| h.state().level_label.starts_with("Level r60m"));
    h.run_steps(20);
    let cpu = h.render().unwrap();

    h.state_mut().gpu_colour = true;
    step_until(&mut h, |h| {
        h.state().base_bands.is_some() && !h.state().is_rendering()
    });
    h.run_steps(20);
    let gpu = h.render().unwrap();
    assert_eq!(gpu_colour::uploads(&rs), Some(1));
    let (bad, n) = differing(&cpu, &gpu);
    assert!(n > 400_000);
    assert_eq!(
        bad, 0,
        "{bad} of {n} pixels differ between the CPU and GPU colouring"
    );

    // A stretch change: the next frame is re-coloured, no upload, no background rendering.
    {
        let st = h.state_mut().stretch.as_mut().unwrap();
        st.gamma = 2.0;
    }
    h.run_steps(5);
    assert!(!h.state().is_rendering());
    let brighter = h.render().unwrap();
    assert_eq!(
        gpu_colour::uploads(&rs),
        Some(1),
        "no re-upload for a stretch change"
    );
    // The zoomed-out r60m image covers ~200² screen pixels of the canvas.
    let (changed, _) = differing(&gpu, &brighter);
    assert!(
        changed > 20_000,
        "gamma 2 brightens the image: {changed} pixels changed"
    );

    // A single band through viridis: GPU (the table) against the CPU colour map.
    h.state_mut().gpu_colour = false;
    choose_preset(&mut h, "Single band");
    step_until(&mut h, |h| {
        h.state()
            .histograms
            .as_ref()
            .is_some_and(|x| x.counts.len() == 1)
            && !h.state().is_rendering()
    });
    h.run_steps(20);
    let cpu1 = h.render().unwrap();
    h.state_mut().gpu_colour = true;
    step_until(&mut h, |h| {
        h.state()
            .base_bands
            .as_ref()
            .is_some_and(|(_, b)| b.channels.len() == 1)
            && !h.state().is_rendering()
    });
    h.run_steps(20);
    let gpu1 = h.render().unwrap();
    let (bad, n) = differing(&cpu1, &gpu1);
    assert_eq!(bad, 0, "{bad} of {n} single-band pixels differ");
    assert_eq!(gpu_colour::uploads(&rs), Some(2));
}
