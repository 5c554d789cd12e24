//! Object-storage settings: the reference's environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION` — default `us-east-1` —,
//! `AWS_ENDPOINT_URL`, `AWS_PROFILE`), overridable by the CLI flags `--s3-endpoint`,
//! `--s3-region`, `--s3-anonymous`; one process-wide setting the CLI and the app share; and the
//! masking of secrets in every message.

use std::sync::{OnceLock, RwLock};

use serde_json::{Value, json};

use crate::env::var as env;

/// Default region, as the reference.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Uploads in flight at once per store, by default (`EOPF_S3_CONCURRENCY` in the CLI).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Values larger than this are uploaded in parts, by default (`EOPF_S3_MULTIPART_MB` in the CLI).
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 16 << 20;

/// How to reach S3 (and HTTP) stores.
#[derive(Clone, Default)]
pub struct S3Config {
    /// Custom endpoint (`AWS_ENDPOINT_URL`, `--s3-endpoint`), e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// Region (`AWS_DEFAULT_REGION`, then `AWS_REGION`, `--s3-region`; default `us-east-1`).
    pub region: String,
    /// Unsigned requests (`--s3-anonymous`): public buckets.
    pub anonymous: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// `AWS_PROFILE`: keys read from the shared credentials file when none are in the environment.
    pub profile: Option<String>,
    /// Attempts after the first for a failed request (`--max-retries`; 3 by default).
    pub max_retries: u32,
    /// Uploads in flight at once per store.
    pub max_concurrency: usize,
    /// Values larger than this are uploaded in parts (multipart upload).
    pub multipart_threshold: usize,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("anonymous", &self.anonymous)
            .field(
                "access_key_id",
                &self.access_key_id.as_deref().map(mask_key),
            )
            .field("secret_access_key", &m(&self.secret_access_key))
            .field("session_token", &m(&self.session_token))
            .field("profile", &self.profile)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

impl S3Config {
    /// Settings from the environment, as the reference reads them; `AWS_PROFILE` (or `default`)
    /// fills in keys from `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) when the
    /// environment has none.
    pub fn from_env() -> Self {
        let mut c = S3Config {
            endpoint: env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT_URL_S3")),
            region: env("AWS_DEFAULT_REGION")
                .or_else(|| env("AWS_REGION"))
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
            anonymous: false,
            access_key_id: env("AWS_ACCESS_KEY_ID"),
            secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
            session_token: env("AWS_SESSION_TOKEN"),
            profile: env("AWS_PROFILE"),
            max_retries: 3,
            max_concurrency: DEFAULT_CONCURRENCY,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
        };
        if c.access_key_id.is_none() {
            let profile = c.profile.clone().unwrap_or_else(|| "default".into());
            if let Some(keys) = profile_keys(&profile) {
                c.access_key_id = keys.0;
                c.secret_access_key = keys.1;
                c.session_token = keys.2;
            }
        }
        c
    }

    /// Whether requests are signed (keys known and not anonymous).
    pub fn signed(&self) -> bool {
        !self.anonymous && self.access_key_id.is_some() && self.secret_access_key.is_some()
    }

    /// The reference's `get_s3_storage_options`: `{anon, use_ssl, client_kwargs: {region_name}}`,
    /// plus `endpoint_url` (top level and in `client_kwargs`) when an endpoint is set.
    pub fn storage_options(&self) -> Value {
        let mut v = json!({
            "anon": self.anonymous,
            "use_ssl": true,
            "client_kwargs": {"region_name": self.region},
        });
        if let Some(e) = &self.endpoint {
            v["endpoint_url"] = json!(e);
            v["client_kwargs"]["endpoint_url"] = json!(e);
        }
        v
    }

    /// The reference's `get_s3_credentials_info`: what is configured, secrets as `***`.
    pub fn credentials_info(&self) -> Value {
        let m = |s: &Option<String>| s.as_ref().map(|_| "***");
        json!({
            "aws_access_key_id": self.access_key_id.as_deref().map(mask_key),
            "aws_secret_access_key": m(&self.secret_access_key),
            "aws_session_token": m(&self.session_token),
            "aws_default_region": self.region,
            "aws_profile": self.profile,
            "aws_endpoint_url": self.endpoint,
            "anonymous": self.anonymous,
        })
    }
}

/// An access key shown as its first four characters and `***`.
pub fn mask_key(k: &str) -> String {
    format!("{}***", k.chars().take(4).collect::<String>())
}

/// Keys of `profile` in the shared credentials file, if any.
fn profile_keys(profile: &str) -> Option<(Option<String>, Option<String>, Option<String>)> {
    let file = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| std::path::PathBuf::from(h).join(".aws/credentials")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let mut section = String::new();
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.trim().to_string();
        } else if section == profile
            && let Some((k, v)) = line.split_once('=')
        {
            let v = Some(v.trim().to_string());
            match k.trim() {
                "aws_access_key_id" => id = v,
                "aws_secret_access_key" => secret = v,
                "aws_session_token" => token = v,
                _ => {}
            }
        }
    }
    id.is_some().then_some((id, secret, token))
}

fn global() -> &'static RwLock<Option<S3Config>> {
    static G: OnceLock<RwLock<Option<S3Config>>> = OnceLock::new();
    G.get_or_init(|| RwLock::new(None))
}

/// The settings every store opened from now on uses (the CLI sets them from its flags).
pub fn set_s3_config(c: S3Config) {
    register_secrets(&c);
    if let Ok(mut g) = global().write() {
        *g = Some(c);
    }
}

/// The current settings: those set by [`set_s3_config`], else the environment's.
pub fn s3_config() -> S3Config {
    if let Ok(g) = global().read()
        && let Some(c) = g.as_ref()
    {
        return c.clone();
    }
    let c = S3Config::from_env();
    register_secrets(&c);
    c
}

fn secrets() -> &'static RwLock<Vec<String>> {
    static S: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    S.get_or_init(|| RwLock::new(Vec::new()))
}

fn register_secrets(c: &S3Config) {
    if let Ok(mut s) = secrets().write() {
        for v in [&c.secret_access_key, &c.session_token]
            .into_iter()
            .flatten()
        {
            if v.len() >= 4 && !s.contains(v) {
                s.push(v.clone());
            }
        }
    }
}

/// `text` with every configured secret (secret key, session token) replaced by `***`. Applied to
/// every log line and error message the CLI prints.
pub fn mask_secrets(text: &str) -> String {
    let mut out = text.to_string();
    if let Ok(s) = secrets().read() {
        for v in s.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
    }
    out
}

/// A writer for log output that masks secrets (see [`mask_secrets`]).
pub struct MaskingWriter<W: std::io::Write>(pub W);

impl<W: std::io::Write> std::io::Write for MaskingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(mask_secrets(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_info_mask_secrets() {
        let c = S3Config {
            access_key_id: Some("AKIAEXAMPLEKEY".into()),
            secret_access_key: Some("very-secret-value".into()),
            session_token: Some("token-value-xyz".into()),
            region: DEFAULT_REGION.into(),
            ..Default::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("very-secret-value") && !d.contains("token-value-xyz"));
        assert!(d.contains("AKIA***"));
        let i = c.credentials_info().to_string();
        assert!(!i.contains("very-secret-value") && i.contains("\"***\""));
        register_secrets(&c);
        assert_eq!(
            mask_secrets("signature for very-secret-value failed"),
            "signature for *** failed"
        );
    }

    #[test]
    fn storage_options_as_the_reference() {
        let mut c = S3Config {
            region: DEFAULT_REGION.into(),
            ..Default::default()
        };
        assert_eq!(
            c.storage_options(),
            json!({"anon": false, "use_ssl": true, "client_kwargs": {"region_name": "us-east-1"}})
        );
        c.endpoint = Some("https://s3.example.org".into());
        assert_eq!(
            c.storage_options()["client_kwargs"]["endpoint_url"],
            "https://s3.example.org"
        );
        assert_eq!(
            c.storage_options()["endpoint_url"],
            "https://s3.example.org"
        );
    }
}
