//! Hostile input through the binary: a table of mutations of a small demo product (Zarr v3 as
//! EOPF writes it since N0512, and v2), each run through `info`, `validate` and both conversions
//! under a memory limit and a time limit. Every run ends with a clean error (exit 1, an `error:`
//! line) or a valid result — never a panic, an abort, a signal, a hang or memory past the bound —
//! and a conversion that failed never leaves an output that validates.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Address-space limit of every run (the debug binary, rayon and zarrs included).
const MEMORY_LIMIT: u64 = 3 << 30;
/// Wall-clock limit of every run.
const TIME_LIMIT: Duration = Duration::from_secs(120);

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run the binary with `args` under the limits; a run past the time limit is killed and reported.
fn run_limited(args: &[&str]) -> Outcome {
    let mut cmd = common::bin();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let start = Instant::now();
    // Drain the pipes on threads so that a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let te = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (to.join().unwrap(), te.join().unwrap());
    match status {
        None => panic!("{args:?}: still running after {TIME_LIMIT:?} (a hang)\n{stderr}"),
        Some(s) => {
            use std::os::unix::process::ExitStatusExt as _;
            if let Some(sig) = s.signal() {
                panic!("{args:?}: killed by signal {sig} (abort or crash)\n{stderr}");
            }
            Outcome {
                code: s.code(),
                stdout,
                stderr,
            }
        }
    }
}

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

/// Node document of a v3 product (after `unconsolidate`, it is what the reader reads).
fn doc(p: &Path, node: &str) -> PathBuf {
    p.join(node).join("zarr.json")
}

fn unconsolidate(p: &Path) {
    edit_json(&p.join("zarr.json"), |v| {
        v.as_object_mut().unwrap().remove("consolidated_metadata");
    });
}

const B04: &str = "measurements/reflectance/r10m/b04";
const CHUNK: &str = "measurements/reflectance/r60m/b04/c/0/0";
/// The same chunk in the v2 product (Blosc zstd).
const V2_CHUNK: &str = "measurements/reflectance/r60m/b04/0.0";

type Mutate = fn(&Path);

fn mutations() -> Vec<(&'static str, &'static str, Mutate)> {
    vec![
        ("absurd shape", "v3", |p| {
            edit_json(&doc(p, B04), |v| {
                v["shape"] = json!([1_000_000_000u64, 1_000_000_000u64])
            })
        }),
        ("absurd shape in .zmetadata (v2)", "v2", |p| {
            edit_json(&p.join(".zmetadata"), |v| {
                v["metadata"][format!("{B04}/.zarray")]["shape"] =
                    json!([1_000_000_000u64, 1_000_000_000u64])
            })
        }),
        (
            "large shape that disagrees with the coordinates",
            "v3",
            |p| edit_json(&doc(p, B04), |v| v["shape"] = json!([100_000, 100_000])),
        ),
        ("negative shape", "v3", |p| {
            edit_json(&doc(p, B04), |v| v["shape"] = json!([-5, 366]))
        }),
        ("zero shape", "v3", |p| {
            edit_json(&doc(p, B04), |v| v["shape"] = json!([0, 0]))
        }),
        ("zero chunks", "v3", |p| {
            edit_json(&doc(p, B04), |v| {
                v["chunk_grid"]["configuration"]["chunk_shape"] = json!([0, 0])
            })
        }),
        ("absurd chunks", "v3", |p| {
            edit_json(&doc(p, B04), |v| {
                v["chunk_grid"]["configuration"]["chunk_shape"] =
                    json!([1_000_000_000_000u64, 1_000_000_000_000u64])
            })
        }),
        ("unknown codec", "v3", |p| {
            edit_json(&doc(p, B04), |v| {
                v["codecs"][1]["name"] = json!("lzma-magic")
            })
        }),
        ("unknown data type", "v3", |p| {
            edit_json(&doc(p, B04), |v| v["data_type"] = json!("uint12_magic"))
        }),
        ("big-endian bytes", "v3", |p| {
            edit_json(&doc(p, B04), |v| {
                v["codecs"][0]["configuration"]["endian"] = json!("big")
            })
        }),
        ("order F (v2)", "v2", |p| {
            std::fs::remove_file(p.join(".zmetadata")).unwrap();
            edit_json(&p.join(B04).join(".zarray"), |v| v["order"] = json!("F"))
        }),
        ("bad fill value", "v3", |p| {
            edit_json(&doc(p, B04), |v| v["fill_value"] = json!("banana"))
        }),
        ("truncated chunk", "v3", |p| {
            let c = p.join(CHUNK);
            let b = std::fs::read(&c).unwrap();
            std::fs::write(&c, &b[..b.len() / 2]).unwrap();
        }),
        ("empty chunk", "v3", |p| {
            std::fs::write(p.join(CHUNK), b"").unwrap()
        }),
        ("random chunk", "v3", |p| {
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            let bytes: Vec<u8> = (0..4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            std::fs::write(p.join(CHUNK), bytes).unwrap();
        }),
        ("zstd frame declaring a terabyte", "v3", |p| {
            // 16 bytes: magic, single-segment frame with an 8-byte content size of 2⁴⁰, one
            // empty raw block.
            let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
            frame.extend((1u64 << 40).to_le_bytes());
            frame.extend([1, 0, 0]);
            std::fs::write(p.join(CHUNK), frame).unwrap();
        }),
        ("Blosc header declaring 2 GB (v2)", "v2", |p| {
            let c = p.join(V2_CHUNK);
            let mut b = std::fs::read(&c).unwrap();
            b[4..8].copy_from_slice(&2_000_000_000i32.to_le_bytes());
            std::fs::write(&c, b).unwrap();
        }),
        ("gzip chunk of 256 MB of zeros (v2)", "v2", |p| {
            std::fs::remove_file(p.join(".zmetadata")).unwrap();
            let b60 = "measurements/reflectance/r60m/b04";
            edit_json(&p.join(b60).join(".zarray"), |v| {
                v["compressor"] = json!({"id": "gzip", "level": 1})
            });
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..256 {
                std::io::Write::write_all(&mut gz, &zeros).unwrap();
            }
            std::fs::write(p.join(V2_CHUNK), gz.finish().unwrap()).unwrap();
        }),
        ("a directory where a chunk is", "v3", |p| {
            let c = p.join(CHUNK);
            std::fs::remove_file(&c).unwrap();
            std::fs::create_dir(&c).unwrap();
        }),
        ("missing chunk", "v3", |p| {
            std::fs::remove_file(p.join(CHUNK)).unwrap()
        }),
        ("non-UTF-8 metadata", "v3", |p| {
            std::fs::write(doc(p, B04), b"{\"zarr_format\": 3, \xff\xfe}").unwrap()
        }),
        ("deeply nested JSON", "v3", |p| {
            let depth = 100_000;
            let text = format!(
                "{{\"zarr_format\": 3, \"node_type\": \"group\", \"attributes\": {{\"deep\": {}{}}}}}",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            std::fs::write(doc(p, "measurements"), text).unwrap();
        }),
        ("empty metadata document", "v3", |p| {
            std::fs::write(doc(p, B04), b"{}").unwrap()
        }),
        ("wrong coordinate length", "v3", |p| {
            edit_json(&doc(p, "measurements/reflectance/r10m/x"), |v| {
                v["shape"] = json!([100]);
                v["chunk_grid"]["configuration"]["chunk_shape"] = json!([100]);
            })
        }),
        ("NaN coordinates", "v3", |p| {
            std::fs::remove_file(p.join("measurements/reflectance/r20m/x/c/0")).unwrap()
        }),
        ("dimension names that do not fit the shape", "v3", |p| {
            edit_json(&doc(p, B04), |v| v["dimension_names"] = json!(["y"]))
        }),
        ("unknown CRS code", "v3", |p| {
            edit_json(&p.join("zarr.json"), |v| {
                v["attributes"]["other_metadata"]["horizontal_crs_code"] = json!("EPSG:999999");
                v["attributes"]["stac_discovery"]["properties"]["proj:code"] = json!("EPSG:999999");
            })
        }),
        ("zero scale_factor", "v3", |p| {
            edit_json(&doc(p, B04), |v| v["attributes"]["scale_factor"] = json!(0))
        }),
        ("non-numeric scale_factor", "v3", |p| {
            edit_json(&doc(p, B04), |v| {
                v["attributes"]["scale_factor"] = json!("abc")
            })
        }),
        ("symbolic link loop", "v3", |p| {
            std::os::unix::fs::symlink("..", p.join("measurements/loop")).unwrap()
        }),
        ("unicode names", "v3", |p| {
            let g = p.join("measurements/ümlaut ☃");
            std::fs::create_dir_all(&g).unwrap();
            std::fs::write(
                g.join("zarr.json"),
                r#"{"zarr_format": 3, "node_type": "group", "attributes": {"naïve": "☃"}}"#,
            )
            .unwrap();
        }),
        ("a 50 MB attribute", "v3", |p| {
            edit_json(&p.join("zarr.json"), |v| {
                v["attributes"]["huge"] = json!("x".repeat(50 << 20))
            })
        }),
        ("truncated consolidated metadata", "v3-consolidated", |p| {
            let r = p.join("zarr.json");
            let b = std::fs::read(&r).unwrap();
            std::fs::write(&r, &b[..b.len() / 3]).unwrap();
        }),
        (
            "consolidated metadata that disagrees with the chunks",
            "v3-consolidated",
            |p| {
                edit_json(&p.join("zarr.json"), |v| {
                    v["consolidated_metadata"]["metadata"][B04]["chunk_grid"]["configuration"]["chunk_shape"] =
                        json!([7, 7])
                })
            },
        ),
        ("a group document gone", "v3", |p| {
            std::fs::remove_file(doc(p, "measurements/reflectance/r20m")).unwrap()
        }),
    ]
}

/// One command's outcome is acceptable: exit 0, or exit 1 with an `error:` line and no panic.
fn check(what: &str, args: &[&str], o: &Outcome) {
    assert!(
        !o.stderr.contains("panicked at"),
        "{what}: {args:?} panicked:\n{}",
        o.stderr
    );
    match o.code {
        Some(0) => {}
        Some(1) => assert!(
            o.stderr.lines().any(|l| l.starts_with("error: ")) || args[0] == "validate",
            "{what}: {args:?} exit 1 without an error line:\n{}{}",
            o.stdout,
            o.stderr
        ),
        other => panic!(
            "{what}: {args:?} exit {other:?} (neither success nor a clean error):\n{}",
            o.stderr
        ),
    }
    if args[0] == "validate" && o.code == Some(1) {
        assert!(
            o.stderr.contains("error: ") || o.stdout.contains("ERROR"),
            "{what}: validate failed silently: {}{}",
            o.stdout,
            o.stderr
        );
    }
}

#[test]
fn hostile_products_get_clean_errors_or_valid_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let base_v3 = common::demo_at(dir.path(), "base-v3.zarr", "v3");
    let base_v2 = common::demo_at(dir.path(), "base-v2.zarr", "v2");
    let table = mutations();
    assert!(table.len() >= 25, "{} kinds", table.len());
    let mut failed_conversions = 0;
    for (i, (what, format, mutate)) in table.iter().enumerate() {
        let p = dir.path().join(format!("m{i}.zarr"));
        common::copy_tree(if *format == "v2" { &base_v2 } else { &base_v3 }, &p);
        if *format == "v3" {
            unconsolidate(&p);
        }
        mutate(&p);
        let ps = p.to_str().unwrap().to_string();
        let mut codes = Vec::new();
        for args in [vec!["info", &ps], vec!["validate", &ps]] {
            let o = run_limited(&args);
            check(what, &args, &o);
            codes.push(o.code.unwrap_or(-1));
        }
        for (k, extra) in [
            vec![],
            vec![
                "--no-s2-optimized",
                "--groups",
                "/measurements/reflectance/r10m",
                "--min-dimension",
                "64",
            ],
        ]
        .into_iter()
        .enumerate()
        {
            let out = dir.path().join(format!("m{i}-out{k}.zarr"));
            let os = out.to_str().unwrap().to_string();
            let mut args = vec!["convert", &ps, &os, "--device", "cpu"];
            args.extend(extra);
            let o = run_limited(&args);
            check(what, &args, &o);
            codes.push(o.code.unwrap_or(-1));
            if o.code != Some(0) {
                failed_conversions += 1;
                // Nothing that could pass for a complete output.
                if out.exists() {
                    let v = run_limited(&["validate", &os]);
                    assert_ne!(
                        v.code,
                        Some(0),
                        "{what}: a failed conversion left an output that validates"
                    );
                }
            }
        }
        // Exit codes of info, validate, pipeline B, pipeline A.
        eprintln!("ok: {what}: {codes:?}");
    }
    // The table is hostile: most conversions must have been refused.
    assert!(
        failed_conversions >= 20,
        "{failed_conversions} refused conversions"
    );
}
