//! The HTTP side of the simulated cloud: one axum fallback handler that routes by the first path
//! segment (`/identity`, `/compute`, `/image`, `/volume`, `/network`, `/key-manager`, ...,
//! and `/` for S3), applies injected faults, checks tokens, and answers with the shapes and
//! error bodies of the real services.

use super::fixture::{FaultKind, Fixture, S3Behaviour, resolve_date};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

mod keystone;
mod listing;

use listing::PagedList;

/// A token issued by the simulator.
#[derive(Debug, Clone)]
struct TokenInfo {
    roles: Vec<String>,
    project: bool,
    /// When the token stops working (`user.token_ttl_s`); `None`: never during a run.
    expires: Option<Instant>,
}

/// A created resource with a delayed status change.
#[derive(Debug, Clone)]
struct Resource {
    body: Map<String, Value>,
    created: Instant,
    ready_after: Duration,
    initial: &'static str,
    ready: String,
    /// Deleted: disappears once this much time has passed since the instant.
    gone_after: Option<(Instant, Duration)>,
    /// The server whose deletion takes this resource along (ports, boot volumes).
    owner: Option<String>,
}

impl Resource {
    fn render(&self) -> Value {
        let mut b = self.body.clone();
        if !self.initial.is_empty() {
            let st = if self.created.elapsed() >= self.ready_after {
                self.ready.clone()
            } else {
                self.initial.to_string()
            };
            b.insert("status".into(), json!(st));
        }
        if self.gone_after.is_some() && b.contains_key("OS-EXT-STS:task_state") {
            b.insert("OS-EXT-STS:task_state".into(), json!("deleting"));
        }
        Value::Object(b)
    }
    /// The status right now.
    fn status(&self) -> String {
        self.render()["status"].as_str().unwrap_or("").to_string()
    }
    fn now(body: Value) -> Resource {
        Resource {
            body: body.as_object().cloned().unwrap_or_default(),
            created: Instant::now(),
            ready_after: Duration::ZERO,
            initial: "",
            ready: String::new(),
            gone_after: None,
            owner: None,
        }
    }
}

/// Stateful resources, by kind and id, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Dynamic {
    kinds: HashMap<&'static str, indexmap::IndexMap<String, Resource>>,
}

impl Dynamic {
    fn map(&mut self, kind: &'static str) -> &mut indexmap::IndexMap<String, Resource> {
        self.kinds.entry(kind).or_default()
    }

    /// Removes resources whose deletion has completed, with what they own.
    fn purge(&mut self) {
        let mut gone: Vec<String> = vec![];
        for map in self.kinds.values_mut() {
            let done: Vec<String> = map
                .iter()
                .filter(|(_, r)| r.gone_after.is_some_and(|(at, d)| at.elapsed() >= d))
                .map(|(id, _)| id.clone())
                .collect();
            for id in done {
                map.shift_remove(&id);
                gone.push(id);
            }
        }
        if gone.is_empty() {
            return;
        }
        for map in self.kinds.values_mut() {
            map.retain(|_, r| r.owner.as_ref().is_none_or(|o| !gone.contains(o)));
        }
    }

    /// Marks a resource deleted after `after`; `false` if there is no such resource.
    fn schedule_delete(&mut self, kind: &'static str, id: &str, after: Duration) -> bool {
        let found = match self.map(kind).get_mut(id) {
            Some(r) if r.gone_after.is_none() => {
                r.gone_after = Some((Instant::now(), after));
                true
            }
            Some(_) => true,
            None => false,
        };
        self.purge();
        found
    }

    /// Live resources of a kind matching `pred`.
    fn count(&mut self, kind: &'static str, pred: impl Fn(&Value) -> bool) -> usize {
        self.map(kind)
            .values()
            .filter(|r| r.gone_after.is_none())
            .filter(|r| pred(&Value::Object(r.body.clone())))
            .count()
    }
}

/// Shared state of a running simulator.
pub(crate) struct SimState {
    pub(crate) fixture: Fixture,
    pub(crate) base: String,
    tokens: Mutex<HashMap<String, TokenInfo>>,
    flavors: Vec<Value>,
    /// The flavor listings, prepared per visibility filter and view (see [`flavor_list`]).
    flavor_lists: Vec<PagedList>,
    /// The image listing without (`[0]`) and with (`[1]`) `os_hidden` images.
    image_lists: [PagedList; 2],
    volume_types: Vec<Value>,
    dynamic: Mutex<Dynamic>,
    fault_hits: Vec<AtomicU64>,
    /// Pages invented by `endless-next` faults so far.
    endless_pages: AtomicU64,
    pub(crate) log: Mutex<Vec<String>>,
    pub(crate) cancel: CancellationToken,
    /// The scs-0302 Keystone, when the fixture asks for one.
    keystone: Option<Mutex<keystone::Keystone>>,
}

/// A stable UUID-shaped id from a kind and name.
fn stable_id(kind: &str, name: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in kind.bytes().chain([0]).chain(name.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    let mut h2 = h.rotate_left(29) ^ 0x9e3779b97f4a7c15;
    h2 = h2.wrapping_mul(0x100000001b3);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        h as u16 & 0xfff,
        (h2 >> 48) as u16 & 0xfff,
        h2 & 0xffff_ffff_ffff
    )
}

fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl SimState {
    /// The live token with this id; an expired one is forgotten.
    fn token(&self, id: &str) -> Option<TokenInfo> {
        let mut tokens = self.tokens.lock().ok()?;
        let info = tokens.get(id)?.clone();
        if info.expires.is_some_and(|e| Instant::now() >= e) {
            tokens.remove(id);
            return None;
        }
        Some(info)
    }

    /// Real time for `secs` simulated seconds.
    fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs * self.fixture.timing.time_scale).max(0.0))
    }

    /// The quota refusal for one more `kind`, if the fixture's quota is used up.
    fn over_quota(&self, kind: &'static str, service: &str) -> Option<Response> {
        let limit = *self.fixture.quotas.get(kind)?;
        let used = self.dynamic.lock().ok()?.count(kind, |_| true) as u64;
        if used < limit {
            return None;
        }
        Some(match service {
            "compute" => error(
                service,
                403,
                &format!(
                    "Quota exceeded for instances: Requested 1, but already used {used} of {limit} instances"
                ),
            ),
            "block-storage" => error(
                service,
                413,
                &format!("Maximum number of {kind} allowed ({limit}) exceeded"),
            ),
            "key-manager" => error(service, 403, &format!("Quota exceeded for {kind}")),
            _ => error(
                service,
                409,
                &format!(
                    "Quota exceeded for resources: ['{}'].",
                    kind.trim_end_matches('s')
                ),
            ),
        })
    }

    pub(crate) fn new(fixture: Fixture, base: String) -> SimState {
        let now = chrono::Utc::now();
        let flavors: Vec<Value> = fixture
            .flavors
            .iter()
            .map(|f| {
                let id = f.id.clone().unwrap_or_else(|| stable_id("flavor", &f.name));
                json!({
                    "id": id, "name": f.name, "ram": f.ram, "disk": f.disk, "vcpus": f.vcpus,
                    "swap": 0, "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false,
                    "os-flavor-access:is_public": f.is_public, "rxtx_factor": 1.0,
                    "description": f.description, "extra_specs": f.extra_specs,
                    "links": [{"rel": "self", "href": format!("{base}/compute/v2.1/flavors/{id}")}],
                })
            })
            .collect();
        let images: Vec<Value> = fixture
            .images
            .iter()
            .map(|i| {
                let id = i.id.clone().unwrap_or_else(|| stable_id("image", &i.name));
                let created = resolve_date(i.created_at.as_deref().unwrap_or("@now-30d"), now);
                let mut m = Map::new();
                m.insert("id".into(), json!(id));
                m.insert("name".into(), json!(i.name));
                m.insert("status".into(), json!(i.status));
                m.insert("visibility".into(), json!(i.visibility));
                m.insert("os_hidden".into(), json!(i.os_hidden));
                m.insert("protected".into(), json!(false));
                m.insert("size".into(), json!(i.size));
                m.insert("virtual_size".into(), Value::Null);
                m.insert("min_disk".into(), json!(i.min_disk));
                m.insert("min_ram".into(), json!(i.min_ram));
                m.insert("disk_format".into(), json!("qcow2"));
                m.insert("container_format".into(), json!("bare"));
                m.insert("os_hash_algo".into(), json!(i.os_hash_algo));
                m.insert(
                    "os_hash_value".into(),
                    json!(i.os_hash_algo.as_ref().map(|_| "0".repeat(128))),
                );
                m.insert("owner".into(), json!("5c5e00000000000000000000000000ad"));
                m.insert("created_at".into(), json!(created));
                m.insert("updated_at".into(), json!(created));
                m.insert("tags".into(), json!([]));
                for (k, v) in &i.properties {
                    let v = match v {
                        Value::String(s) => Value::String(resolve_date(s, now)),
                        other => other.clone(),
                    };
                    m.insert(k.clone(), v);
                }
                m.insert("self".into(), json!(format!("/v2/images/{id}")));
                m.insert("file".into(), json!(format!("/v2/images/{id}/file")));
                m.insert("schema".into(), json!("/v2/schemas/image"));
                Value::Object(m)
            })
            .collect();
        let image_lists = [false, true].map(|hidden| {
            PagedList::new(
                images
                    .iter()
                    .filter(|i| i["os_hidden"] == json!(hidden))
                    .cloned(),
            )
        });
        drop(images);
        let flavor_lists = flavor_lists(&flavors);
        let volume_types = fixture
            .volume_types
            .iter()
            .map(|t| {
                json!({
                    "id": t.id.clone().unwrap_or_else(|| stable_id("volume_type", &t.name)),
                    "name": t.name, "description": t.description, "is_public": true,
                    "extra_specs": t.extra_specs, "os-volume-type-access:is_public": true,
                    "qos_specs_id": null,
                })
            })
            .collect();
        let mut dynamic = Dynamic::default();
        for (kind, list) in [
            ("volumes", &fixture.resources.volumes),
            ("backups", &fixture.resources.backups),
            ("secrets", &fixture.resources.secrets),
        ] {
            for v in list {
                let mut v = v.clone();
                let id = uuid::Uuid::new_v4().to_string();
                if let Some(o) = v.as_object_mut() {
                    o.entry("id").or_insert(json!(id));
                    o.entry("status").or_insert(json!("available"));
                    if kind == "secrets" {
                        o.insert(
                            "secret_ref".into(),
                            json!(format!("{base}/key-manager/v1/secrets/{id}")),
                        );
                    }
                }
                let key = v
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .to_string();
                dynamic.map(kind).insert(key, Resource::now(v));
            }
        }
        for (i, name) in fixture.network.external_networks.iter().enumerate() {
            let id = stable_id("network", name);
            dynamic.map("networks").insert(
                id.clone(),
                Resource::now(json!({
                    "id": id, "name": name, "router:external": true, "shared": false,
                    "status": "ACTIVE", "admin_state_up": true, "subnets": [],
                    "project_id": format!("external-{i}"),
                })),
            );
        }
        // The project's default security group.
        let sg_id = stable_id("security_group", "default");
        // Its rules: the default-rule templates where the API exists; otherwise what Neutron
        // before 2023.2 gives it: the rules of a new group plus ingress from the group itself.
        let rules = match &fixture.network.default_security_group_rules {
            Some(templates) => render_rules(templates, &sg_id, true),
            None => {
                let mut defs = fixture.network.new_security_group_rules.clone();
                for ethertype in ["IPv4", "IPv6"] {
                    defs.push(super::fixture::DefaultRuleDef {
                        direction: "ingress".into(),
                        ethertype: ethertype.into(),
                        remote_group_id: Some("PARENT".into()),
                        remote_ip_prefix: None,
                        protocol: None,
                        port_range_min: None,
                        port_range_max: None,
                        used_in_default_sg: true,
                        used_in_non_default_sg: false,
                    });
                }
                render_rules(&defs, &sg_id, true)
            }
        };
        dynamic.map("security_groups").insert(
            sg_id.clone(),
            Resource::now(json!({"id": sg_id, "name": "default", "stateful": true,
                "shared": false, "tags": [], "revision_number": 1,
                "created_at": now_iso(), "updated_at": now_iso(),
                "description": "Default security group", "security_group_rules": rules,
                "project_id": fixture.user.project_id, "tenant_id": fixture.user.project_id})),
        );
        let fault_hits = fixture.faults.iter().map(|_| AtomicU64::new(0)).collect();
        let keystone = fixture
            .domain_manager
            .clone()
            .map(|d| Mutex::new(keystone::Keystone::new(d)));
        SimState {
            keystone,
            fixture,
            base,
            tokens: Mutex::new(HashMap::new()),
            flavors,
            flavor_lists,
            image_lists,
            volume_types,
            dynamic: Mutex::new(dynamic),
            fault_hits,
            endless_pages: AtomicU64::new(0),
            log: Mutex::new(vec![]),
            cancel: CancellationToken::new(),
        }
    }

    fn page_size(&self, service: &str) -> usize {
        self.fixture
            .page_size
            .get(service)
            .or_else(|| self.fixture.page_size.get("default"))
            .copied()
            .unwrap_or(1000)
            .max(1)
    }

    /// Stateful resources that exist now (deletions in progress excluded), as
    /// `(kind, id, name)`. For tests of leftovers.
    pub(crate) fn live_resources(&self) -> Vec<(String, String, String)> {
        let Ok(mut d) = self.dynamic.lock() else {
            return vec![];
        };
        d.purge();
        let mut out = vec![];
        for (kind, map) in &d.kinds {
            for (id, r) in map.iter().filter(|(_, r)| r.gone_after.is_none()) {
                let name = r.body.get("name").and_then(Value::as_str).unwrap_or("");
                out.push((kind.to_string(), id.clone(), name.to_string()));
            }
        }
        out.sort();
        out
    }

    /// The tokens this simulator issued that are still live.
    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.tokens
            .lock()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }
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
fn flavor_lists(flavors: &[Value]) -> Vec<PagedList> {
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

fn render_rules(
    defs: &[super::fixture::DefaultRuleDef],
    sg_id: &str,
    default_sg: bool,
) -> Vec<Value> {
    defs.iter()
        .filter(|r| {
            if default_sg {
                r.used_in_default_sg
            } else {
                r.used_in_non_default_sg
            }
        })
        .map(|r| {
            let remote_group = match r.remote_group_id.as_deref() {
                Some("PARENT") => Some(sg_id.to_string()),
                other => other.map(str::to_string),
            };
            json!({"id": uuid::Uuid::new_v4().to_string(), "security_group_id": sg_id,
                "direction": r.direction, "ethertype": r.ethertype, "protocol": r.protocol,
                "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
                "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": remote_group,
                "normalized_cidr": r.remote_ip_prefix, "remote_address_group_id": null,
                "description": null, "tags": [], "revision_number": 0})
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Responses

fn json_response(status: u16, v: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(v.to_string()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A JSON answer whose text is already built.
fn json_text_response(status: u16, text: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(text))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn empty(status: u16) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// An error body in the style of each service.
fn error(service: &str, status: u16, message: &str) -> Response {
    match service {
        "identity" => json_response(
            status,
            &json!({"error": {"code": status, "message": message, "title": reason(status)}}),
        ),
        "compute" | "block-storage" => {
            let key = match status {
                400 => "badRequest",
                403 => "forbidden",
                404 => "itemNotFound",
                406 => "notAcceptable",
                409 => "conflictingRequest",
                429 => "overLimit",
                _ => "computeFault",
            };
            json_response(status, &json!({key: {"code": status, "message": message}}))
        }
        "network" => json_response(
            status,
            &json!({"NeutronError": {"type": format!("HTTP{}", reason(status).replace(' ', "")),
                "message": message, "detail": ""}}),
        ),
        "key-manager" => json_response(
            status,
            &json!({"code": status, "title": reason(status), "description": message}),
        ),
        // Recorded from Zed Glance (webob's JSON error page for `Accept: application/json`).
        "image" => json_response(
            status,
            &json!({"message": format!("{message}<br /><br />\n\n\n"),
                "code": format!("{status} {}", reason(status)), "title": reason(status)}),
        ),
        _ => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
            .body(Body::from(format!(
                "<html>\n <head>\n  <title>{status} {r}</title>\n </head>\n <body>\n  <h1>{status} {r}</h1>\n  {message}<br /><br />\n\n\n\n </body>\n</html>",
                r = reason(status)
            )))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}

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

/// One page of `items` after `marker`, at most min(limit, max) long; the marker of the next
/// page when more items follow.
fn page(
    items: &[Value],
    q: &HashMap<String, String>,
    max: usize,
) -> Result<(Vec<Value>, Option<String>), String> {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(max)
        .clamp(1, max);
    let start = match q.get("marker") {
        None => 0,
        Some(m) => {
            items
                .iter()
                .position(|v| v.get("id").and_then(Value::as_str) == Some(m))
                .ok_or_else(|| format!("Marker {m} could not be found."))?
                + 1
        }
    };
    let slice: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    // A full page gets a next link even when nothing follows, as Nova, Neutron, Glance and
    // Cinder do (recorded from Zed); the client then reads one empty page.
    let next = (slice.len() == limit)
        .then(|| {
            slice
                .last()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
        })
        .flatten()
        .map(str::to_string);
    Ok((slice, next))
}

// ---------------------------------------------------------------------------------------------
// Dispatch

struct Req {
    method: Method,
    segs: Vec<String>,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Value,
}

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

/// The header that tells how long the simulator worked on an answer, in microseconds, without
/// the delays of `latency` faults (read by `scripts/bench`).
pub(crate) const SERVER_TIME_HEADER: &str = "x-sim-server-time-us";

pub(crate) async fn handle(state: std::sync::Arc<SimState>, req: Request<Body>) -> Response {
    let started = Instant::now();
    let mut delayed = Duration::ZERO;
    let (parts, body) = req.into_parts();
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
        segs: segs.clone(),
        query: query_map(parts.uri.query()),
        headers: parts.headers.clone(),
        body,
    };
    // Faults.
    let api = api_path(service, &segs, &state.fixture.user.project_id);
    let mut post: Vec<FaultKind> = vec![];
    for (i, f) in state.fixture.faults.iter().enumerate() {
        if f.service != "*" && f.service != service {
            continue;
        }
        if let Some(m) = &f.method
            && !m.eq_ignore_ascii_case(parts.method.as_str())
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
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
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
                return resp;
            }
            FaultKind::RateLimit => {
                let mut resp = error(service, 429, "Rate limit exceeded, retry later.");
                set_header(
                    &mut resp,
                    "Retry-After",
                    f.retry_after.as_deref().unwrap_or("0"),
                );
                return resp;
            }
            FaultKind::Timeout => {
                tokio::select! {
                    _ = state.cancel.cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                }
                return error(service, 504, "Gateway Timeout");
            }
            FaultKind::MalformedJson => {
                return Response::builder()
                    .status(200)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{\"truncated\": [1, 2,"))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
            FaultKind::Reset => return reset(),
            FaultKind::Html => {
                let s = f.status.unwrap_or(200);
                return Response::builder()
                    .status(s)
                    .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
                    .body(Body::from(format!(
                        "<!DOCTYPE html>\n<html><head><title>{s} {r}</title></head>\n<body><h1>{r}</h1>\n\
                         <p>The proxy could not reach the service. Please try again later.</p>\n</body></html>\n",
                        r = reason(s)
                    )))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
            FaultKind::HugeBody => return huge_body(&state, f.bytes),
            FaultKind::TokenExpiry => {
                if let Some(t) = r.headers.get("x-auth-token").and_then(|v| v.to_str().ok())
                    && let Ok(mut tokens) = state.tokens.lock()
                {
                    tokens.remove(t);
                }
                return error(
                    service,
                    401,
                    "The request you have made requires authentication.",
                );
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
    let mut resp = route(&state, service, &r);
    for kind in post {
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
                    &path,
                    &r.query,
                    service,
                    endless.then_some(page),
                )
                .await
            }
            _ => resp,
        };
    }
    let worked = started.elapsed().saturating_sub(delayed);
    set_header(
        &mut resp,
        SERVER_TIME_HEADER,
        &worked.as_micros().to_string(),
    );
    resp
}

/// Marker prefix of the pages a `endless-next` fault invents.
const ENDLESS_MARKER: &str = "sim-endless-";

fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = axum::http::HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// An answer whose body fails at once: the server drops the connection without sending
/// anything (hyper has not written the head yet when the first body frame fails).
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
fn huge_body(state: &std::sync::Arc<SimState>, bytes: Option<u64>) -> Response {
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

fn route(st: &SimState, service: &str, r: &Req) -> Response {
    if let Ok(mut d) = st.dynamic.lock() {
        d.purge();
    }
    let segs: Vec<&str> = r.segs.iter().map(String::as_str).collect();
    let base = &st.base;
    match service {
        "s3" => return s3(st, r),
        "identity" => return identity(st, r, &segs),
        "unknown" => return error("", 404, "The resource could not be found."),
        _ => {}
    }
    // Version documents need no token.
    if segs.len() == 1 || (segs.len() == 2 && segs[1].is_empty()) {
        return version_list(st, service, base);
    }
    let token = r
        .headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let info = st.token(token);
    let Some(info) = info else {
        return error(
            service,
            401,
            "The request you have made requires authentication.",
        );
    };
    if !info.project {
        return error(service, 403, "A project-scoped token is required.");
    }
    if segs.len() == 2 {
        return version_single(st, service, base, segs[1]);
    }
    let rest: Vec<&str> = segs[2..].to_vec();
    match service {
        "compute" => compute(st, r, &rest),
        "image" => image(st, r, &rest),
        "block-storage" => {
            let rest: Vec<&str> = if rest.first() == Some(&st.fixture.user.project_id.as_str()) {
                rest[1..].to_vec()
            } else {
                rest
            };
            block_storage(st, r, &rest)
        }
        "network" => network(st, r, &rest),
        "key-manager" => key_manager(st, r, &rest, &info),
        _ => json_response(200, &json!({})),
    }
}

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

fn mount_of(service: &str) -> &str {
    match service {
        "block-storage" => "volume",
        s => s,
    }
}

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

// ---------------------------------------------------------------------------------------------
// Keystone

fn catalog(st: &SimState) -> Vec<Value> {
    let base = &st.base;
    let pid = &st.fixture.user.project_id;
    st.fixture
        .services
        .iter()
        .map(|s| {
            let (t, name, url, ifaces) = match s {
                super::fixture::ServiceDef::Type(t) => (t.as_str(), None, None, None),
                super::fixture::ServiceDef::Full(f) => (
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

fn keystone_version(base: &str) -> Value {
    json!({"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/identity/v3/")}],
        "media-types": [{"base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"}]})
}

fn identity(st: &SimState, r: &Req, segs: &[&str]) -> Response {
    let base = &st.base;
    let unauthorized = || {
        error(
            "identity",
            401,
            "The request you have made requires authentication.",
        )
    };
    match (
        &r.method,
        segs.get(1).copied(),
        segs.get(2).copied(),
        segs.get(3).copied(),
    ) {
        (&Method::GET, None | Some(""), _, _) => json_response(
            300,
            &json!({"versions": {"values": [keystone_version(base)]}}),
        ),
        (&Method::GET, Some("v3"), None | Some(""), _) => {
            json_response(200, &json!({"version": keystone_version(base)}))
        }
        (&Method::POST, Some("v3"), Some("auth"), Some("tokens")) => {
            if let Some(resp) = st
                .keystone
                .as_ref()
                .and_then(|k| k.lock().ok()?.auth(st, r))
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
            let expires_at =
                now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
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
                token["catalog"] = Value::Array(catalog(st));
            } else if scope.get("domain").is_some() {
                token["domain"] = json!({"id": u.domain_id, "name": u.domain_name});
                token["roles"] = json!([]);
                token["catalog"] = Value::Array(catalog(st));
            }
            let mut resp = json_response(201, &json!({"token": token}));
            if let Ok(v) = axum::http::HeaderValue::from_str(&token_id) {
                resp.headers_mut().insert("X-Subject-Token", v);
            }
            resp
        }
        _ if !r.headers.contains_key("x-auth-token") => unauthorized(),
        _ => st
            .keystone
            .as_ref()
            .and_then(|k| k.lock().ok()?.handle(r, segs))
            .unwrap_or_else(|| error("identity", 404, "The resource could not be found.")),
    }
}

// ---------------------------------------------------------------------------------------------
// Nova

fn requested_microversion(r: &Req) -> Option<String> {
    if let Some(v) = r
        .headers
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        return Some(v.strip_prefix("compute").unwrap_or(v).trim().to_string());
    }
    r.headers
        .get("x-openstack-nova-api-version")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn mv_tuple(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn compute(st: &SimState, r: &Req, rest: &[&str]) -> Response {
    let fx = &st.fixture;
    let mv = match requested_microversion(r) {
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
                return error(
                    "compute",
                    406,
                    &format!(
                        "Version {s} is not supported by the API. Minimum is {} and maximum is {}.",
                        fx.compute.min_version, fx.compute.max_version
                    ),
                );
            }
        },
    };
    let mut resp = match (&r.method, rest) {
        (&Method::GET, ["flavors", "detail"]) | (&Method::GET, ["flavors"]) => {
            let filter = r.query.get("is_public").map(|s| s.to_ascii_lowercase());
            let view = if rest.len() == 1 {
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
                        let links = json!([{"rel": "next",
                            "href": format!("{}/compute/v2.1/{}?{q}", st.base, rest.join("/"))}]);
                        body.push_str(&format!(",\"flavors_links\":{links}"));
                    }
                    body.push('}');
                    json_text_response(200, body)
                }
            }
        }
        (&Method::GET, ["flavors", id]) => match st.flavors.iter().find(|f| f["id"] == *id) {
            Some(f) => json_response(200, &json!({"flavor": FlavorView::detail(mv).render(f)})),
            None => error("compute", 404, &format!("Flavor {id} could not be found.")),
        },
        (&Method::GET, ["flavors", id, "os-extra_specs"]) => {
            match st.flavors.iter().find(|f| f["id"] == *id) {
                Some(f) => json_response(200, &json!({"extra_specs": f["extra_specs"]})),
                None => error("compute", 404, &format!("Flavor {id} could not be found.")),
            }
        }
        (&Method::POST, ["servers"]) => {
            if let Some(refused) = st.over_quota("servers", "compute") {
                return refused;
            }
            create_server(st, &r.body["server"])
        }
        (&Method::GET, ["servers"]) | (&Method::GET, ["servers", "detail"]) => {
            list_dynamic(st, r, "compute", "servers", "servers")
        }
        (&Method::GET, ["servers", id]) => show_dynamic(st, "compute", "servers", "server", id),
        (&Method::DELETE, ["servers", id]) => {
            let after = st.scaled(fx.timing.server_delete_after);
            let found = st
                .dynamic
                .lock()
                .map(|mut d| d.schedule_delete("servers", id, after))
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
        }
        (&Method::POST, ["servers", id, "action"]) => {
            let res = st.dynamic.lock().ok().and_then(|mut d| {
                d.map("servers").get(*id).map(|r| {
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
        }
        _ => error("compute", 404, "The resource could not be found."),
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("compute {}.{}", mv.0, mv.1)) {
        resp.headers_mut().insert("OpenStack-API-Version", v);
    }
    resp
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

// ---------------------------------------------------------------------------------------------
// Stateful helpers

fn list_dynamic(st: &SimState, r: &Req, service: &str, kind: &'static str, key: &str) -> Response {
    let items: Vec<Value> = st
        .dynamic
        .lock()
        .map(|mut d| d.map(kind).values().map(Resource::render).collect())
        .unwrap_or_default();
    let items: Vec<Value> = items
        .into_iter()
        .filter(|v| {
            r.query.iter().all(|(k, want)| match k.as_str() {
                "limit" | "marker" | "fields" | "all_tenants" => true,
                _ => match v.get(k) {
                    Some(Value::String(s)) => s == want,
                    Some(Value::Bool(b)) => b.to_string().eq_ignore_ascii_case(want),
                    Some(Value::Null) | None => false,
                    Some(other) => want.as_str() == other.to_string().as_str(),
                },
            })
        })
        .collect();
    match page(&items, &r.query, st.page_size(service)) {
        Err(m) => error(service, 400, &m),
        Ok((p, next)) => {
            let mut body = json!({key: p});
            if let Some(m) = next {
                let limit = r.query.get("limit").cloned().unwrap_or_default();
                let path = r.segs.join("/");
                body[format!("{key}_links")] = json!([{"rel": "next",
                    "href": format!("{}/{path}?limit={limit}&marker={m}", st.base)}]);
            }
            json_response(200, &body)
        }
    }
}

fn show_dynamic(st: &SimState, service: &str, kind: &'static str, key: &str, id: &str) -> Response {
    let found = st
        .dynamic
        .lock()
        .ok()
        .and_then(|mut d| d.map(kind).get(id).map(Resource::render));
    match found {
        Some(v) => json_response(200, &json!({key: v})),
        None => error(service, 404, &format!("{key} {id} could not be found.")),
    }
}

fn delete_dynamic(st: &SimState, service: &str, kind: &'static str, id: &str, ok: u16) -> Response {
    let removed = st
        .dynamic
        .lock()
        .ok()
        .and_then(|mut d| d.map(kind).shift_remove(id));
    match removed {
        Some(_) => empty(ok),
        None => error(service, 404, &format!("{kind} {id} could not be found.")),
    }
}

fn insert(st: &SimState, kind: &'static str, res: Resource) -> Value {
    let v = res.render();
    let id = v["id"].as_str().unwrap_or_default().to_string();
    if let Ok(mut d) = st.dynamic.lock() {
        d.map(kind).insert(id, res);
    }
    v
}

fn delayed(body: Value, after: Duration, initial: &'static str, ready: &str) -> Resource {
    Resource {
        body: body.as_object().cloned().unwrap_or_default(),
        created: Instant::now(),
        ready_after: after,
        initial,
        ready: ready.to_string(),
        gone_after: None,
        owner: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Glance

fn image(st: &SimState, r: &Req, rest: &[&str]) -> Response {
    match (&r.method, rest) {
        (&Method::GET, ["images"]) => {
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
        (&Method::GET, ["images", id]) => match st.image_lists.iter().find_map(|l| l.get(id)) {
            Some(i) => json_response(200, &i),
            None => error("image", 404, &format!("No image found with ID {id}")),
        },
        _ => error("image", 404, "The resource could not be found."),
    }
}

// ---------------------------------------------------------------------------------------------
// Cinder

fn block_storage(st: &SimState, r: &Req, rest: &[&str]) -> Response {
    let fx = &st.fixture;
    match (&r.method, rest) {
        (&Method::GET, ["types"]) => {
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
        (&Method::GET, ["types", id]) => {
            match st.volume_types.iter().find(|t| t["id"] == json!(id)) {
                Some(t) => json_response(200, &json!({"volume_type": t})),
                None => error(
                    "block-storage",
                    404,
                    &format!("Volume type {id} could not be found."),
                ),
            }
        }
        (&Method::POST, ["volumes"]) => {
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
                st,
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
        (&Method::GET, ["volumes"]) | (&Method::GET, ["volumes", "detail"]) => {
            list_dynamic(st, r, "block-storage", "volumes", "volumes")
        }
        (&Method::GET, ["volumes", id]) => {
            show_dynamic(st, "block-storage", "volumes", "volume", id)
        }
        (&Method::DELETE, ["volumes", id]) => {
            let status = st
                .dynamic
                .lock()
                .ok()
                .and_then(|mut d| d.map("volumes").get(*id).map(Resource::status));
            match status.as_deref() {
                Some("available" | "error") | None => {
                    delete_dynamic(st, "block-storage", "volumes", id, 202)
                }
                Some(other) => error(
                    "block-storage",
                    400,
                    &format!(
                        "Invalid volume: Volume status must be available or error or \
                         error_restoring or error_extending or error_managing and must not be \
                         migrating, attached, belong to a group, have snapshots, awaiting a \
                         transfer, or be disassociated from snapshots after volume transfer \
                         (current status: {other})."
                    ),
                ),
            }
        }
        (&Method::POST, ["backups"]) => {
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
                st,
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
        (&Method::GET, ["backups"]) | (&Method::GET, ["backups", "detail"]) => {
            list_dynamic(st, r, "block-storage", "backups", "backups")
        }
        (&Method::GET, ["backups", id]) => {
            show_dynamic(st, "block-storage", "backups", "backup", id)
        }
        (&Method::DELETE, ["backups", id]) => {
            let status = st
                .dynamic
                .lock()
                .ok()
                .and_then(|mut d| d.map("backups").get(*id).map(Resource::status));
            match status.as_deref() {
                Some("available" | "error") | None => {
                    delete_dynamic(st, "block-storage", "backups", id, 202)
                }
                Some(other) => error(
                    "block-storage",
                    400,
                    &format!(
                        "Invalid backup: Backup status must be available or error (current: {other})."
                    ),
                ),
            }
        }
        (&Method::POST, ["backups", id, "restore"]) => {
            let exists = st
                .dynamic
                .lock()
                .map(|mut d| d.map("backups").contains_key(*id))
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
                st,
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
        _ => error("block-storage", 404, "The resource could not be found."),
    }
}

// ---------------------------------------------------------------------------------------------
// Neutron

fn network(st: &SimState, r: &Req, rest: &[&str]) -> Response {
    let fx = &st.fixture;
    let pid = &fx.user.project_id;
    let simple = |kind: &'static str, single: &str, r: &Req, rest: &[&str]| -> Option<Response> {
        Some(match (&r.method, rest) {
            (&Method::GET, [_]) => list_dynamic(st, r, "network", kind, kind),
            (&Method::GET, [_, id]) => show_dynamic(st, "network", kind, single, id),
            (&Method::DELETE, [_, id]) => {
                if let Some(conflict) = neutron_in_use(st, kind, id) {
                    return Some(conflict);
                }
                let resp = delete_dynamic(st, "network", kind, id, 204);
                if kind == "networks"
                    && resp.status() == 204
                    && let Ok(mut d) = st.dynamic.lock()
                {
                    d.map("subnets")
                        .retain(|_, r| r.body.get("network_id") != Some(&json!(id)));
                }
                resp
            }
            (&Method::POST, [_]) => {
                if let Some(refused) = st.over_quota(kind, "network") {
                    return Some(refused);
                }
                let Some(obj) = r.body.get(single).and_then(Value::as_object) else {
                    return Some(error(
                        "network",
                        400,
                        &format!("Resource body required: {single}"),
                    ));
                };
                let mut m = obj.clone();
                let id = uuid::Uuid::new_v4().to_string();
                m.insert("id".into(), json!(id));
                m.entry("name").or_insert(json!(""));
                m.insert("project_id".into(), json!(pid));
                m.insert("tenant_id".into(), json!(pid));
                m.insert("created_at".into(), json!(now_iso()));
                match kind {
                    "networks" => {
                        m.insert("status".into(), json!("ACTIVE"));
                        m.entry("router:external").or_insert(json!(false));
                        m.insert("subnets".into(), json!([]));
                    }
                    "routers" => {
                        m.insert("status".into(), json!("ACTIVE"));
                        m.entry("external_gateway_info").or_insert(Value::Null);
                    }
                    "subnets" => {
                        let net = m.get("network_id").and_then(Value::as_str).unwrap_or("");
                        let exists = st
                            .dynamic
                            .lock()
                            .map(|mut d| d.map("networks").contains_key(net))
                            .unwrap_or(false);
                        if !exists {
                            return Some(error(
                                "network",
                                404,
                                &format!("Network {net} could not be found."),
                            ));
                        }
                    }
                    "security_groups" => {
                        let rules = render_rules(&fx.network.new_security_group_rules, &id, false);
                        m.insert("security_group_rules".into(), json!(rules));
                        m.entry("stateful").or_insert(json!(true));
                        m.insert("shared".into(), json!(false));
                        m.insert("tags".into(), json!([]));
                        m.insert("revision_number".into(), json!(1));
                        m.insert("updated_at".into(), json!(now_iso()));
                    }
                    _ => {}
                }
                let v = insert(st, kind, Resource::now(Value::Object(m)));
                json_response(201, &json!({single: v}))
            }
            _ => return None,
        })
    };
    let kind_of = |seg: &str| -> Option<(&'static str, &'static str)> {
        match seg {
            "networks" => Some(("networks", "network")),
            "subnets" => Some(("subnets", "subnet")),
            "routers" => Some(("routers", "router")),
            "ports" => Some(("ports", "port")),
            "security-groups" => Some(("security_groups", "security_group")),
            "security-group-rules" => Some(("security_group_rules", "security_group_rule")),
            _ => None,
        }
    };
    match (&r.method, rest) {
        (&Method::GET, ["default-security-group-rules"]) => {
            match &fx.network.default_security_group_rules {
                None => error("network", 404, "The resource could not be found."),
                Some(rules) => {
                    let list: Vec<Value> = rules
                    .iter()
                    .map(|r| json!({"id": stable_id("dsgr", &format!("{r:?}")), "direction": r.direction,
                        "ethertype": r.ethertype, "protocol": r.protocol,
                        "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
                        "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id,
                        "remote_address_group_id": null, "description": "",
                        "used_in_default_sg": r.used_in_default_sg,
                        "used_in_non_default_sg": r.used_in_non_default_sg}))
                    .collect();
                    json_response(200, &json!({"default_security_group_rules": list}))
                }
            }
        }
        (&Method::PUT, ["routers", id, action])
            if *action == "add_router_interface" || *action == "remove_router_interface" =>
        {
            router_interface(st, id, action, &r.body)
        }
        (_, [seg, ..]) => match kind_of(seg).and_then(|(k, s)| simple(k, s, r, rest)) {
            Some(resp) => resp,
            None => error("network", 404, "The resource could not be found."),
        },
        _ => error("network", 404, "The resource could not be found."),
    }
}

/// Whether a Neutron resource may not be deleted yet: a router with interfaces, a subnet or
/// network with ports.
fn neutron_in_use(st: &SimState, kind: &str, id: &str) -> Option<Response> {
    let mut d = st.dynamic.lock().ok()?;
    let ports: Vec<Value> = d.map("ports").values().map(Resource::render).collect();
    let on_subnet = |p: &Value| {
        p["fixed_ips"]
            .as_array()
            .is_some_and(|ips| ips.iter().any(|ip| ip["subnet_id"] == json!(id)))
    };
    let msg = match kind {
        "routers"
            if ports.iter().any(|p| {
                p["device_id"] == json!(id)
                    && p["device_owner"] == json!("network:router_interface")
            }) =>
        {
            format!("Router {id} still has ports")
        }
        "subnets" if ports.iter().any(on_subnet) => format!(
            "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."
        ),
        "networks" if ports.iter().any(|p| p["network_id"] == json!(id)) => format!(
            "Unable to complete operation on network {id}. There are one or more ports still in use on the network."
        ),
        _ => return None,
    };
    Some(error("network", 409, &msg))
}

/// `PUT /routers/{id}/add_router_interface` and `remove_router_interface` (by subnet): the
/// interface is a port owned by the router.
fn router_interface(st: &SimState, id: &str, action: &str, body: &Value) -> Response {
    let pid = &st.fixture.user.project_id;
    let Ok(mut d) = st.dynamic.lock() else {
        return error("network", 500, "internal error");
    };
    if !d.map("routers").contains_key(id) {
        return error("network", 404, &format!("Router {id} could not be found."));
    }
    let subnet = body["subnet_id"].as_str().unwrap_or("").to_string();
    let existing: Option<String> = d
        .map("ports")
        .iter()
        .find(|(_, p)| {
            p.body.get("device_id") == Some(&json!(id))
                && p.body["fixed_ips"]
                    .as_array()
                    .is_some_and(|ips| ips.iter().any(|ip| ip["subnet_id"] == json!(subnet)))
        })
        .map(|(k, _)| k.clone());
    if action == "remove_router_interface" {
        return match existing {
            Some(port) => {
                d.map("ports").shift_remove(&port);
                json_response(
                    200,
                    &json!({"id": id, "subnet_id": subnet, "port_id": port,
                        "tenant_id": pid, "project_id": pid}),
                )
            }
            None => error(
                "network",
                404,
                &format!("Router {id} has no interface on subnet {subnet}"),
            ),
        };
    }
    let Some(network) = d
        .map("subnets")
        .get(&subnet)
        .and_then(|s| s.body.get("network_id").cloned())
    else {
        return error(
            "network",
            404,
            &format!("Subnet {subnet} could not be found."),
        );
    };
    if existing.is_some() {
        return error(
            "network",
            400,
            &format!("Router already has a port on subnet {subnet}."),
        );
    }
    let port = uuid::Uuid::new_v4().to_string();
    d.map("ports").insert(
        port.clone(),
        Resource::now(
            json!({"id": port, "name": "", "network_id": network, "device_id": id,
            "device_owner": "network:router_interface", "status": "ACTIVE",
            "fixed_ips": [{"subnet_id": subnet}], "project_id": pid}),
        ),
    );
    json_response(
        200,
        &json!({"id": id, "subnet_id": subnet, "port_id": port, "tenant_id": pid, "project_id": pid}),
    )
}

// ---------------------------------------------------------------------------------------------
// Barbican

fn key_manager(st: &SimState, r: &Req, rest: &[&str], info: &TokenInfo) -> Response {
    let km = &st.fixture.key_manager;
    let privileged = info.roles.iter().any(|r| r == "admin");
    let forbidden = || error("key-manager", 403, "Secret(s) action not allowed for user");
    match (&r.method, rest) {
        (&Method::GET, ["secrets"]) => {
            if !km.member_can_list && !privileged {
                return forbidden();
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
        (&Method::POST, ["secrets"]) => {
            if !km.member_can_create && !privileged {
                return forbidden();
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
            insert(st, "secrets", Resource::now(body));
            json_response(201, &json!({"secret_ref": href}))
        }
        (&Method::GET, ["secrets", id]) => {
            let found = st
                .dynamic
                .lock()
                .ok()
                .and_then(|mut d| d.map("secrets").get(*id).map(Resource::render));
            match found {
                Some(v) => json_response(200, &v),
                None => error("key-manager", 404, "Secret not found."),
            }
        }
        (&Method::DELETE, ["secrets", id]) => {
            if !km.member_can_delete && !privileged {
                return forbidden();
            }
            delete_dynamic(st, "key-manager", "secrets", id, 204)
        }
        _ => error(
            "key-manager",
            404,
            "Not Found. Sorry but your princess is in another castle.",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// S3

fn s3(st: &SimState, r: &Req) -> Response {
    let xml = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/xml")
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    };
    let err = |status: u16, code: &str, msg: &str| {
        xml(
            status,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{msg}</Message><RequestId>tx{}</RequestId></Error>",
                uuid::Uuid::new_v4().simple()
            ),
        )
    };
    if r.method != Method::GET {
        return err(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed.",
        );
    }
    match st.fixture.s3.behaviour {
        S3Behaviour::InvalidAccessKey => err(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
        S3Behaviour::NoSuchKey => err(404, "NoSuchKey", "The specified key does not exist."),
        S3Behaviour::AccessDenied => err(403, "AccessDenied", "Access Denied."),
        S3Behaviour::SignatureMismatch => err(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."),
        S3Behaviour::ListBuckets => xml(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>anonymous</ID><DisplayName></DisplayName></Owner><Buckets></Buckets></ListAllMyBucketsResult>".into()),
        S3Behaviour::Absent => error("", 404, "The resource could not be found."),
    }
}
