//! The fake Barbican: secrets listed (paged by offset and limit), created, shown and deleted,
//! with what members may do set by the fixture's `key_manager` section (admins may do all).

use super::SimState;
use super::pipeline::Req;
use super::resources::{Resource, delete_dynamic, insert};
use super::respond::{error, json_response};
use super::state::{TokenInfo, now_iso};
use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

/// The routes below `/key-manager`.
pub(super) fn router(st: &Arc<SimState>) -> Router<Arc<SimState>> {
    let api = Router::new()
        .route("/{version}/secrets", get(list).post(create))
        .route("/{version}/secrets/{id}", get(show).delete(delete))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    super::versions::service(st, api)
}

/// Any other path or method.
async fn not_found() -> Response {
    error(
        "key-manager",
        404,
        "Not Found. Sorry but your princess is in another castle.",
    )
}

/// The refusal of an action the policy does not let the token do: members may do what the
/// fixture allows (`member_may`), admins everything.
fn refused(member_may: bool, info: &TokenInfo) -> Option<Response> {
    let privileged = info.roles.iter().any(|r| r == "admin");
    (!member_may && !privileged)
        .then(|| error("key-manager", 403, "Secret(s) action not allowed for user"))
}

/// `GET /v1/secrets`.
async fn list(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    Extension(info): Extension<TokenInfo>,
) -> Response {
    if let Some(refusal) = refused(st.fixture.key_manager.member_can_list, &info) {
        return refusal;
    }
    let mut items: Vec<Value> = st
        .dynamic
        .lock()
        .map(|mut d| d.map("secrets").values().map(Resource::render).collect())
        .unwrap_or_default();
    if let Some(n) = r.query.get("name") {
        items.retain(|s| s["name"].as_str() == Some(n));
    }
    let max = st.page_size("key-manager");
    let limit = r
        .query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10usize)
        .clamp(1, max);
    let offset: usize = r
        .query
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    let mut body = json!({"secrets": page, "total": items.len()});
    if offset + limit < items.len() {
        body["next"] = json!(format!(
            "{}/key-manager/v1/secrets?limit={limit}&offset={}",
            st.base,
            offset + limit
        ));
    }
    if offset > 0 {
        body["previous"] = json!(format!(
            "{}/key-manager/v1/secrets?limit={limit}&offset={}",
            st.base,
            offset.saturating_sub(limit)
        ));
    }
    json_response(200, &body)
}

/// `POST /v1/secrets`.
async fn create(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    Extension(info): Extension<TokenInfo>,
) -> Response {
    if let Some(refusal) = refused(st.fixture.key_manager.member_can_create, &info) {
        return refusal;
    }
    if let Some(refused) = st.over_quota("secrets", "key-manager") {
        return refused;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let href = format!("{}/key-manager/v1/secrets/{id}", st.base);
    let b = &r.body;
    let body = json!({"id": id, "secret_ref": href, "name": b["name"], "status": "ACTIVE",
        "secret_type": b["secret_type"].as_str().unwrap_or("opaque"),
        "algorithm": b["algorithm"], "bit_length": b["bit_length"], "mode": b["mode"],
        "expiration": b["expiration"], "created": now_iso(), "updated": now_iso(),
        "content_types": {"default": b["payload_content_type"].as_str().unwrap_or("text/plain")},
        "creator_id": st.fixture.user.user_id});
    insert(&st, "secrets", Resource::now(body));
    json_response(201, &json!({"secret_ref": href}))
}

/// `GET /v1/secrets/{id}`.
async fn show(State(st): State<Arc<SimState>>, Path((_, id)): Path<(String, String)>) -> Response {
    let found = st
        .dynamic
        .lock()
        .ok()
        .and_then(|mut d| d.map("secrets").get(&id).map(Resource::render));
    match found {
        Some(v) => json_response(200, &v),
        None => error("key-manager", 404, "Secret not found."),
    }
}

/// `DELETE /v1/secrets/{id}`.
async fn delete(
    State(st): State<Arc<SimState>>,
    Path((_, id)): Path<(String, String)>,
    Extension(info): Extension<TokenInfo>,
) -> Response {
    if let Some(refusal) = refused(st.fixture.key_manager.member_can_delete, &info) {
        return refusal;
    }
    delete_dynamic(&st, "key-manager", "secrets", &id, 204)
}
