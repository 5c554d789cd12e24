//! The library's error type: every variant names the path (store, node or file) it is about.

use std::path::PathBuf;

/// Errors of the `eopf_geozarr` library. `Display` gives one line naming the path and the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    /// The path exists but holds no Zarr hierarchy.
    #[error("{path}: not a Zarr store ({reason})")]
    NotZarr { path: String, reason: String },
    /// A metadata document could not be parsed or is not valid Zarr metadata.
    #[error("{path}: invalid metadata: {reason}")]
    InvalidMetadata { path: String, reason: String },
    /// An array uses a codec or data type this build cannot decode.
    #[error("{path}: unsupported {what}: {reason}")]
    Unsupported {
        path: String,
        what: &'static str,
        reason: String,
    },
    /// A chunk could not be read or decoded (truncated, corrupt, wrong size).
    #[error("{path}: chunk {chunk} could not be decoded: {reason}")]
    Chunk {
        path: String,
        chunk: String,
        reason: String,
    },
    /// A node expected by the caller is absent.
    #[error("{path}: missing {what}")]
    Missing { path: String, what: String },
    /// Bad user input (a flag, a size, a layout file).
    #[error("{0}")]
    Input(String),
    /// The output exists and the trust rules forbid touching it (README "Safety"): it is not ours
    /// nor a Zarr store, it is a bucket root, or it holds another conversion. Nothing was touched.
    #[error("{0}")]
    Refused(String),
    /// Storage I/O failed.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// CRS or PROJ failure.
    #[error("CRS error: {0}")]
    Crs(String),
    /// The user cancelled a conversion; the output is incomplete and resumable.
    #[error("{path}: conversion cancelled; the output is incomplete (--resume finishes it)")]
    Cancelled { path: String },
}

impl Error {
    pub(crate) fn io(path: impl std::fmt::Display, err: impl std::fmt::Display) -> Self {
        Error::Io {
            path: path.to_string(),
            reason: err.to_string(),
        }
    }

    pub(crate) fn invalid(path: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        Error::InvalidMetadata {
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Display helper for local paths in error messages.
pub(crate) fn show(path: &std::path::Path) -> String {
    PathBuf::from(path).display().to_string()
}
