//! Every WGSL kernel against the CPU kernel on random and edge-case inputs: NaN blocks, all-NaN
//! blocks, partial edge blocks, factors 2/3/6/7, odd sizes, 1×1, and inputs split into several
//! strips. Integers bit-identical, floats within 4 ULP (src/kernels/mod.rs). Runs on Mesa lavapipe in
//! `make test` and fails there without an adapter.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use eopf_geozarr::kernels::{Edge, IntOp, Kernels, Sampling};
use eopf_geozarr::product::CfEncoding;

/// xorshift: deterministic pseudo-random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f32(&mut self) -> f32 {
        (self.next() % 1_000_000) as f32 / 1_000_000.0 * 0.9 + 0.01
    }
}

/// Distance in units in the last place (NaN == NaN).
fn ulps(a: f32, b: f32) -> u32 {
    if a.is_nan() && b.is_nan() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u32::MAX;
    }
    let (x, y) = (a.to_bits() as i64, b.to_bits() as i64);
    (x - y).unsigned_abs() as u32
}

fn assert_close(what: &str, cpu: &[f32], gpu: &[f32]) {
    assert_eq!(cpu.len(), gpu.len(), "{what}: lengths");
    let worst = cpu
        .iter()
        .zip(gpu)
        .map(|(a, b)| ulps(*a, *b))
        .max()
        .unwrap_or(0);
    assert!(worst <= 4, "{what}: {worst} ULP");
}

/// (width, height): odd sizes, 1×1, wide and tall.
const SHAPES: [(usize, usize); 6] = [(1, 1), (7, 5), (64, 64), (101, 37), (250, 3), (3, 250)];
const FACTORS: [usize; 6] = [1, 2, 3, 6, 7, 12];

fn gpu_pair() -> Option<(Kernels, Kernels)> {
    let g = common::gpu_kernels()?;
    eprintln!("GPU kernels on {}", g.note);
    // A 1 KiB strip limit splits every input above 256 f32 into several strips.
    let small = g.clone().with_strip_limit(1024);
    Some((g, small))
}

fn raster(rng: &mut Rng, w: usize, h: usize, nan_share: u64) -> Vec<f32> {
    (0..w * h)
        .map(|_| {
            if rng.next() % 100 < nan_share {
                f32::NAN
            } else {
                rng.f32()
            }
        })
        .collect()
}

#[test]
fn block_means_agree_with_the_cpu() {
    let Some((g, small)) = gpu_pair() else { return };
    let cpu = Kernels::cpu();
    let mut rng = Rng(99);
    for (w, h) in SHAPES {
        for nan_share in [0, 30, 100] {
            let src = raster(&mut rng, w, h, nan_share);
            for f in FACTORS {
                for edge in [Edge::Trim, Edge::Partial] {
                    for skip in [true, false] {
                        let (c, cw, ch, _) = cpu.block_mean_f32(&src, w, h, f, edge, skip).unwrap();
                        for k in [&g, &small] {
                            let (o, ow, oh, t) =
                                k.block_mean_f32(&src, w, h, f, edge, skip).unwrap();
                            assert!(t.is_some());
                            assert_eq!((ow, oh), (cw, ch));
                            assert_close(
                                &format!("{w}x{h} f{f} {edge:?} skip={skip} nan={nan_share}%"),
                                &c,
                                &o,
                            );
                        }
                    }
                }
            }
        }
    }
    // A block with one NaN: skipped by the NaN-mean, propagated by the plain mean.
    let src = [1.0, f32::NAN, 3.0, 5.0];
    let (m, ..) = g.block_mean_f32(&src, 2, 2, 2, Edge::Trim, true).unwrap();
    assert_eq!(m, [3.0]);
    let (m, ..) = g.block_mean_f32(&src, 2, 2, 2, Edge::Trim, false).unwrap();
    assert!(m[0].is_nan());
}

#[test]
fn decode_is_bit_identical() {
    let Some((g, small)) = gpu_pair() else { return };
    let cf = CfEncoding {
        fill: Some(0.0),
        scale_factor: 1e-4,
        add_offset: -0.1,
    };
    let mut rng = Rng(5);
    for n in [1usize, 2, 3, 999, 4096] {
        let mut src: Vec<u16> = (0..n).map(|_| (rng.next() % 65536) as u16).collect();
        src[0] = 0;
        if n > 2 {
            src[1] = 65535;
            src[2] = 1000;
        }
        let want = Kernels::cpu().decode_u16(&src, &cf).unwrap().0;
        for k in [&g, &small] {
            let got = k.decode_u16(&src, &cf).unwrap().0;
            assert_eq!(got.len(), want.len());
            for (a, b) in want.iter().zip(&got) {
                assert_eq!(a.to_bits(), b.to_bits(), "decode differs");
            }
        }
    }
}

#[test]
fn integer_reductions_are_bit_identical() {
    let Some((g, small)) = gpu_pair() else { return };
    let cpu = Kernels::cpu();
    let mut rng = Rng(17);
    for (w, h) in SHAPES {
        // Classes 0–11 (many ties), masks as bits, full-range values.
        for range in [12u64, 256] {
            let src: Vec<u8> = (0..w * h)
                .map(|_| {
                    if range == 256 {
                        1u8 << (rng.next() % 8)
                    } else {
                        (rng.next() % range) as u8
                    }
                })
                .collect();
            for f in FACTORS {
                for edge in [Edge::Trim, Edge::Partial] {
                    for op in [IntOp::Or, IntOp::Max, IntOp::Mean, IntOp::Mode] {
                        let (c, cw, ch, _) = cpu.block_u8(&src, w, h, f, edge, op).unwrap();
                        for k in [&g, &small] {
                            let (o, ow, oh, _) = k.block_u8(&src, w, h, f, edge, op).unwrap();
                            assert_eq!((ow, oh), (cw, ch));
                            assert_eq!(o, c, "{w}x{h} f{f} {edge:?} {op:?}");
                        }
                    }
                }
            }
        }
        let src: Vec<u16> = (0..w * h).map(|_| (rng.next() % 65536) as u16).collect();
        for f in FACTORS {
            for edge in [Edge::Trim, Edge::Partial] {
                let (c, ..) = cpu.block_mean_u16(&src, w, h, f, edge).unwrap();
                for k in [&g, &small] {
                    let (o, ..) = k.block_mean_u16(&src, w, h, f, edge).unwrap();
                    assert_eq!(o, c, "u16 mean {w}x{h} f{f} {edge:?}");
                }
            }
        }
    }
}

#[test]
fn sampling_is_bit_identical() {
    let Some((g, small)) = gpu_pair() else { return };
    let mut rng = Rng(3);
    for (w, h) in SHAPES {
        let src = raster(&mut rng, w, h, 10);
        for s in [
            Sampling::TopLeft(2),
            Sampling::TopLeft(7),
            Sampling::Centre(3),
            Sampling::Centre(6),
        ] {
            for edge in [Edge::Trim, Edge::Partial] {
                let (rows, cols) = (s.indices(h, edge), s.indices(w, edge));
                let want = Kernels::cpu().sample_f32(&src, w, &rows, &cols).unwrap().0;
                for k in [&g, &small] {
                    let got = k.sample_f32(&src, w, &rows, &cols).unwrap().0;
                    assert_eq!(
                        got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                    );
                }
            }
        }
        let (rows, cols) = (
            Sampling::Nearest(h.div_ceil(2)).indices(h, Edge::Trim),
            Sampling::Nearest(w.div_ceil(2)).indices(w, Edge::Trim),
        );
        let want = Kernels::cpu().sample_f32(&src, w, &rows, &cols).unwrap().0;
        let got = small.sample_f32(&src, w, &rows, &cols).unwrap().0;
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn fused_pyramid_agrees_with_the_cpu() {
    let Some((g, small)) = gpu_pair() else { return };
    let mut rng = Rng(8);
    for (w, h) in [(1, 1), (101, 37), (183, 183), (64, 250)] {
        let src = raster(&mut rng, w, h, 20);
        for factors in [&[2usize, 3, 2][..], &[2, 2, 2, 2]] {
            for edge in [Edge::Trim, Edge::Partial] {
                let (c, _) = Kernels::cpu()
                    .pyramid_f32(&src, w, h, factors, edge)
                    .unwrap();
                for k in [&g, &small] {
                    let (o, t) = k.pyramid_f32(&src, w, h, factors, edge).unwrap();
                    assert!(t.is_some());
                    assert_eq!(o.len(), c.len());
                    for (lvl, (a, b)) in c.iter().zip(&o).enumerate() {
                        assert_eq!((a.1, a.2), (b.1, b.2), "level {lvl} size");
                        assert_close(
                            &format!("{w}x{h} {factors:?} {edge:?} level {lvl}"),
                            &a.0,
                            &b.0,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn auto_uses_the_cpu_on_a_cpu_adapter() {
    let Some((g, _)) = gpu_pair() else { return };
    let auto = Kernels::new(eopf_geozarr::kernels::Device::Auto).unwrap();
    if g.adapter().is_some_and(|a| a.is_cpu) {
        assert!(!auto.is_gpu(), "{}", auto.note);
        assert!(auto.note.contains("CPU implementation"), "{}", auto.note);
    } else {
        assert!(auto.is_gpu(), "{}", auto.note);
    }
    assert!(
        !Kernels::new(eopf_geozarr::kernels::Device::Cpu)
            .unwrap()
            .is_gpu()
    );
}
