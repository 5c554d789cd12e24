//! Zarr v3 metadata documents as the reference writes them (docs/reference.md §2.0): data types, codecs,
//! fill values, attribute sanitising, the CF `spatial_ref` grid mapping and its WKT.

use serde_json::{Map, Value, json};

use crate::error::Result;

pub use crate::zarr_ext::NAN_FILL_B64;
pub use crate::zarr_ext::v3_data_type;

/// Whether a v3 data type is a float.
pub fn is_float(data_type: &Value) -> bool {
    matches!(data_type.as_str(), Some("float32" | "float64"))
}

/// The `bytes` codec: with `endian` for multi-byte types, bare for 1-byte types.
pub fn bytes_codec(item_size: usize) -> Value {
    if item_size > 1 {
        json!({"name": "bytes", "configuration": {"endian": "little"}})
    } else {
        json!({"name": "bytes"})
    }
}

/// Blosc zstd with byte shuffle, as the reference writes it (`clevel` 3 unless told otherwise).
pub fn blosc_codec(item_size: usize, clevel: u8) -> Value {
    blosc_zstd(item_size, clevel, "shuffle")
}

/// Blosc zstd with `shuffle` (`shuffle` or `bitshuffle`).
fn blosc_zstd(item_size: usize, clevel: u8, shuffle: &str) -> Value {
    json!({"name": "blosc", "configuration": {"typesize": item_size, "cname": "zstd", "clevel": clevel, "shuffle": shuffle, "blocksize": 0}})
}

/// `sharding_indexed` with a crc32c index at the end.
pub fn sharding_codec(inner: &[u64], codecs: Vec<Value>) -> Value {
    json!({"name": "sharding_indexed", "configuration": {
        "chunk_shape": inner,
        "codecs": codecs,
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
        "index_location": "end"
    }})
}

/// The codec chain of a data array: the reference always writes blosc-zstd level 3 (B-3); the
/// geozarr profile honours the level and the codec choice.
pub fn data_codecs(
    profile: crate::plan::Profile,
    codec: super::ir::Codec,
    level: u8,
    item: usize,
) -> Vec<Value> {
    use super::ir::Codec;
    use crate::profile::Encodings;
    match (profile.choices().encodings, codec) {
        (Encodings::Policy, Codec::Zstd | Codec::Auto) => vec![
            bytes_codec(item),
            json!({"name": "zstd", "configuration": {"level": level, "checksum": false}}),
        ],
        (Encodings::Policy, Codec::BloscZstd) => vec![bytes_codec(item), blosc_codec(item, level)],
        (Encodings::Policy, Codec::BloscZstdBitShuffle) => {
            vec![bytes_codec(item), blosc_zstd(item, level, "bitshuffle")]
        }
        (Encodings::Reference, _) => vec![bytes_codec(item), blosc_codec(item, 3)],
    }
}

/// A whole array `zarr.json`.
pub fn array_doc(
    shape: &[u64],
    data_type: Value,
    grid_chunks: &[u64],
    fill_value: Value,
    codecs: Vec<Value>,
    attributes: Map<String, Value>,
    dimension_names: Option<Vec<String>>,
) -> Value {
    json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": grid_chunks}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill_value,
        "codecs": codecs,
        "attributes": attributes,
        "dimension_names": dimension_names,
        "storage_transformers": [],
    })
}

/// The v3 fill value of an array: the source `_FillValue` attribute if any (NaN/±∞ as strings),
/// else `"NaN"` for floats, `""` for strings, `false` for bools and 0 for integers.
pub fn fill_value(data_type: &Value, source_fill: Option<&Value>) -> Value {
    if let Some(v) = source_fill
        && !v.is_null()
    {
        return v.clone();
    }
    match data_type {
        Value::String(s) if s.starts_with("float") => json!("NaN"),
        Value::String(s) if s == "bool" => json!(false),
        Value::Object(_) => json!(""),
        _ => json!(0),
    }
}

/// `sanitize_array_attrs` (§2.0.6): drop `_eopf_attrs`, `_FillValue`, `_ARRAY_DIMENSIONS`; for
/// decoded floats also `dtype`, `fill_value`, `valid_min`, `valid_max`, and
/// `units: digital_counts` → `"1"`.
pub fn sanitize_attrs(attrs: &Map<String, Value>, decoded_float: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in attrs {
        match k.as_str() {
            "_eopf_attrs" | "_FillValue" | "_ARRAY_DIMENSIONS" => continue,
            "dtype" | "fill_value" | "valid_min" | "valid_max" if decoded_float => continue,
            "units" if decoded_float && v == "digital_counts" => {
                out.insert(k.clone(), json!("1"));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// Replace NaN/±∞ numbers inside attributes by their string forms (§2.0.5). JSON numbers cannot hold
/// them, so only values already stored as strings pass through; this walks nested values to keep
/// the rule in one place for values computed in Rust.
pub fn json_float(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

/// The WKT1 of WGS 84 / UTM zone `zone` as pyproj writes it in `spatial_ref`/`crs_wkt`.
pub fn utm_wkt_pyproj(zone: u32, north: bool) -> String {
    utm_wkt(zone, north, false)
}

/// WGS 84 / UTM WKT1: the short form of pipeline B (`full == false`) or the form with every
/// `AUTHORITY` that `rio.write_crs` writes in pipeline A.
pub fn utm_wkt(zone: u32, north: bool, full: bool) -> String {
    let cm = i64::from(zone) * 6 - 183;
    let (hemi, fnorth, code) = if north {
        ("N", 0, 32600 + zone)
    } else {
        ("S", 10_000_000, 32700 + zone)
    };
    let (sph, prime, metre) = if full {
        (
            ",AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]]",
            ",AUTHORITY[\"EPSG\",\"8901\"]",
            ",AUTHORITY[\"EPSG\",\"9001\"]",
        )
    } else {
        ("]]", "", "")
    };
    format!(
        "PROJCS[\"WGS 84 / UTM zone {zone}{hemi}\",GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563{sph},PRIMEM[\"Greenwich\",0{prime}],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]],PROJECTION[\"Transverse_Mercator\"],PARAMETER[\"latitude_of_origin\",0],PARAMETER[\"central_meridian\",{cm}],PARAMETER[\"scale_factor\",0.9996],PARAMETER[\"false_easting\",500000],PARAMETER[\"false_northing\",{fnorth}],UNIT[\"metre\",1{metre}],AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH],AUTHORITY[\"EPSG\",\"{code}\"]]"
    )
}

/// WKT of EPSG:4326 as pyproj writes it.
pub const WGS84_WKT: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]";

/// The CF grid-mapping attributes of `spatial_ref` for an EPSG code (§2.0.8): WGS 84 / UTM zones
/// and EPSG:4326 are generated here; other codes get `crs_wkt`/`spatial_ref` from PROJ.
pub fn spatial_ref_attrs(epsg: u32) -> Result<Map<String, Value>> {
    spatial_ref_attrs_with(epsg, false)
}

/// [`spatial_ref_attrs`] with the UTM WKT in the short (pipeline B) or full (pipeline A) form.
pub fn spatial_ref_attrs_with(epsg: u32, full_wkt: bool) -> Result<Map<String, Value>> {
    let utm = match epsg {
        32601..=32660 => Some((epsg - 32600, true)),
        32701..=32760 => Some((epsg - 32700, false)),
        _ => None,
    };
    let common = json!({
        "geographic_crs_name": "WGS 84",
        "horizontal_datum_name": "World Geodetic System 1984",
        "inverse_flattening": 298.257223563,
        "longitude_of_prime_meridian": 0.0,
        "prime_meridian_name": "Greenwich",
        "reference_ellipsoid_name": "WGS 84",
        "semi_major_axis": 6378137.0,
        "semi_minor_axis": 6356752.314245179,
    });
    let mut m = common.as_object().cloned().unwrap_or_default();
    if let Some((zone, north)) = utm {
        let wkt = utm_wkt(zone, north, full_wkt);
        m.insert("crs_wkt".into(), json!(wkt));
        m.insert("false_easting".into(), json!(500000.0));
        m.insert(
            "false_northing".into(),
            json!(if north { 0.0 } else { 10_000_000.0 }),
        );
        m.insert("grid_mapping_name".into(), json!("transverse_mercator"));
        m.insert("latitude_of_projection_origin".into(), json!(0.0));
        m.insert(
            "longitude_of_central_meridian".into(),
            json!(f64::from(zone) * 6.0 - 183.0),
        );
        m.insert(
            "projected_crs_name".into(),
            json!(format!(
                "WGS 84 / UTM zone {zone}{}",
                if north { "N" } else { "S" }
            )),
        );
        m.insert("scale_factor_at_central_meridian".into(), json!(0.9996));
        m.insert("spatial_ref".into(), json!(wkt));
        return Ok(m);
    }
    if epsg == 4326 {
        m.insert("crs_wkt".into(), json!(WGS84_WKT));
        m.insert("grid_mapping_name".into(), json!("latitude_longitude"));
        m.insert("spatial_ref".into(), json!(WGS84_WKT));
        return Ok(m);
    }
    let wkt = crate::geo::epsg_wkt1(epsg)?;
    let mut m = Map::new();
    m.insert("crs_wkt".into(), json!(wkt));
    m.insert("spatial_ref".into(), json!(wkt));
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_map_like_xarray() {
        assert_eq!(v3_data_type("<u2", "t").unwrap(), (json!("uint16"), 2));
        assert_eq!(v3_data_type("|u1", "t").unwrap(), (json!("uint8"), 1));
        assert_eq!(
            v3_data_type("<U7", "t").unwrap(),
            (
                json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 28}}),
                28
            )
        );
        assert!(v3_data_type("<M8[ns]", "t").is_err());
    }

    #[test]
    fn sanitising_decoded_floats() {
        let a = json!({"_eopf_attrs": {}, "_FillValue": 0, "dtype": "<u2", "fill_value": 0, "valid_min": 1, "valid_max": 65535, "units": "digital_counts", "long_name": "x", "scale_factor": 0.0001});
        let s = sanitize_attrs(a.as_object().unwrap(), true);
        assert_eq!(
            Value::Object(s),
            json!({"units": "1", "long_name": "x", "scale_factor": 0.0001})
        );
        let s = sanitize_attrs(a.as_object().unwrap(), false);
        assert!(s.contains_key("dtype") && s["units"] == "digital_counts");
    }

    #[test]
    fn utm_spatial_ref_has_the_17_keys() {
        let m = spatial_ref_attrs(32632).unwrap();
        assert_eq!(m.len(), 17);
        assert_eq!(m["longitude_of_central_meridian"], json!(9.0));
        assert!(
            m["crs_wkt"]
                .as_str()
                .unwrap()
                .ends_with("AUTHORITY[\"EPSG\",\"32632\"]]")
        );
        assert_eq!(
            spatial_ref_attrs(32733).unwrap()["false_northing"],
            json!(10_000_000.0)
        );
        assert_eq!(
            spatial_ref_attrs(4326).unwrap()["grid_mapping_name"],
            "latitude_longitude"
        );
    }

    #[test]
    fn fills() {
        assert_eq!(fill_value(&json!("float32"), None), json!("NaN"));
        assert_eq!(fill_value(&json!("uint8"), None), json!(0));
        assert_eq!(
            fill_value(&json!({"name": "fixed_length_utf32"}), None),
            json!("")
        );
        assert_eq!(fill_value(&json!("uint16"), Some(&json!(7))), json!(7));
        assert_eq!(json_float(f64::NAN), json!("NaN"));
    }
}
