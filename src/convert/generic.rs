//! The plan of pipeline A (`create_geozarr_dataset`, docs/reference.md §2A): the requested groups become
//! GeoZarr groups (native data at the group, overviews `r2`, `r4`, … below it, `multiscales` on
//! the group), every other group with data variables is copied, Sentinel-1 measurement groups are
//! first georeferenced from their GCPs (EPSG:4326). Pure metadata work on the opened input, like
//! [`super::s2::plan_s2`]; the same writer executes the plan.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::attrs::{
    ProjGrid, array_dimensions, array_meta, cf_coordinates, coordinate_attrs, coordinate_names,
    copied_attrs, dims, geotransform_string, insert_crs, py_float, rewrite_proj, value_coordinate,
    whole_coordinate,
};
pub use super::dask::dask_auto_chunks;
use super::ir::{Codec, Kernel, OutArray, OutputPlan, Source, name_of, parent_of};
use super::ir::{Down, S1Warp};
use super::metadata::{
    NAN_FILL_B64, array_doc, bytes_codec, data_codecs, fill_value, sanitize_attrs, sharding_codec,
    spatial_ref_attrs_with, v3_data_type,
};
use super::num::Num;
use crate::conventions::Convention;
use crate::error::{Error, Result};
use crate::hierarchy::{Hierarchy, Node, NodeKind};
use crate::inspect::read_f64;
use crate::plan::{
    AlignVariant, Profile, ShardSize, calculate_overview_levels, geozarr_raster_encoding,
    spatial_chunk,
};
use crate::product::{CfEncoding, Crs, ProductKind, detect, parse_crs_code};
use crate::profile::{
    Choices, Encodings, Georeferencing, LevelLayout, Resampling, Transforms, Trimming,
};
use crate::warp::{Gcp, GcpTransformer, WarpGrid, suggested_warp_output};

/// The reference CLI's default `--groups` (stale EOPF paths, kept for compatibility).
pub const DEFAULT_GROUPS: [&str; 3] = [
    "/measurements/r10m",
    "/measurements/r20m",
    "/measurements/r60m",
];

/// Options of pipeline A (`create_geozarr_dataset`).
#[derive(Debug, Clone)]
pub struct GenericOptions {
    pub profile: Profile,
    /// Groups converted to GeoZarr groups with overviews.
    pub groups: Vec<String>,
    /// Target spatial chunk (4096).
    pub spatial_chunk: u64,
    /// No overview with a side below this (256).
    pub min_dimension: u64,
    /// Copied groups that get CRS information (`--crs-groups`).
    pub crs_groups: Option<Vec<String>>,
    /// The GCP group of a Sentinel-1 product, relative to a polarisation group.
    pub gcp_group: Option<String>,
    pub enable_sharding: bool,
    /// Compression level (the reference always writes 3).
    pub compression_level: u8,
    pub codec: Codec,
    pub shard_size: ShardSize,
    /// Attempts per chunk/shard write before the conversion fails (at least one).
    pub max_retries: u32,
    /// Where the pyramid kernels run (`--device`).
    pub device: crate::kernels::Device,
    /// Stops the conversion between two chunk writes (the app's Cancel).
    pub cancel: super::writer::CancelFlag,
    /// Decoded source chunks kept per input array (`EOPF_SOURCE_CACHE_MB` in the CLI).
    pub source_cache_bytes: u64,
}

impl GenericOptions {
    /// The options with everything that does not change the output reset (`max_retries`,
    /// `device`, `cancel`, `source_cache_bytes`): what a resumable conversion's fingerprint is made of.
    pub fn output_choices(&self) -> Self {
        GenericOptions {
            max_retries: 0,
            device: crate::kernels::Device::Auto,
            cancel: Default::default(),
            source_cache_bytes: 0,
            ..self.clone()
        }
    }
}

impl Default for GenericOptions {
    fn default() -> Self {
        GenericOptions {
            profile: Profile::Reference,
            groups: DEFAULT_GROUPS.iter().map(|s| s.to_string()).collect(),
            spatial_chunk: 4096,
            min_dimension: 256,
            crs_groups: None,
            gcp_group: None,
            enable_sharding: false,
            compression_level: 3,
            codec: Codec::BloscZstd,
            shard_size: ShardSize::default(),
            max_retries: 3,
            device: crate::kernels::Device::Auto,
            cancel: Default::default(),
            source_cache_bytes: super::writer::SOURCE_CACHE_BYTES,
        }
    }
}

/// `normalize_path`-like clean-up of a group path: leading `/`, no trailing or doubled `/`.
fn clean_group(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// How xarray (mask_and_scale) reads an array: `(stored type, decoded type, CF encoding)` —
/// integers with a fill value or packing become floats.
fn decoding(node: &Node) -> Option<(Num, Num, Option<CfEncoding>)> {
    let m = array_meta(node)?;
    let num = Num::from_data_type(&m.data_type)?;
    let a = &node.attributes;
    let scaled = a.contains_key("scale_factor") || a.contains_key("add_offset");
    let fill_attr = a
        .get("_FillValue")
        .and_then(crate::zarr_ext::fill_attribute);
    let fill = fill_attr.as_ref().or(match &m.fill_value {
        Value::Null => None,
        v => Some(v),
    });
    let masks = fill.is_some() && !num.is_float();
    if !(scaled || masks) {
        return Some((num, num, None));
    }
    let mut attrs = Map::new();
    for k in ["scale_factor", "add_offset"] {
        if let Some(v) = a.get(k) {
            attrs.insert(k.into(), v.clone());
        }
    }
    if let Some(f) = fill {
        attrs.insert("_FillValue".into(), f.clone());
    }
    let cf = CfEncoding::from_attributes(&attrs, &Value::Null);
    Some((num, num.decoded(scaled), Some(cf)))
}

/// A group of the input with its arrays split into coordinates and data variables.
struct GroupInfo<'a> {
    path: String,
    coords: Vec<&'a Node>,
    data_vars: Vec<&'a Node>,
}

fn group_info<'a>(h: &'a Hierarchy, path: &str) -> GroupInfo<'a> {
    let arrays: Vec<&Node> = h
        .children(path)
        .into_iter()
        .filter(|n| matches!(n.kind, NodeKind::Array(_)))
        .collect();
    let coord_names = coordinate_names(&arrays);
    let (coords, data_vars) = arrays
        .into_iter()
        .partition(|n| coord_names.iter().any(|c| c == name_of(&n.path)));
    GroupInfo {
        path: path.to_string(),
        coords,
        data_vars,
    }
}

fn join(group: &str, name: &str) -> String {
    if group == "/" {
        format!("/{name}")
    } else {
        format!("{group}/{name}")
    }
}

/// Edge bounds `[left, bottom, right, top]` and pixel sizes of centre coordinates (rioxarray's
/// rule: resolution = `(last − first)/(n − 1)`, edges half a pixel out).
fn edge_bounds(x: &[f64], y: &[f64]) -> Option<([f64; 4], f64, f64)> {
    if x.len() < 2 || y.len() < 2 {
        return None;
    }
    let rx = (x[x.len() - 1] - x[0]) / (x.len() - 1) as f64;
    let ry = (y[y.len() - 1] - y[0]) / (y.len() - 1) as f64;
    if rx == 0.0 || ry == 0.0 || !rx.is_finite() || !ry.is_finite() {
        return None;
    }
    let left = x[0] - rx / 2.0;
    let top = y[0] - ry / 2.0;
    let right = left + rx * x.len() as f64;
    let bottom = top + ry * y.len() as f64;
    Some((
        [
            left.min(right),
            bottom.min(top),
            left.max(right),
            bottom.max(top),
        ],
        rx,
        ry,
    ))
}

struct Ctx<'a> {
    h: &'a Hierarchy,
    opts: &'a GenericOptions,
    plan: OutputPlan,
    s1: bool,
}

/// The native grid of a GeoZarr group: CRS, edge bounds, pixel sizes, coordinate values and type.
#[derive(Clone)]
struct Grid {
    crs: Option<Crs>,
    bounds: Option<[f64; 4]>,
    res: (f64, f64),
    x: Vec<f64>,
    y: Vec<f64>,
    coord_num: Num,
}

impl Ctx<'_> {
    fn at(&self, p: &str) -> String {
        format!("{}{p}", self.h.location())
    }

    fn codecs(&self, item: usize) -> Vec<Value> {
        data_codecs(
            self.opts.profile,
            self.opts.codec,
            self.opts.compression_level,
            item,
        )
    }

    /// Chunk grid and codecs of a GeoZarr data variable (§2A.2 step 1; the geozarr profile's
    /// sharding policy instead of whole-array-ish shards).
    fn encoding(&self, shape: &[u64], item: usize) -> (Vec<u64>, Vec<Value>) {
        let n = shape.len();
        let sc = self.opts.spatial_chunk;
        let policy = self.opts.profile.choices().encodings == Encodings::Policy;
        let chunks: Vec<u64> = match n {
            0 => vec![],
            // B-22: the reference does not clip 1-D chunks to the length.
            1 if policy => vec![sc.min(shape[0]).max(1)],
            1 => vec![sc],
            _ => {
                let (h, w) = (shape[n - 2], shape[n - 1]);
                let c = if policy && self.opts.enable_sharding {
                    geozarr_raster_encoding(h, w, self.opts.shard_size).0
                } else {
                    spatial_chunk(w, h, sc, AlignVariant::Utils)
                };
                let mut v = vec![1; n - 2];
                v.extend([c, c]);
                v
            }
        };
        let codecs = self.codecs(item);
        if !self.opts.enable_sharding || n == 0 {
            return (chunks, codecs);
        }
        let shards: Vec<u64> = if n == 1 {
            vec![shape[0]]
        } else if policy {
            let (_, [sy, sx]) =
                geozarr_raster_encoding(shape[n - 2], shape[n - 1], self.opts.shard_size);
            let mut v = shape[..n - 2].to_vec();
            v.extend([sy, sx]);
            v
        } else {
            let s = |d: u64, c: u64| if c >= d { d } else { d / c * c };
            let mut v = shape[..n - 2].to_vec();
            v.extend([
                s(shape[n - 2], chunks[n - 2]),
                s(shape[n - 1], chunks[n - 1]),
            ]);
            v
        };
        (shards, vec![sharding_codec(&chunks, codecs)])
    }

    fn spatial_ref(
        &self,
        group: &str,
        crs: &Crs,
        geotransform: Option<String>,
    ) -> Result<OutArray> {
        let mut attrs = match crs {
            Crs::Epsg(code) => spatial_ref_attrs_with(*code, true)?,
            Crs::Wkt(w) => {
                let mut m = Map::new();
                m.insert("crs_wkt".into(), json!(w));
                m.insert("spatial_ref".into(), json!(w));
                m
            }
        };
        attrs.insert("_ARRAY_DIMENSIONS".into(), json!([]));
        if let Some(gt) = geotransform {
            attrs.insert("GeoTransform".into(), json!(gt));
        }
        Ok(OutArray {
            path: join(group, "spatial_ref"),
            doc: array_doc(
                &[],
                json!("int64"),
                &[],
                json!(0),
                vec![bytes_codec(8)],
                attrs,
                None,
            ),
            source: Source::Zero,
        })
    }

    /// A coordinate copied whole (bytes only), with extra attributes.
    fn coordinate(&self, path: &str, src: &Node, geo_attrs: Option<bool>) -> Result<OutArray> {
        let mut attrs = sanitize_attrs(&src.attributes, false);
        if !self.opts.profile.choices().sanitized_attributes && geo_attrs.is_none() {
            attrs = copied_attrs(&src.attributes);
        }
        if let Some(lonlat) = geo_attrs {
            coordinate_attrs(&mut attrs, name_of(&src.path), lonlat);
        }
        whole_coordinate(path, src, attrs, &self.at(&src.path))
    }

    /// The CRS of a group: `proj:epsg` of its first data variable that has one, else the
    /// product's.
    fn group_crs(&self, info: &GroupInfo<'_>, product_crs: Option<&Crs>) -> Option<Crs> {
        info.data_vars
            .iter()
            .find_map(|v| v.attributes.get("proj:epsg").and_then(parse_crs_code))
            .map(Crs::Epsg)
            .or_else(|| product_crs.cloned())
    }

    fn axis(&self, info: &GroupInfo<'_>, name: &str) -> Result<Option<(Vec<f64>, Num)>> {
        let Some(n) = info.coords.iter().find(|c| name_of(&c.path) == name) else {
            return Ok(None);
        };
        let m = array_meta(n).ok_or_else(|| Error::invalid(self.at(&n.path), "not an array"))?;
        if m.shape.len() != 1 {
            return Ok(None);
        }
        let num = Num::from_data_type(&m.data_type).unwrap_or(Num::F64);
        Ok(Some((read_f64(self.h, &n.path)?, num)))
    }
}

/// Plan pipeline A for an opened product.
pub fn plan_generic(h: &Hierarchy, opts: &GenericOptions) -> Result<OutputPlan> {
    let s1 = matches!(detect(h), ProductKind::Sentinel1);
    let mut groups: Vec<String> = opts.groups.iter().map(|g| clean_group(g)).collect();
    let mut crs_groups: Vec<String> = opts
        .crs_groups
        .iter()
        .flatten()
        .map(|g| clean_group(g))
        .collect();
    let mut gcp: Option<String> = None;
    if s1 {
        let Some(g) = &opts.gcp_group else {
            return Err(Error::Input(format!(
                "{}: Detected Sentinel-1 GRD product but GCP group not provided (use --gcp-group, e.g. conditions/gcp)",
                h.location()
            )));
        };
        let pols: Vec<String> = h
            .children("/")
            .into_iter()
            .filter(|n| matches!(n.kind, NodeKind::Group))
            .map(|n| n.path.to_string())
            .collect();
        if pols.len() != 2 {
            return Err(Error::Input(format!(
                "{}: a Sentinel-1 product has exactly 2 polarisation groups at its root, found {}",
                h.location(),
                pols.len()
            )));
        }
        let expand = |v: &[String]| -> Vec<String> {
            pols.iter()
                .flat_map(|p| v.iter().map(move |g| clean_group(&format!("{p}{g}"))))
                .collect()
        };
        groups = expand(&groups);
        crs_groups = expand(&crs_groups);
        let path = clean_group(&format!("{}/{g}", pols[0]));
        if !h
            .node(&path)
            .is_some_and(|n| matches!(n.kind, NodeKind::Group))
        {
            return Err(Error::Input(format!(
                "{}: GCP group '{path}' not found in input datatree",
                h.location()
            )));
        }
        gcp = Some(path);
    }
    let product_crs = if s1 {
        None
    } else {
        crate::product::resolve_crs(h, &crate::geo::epsg_exists).map(|c| c.0)
    };
    let mut ctx = Ctx {
        h,
        opts,
        plan: OutputPlan::default(),
        s1,
    };
    let warp = match &gcp {
        Some(g) => Some(read_gcps(h, g)?),
        None => None,
    };
    // Prepared GeoZarr groups: requested, existing, with at least one data variable.
    let mut prepared: Vec<String> = Vec::new();
    for g in &groups {
        if prepared.contains(g) {
            continue;
        }
        match h.node(g) {
            Some(n) if matches!(n.kind, NodeKind::Group) => {
                if group_info(h, g).data_vars.is_empty() {
                    tracing::info!("{g}: no data variables: skipped");
                } else {
                    prepared.push(g.clone());
                }
            }
            _ => tracing::info!("{g}: not in the input: skipped"),
        }
    }
    let mut reference_crs: Option<Crs> = None;
    for g in &prepared {
        let info = group_info(h, g);
        let crs = if s1 {
            Some(Crs::Epsg(4326))
        } else {
            ctx.group_crs(&info, product_crs.as_ref())
        };
        if reference_crs.is_none() {
            reference_crs = crs.clone();
        }
        plan_geozarr_group(&mut ctx, &info, crs, warp.as_ref())?;
    }
    // Every other node with data variables is copied.
    let pol_groups: Vec<String> = if s1 {
        h.children("/").iter().map(|n| n.path.to_string()).collect()
    } else {
        vec![]
    };
    let all_groups: Vec<String> = h
        .nodes()
        .filter(|n| matches!(n.kind, NodeKind::Group) && n.path != "/")
        .map(|n| n.path.to_string())
        .collect();
    for g in all_groups {
        if prepared.contains(&g) || pol_groups.contains(&g) {
            continue;
        }
        // Inside a prepared group: overviews are ours, an input sub-group is copied as usual.
        let info = group_info(h, &g);
        if info.data_vars.is_empty() {
            continue;
        }
        let crs_treatment = crs_groups.contains(&g);
        let geo = match ctx.opts.profile.choices().georeferencing {
            Georeferencing::ReferenceGroups => {
                crs_treatment.then(|| reference_crs.clone()).flatten()
            }
            // Fix B-11: every copied raster group with x/y coordinates is georeferenced.
            Georeferencing::EveryGrid => reference_crs.clone().or_else(|| product_crs.clone()),
        };
        plan_copied_group(&mut ctx, &info, crs_treatment, geo)?;
    }
    // Ancestors of every node are (empty) groups.
    let mut paths: Vec<String> = ctx.plan.groups.keys().cloned().collect();
    paths.extend(ctx.plan.arrays.iter().map(|a| parent_of(&a.path)));
    for p in paths {
        let mut cur = p;
        loop {
            ctx.plan.groups.entry(cur.clone()).or_default();
            if cur == "/" {
                break;
            }
            cur = parent_of(&cur);
        }
    }
    ctx.plan.groups.entry("/".into()).or_default();
    if opts.profile.choices().client_metadata {
        finalise_root(&mut ctx.plan)?;
        cf_coordinates(&mut ctx.plan);
    }
    ctx.plan.consolidate.push("/".into());
    Ok(ctx.plan)
}

/// Geozarr profile: the store root carries `zarr_conventions`, a lon/lat `spatial:bbox` (densified
/// edges of every GeoZarr group), `spatial:dimensions` (a node declaring `spatial` carries it) and
/// `proj:code` (B-10).
fn finalise_root(plan: &mut OutputPlan) -> Result<()> {
    let mut bbox: Option<[f64; 4]> = None;
    for (path, attrs) in &plan.groups {
        if path == "/" || !attrs.contains_key("multiscales") {
            continue;
        }
        let (Some(b), Some(code)) = (
            attrs.get("spatial:bbox").and_then(Value::as_array),
            attrs.get("proj:code").and_then(Value::as_str),
        ) else {
            continue;
        };
        let b: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
        if b.len() != 4 {
            continue;
        }
        let ll = if code == "EPSG:4326" {
            [b[0], b[1], b[2], b[3]]
        } else {
            let epsg = parse_crs_code(&json!(code))
                .ok_or_else(|| Error::Crs(format!("{path}: cannot parse proj:code {code}")))?;
            crate::geo::ToLonLat::new(&Crs::Epsg(epsg))?.bbox([b[0], b[1], b[2], b[3]], 21)?
        };
        bbox = Some(match bbox {
            None => ll,
            Some(o) => [
                o[0].min(ll[0]),
                o[1].min(ll[1]),
                o[2].max(ll[2]),
                o[3].max(ll[3]),
            ],
        });
    }
    if let Some(b) = bbox {
        let root = plan.groups.entry("/".into()).or_default();
        root.insert("spatial:bbox".into(), json!(b));
        root.insert("spatial:dimensions".into(), json!(["y", "x"]));
        root.insert("proj:code".into(), json!("EPSG:4326"));
        root.insert(
            "zarr_conventions".into(),
            json!([
                Convention::Spatial.declaration_json(Profile::Geozarr),
                Convention::Proj.declaration_json(Profile::Geozarr)
            ]),
        );
    }
    Ok(())
}

/// Read the GCPs of a Sentinel-1 GCP group: `latitude`/`longitude` on (`line`, `pixel`).
fn read_gcps(h: &Hierarchy, group: &str) -> Result<GcpTransformer> {
    let get = |name: &str| -> Result<Vec<f64>> {
        let p = join(group, name);
        if h.node(&p).is_none() {
            return Err(Error::Input(format!(
                "{}{group}: GCP group has no '{name}' array",
                h.location()
            )));
        }
        read_f64(h, &p)
    };
    let (lines, pixels) = (get("line")?, get("pixel")?);
    let (lat, lon) = (get("latitude")?, get("longitude")?);
    if lat.len() != lines.len() * pixels.len() || lon.len() != lat.len() {
        return Err(Error::Input(format!(
            "{}{group}: latitude/longitude are not on the line × pixel grid ({} × {})",
            h.location(),
            lines.len(),
            pixels.len()
        )));
    }
    let mut gcps = Vec::with_capacity(lat.len());
    for (i, &l) in lines.iter().enumerate() {
        for (j, &p) in pixels.iter().enumerate() {
            let k = i * pixels.len() + j;
            if lat[k].is_finite() && lon[k].is_finite() {
                gcps.push(Gcp {
                    pixel: p,
                    line: l,
                    x: lon[k],
                    y: lat[k],
                });
            }
        }
    }
    GcpTransformer::new(&gcps).map_err(|e| Error::Input(format!("{}{group}: {e}", h.location())))
}

/// The reference's nodata of a Sentinel-1 variable: `_FillValue`, else `missing_value`, else by
/// type (u8 255, u16 65535, i16 −32768, other integers 0, floats NaN).
fn s1_nodata(node: &Node, num: Num) -> f64 {
    for k in ["_FillValue", "missing_value"] {
        if let Some(v) = node.attributes.get(k).and_then(Value::as_f64) {
            return v;
        }
    }
    match num {
        Num::U8 => 255.0,
        Num::U16 => 65535.0,
        Num::I16 => -32768.0,
        Num::F32 | Num::F64 => f64::NAN,
        _ => 0.0,
    }
}

/// A native data variable of a GeoZarr group, as its overviews need it.
struct NativeVar {
    name: String,
    shape: Vec<u64>,
    num: Num,
    attrs: Map<String, Value>,
    dims: Option<Vec<String>>,
    nodata: Option<f64>,
    kernel: Kernel,
}

/// One requested group: native data at the group, overviews below, `multiscales` (§2A.2–2A.3).
fn plan_geozarr_group(
    ctx: &mut Ctx<'_>,
    info: &GroupInfo<'_>,
    crs: Option<Crs>,
    gcp: Option<&GcpTransformer>,
) -> Result<()> {
    let g = info.path.clone();
    let pc = ctx.opts.profile.choices();
    let lonlat = matches!(crs, Some(Crs::Epsg(4326)));
    let (grid, s1_grid) = native_grid(ctx, info, &crs, gcp)?;
    // The reference writes the native level at the group and nests the overviews below it
    // (`asset: "."`), which xarray's DataTree cannot align (docs/reference.md E-9); the geozarr profile
    // writes flat sibling levels r1 (native), r2, r4, … under the multiscale group.
    let native_group = match pc.levels {
        LevelLayout::Nested => g.clone(),
        LevelLayout::Flat => join(&g, "r1"),
    };
    plan_native_coordinates(ctx, info, &grid, &native_group, lonlat)?;
    let mut vars: Vec<NativeVar> = Vec::new();
    for v in &info.data_vars {
        let (mut out, var) = native_var(ctx, &g, v, &grid, s1_grid, gcp)?;
        out.path = join(&native_group, &var.name);
        ctx.plan.arrays.push(out);
        vars.push(var);
    }
    // Multiscales (§2A.3).
    let first_shape = &vars[0].shape;
    if first_shape.len() < 2 {
        let mut group_attrs = Map::new();
        if grid.crs.is_some() {
            group_attrs.insert("grid_mapping".into(), json!("spatial_ref"));
        }
        if native_group != g {
            ctx.plan
                .groups
                .insert(native_group.clone(), group_attrs.clone());
        }
        ctx.plan.groups.insert(g.clone(), group_attrs);
        ctx.plan.consolidate.push(g);
        return Ok(());
    }
    let n = first_shape.len();
    let pyramid = Pyramid {
        choices: pc,
        h0: first_shape[n - 2],
        w0: first_shape[n - 1],
        bounds: grid.bounds.unwrap_or([0.0; 4]),
        res: grid.res,
    };
    let levels = calculate_overview_levels(pyramid.w0, pyramid.h0, ctx.opts.min_dimension);
    let mut group_attrs = multiscale_attrs(ctx.opts.profile, &grid, &pyramid, &levels, &vars);
    if pc.levels == LevelLayout::Flat {
        // The multiscale group holds no arrays; each level group is georeferenced itself.
        group_attrs.remove("grid_mapping");
        ctx.plan.groups.insert(
            native_group.clone(),
            level_attrs(&grid, pyramid.transform(0), pyramid.size(0)),
        );
    }
    ctx.plan.groups.insert(g.clone(), group_attrs);
    ctx.plan.consolidate.push(g.clone());
    // Overviews.
    let spatial_ref = match &grid.crs {
        Some(c) => Some(ctx.spatial_ref(&g, c, None)?),
        None => None,
    };
    let level = Level {
        info,
        grid: &grid,
        pyramid: &pyramid,
        native_group: &native_group,
        spatial_ref: spatial_ref.as_ref(),
        lonlat,
    };
    for l in levels.iter().filter(|l| l.level >= 1) {
        plan_overview(ctx, &level, l.level, &vars)?;
    }
    Ok(())
}

/// A Sentinel-1 warp's output grid with the source's height and width.
type S1Grid = (WarpGrid, u64, u64);

/// The native grid of a GeoZarr group: from its coordinates, or (Sentinel-1) from the GCP warp,
/// with the warp's output grid and the source's height and width.
fn native_grid(
    ctx: &Ctx<'_>,
    info: &GroupInfo<'_>,
    crs: &Option<Crs>,
    gcp: Option<&GcpTransformer>,
) -> Result<(Grid, Option<S1Grid>)> {
    let g = &info.path;
    let mut s1_grid: Option<S1Grid> = None;
    let grid = if ctx.s1 {
        let first = info.data_vars[0];
        let m =
            array_meta(first).ok_or_else(|| Error::invalid(ctx.at(&first.path), "not an array"))?;
        let n = m.shape.len();
        if !(2..=3).contains(&n) {
            return Err(Error::Input(format!(
                "{}: Sentinel-1 variables must be 2-D or 3-D, this one has {n} dimensions",
                ctx.at(&first.path)
            )));
        }
        let (sh, sw) = (m.shape[n - 2], m.shape[n - 1]);
        let t = gcp.ok_or_else(|| Error::Input(format!("{}: no GCPs", ctx.at(g))))?;
        let wg = suggested_warp_output(t, sw, sh)
            .map_err(|e| Error::Input(format!("{}: {e}", ctx.at(g))))?;
        s1_grid = Some((wg, sh, sw));
        let (x, y) = (wg.centres(true), wg.centres(false));
        let (b, rx, ry) = edge_bounds(&x, &y).unwrap_or(([0.0; 4], 0.0, 0.0));
        Grid {
            crs: crs.clone(),
            bounds: Some(b),
            res: (rx, ry),
            x,
            y,
            coord_num: Num::F64,
        }
    } else {
        let x = ctx.axis(info, "x")?;
        let y = ctx.axis(info, "y")?;
        match (x, y) {
            (Some((x, xn)), Some((y, _))) => {
                let eb = edge_bounds(&x, &y);
                Grid {
                    crs: crs.clone(),
                    bounds: eb.map(|e| e.0),
                    res: eb.map_or((0.0, 0.0), |e| (e.1, e.2)),
                    x,
                    y,
                    coord_num: xn,
                }
            }
            _ => Grid {
                crs: crs.clone(),
                bounds: None,
                res: (0.0, 0.0),
                x: vec![],
                y: vec![],
                coord_num: Num::F64,
            },
        }
    };
    Ok((grid, s1_grid))
}

/// The native level's coordinates and grid-mapping variable.
fn plan_native_coordinates(
    ctx: &mut Ctx<'_>,
    info: &GroupInfo<'_>,
    grid: &Grid,
    native_group: &str,
    lonlat: bool,
) -> Result<()> {
    if ctx.s1 {
        for (axis, values) in [("x", &grid.x), ("y", &grid.y)] {
            ctx.plan.arrays.push(value_coordinate(
                &join(native_group, axis),
                axis,
                values.clone(),
                Num::F64,
                lonlat,
            ));
        }
    } else {
        for c in &info.coords {
            let path = join(native_group, name_of(&c.path));
            let a = ctx.coordinate(&path, c, Some(lonlat))?;
            ctx.plan.arrays.push(a);
        }
    }
    if let Some(c) = &grid.crs {
        let gt = grid.bounds.map(|b| {
            let (rx, ry) = grid.res;
            let left = if rx > 0.0 { b[0] } else { b[2] };
            let top = if ry < 0.0 { b[3] } else { b[1] };
            geotransform_string(&[rx, 0.0, left, 0.0, ry, top])
        });
        let sr = ctx.spatial_ref(native_group, c, gt)?;
        ctx.plan.arrays.push(sr);
    }
    Ok(())
}

/// One native data variable of group `g`: its array (the caller sets the path at the native
/// level) and what its overviews need.
fn native_var(
    ctx: &Ctx<'_>,
    g: &str,
    v: &Node,
    grid: &Grid,
    s1_grid: Option<S1Grid>,
    gcp: Option<&GcpTransformer>,
) -> Result<(OutArray, NativeVar)> {
    let pc = ctx.opts.profile.choices();
    let name = name_of(&v.path).to_string();
    let m = array_meta(v).ok_or_else(|| Error::invalid(ctx.at(&v.path), "not an array"))?;
    let Some((stored, decoded, cf)) = decoding(v) else {
        return Err(Error::Unsupported {
            path: ctx.at(&v.path),
            what: "data type",
            reason: format!(
                "pipeline A converts numeric variables only, not {}",
                m.dtype
            ),
        });
    };
    let n = m.shape.len();
    let (out_num, shape, source, dims, nodata) = if let Some((wg, sh, sw)) = s1_grid {
        let nodata = s1_nodata(v, stored);
        let mut shape = m.shape[..n - 2].to_vec();
        shape.extend([wg.height, wg.width]);
        let mut d: Vec<String> = if n == 3 { vec!["time".into()] } else { vec![] };
        d.extend(["y".into(), "x".into()]);
        let warp = S1Warp {
            transformer: gcp.cloned().ok_or_else(|| Error::Input("no GCPs".into()))?,
            grid: wg,
            src_width: sw,
            src_height: sh,
            nodata,
            src_nodata: v
                .attributes
                .get("_FillValue")
                .or_else(|| v.attributes.get("missing_value"))
                .and_then(Value::as_f64),
        };
        (
            stored,
            shape,
            Source::Warp {
                from: v.path.to_string(),
                warp: Arc::new(warp),
                src: stored,
            },
            Some(d),
            (!nodata.is_nan()).then_some(nodata),
        )
    } else {
        let source = match cf {
            Some(cf) => Source::DecodeAs {
                from: v.path.to_string(),
                cf,
                src: stored,
                out: decoded,
            },
            None => Source::Copy {
                from: v.path.to_string(),
            },
        };
        (decoded, m.shape.clone(), source, dims(m), None)
    };
    let mut attrs = sanitize_attrs(&v.attributes, out_num.is_float());
    attrs.remove("scale_factor");
    attrs.remove("add_offset");
    if out_num.is_float() {
        attrs.insert("_FillValue".into(), json!(NAN_FILL_B64));
    }
    let is_reflectance = g.contains("/measurements/");
    if ctx.s1 {
        // The warp keeps x/y only: the line/pixel coordinates are gone.
        attrs.remove("coordinates");
        attrs.insert(
            "standard_name".into(),
            json!("surface_backwards_scattering_coefficient_of_radar_wave"),
        );
        attrs.insert("units".into(), json!("1"));
        if let Some(nd) = nodata {
            attrs.insert("missing_value".into(), json!(nd));
        }
    } else if pc.reflectance_name_everywhere || is_reflectance {
        // B-7: the reference stamps this on every variable (SCL, TCI, masks…).
        attrs.insert(
            "standard_name".into(),
            json!("toa_bidirectional_reflectance"),
        );
    }
    if let Some(d) = &dims {
        attrs.insert("_ARRAY_DIMENSIONS".into(), json!(d));
    }
    if grid.crs.is_some() {
        attrs.insert("grid_mapping".into(), json!("spatial_ref"));
    }
    if pc.georeferencing == Georeferencing::EveryGrid {
        rewrite_proj(&mut attrs, &shape, grid);
    }
    let (chunks, codecs) = ctx.encoding(&shape, out_num.size());
    let fill = if out_num.is_float() {
        json!("NaN")
    } else {
        match (pc.nodata_as_fill, nodata) {
            // B-8: the reference leaves the zarr fill at 0 for S1's 65535 nodata.
            (true, Some(nd)) => json!(nd as i64),
            _ => fill_value(
                &json!(out_num.v3()),
                v.attributes
                    .get("_FillValue")
                    .and_then(crate::zarr_ext::fill_attribute)
                    .as_ref(),
            ),
        }
    };
    let kernel = Kernel::for_variable(g, &name);
    let out = OutArray {
        path: String::new(),
        doc: array_doc(
            &shape,
            json!(out_num.v3()),
            &chunks,
            fill,
            codecs,
            attrs.clone(),
            dims.clone(),
        ),
        source,
    };
    let var = NativeVar {
        name,
        shape,
        num: out_num,
        attrs,
        dims,
        nodata,
        kernel,
    };
    Ok((out, var))
}

/// Level sizes and transforms of a pipeline-A pyramid (level `k` is `2^k` times coarser).
struct Pyramid {
    choices: Choices,
    h0: u64,
    w0: u64,
    /// `[left, bottom, right, top]` of the native grid (zeros without one).
    bounds: [f64; 4],
    res: (f64, f64),
}

impl Pyramid {
    fn size(&self, k: u32) -> (u64, u64) {
        let (h0, w0) = (self.h0, self.w0);
        match self.choices.trimming {
            Trimming::DropPartialBlocks => (h0 >> k, w0 >> k),
            Trimming::KeepPartialBlocks => (h0.div_ceil(1 << k), w0.div_ceil(1 << k)),
        }
    }

    fn transform(&self, k: u32) -> [f64; 6] {
        let [left, bottom, right, top] = self.bounds;
        let (hn, wn) = self.size(k);
        match self.choices.transforms {
            Transforms::FromCentres => [
                (right - left) / wn as f64,
                0.0,
                left,
                0.0,
                -(top - bottom) / hn as f64,
                top,
            ],
            Transforms::FromEdges => {
                let f = (1u64 << k) as f64;
                let (rx, ry) = self.res;
                let x0 = if rx > 0.0 { left } else { right };
                let y0 = if ry < 0.0 { top } else { bottom };
                [rx * f, 0.0, x0, 0.0, ry * f, y0]
            }
        }
    }

    /// The `asset` of level `k` in the multiscales layout.
    fn asset(&self, k: u32) -> String {
        match (self.choices.levels, k) {
            (LevelLayout::Nested, 0) => ".".into(),
            _ => format!("r{}", 1u64 << k),
        }
    }
}

/// The multiscale group's attributes: `zarr_conventions`, `multiscales` layout, `spatial:`.
fn multiscale_attrs(
    profile: Profile,
    grid: &Grid,
    pyramid: &Pyramid,
    levels: &[crate::plan::OverviewLevel],
    vars: &[NativeVar],
) -> Map<String, Value> {
    let pc = pyramid.choices;
    let has_geo = grid.crs.is_some() && grid.bounds.is_some();
    let [left, bottom, right, top] = pyramid.bounds;
    let mut group_attrs = Map::new();
    if grid.crs.is_some() {
        group_attrs.insert("grid_mapping".into(), json!("spatial_ref"));
    }
    let mut layout: Vec<Value> = Vec::new();
    let geozarr_levels: Vec<u32> = if pc.levels == LevelLayout::Flat && levels.is_empty() {
        vec![0]
    } else {
        levels.iter().map(|l| l.level).collect()
    };
    let methods: Vec<&str> = vars
        .iter()
        .map(|v| match (pc.resampling, v.num.is_float()) {
            (Resampling::ByKind, false) => v.kernel.resampling_method(),
            _ => "average",
        })
        .collect();
    let group_method = if methods.iter().all(|m| *m == methods[0]) {
        methods[0]
    } else {
        "average"
    };
    for &k in &geozarr_levels {
        let (hn, wn) = pyramid.size(k);
        let mut e = Map::new();
        e.insert("asset".into(), json!(pyramid.asset(k)));
        if k >= 1 {
            e.insert("derived_from".into(), json!(pyramid.asset(k - 1)));
            e.insert(
                "transform".into(),
                json!({"scale": [2.0, 2.0], "translation": [0.0, 0.0]}),
            );
        }
        e.insert("spatial:shape".into(), json!([hn, wn]));
        let t = pyramid.transform(k);
        if has_geo && t.iter().any(|v| *v != 0.0) {
            e.insert("spatial:transform".into(), json!(t));
        }
        layout.push(Value::Object(e));
    }
    let mut conventions = vec![Convention::Multiscales.declaration_json(profile)];
    if has_geo {
        conventions.push(Convention::Spatial.declaration_json(profile));
        conventions.push(Convention::Proj.declaration_json(profile));
    }
    group_attrs.insert("zarr_conventions".into(), json!(conventions));
    group_attrs.insert(
        "multiscales".into(),
        json!({"layout": layout, "resampling_method": group_method}),
    );
    if let (true, Some(c)) = (has_geo, &grid.crs) {
        group_attrs.insert("spatial:dimensions".into(), json!(["y", "x"]));
        group_attrs.insert("spatial:bbox".into(), json!([left, bottom, right, top]));
        group_attrs.insert("spatial:registration".into(), json!("pixel"));
        insert_crs(&mut group_attrs, c);
    }
    group_attrs
}

/// What every overview level of one GeoZarr group shares.
struct Level<'a> {
    info: &'a GroupInfo<'a>,
    grid: &'a Grid,
    pyramid: &'a Pyramid,
    native_group: &'a str,
    spatial_ref: Option<&'a OutArray>,
    lonlat: bool,
}

/// Overview level `k ≥ 1`: its group, coordinates, grid mapping and downsampled variables.
fn plan_overview(ctx: &mut Ctx<'_>, level: &Level<'_>, k: u32, vars: &[NativeVar]) -> Result<()> {
    let Level {
        info,
        grid,
        pyramid,
        native_group,
        spatial_ref: spatial_ref_attrs,
        lonlat,
    } = *level;
    let pc = pyramid.choices;
    let g = &info.path;
    let [left, bottom, right, top] = pyramid.bounds;
    let og = join(g, &format!("r{}", 1u64 << k));
    let prev_group = if k == 1 {
        native_group.to_string()
    } else {
        join(g, &format!("r{}", 1u64 << (k - 1)))
    };
    let (hn, wn) = pyramid.size(k);
    // Coordinates: the left/top edges (reference, cast to the parent's type) or exact centres.
    let t = pyramid.transform(k);
    let (xs, ys, cnum): (Vec<f64>, Vec<f64>, Num) = match pc.transforms {
        Transforms::FromCentres => {
            let lin = |a: f64, b: f64, n: u64| -> Vec<f64> {
                let step = (b - a) / n as f64;
                (0..n).map(|i| i as f64 * step + a).collect()
            };
            (lin(left, right, wn), lin(top, bottom, hn), grid.coord_num)
        }
        Transforms::FromEdges => (
            (0..wn).map(|i| t[2] + (i as f64 + 0.5) * t[0]).collect(),
            (0..hn).map(|j| t[5] + (j as f64 + 0.5) * t[4]).collect(),
            Num::F64,
        ),
    };
    if !grid.x.is_empty() || ctx.s1 {
        ctx.plan
            .arrays
            .push(value_coordinate(&join(&og, "x"), "x", xs, cnum, lonlat));
        ctx.plan
            .arrays
            .push(value_coordinate(&join(&og, "y"), "y", ys, cnum, lonlat));
    }
    // Geozarr profile: the non-spatial 1-D coordinates (a quicklook's `band`) are copied to
    // every level, so that each data variable's dimensions have their coordinate there too
    // (the GeoZarr minispec's Dataset rule, eopf-geozarr 0.12's validator).
    if pc.client_metadata && !ctx.s1 {
        for c in &info.coords {
            let cname = name_of(&c.path);
            if !matches!(cname, "x" | "y") && array_meta(c).is_some_and(|m| m.shape.len() == 1) {
                let a = ctx.coordinate(&join(&og, cname), c, Some(lonlat))?;
                ctx.plan.arrays.push(a);
            }
        }
    }
    if let Some(sr) = spatial_ref_attrs {
        let mut sr = sr.clone();
        sr.path = join(&og, "spatial_ref");
        if let Some(a) = sr.doc["attributes"].as_object_mut() {
            a.insert("GeoTransform".into(), json!(geotransform_string(&t)));
        }
        ctx.plan.arrays.push(sr);
    }
    let mut og_attrs = Map::new();
    if grid.crs.is_some() {
        og_attrs.insert("grid_mapping".into(), json!("spatial_ref"));
    }
    if pc.georeferencing == Georeferencing::EveryGrid {
        og_attrs = level_attrs(grid, t, (hn, wn));
    }
    ctx.plan.groups.insert(og.clone(), og_attrs);
    ctx.plan.consolidate.push(og.clone());
    for v in vars {
        overview_var(ctx, level, k, (&og, &prev_group), v);
    }
    Ok(())
}

/// One variable's array at overview level `k`, downsampled from level `k − 1`.
fn overview_var(
    ctx: &mut Ctx<'_>,
    level: &Level<'_>,
    k: u32,
    (og, prev_group): (&str, &str),
    v: &NativeVar,
) {
    let NativeVar {
        name,
        shape,
        num: out_num,
        attrs: native_attrs,
        dims,
        nodata,
        kernel,
    } = v;
    let (grid, pyramid) = (level.grid, level.pyramid);
    let pc = pyramid.choices;
    let profile = ctx.opts.profile;
    let (hn, wn) = pyramid.size(k);
    let nd = shape.len();
    let mut oshape = shape[..nd - 2].to_vec();
    oshape.extend([hn, wn]);
    let prev_shape = {
        let mut s = shape[..nd - 2].to_vec();
        let (ph, pw) = pyramid.size(k - 1);
        s.extend([ph, pw]);
        s
    };
    let (num, attrs, down) = match pc.resampling {
        Resampling::AverageAll => {
            // B-7: 2-D integers become float64; 3-D keep the type (truncated means).
            let num = if nd == 2 { Num::F64 } else { *out_num };
            let mut a = Map::new();
            a.insert(
                "standard_name".into(),
                native_attrs
                    .get("standard_name")
                    .cloned()
                    .unwrap_or(json!("toa_bidirectional_reflectance")),
            );
            let mut d: Vec<String> = if nd == 3 {
                vec![
                    dims.as_ref()
                        .and_then(|d| d.first().cloned())
                        .unwrap_or_else(|| "time".into()),
                ]
            } else {
                vec![]
            };
            d.extend(["y".into(), "x".into()]);
            a.insert("_ARRAY_DIMENSIONS".into(), json!(d));
            if grid.crs.is_some() {
                a.insert("grid_mapping".into(), json!("spatial_ref"));
            }
            if num.is_float() {
                a.insert("_FillValue".into(), json!(NAN_FILL_B64));
            }
            (num, a, Down::Reference)
        }
        Resampling::ByKind => {
            let mut a = native_attrs.clone();
            rewrite_proj(&mut a, &oshape, &grid_at(grid, k));
            let down = match (out_num.is_float(), kernel, *out_num) {
                (false, Kernel::Mode | Kernel::Or, Num::U8) => Down::Classes(*kernel),
                _ => Down::Mean { nodata: *nodata },
            };
            (*out_num, a, down)
        }
    };
    let (chunks, codecs) = ctx.encoding(&oshape, num.size());
    let fill = if num.is_float() {
        json!("NaN")
    } else {
        match (pc.nodata_as_fill, nodata) {
            (true, Some(v)) => json!(*v as i64),
            _ => json!(0),
        }
    };
    let odims = array_dimensions(&attrs).or_else(|| dims.clone());
    ctx.plan.arrays.push(OutArray {
        path: join(og, name),
        doc: array_doc(
            &oshape,
            json!(num.v3()),
            &chunks,
            fill,
            codecs,
            attrs,
            odims,
        ),
        source: Source::Downsample {
            from: join(prev_group, name),
            from_shape: prev_shape,
            from_num: if k == 1 {
                *out_num
            } else {
                level_num(profile, nd, *out_num)
            },
            down,
            out: num,
        },
    });
}

/// Geozarr profile: the attributes of one level group (grid mapping, exact `spatial:` and `proj:`).
fn level_attrs(grid: &Grid, t: [f64; 6], (h, w): (u64, u64)) -> Map<String, Value> {
    let mut a = Map::new();
    let Some(crs) = &grid.crs else { return a };
    a.insert("grid_mapping".into(), json!("spatial_ref"));
    if grid.bounds.is_none() {
        return a;
    }
    let (x1, y1) = (t[2] + t[0] * w as f64, t[5] + t[4] * h as f64);
    a.insert("spatial:dimensions".into(), json!(["y", "x"]));
    a.insert(
        "spatial:bbox".into(),
        json!([t[2].min(x1), t[5].min(y1), t[2].max(x1), t[5].max(y1)]),
    );
    a.insert("spatial:transform".into(), json!(t));
    a.insert("spatial:shape".into(), json!([h, w]));
    a.insert("spatial:registration".into(), json!("pixel"));
    insert_crs(&mut a, crs);
    a.insert(
        "zarr_conventions".into(),
        json!([
            Convention::Spatial.declaration_json(Profile::Geozarr),
            Convention::Proj.declaration_json(Profile::Geozarr)
        ]),
    );
    a
}

/// The element type of the overview levels of a variable.
fn level_num(profile: Profile, ndim: usize, native: Num) -> Num {
    match profile.choices().resampling {
        Resampling::AverageAll if ndim == 2 => Num::F64,
        _ => native,
    }
}

/// The native grid at overview level `k` (geozarr profile: exact pixel sizes, native origin).
fn grid_at(grid: &Grid, k: u32) -> crate::geo::EdgeGrid {
    let f = (1u64 << k) as f64;
    let b = grid.bounds.unwrap_or([0.0; 4]);
    crate::geo::EdgeGrid {
        x0: b[0],
        y_top: b[3],
        res: grid.res.0.abs() * f,
    }
}

impl ProjGrid for Grid {
    fn proj(&self, h: u64, w: u64) -> Option<([f64; 6], [f64; 4])> {
        self.bounds?;
        let g = grid_at(self, 0);
        g.proj(h, w)
    }
}

/// A group copied without GeoZarr treatment (§2A.4), with the `--crs-groups` treatment
/// (reference, B-6 included) or the geozarr profile's exact georeferencing.
fn plan_copied_group(
    ctx: &mut Ctx<'_>,
    info: &GroupInfo<'_>,
    crs_treatment: bool,
    geo: Option<Crs>,
) -> Result<()> {
    let g = info.path.clone();
    let profile = ctx.opts.profile;
    let pc = profile.choices();
    let x = ctx.axis(info, "x")?;
    let y = ctx.axis(info, "y")?;
    let georef = match (&geo, &x, &y) {
        (Some(c), Some(x), Some(y)) => Some((c.clone(), x.clone(), y.clone())),
        _ => None,
    };
    let every_grid = pc.georeferencing == Georeferencing::EveryGrid;
    let coord_attrs = crs_treatment || (every_grid && georef.is_some());
    let lonlat = matches!(geo, Some(Crs::Epsg(4326)));
    for c in &info.coords {
        let path = join(&g, name_of(&c.path));
        let a = ctx.coordinate(&path, c, coord_attrs.then_some(lonlat))?;
        ctx.plan.arrays.push(a);
    }
    // Attributes of a copied group are written as read (NaN as strings, §2.0.5).
    let mut group_attrs = ctx
        .h
        .node(&g)
        .map(|n| n.attributes.clone())
        .unwrap_or_default();
    // The GeoTransform of the group: B-6 (centre origin, positive y size, raw values) or exact.
    let mut proj_transform: Option<(String, Option<[f64; 6]>)> = None;
    if let Some((crs, (xv, xn), (yv, yn))) = &georef
        && xv.len() >= 2
        && yv.len() >= 2
    {
        let raw = |v: f64, n: Num| {
            if n.is_float() {
                py_float(v)
            } else {
                format!("{}", v as i64)
            }
        };
        let gt = match pc.transforms {
            Transforms::FromCentres => format!(
                "{} {} 0.0 {} 0.0 {}",
                raw(xv[0], *xn),
                py_float(xv[1] - xv[0]),
                raw(yv[0], *yn),
                py_float(yv[0] - yv[1])
            ),
            Transforms::FromEdges => String::new(),
        };
        let exact = edge_bounds(xv, yv).map(|(b, rx, ry)| {
            let left = if rx > 0.0 { b[0] } else { b[2] };
            let top = if ry < 0.0 { b[3] } else { b[1] };
            [rx, 0.0, left, 0.0, ry, top]
        });
        let gt = match (pc.transforms, exact) {
            (Transforms::FromEdges, Some(t)) => geotransform_string(&t),
            _ => gt,
        };
        if !(pc.transforms == Transforms::FromEdges && exact.is_none()) {
            let sr = ctx.spatial_ref(&g, crs, Some(gt.clone()))?;
            ctx.plan.arrays.push(sr);
            group_attrs.insert("grid_mapping".into(), json!("spatial_ref"));
            proj_transform = Some((gt, exact));
            // `spatial:` describes the group's rasters: only when every ≥2-D variable is on the
            // y/x grid (the angle grids of /conditions/geometry are not all).
            let all_on_grid = info.data_vars.iter().all(|v| {
                array_meta(v).is_none_or(|m| {
                    m.shape.len() < 2
                        || m.dimension_names.as_ref().is_some_and(|d| {
                            d.len() >= 2 && d[d.len() - 2] == "y" && d[d.len() - 1] == "x"
                        })
                })
            });
            if every_grid
                && all_on_grid
                && let Some((b, _, _)) = edge_bounds(xv, yv)
                && let Some(t) = exact
            {
                group_attrs.insert("spatial:dimensions".into(), json!(["y", "x"]));
                group_attrs.insert("spatial:bbox".into(), json!(b));
                group_attrs.insert("spatial:registration".into(), json!("pixel"));
                group_attrs.insert("spatial:transform".into(), json!(t));
                group_attrs.insert("spatial:shape".into(), json!([yv.len(), xv.len()]));
                insert_crs(&mut group_attrs, crs);
                group_attrs.insert(
                    "zarr_conventions".into(),
                    json!([
                        Convention::Spatial.declaration_json(profile),
                        Convention::Proj.declaration_json(profile)
                    ]),
                );
            }
        }
    }
    let copy = CopyGeo {
        crs_treatment,
        every_grid,
        proj_transform: proj_transform.as_ref(),
        geo: geo.as_ref(),
        raster: match (&x, &y) {
            (Some((x, _)), Some((y, _))) => Some((y.len() as u64, x.len() as u64)),
            _ => None,
        },
    };
    for v in &info.data_vars {
        let out = copied_var(ctx, &g, v, &copy)?;
        ctx.plan.arrays.push(out);
    }
    ctx.plan.groups.insert(g, group_attrs);
    Ok(())
}

/// How the variables of a copied group are georeferenced (see [`plan_copied_group`]).
struct CopyGeo<'a> {
    crs_treatment: bool,
    every_grid: bool,
    /// The group's GeoTransform string and exact transform, when it got a grid mapping.
    proj_transform: Option<&'a (String, Option<[f64; 6]>)>,
    geo: Option<&'a Crs>,
    /// `(height, width)` of the group's x/y grid.
    raster: Option<(u64, u64)>,
}

/// One data variable of a copied group.
fn copied_var(ctx: &Ctx<'_>, g: &str, v: &Node, copy: &CopyGeo<'_>) -> Result<OutArray> {
    let pc = ctx.opts.profile.choices();
    let CopyGeo {
        crs_treatment,
        every_grid,
        proj_transform,
        geo,
        raster,
    } = *copy;
    let m = array_meta(v).ok_or_else(|| Error::invalid(ctx.at(&v.path), "not an array"))?;
    let path = join(g, name_of(&v.path));
    let decoded = decoding(v);
    let (dt, item, source) = match decoded {
        Some((stored, out, Some(cf))) => (
            json!(out.v3()),
            out.size(),
            Source::DecodeAs {
                from: v.path.to_string(),
                cf,
                src: stored,
                out,
            },
        ),
        _ => {
            let (dt, item) = v3_data_type(&m.dtype, &ctx.at(&v.path))?;
            (
                dt,
                item,
                Source::Copy {
                    from: v.path.to_string(),
                },
            )
        }
    };
    let float = super::metadata::is_float(&dt);
    let mut attrs = if pc.sanitized_attributes {
        sanitize_attrs(&v.attributes, float)
    } else {
        copied_attrs(&v.attributes)
    };
    if float {
        attrs.insert("_FillValue".into(), json!(NAN_FILL_B64));
        if matches!(decoded, Some((_, _, Some(_)))) {
            attrs.remove("scale_factor");
            attrs.remove("add_offset");
        }
    }
    let vdims = dims(m);
    let on_xy = vdims
        .as_ref()
        .is_some_and(|d| d.iter().any(|s| s == "x") && d.iter().any(|s| s == "y"));
    if crs_treatment || (every_grid && proj_transform.is_some()) {
        if let Some(d) = &vdims {
            attrs.insert("_ARRAY_DIMENSIONS".into(), json!(d));
        }
        if on_xy && let (Some((gt, exact)), Some(c)) = (proj_transform, geo) {
            attrs.insert("grid_mapping".into(), json!("spatial_ref"));
            match (pc.transforms, exact) {
                (Transforms::FromEdges, Some(t)) => {
                    if let Some(e) = c.epsg() {
                        attrs.insert("proj:epsg".into(), json!(e));
                    }
                    attrs.insert(
                        "proj:transform".into(),
                        json!([t[0], t[1], t[2], t[3], t[4], t[5], 0.0, 0.0, 1.0]),
                    );
                }
                _ => {
                    // B-6: strings.
                    if let Some(e) = c.epsg() {
                        attrs.insert("proj:epsg".into(), json!(e.to_string()));
                    }
                    attrs.insert("proj:transform".into(), json!(gt));
                }
            }
        }
    }
    let n = m.shape.len();
    let on_grid = pc.encodings == Encodings::Policy
        && n >= 2
        && raster.is_some_and(|(h, w)| m.shape[n - 2] == h && m.shape[n - 1] == w)
        && on_xy;
    let (grid, codecs) = if on_grid {
        ctx.encoding(&m.shape, item)
    } else {
        (
            dask_auto_chunks(&m.shape, &m.chunks, item as u64),
            ctx.codecs(item),
        )
    };
    let fill = fill_value(&dt, None);
    Ok(OutArray {
        path,
        doc: array_doc(&m.shape, dt, &grid, fill, codecs, attrs, vdims),
        source,
    })
}

/// The reference's `is_grid_mapping_variable`: true iff another array of `group` names `var` in
/// its `grid_mapping` attribute.
pub fn is_grid_mapping_variable(h: &Hierarchy, group: &str, var: &str) -> bool {
    h.children(group).iter().any(|n| {
        name_of(&n.path) != var
            && matches!(n.kind, NodeKind::Array(_))
            && n.attributes.get("grid_mapping").and_then(Value::as_str) == Some(var)
    })
}

/// The reference's `validate_existing_band_data`: whether `group/var` of an existing output can be
/// kept — present, of `shape`, with `_ARRAY_DIMENSIONS` and `standard_name`, the same grid mapping
/// CRS as `crs_wkt` (when given), and a first value that is not NaN (B-19). Any read failure ⇒
/// false.
pub fn validate_existing_band_data(
    out: &Hierarchy,
    group: &str,
    var: &str,
    shape: &[u64],
    crs_wkt: Option<&str>,
) -> bool {
    let path = join(group, var);
    let Some(n) = out.node(&path) else {
        return false;
    };
    let Some(m) = array_meta(n) else { return false };
    if m.shape != shape
        || !n.attributes.contains_key("_ARRAY_DIMENSIONS")
        || !n.attributes.contains_key("standard_name")
    {
        return false;
    }
    if let Some(want) = crs_wkt {
        let gm = n
            .attributes
            .get("grid_mapping")
            .and_then(Value::as_str)
            .unwrap_or("spatial_ref");
        let have = out
            .node(&join(group, gm))
            .and_then(|s| s.attributes.get("crs_wkt"))
            .and_then(Value::as_str);
        if have != Some(want) {
            return false;
        }
    }
    let first: Vec<std::ops::Range<u64>> = shape.iter().map(|_| 0..1).collect();
    let v = match Num::from_data_type(&m.data_type) {
        Some(Num::F32) => out
            .read_region::<f32>(&path, &first)
            .ok()
            .and_then(|a| a.iter().next().map(|v| f64::from(*v))),
        Some(Num::F64) => out
            .read_region::<f64>(&path, &first)
            .ok()
            .and_then(|a| a.iter().next().copied()),
        Some(_) => Some(0.0),
        None => None,
    };
    v.is_some_and(|v| !v.is_nan())
}

/// The reference's `write_geozarr_group` as a plan: one requested group of pipeline A (native
/// level, overviews, `multiscales`) and nothing else of the product.
pub fn plan_geozarr_group_only(
    h: &Hierarchy,
    group: &str,
    opts: &GenericOptions,
) -> Result<OutputPlan> {
    let g = clean_group(group);
    let one = GenericOptions {
        groups: vec![g.clone()],
        crs_groups: None,
        ..opts.clone()
    };
    let mut plan = plan_generic(h, &one)?;
    let inside = |p: &str| p == g || p.starts_with(&format!("{g}/"));
    plan.arrays.retain(|a| inside(&a.path));
    if plan.arrays.is_empty() {
        return Err(Error::Input(format!(
            "{}{g}: not a group with data variables",
            h.location()
        )));
    }
    plan.groups.retain(|p, _| {
        inside(p) || g.starts_with(&format!("{}/", p.trim_end_matches('/'))) || p == "/"
    });
    plan.consolidate.retain(|p| inside(p) || p == "/");
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_paths_are_normalised() {
        assert_eq!(clean_group("measurements//r10m/"), "/measurements/r10m");
        assert_eq!(clean_group("/a/./b"), "/a/b");
    }

    #[test]
    fn dask_auto_chunks_cases() {
        // Small arrays: one chunk.
        assert_eq!(
            dask_auto_chunks(&[1098, 1098], &[1098, 1098], 1),
            vec![1098, 1098]
        );
        assert_eq!(dask_auto_chunks(&[9, 9], &[9, 9], 4), vec![9, 9]);
        // Over 128 MiB: a divisor of the dimension near the limit.
        assert_eq!(
            dask_auto_chunks(&[10980, 10980], &[10980, 10980], 2),
            vec![5490, 5490]
        );
        // Merged source chunks up to the limit.
        assert_eq!(
            dask_auto_chunks(&[10980, 10980], &[1830, 1830], 1),
            vec![10980, 10980]
        );
    }

    #[test]
    fn edge_bounds_of_centres() {
        let x = [699965.0, 699975.0, 699985.0];
        let y = [4700035.0, 4700025.0];
        let (b, rx, ry) = edge_bounds(&x, &y).unwrap();
        assert_eq!(b, [699960.0, 4700020.0, 699990.0, 4700040.0]);
        assert_eq!((rx, ry), (10.0, -10.0));
    }
}
