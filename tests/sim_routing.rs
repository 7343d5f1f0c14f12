//! The simulator's routing as clients see it (plain reqwest): each fake service answers unknown
//! paths and wrong methods with its own error body (never axum's `405` or `Allow` header),
//! `HEAD` is not answered by a `GET` route, trailing slashes do not matter, Cinder's project id
//! in the path is optional, version lists need no token while everything else does, and Nova
//! and Cinder treat `detail` as an id where no listing is meant.

#[path = "common/sim_wire.rs"]
mod sim_wire;

use scs_check::sim::{Fixture, SimHandle, Simulator};
use serde_json::Value;
use sim_wire::{http, token};

async fn start() -> SimHandle {
    Simulator::start(
        Fixture::load("fixtures/clouds/compliant.yaml").unwrap(),
        None,
    )
    .await
    .unwrap()
}

/// Status, headers and body of `method path` (with `token` when given).
async fn call(
    sim: &SimHandle,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut rb = http().request(method.parse().unwrap(), format!("{}{path}", sim.base_url()));
    if let Some(t) = token {
        rb = rb.header("X-Auth-Token", t);
    }
    let r = rb.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn wrong_methods_get_the_services_own_404_without_allow() {
    let sim = start().await;
    let t = token(&sim).await;
    let (status, headers, body) = call(&sim, "PUT", "/compute/v2.1/flavors", Some(&t)).await;
    assert_eq!(status, 404);
    assert!(!headers.contains_key("allow"), "{headers:?}");
    assert_eq!(headers["openstack-api-version"], "compute 2.1");
    assert_eq!(json_of(&body)["itemNotFound"]["code"], 404);
    let (status, headers, body) = call(&sim, "PATCH", "/network/v2.0/networks", Some(&t)).await;
    assert_eq!(status, 404);
    assert!(!headers.contains_key("allow"), "{headers:?}");
    assert_eq!(json_of(&body)["NeutronError"]["type"], "HTTPNotFound");
    let (status, _, body) = call(&sim, "PUT", "/key-manager/v1/secrets", Some(&t)).await;
    assert_eq!(status, 404);
    assert!(body.contains("princess"), "{body}");
    // HEAD is not served by the GET route.
    let (status, _, _) = call(&sim, "HEAD", "/image/v2/images", Some(&t)).await;
    assert_eq!(status, 404);
    let (status, _, _) = call(&sim, "GET", "/image/v2/images", Some(&t)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn paths_route_with_or_without_trailing_slash_and_cinder_project_id() {
    let sim = start().await;
    let t = token(&sim).await;
    let pid = sim.fixture().user.project_id.clone();
    let (status, _, plain) = call(&sim, "GET", "/compute/v2.1/flavors", Some(&t)).await;
    assert_eq!(status, 200);
    let (status, _, slashed) = call(&sim, "GET", "/compute/v2.1/flavors/", Some(&t)).await;
    assert_eq!((status, &slashed), (200, &plain));
    let (status, _, with_pid) =
        call(&sim, "GET", &format!("/volume/v3/{pid}/types"), Some(&t)).await;
    assert_eq!(status, 200);
    assert!(
        !json_of(&with_pid)["volume_types"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (status, _, without) = call(&sim, "GET", "/volume/v3/types", Some(&t)).await;
    assert_eq!((status, &without), (200, &with_pid));
    // The project id alone is no resource, and another project's id is no prefix.
    let (status, _, _) = call(&sim, "GET", &format!("/volume/v3/{pid}"), Some(&t)).await;
    assert_eq!(status, 404);
    let (status, _, _) = call(&sim, "GET", "/volume/v3/someone-else/types", Some(&t)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn version_lists_need_no_token_everything_else_does() {
    let sim = start().await;
    for (path, status) in [
        ("/compute", 200),
        ("/image/", 300),
        ("/volume", 300),
        ("/network", 200),
    ] {
        let (got, _, body) = call(&sim, "GET", path, None).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(json_of(&body)["versions"].is_array(), "{path}: {body}");
    }
    // Any method gets the list at the mount.
    let (status, _, _) = call(&sim, "POST", "/placement", None).await;
    assert_eq!(status, 200);
    // Below the mount, even an unknown path asks for a token first, in the service's style.
    let (status, _, body) = call(&sim, "GET", "/network/v2.0/nothing-here", None).await;
    assert_eq!(status, 401);
    assert_eq!(json_of(&body)["NeutronError"]["type"], "HTTPUnauthorized");
    let (status, _, body) = call(&sim, "GET", "/compute/v2.1", None).await;
    assert_eq!(status, 401, "{body}");
    // A path under no mount: the HTML page of a proxy.
    let (status, headers, body) = call(&sim, "GET", "/nowhere/v1", None).await;
    assert_eq!(status, 404);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("404 Not Found"), "{body}");
}

#[tokio::test]
async fn detail_is_a_listing_for_get_and_an_id_otherwise() {
    let sim = start().await;
    let t = token(&sim).await;
    let (status, _, body) = call(&sim, "GET", "/compute/v2.1/servers/detail", Some(&t)).await;
    assert_eq!(status, 200);
    assert!(json_of(&body)["servers"].is_array(), "{body}");
    let (status, _, body) = call(&sim, "DELETE", "/compute/v2.1/servers/detail", Some(&t)).await;
    assert_eq!(status, 404);
    assert_eq!(
        json_of(&body)["itemNotFound"]["message"],
        "Instance detail could not be found."
    );
    let (status, _, body) = call(&sim, "GET", "/volume/v3/backups/detail", Some(&t)).await;
    assert_eq!(status, 200);
    assert!(json_of(&body)["backups"].is_array(), "{body}");
}
