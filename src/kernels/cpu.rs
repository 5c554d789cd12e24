//! CPU kernels (rayon): CF decode and the block reductions of the pyramids. Rows of the output are
//! computed in parallel; every kernel is a pure function of its input slice.

use rayon::prelude::*;

use crate::product::CfEncoding;

/// What to do with trailing rows/columns that do not fill a whole block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Drop them (`floor`, the reference's `coarsen(boundary="trim")`).
    Trim,
    /// Keep a partial block, reduced over the pixels it has (`ceil`, the geozarr profile).
    Partial,
}

/// Output size of a block reduction.
pub fn reduced_size(n: usize, factor: usize, edge: Edge) -> usize {
    match edge {
        Edge::Trim => n / factor,
        Edge::Partial => n.div_ceil(factor),
    }
}

/// CF decode of packed u16: fill → NaN, else `v·scale + offset` in f64, then f32.
pub fn decode_u16(src: &[u16], cf: &CfEncoding) -> Vec<f32> {
    let table = cf.u16_table();
    let mut out = vec![0f32; src.len()];
    out.par_chunks_mut(1 << 16)
        .zip(src.par_chunks(1 << 16))
        .for_each(|(o, s)| {
            for (o, &v) in o.iter_mut().zip(s) {
                *o = table[usize::from(v)];
            }
        });
    out
}

fn reduce_blocks<T: Copy + Send + Sync, O: Copy + Send + Default>(
    src: &[T],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
    reduce: impl Fn(&mut dyn Iterator<Item = T>) -> O + Sync,
) -> (Vec<O>, usize, usize) {
    assert_eq!(src.len(), width * height, "source length");
    let f = factor.max(1);
    let (ow, oh) = (reduced_size(width, f, edge), reduced_size(height, f, edge));
    let mut out = vec![O::default(); ow * oh];
    out.par_chunks_mut(ow.max(1))
        .enumerate()
        .for_each(|(oy, row)| {
            let y0 = oy * f;
            let y1 = (y0 + f).min(height);
            for (ox, o) in row.iter_mut().enumerate() {
                let x0 = ox * f;
                let x1 = (x0 + f).min(width);
                let mut it =
                    (y0..y1).flat_map(|y| src[y * width + x0..y * width + x1].iter().copied());
                *o = reduce(&mut it);
            }
        });
    (out, ow, oh)
}

/// NaN-skipping block mean of f32 (all-NaN block → NaN), accumulated in f64, then rounded to f32.
pub fn block_nanmean_f32(
    src: &[f32],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<f32>, usize, usize) {
    mean_f32(src, width, height, factor, edge, true)
}

/// Block means of f32 accumulated in f64: NaN-skipping (`skip_nan`) or plain (any NaN → NaN).
fn mean_f32(
    src: &[f32],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
    skip_nan: bool,
) -> (Vec<f32>, usize, usize) {
    reduce_blocks(src, width, height, factor, edge, |it| {
        let (mut sum, mut n) = (0f64, 0u32);
        for v in it {
            if skip_nan && v.is_nan() {
                continue;
            }
            sum += f64::from(v);
            n += 1;
        }
        if n == 0 {
            f32::NAN
        } else {
            (sum / f64::from(n)) as f32
        }
    })
}

/// Plain block mean in f64 (any NaN → NaN): pipeline A's `downsample_2d_array` without nodata.
pub fn block_mean_f64(
    src: &[f64],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<f64>, usize, usize) {
    reduce_blocks(src, width, height, factor, edge, |it| {
        let (mut sum, mut n) = (0f64, 0u32);
        for v in it {
            sum += v;
            n += 1;
        }
        if n == 0 { f64::NAN } else { sum / f64::from(n) }
    })
}

/// Most frequent value of each block (ties → the smallest value); for classes such as SCL and
/// detector ids.
pub fn block_mode_u8(
    src: &[u8],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<u8>, usize, usize) {
    reduce_blocks(src, width, height, factor, edge, |it| {
        // Small blocks: sort a copy and take the longest run (the first, i.e. smallest, on ties);
        // a 256-entry histogram per block costs more than the block itself.
        let mut small = [0u8; 64];
        let mut n = 0;
        let mut counts: Option<Box<[u32; 256]>> = None;
        for v in it {
            if let Some(c) = counts.as_mut() {
                c[v as usize] += 1;
            } else if n < small.len() {
                small[n] = v;
                n += 1;
            } else {
                let mut c = Box::new([0u32; 256]);
                for &s in &small[..n] {
                    c[s as usize] += 1;
                }
                c[v as usize] += 1;
                counts = Some(c);
            }
        }
        if let Some(c) = counts {
            let mut best = 0usize;
            for (v, &k) in c.iter().enumerate() {
                if k > c[best] {
                    best = v;
                }
            }
            return best as u8;
        }
        let block = &mut small[..n];
        block.sort_unstable();
        let (mut best, mut best_run, mut i) = (0u8, 0usize, 0usize);
        while i < block.len() {
            let mut j = i + 1;
            while j < block.len() && block[j] == block[i] {
                j += 1;
            }
            if j - i > best_run {
                best_run = j - i;
                best = block[i];
            }
            i = j;
        }
        best
    })
}

/// Bitwise OR of each block (bit masks).
pub fn block_or_u8(
    src: &[u8],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<u8>, usize, usize) {
    reduce_blocks(src, width, height, factor, edge, |it| {
        it.fold(0u8, |a, v| a | v)
    })
}

/// Maximum of each block (the reference's quality-mask reduction).
pub fn block_max_u8(
    src: &[u8],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<u8>, usize, usize) {
    reduce_blocks(src, width, height, factor, edge, |it| it.fold(0u8, u8::max))
}

/// Mean of unsigned integers rounded half away from zero (probabilities in percent, AOT, WVP).
pub fn block_mean_uint<T>(
    src: &[T],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<T>, usize, usize)
where
    T: Copy + Send + Sync + Default + Into<u64> + TryFrom<u64>,
{
    reduce_blocks(src, width, height, factor, edge, |it| {
        let (mut sum, mut n) = (0u64, 0u64);
        for v in it {
            sum += v.into();
            n += 1;
        }
        if n == 0 {
            T::default()
        } else {
            T::try_from((sum as f64 / n as f64).round() as u64).unwrap_or_default()
        }
    })
}

/// [`block_mean_uint`] for u8.
pub fn block_mean_u8(
    src: &[u8],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<u8>, usize, usize) {
    block_mean_uint(src, width, height, factor, edge)
}

/// [`block_mean_uint`] for u16.
pub fn block_mean_u16(
    src: &[u16],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<u16>, usize, usize) {
    block_mean_uint(src, width, height, factor, edge)
}

/// The top-left pixel of each block (the reference's SCL "coarsening").
pub fn sample_top_left<T: Copy + Send + Sync + Default>(
    src: &[T],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<T>, usize, usize) {
    reduce_blocks(src, width, height, factor, edge, |it| {
        it.next().unwrap_or_default()
    })
}

/// Pipeline A's `downsample_2d_array(src, th, tw, nodata=None)`: with block sizes > 1 on both axes,
/// crop from the top-left and average each block (plain mean); otherwise nearest sampling at
/// `floor(linspace(0, s−1, t))` per axis.
pub fn downsample_2d_array(
    src: &[f64],
    width: usize,
    height: usize,
    tw: usize,
    th: usize,
) -> Vec<f64> {
    let (by, bx) = (height / th.max(1), width / tw.max(1));
    if by > 1 && bx > 1 {
        let mut out = vec![0.0; tw * th];
        for oy in 0..th {
            for ox in 0..tw {
                let mut sum = 0.0;
                for y in oy * by..(oy + 1) * by {
                    for x in ox * bx..(ox + 1) * bx {
                        sum += src[y * width + x];
                    }
                }
                out[oy * tw + ox] = sum / (by * bx) as f64;
            }
        }
        return out;
    }
    let pick = |s: usize, t: usize| -> Vec<usize> {
        if t <= 1 {
            return vec![0; t];
        }
        (0..t)
            .map(|i| ((i as f64) * (s as f64 - 1.0) / (t as f64 - 1.0)).floor() as usize)
            .collect()
    };
    let (rows, cols) = (pick(height, th), pick(width, tw));
    rows.iter()
        .flat_map(|&y| cols.iter().map(move |&x| src[y * width + x]))
        .collect()
}

/// `downsample_2d_array(src, th, tw, nodata)` with the reference's nodata rules in the block-mean
/// branch: a finite `nodata` is left out of each mean (a block of nodata only gives nodata); a NaN
/// `nodata` gives the mean of the non-NaN values (NaN for a block of NaN); `None` is the plain mean
/// of [`downsample_2d_array`]. Without blocks (a block size of 1 on an axis): nearest sampling.
pub fn downsample_2d_array_nodata(
    src: &[f64],
    width: usize,
    height: usize,
    tw: usize,
    th: usize,
    nodata: Option<f64>,
) -> Vec<f64> {
    let (by, bx) = (height / th.max(1), width / tw.max(1));
    let Some(nd) = nodata.filter(|_| by > 1 && bx > 1) else {
        return downsample_2d_array(src, width, height, tw, th);
    };
    let mut out = vec![0.0; tw * th];
    for oy in 0..th {
        for ox in 0..tw {
            let (mut sum, mut n) = (0.0, 0u64);
            for y in oy * by..(oy + 1) * by {
                for &v in &src[y * width + ox * bx..y * width + (ox + 1) * bx] {
                    let skip = if nd.is_nan() { v.is_nan() } else { v == nd };
                    if !skip {
                        sum += v;
                        n += 1;
                    }
                }
            }
            out[oy * tw + ox] = if n == 0 { nd } else { sum / n as f64 };
        }
    }
    out
}

/// Plain block mean of f32 (any NaN → NaN), accumulated in f64, then rounded to f32.
pub fn block_mean_f32(
    src: &[f32],
    width: usize,
    height: usize,
    factor: usize,
    edge: Edge,
) -> (Vec<f32>, usize, usize) {
    mean_f32(src, width, height, factor, edge, false)
}

/// The values at `rows × cols` of a raster `width` wide.
pub fn gather<T: Copy + Send + Sync>(
    src: &[T],
    width: usize,
    rows: &[u32],
    cols: &[u32],
) -> Vec<T> {
    rows.par_iter()
        .flat_map_iter(|&r| {
            cols.iter()
                .map(move |&c| src[r as usize * width + c as usize])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsample_2d_array_examples_of_the_reference() {
        let a: Vec<f64> = (1..=16).map(f64::from).collect();
        assert_eq!(downsample_2d_array(&a, 4, 4, 2, 2), [3.5, 5.5, 11.5, 13.5]);
        let b: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(downsample_2d_array(&b, 3, 3, 2, 2), [1.0, 3.0, 7.0, 9.0]);
        // With a finite nodata it is left out of the mean; a block of nodata stays nodata.
        let c = [1.0, 0.0, 5.0, 5.0, 0.0, 3.0, 5.0, 5.0];
        assert_eq!(
            downsample_2d_array_nodata(&c, 4, 2, 2, 1, Some(0.0)),
            [2.0, 5.0]
        );
        let d = [0.0, 0.0, 0.0, 0.0];
        assert_eq!(downsample_2d_array_nodata(&d, 2, 2, 1, 1, Some(0.0)), [0.0]);
        // NaN nodata: the mean of the other values.
        let e = [f64::NAN, 1.0, 3.0, f64::NAN];
        assert_eq!(
            downsample_2d_array_nodata(&e, 2, 2, 1, 1, Some(f64::NAN)),
            [2.0]
        );
        assert!(downsample_2d_array_nodata(&[f64::NAN; 4], 2, 2, 1, 1, Some(f64::NAN))[0].is_nan());
    }

    #[test]
    fn nanmean_trims_or_keeps_partial_blocks() {
        // 5×3 → factor 2.
        let src = [
            1.0,
            2.0,
            3.0,
            f32::NAN,
            9.0, //
            3.0,
            4.0,
            f32::NAN,
            f32::NAN,
            11.0, //
            5.0,
            6.0,
            7.0,
            8.0,
            13.0,
        ];
        let (t, w, h) = block_nanmean_f32(&src, 5, 3, 2, Edge::Trim);
        assert_eq!((w, h), (2, 1));
        assert_eq!(t, [2.5, 3.0]);
        let (p, w, h) = block_nanmean_f32(&src, 5, 3, 2, Edge::Partial);
        assert_eq!((w, h), (3, 2));
        assert_eq!(p, [2.5, 3.0, 10.0, 5.5, 7.5, 13.0]);
        let all_nan = [f32::NAN; 4];
        assert!(block_nanmean_f32(&all_nan, 2, 2, 2, Edge::Trim).0[0].is_nan());
    }

    #[test]
    fn class_and_mask_reductions() {
        let scl = [4u8, 4, 9, 9, 4, 6, 9, 8];
        assert_eq!(block_mode_u8(&scl, 4, 2, 2, Edge::Trim).0, [4, 9]);
        assert_eq!(sample_top_left(&scl, 4, 2, 2, Edge::Trim).0, [4, 9]);
        let masks = [1u8, 0, 0, 32, 2, 0, 0, 128];
        assert_eq!(block_or_u8(&masks, 4, 2, 2, Edge::Trim).0, [3, 160]);
        assert_eq!(block_max_u8(&masks, 4, 2, 2, Edge::Trim).0, [2, 128]);
        assert_eq!(block_mean_u8(&[0, 1, 2, 2], 2, 2, 2, Edge::Trim).0, [1]);
        // Ties go to the smallest class.
        assert_eq!(block_mode_u8(&[5, 4, 4, 5], 2, 2, 2, Edge::Trim).0, [4]);
    }

    #[test]
    fn cf_decode_matches_the_scalar_rule() {
        let cf = CfEncoding {
            fill: Some(0.0),
            scale_factor: 1e-4,
            add_offset: -0.1,
        };
        let d = decode_u16(&[0, 1000, 5000], &cf);
        assert!(d[0].is_nan());
        assert_eq!(d[1], (1000.0f64 * 1e-4 - 0.1) as f32);
        assert_eq!(d[2], (5000.0f64 * 1e-4 - 0.1) as f32);
    }

    #[test]
    fn mean_f64_is_plain() {
        let (m, _, _) = block_mean_f64(&[1.0, f64::NAN, 3.0, 4.0], 2, 2, 2, Edge::Trim);
        assert!(m[0].is_nan());
        let (m, _, _) = block_mean_f64(&[1.0, 2.0, 3.0, 4.0], 2, 2, 2, Edge::Trim);
        assert_eq!(m, [2.5]);
    }
}
