//! A real S3-compatible server for the tests: moto's S3 server (signatures checked) behind a
//! fault-injecting, request-counting proxy, plus a Range-capable HTTP file server — all on
//! 127.0.0.1, started by `tests/python/s3_harness.py` and stopped when this handle drops.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct S3Server {
    child: Child,
    /// The proxy (what the binary talks to).
    pub endpoint: String,
    /// moto itself (for checks that must not be counted or failed).
    pub direct: String,
    pub control: u16,
    /// Base URL of the HTTP file server.
    pub http: String,
    pub key: String,
    pub secret: String,
    pub bucket: String,
    python: PathBuf,
}

fn truthy(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v == "true")
}

impl S3Server {
    /// Start the harness serving `http_root` over HTTP. Without Python + moto: fails under
    /// `EOPF_REQUIRE_S3=1` (make test), otherwise returns `None` after saying why.
    pub fn start(http_root: &Path) -> Option<Self> {
        match Self::try_start(http_root) {
            Ok(s) => Some(s),
            Err(e) if truthy("EOPF_REQUIRE_S3") => {
                panic!("EOPF_REQUIRE_S3=1 but the S3 test server did not start: {e}")
            }
            Err(e) => {
                eprintln!(
                    "SKIPPED: object-storage test needs the S3 test server (moto in $EOPF_PYTHON; make test installs it): {e}"
                );
                None
            }
        }
    }

    fn try_start(http_root: &Path) -> Result<Self, String> {
        let python = std::env::var_os("EOPF_PYTHON")
            .map(PathBuf::from)
            .ok_or("EOPF_PYTHON is not set")?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/s3_harness.py");
        // stderr to a file: a pipe nobody reads would fill up and block the servers.
        let log_path = http_root.join(".s3-harness.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(http_root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: {e}", python.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!("harness output {line:?}; stderr: {err}"));
            }
        };
        let port = |k: &str| v[k].as_u64().unwrap_or(0);
        Ok(S3Server {
            endpoint: format!("http://127.0.0.1:{}", port("proxy")),
            direct: format!("http://127.0.0.1:{}", port("moto")),
            control: port("control") as u16,
            http: format!("http://127.0.0.1:{}", port("http")),
            key: v["key"].as_str().unwrap_or_default().to_string(),
            secret: v["secret"].as_str().unwrap_or_default().to_string(),
            bucket: v["bucket"].as_str().unwrap_or_default().to_string(),
            child,
            python,
        })
    }

    /// The binary with this server's endpoint and credentials in its environment.
    pub fn cmd(&self) -> Command {
        let mut c = super::bin();
        c.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        c
    }

    /// `s3://bucket/key`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn control_get(&self, path: &str) -> Value {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.control)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("{}");
        serde_json::from_str(body).unwrap()
    }

    /// Fail `rate` of the requests with one of `kinds` (`500`, `503`, `drop`, `slow`).
    pub fn faults(&self, rate: f64, kinds: &str) {
        self.control_get(&format!("/config?rate={rate}&kinds={kinds}&seed=7"));
    }

    /// Request counts since the last reset (`total`, `get`, `put`, `head`, `list`, `ranged`, …).
    pub fn stats(&self) -> Value {
        self.control_get("/stats")
    }

    pub fn reset(&self) {
        self.control_get("/reset");
    }

    /// Download every object below `prefix` into `dest` with boto3 straight from moto (not our
    /// code, not the proxy).
    pub fn download(&self, prefix: &str, dest: &Path) {
        let code = format!(
            r#"
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url={ep:?}, region_name="us-east-1", aws_access_key_id={k:?}, aws_secret_access_key={s:?})
n = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket={b:?}, Prefix={p:?}):
    for o in page.get("Contents", []):
        rel = o["Key"][len({p:?}):]
        out = os.path.join({d:?}, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        s3.download_file({b:?}, o["Key"], out)
        n += 1
print(n)
"#,
            ep = self.direct,
            k = self.key,
            s = self.secret,
            b = self.bucket,
            p = format!("{}/", prefix.trim_end_matches('/')),
            d = dest.display().to_string(),
        );
        let o = Command::new(&self.python)
            .args(["-c", &code])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "download failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Keys below `prefix` (straight from moto).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let code = format!(
            r#"
import boto3, json
s3 = boto3.client("s3", endpoint_url={ep:?}, region_name="us-east-1", aws_access_key_id={k:?}, aws_secret_access_key={s:?})
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket={b:?}, Prefix={p:?}):
    keys += [o["Key"] for o in page.get("Contents", [])]
print(json.dumps(keys))
"#,
            ep = self.direct,
            k = self.key,
            s = self.secret,
            b = self.bucket,
            p = prefix,
        );
        let o = Command::new(&self.python)
            .args(["-c", &code])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file below `dir` by relative path → bytes.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Assert two stores hold the same keys with the same bytes (the journal, which names the input
/// location, aside: it must be there and complete in both).
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (mut ta, mut tb) = (tree(a), tree(b));
    let ja = ta.remove(".eopf-geozarr-journal.json");
    let jb = tb.remove(".eopf-geozarr-journal.json");
    assert_eq!(ja.is_some(), jb.is_some(), "a journal in one store only");
    for j in [ja, jb].into_iter().flatten() {
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(
            v["complete"], true,
            "journal of an unfinished conversion: {v}"
        );
    }
    let ka: Vec<&String> = ta.keys().collect();
    let kb: Vec<&String> = tb.keys().collect();
    assert_eq!(
        ka,
        kb,
        "{} and {} hold different keys",
        a.display(),
        b.display()
    );
    let differ: Vec<&String> = ta.keys().filter(|k| ta[*k] != tb[*k]).collect();
    assert!(
        differ.is_empty(),
        "{} of {} keys differ between {} and {}: {:?}",
        differ.len(),
        ta.len(),
        a.display(),
        b.display(),
        &differ[..differ.len().min(10)]
    );
}
