//! Data types as a type: an array's data type is parsed once, from the NumPy spelling of Zarr v2
//! (`<u2`, `|u1`, `<U7`, `|S3`) or the Zarr v3 name (`uint16`), into a [`DataType`] that the
//! readers, renderers, planners and writer match on, instead of each trimming and comparing
//! strings.

use std::fmt;

/// An array's element type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum DataType {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
    /// Fixed-length bytes (`|S3`; N0512's `null_terminated_bytes`) of this many bytes.
    Bytes(usize),
    /// Fixed-length UTF-32 text (`<U7`; v3 `fixed_length_utf32`) of this many characters.
    Unicode(usize),
    /// Anything else (datetimes, complex, …), as spelled.
    Other(String),
}

impl DataType {
    /// Parse a NumPy (v2) or Zarr v3 spelling.
    ///
    /// ```
    /// use eopf_geozarr::dtype::DataType;
    /// assert_eq!(DataType::parse("<u2"), DataType::U16);
    /// assert_eq!(DataType::parse("uint16"), DataType::U16);
    /// assert_eq!(DataType::parse("|S3"), DataType::Bytes(3));
    /// assert_eq!(DataType::parse("<U7"), DataType::Unicode(7));
    /// assert_eq!(DataType::parse("<M8[ns]"), DataType::Other("<M8[ns]".into()));
    /// ```
    pub fn parse(s: &str) -> DataType {
        let t = s.trim_start_matches(['<', '>', '|', '=']);
        match t {
            "b1" | "bool" => DataType::Bool,
            "u1" | "uint8" => DataType::U8,
            "u2" | "uint16" => DataType::U16,
            "u4" | "uint32" => DataType::U32,
            "u8" | "uint64" => DataType::U64,
            "i1" | "int8" => DataType::I8,
            "i2" | "int16" => DataType::I16,
            "i4" | "int32" => DataType::I32,
            "i8" | "int64" => DataType::I64,
            "f4" | "float32" => DataType::F32,
            "f8" | "float64" => DataType::F64,
            _ => {
                let sized =
                    |prefix: char| t.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
                if let Some(n) = sized('S') {
                    DataType::Bytes(n)
                } else if let Some(n) = sized('U') {
                    DataType::Unicode(n)
                } else {
                    DataType::Other(s.to_string())
                }
            }
        }
    }

    /// Bytes per element (`None` for [`DataType::Other`]).
    pub fn item_size(&self) -> Option<usize> {
        Some(match self {
            DataType::Bool | DataType::U8 | DataType::I8 => 1,
            DataType::U16 | DataType::I16 => 2,
            DataType::U32 | DataType::I32 | DataType::F32 => 4,
            DataType::U64 | DataType::I64 | DataType::F64 => 8,
            DataType::Bytes(n) => *n,
            DataType::Unicode(n) => 4 * n,
            DataType::Other(_) => return None,
        })
    }

    pub fn is_float(&self) -> bool {
        matches!(self, DataType::F32 | DataType::F64)
    }

    /// Signed or unsigned integers of 8 to 64 bits.
    pub fn is_integer(&self) -> bool {
        use DataType as D;
        matches!(
            self,
            D::U8 | D::U16 | D::U32 | D::U64 | D::I8 | D::I16 | D::I32 | D::I64
        )
    }

    /// Text (fixed-length bytes or UTF-32).
    pub fn is_text(&self) -> bool {
        matches!(self, DataType::Bytes(_) | DataType::Unicode(_))
    }
}

impl fmt::Display for DataType {
    /// The Zarr v3 name of numeric types; NumPy's spelling of the others.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DataType::Bool => "bool",
            DataType::U8 => "uint8",
            DataType::U16 => "uint16",
            DataType::U32 => "uint32",
            DataType::U64 => "uint64",
            DataType::I8 => "int8",
            DataType::I16 => "int16",
            DataType::I32 => "int32",
            DataType::I64 => "int64",
            DataType::F32 => "float32",
            DataType::F64 => "float64",
            DataType::Bytes(n) => return write!(f, "|S{n}"),
            DataType::Unicode(n) => return write!(f, "<U{n}"),
            DataType::Other(s) => s,
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_alike() {
        for (v2, v3) in [
            ("<u2", "uint16"),
            ("|u1", "uint8"),
            ("<i8", "int64"),
            ("<f4", "float32"),
            ("<f8", "float64"),
            ("|b1", "bool"),
        ] {
            assert_eq!(DataType::parse(v2), DataType::parse(v3), "{v2}");
            assert_eq!(DataType::parse(v2).to_string(), v3);
        }
        assert_eq!(DataType::parse("<U7").item_size(), Some(28));
        assert!(DataType::parse("|S3").is_text() && DataType::F32.is_float());
    }
}
