//! The version documents of the services: the list at each mount (which needs no token) and
//! the single version below it, in the shapes and statuses recorded from the real services;
//! and the router frame every service but Keystone shares ([`service`]).

use super::SimState;
use super::auth::require_project_token;
use super::pipeline::Req;
use super::respond::{error, json_response};
use axum::extract::{Extension, State};
use axum::middleware;
use axum::response::Response;
use axum::routing::any;
use axum::{Router, routing::MethodRouter};
use serde_json::{Value, json};
use std::sync::Arc;

/// A service's router: its API routes `api` (below the version segment, with the service's
/// fallback) and the single version document at `/{version}`, both behind the token check,
/// and the version list at the mount itself, which needs no token and answers any method.
pub(super) fn service(st: &Arc<SimState>, api: Router<Arc<SimState>>) -> Router<Arc<SimState>> {
    api.route("/{version}", version_single_route())
        .layer(middleware::from_fn_with_state(
            st.clone(),
            require_project_token,
        ))
        .route("/", any(list))
}

/// A service the simulator only knows by its version documents (Placement, Octavia, Swift):
/// any other path answers an empty JSON object.
pub(super) fn documents_only(st: &Arc<SimState>) -> Router<Arc<SimState>> {
    service(
        st,
        Router::new().fallback(|| async { json_response(200, &json!({})) }),
    )
}

/// `/{version}`: the version document, for any method.
fn version_single_route() -> MethodRouter<Arc<SimState>> {
    any(
        |State(st): State<Arc<SimState>>, Extension(r): Extension<Arc<Req>>| async move {
            let id = r.segs.get(1).map(String::as_str).unwrap_or("");
            version_single(&st, r.service, &st.base, id)
        },
    )
}

/// The mount itself: the version list.
async fn list(State(st): State<Arc<SimState>>, Extension(r): Extension<Arc<Req>>) -> Response {
    version_list(&st, r.service, &st.base)
}

/// The versions a service announces.
fn version_entries(st: &SimState, service: &str, base: &str) -> Vec<Value> {
    let link =
        |mount: &str, v: &str| json!([{"rel": "self", "href": format!("{base}/{mount}/{v}/")}]);
    match service {
        "compute" => vec![
            json!({"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
                "updated": "2011-01-21T11:33:21Z", "links": link("compute", "v2")}),
            json!({"id": "v2.1", "status": "CURRENT", "version": st.fixture.compute.max_version,
                "min_version": if st.fixture.compute.max_version.is_empty() { "" } else { st.fixture.compute.min_version.as_str() },
                "updated": "2013-07-23T11:33:21Z", "links": link("compute", "v2.1")}),
        ],
        "image" => ["2.17", "2.16", "2.15"]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!({"id": format!("v{v}"), "status": if i == 0 { "CURRENT" } else { "SUPPORTED" },
                    "links": link("image", "v2")})
            })
            .collect(),
        "block-storage" => vec![json!({"id": "v3.0", "status": "CURRENT", "version": "3.71",
            "min_version": "3.0", "updated": "2023-08-31T00:00:00Z", "links": link("volume", "v3")})],
        "network" => vec![json!({"id": "v2.0", "status": "CURRENT", "links": link("network", "v2.0")})],
        "placement" => vec![json!({"id": "v1.0", "status": "CURRENT", "max_version": "1.39",
            "min_version": "1.0", "links": [{"rel": "self", "href": format!("{base}/placement/")}]})],
        "load-balancer" => vec![json!({"id": "v2.0", "status": "CURRENT",
            "links": link("load-balancer", "v2.0")})],
        _ => vec![json!({"id": "v1", "status": "stable",
            "links": link(mount_of(service), "v1")})],
    }
}

/// The mount of a service (`volume` for `block-storage`).
fn mount_of(service: &str) -> &str {
    match service {
        "block-storage" => "volume",
        s => s,
    }
}

/// The version list; `300 Multiple Choices` where the real service answers so.
fn version_list(st: &SimState, service: &str, base: &str) -> Response {
    let v = version_entries(st, service, base);
    match service {
        "key-manager" => json_response(300, &json!({"versions": {"values": v}})),
        "placement" => json_response(200, &json!({"versions": v})),
        // Recorded from Zed: Nova answers 200 here, Glance and Cinder 300.
        "image" | "block-storage" => json_response(300, &json!({"versions": v})),
        _ => json_response(200, &json!({"versions": v})),
    }
}

/// The version `id` (`v2.1`, or `v2` for `v2.x`).
fn version_single(st: &SimState, service: &str, base: &str, id: &str) -> Response {
    let entries = version_entries(st, service, base);
    let found = entries.iter().find(|v| {
        let vid = v.get("id").and_then(Value::as_str).unwrap_or("");
        vid == id || vid.starts_with(&format!("{id}."))
    });
    match found {
        Some(v) => json_response(200, &json!({"version": v})),
        None => error(service, 404, "Unknown API version."),
    }
}
