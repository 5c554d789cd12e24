//! The inspector: what lies under the cursor on the map — row/column at the shown and the native
//! level, x/y in the product's CRS, lon/lat through PROJ, and every band's raw and decoded value.
//! Built on the loader thread from the shown resolution group; lon/lat is computed on the UI
//! thread (PROJ handles stay there).

use crate::convert::num::Num;
use crate::geo::EdgeGrid;
use crate::hierarchy::{Hierarchy, NodeKind};
use crate::product::{CfEncoding, Crs};

/// One band of the shown group: raw values and their CF encoding.
pub struct BandValues {
    pub name: String,
    pub raw: Vec<f64>,
    pub cf: CfEncoding,
}

/// The data the inspector reads from.
pub struct Inspector {
    pub group: String,
    pub width: usize,
    pub height: usize,
    /// How many native (finest, r10m) pixels one shown pixel spans.
    pub native_factor: usize,
    pub grid: Option<EdgeGrid>,
    pub crs: Option<Crs>,
    pub bands: Vec<BandValues>,
    /// Read chunk and shard shapes (rows, cols) of the first band, for the grid overlay.
    pub chunks: Option<(u64, u64)>,
    pub shards: Option<(u64, u64)>,
}

impl Inspector {
    /// Read every 2-D band of `group` (raw), its grid and the product CRS.
    pub fn build(h: &Hierarchy, group: &str, crs: Option<Crs>) -> crate::Result<Self> {
        let x = crate::inspect::read_f64(h, &format!("{group}/x"))?;
        let y = crate::inspect::read_f64(h, &format!("{group}/y"))?;
        let (width, height) = (x.len(), y.len());
        let mut bands = Vec::new();
        let (mut chunks, mut shards) = (None, None);
        for n in h.children(group) {
            let NodeKind::Array(m) = &n.kind else {
                continue;
            };
            if m.shape != [height as u64, width as u64] {
                continue;
            }
            if chunks.is_none() && m.chunks.len() == 2 {
                chunks = Some((m.chunks[0], m.chunks[1]));
                shards = m
                    .shard_shape
                    .as_ref()
                    .filter(|s| s.len() == 2)
                    .map(|s| (s[0], s[1]));
            }
            let Some(num) = Num::from_data_type(&m.data_type) else {
                continue;
            };
            let raw: Vec<f64> = match num {
                Num::U8 => h
                    .read::<u8>(&n.path)?
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect(),
                Num::U16 => h
                    .read::<u16>(&n.path)?
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect(),
                Num::F32 => h
                    .read::<f32>(&n.path)?
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect(),
                _ => crate::inspect::read_f64(h, &n.path)?,
            };
            bands.push(BandValues {
                name: n.path.rsplit('/').next().unwrap_or(&n.path).to_string(),
                raw,
                cf: CfEncoding::from_attributes(&n.attributes, &m.fill_value),
            });
        }
        let grid = EdgeGrid::from_centres(&x, &y);
        let native_factor = grid
            .map(|g| (g.res / 10.0).round().max(1.0) as usize)
            .unwrap_or(1);
        Ok(Inspector {
            group: group.to_string(),
            width,
            height,
            native_factor,
            grid,
            crs,
            bands,
            chunks,
            shards,
        })
    }

    /// The lines shown for the pixel at (`col`, `row`) of the shown level; `lonlat` converts
    /// native coordinates (from the UI thread's PROJ transformer).
    pub fn describe(
        &self,
        col: usize,
        row: usize,
        lonlat: &dyn Fn(f64, f64) -> Option<(f64, f64)>,
    ) -> Vec<String> {
        if col >= self.width || row >= self.height {
            return vec!["outside the product".into()];
        }
        let f = self.native_factor;
        let mut lines = vec![
            format!("{}: row {row}, col {col}", self.group),
            format!(
                "native (r10m): rows {}–{}, cols {}–{}",
                row * f,
                row * f + f - 1,
                col * f,
                col * f + f - 1
            ),
        ];
        if let Some(g) = &self.grid {
            let x = g.x0 + (col as f64 + 0.5) * g.res;
            let y = g.y_top - (row as f64 + 0.5) * g.res;
            let crs = self
                .crs
                .as_ref()
                .map_or("native CRS".to_string(), |c| c.to_string());
            lines.push(format!("x {x:.1}, y {y:.1} ({crs})"));
            if let Some((lon, lat)) = lonlat(x, y) {
                lines.push(format!("lon {lon:.6}, lat {lat:.6}"));
            }
        }
        let i = row * self.width + col;
        for b in &self.bands {
            let raw = b.raw[i];
            let decoded = b.cf.decode_f64(raw);
            if b.cf.scale_factor != 1.0 || b.cf.add_offset != 0.0 || b.cf.fill.is_some() {
                let d = if decoded.is_nan() {
                    "nodata".to_string()
                } else {
                    format!("{decoded:.4}")
                };
                lines.push(format!("{:<5} {raw:>8} → {d}", b.name));
            } else {
                lines.push(format!("{:<5} {raw:>8}", b.name));
            }
        }
        lines
    }
}
