//! The request pipeline in front of the fake services' routers: reads and logs each request,
//! parses its JSON body, applies the fixture's faults ([`super::faults`]), hands the request to
//! the routers under the path they route by, and stamps the answer with the time the simulator
//! worked on it ([`SERVER_TIME_HEADER`]).

use super::SimState;
use super::faults;
use super::respond::{error, set_header};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// A request as the fake services see it (in the request's extensions, as `Arc<Req>`).
pub(super) struct Req {
    pub(super) method: Method,
    /// The path's segments, without leading and trailing slashes (`["compute", "v2.1", ...]`).
    pub(super) segs: Vec<String>,
    /// The query parameters (as the faults left them).
    pub(super) query: HashMap<String, String>,
    pub(super) headers: HeaderMap,
    /// The JSON body; `null` when there is none.
    pub(super) body: Value,
    /// The service the first segment names (`block-storage` for `/volume`, `s3` for `/`,
    /// `unknown` for any other mount).
    pub(super) service: &'static str,
}

/// The service behind a mount (the first path segment).
fn service_of(mount: &str) -> &'static str {
    match mount {
        "identity" => "identity",
        "compute" => "compute",
        "image" => "image",
        "volume" => "block-storage",
        "network" => "network",
        "key-manager" => "key-manager",
        "placement" => "placement",
        "load-balancer" => "load-balancer",
        "object-store" => "object-store",
        "" => "s3",
        _ => "unknown",
    }
}

/// The API path below mount and version (and project id), used for fault matching.
fn api_path(service: &str, segs: &[String], project_id: &str) -> String {
    let mut rest: Vec<&str> = segs.iter().skip(1).map(String::as_str).collect();
    if !rest.is_empty() && rest[0].starts_with('v') {
        rest.remove(0);
    }
    if service == "block-storage" && rest.first() == Some(&project_id) {
        rest.remove(0);
    }
    format!("/{}", rest.join("/"))
}

/// The query parameters (the last of a repeated one wins), with `:` and spaces decoded.
fn query_map(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.replace("%3A", ":").replace("%20", " "))
        })
        .collect()
}

/// The header that tells how long the simulator worked on an answer, in microseconds, without
/// the delays of `latency` faults (read by `scripts/bench`).
pub(crate) const SERVER_TIME_HEADER: &str = "x-sim-server-time-us";

/// The header that tells how long the `latency` faults of a request really waited, in
/// microseconds (only on delayed answers): the configured delay plus the timer's overshoot,
/// for checking the simulator's latency when measuring the client.
pub(crate) const DELAY_HEADER: &str = "x-sim-delay-us";

/// The path the routers route by: the segments joined again (so trailing and repeated leading
/// slashes do not matter) and, for Cinder, without the project id after the version, which
/// Cinder's URLs may carry (`/volume/v3/{project_id}/types` and `/volume/v3/types` are one
/// resource; `/volume/v3/{project_id}` alone is none).
fn routed_path(segs: &[String], service: &str, project_id: &str) -> String {
    let skip_project = service == "block-storage" && segs.len() > 3 && segs[2] == project_id;
    let kept: Vec<&str> = segs
        .iter()
        .enumerate()
        .filter(|(i, _)| !(skip_project && *i == 2))
        .map(|(_, s)| s.as_str())
        .collect();
    format!("/{}", kept.join("/"))
}

/// The method the routers route by: the request's own, except `HEAD`, which axum would answer
/// with a `GET` route; the fake services answer it as an unknown method (each service's
/// fallback or a route for any method), which they read from [`Req`].
fn routed_method(method: &Method) -> Method {
    if method == Method::HEAD {
        Method::from_bytes(b"SIM-HEAD").unwrap_or(Method::OPTIONS)
    } else {
        method.clone()
    }
}

/// The middleware around the services' routers (`next`); see the module documentation.
pub(super) async fn handle(
    State(state): State<Arc<SimState>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let service = service_of(&segs[0]);
    if let Ok(mut log) = state.log.lock() {
        log.push(format!(
            "{} {}{}",
            parts.method,
            path,
            parts
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default()
        ));
    }
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return error(service, 400, &format!("Malformed request body: {e}")),
        }
    };
    let mut r = Req {
        method: parts.method.clone(),
        segs,
        query: query_map(parts.uri.query()),
        headers: parts.headers.clone(),
        body,
        service,
    };
    let api = api_path(service, &r.segs, &state.fixture.user.project_id);
    let pending = match faults::before(&state, &mut r, &parts.method, &api).await {
        Ok(pending) => pending,
        Err(injected) => return injected,
    };
    if let Ok(mut d) = state.dynamic.lock() {
        d.purge();
    }
    let routed = routed_path(&r.segs, service, &state.fixture.user.project_id);
    parts.uri = routed.parse::<Uri>().unwrap_or(parts.uri);
    parts.method = routed_method(&parts.method);
    let r = Arc::new(r);
    parts.extensions.insert(r.clone());
    let mut resp = next.run(Request::from_parts(parts, Body::empty())).await;
    // axum adds `Allow` when a path's route lacks the method; the services never send it.
    resp.headers_mut().remove(header::ALLOW);
    let mut resp = faults::after(&state, resp, pending.after, &path, &r.query, service).await;
    let worked = started.elapsed().saturating_sub(pending.delayed);
    set_header(
        &mut resp,
        SERVER_TIME_HEADER,
        &worked.as_micros().to_string(),
    );
    if !pending.delayed.is_zero() {
        set_header(
            &mut resp,
            DELAY_HEADER,
            &pending.delayed.as_micros().to_string(),
        );
    }
    resp
}
