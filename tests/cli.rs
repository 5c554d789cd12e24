//! The CLI surface: help, version, and the headless run `make run` does without a display.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

#[test]
fn help_and_version() {
    let o = common::run(&["--help"]);
    assert!(o.status.success());
    let h = common::stdout(&o);
    for cmd in ["info", "demo", "preview", "gui"] {
        assert!(h.contains(cmd), "{cmd} missing from help");
    }
    let o = common::run(&["--version"]);
    assert_eq!(
        common::stdout(&o).trim(),
        format!("eopf-geozarr {}", env!("CARGO_PKG_VERSION"))
    );
    let o = common::run(&["info"]);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn headless_run_writes_the_true_colour_png_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("tc.png");
    let o = common::bin()
        .env("EOPF_GEOZARR_DEMO_DIR", dir.path())
        .args(["gui", "--png", png.to_str().unwrap()])
        .output()
        .unwrap();
    let out = common::stdout(&o);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(out.contains("No display found"), "{out}");
    assert!(
        out.contains("Headless: wrote the true-colour image"),
        "{out}"
    );
    assert!(out.contains("Sentinel-2 L2A (EOPF)"), "{out}");
    let img = image::open(&png).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (183, 183));
    // A real picture: nodata corner transparent, the rest opaque with varied colours.
    assert_eq!(img.get_pixel(0, 0)[3], 0);
    let opaque: Vec<_> = img.pixels().filter(|p| p[3] == 255).collect();
    assert!(opaque.len() > 183 * 183 * 3 / 4);
    let distinct: std::collections::HashSet<_> = opaque
        .iter()
        .map(|p| (p[0] / 16, p[1] / 16, p[2] / 16))
        .collect();
    assert!(distinct.len() > 50, "only {} colours", distinct.len());
    // The demo product was created once and is reused.
    let again = common::bin()
        .env("EOPF_GEOZARR_DEMO_DIR", dir.path())
        .args(["gui", "--headless", "--png", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(!common::stderr(&again).contains("creating the demo product"));
}
