//! The fake Nova: microversion negotiation (`OpenStack-API-Version`), flavors in the views of
//! each microversion (listings prepared at start), extra specs, and servers created with
//! ports and boot volumes, booting for a while, deleted with a delay, and with console output.

use super::SimState;
use super::listing::PagedList;
use super::pipeline::Req;
use super::resources::{Resource, list_dynamic, show_dynamic};
use super::respond::{empty, error, json_response, json_text_response};
use super::state::now_iso;
use axum::Router;
use axum::extract::{Extension, FromRequestParts, Path, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// The routes below `/compute`.
pub(super) fn router(st: &Arc<SimState>) -> Router<Arc<SimState>> {
    let api = Router::new()
        .route("/{version}/flavors", get(list_flavors))
        .route("/{version}/flavors/{id}", get(show_flavor))
        .route(
            "/{version}/flavors/{id}/os-extra_specs",
            get(flavor_extra_specs),
        )
        .route("/{version}/servers", get(list_servers).post(create))
        .route(
            "/{version}/servers/{id}",
            get(show_server).delete(delete_server),
        )
        .route("/{version}/servers/{id}/action", post(server_action))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    super::versions::service(st, api)
}

/// How Nova shows a flavor: `GET /flavors` (id, name, links) or the details, which gain
/// `description` at microversion 2.55 and `extra_specs` at 2.61.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlavorView {
    Summary,
    DetailBefore2_55,
    DetailBefore2_61,
    Detail,
}

impl FlavorView {
    const ALL: [FlavorView; 4] = [
        FlavorView::Summary,
        FlavorView::DetailBefore2_55,
        FlavorView::DetailBefore2_61,
        FlavorView::Detail,
    ];

    /// The detailed view at microversion `mv`.
    fn detail(mv: (u32, u32)) -> FlavorView {
        if mv < (2, 55) {
            FlavorView::DetailBefore2_55
        } else if mv < (2, 61) {
            FlavorView::DetailBefore2_61
        } else {
            FlavorView::Detail
        }
    }

    /// The flavor `f` (all fields) in this view.
    fn render(self, f: &Value) -> Value {
        match self {
            FlavorView::Summary => json!({"id": f["id"], "name": f["name"], "links": f["links"]}),
            detail => {
                let mut f = f.clone();
                if let Some(o) = f.as_object_mut() {
                    if detail != FlavorView::Detail {
                        o.remove("extra_specs");
                    }
                    if detail == FlavorView::DetailBefore2_55 {
                        o.remove("description");
                    }
                }
                f
            }
        }
    }
}

/// The `is_public` filters of the flavor listing: `none` (all), `false` (private only) and
/// anything else (public only, Nova's default).
const FLAVOR_FILTERS: [&str; 3] = ["true", "false", "none"];

/// Every flavor listing (filter × view), in the order of [`flavor_list_index`].
pub(super) fn flavor_lists(flavors: &[Value]) -> Vec<PagedList> {
    let mut out = vec![];
    for filter in FLAVOR_FILTERS {
        let selected: Vec<&Value> = flavors
            .iter()
            .filter(|f| match filter {
                "none" => true,
                "false" => f["os-flavor-access:is_public"] == json!(false),
                _ => f["os-flavor-access:is_public"] == json!(true),
            })
            .collect();
        for view in FlavorView::ALL {
            out.push(PagedList::new(selected.iter().map(|f| view.render(f))));
        }
    }
    out
}

/// Where the listing for an `is_public` query value (lower case) and a view sits.
fn flavor_list_index(filter: Option<&str>, view: FlavorView) -> usize {
    let filter = match filter {
        Some("none") => 2,
        Some("false") => 1,
        _ => 0,
    };
    let view = FlavorView::ALL.iter().position(|v| *v == view).unwrap_or(0);
    filter * FlavorView::ALL.len() + view
}

/// The microversion a request asks for (`OpenStack-API-Version: compute 2.x` or the older
/// `X-OpenStack-Nova-API-Version`; 2.1 without either, the fixture's maximum for `latest`);
/// a version outside the fixture's range is refused with `406`.
#[derive(Debug, Clone, Copy)]
struct Microversion((u32, u32));

impl FromRequestParts<Arc<SimState>> for Microversion {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<SimState>) -> Result<Self, Response> {
        let fx = &st.fixture;
        let mv = match requested_microversion(&parts.headers) {
            None => (2, 1),
            Some(s) if s == "latest" => mv_tuple(&fx.compute.max_version).unwrap_or((2, 1)),
            Some(s) => match mv_tuple(&s) {
                Some(v)
                    if !fx.compute.max_version.is_empty()
                        && v <= mv_tuple(&fx.compute.max_version).unwrap_or((2, 1))
                        && v >= mv_tuple(&fx.compute.min_version).unwrap_or((2, 1)) =>
                {
                    v
                }
                _ => {
                    return Err(error(
                        "compute",
                        406,
                        &format!(
                            "Version {s} is not supported by the API. Minimum is {} and maximum is {}.",
                            fx.compute.min_version, fx.compute.max_version
                        ),
                    ));
                }
            },
        };
        Ok(Microversion(mv))
    }
}

/// The microversion header values, without the `compute` prefix.
fn requested_microversion(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        return Some(v.strip_prefix("compute").unwrap_or(v).trim().to_string());
    }
    headers
        .get("x-openstack-nova-api-version")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

/// `2.61` as `(2, 61)`.
fn mv_tuple(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// `resp` with the microversion it was served at, as Nova tells it.
fn versioned(mut resp: Response, Microversion(mv): Microversion) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("compute {}.{}", mv.0, mv.1)) {
        resp.headers_mut().insert("OpenStack-API-Version", v);
    }
    resp
}

/// Any other path or method (after the microversion check, as Nova does).
async fn not_found(mv: Microversion) -> Response {
    versioned(
        error("compute", 404, "The resource could not be found."),
        mv,
    )
}

/// `GET /flavors`.
async fn list_flavors(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    mv: Microversion,
) -> Response {
    versioned(flavor_listing(&st, &r, mv.0, false), mv)
}

/// A page of the flavor listing, summaries or (`detail`) in the microversion's detailed view.
fn flavor_listing(st: &SimState, r: &Req, mv: (u32, u32), detail: bool) -> Response {
    let filter = r.query.get("is_public").map(|s| s.to_ascii_lowercase());
    let view = if !detail {
        FlavorView::Summary
    } else {
        FlavorView::detail(mv)
    };
    let list = &st.flavor_lists[flavor_list_index(filter.as_deref(), view)];
    match list.page(&r.query, st.page_size("compute")) {
        Err(m) => error("compute", 400, &m),
        Ok((range, next)) => {
            let mut body = format!("{{\"flavors\":{}", list.json_array(range));
            if let Some(m) = next {
                let limit = r
                    .query
                    .get("limit")
                    .cloned()
                    .unwrap_or_else(|| st.page_size("compute").to_string());
                let mut q = format!("limit={limit}&marker={m}");
                if let Some(ip) = r.query.get("is_public") {
                    q = format!("is_public={ip}&{q}");
                }
                let path = if detail { "flavors/detail" } else { "flavors" };
                let links = json!([{"rel": "next",
                    "href": format!("{}/compute/v2.1/{path}?{q}", st.base)}]);
                body.push_str(&format!(",\"flavors_links\":{links}"));
            }
            body.push('}');
            json_text_response(200, body)
        }
    }
}

/// `GET /flavors/{id}`; `GET /flavors/detail` is the detailed listing.
async fn show_flavor(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    Path((_, id)): Path<(String, String)>,
    mv: Microversion,
) -> Response {
    let Microversion(v) = mv;
    if id == "detail" {
        return versioned(flavor_listing(&st, &r, v, true), mv);
    }
    let resp = match st.flavors.iter().find(|f| f["id"] == id) {
        Some(f) => json_response(200, &json!({"flavor": FlavorView::detail(v).render(f)})),
        None => error("compute", 404, &format!("Flavor {id} could not be found.")),
    };
    versioned(resp, mv)
}

/// `GET /flavors/{id}/os-extra_specs`.
async fn flavor_extra_specs(
    State(st): State<Arc<SimState>>,
    Path((_, id)): Path<(String, String)>,
    mv: Microversion,
) -> Response {
    let resp = {
        match st.flavors.iter().find(|f| f["id"] == id) {
            Some(f) => json_response(200, &json!({"extra_specs": f["extra_specs"]})),
            None => error("compute", 404, &format!("Flavor {id} could not be found.")),
        }
    };
    versioned(resp, mv)
}

/// `POST /servers`; a quota refusal comes without the microversion header.
async fn create(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    mv: Microversion,
) -> Response {
    if let Some(refused) = st.over_quota("servers", "compute") {
        return refused;
    }
    versioned(create_server(&st, &r.body["server"]), mv)
}

/// `GET /servers`.
async fn list_servers(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    mv: Microversion,
) -> Response {
    versioned(list_dynamic(&st, &r, "compute", "servers", "servers"), mv)
}

/// `GET /servers/{id}`; `GET /servers/detail` is the listing.
async fn show_server(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    Path((_, id)): Path<(String, String)>,
    mv: Microversion,
) -> Response {
    let resp = if id == "detail" {
        list_dynamic(&st, &r, "compute", "servers", "servers")
    } else {
        show_dynamic(&st, "compute", "servers", "server", &id)
    };
    versioned(resp, mv)
}

/// `DELETE /servers/{id}`: the server goes after the fixture's delay, with what it owns.
async fn delete_server(
    State(st): State<Arc<SimState>>,
    Path((_, id)): Path<(String, String)>,
    mv: Microversion,
) -> Response {
    let fx = &st.fixture;
    let resp = {
        let after = st.scaled(fx.timing.server_delete_after);
        let found = st
            .dynamic
            .lock()
            .map(|mut d| d.schedule_delete("servers", &id, after))
            .unwrap_or(false);
        if found {
            empty(204)
        } else {
            error(
                "compute",
                404,
                &format!("Instance {id} could not be found."),
            )
        }
    };
    versioned(resp, mv)
}

/// `POST /servers/{id}/action`: only `os-getConsoleOutput`, which shows the fixture's console
/// output once the server has been up long enough. An unknown server's `404` comes without
/// the microversion header.
async fn server_action(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    Path((_, id)): Path<(String, String)>,
    mv: Microversion,
) -> Response {
    let fx = &st.fixture;
    let resp = {
        let res = st.dynamic.lock().ok().and_then(|mut d| {
            d.map("servers").get(&id).map(|r| {
                (
                    r.render(),
                    r.created.elapsed().saturating_sub(r.ready_after),
                )
            })
        });
        let Some((server, since_ready)) = res else {
            return error(
                "compute",
                404,
                &format!("Instance {id} could not be found."),
            );
        };
        if r.body.get("os-getConsoleOutput").is_some() {
            let full = &fx.timing.console_output;
            let out = if server["status"] != json!("ACTIVE") {
                String::new()
            } else if since_ready >= st.scaled(fx.timing.console_after) {
                full.clone()
            } else {
                // Still booting: only what comes before cloud-init's results.
                let cut = full.find("_scs-test-").unwrap_or(full.len());
                let cut = full[..cut].rfind('\n').map(|i| i + 1).unwrap_or(0);
                full[..cut].to_string()
            };
            json_response(200, &json!({"output": out}))
        } else {
            error("compute", 400, "Unsupported server action.")
        }
    };
    versioned(resp, mv)
}

/// `POST /servers`: checks flavor, image and networks, creates the server (BUILD, then ACTIVE
/// or ERROR), a port on each network and, for boot-from-volume, the boot volume (both owned by
/// the server, so they go when it goes).
fn create_server(st: &SimState, s: &Value) -> Response {
    let fx = &st.fixture;
    let Some(name) = s["name"].as_str() else {
        return error("compute", 400, "Invalid input for field/attribute server.");
    };
    let flavor = s["flavorRef"].as_str().unwrap_or("");
    if !st.flavors.iter().any(|f| f["id"] == flavor) {
        return error(
            "compute",
            400,
            &format!("Flavor {flavor} could not be found."),
        );
    }
    let bdm: Vec<Value> = s["block_device_mapping_v2"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let image = bdm
        .iter()
        .find(|b| b["source_type"] == json!("image"))
        .and_then(|b| b["uuid"].as_str())
        .or_else(|| s["imageRef"].as_str())
        .unwrap_or("");
    if !image.is_empty() && !st.image_lists.iter().any(|l| l.contains(image)) {
        return error(
            "compute",
            400,
            &format!("Image {image} could not be found."),
        );
    }
    let nets: Vec<String> = s["networks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["uuid"].as_str().map(str::to_string))
        .collect();
    let Ok(mut d) = st.dynamic.lock() else {
        return error("compute", 500, "internal error");
    };
    for n in &nets {
        if !d.map("networks").contains_key(n) {
            return error("compute", 400, &format!("Network {n} could not be found."));
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut body = json!({"id": id, "name": name, "flavor": {"id": flavor},
        "tenant_id": fx.user.project_id, "user_id": fx.user.user_id,
        "created": now_iso(), "metadata": s["metadata"].clone(),
        "addresses": {}, "OS-EXT-STS:task_state": null,
        "os-extended-volumes:volumes_attached": []});
    if fx.timing.server_final_status == "ERROR" {
        body["fault"] = json!({"code": 500, "message": "No valid host was found."});
    }
    for n in &nets {
        let subnet = d
            .map("subnets")
            .values()
            .find(|r| r.body.get("network_id") == Some(&json!(n)))
            .and_then(|r| r.body.get("id").cloned());
        let pid = uuid::Uuid::new_v4().to_string();
        let mut port = Resource::now(json!({"id": pid, "name": "", "network_id": n,
            "device_id": id, "device_owner": "compute:nova", "status": "ACTIVE",
            "fixed_ips": subnet.map(|s| vec![json!({"subnet_id": s})]).unwrap_or_default(),
            "project_id": fx.user.project_id}));
        port.owner = Some(id.clone());
        d.map("ports").insert(pid, port);
    }
    for b in &bdm {
        if b["destination_type"] != json!("volume") || b["source_type"] != json!("image") {
            continue;
        }
        let vid = uuid::Uuid::new_v4().to_string();
        let mut vol = Resource::now(json!({"id": vid, "name": "", "status": "in-use",
            "size": b["volume_size"].as_u64().unwrap_or(1), "bootable": "true",
            "volume_type": "__DEFAULT__", "availability_zone": "nova", "created_at": now_iso(),
            "attachments": [{"server_id": id, "volume_id": vid}], "metadata": {}}));
        if b["delete_on_termination"].as_bool().unwrap_or(false) {
            vol.owner = Some(id.clone());
        }
        body["os-extended-volumes:volumes_attached"] = json!([{"id": vid}]);
        d.map("volumes").insert(vid, vol);
    }
    let res = Resource {
        body: body.as_object().cloned().unwrap_or_default(),
        created: Instant::now(),
        ready_after: st.scaled(fx.timing.server_active_after),
        initial: "BUILD",
        ready: fx.timing.server_final_status.clone(),
        gone_after: None,
        owner: None,
    };
    d.map("servers").insert(id.clone(), res);
    json_response(
        202,
        &json!({"server": {"id": id, "links": [{"rel": "self",
        "href": format!("{}/compute/v2.1/servers/{id}", st.base)}],
        "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}]}}),
    )
}
