//! pydantic-zarr `GroupSpec` layouts (Zarr v2): the JSON dumps of whole product hierarchies found in
//! `s2_examples/` and `s1_examples/`, and the built-in demo layouts, which our code builds in the
//! same model. A layout can be scaled to another tile size and materialised as a real Zarr v2 store
//! (metadata through `zarrs`, consolidated `.zmetadata` as EOPF writes it).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use zarrs::filesystem::FilesystemStore;

use crate::error::{Error, Result, show};
use crate::hierarchy::v2_array;
use crate::storage::{output_in_use, put_json};

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

/// A Zarr v2 array as pydantic-zarr dumps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArraySpec {
    pub shape: Vec<u64>,
    pub chunks: Vec<u64>,
    pub dtype: String,
    pub fill_value: Value,
    pub compressor: Value,
    pub filters: Value,
    pub order: String,
    pub dimension_separator: String,
    pub attributes: Map<String, Value>,
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
        }
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
        let list = |k: &str| -> Result<Vec<u64>> {
            v.get(k)
                .and_then(Value::as_array)
                .ok_or_else(|| Error::invalid(at, format!("array without a \"{k}\" list")))?
                .iter()
                .map(|x| {
                    x.as_u64()
                        .ok_or_else(|| Error::invalid(at, format!("\"{k}\" must hold integers")))
                })
                .collect()
        };
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
        })
    }

    fn to_json(&self) -> Value {
        let mut z = self.zarray();
        z["attributes"] = Value::Object(self.attributes.clone());
        z
    }
}

impl GroupSpec {
    /// Parse a pydantic-zarr v2 `GroupSpec` document.
    pub fn from_json(v: &Value, at: &str) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid(at, "a group must be a JSON object"))?;
        if let Some(f) = obj.get("zarr_format").and_then(Value::as_u64)
            && f != 2
        {
            return Err(Error::invalid(
                at,
                format!("layouts must be Zarr v2 GroupSpec documents (zarr_format {f})"),
            ));
        }
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
                let node = if co.contains_key("shape") {
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
        let at = show(path);
        if !path.exists() {
            return Err(Error::NotFound { path: at });
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&at, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::invalid(&at, format!("not valid JSON ({e})")))?;
        Self::from_json(&v, &at)
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

    /// Write the layout's metadata as a Zarr v2 store at `path` (no chunk data: every array reads
    /// as its fill value), with consolidated `.zmetadata`. Returns the opened store.
    pub fn materialise(&self, path: &Path) -> Result<Arc<FilesystemStore>> {
        let at = show(path);
        if output_in_use(path)? {
            return Err(Error::Input(format!(
                "{at}: output already exists and is not empty"
            )));
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io(&at, e))?;
        let store = Arc::new(FilesystemStore::new(path).map_err(|e| Error::io(&at, e))?);
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
