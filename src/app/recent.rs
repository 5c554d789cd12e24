//! Recently opened products, remembered between runs in `recent.json` of the config folder
//! ([`super::config::AppConfig::config_dir`]). Reading and saving are file I/O: background jobs
//! only.

use std::path::Path;

/// How many products are remembered.
pub const MAX_RECENT: usize = 10;

/// The remembered products, most recent first (an unreadable file counts as empty).
pub fn load(config_dir: Option<&Path>) -> Vec<String> {
    config_dir
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
pub fn remember(config_dir: Option<&Path>, path: &str) {
    let mut list = load(config_dir);
    add(&mut list, path);
    let list = &list;
    let Some(dir) = config_dir else { return };
    let result = std::fs::create_dir_all(dir).and_then(|_| {
        let text = serde_json::to_string_pretty(list).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("recent.json"), text)
    });
    if let Err(e) = result {
        tracing::warn!("{}: cannot save the recent products: {e}", dir.display());
    }
}
