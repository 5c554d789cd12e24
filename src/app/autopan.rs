//! A measurement mode of the window (`EOPF_GUI_AUTOPAN=SECONDS`): once the product is shown, the
//! map pans by itself — half of the time fitted to the window, half zoomed in eight times (finer
//! levels in tiles) — and the frame rate of each phase and the time from the window's creation to
//! the first image are printed; then the window closes. Used for the numbers in the notes.

use std::time::Instant;

/// The state of an automatic pan.
pub struct AutoPan {
    seconds: f64,
    created: Instant,
    first_image: Option<f64>,
    started: Option<Instant>,
    frames: [u64; 2],
    levels: [String; 2],
    done: bool,
}

impl AutoPan {
    /// An automatic pan of `seconds` (`EOPF_GUI_AUTOPAN`, [`super::config::AppConfig`]).
    pub fn new(seconds: f64) -> Self {
        AutoPan {
            seconds: seconds.max(1.0),
            created: Instant::now(),
            first_image: None,
            started: None,
            frames: [0, 0],
            levels: [String::new(), String::new()],
            done: false,
        }
    }

    /// One frame with the image shown: move the view and count; `true` when finished.
    pub fn frame(
        &mut self,
        ctx: &egui::Context,
        scene: &mut egui::Rect,
        level: &str,
        fitted: egui::Rect,
    ) -> bool {
        if self.done {
            return true;
        }
        let now = Instant::now();
        if self.first_image.is_none() {
            self.first_image = Some(now.duration_since(self.created).as_secs_f64());
            self.started = Some(now);
            return false;
        }
        let t = self
            .started
            .map_or(0.0, |s| now.duration_since(s).as_secs_f64());
        let phase = usize::from(t >= self.seconds / 2.0);
        if t >= self.seconds {
            let half = self.seconds / 2.0;
            eprintln!(
                "autopan: first image {:.2} s after the window opened",
                self.first_image.unwrap_or(0.0)
            );
            for p in 0..2 {
                eprintln!(
                    "autopan: {} frames in {half:.1} s = {:.1} fps while panning ({}, {})",
                    self.frames[p],
                    self.frames[p] as f64 / half,
                    if p == 0 { "fitted" } else { "zoomed 8×" },
                    self.levels[p]
                );
            }
            self.done = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return true;
        }
        self.frames[phase] += 1;
        self.levels[phase] = level.to_string();
        if fitted.width() > 0.0 {
            let size = if phase == 0 {
                fitted.size()
            } else {
                fitted.size() / 8.0
            };
            // Across the product and back, ten seconds a sweep.
            let u = ((t % 10.0) / 10.0) as f32;
            let u = if u < 0.5 { u * 2.0 } else { 2.0 - u * 2.0 };
            let travel = fitted.width() - size.x;
            let centre = egui::pos2(
                fitted.min.x + size.x / 2.0 + travel.max(0.0) * u,
                fitted.center().y,
            );
            *scene = egui::Rect::from_center_size(centre, size);
        }
        ctx.request_repaint();
        false
    }
}
