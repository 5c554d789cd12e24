//! Zarr v3 extension data types that EOPF products use and `zarrs` does not ship, registered
//! through zarrs' own plugin API (`inventory`), so every `Array` opened anywhere in the program
//! understands them.
//!
//! * `null_terminated_bytes` (zarr-python's `NullTerminatedBytes`, NumPy `|S<n>`): `length_bytes`
//!   bytes per element, shorter values padded with NUL. EOPF N0512 products write the
//!   `conditions/geometry/band` and `detector` coordinates with it. Its fill value is the base64
//!   text of the bytes (`""` = all NUL), as zarr-python writes it.
//!
//! (`fixed_length_utf32`, the other string type of N0512, is built into zarrs 0.23.)

use std::num::NonZeroU64;
use std::sync::Arc;

use crate::error::{Error, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zarrs::array::{DataType, DataTypeSize, FillValueMetadata};
use zarrs::metadata::v3::MetadataV3;
use zarrs::metadata::{Configuration, ConfigurationSerialize};
use zarrs::plugin::{PluginCreateError, ZarrVersion};
use zarrs_data_type::{
    DataTypeFillValueError, DataTypeFillValueMetadataError, DataTypePluginV3, DataTypeTraits,
    FillValue,
};

/// Base64 of a little-endian float64 NaN: xarray's `_FillValue` attribute in Zarr v3.
pub const NAN_FILL_B64: &str = "AAAAAAAA+H8=";

/// The name of the data type in `zarr.json`.
pub const NULL_TERMINATED_BYTES: &str = "null_terminated_bytes";

/// Configuration of `null_terminated_bytes`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NullTerminatedBytesConfiguration {
    /// Bytes per element.
    pub length_bytes: NonZeroU64,
}

impl ConfigurationSerialize for NullTerminatedBytesConfiguration {}

/// Fixed-length byte strings, NUL-padded (NumPy `|S<n>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NullTerminatedBytesDataType {
    length_bytes: NonZeroU64,
}

/// Longest element accepted (far above the 3 bytes EOPF uses): a declared length is never
/// allocated unchecked.
const MAX_LENGTH_BYTES: u64 = 1 << 20;

impl NullTerminatedBytesDataType {
    /// A data type of `length_bytes` bytes per element (1 B to 1 MiB).
    pub fn new(length_bytes: NonZeroU64) -> Result<Self, PluginCreateError> {
        if length_bytes.get() > MAX_LENGTH_BYTES {
            return Err(PluginCreateError::Other(format!(
                "{NULL_TERMINATED_BYTES}: length_bytes {} is above the limit of {MAX_LENGTH_BYTES}",
                length_bytes.get()
            )));
        }
        Ok(Self { length_bytes })
    }

    /// Bytes per element.
    pub fn length_bytes(&self) -> u64 {
        self.length_bytes.get()
    }
}

zarrs::plugin::impl_extension_aliases!(NullTerminatedBytesDataType, v3: NULL_TERMINATED_BYTES);

impl zarrs_data_type::DataTypeTraitsV3 for NullTerminatedBytesDataType {
    fn create(metadata: &MetadataV3) -> Result<DataType, PluginCreateError> {
        let config: NullTerminatedBytesConfiguration = metadata.to_typed_configuration()?;
        Ok(Arc::new(NullTerminatedBytesDataType::new(config.length_bytes)?).into())
    }
}

inventory::submit! {
    DataTypePluginV3::new::<NullTerminatedBytesDataType>()
}

impl DataTypeTraits for NullTerminatedBytesDataType {
    fn configuration(&self, _version: ZarrVersion) -> Configuration {
        Configuration::from(NullTerminatedBytesConfiguration {
            length_bytes: self.length_bytes,
        })
    }

    fn size(&self) -> DataTypeSize {
        // `new` bounds the length to 1 MiB, which fits usize on every target.
        DataTypeSize::Fixed(self.length_bytes.get() as usize)
    }

    fn fill_value(
        &self,
        fill_value_metadata: &FillValueMetadata,
        _version: ZarrVersion,
    ) -> Result<FillValue, DataTypeFillValueMetadataError> {
        let s = fill_value_metadata
            .as_str()
            .ok_or(DataTypeFillValueMetadataError)?;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| DataTypeFillValueMetadataError)?;
        let n = self.length_bytes.get() as usize;
        if bytes.len() > n {
            return Err(DataTypeFillValueMetadataError);
        }
        bytes.resize(n, 0);
        Ok(FillValue::new(bytes))
    }

    fn metadata_fill_value(
        &self,
        fill_value: &FillValue,
    ) -> Result<FillValueMetadata, DataTypeFillValueError> {
        let bytes = fill_value.as_ne_bytes();
        if bytes.len() != self.length_bytes.get() as usize {
            return Err(DataTypeFillValueError);
        }
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        Ok(FillValueMetadata::from(
            base64::engine::general_purpose::STANDARD.encode(&bytes[..end]),
        ))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

// Byte strings have no byte order: the `bytes` codec passes them through.
zarrs_data_type::codec_traits::impl_bytes_data_type_traits!(NullTerminatedBytesDataType, 1);

/// A NumPy v2 dtype (`<u2`, `|u1`, `<U7`, `|S3`, …) or a plain v3 data type name (`uint16`) as a
/// Zarr v3 `data_type` and its item size.
pub fn v3_data_type(v2: &str, at: &str) -> Result<(Value, usize)> {
    let t = v2.trim_start_matches(['<', '>', '|', '=']);
    let (name, size) = match t {
        "u1" | "uint8" => ("uint8", 1),
        "u2" | "uint16" => ("uint16", 2),
        "u4" | "uint32" => ("uint32", 4),
        "u8" | "uint64" => ("uint64", 8),
        "i1" | "int8" => ("int8", 1),
        "i2" | "int16" => ("int16", 2),
        "i4" | "int32" => ("int32", 4),
        "i8" | "int64" => ("int64", 8),
        "f4" | "float32" => ("float32", 4),
        "f8" | "float64" => ("float64", 8),
        "b1" | "bool" => ("bool", 1),
        s if s.starts_with('S') => {
            let n: u64 = s[1..]
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| Error::invalid(at, format!("unsupported dtype {v2}")))?;
            return Ok((null_terminated_bytes_metadata(n), n as usize));
        }
        s if s.starts_with('U') => {
            let n: usize = s[1..]
                .parse()
                .map_err(|_| Error::invalid(at, format!("unsupported dtype {v2}")))?;
            return Ok((
                json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 4 * n}}),
                4 * n,
            ));
        }
        _ => {
            return Err(Error::Unsupported {
                path: at.to_string(),
                what: "data type",
                reason: format!("cannot convert dtype {v2}"),
            });
        }
    };
    Ok((Value::String(name.into()), size))
}

/// A Zarr v3 `data_type` as the NumPy dtype EOPF writes beside it (`uint16` → `<u2`,
/// `fixed_length_utf32` of 28 bytes → `<U7`, `null_terminated_bytes` of 3 → `|S3`).
pub fn numpy_dtype(data_type: &Value, at: &str) -> Result<String> {
    let bad = || Error::Unsupported {
        path: at.to_string(),
        what: "data type",
        reason: format!("data type {data_type} is not supported"),
    };
    let length = || {
        data_type
            .pointer("/configuration/length_bytes")
            .and_then(Value::as_u64)
            .filter(|&n| n > 0 && n <= MAX_LENGTH_BYTES)
    };
    Ok(match data_type {
        Value::String(s) => match s.as_str() {
            "uint8" => "|u1",
            "uint16" => "<u2",
            "uint32" => "<u4",
            "uint64" => "<u8",
            "int8" => "|i1",
            "int16" => "<i2",
            "int32" => "<i4",
            "int64" => "<i8",
            "float32" => "<f4",
            "float64" => "<f8",
            "bool" => "|b1",
            _ => return Err(bad()),
        }
        .to_string(),
        Value::Object(o) => match o.get("name").and_then(Value::as_str) {
            Some("fixed_length_utf32") => {
                let n = length().filter(|n| n % 4 == 0).ok_or_else(bad)?;
                format!("<U{}", n / 4)
            }
            Some(NULL_TERMINATED_BYTES) => format!("|S{}", length().ok_or_else(bad)?),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    })
}

/// A CF `_FillValue` attribute as a JSON fill value: numbers and the `"NaN"`/`"Infinity"`/
/// `"-Infinity"` strings as they are, and the base64 text zarr-python writes for float fills in
/// Zarr v3 (`"AAAAAAAA+H8="`: the 8 little-endian bytes of a float64 NaN; 4 bytes for float32)
/// decoded. `None` for `null` and text that is none of these.
pub fn fill_attribute(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {
            Some(v.clone())
        }
        Value::String(s) => {
            let b = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
            let f = match b.len() {
                8 => f64::from_le_bytes(b.try_into().ok()?),
                4 => f64::from(f32::from_le_bytes(b.try_into().ok()?)),
                _ => return None,
            };
            Some(if f.is_nan() {
                json!("NaN")
            } else if f.is_infinite() {
                json!(if f > 0.0 { "Infinity" } else { "-Infinity" })
            } else {
                json!(f)
            })
        }
        other => Some(other.clone()),
    }
}

/// The metadata document of a `null_terminated_bytes` data type of `n` bytes.
pub fn null_terminated_bytes_metadata(n: u64) -> serde_json::Value {
    json!({"name": NULL_TERMINATED_BYTES, "configuration": {"length_bytes": n}})
}

/// Decode NUL-padded byte strings (`|S<n>` elements) into text, lossily for non-UTF-8 bytes.
pub fn decode_null_terminated(bytes: &[u8], n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    bytes
        .chunks(n)
        .map(|c| {
            let end = c.iter().position(|&b| b == 0).unwrap_or(c.len());
            String::from_utf8_lossy(&c[..end]).into_owned()
        })
        .collect()
}

/// Decode UTF-32LE code units padded with U+0000 (`<U<n>` / `fixed_length_utf32` elements).
pub fn decode_utf32(bytes: &[u8], length_bytes: usize) -> Vec<String> {
    if length_bytes < 4 {
        return Vec::new();
    }
    bytes
        .chunks(length_bytes)
        .map(|c| {
            c.chunks_exact(4)
                .map(|u| u32::from_le_bytes([u[0], u[1], u[2], u[3]]))
                .take_while(|&u| u != 0)
                .map(|u| char::from_u32(u).unwrap_or('\u{FFFD}'))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zarrs::array::{ArrayBytes, ArrayMetadata};
    use zarrs::storage::store::MemoryStore;

    fn doc(fill: &str) -> serde_json::Value {
        serde_json::json!({
            "zarr_format": 3, "node_type": "array", "shape": [5],
            "data_type": null_terminated_bytes_metadata(3),
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill,
            "codecs": [{"name": "bytes"}, {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
            "attributes": {}, "dimension_names": ["band"], "storage_transformers": []
        })
    }

    #[test]
    fn null_terminated_bytes_round_trip_through_zarrs() {
        let store = Arc::new(MemoryStore::default());
        let meta: zarrs::array::ArrayMetadataV3 = serde_json::from_value(doc("")).unwrap();
        let array =
            zarrs::array::Array::new_with_metadata(store.clone(), "/band", ArrayMetadata::V3(meta))
                .unwrap();
        array
            .store_chunk(&[0], ArrayBytes::new_flen(b"b01b8a".to_vec()))
            .unwrap();
        array
            .store_chunk(&[1], ArrayBytes::new_flen(b"b1\0b12".to_vec()))
            .unwrap();
        let all: ArrayBytes = array.retrieve_array_subset(&array.subset_all()).unwrap();
        let bytes = all.into_fixed().unwrap().into_owned();
        // The last chunk was never written: it reads as the fill value (all NUL).
        assert_eq!(
            decode_null_terminated(&bytes, 3),
            ["b01", "b8a", "b1", "b12", ""]
        );
        // The metadata round-trips with the same data type and fill value.
        let written = serde_json::to_value(array.metadata()).unwrap();
        assert_eq!(written["data_type"], null_terminated_bytes_metadata(3));
        assert_eq!(written["fill_value"], "");
    }

    #[test]
    fn fill_values_are_base64_and_bounded() {
        let dt = NullTerminatedBytesDataType::new(NonZeroU64::new(3).unwrap()).unwrap();
        let f = dt
            .fill_value(&FillValueMetadata::from("YWI="), ZarrVersion::V3)
            .unwrap();
        assert_eq!(f.as_ne_bytes(), b"ab\0");
        assert!(
            dt.fill_value(&FillValueMetadata::from("YWJjZA=="), ZarrVersion::V3)
                .is_err()
        );
        assert!(
            dt.fill_value(&FillValueMetadata::from("not base64!"), ZarrVersion::V3)
                .is_err()
        );
        assert!(NullTerminatedBytesDataType::new(NonZeroU64::new(1 << 30).unwrap()).is_err());
    }

    #[test]
    fn base64_fill_attributes_decode() {
        assert_eq!(fill_attribute(&json!(NAN_FILL_B64)), Some(json!("NaN")));
        assert_eq!(fill_attribute(&json!(0)), Some(json!(0)));
        assert_eq!(fill_attribute(&json!("NaN")), Some(json!("NaN")));
        // 1.5 as float32 and float64.
        assert_eq!(fill_attribute(&json!("AADAPw==")), Some(json!(1.5)));
        assert_eq!(fill_attribute(&json!("AAAAAAAA+D8=")), Some(json!(1.5)));
        assert_eq!(fill_attribute(&json!("no")), None);
        assert_eq!(fill_attribute(&Value::Null), None);
    }

    #[test]
    fn utf32_strings_decode() {
        let mut b = Vec::new();
        for c in "zenith\0azimuth".chars() {
            b.extend_from_slice(&(c as u32).to_le_bytes());
        }
        assert_eq!(decode_utf32(&b, 28), ["zenith", "azimuth"]);
    }
}
