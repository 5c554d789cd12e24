//! Where stores live: local folders, `s3://bucket/key` (read and write) and `http(s)://` (read
//! only), behind one path parser ([`Location`]) and the `zarrs` storage traits, so readers and
//! writers do not care. Also the reference's path helpers (`is_s3_path`, `parse_s3_path`,
//! `normalize_path`, `validate_s3_access`, `s3_path_exists`, JSON metadata read/write) and
//! `consolidate_metadata`. S3 settings: [`config`]; the object-store backend: [`object`].

pub mod config;
pub mod direct;
pub mod object;
pub mod safety;

pub use safety::JOURNAL;

/// Bytes of one metadata document (`zarr.json`, `.zmetadata`, …) a reader accepts: far above any
/// real product's (a few MB), so that a hostile one is never read whole.
pub const METADATA_BYTES: u64 = 128 << 20;

pub use config::{
    DEFAULT_CONCURRENCY, DEFAULT_MULTIPART_THRESHOLD, S3Config, mask_secrets, s3_config,
    set_s3_config,
};
pub use object::{ObjectStorage, RequestCounts, request_counts};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use zarrs::storage::{
    ListableStorageTraits, ReadableStorageTraits, StoreKey, StorePrefix, WritableStorageTraits,
};

/// The store a conversion writes to: any `zarrs` store that can read, write and list (a local
/// folder or an S3 prefix).
pub type OutStore = zarrs::storage::ReadableWritableListableStorage;

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local folder.
    Local(PathBuf),
    /// `s3://bucket/key` (`key` without leading or trailing `/`, may be empty).
    S3 { bucket: String, key: String },
    /// An `http://` or `https://` URL (read only), without a trailing `/`.
    Http(String),
}

impl Location {
    /// Parse a path or URL: `s3://bucket/key`, `http(s)://…`, anything else is a local path.
    /// Other URL schemes (`gs://`, `az://`, `s3a://`, …) are refused by name.
    ///
    /// ```
    /// use eopf_geozarr::storage::Location;
    /// assert_eq!(Location::parse("s3://b/out//x.zarr/").unwrap(),
    ///            Location::S3 { bucket: "b".into(), key: "out/x.zarr".into() });
    /// assert_eq!(Location::parse("https://h/p.zarr/").unwrap(), Location::Http("https://h/p.zarr".into()));
    /// assert!(matches!(Location::parse("/data/x.zarr").unwrap(), Location::Local(_)));
    /// assert!(Location::parse("gs://b/k").is_err() && Location::parse("s3://").is_err());
    /// ```
    pub fn parse(p: &str) -> Result<Self> {
        if is_s3_path(p) {
            let (bucket, key) = parse_s3_path(&normalize_s3_path(p))?;
            if bucket.is_empty() {
                return Err(Error::Input(format!(
                    "{p}: an S3 path needs a bucket (s3://bucket/key)"
                )));
            }
            return Ok(Location::S3 {
                bucket,
                key: key.trim_matches('/').to_string(),
            });
        }
        if p.starts_with("http://") || p.starts_with("https://") {
            return Ok(Location::Http(p.trim_end_matches('/').to_string()));
        }
        if let Some((scheme, _)) = p.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-')
        {
            return Err(Error::Input(format!(
                "{p}: unsupported URL scheme {scheme}:// (local paths, s3:// and https:// are supported)"
            )));
        }
        Ok(Location::Local(PathBuf::from(p)))
    }

    /// [`Location::parse`] of a path given as a `Path`.
    pub fn from_path(p: &Path) -> Result<Self> {
        Self::parse(&p.to_string_lossy())
    }

    /// Whether the store is not on the local file system.
    pub fn is_remote(&self) -> bool {
        !matches!(self, Location::Local(_))
    }
}

impl std::str::FromStr for Location {
    type Err = Error;

    /// [`Location::parse`] (what the CLI's path arguments are parsed with).
    fn from_str(s: &str) -> Result<Self> {
        Location::parse(s)
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, key } if key.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            Location::Http(u) => f.write_str(u),
        }
    }
}

/// Anything that names a store: a [`Location`], or a path or URL string / `Path` parsed into
/// one (`s3://bucket/key`, `http(s)://…`, else a local folder). Every path/URL parameter of the
/// public API (conversions, [`crate::hierarchy::Hierarchy::open`], the app) takes one, so
/// `s3://` URLs never travel as file-system paths.
pub trait ToLocation {
    /// The location, or the error of a refused URL scheme.
    fn to_location(&self) -> Result<Location>;
}

impl ToLocation for Location {
    fn to_location(&self) -> Result<Location> {
        Ok(self.clone())
    }
}

impl ToLocation for Path {
    fn to_location(&self) -> Result<Location> {
        Location::from_path(self)
    }
}

impl ToLocation for PathBuf {
    fn to_location(&self) -> Result<Location> {
        Location::from_path(self)
    }
}

impl ToLocation for str {
    fn to_location(&self) -> Result<Location> {
        Location::parse(self)
    }
}

impl ToLocation for String {
    fn to_location(&self) -> Result<Location> {
        Location::parse(self)
    }
}

impl<T: ToLocation + ?Sized> ToLocation for &T {
    fn to_location(&self) -> Result<Location> {
        (**self).to_location()
    }
}

/// Whether a path or URL names a remote store (`s3://`, `http://`, `https://`).
pub fn is_remote(p: impl ToLocation) -> bool {
    p.to_location().is_ok_and(|l| l.is_remote())
}

fn client_options() -> object_store::ClientOptions {
    object_store::ClientOptions::new()
        .with_connect_timeout(std::time::Duration::from_secs(10))
        .with_timeout(std::time::Duration::from_secs(120))
        .with_allow_http(true)
}

/// Retries are ours ([`object`]): object_store's own are off.
fn no_retries() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 0,
        ..Default::default()
    }
}

/// The object store of a remote location and the key prefix inside it.
fn object_store_for(
    loc: &Location,
    cfg: &S3Config,
) -> Result<(Arc<dyn object_store::ObjectStore>, String)> {
    match loc {
        Location::S3 { bucket, key } => {
            let mut b = object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region(&cfg.region)
                .with_client_options(client_options())
                .with_retry(no_retries());
            if let Some(e) = &cfg.endpoint {
                b = b
                    .with_endpoint(e)
                    .with_allow_http(e.starts_with("http://"))
                    .with_virtual_hosted_style_request(false);
            }
            if cfg.signed() {
                b = b
                    .with_access_key_id(cfg.access_key_id.clone().unwrap_or_default())
                    .with_secret_access_key(cfg.secret_access_key.clone().unwrap_or_default());
                if let Some(t) = &cfg.session_token {
                    b = b.with_token(t);
                }
            } else {
                // No keys: unsigned requests (public buckets) rather than a wait for an
                // instance-metadata service that a workstation does not have.
                if !cfg.anonymous {
                    tracing::info!("{loc}: no AWS credentials configured: unsigned requests");
                }
                b = b.with_skip_signature(true);
            }
            let s = b
                .build()
                .map_err(|e| Error::Input(format!("{loc}: {}", mask_secrets(&e.to_string()))))?;
            Ok((Arc::new(s), key.clone()))
        }
        Location::Http(url) => {
            let s = object_store::http::HttpBuilder::new()
                .with_url(url.clone())
                .with_client_options(client_options())
                .with_retry(no_retries())
                .build()
                .map_err(|e| Error::Input(format!("{loc}: {e}")))?;
            Ok((Arc::new(s), String::new()))
        }
        Location::Local(p) => Err(Error::Input(format!(
            "{}: not a remote location",
            p.display()
        ))),
    }
}

/// A `zarrs` store on a remote location (S3: read/write; HTTP: read only, not listable).
pub fn open_object(loc: &Location) -> Result<Arc<ObjectStorage>> {
    let cfg = s3_config();
    let (store, prefix) = object_store_for(loc, &cfg)?;
    let is_s3 = matches!(loc, Location::S3 { .. });
    Ok(Arc::new(ObjectStorage::new(
        store,
        &prefix,
        loc.to_string(),
        is_s3,
        is_s3,
        &cfg,
    )))
}

/// An S3 store after one listing of its bucket: wrong credentials, a missing bucket or an
/// unreachable endpoint fail here, before any work.
fn checked_s3(loc: &Location, at: &str) -> Result<Arc<ObjectStorage>> {
    let (ok, err) = validate_s3_access(at);
    if !ok {
        return Err(Error::Io {
            path: at.to_string(),
            reason: err.unwrap_or_default(),
        });
    }
    open_object(loc)
}

/// A readable, listable store for a local folder or a remote location (`at` names it).
pub fn open_read(p: impl ToLocation) -> Result<(zarrs::storage::ReadableListableStorage, String)> {
    let loc = p.to_location()?;
    let at = loc.to_string();
    match &loc {
        Location::Local(path) => {
            let s = zarrs::filesystem::FilesystemStore::new(path).map_err(|e| Error::io(&at, e))?;
            Ok((Arc::new(s), at))
        }
        Location::S3 { .. } => Ok((checked_s3(&loc, &at)?, at)),
        Location::Http(_) => Ok((open_object(&loc)?, at)),
    }
}

/// A writable store for an output: a local folder (created) or an S3 prefix (access checked
/// first); `https://` is refused.
pub fn open_write(p: impl ToLocation) -> Result<(OutStore, String)> {
    crate::codecs::register();
    let loc = p.to_location()?;
    let at = loc.to_string();
    match &loc {
        Location::Local(path) => Ok((local_write_store(path, &at, false)?, at)),
        Location::S3 { .. } => Ok((checked_s3(&loc, &at)?, at)),
        Location::Http(_) => Err(Error::Input(format!(
            "{at}: HTTP(S) locations are read-only; write to a local folder or s3://"
        ))),
    }
}

/// A writable store of the local folder `path` (created if missing), writing with direct I/O
/// when `direct` ([`direct`]).
fn local_write_store(path: &std::path::Path, at: &str, direct: bool) -> Result<OutStore> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(at, e))?;
    let mut options = zarrs::filesystem::FilesystemStoreOptions::default();
    options.direct_io(direct);
    let s = zarrs::filesystem::FilesystemStore::new_with_options(path, options)
        .map_err(|e| Error::io(at, e))?;
    Ok(Arc::new(s))
}

/// [`open_write`] for writing a conversion's data, once the output has been checked
/// (`convert::prepare_output`): a local folder that takes `O_DIRECT` gets a store that writes with
/// direct I/O ([`direct`]; probed with a file of ours that is removed), anything else the same
/// store as [`open_write`].
pub fn open_write_data(p: impl ToLocation) -> Result<(OutStore, String)> {
    let loc = p.to_location()?;
    match &loc {
        Location::Local(path) => {
            crate::codecs::register();
            let at = loc.to_string();
            // The folder first: the probe writes into it.
            std::fs::create_dir_all(path).map_err(|e| Error::io(&at, e))?;
            let direct = direct::direct_io() && direct::supports_direct_io(path);
            Ok((local_write_store(path, &at, direct)?, at))
        }
        _ => open_write(loc),
    }
}

/// The reference's `validate_s3_access`: `(true, None)` when the bucket can be listed, else
/// `(false, reason)` with the likely cause; never fails. One request.
pub fn validate_s3_access(path: &str) -> (bool, Option<String>) {
    let loc = match Location::parse(path) {
        Ok(l @ Location::S3 { .. }) => l,
        Ok(_) => return (false, Some(format!("{path}: not an S3 path"))),
        Err(e) => return (false, Some(e.to_string())),
    };
    let Location::S3 { bucket, .. } = &loc else {
        return (false, None);
    };
    let root = Location::S3 {
        bucket: bucket.clone(),
        key: String::new(),
    };
    // The store's errors already name `s3://bucket`.
    let r = open_object(&root).map_err(|e| e.to_string()).and_then(|s| {
        s.list_dir(&StorePrefix::root())
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match r {
        Ok(()) => (true, None),
        Err(e) => (false, Some(mask_secrets(&e))),
    }
}

/// The reference's `s3_path_exists` (and `path_exists` for local paths and URLs): whether an
/// object exists at the path or any object below it.
pub fn path_exists(path: &str) -> Result<bool> {
    match Location::parse(path)? {
        Location::Local(p) => Ok(p.exists()),
        loc @ Location::S3 { .. } => {
            let s = open_object(&loc)?;
            let key = StoreKey::new("zarr.json").map_err(|e| Error::invalid(path, e))?;
            if s.size_key(&key).map_err(|e| Error::io(path, e))?.is_some() {
                return Ok(true);
            }
            let below = s
                .list_dir(&StorePrefix::root())
                .map_err(|e| Error::io(path, e))?;
            if !below.keys().is_empty() || !below.prefixes().is_empty() {
                return Ok(true);
            }
            // The path may name one object.
            let (parent, name) = match &loc {
                Location::S3 { bucket, key } => match key.rsplit_once('/') {
                    Some((d, n)) => (format!("s3://{bucket}/{d}"), n.to_string()),
                    None => (format!("s3://{bucket}"), key.clone()),
                },
                _ => unreachable!("matched S3 above"),
            };
            if name.is_empty() {
                return Ok(false);
            }
            let ps = open_object(&Location::parse(&parent)?)?;
            let k = StoreKey::new(name).map_err(|e| Error::invalid(path, e))?;
            Ok(ps.size_key(&k).map_err(|e| Error::io(path, e))?.is_some())
        }
        loc @ Location::Http(_) => {
            let (base, name) = path
                .trim_end_matches('/')
                .rsplit_once('/')
                .ok_or_else(|| Error::Input(format!("{path}: not a URL")))?;
            let s = open_object(&Location::parse(base)?)?;
            let k = StoreKey::new(name).map_err(|e| Error::invalid(&loc, e))?;
            Ok(s.size_key(&k).map_err(|e| Error::io(path, e))?.is_some())
        }
    }
}

/// The reference's `s3_path_exists`.
pub fn s3_path_exists(path: &str) -> Result<bool> {
    if !is_s3_path(path) {
        return Err(Error::Input(format!("{path}: not an S3 path")));
    }
    path_exists(path)
}

/// The store (folder, S3 prefix or URL) and key of a file path.
fn split_file(path: &str) -> Result<(Location, StoreKey)> {
    let (dir, name) = path
        .trim_end_matches('/')
        .rsplit_once('/')
        .ok_or_else(|| Error::Input(format!("{path}: needs a folder and a file name")))?;
    let key = StoreKey::new(name).map_err(|e| Error::invalid(path, e))?;
    Ok((Location::parse(dir)?, key))
}

/// The reference's `write_json_metadata` / `write_s3_json_metadata`: a JSON document (indent 2)
/// at a local path (parent folders created) or an `s3://` key.
pub fn write_json_metadata(path: &str, v: &Value) -> Result<()> {
    let (dir, key) = split_file(path)?;
    match &dir {
        Location::Local(p) => {
            std::fs::create_dir_all(p).map_err(|e| Error::io(p.display(), e))?;
            let bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::invalid(path, e))?;
            std::fs::write(p.join(key.as_str()), bytes).map_err(|e| Error::io(path, e))
        }
        Location::S3 { .. } => {
            let s = open_object(&dir)?;
            put_json(&*s, key.as_str(), v, &dir.to_string())?;
            s.barrier().map_err(|e| Error::io(path, e))
        }
        Location::Http(_) => Err(Error::Input(format!(
            "{path}: HTTP(S) locations are read-only"
        ))),
    }
}

/// The reference's `read_json_metadata` / `read_s3_json_metadata`.
pub fn read_json_metadata(path: &str) -> Result<Value> {
    let (dir, key) = split_file(path)?;
    let store: zarrs::storage::ReadableStorage = match &dir {
        Location::Local(p) => Arc::new(
            zarrs::filesystem::FilesystemStore::new(p).map_err(|e| Error::io(p.display(), e))?,
        ),
        _ => open_object(&dir)?,
    };
    let bytes = store
        .get(&key)
        .map_err(|e| Error::io(path, e))?
        .ok_or_else(|| Error::NotFound {
            path: path.to_string(),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::invalid(path, e))
}

use crate::error::{Error, Result};

/// Write a JSON document (pretty, strict JSON) at `key` of any writable `zarrs` store; `at` names
/// the store in errors.
pub fn put_json<S: WritableStorageTraits + ?Sized>(
    store: &S,
    key: &str,
    v: &Value,
    at: &str,
) -> Result<()> {
    let k = StoreKey::new(key).map_err(|e| Error::invalid(at, e))?;
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::invalid(at, e))?;
    store
        .set(&k, bytes.into())
        .map_err(|e| Error::io(format!("{at}/{key}"), e))
}

/// Whether an output path holds something: `false` when it is missing or an empty directory.
pub fn output_in_use(path: &Path) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    if !path.is_dir() {
        return Ok(true);
    }
    Ok(path
        .read_dir()
        .map_err(|e| Error::io(path.display(), e))?
        .next()
        .is_some())
}

/// Copy every file below a local folder into a store under the same relative keys: data first,
/// metadata documents (`zarr.json`, `.z*`) last. On S3 the data uploads run concurrently.
pub fn upload_dir(dir: &Path, store: &OutStore, at: &str) -> Result<()> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| Error::io(d.display(), e))? {
            let p = e.map_err(|e| Error::io(d.display(), e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let key_of = |p: &Path| -> Result<String> {
        Ok(p.strip_prefix(dir)
            .map_err(|e| Error::invalid(p.display(), e))?
            .to_string_lossy()
            .replace('\\', "/"))
    };
    let mut keyed = files
        .iter()
        .map(|p| Ok((key_of(p)?, p)))
        .collect::<Result<Vec<_>>>()?;
    // Data first, then metadata from the leaves up to the root.
    keyed.sort_by_key(|(k, _)| {
        (
            object::is_metadata(k),
            std::cmp::Reverse(k.matches('/').count()),
            k.clone(),
        )
    });
    for (k, p) in keyed {
        let bytes = std::fs::read(p).map_err(|e| Error::io(p.display(), e))?;
        let key = StoreKey::new(k.as_str()).map_err(|e| Error::invalid(at, e))?;
        store
            .set(&key, bytes.into())
            .map_err(|e| Error::io(format!("{at}/{k}"), e))?;
    }
    Ok(())
}

/// Whether an opened output store holds anything (one listing of its top level).
pub fn store_in_use(store: &OutStore, at: &str) -> Result<bool> {
    let top = store
        .list_dir(&StorePrefix::root())
        .map_err(|e| Error::io(at, e))?;
    Ok(!top.keys().is_empty() || !top.prefixes().is_empty())
}

/// Remove everything in an opened output store.
pub fn erase_all(store: &OutStore, at: &str) -> Result<()> {
    store
        .erase_prefix(&StorePrefix::root())
        .map_err(|e| Error::io(at, e))
}

/// The reference's `is_s3_path`: true iff the path starts with `s3://` (case-sensitive).
///
/// ```
/// use eopf_geozarr::storage::is_s3_path;
/// assert!(is_s3_path("s3://bucket/key.zarr"));
/// assert!(!is_s3_path("S3://bucket") && !is_s3_path("gs://b/k") && !is_s3_path("s3a://b/k"));
/// ```
pub fn is_s3_path(p: &str) -> bool {
    p.starts_with("s3://")
}

/// The reference's `parse_s3_path`: `(bucket, key)`; anything but `s3://` is an error.
///
/// ```
/// use eopf_geozarr::storage::parse_s3_path;
/// assert_eq!(parse_s3_path("s3://my-bucket/data/file.zarr").unwrap(), ("my-bucket".into(), "data/file.zarr".into()));
/// assert_eq!(parse_s3_path("s3://bucket/").unwrap(), ("bucket".into(), "".into()));
/// assert!(parse_s3_path("https://bucket/key").is_err());
/// ```
pub fn parse_s3_path(p: &str) -> Result<(String, String)> {
    let rest = p
        .strip_prefix("s3://")
        .ok_or_else(|| Error::Input(format!("Invalid S3 path: {p}")))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((bucket.to_string(), key.to_string()))
}

/// The reference's `normalize_s3_path`: empty segments dropped; `s3://` alone and non-S3 paths
/// unchanged.
///
/// ```
/// use eopf_geozarr::storage::normalize_s3_path;
/// assert_eq!(normalize_s3_path("s3://bucket/path//to//file.zarr"), "s3://bucket/path/to/file.zarr");
/// assert_eq!(normalize_s3_path("s3://"), "s3://");
/// ```
pub fn normalize_s3_path(p: &str) -> String {
    match p.strip_prefix("s3://") {
        Some("") | None => p.to_string(),
        Some(rest) => {
            let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            format!("s3://{}", parts.join("/"))
        }
    }
}

/// The reference's `normalize_path`: S3 paths as [`normalize_s3_path`], others with
/// `os.path.normpath`'s rules (collapse `//` and `.`, resolve `..` lexically, drop a trailing `/`).
///
/// ```
/// use eopf_geozarr::storage::normalize_path;
/// assert_eq!(normalize_path("/data//out/./a/../b.zarr/"), "/data/out/b.zarr");
/// assert_eq!(normalize_path("rel/../x"), "x");
/// assert_eq!(normalize_path(""), ".");
/// ```
pub fn normalize_path(p: &str) -> String {
    if is_s3_path(p) {
        return normalize_s3_path(p);
    }
    let absolute = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|s| *s != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The reference's `consolidate_metadata(store, path)`: write inline consolidated metadata
/// (every descendant's `zarr.json`, by path relative to `group`, through explicit groups only)
/// into `group`'s `zarr.json` of a Zarr v3 store — a local folder or `s3://`. Errors name the
/// document that cannot be read or parsed.
pub fn consolidate_metadata(store_path: impl ToLocation, group: &str) -> Result<()> {
    let (store, at) = open_write(store_path)?;
    let rel = group.trim_matches('/');
    let key_of = |node: &str| {
        if node.is_empty() {
            "zarr.json".to_string()
        } else {
            format!("{node}/zarr.json")
        }
    };
    let read = |k: &str| -> Result<Option<Value>> {
        let key = StoreKey::new(k).map_err(|e| Error::invalid(&at, e))?;
        match store
            .get(&key)
            .map_err(|e| Error::io(format!("{at}/{k}"), e))?
        {
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::invalid(format!("{at}/{k}"), e)),
            None => Ok(None),
        }
    };
    let gkey = key_of(rel);
    let mut gdoc = read(&gkey)?.ok_or_else(|| Error::NotFound {
        path: format!("{at}/{gkey}"),
    })?;
    if gdoc.get("node_type").and_then(Value::as_str) != Some("group") {
        return Err(Error::Input(format!("{at}/{gkey}: not a Zarr v3 group")));
    }
    let prefix = if rel.is_empty() {
        StorePrefix::root()
    } else {
        StorePrefix::new(format!("{rel}/")).map_err(|e| Error::invalid(&at, e))?
    };
    // Every node document below the group, reached through explicit groups only.
    let mut nodes: Vec<String> = store
        .list_prefix(&prefix)
        .map_err(|e| Error::io(&at, e))?
        .iter()
        .filter_map(|k| k.as_str().strip_suffix("/zarr.json").map(str::to_string))
        .filter(|n| n.as_str() != rel)
        .collect();
    nodes.sort();
    let mut meta = serde_json::Map::new();
    let mut groups: std::collections::HashSet<String> = [rel.to_string()].into();
    for node in nodes {
        let parent = node.rsplit_once('/').map_or("", |(p, _)| p);
        if !groups.contains(parent) {
            continue;
        }
        let Some(mut doc) = read(&key_of(&node))? else {
            continue;
        };
        if doc.get("node_type").and_then(Value::as_str) == Some("group") {
            groups.insert(node.clone());
        }
        if let Some(o) = doc.as_object_mut() {
            o.remove("consolidated_metadata");
        }
        let name = if rel.is_empty() {
            node.clone()
        } else {
            node[rel.len() + 1..].to_string()
        };
        meta.insert(name, doc);
    }
    gdoc["consolidated_metadata"] =
        serde_json::json!({"kind": "inline", "must_understand": false, "metadata": meta});
    put_json(&*store, &gkey, &gdoc, &at)
}

/// Remove `key` from a store (missing is fine).
pub fn erase_key<S: WritableStorageTraits + ?Sized>(store: &S, key: &str, at: &str) -> Result<()> {
    let k = StoreKey::new(key).map_err(|e| Error::invalid(at, e))?;
    store
        .erase(&k)
        .map_err(|e| Error::io(format!("{at}/{key}"), e))
}
