//! Level of detail for the map: the reflectance levels of the open product (raw EOPF: r10m, r20m,
//! r60m; GeoZarr: every level of the multiscales pyramid), the level that best matches the
//! screen, and 512-pixel tiles of it rendered on background threads into an LRU cache with a
//! memory budget. The whole-level image of the base level (r60m) always stays underneath, so a
//! coarser picture is visible while finer tiles arrive; nothing is read on the UI thread.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};

use crate::hierarchy::Hierarchy;
use crate::render::{Preset, Rgba, Stretch, Window, render_preset_window};

/// Tile edge in level pixels.
pub const TILE: u64 = 512;

/// One reflectance level of the product.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Group name (`r10m`).
    pub name: String,
    /// Pixel size in metres.
    pub res: f64,
    pub width: u64,
    pub height: u64,
}

/// The reflectance levels of a product, finest first (those with B04, B03 and B02).
pub fn levels(h: &Hierarchy) -> Vec<Level> {
    let mut out: Vec<Level> = h
        .nodes()
        .filter_map(|n| {
            let name = n.path.strip_prefix("/measurements/reflectance/")?;
            if name.contains('/') {
                return None;
            }
            let res: f64 = name.strip_prefix('r')?.strip_suffix('m')?.parse().ok()?;
            let b04 = h.array_meta(&format!("{}/b04", n.path)).ok()?;
            (b04.shape.len() == 2).then(|| Level {
                name: name.to_string(),
                res,
                width: b04.shape[1],
                height: b04.shape[0],
            })
        })
        .collect();
    out.sort_by(|a, b| a.res.total_cmp(&b.res));
    out
}

/// The level to show: the finest whose pixels are at least one screen pixel wide, given the
/// screen pixels per base-level pixel (`zoom`); never coarser than the base level.
pub fn choose_level(levels: &[Level], base_res: f64, zoom: f64) -> Option<usize> {
    let base = levels.iter().position(|l| l.res == base_res)?;
    let mut best = base;
    for (i, l) in levels.iter().enumerate() {
        if l.res <= base_res && zoom * l.res / base_res >= 0.999 && l.res < levels[best].res {
            best = i;
        }
    }
    Some(best)
}

/// A tile: level index, tile column and row, and the generation of the rendering settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileKey {
    pub level: usize,
    pub tx: u64,
    pub ty: u64,
    pub generation: u64,
}

struct Cached {
    texture: egui::TextureHandle,
    bytes: usize,
    last_used: u64,
}

struct Request {
    key: TileKey,
    level: String,
    window: Window,
    preset: Preset,
    stretch: Option<Stretch>,
}

struct Queue {
    pending: Vec<Request>,
    closed: bool,
}

type Done = (TileKey, Result<Rgba, String>);

/// Tiles of the open product: requests, background rendering, the texture cache.
pub struct TileCache {
    pub levels: Vec<Level>,
    queue: Arc<(Mutex<Queue>, Condvar)>,
    results: Receiver<Done>,
    cache: HashMap<TileKey, Cached>,
    in_flight: HashSet<TileKey>,
    budget: usize,
    frame: u64,
    /// Tiles rendered by the workers so far (each reads one window of 3 bands).
    pub rendered: Arc<AtomicU64>,
    /// Settings generation: a preset change makes every cached tile stale.
    pub generation: u64,
    /// The last error of a tile.
    pub error: Option<String>,
}

impl TileCache {
    /// Start `threads` workers on `h` (`ctx` is repainted when a tile is ready). The texture
    /// budget is `EOPF_TILE_CACHE_MB` (256 MB by default).
    pub fn new(h: Arc<Hierarchy>, ctx: Option<egui::Context>, threads: usize) -> Self {
        let queue = Arc::new((
            Mutex::new(Queue {
                pending: Vec::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let (tx, rx): (Sender<Done>, Receiver<Done>) = channel();
        let rendered = Arc::new(AtomicU64::new(0));
        for _ in 0..threads.max(1) {
            let (q, tx, h, ctx, rendered) = (
                queue.clone(),
                tx.clone(),
                h.clone(),
                ctx.clone(),
                rendered.clone(),
            );
            std::thread::spawn(move || {
                loop {
                    let req = {
                        let (lock, cv) = &*q;
                        let Ok(mut g) = lock.lock() else { return };
                        loop {
                            if g.closed {
                                return;
                            }
                            // Newest first: the tiles of the current view.
                            if let Some(r) = g.pending.pop() {
                                break r;
                            }
                            g = match cv.wait(g) {
                                Ok(g) => g,
                                Err(_) => return,
                            };
                        }
                    };
                    let r = render_preset_window(
                        &h,
                        &req.level,
                        req.preset,
                        Some(&req.window),
                        req.stretch.as_ref(),
                    )
                    .map(|(img, _)| img)
                    .map_err(|e| e.to_string());
                    rendered.fetch_add(1, Ordering::Relaxed);
                    if tx.send((req.key, r)).is_err() {
                        return;
                    }
                    if let Some(c) = &ctx {
                        c.request_repaint();
                    }
                }
            });
        }
        let budget = std::env::var("EOPF_TILE_CACHE_MB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(256 << 20, |mb| mb << 20);
        let levels = levels(&h);
        TileCache {
            levels,
            queue,
            results: rx,
            cache: HashMap::new(),
            in_flight: HashSet::new(),
            budget,
            frame: 0,
            rendered,
            generation: 0,
            error: None,
        }
    }

    /// Forget every tile (the preset changed).
    pub fn invalidate(&mut self) {
        self.generation += 1;
        self.cache.clear();
        self.in_flight.clear();
        if let Ok(mut g) = self.queue.0.lock() {
            g.pending.clear();
        }
    }

    /// Tiles of `level` covering `visible` (in level pixels: x0, y0, x1, y1).
    pub fn tiles_for(&self, level: usize, visible: [f64; 4]) -> Vec<TileKey> {
        let l = &self.levels[level];
        let tiles_x = l.width.div_ceil(TILE);
        let tiles_y = l.height.div_ceil(TILE);
        let clamp = |v: f64, n: u64| (v.max(0.0) as u64).min(n);
        let (x0, x1) = (
            clamp(visible[0] / TILE as f64, tiles_x),
            clamp((visible[2] / TILE as f64).ceil(), tiles_x),
        );
        let (y0, y1) = (
            clamp(visible[1] / TILE as f64, tiles_y),
            clamp((visible[3] / TILE as f64).ceil(), tiles_y),
        );
        let mut out = Vec::new();
        for ty in y0..y1 {
            for tx in x0..x1 {
                out.push(TileKey {
                    level,
                    tx,
                    ty,
                    generation: self.generation,
                });
            }
        }
        out
    }

    /// Take finished tiles, ask for the missing ones of `wanted` (dropping queued requests that
    /// are no longer wanted), and evict the least recently drawn tiles over the budget.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        wanted: &[TileKey],
        preset: Preset,
        stretch: Option<Stretch>,
    ) {
        self.frame += 1;
        while let Ok((key, r)) = self.results.try_recv() {
            self.in_flight.remove(&key);
            if key.generation != self.generation {
                continue;
            }
            match r {
                Ok(img) => {
                    let bytes = img.pixels.len();
                    let c = egui::ColorImage::from_rgba_unmultiplied(
                        [img.width, img.height],
                        &img.pixels,
                    );
                    let texture = ctx.load_texture(
                        format!("tile-{}-{}-{}", key.level, key.tx, key.ty),
                        c,
                        egui::TextureOptions::NEAREST,
                    );
                    self.cache.insert(
                        key,
                        Cached {
                            texture,
                            bytes,
                            last_used: self.frame,
                        },
                    );
                }
                Err(e) => self.error = Some(e),
            }
        }
        let wanted_set: HashSet<TileKey> = wanted.iter().copied().collect();
        if let Ok(mut g) = self.queue.0.lock() {
            // Queued tiles that left the view are dropped (and may be asked for again later).
            let mut dropped = Vec::new();
            g.pending.retain(|r| {
                let keep = wanted_set.contains(&r.key);
                if !keep {
                    dropped.push(r.key);
                }
                keep
            });
            for k in dropped {
                self.in_flight.remove(&k);
            }
            let queued: HashSet<TileKey> = g.pending.iter().map(|r| r.key).collect();
            for key in wanted.iter().rev() {
                if self.cache.contains_key(key)
                    || queued.contains(key)
                    || self.in_flight.contains(key)
                {
                    continue;
                }
                let l = &self.levels[key.level];
                let window = Window {
                    rows: key.ty * TILE..((key.ty + 1) * TILE).min(l.height),
                    cols: key.tx * TILE..((key.tx + 1) * TILE).min(l.width),
                };
                g.pending.push(Request {
                    key: *key,
                    level: l.name.clone(),
                    window,
                    preset,
                    stretch,
                });
                self.in_flight.insert(*key);
            }
            self.queue.1.notify_all();
        }
        for key in wanted {
            if let Some(c) = self.cache.get_mut(key) {
                c.last_used = self.frame;
            }
        }
        let mut total: usize = self.cache.values().map(|c| c.bytes).sum();
        if total > self.budget {
            let mut by_age: Vec<(u64, TileKey)> =
                self.cache.iter().map(|(k, c)| (c.last_used, *k)).collect();
            by_age.sort();
            for (_, k) in by_age {
                if total <= self.budget {
                    break;
                }
                if let Some(c) = self.cache.remove(&k) {
                    total -= c.bytes;
                }
            }
        }
    }

    /// The cached texture of a tile.
    pub fn texture(&self, key: &TileKey) -> Option<&egui::TextureHandle> {
        self.cache.get(key).map(|c| &c.texture)
    }

    /// Bytes of tile textures held.
    pub fn cached_bytes(&self) -> usize {
        self.cache.values().map(|c| c.bytes).sum()
    }

    /// Whether tiles are still being rendered.
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }
}

impl Drop for TileCache {
    fn drop(&mut self) {
        if let Ok(mut g) = self.queue.0.lock() {
            g.closed = true;
            g.pending.clear();
        }
        self.queue.1.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(name: &str, res: f64) -> Level {
        Level {
            name: name.into(),
            res,
            width: (109_800.0 / res) as u64,
            height: (109_800.0 / res) as u64,
        }
    }

    #[test]
    fn level_of_detail() {
        let l = vec![
            lv("r10m", 10.0),
            lv("r20m", 20.0),
            lv("r60m", 60.0),
            lv("r120m", 120.0),
        ];
        // One screen pixel per r60m pixel or less: r60m.
        assert_eq!(choose_level(&l, 60.0, 0.5), Some(2));
        assert_eq!(choose_level(&l, 60.0, 1.0), Some(2));
        assert_eq!(choose_level(&l, 60.0, 2.9), Some(2));
        // Three screen pixels per r60m pixel: r20m pixels are one screen pixel.
        assert_eq!(choose_level(&l, 60.0, 3.0), Some(1));
        assert_eq!(choose_level(&l, 60.0, 5.9), Some(1));
        assert_eq!(choose_level(&l, 60.0, 6.0), Some(0));
        assert_eq!(choose_level(&l, 60.0, 40.0), Some(0));
        assert_eq!(choose_level(&l, 45.0, 40.0), None);
    }
}
