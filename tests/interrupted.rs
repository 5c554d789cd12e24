//! Conversions killed with SIGKILL at several moments — just started (journal only), mid-array
//! (some arrays complete), during the metadata — and finished with `--resume` equal a fresh
//! conversion byte for byte; an interrupted output never validates.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Every file below `dir` by relative path → bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    common::s3::tree(dir)
}

/// (arrays done, complete) of the journal, when there is one.
fn journal(out: &Path) -> Option<(usize, bool)> {
    let text = std::fs::read_to_string(out.join(".eopf-geozarr-journal.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((v["done"].as_array()?.len(), v["complete"] == true))
}

fn unfinished(out: &Path) -> bool {
    journal(out).is_some_and(|(_, complete)| !complete)
}

/// Some array data is written (shards of r20m), no metadata yet.
fn data_written(out: &Path) -> bool {
    out.join("measurements/reflectance/r20m/b05/c").exists() && !any_array_metadata(out)
}

fn any_array_metadata(out: &Path) -> bool {
    out.join("measurements/reflectance/r10m/b02/zarr.json")
        .exists()
        || out.join("quality/mask/r10m/b02/zarr.json").exists()
}

/// Start a conversion and SIGKILL it when `moment` says so; `None` when it finished first.
fn kill_at(input: &Path, out: &Path, moment: &dyn Fn(&Path) -> bool) -> Option<()> {
    let mut child = common::bin()
        .args([
            "convert-s2-optimized",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
        ])
        .args(["--enable-sharding", "--device", "cpu"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        if moment(out) {
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            use std::os::unix::process::ExitStatusExt as _;
            return (status.signal() == Some(9)).then_some(());
        }
        if child.try_wait().unwrap().is_some() || t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_micros(300));
    }
}

#[test]
fn killed_conversions_resume_to_the_fresh_output() {
    let dir = tempfile::tempdir().unwrap();
    // 1/10 of a tile: long enough to be caught at each moment.
    let input = dir.path().join("in.zarr");
    common::run_ok(&["demo", input.to_str().unwrap(), "--size", "1098"]);
    let fresh = dir.path().join("fresh.zarr");
    common::run_ok(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        fresh.to_str().unwrap(),
        "--enable-sharding",
    ]);
    let want = tree(&fresh);
    type Moment = Box<dyn Fn(&Path) -> bool>;
    let moments: Vec<(&str, Moment)> = vec![
        (
            "early (journal written, no array complete)",
            Box::new(|p: &Path| journal(p) == Some((0, false)) && !data_written(p)),
        ),
        (
            "mid-array (array data being written, no metadata)",
            Box::new(|p: &Path| unfinished(p) && data_written(p)),
        ),
        (
            "during the metadata",
            Box::new(|p: &Path| unfinished(p) && any_array_metadata(p)),
        ),
    ];
    for (what, moment) in &moments {
        let mut killed = false;
        for attempt in 0..5 {
            let out = dir
                .path()
                .join(format!("killed-{}-{attempt}.zarr", what.len()));
            if kill_at(&input, &out, moment.as_ref()).is_none() {
                continue; // finished before the moment came: try again
            }
            killed = true;
            // Interrupted: nothing that validates.
            let v = common::run(&["validate", out.to_str().unwrap()]);
            assert_ne!(
                v.status.code(),
                Some(0),
                "{what}: an interrupted output validates"
            );
            // --resume (with other kernels and retries: they do not change the output).
            let o = common::run(&[
                "--max-retries",
                "5",
                "convert-s2-optimized",
                input.to_str().unwrap(),
                out.to_str().unwrap(),
                "--enable-sharding",
                "--resume",
                "--device",
                "auto",
            ]);
            assert!(o.status.success(), "{what}: {}", common::stderr(&o));
            let got = tree(&out);
            let ka: Vec<&String> = want.keys().collect();
            let kb: Vec<&String> = got.keys().collect();
            assert_eq!(ka, kb, "{what}: the same keys");
            let differ: Vec<&String> = want.keys().filter(|k| want[*k] != got[*k]).collect();
            // Byte for byte, the journal (complete, same fingerprint) included.
            assert!(
                differ.is_empty(),
                "{what}: {differ:?} differ from the fresh conversion"
            );
            eprintln!("{what}: killed, resumed, equal to the fresh conversion");
            break;
        }
        assert!(
            killed,
            "{what}: the conversion always finished before it could be killed"
        );
    }
}
