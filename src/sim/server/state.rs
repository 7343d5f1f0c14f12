//! The shared state of a running simulator ([`SimState`]): the fixture, the issued tokens,
//! the precomputed listings, the stateful resources, the fault counters and the request log,
//! built from the fixture when the simulator starts.

use super::compute::flavor_lists;
use super::keystone;
use super::listing::PagedList;
use super::network::render_rules;
use super::resources::{Dynamic, Resource};
use super::respond::error;
use crate::sim::fixture::{DefaultRuleDef, Fixture, resolve_date};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A token issued by the simulator.
#[derive(Debug, Clone)]
pub(super) struct TokenInfo {
    pub(super) roles: Vec<String>,
    pub(super) project: bool,
    /// When the token stops working (`user.token_ttl_s`); `None`: never during a run.
    pub(super) expires: Option<Instant>,
}

/// Shared state of a running simulator.
pub(crate) struct SimState {
    pub(crate) fixture: Fixture,
    pub(crate) base: String,
    pub(super) tokens: Mutex<HashMap<String, TokenInfo>>,
    pub(super) flavors: Vec<Value>,
    /// The flavor listings, prepared per visibility filter and view (see `compute::flavor_list_index`).
    pub(super) flavor_lists: Vec<PagedList>,
    /// The image listing without (`[0]`) and with (`[1]`) `os_hidden` images.
    pub(super) image_lists: [PagedList; 2],
    pub(super) volume_types: Vec<Value>,
    pub(super) dynamic: Mutex<Dynamic>,
    pub(super) fault_hits: Vec<AtomicU64>,
    /// Pages invented by `endless-next` faults so far.
    pub(super) endless_pages: AtomicU64,
    pub(crate) log: Mutex<Vec<String>>,
    pub(crate) cancel: CancellationToken,
    /// The scs-0302 Keystone, when the fixture asks for one.
    pub(super) keystone: Option<Mutex<keystone::Keystone>>,
    /// The service catalog of a token, made at the first token (it depends only on the
    /// fixture and the base URL).
    pub(super) catalog: std::sync::OnceLock<Value>,
}

/// A stable UUID-shaped id from a kind and name.
pub(super) fn stable_id(kind: &str, name: &str) -> String {
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

/// The current time in the form the services use (`2024-01-31T12:00:00Z`).
pub(super) fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl SimState {
    /// The live token with this id; an expired one is forgotten.
    pub(super) fn token(&self, id: &str) -> Option<TokenInfo> {
        let mut tokens = self.tokens.lock().ok()?;
        let info = tokens.get(id)?.clone();
        if info.expires.is_some_and(|e| Instant::now() >= e) {
            tokens.remove(id);
            return None;
        }
        Some(info)
    }

    /// Real time for `secs` simulated seconds.
    pub(super) fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs * self.fixture.timing.time_scale).max(0.0))
    }

    /// The quota refusal for one more `kind`, if the fixture's quota is used up.
    pub(super) fn over_quota(&self, kind: &'static str, service: &str) -> Option<Response> {
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
                    defs.push(DefaultRuleDef {
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
            catalog: std::sync::OnceLock::new(),
        }
    }

    pub(super) fn page_size(&self, service: &str) -> usize {
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
