//! Reading any Zarr v2 or v3 hierarchy into a tree of groups and arrays.
//!
//! Metadata comes from consolidated metadata when the store has it (`.zmetadata` for v2, inline
//! `consolidated_metadata` in the root `zarr.json` for v3), otherwise from listing the store.
//! Array data is read through `zarrs` (Blosc with bit-shuffle and `.` separators included), chunk by
//! chunk, so that a broken chunk is reported with its array path and chunk index.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use zarrs::array::{Array, ArraySubset, ElementOwned};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{ReadableListableStorage, StoreKey, StorePrefix};

use crate::error::{Error, Result, show};

/// One node of a hierarchy: a group or an array, with its attributes.
#[derive(Debug, Clone)]
pub struct Node {
    /// Absolute node path, `/` for the root, `/measurements/reflectance/r10m/b02` otherwise.
    pub path: crate::node_path::NodePath,
    /// User attributes (`.zattrs` for v2, `attributes` for v3).
    pub attributes: Map<String, Value>,
    /// Group or array.
    pub kind: NodeKind,
}

/// Whether a node is a group or an array.
#[derive(Debug, Clone)]
pub enum NodeKind {
    Group,
    Array(Box<ArrayMeta>),
}

/// The parts of an array's metadata a user looks at.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArrayMeta {
    pub shape: Vec<u64>,
    /// Data type as the metadata spells it (`<u2` for v2, `uint16` for v3), for display.
    pub dtype: String,
    /// The data type, parsed once (what code matches on; reports show `dtype`).
    #[serde(skip)]
    pub data_type: crate::dtype::DataType,
    /// Read chunk shape: the inner chunk when sharded.
    pub chunks: Vec<u64>,
    /// Shard shape when the array uses `sharding_indexed`.
    pub shard_shape: Option<Vec<u64>>,
    /// Human-readable codec chain (filters, compressor / codecs).
    pub codecs: Vec<String>,
    pub fill_value: Value,
    /// `dimension_names` (v3) or `_ARRAY_DIMENSIONS` (v2).
    pub dimension_names: Option<Vec<String>>,
    /// The whole metadata document (`zarr.json` for v3, `.zarray` for v2): arrays are opened from
    /// it, without another read of the store (one request per array saved on object storage).
    #[serde(skip)]
    pub document: Value,
}

/// A whole hierarchy opened from a store.
pub struct Hierarchy {
    location: String,
    store: ReadableListableStorage,
    zarr_format: u8,
    consolidated: bool,
    nodes: BTreeMap<String, Node>,
    chunk_cache: Option<ChunkCaches>,
}

type DecodedCache = zarrs::array::chunk_cache::ChunkCacheDecodedLruSizeLimit;

/// Decoded chunks of the most recently read unsharded arrays, kept for region reads smaller than
/// a chunk (the map's 512-pixel tiles of an EOPF product whose chunks are 1830² to 5490²): the
/// first read decodes a chunk, the next ones cut their region from it.
struct ChunkCaches {
    per_array: u64,
    arrays: usize,
    /// Most recently used last.
    caches: std::sync::Mutex<Vec<(String, Arc<DecodedCache>)>>,
}

impl ChunkCaches {
    fn get(&self, h: &Hierarchy, path: &str) -> Option<Arc<DecodedCache>> {
        let mut g = self.caches.lock().ok()?;
        if let Some(i) = g.iter().position(|(p, _)| p == path) {
            let e = g.remove(i);
            let c = e.1.clone();
            g.push(e);
            return Some(c);
        }
        let array = Arc::new(h.open_array(path).ok()?);
        let c = Arc::new(DecodedCache::new(array, self.per_array));
        g.push((path.to_string(), c.clone()));
        if g.len() > self.arrays {
            g.remove(0);
        }
        Some(c)
    }
}

impl std::fmt::Debug for Hierarchy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hierarchy")
            .field("location", &self.location)
            .field("zarr_format", &self.zarr_format)
            .field("consolidated", &self.consolidated)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

fn key(path: &str, location: &str) -> Result<StoreKey> {
    StoreKey::new(path).map_err(|e| Error::invalid(format!("{location}/{path}"), e))
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Relative store prefix of a node path (`/a/b` → `a/b/`, `/` → ``).
fn rel(path: &str) -> &str {
    path.trim_start_matches('/')
}

fn store_key_for(node: &str, file: &str) -> String {
    let r = rel(node);
    if r.is_empty() {
        file.to_string()
    } else {
        format!("{r}/{file}")
    }
}

impl Hierarchy {
    /// Open a Zarr hierarchy (v2 or v3): a local folder, `s3://bucket/key` or an `http(s)://`
    /// URL (see [`crate::storage::Location`]).
    pub fn open(path: impl crate::storage::ToLocation) -> Result<Self> {
        let path = match path.to_location()? {
            crate::storage::Location::Local(p) => p,
            remote => {
                let (store, location) = crate::storage::open_read(&remote)?;
                return Self::open_store(store, location);
            }
        };
        let path = path.as_path();
        let location = show(path);
        if !path.exists() {
            return Err(Error::NotFound { path: location });
        }
        if !path.is_dir() {
            return Err(Error::NotZarr {
                path: location,
                reason: "it is a file, a Zarr store is a directory".into(),
            });
        }
        let store = FilesystemStore::new(path).map_err(|e| Error::io(&location, e))?;
        Self::open_store(Arc::new(store), location)
    }

    /// Open a hierarchy from any readable and listable `zarrs` store.
    pub fn open_store(store: ReadableListableStorage, location: String) -> Result<Self> {
        crate::codecs::register();
        let mut h = Hierarchy {
            location,
            store,
            zarr_format: 0,
            consolidated: false,
            nodes: BTreeMap::new(),
            chunk_cache: None,
        };
        if let Some(root) = h.get_json("zarr.json")? {
            h.zarr_format = 3;
            let node = h.node_from_v3("/", &root)?;
            let consolidated = root
                .get("consolidated_metadata")
                .and_then(|c| c.get("metadata"))
                .and_then(Value::as_object)
                .cloned();
            let is_group = matches!(node.kind, NodeKind::Group);
            h.nodes.insert("/".into(), node);
            match consolidated {
                Some(meta) if is_group => {
                    if meta.len() > limits::NODES {
                        return Err(Error::invalid(
                            format!("{}/zarr.json", h.location),
                            format!("consolidated metadata of more than {} nodes", limits::NODES),
                        ));
                    }
                    h.consolidated = true;
                    for (k, v) in &meta {
                        check_node_key(k, &h.location)?;
                        let p = format!("/{}", k.trim_matches('/'));
                        let n = h.node_from_v3(&p, v)?;
                        h.nodes.insert(p, n);
                    }
                }
                _ if is_group => h.list_v3("/")?,
                _ => {}
            }
        } else if h.has("/", ".zgroup")? || h.has("/", ".zarray")? {
            h.zarr_format = 2;
            if let Some(zmeta) = h.get_json(".zmetadata")? {
                h.consolidated = true;
                h.read_v2_consolidated(&zmeta)?;
            } else {
                h.read_v2_node("/")?;
            }
        } else {
            return Err(Error::NotZarr {
                path: h.location.clone(),
                reason: "no .zgroup, .zarray or zarr.json at its root".into(),
            });
        }
        Ok(h)
    }

    /// Whether the store is a local folder (not `s3://` or `http(s)://`).
    fn location_is_local(&self) -> bool {
        !crate::storage::is_remote(self.location.as_str())
    }

    fn has(&self, node: &str, file: &str) -> Result<bool> {
        let k = key(&store_key_for(node, file), &self.location)?;
        let size = self
            .store
            .size_key(&k)
            .map_err(|e| Error::io(format!("{}/{}", self.location, k.as_str()), e))?;
        Ok(size.is_some())
    }

    fn get_json(&self, k: &str) -> Result<Option<Value>> {
        let sk = key(k, &self.location)?;
        let full = format!("{}/{}", self.location, k);
        // The size first: a metadata document is never read whole past the limit. (A local
        // file's size is one stat; object stores check it from the answer's headers themselves,
        // without an extra request.)
        if self.location_is_local()
            && let Some(size) = self.store.size_key(&sk).map_err(|e| Error::io(&full, e))?
            && size > limits::METADATA_BYTES
        {
            return Err(Error::invalid(
                &full,
                format!(
                    "metadata document of {size} bytes, above the limit of {} bytes",
                    limits::METADATA_BYTES
                ),
            ));
        }
        let Some(bytes) = self.store.get(&sk).map_err(|e| Error::io(&full, e))? else {
            return Ok(None);
        };
        parse_json(&bytes, &full).map(Some)
    }

    fn read_v2_consolidated(&mut self, zmeta: &Value) -> Result<()> {
        let loc = format!("{}/.zmetadata", self.location);
        let meta = zmeta
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::invalid(&loc, "no \"metadata\" object"))?;
        if meta.len() > 3 * limits::NODES {
            return Err(Error::invalid(
                &loc,
                format!("consolidated metadata of more than {} nodes", limits::NODES),
            ));
        }
        // Collect documents per node.
        // Per node: (.zgroup, .zarray, .zattrs).
        type Docs<'a> = (Option<&'a Value>, Option<&'a Value>, Option<&'a Value>);
        let mut docs: BTreeMap<String, Docs<'_>> = BTreeMap::new();
        for (k, v) in meta {
            check_node_key(k, &loc)?;
            let (dir, file) = match k.rsplit_once('/') {
                Some((d, f)) => (format!("/{d}"), f),
                None => ("/".to_string(), k.as_str()),
            };
            let e = docs.entry(dir).or_default();
            match file {
                ".zgroup" => e.0 = Some(v),
                ".zarray" => e.1 = Some(v),
                ".zattrs" => e.2 = Some(v),
                _ => {}
            }
        }
        for (p, (g, a, attrs)) in docs {
            let attributes = match attrs {
                Some(Value::Object(m)) => m.clone(),
                Some(_) => {
                    return Err(Error::invalid(
                        &loc,
                        format!("{p}/.zattrs is not an object"),
                    ));
                }
                None => Map::new(),
            };
            let kind = match (g, a) {
                (_, Some(arr)) => NodeKind::Array(Box::new(array_meta_v2(
                    arr,
                    &attributes,
                    &format!("{}{p}/.zarray (in .zmetadata)", self.location),
                )?)),
                (Some(_), None) => NodeKind::Group,
                (None, None) => continue,
            };
            self.nodes.insert(
                p.clone(),
                Node {
                    path: crate::node_path::NodePath::from_clean(&p),
                    attributes,
                    kind,
                },
            );
        }
        if !self.nodes.contains_key("/") {
            return Err(Error::invalid(&loc, "no root .zgroup or .zarray"));
        }
        Ok(())
    }

    fn check_node_count(&self) -> Result<()> {
        if self.nodes.len() > limits::NODES {
            return Err(Error::invalid(
                &self.location,
                format!("more than {} nodes", limits::NODES),
            ));
        }
        Ok(())
    }

    fn read_v2_node(&mut self, path: &str) -> Result<()> {
        check_depth(path, &self.location)?;
        self.check_node_count()?;
        let attrs_key = store_key_for(path, ".zattrs");
        let attributes = match self.get_json(&attrs_key)? {
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(Error::invalid(
                    format!("{}/{attrs_key}", self.location),
                    "attributes are not a JSON object",
                ));
            }
            None => Map::new(),
        };
        let zarray_key = store_key_for(path, ".zarray");
        if let Some(arr) = self.get_json(&zarray_key)? {
            let meta = array_meta_v2(
                &arr,
                &attributes,
                &format!("{}/{zarray_key}", self.location),
            )?;
            self.nodes.insert(
                path.to_string(),
                Node {
                    path: crate::node_path::NodePath::from_clean(path),
                    attributes,
                    kind: NodeKind::Array(Box::new(meta)),
                },
            );
            return Ok(());
        }
        let zgroup_key = store_key_for(path, ".zgroup");
        let Some(g) = self.get_json(&zgroup_key)? else {
            return Ok(());
        };
        if g.get("zarr_format").and_then(Value::as_u64) != Some(2) {
            return Err(Error::invalid(
                format!("{}/{zgroup_key}", self.location),
                "zarr_format is not 2",
            ));
        }
        self.nodes.insert(
            path.to_string(),
            Node {
                path: crate::node_path::NodePath::from_clean(path),
                attributes,
                kind: NodeKind::Group,
            },
        );
        for name in self.child_dirs(path)? {
            self.read_v2_node(&child_path(path, &name))?;
        }
        Ok(())
    }

    fn child_dirs(&self, path: &str) -> Result<Vec<String>> {
        let r = rel(path);
        let prefix = if r.is_empty() {
            StorePrefix::root()
        } else {
            StorePrefix::new(format!("{r}/")).map_err(|e| Error::invalid(&self.location, e))?
        };
        let listing = self
            .store
            .list_dir(&prefix)
            .map_err(|e| Error::io(format!("{}/{}", self.location, r), e))?;
        Ok(listing
            .prefixes()
            .iter()
            .filter_map(|p| {
                p.as_str()
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .map(str::to_string)
            })
            .collect())
    }

    fn list_v3(&mut self, path: &str) -> Result<()> {
        check_depth(path, &self.location)?;
        self.check_node_count()?;
        for name in self.child_dirs(path)? {
            let child = child_path(path, &name);
            let k = store_key_for(&child, "zarr.json");
            let Some(doc) = self.get_json(&k)? else {
                continue;
            };
            let node = self.node_from_v3(&child, &doc)?;
            let is_group = matches!(node.kind, NodeKind::Group);
            self.nodes.insert(child.clone(), node);
            if is_group {
                self.list_v3(&child)?;
            }
        }
        Ok(())
    }

    fn node_from_v3(&self, path: &str, doc: &Value) -> Result<Node> {
        let loc = format!("{}/{}", self.location, store_key_for(path, "zarr.json"));
        if doc.get("zarr_format").and_then(Value::as_u64) != Some(3) {
            return Err(Error::invalid(&loc, "zarr_format is not 3"));
        }
        let attributes = match doc.get("attributes") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(Error::invalid(&loc, "attributes are not a JSON object")),
        };
        let kind = match doc.get("node_type").and_then(Value::as_str) {
            Some("group") => NodeKind::Group,
            Some("array") => NodeKind::Array(Box::new(array_meta_v3(doc, &loc)?)),
            other => {
                return Err(Error::invalid(
                    &loc,
                    format!("node_type must be \"group\" or \"array\", found {other:?}"),
                ));
            }
        };
        Ok(Node {
            path: crate::node_path::NodePath::from_clean(path),
            attributes,
            kind,
        })
    }

    /// Where the hierarchy was opened from.
    pub fn location(&self) -> &str {
        &self.location
    }
    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        self.zarr_format
    }
    /// Whether the tree came from consolidated metadata.
    pub fn consolidated(&self) -> bool {
        self.consolidated
    }
    /// The root node.
    pub fn root(&self) -> &Node {
        &self.nodes["/"]
    }
    /// A node by absolute path (`/a/b`; a missing leading `/` is accepted).
    pub fn node(&self, path: &str) -> Option<&Node> {
        let p = normalize_node_path(path);
        self.nodes.get(&p)
    }
    /// All nodes in path order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }
    /// Names of a group's direct children, sorted.
    pub fn children(&self, path: &str) -> Vec<&Node> {
        let p = normalize_node_path(path);
        let prefix = if p == "/" {
            "/".to_string()
        } else {
            format!("{p}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| k.len() > prefix.len() && !k[prefix.len()..].contains('/'))
            .map(|(_, n)| n)
            .collect()
    }
    /// Array metadata of a node, or an error naming the path.
    pub fn array_meta(&self, path: &str) -> Result<&ArrayMeta> {
        match self.node(path).map(|n| &n.kind) {
            Some(NodeKind::Array(m)) => Ok(m),
            Some(NodeKind::Group) => Err(Error::Missing {
                path: format!("{}{}", self.location, normalize_node_path(path)),
                what: "array (this node is a group)".into(),
            }),
            None => Err(Error::Missing {
                path: format!("{}{}", self.location, normalize_node_path(path)),
                what: "array".into(),
            }),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &ReadableListableStorage {
        &self.store
    }

    /// Open an array with `zarrs`; unsupported codecs and data types are reported with the path.
    pub fn open_array(
        &self,
        path: &str,
    ) -> Result<Array<dyn zarrs::storage::ReadableStorageTraits>> {
        let p = normalize_node_path(path);
        let m = self.array_meta(&p)?;
        let doc = m.document.clone();
        let storage: Arc<dyn zarrs::storage::ReadableStorageTraits> = self.store.clone().readable();
        let full = format!("{}{}", self.location, p);
        // From the metadata already read (consolidated or listed): no second read of the store.
        let meta = if self.zarr_format == 2 {
            match blosc_v2_as_v3(&doc, &m.data_type) {
                Some(m3) => Some(zarrs::array::ArrayMetadata::V3(m3)),
                None => serde_json::from_value::<zarrs::array::ArrayMetadataV2>(doc)
                    .ok()
                    .map(zarrs::array::ArrayMetadata::V2),
            }
        } else {
            serde_json::from_value::<zarrs::array::ArrayMetadataV3>(doc)
                .ok()
                .map(zarrs::array::ArrayMetadata::V3)
        };
        let opened = match meta {
            Some(m) => Array::new_with_metadata(storage.clone(), &p, m),
            None => Array::open(storage.clone(), &p),
        };
        match opened {
            Ok(a) => Ok(a),
            Err(e) if self.zarr_format == 2 => {
                // zarrs rejects some fill values EOPF writes (`null` for `<U7`, `|b1`, …): retry
                // with the dtype's zero as fill, which only matters for missing chunks.
                let k = store_key_for(&p, ".zarray");
                match self.get_json(&k)? {
                    Some(doc) if doc.get("fill_value").is_some_and(Value::is_null) => {
                        v2_array(storage, &p, &doc).map_err(|_| classify_open_error(&full, e))
                    }
                    _ => Err(classify_open_error(&full, e)),
                }
            }
            Err(e) => Err(classify_open_error(&full, e)),
        }
    }

    /// Read a whole array into an n-dimensional array of `T` (must match the stored type).
    pub fn read<T: ElementOwned + Clone + Default>(
        &self,
        path: &str,
    ) -> Result<ndarray::ArrayD<T>> {
        let array = self.open_array(path)?;
        let all = array.subset_all();
        read_subset(
            &array,
            &all,
            &format!("{}{}", self.location, normalize_node_path(path)),
        )
    }

    /// Keep the decoded chunks of the `arrays` most recently read unsharded arrays (at most
    /// `bytes_per_array` each) for [`Hierarchy::read_region`]. Sharded arrays are left out: their
    /// regions are decoded inner chunk by inner chunk already.
    pub fn with_chunk_cache(mut self, bytes_per_array: u64, arrays: usize) -> Self {
        self.chunk_cache = Some(ChunkCaches {
            per_array: bytes_per_array,
            arrays: arrays.max(1),
            caches: std::sync::Mutex::new(Vec::new()),
        });
        self
    }

    /// Read a region (`ranges` per dimension) of an array.
    pub fn read_region<T: ElementOwned + Clone + Default>(
        &self,
        path: &str,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<ndarray::ArrayD<T>> {
        if let Some(caches) = &self.chunk_cache
            && self
                .array_meta(path)
                .is_ok_and(|m| m.shard_shape.is_none() && !m.shape.is_empty())
            && let Some(cache) = caches.get(self, &normalize_node_path(path))
        {
            use zarrs::array::chunk_cache::ChunkCache;
            let subset = ArraySubset::new_with_ranges(ranges);
            // On an error the region is read again below, so that the error names the chunk.
            if let Ok(a) = cache.retrieve_array_subset::<ndarray::ArrayD<T>>(
                &subset,
                &zarrs::array::CodecOptions::default(),
            ) {
                return Ok(a);
            }
        }
        let array = self.open_array(path)?;
        let subset = ArraySubset::new_with_ranges(ranges);
        read_subset(
            &array,
            &subset,
            &format!("{}{}", self.location, normalize_node_path(path)),
        )
    }

    /// Read a region of any fixed-size numeric or boolean array as little-endian bytes (C order),
    /// chunk by chunk; other data types (strings) are read whole through `zarrs`.
    pub fn read_region_bytes(
        &self,
        path: &str,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<u8>> {
        fn le<T: ElementOwned + Clone + Default + bytemuck::Pod>(
            h: &Hierarchy,
            path: &str,
            ranges: &[std::ops::Range<u64>],
        ) -> Result<Vec<u8>> {
            let a = h.read_region::<T>(path, ranges)?;
            let v: Vec<T> = a.iter().cloned().collect();
            Ok(bytemuck::cast_slice(&v).to_vec())
        }
        use crate::dtype::DataType as D;
        match self.array_meta(path)?.data_type {
            D::U8 => le::<u8>(self, path, ranges),
            D::I8 => le::<i8>(self, path, ranges),
            D::U16 => le::<u16>(self, path, ranges),
            D::I16 => le::<i16>(self, path, ranges),
            D::U32 => le::<u32>(self, path, ranges),
            D::I32 => le::<i32>(self, path, ranges),
            D::F32 => le::<f32>(self, path, ranges),
            D::U64 => le::<u64>(self, path, ranges),
            D::I64 => le::<i64>(self, path, ranges),
            D::F64 => le::<f64>(self, path, ranges),
            _ => {
                let array = self.open_array(path)?;
                let at = format!("{}{}", self.location, normalize_node_path(path));
                let subset = ArraySubset::new_with_ranges(ranges);
                let bytes: zarrs::array::ArrayBytes = array
                    .retrieve_array_subset(&subset)
                    .map_err(|e| chunk_error(&at, &[], e))?;
                Ok(bytes
                    .into_fixed()
                    .map_err(|e| Error::invalid(&at, e))?
                    .into_owned())
            }
        }
    }

    /// A reader of regions of one array through a shared LRU cache of decoded chunks (bounded
    /// by `capacity` bytes), so that regions smaller than a chunk do not decode it again.
    pub fn region_reader(&self, path: &str, capacity: u64) -> Result<RegionReader<'_>> {
        let array = Arc::new(self.open_array(path)?);
        Ok(RegionReader {
            h: self,
            path: normalize_node_path(path),
            cache: zarrs::array::chunk_cache::ChunkCacheDecodedLruSizeLimit::new(array, capacity),
        })
    }

    /// Check that every array's codecs and data type can be decoded by this build.
    pub fn check_decodable(&self) -> Result<()> {
        for n in self.nodes.values() {
            if matches!(n.kind, NodeKind::Array(_)) {
                self.open_array(&n.path)?;
            }
        }
        Ok(())
    }
}

/// A Blosc-compressed v2 array's metadata converted to v3 by zarrs, so that its codecs come from
/// the plugin registry (`crate::codecs`: large chunks decoded on several threads); an integer
/// `null` fill becomes 0, what zarrs's conversion maps it to (with a warning). `None` for anything
/// else, which is opened as v2.
fn blosc_v2_as_v3(
    doc: &Value,
    data_type: &crate::dtype::DataType,
) -> Option<zarrs::array::ArrayMetadataV3> {
    if doc["compressor"]["id"] != "blosc" {
        return None;
    }
    let mut doc = doc.clone();
    if doc["fill_value"].is_null() {
        if !data_type.is_integer() {
            return None;
        }
        doc["fill_value"] = Value::from(0);
    }
    let m2: zarrs::array::ArrayMetadataV2 = serde_json::from_value(doc).ok()?;
    zarrs::convert::array_metadata_v2_to_v3(&m2).ok()
}

/// The fill value `zarrs` accepts for a v2 dtype when the metadata says `null`.
fn zero_fill(dtype: &str) -> Value {
    use crate::dtype::DataType as D;
    match D::parse(dtype) {
        D::Bytes(_) | D::Unicode(_) => Value::String(String::new()),
        D::Bool => Value::Bool(false),
        D::F32 | D::F64 => serde_json::json!(0.0),
        // (other spellings of strings, bools and floats, as v2 writers do)
        D::Other(s) => match s.trim_start_matches(['<', '>', '|', '=']).chars().next() {
            Some('U' | 'S') => Value::String(String::new()),
            Some('b') => Value::Bool(false),
            Some('f') => serde_json::json!(0.0),
            _ => serde_json::json!(0),
        },
        _ => serde_json::json!(0),
    }
}

/// A `zarrs` array over a Zarr v2 `.zarray` document, with a `null` fill value replaced by the
/// dtype's zero (zarrs rejects `null` for some dtypes; EOPF writes it for strings, masks, …).
pub fn v2_array<S: ?Sized>(storage: Arc<S>, path: &str, zarray: &Value) -> Result<Array<S>> {
    let mut doc = zarray.clone();
    if doc.get("fill_value").is_none_or(Value::is_null) {
        let dtype = doc.get("dtype").and_then(Value::as_str).unwrap_or("");
        doc["fill_value"] = zero_fill(dtype);
    }
    let meta: zarrs::array::ArrayMetadataV2 =
        serde_json::from_value(doc).map_err(|e| Error::invalid(path, e))?;
    Array::new_with_metadata(storage, path, zarrs::array::ArrayMetadata::V2(meta))
        .map_err(|e| classify_open_error(path, e))
}

/// A `zarrs` array over a Zarr v3 array document (`zarr.json`).
pub fn v3_array<S: ?Sized>(storage: Arc<S>, path: &str, doc: &Value) -> Result<Array<S>> {
    let meta: zarrs::array::ArrayMetadataV3 =
        serde_json::from_value(doc.clone()).map_err(|e| Error::invalid(path, e))?;
    Array::new_with_metadata(storage, path, zarrs::array::ArrayMetadata::V3(meta))
        .map_err(|e| classify_open_error(path, e))
}

/// Reject consolidated-metadata keys that would name a node outside the store (`..`, `.`, empty
/// or absolute segments, backslashes): a converter writing such a node would write outside its
/// output.
fn check_node_key(key: &str, location: &str) -> Result<()> {
    check_depth(key, location)?;
    let bad = key.starts_with('/')
        || key.contains('\\')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(Error::invalid(
            location,
            format!(
                "unsafe node name {key:?} in consolidated metadata (absolute, empty, `.` or `..` segment)"
            ),
        ));
    }
    Ok(())
}

/// A node path deeper than [`limits::DEPTH`] is an error (no recursion or allocation follows it).
fn check_depth(path: &str, location: &str) -> Result<()> {
    let depth = path.split('/').filter(|s| !s.is_empty()).count();
    if depth > limits::DEPTH {
        return Err(Error::invalid(
            location,
            format!(
                "node {:?}… is {depth} levels deep, above the limit of {}",
                path.chars().take(80).collect::<String>(),
                limits::DEPTH
            ),
        ));
    }
    Ok(())
}

/// `a/b` and `/a/b/` → `/a/b`; `` → `/` (as a [`crate::node_path::NodePath`]).
pub fn normalize_node_path(path: &str) -> String {
    crate::node_path::NodePath::from_clean(path).into()
}

fn parse_json(bytes: &[u8], path: &str) -> Result<Value> {
    // EOPF and xarray write NaN / Infinity as bare tokens in v2 metadata; accept them as strings.
    let text = std::str::from_utf8(bytes).map_err(|_| Error::invalid(path, "not UTF-8 text"))?;
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(first) => {
            let patched = patch_nonstandard_floats(text);
            serde_json::from_str(&patched)
                .map_err(|_| Error::invalid(path, format!("not valid JSON ({first})")))
        }
    }
}

/// Replace bare `NaN`, `Infinity`, `-Infinity` tokens outside strings by their string forms.
fn patch_nonstandard_floats(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        let mut matched = false;
        for tok in ["-Infinity", "Infinity", "NaN"] {
            if rest.starts_with(tok) {
                out.push('"');
                out.push_str(tok);
                out.push('"');
                rest = &rest[tok.len()..];
                matched = true;
                break;
            }
        }
        if !matched {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Limits on what metadata may declare, far above any real product (an EOPF tile: 10980² pixels,
/// chunks of at most 3 × 10980², a few hundred nodes, metadata of a few MB), so that nothing is
/// allocated in proportion to a declared size before it is known to be sane.
pub mod limits {
    /// Bytes of one metadata document (`zarr.json`, `.zmetadata`, …).
    pub const METADATA_BYTES: u64 = crate::storage::METADATA_BYTES;
    /// Dimensions of an array.
    pub const DIMENSIONS: usize = 32;
    /// Elements of an array.
    pub const ELEMENTS: u64 = 1 << 40;
    /// Elements of one chunk (or inner chunk of a shard): 4 GiB of float32.
    pub const CHUNK_ELEMENTS: u64 = 1 << 30;
    /// Chunks (or shards) of an array.
    pub const CHUNKS: u64 = 1 << 31;
    /// Nodes of a hierarchy.
    pub const NODES: usize = 1 << 20;
    /// Depth of a node path (`/a/b/c` is 3).
    pub const DEPTH: usize = 64;
}

/// Check an array's declared shape and chunk shape against [`limits`]: a clear error naming the
/// array instead of an allocation of the declared size.
fn check_declared(shape: &[u64], chunks: &[u64], what: &str, loc: &str) -> Result<()> {
    let bad = |msg: String| Err(Error::invalid(loc, msg));
    if shape.len() > limits::DIMENSIONS {
        return bad(format!(
            "{} dimensions, above the limit of {}",
            shape.len(),
            limits::DIMENSIONS
        ));
    }
    if chunks.len() != shape.len() {
        return bad(format!(
            "{what} has {} dimensions but the shape {}",
            chunks.len(),
            shape.len()
        ));
    }
    let product = |v: &[u64]| v.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    match product(shape) {
        Some(n) if n <= limits::ELEMENTS => {}
        _ => {
            return bad(format!(
                "declared shape {shape:?} holds more than {} elements",
                limits::ELEMENTS
            ));
        }
    }
    if let Some(i) = chunks.iter().position(|&c| c == 0) {
        return bad(format!("{what} {chunks:?} is 0 along dimension {i}"));
    }
    match product(chunks) {
        Some(n) if n <= limits::CHUNK_ELEMENTS => {}
        _ => {
            return bad(format!(
                "{what} {chunks:?} holds more than {} elements",
                limits::CHUNK_ELEMENTS
            ));
        }
    }
    let grid: Vec<u64> = shape
        .iter()
        .zip(chunks)
        .map(|(s, c)| s.div_ceil(*c))
        .collect();
    match product(&grid) {
        Some(n) if n <= limits::CHUNKS => Ok(()),
        _ => bad(format!(
            "{what} {chunks:?} of shape {shape:?} makes more than {} chunks",
            limits::CHUNKS
        )),
    }
}

fn u64_list(v: Option<&Value>, what: &str, loc: &str) -> Result<Vec<u64>> {
    let arr = v
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid(loc, format!("\"{what}\" must be a list of integers")))?;
    arr.iter()
        .map(|x| {
            x.as_u64().ok_or_else(|| {
                Error::invalid(loc, format!("\"{what}\" must be a list of integers"))
            })
        })
        .collect()
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect()
    })
}

fn describe_v2_codec(c: &Value) -> String {
    let id = c.get("id").and_then(Value::as_str).unwrap_or("?");
    match id {
        "blosc" => {
            let cname = c.get("cname").and_then(Value::as_str).unwrap_or("?");
            let clevel = c.get("clevel").and_then(Value::as_i64).unwrap_or(-1);
            let shuffle = match c.get("shuffle").and_then(Value::as_i64) {
                Some(0) => "noshuffle",
                Some(1) => "shuffle",
                Some(2) => "bitshuffle",
                _ => "shuffle?",
            };
            format!("blosc({cname}, clevel={clevel}, {shuffle})")
        }
        "zstd" | "gzip" | "zlib" => {
            let level = c.get("level").and_then(Value::as_i64).unwrap_or(-1);
            format!("{id}(level={level})")
        }
        other => other.to_string(),
    }
}

fn array_meta_v2(doc: &Value, attributes: &Map<String, Value>, loc: &str) -> Result<ArrayMeta> {
    if doc.get("zarr_format").and_then(Value::as_u64) != Some(2) {
        return Err(Error::invalid(loc, "zarr_format is not 2"));
    }
    let shape = u64_list(doc.get("shape"), "shape", loc)?;
    let chunks = u64_list(doc.get("chunks"), "chunks", loc)?;
    if shape.len() != chunks.len() {
        return Err(Error::invalid(loc, "shape and chunks differ in length"));
    }
    check_declared(&shape, &chunks, "chunk shape", loc)?;
    let dtype = match doc.get("dtype") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return Err(Error::invalid(loc, "no \"dtype\"")),
    };
    let mut codecs = Vec::new();
    if let Some(filters) = doc.get("filters").and_then(Value::as_array) {
        codecs.extend(filters.iter().map(describe_v2_codec));
    }
    match doc.get("compressor") {
        Some(Value::Null) | None => {}
        Some(c) => codecs.push(describe_v2_codec(c)),
    }
    Ok(ArrayMeta {
        shape,
        data_type: crate::dtype::DataType::parse(&dtype),
        dtype,
        chunks,
        shard_shape: None,
        codecs,
        fill_value: doc.get("fill_value").cloned().unwrap_or(Value::Null),
        dimension_names: string_list(attributes.get("_ARRAY_DIMENSIONS")),
        document: doc.clone(),
    })
}

fn describe_v3_codec(c: &Value) -> String {
    let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
    let cfg = c.get("configuration");
    match (name, cfg) {
        ("blosc", Some(cfg)) => format!(
            "blosc({}, clevel={}, {})",
            cfg.get("cname").and_then(Value::as_str).unwrap_or("?"),
            cfg.get("clevel").and_then(Value::as_i64).unwrap_or(-1),
            cfg.get("shuffle").and_then(Value::as_str).unwrap_or("?")
        ),
        ("zstd" | "gzip", Some(cfg)) => format!(
            "{name}(level={})",
            cfg.get("level").and_then(Value::as_i64).unwrap_or(-1)
        ),
        ("bytes", Some(cfg)) => match cfg.get("endian").and_then(Value::as_str) {
            Some(e) => format!("bytes({e})"),
            None => "bytes".into(),
        },
        _ => name.to_string(),
    }
}

fn array_meta_v3(doc: &Value, loc: &str) -> Result<ArrayMeta> {
    let shape = u64_list(doc.get("shape"), "shape", loc)?;
    let grid_chunks = u64_list(
        doc.pointer("/chunk_grid/configuration/chunk_shape"),
        "chunk_grid.configuration.chunk_shape",
        loc,
    )?;
    let dtype = match doc.get("data_type") {
        Some(Value::String(s)) => s.clone(),
        // Extension types with a configuration (`fixed_length_utf32`, `null_terminated_bytes`)
        // have no plain name: they are spelt as the NumPy dtype EOPF writes beside them.
        Some(v @ Value::Object(o)) => crate::zarr_ext::numpy_dtype(v, loc).unwrap_or_else(|_| {
            o.get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        }),
        _ => return Err(Error::invalid(loc, "no \"data_type\"")),
    };
    let codec_list = doc
        .get("codecs")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid(loc, "\"codecs\" must be a list"))?;
    let (chunks, shard_shape, codecs) = match codec_list.first() {
        Some(first) if first.get("name").and_then(Value::as_str) == Some("sharding_indexed") => {
            let inner = u64_list(
                first.pointer("/configuration/chunk_shape"),
                "sharding_indexed.chunk_shape",
                loc,
            )?;
            let inner_codecs = first
                .pointer("/configuration/codecs")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(describe_v3_codec).collect())
                .unwrap_or_default();
            let mut c: Vec<String> = vec!["sharding_indexed".into()];
            c.extend::<Vec<String>>(inner_codecs);
            if let Some(idx) = first
                .pointer("/configuration/index_codecs")
                .and_then(Value::as_array)
            {
                c.push(format!(
                    "index: {}",
                    idx.iter()
                        .map(describe_v3_codec)
                        .collect::<Vec<_>>()
                        .join(" + ")
                ));
            }
            (inner, Some(grid_chunks), c)
        }
        _ => (
            grid_chunks,
            None,
            codec_list.iter().map(describe_v3_codec).collect(),
        ),
    };
    match &shard_shape {
        Some(shards) => {
            check_declared(&shape, shards, "shard shape", loc)?;
            check_declared(shards, &chunks, "inner chunk shape", loc)?;
        }
        None => check_declared(&shape, &chunks, "chunk shape", loc)?,
    }
    Ok(ArrayMeta {
        shape,
        data_type: crate::dtype::DataType::parse(&dtype),
        dtype,
        chunks,
        shard_shape,
        codecs,
        fill_value: doc.get("fill_value").cloned().unwrap_or(Value::Null),
        dimension_names: string_list(doc.get("dimension_names")),
        document: doc.clone(),
    })
}

fn classify_open_error(path: &str, e: zarrs::array::ArrayCreateError) -> Error {
    use zarrs::array::ArrayCreateError as E;
    let text = e.to_string();
    match &e {
        E::StorageError(s) => Error::io(path, s),
        _ if text.contains("codec") || text.contains("Codec") => Error::Unsupported {
            path: path.to_string(),
            what: "codec",
            reason: text,
        },
        _ if text.contains("data type") || text.contains("DataType") => Error::Unsupported {
            path: path.to_string(),
            what: "data type",
            reason: text,
        },
        _ => Error::invalid(path, text),
    }
}

/// Read `subset` of `array` chunk by chunk into a C-order `ndarray`.
pub fn read_subset<T: ElementOwned + Clone + Default>(
    array: &Array<dyn zarrs::storage::ReadableStorageTraits>,
    subset: &ArraySubset,
    path: &str,
) -> Result<ndarray::ArrayD<T>> {
    let out_shape: Vec<usize> = subset.shape().iter().map(|&s| s as usize).collect();
    let mut out = ndarray::ArrayD::<T>::default(ndarray::IxDyn(&out_shape));
    if subset.num_elements() == 0 {
        return Ok(out);
    }
    if array.shape().is_empty() {
        // 0-d array: one chunk with no indices.
        let v: Vec<T> = array
            .retrieve_array_subset::<Vec<T>>(subset)
            .map_err(|e| chunk_error(path, &[], e))?;
        if let Some(first) = v.into_iter().next() {
            out[ndarray::IxDyn(&[])] = first;
        }
        return Ok(out);
    }
    let chunks = array
        .chunks_in_array_subset(subset)
        .map_err(|e| Error::invalid(path, e))?
        .ok_or_else(|| Error::invalid(path, "the region is outside the array"))?;
    for idx in chunks.indices() {
        let idx: Vec<u64> = idx.to_vec();
        let chunk_subset = array
            .chunk_subset_bounded(&idx)
            .map_err(|e| chunk_error(path, &idx, e))?;
        let overlap = chunk_subset
            .overlap(subset)
            .map_err(|e| Error::invalid(path, e))?;
        if overlap.num_elements() == 0 {
            continue;
        }
        let in_chunk = overlap
            .relative_to(chunk_subset.start())
            .map_err(|e| Error::invalid(path, e))?;
        let data = array
            .retrieve_chunk_subset::<ndarray::ArrayD<T>>(&idx, &in_chunk)
            .map_err(|e| chunk_error(path, &idx, e))?;
        let rel = overlap
            .relative_to(subset.start())
            .map_err(|e| Error::invalid(path, e))?;
        let slices: Vec<ndarray::SliceInfoElem> = rel
            .to_ranges()
            .iter()
            .map(|r| ndarray::SliceInfoElem::Slice {
                start: r.start as isize,
                end: Some(r.end as isize),
                step: 1,
            })
            .collect();
        out.slice_mut(slices.as_slice()).assign(&data);
    }
    Ok(out)
}

fn chunk_error(path: &str, idx: &[u64], e: impl std::fmt::Display) -> Error {
    let chunk = if idx.is_empty() {
        "(scalar)".to_string()
    } else {
        idx.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
    };
    Error::Chunk {
        path: path.to_string(),
        chunk,
        reason: e.to_string(),
    }
}

/// Cached region reads of one array (see [`Hierarchy::region_reader`]).
pub struct RegionReader<'a> {
    h: &'a Hierarchy,
    path: String,
    cache: zarrs::array::chunk_cache::ChunkCacheDecodedLruSizeLimit,
}

impl RegionReader<'_> {
    /// Elements of a region, C order. On a decoding error the region is read again without the
    /// cache, chunk by chunk, so that the error names the broken chunk.
    pub fn read<T: ElementOwned + Clone + Default>(
        &self,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<T>> {
        use zarrs::array::chunk_cache::ChunkCache;
        let subset = ArraySubset::new_with_ranges(ranges);
        match self
            .cache
            .retrieve_array_subset::<Vec<T>>(&subset, &zarrs::array::CodecOptions::default())
        {
            Ok(v) => Ok(v),
            Err(_) => Ok(self
                .h
                .read_region::<T>(&self.path, ranges)?
                .iter()
                .cloned()
                .collect()),
        }
    }

    /// Raw little-endian bytes of a region (any fixed-size data type).
    pub fn read_bytes(&self, ranges: &[std::ops::Range<u64>]) -> Result<Vec<u8>> {
        use zarrs::array::chunk_cache::ChunkCache;
        let subset = ArraySubset::new_with_ranges(ranges);
        match self
            .cache
            .retrieve_array_subset::<zarrs::array::ArrayBytes>(
                &subset,
                &zarrs::array::CodecOptions::default(),
            ) {
            Ok(b) => match b.into_fixed() {
                Ok(raw) => Ok(raw.into_owned()),
                Err(e) => Err(Error::invalid(
                    format!("{}{}", self.h.location, self.path),
                    e,
                )),
            },
            Err(_) => self.h.read_region_bytes(&self.path, ranges),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonstandard_floats_become_strings() {
        let v = parse_json(br#"{"a": NaN, "b": "NaN x", "c": [-Infinity, 1]}"#, "t").unwrap();
        assert_eq!(v["a"], "NaN");
        assert_eq!(v["b"], "NaN x");
        assert_eq!(v["c"][0], "-Infinity");
    }

    #[test]
    fn node_paths_normalise() {
        assert_eq!(normalize_node_path("a/b/"), "/a/b");
        assert_eq!(normalize_node_path(""), "/");
        assert_eq!(normalize_node_path("/x"), "/x");
    }
}
