//! Helpers of the egui_kittest UI tests.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use egui_kittest::Harness;
use eopf_geozarr::app::ViewerApp;

/// Step the UI until `done` holds (background loading), at most ~60 s, then two more frames.
pub fn step_until(h: &mut Harness<'_, ViewerApp>, done: impl Fn(&Harness<'_, ViewerApp>) -> bool) {
    for _ in 0..1200 {
        h.step();
        if done(h) {
            h.run_steps(2);
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the UI did not reach the expected state");
}

/// Pick a preset from the map's first combo box ("Show") by its label.
pub fn choose_preset(h: &mut Harness<'_, ViewerApp>, label: &str) {
    use egui_kittest::kittest::Queryable;
    h.get_all_by_role(egui::accesskit::Role::ComboBox)
        .next()
        .expect("the preset combo box")
        .click();
    h.run_steps(4);
    h.get_by_label(label).click();
    h.run_steps(2);
}

/// The level indicator says every tile of the shown level is drawn (or no tiles are needed).
pub fn tiles_settled(h: &Harness<'_, ViewerApp>) -> bool {
    let l = &h.state().view.level_label;
    if !l.contains("tiles") {
        return true;
    }
    let t = l.rsplit(" · ").next().unwrap_or_default();
    let (a, b) = t
        .trim_end_matches(" tiles")
        .split_once('/')
        .unwrap_or(("0", "1"));
    a == b
}
