//! The plan IR that both pipelines build and the writer executes: every output group with its
//! attributes, every output array with its full `zarr.json`, and where its values come from (a
//! [`Source`]: copies, CF decoding, block reductions with a [`Kernel`], pipeline A's [`Down`]
//! overviews, Sentinel-1 [`S1Warp`]s). Pure data: no I/O, no knowledge of either planner.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::num::Num;
use crate::product::CfEncoding;
use crate::warp::{GcpTransformer, WarpGrid};

/// Where an output array's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The source array's values, unchanged (same dtype).
    Copy { from: String },
    /// CF-decoded u16 → f32 (fill → NaN, `v·scale + offset` in f64, then f32).
    Decode { from: String, cf: CfEncoding },
    /// NaN-mean blocks of the decoded f64 source, then f32 (b08 injection).
    InjectMean {
        from: String,
        cf: CfEncoding,
        factor: u64,
    },
    /// NaN-mean blocks of an already written output array (derived pyramid levels).
    Coarsen { from: String, factor: u64 },
    /// Given values (coordinates of computed levels).
    Values(Vec<f64>),
    /// Float values of `inner` packed back to u16 with CF (`--keep-scale-offset`):
    /// `round_half_even((v − offset) / scale)` in f32, NaN → the fill.
    Pack { inner: Box<Source>, cf: CfEncoding },
    /// The 0-d grid-mapping variable (value 0).
    Zero,
    /// Blocks of `factor`×`factor` pixels of an integer input raster reduced with a type-correct
    /// kernel (geozarr profile pyramids of classes, masks and probabilities).
    Reduce {
        from: String,
        factor: u64,
        kernel: Kernel,
    },
    /// Any numeric input decoded like xarray (fill → NaN, `v·scale + offset` in f64), written as
    /// the float type `out` (pipeline A).
    DecodeAs {
        from: String,
        cf: CfEncoding,
        src: Num,
        out: Num,
    },
    /// Given values cast to `out` (pipeline A's overview coordinates, int64 parents truncate).
    ValuesAs { values: Vec<f64>, out: Num },
    /// The next overview level of an already written output array (pipeline A).
    Downsample {
        from: String,
        from_shape: Vec<u64>,
        from_num: Num,
        down: Down,
        out: Num,
    },
    /// A Sentinel-1 variable warped from its GCPs to the output grid (bilinear).
    Warp {
        from: String,
        warp: std::sync::Arc<S1Warp>,
        src: Num,
    },
}

/// The reduction of a derived level of a non-reflectance raster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Most frequent value (classes: SCL, detector ids).
    Mode,
    /// Bitwise OR (bit masks).
    Or,
    /// Rounded mean (probabilities, AOT, WVP).
    Mean,
}

impl Kernel {
    /// The kernel for a variable (by name and group).
    pub fn for_variable(group: &str, name: &str) -> Kernel {
        if name == "scl" || group.contains("detector_footprint") {
            Kernel::Mode
        } else if group.contains("/quality/mask") || group.contains("l1c_classification") {
            Kernel::Or
        } else {
            Kernel::Mean
        }
    }

    /// The `resampling_method` written in the multiscales layout.
    pub fn resampling_method(self) -> &'static str {
        match self {
            Kernel::Mode => "mode",
            Kernel::Or => "bitwise_or",
            Kernel::Mean => "average",
        }
    }
}

/// One output array.
#[derive(Debug, Clone)]
pub struct OutArray {
    pub path: String,
    pub doc: Value,
    pub source: Source,
}

/// The whole output.
#[derive(Debug, Clone, Default)]
pub struct OutputPlan {
    /// Group path → attributes (`/` is the store root).
    pub groups: BTreeMap<String, Map<String, Value>>,
    /// Arrays in dependency order (a `Coarsen` source comes before its users).
    pub arrays: Vec<OutArray>,
    /// Groups that get inline consolidated metadata.
    pub consolidate: Vec<String>,
}

/// The last segment of a planned node path (see [`crate::node_path::NodePath::name`]).
pub(crate) fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The parent group of a planned node path ([`crate::node_path::NodePath::parent`]).
pub(crate) fn parent_of(path: &str) -> String {
    crate::node_path::NodePath::from_clean(path).parent().into()
}

/// How a level of pipeline A is reduced from the previous one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Down {
    /// The reference's `downsample_2d_array` without nodata: block sizes `src div dst` per axis,
    /// cropped from the top-left, plain mean (NaN propagates).
    Reference,
    /// Factor 2 with partial edge blocks, mean over the pixels that are neither NaN nor `nodata`
    /// (rounded for integer types; no valid pixel → `nodata` or NaN).
    Mean { nodata: Option<f64> },
    /// Factor 2 with partial edge blocks: mode (classes) or bitwise OR (bit masks) of u8.
    Classes(Kernel),
}

/// Everything the writer needs to warp one Sentinel-1 variable.
#[derive(Debug, Clone, PartialEq)]
pub struct S1Warp {
    pub transformer: GcpTransformer,
    pub grid: WarpGrid,
    pub src_width: u64,
    pub src_height: u64,
    /// Destination fill and source nodata (the reference's rule by attribute, then by type).
    pub nodata: f64,
    pub src_nodata: Option<f64>,
}

/// Compression codec of data arrays (geozarr profile; README "Performance", codec study).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// The default: zstd, except Blosc zstd with byte shuffle for the packed uint16 reflectance
    /// of `--keep-scale-offset`, which it makes smaller at the same speed (README "Performance").
    #[default]
    Auto,
    /// Plain zstd for every array (the smallest on float32 reflectance).
    Zstd,
    /// Blosc zstd with byte shuffle (what the reference writes).
    BloscZstd,
    /// Blosc zstd with bit-shuffle.
    BloscZstdBitShuffle,
}

impl Codec {
    /// The codec of a packed uint16 reflectance band (`--keep-scale-offset`).
    pub fn for_packed_reflectance(self) -> Codec {
        match self {
            Codec::Auto => Codec::BloscZstd,
            c => c,
        }
    }
}

impl std::str::FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Codec::Auto),
            "zstd" => Ok(Codec::Zstd),
            "blosc-zstd" => Ok(Codec::BloscZstd),
            "blosc-zstd-bitshuffle" => Ok(Codec::BloscZstdBitShuffle),
            o => Err(format!(
                "{o:?}: expected \"auto\", \"zstd\", \"blosc-zstd\" or \"blosc-zstd-bitshuffle\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_names_and_the_packed_reflectance_choice() {
        for (name, c) in [
            ("auto", Codec::Auto),
            ("zstd", Codec::Zstd),
            ("blosc-zstd", Codec::BloscZstd),
            ("blosc-zstd-bitshuffle", Codec::BloscZstdBitShuffle),
        ] {
            assert_eq!(name.parse::<Codec>(), Ok(c));
        }
        assert!("lz4".parse::<Codec>().unwrap_err().contains("\"lz4\""));
        assert_eq!(Codec::default(), Codec::Auto);
        assert_eq!(Codec::Auto.for_packed_reflectance(), Codec::BloscZstd);
        assert_eq!(Codec::Zstd.for_packed_reflectance(), Codec::Zstd);
        assert_eq!(
            Codec::BloscZstdBitShuffle.for_packed_reflectance(),
            Codec::BloscZstdBitShuffle
        );
    }
}
