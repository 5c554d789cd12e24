//! The eframe/egui desktop application. This first version opens a product (the demo product by
//! default), loads the true-colour composite and the `info` report on a background thread, and
//! shows them: the image on a pannable, zoomable canvas and the report in a side panel. It talks to
//! the library through the same public API as the CLI.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use crate::hierarchy::Hierarchy;
use crate::inspect::{ProductInfo, inspect};
use crate::render::{Rgba, true_colour};

/// What the loader thread produces.
pub struct Loaded {
    pub info: ProductInfo,
    pub image: Rgba,
    pub resolution: String,
    /// The `info` report as text, formatted once (not every frame).
    pub report: String,
}

/// Open `path`, build the report and the true-colour image of the coarsest native group (r60m).
pub fn load(path: &std::path::Path) -> crate::Result<Loaded> {
    let h = Hierarchy::open(path)?;
    let info = inspect(&h)?;
    let resolution = "r60m".to_string();
    let image = true_colour(&h, &resolution)?;
    let report = info.to_text();
    Ok(Loaded {
        info,
        image,
        report,
        resolution,
    })
}

enum State {
    Loading(Receiver<crate::Result<Loaded>>),
    Ready {
        loaded: Box<Loaded>,
        texture: Option<egui::TextureHandle>,
    },
    Failed(String),
}

/// The application state.
pub struct ViewerApp {
    path: PathBuf,
    state: State,
    scene_rect: egui::Rect,
}

impl ViewerApp {
    /// Start loading `path` in the background.
    pub fn new(path: PathBuf, ctx: Option<egui::Context>) -> Self {
        let (tx, rx) = channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let result = load(&p);
            let _ = tx.send(result);
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
        ViewerApp {
            path,
            state: State::Loading(rx),
            scene_rect: egui::Rect::ZERO,
        }
    }

    fn poll(&mut self) {
        if let State::Loading(rx) = &self.state
            && let Ok(result) = rx.try_recv()
        {
            self.state = match result {
                Ok(loaded) => State::Ready {
                    loaded: Box::new(loaded),
                    texture: None,
                },
                Err(e) => State::Failed(e.to_string()),
            };
        }
    }

    /// Draw the whole UI (also used by headless UI tests).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        self.poll();
        let path = self.path.display().to_string();
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("eopf-geozarr");
                ui.separator();
                ui.label(&path);
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
        });
        match &mut self.state {
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
                let tex = texture.get_or_insert_with(|| {
                    let img = egui::ColorImage::from_rgba_unmultiplied(
                        [loaded.image.width, loaded.image.height],
                        &loaded.image.pixels,
                    );
                    ui.ctx()
                        .load_texture("true-colour", img, egui::TextureOptions::NEAREST)
                });
                let report = loaded.report.clone();
                egui::Panel::right("info")
                    .default_size(420.0)
                    .resizable(true)
                    .show(ui, |ui| {
                        ui.strong("Product");
                        egui::ScrollArea::both().show(ui, |ui| {
                            ui.add(
                                egui::Label::new(
                                    egui::RichText::new(report).monospace().size(11.0),
                                )
                                .wrap_mode(egui::TextWrapMode::Extend),
                            );
                        });
                    });
                egui::Panel::bottom("status").show(ui, |ui| {
                    ui.label(format!(
                        "True colour B04/B03/B02 at {} · {}×{} px · 2–98 % stretch · drag to pan, scroll to zoom",
                        loaded.resolution, loaded.image.width, loaded.image.height
                    ));
                });
                let size = tex.size_vec2();
                egui::CentralPanel::default().show(ui, |ui| {
                    egui::Scene::new()
                        .zoom_range(0.05..=32.0)
                        .scroll_zooms(true)
                        .show(ui, &mut self.scene_rect, |ui| {
                            ui.add(egui::Image::from_texture((tex.id(), size)));
                        });
                });
            }
        }
    }
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}

/// Whether a display is available for a window.
pub fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

/// Open the window on `path` (blocks until it is closed).
pub fn run_window(path: PathBuf) -> anyhow::Result<()> {
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
        Box::new(move |cc| Ok(Box::new(ViewerApp::new(path, Some(cc.egui_ctx.clone()))))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
