//! Opening a full-size (10980²) GeoZarr pyramid: what the map's first frame needs (report,
//! validation, the r60m true colour, the inspector, the histograms) reads chunks of the coarse
//! level (and 1-D coordinates) only — no r10m or r20m chunk —, and the map's first tiles (fitted:
//! r120m, with r720m underneath) read only those two levels. The store is the real output layout
//! of a full tile (every `zarr.json` of the conversion plan of a metadata-only 10980² demo
//! product, chunks absent, so reading a chunk returns its fill value); a counting store around
//! the file system records every key read.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::sync::{Arc, Mutex};

use eopf_geozarr::hierarchy::Hierarchy;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    ListableStorageTraits, MaybeBytesIterator, ReadableStorageTraits, StorageError, StoreKey,
    StoreKeys, StoreKeysPrefixes, StorePrefix,
};

struct Counting {
    inner: zarrs::filesystem::FilesystemStore,
    keys: Mutex<Vec<String>>,
}

impl ReadableStorageTraits for Counting {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        self.keys.lock().unwrap().push(key.as_str().to_string());
        self.inner.get_partial_many(key, byte_ranges)
    }
    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.inner.size_key(key)
    }
    fn supports_get_partial(&self) -> bool {
        true
    }
}

impl ListableStorageTraits for Counting {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.inner.list()
    }
    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.inner.list_prefix(prefix)
    }
    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.inner.list_dir(prefix)
    }
    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        self.inner.size_prefix(prefix)
    }
}

#[test]
fn first_frame_of_a_full_size_pyramid_reads_only_the_coarse_level() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zarr");
    common::run_ok(&[
        "demo",
        input.to_str().unwrap(),
        "--size",
        "10980",
        "--empty",
    ]);
    // The full-tile GeoZarr layout (geozarr profile, sharded), metadata only.
    let h = Hierarchy::open(&input).unwrap();
    let opts = eopf_geozarr::convert::S2Options {
        enable_sharding: true,
        ..Default::default()
    };
    let crs = eopf_geozarr::product::resolve_crs(&h, &eopf_geozarr::geo::epsg_exists).map(|c| c.0);
    let plan = eopf_geozarr::convert::plan_s2(&h, crs, &opts).unwrap();
    let out = dir.path().join("pyramid.zarr");
    let write = |node: &str, doc: &serde_json::Value| {
        let d = out.join(node.trim_start_matches('/'));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("zarr.json"), serde_json::to_vec(doc).unwrap()).unwrap();
    };
    for a in &plan.arrays {
        write(&a.path, &a.doc);
    }
    for (g, attrs) in &plan.groups {
        write(
            g,
            &serde_json::json!({"zarr_format": 3, "node_type": "group", "attributes": attrs}),
        );
    }
    let b04 = plan
        .arrays
        .iter()
        .find(|a| a.path == "/measurements/reflectance/r10m/b04")
        .unwrap();
    assert_eq!(b04.doc["shape"], serde_json::json!([10980, 10980]));

    let store = Arc::new(Counting {
        inner: zarrs::filesystem::FilesystemStore::new(&out).unwrap(),
        keys: Mutex::new(Vec::new()),
    });
    let h = Hierarchy::open_store(store.clone(), out.display().to_string()).unwrap();
    let loaded = eopf_geozarr::app::load_hierarchy(h).unwrap();
    let image = loaded.image.as_ref().expect("the r60m true colour");
    assert_eq!((image.width, image.height), (1830, 1830));
    let keys = store.keys.lock().unwrap().clone();
    let chunks: Vec<&String> = keys.iter().filter(|k| !k.ends_with("zarr.json")).collect();
    let coordinate = |k: &str| {
        let parts: Vec<&str> = k.split('/').collect();
        parts
            .iter()
            .rposition(|p| *p == "c")
            .is_some_and(|i| i > 0 && matches!(parts[i - 1], "x" | "y"))
    };
    let fine: Vec<&&String> = chunks
        .iter()
        .filter(|k| (k.contains("/r10m/") || k.contains("/r20m/")) && !coordinate(k))
        .collect();
    assert!(fine.is_empty(), "fine-level chunks read: {fine:?}");
    let coarse = chunks
        .iter()
        .filter(|k| k.starts_with("measurements/reflectance/r60m/"))
        .count();
    assert!(coarse > 0, "the r60m bands were read: {chunks:?}");
    eprintln!(
        "first frame of a 10980² pyramid: {} reads ({} chunk reads: {coarse} under r60m, {} of 1-D coordinates)",
        keys.len(),
        chunks.len(),
        chunks.iter().filter(|k| coordinate(k)).count()
    );

    // The map's first tiles, as the app asks for them fitted in its 1280×800 window (a map
    // canvas of ~830 × 680 points: 0.37 screen pixels per r60m pixel): the chosen level and,
    // underneath, the coarsest — GPU tiles, bands as stored.
    use eopf_geozarr::app::canvas::{TileCache, choose_level};
    store.keys.lock().unwrap().clear();
    let ctx = egui::Context::default();
    let mut tiles = TileCache::new(loaded.hierarchy.clone(), None, 2);
    tiles.set_gpu(true, 8192);
    let names: Vec<&str> = tiles.levels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["r10m", "r20m", "r60m", "r120m", "r360m", "r720m"]);
    assert!(
        tiles.levels.iter().all(|l| l.source.is_none()),
        "the pyramid's own overviews"
    );
    let chosen = choose_level(&tiles.levels, 60.0, 680.0 / 1830.0).unwrap();
    assert_eq!(tiles.levels[chosen].name, "r120m");
    let coarsest = tiles.levels.len() - 1;
    let whole = |i: usize| {
        let l = &tiles.levels[i];
        tiles.tiles_for(i, [0.0, 0.0, l.width as f64, l.height as f64])
    };
    let mut wanted = whole(chosen);
    wanted.extend(whole(coarsest));
    assert_eq!(wanted.len(), 4 + 1, "915² in 512-pixel tiles, and 153²");
    let preset = eopf_geozarr::render::Preset::TrueColour;
    for _ in 0..600 {
        tiles.update(&ctx, &wanted, &[], preset, None);
        if wanted.iter().all(|k| tiles.get(k).is_some()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        wanted.iter().all(|k| tiles.get(k).is_some()),
        "{:?}",
        tiles.error
    );
    let keys = store.keys.lock().unwrap().clone();
    let chunks: Vec<&String> = keys.iter().filter(|k| !k.ends_with("zarr.json")).collect();
    let outside: Vec<&&String> = chunks
        .iter()
        .filter(|k| !(k.contains("/r120m/") || k.contains("/r720m/")))
        .collect();
    assert!(
        outside.is_empty(),
        "first tiles read other levels: {outside:?}"
    );
    assert!(!chunks.is_empty());
    eprintln!(
        "its first tiles (r120m, r720m underneath): {} reads, {} of them chunks",
        keys.len(),
        chunks.len()
    );
}

/// The map's tiles are much smaller than EOPF chunks: with the chunk cache the app turns on, a
/// second region of an already decoded chunk reads nothing from the store, and the values are
/// those of an uncached read.
#[test]
fn regions_of_a_decoded_chunk_are_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zarr");
    // N0511 (v2) chunks are large (one 549² chunk per r20m band here), the case the cache is for.
    common::run_ok(&["demo", input.to_str().unwrap(), "--format", "v2"]);
    let open = || {
        let store = Arc::new(Counting {
            inner: zarrs::filesystem::FilesystemStore::new(&input).unwrap(),
            keys: Mutex::new(Vec::new()),
        });
        let h = Hierarchy::open_store(store.clone(), input.display().to_string()).unwrap();
        (store, h)
    };
    let (store, h) = open();
    let h = h.with_chunk_cache(64 << 20, 8);
    let path = "/measurements/reflectance/r20m/b05";
    let meta = h.array_meta(path).unwrap().clone();
    assert!(
        meta.chunks[0] >= 128 && meta.chunks[1] >= 128,
        "{:?}",
        meta.chunks
    );
    let chunk_reads = |s: &Counting| {
        s.keys
            .lock()
            .unwrap()
            .iter()
            .filter(|k| {
                k.contains("r20m/b05/") && !k.ends_with(".zarray") && !k.ends_with(".zattrs")
            })
            .count()
    };
    let a = h.read_region::<u16>(path, &[0..64, 0..64]).unwrap();
    let first = chunk_reads(&store);
    assert_eq!(first, 1, "one chunk decoded");
    let b = h.read_region::<u16>(path, &[64..128, 32..96]).unwrap();
    assert_eq!(
        chunk_reads(&store),
        first,
        "the second region came from the cache"
    );
    // The same values as reads without the cache (which read the chunk each time).
    let (plain_store, plain) = open();
    assert_eq!(plain.read_region::<u16>(path, &[0..64, 0..64]).unwrap(), a);
    assert_eq!(
        plain.read_region::<u16>(path, &[64..128, 32..96]).unwrap(),
        b
    );
    assert_eq!(chunk_reads(&plain_store), 2);
}
