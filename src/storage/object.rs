//! A synchronous `zarrs` store over `object_store` (S3 read/write, HTTP read), built for Zarr
//! traffic:
//!
//! * every request is retried with exponential backoff (100 ms · 2ⁿ, at most 5 s, with jitter)
//!   up to `max_retries` times, except for answers that cannot change (not found, access denied);
//! * writes are uploaded in the background, at most `max_concurrency` at once; a metadata
//!   document (`zarr.json`, `.z*`) only starts after every data upload before it has finished,
//!   and the root's metadata and the conversion journal only after every upload before them, so
//!   metadata is always last and a journal never lists data still in flight; values above the
//!   multipart threshold go up in parts;
//! * reads: metadata documents are cached per store, suffix reads (a shard's index) are fetched
//!   once and cached, byte ranges of one call that are adjacent or close are merged into one
//!   request and fetched with bounded concurrency; partial reads need no `HEAD`;
//! * every request is counted ([`request_counts`]).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    Bytes, ListableStorageTraits, MaybeBytes, MaybeBytesIterator, OffsetBytesIterator,
    ReadableStorageTraits, StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix,
    WritableStorageTraits,
};

use super::config::mask_secrets;

/// The runtime all object stores share (two worker threads are plenty for I/O).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("eopf-geozarr-io")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the I/O runtime: {e}"))
    })
}

/// Requests issued to object storage by this process, by kind (attempts, retries included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestCounts {
    pub get: u64,
    pub get_range: u64,
    pub head: u64,
    pub put: u64,
    /// Requests of multipart uploads (create, parts, complete).
    pub multipart: u64,
    pub list: u64,
    pub delete: u64,
    /// Of all the above, how many were retries of a failed request.
    pub retries: u64,
}

impl RequestCounts {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.get + self.get_range + self.head + self.put + self.multipart + self.list + self.delete
    }
}

impl std::fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests (GET {}, ranged GET {}, HEAD {}, PUT {}, multipart {}, LIST {}, DELETE {}; {} retries)",
            self.total(),
            self.get,
            self.get_range,
            self.head,
            self.put,
            self.multipart,
            self.list,
            self.delete,
            self.retries
        )
    }
}

#[derive(Default)]
struct Counters([AtomicU64; 8]);

#[cfg(test)]
mod tests {
    #[test]
    fn errors_on_one_line_with_the_s3_code() {
        let m = "Generic S3 error: GET http://h/b failed - 404 Not Found: <?xml version=\"1.0\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        let d = super::describe(m);
        assert_eq!(
            d,
            "Generic S3 error: GET http://h/b failed - 404 Not Found: NoSuchBucket: The specified bucket does not exist (the bucket does not exist)"
        );
        assert!(!d.contains('\n'));
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Get = 0,
    GetRange = 1,
    Head = 2,
    Put = 3,
    Multipart = 4,
    List = 5,
    Delete = 6,
    Retry = 7,
}

fn counters() -> &'static Counters {
    static C: OnceLock<Counters> = OnceLock::new();
    C.get_or_init(Counters::default)
}

fn count(kind: Kind, n: u64) {
    counters().0[kind as usize].fetch_add(n, Ordering::Relaxed);
}

/// What this process has requested from object storage so far.
pub fn request_counts() -> RequestCounts {
    let c = &counters().0;
    let g = |k: Kind| c[k as usize].load(Ordering::Relaxed);
    RequestCounts {
        get: g(Kind::Get),
        get_range: g(Kind::GetRange),
        head: g(Kind::Head),
        put: g(Kind::Put),
        multipart: g(Kind::Multipart),
        list: g(Kind::List),
        delete: g(Kind::Delete),
        retries: g(Kind::Retry),
    }
}

/// Whether an error can go away on a new attempt.
fn retryable(e: &object_store::Error) -> bool {
    use object_store::Error as E;
    match e {
        E::NotFound { .. }
        | E::PermissionDenied { .. }
        | E::Unauthenticated { .. }
        | E::AlreadyExists { .. }
        | E::Precondition { .. }
        | E::NotModified { .. }
        | E::NotSupported { .. }
        | E::NotImplemented { .. }
        | E::InvalidPath { .. }
        | E::UnknownConfigurationKey { .. } => false,
        other => {
            // 4xx answers other than 408/429 will not change either.
            let s = other.to_string();
            !(s.contains("status 400")
                || s.contains("status 403")
                || s.contains("status 404")
                || s.contains("NoSuchBucket")
                || s.contains("InvalidAccessKeyId")
                || s.contains("SignatureDoesNotMatch"))
        }
    }
}

/// Pause before attempt `n + 1` (n ≥ 1): 100 ms · 2ⁿ⁻¹, at most 5 s, ±25 % jitter.
fn backoff(n: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << (n - 1).min(6)).min(5000);
    let jitter = rand::random::<f64>() * 0.5 + 0.75;
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// Run `op` with retries; `kind` counts each attempt.
async fn retry<T, F, Fut>(
    max_retries: u32,
    kind: Kind,
    what: &str,
    mut op: F,
) -> object_store::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = object_store::Result<T>>,
{
    let mut attempt = 0u32;
    loop {
        count(kind, 1);
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < max_retries && retryable(&e) => {
                attempt += 1;
                count(Kind::Retry, 1);
                tracing::warn!(
                    "{what}: request failed, retry {attempt}/{max_retries}: {}",
                    mask_secrets(&e.to_string())
                );
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a key holds a metadata document (written last, cached on read).
pub(crate) fn is_metadata(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name == "zarr.json" || name.starts_with(".z") || name == super::JOURNAL
}

/// Ranges closer than this are fetched in one request.
const COALESCE_GAP: u64 = 256 << 10;
/// Range requests in flight at once for one read.
const RANGE_CONCURRENCY: usize = 8;
/// Cached suffix reads (shard indexes) per store.
const SUFFIX_CACHE_ENTRIES: usize = 16_384;

struct Uploads {
    /// Keys being uploaded (reads of them wait).
    keys: HashSet<String>,
    tasks: Vec<(String, tokio::task::JoinHandle<Result<(), String>>)>,
    /// Whether data uploads were queued since the last barrier.
    data_pending: bool,
    /// The first failure (after its retries), reported by every later write and barrier.
    failed: Option<String>,
}

/// A `zarrs` store on an object store, below `prefix`.
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// `s3://bucket/prefix` or the URL, for messages.
    location: String,
    writable: bool,
    listable: bool,
    max_retries: u32,
    multipart_threshold: usize,
    permits: Arc<tokio::sync::Semaphore>,
    uploads: Mutex<Uploads>,
    meta_cache: Mutex<HashMap<String, Option<Bytes>>>,
    suffix_cache: Mutex<HashMap<(String, u64), Bytes>>,
    /// The prefix was seen empty (or was erased) by this store: keys it did not write do not
    /// exist, so erasing them (zarrs erases chunks that are all fill value) needs no request.
    fresh: std::sync::atomic::AtomicBool,
    written: Mutex<HashSet<String>>,
}

impl ObjectStorage {
    /// A store on `store` below `prefix` (no leading/trailing `/`).
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        location: String,
        writable: bool,
        listable: bool,
        cfg: &super::config::S3Config,
    ) -> Self {
        ObjectStorage {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            location,
            writable,
            listable,
            max_retries: cfg.max_retries,
            multipart_threshold: cfg.multipart_threshold.max(5 << 20),
            permits: Arc::new(tokio::sync::Semaphore::new(cfg.max_concurrency.max(1))),
            uploads: Mutex::new(Uploads {
                keys: HashSet::new(),
                tasks: Vec::new(),
                data_pending: false,
                failed: None,
            }),
            meta_cache: Mutex::new(HashMap::new()),
            suffix_cache: Mutex::new(HashMap::new()),
            fresh: std::sync::atomic::AtomicBool::new(false),
            written: Mutex::new(HashSet::new()),
        }
    }

    /// `s3://bucket/prefix` or the URL of the store.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn path(&self, key: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(key)
        } else if key.is_empty() {
            ObjPath::from(self.prefix.as_str())
        } else {
            ObjPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn rel(&self, p: &ObjPath) -> String {
        let s = p.as_ref();
        if self.prefix.is_empty() {
            s.to_string()
        } else {
            s.strip_prefix(&self.prefix)
                .map(|r| r.trim_start_matches('/').to_string())
                .unwrap_or_else(|| s.to_string())
        }
    }

    fn err(&self, key: &str, e: impl std::fmt::Display) -> StorageError {
        let at = if key.is_empty() {
            self.location.clone()
        } else {
            format!("{}/{key}", self.location)
        };
        StorageError::Other(mask_secrets(&format!("{at}: {}", describe(&e.to_string()))))
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        runtime().block_on(f)
    }

    /// Wait for every upload started so far; a failed upload is an error.
    pub fn barrier(&self) -> Result<(), StorageError> {
        let tasks = {
            let mut u = self.lock_uploads()?;
            u.data_pending = false;
            std::mem::take(&mut u.tasks)
        };
        let (keys, handles): (Vec<String>, Vec<_>) = tasks.into_iter().unzip();
        let results = self.block_on(futures::future::join_all(handles));
        let mut u = self.lock_uploads()?;
        for k in &keys {
            u.keys.remove(k);
        }
        for r in results {
            let r = r.map_err(|e| e.to_string()).and_then(|r| r);
            if let Err(e) = r
                && u.failed.is_none()
            {
                u.failed = Some(e);
            }
        }
        // A failed upload stays failed: every later write and barrier reports it.
        match &u.failed {
            Some(e) => Err(StorageError::Other(e.clone())),
            None => Ok(()),
        }
    }

    fn lock_uploads(&self) -> Result<std::sync::MutexGuard<'_, Uploads>, StorageError> {
        self.uploads
            .lock()
            .map_err(|_| StorageError::Other(format!("{}: poisoned upload state", self.location)))
    }

    fn wait_if_pending(&self, key: &str) -> Result<(), StorageError> {
        let pending = self.lock_uploads()?.keys.contains(key);
        if pending { self.barrier() } else { Ok(()) }
    }

    fn invalidate(&self, key: &str) {
        if let Ok(mut m) = self.meta_cache.lock() {
            m.remove(key);
        }
        if let Ok(mut s) = self.suffix_cache.lock() {
            s.retain(|(k, _), _| k != key);
        }
    }

    async fn upload(
        store: Arc<dyn ObjectStore>,
        path: ObjPath,
        value: Bytes,
        max_retries: u32,
        threshold: usize,
        what: String,
    ) -> object_store::Result<()> {
        if value.len() <= threshold {
            retry(max_retries, Kind::Put, &what, || {
                store.put(&path, PutPayload::from_bytes(value.clone()))
            })
            .await?;
            return Ok(());
        }
        let part = (threshold / 2).max(5 << 20);
        let parts = value.len().div_ceil(part) as u64;
        retry(max_retries, Kind::Multipart, &what, || async {
            // create + parts + complete (the first is counted by `retry`).
            count(Kind::Multipart, parts + 1);
            let upload = store.put_multipart(&path).await?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, part);
            w.put(value.clone());
            match w.finish().await {
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }

    fn put_now(&self, key: &str, value: Bytes) -> Result<(), StorageError> {
        let (store, path) = (self.store.clone(), self.path(key));
        let what = format!("{}/{key}", self.location);
        self.block_on(Self::upload(
            store,
            path,
            value,
            self.max_retries,
            self.multipart_threshold,
            what,
        ))
        .map_err(|e| self.err(key, e))
    }

    async fn get_range(&self, key: &str, range: GetRange) -> object_store::Result<Bytes> {
        let path = self.path(key);
        let what = format!("{}/{key}", self.location);
        retry(self.max_retries, Kind::GetRange, &what, || async {
            let opts = GetOptions {
                range: Some(range.clone()),
                ..Default::default()
            };
            self.store.get_opts(&path, opts).await?.bytes().await
        })
        .await
    }
}

/// One line from an object-store error: whitespace collapsed, and an S3 XML error body reduced
/// to its code and message.
fn one_line(msg: &str) -> String {
    let flat = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    let between = |a: &str, b: &str| {
        let i = flat.find(a)? + a.len();
        let j = flat[i..].find(b)? + i;
        Some(flat[i..j].to_string())
    };
    match (
        between("<Code>", "</Code>"),
        between("<Message>", "</Message>"),
    ) {
        (Some(code), Some(message)) => {
            let head = flat
                .split("<?xml")
                .next()
                .unwrap_or(&flat)
                .split("<Error>")
                .next()
                .unwrap_or(&flat)
                .trim_end_matches([' ', ':']);
            format!("{head}: {code}: {message}")
        }
        _ => flat,
    }
}

/// A readable explanation of an object-store failure, with the status code's usual cause.
pub fn describe(msg: &str) -> String {
    let msg = &one_line(msg);
    let hint = if msg.contains("SignatureDoesNotMatch")
        || msg.contains("InvalidAccessKeyId")
        || msg.contains("lacked valid authentication")
    {
        " (the credentials were refused: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or use --s3-anonymous for a public bucket)"
    } else if msg.contains("NoSuchBucket") {
        " (the bucket does not exist)"
    } else if msg.contains("AccessDenied") || msg.contains("lacked the necessary privileges") {
        " (access denied: the credentials lack permission)"
    } else if msg.contains("error sending request")
        || msg.contains("Connect")
        || msg.contains("connection refused")
        || msg.contains("Connection refused")
        || msg.contains("dns error")
    {
        " (the endpoint cannot be reached: check AWS_ENDPOINT_URL / --s3-endpoint and the network)"
    } else {
        ""
    };
    format!("{msg}{hint}")
}

impl ReadableStorageTraits for ObjectStorage {
    fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        let k = key.as_str();
        self.wait_if_pending(k)?;
        let meta = is_metadata(k);
        if meta
            && let Ok(c) = self.meta_cache.lock()
            && let Some(v) = c.get(k)
        {
            return Ok(v.clone());
        }
        let path = self.path(k);
        let what = format!("{}/{k}", self.location);
        let r = self.block_on(retry(self.max_retries, Kind::Get, &what, || async {
            let res = self.store.get(&path).await?;
            // A metadata document is never downloaded past the limit (its size comes with the
            // answer's headers, before the body).
            if meta && res.meta.size > super::METADATA_BYTES {
                return Err(object_store::Error::NotSupported {
                    source: format!(
                        "metadata document of {} bytes, above the limit of {} bytes",
                        res.meta.size,
                        super::METADATA_BYTES
                    )
                    .into(),
                });
            }
            res.bytes().await
        }));
        let v = match r {
            Ok(b) => Some(b),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(self.err(k, e)),
        };
        if meta && let Ok(mut c) = self.meta_cache.lock() {
            c.insert(k.to_string(), v.clone());
        }
        Ok(v)
    }

    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        let k = key.as_str();
        self.wait_if_pending(k)?;
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        let mut out: Vec<Option<Bytes>> = vec![None; ranges.len()];
        let mut bounded: Vec<(usize, Range<u64>)> = Vec::new();
        let not_found = |e: &object_store::Error| matches!(e, object_store::Error::NotFound { .. });
        for (i, r) in ranges.iter().enumerate() {
            match *r {
                ByteRange::FromStart(0, None) => match self.get(key)? {
                    Some(b) => out[i] = Some(b),
                    None => return Ok(None),
                },
                ByteRange::FromStart(o, None) => {
                    match self.block_on(self.get_range(k, GetRange::Offset(o))) {
                        Ok(b) => out[i] = Some(b),
                        Err(e) if not_found(&e) => return Ok(None),
                        Err(e) => return Err(self.err(k, e)),
                    }
                }
                ByteRange::FromStart(_, Some(0)) => out[i] = Some(Bytes::new()),
                ByteRange::FromStart(o, Some(l)) => bounded.push((i, o..o + l)),
                ByteRange::Suffix(n) => {
                    let ck = (k.to_string(), n);
                    if let Ok(c) = self.suffix_cache.lock()
                        && let Some(b) = c.get(&ck)
                    {
                        out[i] = Some(b.clone());
                        continue;
                    }
                    match self.block_on(self.get_range(k, GetRange::Suffix(n))) {
                        Ok(b) => {
                            if let Ok(mut c) = self.suffix_cache.lock() {
                                if c.len() >= SUFFIX_CACHE_ENTRIES {
                                    c.clear();
                                }
                                c.insert(ck, b.clone());
                            }
                            out[i] = Some(b);
                        }
                        Err(e) if not_found(&e) => return Ok(None),
                        Err(e) => return Err(self.err(k, e)),
                    }
                }
            }
        }
        if !bounded.is_empty() {
            let wanted: Vec<Range<u64>> = bounded.iter().map(|(_, r)| r.clone()).collect();
            let fetched = self.block_on(fetch_merged(self, k, &wanted));
            match fetched {
                Ok(parts) => {
                    for ((i, r), b) in bounded.into_iter().zip(parts) {
                        if b.len() as u64 != r.end - r.start {
                            return Err(self.err(
                                k,
                                format!(
                                    "short read: {} bytes for the range {}..{}",
                                    b.len(),
                                    r.start,
                                    r.end
                                ),
                            ));
                        }
                        out[i] = Some(b);
                    }
                }
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(self.err(k, e)),
            }
        }
        let v: Vec<Result<Bytes, StorageError>> =
            out.into_iter().map(|b| Ok(b.unwrap_or_default())).collect();
        Ok(Some(Box::new(v.into_iter())))
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        let k = key.as_str();
        self.wait_if_pending(k)?;
        if is_metadata(k)
            && let Ok(c) = self.meta_cache.lock()
            && let Some(v) = c.get(k)
        {
            return Ok(v.as_ref().map(|b| b.len() as u64));
        }
        let path = self.path(k);
        let what = format!("{}/{k}", self.location);
        match self.block_on(retry(self.max_retries, Kind::Head, &what, || {
            self.store.head(&path)
        })) {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(k, e)),
        }
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

/// Fetch `ranges` of `key`, merging ranges less than [`COALESCE_GAP`] apart into one request and
/// running at most [`RANGE_CONCURRENCY`] requests at once.
async fn fetch_merged(
    s: &ObjectStorage,
    key: &str,
    ranges: &[Range<u64>],
) -> object_store::Result<Vec<Bytes>> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| ranges[i].start);
    let mut merged: Vec<Range<u64>> = Vec::new();
    for &i in &order {
        let r = &ranges[i];
        match merged.last_mut() {
            Some(m) if r.start <= m.end + COALESCE_GAP => m.end = m.end.max(r.end),
            _ => merged.push(r.clone()),
        }
    }
    let fetched: Vec<Bytes> = futures::stream::iter(merged.iter().cloned())
        .map(|r| s.get_range(key, GetRange::Bounded(r)))
        .buffered(RANGE_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(ranges
        .iter()
        .map(|r| {
            let j = merged
                .partition_point(|m| m.end < r.end)
                .min(merged.len() - 1);
            let m = &merged[j];
            let b = &fetched[j];
            let from = (r.start - m.start) as usize;
            let to = ((r.end - m.start) as usize).min(b.len());
            b.slice(from.min(to)..to)
        })
        .collect())
}

impl ListableStorageTraits for ObjectStorage {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.list_prefix(&StorePrefix::root())
    }

    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        let metas = self.list_all(prefix)?;
        let mut keys = metas
            .iter()
            .map(|m| StoreKey::new(self.rel(&m.location)))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.check_listable()?;
        self.barrier()?;
        let p = prefix.as_str().trim_end_matches('/');
        let path = self.path(p);
        let what = format!("{}/{p}", self.location);
        let r = self
            .block_on(retry(self.max_retries, Kind::List, &what, || {
                self.store.list_with_delimiter(Some(&path))
            }))
            .map_err(|e| self.err(p, e))?;
        let mut keys = r
            .objects
            .iter()
            .map(|m| StoreKey::new(self.rel(&m.location)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut prefixes = r
            .common_prefixes
            .iter()
            .map(|c| StorePrefix::new(format!("{}/", self.rel(c))))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        prefixes.sort();
        if p.is_empty() && keys.is_empty() && prefixes.is_empty() {
            self.fresh.store(true, Ordering::Relaxed);
        }
        Ok(StoreKeysPrefixes::new(keys, prefixes))
    }

    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        Ok(self.list_all(prefix)?.iter().map(|m| m.size).sum())
    }
}

impl ObjectStorage {
    /// Every object below `prefix` (after the uploads before), retried as a whole.
    fn list_all(
        &self,
        prefix: &StorePrefix,
    ) -> Result<Vec<object_store::ObjectMeta>, StorageError> {
        self.check_listable()?;
        self.barrier()?;
        let p = prefix.as_str().trim_end_matches('/');
        let path = self.path(p);
        let what = format!("{}/{p}", self.location);
        self.block_on(retry(self.max_retries, Kind::List, &what, || {
            self.store.list(Some(&path)).try_collect::<Vec<_>>()
        }))
        .map_err(|e| self.err(p, e))
    }

    fn check_listable(&self) -> Result<(), StorageError> {
        if self.listable {
            Ok(())
        } else {
            Err(StorageError::Unsupported(format!(
                "{}: an HTTP store cannot be listed; it needs consolidated metadata (.zmetadata, or consolidated_metadata in the root zarr.json)",
                self.location
            )))
        }
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        if self.writable {
            Ok(())
        } else {
            Err(StorageError::ReadOnly)
        }
    }
}

impl WritableStorageTraits for ObjectStorage {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.check_writable()?;
        let k = key.as_str();
        self.invalidate(k);
        if let Ok(mut w) = self.written.lock() {
            w.insert(k.to_string());
        }
        let meta = is_metadata(k);
        if meta && !k.contains('/') {
            // The root's metadata and the journal: after every upload before them.
            self.barrier()?;
            return self.put_now(k, value);
        }
        if meta && self.lock_uploads()?.data_pending {
            // Metadata after the data it describes (metadata documents then go up in parallel).
            self.barrier()?;
        }
        {
            let mut u = self.lock_uploads()?;
            if let Some(e) = &u.failed {
                return Err(StorageError::Other(e.clone()));
            }
            u.keys.insert(k.to_string());
            u.data_pending |= !meta;
        }
        let permit = self
            .block_on(self.permits.clone().acquire_owned())
            .map_err(|e| self.err(k, e))?;
        let (store, path) = (self.store.clone(), self.path(k));
        let what = format!("{}/{k}", self.location);
        let (retries, threshold) = (self.max_retries, self.multipart_threshold);
        let task = runtime().spawn(async move {
            let r = Self::upload(store, path, value, retries, threshold, what.clone()).await;
            drop(permit);
            r.map_err(|e| {
                mask_secrets(&format!(
                    "{what}: upload failed: {}",
                    describe(&e.to_string())
                ))
            })
        });
        let mut u = self.lock_uploads()?;
        u.tasks.push((k.to_string(), task));
        // Finished tasks are collected on the next barrier; keep the pending set small.
        if u.tasks.len() > 4096 {
            drop(u);
            self.barrier()?;
        }
        Ok(())
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        zarrs::storage::store_set_partial_many(self, key, offset_values)
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.check_writable()?;
        let k = key.as_str();
        if self.fresh.load(Ordering::Relaxed) && self.written.lock().is_ok_and(|w| !w.contains(k)) {
            return Ok(());
        }
        self.wait_if_pending(k)?;
        self.invalidate(k);
        let path = self.path(k);
        let what = format!("{}/{k}", self.location);
        match self.block_on(retry(self.max_retries, Kind::Delete, &what, || {
            self.store.delete(&path)
        })) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(k, e)),
        }
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.check_writable()?;
        let keys = self.list_prefix(prefix)?;
        if let Ok(mut m) = self.meta_cache.lock() {
            m.clear();
        }
        if let Ok(mut s) = self.suffix_cache.lock() {
            s.clear();
        }
        let paths: Vec<ObjPath> = keys.iter().map(|k| self.path(k.as_str())).collect();
        let n = paths.len() as u64;
        // Bulk deletes (up to 1000 keys per request on S3), retried as a whole.
        let what = self.location.clone();
        self.block_on(retry(self.max_retries, Kind::Delete, &what, || async {
            let stream = futures::stream::iter(paths.clone().into_iter().map(Ok)).boxed();
            self.store
                .delete_stream(stream)
                .try_collect::<Vec<ObjPath>>()
                .await
                .map(|_| ())
        }))
        .map_err(|e| self.err(prefix.as_str(), e))?;
        if prefix.as_str().is_empty() {
            self.fresh.store(true, Ordering::Relaxed);
            if let Ok(mut w) = self.written.lock() {
                w.clear();
            }
        }
        tracing::debug!("{}: erased {n} objects", self.location);
        Ok(())
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

impl Drop for ObjectStorage {
    fn drop(&mut self) {
        // Uploads still running finish (or fail) on the runtime; nobody waits for them, which
        // only happens when a conversion stopped on an error.
        if let Ok(u) = self.uploads.get_mut()
            && !u.tasks.is_empty()
        {
            tracing::debug!("{}: {} uploads not awaited", self.location, u.tasks.len());
        }
    }
}
