//! The GeoZarr conventions: `multiscales`, `proj` and `spatial` (src/conventions.rs). The writer emits
//! either the exact published v0.1 declarations (geozarr profile) or the draft-era declarations of
//! eopf-geozarr 0.10.1 (reference profile); the reader identifies a convention by UUID, with or
//! without the trailing colon in its name and whatever its URLs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::profile::{ConventionVersions, Profile};

/// UUID of the `multiscales` convention.
pub const MULTISCALES_UUID: &str = "d35379db-88df-4056-af3a-620245f8e347";
/// UUID of the `proj` convention.
pub const PROJ_UUID: &str = "f17cb550-5864-4468-aeb7-f3180cfb622f";
/// UUID of the `spatial` convention.
pub const SPATIAL_UUID: &str = "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4";

/// One of the three conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Convention {
    Multiscales,
    Proj,
    Spatial,
}

/// A `zarr_conventions[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declaration {
    pub uuid: String,
    pub schema_url: String,
    pub spec_url: String,
    pub name: String,
    pub description: String,
}

impl Convention {
    /// The convention's UUID.
    pub fn uuid(self) -> &'static str {
        match self {
            Convention::Multiscales => MULTISCALES_UUID,
            Convention::Proj => PROJ_UUID,
            Convention::Spatial => SPATIAL_UUID,
        }
    }

    /// Identify a declaration by UUID (the only stable field).
    pub fn from_uuid(uuid: &str) -> Option<Self> {
        [
            Convention::Multiscales,
            Convention::Proj,
            Convention::Spatial,
        ]
        .into_iter()
        .find(|c| c.uuid() == uuid)
    }

    /// The declaration a profile writes: exact v0.1 (geozarr) or eopf-geozarr 0.10.1's (reference).
    pub fn declaration(self, profile: Profile) -> Declaration {
        let (name, repo_v01, repo_ref, desc) = match self {
            Convention::Multiscales => (
                "multiscales",
                "zarr-conventions/multiscales",
                "zarr-conventions/multiscales",
                "Multiscale layout of zarr datasets",
            ),
            Convention::Proj => (
                "proj",
                "zarr-conventions/proj",
                "zarr-experimental/geo-proj",
                "Coordinate reference system information for geospatial data",
            ),
            Convention::Spatial => (
                "spatial",
                "zarr-conventions/spatial",
                "zarr-conventions/spatial",
                "Spatial coordinate information",
            ),
        };
        match profile.choices().convention_versions {
            ConventionVersions::V01 => Declaration {
                uuid: self.uuid().into(),
                schema_url: format!(
                    "https://raw.githubusercontent.com/{repo_v01}/refs/tags/v0.1/schema.json"
                ),
                spec_url: format!("https://github.com/{repo_v01}/blob/v0.1/README.md"),
                name: name.into(),
                description: desc.into(),
            },
            ConventionVersions::ReferenceV1 => Declaration {
                uuid: self.uuid().into(),
                schema_url: format!(
                    "https://raw.githubusercontent.com/{repo_ref}/refs/tags/v1/schema.json"
                ),
                spec_url: format!("https://github.com/{repo_ref}/blob/v1/README.md"),
                name: match self {
                    Convention::Multiscales => "multiscales".into(),
                    _ => format!("{name}:"),
                },
                description: desc.into(),
            },
        }
    }

    /// The declaration as a JSON object with the key order the reference writes.
    pub fn declaration_json(self, profile: Profile) -> Value {
        let d = self.declaration(profile);
        let mut m = Map::new();
        m.insert("uuid".into(), Value::String(d.uuid));
        m.insert("schema_url".into(), Value::String(d.schema_url));
        m.insert("spec_url".into(), Value::String(d.spec_url));
        m.insert("name".into(), Value::String(d.name));
        m.insert("description".into(), Value::String(d.description));
        Value::Object(m)
    }
}

/// The conventions a node declares (by UUID), in order; unknown entries are skipped.
pub fn declared(attributes: &Map<String, Value>) -> Vec<Convention> {
    attributes
        .get("zarr_conventions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|d| d.get("uuid").and_then(Value::as_str))
                .filter_map(Convention::from_uuid)
                .collect()
        })
        .unwrap_or_default()
}

/// A `multiscales.layout[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutEntry {
    pub asset: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<ScaleTransform>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resampling_method: Option<String>,
    #[serde(rename = "spatial:shape", skip_serializing_if = "Option::is_none")]
    pub spatial_shape: Option<Vec<u64>>,
    #[serde(rename = "spatial:transform", skip_serializing_if = "Option::is_none")]
    pub spatial_transform: Option<Vec<f64>>,
}

/// `transform` of a derived level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleTransform {
    pub scale: Vec<f64>,
    pub translation: Vec<f64>,
}

/// The `multiscales` attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Multiscales {
    pub layout: Vec<LayoutEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resampling_method: Option<String>,
}

impl Multiscales {
    /// Parse a node's `multiscales` attribute.
    pub fn from_attributes(attributes: &Map<String, Value>) -> Option<Result<Self, String>> {
        attributes
            .get("multiscales")
            .map(|v| serde_json::from_value(v.clone()).map_err(|e| e.to_string()))
    }
}

/// Whether a multiscales asset path is safe: relative, no `..`, no empty or `.` segments.
pub fn is_safe_asset(asset: &str) -> bool {
    // "." is the multiscale group itself (pipeline A's native level).
    asset == "."
        || !asset.is_empty()
            && !asset.starts_with('/')
            && !asset.contains('\\')
            && asset
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v01_declarations_are_exact() {
        let d = Convention::Proj.declaration(Profile::Geozarr);
        assert_eq!(d.name, "proj");
        assert_eq!(
            d.schema_url,
            "https://raw.githubusercontent.com/zarr-conventions/proj/refs/tags/v0.1/schema.json"
        );
        assert_eq!(
            d.spec_url,
            "https://github.com/zarr-conventions/proj/blob/v0.1/README.md"
        );
        let s = Convention::Spatial.declaration(Profile::Geozarr);
        assert_eq!(s.name, "spatial");
        assert_eq!(s.description, "Spatial coordinate information");
        let m = Convention::Multiscales.declaration(Profile::Geozarr);
        assert_eq!(
            m.schema_url,
            "https://raw.githubusercontent.com/zarr-conventions/multiscales/refs/tags/v0.1/schema.json"
        );
    }

    #[test]
    fn reference_declarations_match_the_golden_output() {
        let want = json!({"uuid": "f17cb550-5864-4468-aeb7-f3180cfb622f", "schema_url": "https://raw.githubusercontent.com/zarr-experimental/geo-proj/refs/tags/v1/schema.json", "spec_url": "https://github.com/zarr-experimental/geo-proj/blob/v1/README.md", "name": "proj:", "description": "Coordinate reference system information for geospatial data"});
        assert_eq!(Convention::Proj.declaration_json(Profile::Reference), want);
        assert_eq!(
            Convention::Spatial.declaration(Profile::Reference).name,
            "spatial:"
        );
        assert_eq!(
            Convention::Multiscales.declaration(Profile::Reference).name,
            "multiscales"
        );
    }

    #[test]
    fn readers_go_by_uuid() {
        let attrs = json!({"zarr_conventions": [
            {"uuid": SPATIAL_UUID, "name": "spatial:", "schema_url": "x", "spec_url": "y", "description": ""},
            {"uuid": "00000000-0000-0000-0000-000000000000", "name": "other"},
            {"uuid": PROJ_UUID, "name": "proj"}
        ]});
        assert_eq!(
            declared(attrs.as_object().unwrap()),
            [Convention::Spatial, Convention::Proj]
        );
    }

    #[test]
    fn asset_paths_are_checked() {
        assert!(is_safe_asset("r10m"));
        assert!(is_safe_asset("levels/r10m"));
        assert!(is_safe_asset("."));
        for bad in ["", "/r10m", "../r10m", "a/../b", "a//b", "./a", "a\\b"] {
            assert!(!is_safe_asset(bad), "{bad}");
        }
    }
}
