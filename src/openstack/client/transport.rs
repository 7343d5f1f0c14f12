//! Sending one request: per-attempt timeouts cut at the work's [`Budget`](super::Budget), retries
//! with backoff and `Retry-After` under the crate's one [`RetryPolicy`](crate::retry::RetryPolicy)
//! (see `ClientOptions::retry_policy`; which failures are retried is decided here), bounded
//! bodies, request counting, and turning failures into
//! [`OpenStackError`]s (transport, timeout, HTTP status with the API's own message, undecodable
//! answers).

use super::{Budget, Client, ClientOptions, bump, split_url};
use crate::openstack::OpenStackError;
use crate::openstack::secret::Secret;
use crate::retry::parse_retry_after;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A raw answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A transport error as one line: what failed, then the causes (without the URL, which the
/// caller names already).
pub(super) fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut msg = String::from(if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "error reading the answer"
    } else if e.is_request() {
        "error sending the request"
    } else {
        "request failed"
    });
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// The API's own message from an error body (Nova/Cinder `{"itemNotFound": {"message"}}`,
/// Keystone `{"error": {"message"}}`, Neutron `{"NeutronError": {"message"}}`, Barbican
/// `{"description"}`), else the first line of a text body.
pub fn api_error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        fn find(v: &Value, depth: u32) -> Option<String> {
            let obj = v.as_object()?;
            for key in ["message", "description", "faultstring", "detail", "title"] {
                if let Some(Value::String(s)) = obj.get(key)
                    && !s.is_empty()
                {
                    return Some(s.clone());
                }
            }
            if depth == 0 {
                return None;
            }
            obj.values().find_map(|v| find(v, depth - 1))
        }
        if let Some(m) = find(&v, 2) {
            return m;
        }
    }
    let text = String::from_utf8_lossy(body);
    let tag = |name: &str| -> Option<String> {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].trim().to_string())
    };
    if let Some(code) = tag("Code") {
        // S3-style XML error
        return match tag("Message") {
            Some(m) if !m.is_empty() => format!("{code}: {m}"),
            _ => code,
        };
    }
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('<'))
        .collect::<Vec<_>>()
        .join(" ");
    line.chars().take(300).collect()
}

pub(super) struct SendArgs<'a> {
    pub(super) service: &'a str,
    pub(super) method: Method,
    pub(super) url: &'a str,
    pub(super) body: Option<&'a Value>,
    pub(super) headers: &'a [(&'a str, &'a str)],
    pub(super) idempotent: bool,
    pub(super) token: Option<&'a Secret>,
}

/// Why one attempt failed before a status arrived.
enum AttemptError {
    Http(reqwest::Error),
    /// The body is larger than `max_body`.
    TooLarge,
}

impl From<reqwest::Error> for AttemptError {
    fn from(e: reqwest::Error) -> Self {
        AttemptError::Http(e)
    }
}

pub(super) async fn send_with_retries(
    http: &reqwest::Client,
    options: &ClientOptions,
    counts: &Mutex<BTreeMap<String, u64>>,
    a: SendArgs<'_>,
) -> Result<RawResponse, OpenStackError> {
    let path = split_url(a.url);
    let budget = Budget::current();
    let method = a.method.to_string();
    budget
        .guard(a.service, &method, &path, async {
            // On the heap: a request's attempts (the HTTP exchange, the body, the retry waits)
            // are a large future that every caller's future would otherwise hold inline; a
            // probe's whole future then comes close to the 2 MiB stack of a test thread in
            // debug builds.
            Box::pin(send_attempts(http, options, counts, &a, &path, &budget)).await
        })
        .await
}

async fn send_attempts(
    http: &reqwest::Client,
    options: &ClientOptions,
    counts: &Mutex<BTreeMap<String, u64>>,
    a: &SendArgs<'_>,
    path: &str,
    budget: &Budget,
) -> Result<RawResponse, OpenStackError> {
    let path = path.to_string();
    let mut retries = options.retry_policy().start_until(budget.deadline);
    loop {
        let attempt = retries.begin();
        bump(counts, a.service);
        // Each attempt ends by the per-request timeout or the work's deadline, whichever first.
        let timeout = match budget.remaining() {
            Some(left) => options.timeout.min(left.max(Duration::from_millis(1))),
            None => options.timeout,
        };
        let mut req = http
            .request(a.method.clone(), a.url)
            .timeout(timeout)
            .header("Accept", "application/json");
        if let Some(t) = a.token
            && let Ok(mut v) = HeaderValue::from_str(t.expose())
        {
            v.set_sensitive(true);
            req = req.header("X-Auth-Token", v);
        }
        for (k, v) in a.headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = a.body {
            req = req.json(b);
        }
        let result = async {
            let mut resp = req.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            if resp
                .content_length()
                .is_some_and(|n| n > options.max_body as u64)
            {
                return Err(AttemptError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                if body.len() + chunk.len() > options.max_body {
                    return Err(AttemptError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, AttemptError>(RawResponse {
                status,
                headers,
                body,
            })
        }
        .await;
        match result {
            Err(AttemptError::TooLarge) => {
                return Err(OpenStackError::Decode {
                    service: a.service.into(),
                    method: a.method.to_string(),
                    path,
                    message: format!(
                        "answer larger than the limit of {}",
                        human_size(options.max_body)
                    ),
                });
            }
            Err(AttemptError::Http(e)) => {
                // The policy says whether a retry is left and its wait ends within the budget.
                if a.idempotent
                    && let Some(wait) = retries.next_wait(None)
                {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(if e.is_timeout() {
                    OpenStackError::Timeout {
                        service: a.service.into(),
                        method: a.method.to_string(),
                        path,
                        seconds: timeout.as_secs_f64(),
                        attempts: attempt,
                    }
                } else {
                    OpenStackError::Transport {
                        service: a.service.into(),
                        method: a.method.to_string(),
                        path,
                        message: error_chain(&e),
                        attempts: attempt,
                    }
                });
            }
            Ok(resp) if resp.status < 400 => return Ok(resp),
            Ok(resp) => {
                let retryable = resp.status == 429 || resp.status >= 500;
                let asked = resp
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                if retryable
                    && (a.idempotent || resp.status == 429)
                    && let Some(wait) = retries.next_wait(asked)
                {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let mut message = api_error_message(&resp.body);
                if attempt > 1 {
                    message = format!("{message} (after {attempt} attempts)");
                }
                return Err(OpenStackError::Http {
                    service: a.service.into(),
                    method: a.method.to_string(),
                    path,
                    status: resp.status,
                    message: message.trim_start_matches(": ").to_string(),
                });
            }
        }
    }
}

/// `64 MiB`, `512 KiB`, `100 bytes`.
fn human_size(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// The answer's content type when it names something other than JSON ([`decode_json`] refuses
/// such an answer whatever its body).
pub(super) fn non_json_content_type(resp: &RawResponse) -> Option<&str> {
    resp.headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|ct| !ct.to_ascii_lowercase().contains("json"))
}

pub(super) fn decode_json(
    service: &str,
    method: &str,
    path: &str,
    resp: &RawResponse,
) -> Result<Value, OpenStackError> {
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let err = |message: String| OpenStackError::Decode {
        service: service.into(),
        method: method.into(),
        path: path.into(),
        message,
    };
    if let Some(ct) = non_json_content_type(resp) {
        return Err(err(format!(
            "expected a JSON answer, got content type \"{ct}\" (HTTP {})",
            resp.status
        )));
    }
    serde_json::from_slice(&resp.body).map_err(|e| {
        err(format!(
            "answer is not valid JSON (HTTP {}): {e}",
            resp.status
        ))
    })
}

impl Client {
    /// Sends one request to an absolute URL (with the token when `with_token`), retrying as
    /// described for [`Client::request`]. Used for endpoints outside the catalog's APIs, e.g.
    /// an S3 `ListBuckets`.
    #[allow(clippy::too_many_arguments)]
    pub async fn send(
        &self,
        service: &str,
        method: Method,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        idempotent: bool,
        with_token: bool,
    ) -> Result<RawResponse, OpenStackError> {
        let mut current = with_token.then(|| self.current());
        // Renew a token about to expire before using it.
        if let Some(c) = &current
            && c.renew_at.is_some_and(|at| Instant::now() >= at)
            && self.can_renew()
        {
            self.renew(c.generation).await?;
            current = Some(self.current());
        }
        let attempt = |token: Option<Secret>| {
            let method = method.clone();
            async move {
                send_with_retries(
                    &self.inner.http,
                    &self.inner.options,
                    &self.inner.counts,
                    SendArgs {
                        service,
                        method,
                        url,
                        body,
                        headers,
                        idempotent,
                        token: token.as_ref(),
                    },
                )
                .await
            }
        };
        let result = attempt(current.as_ref().map(|c| c.value.clone())).await;
        match (&result, &current) {
            // A 401 with our token: renew (once) and try once more with the new token.
            (Err(OpenStackError::Http { status: 401, .. }), Some(c)) if self.can_renew() => {
                self.renew(c.generation).await?;
                attempt(Some(self.current().value)).await
            }
            _ => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_from_bodies() {
        assert_eq!(
            api_error_message(
                br#"{"itemNotFound": {"code": 404, "message": "Flavor x could not be found."}}"#
            ),
            "Flavor x could not be found."
        );
        assert_eq!(
            api_error_message(
                br#"{"NeutronError": {"type": "X", "message": "nope", "detail": ""}}"#
            ),
            "nope"
        );
        assert_eq!(
            api_error_message(
                b"<html><body>\n404 Not Found\n\nThe resource could not be found.\n</body></html>"
            ),
            "404 Not Found The resource could not be found."
        );
    }
}
