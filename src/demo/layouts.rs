//! The built-in EOPF Sentinel-2 layouts (full-size tile), generated from the facts of docs/reference.md
//! §1.2–1.5: groups, arrays, dtypes, chunking and attributes of an L2A (T32TQM) and an L1C (T32TLQ)
//! product. No fixture file is read or copied here.

use serde_json::{Map, Value, json};

use crate::layout::{ArraySpec, GroupSpec, LayoutNode};
use crate::product::{BAND_INFO, S2Level, native_bands};

/// Full tile edge in pixels at 10 m.
pub const FULL: u64 = 10980;
/// Tile extent in metres (109.8 km).
pub const TILE_EXTENT: f64 = 109_800.0;

/// A Sentinel-2 MGRS tile: UTM zone, CRS and upper-left corner (pixel edges).
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub name: &'static str,
    pub epsg: u32,
    pub zone: u32,
    pub x0: f64,
    pub y_top: f64,
}

impl Tile {
    /// The tile of the built-in layout of a level.
    pub fn builtin(level: S2Level) -> Tile {
        match level {
            S2Level::L2A => Tile {
                name: "T32TQM",
                epsg: 32632,
                zone: 32,
                x0: 699_960.0,
                y_top: 4_700_040.0,
            },
            S2Level::L1C => Tile {
                name: "T32TLQ",
                epsg: 32632,
                zone: 32,
                x0: 300_000.0,
                y_top: 5_000_040.0,
            },
        }
    }

    /// `[xmin, ymin, xmax, ymax]` (pixel edges).
    pub fn bbox(&self) -> [f64; 4] {
        [
            self.x0,
            self.y_top - TILE_EXTENT,
            self.x0 + TILE_EXTENT,
            self.y_top,
        ]
    }
}

/// WKT1 of WGS 84 / UTM zone `zone` N, as EOPF writes it in `proj:wkt2`.
pub fn utm_wkt1(zone: u32) -> String {
    let cm = i64::from(zone) * 6 - 183;
    format!(
        "PROJCS[\"WGS 84 / UTM zone {zone}N\",GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]],PROJECTION[\"Transverse_Mercator\"],PARAMETER[\"latitude_of_origin\",0],PARAMETER[\"central_meridian\",{cm}],PARAMETER[\"scale_factor\",0.9996],PARAMETER[\"false_easting\",500000],PARAMETER[\"false_northing\",0],UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH],AUTHORITY[\"EPSG\",\"326{zone:02}\"]]"
    )
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The `proj:*` attributes of a raster of `n` pixels on a side.
pub fn proj_attrs(tile: &Tile, n: u64) -> Map<String, Value> {
    let res = TILE_EXTENT / n as f64;
    let b = tile.bbox();
    obj(json!({
        "proj:bbox": b,
        "proj:epsg": tile.epsg,
        "proj:shape": [n, n],
        "proj:transform": [res, 0.0, b[0], 0.0, -res, b[3], 0.0, 0.0, 1.0],
        "proj:wkt2": utm_wkt1(tile.zone),
    }))
}

fn group(members: Vec<(String, LayoutNode)>) -> LayoutNode {
    LayoutNode::Group(GroupSpec {
        attributes: Map::new(),
        members: members.into_iter().collect(),
    })
}

fn coord(name: &str, n: u64) -> (String, LayoutNode) {
    let mut a = ArraySpec::eopf(vec![n], vec![n], "<i8", Value::Null);
    a.attributes = obj(json!({"_ARRAY_DIMENSIONS": [name]}));
    (name.to_string(), LayoutNode::Array(a))
}

fn res_px(res: u32) -> u64 {
    FULL * 10 / u64::from(res)
}

/// A 2-D raster `(y, x)` with EOPF attributes.
fn raster(
    tile: &Tile,
    res: u32,
    chunk: u64,
    dtype: &str,
    fill: Value,
    extra: Value,
    eopf_extra: Value,
) -> LayoutNode {
    let n = res_px(res);
    let mut a = ArraySpec::eopf(vec![n, n], vec![chunk, chunk], dtype, fill);
    let mut eopf = obj(json!({"coordinates": ["x", "y"], "dimensions": ["y", "x"]}));
    eopf.extend(obj(eopf_extra));
    let mut attrs = obj(json!({"_ARRAY_DIMENSIONS": ["y", "x"], "_eopf_attrs": eopf}));
    attrs.extend(obj(extra));
    attrs.extend(proj_attrs(tile, n));
    a.attributes = attrs;
    LayoutNode::Array(a)
}

fn res_group(n: u64, mut members: Vec<(String, LayoutNode)>) -> LayoutNode {
    members.push(coord("x", n));
    members.push(coord("y", n));
    group(members)
}

fn wavelength(band: &str) -> f64 {
    // Sentinel-2A central wavelengths (nm) as the product's long names give them.
    match band {
        "b01" => 442.7,
        "b02" => 492.7,
        "b03" => 559.8,
        "b04" => 664.6,
        "b05" => 704.1,
        "b06" => 740.5,
        "b07" => 782.8,
        "b08" => 832.8,
        "b8a" => 864.7,
        "b09" => 945.1,
        "b10" => 1373.5,
        "b11" => 1613.7,
        _ => 2202.4,
    }
}

fn reflectance_band(tile: &Tile, level: S2Level, band: &str, res: u32, chunk: u64) -> LayoutNode {
    let kind = match level {
        S2Level::L2A => "BOA",
        S2Level::L1C => "TOA",
    };
    let long_name = format!(
        "{kind} reflectance from MSI acquisition at spectral band {band} {} nm",
        wavelength(band)
    );
    raster(
        tile,
        res,
        chunk,
        "<u2",
        json!(0),
        json!({
            "add_offset": -0.1, "dtype": "<u2", "fill_value": 0, "long_name": long_name,
            "scale_factor": 0.0001, "units": "digital_counts", "valid_max": 65535, "valid_min": 1
        }),
        json!({
            "add_offset": -0.1, "dtype": "<u2", "eopf_is_masked": true, "eopf_target_dtype": "<f8",
            "fill_value": 0, "long_name": long_name, "scale_factor": 0.0001, "units": "digital_counts"
        }),
    )
}

/// Bands present in a reflectance resolution group.
pub fn reflectance_bands(level: S2Level, res: u32) -> Vec<&'static str> {
    match (level, res) {
        (S2Level::L1C, r) => native_bands(r).to_vec(),
        (S2Level::L2A, 10) => native_bands(10).to_vec(),
        (S2Level::L2A, 20) => vec![
            "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b11", "b12", "b8a",
        ],
        (S2Level::L2A, _) => vec![
            "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b09", "b11", "b12", "b8a",
        ],
    }
}

/// Chunk edge of a full-size raster: L2A reflectance r10m 5490, everything else one chunk;
/// L1C six chunks per side everywhere.
fn chunk_of(level: S2Level, res: u32, reflectance: bool) -> u64 {
    let n = res_px(res);
    match level {
        S2Level::L1C => n / 6,
        S2Level::L2A if reflectance && res == 10 => n / 2,
        S2Level::L2A => n,
    }
}

const MASK_MEANINGS: [&str; 8] = [
    "ANC_LOST",
    "ANC_DEG",
    "MSI_LOST",
    "MSI_DEG",
    "QT_DEFECTIVE_PIXELS",
    "QT_NODATA_PIXELS",
    "QT_PARTIALLY_CORRECTED_PIXELS",
    "QT_SATURATED_PIXELS_L1A",
];

fn measurements(tile: &Tile, level: S2Level) -> LayoutNode {
    let res_groups = [10u32, 20, 60]
        .iter()
        .map(|&res| {
            let chunk = chunk_of(level, res, true);
            let members = reflectance_bands(level, res)
                .into_iter()
                .map(|b| (b.to_string(), reflectance_band(tile, level, b, res, chunk)))
                .collect();
            (format!("r{res}m"), res_group(res_px(res), members))
        })
        .collect();
    group(vec![("reflectance".into(), group(res_groups))])
}

fn quality_mask(tile: &Tile, level: S2Level) -> LayoutNode {
    let flags = json!([1, 2, 4, 8, 16, 32, 64, 128]);
    let long = "quality mask provided in the final reference frame (ground geometry)";
    let groups = [10u32, 20, 60]
        .iter()
        .map(|&res| {
            let chunk = chunk_of(level, res, false);
            let members = native_bands(res)
                .iter()
                .map(|b| {
                    let node = raster(
                        tile,
                        res,
                        chunk,
                        "|u1",
                        Value::Null,
                        json!({"dtype": "<u1", "flag_masks": flags, "flag_meanings": MASK_MEANINGS, "long_name": long}),
                        json!({"dtype": "<u1", "flag_masks": flags, "flag_meanings": MASK_MEANINGS, "long_name": long}),
                    );
                    (b.to_string(), node)
                })
                .collect();
            (format!("r{res}m"), res_group(res_px(res), members))
        })
        .collect();
    group(groups)
}

fn quicklook(tile: &Tile, level: S2Level, res: u32) -> LayoutNode {
    let n = res_px(res);
    let chunks = match level {
        S2Level::L1C => vec![1, n / 6, n / 6],
        S2Level::L2A => vec![3, n, n],
    };
    let mut tci = ArraySpec::eopf(vec![3, n, n], chunks, "|u1", Value::Null);
    let mut attrs = obj(json!({
        "_ARRAY_DIMENSIONS": ["band", "y", "x"],
        "_eopf_attrs": {"coordinates": ["band", "x", "y"], "dimensions": ["band", "y", "x"]}
    }));
    attrs.extend(proj_attrs(tile, n));
    tci.attributes = attrs;
    res_group(
        n,
        vec![("tci".into(), LayoutNode::Array(tci)), coord("band", 3)],
    )
}

fn quality(tile: &Tile, level: S2Level) -> LayoutNode {
    let mut members = vec![("mask".to_string(), quality_mask(tile, level))];
    match level {
        S2Level::L1C => {
            members.push((
                "l1c_quicklook".into(),
                group(vec![("r10m".into(), quicklook(tile, level, 10))]),
            ));
        }
        S2Level::L2A => {
            let atmo = [10u32, 20, 60]
                .iter()
                .map(|&res| {
                    let plain = |_: &str| {
                        raster(
                            tile,
                            res,
                            res_px(res),
                            "<u2",
                            Value::Null,
                            json!({}),
                            json!({}),
                        )
                    };
                    (
                        format!("r{res}m"),
                        res_group(
                            res_px(res),
                            vec![("aot".into(), plain("aot")), ("wvp".into(), plain("wvp"))],
                        ),
                    )
                })
                .collect();
            members.push(("atmosphere".into(), group(atmo)));
            members.push((
                "l2a_quicklook".into(),
                group(
                    [10u32, 20, 60]
                        .iter()
                        .map(|&r| (format!("r{r}m"), quicklook(tile, level, r)))
                        .collect(),
                ),
            ));
            let prob = |_: &str| {
                let mut node = raster(
                    tile,
                    20,
                    5490,
                    "|u1",
                    Value::Null,
                    json!({"coordinates": "band"}),
                    json!({}),
                );
                if let LayoutNode::Array(a) = &mut node {
                    a.attributes["_eopf_attrs"]["coordinates"] = json!(["x", "y", "band"]);
                }
                node
            };
            let mut band = ArraySpec::eopf(vec![], vec![], "<i8", Value::Null);
            band.attributes = obj(json!({"_ARRAY_DIMENSIONS": []}));
            members.push((
                "probability".into(),
                group(vec![(
                    "r20m".into(),
                    res_group(
                        5490,
                        vec![
                            ("cld".into(), prob("cld")),
                            ("snw".into(), prob("snw")),
                            ("band".into(), LayoutNode::Array(band)),
                        ],
                    ),
                )]),
            ));
        }
    }
    group(members)
}

fn f8_nan(shape: Vec<u64>, chunks: Vec<u64>, dims: &[&str], coords: &[&str]) -> LayoutNode {
    let mut a = ArraySpec::eopf(shape, chunks, "<f8", json!("NaN"));
    a.attributes = obj(json!({
        "_ARRAY_DIMENSIONS": dims,
        "_eopf_attrs": {"coordinates": coords, "dimensions": dims, "eopf_is_masked": true, "fill_value": "NaN"}
    }));
    LayoutNode::Array(a)
}

fn geometry(tile: &Tile, level: S2Level) -> LayoutNode {
    let det = match level {
        S2Level::L2A => 6,
        S2Level::L1C => 7,
    };
    let str_coord = |name: &str, n: u64, dtype: &str| {
        let mut a = ArraySpec::eopf(vec![n], vec![n], dtype, Value::Null);
        a.attributes = obj(json!({"_ARRAY_DIMENSIONS": [name]}));
        (name.to_string(), LayoutNode::Array(a))
    };
    let _ = tile;
    let mut mean_sun = f8_nan(vec![2], vec![2], &["angle"], &["angle"]);
    if let LayoutNode::Array(a) = &mut mean_sun {
        a.attributes.insert("unit".into(), json!("deg"));
    }
    let mut mean_view = f8_nan(
        vec![13, 2],
        vec![13, 2],
        &["band", "angle"],
        &["angle", "band"],
    );
    if let LayoutNode::Array(a) = &mut mean_view {
        a.attributes.insert("unit".into(), json!("deg"));
    }
    group(vec![
        str_coord("angle", 2, "<U7"),
        str_coord("band", 13, "<U3"),
        coord("detector", det),
        coord("x", 23),
        coord("y", 23),
        ("mean_sun_angles".into(), mean_sun),
        ("mean_viewing_incidence_angles".into(), mean_view),
        (
            "sun_angles".into(),
            f8_nan(
                vec![2, 23, 23],
                vec![2, 23, 23],
                &["angle", "y", "x"],
                &["angle", "x", "y"],
            ),
        ),
        (
            "viewing_incidence_angles".into(),
            f8_nan(
                vec![13, det, 2, 23, 23],
                vec![7, det.div_ceil(2), 2, 23, 23],
                &["band", "detector", "angle", "y", "x"],
                &["angle", "y", "x", "detector", "band"],
            ),
        ),
    ])
}

fn condition_masks(tile: &Tile, level: S2Level) -> LayoutNode {
    let long = "detector footprint mask provided in the final reference frame (ground geometry). 0 = no detector, 1-12 = detector 1-12";
    let footprint = [10u32, 20, 60]
        .iter()
        .map(|&res| {
            let chunk = chunk_of(level, res, false);
            let members = native_bands(res)
                .iter()
                .map(|b| {
                    (
                        b.to_string(),
                        raster(
                            tile,
                            res,
                            chunk,
                            "|u1",
                            Value::Null,
                            json!({"dtype": "<u1", "long_name": long}),
                            json!({"dtype": "<u1", "long_name": long}),
                        ),
                    )
                })
                .collect();
            (format!("r{res}m"), res_group(res_px(res), members))
        })
        .collect();
    let cl_long =
        "cloud classification mask provided in the final reference frame (ground geometry)";
    let b00 = raster(
        tile,
        60,
        chunk_of(level, 60, false),
        "|u1",
        Value::Null,
        json!({"dtype": "<u1", "flag_masks": [1, 2, 4], "flag_meanings": ["OPAQUE", "CIRRUS", "SNOW_ICE"], "long_name": cl_long}),
        json!({"dtype": "<u1", "flag_masks": [1, 2, 4], "flag_meanings": ["OPAQUE", "CIRRUS", "SNOW_ICE"], "long_name": cl_long}),
    );
    let mut members = vec![
        ("detector_footprint".to_string(), group(footprint)),
        (
            "l1c_classification".into(),
            group(vec![(
                "r60m".into(),
                res_group(1830, vec![("b00".into(), b00)]),
            )]),
        ),
    ];
    if level == S2Level::L2A {
        let scl = |res: u32| {
            (
                format!("r{res}m"),
                res_group(
                    res_px(res),
                    vec![(
                        "scl".into(),
                        raster(
                            tile,
                            res,
                            res_px(res),
                            "|u1",
                            Value::Null,
                            json!({}),
                            json!({}),
                        ),
                    )],
                ),
            )
        };
        members.push(("l2a_classification".into(), group(vec![scl(20), scl(60)])));
    }
    group(members)
}

fn meteo_group(vars: &[(&str, &str)]) -> LayoutNode {
    let mut members: Vec<(String, LayoutNode)> = Vec::new();
    for (name, long) in vars {
        let mut a = ArraySpec::eopf(vec![9, 9], vec![9, 9], "<f4", json!("NaN"));
        a.attributes = obj(json!({
            "GRIB_Nx": 9, "GRIB_Ny": 9, "GRIB_cfVarName": name, "GRIB_gridType": "regular_ll",
            "GRIB_name": long, "GRIB_shortName": name, "GRIB_typeOfLevel": "surface",
            "_ARRAY_DIMENSIONS": ["latitude", "longitude"],
            "_eopf_attrs": {"coordinates": ["latitude", "longitude", "number", "time", "step", "surface", "valid_time"],
                             "dimensions": ["latitude", "longitude"], "eopf_is_masked": true, "fill_value": "NaN",
                             "long_name": long, "standard_name": "unknown", "units": "~"},
            "coordinates": "isobaricInhPa number step surface time valid_time",
            "long_name": long, "standard_name": "unknown", "units": "~"
        }));
        members.push((name.to_string(), LayoutNode::Array(a)));
    }
    for (name, std_name, units) in [
        ("latitude", "latitude", "degrees_north"),
        ("longitude", "longitude", "degrees_east"),
    ] {
        let mut a = ArraySpec::eopf(vec![9], vec![9], "<f8", json!("NaN"));
        a.attributes = obj(
            json!({"_ARRAY_DIMENSIONS": [name], "long_name": name, "standard_name": std_name, "units": units}),
        );
        members.push((name.to_string(), LayoutNode::Array(a)));
    }
    for (name, dtype, fill, extra) in [
        (
            "isobaricInhPa",
            "<f8",
            json!("NaN"),
            json!({"long_name": "pressure", "units": "hPa", "positive": "down", "standard_name": "air_pressure", "stored_direction": "decreasing"}),
        ),
        (
            "number",
            "<i8",
            Value::Null,
            json!({"long_name": "ensemble member numerical id", "standard_name": "realization", "units": "1"}),
        ),
        (
            "step",
            "<i8",
            Value::Null,
            json!({"long_name": "time since forecast_reference_time", "standard_name": "forecast_period", "units": "hours"}),
        ),
        (
            "surface",
            "<f8",
            json!("NaN"),
            json!({"long_name": "original GRIB coordinate for key: level(surface)", "units": "1"}),
        ),
        (
            "time",
            "<i8",
            Value::Null,
            json!({"calendar": "proleptic_gregorian", "long_name": "initial time of forecast", "standard_name": "forecast_reference_time", "units": "days since 2025-10-08 00:00:00"}),
        ),
        (
            "valid_time",
            "<i8",
            Value::Null,
            json!({"calendar": "proleptic_gregorian", "long_name": "time", "standard_name": "time", "units": "days since 2025-10-08 00:00:00"}),
        ),
    ] {
        let mut a = ArraySpec::eopf(vec![], vec![], dtype, fill);
        let mut attrs = obj(json!({"_ARRAY_DIMENSIONS": []}));
        attrs.extend(obj(extra));
        a.attributes = attrs;
        members.push((name.to_string(), LayoutNode::Array(a)));
    }
    let mut g = GroupSpec {
        attributes: obj(json!({
            "Conventions": "CF-1.7", "GRIB_centre": "ecmf", "GRIB_centreDescription": "European Centre for Medium-Range Weather Forecasts",
            "GRIB_edition": 1, "GRIB_subCentre": 0, "history": "generated by eopf-geozarr demo", "institution": "European Centre for Medium-Range Weather Forecasts"
        })),
        members: Default::default(),
    };
    g.members = members.into_iter().collect();
    LayoutNode::Group(g)
}

fn conditions(tile: &Tile, level: S2Level) -> LayoutNode {
    let cams = meteo_group(&[
        ("aod1240", "Total Aerosol Optical Depth at 1240nm"),
        ("aod469", "Total Aerosol Optical Depth at 469nm"),
        ("aod550", "Total Aerosol Optical Depth at 550nm"),
        ("aod670", "Total Aerosol Optical Depth at 670nm"),
        ("aod865", "Total Aerosol Optical Depth at 865nm"),
        ("bcaod550", "Black Carbon Aerosol Optical Depth at 550nm"),
        ("duaod550", "Dust Aerosol Optical Depth at 550nm"),
        ("omaod550", "Organic Matter Aerosol Optical Depth at 550nm"),
        ("ssaod550", "Sea Salt Aerosol Optical Depth at 550nm"),
        ("suaod550", "Sulphate Aerosol Optical Depth at 550nm"),
        ("z", "Geopotential"),
    ]);
    let ecmwf = meteo_group(&[
        ("msl", "Mean sea level pressure"),
        ("r", "Relative humidity"),
        ("tco3", "Total column ozone"),
        ("tcwv", "Total column vertically-integrated water vapour"),
        ("u10", "10 metre U wind component"),
        ("v10", "10 metre V wind component"),
    ]);
    group(vec![
        ("geometry".into(), geometry(tile, level)),
        ("mask".into(), condition_masks(tile, level)),
        (
            "meteorology".into(),
            group(vec![("cams".into(), cams), ("ecmwf".into(), ecmwf)]),
        ),
    ])
}

fn root_attributes(tile: &Tile, level: S2Level, lonlat: Option<[f64; 4]>) -> Map<String, Value> {
    let (ptype, date, platform, orbit) = match level {
        S2Level::L2A => (
            "S02MSIL2A",
            "2025-10-08T10:00:41.024000Z",
            "sentinel-2a",
            122,
        ),
        S2Level::L1C => (
            "S02MSIL1C",
            "2025-01-13T10:33:09.024000Z",
            "sentinel-2b",
            108,
        ),
    };
    let bands: Vec<Value> = BAND_INFO
        .iter()
        .map(|(name, _, _, bw)| {
            json!({"name": name, "center_wavelength": wavelength(name), "full_width_half_max": f64::from(*bw) / 1000.0})
        })
        .collect();
    let band_description: Map<String, Value> = BAND_INFO
        .iter()
        .flat_map(|(name, res, _, bw)| {
            let d = json!({"bandwidth": format!("{bw}.0"), "central_wavelength": wavelength(name), "resolution": res.to_string()});
            [(name.to_string(), d.clone()), (name[1..].to_uppercase(), d)]
        })
        .collect();
    let bbox = tile.bbox();
    let ll = lonlat.unwrap_or([0.0; 4]);
    obj(json!({
        "other_metadata": {
            "band_description": band_description,
            "eopf_category": "eoproduct",
            "horizontal_CRS_code": format!("EPSG:{}", tile.epsg),
            "horizontal_CRS_name": format!("WGS84 / UTM zone {}N", tile.zone),
            "mean_sensing_time": date,
            "mean_sun_azimuth_angle_in_deg_for_all_bands_all_detectors": 163.6,
            "mean_sun_zenith_angle_in_deg_for_all_bands_all_detectors": 49.3,
            "product_quality_status": "PASSED",
            "history": [{"type": "Synthetic", "output": "eopf-geozarr demo product"}],
        },
        "stac_discovery": {
            "type": "Feature",
            "stac_version": "1.1.0",
            "stac_extensions": [],
            "id": format!("S2_DEMO_{ptype}_{}", tile.name),
            "bbox": ll,
            "geometry": {"type": "Polygon", "coordinates": [[[ll[0], ll[3]], [ll[2], ll[3]], [ll[2], ll[1]], [ll[0], ll[1]], [ll[0], ll[3]]]]},
            "links": [],
            "assets": {},
            "properties": {
                "product:type": ptype,
                "processing:level": if level == S2Level::L2A { "L2A" } else { "L1C" },
                "platform": platform,
                "constellation": "sentinel-2",
                "instrument": "msi",
                "datetime": date,
                "proj:epsg": tile.epsg,
                "proj:bbox": bbox,
                "sat:relative_orbit": orbit,
                "eo:cloud_cover": 12.5,
                "eopf:resolutions": {"bands 01, 09, 10": "60", "bands 02, 03, 04, 08": "10", "bands 05, 06, 07, 8A, 11, 12": "20"},
                "bands": bands,
            }
        }
    }))
}

/// The built-in full-size layout of a level. `lonlat` fills the STAC bbox/geometry.
pub fn builtin_layout(level: S2Level, lonlat: Option<[f64; 4]>) -> GroupSpec {
    let tile = Tile::builtin(level);
    let members = vec![
        ("conditions".to_string(), conditions(&tile, level)),
        ("measurements".into(), measurements(&tile, level)),
        ("quality".into(), quality(&tile, level)),
    ];
    GroupSpec {
        attributes: root_attributes(&tile, level, lonlat),
        members: members.into_iter().collect(),
    }
}

/// The N0512 (Zarr v3) form of an N0511 (Zarr v2) EOPF layout, with the changes N0512 made
/// lists: no meteorology or quicklook groups and no scalar coordinates; float32 `x`/`y` and
/// probabilities with NaN fill (`_FillValue` base64 NaN attribute); `|S3` band and detector
/// labels; 6 × 6 chunks per raster; no `proj:*`, `_eopf_attrs` or `_ARRAY_DIMENSIONS` attributes
/// on arrays (dimension names move to `dimension_names`) but `dtype` and `short_name`; lower-cased
/// `other_metadata` keys, STAC `proj:code` instead of `proj:epsg`, and a `processing_history`.
pub fn n0512_from_n0511(layout: &GroupSpec) -> GroupSpec {
    let mut out = layout.clone();
    for gone in [
        "/conditions/meteorology",
        "/quality/l2a_quicklook",
        "/quality/l1c_quicklook",
    ] {
        remove_member(&mut out, gone);
    }
    let scalars: Vec<String> = out
        .arrays()
        .into_iter()
        .filter(|(_, a)| a.shape.is_empty())
        .map(|(p, _)| p)
        .collect();
    for p in &scalars {
        remove_member(&mut out, p);
    }
    let paths: Vec<String> = out.arrays().into_iter().map(|(p, _)| p).collect();
    for p in paths {
        if let Some(LayoutNode::Array(a)) = out.get_mut(&p) {
            n0512_array(&p, a);
        }
    }
    n0512_root(&mut out.attributes);
    out
}

fn remove_member(g: &mut GroupSpec, path: &str) {
    let Some((parent, name)) = path.rsplit_once('/') else {
        return;
    };
    let parent_group = if parent.is_empty() {
        Some(g)
    } else {
        match g.get_mut(parent) {
            Some(LayoutNode::Group(pg)) => Some(pg),
            _ => None,
        }
    };
    if let Some(pg) = parent_group {
        pg.members.remove(name);
    }
}

fn n0512_array(path: &str, a: &mut ArraySpec) {
    let name = path.rsplit('/').next().unwrap_or("");
    let dims = a
        .attributes
        .get("_ARRAY_DIMENSIONS")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        });
    a.attributes
        .retain(|k, _| !k.starts_with("proj:") && k != "_eopf_attrs" && k != "_ARRAY_DIMENSIONS");
    // Scalar coordinates are gone, and so are the references to them.
    if a.attributes.get("coordinates").and_then(Value::as_str) == Some("band") {
        a.attributes.remove("coordinates");
    }
    let coordinate = a.shape.len() == 1 && (name == "x" || name == "y");
    let probability = path.starts_with("/quality/probability/") && a.shape.len() == 2;
    if coordinate || probability {
        a.dtype = "<f4".into();
        a.fill_value = json!("NaN");
        a.attributes
            .insert("_FillValue".into(), json!(crate::zarr_ext::NAN_FILL_B64));
    } else if matches!(
        (path.starts_with("/conditions/geometry/"), name),
        (true, "band" | "detector")
    ) {
        a.dtype = "|S3".into();
        a.fill_value = json!("");
    } else if a.dtype.contains('f') && a.fill_value.is_null() {
        a.fill_value = json!("NaN");
    }
    if a.shape.len() == 2 && a.shape.iter().all(|d| matches!(d, 10980 | 5490 | 1830)) {
        // EOPF N0512: 6 × 6 chunks per raster (1830 at r10m, 915 at r20m, 305 at r60m).
        a.chunks = a.shape.iter().map(|d| d.div_ceil(6)).collect();
    } else {
        // Coordinates and the angle grids: one chunk.
        a.chunks = a.shape.clone();
    }
    n0512_attributes(path, name, coordinate, a);
    a.attributes.insert("dtype".into(), json!(a.dtype));
    a.compressor = Value::Null;
    a.dimension_separator = "/".into();
    a.v3_codecs = None;
    a.dimension_names = dims;
}

/// The attributes N0512 gives each kind of array (the keys of its mapping; our wording): CF
/// `long_name`/`units`/`short_name`, flag tables of labels and masks, `valid_min`/`valid_max`.
/// Attributes that would change decoded values (`scale_factor`, `add_offset`, `fill_value` of the
/// aerosol and water-vapour maps) are not invented, so both formats decode to the same scene.
fn n0512_attributes(path: &str, name: &str, coordinate: bool, a: &mut ArraySpec) {
    let res = path
        .split('/')
        .find(|p| crate::product::resolution_meters(p).is_some())
        .unwrap_or("");
    let shape_len = a.shape.len();
    let attrs = &mut a.attributes;
    let set = |attrs: &mut Map<String, Value>, k: &str, v: Value| {
        attrs.entry(k.to_string()).or_insert(v);
    };
    let geometry = path.starts_with("/conditions/geometry/");
    if coordinate {
        let axis = if name == "x" { "easting" } else { "northing" };
        let what = if geometry {
            "of the 5 km angle grid".to_string()
        } else {
            format!("of the {res} pixel centres")
        };
        set(attrs, "long_name", json!(format!("{axis} {what}")));
        set(attrs, "units", json!("m"));
        return;
    }
    if geometry {
        match name {
            "angle" => set(attrs, "long_name", json!("zenith and azimuth angles")),
            "detector" => set(attrs, "long_name", json!("detector module number")),
            "band" => {
                let names: Vec<&str> = BAND_INFO.iter().map(|b| b.0).collect();
                let mut ordered = names.clone();
                ordered.sort_by_key(|b| wavelength(b) as u64);
                set(attrs, "flag_meanings", json!(ordered));
                set(
                    attrs,
                    "flag_values",
                    json!((0..ordered.len()).collect::<Vec<_>>()),
                );
                set(attrs, "long_name", json!("spectral band number"));
            }
            _ => {
                attrs.remove("unit");
                attrs.insert("units".into(), json!("degrees"));
                set(attrs, "_FillValue", json!(crate::zarr_ext::NAN_FILL_B64));
                set(attrs, "long_name", json!(name.replace('_', " ")));
                set(attrs, "short_name", json!(name));
            }
        }
        return;
    }
    if shape_len < 2 {
        return;
    }
    set(attrs, "short_name", json!(name));
    if path.contains("/detector_footprint/") {
        let mut meanings = vec!["no_detector".to_string()];
        meanings.extend((1..=12).map(|d| format!("d{d:02}")));
        set(attrs, "flag_meanings", json!(meanings));
        set(attrs, "flag_values", json!((0..=12).collect::<Vec<u32>>()));
        set(
            attrs,
            "long_name",
            json!("detector footprint mask in ground geometry"),
        );
    } else if path.starts_with("/conditions/mask/l2a_classification/r20m/") {
        set(
            attrs,
            "long_name",
            json!(format!("scene classification at {res}")),
        );
        set(attrs, "scale_factor", json!(1));
        set(attrs, "add_offset", json!(0));
        set(attrs, "fill_value", json!(0));
        set(attrs, "valid_min", json!(1));
        set(attrs, "valid_max", json!(65535));
    } else if path.starts_with("/conditions/mask/l2a_classification/") {
        set(
            attrs,
            "long_name",
            json!(format!("scene classification at {res}")),
        );
    } else if path.starts_with("/quality/atmosphere/") {
        let long = if name == "aot" {
            "aerosol optical thickness"
        } else {
            "water vapour"
        };
        set(attrs, "long_name", json!(format!("{long} at {res}")));
        set(attrs, "valid_min", json!(1));
        set(attrs, "valid_max", json!(65535));
        if name == "wvp" {
            set(attrs, "units", json!("cm"));
        }
    } else if path.starts_with("/quality/probability/") {
        let long = if name == "cld" { "cloud" } else { "snow" };
        set(
            attrs,
            "long_name",
            json!(format!("{long} probability at {res}")),
        );
        set(attrs, "units", json!("percentage"));
        set(attrs, "fill_value", json!(101));
        set(attrs, "valid_min", json!(0));
        set(attrs, "valid_max", json!(100));
    }
}

fn n0512_root(attrs: &mut Map<String, Value>) {
    if let Some(Value::Object(om)) = attrs.get_mut("other_metadata") {
        let lowered: Map<String, Value> = std::mem::take(om)
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        *om = lowered;
    }
    if let Some(Value::Object(props)) = attrs
        .get_mut("stac_discovery")
        .and_then(|s| s.get_mut("properties"))
        && let Some(epsg) = props.remove("proj:epsg")
        && let Some(code) = crate::product::parse_crs_code(&epsg)
    {
        props.insert("proj:code".into(), json!(format!("EPSG:{code}")));
    }
    attrs.entry("processing_history").or_insert_with(|| {
        json!({"Level-2A Product": [{"processor": "eopf-geozarr demo", "version": crate::VERSION,
            "inputs": "synthetic scene", "outputs": "N0512 layout (Zarr v3)"}]})
    });
}

/// A full-size layout written as Zarr v2 although it came as v3: the same tree and data types,
/// dimension names back in `_ARRAY_DIMENSIONS`, EOPF's v2 compressor and `.` chunk keys.
pub fn as_v2(layout: &GroupSpec) -> GroupSpec {
    let mut out = layout.clone();
    let paths: Vec<String> = out.arrays().into_iter().map(|(p, _)| p).collect();
    for p in paths {
        if let Some(LayoutNode::Array(a)) = out.get_mut(&p) {
            if let Some(d) = a.dimension_names.take() {
                a.attributes.insert("_ARRAY_DIMENSIONS".into(), json!(d));
            }
            a.v3_codecs = None;
            a.dimension_separator = ".".into();
            a.compressor = if a.shape.is_empty() {
                Value::Null
            } else {
                crate::layout::eopf_compressor()
            };
        }
    }
    out
}
