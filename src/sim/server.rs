//! The HTTP side of the simulated cloud: one axum router per fake service, nested under the
//! service's mount (`/identity`, `/compute`, `/image`, `/volume`, `/network`, `/key-manager`,
//! `/placement`, `/load-balancer`, `/object-store`, and `/` for S3), behind the request
//! pipeline that logs each request, applies injected faults and times the answer
//! ([`pipeline`]). Every service but Keystone checks the token ([`auth`]) and serves its
//! version documents ([`versions`]); the answers and error bodies have the shapes of the real
//! services ([`respond`]). Unknown paths and methods get each service's own `404`, never
//! axum's `405`.
//!
//! Files: `state` (the shared state), `resources` (stateful resources), `listing` (paging),
//! `faults`, and one file per service: `identity` (with `keystone` for scs-0302), `compute`,
//! `image`, `block_storage`, `network`, `key_manager`, `s3`.

mod auth;
mod block_storage;
mod compute;
mod faults;
mod identity;
mod image;
mod key_manager;
mod keystone;
mod listing;
mod network;
mod pipeline;
mod resources;
mod respond;
mod s3;
mod state;
mod versions;

pub(crate) use state::SimState;

use axum::Router;
use axum::middleware;
use axum::routing::any;
use std::sync::Arc;

/// The simulator's HTTP application: the services' routers behind the request pipeline, which
/// runs before routing (it decides the path the routers see).
pub(crate) fn app(state: Arc<SimState>) -> Router {
    let services = Router::new()
        .nest("/identity", identity::router())
        .nest("/compute", compute::router(&state))
        .nest("/image", image::router(&state))
        .nest("/volume", block_storage::router(&state))
        .nest("/network", network::router(&state))
        .nest("/key-manager", key_manager::router(&state))
        .nest("/placement", versions::documents_only(&state))
        .nest("/load-balancer", versions::documents_only(&state))
        .nest("/object-store", versions::documents_only(&state))
        .route("/", any(s3::serve))
        .fallback(unknown_mount)
        .with_state(state.clone());
    Router::new()
        .fallback_service(services)
        .layer(middleware::from_fn_with_state(state, pipeline::handle))
}

/// A path under no service's mount.
async fn unknown_mount() -> axum::response::Response {
    respond::error("", 404, "The resource could not be found.")
}
