//! The output profiles as values. A [`Profile`] names one; [`Profile::choices`] is what it writes,
//! choice by choice, and the planners, the writer and the convention declarations consult the
//! field where the choice is made rather than branching on the profile's name. A new profile is a
//! new row of [`Choices`] (see `ARCHITECTURE.md`, "Adding a profile").

/// Output profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Profile {
    /// eopf-geozarr 0.10.1 structure and metadata (reproduces the reference's fixtures).
    Reference,
    /// The published GeoZarr conventions with the fixes of src/profile.rs (default).
    #[default]
    Geozarr,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "geozarr" => Ok(Profile::Geozarr),
            "reference" => Ok(Profile::Reference),
            o => Err(format!("{o:?}: expected \"geozarr\" or \"reference\"")),
        }
    }
}

/// Where a multiscale group's levels live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LevelLayout {
    /// The native data in the multiscale group itself (`asset: "."`), overviews below it.
    Nested,
    /// Sibling level groups `r1` (native), `r2`, `r4`, … under the multiscale group.
    Flat,
}

/// How transforms, bounding boxes and level coordinates are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Transforms {
    /// As the reference: from pixel centres and level sizes (its stale GeoTransform chain, its
    /// centre-to-centre bboxes, left/top edges as overview coordinates).
    FromCentres,
    /// Exact: from the pixel edges of the native grid, each level's centres on that grid.
    FromEdges,
}

/// What happens to the last row/column when a level's edge is not a multiple of the factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Trimming {
    /// Dropped (`edge / factor`), as the reference's coarsen with `boundary="trim"`.
    DropPartialBlocks,
    /// Kept as a partial block (`ceil(edge / factor)`).
    KeepPartialBlocks,
}

/// Chunking, sharding and compression of data arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encodings {
    /// The reference's: its measurement chunks and simple shards, blosc-zstd level 3 whatever
    /// was asked, 1-D chunks not clipped to the length (B-22).
    Reference,
    /// The sharding policy of `plan::geozarr_raster_encoding`, the chosen codec and level.
    Policy,
}

/// How overview levels of non-reflectance variables are reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Resampling {
    /// Everything averaged; 2-D integers become float64 levels (B-7); no pyramids for rasters
    /// other than reflectance.
    AverageAll,
    /// Type-correct kernels by variable kind (mode for classes, OR for bit masks, mean for the
    /// rest, the source's type kept) and pyramids for every raster of a georeferenced product.
    ByKind,
}

/// Which arrays and groups carry CRS information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Georeferencing {
    /// As the reference: measurement/quality groups and the `--crs-groups` only; level groups
    /// inherit from the multiscale group.
    ReferenceGroups,
    /// Every group and array on a raster grid (condition masks, every copied group with x/y,
    /// each level group itself), with exact `proj:`/`spatial:` attributes (B-11).
    EveryGrid,
}

/// The convention declarations (`zarr_conventions` entries) a profile writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ConventionVersions {
    /// eopf-geozarr 0.10.1's: `v1` schema URLs, `proj:`/`spatial:` names.
    ReferenceV1,
    /// The published v0.1 declarations.
    V01,
}

/// Everything a profile decides, by concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Choices {
    pub levels: LevelLayout,
    pub transforms: Transforms,
    pub trimming: Trimming,
    pub encodings: Encodings,
    pub resampling: Resampling,
    pub georeferencing: Georeferencing,
    pub convention_versions: ConventionVersions,
    /// `zarr_conventions` declared on the store root and multiscale groups, STAC metadata at the
    /// root, CF `coordinates` cleaned up (scalars dropped, `spatial_ref` named): what today's
    /// clients read (docs/reference.md, "Today's clients").
    pub client_metadata: bool,
    /// Attributes made strict JSON and stripped of stale encodings (instead of copied verbatim).
    pub sanitized_attributes: bool,
    /// A declared nodata becomes the Zarr fill value (B-8: the reference leaves 0).
    pub nodata_as_fill: bool,
    /// `standard_name: toa/boa reflectance` stamped on every variable (B-7) instead of only on
    /// reflectance.
    pub reflectance_name_everywhere: bool,
}

impl Profile {
    /// The profile's choices.
    ///
    /// ```
    /// use eopf_geozarr::profile::{LevelLayout, Profile};
    /// assert_eq!(Profile::Reference.choices().levels, LevelLayout::Nested);
    /// assert_eq!(Profile::Geozarr.choices().levels, LevelLayout::Flat);
    /// ```
    pub const fn choices(self) -> Choices {
        match self {
            Profile::Reference => REFERENCE,
            Profile::Geozarr => GEOZARR,
        }
    }
}

const REFERENCE: Choices = Choices {
    levels: LevelLayout::Nested,
    transforms: Transforms::FromCentres,
    trimming: Trimming::DropPartialBlocks,
    encodings: Encodings::Reference,
    resampling: Resampling::AverageAll,
    georeferencing: Georeferencing::ReferenceGroups,
    convention_versions: ConventionVersions::ReferenceV1,
    client_metadata: false,
    sanitized_attributes: false,
    nodata_as_fill: false,
    reflectance_name_everywhere: true,
};

const GEOZARR: Choices = Choices {
    levels: LevelLayout::Flat,
    transforms: Transforms::FromEdges,
    trimming: Trimming::KeepPartialBlocks,
    encodings: Encodings::Policy,
    resampling: Resampling::ByKind,
    georeferencing: Georeferencing::EveryGrid,
    convention_versions: ConventionVersions::V01,
    client_metadata: true,
    sanitized_attributes: true,
    nodata_as_fill: true,
    reflectance_name_everywhere: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_profiles_differ_in_every_choice() {
        let (r, g) = (Profile::Reference.choices(), Profile::Geozarr.choices());
        let (r, g) = (
            serde_json::to_value(r).unwrap(),
            serde_json::to_value(g).unwrap(),
        );
        for (k, v) in r.as_object().unwrap() {
            assert_ne!(&g[k], v, "{k}");
        }
    }
}
