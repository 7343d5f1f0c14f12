//! The simulator answers as the real services do: the answers recorded from the real Zed test
//! bed (fixtures/recorded/, written by testbed/openstack/record.py) are compared with the
//! simulator's answers to the same requests: the same status, every key the real answer has
//! (version documents, error bodies, pagination links, listed objects), and a catalog with the
//! same service types.

use scs_check::openstack::Client;
use scs_check::openstack::client::api_error_message;
use scs_check::sim::{Fixture, SimHandle, Simulator};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn recorded(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/recorded/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Key paths of a JSON value (`a.b`, `a[].c`); list items contribute the keys they all share.
fn keys(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                keys(child, &p, out);
            }
        }
        Value::Array(items) => {
            let mut common: Option<BTreeSet<String>> = None;
            for item in items {
                let mut these = BTreeSet::new();
                keys(item, &format!("{prefix}[]"), &mut these);
                common = Some(match common {
                    None => these,
                    Some(c) => c.intersection(&these).cloned().collect(),
                });
            }
            out.extend(common.unwrap_or_default());
        }
        _ => {}
    }
}

struct Sim {
    handle: SimHandle,
    token: String,
    project: String,
    http: reqwest::Client,
}

async fn sim(fixture: &str) -> Sim {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/clouds/{fixture}.yaml"));
    let handle = Simulator::start(Fixture::load(path).unwrap(), None)
        .await
        .unwrap();
    let client = Client::connect(handle.cloud_config("c")).await.unwrap();
    Sim {
        token: client.token().value.expose().to_string(),
        project: client.token().project_id.clone().unwrap(),
        handle,
        http: reqwest::Client::new(),
    }
}

impl Sim {
    async fn get(&self, path: &str, with_token: bool) -> (u16, Value) {
        let url = format!(
            "{}{}",
            self.handle.base_url(),
            path.replace("PROJECT", &self.project)
        );
        let mut req = self.http.get(&url).header("Accept", "application/json");
        if with_token {
            req = req.header("X-Auth-Token", &self.token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&body)
                .unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned())),
        )
    }
}

/// Keys of real answers that the simulator deliberately leaves out.
const NOT_SIMULATED: &[&str] = &[
    // Glance's legacy MD5 checksum and the multi-store location; no probe reads them.
    "images[].checksum",
    "images[].stores",
    // Neutron's bookkeeping fields of groups and rules; no probe reads them.
    "security_groups[].security_group_rules[].created_at",
    "security_groups[].security_group_rules[].updated_at",
    "security_groups[].security_group_rules[].project_id",
    "security_groups[].security_group_rules[].tenant_id",
    "security_groups[].security_group_rules[].standard_attr_id",
];

/// (recorded file, fixture, simulator path, with token)
const CASES: &[(&str, &str, &str, bool)] = &[
    ("identity-versions", "compliant", "/identity/", false),
    ("compute-versions", "compliant", "/compute/", false),
    ("compute-version-v2.1", "compliant", "/compute/v2.1/", true),
    ("image-versions", "compliant", "/image/", false),
    ("block-storage-versions", "compliant", "/volume/", false),
    ("network-versions", "compliant", "/network/", false),
    ("key-manager-versions", "compliant", "/key-manager/", false),
    ("identity-401", "compliant", "/identity/v3/projects", false),
    (
        "compute-flavor-404",
        "compliant",
        "/compute/v2.1/flavors/does-not-exist",
        true,
    ),
    (
        "compute-flavors-page",
        "compliant",
        "/compute/v2.1/flavors?limit=2",
        true,
    ),
    (
        "image-404",
        "compliant",
        "/image/v2/images/00000000-0000-0000-0000-000000000000",
        true,
    ),
    (
        "image-images-page",
        "compliant",
        "/image/v2/images?limit=2",
        true,
    ),
    (
        "block-storage-type-404",
        "compliant",
        "/volume/v3/PROJECT/types/does-not-exist",
        true,
    ),
    (
        "block-storage-types",
        "compliant",
        "/volume/v3/PROJECT/types",
        true,
    ),
    (
        "network-default-sg-rules-404",
        "zed-legacy",
        "/network/v2.0/default-security-group-rules",
        true,
    ),
    (
        "network-security-groups-page",
        "compliant",
        "/network/v2.0/security-groups?limit=1",
        true,
    ),
    (
        "key-manager-secrets-403",
        "zed-legacy",
        "/key-manager/v1/secrets",
        true,
    ),
];

#[tokio::test]
async fn simulator_answers_like_the_recorded_real_services() {
    let mut problems = vec![];
    for (name, fixture, path, with_token) in CASES {
        let rec = recorded(name);
        let s = sim(fixture).await;
        let (status, body) = s.get(path, *with_token).await;
        let real_status = rec["status"].as_u64().unwrap() as u16;
        if status != real_status {
            problems.push(format!("{name}: HTTP {status}, real {real_status}"));
        }
        let (mut real_keys, mut sim_keys) = (BTreeSet::new(), BTreeSet::new());
        keys(&rec["body"], "", &mut real_keys);
        keys(&body, "", &mut sim_keys);
        for k in real_keys.difference(&sim_keys) {
            // Media types of version documents are decoration no client reads.
            if !NOT_SIMULATED.contains(&k.as_str()) && !k.contains("media-types") {
                problems.push(format!("{name}: the simulator's answer has no {k}"));
            }
        }
        if real_status >= 400 {
            let real_msg = api_error_message(rec["body"].to_string().as_bytes());
            let sim_msg = api_error_message(body.to_string().as_bytes());
            if real_msg.is_empty() != sim_msg.is_empty() {
                problems.push(format!(
                    "{name}: error message real {real_msg:?}, simulator {sim_msg:?}"
                ));
            }
        }
        s.handle.shutdown().await;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn simulated_catalog_has_the_real_test_bed_types() {
    let rec = recorded("identity-token");
    let real: BTreeSet<String> = rec["body"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap().to_string())
        .collect();
    let s = sim("compliant").await;
    let client = Client::connect(s.handle.cloud_config("c")).await.unwrap();
    let simulated: BTreeSet<String> = client
        .catalog()
        .types()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(real, simulated);
    let roles: Vec<&str> = rec["body"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        roles,
        ["member", "reader"],
        "Zed puts implied roles into tokens"
    );
    let mut sim_roles = client.role_names();
    sim_roles.sort();
    assert_eq!(sim_roles, roles);
}

#[test]
fn key_paths_of_lists_are_the_shared_ones() {
    let v = serde_json::json!({"a": [{"x": 1, "y": 2}, {"x": 3}], "b": {"c": null}});
    let mut k = BTreeSet::new();
    keys(&v, "", &mut k);
    let k: Vec<_> = k.into_iter().collect();
    assert_eq!(k, ["a", "a[].x", "b", "b.c"]);
}
