//! Pipeline B at 1/10 size (demo L2A, 1098² at r10m): both profiles, sharded. `cargo bench --bench convert`.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use criterion::{Criterion, criterion_group, criterion_main};
use eopf_geozarr::convert::{S2Options, convert_s2_optimized};
use eopf_geozarr::demo::{DemoOptions, write_demo};
use eopf_geozarr::plan::Profile;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("demo.zarr");
    write_demo(&input, &DemoOptions::default(), &|_, _| {}).expect("demo product");
    let mut g = c.benchmark_group("convert-s2-optimized 1098");
    g.sample_size(10);
    for profile in [Profile::Reference, Profile::Geozarr] {
        let opts = S2Options {
            profile,
            enable_sharding: true,
            ..Default::default()
        };
        let out = dir.path().join(format!("{profile:?}.zarr"));
        g.bench_function(format!("{profile:?}"), |b| {
            b.iter(|| {
                convert_s2_optimized(
                    &input,
                    &out,
                    &opts,
                    eopf_geozarr::convert::Existing::Overwrite,
                    &|_, _, _| {},
                )
                .expect("convert")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
