//! `convert-s2-optimized` / `convert` through the binary: success, and bad input with one clear
//! error line and exit code 1.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::{Path, PathBuf};

fn demo(dir: &Path, name: &str) -> PathBuf {
    demo_as(dir, name, "v3")
}

/// A v2 (N0511) demo, for the tests that break its v2 files.
fn demo_v2(dir: &Path, name: &str) -> PathBuf {
    demo_as(dir, name, "v2")
}

fn demo_as(dir: &Path, name: &str, format: &str) -> PathBuf {
    common::demo_at(dir, name, format)
}

fn error_line(o: &std::process::Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout {} stderr {}",
        common::stdout(o),
        common::stderr(o)
    );
    let err = common::stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_string()
}

#[test]
fn converts_and_validates_both_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo(dir.path(), "in.zarr");
    for (profile, extra) in [
        (
            "geozarr",
            vec!["--enable-sharding", "--compression-level", "6"],
        ),
        ("reference", vec!["--enable-sharding"]),
    ] {
        let out = dir.path().join(format!("{profile}.zarr"));
        let mut args = vec![
            "convert-s2-optimized",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--profile",
            profile,
        ];
        args.extend(extra);
        let o = common::run(&args);
        assert!(o.status.success(), "{profile}: {}", common::stderr(&o));
        let text = common::stdout(&o);
        assert!(
            text.contains("S2 optimization completed") && text.contains("validation: 0 error(s)"),
            "{text}"
        );
        let v = common::run(&["validate", out.to_str().unwrap()]);
        assert!(v.status.success());
    }
    // `convert` sends Sentinel-2 inputs to pipeline B too.
    let out = dir.path().join("convert.zarr");
    let o = common::run_ok(&[
        "convert",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["validation"]["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn non_sentinel2_input_is_refused() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s1 = dir.path().join("s1.zarr");
    let layout = fx.join(
        "s1_examples/S1A_IW_GRDH_1SDV_20241124T180254_20241124T180319_056700_06F516_BA27.json",
    );
    assert!(
        common::run(&[
            "demo",
            s1.to_str().unwrap(),
            "--layout",
            layout.to_str().unwrap(),
            "--empty"
        ])
        .status
        .success()
    );
    let out = dir.path().join("out.zarr");
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        s1.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    assert!(
        e.contains("s1.zarr") && e.contains("not a Sentinel-2 product"),
        "{e}"
    );
    let e = error_line(&common::run(&[
        "convert",
        s1.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    // `convert` takes non-Sentinel-2 input to pipeline A, which needs the GCPs of Sentinel-1.
    assert!(
        e.contains("Detected Sentinel-1") && e.contains("GCP group not provided"),
        "{e}"
    );
    assert!(!out.exists());
    // An empty product has no valid GCP (all fill): a clear error, nothing written.
    let e = error_line(&common::run(&[
        "convert",
        s1.to_str().unwrap(),
        out.to_str().unwrap(),
        "--gcp-group",
        "conditions/gcp",
    ]));
    assert!(e.contains("GCPs are not enough"), "{e}");
    assert!(!out.exists());
}

/// A Sentinel-2 product with one extra array is not Sentinel-2 for the reference's strict model
/// (B-17), so `convert` runs pipeline A with the given --groups: a valid GeoZarr output with flat
/// r1/r2 levels (geozarr profile).
#[test]
fn convert_runs_pipeline_a_on_other_products() {
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zarr");
    common::copy_tree(&fx.join("golden/in_l2a_shard.zarr"), &input);
    std::fs::create_dir_all(input.join("extra/v")).unwrap();
    std::fs::write(input.join("extra/.zgroup"), r#"{"zarr_format": 2}"#).unwrap();
    std::fs::write(
        input.join("extra/v/.zarray"),
        r#"{"zarr_format": 2, "shape": [3], "chunks": [3], "dtype": "<f8", "compressor": null, "fill_value": "NaN", "filters": null, "order": "C"}"#,
    )
    .unwrap();
    std::fs::write(
        input.join("extra/v/.zattrs"),
        r#"{"_ARRAY_DIMENSIONS": ["n"]}"#,
    )
    .unwrap();
    let out = dir.path().join("out.zarr");
    let o = common::run_ok(&[
        "convert",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--groups",
        "/measurements/reflectance/r60m",
        "--min-dimension",
        "64",
        "--spatial-chunk",
        "256",
    ]);
    assert!(
        common::stdout(&o).contains("Successfully converted EOPF dataset to GeoZarr format"),
        "{}",
        common::stdout(&o)
    );
    let h = eopf_geozarr::hierarchy::Hierarchy::open(&out).unwrap();
    let ms = &h.node("/measurements/reflectance/r60m").unwrap().attributes["multiscales"];
    let assets: Vec<&str> = ms["layout"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["asset"].as_str().unwrap())
        .collect();
    assert_eq!(assets, ["r1", "r2"]);
    assert_eq!(
        h.array_meta("/measurements/reflectance/r60m/r2/b01")
            .unwrap()
            .shape,
        vec![92, 92]
    );
    assert!(h.node("/extra/v").is_some());
}

#[test]
fn missing_r60m_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo_v2(dir.path(), "in.zarr");
    std::fs::remove_dir_all(input.join("measurements/reflectance/r60m")).unwrap();
    std::fs::remove_file(input.join(".zmetadata")).unwrap();
    let out = dir.path().join("out.zarr");
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    assert!(
        e.contains("/measurements/reflectance/r60m") && e.contains("missing resolution group r60m"),
        "{e}"
    );
}

#[test]
fn existing_and_unwritable_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo(dir.path(), "in.zarr");
    let out = dir.path().join("out.zarr");
    assert!(
        common::run(&[
            "convert-s2-optimized",
            input.to_str().unwrap(),
            out.to_str().unwrap()
        ])
        .status
        .success()
    );
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    assert!(
        e.contains("out.zarr") && e.contains("already exists"),
        "{e}"
    );
    common::run_ok(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--overwrite",
    ]);
    // A file where a directory is needed.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("out.zarr");
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]));
    assert!(e.contains("plain-file/out.zarr"), "{e}");
}

#[test]
fn corrupt_source_chunk_leaves_no_valid_output_and_resume_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo_v2(dir.path(), "in.zarr");
    let chunk = input.join("measurements/reflectance/r20m/b05/0.0");
    let good = std::fs::read(&chunk).unwrap();
    let mut bad = good.clone();
    for b in bad.iter_mut().skip(32).step_by(7) {
        *b ^= 0xA5;
    }
    std::fs::write(&chunk, &bad).unwrap();
    let out = dir.path().join("out.zarr");
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    assert!(
        e.contains("measurements/reflectance/r20m/b05") && e.contains("chunk 0.0"),
        "{e}"
    );
    // What was written cannot pass for a finished output: metadata is written last.
    let v = common::run(&["validate", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    // The journal lists what the interrupted run completed (the r10m bands come before r20m).
    let journal: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(".eopf-geozarr-journal.json")).unwrap(),
    )
    .unwrap();
    let done: Vec<&str> = journal["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        done.contains(&"/measurements/reflectance/r10m/b04"),
        "{done:?}"
    );
    assert!(!done.contains(&"/measurements/reflectance/r20m/b05"));
    // Without a flag the partial output is refused; with other options --resume is refused.
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    assert!(e.contains("--resume"), "{e}");
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--resume",
        "--compression-level",
        "7",
    ]));
    assert!(e.contains("other options"), "{e}");
    // Fix the input; --resume completes the conversion, keeping what was done.
    std::fs::write(&chunk, &good).unwrap();
    let b04 = out.join("measurements/reflectance/r10m/b04/c/0/0");
    let before = std::fs::metadata(&b04).unwrap().modified().unwrap();
    common::run_ok(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(
        std::fs::metadata(&b04).unwrap().modified().unwrap(),
        before,
        "completed arrays are kept"
    );
    // The journal now records the conversion as complete (what --resume and --overwrite read).
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(".eopf-geozarr-journal.json")).unwrap())
            .unwrap();
    assert_eq!(j["complete"], true);
    assert!(
        common::run(&["validate", out.to_str().unwrap()])
            .status
            .success()
    );
    // The resumed output equals a fresh conversion.
    let fresh = dir.path().join("fresh.zarr");
    assert!(
        common::run(&[
            "convert-s2-optimized",
            input.to_str().unwrap(),
            fresh.to_str().unwrap()
        ])
        .status
        .success()
    );
    let (a, b) = (
        eopf_geozarr::hierarchy::Hierarchy::open(&out).unwrap(),
        eopf_geozarr::hierarchy::Hierarchy::open(&fresh).unwrap(),
    );
    for p in [
        "/measurements/reflectance/r720m/b02",
        "/measurements/reflectance/r20m/b05",
        "/quality/mask/r10m/b02",
    ] {
        let dt = a.array_meta(p).unwrap().dtype.clone();
        if dt == "float32" {
            let (x, y) = (a.read::<f32>(p).unwrap(), b.read::<f32>(p).unwrap());
            assert!(
                x.iter()
                    .zip(y.iter())
                    .all(|(u, v)| u == v || (u.is_nan() && v.is_nan())),
                "{p}"
            );
        } else {
            assert_eq!(a.read::<u8>(p).unwrap(), b.read::<u8>(p).unwrap(), "{p}");
        }
    }
}

#[test]
fn bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo(dir.path(), "in.zarr");
    let out = dir.path().join("o.zarr");
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--shard-size",
        "huge",
    ]));
    assert!(e.contains("--shard-size"), "{e}");
    let o = common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--compression-level",
        "12",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bench_reports_the_floor_the_conversion_and_the_kernels() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.json");
    let o = common::run_ok(&["bench", "--size", "366", "--json", file.to_str().unwrap()]);
    let out = common::stdout(&o);
    assert!(
        out.contains("conversion / codec floor") && out.contains("speedup"),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let whats: Vec<&str> = v["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        whats,
        [
            "decode the whole input",
            "compress the output arrays",
            "convert-s2-optimized"
        ]
    );
    assert!(
        v["timings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["seconds"].as_f64().unwrap() > 0.0)
    );
    let k = &v["kernels"];
    let rows = k["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r["cpu_ms"].as_f64().unwrap() > 0.0));
    let gpu_required = std::env::var("EOPF_REQUIRE_GPU").is_ok_and(|v| v == "1");
    if gpu_required || !k["adapter"].is_null() {
        assert!(!k["adapter"].is_null(), "no adapter in {k}");
        for r in rows {
            let g = &r["gpu"];
            assert!(g["total_ms"].as_f64().unwrap() > 0.0, "{r}");
            let sum = g["upload_ms"].as_f64().unwrap()
                + g["compute_ms"].as_f64().unwrap()
                + g["readback_ms"].as_f64().unwrap();
            assert!((sum - g["total_ms"].as_f64().unwrap()).abs() < 1e-6);
            assert!(r["max_ulp"].as_u64().unwrap() <= 4, "{r}");
        }
        assert_eq!(k["conversions"].as_array().unwrap().len(), 2);
    }
}

/// The default codec (`auto`): packed uint16 reflectance in Blosc zstd with byte shuffle (smaller
/// at the same speed, README "Performance"), everything else in zstd; `--codec zstd` is zstd for
/// all. The digital numbers are the same either way.
#[test]
fn auto_codec_packs_reflectance_with_blosc_shuffle_and_the_rest_with_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo(dir.path(), "in.zarr");
    let convert = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "convert-s2-optimized",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--keep-scale-offset",
        ];
        args.extend(extra);
        common::run_ok(&args);
        out
    };
    let (auto, zstd) = (
        convert("auto.zarr", &[]),
        convert("zstd.zarr", &["--codec", "zstd"]),
    );
    let compressor = |out: &Path, p: &str| -> serde_json::Value {
        let doc: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(p.trim_start_matches('/')).join("zarr.json")).unwrap(),
        )
        .unwrap();
        doc["codecs"][1].clone()
    };
    let band = "/measurements/reflectance/r10m/b04";
    let level = "/measurements/reflectance/r360m/b04";
    let mask = "/conditions/mask/l2a_classification/r20m/scl";
    for p in [band, level] {
        let c = compressor(&auto, p);
        assert_eq!(c["name"], "blosc", "{p}: {c}");
        assert_eq!(c["configuration"]["shuffle"], "shuffle", "{p}: {c}");
        assert_eq!(c["configuration"]["cname"], "zstd", "{p}: {c}");
        assert_eq!(c["configuration"]["typesize"], 2, "{p}: {c}");
        assert_eq!(compressor(&zstd, p)["name"], "zstd", "{p}");
    }
    assert_eq!(compressor(&auto, mask)["name"], "zstd");
    let (a, z) = (
        eopf_geozarr::hierarchy::Hierarchy::open(&auto).unwrap(),
        eopf_geozarr::hierarchy::Hierarchy::open(&zstd).unwrap(),
    );
    for p in [band, level] {
        assert_eq!(a.read::<u16>(p).unwrap(), z.read::<u16>(p).unwrap(), "{p}");
    }
    // Without --keep-scale-offset the float32 reflectance stays zstd.
    let out = dir.path().join("f32.zarr");
    common::run_ok(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(compressor(&out, band)["name"], "zstd");
}

#[test]
fn keep_scale_offset_stores_the_packed_digital_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo(dir.path(), "in.zarr");
    let out = dir.path().join("keep.zarr");
    common::run_ok(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--keep-scale-offset",
        "--profile",
        "reference",
    ]);
    let (src, h) = (
        eopf_geozarr::hierarchy::Hierarchy::open(&input).unwrap(),
        eopf_geozarr::hierarchy::Hierarchy::open(&out).unwrap(),
    );
    let p = "/measurements/reflectance/r10m/b04";
    let node = h.node(p).unwrap();
    assert_eq!(h.array_meta(p).unwrap().dtype, "uint16");
    assert_eq!(node.attributes["_FillValue"], serde_json::json!(0));
    assert_eq!(node.attributes["scale_factor"], serde_json::json!(0.0001));
    assert_eq!(node.attributes["add_offset"], serde_json::json!(-0.1));
    assert_eq!(node.attributes["units"], "1");
    // Native bands keep the digital numbers exactly.
    assert_eq!(src.read::<u16>(p).unwrap(), h.read::<u16>(p).unwrap());
    // Derived levels are packed means: decode them and compare with the float pipeline.
    let float = dir.path().join("float.zarr");
    assert!(
        common::run(&[
            "convert-s2-optimized",
            input.to_str().unwrap(),
            float.to_str().unwrap(),
            "--profile",
            "reference"
        ])
        .status
        .success()
    );
    let f = eopf_geozarr::hierarchy::Hierarchy::open(&float).unwrap();
    let packed = h
        .read::<u16>("/measurements/reflectance/r360m/b04")
        .unwrap();
    let means = f
        .read::<f32>("/measurements/reflectance/r360m/b04")
        .unwrap();
    for (&p, &m) in packed.iter().zip(means.iter()) {
        if m.is_nan() {
            assert_eq!(p, 0);
        } else {
            assert!(
                (f64::from(p) * 1e-4 - 0.1 - f64::from(m)).abs() <= 0.5e-4 + 1e-6,
                "{p} vs {m}"
            );
        }
    }
    let e = error_line(&common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        dir.path().join("x.zarr").to_str().unwrap(),
        "--experimental-scale-offset-codec",
    ]));
    assert!(e.contains("not available in zarrs"), "{e}");
}

/// A cancelled conversion stops before writing metadata (nothing validates) and `--resume`
/// finishes it.
#[test]
fn cancelled_conversions_are_resumable() {
    use eopf_geozarr::convert::{Existing, S2Options, convert_s2_optimized};
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.zarr");
    let input = fx.join("golden/in_l2a_shard.zarr");
    let opts = S2Options {
        profile: eopf_geozarr::plan::Profile::Geozarr,
        enable_sharding: true,
        ..Default::default()
    };
    opts.cancel.cancel();
    let e = convert_s2_optimized(&input, &out, &opts, Existing::Error, &|_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("cancelled") && e.contains("--resume"), "{e}");
    assert!(!out.join("zarr.json").exists());
    let fresh = S2Options {
        profile: eopf_geozarr::plan::Profile::Geozarr,
        enable_sharding: true,
        ..Default::default()
    };
    convert_s2_optimized(&input, &out, &fresh, Existing::Resume, &|_, _, _| {}).unwrap();
    let v = common::run(&["validate", out.to_str().unwrap()]);
    assert!(v.status.success(), "{}", common::stdout(&v));
}

/// `bench --versus CLI` converts the same input with both tools, each as its own process, and
/// reports wall time, peak RSS and bytes written. The other tool here is our own binary (the
/// Python reference is not part of `make test`): both sides then write the same bytes.
/// `bench --size 366 --versus OUR_BINARY ARGS… --json F`: its standard output and F.
fn bench_versus(args: &[&str]) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("versus.json");
    let ours = env!("CARGO_BIN_EXE_eopf-geozarr");
    let mut all = vec!["bench", "--size", "366", "--versus", ours];
    all.extend(args);
    all.extend(["--json", file.to_str().unwrap()]);
    let o = common::run_ok(&all);
    let json = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    (common::stdout(&o), json)
}

#[test]
fn bench_versus_measures_two_tools_side_by_side() {
    let (out, v) = bench_versus(&["--keep-scale-offset"]);
    assert!(out.contains("theirs / ours:"), "{out}");
    // Alone, --versus runs only the comparison.
    assert!(
        !out.contains("conversion / codec floor") && !out.contains("speedup"),
        "{out}"
    );
    let (a, b) = (&v["versus"]["ours"], &v["versus"]["theirs"]);
    for r in [a, b] {
        assert_eq!(r["exit_code"], 0, "{r}");
        assert!(r["wall_s"].as_f64().unwrap() > 0.0);
        // A real process of ours holds more than 10 MB at its peak.
        assert!(r["peak_rss_bytes"].as_u64().unwrap() > 10 << 20, "{r}");
        assert!(r["command"][4] == "--enable-sharding" && r["command"][5] == "--keep-scale-offset");
    }
    assert!(a["bytes_written"].as_u64().unwrap() > 100_000);
    assert_eq!(a["bytes_written"], b["bytes_written"]);
}

/// Conversion options given to `bench --versus` go to our side alone (the other CLI may not
/// know them): here a different compression level, so the two outputs differ in size.
#[test]
fn bench_versus_gives_our_options_to_our_side_only() {
    let (out, v) = bench_versus(&["--compression-level", "1", "--device", "cpu"]);
    assert!(
        out.contains("(ours also with --compression-level 1 --device cpu)"),
        "{out}"
    );
    let (a, b) = (&v["versus"]["ours"], &v["versus"]["theirs"]);
    // program, convert-s2-optimized, input, output, then the options
    let args = |r: &serde_json::Value| -> Vec<String> {
        r["command"].as_array().unwrap()[4..]
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        args(a),
        [
            "--enable-sharding",
            "--compression-level",
            "1",
            "--device",
            "cpu"
        ]
    );
    assert_eq!(args(b), ["--enable-sharding"]);
    assert_eq!((&a["exit_code"], &b["exit_code"]), (&0.into(), &0.into()));
    // zstd 1 against zstd 3 on the same data.
    assert!(
        a["bytes_written"].as_u64().unwrap() > b["bytes_written"].as_u64().unwrap(),
        "{a} {b}"
    );
}

/// `bench --codecs`: every candidate chain on B04 as uint16 and float32, round-tripped (a chain
/// that changed the data would fail the command), with its ratio and single-core throughput.
#[test]
fn bench_codecs_compares_the_candidate_chains() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("codecs.json");
    let o = common::run_ok(&[
        "bench",
        "--size",
        "366",
        "--codecs",
        "--json",
        file.to_str().unwrap(),
    ]);
    assert!(common::stdout(&o).contains("decode MB/s"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let rows = v["codecs"].as_array().unwrap();
    let names = eopf_geozarr::bench::codec_candidates(2);
    assert_eq!(rows.len(), 3 * names.len());
    for r in rows {
        assert!(r["ratio"].as_f64().unwrap() > 1.0, "{r}");
        assert!(
            r["encode_mb_s"].as_f64().unwrap() > 0.0 && r["decode_mb_s"].as_f64().unwrap() > 0.0
        );
    }
    let datas: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["data"].as_str().unwrap()).collect();
    assert_eq!(
        datas.into_iter().collect::<Vec<_>>(),
        ["float32 2×2 mean", "float32 reflectance", "uint16 DN"]
    );
}

#[test]
fn direct_and_buffered_writes_give_the_same_files_and_leave_no_probe() {
    let dir = tempfile::tempdir().unwrap();
    let input = demo(dir.path(), "in.zarr");
    let mut outs = Vec::new();
    for (name, direct) in [("direct.zarr", None), ("buffered.zarr", Some("0"))] {
        let out = dir.path().join(name);
        let mut c = common::bin();
        c.args([
            "convert-s2-optimized",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--enable-sharding",
            "--keep-scale-offset",
        ]);
        if let Some(v) = direct {
            c.env("EOPF_DIRECT_IO", v);
        } else {
            c.env_remove("EOPF_DIRECT_IO");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", common::stderr(&o));
        let t = common::s3::tree(&out);
        assert!(t.len() > 100, "{} files in {name}", t.len());
        assert!(
            !t.keys()
                .any(|k| k.contains(eopf_geozarr::storage::direct::PROBE)),
            "a probe file was left in {name}"
        );
        outs.push(out);
    }
    common::s3::assert_same_tree(&outs[0], &outs[1]);
}
