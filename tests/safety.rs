//! Only our own outputs are ever erased or rewritten (README.md "Safety"): `--overwrite` and `--resume`
//! refuse a folder or S3 prefix holding anything else (one error line naming the path and the
//! first foreign entry, exit 1, nothing touched), never follow a symbolic link out of the output,
//! never erase a bucket root; `--resume` does nothing on a complete output of the same conversion
//! and refuses a Zarr store of other origin.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::Path;

use common::s3::S3Server;

fn error_line(o: &std::process::Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout {} stderr {}",
        common::stdout(o),
        common::stderr(o)
    );
    let err = common::stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_string()
}

fn convert(input: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["convert-s2-optimized", input.to_str().unwrap(), out];
    args.extend_from_slice(extra);
    common::run(&args)
}

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_symlink() {
                out.push((p.display().to_string(), b"<link>".to_vec()));
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn overwrite_and_resume_refuse_folders_that_are_not_ours() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::demo_at(dir.path(), "in.zarr", "v3");
    // The user's thesis folder.
    let thesis = dir.path().join("thesis");
    std::fs::create_dir_all(thesis.join("sub")).unwrap();
    std::fs::write(thesis.join("thesis.txt"), "chapter 1").unwrap();
    std::fs::write(thesis.join("sub/data.csv"), "a,b\n1,2\n").unwrap();
    let before = snapshot(&thesis);
    for flag in ["--overwrite", "--resume"] {
        let e = error_line(&convert(&input, thesis.to_str().unwrap(), &[flag]));
        assert!(
            e.contains("thesis") && e.contains("refusing"),
            "{flag}: {e}"
        );
        assert!(
            e.contains("sub/data.csv"),
            "{flag}: the first foreign entry: {e}"
        );
        assert_eq!(snapshot(&thesis), before, "{flag}: nothing touched");
    }
    // The same for pipeline A.
    let e = error_line(&common::run(&[
        "convert",
        input.to_str().unwrap(),
        thesis.to_str().unwrap(),
        "--no-s2-optimized",
        "--overwrite",
    ]));
    assert!(e.contains("refusing"), "{e}");
    assert_eq!(snapshot(&thesis), before);

    // A Zarr store with one foreign file in it is not ours either.
    let out = dir.path().join("out.zarr");
    let o = convert(&input, out.to_str().unwrap(), &[]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    std::fs::write(out.join("measurements/notes.txt"), "mine").unwrap();
    let e = error_line(&convert(&input, out.to_str().unwrap(), &["--overwrite"]));
    assert!(e.contains("measurements/notes.txt"), "{e}");
    assert_eq!(
        std::fs::read_to_string(out.join("measurements/notes.txt")).unwrap(),
        "mine"
    );
    std::fs::remove_file(out.join("measurements/notes.txt")).unwrap();

    // A symbolic link inside the output (here to a folder outside it) is never followed: refused,
    // the target untouched.
    let precious = dir.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(
        precious.join("zarr.json"),
        "{\"zarr_format\": 3, \"node_type\": \"group\"}",
    )
    .unwrap();
    std::os::unix::fs::symlink(&precious, out.join("measurements/linked")).unwrap();
    let e = error_line(&convert(&input, out.to_str().unwrap(), &["--overwrite"]));
    assert!(e.contains("symbolic link"), "{e}");
    assert!(precious.join("zarr.json").exists());
    std::fs::remove_file(out.join("measurements/linked")).unwrap();

    // Our own output is replaced.
    let o = convert(&input, out.to_str().unwrap(), &["--overwrite"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
}

#[test]
fn resume_knows_complete_outputs_and_refuses_other_stores() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::demo_at(dir.path(), "in.zarr", "v3");
    let out = dir.path().join("out.zarr");
    let o = convert(&input, out.to_str().unwrap(), &["--device", "cpu"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let before = snapshot(&out);
    // Complete, same input and output options (--device and --max-retries do not change the
    // output): nothing to do, nothing written.
    let o = common::run_ok(&[
        "--max-retries",
        "7",
        "convert-s2-optimized",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--resume",
        "--device",
        "auto",
    ]);
    assert!(
        common::stdout(&o).contains("nothing to do"),
        "{}",
        common::stdout(&o)
    );
    assert_eq!(snapshot(&out), before);
    // Other output options: refused, untouched.
    let e = error_line(&convert(
        &input,
        out.to_str().unwrap(),
        &["--resume", "--compression-level", "7"],
    ));
    assert!(e.contains("another input or with other options"), "{e}");
    assert_eq!(snapshot(&out), before);
    // A Zarr store that no conversion of ours wrote (the input product itself): refused.
    let other = dir.path().join("other.zarr");
    common::copy_tree(&input, &other);
    let before = snapshot(&other);
    let e = error_line(&convert(&input, other.to_str().unwrap(), &["--resume"]));
    assert!(
        e.contains("no conversion of ours wrote") && e.contains("--overwrite"),
        "{e}"
    );
    assert_eq!(snapshot(&other), before);
    // --overwrite replaces a Zarr store.
    let o = convert(&input, other.to_str().unwrap(), &["--overwrite"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let h = eopf_geozarr::hierarchy::Hierarchy::open(&other).unwrap();
    assert!(h.node("/measurements/reflectance/r720m").is_some());
    // The demo writer keeps a foreign `NAME.partial` folder.
    let partial = dir.path().join("d.zarr.partial");
    std::fs::create_dir(&partial).unwrap();
    std::fs::write(partial.join("keep.txt"), "x").unwrap();
    let e = error_line(&common::run(&[
        "demo",
        dir.path().join("d.zarr").to_str().unwrap(),
    ]));
    assert!(e.contains("keep.txt"), "{e}");
    assert!(partial.join("keep.txt").exists());
}

/// Put one object with boto3 straight at moto (outside our tool).
fn put_object(s3: &S3Server, key: &str, body: &str) {
    let py = std::env::var("EOPF_PYTHON").unwrap();
    let code = format!(
        "import boto3; boto3.client('s3', endpoint_url='{}', aws_access_key_id='{}', aws_secret_access_key='{}', region_name='us-east-1').put_object(Bucket='{}', Key='{}', Body=b'{}')",
        s3.direct, s3.key, s3.secret, s3.bucket, key, body
    );
    let o = std::process::Command::new(py)
        .args(["-c", &code])
        .output()
        .unwrap();
    assert!(o.status.success(), "boto3: {}", common::stderr(&o));
}

#[test]
fn s3_prefixes_and_bucket_roots_that_are_not_ours_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3Server::start(dir.path()) else {
        return;
    };
    let input = common::demo_at(dir.path(), "in.zarr", "v3");
    put_object(&s3, "notes/todo.txt", "buy milk");
    put_object(&s3, "thesis/thesis.txt", "chapter 1");
    let run = |out: &str, flag: &str| {
        s3.cmd()
            .args(["convert-s2-optimized", input.to_str().unwrap(), out, flag])
            .output()
            .unwrap()
    };
    // A prefix holding someone else's object.
    for flag in ["--overwrite", "--resume"] {
        let e = error_line(&run(&s3.url("thesis"), flag));
        assert!(
            e.contains("thesis.txt") && e.contains("refusing"),
            "{flag}: {e}"
        );
    }
    // The bucket root (empty key): holds other objects, refused.
    let root = format!("s3://{}", s3.bucket);
    let e = error_line(&run(&root, "--overwrite"));
    assert!(e.contains("refusing"), "{e}");
    let keys = s3.keys("");
    assert!(keys.iter().any(|k| k == "notes/todo.txt"), "{keys:?}");
    assert!(keys.iter().any(|k| k == "thesis/thesis.txt"), "{keys:?}");
    // Our own output on S3 is replaced, and a complete one is recognised by --resume.
    let out = s3.url("out.zarr");
    let o = run(&out, "--overwrite");
    assert!(o.status.success(), "{}", common::stderr(&o));
    let o = run(&out, "--resume");
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains("nothing to do"),
        "{}",
        common::stdout(&o)
    );
    let o = run(&out, "--overwrite");
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(s3.keys("").iter().any(|k| k == "notes/todo.txt"));
}
