//! The fake Neutron: networks, subnets, routers, ports, security groups and rules (listed with
//! filters, created, shown, deleted unless still in use), router interfaces, and the default
//! security group rule templates where the fixture has that API.

use super::SimState;
use super::pipeline::Req;
use super::resources::{Resource, delete_dynamic, insert, list_dynamic, show_dynamic};
use super::respond::{error, json_response};
use super::state::{now_iso, stable_id};
use crate::sim::fixture::DefaultRuleDef;
use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::{Value, json};
use std::sync::Arc;

/// The collections: path segment, resource kind (the listing's key), and the key of one.
const COLLECTIONS: [(&str, &str, &str); 6] = [
    ("networks", "networks", "network"),
    ("subnets", "subnets", "subnet"),
    ("routers", "routers", "router"),
    ("ports", "ports", "port"),
    ("security-groups", "security_groups", "security_group"),
    (
        "security-group-rules",
        "security_group_rules",
        "security_group_rule",
    ),
];

/// The routes below `/network`.
pub(super) fn router(st: &Arc<SimState>) -> Router<Arc<SimState>> {
    let mut api = Router::new()
        .route(
            "/{version}/default-security-group-rules",
            get(default_security_group_rules),
        )
        .route(
            "/{version}/routers/{id}/{action}",
            put(router_interface_action),
        );
    for (seg, kind, single) in COLLECTIONS {
        api =
            api
                .route(
                    &format!("/{{version}}/{seg}"),
                    get(
                        move |State(st): State<Arc<SimState>>,
                              Extension(r): Extension<Arc<Req>>| async move {
                            list_dynamic(&st, &r, "network", kind, kind)
                        },
                    )
                    .post(
                        move |State(st): State<Arc<SimState>>,
                              Extension(r): Extension<Arc<Req>>| async move {
                            create(&st, &r, kind, single)
                        },
                    ),
                )
                .route(
                    &format!("/{{version}}/{seg}/{{id}}"),
                    get(
                        move |State(st): State<Arc<SimState>>,
                              Path((_, id)): Path<(String, String)>| async move {
                            show_dynamic(&st, "network", kind, single, &id)
                        },
                    )
                    .delete(
                        move |State(st): State<Arc<SimState>>,
                              Path((_, id)): Path<(String, String)>| async move {
                            delete(&st, kind, &id)
                        },
                    ),
                );
    }
    let api = api
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    super::versions::service(st, api)
}

/// Any other path or method.
async fn not_found() -> Response {
    error("network", 404, "The resource could not be found.")
}

/// The rules of a new security group `sg_id` (`default_sg`: the project's default group)
/// made from the fixture's rule templates (`PARENT`: the group itself).
pub(super) fn render_rules(defs: &[DefaultRuleDef], sg_id: &str, default_sg: bool) -> Vec<Value> {
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

/// `GET /default-security-group-rules` (Neutron 2023.2 and later; `404` before).
async fn default_security_group_rules(State(st): State<Arc<SimState>>) -> Response {
    let fx = &st.fixture;
    match &fx.network.default_security_group_rules {
        None => error("network", 404, "The resource could not be found."),
        Some(rules) => {
            let list: Vec<Value> = rules
                .iter()
                .map(|r| {
                    json!({"id": stable_id("dsgr", &format!("{r:?}")), "direction": r.direction,
                "ethertype": r.ethertype, "protocol": r.protocol,
                "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
                "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id,
                "remote_address_group_id": null, "description": "",
                "used_in_default_sg": r.used_in_default_sg,
                "used_in_non_default_sg": r.used_in_non_default_sg})
                })
                .collect();
            json_response(200, &json!({"default_security_group_rules": list}))
        }
    }
}

/// `PUT /routers/{id}/add_router_interface` and `remove_router_interface`.
async fn router_interface_action(
    State(st): State<Arc<SimState>>,
    Extension(r): Extension<Arc<Req>>,
    Path((_, id, action)): Path<(String, String, String)>,
) -> Response {
    if action == "add_router_interface" || action == "remove_router_interface" {
        router_interface(&st, &id, &action, &r.body)
    } else {
        not_found().await
    }
}

/// `DELETE /{collection}/{id}`: refused while in use; a network takes its subnets along.
fn delete(st: &SimState, kind: &'static str, id: &str) -> Response {
    if let Some(conflict) = neutron_in_use(st, kind, id) {
        return conflict;
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

/// `POST /{collection}`: the resource in the body under `single`, with the fields Neutron adds.
fn create(st: &SimState, r: &Req, kind: &'static str, single: &'static str) -> Response {
    let fx = &st.fixture;
    let pid = &fx.user.project_id;
    if let Some(refused) = st.over_quota(kind, "network") {
        return refused;
    }
    let Some(obj) = r.body.get(single).and_then(Value::as_object) else {
        return error("network", 400, &format!("Resource body required: {single}"));
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
                return error(
                    "network",
                    404,
                    &format!("Network {net} could not be found."),
                );
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
