//! Every output of both profiles and both pipelines, byte for byte: the files written for demo
//! products of both formats and levels, for the golden input and for the fixtures' layouts, and
//! the metadata documents planned for the fixtures' full-size layouts, against the digests in
//! `tests/digests/` (see `tests/common/digests.rs`). Refactors of the planners and the writer
//! must keep every one.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::{Path, PathBuf};

use common::digests;
use eopf_geozarr::convert::s2::S2Options;
use eopf_geozarr::hierarchy::Hierarchy;
use eopf_geozarr::plan::Profile;

/// The conversions every input goes through: (case suffix, command line after the input/output).
const S2_RUNS: &[(&str, &[&str])] = &[
    (
        "s2opt-reference",
        &["convert-s2-optimized", "--profile", "reference"],
    ),
    (
        "s2opt-geozarr",
        &["convert-s2-optimized", "--profile", "geozarr"],
    ),
    (
        "s2opt-geozarr-sharded",
        &[
            "convert-s2-optimized",
            "--profile",
            "geozarr",
            "--enable-sharding",
        ],
    ),
    (
        "s2opt-geozarr-packed",
        &[
            "convert-s2-optimized",
            "--profile",
            "geozarr",
            "--keep-scale-offset",
            "--enable-sharding",
        ],
    ),
    (
        "s2opt-geozarr-packed-blosc",
        &[
            "convert-s2-optimized",
            "--profile",
            "geozarr",
            "--keep-scale-offset",
            "--codec",
            "blosc-zstd",
        ],
    ),
];

const PIPELINE_A_RUNS: &[(&str, &[&str])] = &[
    (
        "a-reference",
        &["convert", "--no-s2-optimized", "--profile", "reference"],
    ),
    (
        "a-geozarr",
        &["convert", "--no-s2-optimized", "--profile", "geozarr"],
    ),
];

const GROUPS: &[&str] = &[
    "--groups",
    "/measurements/reflectance/r10m",
    "/measurements/reflectance/r20m",
    "/measurements/reflectance/r60m",
    "--min-dimension",
    "32",
    "--spatial-chunk",
    "128",
];

fn convert(input: &Path, out: &Path, args: &[&str], extra: &[&str]) {
    let mut all: Vec<&str> = vec![args[0], input.to_str().unwrap(), out.to_str().unwrap()];
    all.extend(&args[1..]);
    all.extend(extra);
    all.extend(["--device", "cpu"]);
    let o = common::run(&all);
    assert!(o.status.success(), "{all:?}: {}", common::stderr(&o));
}

fn check_runs(name: &str, input: &Path, dir: &Path, runs: &[(&str, &[&str])], extra: &[&str]) {
    for (suffix, args) in runs {
        let out = dir.join(format!("{name}.{suffix}.zarr"));
        convert(input, &out, args, extra);
        digests::check(&format!("{name}.{suffix}"), &digests::of_tree(&out));
    }
}

fn demo(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let p = dir.join(format!("{name}.zarr"));
    let mut all = vec!["demo", p.to_str().unwrap(), "--size", "366"];
    all.extend(args);
    let o = common::run(&all);
    assert!(o.status.success(), "{}", common::stderr(&o));
    p
}

#[test]
fn demo_products_of_both_formats_convert_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["v2", "v3"] {
        let name = format!("demo-{format}-l2a");
        let input = demo(dir.path(), &name, &["--format", format]);
        check_runs(&name, &input, dir.path(), S2_RUNS, &[]);
        check_runs(&name, &input, dir.path(), PIPELINE_A_RUNS, GROUPS);
    }
    let input = demo(dir.path(), "demo-v3-l1c", &["--level", "l1c"]);
    check_runs("demo-v3-l1c", &input, dir.path(), &S2_RUNS[..2], &[]);
}

#[test]
fn the_golden_input_converts_to_the_same_bytes() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = fx.join("golden/in_l2a_shard.zarr");
    check_runs("golden-l2a", &input, dir.path(), S2_RUNS, &[]);
    check_runs(
        "golden-l2a",
        &input,
        dir.path(),
        &PIPELINE_A_RUNS[..1],
        GROUPS,
    );
}

fn layouts(fx: &Path) -> Vec<PathBuf> {
    let mut v = vec![];
    for d in ["s2_examples", "v3_s2_examples"] {
        for e in std::fs::read_dir(fx.join(d)).unwrap() {
            v.push(e.unwrap().path());
        }
    }
    v.sort();
    v
}

fn short(layout: &Path) -> String {
    // e.g. S2A_MSIL2A_20251008T100041_N0511_…: mission, level and baseline are unique here.
    let stem = layout.file_stem().unwrap().to_string_lossy().to_string();
    let parts: Vec<&str> = stem.split('_').collect();
    format!("{}-{}-{}", parts[0], parts[1], parts[3])
}

#[test]
fn the_fixture_layouts_convert_to_the_same_bytes() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    for layout in layouts(&fx) {
        let name = format!("layout-{}", short(&layout));
        let input = demo(
            dir.path(),
            &name,
            &["--layout", layout.to_str().unwrap(), "--empty"],
        );
        check_runs(&name, &input, dir.path(), &S2_RUNS[..2], &[]);
    }
}

#[test]
fn the_fixture_layouts_at_full_size_plan_the_same_metadata() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    for layout in layouts(&fx) {
        let name = format!("plan-{}", short(&layout));
        let p = dir.path().join(format!("{name}.zarr"));
        common::run_ok(&[
            "demo",
            p.to_str().unwrap(),
            "--layout",
            layout.to_str().unwrap(),
            "--size",
            "10980",
            "--empty",
        ]);
        let h = Hierarchy::open(&p).unwrap();
        let crs =
            eopf_geozarr::product::resolve_crs(&h, &eopf_geozarr::geo::epsg_exists).map(|c| c.0);
        for (suffix, profile, sharding) in [
            ("reference", Profile::Reference, false),
            ("geozarr", Profile::Geozarr, false),
            ("geozarr-sharded", Profile::Geozarr, true),
        ] {
            let opts = S2Options {
                profile,
                enable_sharding: sharding,
                ..Default::default()
            };
            let plan = eopf_geozarr::convert::plan_s2(&h, crs.clone(), &opts).unwrap();
            digests::check(&format!("{name}.{suffix}"), &digests::of_plan(&plan));
        }
    }
}
