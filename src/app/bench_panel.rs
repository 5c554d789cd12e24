//! The benchmark panel: runs the kernel benchmark (`eopf-geozarr bench --kernels`) in the
//! background, shows the table and a bar chart of CPU vs GPU (upload / compute / readback), the
//! adapter, and exports the JSON.

use egui_plot::{Bar, BarChart, Legend, Plot};

use crate::bench::KernelRow;
use crate::kernels::{AdapterDescription, Device, Kernels};

/// A finished run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchResult {
    pub size: usize,
    pub adapter: Option<AdapterDescription>,
    pub cpu: String,
    pub rows: Vec<KernelRow>,
}

/// The panel's state.
pub struct BenchPanel {
    pub size: usize,
    running: Option<super::job::Job<BenchResult>>,
    pub result: Option<BenchResult>,
    pub error: Option<String>,
    pub export_path: String,
    pub export_note: Option<String>,
    /// The export being written.
    export: Option<super::job::Job<String>>,
}

impl Default for BenchPanel {
    fn default() -> Self {
        BenchPanel {
            size: 1098,
            running: None,
            result: None,
            error: None,
            export_path: std::env::temp_dir()
                .join("eopf-geozarr-bench.json")
                .display()
                .to_string(),
            export_note: None,
            export: None,
        }
    }
}

/// Run the kernel table on `size`² inputs (GPU column when wgpu finds an adapter).
pub fn run(size: usize) -> Result<BenchResult, String> {
    let gpu = Kernels::new(Device::Gpu).ok();
    let rows = crate::bench::kernel_table(size, gpu.as_ref()).map_err(|e| e.to_string())?;
    Ok(BenchResult {
        size,
        adapter: gpu.as_ref().and_then(|g| g.adapter().cloned()),
        cpu: Kernels::cpu().note,
        rows,
    })
}

impl BenchPanel {
    /// Whether a run is in progress.
    pub fn running(&self) -> bool {
        self.running.is_some()
    }

    fn start(&mut self, ctx: &egui::Context) {
        let size = self.size;
        self.running = Some(super::job::Job::spawn(
            "the benchmark",
            Some(ctx.clone()),
            move || run(size),
        ));
        self.error = None;
    }

    fn poll(&mut self) {
        if let Some(job) = &self.running
            && let Some(r) = job.poll()
        {
            self.running = None;
            match r {
                Ok(r) => self.result = Some(r),
                Err(e) => self.error = Some(e),
            }
        }
    }

    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.poll();
        ui.horizontal(|ui| {
            ui.label("Input size:");
            for s in [366usize, 1098, 2196, 5490, 10980] {
                ui.selectable_value(&mut self.size, s, format!("{s}²"));
            }
            let busy = self.running();
            if ui
                .add_enabled(!busy, egui::Button::new("Run benchmark"))
                .clicked()
            {
                self.start(ui.ctx());
            }
            if busy {
                ui.spinner();
                ui.label("running…");
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(egui::Color32::LIGHT_RED, format!("Benchmark failed: {e}"));
        }
        let Some(r) = &self.result else {
            ui.weak(
                "Times every kernel on the CPU (rayon) and on the GPU (wgpu) with the same input.",
            );
            return;
        };
        ui.label(format!(
            "{}² inputs · CPU: {} · GPU: {}",
            r.size,
            r.cpu,
            r.adapter
                .as_ref()
                .map_or("no adapter".to_string(), |a| format!(
                    "{} ({}, {}){}",
                    a.name,
                    a.backend,
                    a.device_type,
                    if a.is_cpu {
                        " (a CPU implementation: for correctness, not speed)"
                    } else {
                        ""
                    }
                ))
        ));
        table(ui, r);
        chart(ui, r);
        ui.horizontal(|ui| {
            let l = ui.label("Export JSON to");
            ui.text_edit_singleline(&mut self.export_path)
                .labelled_by(l.id);
            if ui.button("Export").clicked() {
                // Written by a job: no file I/O on the UI thread.
                let text = serde_json::to_string_pretty(r).unwrap_or_default();
                let path = self.export_path.clone();
                self.export = Some(super::job::Job::spawn(
                    "exporting the benchmark",
                    Some(ui.ctx().clone()),
                    move || {
                        std::fs::write(&path, text)
                            .map(|()| format!("wrote {path}"))
                            .map_err(|e| format!("{path}: {e}"))
                    },
                ));
            }
        });
        if let Some(j) = &self.export
            && let Some(r) = j.poll()
        {
            self.export = None;
            self.export_note = Some(r.unwrap_or_else(|e| e));
        }
        if let Some(n) = &self.export_note {
            ui.label(n);
        }
    }
}

/// The table: CPU and GPU times per kernel, the GPU split, speed-up and max ULP.
fn table(ui: &mut egui::Ui, r: &BenchResult) {
    egui::Grid::new("bench-table").striped(true).show(ui, |ui| {
        for h in [
            "kernel", "CPU ms", "GPU ms", "upload", "compute", "readback", "speed-up", "max ULP",
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for row in &r.rows {
            ui.label(&row.kernel);
            ui.label(format!("{:.1}", row.cpu_ms));
            let g = |f: fn(&crate::bench::GpuSplit) -> f64| {
                row.gpu
                    .as_ref()
                    .map_or("-".into(), |g| format!("{:.1}", f(g)))
            };
            ui.label(g(|g| g.total_ms));
            ui.label(g(|g| g.upload_ms));
            ui.label(g(|g| g.compute_ms));
            ui.label(g(|g| g.readback_ms));
            ui.label(row.speedup.map_or("-".into(), |s| format!("{s:.2}×")));
            ui.label(row.max_ulp.map_or("-".into(), |u| u.to_string()));
            ui.end_row();
        }
    });
}

/// Bars: CPU per kernel, and the GPU split stacked next to it.
fn chart(ui: &mut egui::Ui, r: &BenchResult) {
    let n = r.rows.len();
    let cpu: Vec<Bar> = r
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            Bar::new(i as f64 - 0.2, row.cpu_ms)
                .width(0.35)
                .name(&row.kernel)
        })
        .collect();
    let split = |f: fn(&crate::bench::GpuSplit) -> f64| -> Vec<Bar> {
        r.rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                Bar::new(i as f64 + 0.2, row.gpu.as_ref().map_or(0.0, f))
                    .width(0.35)
                    .name(&row.kernel)
            })
            .collect()
    };
    let cpu_chart = BarChart::new("CPU", cpu).color(egui::Color32::from_rgb(90, 150, 230));
    let upload = BarChart::new("GPU upload", split(|g| g.upload_ms))
        .color(egui::Color32::from_rgb(240, 170, 60));
    let compute = BarChart::new("GPU compute", split(|g| g.compute_ms))
        .color(egui::Color32::from_rgb(230, 100, 60))
        .stack_on(&[&upload]);
    let readback = BarChart::new("GPU readback", split(|g| g.readback_ms))
        .color(egui::Color32::from_rgb(160, 60, 160))
        .stack_on(&[&upload, &compute]);
    let names: Vec<String> = r.rows.iter().map(|row| row.kernel.clone()).collect();
    Plot::new("bench-plot")
        .legend(Legend::default())
        // The x axis names the kernels (one per integer position), not 0, 1, 2, 3.
        .x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 1.0, 1.0]))
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .height(260.0)
        .include_x(-0.6)
        .include_x(n as f64 - 0.4)
        .y_axis_label("ms")
        .show(ui, |p| {
            p.bar_chart(cpu_chart);
            p.bar_chart(upload);
            p.bar_chart(compute);
            p.bar_chart(readback);
        });
}
