//! Level of detail for the map: the reflectance levels of the open product (GeoZarr: every level
//! of the multiscales pyramid; raw EOPF: r10m, r20m, r60m plus overviews r120m, r360m, r720m
//! computed from r60m with the pyramid kernels), the level that best matches the screen, and
//! 512-pixel tiles of it read on background threads into an LRU cache with a memory budget.
//! Tiles hold either an RGBA texture (CPU colouring) or the bands as stored (GPU colouring,
//! [`super::gpu_colour`]). Coarser tiles already cached stay underneath while finer ones
//! arrive; nothing is read on the UI thread.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};

use crate::hierarchy::Hierarchy;
use crate::kernels::Kernels;
use crate::render::{Preset, RawTile, Stretch, Window, colour_raw, read_preset_raw};

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
    /// An overview the product does not store: computed from this stored level by this factor.
    pub source: Option<(String, u64)>,
    /// Chunk and shard shapes (rows, cols) of the stored bands (`None` for computed overviews).
    pub chunks: Option<(u64, u64)>,
    pub shards: Option<(u64, u64)>,
}

/// Overviews computed for products whose coarsest stored level is 60 m or finer: the
/// reference's GeoZarr overview levels, as factors of r60m.
const OVERVIEWS: [(f64, u64); 3] = [(120.0, 2), (360.0, 6), (720.0, 12)];

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
            let pair = |v: &[u64]| (v.len() == 2).then(|| (v[0], v[1]));
            (b04.shape.len() == 2).then(|| Level {
                name: name.to_string(),
                res,
                width: b04.shape[1],
                height: b04.shape[0],
                source: None,
                chunks: pair(&b04.chunks),
                shards: b04.shard_shape.as_deref().and_then(pair),
            })
        })
        .collect();
    out.sort_by(|a, b| a.res.total_cmp(&b.res));
    if let Some(c) = out.last().cloned()
        && c.res == 60.0
    {
        for (res, f) in OVERVIEWS {
            out.push(Level {
                name: format!("r{res}m"),
                res,
                width: c.width.div_ceil(f),
                height: c.height.div_ceil(f),
                source: Some((c.name.clone(), f)),
                chunks: None,
                shards: None,
            });
        }
    }
    out
}

/// The level to show, given the screen pixels per base-level pixel (`zoom`): zoomed in (one
/// base pixel covers a screen pixel or more), the finest level whose pixels are at least one
/// screen pixel wide; zoomed out, the coarsest level whose pixels are at most one screen pixel
/// wide — never more than one level away from the screen's resolution.
pub fn choose_level(levels: &[Level], base_res: f64, zoom: f64) -> Option<usize> {
    let base = levels.iter().position(|l| l.res == base_res)?;
    let screen_px = |l: &Level| zoom * l.res / base_res;
    let mut best = base;
    if zoom >= 0.999 {
        for (i, l) in levels.iter().enumerate() {
            if l.res <= base_res && screen_px(l) >= 0.999 && l.res < levels[best].res {
                best = i;
            }
        }
    } else {
        for (i, l) in levels.iter().enumerate() {
            if l.res > levels[best].res && screen_px(l) <= 1.001 {
                best = i;
            }
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

/// What a cached tile holds.
pub enum TileData {
    /// Coloured on the CPU.
    Image(egui::TextureHandle),
    /// The bands as stored, with the id their GPU upload goes by.
    Raw(Arc<RawTile>, u64),
}

struct Cached {
    data: TileData,
    bytes: usize,
    last_used: u64,
}

struct Request {
    key: TileKey,
    level: Level,
    window: Window,
    preset: Preset,
    stretch: Option<Stretch>,
    gpu: bool,
}

struct Queue {
    pending: Vec<Request>,
    closed: bool,
}

enum Made {
    Image(crate::render::Rgba),
    Raw(RawTile),
}

type Done = (TileKey, Result<Made, String>);

/// The bands behind `preset` over `window` of `level`, as stored; overviews the product does
/// not store are reduced from their stored level with `kernels`.
pub fn read_level(
    h: &Hierarchy,
    kernels: &Kernels,
    level: &Level,
    preset: Preset,
    window: &Window,
) -> crate::Result<RawTile> {
    match &level.source {
        None => read_preset_raw(h, &level.name, preset, Some(window)),
        Some((src, f)) => {
            let win = Window {
                rows: window.rows.start * f..window.rows.end * f,
                cols: window.cols.start * f..window.cols.end * f,
            };
            read_preset_raw(h, src, preset, Some(&win))?.reduce(*f as usize, kernels)
        }
    }
}

/// Read (and for the CPU path colour) one tile.
fn make_tile(h: &Hierarchy, kernels: &Kernels, r: &Request) -> crate::Result<Made> {
    let raw = read_level(h, kernels, &r.level, r.preset, &r.window)?;
    if r.gpu {
        Ok(Made::Raw(raw))
    } else {
        Ok(Made::Image(colour_raw(&raw, r.stretch.as_ref())?.0))
    }
}

/// Tiles of the open product: requests, background reading, the cache.
pub struct TileCache {
    pub levels: Vec<Level>,
    queue: Arc<(Mutex<Queue>, Condvar)>,
    results: Receiver<Done>,
    cache: HashMap<TileKey, Cached>,
    in_flight: HashSet<TileKey>,
    budget: usize,
    /// Frames drawn (the least-recently-drawn eviction of cached tiles).
    frame: u64,
    /// Tiles made by the workers so far (each reads one window of the preset's bands).
    pub rendered: Arc<AtomicU64>,
    /// Settings generation: a preset change (and on the CPU path a stretch change) makes every
    /// cached tile stale.
    pub generation: u64,
    /// The last error of a tile.
    pub error: Option<String>,
    /// Tiles keep the bands as stored for the GPU colouring (else RGBA coloured on the CPU).
    gpu: bool,
    /// Tile edge in level pixels: [`TILE`], or the adapter's largest texture edge if smaller.
    pub edge: u64,
}

impl TileCache {
    /// Start `threads` workers on `h` (`ctx` is repainted when a tile is ready). The cache
    /// budget is `EOPF_TILE_CACHE_MB` (256 MB by default).
    pub fn new(h: Arc<Hierarchy>, ctx: Option<egui::Context>, threads: usize) -> Self {
        Self::with_budget(h, ctx, threads, super::config::DEFAULT_TILE_CACHE_BYTES)
    }

    /// [`TileCache::new`] with a memory budget in bytes.
    pub fn with_budget(
        h: Arc<Hierarchy>,
        ctx: Option<egui::Context>,
        threads: usize,
        budget: usize,
    ) -> Self {
        let queue = Arc::new((
            Mutex::new(Queue {
                pending: Vec::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let (tx, rx): (Sender<Done>, Receiver<Done>) = channel();
        let rendered = Arc::new(AtomicU64::new(0));
        let levels = levels(&h);
        // Overviews are computed with the pyramid kernels (a real GPU when there is one),
        // set up by the first worker that needs them (finding the adapter takes a while: never
        // on the UI thread).
        let kernels: Arc<std::sync::OnceLock<Kernels>> = Arc::default();
        for _ in 0..threads.max(1) {
            let (q, tx, h, ctx, rendered, kernels) = (
                queue.clone(),
                tx.clone(),
                h.clone(),
                ctx.clone(),
                rendered.clone(),
                kernels.clone(),
            );
            std::thread::spawn(move || {
                let cpu = Kernels::cpu();
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
                    let k = if req.level.source.is_some() {
                        kernels.get_or_init(|| {
                            Kernels::new(crate::kernels::Device::Auto)
                                .unwrap_or_else(|_| Kernels::cpu())
                        })
                    } else {
                        &cpu
                    };
                    let t0 = std::time::Instant::now();
                    // A panic is this tile's error, not a dead worker and a tile that never comes.
                    let r = super::job::catch("drawing a map tile", || {
                        make_tile(&h, k, &req).map_err(|e| e.to_string())
                    });
                    tracing::debug!(
                        "tile {} ({}, {}): {:.0} ms",
                        req.level.name,
                        req.key.tx,
                        req.key.ty,
                        t0.elapsed().as_secs_f64() * 1e3
                    );
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
            gpu: false,
            edge: TILE,
        }
    }

    /// Switch between GPU tiles (bands as stored, `max_texture`: the adapter's largest texture
    /// edge) and CPU tiles (RGBA); every cached tile is dropped when it changes.
    pub fn set_gpu(&mut self, gpu: bool, max_texture: u64) {
        let edge = TILE.min(max_texture.max(1));
        if gpu != self.gpu || (gpu && edge != self.edge) {
            self.gpu = gpu;
            self.edge = if gpu { edge } else { TILE };
            self.invalidate();
        }
    }

    /// Whether tiles are made for the GPU colouring.
    pub fn is_gpu(&self) -> bool {
        self.gpu
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

    /// The rectangle of a tile in level pixels (x0, y0, x1, y1).
    pub fn tile_rect(&self, key: &TileKey) -> [u64; 4] {
        let l = &self.levels[key.level];
        [
            key.tx * self.edge,
            key.ty * self.edge,
            ((key.tx + 1) * self.edge).min(l.width),
            ((key.ty + 1) * self.edge).min(l.height),
        ]
    }

    /// Tiles of `level` covering `visible` (in level pixels: x0, y0, x1, y1).
    pub fn tiles_for(&self, level: usize, visible: [f64; 4]) -> Vec<TileKey> {
        let l = &self.levels[level];
        let e = self.edge;
        let tiles_x = l.width.div_ceil(e);
        let tiles_y = l.height.div_ceil(e);
        let clamp = |v: f64, n: u64| (v.max(0.0) as u64).min(n);
        let (x0, x1) = (
            clamp(visible[0] / e as f64, tiles_x),
            clamp((visible[2] / e as f64).ceil(), tiles_x),
        );
        let (y0, y1) = (
            clamp(visible[1] / e as f64, tiles_y),
            clamp((visible[3] / e as f64).ceil(), tiles_y),
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
    /// are no longer wanted), keep `drawn` (tiles shown without being asked for) fresh, and
    /// evict the least recently drawn tiles over the budget.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        wanted: &[TileKey],
        drawn: &[TileKey],
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
                Ok(Made::Image(img)) => {
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
                            data: TileData::Image(texture),
                            bytes,
                            last_used: self.frame,
                        },
                    );
                }
                Ok(Made::Raw(t)) => {
                    let bytes = t.bytes();
                    self.cache.insert(
                        key,
                        Cached {
                            data: TileData::Raw(Arc::new(t), super::gpu_colour::next_id()),
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
                let [x0, y0, x1, y1] = self.tile_rect(key);
                g.pending.push(Request {
                    key: *key,
                    level: self.levels[key.level].clone(),
                    window: Window {
                        rows: y0..y1,
                        cols: x0..x1,
                    },
                    preset,
                    stretch,
                    gpu: self.gpu,
                });
                self.in_flight.insert(*key);
            }
            self.queue.1.notify_all();
        }
        for key in wanted.iter().chain(drawn) {
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

    /// A cached tile.
    pub fn get(&self, key: &TileKey) -> Option<&TileData> {
        self.cache.get(key).map(|c| &c.data)
    }

    /// The cached tiles that hold bands as stored (GPU path).
    pub fn raw_tiles(&self) -> impl Iterator<Item = &Arc<RawTile>> {
        self.cache.values().filter_map(|c| match &c.data {
            TileData::Raw(t, _) => Some(t),
            TileData::Image(_) => None,
        })
    }

    /// Bytes of tiles held.
    pub fn cached_bytes(&self) -> usize {
        self.cache.values().map(|c| c.bytes).sum()
    }

    /// Whether tiles are still being made.
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
            source: None,
            chunks: None,
            shards: None,
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
        // About one screen pixel per r60m pixel: r60m.
        assert_eq!(choose_level(&l, 60.0, 1.0), Some(2));
        assert_eq!(choose_level(&l, 60.0, 2.9), Some(2));
        // Three screen pixels per r60m pixel: r20m pixels are one screen pixel.
        assert_eq!(choose_level(&l, 60.0, 3.0), Some(1));
        assert_eq!(choose_level(&l, 60.0, 5.9), Some(1));
        assert_eq!(choose_level(&l, 60.0, 6.0), Some(0));
        assert_eq!(choose_level(&l, 60.0, 40.0), Some(0));
        assert_eq!(choose_level(&l, 45.0, 40.0), None);
        // Zoomed out: the coarsest level whose pixels are at most one screen pixel.
        assert_eq!(choose_level(&l, 60.0, 0.6), Some(2));
        assert_eq!(choose_level(&l, 60.0, 0.5), Some(3));
        assert_eq!(choose_level(&l, 60.0, 0.1), Some(3));
    }
}
