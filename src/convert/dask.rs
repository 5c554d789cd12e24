//! dask's automatic chunking (`normalize_chunks("auto", …)`), which decides the chunks xarray's
//! `to_zarr` writes for the groups pipeline A copies: reproduced so that the reference profile's
//! chunk grids are the reference's.

use std::collections::BTreeMap;

/// dask's `normalize_chunks("auto", …, limit = 128 MiB, previous_chunks = source chunks)`: the first
/// chunk length per dimension, which is what xarray's `to_zarr` writes for a dask array. Arrays up
/// to 128 MiB become one chunk; larger ones are cut into multiples (or divisors) of the source
/// chunks.
///
/// ```
/// use eopf_geozarr::convert::generic::dask_auto_chunks;
/// assert_eq!(dask_auto_chunks(&[13, 6, 2, 23, 23], &[7, 3, 2, 23, 23], 8), vec![13, 6, 2, 23, 23]);
/// assert_eq!(dask_auto_chunks(&[10980, 10980], &[10980, 10980], 2), vec![5490, 5490]);
/// ```
pub fn dask_auto_chunks(shape: &[u64], previous: &[u64], itemsize: u64) -> Vec<u64> {
    const LIMIT: f64 = 134_217_728.0;
    const TOLERANCE: f64 = 1.25;
    let n = shape.len();
    if n == 0 {
        return vec![];
    }
    if shape.contains(&0) {
        return shape.to_vec();
    }
    let prev = previous_blocks(shape, previous);
    let ideal = ideal_chunks(&prev, shape);
    #[derive(Clone, Copy)]
    enum R {
        Num(f64),
        Whole(u64),
    }
    let mut median_chunks: BTreeMap<usize, R> =
        (0..n).map(|a| (a, R::Num(median(&prev[a])))).collect();
    let mut largest_block = 1.0f64;
    let multiplier_of = |lb: f64, m: &BTreeMap<usize, R>| {
        let p: f64 = m
            .values()
            .map(|r| match r {
                R::Num(v) => *v,
                R::Whole(v) => *v as f64,
            })
            .filter(|v| *v != 0.0)
            .product();
        LIMIT / itemsize as f64 / lb / p
    };
    let mut multiplier = multiplier_of(largest_block, &median_chunks);
    let reduce_case = multiplier < 1.0;
    // In the reduce case dask updates the medians in place (result aliases them).
    let mut result: BTreeMap<usize, R> = if reduce_case {
        median_chunks.clone()
    } else {
        BTreeMap::new()
    };
    let mut first: Vec<u64> = shape.to_vec();
    let mut autos: std::collections::BTreeSet<usize> = (0..n).collect();
    let mut remaining = true;
    let mut guard = 0;
    while remaining && guard < 64 {
        guard += 1;
        let last_autos = autos.len() as f64;
        remaining = false;
        for a in autos.clone() {
            let this_mult = multiplier.powf(1.0 / last_autos);
            let med = match median_chunks.get(&a) {
                Some(R::Num(v)) => *v,
                Some(R::Whole(v)) => *v as f64,
                None => continue,
            };
            let proposed = med * this_mult;
            let max_chunk = proposed * TOLERANCE.powf(1.0 / last_autos);
            if proposed > shape[a] as f64 {
                first[a] = shape[a];
                autos.remove(&a);
                median_chunks.remove(&a);
                remaining = true;
                largest_block *= shape[a] as f64;
                result.insert(a, R::Whole(shape[a]));
                if reduce_case {
                    median_chunks.insert(a, R::Whole(shape[a]));
                }
                continue;
            } else if reduce_case || (*prev[a].iter().max().unwrap_or(&1) as f64) > max_chunk {
                let r = round_to(proposed, ideal[a]);
                result.insert(a, R::Num(r));
                if reduce_case {
                    median_chunks.insert(a, R::Num(r));
                }
                first[a] = (r as u64).max(1);
                if proposed < 1.0 {
                    remaining = true;
                    autos.remove(&a);
                }
                continue;
            }
            let mut chunk = 0u64;
            for &c in &prev[a] {
                if (chunk + c) as f64 <= proposed {
                    chunk += c;
                } else {
                    break;
                }
            }
            first[a] = chunk.max(prev[a][0]);
            result.insert(a, R::Whole(first[a]));
        }
        if remaining || reduce_case {
            let last = multiplier;
            multiplier = multiplier_of(largest_block, &median_chunks);
            if multiplier != last {
                remaining = true;
            }
        }
    }
    first
}

/// The source chunks of each dimension as dask block tuples (`[c, c, …, rest]`).
fn previous_blocks(shape: &[u64], previous: &[u64]) -> Vec<Vec<u64>> {
    shape
        .iter()
        .zip(previous)
        .map(|(&s, &c)| {
            let c = c.clamp(1, s);
            let mut v = vec![c; (s / c) as usize];
            if s % c != 0 {
                v.push(s % c);
            }
            v
        })
        .collect()
}

/// numpy's median of block sizes.
fn median(v: &[u64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    let m = s.len();
    if m % 2 == 1 {
        s[m / 2] as f64
    } else {
        (s[m / 2 - 1] + s[m / 2]) as f64 / 2.0
    }
}

/// Per dimension: the most frequent previous block size when it covers at least half the blocks
/// (and is above 1), else the whole dimension.
fn ideal_chunks(prev: &[Vec<u64>], shape: &[u64]) -> Vec<u64> {
    prev.iter()
        .zip(shape)
        .map(|(p, &s)| {
            let mut freq: BTreeMap<u64, usize> = BTreeMap::new();
            for &c in p {
                *freq.entry(c).or_default() += 1;
            }
            // max() keeps the first maximum in insertion order; dask counts in order of appearance.
            let mut best = (p[0], 0usize);
            for &c in p {
                let k = freq[&c];
                if k > best.1 {
                    best = (c, k);
                }
            }
            if best.0 > 1 && best.1 * 2 >= p.len() {
                best.0
            } else {
                s
            }
        })
        .collect()
}

/// dask's `round_to`: the largest divisor of `s` in `[c/2, c]` (else `c`) when `c ≤ s`, else a
/// multiple of `s`.
fn round_to(c: f64, s: u64) -> f64 {
    if c <= s as f64 {
        let mut best: Option<u64> = None;
        let mut d = 1;
        while d * d <= s {
            if s.is_multiple_of(d) {
                for f in [d, s / d] {
                    if c / 2.0 <= f as f64 && f as f64 <= c {
                        best = Some(best.map_or(f, |b: u64| b.max(f)));
                    }
                }
            }
            d += 1;
        }
        best.map_or((c as u64).max(1) as f64, |b| b as f64)
    } else {
        (c / s as f64).floor() * s as f64
    }
}
