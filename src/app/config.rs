//! The app's configuration, read from the environment once when the app starts (the edge) and
//! passed down as values: nothing below reads an environment variable.

use std::path::PathBuf;

/// Decoded chunks kept per band for the map, by default (`EOPF_CHUNK_CACHE_MB`).
pub const DEFAULT_CHUNK_CACHE_BYTES: u64 = 256 << 20;

/// The memory budget of the tile caches, by default (`EOPF_TILE_CACHE_MB`).
pub const DEFAULT_TILE_CACHE_BYTES: usize = 256 << 20;

/// What the environment configures in the app.
#[derive(Debug, Clone, PartialEq)]
pub struct AppConfig {
    /// `EOPF_CHUNK_CACHE_MB`: decoded chunks kept for the next tiles, per band (8 bands).
    pub chunk_cache_bytes: u64,
    /// `EOPF_TILE_CACHE_MB`: the memory budget of the tile caches (CPU and GPU).
    pub tile_cache_bytes: usize,
    /// `EOPF_GPU_COLOUR=0` colours the map on the CPU.
    pub gpu_colour: bool,
    /// `EOPF_GUI_AUTOPAN=SECONDS`: the window pans by itself and prints its frame rate.
    pub autopan_seconds: Option<f64>,
    /// Where `recent.json` lives: `EOPF_GEOZARR_CONFIG_DIR`, else
    /// `$XDG_CONFIG_HOME/eopf-geozarr`, else `~/.config/eopf-geozarr`.
    pub config_dir: Option<PathBuf>,
}

impl Default for AppConfig {
    /// The defaults, with no config folder (nothing remembered).
    fn default() -> Self {
        AppConfig {
            chunk_cache_bytes: DEFAULT_CHUNK_CACHE_BYTES,
            tile_cache_bytes: DEFAULT_TILE_CACHE_BYTES,
            gpu_colour: true,
            autopan_seconds: None,
            config_dir: None,
        }
    }
}

impl AppConfig {
    /// Read the environment.
    pub fn from_env() -> Self {
        let (var, mb) = (crate::env::var, crate::env::megabytes);
        AppConfig {
            chunk_cache_bytes: mb("EOPF_CHUNK_CACHE_MB").unwrap_or(DEFAULT_CHUNK_CACHE_BYTES),
            tile_cache_bytes: mb("EOPF_TILE_CACHE_MB")
                .map_or(DEFAULT_TILE_CACHE_BYTES, |b| b as usize),
            gpu_colour: var("EOPF_GPU_COLOUR").as_deref() != Some("0"),
            autopan_seconds: var("EOPF_GUI_AUTOPAN").and_then(|v| v.parse().ok()),
            config_dir: var("EOPF_GEOZARR_CONFIG_DIR")
                .map(PathBuf::from)
                .or_else(|| var("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("eopf-geozarr")))
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config/eopf-geozarr"))),
        }
    }
}
