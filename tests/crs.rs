//! CRS resolution in the reference's order — the cases of its `test_s2_converter_simplified`:
//! CPM code as int / "EPSG:n" / "n", an invalid code ⇒ none, a rioxarray grid mapping, `proj:epsg`,
//! CPM priority over the grid mapping.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use eopf_geozarr::geo::epsg_exists;
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::layout::{ArraySpec, GroupSpec, LayoutNode};
use eopf_geozarr::product::{Crs, CrsSource, resolve_crs};
use serde_json::{Value, json};

fn obj(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// A small product: root attrs, a group `/measurements/r10m` with `b02` (attrs) and, optionally,
/// a `spatial_ref` grid-mapping variable with `crs_wkt`.
fn product(
    root: Value,
    b02_attrs: Value,
    grid_mapping_wkt: Option<&str>,
) -> (tempfile::TempDir, Hierarchy) {
    let mut b02 = ArraySpec::eopf(vec![4, 4], vec![4, 4], "<u2", json!(0));
    b02.attributes = obj(b02_attrs);
    let mut members = vec![("b02".to_string(), LayoutNode::Array(b02))];
    if let Some(wkt) = grid_mapping_wkt {
        let mut sr = ArraySpec::eopf(vec![], vec![], "<i8", Value::Null);
        sr.attributes = obj(json!({"crs_wkt": wkt, "spatial_ref": wkt}));
        members.push(("spatial_ref".into(), LayoutNode::Array(sr)));
        if let LayoutNode::Array(a) = &mut members[0].1 {
            a.attributes
                .insert("grid_mapping".into(), json!("spatial_ref"));
        }
    }
    let r10m = GroupSpec {
        attributes: Default::default(),
        members: members.into_iter().collect(),
    };
    let meas = GroupSpec {
        attributes: Default::default(),
        members: [("r10m".to_string(), LayoutNode::Group(r10m))]
            .into_iter()
            .collect(),
    };
    let layout = GroupSpec {
        attributes: obj(root),
        members: [("measurements".to_string(), LayoutNode::Group(meas))]
            .into_iter()
            .collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("crs.zarr");
    layout.materialise(&p).unwrap();
    let h = Hierarchy::open(&p).unwrap();
    (dir, h)
}

const WKT_33N: &str = r#"PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],AUTHORITY["EPSG","32633"]]"#;

fn resolve(h: &Hierarchy) -> Option<(Crs, CrsSource)> {
    resolve_crs(h, &epsg_exists)
}

#[test]
fn cpm_code_as_int() {
    let (_d, h) = product(
        json!({"other_metadata": {"horizontal_CRS_code": 32632}}),
        json!({}),
        None,
    );
    assert_eq!(
        resolve(&h),
        Some((Crs::Epsg(32632), CrsSource::RootCpmCode))
    );
}

#[test]
fn cpm_code_as_epsg_string() {
    let (_d, h) = product(
        json!({"other_metadata": {"horizontal_CRS_code": "EPSG:32632"}}),
        json!({}),
        None,
    );
    assert_eq!(
        resolve(&h),
        Some((Crs::Epsg(32632), CrsSource::RootCpmCode))
    );
}

#[test]
fn cpm_code_as_bare_number_string_and_lower_case_key() {
    let (_d, h) = product(
        json!({"other_metadata": {"horizontal_crs_code": "32629"}}),
        json!({}),
        None,
    );
    assert_eq!(
        resolve(&h),
        Some((Crs::Epsg(32629), CrsSource::RootCpmCode))
    );
}

#[test]
fn invalid_cpm_code_gives_none() {
    let (_d, h) = product(
        json!({"other_metadata": {"horizontal_CRS_code": "EPSG:INVALID"}}),
        json!({}),
        None,
    );
    assert_eq!(resolve(&h), None);
    let (_d, h) = product(
        json!({"other_metadata": {"horizontal_CRS_code": 999999}}),
        json!({}),
        None,
    );
    assert_eq!(resolve(&h), None);
}

#[test]
fn unknown_cpm_code_falls_through_to_proj_epsg() {
    let (_d, h) = product(
        json!({"other_metadata": {"horizontal_CRS_code": 999999}}),
        json!({"proj:epsg": 32631}),
        None,
    );
    assert_eq!(
        resolve(&h),
        Some((
            Crs::Epsg(32631),
            CrsSource::ProjEpsg("/measurements/r10m/b02".into())
        ))
    );
}

#[test]
fn rio_grid_mapping_crs() {
    let (_d, h) = product(json!({}), json!({}), Some(WKT_33N));
    assert_eq!(
        resolve(&h),
        Some((
            Crs::Epsg(32633),
            CrsSource::GridMapping("/measurements/r10m/spatial_ref".into())
        ))
    );
}

#[test]
fn proj_epsg_on_a_variable() {
    let (_d, h) = product(
        json!({"other_metadata": {}}),
        json!({"proj:epsg": 32632}),
        None,
    );
    assert_eq!(
        resolve(&h),
        Some((
            Crs::Epsg(32632),
            CrsSource::ProjEpsg("/measurements/r10m/b02".into())
        ))
    );
}

#[test]
fn cpm_code_has_priority_over_rio_crs() {
    let (_d, h) = product(
        json!({"other_metadata": {"horizontal_CRS_code": "EPSG:32632"}}),
        json!({"proj:epsg": 32631}),
        Some(WKT_33N),
    );
    assert_eq!(
        resolve(&h),
        Some((Crs::Epsg(32632), CrsSource::RootCpmCode))
    );
}

#[test]
fn rio_crs_has_priority_over_proj_epsg() {
    let (_d, h) = product(json!({}), json!({"proj:epsg": 32631}), Some(WKT_33N));
    assert_eq!(resolve(&h).map(|r| r.0), Some(Crs::Epsg(32633)));
}

#[test]
fn nothing_gives_none() {
    let (_d, h) = product(json!({}), json!({}), None);
    assert_eq!(resolve(&h), None);
}
