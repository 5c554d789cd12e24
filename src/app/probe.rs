//! The pixel under the cursor at the level the map shows, when that level is finer than the
//! inspector's (zoomed in on r20m or r10m): every 2-D band of that level read at that one pixel,
//! raw and decoded, on a background thread (one read at a time; the newest cursor position
//! wins), so hovering never blocks a frame.

use std::sync::Arc;

use crate::hierarchy::{Hierarchy, NodeKind};
use crate::render::raw::{RawData, read_band_raw};
use crate::render::{Window, reflectance_group};

/// A pixel of a level: level name, column, row.
pub type Pixel = (String, u64, u64);

/// The probe's state: the pixel asked for last and the lines of its read.
#[derive(Default)]
pub struct Probe {
    reads: super::job::Latest<Pixel, Vec<String>>,
}

/// Read every 2-D band of level `name` of `h` at (`col`, `row`).
pub fn read_pixel(h: &Hierarchy, (name, col, row): &Pixel) -> crate::Result<Vec<String>> {
    let group = reflectance_group(h, name)?;
    let w = Window {
        rows: *row..row + 1,
        cols: *col..col + 1,
    };
    let mut lines = vec![format!("{name}: row {row}, col {col}")];
    let mut children = h.children(&group);
    children.sort_by(|a, b| a.path.cmp(&b.path));
    for n in children {
        let NodeKind::Array(m) = &n.kind else {
            continue;
        };
        if m.shape.len() != 2 || m.shape[0] <= *row || m.shape[1] <= *col {
            continue;
        }
        let b = read_band_raw(h, &n.path, Some(&w))?;
        let raw = match &b.data {
            RawData::U8(v) => v.first().map(|&x| f64::from(x)),
            RawData::U16(v) => v.first().map(|&x| f64::from(x)),
            RawData::F32(v) => v.first().map(|&x| f64::from(x)),
        };
        let Some(raw) = raw else { continue };
        let band = n.path.rsplit('/').next().unwrap_or(&n.path);
        lines.push(match b.cf {
            Some(cf) => {
                let d = cf.decode_f64(raw);
                let d = if d.is_nan() {
                    "nodata".to_string()
                } else {
                    format!("{d:.4}")
                };
                format!("{band:<5} {raw:>8} → {d}")
            }
            None => format!("{band:<5} {raw:>8}"),
        });
    }
    Ok(lines)
}

impl Probe {
    /// The pixel the lines describe (or are being read for).
    pub fn pixel(&self) -> Option<&Pixel> {
        self.reads.key.as_ref()
    }

    /// The lines of the last finished read (an error as one line).
    pub fn lines(&self) -> Vec<String> {
        match &self.reads.value {
            Some(Ok(l)) => l.clone(),
            Some(Err(e)) => vec![format!("cannot read the pixel: {e}")],
            None => Vec::new(),
        }
    }

    /// Ask for `pixel` (`None`: the cursor left the map or the level is the inspector's).
    pub fn want(&mut self, h: &Arc<Hierarchy>, pixel: Option<Pixel>, ctx: &egui::Context) {
        self.reads.want(pixel, |p| start(h, p, ctx));
    }

    /// Take a finished read; start the newest one asked for meanwhile.
    pub fn poll(&mut self, h: &Arc<Hierarchy>, ctx: &egui::Context) {
        self.reads.poll(|p| start(h, p, ctx));
    }

    /// Whether the lines are those of the pixel asked for last.
    pub fn settled(&self) -> bool {
        self.reads.settled()
    }
}

fn start(h: &Arc<Hierarchy>, p: &Pixel, ctx: &egui::Context) -> super::job::Job<Vec<String>> {
    let (h, q) = (h.clone(), p.clone());
    super::job::Job::spawn("reading the pixel", Some(ctx.clone()), move || {
        read_pixel(&h, &q).map_err(|e| e.to_string())
    })
}
