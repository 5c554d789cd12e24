//! More of the desktop application driven like a user would, rendered with wgpu (Mesa lavapipe
//! under `make test`, where a missing adapter fails): dragging a bound line on the stretch
//! histogram, and opening a product from object storage by typing its `s3://` URL (against the
//! real S3-compatible test server, which must start under `make test`).
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use eopf_geozarr::app::ViewerApp;

use common::ui::{step_until, tiles_settled};

fn harness(app: ViewerApp) -> Harness<'static, ViewerApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut ViewerApp| app.draw(ui), app)
}

#[test]
fn dragging_a_histogram_bound_restretches_the_map() {
    if common::gpu_kernels().is_none() {
        return;
    }
    let Some(fx) = common::fixtures() else { return };
    let mut h = harness(ViewerApp::new(fx.join("golden/in_l2a_shard.zarr"), None));
    step_until(&mut h, |h| {
        h.state().is_ready() && !h.state().is_rendering() && h.state().render.histograms.is_some()
    });
    step_until(&mut h, tiles_settled);
    h.run_steps(5);
    let before = h.state().render.stretch.expect("a stretch");
    let (lo, hi) = before.bounds[0];
    let target = lo + (hi - lo) * 0.5;
    let from = h
        .state()
        .histogram_position(hi)
        .expect("the histogram is drawn");
    let to = h.state().histogram_position(target).unwrap();
    let image_before = h.render().unwrap();

    // Press on the upper bound line, drag half-way towards the lower one, release.
    h.hover_at(from);
    h.run_steps(1);
    h.drag_at(from);
    h.run_steps(1);
    for i in 1..=4 {
        h.hover_at(from + (to - from) * (i as f32 / 4.0));
        h.run_steps(1);
    }
    h.drop_at(to);
    h.run_steps(2);

    let after = h.state().render.stretch.unwrap();
    // Exactly one upper bound followed the pointer (R, or G/B where they coincide with it).
    let moved: Vec<usize> = (0..3)
        .filter(|&c| after.bounds[c] != before.bounds[c])
        .collect();
    assert_eq!(moved.len(), 1, "{before:?} → {after:?}");
    let c = moved[0];
    assert_eq!(
        after.bounds[c].0, before.bounds[c].0,
        "the lower bound stays"
    );
    let value_per_px = (hi - lo) / (to.x - from.x).abs();
    assert!(
        (after.bounds[c].1 - target).abs() <= 2.0 * value_per_px,
        "upper bound {} ≠ {target} (±2 px)",
        after.bounds[c].1
    );
    // The map is stretched again with the new bound (brighter in that channel).
    step_until(&mut h, |h| {
        !h.state().is_rendering() && h.state().render.tiles.as_ref().is_some_and(|t| !t.busy())
    });
    step_until(&mut h, tiles_settled);
    h.run_steps(5);
    assert_eq!(h.state().render.stretch.unwrap().bounds[c], after.bounds[c]);
    let image_after = h.render().unwrap();
    let (mut brighter, mut n) = (0, 0);
    for y in 140..760 {
        for x in 100..760 {
            let (p, q) = (image_before.get_pixel(x, y), image_after.get_pixel(x, y));
            n += 1;
            if q.0[c] > p.0[c] {
                brighter += 1;
            }
        }
    }
    assert!(
        brighter * 3 > n,
        "{brighter} of {n} pixels brighter in channel {c}"
    );
}

#[test]
fn a_product_on_object_storage_opens_by_url() {
    use common::s3::S3Server;
    use eopf_geozarr::storage::{S3Config, set_s3_config};

    if common::gpu_kernels().is_none() {
        return;
    }
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3Server::start(dir.path()) else {
        return;
    };
    // The app keeps its recent list here, not in the user's configuration.
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("EOPF_GEOZARR_CONFIG_DIR", dir.path()) };
    let url = s3.url("app/out.zarr");
    let o = s3
        .cmd()
        .args([
            "convert-s2-optimized",
            fx.join("golden/in_l2a_shard.zarr").to_str().unwrap(),
            &url,
            "--enable-sharding",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::stderr(&o));
    set_s3_config(S3Config {
        endpoint: Some(s3.endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: Some(s3.key.clone()),
        secret_access_key: Some(s3.secret.clone()),
        ..Default::default()
    });

    let mut h = harness(ViewerApp::new(fx.join("golden/in_l2a_shard.zarr"), None));
    step_until(&mut h, |h| h.state().is_ready());
    let open = |h: &mut Harness<'_, ViewerApp>, text: &str| {
        h.state_mut().path_input.clear();
        h.run_steps(1);
        h.get_by_role(egui::accesskit::Role::TextInput).focus();
        h.run_steps(1);
        h.get_by_role(egui::accesskit::Role::TextInput)
            .type_text(text);
        h.run_steps(1);
        h.get_by_label("Open").click();
        h.run_steps(2);
    };

    // A key that does not exist: a readable error naming the URL, no panic.
    let missing = s3.url("app/missing.zarr");
    open(&mut h, &missing);
    step_until(&mut h, |h| {
        h.query_by_label_contains("Cannot open the product")
            .is_some()
    });
    assert!(
        h.query_by_label_contains(&format!("Cannot open the product: {missing}"))
            .is_some(),
        "the error names {missing}"
    );

    // The converted product: the map, its levels and its validation report, read over S3.
    open(&mut h, &url);
    step_until(&mut h, |h| h.state().is_ready());
    step_until(&mut h, tiles_settled);
    assert!(
        h.state().view.level_label.starts_with("Level r"),
        "{}",
        h.state().view.level_label
    );
    let levels: Vec<String> = h
        .state()
        .render
        .tiles
        .as_ref()
        .unwrap()
        .levels
        .iter()
        .map(|l| l.name.clone())
        .collect();
    assert!(levels.contains(&"r10m".to_string()), "{levels:?}");
    assert!(
        h.query_by_label_contains(&format!("path:         {url}"))
            .is_some()
            || h.query_by_label_contains(&url).is_some(),
        "the report names the URL"
    );
    h.get_by_label("Product").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Validation: 0 error(s)")
            .is_some(),
        "the GeoZarr output on S3 validates"
    );
}

#[test]
fn zoomed_in_the_cursor_reads_the_shown_level() {
    use eopf_geozarr::render::raw::{RawData, read_band_raw};

    if common::gpu_kernels().is_none() {
        return;
    }
    let Some(fx) = common::fixtures() else { return };
    let input = fx.join("golden/in_l2a_shard.zarr");
    let mut h = harness(ViewerApp::new(input.clone(), None));
    step_until(&mut h, |h| h.state().is_ready());
    for _ in 0..3 {
        h.key_press(egui::Key::Plus);
        h.run_steps(2);
    }
    step_until(&mut h, tiles_settled);
    assert!(
        h.state().view.level_label.starts_with("Level r10m"),
        "{}",
        h.state().view.level_label
    );
    h.hover_at(egui::pos2(420.0, 450.0));
    h.run_steps(2);
    step_until(&mut h, |h| h.state().cursor.probe.settled());
    let (level, col, row) = h
        .state()
        .cursor
        .probe
        .pixel()
        .cloned()
        .expect("a pixel at r10m");
    assert_eq!(level, "r10m");
    // The same pixel read straight from the store.
    let store = eopf_geozarr::hierarchy::Hierarchy::open(&input).unwrap();
    let w = eopf_geozarr::render::Window {
        rows: row..row + 1,
        cols: col..col + 1,
    };
    let b04 = read_band_raw(&store, "/measurements/reflectance/r10m/b04", Some(&w)).unwrap();
    let RawData::U16(v) = &b04.data else {
        panic!("u16 reflectance")
    };
    let lines = &h.state().cursor.probe.lines();
    assert_eq!(lines[0], format!("r10m: row {row}, col {col}"));
    let line = lines
        .iter()
        .find(|l| l.starts_with("b04 "))
        .expect("a b04 line");
    assert!(
        line.split_whitespace().nth(1) == Some(&v[0].to_string()),
        "{line} ≠ raw {}",
        v[0]
    );
    // The side panel shows them.
    assert!(h.query_by_label("At the shown level").is_some());
    assert!(h.query_by_label(line).is_some());
}

/// A background job that dies (here the product loader panics) ends with its message on screen,
/// not an endless spinner; the app stays usable (a product opens afterwards).
#[test]
fn a_dead_background_job_is_reported_in_the_ui() {
    if common::gpu_kernels().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = common::demo_at(dir.path(), "in.zarr", "v3");
    let mut app = ViewerApp::new(input.clone(), None);
    app.open_with(input.clone(), |_| panic!("the loader crashed on purpose"));
    let mut h = harness(app);
    step_until(&mut h, |h| {
        h.query_by_label_contains("the loader crashed on purpose")
            .is_some()
    });
    let shown = h
        .query_by_label_contains("Cannot open the product: loading the product failed")
        .is_some();
    assert!(shown, "the failure is named in the UI");
    assert!(!h.state().is_ready());
    // The next product opens normally.
    h.state_mut().open(input);
    step_until(&mut h, |h| h.state().is_ready());
}

/// The app takes locations as the library does: a URL scheme it cannot read is said in the
/// central area, and nothing is opened.
#[test]
fn an_unsupported_url_scheme_is_reported_in_the_ui() {
    if common::gpu_kernels().is_none() {
        return;
    }
    let mut h = harness(ViewerApp::new("gs://bucket/product.zarr", None));
    h.run_steps(2);
    assert!(
        h.query_by_label_contains(
            "Cannot open the product: gs://bucket/product.zarr: unsupported URL scheme gs://"
        )
        .is_some()
    );
    assert!(!h.state().is_ready());
}
