//! The `info` report of a product or GeoZarr output: type and level, tile, CRS, native and lon/lat
//! bbox, groups with their arrays (shape, dtype, chunks, shards, codecs), and the multiscales levels
//! of GeoZarr outputs. Used by the CLI (`info`, `info --json`) and the desktop application.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::geo::{GeoTransform, ToLonLat, epsg_exists};
use crate::hierarchy::{ArrayMeta, Hierarchy, NodeKind};
use crate::product::{Crs, CrsSource, ProductKind, detect, resolve_crs};

/// One array in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayInfo {
    pub name: String,
    #[serde(flatten)]
    pub meta: ArrayMeta,
}

/// One group and its arrays.
#[derive(Debug, Clone, Serialize)]
pub struct GroupInfo {
    pub path: String,
    pub arrays: Vec<ArrayInfo>,
}

/// One level of a `multiscales` layout.
#[derive(Debug, Clone, Serialize)]
pub struct LevelInfo {
    pub asset: String,
    pub shape: Option<Vec<u64>>,
    pub transform: Option<Vec<f64>>,
    pub derived_from: Option<String>,
    pub scale: Option<Vec<f64>>,
}

/// A group carrying `multiscales`.
#[derive(Debug, Clone, Serialize)]
pub struct MultiscalesInfo {
    pub group: String,
    pub levels: Vec<LevelInfo>,
}

/// A native resolution group of a Sentinel-2 product (`/measurements/reflectance/r10m`, …).
#[derive(Debug, Clone, Serialize)]
pub struct ResolutionInfo {
    /// `r10m`, `r20m`, `r60m`.
    pub group: String,
    pub meters: u32,
    /// `[height, width]` of its bands.
    pub shape: Option<[u64; 2]>,
    pub bands: Vec<String>,
    /// GDAL order, pixel edges, from the float or integer pixel-centre coordinates.
    pub geotransform: Option<[f64; 6]>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ProductInfo {
    pub path: String,
    pub zarr_format: u8,
    pub consolidated: bool,
    /// `sentinel-2`, `sentinel-1`, `geozarr` or `other`.
    pub product: String,
    /// `L1C` / `L2A` for Sentinel-2 inputs and outputs.
    pub level: Option<String>,
    /// Why the input is not recognised as Sentinel-2 (when it is not).
    pub not_sentinel2_because: Option<String>,
    /// STAC `product:type`.
    pub product_type: Option<String>,
    /// MGRS tile (`T32TQM`).
    pub tile: Option<String>,
    pub crs: Option<String>,
    pub crs_source: Option<String>,
    /// `[xmin, ymin, xmax, ymax]` pixel edges in the native CRS, from the finest grid.
    pub native_bbox: Option<[f64; 4]>,
    /// `[west, south, east, north]` in degrees (densified edges through PROJ).
    pub lonlat_bbox: Option<[f64; 4]>,
    pub groups: Vec<GroupInfo>,
    pub multiscales: Vec<MultiscalesInfo>,
    /// The reflectance resolution groups of a Sentinel-2 product (empty for other inputs).
    pub resolutions: Vec<ResolutionInfo>,
}

fn resolutions(h: &Hierarchy) -> Result<Vec<ResolutionInfo>> {
    let refl = "/measurements/reflectance";
    let mut out = Vec::new();
    for g in h.children(refl) {
        let name = g.path.rsplit('/').next().unwrap_or("").to_string();
        let Some(meters) = crate::product::resolution_meters(&name) else {
            continue;
        };
        let mut bands = Vec::new();
        let mut shape = None;
        for c in h.children(&g.path) {
            let n = c.path.rsplit('/').next().unwrap_or("");
            if let NodeKind::Array(m) = &c.kind
                && crate::product::band_info(n).is_some()
                && m.shape.len() == 2
            {
                bands.push(n.to_string());
                shape.get_or_insert([m.shape[0], m.shape[1]]);
            }
        }
        let geotransform = match (
            h.node(&format!("{}/x", g.path)),
            h.node(&format!("{}/y", g.path)),
        ) {
            (Some(_), Some(_)) => {
                let x = read_f64(h, &format!("{}/x", g.path))?;
                let y = read_f64(h, &format!("{}/y", g.path))?;
                GeoTransform::from_centres(&x, &y).map(|t| t.gdal())
            }
            _ => None,
        };
        out.push(ResolutionInfo {
            group: name,
            meters,
            shape,
            bands,
            geotransform,
        });
    }
    out.sort_by_key(|r| r.meters);
    Ok(out)
}

fn find_tile(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let w = &b[i..i + 6];
        let ok = w[0] == b'T'
            && w[1].is_ascii_digit()
            && w[2].is_ascii_digit()
            && w[3..].iter().all(u8::is_ascii_uppercase)
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i + 6).is_none_or(|c| !c.is_ascii_alphanumeric());
        ok.then(|| String::from_utf8_lossy(w).into_owned())
    })
}

fn stac_str(h: &Hierarchy, pointer: &str) -> Option<String> {
    h.root()
        .attributes
        .get("stac_discovery")
        .and_then(|s| s.pointer(pointer))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn numbers(v: Option<&Value>) -> Option<Vec<f64>> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
}

fn multiscales(h: &Hierarchy) -> Vec<MultiscalesInfo> {
    let mut out = Vec::new();
    for n in h.nodes() {
        let Some(ms) = n.attributes.get("multiscales") else {
            continue;
        };
        let Some(layout) = ms.get("layout").and_then(Value::as_array) else {
            continue;
        };
        let levels = layout
            .iter()
            .map(|l| {
                let asset = l
                    .get("asset")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let shape = l
                    .get("spatial:shape")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).collect());
                LevelInfo {
                    shape,
                    transform: numbers(l.get("spatial:transform")),
                    derived_from: l
                        .get("derived_from")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    scale: numbers(l.pointer("/transform/scale")),
                    asset,
                }
            })
            .collect();
        out.push(MultiscalesInfo {
            group: n.path.to_string(),
            levels,
        });
    }
    out
}

/// The native bbox from the finest `x`/`y` pixel-centre coordinates, or from a multiscales base level.
fn native_bbox(h: &Hierarchy, ms: &[MultiscalesInfo]) -> Result<Option<[f64; 4]>> {
    if let Some(level) = ms.first().and_then(|m| m.levels.first())
        && let (Some(t), Some(s)) = (&level.transform, &level.shape)
        && t.len() >= 6
        && s.len() == 2
    {
        let gt = GeoTransform {
            x0: t[2],
            dx: t[0],
            y0: t[5],
            dy: t[4],
        };
        return Ok(Some(gt.bbox(s[1], s[0])));
    }
    // The group with the longest 1-D x and y coordinates.
    let mut best: Option<(u64, String)> = None;
    for n in h.nodes() {
        if !matches!(n.kind, NodeKind::Group) {
            continue;
        }
        let (Some(x), Some(y)) = (
            h.node(&format!("{}/x", n.path.trim_end_matches('/'))),
            h.node(&format!("{}/y", n.path.trim_end_matches('/'))),
        ) else {
            continue;
        };
        if let (NodeKind::Array(xm), NodeKind::Array(ym)) = (&x.kind, &y.kind)
            && xm.shape.len() == 1
            && ym.shape.len() == 1
            && xm.shape[0] >= 2
            && ym.shape[0] >= 2
            && best.as_ref().is_none_or(|(len, path)| {
                xm.shape[0] > *len
                    || (xm.shape[0] == *len
                        && n.path.starts_with("/measurements")
                        && !path.starts_with("/measurements"))
            })
        {
            best = Some((xm.shape[0], n.path.to_string()));
        }
    }
    let Some((_, group)) = best else {
        return Ok(None);
    };
    let base = group.trim_end_matches('/');
    let x = read_f64(h, &format!("{base}/x"))?;
    let y = read_f64(h, &format!("{base}/y"))?;
    Ok(GeoTransform::from_centres(&x, &y).map(|t| t.bbox(x.len() as u64, y.len() as u64)))
}

/// Read a 1-D numeric array as f64 (integer or float storage).
pub fn read_f64(h: &Hierarchy, path: &str) -> Result<Vec<f64>> {
    let meta = h.array_meta(path)?;
    // Coordinates are read whole: their declared length is checked first (a tile has 10980).
    const MAX_VALUES: u64 = 1 << 24;
    let n: u64 = meta.shape.iter().product();
    if n > MAX_VALUES {
        return Err(crate::Error::invalid(
            format!("{}{path}", h.location()),
            format!("{n} values, above the limit of {MAX_VALUES} for a coordinate read whole"),
        ));
    }
    use crate::dtype::DataType as D;
    Ok(match meta.data_type {
        D::I64 => h.read::<i64>(path)?.iter().map(|&v| v as f64).collect(),
        D::I32 => h.read::<i32>(path)?.iter().map(|&v| f64::from(v)).collect(),
        D::F32 => h.read::<f32>(path)?.iter().map(|&v| f64::from(v)).collect(),
        D::U32 => h.read::<u32>(path)?.iter().map(|&v| f64::from(v)).collect(),
        _ => h.read::<f64>(path)?.iter().copied().collect(),
    })
}

/// Build the report. Fails (naming the path) on unreadable metadata, unsupported codecs or a
/// coordinate chunk that cannot be decoded.
pub fn inspect(h: &Hierarchy) -> Result<ProductInfo> {
    h.check_decodable()?;
    // Declared shapes that disagree with the coordinates are reported, not summarised.
    crate::product::check_shapes(h)?;
    let kind = detect(h);
    let (product, level, reason) = match &kind {
        ProductKind::Sentinel2 { level } => ("sentinel-2", Some(level.to_string()), None),
        ProductKind::Sentinel1 => ("sentinel-1", None, None),
        ProductKind::GeoZarr => ("geozarr", None, None),
        ProductKind::Other { reason } => ("other", None, Some(reason.clone())),
    };
    let product_type = stac_str(h, "/properties/product:type");
    let level = level.or_else(|| {
        product_type
            .as_deref()
            .and_then(|t| ["L1C", "L2A"].into_iter().find(|l| t.ends_with(l)))
            .map(str::to_string)
    });
    // GeoZarr outputs keep the product's groups: the level shows in them.
    let level = level.or_else(|| {
        if h.node("/quality/l2a_quicklook").is_some()
            || h.node("/conditions/mask/l2a_classification").is_some()
        {
            Some("L2A".to_string())
        } else if h.node("/quality/l1c_quicklook").is_some() {
            Some("L1C".to_string())
        } else {
            None
        }
    });
    let reason = match kind {
        ProductKind::Sentinel2 { .. } => None,
        _ => reason.or_else(|| crate::product::check_sentinel2(h).err()),
    };
    let tile = stac_str(h, "/id")
        .as_deref()
        .and_then(find_tile)
        .or_else(|| {
            h.root()
                .attributes
                .get("other_metadata")
                .and_then(|o| {
                    o.get("UTM_zone_identification")
                        .or_else(|| o.get("utm_zone_identification"))
                })
                .and_then(Value::as_str)
                .and_then(find_tile)
        })
        .or_else(|| find_tile(h.location()));
    let resolved = resolve_crs(h, &epsg_exists);
    let ms = multiscales(h);
    let native = native_bbox(h, &ms)?;
    let res = if matches!(kind, ProductKind::Sentinel2 { .. }) {
        resolutions(h)?
    } else {
        Vec::new()
    };
    let lonlat = match (&resolved, native) {
        (Some((crs, _)), Some(b)) => ToLonLat::new(crs).and_then(|t| t.bbox(b, 21)).ok(),
        _ => None,
    };
    let groups = h
        .nodes()
        .filter(|n| matches!(n.kind, NodeKind::Group))
        .map(|g| GroupInfo {
            path: g.path.to_string(),
            arrays: h
                .children(&g.path)
                .into_iter()
                .filter_map(|c| match &c.kind {
                    NodeKind::Array(m) => Some(ArrayInfo {
                        name: c.path.rsplit('/').next().unwrap_or("").to_string(),
                        meta: (**m).clone(),
                    }),
                    NodeKind::Group => None,
                })
                .collect(),
        })
        .collect();
    Ok(ProductInfo {
        path: h.location().to_string(),
        zarr_format: h.zarr_format(),
        consolidated: h.consolidated(),
        product: product.to_string(),
        level,
        not_sentinel2_because: reason,
        product_type,
        tile,
        crs: resolved.as_ref().map(|(c, _)| match c {
            Crs::Epsg(code) => format!("EPSG:{code}"),
            Crs::Wkt(w) => w.clone(),
        }),
        crs_source: resolved.map(|(_, s)| match s {
            CrsSource::RootCpmCode => "other_metadata.horizontal_CRS_code".to_string(),
            CrsSource::RootStac => "stac_discovery.properties.proj:code".to_string(),
            CrsSource::GridMapping(p) => format!("grid mapping {p}"),
            CrsSource::ProjEpsg(p) => format!("proj:epsg of {p}"),
            CrsSource::ProjCode(p) => format!("proj:code of {p}"),
        }),
        native_bbox: native,
        lonlat_bbox: lonlat,
        groups,
        multiscales: ms,
        resolutions: res,
    })
}

fn list(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join("×")
}

impl ProductInfo {
    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Dataset Information");
        let _ = writeln!(s, "  path:        {}", self.path);
        let _ = writeln!(
            s,
            "  format:      Zarr v{}{}",
            self.zarr_format,
            if self.consolidated {
                " (consolidated metadata)"
            } else {
                ""
            }
        );
        let kind = match (&self.product[..], &self.level) {
            ("sentinel-2", Some(l)) => format!("Sentinel-2 {l} (EOPF)"),
            ("sentinel-1", _) => "Sentinel-1 (EOPF)".into(),
            ("geozarr", Some(l)) => format!("GeoZarr output ({l})"),
            ("geozarr", None) => "GeoZarr output".into(),
            (other, _) => other.to_string(),
        };
        let _ = writeln!(s, "  product:     {kind}");
        if let Some(r) = &self.not_sentinel2_because
            && self.product != "geozarr"
        {
            let _ = writeln!(s, "  not Sentinel-2 because: {r}");
        }
        if let Some(t) = &self.product_type {
            let _ = writeln!(s, "  type:        {t}");
        }
        if let Some(t) = &self.tile {
            let _ = writeln!(s, "  tile:        {t}");
        }
        match (&self.crs, &self.crs_source) {
            (Some(c), Some(src)) => {
                let _ = writeln!(s, "  CRS:         {c} (from {src})");
            }
            _ => {
                let _ = writeln!(s, "  CRS:         none found");
            }
        }
        if let Some(b) = self.native_bbox {
            let _ = writeln!(
                s,
                "  bbox:        {} {} {} {} (native, pixel edges)",
                b[0], b[1], b[2], b[3]
            );
        }
        if let Some(b) = self.lonlat_bbox {
            let _ = writeln!(
                s,
                "  lon/lat:     {:.5} {:.5} {:.5} {:.5} (W S E N)",
                b[0], b[1], b[2], b[3]
            );
        }
        if !self.resolutions.is_empty() {
            let _ = writeln!(s, "\nResolutions:");
            for r in &self.resolutions {
                let shape = r.shape.map(|s| list(&s)).unwrap_or_else(|| "?".into());
                let t = r
                    .geotransform
                    .map(|t| format!("origin ({}, {}), pixel {}×{}", t[0], t[3], t[1], -t[5]))
                    .unwrap_or_else(|| "no coordinates".into());
                let _ = writeln!(
                    s,
                    "  {:<6} {:>11}  {t}  {} bands: {}",
                    r.group,
                    shape,
                    r.bands.len(),
                    r.bands.join(" ")
                );
            }
        }
        for m in &self.multiscales {
            let _ = writeln!(
                s,
                "\nMultiscales at {} ({} levels):",
                m.group,
                m.levels.len()
            );
            for l in &m.levels {
                let shape = l.shape.as_deref().map(list).unwrap_or_else(|| "?".into());
                let t = l
                    .transform
                    .as_ref()
                    .map(|t| format!("{t:?}"))
                    .unwrap_or_else(|| "no spatial:transform".into());
                let scale = l
                    .scale
                    .as_ref()
                    .map(|sc| {
                        format!(
                            " scale {sc:?} from {}",
                            l.derived_from.as_deref().unwrap_or("?")
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(s, "  {:<6} {:>11}  {t}{scale}", l.asset, shape);
            }
        }
        let total = self
            .groups
            .iter()
            .filter(|g| g.path.matches('/').count() == 1 && g.path != "/")
            .count();
        let _ = writeln!(s, "\nTotal groups: {total}");
        let _ = writeln!(s, "Group structure:");
        for g in &self.groups {
            if g.arrays.is_empty() {
                let _ = writeln!(s, "  {}", g.path);
                continue;
            }
            let _ = writeln!(s, "  {}", g.path);
            for a in &g.arrays {
                let m = &a.meta;
                let shard = m
                    .shard_shape
                    .as_deref()
                    .map(|sh| format!(" shards {}", list(sh)))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "    {:<32} {:>16} {:<10} chunks {}{} [{}]",
                    a.name,
                    if m.shape.is_empty() {
                        "scalar".into()
                    } else {
                        list(&m.shape)
                    },
                    m.dtype,
                    if m.chunks.is_empty() {
                        "-".into()
                    } else {
                        list(&m.chunks)
                    },
                    shard,
                    m.codecs.join(", ")
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::find_tile;

    #[test]
    fn tiles_are_found_in_names() {
        assert_eq!(
            find_tile("S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.SAFE")
                .as_deref(),
            Some("T32TQM")
        );
        assert_eq!(find_tile("no tile T32TQMX here"), None);
    }
}
