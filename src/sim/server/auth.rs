//! The token check in front of every service's routes except its version list: the request
//! must carry a live, project-scoped token from the simulated Keystone (`401` without one,
//! `403` for an unscoped or domain-scoped one); the token's [`TokenInfo`] goes into the
//! request's extensions for the routes that look at roles.

use super::SimState;
use super::pipeline::Req;
use super::respond::error;
use super::state::TokenInfo;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// The middleware that lets only requests with a project-scoped token through.
pub(super) async fn require_project_token(
    State(st): State<Arc<SimState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(r) = req.extensions().get::<Arc<Req>>().cloned() else {
        return error("", 500, "The request was not prepared by the pipeline.");
    };
    let token = r
        .headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(info) = st.token(token) else {
        return error(
            r.service,
            401,
            "The request you have made requires authentication.",
        );
    };
    if !info.project {
        return error(r.service, 403, "A project-scoped token is required.");
    }
    req.extensions_mut().insert::<TokenInfo>(info);
    next.run(req).await
}
