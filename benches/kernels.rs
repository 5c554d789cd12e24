//! Every kernel, CPU vs GPU (wgpu on whatever adapter there is; lavapipe here), at 1098² and
//! 2196² inputs. `cargo bench --bench kernels`. `eopf-geozarr bench --kernels --size N` gives the
//! same comparison with the upload / compute / readback split and the ULP differences.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use criterion::{Criterion, criterion_group, criterion_main};
use eopf_geozarr::kernels::{Device, Edge, IntOp, Kernels, Sampling};

fn bench(c: &mut Criterion) {
    let mut devices = vec![("cpu", Kernels::cpu())];
    match Kernels::new(Device::Gpu) {
        Ok(k) => devices.push(("gpu", k)),
        Err(e) => eprintln!("kernels bench: no GPU column ({e})"),
    }
    for n in [1098usize, 2196] {
        let (dn, cf, refl, classes) = eopf_geozarr::bench::synthetic_inputs(n);
        let (rows, cols) = (
            Sampling::TopLeft(2).indices(n, Edge::Trim),
            Sampling::TopLeft(2).indices(n, Edge::Trim),
        );
        let mut g = c.benchmark_group(format!("kernels {n}x{n}"));
        g.sample_size(10);
        for (name, k) in &devices {
            g.bench_function(format!("decode_u16/{name}"), |b| {
                b.iter(|| k.decode_u16(&dn, &cf).expect("decode"))
            });
            g.bench_function(format!("nanmean_2/{name}"), |b| {
                b.iter(|| {
                    k.block_mean_f32(&refl, n, n, 2, Edge::Partial, true)
                        .expect("mean")
                })
            });
            g.bench_function(format!("nanmean_6/{name}"), |b| {
                b.iter(|| {
                    k.block_mean_f32(&refl, n, n, 6, Edge::Partial, true)
                        .expect("mean")
                })
            });
            g.bench_function(format!("mode_2/{name}"), |b| {
                b.iter(|| {
                    k.block_u8(&classes, n, n, 2, Edge::Partial, IntOp::Mode)
                        .expect("mode")
                })
            });
            g.bench_function(format!("or_2/{name}"), |b| {
                b.iter(|| {
                    k.block_u8(&classes, n, n, 2, Edge::Partial, IntOp::Or)
                        .expect("or")
                })
            });
            g.bench_function(format!("sample_top_left_2/{name}"), |b| {
                b.iter(|| k.sample_f32(&refl, n, &rows, &cols).expect("sample"))
            });
            g.bench_function(format!("pyramid_2_3_2/{name}"), |b| {
                b.iter(|| {
                    k.pyramid_f32(&refl, n, n, &[2, 3, 2], Edge::Partial)
                        .expect("pyramid")
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
