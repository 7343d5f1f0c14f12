//! Fault injection: the fixture's `faults` applied to a request before it is served (delays,
//! injected errors, resets, huge or HTML bodies, expired tokens) and to the answer after it
//! (wrong content type, truncated JSON, looping or endless `next` links).

use super::SimState;
use super::pipeline::Req;
use super::respond::{error, reason, set_header};
use crate::sim::fixture::FaultKind;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What the faults matching a request leave to do once it has been served.
pub(super) struct Pending {
    /// The kinds that change the answer, in the fixture's order.
    pub(super) after: Vec<FaultKind>,
    /// How long the faults' delays slept (not counted as the simulator's work).
    pub(super) delayed: Duration,
}

/// Applies the faults that match `r` (by service, method and `api` path) in the fixture's
/// order: sleeps their delays, counts their hits, and returns the injected answer of the first
/// one that replaces the service's answer; otherwise what is left to do after serving.
pub(super) async fn before(
    state: &SimState,
    r: &mut Req,
    method: &Method,
    api: &str,
) -> Result<Pending, Response> {
    let service = r.service;
    let mut delayed = Duration::ZERO;
    let mut post: Vec<FaultKind> = vec![];
    for (i, f) in state.fixture.faults.iter().enumerate() {
        if f.service != "*" && f.service != service {
            continue;
        }
        if let Some(m) = &f.method
            && !m.eq_ignore_ascii_case(method.as_str())
        {
            continue;
        }
        if let Some(p) = &f.path
            && !api.starts_with(p.as_str())
        {
            continue;
        }
        let n = state.fault_hits[i].fetch_add(1, Ordering::SeqCst);
        if n < f.skip {
            continue;
        }
        if let Some(t) = f.times
            && n - f.skip >= t
        {
            continue;
        }
        if f.delay_ms > 0 {
            let sleeping = Instant::now();
            sleep_precisely(Duration::from_millis(f.delay_ms)).await;
            delayed += sleeping.elapsed();
        }
        match f.kind {
            FaultKind::Latency => {}
            FaultKind::Status => {
                let s = f.status.unwrap_or(500);
                let mut resp = error(service, s, "Injected fault: the server could not answer.");
                if let Some(ra) = &f.retry_after {
                    set_header(&mut resp, "Retry-After", ra);
                }
                return Err(resp);
            }
            FaultKind::RateLimit => {
                let mut resp = error(service, 429, "Rate limit exceeded, retry later.");
                set_header(
                    &mut resp,
                    "Retry-After",
                    f.retry_after.as_deref().unwrap_or("0"),
                );
                return Err(resp);
            }
            FaultKind::Timeout => {
                tokio::select! {
                    _ = state.cancel.cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                }
                return Err(error(service, 504, "Gateway Timeout"));
            }
            FaultKind::MalformedJson => {
                return Err(Response::builder()
                    .status(200)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{\"truncated\": [1, 2,"))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()));
            }
            FaultKind::Reset => return Err(reset()),
            FaultKind::Html => {
                let s = f.status.unwrap_or(200);
                return Err(Response::builder()
                    .status(s)
                    .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
                    .body(Body::from(format!(
                        "<!DOCTYPE html>\n<html><head><title>{s} {r}</title></head>\n<body><h1>{r}</h1>\n\
                         <p>The proxy could not reach the service. Please try again later.</p>\n</body></html>\n",
                        r = reason(s)
                    )))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()));
            }
            FaultKind::HugeBody => return Err(huge_body(state, f.bytes)),
            FaultKind::TokenExpiry => {
                if let Some(t) = r.headers.get("x-auth-token").and_then(|v| v.to_str().ok())
                    && let Ok(mut tokens) = state.tokens.lock()
                {
                    tokens.remove(t);
                }
                return Err(error(
                    service,
                    401,
                    "The request you have made requires authentication.",
                ));
            }
            FaultKind::EndlessNext => {
                // Markers of earlier endless pages are ours: serve the first page again.
                if r.query
                    .get("marker")
                    .is_some_and(|m| m.starts_with(ENDLESS_MARKER))
                {
                    r.query.remove("marker");
                }
                r.query.remove("offset");
                post.push(f.kind);
            }
            FaultKind::WrongContentType | FaultKind::TruncatedJson | FaultKind::LoopingNext => {
                post.push(f.kind)
            }
        }
    }
    Ok(Pending {
        after: post,
        delayed,
    })
}

/// Applies the faults that change the service's answer `resp` to the request for `path`
/// (`query`: as served).
pub(super) async fn after(
    state: &SimState,
    mut resp: Response,
    after: Vec<FaultKind>,
    path: &str,
    query: &HashMap<String, String>,
    service: &str,
) -> Response {
    for kind in after {
        resp = match kind {
            FaultKind::WrongContentType => {
                set_header(&mut resp, "content-type", "text/html; charset=UTF-8");
                resp
            }
            FaultKind::TruncatedJson => {
                let (parts, body) = resp.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                let cut = bytes.slice(..bytes.len() / 2);
                let mut resp = Response::from_parts(parts, Body::from(cut));
                resp.headers_mut().remove(header::CONTENT_LENGTH);
                resp
            }
            FaultKind::LoopingNext | FaultKind::EndlessNext => {
                let endless = kind == FaultKind::EndlessNext;
                let page = state.endless_pages.fetch_add(1, Ordering::SeqCst) + 1;
                rewrite_next(
                    resp,
                    &state.base,
                    path,
                    query,
                    service,
                    endless.then_some(page),
                )
                .await
            }
            _ => resp,
        };
    }
    resp
}

/// Marker prefix of the pages a `endless-next` fault invents.
const ENDLESS_MARKER: &str = "sim-endless-";

/// An answer whose body fails at once: the server drops the connection without sending
/// anything (hyper has not written the head yet when the first body frame fails).
/// The part of a delay slept on a blocking thread at its end: tokio's timer rounds a deadline up
/// to its next millisecond tick and wakes the task late, so a 20 ms delay took about 21.5 ms and a
/// fixture's latency was served ~7% slow; the operating system's sleep ends within tens of
/// microseconds. Only this short tail holds a thread, so a stopping simulator waits for no more.
const PRECISE_TAIL: Duration = Duration::from_millis(2);

/// Sleeps `delay` within a few tens of microseconds: the timer for all but the last
/// [`PRECISE_TAIL`], then the operating system's sleep on a blocking thread until the deadline.
async fn sleep_precisely(delay: Duration) {
    let deadline = Instant::now() + delay;
    if let Some(coarse) = delay.checked_sub(PRECISE_TAIL) {
        tokio::time::sleep(coarse).await;
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        // A missing blocking pool (a shut-down runtime) only costs the precision.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

fn reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected fault: connection reset",
        ))
    });
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A 200 JSON-labelled body of `bytes` bytes (endless without a size), streamed in 64 KiB
/// chunks; ends when the client goes away or the simulator stops.
fn huge_body(state: &SimState, bytes: Option<u64>) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunk = axum::body::Bytes::from(vec![b' '; CHUNK]);
    let head = axum::body::Bytes::from_static(b"{\"items\": [\"");
    let cancel = state.cancel.clone();
    let stream = futures::stream::unfold((0u64, true), move |(sent, first)| {
        let chunk = chunk.clone();
        let head = head.clone();
        let cancel = cancel.clone();
        async move {
            if cancel.is_cancelled() || bytes.is_some_and(|b| sent >= b) {
                return None;
            }
            let mut piece = if first { head } else { chunk };
            if let Some(b) = bytes {
                piece.truncate((b - sent).min(piece.len() as u64) as usize);
            }
            let n = piece.len() as u64;
            // Let other tasks run between chunks.
            tokio::task::yield_now().await;
            Some((Ok::<_, std::io::Error>(piece), (sent + n, false)))
        }
    });
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Rewrites the `next` link of a listing: to the same page (`page` = `None`) or to an invented
/// page `page` whose items are the served ones under new ids.
async fn rewrite_next(
    resp: Response,
    base: &str,
    path: &str,
    query: &HashMap<String, String>,
    service: &str,
    page: Option<u64>,
) -> Response {
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let Some(key) = doc
        .iter()
        .find(|(k, v)| v.is_array() && !k.ends_with("_links"))
        .map(|(k, _)| k.clone())
    else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    q.sort();
    if let Some(n) = page {
        // New items: the page's own under new ids (one made-up item for an empty page).
        let items = doc.get_mut(&key).and_then(Value::as_array_mut);
        if let Some(items) = items {
            if items.is_empty() {
                items.push(json!({"id": format!("{ENDLESS_MARKER}{n}"), "name": format!("{ENDLESS_MARKER}{n}")}));
            }
            for item in items.iter_mut() {
                if let Some(id) = item.get("id").and_then(Value::as_str) {
                    item["id"] = json!(format!("{id}-{ENDLESS_MARKER}{n}"));
                }
            }
        }
        q.retain(|(k, _)| k != "marker" && k != "offset");
        q.push(("marker".into(), format!("{ENDLESS_MARKER}{n}")));
    }
    let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let href = format!("{base}{path}?{}", query.join("&"));
    if service == "image" || service == "key-manager" || doc.contains_key("next") {
        doc.insert("next".into(), json!(href));
    } else {
        doc.insert(
            format!("{key}_links"),
            json!([{"rel": "next", "href": href}]),
        );
    }
    let mut resp = Response::from_parts(parts, Body::from(Value::Object(doc).to_string()));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_precise_sleep_never_ends_early() {
        for ms in [0, 1, 3, 7] {
            let delay = Duration::from_millis(ms);
            let started = Instant::now();
            sleep_precisely(delay).await;
            assert!(started.elapsed() >= delay, "{ms} ms ended early");
        }
    }
}
