//! The stretch of the shown preset: per-channel bounds and gamma, a histogram of the bands
//! (egui_plot) whose bound lines can be dragged, and 2–98 % of the whole level or of the current
//! view.

use crate::render::{Histograms, Preset, Stretch};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    /// Bounds or gamma changed: render again with them.
    Changed,
    /// 2–98 % of the whole level.
    WholeLevel,
    /// 2–98 % of what the map shows.
    View,
}

/// State of the panel between frames.
#[derive(Debug, Default)]
pub struct StretchPanel {
    /// The bound being dragged on the histogram: channel and whether it is the upper one.
    dragging: Option<(usize, bool)>,
    /// Where the histogram was last drawn (value ↔ screen).
    plot: Option<egui_plot::PlotTransform>,
}

const CHANNELS: [(&str, egui::Color32); 3] = [
    ("R", egui::Color32::from_rgb(230, 80, 80)),
    ("G", egui::Color32::from_rgb(80, 200, 80)),
    ("B", egui::Color32::from_rgb(90, 140, 255)),
];

impl StretchPanel {
    /// Where `value` lies on the histogram as last drawn (half-way up the plot).
    pub fn position_of(&self, value: f32) -> Option<egui::Pos2> {
        let t = self.plot.as_ref()?;
        let x = t
            .position_from_point(&egui_plot::PlotPoint::new(f64::from(value), 0.0))
            .x;
        Some(egui::pos2(x, t.frame().center().y))
    }

    /// Draw the panel for `preset`; edits `stretch` in place.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        preset: Preset,
        stretch: &mut Stretch,
        hist: Option<&Histograms>,
    ) -> Action {
        let mut action = Action::None;
        let n = if matches!(preset, Preset::Single { .. }) {
            1
        } else {
            3
        };
        ui.strong("Stretch");
        egui::Grid::new("stretch-grid")
            .num_columns(3)
            .show(ui, |ui| {
                for (c, (name, colour)) in CHANNELS.iter().enumerate().take(n) {
                    let label = if n == 1 { "band" } else { name };
                    ui.colored_label(*colour, label);
                    let (lo, hi) = &mut stretch.bounds[c];
                    let a = ui
                        .add(egui::DragValue::new(lo).speed(0.001).max_decimals(4))
                        .on_hover_text(format!("{label}: lower bound"));
                    let b = ui
                        .add(egui::DragValue::new(hi).speed(0.001).max_decimals(4))
                        .on_hover_text(format!("{label}: upper bound"));
                    if a.drag_stopped() || b.drag_stopped() || a.lost_focus() || b.lost_focus() {
                        action = Action::Changed;
                    }
                    ui.end_row();
                }
            });
        ui.horizontal(|ui| {
            let g = ui.add(
                egui::Slider::new(&mut stretch.gamma, 0.2..=5.0)
                    .logarithmic(true)
                    .text("gamma"),
            );
            if g.drag_stopped() || (g.changed() && !g.dragged()) {
                action = Action::Changed;
            }
        });
        ui.horizontal(|ui| {
            if ui
                .button("2–98 % (level)")
                .on_hover_text("Percentile stretch of the whole level")
                .clicked()
            {
                action = Action::WholeLevel;
            }
            if ui
                .button("2–98 % (view)")
                .on_hover_text("Percentile stretch of what the map shows")
                .clicked()
            {
                action = Action::View;
            }
        });
        if let Some(h) = hist {
            let bins = h.counts.first().map_or(1, Vec::len).max(1);
            let width = f64::from(h.hi - h.lo) / bins as f64;
            let max = h
                .counts
                .iter()
                .flat_map(|c| c.iter().copied())
                .max()
                .unwrap_or(1)
                .max(1);
            let resp = egui_plot::Plot::new("stretch-histogram")
                .height(110.0)
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .allow_boxed_zoom(false)
                .show_y(false)
                .y_axis_label("")
                .include_y(0.0)
                .include_y(1.05)
                .show(ui, |p| {
                    for (c, counts) in h.counts.iter().enumerate().take(n) {
                        let colour = if n == 1 {
                            egui::Color32::LIGHT_GRAY
                        } else {
                            CHANNELS[c].1
                        };
                        let pts: Vec<[f64; 2]> = counts
                            .iter()
                            .enumerate()
                            .map(|(i, &k)| {
                                [
                                    f64::from(h.lo) + (i as f64 + 0.5) * width,
                                    f64::from(k) / f64::from(max),
                                ]
                            })
                            .collect();
                        p.line(
                            egui_plot::Line::new(
                                format!("hist-{c}"),
                                egui_plot::PlotPoints::from(pts),
                            )
                            .color(colour),
                        );
                        let (lo, hi) = stretch.bounds[c];
                        for v in [lo, hi] {
                            p.vline(
                                egui_plot::VLine::new(format!("bound-{c}"), f64::from(v))
                                    .color(colour)
                                    .width(1.5),
                            );
                        }
                    }
                });
            self.plot = Some(resp.transform);
            // Drag a bound: the nearest line to where the drag starts follows the pointer.
            let r = &resp.response;
            if r.drag_started()
                && let Some(pos) = r.interact_pointer_pos()
            {
                let x = resp.transform.value_from_position(pos).x as f32;
                self.dragging = (0..n).flat_map(|c| [(c, false), (c, true)]).min_by(|a, b| {
                    let d = |&(c, hi): &(usize, bool)| {
                        let (l, h) = stretch.bounds[c];
                        (if hi { h } else { l } - x).abs()
                    };
                    d(a).total_cmp(&d(b))
                });
            }
            if let (Some((c, hi)), Some(pos)) = (self.dragging, r.interact_pointer_pos())
                && r.dragged()
            {
                let x = resp.transform.value_from_position(pos).x as f32;
                let b = &mut stretch.bounds[c];
                if hi {
                    b.1 = x.max(b.0 + 1e-6);
                } else {
                    b.0 = x.min(b.1 - 1e-6);
                }
            }
            if r.drag_stopped() && self.dragging.take().is_some() {
                action = Action::Changed;
            }
        }
        action
    }
}
