//! A real GeoZarr validator (src/conventions.rs, the reference's minispec): conventions found by UUID,
//! required attributes on the store root, on multiscale groups, levels and arrays, layout
//! consistency (shapes vs arrays, transforms vs scales and shapes, edges across levels), a CRS
//! wherever there is georeferencing, and strict JSON metadata. Findings carry the node path.
//! The reference's known defects (draft-era declarations, centre-origin transforms, trimmed levels,
//! non-integer scales, no conventions on the root) are warnings; everything that breaks a reader is
//! an error.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::conventions::{Convention, Multiscales, declared, is_safe_asset};
use crate::hierarchy::{Hierarchy, NodeKind};
use crate::plan::Profile;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Node path (`/measurements/reflectance`) or metadata file.
    pub path: String,
    /// A stable identifier (`half-pixel`, `level-trimmed`, `missing-crs`, …).
    pub code: &'static str,
    pub message: String,
}

/// The validation report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub path: String,
    pub findings: Vec<Finding>,
}

impl Report {
    fn push(&mut self, severity: Severity, path: &str, code: &'static str, message: String) {
        self.findings.push(Finding {
            severity,
            path: path.to_string(),
            code,
            message,
        });
    }
    fn error(&mut self, path: &str, code: &'static str, message: String) {
        self.push(Severity::Error, path, code, message);
    }
    fn warn(&mut self, path: &str, code: &'static str, message: String) {
        self.push(Severity::Warning, path, code, message);
    }
    /// Errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
    /// Warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }
    /// No errors.
    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }
    /// Whether a finding with `code` exists.
    pub fn has(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
    /// Human-readable text.
    pub fn to_text(&self) -> String {
        let mut s = format!("Validation of {}\n", self.path);
        for f in &self.findings {
            let tag = match f.severity {
                Severity::Error => "ERROR  ",
                Severity::Warning => "warning",
            };
            s.push_str(&format!("  {tag} {} [{}] {}\n", f.path, f.code, f.message));
        }
        let (e, w) = (self.errors().count(), self.warnings().count());
        s.push_str(&format!(
            "{} error(s), {} warning(s): {}\n",
            e,
            w,
            if e == 0 {
                "valid GeoZarr"
            } else {
                "NOT valid GeoZarr"
            }
        ));
        s
    }
}

fn numbers(v: Option<&Value>) -> Option<Vec<f64>> {
    let a = v?.as_array()?;
    let out: Vec<f64> = a.iter().filter_map(Value::as_f64).collect();
    (out.len() == a.len()).then_some(out)
}

fn has_crs(attrs: &Map<String, Value>) -> bool {
    ["proj:code", "proj:wkt2", "proj:projjson"]
        .iter()
        .any(|k| attrs.contains_key(*k))
}

fn check_declarations(
    r: &mut Report,
    path: &str,
    attrs: &Map<String, Value>,
    needed: &[Convention],
) {
    let found = declared(attrs);
    for c in needed {
        if !found.contains(c) {
            r.error(
                path,
                "convention-missing",
                format!(
                    "zarr_conventions does not declare {:?} (uuid {})",
                    c,
                    c.uuid()
                ),
            );
        }
    }
    if let Some(list) = attrs.get("zarr_conventions").and_then(Value::as_array) {
        for d in list {
            let Some(c) = d
                .get("uuid")
                .and_then(Value::as_str)
                .and_then(Convention::from_uuid)
            else {
                continue;
            };
            if d != &c.declaration_json(Profile::Geozarr) {
                r.warn(
                    path,
                    "convention-draft",
                    format!(
                        "{:?} is declared with {} instead of the published v0.1 declaration",
                        c,
                        d.get("schema_url")
                            .and_then(Value::as_str)
                            .unwrap_or("no schema_url")
                    ),
                );
            }
        }
    }
}

/// Validate an opened GeoZarr store.
pub fn validate(h: &Hierarchy) -> Report {
    let mut r = Report {
        path: h.location().to_string(),
        findings: vec![],
    };
    if h.zarr_format() != 3 {
        r.error(
            "/",
            "not-zarr-v3",
            format!("Zarr v{}: GeoZarr stores are Zarr v3", h.zarr_format()),
        );
        if let Err(e) = crate::product::check_shapes(h) {
            r.error("/", "shape-mismatch", e.to_string());
        }
        return r;
    }
    strict_json(h, &mut r);
    if let Err(e) = crate::product::check_shapes(h) {
        r.error("/", "shape-mismatch", e.to_string());
    }
    check_root(h, &mut r);
    let mut any_multiscales = false;
    for n in h.nodes() {
        if n.attributes.contains_key("multiscales") {
            any_multiscales = true;
            check_multiscales(h, &n.path, &n.attributes, &mut r);
        }
        if matches!(n.kind, NodeKind::Group) {
            check_spatial_group(h, &n.path, &n.attributes, &mut r);
        }
    }
    if !any_multiscales {
        r.error(
            "/",
            "no-multiscales",
            "no group carries `multiscales`".into(),
        );
    }
    // Stores with the published declarations are held to today's readers' rules; stores with the
    // draft-era ones (eopf-geozarr 0.10.1, `--profile reference`) get the same findings as
    // warnings, like their other known defects.
    let strict = !r.has("convention-draft");
    check_minispec(h, strict, &mut r);
    r
}

/// The keys of the `spatial` convention (zarr-cm's `CONVENTION_KEYS`).
const SPATIAL_KEYS: [&str; 6] = [
    "spatial:bbox",
    "spatial:dimensions",
    "spatial:registration",
    "spatial:shape",
    "spatial:transform",
    "spatial:transform_type",
];
/// The keys of the `proj` convention (legacy `proj:epsg` is not a use of it).
const PROJ_KEYS: [&str; 3] = ["proj:code", "proj:wkt2", "proj:projjson"];

/// What eopf-geozarr 0.12's `validate` (the GeoZarr minispec) and geozarr-toolkit 0.1.2 check on
/// every node, so that passing here means passing there: a node using `spatial:`/`proj:` keys
/// declares the convention (arrays inherit their group's declarations) and, for `spatial`,
/// carries a non-empty `spatial:dimensions`; a dataset (a group using either convention, or a
/// multiscale level) holds no scalar array but grid-mapping containers, every array has unique
/// string `dimension_names`, and every dimension of a data variable has a 1-D coordinate of its
/// length.
fn check_minispec(h: &Hierarchy, strict: bool, r: &mut Report) {
    let mut push = |r: &mut Report, path: &str, code: &'static str, message: String| {
        if strict {
            r.error(path, code, message);
        } else {
            r.warn(path, code, message);
        }
    };
    let mut datasets: Vec<String> = Vec::new();
    for n in h.nodes() {
        let a = &n.attributes;
        let mut conventions = declared(a);
        let is_array = matches!(n.kind, NodeKind::Array(_));
        if is_array
            && let Some(parent) = n.path.rsplit_once('/').map(|(p, _)| p)
            && let Some(pg) = h.node(if parent.is_empty() { "/" } else { parent })
        {
            conventions.extend(declared(&pg.attributes));
        }
        let uses_spatial = SPATIAL_KEYS.iter().any(|k| a.contains_key(*k));
        let uses_proj = PROJ_KEYS.iter().any(|k| a.contains_key(*k));
        if uses_spatial && !conventions.contains(&Convention::Spatial) {
            push(
                r,
                &n.path,
                "convention-undeclared",
                "uses spatial:* attributes without declaring the spatial convention".into(),
            );
        }
        if uses_proj && !conventions.contains(&Convention::Proj) {
            push(
                r,
                &n.path,
                "convention-undeclared",
                "uses proj:* attributes without declaring the proj convention".into(),
            );
        }
        if uses_spatial || declared(a).contains(&Convention::Spatial) {
            let dims_ok = a
                .get("spatial:dimensions")
                .and_then(Value::as_array)
                .is_some_and(|d| !d.is_empty() && d.iter().all(Value::is_string));
            if !dims_ok {
                push(
                    r,
                    &n.path,
                    "spatial-dimensions",
                    "a node that uses or declares the spatial convention must carry a non-empty \
                     spatial:dimensions list of strings"
                        .into(),
                );
            }
        }
        if !is_array && (uses_spatial || uses_proj) && n.path != "/" {
            datasets.push(n.path.to_string());
        }
        if let Some(ms) = a.get("multiscales").and_then(|m| m.get("layout")) {
            for e in ms.as_array().into_iter().flatten() {
                if let Some(asset) = e.get("asset").and_then(Value::as_str)
                    && is_safe_asset(asset)
                {
                    let p = if asset == "." {
                        n.path.to_string()
                    } else {
                        format!("{}/{asset}", n.path.trim_end_matches('/'))
                    };
                    if h.node(&p)
                        .is_some_and(|l| matches!(l.kind, NodeKind::Group))
                    {
                        datasets.push(p);
                    }
                }
            }
        }
    }
    datasets.sort();
    datasets.dedup();
    for d in datasets {
        check_dataset_members(h, &d, &mut push, r);
    }
}

fn check_dataset_members(
    h: &Hierarchy,
    path: &str,
    push: &mut dyn FnMut(&mut Report, &str, &'static str, String),
    r: &mut Report,
) {
    let arrays: Vec<_> = h
        .children(path)
        .into_iter()
        .filter_map(|c| match &c.kind {
            NodeKind::Array(m) => Some((c.path.rsplit('/').next().unwrap_or(""), c, m)),
            NodeKind::Group => None,
        })
        .collect();
    let mut grid_mappings: Vec<&str> = Vec::new();
    if let Some(g) = h.node(path)
        && let Some(gm) = g.attributes.get("grid_mapping").and_then(Value::as_str)
    {
        grid_mappings.push(gm);
    }
    for (_, c, _) in &arrays {
        if let Some(gm) = c.attributes.get("grid_mapping").and_then(Value::as_str) {
            grid_mappings.push(gm);
        }
    }
    let mut data = Vec::new();
    for (name, c, m) in &arrays {
        if m.shape.is_empty() {
            if !grid_mappings.contains(name) {
                push(
                    r,
                    &c.path,
                    "scalar-array",
                    "scalar (0-d) arrays are not allowed in a GeoZarr dataset (only grid-mapping \
                     containers)"
                        .into(),
                );
            }
            continue;
        }
        let Some(dims) = m
            .dimension_names
            .as_ref()
            .filter(|d| d.len() == m.shape.len())
        else {
            push(
                r,
                &c.path,
                "dimension-names",
                "dimension_names must be set, one string per dimension".into(),
            );
            continue;
        };
        let mut unique = dims.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != dims.len() || dims.iter().any(String::is_empty) {
            push(
                r,
                &c.path,
                "dimension-names",
                format!("dimension_names must be unique non-empty strings, got {dims:?}"),
            );
            continue;
        }
        data.push((c, m, dims));
    }
    for (c, m, dims) in data {
        for (size, dim) in m.shape.iter().zip(dims) {
            match arrays.iter().find(|(n, _, _)| n == dim) {
                None => push(
                    r,
                    &c.path,
                    "coordinate-missing",
                    format!("dimension {dim:?} has no 1-D coordinate array in {path}"),
                ),
                Some((_, _, cm)) if cm.shape != [*size] => push(
                    r,
                    &c.path,
                    "coordinate-shape",
                    format!(
                        "coordinate {dim:?} must be 1-D of length {size}, found shape {:?}",
                        cm.shape
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

fn check_root(h: &Hierarchy, r: &mut Report) {
    let a = &h.root().attributes;
    let declares = a.contains_key("zarr_conventions");
    match numbers(a.get("spatial:bbox")) {
        Some(b) if b.len() == 4 => {
            if b[0] > b[2] || b[1] > b[3] {
                r.error(
                    "/",
                    "bbox-order",
                    format!("spatial:bbox {b:?} is not [xmin, ymin, xmax, ymax]"),
                );
            }
        }
        Some(b) => r.error(
            "/",
            "bbox-length",
            format!("spatial:bbox has {} numbers, 4 expected", b.len()),
        ),
        // Required of a root that declares the conventions; the reference's pipeline A writes a
        // bare root (a known defect, reported).
        None if declares => r.error(
            "/",
            "root-bbox",
            "the store root has no spatial:bbox".into(),
        ),
        None => r.warn(
            "/",
            "root-bbox",
            "the store root has no spatial:bbox".into(),
        ),
    }
    let crs_count = ["proj:code", "proj:wkt2", "proj:projjson"]
        .iter()
        .filter(|k| a.contains_key(**k))
        .count();
    let msg = format!(
        "the store root must carry exactly one of proj:code/proj:wkt2/proj:projjson, found {crs_count}"
    );
    match crs_count {
        1 => {}
        0 if !declares => r.warn("/", "root-crs", msg),
        _ => r.error("/", "root-crs", msg),
    }
    if let Some(code) = a.get("proj:code").and_then(Value::as_str)
        && !valid_code(code)
    {
        r.error(
            "/",
            "proj-code",
            format!("proj:code {code:?} does not match ^[A-Z]+:[0-9]+$"),
        );
    }
    if declared(a).is_empty() && a.contains_key("spatial:bbox") {
        r.warn("/", "root-conventions", "the store root uses spatial:/proj: attributes without declaring them in zarr_conventions".into());
    }
}

fn valid_code(code: &str) -> bool {
    match code.split_once(':') {
        Some((auth, num)) => {
            !auth.is_empty()
                && auth.chars().all(|c| c.is_ascii_uppercase())
                && !num.is_empty()
                && num.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Groups with `spatial:` attributes: a CRS, declared conventions, dimensions matching the arrays.
fn check_spatial_group(h: &Hierarchy, path: &str, a: &Map<String, Value>, r: &mut Report) {
    if path == "/" {
        return;
    }
    let spatial = a.keys().any(|k| k.starts_with("spatial:"));
    let arrays: Vec<_> = h
        .children(path)
        .into_iter()
        .filter_map(|c| match &c.kind {
            NodeKind::Array(m) if m.shape.len() >= 2 => Some((c, m)),
            _ => None,
        })
        .collect();
    if !spatial {
        if !arrays.is_empty()
            && arrays.iter().any(|(c, m)| {
                m.dimension_names
                    .as_deref()
                    .is_some_and(|d| d.ends_with(&["y".to_string(), "x".to_string()]))
                    && !has_crs(&c.attributes)
            })
            && (path.starts_with("/measurements")
                || path.starts_with("/quality")
                || path.starts_with("/conditions/mask"))
        {
            r.warn(
                path,
                "raster-without-crs",
                "raster group without spatial:/proj: metadata (readers cannot place it)".into(),
            );
        }
        return;
    }
    if !has_crs(a) {
        r.error(
            path,
            "missing-crs",
            "spatial: attributes without proj:code/proj:wkt2/proj:projjson".into(),
        );
    }
    let mut needed = vec![Convention::Spatial];
    if has_crs(a) {
        needed.push(Convention::Proj);
    }
    if !a.contains_key("multiscales") {
        check_declarations(r, path, a, &needed);
    }
    if let Some(dims) = a.get("spatial:dimensions").and_then(Value::as_array) {
        let dims: Vec<String> = dims
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        for (c, m) in &arrays {
            if let Some(names) = &m.dimension_names
                && names.len() >= 2
                && names[names.len() - 2..] != dims[..]
            {
                r.error(
                    &c.path,
                    "dimension-mismatch",
                    format!(
                        "dimension_names {names:?} end differently from spatial:dimensions {dims:?}"
                    ),
                );
            }
        }
        if let (Some(s), Some((_, m))) = (numbers(a.get("spatial:shape")), arrays.first()) {
            let want = [
                m.shape[m.shape.len() - 2] as f64,
                m.shape[m.shape.len() - 1] as f64,
            ];
            if s != want {
                r.error(
                    path,
                    "shape-mismatch",
                    format!("spatial:shape {s:?} but the arrays are {want:?}"),
                );
            }
        }
    }
}

struct Level {
    asset: String,
    shape: Option<[f64; 2]>,
    transform: Option<[f64; 6]>,
    derived_from: Option<String>,
    scale: Option<Vec<f64>>,
}

fn check_multiscales(h: &Hierarchy, path: &str, a: &Map<String, Value>, r: &mut Report) {
    check_declarations(
        r,
        path,
        a,
        &[
            Convention::Multiscales,
            Convention::Spatial,
            Convention::Proj,
        ],
    );
    if !has_crs(a) {
        r.error(
            path,
            "missing-crs",
            "multiscale group without proj:code/proj:wkt2/proj:projjson".into(),
        );
    }
    for key in ["spatial:dimensions", "spatial:bbox"] {
        if !a.contains_key(key) {
            r.error(
                path,
                "missing-attribute",
                format!("multiscale group without {key}"),
            );
        }
    }
    let ms = match Multiscales::from_attributes(a) {
        Some(Ok(ms)) => ms,
        Some(Err(e)) => {
            r.error(
                path,
                "multiscales-invalid",
                format!("multiscales does not parse: {e}"),
            );
            return;
        }
        None => return,
    };
    if ms.layout.is_empty() {
        r.error(path, "layout-empty", "multiscales.layout is empty".into());
        return;
    }
    let mut levels: Vec<Level> = Vec::new();
    for e in &ms.layout {
        let lp = if e.asset == "." {
            path.to_string()
        } else {
            format!("{}/{}", path.trim_end_matches('/'), e.asset)
        };
        if e.asset == "." && ms.layout.len() > 1 {
            r.warn(
                path,
                "nested-levels",
                "levels are nested under the native level (asset \".\"): xarray.open_datatree cannot align the parent's x/y with the levels' (docs/reference.md E-9)".into(),
            );
        }
        if !is_safe_asset(&e.asset) {
            r.error(
                path,
                "unsafe-asset",
                format!("layout asset {:?} is not a safe relative path", e.asset),
            );
            continue;
        }
        if h.node(&lp).is_none() {
            r.error(
                &lp,
                "asset-missing",
                format!("layout asset {:?} does not exist", e.asset),
            );
        }
        if e.spatial_shape.is_none() {
            r.error(
                &lp,
                "layout-shape",
                "layout entry without spatial:shape".into(),
            );
        }
        if e.spatial_transform.is_none() {
            r.error(
                &lp,
                "layout-transform",
                "layout entry without spatial:transform".into(),
            );
        }
        if let Some(p) = &e.derived_from {
            if e.transform.is_none() {
                r.error(
                    &lp,
                    "layout-derived",
                    format!("derived from {p} but without transform (scale, translation)"),
                );
            }
            if !levels.iter().any(|l| &l.asset == p) {
                r.error(
                    &lp,
                    "layout-order",
                    format!("derived_from {p:?} is not an earlier level"),
                );
            }
        }
        // Shapes vs the level's arrays.
        if let Some(s) = &e.spatial_shape {
            for c in h.children(&lp) {
                if let NodeKind::Array(m) = &c.kind
                    && m.shape.len() >= 2
                    && m.shape[m.shape.len() - 2..] != s[..]
                {
                    r.error(
                        &c.path,
                        "shape-mismatch",
                        format!(
                            "shape {:?} differs from the layout's spatial:shape {s:?}",
                            m.shape
                        ),
                    );
                }
            }
        }
        levels.push(Level {
            asset: e.asset.clone(),
            shape: e
                .spatial_shape
                .as_ref()
                .filter(|s| s.len() == 2)
                .map(|s| [s[0] as f64, s[1] as f64]),
            transform: e
                .spatial_transform
                .as_ref()
                .filter(|t| t.len() == 6)
                .map(|t| [t[0], t[1], t[2], t[3], t[4], t[5]]),
            derived_from: e.derived_from.clone(),
            scale: e.transform.as_ref().map(|t| t.scale.clone()),
        });
    }
    check_level_alignment(path, &levels, r);
}

/// Edges and scales across levels: every level's origin on the base level's edge, no trailing
/// pixels dropped, `transform.scale` equal to the pixel-size ratio.
fn check_level_alignment(path: &str, levels: &[Level], r: &mut Report) {
    let Some(base) = levels.first() else { return };
    let (Some(bt), Some(bs)) = (base.transform, base.shape) else {
        return;
    };
    let base_edge = [bt[2], bt[5] + bt[4] * bs[0], bt[2] + bt[0] * bs[1], bt[5]];
    for l in levels.iter().skip(1) {
        let lp = format!("{}/{}", path.trim_end_matches('/'), l.asset);
        let (Some(t), Some(s)) = (l.transform, l.shape) else {
            continue;
        };
        let res = t[0].abs();
        let dx = t[2] - base_edge[0];
        let dy = t[5] - base_edge[3];
        if dx.abs() > 1e-6 * res.max(1.0) || dy.abs() > 1e-6 * res.max(1.0) {
            let frac = (dx.abs() / res).max(dy.abs() / res);
            let code = if (frac - 0.5).abs() < 1e-6 {
                "half-pixel"
            } else {
                "origin-shift"
            };
            r.warn(&lp, code, format!(
                "origin ({}, {}) is {} m / {} m from the base level's edge ({}, {}) = {:.3} px of this level: levels do not line up (centre-based transform?)",
                t[2], t[5], dx, dy, base_edge[0], base_edge[3], frac
            ));
        }
        // Pixel count × size against the base extent (independent of where the origin sits).
        let (extent_x, base_extent_x) = (t[0].abs() * s[1], bt[0].abs() * bs[1]);
        let (extent_y, base_extent_y) = (t[4].abs() * s[0], bt[4].abs() * bs[0]);
        let short = (base_extent_x - extent_x).max(base_extent_y - extent_y);
        if short >= bt[0].abs() - 1e-9 {
            r.warn(&lp, "level-trimmed", format!(
                "{}×{} px of {} m cover {} m × {} m where the base covers {} m × {} m: {} m of trailing pixels dropped",
                s[1], s[0], res, extent_x, extent_y, base_extent_x, base_extent_y, short
            ));
        }
        if let (Some(p), Some(scale)) = (&l.derived_from, &l.scale)
            && let Some(parent) = levels.iter().find(|x| &x.asset == p)
            && let Some(pt) = parent.transform
            && let Some(sc) = scale.first()
        {
            let ratio = t[0] / pt[0];
            if (ratio - sc).abs() > 1e-9 * ratio.abs().max(1.0) {
                r.warn(
                    &lp,
                    "scale-mismatch",
                    format!("transform.scale {sc} but the pixel size ratio to {p} is {ratio}"),
                );
            }
        }
    }
}

/// Every metadata document must be strict JSON (no bare NaN / Infinity).
fn strict_json(h: &Hierarchy, r: &mut Report) {
    let store = h.store();
    let keys = match store.list() {
        Ok(k) => k,
        Err(e) => {
            r.error("/", "list-failed", format!("cannot list the store: {e}"));
            return;
        }
    };
    let docs: Vec<_> = keys
        .into_iter()
        .filter(|k| {
            let s = k.as_str();
            s.ends_with("zarr.json")
                || s.ends_with(".zattrs")
                || s.ends_with(".zarray")
                || s.ends_with(".zgroup")
        })
        .collect();
    // Read in parallel: on object storage each document is one request.
    let threads = 16.min(docs.len().max(1));
    let per = docs.len().div_ceil(threads).max(1);
    // (path, code, message, is an error)
    type Found = (String, &'static str, String, bool);
    let results: Vec<Vec<Found>> = std::thread::scope(|sc| {
        let handles: Vec<_> = docs
            .chunks(per)
            .map(|part| {
                sc.spawn(move || {
                    let mut found = Vec::new();
                    for k in part {
                        let s = k.as_str();
                        match store.get(k) {
                            Ok(Some(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
                                Err(e) => found.push((
                                    format!("/{s}"),
                                    "strict-json",
                                    format!("not strict JSON: {e}"),
                                    true,
                                )),
                                // OpenLayers' GeoZarr source and titiler-eopf open a multiscale
                                // group by itself and read its own consolidated metadata.
                                Ok(doc)
                                    if s.ends_with("zarr.json")
                                        && doc.pointer("/attributes/multiscales").is_some()
                                        && doc
                                            .get("consolidated_metadata")
                                            .is_none_or(Value::is_null) =>
                                {
                                    found.push((
                                        format!(
                                            "/{}",
                                            s.trim_end_matches("zarr.json").trim_end_matches('/')
                                        ),
                                        "multiscales-not-consolidated",
                                        "a multiscale group without inline consolidated metadata \
                                         (OpenLayers' GeoZarr source reads the group's own)"
                                            .into(),
                                        false,
                                    ))
                                }
                                Ok(_) => {}
                            },
                            Ok(None) => {}
                            Err(e) => {
                                found.push((format!("/{s}"), "read-failed", e.to_string(), true))
                            }
                        }
                    }
                    found
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (path, code, msg, error) in results.into_iter().flatten() {
        if error {
            r.error(&path, code, msg);
        } else {
            r.warn(&path, code, msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::valid_code;

    #[test]
    fn proj_codes() {
        assert!(valid_code("EPSG:32632"));
        assert!(!valid_code("epsg:32632"));
        assert!(!valid_code("EPSG:"));
        assert!(!valid_code("32632"));
    }
}
