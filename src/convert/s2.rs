//! The plan of pipeline B (`convert_s2_optimized`, docs/reference.md §2B): every output group with its
//! attributes and every output array with its full `zarr.json` and where its values come from.
//! Pure metadata work on the opened input; the writer executes the plan.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::attrs::{
    array_dimensions, array_meta, cf_coordinates, computed_coordinate, coordinate_names, dims,
    doc_shape, insert_crs, rewrite_proj, whole_coordinate,
};
pub use super::attrs::{centre_bbox, geotransform_string, preferred_transform, py_float};
pub use super::ir::{Codec, Kernel, OutArray, OutputPlan, Source};
use super::ir::{name_of, parent_of};
use super::metadata::{
    NAN_FILL_B64, array_doc, bytes_codec, fill_value, is_float, sanitize_attrs, sharding_codec,
    spatial_ref_attrs, v3_data_type,
};
use crate::conventions::Convention;
use crate::error::{Error, Result};
pub use crate::geo::EdgeGrid;
use crate::hierarchy::{Hierarchy, Node, NodeKind};
use crate::inspect::read_f64;
use crate::plan::{
    LevelSource, Profile, S2_LEVELS, ShardSize, calculate_simple_shard_dimensions, derived_edge,
    derived_scale, geozarr_raster_encoding, measurement_chunks,
};
use crate::product::{CfEncoding, Crs};
use crate::profile::{Choices, Encodings, Georeferencing, Resampling, Transforms};

/// Options of pipeline B.
#[derive(Debug, Clone)]
pub struct S2Options {
    pub profile: Profile,
    pub spatial_chunk: u64,
    pub enable_sharding: bool,
    /// Blosc level (the reference always writes 3).
    pub compression_level: u8,
    /// Write the store-root bbox and consolidate (the CLI does; `create_multiscale_from_datatree`
    /// alone, which made `optimized_geozarr_examples`, does not).
    pub finalise_root: bool,
    /// Compression codec of data arrays (the reference profile always writes blosc-zstd).
    pub codec: Codec,
    /// Shard size policy of the geozarr profile.
    pub shard_size: ShardSize,
    /// Store reflectance as the source's packed uint16 with its CF attributes.
    pub keep_scale_offset: bool,
    /// Attempts per chunk/shard write before the conversion fails (at least one).
    pub max_retries: u32,
    /// Where the pyramid kernels run (`--device`).
    pub device: crate::kernels::Device,
    /// Stops the conversion between two chunk writes (the app's Cancel).
    pub cancel: super::writer::CancelFlag,
    /// Decoded source chunks kept per input array (`EOPF_SOURCE_CACHE_MB` in the CLI).
    pub source_cache_bytes: u64,
}

impl S2Options {
    /// The options with everything that does not change the output reset (`max_retries`,
    /// `device`, `cancel`, `source_cache_bytes`): what a resumable conversion's fingerprint is made of.
    pub fn output_choices(&self) -> Self {
        S2Options {
            max_retries: 0,
            device: crate::kernels::Device::Auto,
            cancel: Default::default(),
            source_cache_bytes: 0,
            ..self.clone()
        }
    }
}

impl Default for S2Options {
    fn default() -> Self {
        S2Options {
            profile: Profile::Reference,
            spatial_chunk: 256,
            enable_sharding: false,
            compression_level: 3,
            finalise_root: true,
            codec: Codec::BloscZstd,
            shard_size: ShardSize::default(),
            keep_scale_offset: false,
            max_retries: 3,
            device: crate::kernels::Device::Auto,
            cancel: Default::default(),
            source_cache_bytes: super::writer::SOURCE_CACHE_BYTES,
        }
    }
}

struct Ctx<'a> {
    h: &'a Hierarchy,
    opts: &'a S2Options,
    crs: Option<Crs>,
}

impl Ctx<'_> {
    fn choices(&self) -> Choices {
        self.opts.profile.choices()
    }

    fn at(&self, p: &str) -> String {
        format!("{}{p}", self.h.location())
    }

    fn data_codecs(&self, item: usize, codec: Codec) -> Vec<Value> {
        super::metadata::data_codecs(self.opts.profile, codec, self.opts.compression_level, item)
    }

    /// Grid (outer) shape and codecs of a raster: the reference's measurement encoding, or the
    /// geozarr sharding policy (inner = aligned(dim, 256), shards ≈ 4096 px).
    fn raster_layout(&self, shape: &[u64], item: usize, codec: Codec) -> (Vec<u64>, Vec<Value>) {
        let n = shape.len();
        let chunks = match self.choices().encodings {
            Encodings::Reference => measurement_chunks(shape, self.opts.spatial_chunk),
            Encodings::Policy => {
                let (c, _) =
                    geozarr_raster_encoding(shape[n - 2], shape[n - 1], self.opts.shard_size);
                let mut v = vec![1; n - 2];
                v.extend([c, c]);
                v
            }
        };
        let inner = self.data_codecs(item, codec);
        if !(self.opts.enable_sharding && n >= 2) {
            return (chunks, inner);
        }
        let shards = match self.choices().encodings {
            Encodings::Reference => calculate_simple_shard_dimensions(shape, &chunks),
            Encodings::Policy => {
                let (_, [sy, sx]) =
                    geozarr_raster_encoding(shape[n - 2], shape[n - 1], self.opts.shard_size);
                let mut v = vec![1; n - 2];
                v.extend([sy, sx]);
                v
            }
        };
        (shards, vec![sharding_codec(&chunks, inner)])
    }

    /// A coordinate array: single chunk, `bytes` only.
    fn coordinate(&self, path: &str, src: &Node) -> Result<OutArray> {
        whole_coordinate(
            path,
            src,
            sanitize_attrs(&src.attributes, false),
            &self.at(&src.path),
        )
    }

    /// A non-measurement data variable with the "original" encoding (source chunks and dtype).
    /// `raster` = `(height, width)` of the group's pixel grid: the geozarr profile then applies
    /// its sharding policy to arrays on that grid instead of inheriting the source chunking (B-15).
    fn original(
        &self,
        path: &str,
        src: &Node,
        grid_mapping: bool,
        raster: Option<(u64, u64)>,
    ) -> Result<OutArray> {
        let m =
            array_meta(src).ok_or_else(|| Error::invalid(self.at(&src.path), "not an array"))?;
        let (dt, item) = v3_data_type(&m.dtype, &self.at(&src.path))?;
        let mut attrs = sanitize_attrs(&src.attributes, false);
        let fill_attr = src
            .attributes
            .get("_FillValue")
            .and_then(crate::zarr_ext::fill_attribute);
        let src_fill = fill_attr.as_ref().or(match &m.fill_value {
            Value::Null => None,
            v => Some(v),
        });
        if is_float(&dt) {
            attrs.insert("_FillValue".into(), json!(NAN_FILL_B64));
        }
        if grid_mapping {
            attrs.insert("grid_mapping".into(), json!("spatial_ref"));
        }
        let fill = if is_float(&dt) {
            match src_fill {
                Some(Value::String(s)) => json!(s),
                Some(v) if v.as_f64().is_some_and(f64::is_finite) => v.clone(),
                _ => json!("NaN"),
            }
        } else {
            fill_value(&dt, src_fill)
        };
        let n = m.shape.len();
        let on_grid = self.choices().encodings == Encodings::Policy
            && n >= 2
            && raster.is_some_and(|(h, w)| m.shape[n - 2] == h && m.shape[n - 1] == w);
        let (grid, codecs) = if on_grid {
            self.raster_layout(&m.shape, item, self.opts.codec)
        } else {
            (m.chunks.clone(), self.data_codecs(item, self.opts.codec))
        };
        Ok(OutArray {
            path: path.to_string(),
            doc: array_doc(&m.shape, dt, &grid, fill, codecs, attrs, dims(m)),
            source: Source::Copy {
                from: src.path.to_string(),
            },
        })
    }

    /// A reflectance band decoded to float32 with the measurement encoding.
    fn band(
        &self,
        path: &str,
        shape: &[u64],
        attrs_src: &Node,
        source: Source,
        grid: Option<&EdgeGrid>,
    ) -> OutArray {
        let mut attrs = sanitize_attrs(&attrs_src.attributes, true);
        let keep = self.opts.keep_scale_offset;
        let (source, data_type, item, fill) = if keep {
            // Packed uint16 with CF attributes: `_FillValue` 0, scale_factor, add_offset.
            let cf = CfEncoding::from_attributes(&attrs_src.attributes, &json!(0));
            attrs.insert("_FillValue".into(), json!(0));
            attrs.insert("scale_factor".into(), json!(cf.scale_factor));
            attrs.insert("add_offset".into(), json!(cf.add_offset));
            let cf = CfEncoding {
                fill: Some(0.0),
                ..cf
            };
            (
                Source::Pack {
                    inner: Box::new(source),
                    cf,
                },
                json!("uint16"),
                2,
                json!(0),
            )
        } else {
            attrs.remove("scale_factor");
            attrs.remove("add_offset");
            attrs.insert("_FillValue".into(), json!(NAN_FILL_B64));
            (source, json!("float32"), 4, json!("NaN"))
        };
        if self.crs.is_some() {
            attrs.insert("grid_mapping".into(), json!("spatial_ref"));
        }
        if self.choices().georeferencing == Georeferencing::EveryGrid
            && shape.len() >= 2
            && let Some(g) = grid
        {
            rewrite_proj(&mut attrs, shape, g);
        }
        let codec = if keep {
            self.opts.codec.for_packed_reflectance()
        } else {
            self.opts.codec
        };
        let (grid, codecs) = if shape.len() >= 2 {
            self.raster_layout(shape, item, codec)
        } else {
            (
                measurement_chunks(shape, self.opts.spatial_chunk),
                self.data_codecs(item, codec),
            )
        };

        // v2 sources name their dimensions in `_ARRAY_DIMENSIONS`, v3 ones in `dimension_names`.
        let dims = array_dimensions(&attrs_src.attributes)
            .or_else(|| array_meta(attrs_src).and_then(dims));
        OutArray {
            path: path.to_string(),
            doc: array_doc(shape, data_type, &grid, fill, codecs, attrs, dims),
            source,
        }
    }

    fn spatial_ref(
        &self,
        group: &str,
        zstd: bool,
        geotransform: Option<String>,
    ) -> Result<Option<OutArray>> {
        let Some(crs) = &self.crs else {
            return Ok(None);
        };
        let mut attrs = match crs {
            Crs::Epsg(code) => spatial_ref_attrs(*code)?,
            Crs::Wkt(w) => {
                let mut m = Map::new();
                m.insert("crs_wkt".into(), json!(w));
                m.insert("spatial_ref".into(), json!(w));
                m
            }
        };
        if let Some(gt) = geotransform {
            attrs.insert("GeoTransform".into(), json!(gt));
        }
        let mut codecs = vec![bytes_codec(8)];
        if zstd {
            codecs.push(json!({"name": "zstd", "configuration": {"level": 0, "checksum": false}}));
        }
        Ok(Some(OutArray {
            path: format!("{group}/spatial_ref"),
            doc: array_doc(&[], json!("int64"), &[], json!(0), codecs, attrs, None),
            source: Source::Zero,
        }))
    }

    /// Geo attributes of a measurement/quality leaf (§2B.8).
    fn geo_attrs(
        &self,
        x: &[f64],
        y: &[f64],
        shape: Option<[u64; 2]>,
        cached: Option<[f64; 6]>,
    ) -> Map<String, Value> {
        let mut a = Map::new();
        let Some(crs) = &self.crs else { return a };
        a.insert("grid_mapping".into(), json!("spatial_ref"));
        a.insert("spatial:dimensions".into(), json!(["y", "x"]));
        a.insert("spatial:registration".into(), json!("pixel"));
        match (self.choices().transforms, EdgeGrid::from_centres(x, y)) {
            // Exact georeferencing: edge transform and edge bbox (B-2).
            (Transforms::FromEdges, Some(g)) => {
                a.insert(
                    "spatial:bbox".into(),
                    json!(g.bbox(y.len() as u64, x.len() as u64)),
                );
                a.insert("spatial:transform".into(), json!(g.transform()));
            }
            _ => {
                a.insert("spatial:bbox".into(), json!(centre_bbox(x, y)));
                if let Some(t) = preferred_transform(x, y, cached)
                    && t.iter().any(|v| *v != 0.0)
                {
                    a.insert("spatial:transform".into(), json!(t));
                }
            }
        }
        if let Some(s) = shape {
            a.insert("spatial:shape".into(), json!(s));
        }
        insert_crs(&mut a, crs);
        a.insert(
            "zarr_conventions".into(),
            json!([
                Convention::Spatial.declaration_json(self.opts.profile),
                Convention::Proj.declaration_json(self.opts.profile)
            ]),
        );
        a
    }
}

/// Geozarr profile: pyramids of the non-reflectance raster families (`/quality/mask`,
/// `/conditions/mask/l2a_classification`, …) with type-correct kernels. Derived levels follow the
/// reflectance chain (r120m, r360m, r720m) and are reduced directly from the family's coarsest
/// native level (r60m; for a family without r60m, r60m itself is derived from r20m first), so a
/// mode is a mode of pixels, not of modes. The family group gets its own `multiscales`.
fn plan_raster_pyramids(ctx: &Ctx<'_>, h: &Hierarchy, plan: &mut OutputPlan) -> Result<()> {
    let families = [
        "/quality/mask",
        "/quality/probability",
        "/quality/atmosphere",
        "/conditions/mask/detector_footprint",
        "/conditions/mask/l1c_classification",
        "/conditions/mask/l2a_classification",
    ];
    let Some(crs) = ctx.crs.clone() else {
        return Ok(());
    };
    for fam in families {
        plan_raster_family(ctx, h, plan, fam, &crs)?;
    }
    Ok(())
}

/// One raster family's derived levels and `multiscales` (see [`plan_raster_pyramids`]).
fn plan_raster_family(
    ctx: &Ctx<'_>,
    h: &Hierarchy,
    plan: &mut OutputPlan,
    fam: &str,
    crs: &Crs,
) -> Result<()> {
    let natives: Vec<&str> = ["r10m", "r20m", "r60m"]
        .into_iter()
        .filter(|r| plan.groups.contains_key(&format!("{fam}/{r}")))
        .collect();
    let Some(&coarsest) = natives.last() else {
        return Ok(());
    };
    let base_path = format!("{fam}/{coarsest}");
    let (Ok(x), Ok(y)) = (
        read_f64(h, &format!("{base_path}/x")),
        read_f64(h, &format!("{base_path}/y")),
    ) else {
        return Ok(());
    };
    let Some(base_grid) = EdgeGrid::from_centres(&x, &y) else {
        return Ok(());
    };
    // (level name, factor relative to the coarsest native level)
    let coarsest_m = u64::from(crate::product::resolution_meters(coarsest).unwrap_or(60));
    let derived: Vec<(&str, u64)> = ["r60m", "r120m", "r360m", "r720m"]
        .into_iter()
        .filter_map(|n| {
            let m = u64::from(crate::product::resolution_meters(n)?);
            (m > coarsest_m && m % coarsest_m == 0).then_some((n, m / coarsest_m))
        })
        .collect();
    let data: Vec<(String, crate::hierarchy::ArrayMeta)> = h
        .children(&base_path)
        .into_iter()
        .filter_map(|c| match &c.kind {
            NodeKind::Array(m) if m.shape.len() == 2 && !matches!(name_of(&c.path), "x" | "y") => {
                Some((c.path.to_string(), (**m).clone()))
            }
            _ => None,
        })
        .collect();
    if data.is_empty() {
        return Ok(());
    }
    let mut layout = native_layout(plan, fam, &natives);
    let mut parent = (coarsest, 1u64);
    for (name, factor) in derived {
        let path = format!("{fam}/{name}");
        let grid = base_grid.coarser(factor);
        let (bh, bw) = (data[0].1.shape[0], data[0].1.shape[1]);
        let (oh, ow) = (bh.div_ceil(factor), bw.div_ceil(factor));
        let method = reduced_arrays(ctx, (fam, &path), &data, factor, &grid, (oh, ow), plan)?;
        plan.arrays
            .push(computed_coordinate(&path, "x", grid.centres(ow, true)));
        plan.arrays
            .push(computed_coordinate(&path, "y", grid.centres(oh, false)));
        if let Some(sr) = ctx.spatial_ref(&path, false, None)? {
            plan.arrays.push(sr);
        }
        let xs = grid.centres(ow, true);
        let ys = grid.centres(oh, false);
        plan.groups
            .insert(path.clone(), ctx.geo_attrs(&xs, &ys, Some([oh, ow]), None));
        let mut e = Map::new();
        e.insert("asset".into(), json!(name));
        e.insert("derived_from".into(), json!(parent.0));
        let scale = (factor / parent.1) as f64;
        e.insert(
            "transform".into(),
            json!({"scale": [scale, scale], "translation": [0.0, 0.0]}),
        );
        if let Some(k) = method {
            e.insert("resampling_method".into(), json!(k.resampling_method()));
        }
        e.insert("spatial:shape".into(), json!([oh, ow]));
        e.insert("spatial:transform".into(), json!(grid.transform()));
        layout.push(Value::Object(e));
        parent = (name, factor);
    }
    if layout.len() < 2 {
        return Ok(());
    }
    let mut attrs = Map::new();
    attrs.insert(
        "zarr_conventions".into(),
        json!([
            Convention::Multiscales.declaration_json(ctx.opts.profile),
            Convention::Spatial.declaration_json(ctx.opts.profile),
            Convention::Proj.declaration_json(ctx.opts.profile)
        ]),
    );
    attrs.insert("multiscales".into(), json!({"layout": layout}));
    attrs.insert("spatial:dimensions".into(), json!(["y", "x"]));
    let first = &plan.groups[&format!("{fam}/{}", natives[0])];
    if let Some(b) = first.get("spatial:bbox") {
        attrs.insert("spatial:bbox".into(), b.clone());
    }
    attrs.insert("spatial:registration".into(), json!("pixel"));
    insert_crs(&mut attrs, crs);
    plan.groups
        .entry(fam.to_string())
        .or_default()
        .extend(attrs);
    Ok(())
}

/// The `multiscales` layout entries of a family's native levels.
fn native_layout(plan: &OutputPlan, fam: &str, natives: &[&str]) -> Vec<Value> {
    let mut layout: Vec<Value> = Vec::new();
    let mut prev: Option<(&str, u64)> = None;
    for n in natives {
        let g = &plan.groups[&format!("{fam}/{n}")];
        let mut e = Map::new();
        e.insert("asset".into(), json!(n));
        if let Some(s) = g.get("spatial:shape") {
            e.insert("spatial:shape".into(), s.clone());
        }
        if let Some(t) = g.get("spatial:transform") {
            e.insert("spatial:transform".into(), t.clone());
        }
        if let Some((p, pm)) = prev {
            let m = u64::from(crate::product::resolution_meters(n).unwrap_or(10));
            e.insert("derived_from".into(), json!(p));
            let f = m as f64 / pm as f64;
            e.insert(
                "transform".into(),
                json!({"scale": [f, f], "translation": [0.0, 0.0]}),
            );
        }
        prev = Some((
            n,
            u64::from(crate::product::resolution_meters(n).unwrap_or(10)),
        ));
        layout.push(Value::Object(e));
    }
    layout
}

/// The arrays of one derived level of a raster family, reduced from the coarsest native level
/// with each variable's kernel; the family's kernel (of its first variable) is returned.
fn reduced_arrays(
    ctx: &Ctx<'_>,
    (fam, path): (&str, &str),
    data: &[(String, crate::hierarchy::ArrayMeta)],
    factor: u64,
    grid: &EdgeGrid,
    (oh, ow): (u64, u64),
    plan: &mut OutputPlan,
) -> Result<Option<Kernel>> {
    let h = ctx.h;
    let mut method = None;
    for (src, m) in data {
        let var = name_of(src);
        let kernel = Kernel::for_variable(fam, var);
        method.get_or_insert(kernel);
        let (dt, item) = v3_data_type(&m.dtype, &ctx.at(src))?;
        let node = h
            .node(src)
            .ok_or_else(|| Error::invalid(ctx.at(src), "vanished"))?;
        let mut attrs = sanitize_attrs(&node.attributes, false);
        attrs.insert("grid_mapping".into(), json!("spatial_ref"));
        rewrite_proj(&mut attrs, &[oh, ow], grid);
        let (chunks, codecs) = ctx.raster_layout(&[oh, ow], item, ctx.opts.codec);
        let fill = fill_value(
            &dt,
            match &m.fill_value {
                Value::Null => None,
                v => Some(v),
            },
        );
        plan.arrays.push(OutArray {
            path: format!("{path}/{var}"),
            doc: array_doc(
                &[oh, ow],
                dt,
                &chunks,
                fill,
                codecs,
                attrs,
                m.dimension_names.clone(),
            ),
            source: Source::Reduce {
                from: src.clone(),
                factor,
                kernel,
            },
        });
    }
    Ok(method)
}

/// The `[height, width]` (last two dimensions) of a shape with at least two.
fn yx(shape: &[u64]) -> Option<[u64; 2]> {
    let n = shape.len();
    (n >= 2).then(|| [shape[n - 2], shape[n - 1]])
}

fn is_measurement_group(path: &str) -> bool {
    let last = name_of(path);
    path.contains("/measurements/") && last.starts_with('r') && last.ends_with('m')
}

fn res_number(group: &str) -> Option<u64> {
    name_of(group)
        .trim_start_matches('r')
        .trim_end_matches('m')
        .parse()
        .ok()
}

/// Mean of each block of `factor` coordinates, trailing values dropped (reference) or kept.
fn coarsen_coords(v: &[f64], factor: u64, profile: Profile) -> Vec<f64> {
    let f = factor as usize;
    let n = derived_edge(v.len() as u64, factor, profile) as usize;
    (0..n)
        .map(|i| {
            let block = &v[i * f..((i + 1) * f).min(v.len())];
            block.iter().sum::<f64>() / block.len() as f64
        })
        .collect()
}

/// Plan pipeline B for an opened Sentinel-2 product.
pub fn plan_s2(h: &Hierarchy, crs: Option<Crs>, opts: &S2Options) -> Result<OutputPlan> {
    let ctx = Ctx { h, opts, crs };
    let c = opts.profile.choices();
    let mut plan = OutputPlan::default();
    let groups: Vec<&Node> = h
        .nodes()
        .filter(|n| n.path != "/" && matches!(n.kind, NodeKind::Group))
        .collect();
    let refl = "/measurements/reflectance";
    if h.node(&format!("{refl}/r60m")).is_none() {
        return Err(Error::Missing {
            path: format!("{}{refl}/r60m", h.location()),
            what: "resolution group r60m (the pyramid is built from it)".into(),
        });
    }
    let mut levels = Levels::default();
    for g in groups {
        plan_leaf_group(&ctx, g, &mut plan, &mut levels)?;
    }
    plan_derived_levels(&ctx, &mut plan, &mut levels)?;
    let refl_attrs = reflectance_multiscales(&ctx, &plan, &levels);
    plan.groups.insert(refl.to_string(), refl_attrs);

    if c.resampling == Resampling::ByKind && ctx.crs.is_some() {
        plan_raster_pyramids(&ctx, h, &mut plan)?;
    }

    // Every ancestor group exists (empty attributes), the root included.
    let paths: Vec<String> = plan.groups.keys().cloned().collect();
    for p in paths {
        let mut cur = parent_of(&p);
        loop {
            plan.groups.entry(cur.clone()).or_default();
            if cur == "/" {
                break;
            }
            cur = parent_of(&cur);
        }
    }
    plan.groups.entry("/".into()).or_default();
    if opts.finalise_root {
        finalise_root(&ctx, &mut plan, &levels)?;
    }
    if c.client_metadata {
        cf_coordinates(&mut plan);
    }
    Ok(plan)
}

/// What the reflectance levels planned so far hold, by level name (`r10m`, …): coordinates, bands
/// and edge grids, for the derived levels and the multiscales layout.
#[derive(Default)]
struct Levels {
    coords: BTreeMap<String, (Vec<f64>, Vec<f64>)>,
    bands: BTreeMap<String, Vec<(String, OutArray)>>,
    grids: BTreeMap<String, EdgeGrid>,
}

const REFLECTANCE: &str = "/measurements/reflectance";

/// One leaf group of the input (a group without sub-groups): its arrays and attributes.
fn plan_leaf_group(
    ctx: &Ctx<'_>,
    g: &Node,
    plan: &mut OutputPlan,
    levels: &mut Levels,
) -> Result<()> {
    let (h, c) = (ctx.h, ctx.choices());
    let path = g.path.as_str();
    if path.starts_with("/quality/l1c_quicklook") || path.starts_with("/quality/l2a_quicklook") {
        return Ok(());
    }
    let children = h.children(path);
    if children.iter().any(|c| matches!(c.kind, NodeKind::Group)) {
        return Ok(());
    }
    let arrays: Vec<&Node> = children.into_iter().collect();
    let coords = coordinate_names(&arrays);
    let data: Vec<&Node> = arrays
        .iter()
        .copied()
        .filter(|a| !coords.iter().any(|c| c == name_of(&a.path)))
        .collect();
    if data.is_empty() {
        return Ok(());
    }
    // The reference georeferences measurements and quality only; the geozarr profile every
    // raster group on the tile grid, /conditions/mask included (B-11).
    let geo = path.contains("/measurements/")
        || path.contains("/quality/")
        || (c.georeferencing == Georeferencing::EveryGrid && path.starts_with("/conditions/mask/"));
    let (x, y) = match (h.node(&format!("{path}/x")), h.node(&format!("{path}/y"))) {
        (Some(_), Some(_)) if geo => (
            finite_coordinate(h, &format!("{path}/x"))?,
            finite_coordinate(h, &format!("{path}/y"))?,
        ),
        _ => (vec![], vec![]),
    };
    let grid = EdgeGrid::from_centres(&x, &y);
    let raster = (!x.is_empty()).then_some((y.len() as u64, x.len() as u64));
    let mut written: Vec<OutArray> = Vec::new();
    if is_measurement_group(path) {
        let mut bands = measurement_bands(ctx, path, &data, grid.as_ref())?;
        bands.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, b) in &bands {
            written.push(b.clone());
        }
        levels.bands.insert(name_of(path).to_string(), bands);
        levels
            .coords
            .insert(name_of(path).to_string(), (x.clone(), y.clone()));
        if let Some(g) = grid {
            levels.grids.insert(name_of(path).to_string(), g);
        }
    } else {
        for a in &data {
            written.push(ctx.original(&a.path, a, geo && ctx.crs.is_some(), raster)?);
        }
    }
    for a in &arrays {
        if coords.iter().any(|c| c == name_of(&a.path)) {
            written.push(ctx.coordinate(&a.path, a)?);
        }
    }
    // The group's own attributes are kept (e.g. the GRIB attributes of meteorology groups).
    let mut attrs = g.attributes.clone();
    georeference_group(
        ctx,
        path,
        (geo, &x, &y),
        (&data, &coords),
        &mut attrs,
        &mut written,
    )?;
    plan.groups.insert(path.to_string(), attrs);
    plan.arrays.extend(written);
    Ok(())
}

/// The reflectance bands of a measurement group, decoded, with b08 injected into r20m / r60m.
fn measurement_bands(
    ctx: &Ctx<'_>,
    path: &str,
    data: &[&Node],
    grid: Option<&EdgeGrid>,
) -> Result<Vec<(String, OutArray)>> {
    let (h, opts, refl) = (ctx.h, ctx.opts, REFLECTANCE);
    let mut bands: Vec<(String, OutArray)> = Vec::new();
    for a in data {
        let m = array_meta(a).ok_or_else(|| Error::invalid(ctx.at(&a.path), "not an array"))?;
        let cf = CfEncoding::from_attributes(&a.attributes, &m.fill_value);
        let out = ctx.band(
            &a.path,
            &m.shape,
            a,
            Source::Decode {
                from: a.path.to_string(),
                cf,
            },
            grid,
        );
        bands.push((name_of(&a.path).to_string(), out));
    }
    // b08 injection into r20m / r60m.
    let b08_src = format!("{refl}/r10m/b08");
    if path.starts_with(&format!("{refl}/"))
        && res_number(path).is_some_and(|r| r > 10)
        && !bands.iter().any(|(n, _)| n == "b08")
        && let Some(src) = h.node(&b08_src)
        && let Some(sm) = array_meta(src)
    {
        let factor = res_number(path).unwrap_or(10) / 10;
        let shape: Vec<u64> = sm
            .shape
            .iter()
            .map(|&d| derived_edge(d, factor, opts.profile))
            .collect();
        let cf = CfEncoding::from_attributes(&src.attributes, &sm.fill_value);
        let out = ctx.band(
            &format!("{path}/b08"),
            &shape,
            src,
            Source::InjectMean {
                from: b08_src.clone(),
                cf,
                factor,
            },
            grid,
        );
        bands.push(("b08".into(), out));
    }
    Ok(bands)
}

/// The CRS treatment of a leaf group: `spatial:`/`proj:` attributes and a grid-mapping variable
/// for georeferenced groups, CF georeferencing for off-grid rasters with their own x/y.
fn georeference_group(
    ctx: &Ctx<'_>,
    path: &str,
    (geo, x, y): (bool, &[f64], &[f64]),
    (data, coords): (&[&Node], &[String]),
    attrs: &mut Map<String, Value>,
    written: &mut Vec<OutArray>,
) -> Result<()> {
    let (h, c) = (ctx.h, ctx.choices());
    if geo {
        let shape = data
            .first()
            .and_then(|d| array_meta(d))
            .and_then(|m| yx(&m.shape));
        attrs.extend(ctx.geo_attrs(x, y, shape, None));
        if let Some(sr) = ctx.spatial_ref(path, c.encodings == Encodings::Reference, None)? {
            written.push(sr);
        }
    } else if c.georeferencing == Georeferencing::EveryGrid
        && coords.iter().any(|c| c == "x")
        && coords.iter().any(|c| c == "y")
        && ctx.crs.is_some()
    {
        // Off-grid rasters with their own x/y (the 5 km angle grids of /conditions/geometry):
        // CF georeferencing — a grid mapping with the exact GeoTransform, named by every
        // variable on y/x (B-11). No group `spatial:` (not every variable is on the grid).
        let (gx, gy) = (
            read_f64(h, &format!("{path}/x"))?,
            read_f64(h, &format!("{path}/y"))?,
        );
        if let Some(eg) = EdgeGrid::from_centres(&gx, &gy) {
            for w in written.iter_mut() {
                let on_yx = w.doc["dimension_names"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|v| v == "x") && d.iter().any(|v| v == "y"));
                if on_yx && let Some(a) = w.doc["attributes"].as_object_mut() {
                    a.insert("grid_mapping".into(), json!("spatial_ref"));
                }
            }
            attrs.insert("grid_mapping".into(), json!("spatial_ref"));
            if let Some(sr) =
                ctx.spatial_ref(path, false, Some(geotransform_string(&eg.transform())))?
            {
                written.push(sr);
            }
        }
    }
    Ok(())
}

/// Derived levels r120m / r360m / r720m from the level before.
fn plan_derived_levels(ctx: &Ctx<'_>, plan: &mut OutputPlan, levels: &mut Levels) -> Result<()> {
    let (opts, c, refl) = (ctx.opts, ctx.choices(), REFLECTANCE);
    let mut stale_chain: Option<[f64; 6]> = None;
    for level in S2_LEVELS.iter() {
        let LevelSource::Derived { from, factor } = level.source else {
            continue;
        };
        let Some(src_bands) = levels.bands.get(from).cloned() else {
            continue;
        };
        let Some((sx, sy)) = levels.coords.get(from).cloned() else {
            continue;
        };
        let path = format!("{refl}/{}", level.name);
        // Reference: block means of the coordinates (trimmed); geozarr: the centres of the
        // level's own edge grid (the partial last block included).
        let level_grid = levels.grids.get(from).map(|g| g.coarser(factor));
        let (x, y) = match (c.transforms, level_grid) {
            (Transforms::FromEdges, Some(g)) => (
                g.centres(derived_edge(sx.len() as u64, factor, opts.profile), true),
                g.centres(derived_edge(sy.len() as u64, factor, opts.profile), false),
            ),
            _ => (
                coarsen_coords(&sx, factor, opts.profile),
                coarsen_coords(&sy, factor, opts.profile),
            ),
        };
        if let Some(g) = level_grid {
            levels.grids.insert(level.name.to_string(), g);
        }

        let mut bands = Vec::new();
        for (name, src) in &src_bands {
            let shape: Vec<u64> = doc_shape(&src.doc)
                .into_iter()
                .map(|d| derived_edge(d, factor, opts.profile))
                .collect();
            let mut out = src.clone();
            out.path = format!("{path}/{name}");
            let attrs_node = Node {
                path: crate::node_path::NodePath::from_clean(&out.path),
                attributes: src.doc["attributes"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                kind: NodeKind::Group,
            };
            let mut b = ctx.band(
                &out.path,
                &shape,
                &attrs_node,
                Source::Coarsen {
                    from: src.path.clone(),
                    factor,
                },
                level_grid.as_ref(),
            );

            b.doc["dimension_names"] = src.doc["dimension_names"].clone();
            bands.push((name.clone(), b));
        }
        let shape = bands.first().and_then(|(_, b)| yx(&doc_shape(&b.doc)));
        // The reference's coarsened spatial_ref carries the last native level's (r60m) transform
        // as a stale GeoTransform down the whole chain (B-2b); it competes as the cached "rio"
        // transform.
        if stale_chain.is_none() && c.transforms == Transforms::FromCentres {
            stale_chain =
                preferred_transform(&sx, &sy, None).filter(|t| t.iter().any(|v| *v != 0.0));
        }
        let stale = stale_chain;
        plan.groups
            .insert(path.clone(), ctx.geo_attrs(&x, &y, shape, stale));
        for (_, b) in &bands {
            plan.arrays.push(b.clone());
        }
        plan.arrays.push(computed_coordinate(&path, "x", x.clone()));
        plan.arrays.push(computed_coordinate(&path, "y", y.clone()));
        if let Some(sr) = ctx.spatial_ref(&path, false, stale.map(|t| geotransform_string(&t)))? {
            plan.arrays.push(sr);
        }
        levels.bands.insert(level.name.to_string(), bands);
        levels.coords.insert(level.name.to_string(), (x, y));
    }

    Ok(())
}

/// `multiscales` on /measurements/reflectance (§2B.9).
fn reflectance_multiscales(
    ctx: &Ctx<'_>,
    plan: &OutputPlan,
    levels: &Levels,
) -> Map<String, Value> {
    let (opts, c, refl) = (ctx.opts, ctx.choices(), REFLECTANCE);
    let (level_bands, level_coords, level_grids) = (&levels.bands, &levels.coords, &levels.grids);
    let present: Vec<&str> = S2_LEVELS
        .iter()
        .map(|l| l.name)
        .filter(|n| level_bands.contains_key(*n))
        .collect();
    let mut refl_attrs = Map::new();
    if present.len() >= 2 && ctx.crs.is_some() {
        let shape_of = |n: &str| -> Option<[u64; 2]> {
            let (_, b) = level_bands.get(n)?.first()?;
            yx(&doc_shape(&b.doc))
        };
        let base = present[0];
        let mut layout = Vec::new();
        for (i, name) in present.iter().enumerate() {
            let mut e = Map::new();
            e.insert("asset".into(), json!(name));
            let (x, y) = &level_coords[*name];
            if i > 0 {
                let parent = match S2_LEVELS.iter().find(|l| l.name == *name).map(|l| l.source) {
                    Some(LevelSource::Derived { from, .. }) => from,
                    _ => base,
                };
                let factor = match S2_LEVELS.iter().find(|l| l.name == *name).map(|l| l.source) {
                    Some(LevelSource::Derived { factor, .. }) => factor,
                    _ => u64::from(
                        S2_LEVELS
                            .iter()
                            .find(|l| l.name == *name)
                            .map_or(10, |l| l.meters)
                            / S2_LEVELS
                                .iter()
                                .find(|l| l.name == parent)
                                .map_or(10, |l| l.meters),
                    ),
                };
                let (ps, s) = (shape_of(parent), shape_of(name));
                let scale = match (ps, s) {
                    (Some(p), Some(s)) => {
                        let r = derived_scale(p[1], s[1], factor, opts.profile);
                        let rh = derived_scale(p[0], s[0], factor, opts.profile);
                        r.max(rh)
                    }
                    _ => factor as f64,
                };
                e.insert("derived_from".into(), json!(parent));
                e.insert(
                    "transform".into(),
                    json!({"scale": [scale, scale], "translation": [0.0, 0.0]}),
                );
            }
            if let Some(s) = shape_of(name) {
                e.insert("spatial:shape".into(), json!(s));
            }
            let cached = plan.groups.get(&format!("{refl}/{name}")).and_then(|a| {
                a.get("spatial:transform")
                    .and_then(Value::as_array)
                    .and_then(|t| {
                        let v: Vec<f64> = t.iter().filter_map(Value::as_f64).collect();
                        <[f64; 6]>::try_from(v).ok()
                    })
            });
            if let Some(t) = cached.or_else(|| preferred_transform(x, y, None))
                && t.iter().any(|v| *v != 0.0)
            {
                e.insert("spatial:transform".into(), json!(t));
            }
            layout.push(Value::Object(e));
        }
        refl_attrs.insert(
            "zarr_conventions".into(),
            json!([
                Convention::Multiscales.declaration_json(opts.profile),
                Convention::Spatial.declaration_json(opts.profile),
                Convention::Proj.declaration_json(opts.profile)
            ]),
        );
        refl_attrs.insert(
            "multiscales".into(),
            json!({"layout": layout, "resampling_method": "average"}),
        );
        refl_attrs.insert("spatial:dimensions".into(), json!(["y", "x"]));
        let (bx, by) = &level_coords[base];
        let bbox = match (c.transforms, level_grids.get(base)) {
            (Transforms::FromEdges, Some(g)) => g.bbox(by.len() as u64, bx.len() as u64),
            _ => centre_bbox(bx, by),
        };
        refl_attrs.insert("spatial:bbox".into(), json!(bbox));
        refl_attrs.insert("spatial:registration".into(), json!("pixel"));
        if let Some(crs) = &ctx.crs {
            insert_crs(&mut refl_attrs, crs);
        }
    }
    refl_attrs
}

/// The store root: its bbox (densified edges or the union of the groups'), conventions, STAC,
/// and which groups get consolidated metadata.
fn finalise_root(ctx: &Ctx<'_>, plan: &mut OutputPlan, levels: &Levels) -> Result<()> {
    let (h, opts, c, refl) = (ctx.h, ctx.opts, ctx.choices(), REFLECTANCE);
    let (level_coords, level_grids) = (&levels.coords, &levels.grids);
    let root_bbox = match (
        c.transforms,
        &ctx.crs,
        level_grids.get("r10m"),
        level_coords.get("r10m"),
    ) {
        // The geozarr profile: densified edges of the native extent (B-10).
        (Transforms::FromEdges, Some(crs), Some(g), Some((x, y))) => {
            Some(crate::geo::ToLonLat::new(crs)?.bbox(g.bbox(y.len() as u64, x.len() as u64), 21)?)
        }
        _ => store_root_bbox(&plan.groups)?,
    };
    if let Some(bbox) = root_bbox {
        let root = plan.groups.entry("/".into()).or_default();
        root.insert("spatial:bbox".into(), json!(bbox));
        root.insert("proj:code".into(), json!("EPSG:4326"));
        if c.client_metadata {
            root.insert(
                "zarr_conventions".into(),
                json!([
                    Convention::Spatial.declaration_json(opts.profile),
                    Convention::Proj.declaration_json(opts.profile)
                ]),
            );
        }
    } else {
        tracing::warn!("no spatial:bbox anywhere: the store root gets no bbox");
    }
    plan.consolidate = vec![refl.to_string(), "/".to_string()];
    if c.client_metadata {
        stac_root(h, plan, &ctx.crs);
        // Every multiscale group carries its own consolidated metadata (OpenLayers'
        // `ol/source/GeoZarr` and titiler-eopf open a group, not the store root).
        let families: Vec<String> = plan
            .groups
            .iter()
            .filter(|(g, a)| a.contains_key("multiscales") && g.as_str() != refl)
            .map(|(g, _)| g.clone())
            .collect();
        plan.consolidate.extend(families);
    }
    Ok(())
}

/// A pixel-centre coordinate, whose values must all be finite: N0512 coordinates are float32
/// with a NaN fill, so a product whose coordinate chunks are missing reads as NaN.
fn finite_coordinate(h: &Hierarchy, path: &str) -> Result<Vec<f64>> {
    let v = read_f64(h, path)?;
    if let Some(i) = v.iter().position(|c| !c.is_finite()) {
        return Err(Error::invalid(
            format!("{}{path}", h.location()),
            format!(
                "coordinate value {i} is {} (missing chunk or fill value): pixel-centre coordinates \
                 must be finite",
                v[i]
            ),
        ));
    }
    Ok(v)
}

/// Geozarr profile, store root: the source's `stac_discovery`, `other_metadata` and
/// `processing_history` (STAC ingestion reads them from the root, as from eopf-geozarr 0.12's
/// output), a `reflectance` asset pointing at the multiscale group, and `spatial:dimensions`
/// (a node that declares `spatial` carries it: geozarr-toolkit).
fn stac_root(h: &Hierarchy, plan: &mut OutputPlan, crs: &Option<Crs>) {
    let refl = "/measurements/reflectance";
    let base_shape = plan
        .groups
        .get(&format!("{refl}/r10m"))
        .and_then(|g| g.get("spatial:shape"))
        .cloned();
    let has_refl = plan
        .groups
        .get(refl)
        .is_some_and(|g| g.contains_key("multiscales"));
    let root = plan.groups.entry("/".into()).or_default();
    for key in ["stac_discovery", "other_metadata", "processing_history"] {
        if let Some(v) = h.root().attributes.get(key) {
            root.insert(key.into(), v.clone());
        }
    }
    if root.contains_key("zarr_conventions") {
        root.insert("spatial:dimensions".into(), json!(["y", "x"]));
    }
    if !has_refl {
        return;
    }
    let mut asset = Map::new();
    asset.insert("gsd".into(), json!(10));
    asset.insert("href".into(), json!(refl));
    if let Some(c) = crs {
        asset.insert("proj:code".into(), json!(c.definition()));
    }
    if let Some(s) = base_shape {
        asset.insert("proj:shape".into(), s);
    }
    asset.insert("roles".into(), json!(["data", "reflectance"]));
    asset.insert("title".into(), json!("Surface Reflectance"));
    asset.insert(
        "type".into(),
        json!("application/vnd.zarr; version=3; profile=multiscales"),
    );
    let stac = root.entry("stac_discovery").or_insert_with(|| json!({}));
    if let Some(stac) = stac.as_object_mut() {
        let assets = stac.entry("assets").or_insert_with(|| json!({}));
        if let Some(a) = assets.as_object_mut() {
            a.insert("reflectance".into(), Value::Object(asset));
        }
    }
}

/// The reference's `write_store_root_bbox` (§2B.10): the union, in lon/lat, of every group's
/// `spatial:bbox`, transforming only the two corners `(xmin, ymin)` and `(xmax, ymax)`; groups
/// without `proj:code` count as lon/lat already.
pub fn store_root_bbox(groups: &BTreeMap<String, Map<String, Value>>) -> Result<Option<[f64; 4]>> {
    let mut out: Option<[f64; 4]> = None;
    let mut transformers: BTreeMap<String, crate::geo::ToLonLat> = BTreeMap::new();
    for (path, attrs) in groups {
        if path == "/" {
            continue;
        }
        let Some(b) = attrs.get("spatial:bbox").and_then(Value::as_array) else {
            continue;
        };
        let b: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
        if b.len() != 4 {
            continue;
        }
        let corners = match attrs.get("proj:code").and_then(Value::as_str) {
            Some(code) if code != "EPSG:4326" => {
                if !transformers.contains_key(code) {
                    let epsg = crate::product::parse_crs_code(&json!(code)).ok_or_else(|| {
                        Error::Crs(format!("{path}: cannot parse proj:code {code}"))
                    })?;
                    transformers.insert(
                        code.to_string(),
                        crate::geo::ToLonLat::new(&Crs::Epsg(epsg))?,
                    );
                }
                let t = &transformers[code];
                let (a, bb) = (t.point(b[0], b[1])?, t.point(b[2], b[3])?);
                [a.0, a.1, bb.0, bb.1]
            }
            _ => [b[0], b[1], b[2], b[3]],
        };
        let lo = [corners[0].min(corners[2]), corners[1].min(corners[3])];
        let hi = [corners[0].max(corners[2]), corners[1].max(corners[3])];
        out = Some(match out {
            None => [lo[0], lo[1], hi[0], hi[1]],
            Some(o) => [
                o[0].min(lo[0]),
                o[1].min(lo[1]),
                o[2].max(hi[0]),
                o[3].max(hi[1]),
            ],
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_transform_follows_the_tolerance_rule() {
        // r10m of T32TQM: the edge transform is accepted (5 m ≤ 7.0 m).
        let x: Vec<f64> = (0..3).map(|i| 699965.0 + 10.0 * f64::from(i)).collect();
        let y: Vec<f64> = (0..3).map(|i| 4700035.0 - 10.0 * f64::from(i)).collect();
        assert_eq!(
            preferred_transform(&x, &y, None),
            Some([10.0, 0.0, 699960.0, 0.0, -10.0, 4700040.0])
        );
        // r20m: 10 m > 7.0 m, the centre origin wins.
        let x: Vec<f64> = (0..3).map(|i| 699970.0 + 20.0 * f64::from(i)).collect();
        let y: Vec<f64> = (0..3).map(|i| 4700030.0 - 20.0 * f64::from(i)).collect();
        assert_eq!(
            preferred_transform(&x, &y, None),
            Some([20.0, 0.0, 699970.0, 0.0, -20.0, 4700030.0])
        );
        // T32TLQ r10m (x edge 300000): 5 m > 3.0 m → centre origin 300005.
        let x: Vec<f64> = (0..3).map(|i| 300005.0 + 10.0 * f64::from(i)).collect();
        let y: Vec<f64> = (0..3).map(|i| 5000035.0 - 10.0 * f64::from(i)).collect();
        assert_eq!(
            preferred_transform(&x, &y, None).map(|t| t[2]),
            Some(300005.0)
        );
        // Zero coordinates (the shipped fixtures) give an all-zero transform.
        assert_eq!(
            preferred_transform(&[0.0; 3], &[0.0; 3], None),
            Some([0.0; 6])
        );
    }

    #[test]
    fn root_bbox_unions_groups() {
        let mut g = BTreeMap::new();
        g.insert(
            "/a".to_string(),
            json!({"spatial:bbox": [0, 0, 1, 1]})
                .as_object()
                .cloned()
                .unwrap(),
        );
        g.insert(
            "/b".to_string(),
            json!({"spatial:bbox": [2, 2, 3, 3]})
                .as_object()
                .cloned()
                .unwrap(),
        );
        assert_eq!(store_root_bbox(&g).unwrap(), Some([0.0, 0.0, 3.0, 3.0]));
        // T32TLQ in UTM → about 7–8° E, 44–45° N.
        let mut g = BTreeMap::new();
        g.insert("/r".to_string(), json!({"spatial:bbox": [300005.0, 4890245.0, 409795.0, 5000035.0], "proj:code": "EPSG:32632"}).as_object().cloned().unwrap());
        let b = store_root_bbox(&g).unwrap().unwrap();
        assert!(
            b[0] > 6.4 && b[2] < 8.0 && b[1] > 44.0 && b[3] < 45.2,
            "{b:?}"
        );
        // Zero coordinates: the (0, 0) UTM 32N point.
        let mut g = BTreeMap::new();
        g.insert(
            "/r".to_string(),
            json!({"spatial:bbox": [0.0, 0.0, 0.0, 0.0], "proj:code": "EPSG:32632"})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let b = store_root_bbox(&g).unwrap().unwrap();
        assert!(
            (b[0] - 4.511256115612801).abs() < 1e-9 && b[1] == 0.0,
            "{b:?}"
        );
    }

    #[test]
    fn geotransform_strings_use_python_reprs() {
        assert_eq!(
            geotransform_string(&[60.0, 0.0, 699990.0, 0.0, -60.0, 4700010.0]),
            "699990.0 60.0 0.0 4700010.0 0.0 -60.0"
        );
        assert_eq!(py_float(0.002865161344583498), "0.002865161344583498");
    }

    #[test]
    fn coordinates_coarsen_to_block_centres() {
        let x: Vec<f64> = (0..5).map(|i| 699990.0 + 60.0 * f64::from(i)).collect();
        assert_eq!(
            coarsen_coords(&x, 2, Profile::Reference),
            [700020.0, 700140.0]
        );
        assert_eq!(
            coarsen_coords(&x, 2, Profile::Geozarr),
            [700020.0, 700140.0, 700230.0]
        );
    }
}
