//! Composites for display: reads bands of a product (EOPF input or GeoZarr output), CF-decodes them
//! and builds an RGBA image with a percentile stretch. Used by the desktop application and by the
//! headless preview (`eopf-geozarr preview`, `make run` without a display).

use std::path::Path;

use crate::error::{Error, Result, show};
use crate::hierarchy::Hierarchy;
pub mod raw;

pub use raw::{RawBand, RawData, RawTile, colour_raw, read_preset_raw};

/// An RGBA8 image, row-major.
#[derive(Debug, Clone)]
pub struct Rgba {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// A decoded band: reflectance as f32 (NaN = nodata).
#[derive(Debug, Clone)]
pub struct Band {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

/// A window of a level: rows and columns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window {
    pub rows: std::ops::Range<u64>,
    pub cols: std::ops::Range<u64>,
}

/// The stretch of a composite: per-channel bounds (lo, hi; single-band images use the first) and
/// a gamma applied after the linear stretch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    pub bounds: [(f32, f32); 3],
    pub gamma: f32,
}

impl Stretch {
    /// Map a value of channel `c` to 0…1.
    pub fn apply(&self, c: usize, v: f32) -> f32 {
        let (l, h) = self.bounds[c];
        let t = ((v - l) / (h - l).max(1e-12)).clamp(0.0, 1.0);
        if self.gamma == 1.0 {
            t
        } else {
            t.powf(1.0 / self.gamma.max(1e-3))
        }
    }
}

/// Read a 2-D band and decode it: integer arrays with CF attributes (`scale_factor`, `add_offset`,
/// fill → NaN), float arrays as stored.
pub fn read_band(h: &Hierarchy, path: &str) -> Result<Band> {
    read_band_window(h, path, None)
}

/// [`read_band`] of a window only (clipped to the array).
pub fn read_band_window(h: &Hierarchy, path: &str, window: Option<&Window>) -> Result<Band> {
    Ok(raw::read_band_raw(h, path, window)?.decode())
}

/// The `lo`/`hi` percentiles (0–100) of the finite values.
pub fn percentiles(values: &[f32], lo: f32, hi: f32) -> Option<(f32, f32)> {
    let step = (values.len() / 262_144).max(1);
    let mut v: Vec<f32> = values
        .iter()
        .step_by(step)
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let at = |p: f32| v[((p / 100.0) * (v.len() - 1) as f32).round() as usize];
    Some((at(lo), at(hi)))
}

/// Mean visible reflectance above which a pixel counts as cloud or snow for the stretch.
pub const CLEAR_MAX: f32 = 0.3;

/// Stretch three bands into an RGBA image (nodata transparent), `lo`–`hi` percentiles per channel
/// of the clear pixels.
pub fn composite(r: &Band, g: &Band, b: &Band, lo: f32, hi: f32) -> Result<Rgba> {
    let stretch = clear_stretch(r, g, b, lo, hi);
    composite_stretched(r, g, b, &stretch)
}

/// The `lo`–`hi` percentiles per channel of the clear pixels (all valid pixels when fewer than
/// 10 % are clear).
pub fn clear_stretch(r: &Band, g: &Band, b: &Band, lo: f32, hi: f32) -> Stretch {
    // Percentiles of the clear pixels (clouds and snow would otherwise take the whole range);
    // all valid pixels when fewer than 10 % are clear.
    let n = r.values.len();
    let clear: Vec<usize> = (0..n)
        .filter(|&i| (r.values[i] + g.values[i] + b.values[i]) / 3.0 < CLEAR_MAX)
        .collect();
    let stretch: Vec<(f32, f32)> = [r, g, b]
        .iter()
        .map(|band| {
            let vals: Vec<f32> = if clear.len() * 10 >= n {
                clear.iter().map(|&i| band.values[i]).collect()
            } else {
                band.values.clone()
            };
            percentiles(&vals, lo, hi).unwrap_or((0.0, 1.0))
        })
        .collect();
    Stretch {
        bounds: [stretch[0], stretch[1], stretch[2]],
        gamma: 1.0,
    }
}

/// Three bands into an RGBA image with fixed per-channel bounds (nodata transparent).
pub fn composite_stretched(r: &Band, g: &Band, b: &Band, stretch: &Stretch) -> Result<Rgba> {
    if (r.width, r.height) != (g.width, g.height) || (r.width, r.height) != (b.width, b.height) {
        return Err(Error::Input("the three bands differ in shape".into()));
    }
    let mut pixels = vec![0u8; r.width * r.height * 4];
    for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
        let vals = [r.values[i], g.values[i], b.values[i]];
        if vals.iter().any(|v| !v.is_finite()) {
            continue;
        }
        for c in 0..3 {
            px[c] = (stretch.apply(c, vals[c]) * 255.0).round() as u8;
        }
        px[3] = 255;
    }
    Ok(Rgba {
        width: r.width,
        height: r.height,
        pixels,
    })
}

/// Which resolution group holds the bands, for an EOPF product or a GeoZarr output.
pub fn reflectance_group(h: &Hierarchy, resolution: &str) -> Result<String> {
    let p = format!("/measurements/reflectance/{resolution}");
    if h.node(&p).is_some() {
        return Ok(p);
    }
    Err(Error::Missing {
        path: format!("{}{p}", h.location()),
        what: format!("reflectance group {resolution}"),
    })
}

/// True colour (B04/B03/B02) of a resolution group with a 2–98 % stretch of the clear pixels.
pub fn true_colour(h: &Hierarchy, resolution: &str) -> Result<Rgba> {
    let g = reflectance_group(h, resolution)?;
    let r = read_band(h, &format!("{g}/b04"))?;
    let gr = read_band(h, &format!("{g}/b03"))?;
    let b = read_band(h, &format!("{g}/b02"))?;
    composite(&r, &gr, &b, 2.0, 98.0)
}

impl Rgba {
    /// Write as PNG.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let img =
            image::RgbaImage::from_raw(self.width as u32, self.height as u32, self.pixels.clone())
                .ok_or_else(|| Error::Input("image buffer has the wrong size".into()))?;
        img.save(path).map_err(|e| Error::io(show(path), e))
    }

    /// Fraction of opaque (valid) pixels.
    pub fn valid_fraction(&self) -> f64 {
        let n = self.pixels.chunks_exact(4).filter(|p| p[3] == 255).count();
        n as f64 / (self.width * self.height).max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretch_maps_percentiles() {
        let v: Vec<f32> = (0..=100).map(|i| i as f32 / 100.0).collect();
        let (lo, hi) = percentiles(&v, 2.0, 98.0).unwrap();
        assert!((lo - 0.02).abs() < 1e-6 && (hi - 0.98).abs() < 1e-6);
        let band = Band {
            width: 101,
            height: 1,
            values: v,
        };
        let img = composite(&band, &band, &band, 2.0, 98.0).unwrap();
        assert_eq!(&img.pixels[0..4], &[0, 0, 0, 255]);
        assert_eq!(&img.pixels[400..404], &[255, 255, 255, 255]);
        assert!(percentiles(&[f32::NAN], 2.0, 98.0).is_none());
    }
}

/// What the map shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// B04/B03/B02.
    TrueColour,
    /// B08/B04/B03 (B8A where the level has no B08, e.g. r20m/r60m).
    FalseColour,
    /// B12/B8A/B04.
    Swir,
    /// B11/B08/B02 (B8A where the level has no B08).
    Agriculture,
    /// NDVI = (NIR − red)/(NIR + red), NIR = B08 or B8A, brown → yellow → green over −0.2…0.9.
    Ndvi,
    /// The scene classification with ESA's class colours.
    Scl,
    /// One band (index into [`BANDS`]) through a colour map, 2–98 % stretch.
    Single { band: u8, colormap: Colormap },
}

/// The spectral bands, in the order of the single-band menu.
pub const BANDS: [&str; 13] = [
    "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b8a", "b09", "b10", "b11", "b12",
];

/// Colour maps of single-band images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colormap {
    Greys,
    Viridis,
    Magma,
    Turbo,
}

impl Colormap {
    pub const ALL: [Colormap; 4] = [
        Colormap::Greys,
        Colormap::Viridis,
        Colormap::Magma,
        Colormap::Turbo,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Colormap::Greys => "greys",
            Colormap::Viridis => "viridis",
            Colormap::Magma => "magma",
            Colormap::Turbo => "turbo",
        }
    }

    /// The colour of the 256-entry table at `t` (0…1, rounded to 1/255): what the map shows,
    /// on the CPU and on the GPU alike.
    pub fn table_colour(self, t: f32) -> [u8; 3] {
        self.colour((t.clamp(0.0, 1.0) * 255.0).round() / 255.0)
    }

    /// The colour at `t` (0…1).
    pub fn colour(self, t: f32) -> [u8; 3] {
        let t = f64::from(t.clamp(0.0, 1.0));
        let c = match self {
            Colormap::Greys => {
                let v = (t * 255.0).round() as u8;
                return [v, v, v];
            }
            Colormap::Viridis => colorous::VIRIDIS.eval_continuous(t),
            Colormap::Magma => colorous::MAGMA.eval_continuous(t),
            Colormap::Turbo => colorous::TURBO.eval_continuous(t),
        };
        [c.r, c.g, c.b]
    }
}

impl Preset {
    /// Every preset, in menu order.
    pub const ALL: [Preset; 7] = [
        Preset::TrueColour,
        Preset::FalseColour,
        Preset::Swir,
        Preset::Agriculture,
        Preset::Ndvi,
        Preset::Scl,
        Preset::Single {
            band: 3,
            colormap: Colormap::Viridis,
        },
    ];

    /// Whether the preset is stretched (RGB composites and single bands).
    pub fn stretched(self) -> bool {
        !matches!(self, Preset::Ndvi | Preset::Scl)
    }

    /// Whether two presets are the same menu entry (single bands with any band or map).
    pub fn same_kind(self, other: Preset) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::TrueColour => "True colour (B04/B03/B02)",
            Preset::FalseColour => "False colour (B08/B04/B03)",
            Preset::Swir => "SWIR (B12/B8A/B04)",
            Preset::Agriculture => "Agriculture (B11/B08/B02)",
            Preset::Ndvi => "NDVI",
            Preset::Scl => "Scene classification (SCL)",
            Preset::Single { .. } => "Single band",
        }
    }
}

/// ESA's scene classification classes: value, name, colour.
pub const SCL_CLASSES: [(u8, &str, [u8; 3]); 12] = [
    (0, "No data", [0, 0, 0]),
    (1, "Saturated or defective", [255, 0, 0]),
    (2, "Dark area pixels", [47, 47, 47]),
    (3, "Cloud shadows", [100, 50, 0]),
    (4, "Vegetation", [0, 160, 0]),
    (5, "Not vegetated", [255, 230, 90]),
    (6, "Water", [0, 0, 255]),
    (7, "Unclassified", [128, 128, 128]),
    (8, "Cloud medium probability", [192, 192, 192]),
    (9, "Cloud high probability", [255, 255, 255]),
    (10, "Thin cirrus", [100, 200, 255]),
    (11, "Snow or ice", [255, 150, 255]),
];

/// The NIR band of a level: B08 when present, else B8A.
fn nir(h: &Hierarchy, g: &str) -> String {
    if h.node(&format!("{g}/b08")).is_some() {
        format!("{g}/b08")
    } else {
        format!("{g}/b8a")
    }
}

/// Render `preset` of the reflectance level `resolution` (SCL: the classification at that level).
pub fn render_preset(h: &Hierarchy, resolution: &str, preset: Preset) -> Result<Rgba> {
    render_preset_window(h, resolution, preset, None, None).map(|r| r.0)
}

/// [`render_preset`] of a window of the level (the map's tiles), with the given per-channel
/// stretch (RGB presets; computed from the window when `None`). Returns the image and the stretch
/// used, so that finer tiles reuse the bounds of the whole-level image.
pub fn render_preset_window(
    h: &Hierarchy,
    resolution: &str,
    preset: Preset,
    window: Option<&Window>,
    stretch: Option<&Stretch>,
) -> Result<(Rgba, Option<Stretch>)> {
    raw::colour_raw(
        &raw::read_preset_raw(h, resolution, preset, window)?,
        stretch,
    )
}

/// The band arrays behind a stretched preset at `resolution` (R, G, B; one for a single band);
/// `None` for NDVI and SCL.
pub fn preset_band_paths(
    h: &Hierarchy,
    resolution: &str,
    preset: Preset,
) -> Result<Option<Vec<String>>> {
    let g = reflectance_group(h, resolution)?;
    let b = |n: &str| format!("{g}/{n}");
    Ok(Some(match preset {
        Preset::TrueColour => vec![b("b04"), b("b03"), b("b02")],
        Preset::FalseColour => vec![nir(h, &g), b("b04"), b("b03")],
        Preset::Swir => vec![b("b12"), b("b8a"), b("b04")],
        Preset::Agriculture => vec![b("b11"), nir(h, &g), b("b02")],
        Preset::Single { band, .. } => {
            vec![b(BANDS.get(usize::from(band)).copied().unwrap_or("b04"))]
        }
        Preset::Ndvi | Preset::Scl => return Ok(None),
    }))
}

/// Value histograms of the channels a preset stretches, over one common range.
#[derive(Debug, Clone, PartialEq)]
pub struct Histograms {
    /// Value range of the bins.
    pub lo: f32,
    pub hi: f32,
    /// Per channel (3 for RGB, 1 for a single band): counts per bin.
    pub counts: Vec<Vec<u32>>,
}

/// The histograms of the bands behind `preset` at `resolution` (`bins` bins between the 0.1 and
/// 99.9 percentiles of all channels); `None` for presets without a stretch.
pub fn histograms(
    h: &Hierarchy,
    resolution: &str,
    preset: Preset,
    bins: usize,
) -> Result<Option<Histograms>> {
    let Some(paths) = preset_band_paths(h, resolution, preset)? else {
        return Ok(None);
    };
    let bands = paths
        .iter()
        .map(|p| read_band(h, p))
        .collect::<Result<Vec<_>>>()?;
    let all: Vec<f32> = bands
        .iter()
        .flat_map(|b| b.values.iter().copied())
        .collect();
    let (lo, hi) = percentiles(&all, 0.1, 99.9).unwrap_or((0.0, 1.0));
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let bins = bins.max(1);
    let counts = bands
        .iter()
        .map(|b| {
            let mut c = vec![0u32; bins];
            for &v in &b.values {
                if v.is_finite() && v >= lo && v <= hi {
                    let i = (((v - lo) / (hi - lo)) * bins as f32) as usize;
                    c[i.min(bins - 1)] += 1;
                }
            }
            c
        })
        .collect();
    Ok(Some(Histograms { lo, hi, counts }))
}

/// Brown (−0.2 and below) → yellow (0.3) → green (0.9 and above).
pub fn ndvi_colour(v: f32) -> [u8; 3] {
    let stops: [(f32, [f32; 3]); 3] = [
        (-0.2, [140.0, 80.0, 30.0]),
        (0.3, [240.0, 220.0, 80.0]),
        (0.9, [20.0, 130.0, 40.0]),
    ];
    let v = v.clamp(stops[0].0, stops[2].0);
    let (a, b) = if v <= stops[1].0 {
        (stops[0], stops[1])
    } else {
        (stops[1], stops[2])
    };
    let t = (v - a.0) / (b.0 - a.0);
    std::array::from_fn(|c| (a.1[c] + t * (b.1[c] - a.1[c])).round() as u8)
}
