//! The Map tab: the info panel (cursor, stretch, report), the status bar, the presets and
//! compare bars, and the canvas (base image, tiles, compare, graticule, chunk grid, scale bar).
//! Everything slow — rendering, tiles, pixel reads, PROJ — runs in jobs; a frame only draws.

use super::{
    Loaded, RenderJob, TileView, ViewerApp, bands_match, canvas, compare, draw_compare, draw_tiles,
    grid_of, job, scale_bar, start_render, stretch_panel, visible_window,
};

impl ViewerApp {
    /// The Map tab of a loaded product.
    pub(super) fn draw_map(
        &mut self,
        ui: &mut egui::Ui,
        loaded: &mut Loaded,
        texture: &mut Option<egui::TextureHandle>,
    ) {
        self.poll_map_jobs(ui.ctx(), loaded, texture);
        let tex = base_texture(ui.ctx(), loaded, texture);
        let cursor = self.cursor_lines(ui.ctx(), loaded);
        let stretch_job = self.info_panel(ui, loaded, cursor);
        self.status_bar(ui, loaded);
        let new_preset = self.presets_bar(ui, loaded);
        self.apply_render_requests(ui.ctx(), loaded, new_preset, stretch_job);
        let graticule_lines = if self.overlays.graticule {
            loaded.graticule.clone()
        } else {
            None
        };
        self.map_canvas(ui, loaded, tex, graticule_lines);
    }

    /// Results of the background rendering, compare and probe; a pending rendering starts.
    fn poll_map_jobs(
        &mut self,
        ctx: &egui::Context,
        loaded: &mut Loaded,
        texture: &mut Option<egui::TextureHandle>,
    ) {
        // A preset rendered in the background replaces the image.
        if let Some(job) = &self.render.job
            && let Some(r) = job.poll()
        {
            self.render.job = None;
            match r {
                Ok((img, stretch, hist)) => {
                    loaded.image = Some(img);
                    *texture = None;
                    self.render.stretch = stretch;
                    self.render.image_stretch = stretch;
                    if hist.is_some() {
                        self.render.histograms = hist;
                    }
                    self.render.error = None;
                    // CPU tiles carry the old stretch; GPU tiles only the bands.
                    if let Some(t) = &mut self.render.tiles
                        && !self.render.gpu_colour
                    {
                        t.invalidate();
                    }
                }
                Err(e) => self.render.error = Some(e),
            }
        }
        self.overlays.compare.poll();
        self.cursor.probe.poll(&loaded.hierarchy, ctx);
        if self.overlays.compare.running() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        if self.render.job.is_none()
            && let Some(job) = self.render.pending.take()
        {
            self.render.job = Some(start_render(
                loaded.hierarchy.clone(),
                loaded.resolution.clone(),
                job,
                ctx.clone(),
            ));
        }
        let lonlat = self.lonlat_start(loaded, ctx);
        self.cursor.lonlat.poll(lonlat);
    }

    /// The job that projects a pixel centre of the inspector's level to lon/lat.
    fn lonlat_start(
        &self,
        loaded: &Loaded,
        ctx: &egui::Context,
    ) -> impl FnOnce(&(usize, usize)) -> job::Job<Option<(f64, f64)>> + use<> {
        let ins = loaded
            .inspector
            .as_ref()
            .and_then(|i| Some((i.grid?, i.crs.clone()?)));
        let ctx = ctx.clone();
        move |&(c, r)| {
            job::Job::spawn("projecting the cursor", Some(ctx), move || {
                let Some((g, crs)) = ins else { return Ok(None) };
                let t = crate::geo::ToLonLat::new(&crs).map_err(|e| e.to_string())?;
                let (x, y) = (
                    g.x0 + (c as f64 + 0.5) * g.res,
                    g.y_top - (r as f64 + 0.5) * g.res,
                );
                Ok(t.point(x, y).ok())
            })
        }
    }

    /// The inspector's lines for the hovered pixel; lon/lat once its job has answered.
    fn cursor_lines(&mut self, ctx: &egui::Context, loaded: &Loaded) -> Option<Vec<String>> {
        let ins = loaded.inspector.as_ref()?;
        let start = self.lonlat_start(loaded, ctx);
        self.cursor.lonlat.want(self.view.hovered, start);
        let (c, r) = self.view.hovered?;
        let known = match (&self.cursor.lonlat.key, &self.cursor.lonlat.value) {
            (Some(k), Some(Ok(Some(ll)))) if *k == (c, r) => Some(*ll),
            _ => None,
        };
        Some(ins.describe(c, r, &|_, _| known))
    }

    /// The right-hand panel: cursor lines, the stretch editor, the product report. Returns the
    /// rendering a stretch change asks for.
    fn info_panel(
        &mut self,
        ui: &mut egui::Ui,
        loaded: &Loaded,
        cursor: Option<Vec<String>>,
    ) -> Option<RenderJob> {
        let report = loaded.report.clone();
        let mut stretch_job: Option<RenderJob> = None;
        egui::Panel::right("info")
            .default_size(420.0)
            .resizable(true)
            .show(ui, |ui| {
                // Its own id scope: the lines come and go with the cursor, and the
                // widgets below must keep their ids (a click in flight is not lost).
                let probe = &self.cursor.probe;
                ui.push_id("cursor", |ui| {
                    ui.strong("Cursor");
                    match &cursor {
                        Some(lines) => {
                            for l in lines {
                                ui.label(egui::RichText::new(l).monospace().size(11.0));
                            }
                        }
                        None => {
                            ui.weak("Hover the map to inspect a pixel.");
                        }
                    }
                    if cursor.is_some() && probe.pixel().is_some() {
                        ui.add_space(4.0);
                        ui.strong("At the shown level");
                        if probe.settled() {
                            for l in &probe.lines() {
                                ui.label(egui::RichText::new(l).monospace().size(11.0));
                            }
                        } else {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.weak("reading…");
                            });
                        }
                    }
                });
                ui.separator();
                if self.render.preset.stretched()
                    && let Some(st) = self.render.stretch.as_mut()
                {
                    let action = self.render.stretch_panel.show(
                        ui,
                        self.render.preset,
                        st,
                        self.render.histograms.as_ref(),
                    );
                    let job = |stretch, window| RenderJob {
                        preset: self.render.preset,
                        stretch,
                        window,
                        histograms: false,
                    };
                    // Coloured on the GPU: a new stretch is a new uniform, nothing to
                    // read, upload or render again.
                    stretch_job = match action {
                        stretch_panel::Action::None => None,
                        stretch_panel::Action::Changed if self.render.gpu_colour => None,
                        stretch_panel::Action::Changed => Some(job(Some(*st), None)),
                        stretch_panel::Action::WholeLevel => Some(job(None, None)),
                        stretch_panel::Action::View => Some(job(None, self.view.window.clone())),
                    };
                    ui.separator();
                }
                ui.strong("Product report");
                egui::ScrollArea::both().show(ui, |ui| {
                    ui.add(
                        egui::Label::new(egui::RichText::new(report).monospace().size(11.0))
                            .wrap_mode(egui::TextWrapMode::Extend),
                    );
                });
            });
        stretch_job
    }

    /// The status line below the map.
    fn status_bar(&self, ui: &mut egui::Ui, loaded: &Loaded) {
        let shown = match self.render.preset {
            crate::render::Preset::TrueColour => "True colour B04/B03/B02".to_string(),
            p => p.label().to_string(),
        };
        let stretch = match self.render.preset {
            crate::render::Preset::Ndvi | crate::render::Preset::Scl => "",
            _ => " · 2–98 % stretch",
        };
        let scale = self
            .view
            .metres_per_px
            .map(|m| format!(" · 1 screen px ≈ {m:.1} m"))
            .unwrap_or_default();
        egui::Panel::bottom("status").show(ui, |ui| match &loaded.image {
            Some(img) => {
                ui.label(format!(
                    "{shown} at {} · {}×{} px{stretch}{scale} · drag to pan, scroll to zoom",
                    loaded.resolution, img.width, img.height
                ));
            }
            None => {
                ui.label(format!(
                    "No true colour: {}",
                    loaded
                        .image_error
                        .as_deref()
                        .unwrap_or("no reflectance bands")
                ));
            }
        });
    }

    /// The presets bar above the map; returns a newly chosen preset.
    fn presets_bar(&mut self, ui: &mut egui::Ui, loaded: &Loaded) -> Option<crate::render::Preset> {
        let mut new_preset = self.render.requested.take();
        egui::Panel::top("presets").show(ui, |ui| {
            ui.horizontal(|ui| {
                let mut p = self.render.preset;
                egui::ComboBox::from_label("Show")
                    .selected_text(p.label())
                    .show_ui(ui, |ui| {
                        for q in crate::render::Preset::ALL {
                            if ui.selectable_label(p.same_kind(q), q.label()).clicked()
                                && !p.same_kind(q)
                            {
                                p = q;
                            }
                        }
                    });
                if let crate::render::Preset::Single { band, colormap } = &mut p {
                    egui::ComboBox::from_label("Band")
                        .selected_text(crate::render::BANDS[usize::from(*band)])
                        .show_ui(ui, |ui| {
                            for (i, b) in crate::render::BANDS.iter().enumerate() {
                                ui.selectable_value(band, i as u8, *b);
                            }
                        });
                    egui::ComboBox::from_label("Colour map")
                        .selected_text(colormap.label())
                        .show_ui(ui, |ui| {
                            for c in crate::render::Colormap::ALL {
                                ui.selectable_value(colormap, c, c.label());
                            }
                        });
                }
                if p != self.render.preset {
                    new_preset = Some(p);
                }
                if loaded
                    .inspector
                    .as_ref()
                    .is_some_and(|i| i.chunks.is_some())
                {
                    ui.checkbox(&mut self.overlays.grid, "Chunk grid");
                }
                if loaded
                    .inspector
                    .as_ref()
                    .is_some_and(|i| i.grid.is_some() && i.crs.is_some())
                {
                    ui.checkbox(&mut self.overlays.graticule, "Graticule");
                }
                ui.checkbox(&mut self.overlays.compare_on, "Compare");
                if ui
                    .button("Fit")
                    .on_hover_text("Fit the product to the window (keys: 0 or F; + and − zoom)")
                    .clicked()
                {
                    self.view.scene_rect = egui::Rect::ZERO;
                }
                if !self.view.level_label.is_empty() {
                    ui.separator();
                    ui.label(self.view.level_label.clone());
                }
                if self.render.job.is_some() || self.render.tiles.as_ref().is_some_and(|t| t.busy())
                {
                    ui.spinner();
                }
                if let Some(e) = &self.render.error {
                    ui.colored_label(egui::Color32::LIGHT_RED, e);
                }
            });
            if self.overlays.compare_on {
                self.compare_bar(ui, loaded);
            }
            if self.render.preset == crate::render::Preset::Scl {
                scl_legend(ui);
            }
        });
        new_preset
    }

    /// The compare bar: what to compare with, swipe or difference, the result's numbers.
    fn compare_bar(&mut self, ui: &mut egui::Ui, loaded: &Loaded) {
        let mut start = false;
        // The other levels of the product (stored and computed overviews).
        let other_levels: Vec<String> = self
            .render
            .tiles
            .as_ref()
            .map(|t| {
                t.levels
                    .iter()
                    .filter(|l| l.name != loaded.resolution)
                    .map(|l| l.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        ui.horizontal(|ui| {
            let describe = |a: &compare::Against| match a {
                compare::Against::Store => "another store".to_string(),
                compare::Against::Level(l) => format!("level {l}"),
            };
            egui::ComboBox::from_label("Compare with")
                .selected_text(describe(&self.overlays.compare.against))
                .show_ui(ui, |ui| {
                    let mut choices = vec![compare::Against::Store];
                    choices.extend(other_levels.iter().cloned().map(compare::Against::Level));
                    for c in choices {
                        let label = describe(&c);
                        ui.selectable_value(&mut self.overlays.compare.against, c, label);
                    }
                });
            let mut enter = false;
            if self.overlays.compare.against == compare::Against::Store {
                let l = ui.label("Store");
                let edit = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.overlays.compare.path_input)
                            .hint_text("second store: folder, s3:// or https://")
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id);
                enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            }
            if ui
                .add_enabled(
                    !self.overlays.compare.running(),
                    egui::Button::new("Compare"),
                )
                .clicked()
                || enter
            {
                start = true;
            }
            ui.selectable_value(
                &mut self.overlays.compare.mode,
                compare::Mode::Swipe,
                "Swipe",
            );
            ui.selectable_value(
                &mut self.overlays.compare.mode,
                compare::Mode::Difference,
                "Difference",
            );
            if self.overlays.compare.mode == compare::Mode::Swipe {
                ui.add(
                    egui::Slider::new(&mut self.overlays.compare.swipe, 0.0..=1.0)
                        .show_value(false)
                        .text("swipe"),
                );
            }
            if self.overlays.compare.running() {
                ui.spinner();
            }
        });
        if let Some(e) = &self.overlays.compare.error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
        }
        if let Some(d) = &self.overlays.compare.data {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "max |B − A| = {:.3e} over {} pixels",
                    d.max_abs, d.compared
                ));
                if self.overlays.compare.mode == compare::Mode::Difference {
                    if d.diff.is_some() {
                        compare::legend(ui, d.max_abs);
                    } else {
                        ui.weak("(no difference view for this preset)");
                    }
                }
            });
        }
        if start
            && (self.overlays.compare.against != compare::Against::Store
                || !self.overlays.compare.path_input.trim().is_empty())
        {
            self.overlays.compare.start(
                loaded.hierarchy.clone(),
                loaded.resolution.clone(),
                self.render.preset,
                self.render.stretch,
                ui.ctx().clone(),
            );
        }
    }

    /// A newly chosen preset, or a stretch change, starts a rendering (or waits for the one running).
    fn apply_render_requests(
        &mut self,
        ctx: &egui::Context,
        loaded: &Loaded,
        new_preset: Option<crate::render::Preset>,
        stretch_job: Option<RenderJob>,
    ) {
        if let Some(p) = new_preset {
            // A colour-map change keeps the stretch; a new band or preset starts at 2–98 %.
            let keep = match (self.render.preset, p) {
                (
                    crate::render::Preset::Single { band: a, .. },
                    crate::render::Preset::Single { band: b, .. },
                ) => a == b,
                _ => false,
            };
            // GPU tiles hold the bands as stored: a new colour map of the same band
            // is a new table, nothing to read again.
            let same_bands = self.render.gpu_colour && bands_match(self.render.preset, p);
            self.render.preset = p;
            self.overlays.compare.clear();
            if let Some(t) = &mut self.render.tiles
                && !same_bands
            {
                t.invalidate();
            }
            self.render.pending = None;
            self.render.job = Some(start_render(
                loaded.hierarchy.clone(),
                loaded.resolution.clone(),
                RenderJob {
                    preset: p,
                    stretch: if keep { self.render.stretch } else { None },
                    window: None,
                    histograms: !keep,
                },
                ctx.clone(),
            ));
        } else if let Some(job) = stretch_job {
            if self.render.job.is_some() {
                self.render.pending = Some(job);
            } else {
                self.render.job = Some(start_render(
                    loaded.hierarchy.clone(),
                    loaded.resolution.clone(),
                    job,
                    ctx.clone(),
                ));
            }
        }
        if self.render.job.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// The map itself.
    fn map_canvas(
        &mut self,
        ui: &mut egui::Ui,
        loaded: &Loaded,
        tex: Option<egui::TextureHandle>,
        graticule_lines: Option<Vec<super::graticule::Line>>,
    ) {
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(tex) = tex {
                let size = tex.size_vec2();
                let mut hovered = None;
                let canvas = ui.available_rect_before_wrap();
                let show_grid = self.overlays.grid;
                // Without tiles: the inspector's level (the base) and its chunks.
                let base_grid = loaded
                    .inspector
                    .as_ref()
                    .and_then(|i| i.chunks.map(|c| (c, i.shards, 1.0f32)));
                let mut shown_level = None;
                let mut hovered_rel = None;
                self.map_keys(ui);
                if self.render.tiles.is_none() {
                    self.render.tiles = Some(canvas::TileCache::with_budget(
                        loaded.hierarchy.clone(),
                        Some(ui.ctx().clone()),
                        2,
                        self.config.tile_cache_bytes,
                    ));
                }
                if let Some(a) = self.view.autopan.as_mut() {
                    let fitted = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
                    a.frame(
                        ui.ctx(),
                        &mut self.view.scene_rect,
                        &self.view.level_label,
                        fitted,
                    );
                }
                // Screen pixels per base-level pixel (scene units are base pixels).
                let view = self.view.scene_rect;
                let mut zoom = if view.width() > 0.0 {
                    f64::from(canvas.width() / view.width())
                } else {
                    1.0
                };
                let overlay = self.compare_overlay(ui.ctx());
                if let Some(t) = self.render.tiles.as_mut() {
                    t.set_gpu(self.render.gpu_colour, self.render.max_texture);
                }
                let (preset, stretch) = (self.render.preset, self.render.stretch);
                let gpu_tiles = self.render.gpu_colour;
                let base_current = self.render.image_stretch == self.render.stretch;
                let tiles = &mut self.render.tiles;
                let level_label = &mut self.view.level_label;
                let view_window = &mut self.view.window;
                let base_name = loaded.resolution.clone();
                egui::Scene::new()
                    .zoom_range(0.05..=32.0)
                    .scroll_zooms(true)
                    .show(ui, &mut self.view.scene_rect, |ui| {
                        // On the GPU path the tiles draw everything: the CPU-coloured
                        // base image only lays out the map (and senses the cursor).
                        // The base image lays out the map and senses the cursor; it is
                        // painted by `draw_tiles`, only where tiles do not cover it.
                        let r = ui.add(
                            egui::Image::from_texture((tex.id(), size))
                                .tint(egui::Color32::TRANSPARENT)
                                .sense(egui::Sense::hover()),
                        );
                        // What the screen shows, in scene units (the Scene may show more
                        // than `scene_rect` when its zoom is clamped), and the zoom.
                        let shown = ui.clip_rect();
                        let scaling = ui
                            .ctx()
                            .layer_transform_to_global(ui.layer_id())
                            .map_or(1.0, |t| t.scaling);
                        let px_per_base = f64::from(scaling * r.rect.width() / size.x);
                        if px_per_base > 0.0 {
                            zoom = px_per_base;
                        }
                        *view_window = visible_window(r.rect, size, shown);
                        if let Some(tiles) = tiles.as_mut() {
                            shown_level = draw_tiles(
                                ui,
                                tiles,
                                TileView {
                                    image: r.rect,
                                    size,
                                    view: shown,
                                    zoom,
                                    base: &base_name,
                                    preset,
                                    stretch,
                                    base_texture: (!gpu_tiles || base_current).then(|| tex.id()),
                                },
                                level_label,
                            );
                        }
                        if let Some(((b, diff), mode, swipe)) = overlay {
                            draw_compare(ui, r.rect, b, diff, mode, swipe);
                        }
                        if let Some(lines) = &graticule_lines {
                            draw_graticule(ui, r.rect, size, lines);
                        }
                        // The chunk grid of the shown level (of a computed overview: of
                        // the stored level it is read from), in base pixels.
                        let grid = if show_grid {
                            match (&shown_level, tiles.as_ref()) {
                                (Some(l), Some(t)) => grid_of(l, &t.levels, &base_name),
                                _ => base_grid,
                            }
                        } else {
                            None
                        };
                        if let Some(g) = grid {
                            draw_chunk_grid(ui.painter(), r.rect, size, g);
                        }
                        if let Some(p) = r.hover_pos() {
                            let rel = (p - r.rect.min) / r.rect.size();
                            if (0.0..1.0).contains(&rel.x) && (0.0..1.0).contains(&rel.y) {
                                hovered_rel = Some((f64::from(rel.x), f64::from(rel.y)));
                                hovered =
                                    Some(((rel.x * size.x) as usize, (rel.y * size.y) as usize));
                            }
                        }
                    });
                self.after_scene(
                    ui,
                    loaded,
                    canvas,
                    (zoom, shown_level, hovered, hovered_rel),
                );
            } else {
                ui.weak("Nothing to draw for this product; see the Product tab.");
            }
        });
    }

    /// Keys: + / − zoom around the centre, 0 or F fits the product.
    fn map_keys(&mut self, ui: &egui::Ui) {
        let (zoom_in, zoom_out, fit) = ui.ctx().input(|i| {
            (
                i.key_pressed(egui::Key::Plus) || i.key_pressed(egui::Key::Equals),
                i.key_pressed(egui::Key::Minus),
                i.key_pressed(egui::Key::Num0) || i.key_pressed(egui::Key::F),
            )
        });
        if self.view.scene_rect.width() > 0.0 {
            let c = self.view.scene_rect.center();
            if zoom_in {
                self.view.scene_rect =
                    egui::Rect::from_center_size(c, self.view.scene_rect.size() / 1.5);
            }
            if zoom_out {
                self.view.scene_rect =
                    egui::Rect::from_center_size(c, self.view.scene_rect.size() * 1.5);
            }
        }
        if fit {
            self.view.scene_rect = egui::Rect::ZERO;
        }
    }

    /// The compare overlay's textures (made once per result) and how to draw them.
    #[allow(clippy::type_complexity)]
    fn compare_overlay(
        &mut self,
        ctx: &egui::Context,
    ) -> Option<(
        (egui::TextureId, Option<egui::TextureId>),
        compare::Mode,
        f32,
    )> {
        if self.overlays.compare_on
            && self.overlays.compare.textures.is_none()
            && let Some(d) = &self.overlays.compare.data
        {
            let tex = |name: &str, img: &crate::render::Rgba| {
                ctx.load_texture(
                    name,
                    egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels),
                    egui::TextureOptions::NEAREST,
                )
            };
            self.overlays.compare.textures = Some((
                tex("compare-b", &d.image),
                d.diff.as_ref().map(|x| tex("compare-diff", x)),
            ));
        }
        if !self.overlays.compare_on {
            return None;
        }
        let c = &self.overlays.compare;
        c.textures
            .as_ref()
            .map(|(b, d)| (b.id(), d.as_ref().map(|d| d.id())))
            .map(|t| (t, c.mode, c.swipe))
    }

    /// After the scene: the cursor, the probe, the shown level and the scale bar.
    fn after_scene(
        &mut self,
        ui: &egui::Ui,
        loaded: &Loaded,
        canvas: egui::Rect,
        (zoom, shown_level, hovered, hovered_rel): SceneOutcome,
    ) {
        self.view.hovered = hovered;
        self.view.hovered_rel = hovered_rel;
        // Zoomed in past the inspector's level: the pixel at the shown level.
        let base_res = self.render.tiles.as_ref().and_then(|t| {
            t.levels
                .iter()
                .find(|l| l.name == loaded.resolution)
                .map(|l| l.res)
        });
        let probe_pixel = match (&shown_level, hovered_rel, base_res) {
            (Some(l), Some((fx, fy)), Some(b)) if l.source.is_none() && l.res < b => Some((
                l.name.clone(),
                ((fx * l.width as f64) as u64).min(l.width - 1),
                ((fy * l.height as f64) as u64).min(l.height - 1),
            )),
            _ => None,
        };
        self.cursor
            .probe
            .want(&loaded.hierarchy, probe_pixel, ui.ctx());
        self.view.shown_level = shown_level;
        // Scene units are image pixels of the shown level.
        self.view.metres_per_px = loaded
            .inspector
            .as_ref()
            .and_then(|i| i.grid)
            .filter(|_| zoom > 0.0)
            .map(|g| g.res / zoom);
        if let Some(m) = self.view.metres_per_px {
            // Above the scene's layer, clipped to the map.
            let painter = ui
                .ctx()
                .layer_painter(egui::LayerId::new(
                    egui::Order::Foreground,
                    egui::Id::unique("scale-bar"),
                ))
                .with_clip_rect(canvas);
            scale_bar(&painter, canvas, m);
        }
    }
}

/// What drawing the scene found: the zoom (screen pixels per base pixel), the level shown, the
/// hovered pixel and its position as a fraction of the product.
type SceneOutcome = (
    f64,
    Option<canvas::Level>,
    Option<(usize, usize)>,
    Option<(f64, f64)>,
);

/// The texture of the base image (made once per image).
fn base_texture(
    ctx: &egui::Context,
    loaded: &Loaded,
    texture: &mut Option<egui::TextureHandle>,
) -> Option<egui::TextureHandle> {
    match (&loaded.image, texture.as_ref()) {
        (Some(img), None) => {
            let c = egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels);
            *texture = Some(ctx.load_texture("true-colour", c, egui::TextureOptions::NEAREST));
            texture.clone()
        }
        (_, t) => t.cloned(),
    }
}

/// The SCL legend.
fn scl_legend(ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        for (v, name, c) in crate::render::SCL_CLASSES {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 0.0, egui::Color32::from_rgb(c[0], c[1], c[2]));
            ui.label(format!("{v} {name}"));
        }
    });
}

/// The lon/lat graticule over the base image at `rect` (`size` base pixels).
fn draw_graticule(
    ui: &egui::Ui,
    rect: egui::Rect,
    size: egui::Vec2,
    lines: &[super::graticule::Line],
) {
    let px = rect.width() / size.x;
    let stroke = egui::Stroke::new(1.0, egui::Color32::from_rgba_unmultiplied(0, 230, 255, 200));
    for l in lines {
        let pts: Vec<egui::Pos2> = l
            .points
            .iter()
            .map(|&(x, y)| rect.min + egui::vec2(x, y) * px)
            .collect();
        if let Some(first) = pts.first().copied() {
            ui.painter().add(egui::Shape::line(pts, stroke));
            ui.painter().text(
                first + egui::vec2(2.0, 2.0),
                egui::Align2::LEFT_TOP,
                &l.label,
                egui::FontId::proportional(9.0),
                egui::Color32::from_rgb(0, 230, 255),
            );
        }
    }
}

/// The chunk (and shard) grid over the base image at `rect` (`size` base pixels).
fn draw_chunk_grid(painter: &egui::Painter, rect: egui::Rect, size: egui::Vec2, grid: super::Grid) {
    let ((ch, cw), shards, scale) = grid;
    let px = rect.width() / size.x;
    let steps = |step: u64, n: f32| {
        let step = step.max(1) as f32 * scale;
        (1..)
            .map(move |k| k as f32 * step)
            .take_while(move |&v| v < n)
    };
    let lines = |step_r: u64, step_c: u64, stroke: egui::Stroke| {
        for k in steps(step_c, size.x) {
            let x = rect.min.x + k * px;
            painter.line_segment(
                [egui::pos2(x, rect.min.y), egui::pos2(x, rect.max.y)],
                stroke,
            );
        }
        for k in steps(step_r, size.y) {
            let y = rect.min.y + k * px;
            painter.line_segment(
                [egui::pos2(rect.min.x, y), egui::pos2(rect.max.x, y)],
                stroke,
            );
        }
    };
    lines(
        ch,
        cw,
        egui::Stroke::new(0.5, egui::Color32::from_white_alpha(160)),
    );
    if let Some((sh, sw)) = shards {
        lines(sh, sw, egui::Stroke::new(1.5, egui::Color32::YELLOW));
    }
}
