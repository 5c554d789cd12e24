//! Recently opened products, remembered between runs in `recent.json` of the config folder
//! (`$EOPF_GEOZARR_CONFIG_DIR`, else `$XDG_CONFIG_HOME/eopf-geozarr`, else `~/.config/eopf-geozarr`).

use std::path::PathBuf;

/// How many products are remembered.
pub const MAX_RECENT: usize = 10;

/// The config folder.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("EOPF_GEOZARR_CONFIG_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("eopf-geozarr"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/eopf-geozarr"))
}

/// The remembered products, most recent first (an unreadable file counts as empty).
pub fn load() -> Vec<String> {
    config_dir()
        .and_then(|d| std::fs::read_to_string(d.join("recent.json")).ok())
        .and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok())
        .unwrap_or_default()
}

/// Put `path` first in `list` (in memory).
pub fn add(list: &mut Vec<String>, path: &str) {
    list.retain(|p| p != path);
    list.insert(0, path.to_string());
    list.truncate(MAX_RECENT);
}

/// Put `path` first in the saved list (file I/O: called from background jobs); failures to
/// save are logged, never fatal.
pub fn remember(path: &str) {
    let mut list = load();
    add(&mut list, path);
    let list = &list;
    let Some(dir) = config_dir() else { return };
    let result = std::fs::create_dir_all(&dir).and_then(|_| {
        let text = serde_json::to_string_pretty(list).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("recent.json"), text)
    });
    if let Err(e) = result {
        tracing::warn!("{}: cannot save the recent products: {e}", dir.display());
    }
}
