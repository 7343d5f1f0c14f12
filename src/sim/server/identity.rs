//! The fake Keystone's own routes: the version documents, token issuing (password,
//! application credential and token methods; project, domain or no scope; a catalog made from
//! the fixture's services), and everything else handed to the scs-0302 Keystone
//! ([`super::keystone`]) when the fixture has one.

use super::SimState;
use super::pipeline::Req;
use super::respond::{error, json_response};
use super::state::{TokenInfo, stable_id};
use crate::sim::fixture::ServiceDef;
use axum::Router;
use axum::extract::{Extension, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The routes below `/identity`. They need no token of their own; what the scs-0302 Keystone
/// serves needs one.
pub(super) fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/", get(versions))
        .route("/v3", get(version))
        .route("/v3/auth/tokens", post(issue_token))
        .route("/v3/auth/tokens/{*rest}", post(issue_token))
        .fallback(other)
        .method_not_allowed_fallback(other)
}

/// The refusal of a request without valid credentials.
fn unauthorized() -> Response {
    error(
        "identity",
        401,
        "The request you have made requires authentication.",
    )
}

/// `GET /identity`: the version list (`300`).
async fn versions(State(st): State<Arc<SimState>>) -> Response {
    json_response(
        300,
        &json!({"versions": {"values": [keystone_version(&st.base)]}}),
    )
}

/// `GET /identity/v3`.
async fn version(State(st): State<Arc<SimState>>) -> Response {
    json_response(200, &json!({"version": keystone_version(&st.base)}))
}

/// Anything else: `401` without a token, otherwise the scs-0302 Keystone's answer or `404`.
async fn other(State(st): State<Arc<SimState>>, Extension(r): Extension<Arc<Req>>) -> Response {
    if !r.headers.contains_key("x-auth-token") {
        return unauthorized();
    }
    let segs: Vec<&str> = r.segs.iter().map(String::as_str).collect();
    st.keystone
        .as_ref()
        .and_then(|k| k.lock().ok()?.handle(&r, &segs))
        .unwrap_or_else(|| error("identity", 404, "The resource could not be found."))
}

/// `POST /identity/v3/auth/tokens`: the scs-0302 Keystone's users first, then the fixture's
/// user and application credentials.
async fn issue_token(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
) -> Response {
    if let Some(resp) = st
        .keystone
        .as_ref()
        .and_then(|k| k.lock().ok()?.auth(&st, &r))
    {
        return resp;
    }
    let u = &st.fixture.user;
    let ident = &r.body["auth"]["identity"];
    let methods: Vec<&str> = ident["methods"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let domain_ok = |d: &Value| {
        d.get("id").and_then(Value::as_str) == Some(&u.domain_id)
            || d.get("name").and_then(Value::as_str) == Some(&u.domain_name)
    };
    let user_ok = |uv: &Value| {
        uv.get("id").and_then(Value::as_str) == Some(&u.user_id)
            || (uv.get("name").and_then(Value::as_str) == Some(&u.username)
                && domain_ok(&uv["domain"]))
    };
    let mut roles = u.roles.clone();
    let mut app_cred = false;
    let ok = match methods.first().copied() {
        Some("password") => {
            let pu = &ident["password"]["user"];
            user_ok(pu) && pu["password"].as_str() == Some(&u.password)
        }
        Some("application_credential") => {
            let ac = &ident["application_credential"];
            let secret = ac["secret"].as_str().unwrap_or("");
            let found = st.fixture.application_credentials.iter().find(|c| {
                c.secret == secret
                    && (ac["id"].as_str() == Some(&c.id)
                        || (ac["name"].as_str().is_some()
                            && ac["name"].as_str() == c.name.as_deref()
                            && user_ok(&ac["user"])))
            });
            if let Some(c) = found {
                if let Some(r) = &c.roles {
                    roles = r.clone();
                }
                app_cred = true;
            }
            found.is_some()
        }
        Some("token") => {
            let id = ident["token"]["id"].as_str().unwrap_or("");
            st.token(id).is_some()
        }
        _ => false,
    };
    if !ok {
        return unauthorized();
    }
    let scope = &r.body["auth"]["scope"];
    let project = if app_cred {
        true
    } else if let Some(p) = scope.get("project") {
        let pid_ok = p.get("id").and_then(Value::as_str) == Some(&u.project_id);
        let name_ok = p.get("name").and_then(Value::as_str) == Some(&u.project_name)
            && domain_ok(&p["domain"]);
        if !(pid_ok || name_ok) {
            return error(
                "identity",
                401,
                "The request you have made requires authentication.",
            );
        }
        true
    } else {
        false
    };
    let token_id = uuid::Uuid::new_v4().simple().to_string();
    let ttl = u
        .token_ttl_s
        .map(|s| st.scaled(s))
        .unwrap_or(Duration::from_secs(12 * 3600));
    if let Ok(mut t) = st.tokens.lock() {
        t.insert(
            token_id.clone(),
            TokenInfo {
                roles: roles.clone(),
                project,
                expires: u.token_ttl_s.map(|_| Instant::now() + ttl),
            },
        );
    }
    let now = chrono::Utc::now();
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
    let mut token = json!({
        "methods": methods,
        "user": {"id": u.user_id, "name": u.username,
            "domain": {"id": u.domain_id, "name": u.domain_name},
            "password_expires_at": null},
        "audit_ids": [uuid::Uuid::new_v4().simple().to_string()[..22].to_string()],
        "expires_at": expires_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "issued_at": now.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string(),
    });
    if project {
        token["project"] = json!({"id": u.project_id, "name": u.project_name,
            "domain": {"id": u.domain_id, "name": u.domain_name}});
        token["is_domain"] = json!(false);
        token["roles"] = Value::Array(
            roles
                .iter()
                .map(|r| json!({"id": stable_id("role", r), "name": r}))
                .collect(),
        );
        token["catalog"] = st
            .catalog
            .get_or_init(|| Value::Array(catalog(&st)))
            .clone();
    } else if scope.get("domain").is_some() {
        token["domain"] = json!({"id": u.domain_id, "name": u.domain_name});
        token["roles"] = json!([]);
        token["catalog"] = st
            .catalog
            .get_or_init(|| Value::Array(catalog(&st)))
            .clone();
    }
    let mut resp = json_response(201, &json!({"token": token}));
    if let Ok(v) = axum::http::HeaderValue::from_str(&token_id) {
        resp.headers_mut().insert("X-Subject-Token", v);
    }
    resp
}

/// The service catalog of a token: the fixture's services with their default (or given) URLs
/// and names.
pub(super) fn catalog(st: &SimState) -> Vec<Value> {
    let base = &st.base;
    let pid = &st.fixture.user.project_id;
    st.fixture
        .services
        .iter()
        .map(|s| {
            let (t, name, url, ifaces) = match s {
                ServiceDef::Type(t) => (t.as_str(), None, None, None),
                ServiceDef::Full(f) => (
                    f.service_type.as_str(),
                    f.name.clone(),
                    f.url.clone(),
                    f.interfaces.clone(),
                ),
            };
            let default_path = match t {
                "identity" => "/identity".to_string(),
                "compute" => "/compute/v2.1".to_string(),
                "image" => "/image".to_string(),
                "network" => "/network".to_string(),
                "volumev3" | "block-storage" | "volume" | "volumev2" => format!("/volume/v3/{pid}"),
                "key-manager" => "/key-manager".to_string(),
                "placement" => "/placement".to_string(),
                "load-balancer" => "/load-balancer".to_string(),
                "object-store" => format!("/object-store/v1/AUTH_{pid}"),
                "object-store-s3" => String::new(),
                other => format!("/{other}"),
            };
            let url = match url {
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => u,
                Some(p) => format!("{base}{p}"),
                None => format!("{base}{default_path}"),
            };
            let default_name = match t {
                "identity" => "keystone",
                "compute" => "nova",
                "image" => "glance",
                "network" => "neutron",
                "volumev3" => "cinderv3",
                "block-storage" => "cinder",
                "key-manager" => "barbican",
                "placement" => "placement",
                "load-balancer" => "octavia",
                "object-store" => "swift",
                "object-store-s3" => "s3",
                other => other,
            };
            let ifaces = ifaces.unwrap_or_else(|| vec!["public".into(), "internal".into()]);
            let endpoints: Vec<Value> = ifaces
                .iter()
                .map(|i| {
                    json!({"id": stable_id("endpoint", &format!("{t}/{i}")), "interface": i,
                        "region": st.fixture.region, "region_id": st.fixture.region, "url": url})
                })
                .collect();
            json!({"id": stable_id("service", t), "type": t,
                "name": name.unwrap_or_else(|| default_name.to_string()), "endpoints": endpoints})
        })
        .collect()
}

/// The Keystone v3 version document.
fn keystone_version(base: &str) -> Value {
    json!({"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/identity/v3/")}],
        "media-types": [{"base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"}]})
}
