//! Reading and CF-decoding an EOPF band (Blosc zstd bit-shuffle, Zarr v2) and rendering the
//! true-colour preview, on a demo product at 1/10 size. `cargo bench --bench read`.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use criterion::{Criterion, criterion_group, criterion_main};
use eopf_geozarr::demo::{DemoOptions, write_demo};
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::render::{read_band, true_colour};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("demo.zarr");
    write_demo(&path, &DemoOptions::default(), &|_, _| {}).expect("demo product");
    let h = Hierarchy::open(&path).expect("open");
    let mut g = c.benchmark_group("eopf-read");
    g.sample_size(10);
    g.bench_function("open hierarchy (consolidated)", |b| {
        b.iter(|| Hierarchy::open(&path).expect("open"))
    });
    g.bench_function("read+decode r10m b04 (1098², u16 → f32)", |b| {
        b.iter(|| read_band(&h, "/measurements/reflectance/r10m/b04").expect("read"))
    });
    g.bench_function("true colour r60m", |b| {
        b.iter(|| true_colour(&h, "r60m").expect("render"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
