//! Fields a read-only IaaS probe needs but the cloud's answer lacks: the probes run through the
//! real HTTP client against the simulator behind a small proxy that deletes one field from the
//! objects of chosen answers. Every affected testcase is ABORT with a reason naming the object
//! and the field, never PASS or FAIL on data that was treated as "none".

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use scs_check::openstack::{Client, ClientOptions, Snapshot};
use scs_check::probes::{Clock, Outcome, ProbeContext, Registry, Services};
use scs_check::sim::{Fixture, SimHandle, Simulator};
use scs_check::verdict::Verdict;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One rewrite: in answers whose path contains `path`, delete `field` from the top-level
/// object and from every object in its top-level arrays.
#[derive(Clone)]
struct Drop {
    path: &'static str,
    field: &'static str,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    own: String,
    drops: Arc<Vec<Drop>>,
    client: reqwest::Client,
}

fn strip(value: &mut Value, field: &str) {
    if let Some(obj) = value.as_object_mut() {
        obj.remove(field);
        for v in obj.values_mut() {
            if let Some(items) = v.as_array_mut() {
                for item in items {
                    if let Some(o) = item.as_object_mut() {
                        o.remove(field);
                    }
                }
            }
        }
    }
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut req = p.client.request(
        reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
        format!("{}{path}", p.upstream),
    );
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            req = req.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = req.body(body.to_vec()).send().await.unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let mut out_headers = Vec::new();
    for (name, value) in answer.headers() {
        if matches!(name.as_str(), "content-length" | "transfer-encoding") {
            continue;
        }
        let v = String::from_utf8_lossy(value.as_bytes()).replace(&p.upstream, &p.own);
        out_headers.push((name.as_str().to_string(), v));
    }
    let mut text = answer.text().await.unwrap().replace(&p.upstream, &p.own);
    let drops: Vec<&Drop> = p.drops.iter().filter(|d| path.contains(d.path)).collect();
    if !drops.is_empty()
        && let Ok(mut json) = serde_json::from_str::<Value>(&text)
    {
        for d in drops {
            strip(&mut json, d.field);
        }
        text = json.to_string();
    }
    let mut response = (status, text).into_response();
    for (name, value) in out_headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

/// Starts the compliant simulator and the proxy; returns the simulator and the client context.
// Field by field so that options added to the client later keep their defaults here.
#[allow(clippy::field_reassign_with_default)]
async fn context(drops: Vec<Drop>) -> (SimHandle, ProbeContext) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/clouds");
    let fixture = Fixture::load(dir.join("compliant.yaml")).unwrap();
    let sim = Simulator::start(fixture, None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let own = format!("http://{}", listener.local_addr().unwrap());
    let proxy = Proxy {
        upstream: sim.base_url(),
        own: own.clone(),
        drops: Arc::new(drops),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = sim.cloud_config("t");
    config.auth.auth_url = config.auth.auth_url.replace(&sim.base_url(), &own);
    let mut options = ClientOptions::default();
    options.timeout = Duration::from_secs(5);
    options.max_retries = 1;
    options.backoff = Duration::from_millis(5);
    options.max_retry_after = Duration::from_millis(10);
    let client = Client::connect_with(config, options).await.unwrap();
    let ctx = ProbeContext {
        services: Services {
            openstack: Some(Snapshot::new(client)),
            ..Default::default()
        },
        variables: BTreeMap::new(),
        parameters: BTreeMap::from([(
            "image_spec".to_string(),
            "builtin:scs-0104-v1-images-v5".to_string(),
        )]),
        clock: Clock::fixed("2026-11-18T10:00:00Z".parse().unwrap()),
        cancel: CancellationToken::new(),
        timeout: Duration::from_secs(60),
    };
    (sim, ctx)
}

/// Runs every testcase of the named probes; outcomes by id.
async fn run(ctx: &ProbeContext, probes: &[&str]) -> BTreeMap<String, Outcome> {
    let registry = Registry::builtin();
    let mut out = BTreeMap::new();
    for name in probes {
        let probe = registry
            .get(name)
            .unwrap_or_else(|| panic!("no probe {name}"));
        let ids = probe.testcases();
        for o in probe.run(ctx, &ids).await {
            out.insert(o.testcase.clone(), o);
        }
    }
    out
}

/// Every outcome is ABORT and its reason contains each of `needles`.
fn all_abort(outcomes: &BTreeMap<String, Outcome>, needles: &[&str]) {
    assert!(!outcomes.is_empty());
    for (id, o) in outcomes {
        assert_eq!(o.verdict, Verdict::Abort, "{id}: {o:?}");
        for n in needles {
            assert!(o.reason.contains(n), "{id}: {:?} lacks {n:?}", o.reason);
        }
    }
}

const FLAVOR_PROBES: [&str; 2] = ["scs-0100-flavor-naming", "scs-0103-standard-flavors"];
const IMAGE_PROBES: [&str; 2] = ["scs-0102-image-metadata", "scs-0104-standard-images"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_alone_changes_nothing() {
    let (_sim, ctx) = context(vec![]).await;
    let out = run(
        &ctx,
        &[
            FLAVOR_PROBES[0],
            FLAVOR_PROBES[1],
            IMAGE_PROBES[0],
            IMAGE_PROBES[1],
            "scs-0115-default-security-group-rules",
            "scs-0114-volume-types",
        ],
    )
    .await;
    for (id, o) in &out {
        assert_ne!(o.verdict, Verdict::Abort, "{id}: {o:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavor_listing_without_extra_specs_is_abort() {
    // Neither inline (microversion 2.61) nor from the per-flavor os-extra_specs call.
    let (_sim, ctx) = context(vec![
        Drop {
            path: "/flavors/detail",
            field: "extra_specs",
        },
        Drop {
            path: "/os-extra_specs",
            field: "extra_specs",
        },
    ])
    .await;
    let out = run(&ctx, &FLAVOR_PROBES).await;
    all_abort(&out, &["extra_specs", "flavor \""]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavor_listing_without_vcpus_or_ram_is_abort() {
    for field in ["vcpus", "ram", "name"] {
        let (_sim, ctx) = context(vec![Drop {
            path: "/flavors/detail",
            field,
        }])
        .await;
        let out = run(&ctx, &FLAVOR_PROBES).await;
        all_abort(&out, &[&format!("`{field}`"), "flavor "]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_listing_without_visibility_is_abort() {
    let (_sim, ctx) = context(vec![Drop {
        path: "/images",
        field: "visibility",
    }])
    .await;
    let out = run(&ctx, &IMAGE_PROBES).await;
    all_abort(&out, &["`visibility`", "image "]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_listing_without_created_at_is_abort_for_scs_0102() {
    let (_sim, ctx) = context(vec![Drop {
        path: "/images",
        field: "created_at",
    }])
    .await;
    let out = run(&ctx, &[IMAGE_PROBES[0]]).await;
    all_abort(&out, &["`created_at`", "image "]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_security_group_rule_without_its_flags_is_abort() {
    for field in ["used_in_default_sg", "direction"] {
        let (_sim, ctx) = context(vec![Drop {
            path: "/default-security-group-rules",
            field,
        }])
        .await;
        let out = run(&ctx, &["scs-0115-default-security-group-rules"]).await;
        all_abort(&out, &[&format!("`{field}`"), "rule 0"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_type_without_description_is_abort() {
    let (_sim, ctx) = context(vec![Drop {
        path: "/types",
        field: "description",
    }])
    .await;
    let out = run(&ctx, &["scs-0114-volume-types"]).await;
    all_abort(&out, &["`description`", "volume type "]);
}
