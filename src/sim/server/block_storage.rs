//! The fake Cinder (v3, with or without the project id in the path): volume types, volumes
//! and backups, created with delayed status changes and quota checks, and backups restored
//! into new volumes.

use super::SimState;
use super::listing::page;
use super::pipeline::Req;
use super::resources::{Resource, delayed, delete_dynamic, insert, list_dynamic, show_dynamic};
use super::respond::{error, json_response};
use super::state::now_iso;
use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;
use std::sync::Arc;

/// The routes below `/volume` (the pipeline drops the project id after the version).
pub(super) fn router(st: &Arc<SimState>) -> Router<Arc<SimState>> {
    let mut api = Router::new()
        .route("/{version}/types", get(list_types))
        .route("/{version}/types/{id}", get(show_type))
        .route("/{version}/volumes", post(create_volume))
        .route("/{version}/backups", post(create_backup))
        .route("/{version}/backups/{id}/restore", post(restore_backup));
    for c in [VOLUMES, BACKUPS] {
        api = api
            .route(
                &format!("/{{version}}/{}", c.kind),
                get(
                    move |State(st): State<Arc<SimState>>, Extension(r): Extension<Arc<Req>>| async move {
                        list_dynamic(&st, &r, SERVICE, c.kind, c.kind)
                    },
                ),
            )
            .route(
                &format!("/{{version}}/{}/{{id}}", c.kind),
                get(
                    move |State(st): State<Arc<SimState>>,
                          Extension(r): Extension<Arc<Req>>,
                          Path((_, id)): Path<(String, String)>| async move {
                        show(&st, &r, c, &id)
                    },
                )
                .delete(
                    move |State(st): State<Arc<SimState>>, Path((_, id)): Path<(String, String)>| async move {
                        delete(&st, c, &id)
                    },
                ),
            );
    }
    let api = api
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    super::versions::service(st, api)
}

/// The service name for error bodies and page sizes.
const SERVICE: &str = "block-storage";

/// One of Cinder's collections of created resources.
#[derive(Clone, Copy)]
struct Collection {
    /// The path segment, the resource kind and the listing's key.
    kind: &'static str,
    /// The key of one resource.
    single: &'static str,
    /// The refusal of deleting one whose status (the argument) is neither available nor error.
    busy: fn(&str) -> String,
}

/// `/volumes`.
const VOLUMES: Collection = Collection {
    kind: "volumes",
    single: "volume",
    busy: |other| {
        format!(
            "Invalid volume: Volume status must be available or error or \
             error_restoring or error_extending or error_managing and must not be \
             migrating, attached, belong to a group, have snapshots, awaiting a \
             transfer, or be disassociated from snapshots after volume transfer \
             (current status: {other})."
        )
    },
};

/// `/backups`.
const BACKUPS: Collection = Collection {
    kind: "backups",
    single: "backup",
    busy: |other| {
        format!("Invalid backup: Backup status must be available or error (current: {other}).")
    },
};

/// Any other path or method.
async fn not_found() -> Response {
    error("block-storage", 404, "The resource could not be found.")
}

/// `GET /types`.
async fn list_types(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
) -> Response {
    let fx = &st.fixture;
    match page(&st.volume_types, &r.query, st.page_size("block-storage")) {
        Err(m) => error("block-storage", 400, &m),
        Ok((p, next)) => {
            let mut body = json!({"volume_types": p});
            if let Some(m) = next {
                let limit = r.query.get("limit").cloned().unwrap_or_default();
                body["volume_types_links"] = json!([{"rel": "next", "href": format!(
                "{}/volume/v3/{}/types?limit={limit}&marker={m}", st.base, fx.user.project_id)}]);
            }
            json_response(200, &body)
        }
    }
}

/// `GET /types/{id}`.
async fn show_type(
    State(st): State<Arc<SimState>>,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    match st.volume_types.iter().find(|t| t["id"] == json!(id)) {
        Some(t) => json_response(200, &json!({"volume_type": t})),
        None => error(
            "block-storage",
            404,
            &format!("Volume type {id} could not be found."),
        ),
    }
}

/// `POST /volumes`.
async fn create_volume(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
) -> Response {
    let fx = &st.fixture;
    if let Some(refused) = st.over_quota("volumes", "block-storage") {
        return refused;
    }
    let v = &r.body["volume"];
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({"id": id, "name": v["name"], "size": v["size"].as_u64().unwrap_or(1),
        "volume_type": v["volume_type"].as_str().unwrap_or("__DEFAULT__"),
        "availability_zone": "nova", "bootable": "false", "created_at": now_iso(),
        "description": v["description"], "attachments": [], "metadata": {}});
    let out = insert(
        &st,
        "volumes",
        delayed(
            body,
            st.scaled(fx.timing.volume_available_after),
            "creating",
            "available",
        ),
    );
    json_response(202, &json!({"volume": out}))
}

/// `POST /backups`: fails (status `error`) unless the fixture's backups work.
async fn create_backup(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
) -> Response {
    let fx = &st.fixture;
    if let Some(refused) = st.over_quota("backups", "block-storage") {
        return refused;
    }
    let b = &r.body["backup"];
    let vid = b["volume_id"].as_str().unwrap_or("");
    let exists = st
        .dynamic
        .lock()
        .map(|mut d| d.map("volumes").contains_key(vid))
        .unwrap_or(false);
    if !exists {
        return error(
            "block-storage",
            404,
            &format!("Volume {vid} could not be found."),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let ready = if fx.block_storage.backups_work {
        "available"
    } else {
        "error"
    };
    let body = json!({"id": id, "name": b["name"], "volume_id": vid, "size": 1,
        "created_at": now_iso(), "description": b["description"], "is_incremental": false});
    insert(
        &st,
        "backups",
        delayed(
            body,
            st.scaled(fx.timing.backup_available_after),
            "creating",
            ready,
        ),
    );
    json_response(
        202,
        &json!({"backup": {"id": id, "name": b["name"], "links": []}}),
    )
}

/// `POST /backups/{id}/restore`: a new volume, restoring for a while.
async fn restore_backup(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let fx = &st.fixture;
    let exists = st
        .dynamic
        .lock()
        .map(|mut d| d.map("backups").contains_key(&id))
        .unwrap_or(false);
    if !exists {
        return error(
            "block-storage",
            404,
            &format!("Backup {id} could not be found."),
        );
    }
    if let Some(refused) = st.over_quota("volumes", "block-storage") {
        return refused;
    }
    let name = r.body["restore"]["name"].clone();
    let vid = uuid::Uuid::new_v4().to_string();
    let body = json!({"id": vid, "name": name, "size": 1, "volume_type": "__DEFAULT__",
        "availability_zone": "nova", "created_at": now_iso(), "attachments": [], "metadata": {}});
    insert(
        &st,
        "volumes",
        delayed(
            body,
            st.scaled(fx.timing.volume_available_after),
            "restoring-backup",
            "available",
        ),
    );
    json_response(
        202,
        &json!({"restore": {"backup_id": id, "volume_id": vid, "volume_name": name}}),
    )
}

/// `GET /{collection}/{id}`; `GET /{collection}/detail` is the listing.
fn show(st: &SimState, r: &Req, c: Collection, id: &str) -> Response {
    if id == "detail" {
        return list_dynamic(st, r, SERVICE, c.kind, c.kind);
    }
    show_dynamic(st, SERVICE, c.kind, c.single, id)
}

/// `DELETE /{collection}/{id}`: only an available or failed resource.
fn delete(st: &SimState, c: Collection, id: &str) -> Response {
    let status = st
        .dynamic
        .lock()
        .ok()
        .and_then(|mut d| d.map(c.kind).get(id).map(Resource::status));
    match status.as_deref() {
        Some("available" | "error") | None => delete_dynamic(st, SERVICE, c.kind, id, 202),
        Some(other) => error(SERVICE, 400, &(c.busy)(other)),
    }
}
