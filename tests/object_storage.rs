//! Object storage against a real S3-compatible server (moto, signatures checked) on 127.0.0.1,
//! behind a fault-injecting proxy, plus a real HTTP file server for `http(s)://` reads. The
//! harness is started by each test; under `make test` (EOPF_REQUIRE_S3=1) a harness that cannot
//! start is a failure.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::s3::{S3Server, assert_same_tree};
use common::{stderr, stdout};

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed:\nstdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

/// A 1/10-size demo L2A (1098² at r10m) and its local conversion (sharded, geozarr profile).
fn local_pair(dir: &Path) {
    ok(
        &common::run(&["demo", dir.join("in.zarr").to_str().unwrap()]),
        "demo",
    );
    ok(
        &common::run(&[
            "convert-s2-optimized",
            dir.join("in.zarr").to_str().unwrap(),
            dir.join("local_out.zarr").to_str().unwrap(),
            "--enable-sharding",
            "--skip-validation",
        ]),
        "local conversion",
    );
}

fn n(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

#[test]
fn s3_and_https_conversions_equal_the_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3Server::start(dir.path()) else {
        return;
    };
    local_pair(dir.path());
    let input = dir.path().join("in.zarr");
    let local_out = dir.path().join("local_out.zarr");

    // The demo written straight to S3 is the local demo, object for object.
    ok(
        &s3.cmd()
            .args(["demo", &s3.url("in.zarr")])
            .output()
            .unwrap(),
        "demo to S3",
    );
    let dl = dir.path().join("dl_in");
    s3.download("in.zarr", &dl);
    assert_same_tree(&input, &dl);

    // local → S3
    s3.reset();
    let t = Instant::now();
    let o = s3
        .cmd()
        .args(["-v", "convert-s2-optimized", input.to_str().unwrap()])
        .args([&s3.url("out.zarr"), "--enable-sharding"])
        .output()
        .unwrap();
    ok(&o, "local → S3 conversion");
    let stats = s3.stats();
    eprintln!(
        "local → S3: {:.2} s, requests at the server: {stats}",
        t.elapsed().as_secs_f64()
    );
    assert!(
        stdout(&o).contains("validation: 0 error(s)"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("object storage:"), "{}", stderr(&o));
    assert_eq!(n(&stats, "head"), 0, "partial reads need no HEAD: {stats}");
    let dl = dir.path().join("dl_out");
    s3.download("out.zarr", &dl);
    assert_same_tree(&local_out, &dl);
    assert!(
        s3.keys("out.zarr/")
            .iter()
            .any(|k| k.ends_with(".eopf-geozarr-journal.json")),
        "the journal of a finished conversion records it as complete"
    );

    // S3 → S3
    ok(
        &s3.cmd()
            .args([
                "convert-s2-optimized",
                &s3.url("in.zarr"),
                &s3.url("out2.zarr"),
            ])
            .args(["--enable-sharding", "--skip-validation"])
            .output()
            .unwrap(),
        "S3 → S3 conversion",
    );
    let dl2 = dir.path().join("dl_out2");
    s3.download("out2.zarr", &dl2);
    assert_same_tree(&local_out, &dl2);

    // info on the S3 GeoZarr: a small, bounded number of requests.
    s3.reset();
    let o = s3
        .cmd()
        .args(["info", "--json", &s3.url("out.zarr")])
        .output()
        .unwrap();
    ok(&o, "info on S3");
    let stats = s3.stats();
    eprintln!("info on s3://…/out.zarr: {stats}");
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["crs"], "EPSG:32632", "{info}");
    assert!(
        n(&stats, "total") <= 4,
        "info issued {} requests (expected ≤ 4: bucket check, root zarr.json, coordinates): {stats}",
        n(&stats, "total")
    );
    // validate on S3
    let o = s3
        .cmd()
        .args(["validate", &s3.url("out.zarr")])
        .output()
        .unwrap();
    ok(&o, "validate on S3");
    assert!(stdout(&o).contains("0 error(s)"), "{}", stdout(&o));

    // https:// (here http:// on loopback) reads: info and a conversion from a URL.
    let url = format!("{}/local_out.zarr", s3.http);
    let o = common::run(&["info", "--json", &url]);
    ok(&o, "info over HTTP");
    let info_http: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info_http["crs"], info["crs"]);
    assert_eq!(info_http["native_bbox"], info["native_bbox"]);
    let http_out = dir.path().join("http_out.zarr");
    ok(
        &common::run(&[
            "convert-s2-optimized",
            &format!("{}/in.zarr", s3.http),
            http_out.to_str().unwrap(),
            "--enable-sharding",
            "--skip-validation",
        ]),
        "HTTP → local conversion",
    );
    assert_same_tree(&local_out, &http_out);
    // HTTP is read-only, and a missing URL is a clear error.
    let o = common::run(&[
        "convert-s2-optimized",
        input.to_str().unwrap(),
        &format!("{}/new.zarr", s3.http),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    let o = common::run(&["info", &format!("{}/missing.zarr", s3.http)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a Zarr store"), "{}", stderr(&o));
}

#[test]
fn bad_credentials_bucket_or_endpoint_fail_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3Server::start(dir.path()) else {
        return;
    };
    ok(
        &common::run(&["demo", dir.path().join("in.zarr").to_str().unwrap()]),
        "demo",
    );
    let input = dir.path().join("in.zarr");
    let input = input.to_str().unwrap();
    let secret = "wrong-secret-value-0123456789";
    let cases: Vec<(&str, std::process::Command, &str)> = vec![
        (
            "wrong credentials",
            {
                let mut c = s3.cmd();
                c.env("AWS_SECRET_ACCESS_KEY", secret).args([
                    "-vv",
                    "convert-s2-optimized",
                    input,
                    &s3.url("bad.zarr"),
                ]);
                c
            },
            "credentials were refused",
        ),
        (
            "missing bucket",
            {
                let mut c = s3.cmd();
                c.args([
                    "convert-s2-optimized",
                    input,
                    "s3://no-such-bucket-here/out.zarr",
                ]);
                c
            },
            "bucket does not exist",
        ),
        (
            "unreachable endpoint",
            {
                let mut c = s3.cmd();
                c.args([
                    "--s3-endpoint",
                    "http://127.0.0.1:9",
                    "convert-s2-optimized",
                    input,
                    &s3.url("unreachable.zarr"),
                ]);
                c
            },
            "cannot be reached",
        ),
        (
            "wrong credentials (input)",
            {
                let mut c = s3.cmd();
                c.env("AWS_SECRET_ACCESS_KEY", secret)
                    .args(["info", &s3.url("in.zarr")]);
                c
            },
            "credentials were refused",
        ),
    ];
    for (what, mut cmd, expected) in cases {
        let t = Instant::now();
        let o = cmd.output().unwrap();
        let took = t.elapsed();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{what}: one error line: {err}");
        assert!(
            errors[0].starts_with("error: s3://"),
            "{what}: names the path: {err}"
        );
        assert!(errors[0].contains(expected), "{what}: {err}");
        assert!(
            !err.contains(secret) && !stdout(&o).contains(secret),
            "{what}: the secret leaked: {err}"
        );
        assert!(
            !stdout(&o).contains("writing"),
            "{what}: work started: {}",
            stdout(&o)
        );
        assert!(took < Duration::from_secs(60), "{what}: took {took:?}");
        eprintln!("{what}: {:.2} s: {}", took.as_secs_f64(), err.trim());
    }
    assert!(s3.keys("").iter().all(|k| !k.starts_with("bad.zarr")));
    assert!(
        s3.keys("")
            .iter()
            .all(|k| !k.starts_with("unreachable.zarr"))
    );
}

#[test]
fn faults_are_retried_and_killed_uploads_resume() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3Server::start(dir.path()) else {
        return;
    };
    local_pair(dir.path());
    let input = dir.path().join("in.zarr");
    let input = input.to_str().unwrap();
    let local_out = dir.path().join("local_out.zarr");
    let convert = |key: &str, extra: &[&str]| {
        let mut c = s3.cmd();
        c.args([
            "convert-s2-optimized",
            input,
            &s3.url(key),
            "--enable-sharding",
        ])
        .args(extra);
        c
    };

    // 10 % of the requests fail (500, 503, dropped connection, slow answer): same output.
    s3.reset();
    s3.faults(0.1, "500,503,drop,slow");
    let o = convert("f10.zarr", &["--max-retries", "10"])
        .output()
        .unwrap();
    let stats = s3.stats();
    s3.faults(0.0, "500");
    ok(&o, "conversion with 10 % faults");
    eprintln!("10 % faults: {stats}");
    let injected: u64 = ["fault_500", "fault_503", "fault_drop", "fault_slow"]
        .iter()
        .map(|k| n(&stats, k))
        .sum();
    assert!(injected >= 20, "faults were injected: {stats}");
    let dl = dir.path().join("dl_f10");
    s3.download("f10.zarr", &dl);
    assert_same_tree(&local_out, &dl);

    // Every request fails: a clear error after the retries, nothing that validates.
    s3.faults(1.0, "500,503");
    let t = Instant::now();
    let o = convert("fail.zarr", &["--max-retries", "2"])
        .output()
        .unwrap();
    s3.faults(0.0, "500");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("error: s3://") && err.contains("50"), "{err}");
    eprintln!(
        "all failing: {:.2} s: {}",
        t.elapsed().as_secs_f64(),
        err.trim()
    );
    let o = s3
        .cmd()
        .args(["validate", &s3.url("fail.zarr")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));

    // Killed with SIGKILL at three moments (slow answers stretch the upload) — just started
    // (the journal only), mid-upload, during the metadata — then --resume: identical output.
    type Moment<'a> = Box<dyn Fn(u64, &[String]) -> bool + 'a>;
    let moments: Vec<(&str, Moment)> = vec![
        (
            "early",
            Box::new(|_, keys: &[String]| {
                keys.iter()
                    .any(|k| k.ends_with(".eopf-geozarr-journal.json"))
            }),
        ),
        ("mid-upload", Box::new(|puts, _: &[String]| puts >= 120)),
        (
            "during the metadata",
            Box::new(|_, keys: &[String]| keys.iter().any(|k| k.ends_with("/b02/zarr.json"))),
        ),
    ];
    for (what, moment) in &moments {
        let key = format!("killed-{}.zarr", what.replace(' ', "-"));
        s3.reset();
        s3.faults(0.3, "slow");
        let mut child = convert(&key, &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        loop {
            let puts = n(&s3.stats(), "put");
            let keys = s3.keys(&format!("{key}/"));
            if moment(puts, &keys) || t.elapsed() > Duration::from_secs(120) {
                eprintln!("{what}: killing after {puts} PUTs, {} keys", keys.len());
                break;
            }
            if child.try_wait().unwrap().is_some() {
                panic!("{what}: the conversion finished before it could be killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        s3.faults(0.0, "slow");
        // Interrupted: not a finished store.
        let o = s3.cmd().args(["validate", &s3.url(&key)]).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stdout(&o));
        s3.reset();
        let o = convert(&key, &["--resume"]).output().unwrap();
        ok(&o, "resumed conversion");
        eprintln!("{what}: resumed: {} — {}", s3.stats(), stderr(&o).trim());
        let dl = dir.path().join(format!("dl_{key}"));
        s3.download(&key, &dl);
        assert_same_tree(&local_out, &dl);
    }
}

/// The object-store layer itself: multipart uploads, merged byte ranges, the shard-index and
/// metadata caches, and request counts that agree with the server's.
#[test]
fn multipart_uploads_merged_ranges_and_caches() {
    use eopf_geozarr::storage::{Location, S3Config, open_object, set_s3_config};
    use zarrs::storage::byte_range::ByteRange;
    use zarrs::storage::{ReadableStorageTraits, StoreKey, WritableStorageTraits};

    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3Server::start(dir.path()) else {
        return;
    };
    set_s3_config(S3Config {
        endpoint: Some(s3.endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: Some(s3.key.clone()),
        secret_access_key: Some(s3.secret.clone()),
        max_retries: 3,
        max_concurrency: 4,
        multipart_threshold: 5 << 20,
        ..Default::default()
    });
    let store = open_object(&Location::parse(&s3.url("raw")).unwrap()).unwrap();
    let big: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let k_big = StoreKey::new("big/c/0").unwrap();
    let k_meta = StoreKey::new("big/zarr.json").unwrap();
    s3.reset();
    store.set(&k_big, big.clone().into()).unwrap();
    // A metadata document waits for the data before it.
    store
        .set(&k_meta, b"{\"zarr_format\": 3}".to_vec().into())
        .unwrap();
    store.barrier().unwrap();
    let stats = s3.stats();
    assert_eq!(n(&stats, "multipart_create"), 1, "{stats}");
    assert_eq!(n(&stats, "put_part"), 3, "12 MiB in 5 MiB parts: {stats}");
    assert_eq!(n(&stats, "multipart_complete"), 1, "{stats}");
    assert_eq!(n(&stats, "put"), 1, "{stats}");

    s3.reset();
    assert_eq!(store.get(&k_big).unwrap().unwrap().as_ref(), &big[..]);
    // Three close ranges: one request.
    let parts = store
        .get_partial_many(
            &k_big,
            Box::new(
                [
                    ByteRange::FromStart(0, Some(100)),
                    ByteRange::FromStart(5000, Some(10)),
                    ByteRange::FromStart(100, Some(50)),
                ]
                .into_iter(),
            ),
        )
        .unwrap()
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    assert_eq!(parts[0].as_ref(), &big[0..100]);
    assert_eq!(parts[1].as_ref(), &big[5000..5010]);
    assert_eq!(parts[2].as_ref(), &big[100..150]);
    // A shard index (suffix) read twice: fetched once.
    for _ in 0..2 {
        let tail = store
            .get_partial(&k_big, ByteRange::Suffix(16))
            .unwrap()
            .unwrap();
        assert_eq!(tail.as_ref(), &big[big.len() - 16..]);
    }
    // Metadata read twice: fetched once; a missing key is None.
    for _ in 0..2 {
        assert!(store.get(&k_meta).unwrap().is_some());
    }
    assert!(
        store
            .get(&StoreKey::new("nothing/here").unwrap())
            .unwrap()
            .is_none()
    );
    let stats = s3.stats();
    assert_eq!(
        n(&stats, "get"),
        5,
        "full get, one merged range, one suffix, one metadata, one missing: {stats}"
    );
    assert_eq!(n(&stats, "ranged"), 2, "{stats}");
    assert_eq!(n(&stats, "head"), 0, "{stats}");
    let ours = eopf_geozarr::storage::request_counts();
    assert!(ours.total() >= n(&stats, "total"), "{ours} vs {stats}");

    // The reference's helpers on S3.
    use eopf_geozarr::storage as st;
    assert_eq!(st::validate_s3_access(&s3.url("raw")), (true, None));
    let (ok_, why) = st::validate_s3_access("s3://no-such-bucket-x/k");
    assert!(!ok_ && why.unwrap().contains("does not exist"));
    let doc = serde_json::json!({"a": 1, "b": [1.5, "x"]});
    st::write_json_metadata(&s3.url("json/meta.json"), &doc).unwrap();
    assert_eq!(
        st::read_json_metadata(&s3.url("json/meta.json")).unwrap(),
        doc
    );
    assert!(st::s3_path_exists(&s3.url("json/meta.json")).unwrap());
    assert!(st::s3_path_exists(&s3.url("json")).unwrap());
    assert!(!st::s3_path_exists(&s3.url("nothing.zarr")).unwrap());
    assert!(st::s3_path_exists("/local/path").is_err());
    // consolidate_metadata on an S3 group: children through explicit groups only.
    let group = serde_json::json!({"zarr_format": 3, "node_type": "group", "attributes": {}});
    for k in ["g/zarr.json", "g/sub/zarr.json", "g/implicit/a/zarr.json"] {
        st::write_json_metadata(&s3.url(k), &group).unwrap();
    }
    st::consolidate_metadata(Path::new(&s3.url("g")), "/").unwrap();
    let root = st::read_json_metadata(&s3.url("g/zarr.json")).unwrap();
    let keys: Vec<&String> = root["consolidated_metadata"]["metadata"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["sub"]);
}
