//! EOPF semantics: Sentinel-2 detection (the reference's structural rules, docs/reference.md §1.8), the band
//! table (BAND_INFO), resolution groups, CRS resolution in the reference's order (§1.6) and CF
//! decoding (fill → NaN, `value·scale + offset` in f64, then f32).

use serde_json::{Map, Value};

use crate::hierarchy::{Hierarchy, Node, NodeKind};

/// Processing level of a Sentinel-2 product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum S2Level {
    L1C,
    L2A,
}

impl std::fmt::Display for S2Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            S2Level::L1C => "L1C",
            S2Level::L2A => "L2A",
        })
    }
}

/// What kind of product a hierarchy holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum ProductKind {
    /// An EOPF Sentinel-2 product (pipeline B applies).
    Sentinel2 { level: S2Level },
    /// An EOPF Sentinel-1 GRD product.
    Sentinel1,
    /// A GeoZarr output of this tool or of the reference (Zarr v3 with `multiscales`).
    GeoZarr,
    /// Anything else, with the reason it is not Sentinel-2.
    Other { reason: String },
}

/// Band → (native resolution in metres, centre wavelength nm, bandwidth nm) — the reference's BAND_INFO.
pub const BAND_INFO: [(&str, u32, u32, u32); 13] = [
    ("b01", 60, 443, 21),
    ("b02", 10, 490, 66),
    ("b03", 10, 560, 36),
    ("b04", 10, 665, 31),
    ("b05", 20, 705, 15),
    ("b06", 20, 740, 15),
    ("b07", 20, 783, 20),
    ("b08", 10, 842, 106),
    ("b8a", 20, 865, 21),
    ("b09", 60, 945, 20),
    ("b10", 60, 1375, 30),
    ("b11", 20, 1614, 91),
    ("b12", 20, 2202, 175),
];

/// Band information of the reference's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandInfo {
    pub name: &'static str,
    pub native_resolution: u32,
    pub data_type: &'static str,
    pub wavelength_nm: u32,
    pub bandwidth_nm: u32,
}

/// Look a band up by name (`b02`, `B8A`, …).
pub fn band_info(name: &str) -> Option<BandInfo> {
    let lower = name.to_ascii_lowercase();
    BAND_INFO
        .iter()
        .find(|b| b.0 == lower)
        .map(|&(name, res, wl, bw)| BandInfo {
            name,
            native_resolution: res,
            data_type: "uint16",
            wavelength_nm: wl,
            bandwidth_nm: bw,
        })
}

/// Native bands per resolution (`NATIVE_BANDS`, in the reference's order).
pub fn native_bands(resolution: u32) -> &'static [&'static str] {
    match resolution {
        10 => &["b02", "b03", "b04", "b08"],
        20 => &["b05", "b06", "b07", "b11", "b12", "b8a"],
        60 => &["b01", "b09", "b10"],
        _ => &[],
    }
}

/// Quality data with their native resolution (`QUALITY_DATA_NATIVE`).
pub const QUALITY_DATA_NATIVE: [(&str, u32); 5] = [
    ("scl", 20),
    ("aot", 20),
    ("wvp", 20),
    ("cld", 20),
    ("snw", 20),
];

/// `r10m` … `r720m` → metres (`RESOLUTION_TO_METERS`).
pub fn resolution_meters(group: &str) -> Option<u32> {
    match group {
        "r10m" => Some(10),
        "r20m" => Some(20),
        "r60m" => Some(60),
        "r120m" => Some(120),
        "r360m" => Some(360),
        "r720m" => Some(720),
        _ => None,
    }
}

const S2_BAND_ARRAYS: [&str; 16] = [
    "x", "y", "time", "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b09", "b10", "b11",
    "b12", "b8a",
];
const RES: [&str; 3] = ["r10m", "r20m", "r60m"];

fn product_type(h: &Hierarchy) -> Option<String> {
    h.root()
        .attributes
        .get("stac_discovery")
        .and_then(|s| s.pointer("/properties/product:type"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn names(h: &Hierarchy, path: &str) -> Vec<String> {
    h.children(path)
        .iter()
        .map(|n| n.path.rsplit('/').next().unwrap_or("").to_string())
        .collect()
}

fn is_group(n: &Node) -> bool {
    matches!(n.kind, NodeKind::Group)
}

/// Check `path`'s members: all groups (if `groups`), named within `allowed`, and containing `required`.
fn members_within(
    h: &Hierarchy,
    path: &str,
    allowed: &[&str],
    required: &[&str],
) -> Result<(), String> {
    let found = names(h, path);
    for r in required {
        if !found.iter().any(|f| f == r) {
            return Err(format!("{path} has no member \"{r}\""));
        }
    }
    for f in &found {
        if !allowed.contains(&f.as_str()) {
            return Err(format!(
                "{path} has an unexpected member \"{f}\" (allowed: {})",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

/// Resolution groups under `path` may only hold the listed arrays.
fn res_groups_with(h: &Hierarchy, path: &str, arrays: &[&str]) -> Result<(), String> {
    for child in h.children(path) {
        let name = child.path.rsplit('/').next().unwrap_or("");
        if !RES.contains(&name) {
            return Err(format!(
                "{} is not a resolution group (r10m, r20m, r60m)",
                child.path
            ));
        }
        if !is_group(child) {
            return Err(format!("{} must be a group", child.path));
        }
        for leaf in h.children(&child.path) {
            let leaf_name = leaf.path.rsplit('/').next().unwrap_or("");
            if is_group(leaf) || !arrays.contains(&leaf_name) {
                return Err(format!(
                    "{} is not allowed in a Sentinel-2 {} group",
                    leaf.path,
                    path.rsplit('/').next().unwrap_or(path)
                ));
            }
        }
    }
    Ok(())
}

/// The reference's Sentinel-2 structural check (docs/reference.md §1.8). `Err` says why it is not S2.
pub fn check_sentinel2(h: &Hierarchy) -> Result<S2Level, String> {
    // N0511 and earlier: Zarr v2; N0512 and later: Zarr v3 (same tree, fewer groups).
    if !matches!(h.zarr_format(), 2 | 3) {
        return Err(format!(
            "it is Zarr v{}, EOPF products are Zarr v2 (up to N0511) or v3 (N0512 on)",
            h.zarr_format()
        ));
    }
    let root = h.root();
    if !is_group(root) {
        return Err("the root is an array".into());
    }
    for key in ["other_metadata", "stac_discovery"] {
        match root.attributes.get(key) {
            Some(Value::Object(_)) => {}
            Some(_) => return Err(format!("root attribute \"{key}\" is not an object")),
            None => return Err(format!("root has no \"{key}\" attribute")),
        }
    }
    let top = ["measurements", "quality", "conditions"];
    members_within(h, "/", &top, &top)?;
    members_within(h, "/measurements", &["reflectance"], &["reflectance"])?;
    res_groups_with(h, "/measurements/reflectance", &S2_BAND_ARRAYS)?;
    members_within(
        h,
        "/quality",
        &[
            "atmosphere",
            "probability",
            "l2a_quicklook",
            "l1c_quicklook",
            "mask",
        ],
        &[],
    )?;
    let q = names(h, "/quality");
    let has = |n: &str| q.iter().any(|x| x == n);
    if has("atmosphere") {
        res_groups_with(h, "/quality/atmosphere", &["aot", "wvp", "x", "y"])?;
    }
    if has("probability") {
        res_groups_with(h, "/quality/probability", &["cld", "snw", "band", "x", "y"])?;
    }
    for ql in ["l2a_quicklook", "l1c_quicklook"] {
        if has(ql) {
            res_groups_with(h, &format!("/quality/{ql}"), &["tci", "band", "x", "y"])?;
        }
    }
    // N0512 (Zarr v3) products have no `meteorology` group (nor quicklooks): not an error.
    members_within(
        h,
        "/conditions",
        &["geometry", "mask", "meteorology"],
        &["geometry", "mask"],
    )?;
    members_within(
        h,
        "/conditions/mask",
        &[
            "r10m",
            "r20m",
            "r60m",
            "detector_footprint",
            "l1c_classification",
            "l2a_classification",
        ],
        &[],
    )?;
    members_within(h, "/conditions/meteorology", &["cams", "ecmwf"], &[])?;
    members_within(
        h,
        "/conditions/geometry",
        &[
            "angle",
            "band",
            "detector",
            "sun_angles",
            "viewing_incidence_angles",
            "mean_sun_angles",
            "mean_viewing_incidence_angles",
            "x",
            "y",
            "time",
        ],
        &[],
    )?;
    Ok(level_of(h, &q))
}

fn level_of(h: &Hierarchy, quality: &[String]) -> S2Level {
    let pt = product_type(h).unwrap_or_default();
    let level = h
        .root()
        .attributes
        .get("stac_discovery")
        .and_then(|s| s.pointer("/properties/processing:level"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if pt.ends_with("L1C") || level == "L1C" {
        S2Level::L1C
    } else if pt.ends_with("L2A") || level == "L2A" {
        S2Level::L2A
    } else if quality.iter().any(|q| q == "l1c_quicklook") {
        S2Level::L1C
    } else {
        S2Level::L2A
    }
}

/// Classify a hierarchy: Sentinel-2 (with level), Sentinel-1, a GeoZarr output, or other (with why).
pub fn detect(h: &Hierarchy) -> ProductKind {
    match check_sentinel2(h) {
        Ok(level) => ProductKind::Sentinel2 { level },
        Err(reason) => {
            if product_type(h).is_some_and(|p| p.starts_with("S01")) {
                ProductKind::Sentinel1
            } else if h.zarr_format() == 3
                && h.nodes().any(|n| n.attributes.contains_key("multiscales"))
            {
                ProductKind::GeoZarr
            } else {
                ProductKind::Other { reason }
            }
        }
    }
}

/// Declared array shapes against the product's own coordinates, before anything is allocated in
/// proportion to them: every array's dimension named after a 1-D coordinate of its group (`x`,
/// `y`, `band`, `angle`, …) has that coordinate's length, and in a Sentinel-2 product the
/// reflectance grids of r20m and r60m are r10m's divided by 2 and 6. The first disagreement is an
/// error naming the array.
pub fn check_shapes(h: &Hierarchy) -> crate::Result<()> {
    let at = |p: &str| format!("{}{p}", h.location());
    for g in h.nodes().filter(|n| is_group(n)) {
        let children = h.children(&g.path);
        let coords: Vec<(&str, u64)> = children
            .iter()
            .filter_map(|c| {
                let name = c.path.rsplit('/').next()?;
                match &c.kind {
                    NodeKind::Array(m)
                        if m.shape.len() == 1
                            && m.dimension_names
                                .as_ref()
                                .is_none_or(|d| d.len() == 1 && d[0] == name) =>
                    {
                        Some((name, m.shape[0]))
                    }
                    _ => None,
                }
            })
            .collect();
        for c in &children {
            let NodeKind::Array(m) = &c.kind else {
                continue;
            };
            let Some(dims) = &m.dimension_names else {
                continue;
            };
            if dims.len() != m.shape.len() {
                return Err(crate::Error::invalid(
                    at(&c.path),
                    format!(
                        "{} dimension names {dims:?} for a shape of {} dimensions {:?}",
                        dims.len(),
                        m.shape.len(),
                        m.shape
                    ),
                ));
            }
            for (i, d) in dims.iter().enumerate() {
                if let Some((_, n)) = coords.iter().find(|(name, _)| name == d)
                    && m.shape[i] != *n
                {
                    return Err(crate::Error::invalid(
                        at(&c.path),
                        format!(
                            "declared shape {:?} does not match its coordinates: dimension {d:?} is {} long, its coordinate {}/{d} has {n} values",
                            m.shape,
                            m.shape[i],
                            g.path.trim_end_matches('/')
                        ),
                    ));
                }
            }
        }
    }
    // Sentinel-2 reflectance: r20m and r60m are the r10m grid divided by 2 and 6.
    let len = |p: &str| match h.node(p).map(|n| &n.kind) {
        Some(NodeKind::Array(m)) if m.shape.len() == 1 => Some(m.shape[0]),
        _ => None,
    };
    let refl = "/measurements/reflectance";
    if check_sentinel2(h).is_ok() {
        for (res, f) in [("r20m", 2u64), ("r60m", 6)] {
            for axis in ["x", "y"] {
                let p = format!("{refl}/{res}/{axis}");
                if let (Some(n), Some(b)) = (len(&p), len(&format!("{refl}/r10m/{axis}")))
                    && n.checked_mul(f) != Some(b)
                {
                    return Err(crate::Error::invalid(
                        at(&p),
                        format!("{n} values, but r10m has {b}: {res} must be r10m / {f}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A coordinate reference system as found in a product.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Crs {
    Epsg(u32),
    Wkt(String),
}

impl Crs {
    /// `EPSG:n` or the WKT text.
    pub fn definition(&self) -> String {
        match self {
            Crs::Epsg(c) => format!("EPSG:{c}"),
            Crs::Wkt(w) => w.clone(),
        }
    }
    /// The EPSG code, when known.
    pub fn epsg(&self) -> Option<u32> {
        match self {
            Crs::Epsg(c) => Some(*c),
            Crs::Wkt(_) => None,
        }
    }
}

impl std::fmt::Display for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Crs::Epsg(c) => write!(f, "EPSG:{c}"),
            Crs::Wkt(w) => write!(f, "WKT {}", w.chars().take(60).collect::<String>()),
        }
    }
}

/// Parse a CPM `horizontal_CRS_code`: int `32632`, `"EPSG:32632"` or `"32632"` (text after the last `:`).
pub fn parse_crs_code(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|x| u32::try_from(x).ok()),
        Value::String(s) => s.rsplit(':').next()?.trim().parse().ok(),
        _ => None,
    }
}

/// Where the resolved CRS came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum CrsSource {
    /// Root `other_metadata.horizontal_CRS_code`.
    RootCpmCode,
    /// Root `stac_discovery.properties.proj:code` (N0512 products).
    RootStac,
    /// A group's grid-mapping variable (`spatial_ref` with `crs_wkt` / `spatial_ref` / EPSG).
    GridMapping(String),
    /// A data variable's `proj:epsg` attribute.
    ProjEpsg(String),
    /// A GeoZarr `proj:code` attribute.
    ProjCode(String),
}

fn grid_mapping_crs(node: &Node) -> Option<Crs> {
    let a = &node.attributes;
    if let Some(code) = a.get("proj:code").and_then(parse_crs_code) {
        return Some(Crs::Epsg(code));
    }
    for k in ["crs_wkt", "spatial_ref"] {
        if let Some(w) = a.get(k).and_then(Value::as_str) {
            if let Some(code) = epsg_from_wkt(w) {
                return Some(Crs::Epsg(code));
            }
            return Some(Crs::Wkt(w.to_string()));
        }
    }
    a.get("epsg").and_then(parse_crs_code).map(Crs::Epsg)
}

/// The outermost `AUTHORITY["EPSG","n"]` / `ID["EPSG",n]` of a WKT string.
pub fn epsg_from_wkt(wkt: &str) -> Option<u32> {
    let candidates = [
        wkt.rfind("AUTHORITY[\"EPSG\",\""),
        wkt.rfind("ID[\"EPSG\","),
    ];
    let pos = candidates.into_iter().flatten().max()?;
    let tail = &wkt[pos..];
    let start = tail.find(',')? + 1;
    let digits: String = tail[start..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Resolve a product's CRS in the reference's order (`initialize_crs_from_dataset`, docs/reference.md §1.6):
/// (1) root `horizontal_CRS_code` / `horizontal_crs_code` — an unknown code falls through;
/// (2) the first group holding a grid-mapping variable; (3) the first array with `proj:epsg`.
/// `is_known` decides whether an EPSG code exists (PROJ's database in [`crate::geo::epsg_exists`]).
pub fn resolve_crs(h: &Hierarchy, is_known: &dyn Fn(u32) -> bool) -> Option<(Crs, CrsSource)> {
    let root = &h.root().attributes;
    if let Some(om) = root.get("other_metadata").and_then(Value::as_object) {
        for key in ["horizontal_CRS_code", "horizontal_crs_code"] {
            if let Some(code) = om.get(key).and_then(parse_crs_code) {
                if is_known(code) {
                    return Some((Crs::Epsg(code), CrsSource::RootCpmCode));
                }
                tracing::warn!(
                    "unknown CRS code {code} in other_metadata.{key}; trying other sources"
                );
            }
        }
    }
    // (1b) N0512 products give the CRS in their STAC properties (`proj:code`, no `proj:epsg`).
    if let Some(props) = root
        .get("stac_discovery")
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    {
        for key in ["proj:code", "proj:epsg"] {
            if let Some(code) = props.get(key).and_then(parse_crs_code)
                && is_known(code)
            {
                return Some((Crs::Epsg(code), CrsSource::RootStac));
            }
        }
    }
    // (2) groups in tree order (root excluded) declaring a CRS (GeoZarr `proj:code`) or holding a
    // grid-mapping variable.
    for n in h.nodes().filter(|n| n.path != "/" && is_group(n)) {
        if let Some(code) = n.attributes.get("proj:code").and_then(parse_crs_code)
            && is_known(code)
        {
            return Some((Crs::Epsg(code), CrsSource::ProjCode(n.path.to_string())));
        }
        for child in h.children(&n.path) {
            let name = child.path.rsplit('/').next().unwrap_or("");
            let referenced = h
                .children(&n.path)
                .iter()
                .any(|c| c.attributes.get("grid_mapping").and_then(Value::as_str) == Some(name));
            if (referenced || name == "spatial_ref")
                && let Some(crs) = grid_mapping_crs(child)
                && crs.epsg().is_none_or(is_known)
            {
                return Some((crs, CrsSource::GridMapping(child.path.to_string())));
            }
        }
    }
    // (3) the first array with proj:epsg.
    for n in h.nodes().filter(|n| !is_group(n)) {
        if let Some(code) = n.attributes.get("proj:epsg").and_then(parse_crs_code)
            && is_known(code)
        {
            return Some((Crs::Epsg(code), CrsSource::ProjEpsg(n.path.to_string())));
        }
    }
    // Last resort: the store root's `proj:code` (for GeoZarr outputs that is the bbox CRS).
    root.get("proj:code")
        .and_then(parse_crs_code)
        .filter(|c| is_known(*c))
        .map(|c| (Crs::Epsg(c), CrsSource::ProjCode("/".into())))
}

/// CF packing attributes of an array.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CfEncoding {
    pub fill: Option<f64>,
    pub scale_factor: f64,
    pub add_offset: f64,
}

impl CfEncoding {
    /// From attributes (`_FillValue` or `fill_value` attribute, else the array's fill value).
    pub fn from_attributes(attrs: &Map<String, Value>, array_fill: &Value) -> Self {
        let num = |v: &Value| -> Option<f64> {
            match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) if s == "NaN" => Some(f64::NAN),
                _ => None,
            }
        };
        let fill = attrs
            .get("_FillValue")
            .and_then(crate::zarr_ext::fill_attribute)
            .as_ref()
            .and_then(num)
            .or_else(|| attrs.get("fill_value").and_then(num))
            .or_else(|| num(array_fill));
        CfEncoding {
            fill,
            scale_factor: attrs.get("scale_factor").and_then(num).unwrap_or(1.0),
            add_offset: attrs.get("add_offset").and_then(num).unwrap_or(0.0),
        }
    }

    /// Decode one value in f64: fill → NaN, else `value·scale + offset`.
    #[inline]
    pub fn decode_f64(&self, v: f64) -> f64 {
        match self.fill {
            Some(f) if v == f || (f.is_nan() && v.is_nan()) => f64::NAN,
            _ => v * self.scale_factor + self.add_offset,
        }
    }

    /// Decode one value: fill → NaN, else `value·scale + offset` in f64, then f32.
    #[inline]
    pub fn decode(&self, v: f64) -> f32 {
        self.decode_f64(v) as f32
    }

    /// Decode a slice of u16 digital numbers.
    pub fn decode_u16(&self, data: &[u16]) -> Vec<f32> {
        data.iter().map(|&v| self.decode(f64::from(v))).collect()
    }

    /// [`Self::decode`] of every u16 value, indexed by the value (65,536 entries): the decode
    /// as a table lookup, the same bits as the f64 arithmetic.
    pub fn u16_table(&self) -> Vec<f32> {
        (0..=u16::MAX).map(|v| self.decode(f64::from(v))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn band_table_matches_reference() {
        assert_eq!(native_bands(10), ["b02", "b03", "b04", "b08"]);
        assert_eq!(native_bands(20), ["b05", "b06", "b07", "b11", "b12", "b8a"]);
        for (name, res, _, _) in BAND_INFO {
            assert!(native_bands(res).contains(&name), "{name} at {res} m");
        }
        assert_eq!(native_bands(60), ["b01", "b09", "b10"]);
        let b8a = band_info("B8A").unwrap();
        assert_eq!(
            (b8a.native_resolution, b8a.wavelength_nm, b8a.bandwidth_nm),
            (20, 865, 21)
        );
        assert_eq!(band_info("b12").unwrap().bandwidth_nm, 175);
        assert!(band_info("b13").is_none());
        assert_eq!(resolution_meters("r720m"), Some(720));
    }

    #[test]
    fn crs_codes_parse_like_the_reference() {
        assert_eq!(parse_crs_code(&json!(32632)), Some(32632));
        assert_eq!(parse_crs_code(&json!("EPSG:32632")), Some(32632));
        assert_eq!(parse_crs_code(&json!("32632")), Some(32632));
        assert_eq!(parse_crs_code(&json!("INVALID")), None);
        assert_eq!(parse_crs_code(&json!(null)), None);
    }

    #[test]
    fn cf_decode_is_f64_then_f32() {
        let cf = CfEncoding {
            fill: Some(0.0),
            scale_factor: 0.0001,
            add_offset: -0.1,
        };
        assert!(cf.decode(0.0).is_nan());
        assert_eq!(cf.decode(1234.0), (1234.0f64 * 0.0001 - 0.1) as f32);
        assert_eq!(cf.decode(65535.0), (65535.0f64 * 0.0001 - 0.1) as f32);
    }

    #[test]
    fn wkt_epsg_is_the_outermost_authority() {
        let wkt = r#"PROJCS["WGS 84 / UTM zone 32N",GEOGCS["WGS 84",AUTHORITY["EPSG","4326"]],AUTHORITY["EPSG","32632"]]"#;
        assert_eq!(epsg_from_wkt(wkt), Some(32632));
    }
}
