//! Georeferencing: affine transforms from pixel-centre coordinates, bounding boxes, and native ↔
//! lon/lat through PROJ.

use crate::error::{Error, Result};
use crate::product::Crs;

/// A north-up affine transform with an edge origin (GDAL order: `x0, dx, 0, y0, 0, dy`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GeoTransform {
    /// Left edge of the first column.
    pub x0: f64,
    /// Pixel width (positive).
    pub dx: f64,
    /// Top edge of the first row.
    pub y0: f64,
    /// Pixel height (negative for north-up rasters).
    pub dy: f64,
}

impl GeoTransform {
    /// From pixel-centre coordinates (rioxarray's rule, docs/reference.md §1.6 a): pixel size =
    /// `x[1]−x[0]`, `y[1]−y[0]`; edge origin = first centre − size/2. `None` with fewer than 2 values.
    pub fn from_centres(x: &[f64], y: &[f64]) -> Option<Self> {
        if x.len() < 2 || y.len() < 2 {
            return None;
        }
        let dx = x[1] - x[0];
        let dy = y[1] - y[0];
        if dx == 0.0 || dy == 0.0 || !dx.is_finite() || !dy.is_finite() {
            return None;
        }
        Some(GeoTransform {
            x0: x[0] - dx / 2.0,
            dx,
            y0: y[0] - dy / 2.0,
            dy,
        })
    }

    /// `[xmin, ymin, xmax, ymax]` of a `width × height` raster (pixel edges).
    pub fn bbox(&self, width: u64, height: u64) -> [f64; 4] {
        let x1 = self.x0 + self.dx * width as f64;
        let y1 = self.y0 + self.dy * height as f64;
        [
            self.x0.min(x1),
            self.y0.min(y1),
            self.x0.max(x1),
            self.y0.max(y1),
        ]
    }

    /// The six GDAL coefficients `[x0, dx, 0, y0, 0, dy]`.
    pub fn gdal(&self) -> [f64; 6] {
        [self.x0, self.dx, 0.0, self.y0, 0.0, self.dy]
    }

    /// Native coordinates of the centre of pixel (`col`, `row`).
    pub fn pixel_centre(&self, col: f64, row: f64) -> (f64, f64) {
        (
            self.x0 + (col + 0.5) * self.dx,
            self.y0 + (row + 0.5) * self.dy,
        )
    }
}

/// A north-up grid of square pixels with an edge origin: the geozarr profile's levels, which all
/// share the native origin and differ by pixel size. (`GeoTransform` is the general, signed form
/// read from a product.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeGrid {
    pub x0: f64,
    pub y_top: f64,
    pub res: f64,
}

impl EdgeGrid {
    /// From pixel-centre coordinates.
    pub fn from_centres(x: &[f64], y: &[f64]) -> Option<Self> {
        if x.len() < 2 || y.len() < 2 {
            return None;
        }
        let res = (x[1] - x[0]).abs();
        if res == 0.0 || !res.is_finite() {
            return None;
        }
        let (xmin, ymax) = (
            x.iter().copied().fold(f64::INFINITY, f64::min),
            y.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        Some(EdgeGrid {
            x0: xmin - res / 2.0,
            y_top: ymax + res / 2.0,
            res,
        })
    }
    /// Rasterio-order transform.
    pub fn transform(&self) -> [f64; 6] {
        [self.res, 0.0, self.x0, 0.0, -self.res, self.y_top]
    }
    /// Edge bbox of a `height × width` raster.
    pub fn bbox(&self, height: u64, width: u64) -> [f64; 4] {
        [
            self.x0,
            self.y_top - self.res * height as f64,
            self.x0 + self.res * width as f64,
            self.y_top,
        ]
    }
    /// The grid of a level `factor` times coarser (same origin).
    pub fn coarser(&self, factor: u64) -> Self {
        EdgeGrid {
            res: self.res * factor as f64,
            ..*self
        }
    }
    /// Pixel-centre coordinates of `n` columns (`axis_x`) or rows.
    pub fn centres(&self, n: u64, axis_x: bool) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let off = (i as f64 + 0.5) * self.res;
                if axis_x {
                    self.x0 + off
                } else {
                    self.y_top - off
                }
            })
            .collect()
    }
}

/// Whether PROJ's database knows `EPSG:code` as a CRS.
pub fn epsg_exists(code: u32) -> bool {
    proj::Proj::new(&format!("EPSG:{code}")).is_ok()
}

/// WKT1 (GDAL flavour) of `EPSG:code` from PROJ's database.
pub fn epsg_wkt1(code: u32) -> Result<String> {
    let def =
        std::ffi::CString::new(format!("EPSG:{code}")).map_err(|e| Error::Crs(e.to_string()))?;
    // SAFETY: a private context; every object created here is destroyed before returning, and the
    // WKT string is copied while the object that owns it is alive.
    unsafe {
        let ctx = proj_sys::proj_context_create();
        let pj = proj_sys::proj_create(ctx, def.as_ptr());
        if pj.is_null() {
            proj_sys::proj_context_destroy(ctx);
            return Err(Error::Crs(format!("EPSG:{code} is not in PROJ's database")));
        }
        let w = proj_sys::proj_as_wkt(
            ctx,
            pj,
            proj_sys::PJ_WKT_TYPE_PJ_WKT1_GDAL,
            std::ptr::null(),
        );
        let out = if w.is_null() {
            Err(Error::Crs(format!("EPSG:{code} has no WKT1 form")))
        } else {
            Ok(std::ffi::CStr::from_ptr(w).to_string_lossy().into_owned())
        };
        proj_sys::proj_destroy(pj);
        proj_sys::proj_context_destroy(ctx);
        out
    }
}

/// A transformer from a product CRS to lon/lat (EPSG:4326, longitude first).
pub struct ToLonLat {
    proj: proj::Proj,
}

impl ToLonLat {
    /// Build the transformer for `crs`.
    pub fn new(crs: &Crs) -> Result<Self> {
        let from = crs.definition();
        let proj = proj::Proj::new_known_crs(&from, "EPSG:4326", None)
            .map_err(|e| Error::Crs(format!("cannot transform {crs} to EPSG:4326: {e}")))?;
        Ok(ToLonLat { proj })
    }

    /// One point → (lon, lat) in degrees.
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        self.proj
            .convert((x, y))
            .map_err(|e| Error::Crs(format!("cannot transform ({x}, {y}): {e}")))
    }

    /// The lon/lat bbox `[west, south, east, north]` of a native bbox, from its edges densified
    /// with `n` points per side (a UTM square is not a lon/lat rectangle).
    pub fn bbox(&self, b: [f64; 4], n: usize) -> Result<[f64; 4]> {
        let n = n.max(2);
        let mut out = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for i in 0..n {
            let t = i as f64 / (n - 1) as f64;
            let x = b[0] + t * (b[2] - b[0]);
            let y = b[1] + t * (b[3] - b[1]);
            for (px, py) in [(x, b[1]), (x, b[3]), (b[0], y), (b[2], y)] {
                let (lon, lat) = self.point(px, py)?;
                out[0] = out[0].min(lon);
                out[1] = out[1].min(lat);
                out[2] = out[2].max(lon);
                out[3] = out[3].max(lat);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_from_centres_has_edge_origin() {
        let x: Vec<f64> = (0..4).map(|i| 699965.0 + 10.0 * f64::from(i)).collect();
        let y: Vec<f64> = (0..4).map(|i| 4700035.0 - 10.0 * f64::from(i)).collect();
        let t = GeoTransform::from_centres(&x, &y).unwrap();
        assert_eq!(t.gdal(), [699960.0, 10.0, 0.0, 4700040.0, 0.0, -10.0]);
        assert_eq!(
            t.bbox(10980, 10980),
            [699960.0, 4590240.0, 809760.0, 4700040.0]
        );
        assert!(GeoTransform::from_centres(&[1.0], &[2.0]).is_none());
    }

    #[test]
    fn utm_to_lonlat() {
        let t = ToLonLat::new(&Crs::Epsg(32632)).unwrap();
        let (lon, lat) = t.point(500000.0, 0.0).unwrap();
        assert!((lon - 9.0).abs() < 1e-9 && lat.abs() < 1e-9, "{lon} {lat}");
        // T32TQM: the product's STAC bbox spans 11.393460776835221..12.763136432704886 E,
        // 41.40403474612011..42.426911995973605 N (extremes at the tile corners).
        let b = t
            .bbox([699960.0, 4590240.0, 809760.0, 4700040.0], 21)
            .unwrap();
        let stac = [
            11.393460776835221,
            41.40403474612011,
            12.763136432704886,
            42.426911995973605,
        ];
        for k in 0..4 {
            assert!((b[k] - stac[k]).abs() < 1e-6, "{b:?}");
        }
        assert!(epsg_exists(32632));
        assert!(
            epsg_wkt1(3035)
                .unwrap()
                .starts_with("PROJCS[\"ETRS89-extended / LAEA Europe\"")
        );
        assert!(epsg_wkt1(999_999).is_err());
        assert!(!epsg_exists(999_999));
    }
}
