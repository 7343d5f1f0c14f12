//! Uploading signed reports to the SCS compliance monitor (`POST {monitor}/reports`): the body is
//! the armored signature, `&`, then the report bytes; the content type is exactly
//! `application/x-signed-yaml` or `application/x-signed-json`; Basic auth uses the token file
//! verbatim. Connection errors and 5xx answers are retried with exponential backoff; 409 (the
//! run uuid is already stored) is an outcome of its own, not an error.
//!
//! Only the monitor's documented success answer counts as accepted: HTTP 200 with the JSON body
//! `null`. Redirects are never followed (a 301/302/303 would turn the POST into a GET that
//! stores nothing; a 307/308 would re-send the credentials to another address), and a plain
//! `http://` monitor is refused unless explicitly allowed, since the token travels in the header.

use super::{CertError, read_file};
use crate::retry::{Exhausted, Failure, RetryPolicy};
use std::path::Path;
use std::time::Duration;

/// The monitor the reference runner uploads to by default.
pub const DEFAULT_MONITOR: &str = "https://compliance.sovereignit.cloud/";

/// The content type for a YAML (possibly multi-document) body.
pub const CONTENT_TYPE_YAML: &str = "application/x-signed-yaml";
/// The content type for a JSON (single document) body.
pub const CONTENT_TYPE_JSON: &str = "application/x-signed-json";

/// How to reach the monitor.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Base address of the monitor (with or without trailing slash).
    pub monitor: String,
    /// The Basic-auth token: base64 of `subject:password`, as in the token file.
    pub token: String,
    /// Total attempts (at least 1).
    pub attempts: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// Whether a plain `http://` monitor may be used (`--allow-http`).
    pub allow_http: bool,
}

impl UploadOptions {
    /// Options with the defaults: 4 attempts, 2 s backoff, 120 s per request.
    pub fn new(monitor: &str, token: String) -> Self {
        UploadOptions {
            monitor: monitor.to_string(),
            token,
            attempts: 4,
            backoff: Duration::from_secs(2),
            request_timeout: Duration::from_secs(120),
            allow_http: false,
        }
    }

    /// The retry policy of the upload: [`Self::attempts`] attempts in all, waits from
    /// [`Self::backoff`] doubling; a `Retry-After` is not honoured.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::exponential(self.attempts, self.backoff)
    }

    /// The upload endpoint.
    pub fn endpoint(&self) -> String {
        format!("{}/reports", self.monitor.trim_end_matches('/'))
    }

    /// Checks the monitor address: `https://`, or `http://` only with [`Self::allow_http`].
    pub fn check_monitor(&self) -> Result<(), CertError> {
        let url = self.endpoint();
        let fail = |message: String| CertError::Upload {
            url: url.clone(),
            message,
        };
        let parsed =
            reqwest::Url::parse(&url).map_err(|e| fail(format!("not a valid address ({e})")))?;
        match parsed.scheme() {
            "https" => Ok(()),
            "http" if self.allow_http => Ok(()),
            "http" => Err(fail(
                "refusing a plain http:// monitor: the token and the report would travel \
                 unencrypted; use https:// or pass --allow-http"
                    .into(),
            )),
            other => Err(fail(format!(
                "unsupported scheme {other}:// (expected https://)"
            ))),
        }
    }
}

/// How an upload ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// The monitor stored the reports.
    Accepted,
    /// The monitor already has a report with this run uuid (409); nothing was stored again.
    AlreadyUploaded {
        /// The monitor's answer.
        message: String,
    },
}

/// Reads a token file: its contents, trimmed, must be non-empty.
pub fn read_token(path: &Path) -> Result<String, CertError> {
    let bytes = read_file(path)?;
    let token = String::from_utf8_lossy(&bytes).trim().to_string();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(CertError::Other(format!(
            "{}: expected one base64 token (subject:password), found {}",
            path.display(),
            if token.is_empty() {
                "nothing"
            } else {
                "several words"
            }
        )));
    }
    Ok(token)
}

/// The content type for a report: JSON when it starts with `{` or `[`, YAML otherwise.
pub fn content_type_for(report: &[u8]) -> &'static str {
    let first = report
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace() && *b != 0xef && *b != 0xbb && *b != 0xbf);
    match first {
        Some(b'{') | Some(b'[') => CONTENT_TYPE_JSON,
        _ => CONTENT_TYPE_YAML,
    }
}

/// The request body: the signature (ending with exactly one LF), `&`, the report bytes.
pub fn signed_body(signature: &str, report: &[u8]) -> Vec<u8> {
    let sig = signature.trim_end_matches(['\n', '\r']);
    let mut body = Vec::with_capacity(sig.len() + 2 + report.len());
    body.extend_from_slice(sig.as_bytes());
    body.extend_from_slice(b"\n&");
    body.extend_from_slice(report);
    body
}

/// Posts the signed report; retries connection errors and 5xx answers. `log` receives one line
/// per retry.
pub async fn upload(
    options: &UploadOptions,
    signature: &str,
    report: &[u8],
    log: &(dyn Fn(&str) + Sync),
) -> Result<UploadOutcome, CertError> {
    let url = options.endpoint();
    let fail = |message: String| CertError::Upload {
        url: url.clone(),
        message,
    };
    options.check_monitor()?;
    super::refuse_simulated(report, "the report", "upload")?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(options.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(format!("cannot build HTTP client: {e}")))?;
    let body = signed_body(signature, report);
    let content_type = content_type_for(report);
    let policy = options.retry_policy();
    let attempts = policy.max_attempts.unwrap_or(1);
    let (client, url, body) = (&client, &url, &body);
    let fail = &fail;
    // Each attempt ends in an outcome or a refusal (`Ok`, not retried), or in the reason a
    // retry may help (connection errors, 5xx).
    let attempt = move |_| async move {
        let sent = client
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Basic {}", options.token),
            )
            .body(body.clone())
            .send()
            .await;
        let retry_reason = match sent {
            Err(e) => format!("cannot connect ({})", error_chain(&e)),
            Ok(response) => {
                let status = response.status();
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                let full = response.text().await.unwrap_or_default();
                let text = snippet(&full);
                match status.as_u16() {
                    200 if full.trim() == "null" => return Ok(Ok(UploadOutcome::Accepted)),
                    200..=299 => {
                        if text.contains("empty reports") {
                            return Ok(Err(fail("the monitor found no report in the body".into())));
                        }
                        return Ok(Err(fail(format!(
                            "HTTP {status} without the monitor's success answer (`null`), so the \
                             report is not known to be stored: {}",
                            if text.is_empty() { "empty body" } else { &text }
                        ))));
                    }
                    300..=399 => {
                        return Ok(Err(fail(format!(
                            "HTTP {status}: the monitor redirects{}; not followed (a redirect \
                             drops or re-sends the signed POST); give the final address with --monitor",
                            location.map(|l| format!(" to {l}")).unwrap_or_default()
                        ))));
                    }
                    409 => return Ok(Ok(UploadOutcome::AlreadyUploaded { message: text })),
                    500..=599 => format!("HTTP {status}: {text}"),
                    401 => {
                        return Ok(Err(fail(format!(
                            "HTTP 401 (token wrong, signature not made with a key of the uploading account, or subject not permitted): {text}"
                        ))));
                    }
                    415 => {
                        return Ok(Err(fail(format!(
                            "HTTP 415 (content type {content_type} refused): {text}"
                        ))));
                    }
                    _ => return Ok(Err(fail(format!("HTTP {status}: {text}")))),
                }
            }
        };
        Err(Failure::retryable(retry_reason))
    };
    let retried = policy
        .run(None, attempt, |retry_reason: &String, attempt, delay| {
            log(&format!(
                "upload attempt {attempt} of {attempts} failed: {retry_reason}; retrying in {:.1} s",
                delay.as_secs_f64()
            ))
        })
        .await;
    match retried {
        Ok(done) => done,
        Err(Exhausted {
            error: retry_reason,
            attempts,
        }) => Err(fail(format!(
            "{retry_reason}; gave up after {attempts} attempts"
        ))),
    }
}

/// Signs the report file's bytes with `key` and uploads them (used by `run --upload` and
/// `batch`); the signature is also written next to the report.
pub async fn sign_and_upload(
    key: &ssh_key::PrivateKey,
    report: &Path,
    options: &UploadOptions,
    log: &(dyn Fn(&str) + Sync),
) -> Result<UploadOutcome, CertError> {
    options.check_monitor()?;
    let sig_path = super::sign::sign_file(key, report)?;
    let signature = String::from_utf8_lossy(&read_file(&sig_path)?).into_owned();
    let bytes = read_file(report)?;
    upload(options, &signature, &bytes, log).await
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// The first line of an answer, at most 200 characters.
fn snippet(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_layout_matches_curl_join() {
        let body = signed_body(
            "-----BEGIN SSH SIGNATURE-----\nAA\n-----END SSH SIGNATURE-----\n",
            b"---\na: 1\n",
        );
        assert_eq!(
            body,
            b"-----BEGIN SSH SIGNATURE-----\nAA\n-----END SSH SIGNATURE-----\n&---\na: 1\n"
        );
    }

    #[test]
    fn content_type_follows_the_first_byte() {
        assert_eq!(content_type_for(b"---\n"), CONTENT_TYPE_YAML);
        assert_eq!(content_type_for(b"  {\"a\":1}"), CONTENT_TYPE_JSON);
        assert_eq!(content_type_for(b"[{}]"), CONTENT_TYPE_JSON);
    }

    #[test]
    fn token_file_is_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, "c3Viajpwdw==\n").unwrap();
        assert_eq!(read_token(&p).unwrap(), "c3Viajpwdw==");
        std::fs::write(&p, "\n").unwrap();
        assert!(
            read_token(&p)
                .unwrap_err()
                .to_string()
                .contains("found nothing")
        );
    }

    #[test]
    fn plain_http_needs_allow_http() {
        let mut o = UploadOptions::new("http://x:8080/", "t".into());
        let err = o.check_monitor().unwrap_err().to_string();
        assert!(err.contains("--allow-http"), "{err}");
        o.allow_http = true;
        o.check_monitor().unwrap();
        assert!(
            UploadOptions::new("https://x/", "t".into())
                .check_monitor()
                .is_ok()
        );
        assert!(
            UploadOptions::new("ftp://x/", "t".into())
                .check_monitor()
                .is_err()
        );
    }

    #[test]
    fn endpoint_joins_cleanly() {
        let o = UploadOptions::new("http://x:8080/", "t".into());
        assert_eq!(o.endpoint(), "http://x:8080/reports");
    }
}
