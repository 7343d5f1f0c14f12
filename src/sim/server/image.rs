//! The fake Glance: the image listing (paged by marker and limit, `os_hidden` images only
//! on request) and single images, served from the listings prepared at start.

use super::SimState;
use super::pipeline::Req;
use super::respond::{error, json_response, json_text_response};
use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;

/// The routes below `/image`.
pub(super) fn router(st: &Arc<SimState>) -> Router<Arc<SimState>> {
    let api = Router::new()
        .route("/{version}/images", get(list))
        .route("/{version}/images/{id}", get(show))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    super::versions::service(st, api)
}

/// Any other path or method.
async fn not_found() -> Response {
    error("image", 404, "The resource could not be found.")
}

/// `GET /v2/images`.
async fn list(State(st): State<Arc<SimState>>, Extension(r): Extension<Arc<Req>>) -> Response {
    let show_hidden = r.query.get("os_hidden").map(String::as_str) == Some("true");
    let list = &st.image_lists[usize::from(show_hidden)];
    match list.page(&r.query, st.page_size("image")) {
        Err(m) => error("image", 400, &m),
        Ok((range, next)) => {
            let mut body = format!(
                "{{\"images\":{},\"first\":\"/v2/images\",\"schema\":\"/v2/schemas/images\"",
                list.json_array(range)
            );
            if let Some(m) = next {
                let mut q = format!("marker={m}");
                if let Some(l) = r.query.get("limit") {
                    q.push_str(&format!("&limit={l}"));
                }
                if let Some(ms) = r.query.get("member_status") {
                    q = format!("member_status={ms}&{q}");
                }
                body.push_str(&format!(",\"next\":{}", json!(format!("/v2/images?{q}"))));
            }
            body.push('}');
            json_text_response(200, body)
        }
    }
}

/// `GET /v2/images/{id}`.
async fn show(State(st): State<Arc<SimState>>, Path((_, id)): Path<(String, String)>) -> Response {
    match st.image_lists.iter().find_map(|l| l.get(&id)) {
        Some(i) => json_response(200, &i),
        None => error("image", 404, &format!("No image found with ID {id}")),
    }
}
