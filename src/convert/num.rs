//! Numeric element types of arrays that pipeline A computes in f64 and writes in their own type,
//! with NumPy's casting rules (`astype`: float → integer truncates toward zero).

/// A numeric Zarr data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Num {
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
}

impl Num {
    /// From a v2 (`<u2`, `|u1`) or v3 (`uint16`) data type; `None` for strings, bools, times.
    pub fn from_dtype(s: &str) -> Option<Num> {
        Self::from_data_type(&crate::dtype::DataType::parse(s))
    }

    /// The numeric type of a [`crate::dtype::DataType`]; `None` for strings, bools, times.
    pub fn from_data_type(d: &crate::dtype::DataType) -> Option<Num> {
        use crate::dtype::DataType as D;
        Some(match d {
            D::U8 => Num::U8,
            D::U16 => Num::U16,
            D::U32 => Num::U32,
            D::U64 => Num::U64,
            D::I8 => Num::I8,
            D::I16 => Num::I16,
            D::I32 => Num::I32,
            D::I64 => Num::I64,
            D::F32 => Num::F32,
            D::F64 => Num::F64,
            _ => return None,
        })
    }

    /// The Zarr v3 name.
    pub fn v3(self) -> &'static str {
        match self {
            Num::U8 => "uint8",
            Num::U16 => "uint16",
            Num::U32 => "uint32",
            Num::U64 => "uint64",
            Num::I8 => "int8",
            Num::I16 => "int16",
            Num::I32 => "int32",
            Num::I64 => "int64",
            Num::F32 => "float32",
            Num::F64 => "float64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Num::U8 | Num::I8 => 1,
            Num::U16 | Num::I16 => 2,
            Num::U32 | Num::I32 | Num::F32 => 4,
            Num::U64 | Num::I64 | Num::F64 => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Num::F32 | Num::F64)
    }

    /// The float type xarray decodes a masked (or scaled) integer into: float32 for ≤ 2-byte
    /// integers with only a fill value, float64 otherwise.
    pub fn decoded(self, scaled: bool) -> Num {
        match self {
            Num::F32 if !scaled => Num::F32,
            Num::U8 | Num::U16 | Num::I8 | Num::I16 if !scaled => Num::F32,
            _ => Num::F64,
        }
    }

    /// Little-endian bytes of `values` cast to this type the way NumPy's `astype` does
    /// (truncation toward zero; NaN → 0; out of range saturates).
    pub fn encode(self, values: &[f64]) -> Vec<u8> {
        let mut out = Vec::with_capacity(values.len() * self.size());
        for &v in values {
            match self {
                Num::U8 => out.push(v as u8),
                Num::U16 => out.extend((v as u16).to_le_bytes()),
                Num::U32 => out.extend((v as u32).to_le_bytes()),
                Num::U64 => out.extend((v as u64).to_le_bytes()),
                Num::I8 => out.extend((v as i8).to_le_bytes()),
                Num::I16 => out.extend((v as i16).to_le_bytes()),
                Num::I32 => out.extend((v as i32).to_le_bytes()),
                Num::I64 => out.extend((v as i64).to_le_bytes()),
                Num::F32 => out.extend((v as f32).to_le_bytes()),
                Num::F64 => out.extend(v.to_le_bytes()),
            }
        }
        out
    }

    /// [`Num::encode`] after rounding half up for integer types (GDAL's and the geozarr
    /// profile's rounding of means).
    pub fn encode_rounded(self, values: &[f64]) -> Vec<u8> {
        if self.is_float() {
            return self.encode(values);
        }
        let r: Vec<f64> = values.iter().map(|v| (v + 0.5).floor()).collect();
        self.encode(&r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_like_numpy() {
        assert_eq!(Num::U8.encode(&[3.9, 255.0]), vec![3, 255]);
        assert_eq!(Num::I64.encode(&[-2.7]), (-2i64).to_le_bytes().to_vec());
        assert_eq!(Num::U16.encode_rounded(&[2.5, 2.4]), vec![3, 0, 2, 0]);
        assert_eq!(Num::from_dtype("<u2"), Some(Num::U16));
        assert_eq!(Num::from_dtype("<U7"), None);
        assert_eq!(Num::U16.decoded(true), Num::F64);
        assert_eq!(Num::U16.decoded(false), Num::F32);
    }
}
