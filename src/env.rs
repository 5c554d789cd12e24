//! The one reader of environment variables, for the edges that may read them (the CLI's
//! `EnvSettings`, the app's `AppConfig`, the reference's `AWS_*` storage options): unset and
//! empty mean the same, and sizes are given in MB.

/// A variable's value; `None` when unset or empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A size in MB (`EOPF_…_MB`), in bytes; `None` when unset or not a number.
pub fn megabytes(name: &str) -> Option<u64> {
    var(name)
        .and_then(|v| v.parse::<u64>().ok())
        .map(|mb| mb << 20)
}
