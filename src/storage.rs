//! Local storage helpers shared by the writers: JSON documents into a `zarrs` store, and the state
//! of an output path. (Object storage arrives with the S3 work.)

use std::path::Path;

use serde_json::Value;
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{StoreKey, WritableStorageTraits};

use crate::error::{Error, Result};

/// Write a JSON document (pretty, strict JSON) at `key`; `at` names the store in errors.
pub fn put_json(store: &FilesystemStore, key: &str, v: &Value, at: &str) -> Result<()> {
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
