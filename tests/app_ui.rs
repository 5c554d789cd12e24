//! The desktop application driven through AccessKit with egui_kittest, rendered with wgpu (Mesa
//! lavapipe in `make test`, where a missing adapter fails): open a product by typing its path,
//! switch to the product panel and select a node, see a GeoZarr store's validation report, run
//! the benchmark to completion and export its JSON. Snapshot images of the map (golden L2A input
//! in true colour) and of the product panel are compared with `tests/snapshots/`.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use eopf_geozarr::app::ViewerApp;

/// Mask what shows machine-specific paths before a snapshot: the top bar and, on the map, the
/// report panel (masks last until the next step).
fn mask_paths(h: &mut Harness<'_, ViewerApp>, report_panel: bool) {
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, 0.0),
        egui::pos2(1280.0, 34.0),
    ));
    if report_panel {
        h.mask(egui::Rect::from_min_max(
            egui::pos2(850.0, 34.0),
            egui::pos2(1280.0, 800.0),
        ));
    }
}

use common::ui::{choose_preset, step_until, tiles_settled};

#[test]
fn open_inspect_and_benchmark() {
    if common::gpu_kernels().is_none() {
        return;
    }
    let Some(fx) = common::fixtures() else { return };
    let config = tempfile::tempdir().unwrap();
    // SAFETY: the only test of this binary; set before any thread reads the environment.
    unsafe { std::env::set_var("EOPF_GEOZARR_CONFIG_DIR", config.path()) };
    // Start without a product: the demo is built in the background with a progress bar.
    let demo = config.path().join("demo.zarr");
    let app = ViewerApp::new_demo(demo.clone(), None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut ViewerApp| app.draw(ui), app);
    h.step();
    assert!(
        h.query_by_label_contains("Building the demo product")
            .is_some()
            || h.state().is_ready()
    );
    step_until(&mut h, |h| h.state().is_ready());
    assert!(
        h.query_by_label_contains("True colour B04/B03/B02 at r60m")
            .is_some()
    );
    // Today's format: Zarr v3 with consolidated metadata inline in the root zarr.json.
    assert!(demo.join("zarr.json").exists());
    // The ground scale in the status line.
    h.run_steps(2);
    assert!(h.query_by_label_contains("1 screen px ≈").is_some());
    // Two harnesses in one test: their snapshot results are merged and checked at the end.
    let mut snapshots = h.take_snapshot_results();
    drop(h);

    let input = fx.join("golden/in_l2a_shard.zarr");
    let app = ViewerApp::new(input.clone(), None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut ViewerApp| app.draw(ui), app);
    step_until(&mut h, |h| h.state().is_ready());
    assert!(
        h.query_by_label_contains("True colour B04/B03/B02 at r60m")
            .is_some()
    );
    step_until(&mut h, tiles_settled);
    h.run_steps(30); // settle animations: the steps before depend on background timing
    // The top bar and the report show machine-specific paths: masked (after the last step).
    mask_paths(&mut h, true);
    h.snapshot("map_golden_true_colour");

    // Inspector: hover the map; the cursor panel gives row/col, x/y, lon/lat and every band's
    // raw and decoded value, equal to what the reader gives at that pixel.
    h.hover_at(egui::pos2(420.0, 420.0));
    h.run_steps(3);
    let (c, r) = h.state().view.hovered.expect("a pixel under the cursor");
    let hin = eopf_geozarr::hierarchy::Hierarchy::open(&input).unwrap();
    let b04 = hin
        .read::<u16>("/measurements/reflectance/r60m/b04")
        .unwrap();
    let raw = b04[[r, c]];
    assert!(
        h.query_by_label_contains(&format!("/measurements/reflectance/r60m: row {r}, col {c}"))
            .is_some()
    );
    let line = format!("b04   {:>8}", f64::from(raw));
    assert!(h.query_by_label_contains(&line).is_some(), "no {line:?}");
    // lon/lat of the pixel centre through PROJ, independently.
    let xs = eopf_geozarr::inspect::read_f64(&hin, "/measurements/reflectance/r60m/x").unwrap();
    let ys = eopf_geozarr::inspect::read_f64(&hin, "/measurements/reflectance/r60m/y").unwrap();
    let t = eopf_geozarr::geo::ToLonLat::new(&eopf_geozarr::product::Crs::Epsg(32632)).unwrap();
    let (lon, lat) = t.point(xs[c], ys[r]).unwrap();
    assert!((11.4..11.6).contains(&lon) && (42.3..42.45).contains(&lat));
    let want = format!("lon {lon:.6}, lat {lat:.6}");
    // Projected by a background job (no PROJ on the UI thread).
    step_until(&mut h, |h| h.query_by_label(&want).is_some());
    assert!(h.query_by_label(&want).is_some(), "no {want:?}");
    // The inspector at this fixed point: the top bar and the report below the cursor lines are
    // masked (machine-specific paths).
    step_until(&mut h, tiles_settled);
    h.run_steps(30);
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, 0.0),
        egui::pos2(1280.0, 34.0),
    ));
    h.mask(egui::Rect::from_min_max(
        egui::pos2(850.0, 325.0),
        egui::pos2(1280.0, 800.0),
    ));
    h.snapshot("map_inspector");
    h.remove_cursor();
    h.run_steps(1);

    // Level of detail: the golden tile is small (r60m 183 px), so fitted to the window its r20m
    // pixels are already a screen pixel wide: r20m tiles over the r60m image. Zoom in with the
    // keyboard until r10m, then out until r60m.
    fn level_name(h: &Harness<'_, ViewerApp>) -> String {
        let state = h.state();
        state
            .view
            .level_label
            .strip_prefix("Level ")
            .and_then(|l| l.split(' ').next())
            .unwrap_or_default()
            .to_string()
    }
    fn zoom_until(h: &mut Harness<'_, ViewerApp>, key: egui::Key, target: &str) -> Vec<String> {
        let mut seen = vec![level_name(h)];
        for _ in 0..20 {
            h.key_press(key);
            h.run_steps(2);
            let name = level_name(h);
            if seen.last() != Some(&name) {
                seen.push(name.clone());
            }
            if name == target {
                break;
            }
        }
        seen
    }
    let fitted = h.state().view.level_label.clone();
    assert!(fitted.starts_with("Level r20m (20 m) · "), "{fitted}");
    assert_eq!(
        zoom_until(&mut h, egui::Key::Plus, "r10m"),
        ["r20m", "r10m"],
        "levels while zooming in"
    );
    step_until(&mut h, tiles_settled);
    let rendered = h
        .state()
        .render
        .tiles
        .as_ref()
        .map(|t| t.rendered.load(std::sync::atomic::Ordering::Relaxed))
        .unwrap_or(0);
    assert!(rendered >= 2, "tiles were rendered in the background");
    h.run_steps(30);
    mask_paths(&mut h, true);
    h.snapshot("map_zoomed_r10m_tiles");
    assert_eq!(
        zoom_until(&mut h, egui::Key::Minus, "r60m"),
        ["r10m", "r20m", "r60m"],
        "levels while zooming out"
    );
    // Fit: back to the whole product.
    h.key_press(egui::Key::Num0);
    h.run_steps(3);
    assert_eq!(
        h.state().view.level_label.split(" · ").next(),
        fitted.split(" · ").next()
    );
    // The lon/lat graticule: the golden tile spans about 11.4–12.8°E, 41.4–42.4°N.
    h.get_by_label("Graticule").click();
    step_until(&mut h, tiles_settled);
    h.run_steps(30);
    assert!(h.state().overlays.graticule);
    mask_paths(&mut h, true);
    h.snapshot("map_graticule");
    h.get_by_label("Graticule").click();
    h.run_steps(2);

    // Presets: the scene classification with ESA's class colours and its legend, then NDVI.
    h.get_by_role(egui::accesskit::Role::ComboBox).click();
    h.run_steps(4);
    h.get_by_label("Scene classification (SCL)").click();
    h.run_steps(1);
    step_until(&mut h, |h| {
        h.query_by_label_contains("Scene classification (SCL) at r60m")
            .is_some()
    });
    assert!(h.query_by_label("4 Vegetation").is_some());
    assert!(h.query_by_label("9 Cloud high probability").is_some());
    step_until(&mut h, tiles_settled);
    h.run_steps(30); // the closing popup's fade: the steps before depend on background timing
    mask_paths(&mut h, true);
    h.snapshot("map_scl_legend");
    h.get_by_role(egui::accesskit::Role::ComboBox).click();
    h.run_steps(4);
    h.get_by_label("NDVI").click();
    h.run_steps(1);
    step_until(&mut h, |h| {
        h.query_by_label_contains("NDVI at r60m").is_some()
    });

    // Single band through a colour map, with its stretch panel and histogram.
    choose_preset(&mut h, "Single band");
    step_until(&mut h, |h| {
        h.query_by_label_contains("Single band at r60m").is_some() && !h.state().is_rendering()
    });
    assert!(h.query_by_label("Colour map").is_some());
    assert_eq!(
        h.state().render.histograms.as_ref().map(|x| x.counts.len()),
        Some(1)
    );
    step_until(&mut h, tiles_settled);
    h.run_steps(30);
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, 0.0),
        egui::pos2(1280.0, 34.0),
    ));
    let report_top = h.get_by_label("Product report").rect().min.y;
    h.mask(egui::Rect::from_min_max(
        egui::pos2(850.0, report_top),
        egui::pos2(1280.0, 800.0),
    ));
    h.snapshot("map_single_band_stretch");

    // Back to true colour; 2–98 % of the view after zooming in equals the clear-pixel
    // percentiles of the bands in that window, computed independently; 2–98 % of the level
    // gives the whole-level bounds again.
    choose_preset(&mut h, "True colour (B04/B03/B02)");
    step_until(&mut h, |h| {
        h.query_by_label_contains("True colour B04/B03/B02 at r60m")
            .is_some()
            && !h.state().is_rendering()
    });
    let whole = h.state().render.stretch.unwrap();
    h.key_press(egui::Key::Plus);
    h.key_press(egui::Key::Plus);
    h.run_steps(3);
    let before = h.state().view.window.clone();
    h.get_by_label("2–98 % (view)").click_accesskit();
    h.run_steps(3);
    step_until(&mut h, |h| !h.state().is_rendering());
    let window = h.state().view.window.clone().expect("a visible window");
    assert_eq!(before.as_ref(), Some(&window), "the view did not move");
    assert!(window.cols.end - window.cols.start < 183, "{window:?}");
    let (_, expected) = eopf_geozarr::render::render_preset_window(
        &hin,
        "r60m",
        eopf_geozarr::render::Preset::TrueColour,
        Some(&window),
        None,
    )
    .unwrap();
    assert_ne!(h.state().render.stretch, Some(whole), "window {window:?}");
    assert_eq!(h.state().render.stretch, expected, "window {window:?}");
    h.get_by_label("2–98 % (level)").click_accesskit();
    h.run_steps(3);
    step_until(&mut h, |h| !h.state().is_rendering());
    assert_eq!(h.state().render.stretch, Some(whole));
    h.key_press(egui::Key::Num0);
    h.run_steps(3);

    // Compare with the reference's GeoZarr output of this input: swipe, then the difference of
    // B04/B03/B02 at r60m — float32 written by the reference against our decode of the uint16
    // input: equal to within float rounding.
    h.get_by_label("Compare").click();
    h.run_steps(2);
    h.state_mut().overlays.compare.path_input =
        fx.join("golden/out_l2a_shard.zarr").display().to_string();
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Compare")
        .click_accesskit();
    h.run_steps(3);
    step_until(&mut h, |h| {
        !h.state().overlays.compare.running() && h.state().overlays.compare.data.is_some()
    });
    let (max_abs, compared) = {
        let d = h.state().overlays.compare.data.as_ref().unwrap();
        (d.max_abs, d.compared)
    };
    assert!(compared > 30_000, "{compared} pixels compared");
    assert!(max_abs < 1e-6, "max |B − A| = {max_abs}");
    step_until(&mut h, tiles_settled);
    h.run_steps(30);
    mask_paths(&mut h, true);
    let second = h.get_by_label("Store").rect();
    h.mask(second);
    h.snapshot("map_compare_swipe");
    h.get_by_label("Difference").click();
    step_until(&mut h, tiles_settled);
    h.run_steps(30);
    assert!(h.query_by_label_contains("max |B − A| = ").is_some());
    mask_paths(&mut h, true);
    let second = h.get_by_label("Store").rect();
    h.mask(second);
    h.snapshot("map_difference");

    // Compare two levels of the product: the stored r60m against r20m averaged to 60 m.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Compare with")
        .click();
    h.run_steps(3);
    h.get_by_label("level r20m").click();
    h.run_steps(2);
    assert_eq!(
        h.state().overlays.compare.against,
        eopf_geozarr::app::compare::Against::Level("r20m".into())
    );
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Compare")
        .click_accesskit();
    h.run_steps(3);
    step_until(&mut h, |h| {
        !h.state().overlays.compare.running()
            && h.state()
                .overlays
                .compare
                .data
                .as_ref()
                .is_some_and(|d| d.path == "level r20m")
    });
    let (max_abs, compared) = {
        let d = h.state().overlays.compare.data.as_ref().unwrap();
        (d.max_abs, d.compared)
    };
    // ESA's r60m is not the mean of its r20m: a real, bounded difference.
    assert!(compared > 30_000, "{compared} pixels compared");
    assert!(max_abs > 1e-3 && max_abs < 1.0, "max |B − A| = {max_abs}");
    step_until(&mut h, tiles_settled);
    h.run_steps(30);
    mask_paths(&mut h, true);
    h.snapshot("map_difference_levels");
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Compare")
        .click();
    h.run_steps(2);

    // Open another product by typing its path and pressing Open.
    let out = fx.join("golden/out_l2a_shard.zarr");
    // (the box is emptied directly: selecting its text by keyboard is not what this tests)
    h.state_mut().path_input.clear();
    h.run_steps(1);
    h.get_by_role(egui::accesskit::Role::TextInput).focus();
    h.run_steps(1);
    h.get_by_role(egui::accesskit::Role::TextInput)
        .type_text(out.to_str().unwrap());
    h.run_steps(1);
    assert_eq!(h.state().path_input, out.display().to_string());
    h.get_by_label("Open").click();
    h.run_steps(1);
    step_until(&mut h, |h| h.state().is_ready());
    assert_eq!(h.state().path_input, out.display().to_string());
    // Remembered between runs.
    let recent: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(config.path().join("recent.json")).unwrap())
            .unwrap();
    assert_eq!(recent[0], out.display().to_string());
    assert_eq!(recent[1], input.display().to_string());

    // Product panel: validation report of the GeoZarr store, the tree, a node's attributes.
    h.get_by_label("Product").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Validation: 0 error(s)")
            .is_some(),
        "no validation line"
    );
    h.get_by_label_contains("b04  [1098, 1098] float32")
        .click_accesskit();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Attributes of /measurements/reflectance/r10m/b04")
            .is_some()
    );
    mask_paths(&mut h, false);
    h.snapshot("product_panel_b04");

    // Conversion panel: convert the open GeoZarr's golden *input* with the defaults (geozarr,
    // sharded) to a temporary store; when done the app opens the result and validates it.
    h.get_by_label("Convert").click();
    h.run_steps(2);
    let converted = config.path().join("converted.zarr");
    h.state_mut().convert.input = input.display().to_string();
    h.state_mut().convert.output = converted.display().to_string();
    h.run_steps(1);
    h.get_by_label("Start conversion").click_accesskit();
    h.run_steps(2);
    // Running: Start disabled, Cancel enabled, the progress bar (its numbers and the array being
    // written depend on timing: masked, with the machine-specific paths above).
    assert!(
        h.state().convert.running(),
        "the conversion is still running"
    );
    assert!(h.query_by_label("1. arrays").is_some() && h.query_by_label("2. metadata").is_some());
    let below = h.get_by_label("Cancel").rect().max.y + 2.0;
    mask_paths(&mut h, false);
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, below),
        egui::pos2(1280.0, 800.0),
    ));
    let path_rows = h.get_by_label("Output").rect().max.y + 2.0;
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, 34.0),
        egui::pos2(1280.0, path_rows),
    ));
    h.snapshot("convert_running");
    step_until(&mut h, |h| {
        !h.state().convert.running() && h.state().convert.outcome.is_some()
    });
    assert!(
        matches!(&h.state().convert.outcome, Some(Ok(m)) if m.contains("arrays")),
        "{:?}",
        h.state().convert.outcome
    );
    step_until(&mut h, |h| h.state().is_ready());
    assert_eq!(h.state().path_input, converted.display().to_string());
    assert_eq!(h.state().tab, eopf_geozarr::app::Tab::Map);
    // Finished: the panel says what was written (the output path masked).
    h.get_by_label("Convert").click();
    h.run_steps(60);
    let done = h.get_by_label_contains("Done: ").rect();
    mask_paths(&mut h, false);
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, 34.0),
        egui::pos2(1280.0, h.get_by_label("Output").rect().max.y + 2.0),
    ));
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, done.min.y - 2.0),
        egui::pos2(1280.0, done.max.y + 2.0),
    ));
    h.snapshot("convert_finished");
    h.get_by_label("Map").click();
    h.run_steps(2);
    h.get_by_label("Product").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Validation: 0 error(s), 0 warning(s)")
            .is_some(),
        "the converted store does not validate cleanly"
    );

    // Chunk and shard grid of the shown level: a store with 61-px chunks in 183-px shards at r60m.
    let gridded = config.path().join("gridded.zarr");
    let opts = eopf_geozarr::convert::S2Options {
        profile: eopf_geozarr::plan::Profile::Reference,
        spatial_chunk: 61,
        enable_sharding: true,
        ..Default::default()
    };
    eopf_geozarr::convert::convert_s2_optimized(
        &input,
        &gridded,
        &opts,
        eopf_geozarr::convert::Existing::Error,
        &|_, _, _| {},
    )
    .unwrap();
    h.state_mut().open(gridded.clone());
    h.get_by_label("Map").click();
    step_until(&mut h, |h| h.state().is_ready());
    h.get_by_label("Chunk grid").click();
    step_until(&mut h, tiles_settled);
    h.run_steps(30);
    assert!(h.state().overlays.grid);
    mask_paths(&mut h, true);
    h.snapshot("map_chunk_grid");

    // Benchmark panel: run at 366², wait for the table, export the JSON.
    h.get_by_label("Benchmark").click();
    h.run_steps(1);
    h.get_by_label("366²").click();
    h.run_steps(1);
    h.get_by_label("Run benchmark").click();
    h.run_steps(1);
    step_until(&mut h, |h| {
        h.state().bench.result.is_some() && !h.state().bench.running()
    });
    assert!(h.query_by_label("CF decode u16 to f32").is_some());
    assert!(h.query_by_label_contains("366² inputs").is_some());
    let export = config.path().join("bench.json");
    h.state_mut().bench.export_path = export.display().to_string();
    h.run_steps(1);
    h.get_by_label("Export").click();
    h.run_steps(2);
    // Written by a background job: its note says when.
    step_until(&mut h, |h| h.state().bench.export_note.is_some());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 10);
    assert!(!v["adapter"].is_null());
    // The chart with fixed inputs (timings vary from run to run): CPU vs GPU bars, the GPU split
    // into upload / compute / readback.
    {
        use eopf_geozarr::bench::{GpuSplit, KernelRow};
        let row = |k: &str, cpu: f64, up: f64, comp: f64, back: f64| KernelRow {
            kernel: k.into(),
            size: "1098x1098 f32".into(),
            cpu_ms: cpu,
            gpu: Some(GpuSplit {
                upload_ms: up,
                compute_ms: comp,
                readback_ms: back,
                total_ms: up + comp + back,
            }),
            speedup: Some(cpu / (up + comp + back)),
            max_ulp: Some(0),
        };
        let state = h.state_mut();
        let r = state.bench.result.as_mut().unwrap();
        r.size = 1098;
        r.cpu = "CPU (rayon, 2 threads)".into();
        r.adapter = Some(eopf_geozarr::kernels::gpu::AdapterDescription {
            name: "Test adapter".into(),
            backend: "Vulkan".into(),
            device_type: "DiscreteGpu".into(),
            is_cpu: false,
        });
        r.rows = vec![
            row("CF decode u16 to f32", 6.5, 1.0, 0.5, 1.5),
            row("NaN-mean 2x2", 2.7, 1.2, 0.3, 0.4),
            row("mode 2x2 (u8 classes)", 6.7, 0.3, 0.8, 0.2),
            row("fused pyramid 2-3-2", 3.6, 1.2, 0.4, 0.3),
        ];
    }
    h.state_mut().bench.export_note = None;
    h.run_steps(30);
    mask_paths(&mut h, false);
    let export_box = h.get_by_label("Export JSON to").rect();
    h.mask(egui::Rect::from_min_max(
        egui::pos2(0.0, export_box.min.y - 4.0),
        egui::pos2(1280.0, export_box.max.y + 4.0),
    ));
    h.snapshot("benchmark_chart");
    snapshots.extend_harness(&mut h);
    snapshots.unwrap();
}
