//! The conversion panel: every option of `convert-s2-optimized` / `convert`, run in the
//! background with a progress bar, ETA and Cancel (a cancelled output is resumable and never
//! validates). When a conversion finishes, the app opens the result with its validation report.

use std::path::PathBuf;

use crate::storage::{Location, ToLocation};
use std::time::Instant;

use crate::convert::s2::Codec;
use crate::convert::{Existing, GenericOptions, S2Options};
use crate::kernels::Device;
use crate::plan::{Profile, ShardSize};

/// Which pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// `convert-s2-optimized` (Sentinel-2).
    Optimized,
    /// `convert` pipeline A (any product; Sentinel-1 needs the GCP group).
    Generic,
}

pub use super::job::Progress;

/// The panel's state (every field is an option of the conversion).
pub struct ConvertPanel {
    pub input: String,
    pub output: String,
    pub pipeline: Pipeline,
    pub profile: Profile,
    pub sharding: bool,
    pub spatial_chunk: u64,
    pub shard_size: String,
    pub codec: Codec,
    pub level: u8,
    pub device: Device,
    pub keep_scale_offset: bool,
    pub groups: String,
    pub min_dimension: u64,
    pub gcp_group: String,
    pub overwrite: bool,
    pub resume: bool,
    started: Option<Instant>,
    running: Option<super::job::Job<String>>,
    /// The output folder dialog, open on a worker thread.
    folder_job: Option<super::job::Job<Option<PathBuf>>>,
    /// The last outcome: `Ok(summary)` or `Err(message)`.
    pub outcome: Option<Result<String, String>>,
}

impl Default for ConvertPanel {
    fn default() -> Self {
        ConvertPanel {
            input: String::new(),
            output: std::env::temp_dir()
                .join("eopf-geozarr-out.zarr")
                .display()
                .to_string(),
            pipeline: Pipeline::Optimized,
            profile: Profile::Geozarr,
            sharding: true,
            spatial_chunk: 256,
            shard_size: "4096".into(),
            codec: Codec::Auto,
            level: 3,
            device: Device::Auto,
            keep_scale_offset: false,
            groups: "/measurements/reflectance/r10m /measurements/reflectance/r20m /measurements/reflectance/r60m".into(),
            min_dimension: 256,
            gcp_group: String::new(),
            overwrite: false,
            resume: false,
            started: None,
            running: None,
            folder_job: None,
            outcome: None,
        }
    }
}

impl ConvertPanel {
    /// Whether a conversion runs.
    pub fn running(&self) -> bool {
        self.running.is_some()
    }

    /// The progress of the running conversion.
    pub fn progress(&self) -> Progress {
        self.running
            .as_ref()
            .map(|j| j.progress())
            .unwrap_or_default()
    }

    /// Ask the running conversion to stop.
    pub fn cancel(&self) {
        if let Some(j) = &self.running {
            j.cancel();
        }
    }

    /// Start the conversion in the background.
    pub fn start(&mut self, ctx: &egui::Context) {
        let shard_size = match self.shard_size.trim() {
            "full" => ShardSize::Full,
            n => match n.parse() {
                Ok(v) => ShardSize::Target(v),
                Err(_) => {
                    self.outcome = Some(Err(format!(
                        "shard size {n:?}: a number of pixels or `full`"
                    )));
                    return;
                }
            },
        };
        let existing = if self.resume {
            Existing::Resume
        } else if self.overwrite {
            Existing::Overwrite
        } else {
            Existing::Error
        };
        let parsed = (
            self.input.trim().to_location(),
            self.output.trim().to_location(),
        );
        let (input, output) = match parsed {
            (Ok(i), Ok(o)) => (i, o),
            (Err(e), _) | (_, Err(e)) => {
                self.outcome = Some(Err(e.to_string()));
                return;
            }
        };
        let ctx = ctx.clone();
        let s2 = S2Options {
            profile: self.profile,
            spatial_chunk: self.spatial_chunk.max(1),
            enable_sharding: self.sharding,
            compression_level: self.level,
            codec: self.codec,
            shard_size,
            keep_scale_offset: self.keep_scale_offset,
            device: self.device,
            ..S2Options::default()
        };
        let generic = GenericOptions {
            profile: self.profile,
            groups: self.groups.split_whitespace().map(str::to_string).collect(),
            spatial_chunk: self.spatial_chunk.max(1),
            min_dimension: self.min_dimension,
            gcp_group: (!self.gcp_group.trim().is_empty())
                .then(|| self.gcp_group.trim().to_string()),
            enable_sharding: self.sharding,
            compression_level: self.level,
            codec: self.codec,
            shard_size,
            device: self.device,
            ..GenericOptions::default()
        };
        let pipeline = self.pipeline;
        let job = super::job::Job::spawn_with("the conversion", Some(ctx), move |c| {
            let report = |done: usize, total: usize, what: &str| {
                c.report(done as u64, total as u64, what);
            };
            let s2 = S2Options {
                cancel: c.cancel_flag(),
                ..s2
            };
            let generic = GenericOptions {
                cancel: c.cancel_flag(),
                ..generic
            };
            let result = match pipeline {
                Pipeline::Optimized => {
                    crate::convert::convert_s2_optimized(&input, &output, &s2, existing, &report)
                }
                Pipeline::Generic => crate::convert::create_geozarr_dataset(
                    &input, &output, &generic, existing, &report,
                ),
            };
            result
                .map(|(_, r)| {
                    if r.up_to_date {
                        format!(
                            "{} already holds the complete output of this input and these options: nothing to do",
                            output
                        )
                    } else {
                        format!(
                            "wrote {} ({} arrays, {} groups; kernels: {})",
                            output,
                            r.arrays,
                            r.groups,
                            r.kernels
                        )
                    }
                })
                .map_err(|e| e.to_string())
        });
        self.started = Some(Instant::now());
        self.running = Some(job);
        self.outcome = None;
    }

    /// Draw the panel; returns the output path when a conversion has just finished.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<Location> {
        if let Some(j) = &self.folder_job
            && let Some(r) = j.poll()
        {
            self.folder_job = None;
            if let Ok(Some(p)) = r {
                self.output = p.join("out.zarr").display().to_string();
            }
        }
        let mut finished = None;
        if let Some(job) = &self.running
            && let Some(r) = job.poll()
        {
            self.running = None;
            if r.is_ok() {
                finished = self.output.trim().to_location().ok();
            }
            self.outcome = Some(r);
        }
        let busy = self.running();
        ui.add_enabled_ui(!busy, |ui| self.options(ui));
        ui.separator();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new("Start conversion"))
                .clicked()
            {
                self.start(ui.ctx());
            }
            if ui.add_enabled(busy, egui::Button::new("Cancel")).clicked() {
                self.cancel();
            }
        });
        if busy {
            self.stages(ui);
        }
        match &self.outcome {
            Some(Ok(m)) => {
                ui.colored_label(egui::Color32::LIGHT_GREEN, format!("Done: {m}"));
            }
            Some(Err(e)) => {
                ui.colored_label(egui::Color32::LIGHT_RED, format!("Conversion failed: {e}"));
            }
            None => {}
        }
        finished
    }

    /// The options grid.
    fn options(&mut self, ui: &mut egui::Ui) {
        egui::Grid::new("convert-options")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Input");
                ui.add(
                    egui::TextEdit::singleline(&mut self.input)
                        .hint_text("folder, s3://bucket/key or https://…")
                        .desired_width(520.0),
                );
                ui.end_row();
                ui.label("Output");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.output)
                            .hint_text("folder or s3://bucket/key")
                            .desired_width(420.0),
                    );
                    if ui
                        .add_enabled(self.folder_job.is_none(), egui::Button::new("Choose…"))
                        .clicked()
                    {
                        self.folder_job = Some(super::job::Job::spawn(
                            "choosing a folder",
                            Some(ui.ctx().clone()),
                            || Ok(rfd::FileDialog::new().pick_folder()),
                        ));
                    }
                });
                ui.end_row();
                ui.label("Pipeline");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.pipeline, Pipeline::Optimized, "optimized (S2)");
                    ui.selectable_value(&mut self.pipeline, Pipeline::Generic, "generic");
                });
                ui.end_row();
                ui.label("Profile");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.profile, Profile::Geozarr, "geozarr");
                    ui.selectable_value(&mut self.profile, Profile::Reference, "reference");
                });
                ui.end_row();
                ui.label("Chunks");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut self.sharding, "sharding");
                    let l = ui.label("inner chunk");
                    ui.add(egui::DragValue::new(&mut self.spatial_chunk).range(1..=16384))
                        .labelled_by(l.id);
                    let l = ui.label("shard size");
                    ui.add(egui::TextEdit::singleline(&mut self.shard_size).desired_width(60.0))
                        .labelled_by(l.id);
                });
                ui.end_row();
                ui.label("Codec");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.codec, Codec::Auto, "auto")
                        .on_hover_text(
                            "zstd; Blosc zstd with byte shuffle for packed uint16 reflectance",
                        );
                    ui.selectable_value(&mut self.codec, Codec::Zstd, "zstd");
                    ui.selectable_value(&mut self.codec, Codec::BloscZstd, "blosc-zstd");
                    ui.selectable_value(
                        &mut self.codec,
                        Codec::BloscZstdBitShuffle,
                        "blosc-zstd bit-shuffle",
                    );
                    ui.add(egui::Slider::new(&mut self.level, 1..=9).text("level"));
                });
                ui.end_row();
                ui.label("Device");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.device, Device::Auto, "auto");
                    ui.selectable_value(&mut self.device, Device::Gpu, "GPU");
                    ui.selectable_value(&mut self.device, Device::Cpu, "CPU");
                });
                ui.end_row();
                ui.label("Options");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut self.keep_scale_offset, "keep scale-offset");
                    ui.checkbox(&mut self.overwrite, "overwrite");
                    ui.checkbox(&mut self.resume, "resume");
                });
                ui.end_row();
                if self.pipeline == Pipeline::Generic {
                    let l = ui.label("Groups");
                    ui.add(egui::TextEdit::singleline(&mut self.groups).desired_width(520.0))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Min dimension");
                    ui.add(egui::DragValue::new(&mut self.min_dimension).range(1..=65536))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("GCP group (S1)");
                    ui.add(egui::TextEdit::singleline(&mut self.gcp_group).desired_width(240.0))
                        .labelled_by(l.id);
                    ui.end_row();
                }
            });
    }

    /// The progress of the running conversion, stage by stage.
    fn stages(&self, ui: &mut egui::Ui) {
        let p = self.progress();
        let frac = if p.total == 0 {
            0.0
        } else {
            p.done as f32 / p.total as f32
        };
        let eta = match (self.started, frac > 0.02) {
            (Some(t), true) => {
                let left = t.elapsed().as_secs_f32() * (1.0 - frac) / frac;
                format!(" · about {left:.0} s left")
            }
            _ => String::new(),
        };
        // One bar per stage: the arrays (data, read → compute → write, shard by shard),
        // then the metadata documents and the consolidated metadata.
        let metadata = p.what == "metadata";
        egui::Grid::new("convert-stages")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("1. arrays");
                ui.add(
                    egui::ProgressBar::new(if metadata { 1.0 } else { frac })
                        .text(format!("{}/{} arrays{eta}", p.done, p.total))
                        .animate(!metadata),
                );
                ui.end_row();
                ui.label("2. metadata");
                ui.add(
                    egui::ProgressBar::new(0.0)
                        .text(if metadata {
                            "writing the documents and the consolidated metadata"
                        } else {
                            "after the arrays"
                        })
                        .animate(metadata),
                );
                ui.end_row();
            });
        if !metadata {
            ui.label(format!("writing {}", p.what));
        }
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }
}
