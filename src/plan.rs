//! Pure planning functions: aligned chunk sizes (both reference variants), shard shapes, overview
//! levels (pipeline A), the Sentinel-2 level table and its derivation chain (pipeline B), and the
//! geozarr profile's sharding policy. Every number of docs/reference.md §2A.6, §2B.5 and §2B.11 is a test.

pub use crate::profile::Profile;
use crate::profile::{Transforms, Trimming};

/// Pipeline A's `calculate_aligned_chunk_size` (utils variant): the largest divisor of `dim` in
/// `[floor(0.51·target) + 1, target]`, `dim` when `target ≥ dim`, else `target` (partial chunks).
///
/// ```
/// use eopf_geozarr::plan::calculate_aligned_chunk_size;
/// assert_eq!(calculate_aligned_chunk_size(10980, 4096), 3660);
/// assert_eq!(calculate_aligned_chunk_size(5490, 3660), 2745);
/// assert_eq!(calculate_aligned_chunk_size(258, 256), 256);
/// assert_eq!(calculate_aligned_chunk_size(16677, 4096), 4096); // no divisor: partial chunks
/// ```
pub fn calculate_aligned_chunk_size(dim: u64, target: u64) -> u64 {
    aligned(dim, target, (target * 51 / 100) + 1)
}

/// Pipeline B's `calculate_aligned_chunk_size` (S2 variant): the search goes down to
/// `max(floor(target/2), 1) + 1`.
///
/// ```
/// use eopf_geozarr::plan::calculate_aligned_chunk_size_s2;
/// assert_eq!(calculate_aligned_chunk_size_s2(10980, 256), 244);
/// assert_eq!(calculate_aligned_chunk_size_s2(258, 256), 129);
/// assert_eq!(calculate_aligned_chunk_size_s2(305, 256), 256);
/// ```
pub fn calculate_aligned_chunk_size_s2(dim: u64, target: u64) -> u64 {
    aligned(dim, target, (target / 2).max(1) + 1)
}

fn aligned(dim: u64, target: u64, lowest: u64) -> u64 {
    if target == 0 || dim == 0 {
        return dim.max(1);
    }
    if target >= dim {
        return dim;
    }
    (lowest.max(1)..=target)
        .rev()
        .find(|c| dim.is_multiple_of(*c))
        .unwrap_or(target)
}

/// Which aligned-chunk variant a computation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignVariant {
    /// Pipeline A (`utils`).
    Utils,
    /// Pipeline B (`s2_multiscale`).
    S2,
}

/// A square spatial chunk: `min(target, aligned(W), aligned(H))`.
///
/// ```
/// use eopf_geozarr::plan::{spatial_chunk, AlignVariant};
/// assert_eq!(spatial_chunk(10980, 10980, 1024, AlignVariant::S2), 915);
/// ```
pub fn spatial_chunk(width: u64, height: u64, target: u64, variant: AlignVariant) -> u64 {
    let f = match variant {
        AlignVariant::Utils => calculate_aligned_chunk_size,
        AlignVariant::S2 => calculate_aligned_chunk_size_s2,
    };
    target.min(f(width, target)).min(f(height, target))
}

/// The reference's `calculate_simple_shard_dimensions`: per axis, the first axis of a 3-D array → 1;
/// `dim mod chunk == 0` → `dim`; at least one chunk fits → `floor(dim/chunk)·chunk`; else `chunk`.
///
/// ```
/// use eopf_geozarr::plan::calculate_simple_shard_dimensions;
/// assert_eq!(calculate_simple_shard_dimensions(&[1000, 1000], &[256, 256]), vec![768, 768]);
/// assert_eq!(calculate_simple_shard_dimensions(&[5, 1024, 1024], &[1, 256, 256]), vec![1, 1024, 1024]);
/// ```
pub fn calculate_simple_shard_dimensions(shape: &[u64], chunks: &[u64]) -> Vec<u64> {
    shape
        .iter()
        .zip(chunks)
        .enumerate()
        .map(|(axis, (&dim, &chunk))| {
            if shape.len() == 3 && axis == 0 {
                1
            } else if chunk == 0 || dim.is_multiple_of(chunk) {
                dim
            } else if dim >= chunk {
                (dim / chunk) * chunk
            } else {
                chunk
            }
        })
        .collect()
}

/// The target shard edge of the geozarr profile (one shard object ≈ 50 MB of float32).
pub const GEOZARR_SHARD_TARGET: u64 = 4096;
/// The inner chunk target of the geozarr profile.
pub const GEOZARR_CHUNK_TARGET: u64 = 256;

/// Shard size policy of the geozarr profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSize {
    /// About this many pixels on a side, a multiple of the inner chunk.
    Target(u64),
    /// One shard for the whole array.
    Full,
}

/// `full` or a number of pixels (`--shard-size`, the Python package's `shard_size`).
impl std::str::FromStr for ShardSize {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "full" => Ok(ShardSize::Full),
            n => n
                .parse()
                .map(ShardSize::Target)
                .map_err(|_| format!("{n:?}: expected a number of pixels or `full`")),
        }
    }
}

impl Default for ShardSize {
    fn default() -> Self {
        ShardSize::Target(GEOZARR_SHARD_TARGET)
    }
}

/// The geozarr profile's shard edge for one axis: `k·chunk` where `k` is the largest divisor of the
/// chunk count `ceil(dim/chunk)` with `k·chunk ≤ target`, so shards tile the axis without a partial
/// shard whenever the chunk count allows (when that divisor is under half the largest possible
/// `k`, the largest `k` with a partial last shard); `Full` → all chunks in one shard.
///
/// ```
/// use eopf_geozarr::plan::{geozarr_shard_edge, ShardSize};
/// assert_eq!(geozarr_shard_edge(10980, 244, ShardSize::Target(4096)), 3660); // 15 × 244
/// assert_eq!(geozarr_shard_edge(10980, 244, ShardSize::Full), 10980);
/// ```
pub fn geozarr_shard_edge(dim: u64, chunk: u64, size: ShardSize) -> u64 {
    let chunk = chunk.max(1);
    let n = dim.div_ceil(chunk).max(1);
    match size {
        ShardSize::Full => n * chunk,
        ShardSize::Target(t) => {
            let kmax = (t / chunk).max(1).min(n);
            let k = (1..=kmax).rev().find(|k| n.is_multiple_of(*k)).unwrap_or(1);
            // A chunk count with no useful divisor (a prime, say) would give tiny shards: then
            // take the largest shard and let the last one be partial.
            if k * 2 <= kmax {
                kmax * chunk
            } else {
                k * chunk
            }
        }
    }
}

/// Inner chunk and shard of a 2-D raster in the geozarr profile: inner = aligned(dim, 256) (S2
/// variant, square), shard per [`geozarr_shard_edge`].
pub fn geozarr_raster_encoding(height: u64, width: u64, size: ShardSize) -> (u64, [u64; 2]) {
    let c = spatial_chunk(width, height, GEOZARR_CHUNK_TARGET, AlignVariant::S2);
    (
        c,
        [
            geozarr_shard_edge(height, c, size),
            geozarr_shard_edge(width, c, size),
        ],
    )
}

/// One level of pipeline A's overview list.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OverviewLevel {
    pub level: u32,
    pub width: u64,
    pub height: u64,
    pub translation_relative: f64,
    pub scale_relative: u64,
}

/// Pipeline A's `calculate_overview_levels`: `w = W div 2ⁿ`, `h = H div 2ⁿ` from the native size,
/// stopping before the first level with `min(w, h) < min_dimension`.
///
/// ```
/// use eopf_geozarr::plan::calculate_overview_levels;
/// let l = calculate_overview_levels(10980, 10980, 256);
/// assert_eq!(l.iter().map(|l| l.width).collect::<Vec<_>>(), [10980, 5490, 2745, 1372, 686, 343]);
/// ```
pub fn calculate_overview_levels(
    width: u64,
    height: u64,
    min_dimension: u64,
) -> Vec<OverviewLevel> {
    let mut out = Vec::new();
    for n in 0..63u32 {
        let (w, h) = (width >> n, height >> n);
        if w.min(h) < min_dimension || w.min(h) == 0 {
            break;
        }
        out.push(OverviewLevel {
            level: n,
            width: w,
            height: h,
            translation_relative: 0.0,
            scale_relative: 1 << n,
        });
    }
    out
}

/// How a level of the Sentinel-2 pyramid is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LevelSource {
    /// Present in the input product.
    Native,
    /// Block reduction of another level by an integer factor.
    Derived { from: &'static str, factor: u64 },
}

/// One level of the S2 pyramid table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct S2Level {
    pub name: &'static str,
    pub meters: u32,
    pub source: LevelSource,
}

/// The fixed level table of pipeline B: r10m, r20m, r60m native; r120m = r60m ÷ 2,
/// r360m = r120m ÷ 3, r720m = r360m ÷ 2.
pub const S2_LEVELS: [S2Level; 6] = [
    S2Level {
        name: "r10m",
        meters: 10,
        source: LevelSource::Native,
    },
    S2Level {
        name: "r20m",
        meters: 20,
        source: LevelSource::Native,
    },
    S2Level {
        name: "r60m",
        meters: 60,
        source: LevelSource::Native,
    },
    S2Level {
        name: "r120m",
        meters: 120,
        source: LevelSource::Derived {
            from: "r60m",
            factor: 2,
        },
    },
    S2Level {
        name: "r360m",
        meters: 360,
        source: LevelSource::Derived {
            from: "r120m",
            factor: 3,
        },
    },
    S2Level {
        name: "r720m",
        meters: 720,
        source: LevelSource::Derived {
            from: "r360m",
            factor: 2,
        },
    },
];

/// The edge of a derived level: the reference drops trailing pixels (`floor`, 305 → 152); the
/// geozarr profile keeps the partial block (`ceil`, 305 → 153, B-20).
pub fn derived_edge(source_edge: u64, factor: u64, profile: Profile) -> u64 {
    match profile.choices().trimming {
        Trimming::DropPartialBlocks => source_edge / factor,
        Trimming::KeepPartialBlocks => source_edge.div_ceil(factor),
    }
}

/// Edges of all six levels from the native r10m/r20m/r60m edges.
///
/// ```
/// use eopf_geozarr::plan::{s2_level_edges, Profile};
/// assert_eq!(s2_level_edges([10980, 5490, 1830], Profile::Reference), [10980, 5490, 1830, 915, 305, 152]);
/// assert_eq!(s2_level_edges([10980, 5490, 1830], Profile::Geozarr), [10980, 5490, 1830, 915, 305, 153]);
/// ```
pub fn s2_level_edges(native: [u64; 3], profile: Profile) -> [u64; 6] {
    let mut e = [native[0], native[1], native[2], 0, 0, 0];
    for (i, level) in S2_LEVELS.iter().enumerate().skip(3) {
        if let LevelSource::Derived { factor, .. } = level.source {
            e[i] = derived_edge(e[i - 1], factor, profile);
        }
    }
    e
}

/// The `multiscales` scale of a derived level relative to the level it is derived from. The
/// reference divides the edges in metres by pixel counts of trimmed grids (`r120m` from 183 →
/// 91 px: 183/91 = 2.0109…); the geozarr profile states the exact factor.
pub fn derived_scale(source_edge: u64, level_edge: u64, factor: u64, profile: Profile) -> f64 {
    match profile.choices().transforms {
        Transforms::FromCentres => source_edge as f64 / level_edge as f64,
        Transforms::FromEdges => factor as f64,
    }
}

/// Chunks of a measurement variable (pipeline B, §2B.5): ≥2-D → square `c`, `(1, c, c)` for 3-D;
/// 1-D → `min(spatial_chunk, n)`.
pub fn measurement_chunks(shape: &[u64], spatial_chunk: u64) -> Vec<u64> {
    match shape.len() {
        0 => vec![],
        1 => vec![spatial_chunk.min(shape[0])],
        n => {
            let c = spatial_chunk
                .min(calculate_aligned_chunk_size_s2(shape[n - 1], spatial_chunk))
                .min(calculate_aligned_chunk_size_s2(shape[n - 2], spatial_chunk));
            let mut v = vec![1; n - 2];
            v.extend([c, c]);
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_chunk_table_of_reference_2a6() {
        // (dim, target, result) — both variants agree on all of these.
        let table = [
            (10980, 4096, 3660),
            (5490, 4096, 2745),
            (1830, 4096, 1830),
            (5490, 3660, 2745),
            (10980, 1024, 915),
            (5490, 1024, 915),
            (1830, 1024, 915),
            (915, 1024, 915),
            (10980, 512, 366),
            (5490, 512, 366),
            (1830, 512, 366),
            (915, 512, 305),
            (305, 512, 305),
            (26064, 4096, 3258),
            (16677, 4096, 4096),
            (10980, 256, 244),
            (5490, 256, 183),
            (1830, 256, 183),
            (915, 256, 183),
            (305, 256, 256),
            (152, 256, 152),
            (1000, 256, 250),
            (100, 256, 100),
            (97, 50, 50),
            (1024, 256, 256),
        ];
        for (dim, target, want) in table {
            assert_eq!(
                calculate_aligned_chunk_size(dim, target),
                want,
                "utils {dim}/{target}"
            );
            assert_eq!(
                calculate_aligned_chunk_size_s2(dim, target),
                want,
                "s2 {dim}/{target}"
            );
        }
    }

    #[test]
    fn aligned_chunk_variants_differ_in_the_low_band() {
        assert_eq!(calculate_aligned_chunk_size(258, 256), 256);
        assert_eq!(calculate_aligned_chunk_size_s2(258, 256), 129);
        assert_eq!(calculate_aligned_chunk_size(387, 256), 256);
        assert_eq!(calculate_aligned_chunk_size_s2(387, 256), 129);
        // The reference's unit tests: (1000,256)→250, (100,256)→100, (97,50)→50, (1024,256)=256.
        assert_eq!(calculate_aligned_chunk_size(1000, 256), 250);
        assert!(1000 % calculate_aligned_chunk_size_s2(1000, 256) == 0);
    }

    #[test]
    fn shard_dimensions_of_reference_2b5() {
        assert_eq!(
            calculate_simple_shard_dimensions(&[1000, 1000], &[256, 256]),
            [768, 768]
        );
        assert_eq!(
            calculate_simple_shard_dimensions(&[5, 1024, 1024], &[1, 256, 256]),
            [1, 1024, 1024]
        );
        assert_eq!(
            calculate_simple_shard_dimensions(&[10980, 10980], &[244, 244]),
            [10980, 10980]
        );
        assert_eq!(
            calculate_simple_shard_dimensions(&[305, 305], &[256, 256]),
            [256, 256]
        );
        assert_eq!(
            calculate_simple_shard_dimensions(&[100, 100], &[256, 256]),
            [256, 256]
        );
    }

    #[test]
    fn full_tile_chunk_and_shard_table_of_reference_2b11() {
        let edges = s2_level_edges([10980, 5490, 1830], Profile::Reference);
        assert_eq!(edges, [10980, 5490, 1830, 915, 305, 152]);
        // (target, expected inner chunk per level)
        let columns: [(u64, [u64; 6]); 4] = [
            (256, [244, 183, 183, 183, 256, 152]),
            (1024, [915, 915, 915, 915, 305, 152]),
            (4096, [3660, 2745, 1830, 915, 305, 152]),
            (512, [366, 366, 366, 305, 305, 152]),
        ];
        for (target, want) in columns {
            for (i, e) in edges.iter().enumerate() {
                assert_eq!(
                    measurement_chunks(&[*e, *e], target),
                    vec![want[i], want[i]],
                    "{target} level {i}"
                );
            }
        }
        // 256 + sharding: shard / inner.
        let shards = [10980, 5490, 1830, 915, 256, 152];
        for (i, e) in edges.iter().enumerate() {
            let c = measurement_chunks(&[*e, *e], 256);
            assert_eq!(
                calculate_simple_shard_dimensions(&[*e, *e], &c),
                vec![shards[i], shards[i]],
                "level {i}"
            );
        }
        // r360m: 2×2 partial chunks / shards.
        assert_eq!(305u64.div_ceil(256), 2);
    }

    #[test]
    fn overview_levels_of_reference_2a6() {
        let w = |l: Vec<OverviewLevel>| l.iter().map(|l| (l.width, l.height)).collect::<Vec<_>>();
        assert_eq!(
            w(calculate_overview_levels(1024, 1024, 256)),
            [(1024, 1024), (512, 512), (256, 256)]
        );
        let l = calculate_overview_levels(1024, 1024, 256);
        assert_eq!(
            l.iter().map(|l| l.scale_relative).collect::<Vec<_>>(),
            [1, 2, 4]
        );
        assert!(l.iter().all(|l| l.translation_relative == 0.0));
        assert_eq!(
            w(calculate_overview_levels(10980, 10980, 256))
                .iter()
                .map(|x| x.0)
                .collect::<Vec<_>>(),
            [10980, 5490, 2745, 1372, 686, 343]
        );
        assert_eq!(calculate_overview_levels(5490, 5490, 256).len(), 5);
        assert_eq!(
            w(calculate_overview_levels(1830, 1830, 256)),
            [(1830, 1830), (915, 915), (457, 457)]
        );
        assert!(calculate_overview_levels(255, 255, 256).is_empty());
        assert_eq!(calculate_overview_levels(256, 256, 256).len(), 1);
        let s1 = calculate_overview_levels(26064, 16677, 256);
        assert_eq!(s1.len(), 7);
        assert_eq!((s1[6].width, s1[6].height), (407, 260));
    }

    #[test]
    fn s2_levels_and_scales() {
        let names: Vec<_> = S2_LEVELS.iter().map(|l| l.name).collect();
        assert_eq!(names, ["r10m", "r20m", "r60m", "r120m", "r360m", "r720m"]);
        // Reference on the 1/10 tile: 1098/549/183 → 91/30/15, scales 183/91, 91/30, 2.
        let e = s2_level_edges([1098, 549, 183], Profile::Reference);
        assert_eq!(e, [1098, 549, 183, 91, 30, 15]);
        assert_eq!(
            derived_scale(183, 91, 2, Profile::Reference),
            2.010989010989011
        );
        assert_eq!(
            derived_scale(91, 30, 3, Profile::Reference),
            3.033333333333333
        );
        assert_eq!(derived_scale(30, 15, 2, Profile::Reference), 2.0);
        // Full tile: 305/152 (the reference's r720m scale), geozarr keeps 153 with scale exactly 2.
        assert_eq!(
            derived_scale(305, 152, 2, Profile::Reference),
            305.0 / 152.0
        );
        assert_eq!(
            s2_level_edges([10980, 5490, 1830], Profile::Geozarr)[5],
            153
        );
        assert_eq!(derived_scale(305, 153, 2, Profile::Geozarr), 2.0);
        // Scales of the full tile relative to r10m: 2, 6.
        assert_eq!(5490.0 * 2.0, 10980.0);
        assert_eq!(1830 * 6, 10980);
    }

    #[test]
    fn geozarr_sharding_policy() {
        assert_eq!(
            geozarr_raster_encoding(10980, 10980, ShardSize::default()),
            (244, [3660, 3660])
        );
        assert_eq!(
            geozarr_raster_encoding(5490, 5490, ShardSize::default()),
            (183, [2745, 2745])
        );
        assert_eq!(
            geozarr_raster_encoding(1830, 1830, ShardSize::default()),
            (183, [1830, 1830])
        );
        assert_eq!(
            geozarr_raster_encoding(915, 915, ShardSize::default()),
            (183, [915, 915])
        );
        assert_eq!(
            geozarr_raster_encoding(305, 305, ShardSize::default()),
            (256, [512, 512])
        );
        assert_eq!(
            geozarr_raster_encoding(153, 153, ShardSize::default()),
            (153, [153, 153])
        );
        assert_eq!(
            geozarr_raster_encoding(10980, 10980, ShardSize::Full),
            (244, [10980, 10980])
        );
        // 16677 = 109 chunks of 153 (109 is prime): 26 chunks a shard, the last one partial.
        assert_eq!(
            geozarr_raster_encoding(16677, 16677, ShardSize::default()),
            (153, [3978, 3978])
        );
        assert_eq!(
            geozarr_raster_encoding(26064, 26064, ShardSize::default()),
            (181, [3258, 3258])
        );
        // Every shard is a whole number of inner chunks and ≤ 4096 px.
        for dim in [
            10980u64, 5490, 1830, 915, 1098, 549, 183, 91, 30, 16677, 26064,
        ] {
            let (c, [s, _]) = geozarr_raster_encoding(dim, dim, ShardSize::default());
            assert_eq!(s % c, 0, "{dim}");
            assert!(s <= GEOZARR_SHARD_TARGET.max(c), "{dim}");
        }
    }

    #[test]
    fn measurement_chunks_for_other_ranks() {
        assert_eq!(measurement_chunks(&[10980], 256), [256]);
        assert_eq!(measurement_chunks(&[100], 256), [100]);
        assert_eq!(measurement_chunks(&[3, 10980, 10980], 256), [1, 244, 244]);
        assert!(measurement_chunks(&[], 256).is_empty());
    }
}
