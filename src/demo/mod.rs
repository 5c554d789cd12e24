//! The built-in demo product: a realistic synthetic Sentinel-2 scene written exactly like EOPF, in
//! today's Zarr v3 form (N0512: `bytes` + `zstd`, 6 × 6 chunks per raster, float32 coordinates,
//! consolidated metadata inline in the root `zarr.json`) or in last year's Zarr v2 form (N0511:
//! Blosc zstd bit-shuffle, consolidated `.zmetadata`).
//!
//! The layout is either built in ([`layouts::builtin_layout`], L2A or L1C, turned into its N0512
//! form by [`layouts::n0512_from_n0511`] for v3) or any pydantic-zarr `GroupSpec` JSON of either
//! version read at run time (`--layout`), written in its own version unless one is asked for. `size` is the r10m edge: r20m = size/2,
//! r60m = size/6, chunks scaled by the same ratio (rounded up, so the chunk count per side is kept).
//! The content is deterministic for a seed.

pub mod layouts;
pub mod scene;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde_json::{Value, json};
use zarrs::array::ArrayBytes;

use zarrs::filesystem::FilesystemStore;

use crate::error::{Error, Result, show};
use crate::layout::{ArraySpec, GroupSpec, LayoutNode, ZarrFormat};
use crate::product::{S2Level, parse_crs_code};
use layouts::{FULL, TILE_EXTENT, Tile};
use scene::{BANDS, Scene};

/// Options of `eopf-geozarr demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub level: S2Level,
    /// A pydantic-zarr GroupSpec JSON (v2 or v3) to use instead of the built-in layout.
    pub layout: Option<PathBuf>,
    /// Zarr version to write; `None`: the layout's own (v3 for the built-in layout).
    pub format: Option<ZarrFormat>,
    /// r10m edge in pixels (10980 = a full tile).
    pub size: u64,
    pub seed: u64,
    /// Write metadata and the `x`/`y` coordinates only (every other array reads as its fill
    /// value), so that the product stays georeferenced.
    pub empty: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            level: S2Level::L2A,
            layout: None,
            format: None,
            size: 1098,
            seed: 42,
            empty: false,
        }
    }
}

/// What a demo run wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    pub path: String,
    pub size: u64,
    pub arrays: usize,
    pub chunks: u64,
}

/// Check that `size` gives integer pixel-centre coordinates at r10m/r20m/r60m.
pub fn check_size(size: u64) -> Result<()> {
    if size == 0 || !size.is_multiple_of(6) || !54_900u64.is_multiple_of(size) {
        let ok: Vec<String> = [366u64, 732, 1098, 1830, 2196, 3660, 5490, 10980]
            .iter()
            .map(u64::to_string)
            .collect();
        return Err(Error::Input(format!(
            "--size {size}: the r10m edge must be a multiple of 6 that divides 54900 so that \
             r20m = size/2 and r60m = size/6 have integer pixel-centre coordinates \
             (for example {})",
            ok.join(", ")
        )));
    }
    Ok(())
}

fn scale_dim(d: u64, size: u64) -> Option<u64> {
    match d {
        10980 | 5490 | 1830 => Some(d * size / FULL),
        _ => None,
    }
}

/// Scale a full-size layout so that the r10m edge is `size`: dimensions 10980/5490/1830 become
/// size, size/2, size/6; chunks along them scale by the same ratio, rounded up; `proj:shape` and
/// `proj:transform` follow.
pub fn scale_layout(layout: &GroupSpec, size: u64) -> Result<GroupSpec> {
    check_size(size)?;
    let mut out = layout.clone();
    if size == FULL {
        return Ok(out);
    }
    let paths: Vec<String> = out.arrays().into_iter().map(|(p, _)| p).collect();
    for p in paths {
        if let Some(LayoutNode::Array(a)) = out.get_mut(&p) {
            scale_array(a, size);
        }
    }
    Ok(out)
}

fn scale_array(a: &mut ArraySpec, size: u64) {
    let mut changed = false;
    for (d, c) in a.shape.iter_mut().zip(a.chunks.iter_mut()) {
        if let Some(nd) = scale_dim(*d, size) {
            *c = (*c * size).div_ceil(FULL).clamp(1, nd);
            *d = nd;
            changed = true;
        }
    }
    if !changed {
        return;
    }
    let n = a.shape.len();
    if n >= 2
        && let Some(Value::Array(t)) = a.attributes.get_mut("proj:transform")
        && t.len() >= 6
    {
        let res_x = TILE_EXTENT / a.shape[n - 1] as f64;
        let res_y = TILE_EXTENT / a.shape[n - 2] as f64;
        t[0] = json!(res_x);
        t[4] = json!(-res_y);
    }
    if n >= 2 && a.attributes.contains_key("proj:shape") {
        a.attributes
            .insert("proj:shape".into(), json!([a.shape[n - 2], a.shape[n - 1]]));
    }
}

/// The layout a demo run writes: built in or from `--layout`, scaled to `size`.
pub fn demo_layout(opts: &DemoOptions) -> Result<GroupSpec> {
    demo_layout_with_format(opts).map(|(l, _)| l)
}

/// The layout a demo run writes and the Zarr version it is written in. A v2 layout written as v3
/// becomes its N0512 form; a v3 layout written as v2 keeps its tree and data types.
pub fn demo_layout_with_format(opts: &DemoOptions) -> Result<(GroupSpec, ZarrFormat)> {
    let (full, own) = match &opts.layout {
        Some(p) => GroupSpec::from_file_with_format(p)?,
        None => {
            let tile = Tile::builtin(opts.level);
            let lonlat = crate::geo::ToLonLat::new(&crate::product::Crs::Epsg(tile.epsg))
                .and_then(|t| t.bbox(tile.bbox(), 21))
                .ok();
            (layouts::builtin_layout(opts.level, lonlat), ZarrFormat::V2)
        }
    };
    let format = opts.format.unwrap_or(match opts.layout {
        Some(_) => own,
        None => ZarrFormat::V3,
    });
    let full = match (own, format) {
        (ZarrFormat::V2, ZarrFormat::V3) => layouts::n0512_from_n0511(&full),
        (ZarrFormat::V3, ZarrFormat::V2) => layouts::as_v2(&full),
        _ => full,
    };
    Ok((scale_layout(&full, opts.size)?, format))
}

/// Everything the content generator needs about the product.
pub struct DemoContent {
    scene: Scene,
    tile: Tile,
    toa: bool,
    lonlat: [f64; 4],
}

/// Produces the value of one element from its indices.
type Generator<'a> = Box<dyn Fn(&[u64]) -> Val + 'a>;

/// A generated element value.
enum Val {
    Num(f64),
    Str(String),
}

impl DemoContent {
    /// Content for a layout and seed: the tile and CRS come from the layout's attributes.
    pub fn new(layout: &GroupSpec, seed: u64) -> Self {
        let toa = layout
            .attributes
            .get("stac_discovery")
            .and_then(|s| s.pointer("/properties/product:type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("L1C"));
        let tile = tile_of(layout).unwrap_or_else(|| Tile::builtin(S2Level::L2A));
        let lonlat = crate::geo::ToLonLat::new(&crate::product::Crs::Epsg(tile.epsg))
            .and_then(|t| t.bbox(tile.bbox(), 21))
            .unwrap_or([0.0, 0.0, 1.0, 1.0]);
        DemoContent {
            scene: Scene::new(seed),
            tile,
            toa,
            lonlat,
        }
    }

    /// The generated elements of `region` (one range per dimension) of the array at `path`,
    /// encoded as the array's dtype (little-endian, C order).
    pub fn region_bytes(
        &self,
        path: &str,
        spec: &ArraySpec,
        region: &[std::ops::Range<u64>],
    ) -> Result<Vec<u8>> {
        let generate = self.generator(path, spec);
        let enc = Encoder::new(&spec.dtype, path)?;
        let count: u64 = region.iter().map(|r| r.end - r.start).product();
        let mut out = Vec::with_capacity(count as usize * enc.size);
        if count == 0 {
            return Ok(out);
        }
        let mut idx: Vec<u64> = region.iter().map(|r| r.start).collect();
        loop {
            enc.push(&generate(&idx), &mut out);
            // Odometer over the region in C order.
            let mut d = idx.len();
            loop {
                if d == 0 {
                    return Ok(out);
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < region[d].end {
                    break;
                }
                idx[d] = region[d].start;
            }
        }
    }

    fn generator<'a>(&'a self, path: &str, spec: &ArraySpec) -> Generator<'a> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let name = parts.last().copied().unwrap_or("").to_string();
        let parent = if parts.len() >= 2 {
            parts[parts.len() - 2]
        } else {
            ""
        };
        let nd = spec.shape.len();
        let (w, h) = if nd >= 2 {
            (spec.shape[nd - 1] as f64, spec.shape[nd - 2] as f64)
        } else {
            (1.0, 1.0)
        };
        // (u, v) tile fractions of the pixel centre at the last two indices.
        let uv = move |idx: &[u64]| -> (f64, f64) {
            (
                (idx[nd - 1] as f64 + 0.5) / w,
                (idx[nd - 2] as f64 + 0.5) / h,
            )
        };
        let scene = &self.scene;
        let toa = self.toa;
        let raster = nd >= 2 && spec.shape[nd - 1] >= 32 && spec.shape[nd - 2] >= 32;
        let band_idx = BANDS.iter().position(|b| *b == name);
        let tile = self.tile.clone();
        let res_of = move |len: u64| (TILE_EXTENT / len as f64).round() as u32;

        if path.starts_with("/measurements/reflectance/")
            && raster
            && let Some(b) = band_idx
        {
            let res = res_of(spec.shape[nd - 1]);
            return Box::new(move |idx| {
                let (u, v) = uv(idx);
                let s = scene.surface(u, v);
                if s.nodata {
                    return Val::Num(0.0);
                }
                let r = Scene::reflectance(&s, b, toa)
                    * (1.0 + 0.025 * scene.speckle(idx[nd - 1], idx[nd - 2], res));
                Val::Num(f64::from(Scene::digital_number(r)))
            });
        }
        if (name == "x" || name == "y") && nd == 1 {
            let len = spec.shape[0];
            let step = if parent == "geometry" {
                5000.0
            } else {
                TILE_EXTENT / len as f64
            };
            let half = if parent == "geometry" {
                0.0
            } else {
                step / 2.0
            };
            let is_x = name == "x";
            return Box::new(move |idx| {
                let i = idx[0] as f64;
                Val::Num(if is_x {
                    tile.x0 + half + i * step
                } else {
                    tile.y_top - half - i * step
                })
            });
        }
        if raster {
            return self.raster_generator(path, &name, spec);
        }
        self.ancillary_generator(path, parent, &name, spec)
    }

    /// `(u, v)` tile fractions of the pixel centre at the last two indices of `spec`'s shape.
    fn pixel_uv(spec: &ArraySpec) -> impl Fn(&[u64]) -> (f64, f64) + Copy + Send + Sync + 'static {
        let nd = spec.shape.len();
        let (w, h) = if nd >= 2 {
            (spec.shape[nd - 1] as f64, spec.shape[nd - 2] as f64)
        } else {
            (1.0, 1.0)
        };
        move |idx: &[u64]| {
            (
                (idx[nd - 1] as f64 + 0.5) / w,
                (idx[nd - 2] as f64 + 0.5) / h,
            )
        }
    }

    /// The values of a raster other than reflectance (classes, masks, probabilities, …).
    fn raster_generator<'a>(&'a self, path: &str, name: &str, spec: &ArraySpec) -> Generator<'a> {
        let nd = spec.shape.len();
        let uv = Self::pixel_uv(spec);
        let (scene, toa) = (&self.scene, self.toa);
        let surf = move |idx: &[u64]| {
            let (u, v) = uv(idx);
            scene.surface(u, v)
        };
        if name == "scl" {
            Box::new(move |i| Val::Num(f64::from(Scene::scl(&surf(i)))))
        } else if name == "cld" {
            Box::new(move |i| Val::Num(f64::from(Scene::cloud_probability(&surf(i)))))
        } else if name == "snw" {
            Box::new(move |i| Val::Num(f64::from(Scene::snow_probability(&surf(i)))))
        } else if name == "aot" || name == "wvp" {
            let aot = name == "aot";
            Box::new(move |i| {
                let (u, v) = uv(i);
                let nodata = Scene::is_nodata(u, v);
                Val::Num(f64::from(if aot {
                    scene.aot(u, v, nodata)
                } else {
                    scene.wvp(u, v, nodata)
                }))
            })
        } else if name == "tci" && nd == 3 {
            Box::new(move |i| Val::Num(f64::from(Scene::tci(&surf(i), i[0] as usize, toa))))
        } else if path.contains("/detector_footprint/") {
            Box::new(move |i| {
                let (u, v) = uv(i);
                Val::Num(f64::from(Scene::detector(u, v)))
            })
        } else if path.starts_with("/quality/mask/") {
            Box::new(move |i| Val::Num(f64::from(Scene::quality_mask(&surf(i)))))
        } else if path.contains("/l1c_classification/") {
            Box::new(move |i| Val::Num(f64::from(Scene::l1c_classification(&surf(i)))))
        } else {
            let key = path.to_string();
            let scale = generic_scale(&spec.dtype);
            Box::new(move |i| {
                let (u, v) = uv(i);
                Val::Num(f64::from(scene.generic(&key, u, v)) * scale)
            })
        }
    }

    /// The values of the non-raster arrays: angle grids, band/detector labels, lon/lat, meteorology,
    /// scalars and strings.
    fn ancillary_generator<'a>(
        &'a self,
        path: &str,
        parent: &str,
        name: &str,
        spec: &ArraySpec,
    ) -> Generator<'a> {
        let nd = spec.shape.len();
        let scene = &self.scene;
        let grid_uv = |i: u64, j: u64| {
            (
                i as f64 * 5000.0 / TILE_EXTENT,
                j as f64 * 5000.0 / TILE_EXTENT,
            )
        };
        match (parent, name) {
            ("geometry", "angle") => {
                Box::new(|i| Val::Str(["zenith", "azimuth"][(i[0] as usize).min(1)].to_string()))
            }
            ("geometry", "band") => Box::new(|i| Val::Str(BANDS[(i[0] as usize) % 13].to_string())),
            ("geometry", "detector") => Box::new(|i| Val::Num(3.0 + i[0] as f64)),
            ("geometry", "sun_angles") if nd == 3 => Box::new(move |i| {
                let (u, v) = grid_uv(i[2], i[1]);
                Val::Num(if i[0] == 0 {
                    49.3 + 1.5 * (v - 0.5) - 0.4 * (u - 0.5)
                } else {
                    163.6 + 2.5 * (u - 0.5)
                })
            }),
            ("geometry", "viewing_incidence_angles") if nd == 5 => Box::new(move |i| {
                let (u, v) = grid_uv(i[4], i[3]);
                let det = 3 + i[1];
                if u64::from(Scene::detector(u.min(0.999), v.min(0.999))) != det {
                    return Val::Num(f64::NAN);
                }
                Val::Num(if i[2] == 0 {
                    1.0 + 9.5 * (u - 0.45).abs() + 0.05 * i[0] as f64
                } else if u < 0.45 {
                    105.0 + 2.0 * v
                } else {
                    285.0 + 2.0 * v
                })
            }),
            ("geometry", "mean_sun_angles") => {
                Box::new(|i| Val::Num(if i[0] == 0 { 49.3 } else { 163.6 }))
            }
            ("geometry", "mean_viewing_incidence_angles") if nd == 2 => Box::new(|i| {
                Val::Num(if i[1] == 0 {
                    5.5 + 0.05 * i[0] as f64
                } else {
                    196.0
                })
            }),
            (_, "latitude") if nd == 1 => {
                let (n, s) = (self.lonlat[3], self.lonlat[1]);
                let len = spec.shape[0].max(2) as f64 - 1.0;
                Box::new(move |i| Val::Num(n - (n - s) * i[0] as f64 / len))
            }
            (_, "longitude") if nd == 1 => {
                let (w, e) = (self.lonlat[0], self.lonlat[2]);
                let len = spec.shape[0].max(2) as f64 - 1.0;
                Box::new(move |i| Val::Num(w + (e - w) * i[0] as f64 / len))
            }
            ("cams" | "ecmwf", var) if nd == 2 => {
                let (base, amp) = meteo_range(var);
                let key = path.to_string();
                let shape = spec.shape.clone();
                Box::new(move |i| {
                    let u = (i[1] as f64 + 0.5) / shape[1] as f64;
                    let v = (i[0] as f64 + 0.5) / shape[0] as f64;
                    Val::Num(base + amp * f64::from(scene.generic(&key, u, v)))
                })
            }
            ("l2a_quicklook" | "l1c_quicklook" | "r10m" | "r20m" | "r60m", "band") if nd == 1 => {
                Box::new(|i| Val::Num(1.0 + i[0] as f64))
            }
            _ if nd == 0 => Box::new(|_| Val::Num(0.0)),
            _ if crate::dtype::DataType::parse(&spec.dtype).is_text() => {
                let n = name.to_string();
                Box::new(move |i| Val::Str(format!("{n}{}", i.first().copied().unwrap_or(0))))
            }
            _ => {
                let key = path.to_string();
                let scale = generic_scale(&spec.dtype);
                let shape = spec.shape.clone();
                Box::new(move |i| {
                    let u = (i[nd - 1] as f64 + 0.5) / shape[nd - 1] as f64;
                    let v = if nd >= 2 {
                        (i[nd - 2] as f64 + 0.5) / shape[nd - 2] as f64
                    } else {
                        0.5
                    };
                    Val::Num(f64::from(scene.generic(&key, u, v)) * scale)
                })
            }
        }
    }
}

fn meteo_range(var: &str) -> (f64, f64) {
    match var {
        v if v.contains("aod") => (0.02, 0.15),
        "z" => (2000.0, 3000.0),
        "msl" => (100_800.0, 1000.0),
        "r" => (40.0, 40.0),
        "tco3" => (0.0055, 0.001),
        "tcwv" => (8.0, 20.0),
        "u10" | "v10" => (-4.0, 8.0),
        _ => (0.0, 1.0),
    }
}

fn generic_scale(dtype: &str) -> f64 {
    match dtype.trim_start_matches(['<', '>', '|', '=']) {
        "u1" | "i1" => 100.0,
        "b1" => 1.0,
        "u2" | "i2" | "u4" | "i4" | "u8" | "i8" => 10_000.0,
        _ => 1.0,
    }
}

fn tile_of(layout: &GroupSpec) -> Option<Tile> {
    let epsg = layout
        .attributes
        .get("other_metadata")
        .and_then(|o| {
            o.get("horizontal_CRS_code")
                .or_else(|| o.get("horizontal_crs_code"))
        })
        .and_then(parse_crs_code);
    // N0512 layouts carry no `proj:*` on arrays: the STAC properties give the bbox and CRS.
    let props = layout
        .attributes
        .get("stac_discovery")
        .and_then(|s| s.get("properties"));
    if let Some(p) = props
        && let Some(b) = p.get("proj:bbox").and_then(Value::as_array)
        && b.len() == 4
        && let Some(code) = epsg.or_else(|| {
            p.get("proj:code")
                .or_else(|| p.get("proj:epsg"))
                .and_then(parse_crs_code)
        })
        && layout
            .arrays()
            .iter()
            .all(|(_, a)| !a.attributes.contains_key("proj:bbox"))
    {
        return Some(Tile {
            name: "layout",
            epsg: code,
            zone: code % 100,
            x0: b[0].as_f64()?,
            y_top: b[3].as_f64()?,
        });
    }
    for (_, a) in layout.arrays() {
        if let Some(b) = a.attributes.get("proj:bbox").and_then(Value::as_array)
            && b.len() == 4
        {
            let x0 = b[0].as_f64()?;
            let y_top = b[3].as_f64()?;
            let code = epsg.or_else(|| a.attributes.get("proj:epsg").and_then(parse_crs_code))?;
            return Some(Tile {
                name: "layout",
                epsg: code,
                zone: code % 100,
                x0,
                y_top,
            });
        }
    }
    None
}

/// Little-endian encoder of one NumPy dtype.
struct Encoder {
    kind: char,
    size: usize,
    big: bool,
}

impl Encoder {
    fn new(dtype: &str, path: &str) -> Result<Self> {
        let big = dtype.starts_with('>');
        let t = dtype.trim_start_matches(['<', '>', '|', '=']);
        let kind = t.chars().next().unwrap_or('?');
        let n: usize = t[kind.len_utf8()..].parse().unwrap_or(0);
        let size = match kind {
            'U' => n * 4,
            'S' => n,
            'u' | 'i' | 'f' | 'b' => n,
            _ => 0,
        };
        if size == 0 || !matches!(kind, 'U' | 'S' | 'u' | 'i' | 'f' | 'b') {
            return Err(Error::Unsupported {
                path: path.to_string(),
                what: "data type",
                reason: format!("the demo generator cannot write dtype {dtype}"),
            });
        }
        Ok(Encoder { kind, size, big })
    }

    fn push(&self, v: &Val, out: &mut Vec<u8>) {
        let start = out.len();
        match (self.kind, v) {
            ('U', Val::Str(s)) => {
                let mut chars: Vec<u32> = s.chars().map(u32::from).collect();
                chars.resize(self.size / 4, 0);
                for c in chars {
                    out.extend_from_slice(&c.to_le_bytes());
                }
            }
            ('S', Val::Str(s)) => {
                let mut b = s.as_bytes().to_vec();
                b.resize(self.size, 0);
                out.extend_from_slice(&b);
            }
            (_, Val::Str(_)) => out.resize(start + self.size, 0),
            ('f', Val::Num(x)) => match self.size {
                4 => out.extend_from_slice(&(*x as f32).to_le_bytes()),
                _ => out.extend_from_slice(&x.to_le_bytes()),
            },
            ('b', Val::Num(x)) => out.push(u8::from(*x >= 0.5)),
            ('u' | 'i', Val::Num(x)) => {
                let r = x.round() as i128;
                let bytes = r.to_le_bytes();
                out.extend_from_slice(&bytes[..self.size]);
            }
            ('U' | 'S', Val::Num(x)) => {
                let s = Val::Str(x.to_string());
                self.push(&s, out);
            }
            _ => out.resize(start + self.size, 0),
        }
        if self.big && self.kind != 'U' && self.kind != 'S' {
            out[start..].reverse();
        }
    }
}

/// Progress callback: (chunks written, chunks in total).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Write a demo product to `out` (which must not exist, or be an empty directory). The product is
/// built in `out` + `.partial` and renamed when complete, so an interrupted run leaves no store
/// that could pass for a finished product.
pub fn write_demo(
    out: impl crate::storage::ToLocation,
    opts: &DemoOptions,
    progress: Progress<'_>,
) -> Result<DemoReport> {
    let out = match out.to_location()? {
        crate::storage::Location::Local(p) => p,
        remote => return write_demo_remote(&remote, opts, progress),
    };
    let out = out.as_path();
    let at = show(out);
    let (layout, format) = demo_layout_with_format(opts)?;
    if crate::storage::output_in_use(out)? {
        return Err(Error::Input(format!(
            "{at}: output already exists (remove it or choose another path)"
        )));
    }
    if out.exists() {
        std::fs::remove_dir(out).map_err(|e| Error::io(&at, e))?;
    }
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    if partial.exists() {
        // The leftover of an interrupted demo run is a Zarr store: removed. Anything else by that
        // name is not ours and stays.
        use crate::storage::safety::{Contents, contents};
        let (store, pat) = crate::storage::open_write(&partial)?;
        let loc = crate::storage::Location::Local(partial.clone());
        match contents(&loc, &store, &pat)? {
            Contents::Empty | Contents::Zarr { .. } => {
                std::fs::remove_dir_all(&partial).map_err(|e| Error::io(show(&partial), e))?
            }
            Contents::Foreign(entry) => {
                return Err(Error::Refused(format!(
                    "{pat}: refusing to replace it: it holds {entry}, which is not part of an \
                     interrupted demo product (remove it or choose another output)"
                )));
            }
        }
    }
    let store = layout.materialise_as(&partial, format)?;
    let arrays = layout.arrays();
    let chunks = write_content(
        &store, &layout, format, opts.seed, opts.empty, &partial, progress,
    )?;
    std::fs::rename(&partial, out).map_err(|e| Error::io(&at, e))?;
    Ok(DemoReport {
        path: at,
        size: opts.size,
        arrays: arrays.len(),
        chunks,
    })
}

/// A demo product on S3: written to a local temporary folder, then uploaded (data first, metadata
/// last, so an interrupted upload leaves no store that opens as a product).
fn write_demo_remote(
    out: &crate::storage::Location,
    opts: &DemoOptions,
    progress: Progress<'_>,
) -> Result<DemoReport> {
    let (store, at) = crate::storage::open_write(out)?;
    if crate::storage::store_in_use(&store, &at)? {
        return Err(Error::Input(format!(
            "{at}: output already exists (remove it or choose another path)"
        )));
    }
    let tmp = std::env::temp_dir().join(format!(
        "eopf-geozarr-demo-upload-{}-{}",
        std::process::id(),
        opts.seed
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(show(&tmp), e))?;
    }
    let result = write_demo(&tmp, opts, progress).and_then(|mut report| {
        crate::storage::upload_dir(&tmp, &store, &at)?;
        report.path = at.clone();
        Ok(report)
    });
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn write_content(
    store: &Arc<FilesystemStore>,
    layout: &GroupSpec,
    format: ZarrFormat,
    seed: u64,
    coordinates_only: bool,
    root: &Path,
    progress: Progress<'_>,
) -> Result<u64> {
    let content = DemoContent::new(layout, seed);
    let arrays: Vec<(String, &ArraySpec)> = layout
        .arrays()
        .into_iter()
        .filter(|(p, a)| {
            !coordinates_only || (a.shape.len() == 1 && (p.ends_with("/x") || p.ends_with("/y")))
        })
        .collect();
    let mut jobs: Vec<(usize, Vec<u64>)> = Vec::new();
    let mut opened = Vec::with_capacity(arrays.len());
    for (i, (p, spec)) in arrays.iter().enumerate() {
        let array = spec
            .open(store.clone(), p, format)
            .map_err(|e| Error::invalid(format!("{}{p}", show(root)), e))?;
        let grid: Vec<u64> = array.chunk_grid_shape().to_vec();
        if spec.shape.is_empty() {
            jobs.push((i, vec![]));
        } else if spec.shape.iter().all(|&d| d > 0) {
            let total: u64 = grid.iter().product();
            for lin in 0..total {
                let mut rem = lin;
                let mut idx = vec![0u64; grid.len()];
                for d in (0..grid.len()).rev() {
                    idx[d] = rem % grid[d];
                    rem /= grid[d];
                }
                jobs.push((i, idx));
            }
        }
        opened.push(array);
    }
    let total = jobs.len() as u64;
    let done = AtomicU64::new(0);
    jobs.par_iter().try_for_each(|(i, idx)| -> Result<()> {
        let (p, spec) = &arrays[*i];
        let array = &opened[*i];
        let region: Vec<std::ops::Range<u64>> = if idx.is_empty() {
            vec![]
        } else {
            let sub = array
                .chunk_subset(idx)
                .map_err(|e| Error::invalid(format!("{}{p}", show(root)), e))?;
            sub.to_ranges()
        };
        let bytes = content.region_bytes(p, spec, &region)?;
        array
            .store_chunk(idx, ArrayBytes::new_flen(bytes))
            .map_err(|e| Error::io(format!("{}{p}", show(root)), e))?;
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        progress(n, total);
        Ok(())
    })?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        assert!(check_size(1098).is_ok());
        assert!(check_size(10980).is_ok());
        assert!(check_size(366).is_ok());
        assert!(check_size(1000).is_err());
        assert!(check_size(0).is_err());
    }

    #[test]
    fn scaling_keeps_chunk_counts() {
        let mut a = ArraySpec::eopf(vec![5490, 5490], vec![915, 915], "<u2", json!(0));
        a.attributes.insert(
            "proj:transform".into(),
            json!([20.0, 0.0, 1.0, 0.0, -20.0, 2.0, 0.0, 0.0, 1.0]),
        );
        a.attributes
            .insert("proj:shape".into(), json!([5490, 5490]));
        scale_array(&mut a, 1098);
        assert_eq!(a.shape, vec![549, 549]);
        assert_eq!(a.chunks, vec![92, 92]);
        assert_eq!(549u64.div_ceil(92), 6);
        assert_eq!(a.attributes["proj:transform"][0], json!(200.0));
        assert_eq!(a.attributes["proj:shape"], json!([549, 549]));
    }

    #[test]
    fn encoder_writes_numpy_layouts() {
        let e = Encoder::new("<U3", "t").unwrap();
        let mut out = vec![];
        e.push(&Val::Str("b1".into()), &mut out);
        assert_eq!(out, [b'b', 0, 0, 0, b'1', 0, 0, 0, 0, 0, 0, 0]);
        let e = Encoder::new("<u2", "t").unwrap();
        let mut out = vec![];
        e.push(&Val::Num(513.0), &mut out);
        assert_eq!(out, [1, 2]);
        assert!(Encoder::new("<M8[ns]", "t").is_err());
    }
}
