//! Bands as stored: a window of each band behind a preset in its native type (u8, u16, f32) with
//! its CF encoding, not yet decoded or coloured. The map's tiles are read this way: the GPU path
//! uploads them as they are (`R8Uint`/`R16Uint`/`R32Float` textures, decoded and coloured in
//! `shaders/colour.wgsl`), the CPU path colours them with [`colour_raw`] — the same function
//! [`super::render_preset_window`] uses, so both paths start from the same values.

use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::kernels::{Edge, Kernels};
use crate::product::CfEncoding;

use super::{
    Band, Preset, Rgba, SCL_CLASSES, Stretch, Window, clear_stretch, composite_stretched,
    ndvi_colour, percentiles,
};

/// Values of a band window in their stored type (f64 is narrowed to f32).
#[derive(Debug, Clone, PartialEq)]
pub enum RawData {
    U8(Vec<u8>),
    U16(Vec<u16>),
    F32(Vec<f32>),
}

/// A window of one band as stored: `cf` decodes it (`None`: the values are the data).
#[derive(Debug, Clone, PartialEq)]
pub struct RawBand {
    pub width: usize,
    pub height: usize,
    pub data: RawData,
    pub cf: Option<CfEncoding>,
}

/// The bands of one preset over one window: R, G, B (stretched presets), one band (single band),
/// NIR and red (NDVI), or the class codes (SCL, possibly at another resolution than the level).
#[derive(Debug, Clone, PartialEq)]
pub struct RawTile {
    pub preset: Preset,
    pub bands: Vec<RawBand>,
}

impl RawBand {
    /// Decode to f32 as [`super::read_band`] does: fill → NaN, `v·scale + offset` in f64.
    pub fn decode(&self) -> Band {
        let values = match (&self.data, &self.cf) {
            (RawData::U8(v), Some(cf)) => v.iter().map(|&x| cf.decode(f64::from(x))).collect(),
            (RawData::U16(v), Some(cf)) => v.iter().map(|&x| cf.decode(f64::from(x))).collect(),
            (RawData::F32(v), Some(cf)) => v.iter().map(|&x| cf.decode(f64::from(x))).collect(),
            (RawData::U8(v), None) => v.iter().map(|&x| f32::from(x)).collect(),
            (RawData::U16(v), None) => v.iter().map(|&x| f32::from(x)).collect(),
            (RawData::F32(v), None) => v.clone(),
        };
        Band {
            width: self.width,
            height: self.height,
            values,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match &self.data {
            RawData::U8(v) => v.len(),
            RawData::U16(v) => v.len() * 2,
            RawData::F32(v) => v.len() * 4,
        }
    }

    /// A coarser copy, `factor` × `factor` blocks reduced with `kernels`: class codes (u8
    /// without encoding) by their most frequent value, everything else decoded and averaged
    /// skipping nodata (an overview of a level the product does not store).
    pub fn reduce(&self, factor: usize, kernels: &Kernels) -> Result<RawBand> {
        if let (RawData::U8(v), None) = (&self.data, &self.cf) {
            let (out, w, h, _) = kernels.block_u8(
                v,
                self.width,
                self.height,
                factor,
                Edge::Partial,
                crate::kernels::IntOp::Mode,
            )?;
            return Ok(RawBand {
                width: w,
                height: h,
                data: RawData::U8(out),
                cf: None,
            });
        }
        let band = self.decode();
        let (out, w, h, _) = kernels.block_mean_f32(
            &band.values,
            self.width,
            self.height,
            factor,
            Edge::Partial,
            true,
        )?;
        Ok(RawBand {
            width: w,
            height: h,
            data: RawData::F32(out),
            cf: None,
        })
    }
}

impl RawTile {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bands.iter().map(RawBand::bytes).sum()
    }

    /// Width and height of the first band.
    pub fn size(&self) -> (usize, usize) {
        self.bands.first().map_or((0, 0), |b| (b.width, b.height))
    }

    /// [`RawBand::reduce`] of every band.
    pub fn reduce(&self, factor: usize, kernels: &Kernels) -> Result<RawTile> {
        Ok(RawTile {
            preset: self.preset,
            bands: self
                .bands
                .iter()
                .map(|b| b.reduce(factor, kernels))
                .collect::<Result<_>>()?,
        })
    }
}

/// The values of a region read in C order.
fn flat<T: Clone>(a: ndarray::ArrayD<T>) -> Vec<T> {
    if !a.is_standard_layout() {
        return a.iter().cloned().collect();
    }
    let n = a.len();
    let (mut v, off) = a.into_raw_vec_and_offset();
    let o = off.unwrap_or(0);
    if o == 0 && v.len() == n {
        v
    } else {
        v.drain(o..o + n).collect()
    }
}

/// Read a window (clipped to the array; `None`: all of it) of a 2-D band in its stored type.
pub fn read_band_raw(h: &Hierarchy, path: &str, window: Option<&Window>) -> Result<RawBand> {
    let node = h.node(path).ok_or_else(|| Error::Missing {
        path: format!(
            "{}{}",
            h.location(),
            crate::hierarchy::normalize_node_path(path)
        ),
        what: "band".into(),
    })?;
    let meta = h.array_meta(path)?;
    if meta.shape.len() != 2 {
        return Err(Error::Input(format!(
            "{}{path}: expected a 2-D band, found shape {:?}",
            h.location(),
            meta.shape
        )));
    }
    let cf = CfEncoding::from_attributes(&node.attributes, &meta.fill_value);
    let (hh, ww) = (meta.shape[0], meta.shape[1]);
    let ranges = match window {
        Some(w) => vec![
            w.rows.start.min(hh)..w.rows.end.min(hh),
            w.cols.start.min(ww)..w.cols.end.min(ww),
        ],
        None => vec![0..hh, 0..ww],
    };
    use crate::dtype::DataType as D;
    let (data, cf) = match &meta.data_type {
        D::U16 => (
            RawData::U16(flat(h.read_region::<u16>(path, &ranges)?)),
            Some(cf),
        ),
        D::U8 => (
            RawData::U8(flat(h.read_region::<u8>(path, &ranges)?)),
            Some(cf),
        ),
        D::F32 => {
            // Float data is shown as stored unless it carries a scale or an offset.
            let encoded = cf.scale_factor != 1.0 || cf.add_offset != 0.0;
            (
                RawData::F32(flat(h.read_region::<f32>(path, &ranges)?)),
                encoded.then_some(cf),
            )
        }
        D::F64 => (
            RawData::F32(
                h.read_region::<f64>(path, &ranges)?
                    .iter()
                    .map(|&v| v as f32)
                    .collect(),
            ),
            None,
        ),
        other => {
            return Err(Error::Unsupported {
                path: format!("{}{path}", h.location()),
                what: "data type",
                reason: format!("cannot display dtype {other}"),
            });
        }
    };
    Ok(RawBand {
        width: (ranges[1].end - ranges[1].start) as usize,
        height: (ranges[0].end - ranges[0].start) as usize,
        data,
        cf,
    })
}

/// The scene classification array for level `resolution` — the coarsest stored one at least as
/// fine as the level, else the finest stored — and `window` of the level scaled to the
/// classification's own grid, with the factor by which it is finer than the level (≥ 1).
fn scl_window(
    h: &Hierarchy,
    resolution: &str,
    window: Option<&Window>,
) -> Result<(String, Window, usize)> {
    let g = super::reflectance_group(h, resolution)?;
    let parent = "/conditions/mask/l2a_classification";
    let res_of =
        |name: &str| -> Option<f64> { name.strip_prefix('r')?.strip_suffix('m')?.parse().ok() };
    let level_res = res_of(resolution).unwrap_or(f64::INFINITY);
    let mut stored: Vec<(f64, String)> = h
        .children(parent)
        .into_iter()
        .filter_map(|n| {
            let name = n.path.rsplit('/').next()?;
            let p = format!("{parent}/{name}/scl");
            (h.node(&p).is_some()).then_some((res_of(name)?, p))
        })
        .collect();
    stored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let path = stored
        .iter()
        .rev()
        .find(|(r, _)| *r <= level_res)
        .or(stored.first())
        .map(|(_, p)| p.clone())
        .ok_or_else(|| Error::Missing {
            path: format!("{}{parent}", h.location()),
            what: "scene classification (L2A products only)".into(),
        })?;
    let m = h.array_meta(&path)?;
    let (hh, ww) = (m.shape[0], m.shape[1]);
    let level = h.array_meta(&format!("{g}/b04"))?.shape.clone();
    let (fy, fx) = (hh as f64 / level[0] as f64, ww as f64 / level[1] as f64);
    let win = match window {
        Some(w) => Window {
            rows: (w.rows.start as f64 * fy) as u64
                ..((w.rows.end as f64 * fy).ceil() as u64).min(hh),
            cols: (w.cols.start as f64 * fx) as u64
                ..((w.cols.end as f64 * fx).ceil() as u64).min(ww),
        },
        None => Window {
            rows: 0..hh,
            cols: 0..ww,
        },
    };
    Ok((path, win, fx.round().max(1.0) as usize))
}

/// The bands behind `preset` at level `resolution` over `window`, as stored.
pub fn read_preset_raw(
    h: &Hierarchy,
    resolution: &str,
    preset: Preset,
    window: Option<&Window>,
) -> Result<RawTile> {
    let paths = match preset {
        Preset::Scl => {
            let (path, win, finer) = scl_window(h, resolution, window)?;
            let mut b = read_band_raw(h, &path, Some(&win))?;
            // Class codes: shown as stored (0 = no data).
            if let RawData::U8(_) = b.data {
                b.cf = None;
            } else {
                return Err(Error::Input(format!(
                    "{}{path}: expected u8 class codes",
                    h.location()
                )));
            }
            // Stored only finer than the level: the most frequent class of each block.
            if finer >= 2 {
                b = b.reduce(finer, &Kernels::cpu())?;
            }
            return Ok(RawTile {
                preset,
                bands: vec![b],
            });
        }
        Preset::Ndvi => {
            let g = super::reflectance_group(h, resolution)?;
            vec![super::nir(h, &g), format!("{g}/b04")]
        }
        p => super::preset_band_paths(h, resolution, p)?.unwrap_or_default(),
    };
    Ok(RawTile {
        preset,
        bands: paths
            .iter()
            .map(|p| read_band_raw(h, p, window))
            .collect::<Result<_>>()?,
    })
}

/// The colour of an SCL class code (0 = no data: transparent; unknown codes magenta).
pub fn scl_colour(code: u8) -> Option<[u8; 3]> {
    if code == 0 {
        return None;
    }
    Some(
        SCL_CLASSES
            .iter()
            .find(|k| k.0 == code)
            .map_or([255, 0, 255], |k| k.2),
    )
}

/// Colour a tile: stretched presets with `stretch` (2–98 % of the clear pixels of the tile when
/// `None`), NDVI and SCL with their fixed colours. Returns the image and the stretch used.
pub fn colour_raw(tile: &RawTile, stretch: Option<&Stretch>) -> Result<(Rgba, Option<Stretch>)> {
    let (w, h) = tile.size();
    let mut pixels = vec![0u8; w * h * 4];
    let used = match tile.preset {
        Preset::Scl => {
            let Some(RawData::U8(codes)) = tile.bands.first().map(|b| &b.data) else {
                return Err(Error::Input("SCL tile without class codes".into()));
            };
            for (px, &c) in pixels.chunks_exact_mut(4).zip(codes) {
                if let Some(col) = scl_colour(c) {
                    px[..3].copy_from_slice(&col);
                    px[3] = 255;
                }
            }
            None
        }
        Preset::Ndvi => {
            let [n, r] = [0, 1].map(|i| tile.bands.get(i).map(RawBand::decode));
            let (Some(n), Some(r)) = (n, r) else {
                return Err(Error::Input("NDVI needs two bands".into()));
            };
            for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
                let (a, b) = (n.values[i], r.values[i]);
                if !(a.is_finite() && b.is_finite()) || a + b == 0.0 {
                    continue;
                }
                let v = ((a - b) / (a + b)).clamp(-1.0, 1.0);
                px[..3].copy_from_slice(&ndvi_colour(v));
                px[3] = 255;
            }
            None
        }
        Preset::Single { colormap, .. } => {
            let v = tile
                .bands
                .first()
                .ok_or_else(|| Error::Input("single-band tile without a band".into()))?
                .decode();
            let s = match stretch {
                Some(s) => *s,
                None => {
                    let (l, hi) = percentiles(&v.values, 2.0, 98.0).unwrap_or((0.0, 1.0));
                    Stretch {
                        bounds: [(l, hi); 3],
                        gamma: 1.0,
                    }
                }
            };
            for (px, &x) in pixels.chunks_exact_mut(4).zip(&v.values) {
                if !x.is_finite() {
                    continue;
                }
                px[..3].copy_from_slice(&colormap.table_colour(s.apply(0, x)));
                px[3] = 255;
            }
            Some(s)
        }
        _ => {
            let b: Vec<Band> = tile.bands.iter().map(RawBand::decode).collect();
            let [r, g, bl] = [0, 1, 2].map(|i| b.get(i));
            let (Some(r), Some(g), Some(bl)) = (r, g, bl) else {
                return Err(Error::Input("a composite needs three bands".into()));
            };
            let s = match stretch {
                Some(s) => *s,
                None => clear_stretch(r, g, bl, 2.0, 98.0),
            };
            return Ok((composite_stretched(r, g, bl, &s)?, Some(s)));
        }
    };
    Ok((
        Rgba {
            width: w,
            height: h,
            pixels,
        },
        used,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_and_reduce() {
        let cf = CfEncoding {
            fill: Some(0.0),
            scale_factor: 0.0001,
            add_offset: -0.1,
        };
        let b = RawBand {
            width: 2,
            height: 2,
            data: RawData::U16(vec![0, 2000, 3000, 4000]),
            cf: Some(cf),
        };
        let d = b.decode();
        assert!(d.values[0].is_nan());
        assert_eq!(d.values[1], (2000.0f64 * 0.0001 - 0.1) as f32);
        // The fill is skipped by the mean.
        let r = b.reduce(2, &Kernels::cpu()).unwrap();
        assert_eq!((r.width, r.height), (1, 1));
        let RawData::F32(v) = &r.data else {
            panic!("an overview of encoded data is f32")
        };
        assert!((v[0] - 0.2).abs() < 1e-6, "{v:?}");
        // Class codes keep their type and take the most frequent value.
        let scl = RawBand {
            width: 2,
            height: 2,
            data: RawData::U8(vec![4, 4, 8, 0]),
            cf: None,
        };
        assert_eq!(
            scl.reduce(2, &Kernels::cpu()).unwrap().data,
            RawData::U8(vec![4])
        );
        assert_eq!(scl_colour(0), None);
        assert_eq!(scl_colour(200), Some([255, 0, 255]));
    }
}
