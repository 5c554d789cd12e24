//! Compare the map's level with a second store (e.g. the CPU and the GPU output of one
//! conversion, or an input and its GeoZarr) or with another level of the same product (e.g. the
//! stored r60m against r10m averaged to 60 m, or an overview): a swipe between the two images,
//! rendered with the same stretch, and a difference view (B − A of the preset's bands, the
//! largest |difference| of the channels with its sign) on a diverging colour scale with its
//! legend. A level of another resolution is brought to the map's grid first: a finer one by
//! block means (the pyramid kernels), a coarser one by repeating its pixels.

use std::sync::Arc;

use crate::hierarchy::Hierarchy;
use crate::render::{Band, Preset, Rgba, Stretch, Window, colour_raw};

use super::canvas::{Level, read_level};

/// What the map's level is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// The same level of a second store (`Compare::path_input`).
    Store,
    /// Another level of the open product, by name.
    Level(String),
}

/// How the second store is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Swipe,
    Difference,
}

/// What the comparison computed.
pub struct CompareData {
    pub path: String,
    /// The second store's image with the first one's stretch.
    pub image: Rgba,
    /// B − A on the diverging scale (transparent where either is nodata).
    pub diff: Option<Rgba>,
    /// Largest |B − A| over the valid pixels (the scale runs from −max to +max).
    pub max_abs: f32,
    /// Pixels where both have data.
    pub compared: usize,
}

/// The compare state of the map.
pub struct Compare {
    pub against: Against,
    pub path_input: String,
    pub mode: Mode,
    /// Where the swipe line is (0 = left edge, 1 = right edge): B is shown right of it.
    pub swipe: f32,
    pub data: Option<CompareData>,
    pub error: Option<String>,
    job: Option<super::job::Job<CompareData>>,
    pub textures: Option<(egui::TextureHandle, Option<egui::TextureHandle>)>,
}

impl Default for Compare {
    fn default() -> Self {
        Compare {
            against: Against::Store,
            path_input: String::new(),
            mode: Mode::Swipe,
            swipe: 0.5,
            data: None,
            error: None,
            job: None,
            textures: None,
        }
    }
}

/// The colour of a difference `t` in −1…1: blue (B < A), white (equal), red (B > A).
pub fn diverging(t: f32) -> [u8; 3] {
    let c = colorous::RED_BLUE.eval_continuous(f64::from((1.0 - t.clamp(-1.0, 1.0)) / 2.0));
    [c.r, c.g, c.b]
}

/// The whole of `level` of `h`, as stored (overviews reduced from their stored level).
fn whole(h: &Hierarchy, level: &Level, preset: Preset) -> crate::Result<crate::render::RawTile> {
    let kernels = crate::kernels::Kernels::cpu();
    read_level(
        h,
        &kernels,
        level,
        preset,
        &Window {
            rows: 0..level.height,
            cols: 0..level.width,
        },
    )
}

/// `band` brought to `w` × `h`: block means of a finer band, repeated pixels of a coarser one.
fn to_grid(band: &Band, w: usize, h: usize) -> crate::Result<Band> {
    if (band.width, band.height) == (w, h) {
        return Ok(band.clone());
    }
    if band.width > w {
        let f = (band.width as f64 / w as f64).round().max(1.0) as usize;
        let (v, bw, bh, _) = crate::kernels::Kernels::cpu().block_mean_f32(
            &band.values,
            band.width,
            band.height,
            f,
            crate::kernels::Edge::Partial,
            true,
        )?;
        return Ok(Band {
            width: w,
            height: h,
            values: (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    if x < bw && y < bh {
                        v[y * bw + x]
                    } else {
                        f32::NAN
                    }
                })
                .collect(),
        });
    }
    let f = (w as f64 / band.width.max(1) as f64).round().max(1.0) as usize;
    Ok(Band {
        width: w,
        height: h,
        values: (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) / f, (i / w) / f);
                if x < band.width && y < band.height {
                    band.values[y * band.width + x]
                } else {
                    f32::NAN
                }
            })
            .collect(),
    })
}

/// Compare level `resolution` of `a` with `against` (`b`: the second store's path) for `preset`.
pub fn compute(
    a: &Hierarchy,
    against: &Against,
    b: &str,
    resolution: &str,
    preset: Preset,
    stretch: Option<Stretch>,
) -> crate::Result<CompareData> {
    let levels = super::canvas::levels(a);
    let level_a = levels
        .iter()
        .find(|l| l.name == resolution)
        .ok_or_else(|| crate::Error::Input(format!("{}: no level {resolution}", a.location())))?;
    let hb;
    let (raw_b, label) = match against {
        Against::Store => {
            hb = Hierarchy::open(b)?;
            let lb = super::canvas::levels(&hb)
                .into_iter()
                .find(|l| l.name == resolution)
                .ok_or_else(|| {
                    crate::Error::Input(format!("{b}: no reflectance level {resolution}"))
                })?;
            (whole(&hb, &lb, preset)?, b.to_string())
        }
        Against::Level(name) => {
            let lb = levels
                .iter()
                .find(|l| &l.name == name)
                .ok_or_else(|| crate::Error::Input(format!("{}: no level {name}", a.location())))?;
            (whole(a, lb, preset)?, format!("level {name}"))
        }
    };
    let (image, _) = colour_raw(&raw_b, stretch.as_ref())?;
    let (mut diff, mut max_abs, mut compared) = (None, 0f32, 0usize);
    if preset.stretched() {
        let ba: Vec<Band> = whole(a, level_a, preset)?
            .bands
            .iter()
            .map(|x| x.decode())
            .collect();
        let (w, h) = (ba[0].width, ba[0].height);
        let bb: Vec<Band> = raw_b.bands.iter().map(|x| x.decode()).collect();
        if *against == Against::Store && bb.iter().any(|x| (x.width, x.height) != (w, h)) {
            return Err(crate::Error::Input(format!(
                "{b}: {resolution} is {}×{}, the open product's is {w}×{h}",
                bb[0].width, bb[0].height
            )));
        }
        let bb = bb
            .iter()
            .map(|x| to_grid(x, w, h))
            .collect::<crate::Result<Vec<_>>>()?;
        let signed: Vec<Option<f32>> = (0..w * h)
            .map(|i| {
                let mut best: Option<f32> = None;
                for (x, y) in ba.iter().zip(&bb) {
                    let (u, v) = (x.values[i], y.values[i]);
                    if !(u.is_finite() && v.is_finite()) {
                        return None;
                    }
                    let d = v - u;
                    if best.is_none_or(|m| d.abs() > m.abs()) {
                        best = Some(d);
                    }
                }
                best
            })
            .collect();
        for d in signed.iter().flatten() {
            compared += 1;
            max_abs = max_abs.max(d.abs());
        }
        let scale = if max_abs > 0.0 { max_abs } else { 1.0 };
        let mut pixels = vec![0u8; w * h * 4];
        for (px, d) in pixels.chunks_exact_mut(4).zip(&signed) {
            if let Some(d) = d {
                px[..3].copy_from_slice(&diverging(d / scale));
                px[3] = 255;
            }
        }
        diff = Some(Rgba {
            width: w,
            height: h,
            pixels,
        });
    }
    Ok(CompareData {
        path: label,
        image,
        diff,
        max_abs,
        compared,
    })
}

impl Compare {
    /// Start comparing with `against` (the store at `path_input`, or a level) in the background.
    pub fn start(
        &mut self,
        a: Arc<Hierarchy>,
        resolution: String,
        preset: Preset,
        stretch: Option<Stretch>,
        ctx: egui::Context,
    ) {
        let b = self.path_input.trim().to_string();
        let against = self.against.clone();
        self.job = Some(super::job::Job::spawn(
            "the comparison",
            Some(ctx),
            move || {
                compute(&a, &against, &b, &resolution, preset, stretch).map_err(|e| e.to_string())
            },
        ));
        self.error = None;
    }

    /// Whether a comparison is being computed.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Take a finished comparison.
    pub fn poll(&mut self) {
        if let Some(job) = &self.job
            && let Some(r) = job.poll()
        {
            self.job = None;
            self.textures = None;
            match r {
                Ok(d) => self.data = Some(d),
                Err(e) => {
                    self.data = None;
                    self.error = Some(e);
                }
            }
        }
    }

    /// Forget the comparison (another product or preset).
    pub fn clear(&mut self) {
        self.data = None;
        self.textures = None;
        self.job = None;
    }
}

/// The colour scale of the difference view: a gradient from −max to +max with its labels.
pub fn legend(ui: &mut egui::Ui, max_abs: f32) {
    ui.horizontal(|ui| {
        if max_abs == 0.0 {
            ui.label("B − A: identical");
        }
        ui.label(format!("−{max_abs:.3e}"));
        let (rect, _) = ui.allocate_exact_size(egui::vec2(160.0, 12.0), egui::Sense::hover());
        let n = 32;
        for i in 0..n {
            let t = -1.0 + 2.0 * (i as f32 + 0.5) / n as f32;
            let c = diverging(t);
            let x0 = rect.min.x + rect.width() * i as f32 / n as f32;
            let x1 = rect.min.x + rect.width() * (i + 1) as f32 / n as f32;
            ui.painter().rect_filled(
                egui::Rect::from_min_max(egui::pos2(x0, rect.min.y), egui::pos2(x1, rect.max.y)),
                0.0,
                egui::Color32::from_rgb(c[0], c[1], c[2]),
            );
        }
        ui.label(format!("+{max_abs:.3e}"));
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn diverging_scale_ends_and_middle() {
        let mid = super::diverging(0.0);
        assert!(mid.iter().all(|&c| c > 230), "{mid:?}");
        let hi = super::diverging(1.0);
        let lo = super::diverging(-1.0);
        assert!(hi[0] > hi[2], "B > A is red: {hi:?}");
        assert!(lo[2] > lo[0], "B < A is blue: {lo:?}");
    }
}
