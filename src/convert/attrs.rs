//! Builders both pipelines share: coordinate arrays and their CF attributes, the grid-mapping
//! variable's attachment, `proj:` attribute rewriting for a level, transforms and bounding
//! boxes, Python-compatible number formatting, and the CF `coordinates` clean-up of the output.

use serde_json::{Map, Value, json};

use super::ir::{OutArray, OutputPlan, Source, name_of, parent_of};
use super::metadata::{NAN_FILL_B64, array_doc, bytes_codec, fill_value, is_float, v3_data_type};
use super::num::Num;
use crate::error::{Error, Result};
use crate::geo::EdgeGrid;
use crate::hierarchy::{Node, NodeKind};
use crate::product::Crs;

pub(crate) fn array_meta(n: &Node) -> Option<&crate::hierarchy::ArrayMeta> {
    match &n.kind {
        NodeKind::Array(m) => Some(m),
        NodeKind::Group => None,
    }
}

/// Coordinates of a group: 1-D arrays named after their own dimension, and arrays listed in a
/// `coordinates` attribute of the group's arrays.
pub(crate) fn coordinate_names(arrays: &[&Node]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in arrays {
        let name = name_of(&a.path);
        if let Some(m) = array_meta(a)
            && m.dimension_names.as_deref() == Some(&[name.to_string()][..])
        {
            out.push(name.to_string());
        }
        if let Some(c) = a.attributes.get("coordinates").and_then(Value::as_str) {
            out.extend(c.split_whitespace().map(str::to_string));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A float64 coordinate of a computed level (`fill_value` NaN, `_FillValue` attribute, `bytes`).
pub(crate) fn computed_coordinate(group: &str, axis: &str, values: Vec<f64>) -> OutArray {
    let mut attrs = Map::new();
    attrs.insert("_FillValue".into(), json!(NAN_FILL_B64));
    let n = values.len() as u64;
    OutArray {
        path: format!("{group}/{axis}"),
        doc: array_doc(
            &[n],
            json!("float64"),
            &[n],
            json!("NaN"),
            vec![bytes_codec(8)],
            attrs,
            Some(vec![axis.to_string()]),
        ),
        source: Source::Values(values),
    }
}

/// A coordinate copied whole (one chunk, `bytes` only) with `attrs` (plus the NaN `_FillValue`
/// attribute of float coordinates).
pub(crate) fn whole_coordinate(
    path: &str,
    src: &Node,
    mut attrs: Map<String, Value>,
    at: &str,
) -> Result<OutArray> {
    let m = array_meta(src).ok_or_else(|| Error::invalid(at, "not an array"))?;
    let (dt, item) = v3_data_type(&m.dtype, at)?;
    if is_float(&dt) {
        attrs.insert("_FillValue".into(), json!(NAN_FILL_B64));
    }
    Ok(OutArray {
        path: path.to_string(),
        doc: array_doc(
            &m.shape,
            dt.clone(),
            &m.shape,
            fill_value(&dt, None),
            vec![bytes_codec(item)],
            attrs,
            dims(m),
        ),
        source: Source::Copy {
            from: src.path.to_string(),
        },
    })
}

/// The `shape` of an array document.
pub(crate) fn doc_shape(doc: &Value) -> Vec<u64> {
    doc["shape"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

pub(crate) fn insert_crs(a: &mut Map<String, Value>, crs: &Crs) {
    match crs {
        Crs::Epsg(c) => a.insert("proj:code".into(), json!(format!("EPSG:{c}"))),
        Crs::Wkt(w) => a.insert("proj:wkt2".into(), json!(w)),
    };
}

pub(crate) fn dims(m: &crate::hierarchy::ArrayMeta) -> Option<Vec<String>> {
    if m.shape.is_empty() {
        None
    } else {
        m.dimension_names.clone()
    }
}

/// `[min x, min y, max x, max y]` of coordinate values (pixel centres in the reference).
pub fn centre_bbox(x: &[f64], y: &[f64]) -> [f64; 4] {
    let mm = |v: &[f64]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &a| {
                (lo.min(a), hi.max(a))
            })
    };
    let ((x0, x1), (y0, y1)) = (mm(x), mm(y));
    if x.is_empty() || y.is_empty() {
        return [0.0; 4];
    }
    [x0, y0, x1, y1]
}

/// The reference's `_preferred_spatial_transform`: R (cached GeoTransform, else edge-based from the
/// coordinates) when it agrees with the centre-origin C within `1e-8 + 1e-5·|C|`, else C.
pub fn preferred_transform(x: &[f64], y: &[f64], cached: Option<[f64; 6]>) -> Option<[f64; 6]> {
    if x.len() < 2 || y.len() < 2 {
        return None;
    }
    let (dx, dy) = (x[1] - x[0], y[1] - y[0]);
    let r = cached.unwrap_or([dx, 0.0, x[0] - dx / 2.0, 0.0, dy, y[0] - dy / 2.0]);
    let bb = centre_bbox(x, y);
    let c = [dx.abs(), 0.0, bb[0], 0.0, -dy.abs(), bb[3]];
    let close = r
        .iter()
        .zip(c.iter())
        .all(|(ri, ci)| (ri - ci).abs() <= 1e-8 + 1e-5 * ci.abs());
    if r.iter().any(|v| *v != 0.0) && close {
        Some(r)
    } else {
        Some(c)
    }
}

/// Python's shortest round-trip repr of a float (`699960.0`, `-60.0`, `0.002865161344583498`).
pub fn py_float(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// The `GeoTransform` string (GDAL order) of a Rasterio-order transform.
pub fn geotransform_string(t: &[f64; 6]) -> String {
    [t[2], t[0], t[1], t[5], t[3], t[4]]
        .iter()
        .map(|v| py_float(*v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Geozarr profile: what xarray and rioxarray need with default options. Scalar (0-d) arrays
/// other than grid-mapping containers are dropped from georeferenced groups (eopf-geozarr 0.12's
/// validator rejects them in a dataset: a source `band` label; elsewhere, e.g. the meteorology
/// forecast times, they are kept), and every data variable that names a `grid_mapping` lists it in its CF
/// `coordinates` attribute, as xarray writes non-index coordinates, so that `open_datatree` makes
/// `spatial_ref` a coordinate and `rio.crs` / `rio.transform()` work.
pub(crate) fn cf_coordinates(plan: &mut OutputPlan) {
    use std::collections::BTreeSet;
    let mut grid_mappings: BTreeSet<String> = BTreeSet::new();
    for a in &plan.arrays {
        if let Some(gm) = a.doc["attributes"]["grid_mapping"].as_str() {
            grid_mappings.insert(format!("{}/{gm}", parent_of(&a.path)));
        }
    }
    for (g, attrs) in &plan.groups {
        if let Some(gm) = attrs.get("grid_mapping").and_then(Value::as_str) {
            let base = if g == "/" { String::new() } else { g.clone() };
            grid_mappings.insert(format!("{base}/{gm}"));
        }
    }
    let datasets: BTreeSet<&String> = plan
        .groups
        .iter()
        .filter(|(_, a)| {
            a.keys()
                .any(|k| k.starts_with("spatial:") || k.starts_with("proj:"))
        })
        .map(|(g, _)| g)
        .collect();
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    plan.arrays.retain(|a| {
        let scalar = a.doc["shape"].as_array().is_some_and(Vec::is_empty);
        if scalar && datasets.contains(&parent_of(&a.path)) && !grid_mappings.contains(&a.path) {
            dropped.insert(a.path.clone());
            return false;
        }
        true
    });
    for a in &mut plan.arrays {
        let group = parent_of(&a.path);
        let scalar = a.doc["shape"].as_array().is_none_or(Vec::is_empty);
        let Some(attrs) = a.doc["attributes"].as_object_mut() else {
            continue;
        };
        let join = |n: &str| {
            if group == "/" {
                format!("/{n}")
            } else {
                format!("{group}/{n}")
            }
        };
        let mut names: Vec<String> = attrs
            .get("coordinates")
            .and_then(Value::as_str)
            .map(|c| {
                c.split_whitespace()
                    .filter(|n| !dropped.contains(&join(n)))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if !scalar
            && let Some(gm) = attrs.get("grid_mapping").and_then(Value::as_str)
            && !names.iter().any(|n| n == gm)
        {
            names.push(gm.to_string());
        }
        if names.is_empty() {
            attrs.remove("coordinates");
        } else {
            attrs.insert("coordinates".into(), json!(names.join(" ")));
        }
    }
}

/// The GeoZarr coordinate attributes of pipeline A (§2A.1 table), merged into `attrs`.
pub(crate) fn coordinate_attrs(attrs: &mut Map<String, Value>, name: &str, lonlat: bool) {
    attrs.insert("_ARRAY_DIMENSIONS".into(), json!([name]));
    let set = |a: &mut Map<String, Value>, k: &str, v: &str| {
        a.insert(k.into(), json!(v));
    };
    match (name, lonlat) {
        ("x", false) => {
            set(attrs, "standard_name", "projection_x_coordinate");
            set(attrs, "units", "m");
            set(attrs, "long_name", "x coordinate of projection");
        }
        ("y", false) => {
            set(attrs, "standard_name", "projection_y_coordinate");
            set(attrs, "units", "m");
            set(attrs, "long_name", "y coordinate of projection");
        }
        ("x", true) => {
            set(attrs, "standard_name", "longitude");
            set(attrs, "units", "degrees_east");
            set(attrs, "long_name", "longitude");
        }
        ("y", true) => {
            set(attrs, "standard_name", "latitude");
            set(attrs, "units", "degrees_north");
            set(attrs, "long_name", "latitude");
        }
        ("time", _) => set(attrs, "standard_name", "time"),
        ("angle", _) => {
            set(attrs, "standard_name", "angle");
            set(attrs, "long_name", "angle coordinate");
        }
        ("band", _) => {
            set(attrs, "standard_name", "band");
            set(attrs, "long_name", "spectral band identifier");
        }
        ("detector", _) => {
            set(attrs, "standard_name", "detector");
            set(attrs, "long_name", "detector identifier");
        }
        _ => {}
    }
}

/// Geozarr profile: per-array `proj:shape/transform/bbox` rewritten for the level (B-9).
pub(crate) fn rewrite_proj(attrs: &mut Map<String, Value>, shape: &[u64], grid: &impl ProjGrid) {
    let n = shape.len();
    if n < 2 {
        return;
    }
    let (h, w) = (shape[n - 2], shape[n - 1]);
    let Some((t, b)) = grid.proj(h, w) else {
        return;
    };
    if attrs.contains_key("proj:shape") {
        attrs.insert("proj:shape".into(), json!([h, w]));
    }
    if attrs.contains_key("proj:transform") {
        attrs.insert(
            "proj:transform".into(),
            json!([t[0], t[1], t[2], t[3], t[4], t[5], 0.0, 0.0, 1.0]),
        );
    }
    if attrs.contains_key("proj:bbox") {
        attrs.insert("proj:bbox".into(), json!(b));
    }
}

/// A grid that can state its transform and bbox for a `h × w` raster.
pub(crate) trait ProjGrid {
    fn proj(&self, h: u64, w: u64) -> Option<([f64; 6], [f64; 4])>;
}

/// A computed coordinate array (overview levels, Sentinel-1 grids).
pub(crate) fn value_coordinate(
    path: &str,
    axis: &str,
    values: Vec<f64>,
    num: Num,
    lonlat: bool,
) -> OutArray {
    let mut attrs = Map::new();
    coordinate_attrs(&mut attrs, axis, lonlat);
    if num.is_float() {
        attrs.insert("_FillValue".into(), json!(NAN_FILL_B64));
    }
    let n = values.len() as u64;
    OutArray {
        path: path.to_string(),
        doc: array_doc(
            &[n],
            json!(num.v3()),
            &[n],
            if num.is_float() {
                json!("NaN")
            } else {
                json!(0)
            },
            vec![bytes_codec(num.size())],
            attrs,
            Some(vec![axis.to_string()]),
        ),
        source: Source::ValuesAs { values, out: num },
    }
}

/// Attributes of a copied array as the reference writes them: everything the source has except
/// `_FillValue` and `_ARRAY_DIMENSIONS` (xarray's own), `_eopf_attrs` included.
pub(crate) fn copied_attrs(src: &Map<String, Value>) -> Map<String, Value> {
    src.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "_FillValue" | "_ARRAY_DIMENSIONS"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl ProjGrid for EdgeGrid {
    fn proj(&self, h: u64, w: u64) -> Option<([f64; 6], [f64; 4])> {
        Some((self.transform(), self.bbox(h, w)))
    }
}

/// The `_ARRAY_DIMENSIONS` attribute (how v2 sources and xarray name dimensions), if any.
pub(crate) fn array_dimensions(attrs: &Map<String, Value>) -> Option<Vec<String>> {
    attrs
        .get("_ARRAY_DIMENSIONS")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
}
