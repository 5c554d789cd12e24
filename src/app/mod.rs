//! The eframe/egui desktop application. It opens a product (the demo product by default; a path
//! typed in the top bar, a folder dialog, a folder dropped on the window, or a recent product),
//! loads it on a background thread and shows it in three tabs: the map (true colour on a
//! pannable, zoomable canvas with the `info` report), the product panel (tree, attributes,
//! validation), and the CPU-vs-GPU benchmark. It talks to the library through the same public API
//! as the CLI.

pub mod autopan;
pub mod bench_panel;
pub mod canvas;
pub mod compare;
pub mod config;
pub mod convert_panel;
pub mod gpu_colour;
pub mod graticule;
pub mod inspector;
pub mod job;
mod map;
pub mod probe;
pub mod product;
pub mod recent;
pub mod stretch_panel;

use std::path::PathBuf;

use crate::storage::{Location, ToLocation};
use std::sync::Arc;

use crate::hierarchy::Hierarchy;
use crate::inspect::{ProductInfo, inspect};
use crate::render::Rgba;
use crate::validate::Report;
pub use config::AppConfig;

/// What the loader thread produces.
pub struct Loaded {
    pub info: ProductInfo,
    /// The true colour of the coarsest native group, when the product has reflectance bands.
    pub image: Option<Rgba>,
    /// Why there is no image.
    pub image_error: Option<String>,
    pub resolution: String,
    /// The `info` report as text, formatted once (not every frame).
    pub report: String,
    /// The product tree, prepared once.
    pub tree: Vec<product::TreeNode>,
    /// The validation report of a Zarr v3 (GeoZarr) store.
    pub validation: Option<Report>,
    /// Values and coordinates under the cursor (when the map shows a reflectance group).
    pub inspector: Option<inspector::Inspector>,
    /// The opened product, shared with the tile workers of the map.
    pub hierarchy: Arc<Hierarchy>,
    /// The per-channel stretch of the true-colour image (finer tiles reuse it).
    pub stretch: Option<crate::render::Stretch>,
    /// Histograms of B04/B03/B02 at the base level.
    pub histograms: Option<crate::render::Histograms>,
    /// The lon/lat graticule over the inspector's level (PROJ runs here, not on the UI thread).
    pub graticule: Option<Vec<graticule::Line>>,
}

/// Open `path`, build the report, the tree, the validation report of GeoZarr stores, and the
/// true-colour image of the coarsest native group (r60m), with the default configuration.
pub fn load(path: impl ToLocation) -> crate::Result<Loaded> {
    load_with(path, &AppConfig::default())
}

/// [`load`] with the app's configuration.
pub fn load_with(path: impl ToLocation, config: &AppConfig) -> crate::Result<Loaded> {
    load_hierarchy_with(Hierarchy::open(path)?, config)
}

/// [`load`] of an opened hierarchy (any store: tests count its reads).
pub fn load_hierarchy(h: Hierarchy) -> crate::Result<Loaded> {
    load_hierarchy_with(h, &AppConfig::default())
}

/// [`load_hierarchy`] with the app's configuration.
pub fn load_hierarchy_with(h: Hierarchy, config: &AppConfig) -> crate::Result<Loaded> {
    // Map tiles are much smaller than EOPF chunks (up to 5490²): decoded chunks are kept for the
    // next tiles, for the 8 most recently read bands (the shown level's and the one underneath),
    // at most `config.chunk_cache_bytes` each.
    let h = h.with_chunk_cache(config.chunk_cache_bytes, 8);
    let info = inspect(&h)?;
    let resolution = "r60m".to_string();
    let (image, stretch, image_error) = match crate::render::render_preset_window(
        &h,
        &resolution,
        crate::render::Preset::TrueColour,
        None,
        None,
    ) {
        Ok((i, s)) => (Some(i), s, None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    let report = info.to_text();
    // GeoZarr stores get their validation report; EOPF products (Zarr v3 since N0512 too) are
    // inputs, not GeoZarr, and get none.
    let validation =
        (h.zarr_format() == 3 && info.product == "geozarr").then(|| crate::validate::validate(&h));
    let crs = crate::product::resolve_crs(&h, &crate::geo::epsg_exists).map(|c| c.0);
    let inspector = match (&image, crate::render::reflectance_group(&h, &resolution)) {
        (Some(_), Ok(g)) => inspector::Inspector::build(&h, &g, crs).ok(),
        _ => None,
    };
    let histograms = image
        .as_ref()
        .and_then(|_| {
            crate::render::histograms(&h, &resolution, crate::render::Preset::TrueColour, 128).ok()
        })
        .flatten();
    let graticule = inspector.as_ref().and_then(|ins| {
        let (g, crs) = (ins.grid?, ins.crs.as_ref()?);
        // ~2,000 points, once.
        crate::geo::ToLonLat::new(crs).ok().map(|t| {
            graticule::lines(ins.width, ins.height, 4, &|x, y| {
                t.point(g.x0 + x * g.res, g.y_top - y * g.res).ok()
            })
        })
    });
    Ok(Loaded {
        graticule,
        inspector,
        stretch,
        histograms,
        tree: product::tree(&h),
        info,
        image,
        image_error,
        report,
        resolution,
        validation,
        hierarchy: Arc::new(h),
    })
}

/// A rendering of the whole base level: the image, the stretch it used, its histograms.
type Rendered = (
    crate::render::Rgba,
    Option<crate::render::Stretch>,
    Option<crate::render::Histograms>,
);

/// A background rendering of the whole base level.
#[derive(Debug, Clone)]
struct RenderJob {
    preset: crate::render::Preset,
    /// Fixed bounds; `None`: 2–98 % of `window` (or of the whole level).
    stretch: Option<crate::render::Stretch>,
    window: Option<crate::render::Window>,
    /// Also compute the histograms (a new preset).
    histograms: bool,
}

/// Render `job` of level `res` on a background thread.
fn start_render(
    h: Arc<Hierarchy>,
    res: String,
    job: RenderJob,
    ctx: egui::Context,
) -> job::Job<Rendered> {
    job::Job::spawn("rendering the map", Some(ctx), move || {
        (|| -> crate::Result<_> {
            let stretch = match (job.stretch, &job.window) {
                (Some(s), _) => Some(s),
                (None, Some(w)) => {
                    crate::render::render_preset_window(&h, &res, job.preset, Some(w), None)?.1
                }
                (None, None) => None,
            };
            let (img, used) =
                crate::render::render_preset_window(&h, &res, job.preset, None, stretch.as_ref())?;
            let hist = if job.histograms {
                crate::render::histograms(&h, &res, job.preset, 128)?
            } else {
                None
            };
            Ok((img, used, hist))
        })()
        .map_err(|e| e.to_string())
    })
}

/// The tabs of the main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Map,
    Product,
    Convert,
    Benchmark,
}

enum State {
    Loading(job::Job<Loaded>),
    /// Building the demo product first (its job reports chunks written of the total).
    Building(job::Job<Loaded>),
    Ready {
        loaded: Box<Loaded>,
        texture: Option<egui::TextureHandle>,
    },
    Failed(String),
}

/// The map's view: where it looks, what is under the cursor, which level it shows.
pub struct MapView {
    /// The visible scene rectangle (`ZERO`: fit the product).
    pub scene_rect: egui::Rect,
    /// The pixel under the cursor on the map (shown level: col, row).
    pub hovered: Option<(usize, usize)>,
    /// The cursor's position on the map as a fraction of the product's width and height.
    pub hovered_rel: Option<(f64, f64)>,
    /// What the map shows, in base-level pixels.
    pub window: Option<crate::render::Window>,
    /// Ground metres per screen pixel at the current zoom.
    pub metres_per_px: Option<f64>,
    /// The level the map shows (the level indicator's).
    pub shown_level: Option<canvas::Level>,
    /// What the level indicator says (`Level r20m (20 m) · 4/4 tiles`).
    pub level_label: String,
    /// `EOPF_GUI_AUTOPAN`: pan by itself and print the frame rate.
    pub autopan: Option<autopan::AutoPan>,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            scene_rect: egui::Rect::ZERO,
            hovered: None,
            hovered_rel: None,
            window: None,
            metres_per_px: None,
            shown_level: None,
            level_label: String::new(),
            autopan: None,
        }
    }
}

/// How the map is rendered: the preset, its stretch, the background rendering, the tiles.
pub struct Rendering {
    /// What the map shows.
    pub preset: crate::render::Preset,
    /// A preset asked for by [`ViewerApp::set_preset`], applied at the next frame.
    pub requested: Option<crate::render::Preset>,
    /// A preset being rendered in the background (image and the stretch it used).
    job: Option<job::Job<Rendered>>,
    /// A rendering asked for while another runs.
    pending: Option<RenderJob>,
    /// The stretch of the shown preset (tiles reuse it).
    pub stretch: Option<crate::render::Stretch>,
    /// The stretch the base image was coloured with (on the GPU path it stands in for missing
    /// tiles only while it matches the current stretch).
    image_stretch: Option<crate::render::Stretch>,
    /// Histograms of the shown preset's bands.
    pub histograms: Option<crate::render::Histograms>,
    /// Why the last preset could not be rendered.
    pub error: Option<String>,
    stretch_panel: stretch_panel::StretchPanel,
    /// The map's tiles are coloured on the GPU (the pipelines are installed in the renderer).
    pub gpu_colour: bool,
    /// The adapter's largest texture edge (GPU tiles are cut to it).
    pub max_texture: u64,
    /// Finer levels of the map, in tiles.
    pub tiles: Option<canvas::TileCache>,
}

impl Default for Rendering {
    fn default() -> Self {
        Rendering {
            preset: crate::render::Preset::TrueColour,
            requested: None,
            job: None,
            pending: None,
            stretch: None,
            image_stretch: None,
            histograms: None,
            error: None,
            stretch_panel: Default::default(),
            gpu_colour: false,
            max_texture: u64::MAX,
            tiles: None,
        }
    }
}

/// What is drawn over the map.
#[derive(Default)]
pub struct Overlays {
    /// The chunk (and shard) grid of the shown level.
    pub grid: bool,
    /// The lon/lat graticule.
    pub graticule: bool,
    /// Compare with a second store or level (swipe or difference).
    pub compare_on: bool,
    pub compare: compare::Compare,
}

/// What the cursor panel shows beyond the inspector's values, read in the background.
#[derive(Default)]
pub struct Cursor {
    /// The pixel under the cursor at the shown level, when it is finer than the inspector's.
    pub probe: probe::Probe,
    /// Lon/lat of the hovered pixel's centre (PROJ runs in a job, never on the UI thread).
    pub lonlat: job::Latest<(usize, usize), Option<(f64, f64)>>,
}

/// The application state.
pub struct ViewerApp {
    /// The product shown (or being opened).
    location: Location,
    state: State,
    /// The path box of the top bar.
    pub path_input: String,
    pub recent: Vec<String>,
    /// The recent list being read from disk (at start).
    recent_job: Option<job::Job<Vec<String>>>,
    /// A folder dialog open on a worker thread.
    folder_job: Option<job::Job<Option<PathBuf>>>,
    pub tab: Tab,
    selected: Option<String>,
    pub bench: bench_panel::BenchPanel,
    pub convert: convert_panel::ConvertPanel,
    pub view: MapView,
    pub render: Rendering,
    pub overlays: Overlays,
    pub cursor: Cursor,
    /// Read from the environment once, when the app starts.
    pub config: AppConfig,
    ctx: Option<egui::Context>,
}

impl ViewerApp {
    /// Start loading `path` (a folder, `s3://` or `https://`) in the background.
    pub fn new(path: impl ToLocation, ctx: Option<egui::Context>) -> Self {
        let mut app = Self::new_idle(ctx);
        app.open(path);
        app
    }

    /// Build the demo product at `path` in the background (with progress), then open it.
    pub fn new_demo(path: impl ToLocation, ctx: Option<egui::Context>) -> Self {
        let mut app = Self::new_idle(ctx.clone());
        let location = match path.to_location() {
            Ok(l) => l,
            Err(e) => {
                app.state = State::Failed(e.to_string());
                return app;
            }
        };
        app.path_input = location.to_string();
        app.location = location.clone();
        let config = app.config.clone();
        let job = job::Job::spawn_with("building the demo product", ctx, move |c| {
            let report = |done: u64, total: u64| c.report(done, total, "chunks");
            let result = (|| {
                let missing = match &location {
                    Location::Local(p) => !p.exists(),
                    _ => Hierarchy::open(&location).is_err(),
                };
                if missing {
                    if let Location::Local(p) = &location
                        && let Some(dir) = p.parent()
                    {
                        std::fs::create_dir_all(dir).map_err(|e| crate::Error::Io {
                            path: dir.display().to_string(),
                            reason: e.to_string(),
                        })?;
                    }
                    let opts = crate::demo::DemoOptions::default();
                    crate::demo::write_demo(&location, &opts, &report)?;
                }
                let loaded = load_with(&location, &config)?;
                recent::remember(config.config_dir.as_deref(), &location.to_string());
                Ok(loaded)
            })();
            result.map_err(|e: crate::Error| e.to_string())
        });
        app.state = State::Building(job);
        app
    }

    fn new_idle(ctx: Option<egui::Context>) -> Self {
        let config = AppConfig::from_env();
        let dir = config.config_dir.clone();
        let recent_job = job::Job::spawn("reading the recent products", ctx.clone(), move || {
            Ok(recent::load(dir.as_deref()))
        });
        ViewerApp {
            path_input: String::new(),
            location: Location::Local(PathBuf::new()),
            state: State::Failed(String::new()),
            recent: Vec::new(),
            recent_job: Some(recent_job),
            folder_job: None,
            tab: Tab::Map,
            selected: None,
            bench: bench_panel::BenchPanel::default(),
            convert: convert_panel::ConvertPanel::default(),
            render: Rendering::default(),
            overlays: Overlays::default(),
            cursor: Cursor::default(),
            view: MapView {
                autopan: config.autopan_seconds.map(autopan::AutoPan::new),
                ..MapView::default()
            },
            config,
            ctx,
        }
    }

    /// Open another product (loaded in the background; the UI stays responsive).
    pub fn open(&mut self, path: impl ToLocation) {
        let config = self.config.clone();
        self.open_with(path, move |p| {
            load_with(p, &config).map_err(|e| e.to_string())
        });
    }

    /// [`ViewerApp::open`] with another loader (the UI tests use one that fails or panics).
    pub fn open_with(
        &mut self,
        path: impl ToLocation,
        loader: impl FnOnce(&Location) -> Result<Loaded, String> + Send + 'static,
    ) {
        let location = match path.to_location() {
            Ok(l) => l,
            Err(e) => {
                // A refused URL scheme: said where the product would show.
                self.state = State::Failed(e.to_string());
                return;
            }
        };
        let p = location.clone();
        let dir = self.config.config_dir.clone();
        let job = job::Job::spawn("loading the product", self.ctx.clone(), move || {
            let loaded = loader(&p)?;
            // Remembered on the loader's thread: no file I/O on the UI thread.
            recent::remember(dir.as_deref(), &p.to_string());
            Ok(loaded)
        });
        self.path_input = location.to_string();
        self.location = location;
        self.state = State::Loading(job);
        self.selected = None;
        // A new product: a new rendering (the renderer's capabilities stay), view and cursor.
        self.render = Rendering {
            gpu_colour: self.render.gpu_colour,
            max_texture: self.render.max_texture,
            stretch_panel: std::mem::take(&mut self.render.stretch_panel),
            ..Rendering::default()
        };
        self.overlays.compare.clear();
        self.view.level_label.clear();
        self.view.scene_rect = egui::Rect::ZERO;
        self.cursor.lonlat = Default::default();
    }

    /// Whether the map image is being rendered again (preset or stretch change).
    /// Where a value lies on the stretch panel's histogram (to drag its bounds).
    pub fn histogram_position(&self, value: f32) -> Option<egui::Pos2> {
        self.render.stretch_panel.position_of(value)
    }

    /// Show `preset` from the next frame on (as choosing it in the menus does).
    pub fn set_preset(&mut self, preset: crate::render::Preset) {
        self.render.requested = Some(preset);
    }

    pub fn is_rendering(&self) -> bool {
        self.render.job.is_some() || self.render.pending.is_some()
    }

    /// Whether a product is loaded (for tests and the status line).
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready { .. })
    }

    fn poll(&mut self) {
        if let Some(j) = &self.recent_job
            && let Some(r) = j.poll()
        {
            self.recent_job = None;
            // Products opened meanwhile stay first.
            for p in r.unwrap_or_default() {
                if !self.recent.contains(&p) && self.recent.len() < recent::MAX_RECENT {
                    self.recent.push(p);
                }
            }
        }
        if let Some(j) = &self.folder_job
            && let Some(r) = j.poll()
        {
            self.folder_job = None;
            if let Ok(Some(p)) = r {
                self.open(p);
            }
        }
        let job = match &self.state {
            State::Loading(job) | State::Building(job) => job,
            _ => return,
        };
        if let Some(result) = job.poll() {
            self.state = match result {
                Ok(loaded) => {
                    recent::add(&mut self.recent, &self.location.to_string());
                    self.render.stretch = loaded.stretch;
                    self.render.image_stretch = loaded.stretch;
                    self.render.histograms = loaded.histograms.clone();
                    self.render.tiles = None;
                    State::Ready {
                        loaded: Box::new(loaded),
                        texture: None,
                    }
                }
                Err(e) => State::Failed(e),
            };
        }
    }

    /// Draw the whole UI (also used by headless UI tests).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        self.poll();
        // A folder dropped on the window opens.
        let dropped: Option<PathBuf> = ui.ctx().input(|i| {
            i.raw.dropped_files.iter().find_map(|f| {
                let p = f.path();
                (!p.as_os_str().is_empty()).then(|| p.to_path_buf())
            })
        });
        if let Some(p) = dropped {
            self.open(p);
        }
        let mut to_open: Option<String> = None;
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("eopf-geozarr");
                ui.separator();
                let edit = ui.add(
                    egui::TextEdit::singleline(&mut self.path_input)
                        .desired_width(420.0)
                        .hint_text(
                            "product or GeoZarr store: folder, s3://bucket/key or https://…",
                        ),
                );
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if ui.button("Open").clicked() || enter {
                    to_open = Some(self.path_input.trim().to_string());
                }
                // The dialog runs on a worker thread (the frame goes on); its folder opens.
                if ui
                    .add_enabled(self.folder_job.is_none(), egui::Button::new("Browse…"))
                    .clicked()
                {
                    self.folder_job = Some(job::Job::spawn(
                        "choosing a folder",
                        Some(ui.ctx().clone()),
                        || Ok(rfd::FileDialog::new().pick_folder()),
                    ));
                }
                ui.menu_button("Recent", |ui| {
                    if self.recent.is_empty() {
                        ui.weak("nothing yet");
                    }
                    for r in self.recent.clone() {
                        if ui.button(&r).clicked() {
                            to_open = Some(r);
                            ui.close();
                        }
                    }
                });
                if let State::Ready { loaded, .. } = &self.state {
                    ui.separator();
                    let i = &loaded.info;
                    ui.label(format!(
                        "{} {} {} · {}",
                        i.product,
                        i.level.as_deref().unwrap_or(""),
                        i.tile.as_deref().unwrap_or(""),
                        i.crs.as_deref().unwrap_or("no CRS")
                    ));
                }
            });
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.tab, Tab::Map, "Map");
                ui.selectable_value(&mut self.tab, Tab::Product, "Product");
                ui.selectable_value(&mut self.tab, Tab::Convert, "Convert");
                ui.selectable_value(&mut self.tab, Tab::Benchmark, "Benchmark");
            });
        });
        if let Some(p) = to_open {
            self.open(p);
        }
        if self.tab == Tab::Benchmark {
            egui::CentralPanel::default().show(ui, |ui| self.bench.show(ui));
            return;
        }
        if self.tab == Tab::Convert {
            if self.convert.input.is_empty() {
                self.convert.input = self.location.to_string();
            }
            let mut done = None;
            egui::CentralPanel::default().show(ui, |ui| done = self.convert.show(ui));
            if let Some(out) = done {
                // The result opens on the map; its validation report is in the Product tab.
                self.open(out);
                self.tab = Tab::Map;
            }
            return;
        }
        // The state is taken for the frame (the panels below borrow the app mutably) and put
        // back unless a panel opened another product meanwhile.
        let mut state = std::mem::replace(&mut self.state, State::Failed(String::new()));
        self.draw_state(ui, &mut state);
        if matches!(&self.state, State::Failed(m) if m.is_empty()) {
            self.state = state;
        }
    }

    /// The central area for the product's state.
    fn draw_state(&mut self, ui: &mut egui::Ui, state: &mut State) {
        match state {
            State::Loading(_) => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Loading product…");
                    });
                });
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            }
            State::Building(job) => {
                let job::Progress { done, total, .. } = job.progress();
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.label("Building the demo product (a synthetic Sentinel-2 L2A tile) …");
                    let frac = if total == 0 {
                        0.0
                    } else {
                        done as f32 / total as f32
                    };
                    ui.add(
                        egui::ProgressBar::new(frac)
                            .text(format!("{done}/{total} chunks"))
                            .animate(true),
                    );
                });
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            }
            State::Failed(msg) => {
                let msg = msg.clone();
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.colored_label(
                        egui::Color32::LIGHT_RED,
                        format!("Cannot open the product: {msg}"),
                    );
                });
            }
            State::Ready { loaded, texture } => {
                if self.tab == Tab::Product {
                    egui::CentralPanel::default().show(ui, |ui| {
                        product::show(
                            ui,
                            &loaded.tree,
                            loaded.validation.as_ref(),
                            &mut self.selected,
                        );
                    });
                    return;
                }
                self.draw_map(ui, loaded, texture);
            }
        }
    }
}

/// The length of a scale bar: the longest 1, 2 or 5 × 10ⁿ metres that fits in `max_px` screen
/// pixels at `metres_per_px`, with its length in pixels.
pub fn scale_bar_length(metres_per_px: f64, max_px: f64) -> (f64, f64) {
    let max_m = metres_per_px * max_px;
    let p = 10f64.powf(max_m.log10().floor());
    let m = [5.0, 2.0, 1.0]
        .into_iter()
        .map(|f| f * p)
        .find(|&m| m <= max_m)
        .unwrap_or(p);
    (m, m / metres_per_px)
}

/// A scale bar in the bottom-left corner of the map.
fn scale_bar(painter: &egui::Painter, canvas: egui::Rect, metres_per_px: f64) {
    if !(metres_per_px.is_finite() && metres_per_px > 0.0) {
        return;
    }
    let (m, px) = scale_bar_length(metres_per_px, 150.0);
    let label = if m >= 1000.0 {
        format!("{} km", m / 1000.0)
    } else {
        format!("{m} m")
    };
    let x0 = canvas.min.x + 16.0;
    let y = canvas.max.y - 16.0;
    let x1 = x0 + px as f32;
    let back = egui::Rect::from_min_max(
        egui::pos2(x0 - 6.0, y - 22.0),
        egui::pos2(x1 + 6.0, y + 6.0),
    );
    painter.rect_filled(back, 3.0, egui::Color32::from_black_alpha(150));
    let stroke = egui::Stroke::new(2.0, egui::Color32::WHITE);
    painter.line_segment([egui::pos2(x0, y), egui::pos2(x1, y)], stroke);
    for x in [x0, x1] {
        painter.line_segment([egui::pos2(x, y - 5.0), egui::pos2(x, y + 2.0)], stroke);
    }
    painter.text(
        egui::pos2((x0 + x1) / 2.0, y - 7.0),
        egui::Align2::CENTER_BOTTOM,
        label,
        egui::FontId::proportional(12.0),
        egui::Color32::WHITE,
    );
}

/// Where the base image lies in the scene and what the view shows.
struct TileView<'a> {
    /// The base image's rectangle in scene coordinates.
    image: egui::Rect,
    /// Its size in base pixels.
    size: egui::Vec2,
    /// The visible scene rectangle.
    view: egui::Rect,
    /// Screen pixels per base pixel.
    zoom: f64,
    base: &'a str,
    preset: crate::render::Preset,
    stretch: Option<crate::render::Stretch>,
    /// The CPU-coloured base image (on the GPU path only while its stretch is current).
    base_texture: Option<egui::TextureId>,
}

/// Whether two presets show the same bands (a single band's colour map may differ).
fn bands_match(a: crate::render::Preset, b: crate::render::Preset) -> bool {
    use crate::render::Preset;
    match (a, b) {
        (Preset::Single { band: x, .. }, Preset::Single { band: y, .. }) => x == y,
        _ => a == b,
    }
}

/// The second store over the first: right of the swipe line, or the difference image.
fn draw_compare(
    ui: &mut egui::Ui,
    rect: egui::Rect,
    b: egui::TextureId,
    diff: Option<egui::TextureId>,
    mode: compare::Mode,
    swipe: f32,
) {
    let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
    match (mode, diff) {
        (compare::Mode::Difference, Some(d)) => {
            // Only the difference: where either store has no data stays dark.
            ui.painter()
                .rect_filled(rect, 0.0, egui::Color32::from_gray(25));
            ui.painter().image(d, rect, uv, egui::Color32::WHITE);
        }
        (compare::Mode::Difference, None) => {}
        (compare::Mode::Swipe, _) => {
            let x = rect.min.x + rect.width() * swipe;
            let clip = egui::Rect::from_min_max(egui::pos2(x, rect.min.y), rect.max);
            ui.painter()
                .with_clip_rect(clip.intersect(ui.clip_rect()))
                .image(b, rect, uv, egui::Color32::WHITE);
            ui.painter().line_segment(
                [egui::pos2(x, rect.min.y), egui::pos2(x, rect.max.y)],
                egui::Stroke::new(2.0, egui::Color32::YELLOW),
            );
        }
    }
}

/// The part of the base image the view shows, in base pixels (`None` when nothing is visible).
fn visible_window(
    image: egui::Rect,
    size: egui::Vec2,
    view: egui::Rect,
) -> Option<crate::render::Window> {
    let vis = view.intersect(image);
    if !vis.is_positive() || image.width() <= 0.0 {
        return None;
    }
    let k = size.x / image.width();
    let px = |v: f32, o: f32, n: f32| (((v - o) * k).clamp(0.0, n)) as u64;
    let (c0, c1) = (
        px(vis.min.x, image.min.x, size.x),
        px(vis.max.x, image.min.x, size.x).max(px(vis.min.x, image.min.x, size.x) + 1),
    );
    let (r0, r1) = (
        px(vis.min.y, image.min.y, size.y),
        px(vis.max.y, image.min.y, size.y).max(px(vis.min.y, image.min.y, size.y) + 1),
    );
    Some(crate::render::Window {
        rows: r0..r1,
        cols: c0..c1,
    })
}

/// Ask for the tiles of the level that matches the zoom and draw them; while some are missing,
/// draw what lies underneath first (see [`draw_tiles`]'s layers); set the level indicator.
///
/// Layers, coarsest first. Underneath: the base level (zoomed in) or the coarsest level (zoomed
/// out) — on the CPU path the whole base image (`v.base_texture`), on the GPU path its tiles,
/// asked for. Then cached tiles of the levels between it and the chosen one (on the CPU path
/// only those finer than the base image), then the chosen
/// level, asked for. Once every tile of the chosen level in view is there, only it is drawn
/// (nothing is drawn twice; its nodata stays transparent).
fn draw_tiles(
    ui: &mut egui::Ui,
    tiles: &mut canvas::TileCache,
    v: TileView<'_>,
    level_label: &mut String,
) -> Option<canvas::Level> {
    let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
    let base_image = |ui: &egui::Ui| {
        if let Some(t) = v.base_texture {
            ui.painter().image(t, v.image, uv, egui::Color32::WHITE);
        }
    };
    let Some(base) = tiles.levels.iter().find(|l| l.name == v.base).cloned() else {
        tiles.update(ui.ctx(), &[], &[], v.preset, v.stretch);
        base_image(ui);
        *level_label = format!("Level {}", v.base);
        return None;
    };
    let chosen = canvas::choose_level(&tiles.levels, base.res, v.zoom).unwrap_or(0);
    let level = tiles.levels[chosen].clone();
    let gpu = tiles.is_gpu();
    let per_scene = v.image.width() / v.size.x; // scene units per base pixel
    let vis = v.view.intersect(v.image);
    let covering = |tiles: &canvas::TileCache, i: usize| -> Vec<canvas::TileKey> {
        if !vis.is_positive() {
            return Vec::new();
        }
        let k = base.res / tiles.levels[i].res; // level pixels per base pixel
        let to_level = |x: f32, o: f32| f64::from((x - o) / per_scene) * k;
        tiles.tiles_for(
            i,
            [
                to_level(vis.min.x, v.image.min.x),
                to_level(vis.min.y, v.image.min.y),
                to_level(vis.max.x, v.image.min.x),
                to_level(vis.max.y, v.image.min.y),
            ],
        )
    };
    let base_index = tiles
        .levels
        .iter()
        .position(|l| l.name == base.name)
        .unwrap_or(chosen);
    let under = if chosen <= base_index {
        base_index
    } else {
        tiles.levels.len() - 1
    };
    // The CPU path shows the base level as its whole image, not as tiles.
    let top = if !gpu && chosen == base_index {
        Vec::new()
    } else {
        covering(tiles, chosen)
    };
    let complete = (gpu || chosen != base_index) && top.iter().all(|k| tiles.get(k).is_some());
    let mut wanted = top.clone();
    let mut layers: Vec<Vec<canvas::TileKey>> = Vec::new();
    // The base image: on the CPU path under missing tiles; on the GPU path (when its stretch is
    // current) until the tiles underneath are there — the first image before any tile is read.
    let mut draw_base_image = v.base_texture.is_some();
    if complete {
        draw_base_image = false;
    } else {
        for i in ((chosen + 1)..=under.max(chosen)).rev() {
            let keys = covering(tiles, i);
            if i == under && gpu {
                wanted.extend(keys.iter().copied());
                layers.push(keys);
            } else if i != under && (gpu || tiles.levels[i].res < base.res) {
                layers.push(keys);
            }
        }
    }
    layers.push(top.clone());
    if gpu
        && layers
            .first()
            .is_some_and(|u| !u.is_empty() && u.iter().all(|k| tiles.get(k).is_some()))
    {
        draw_base_image = false;
    }
    let drawn: Vec<canvas::TileKey> = layers.iter().flatten().copied().collect();
    tiles.update(ui.ctx(), &wanted, &drawn, v.preset, v.stretch);
    if draw_base_image {
        base_image(ui);
    }
    // Scene → screen (the scene's pan and zoom), for the GPU tiles' own placement.
    let to_screen = ui
        .ctx()
        .layer_transform_to_global(ui.layer_id())
        .unwrap_or_default();
    let stretch = v.stretch.or_else(|| {
        (!v.preset.stretched()).then_some(crate::render::Stretch {
            bounds: [(0.0, 1.0); 3],
            gamma: 1.0,
        })
    });
    // The last pixels of an overview may reach past the product's extent: clipped to it.
    let painter = ui
        .painter()
        .with_clip_rect(v.image.intersect(ui.clip_rect()));
    for key in &drawn {
        let Some(data) = tiles.get(key) else {
            continue;
        };
        let k = (base.res / tiles.levels[key.level].res) as f32;
        let [x0, y0, x1, y1] = tiles.tile_rect(key).map(|v| v as f32);
        let rect = egui::Rect::from_min_max(
            v.image.min + egui::vec2(x0 / k, y0 / k) * per_scene,
            v.image.min + egui::vec2(x1 / k, y1 / k) * per_scene,
        );
        match data {
            canvas::TileData::Image(tex) => {
                painter.image(tex.id(), rect, uv, egui::Color32::WHITE);
            }
            canvas::TileData::Raw(tile, id) => {
                let Some(stretch) = stretch else { continue };
                painter.add(eframe::egui_wgpu::Callback::new_paint_callback(
                    rect,
                    gpu_colour::TileCallback {
                        id: *id,
                        tile: tile.clone(),
                        preset: v.preset,
                        rect: to_screen * rect,
                        stretch,
                        // Never restarts (a new product's tile cache starts at 0 again).
                        frame: ui.ctx().cumulative_frame_nr() + 1,
                    },
                ));
            }
        }
    }
    *level_label = if top.is_empty() {
        format!("Level {} ({} m)", level.name, level.res)
    } else {
        let ready = top.iter().filter(|k| tiles.get(k).is_some()).count();
        format!(
            "Level {} ({} m) · {ready}/{} tiles",
            level.name,
            level.res,
            top.len()
        )
    };
    Some(level)
}

/// Chunk shape, shard shape (rows, cols) and base pixels per level pixel.
type Grid = ((u64, u64), Option<(u64, u64)>, f32);

/// The chunk grid drawn for level `l`: its chunk and shard shapes (of a computed overview, those
/// of the stored level it is read from) and how many base pixels one of its pixels spans.
fn grid_of(l: &canvas::Level, levels: &[canvas::Level], base: &str) -> Option<Grid> {
    let base_res = levels.iter().find(|x| x.name == base)?.res;
    let stored = match &l.source {
        Some((src, _)) => levels.iter().find(|x| &x.name == src)?,
        None => l,
    };
    stored
        .chunks
        .map(|c| (c, stored.shards, (stored.res / base_res) as f32))
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}

/// Open the window on `path` (blocks until it is closed); `build_demo`: `path` is the demo
/// product, built in the background first when it does not exist yet.
pub fn run_window(path: Location, build_demo: bool) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default()
            .with_title("eopf-geozarr")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    eframe::run_native(
        "eopf-geozarr",
        options,
        Box::new(move |cc| {
            let ctx = Some(cc.egui_ctx.clone());
            let mut app = if build_demo {
                ViewerApp::new_demo(path, ctx)
            } else {
                ViewerApp::new(path, ctx)
            };
            // The map is coloured on the GPU (measured on lavapipe panning a full-size pyramid:
            // as fast as the CPU colouring, 13.0–13.4 vs 13.1–13.9 fps fitted, 12.3–12.5 vs
            // 12.3–12.4 zoomed in, and a stretch change costs nothing). EOPF_GPU_COLOUR=0 forces
            // the CPU colouring.
            if let Some(rs) = cc.wgpu_render_state.as_ref() {
                if !app.config.gpu_colour {
                    tracing::info!("map colouring on the CPU (EOPF_GPU_COLOUR=0)");
                } else {
                    gpu_colour::install_with_budget(rs, app.config.tile_cache_bytes);
                    app.render.gpu_colour = true;
                    app.render.max_texture = u64::from(gpu_colour::max_texture(rs));
                }
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

#[cfg(test)]
mod grid_tests {
    use super::canvas::Level;

    fn lv(name: &str, res: f64, chunks: Option<(u64, u64)>, source: Option<(&str, u64)>) -> Level {
        Level {
            name: name.into(),
            res,
            width: 100,
            height: 100,
            source: source.map(|(s, f)| (s.to_string(), f)),
            chunks,
            shards: chunks.map(|(a, b)| (a * 2, b * 2)),
        }
    }

    #[test]
    fn chunk_grid_of_the_shown_level() {
        let l = vec![
            lv("r10m", 10.0, Some((1830, 1830)), None),
            lv("r60m", 60.0, Some((305, 305)), None),
            lv("r120m", 120.0, None, Some(("r60m", 2))),
        ];
        // r10m chunks: 1830 of its pixels = 305 base (r60m) pixels.
        let (c, s, scale) = super::grid_of(&l[0], &l, "r60m").unwrap();
        assert_eq!((c, s), ((1830, 1830), Some((3660, 3660))));
        assert!((scale - 1.0 / 6.0).abs() < 1e-6);
        assert_eq!(super::grid_of(&l[1], &l, "r60m").unwrap().2, 1.0);
        // A computed overview shows the chunks it is read from.
        assert_eq!(
            super::grid_of(&l[2], &l, "r60m"),
            Some(((305, 305), Some((610, 610)), 1.0))
        );
    }
}

#[cfg(test)]
mod scale_tests {
    #[test]
    fn scale_bar_lengths() {
        assert_eq!(
            super::scale_bar_length(60.0, 150.0),
            (5000.0, 5000.0 / 60.0)
        );
        assert_eq!(super::scale_bar_length(10.0, 150.0), (1000.0, 100.0));
        assert_eq!(super::scale_bar_length(1.0, 150.0), (100.0, 100.0));
        assert_eq!(super::scale_bar_length(0.5, 150.0), (50.0, 100.0));
    }
}
