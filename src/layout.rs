//! pydantic-zarr `GroupSpec` layouts of both Zarr versions: the JSON dumps of whole product
//! hierarchies found in `s2_examples/`, `s1_examples/` (v2) and `v3_s2_examples/` (v3), and the
//! built-in demo layouts, which our code builds in the same model. A layout can be scaled to another
//! tile size and materialised as a real Zarr store of either version (metadata through `zarrs`;
//! consolidated `.zmetadata` for v2, consolidated metadata inline in the root `zarr.json` for v3,
//! as EOPF writes them).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use zarrs::filesystem::FilesystemStore;

use crate::error::{Error, Result, show};
use crate::hierarchy::{v2_array, v3_array};
use crate::storage::{output_in_use, put_json};

/// The Zarr version of a layout or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum ZarrFormat {
    /// Zarr v2 (EOPF up to processing baseline N0511).
    #[default]
    V2,
    /// Zarr v3 (EOPF from N0512 on).
    V3,
}

impl ZarrFormat {
    /// 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            ZarrFormat::V2 => 2,
            ZarrFormat::V3 => 3,
        }
    }
}

impl std::str::FromStr for ZarrFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "v2" | "2" => Ok(ZarrFormat::V2),
            "v3" | "3" => Ok(ZarrFormat::V3),
            _ => Err(format!("unknown Zarr format {s:?} (v2 or v3)")),
        }
    }
}

/// A node of a layout.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // arrays are the common case; boxing them buys nothing here
pub enum LayoutNode {
    Group(GroupSpec),
    Array(ArraySpec),
}

/// A group: attributes and named members.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupSpec {
    pub attributes: Map<String, Value>,
    pub members: BTreeMap<String, LayoutNode>,
}

/// An array as pydantic-zarr dumps it. The model is v2's (NumPy `dtype`, `compressor`); a v3
/// array keeps its own codec chain and dimension names beside it, so both versions round-trip.
#[derive(Debug, Clone, PartialEq)]
pub struct ArraySpec {
    pub shape: Vec<u64>,
    pub chunks: Vec<u64>,
    /// NumPy dtype (`<u2`, `<f4`, `<U7`, `|S3`, …), also for v3 arrays.
    pub dtype: String,
    /// As the layout gives it (v2: `null` allowed; v3: the `zarr.json` form).
    pub fill_value: Value,
    pub compressor: Value,
    pub filters: Value,
    pub order: String,
    pub dimension_separator: String,
    pub attributes: Map<String, Value>,
    /// The v3 codec chain of a v3 layout (`None`: EOPF N0512's `bytes` + `zstd` level 0).
    pub v3_codecs: Option<Value>,
    /// v3 `dimension_names` (`None`: from the `_ARRAY_DIMENSIONS` attribute).
    pub dimension_names: Option<Vec<String>>,
}

impl ArraySpec {
    /// Open the array in a store materialised from its layout in `format`.
    pub fn open<S: ?Sized>(
        &self,
        storage: Arc<S>,
        path: &str,
        format: ZarrFormat,
    ) -> Result<zarrs::array::Array<S>> {
        match format {
            ZarrFormat::V2 => v2_array(storage, path, &self.zarray()),
            ZarrFormat::V3 => v3_array(storage, path, &self.zarr_json(path)?),
        }
    }
}

/// EOPF N0512's codec chain: `bytes` (little-endian for multi-byte numbers and UTF-32 text, bare
/// for 1-byte types and byte strings) and `zstd` level 0 without checksum.
pub fn eopf_v3_codecs(data_type: &Value, item_size: usize) -> Value {
    let byte_string = data_type.get("name").and_then(Value::as_str)
        == Some(crate::zarr_ext::NULL_TERMINATED_BYTES);
    let bytes = if item_size > 1 && !byte_string {
        json!({"name": "bytes", "configuration": {"endian": "little"}})
    } else {
        json!({"name": "bytes"})
    };
    json!([bytes, {"name": "zstd", "configuration": {"level": 0, "checksum": false}}])
}

/// EOPF's compressor: Blosc zstd level 3 with bit-shuffle.
pub fn eopf_compressor() -> Value {
    json!({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0})
}

impl ArraySpec {
    /// An EOPF-style array (`order C`, `.` separator, EOPF compressor unless 0-d).
    pub fn eopf(shape: Vec<u64>, chunks: Vec<u64>, dtype: &str, fill_value: Value) -> Self {
        let compressor = if shape.is_empty() {
            Value::Null
        } else {
            eopf_compressor()
        };
        ArraySpec {
            shape,
            chunks,
            dtype: dtype.to_string(),
            fill_value,
            compressor,
            filters: Value::Null,
            order: "C".into(),
            dimension_separator: ".".into(),
            attributes: Map::new(),
            v3_codecs: None,
            dimension_names: None,
        }
    }

    /// The v3 `zarr.json` of the array (with attributes): the layout's own codecs and fill value
    /// for a v3 layout; EOPF N0512's codecs, `/` chunk keys and the dtype's fill (`NaN`, `""`, 0,
    /// `false` where v2 says `null`) for a v2 one. Dimension names move from `_ARRAY_DIMENSIONS`
    /// to `dimension_names`.
    pub fn zarr_json(&self, at: &str) -> Result<Value> {
        let (data_type, item) = crate::zarr_ext::v3_data_type(&self.dtype, at)?;
        let codecs = self
            .v3_codecs
            .clone()
            .unwrap_or_else(|| eopf_v3_codecs(&data_type, item));
        let fill = match &self.fill_value {
            Value::Null => match &data_type {
                Value::String(s) if s.starts_with("float") => json!("NaN"),
                Value::String(s) if s == "bool" => json!(false),
                Value::Object(_) => json!(""),
                _ => json!(0),
            },
            Value::Number(n) if data_type == "bool" => json!(n.as_f64() != Some(0.0)),
            v => v.clone(),
        };
        let mut attributes = self.attributes.clone();
        let dims_attr = attributes.remove("_ARRAY_DIMENSIONS");
        let dims = self.dimension_names.clone().or_else(|| {
            dims_attr.and_then(|d| {
                d.as_array().map(|a| {
                    a.iter()
                        .map(|x| x.as_str().unwrap_or("").to_string())
                        .collect()
                })
            })
        });
        Ok(json!({
            "zarr_format": 3,
            "node_type": "array",
            "shape": self.shape,
            "data_type": data_type,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": self.chunks}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill,
            "codecs": codecs,
            "attributes": attributes,
            "dimension_names": dims,
            "storage_transformers": [],
        }))
    }

    /// A v3 array of a pydantic-zarr v3 `ArraySpec` document.
    fn from_json_v3(v: &Map<String, Value>, at: &str) -> Result<Self> {
        let list = |k: &str, x: Option<&Value>| int_list(k, x, at);
        let shape = list("shape", v.get("shape"))?;
        let chunks = list(
            "chunk_grid.configuration.chunk_shape",
            v.get("chunk_grid")
                .and_then(|g| g.pointer("/configuration/chunk_shape")),
        )?;
        if chunks.len() != shape.len() {
            return Err(Error::invalid(at, "shape and chunk shape differ in length"));
        }
        let data_type = v
            .get("data_type")
            .ok_or_else(|| Error::invalid(at, "array without a \"data_type\""))?;
        let dtype = crate::zarr_ext::numpy_dtype(data_type, at)?;
        let codecs = v
            .get("codecs")
            .filter(|c| c.is_array())
            .cloned()
            .ok_or_else(|| Error::invalid(at, "array without a \"codecs\" list"))?;
        let dimension_names = match v.get("dimension_names") {
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect(),
            ),
            _ => None,
        };
        Ok(ArraySpec {
            shape,
            chunks,
            dtype,
            fill_value: v.get("fill_value").cloned().unwrap_or(Value::Null),
            compressor: Value::Null,
            filters: Value::Null,
            order: "C".into(),
            dimension_separator: "/".into(),
            attributes: v
                .get("attributes")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            v3_codecs: Some(codecs),
            dimension_names,
        })
    }

    fn to_json_v3(&self, at: &str) -> Result<Value> {
        self.zarr_json(at)
    }

    /// The `.zarray` document (without attributes).
    pub fn zarray(&self) -> Value {
        json!({
            "zarr_format": 2,
            "shape": self.shape,
            "chunks": self.chunks,
            "dtype": self.dtype,
            "fill_value": self.fill_value,
            "compressor": self.compressor,
            "filters": self.filters,
            "order": self.order,
            "dimension_separator": self.dimension_separator,
        })
    }

    fn from_json(v: &Map<String, Value>, at: &str) -> Result<Self> {
        if v.contains_key("data_type") || v.get("zarr_format").and_then(Value::as_u64) == Some(3) {
            return Self::from_json_v3(v, at);
        }
        let list = |k: &str| int_list(k, v.get(k), at);
        let shape = list("shape")?;
        let chunks = list("chunks")?;
        if chunks.len() != shape.len() {
            return Err(Error::invalid(at, "shape and chunks differ in length"));
        }
        Ok(ArraySpec {
            shape,
            chunks,
            dtype: v
                .get("dtype")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::invalid(at, "array without a string \"dtype\""))?
                .to_string(),
            fill_value: v.get("fill_value").cloned().unwrap_or(Value::Null),
            compressor: v.get("compressor").cloned().unwrap_or(Value::Null),
            filters: v.get("filters").cloned().unwrap_or(Value::Null),
            order: v
                .get("order")
                .and_then(Value::as_str)
                .unwrap_or("C")
                .to_string(),
            dimension_separator: v
                .get("dimension_separator")
                .and_then(Value::as_str)
                .unwrap_or(".")
                .to_string(),
            attributes: v
                .get("attributes")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            v3_codecs: None,
            dimension_names: None,
        })
    }

    fn to_json(&self) -> Value {
        let mut z = self.zarray();
        z["attributes"] = Value::Object(self.attributes.clone());
        z
    }
}

impl GroupSpec {
    /// The Zarr version of a pydantic-zarr `GroupSpec` document (`zarr_format`, 2 when absent).
    pub fn format_of(v: &Value, at: &str) -> Result<ZarrFormat> {
        match v.get("zarr_format").and_then(Value::as_u64) {
            None | Some(2) => Ok(ZarrFormat::V2),
            Some(3) => Ok(ZarrFormat::V3),
            Some(f) => Err(Error::invalid(
                at,
                format!("layouts must be Zarr v2 or v3 GroupSpec documents (zarr_format {f})"),
            )),
        }
    }

    /// Parse a pydantic-zarr `GroupSpec` document of either version (v3 members are told apart by
    /// `node_type`, v2 arrays by their `shape`).
    pub fn from_json(v: &Value, at: &str) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid(at, "a group must be a JSON object"))?;
        Self::format_of(v, at)?;
        let attributes = obj
            .get("attributes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut members = BTreeMap::new();
        if let Some(m) = obj.get("members").and_then(Value::as_object) {
            for (name, child) in m {
                check_member_name(name, at)?;
                let child_at = format!("{at}/{name}");
                let co = child
                    .as_object()
                    .ok_or_else(|| Error::invalid(&child_at, "a member must be a JSON object"))?;
                let is_array = match co.get("node_type").and_then(Value::as_str) {
                    Some(t) => t == "array",
                    None => co.contains_key("shape"),
                };
                let node = if is_array {
                    LayoutNode::Array(ArraySpec::from_json(co, &child_at)?)
                } else {
                    LayoutNode::Group(GroupSpec::from_json(child, &child_at)?)
                };
                members.insert(name.clone(), node);
            }
        }
        Ok(GroupSpec {
            attributes,
            members,
        })
    }

    /// Read a layout file.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_file_with_format(path).map(|(g, _)| g)
    }

    /// Read a layout file and say which Zarr version it describes.
    pub fn from_file_with_format(path: &Path) -> Result<(Self, ZarrFormat)> {
        let at = show(path);
        if !path.exists() {
            return Err(Error::NotFound { path: at });
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&at, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::invalid(&at, format!("not valid JSON ({e})")))?;
        let format = Self::format_of(&v, &at)?;
        Ok((Self::from_json(&v, &at)?, format))
    }

    /// The layout as a pydantic-zarr v2 `GroupSpec` document.
    pub fn to_json(&self) -> Value {
        let members: Map<String, Value> = self
            .members
            .iter()
            .map(|(k, n)| {
                let v = match n {
                    LayoutNode::Group(g) => g.to_json(),
                    LayoutNode::Array(a) => a.to_json(),
                };
                (k.clone(), v)
            })
            .collect();
        json!({"attributes": self.attributes, "members": members, "zarr_format": 2})
    }

    /// Every node with its absolute path, parents before children.
    pub fn walk(&self) -> Vec<(String, &LayoutNode)> {
        fn rec<'a>(g: &'a GroupSpec, base: &str, out: &mut Vec<(String, &'a LayoutNode)>) {
            for (name, node) in &g.members {
                let p = if base == "/" {
                    format!("/{name}")
                } else {
                    format!("{base}/{name}")
                };
                out.push((p.clone(), node));
                if let LayoutNode::Group(child) = node {
                    rec(child, &p, out);
                }
            }
        }
        let mut out = Vec::new();
        rec(self, "/", &mut out);
        out
    }

    /// A member by absolute path.
    pub fn get(&self, path: &str) -> Option<&LayoutNode> {
        let mut parts = path.trim_matches('/').split('/').filter(|s| !s.is_empty());
        let first = parts.next()?;
        let mut node = self.members.get(first)?;
        for p in parts {
            match node {
                LayoutNode::Group(g) => node = g.members.get(p)?,
                LayoutNode::Array(_) => return None,
            }
        }
        Some(node)
    }

    /// Mutable access to a member by absolute path.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut LayoutNode> {
        let mut parts = path.trim_matches('/').split('/').filter(|s| !s.is_empty());
        let first = parts.next()?;
        let mut node = self.members.get_mut(first)?;
        for p in parts {
            match node {
                LayoutNode::Group(g) => node = g.members.get_mut(p)?,
                LayoutNode::Array(_) => return None,
            }
        }
        Some(node)
    }

    /// Every array (path, spec).
    pub fn arrays(&self) -> Vec<(String, &ArraySpec)> {
        self.walk()
            .into_iter()
            .filter_map(|(p, n)| match n {
                LayoutNode::Array(a) => Some((p, a)),
                LayoutNode::Group(_) => None,
            })
            .collect()
    }

    /// The layout as a pydantic-zarr v3 `GroupSpec` document.
    pub fn to_json_v3(&self, at: &str) -> Result<Value> {
        let mut members = Map::new();
        for (k, n) in &self.members {
            let v = match n {
                LayoutNode::Group(g) => g.to_json_v3(at)?,
                LayoutNode::Array(a) => a.to_json_v3(&format!("{at}/{k}"))?,
            };
            members.insert(k.clone(), v);
        }
        Ok(
            json!({"attributes": self.attributes, "members": members, "node_type": "group", "zarr_format": 3}),
        )
    }

    /// Write the layout's metadata as a Zarr store of `format` at `path` (see
    /// [`GroupSpec::materialise`] and [`GroupSpec::materialise_v3`]).
    pub fn materialise_as(&self, path: &Path, format: ZarrFormat) -> Result<Arc<FilesystemStore>> {
        match format {
            ZarrFormat::V2 => self.materialise(path),
            ZarrFormat::V3 => self.materialise_v3(path),
        }
    }

    /// Write the layout's metadata as a Zarr v3 store at `path`: a `zarr.json` per node and the
    /// whole tree again as consolidated metadata inline in the root `zarr.json` (zarr-python's
    /// `consolidate_metadata`). No chunk data: every array reads as its fill value.
    pub fn materialise_v3(&self, path: &Path) -> Result<Arc<FilesystemStore>> {
        let (store, at) = fresh_store(path)?;
        let mut consolidated = Map::new();
        for (p, node) in self.walk() {
            let rel = p.trim_start_matches('/');
            let doc = match node {
                LayoutNode::Group(g) => {
                    json!({"zarr_format": 3, "node_type": "group", "attributes": g.attributes})
                }
                LayoutNode::Array(a) => {
                    let doc = a.zarr_json(&format!("{at}{p}"))?;
                    // Check that zarrs can handle the array before writing its document.
                    v3_array(store.clone(), &p, &doc)
                        .map_err(|e| Error::invalid(format!("{at}{p}"), e))?;
                    doc
                }
            };
            put_json(&*store, &format!("{rel}/zarr.json"), &doc, &at)?;
            consolidated.insert(rel.to_string(), doc);
        }
        let root = json!({
            "zarr_format": 3,
            "node_type": "group",
            "attributes": self.attributes,
            "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": consolidated},
        });
        put_json(&*store, "zarr.json", &root, &at)?;
        Ok(store)
    }

    /// Write the layout's metadata as a Zarr v2 store at `path` (no chunk data: every array reads
    /// as its fill value), with consolidated `.zmetadata`. Returns the opened store.
    pub fn materialise(&self, path: &Path) -> Result<Arc<FilesystemStore>> {
        let (store, at) = fresh_store(path)?;
        let mut consolidated = Map::new();
        write_group_docs(&store, "", &self.attributes, &mut consolidated, &at)?;
        for (p, node) in self.walk() {
            let rel = p.trim_start_matches('/');
            match node {
                LayoutNode::Group(g) => {
                    write_group_docs(&store, rel, &g.attributes, &mut consolidated, &at)?
                }
                LayoutNode::Array(a) => {
                    // Check that zarrs can handle the array before writing its documents.
                    v2_array(store.clone(), &p, &a.zarray())
                        .map_err(|e| Error::invalid(format!("{at}{p}"), e))?;
                    put_json(&*store, &format!("{rel}/.zarray"), &a.zarray(), &at)?;
                    consolidated.insert(format!("{rel}/.zarray"), a.zarray());
                    if !a.attributes.is_empty() {
                        let attrs = Value::Object(a.attributes.clone());
                        put_json(&*store, &format!("{rel}/.zattrs"), &attrs, &at)?;
                        consolidated.insert(format!("{rel}/.zattrs"), attrs);
                    }
                }
            }
        }
        let zmeta = json!({"metadata": consolidated, "zarr_consolidated_format": 1});
        put_json(&*store, ".zmetadata", &zmeta, &at)?;
        Ok(store)
    }
}

/// A list of non-negative integers named `k` (`shape`, `chunks`, …) of the array at `at`.
fn int_list(k: &str, x: Option<&Value>, at: &str) -> Result<Vec<u64>> {
    x.and_then(Value::as_array)
        .ok_or_else(|| Error::invalid(at, format!("array without a \"{k}\" list")))?
        .iter()
        .map(|x| {
            x.as_u64()
                .ok_or_else(|| Error::invalid(at, format!("\"{k}\" must hold integers")))
        })
        .collect()
}

/// A filesystem store at `path`, which must not exist or be empty.
fn fresh_store(path: &Path) -> Result<(Arc<FilesystemStore>, String)> {
    let at = show(path);
    if output_in_use(path)? {
        return Err(Error::Input(format!(
            "{at}: output already exists and is not empty"
        )));
    }
    std::fs::create_dir_all(path).map_err(|e| Error::io(&at, e))?;
    let store = Arc::new(FilesystemStore::new(path).map_err(|e| Error::io(&at, e))?);
    Ok((store, at))
}

fn check_member_name(name: &str, at: &str) -> Result<()> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\\')
        || name.starts_with(".z")
        || name == "zarr.json"
    {
        return Err(Error::invalid(
            at,
            format!("unsafe or reserved member name {name:?}"),
        ));
    }
    Ok(())
}

fn write_group_docs(
    store: &FilesystemStore,
    rel: &str,
    attrs: &Map<String, Value>,
    consolidated: &mut Map<String, Value>,
    at: &str,
) -> Result<()> {
    let join = |f: &str| {
        if rel.is_empty() {
            f.to_string()
        } else {
            format!("{rel}/{f}")
        }
    };
    let zgroup = json!({"zarr_format": 2});
    put_json(store, &join(".zgroup"), &zgroup, at)?;
    consolidated.insert(join(".zgroup"), zgroup);
    if !attrs.is_empty() {
        let a = Value::Object(attrs.clone());
        put_json(store, &join(".zattrs"), &a, at)?;
        consolidated.insert(join(".zattrs"), a);
    }
    Ok(())
}
