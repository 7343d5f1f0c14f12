//! The simulator's fault kinds seen on the wire (plain reqwest, no scs-check client): each kind
//! does what `docs/fixtures.md` says, for any service and path selector.

#[path = "common/sim_wire.rs"]
mod sim_wire;

use scs_check::sim::{Fixture, SimHandle, Simulator};
use serde_json::Value;
use sim_wire::{http, token};
use std::time::Duration;

async fn start(extra: &str) -> SimHandle {
    let text = format!("name: faults\n{extra}");
    Simulator::start(Fixture::from_yaml(&text, "<test>").unwrap(), None)
        .await
        .unwrap()
}

async fn get(sim: &SimHandle, tok: &str, path: &str) -> reqwest::Result<reqwest::Response> {
    http()
        .get(format!("{}{path}", sim.base_url()))
        .header("X-Auth-Token", tok)
        .send()
        .await
}

const FLAVORS: &str = "flavors:\n  - {name: SCS-1V-4, vcpus: 1, ram: 4096}\n  - {name: SCS-2V-8, vcpus: 2, ram: 8192}\n  - {name: SCS-4V-16, vcpus: 4, ram: 16384}\npage_size: {compute: 2}\n";

#[tokio::test]
async fn reset_closes_the_connection_without_an_answer() {
    let sim = start("faults: [{service: compute, path: /flavors, kind: reset}]\n").await;
    let t = token(&sim).await;
    let err = get(&sim, &t, "/compute/v2.1/flavors").await.unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    // other paths are unaffected
    assert_eq!(
        get(&sim, &t, "/compute/v2.1/servers")
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn truncated_json_cuts_the_real_answer() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: truncated-json}}]\n"
    ))
    .await;
    let t = token(&sim).await;
    let r = get(&sim, &t, "/compute/v2.1/flavors/detail").await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.starts_with("{\"flavors\""), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn html_page_with_status() {
    let sim = start(
        "faults:\n  - {service: image, kind: html}\n  - {service: network, kind: html, status: 502}\n",
    )
    .await;
    let t = token(&sim).await;
    let r = get(&sim, &t, "/image/v2/images").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("html")
    );
    assert!(r.text().await.unwrap().contains("<html>"));
    let r = get(&sim, &t, "/network/v2.0/networks").await.unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn huge_body_streams_on() {
    let sim = start(
        "faults:\n  - {service: image, kind: huge-body}\n  - {service: compute, kind: huge-body, bytes: 100000}\n",
    )
    .await;
    let t = token(&sim).await;
    let mut r = get(&sim, &t, "/image/v2/images").await.unwrap();
    assert_eq!(r.status(), 200);
    let mut total = 0usize;
    while total < 8 * 1024 * 1024 {
        total += r.chunk().await.unwrap().expect("body still going").len();
    }
    drop(r);
    let body = get(&sim, &t, "/compute/v2.1/flavors")
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 100_000);
}

#[tokio::test]
async fn looping_next_points_at_the_same_page() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: looping-next}}]\n"
    ))
    .await;
    let t = token(&sim).await;
    let path = "/compute/v2.1/flavors/detail?limit=2";
    let v: Value = get(&sim, &t, path).await.unwrap().json().await.unwrap();
    let href = v["flavors_links"][0]["href"].as_str().unwrap();
    assert_eq!(href, format!("{}{path}", sim.base_url()));
    // also when the real page is the last one (no link of its own)
    let marker = v["flavors"][1]["id"].as_str().unwrap();
    let path = format!("/compute/v2.1/flavors/detail?limit=2&marker={marker}");
    let v: Value = get(&sim, &t, &path).await.unwrap().json().await.unwrap();
    assert_eq!(v["flavors"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["flavors_links"][0]["href"].as_str().unwrap(),
        format!("{}{path}", sim.base_url())
    );
}

#[tokio::test]
async fn endless_next_invents_new_pages() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: '*', method: GET, path: /images, kind: endless-next}}]\n\
         images: [{{name: one}}]\n"
    ))
    .await;
    let t = token(&sim).await;
    let mut path = "/image/v2/images?limit=5".to_string();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..5 {
        let v: Value = get(&sim, &t, &path).await.unwrap().json().await.unwrap();
        let items = v["images"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert!(ids.insert(items[0]["id"].as_str().unwrap().to_string()));
        let next = v["next"].as_str().unwrap();
        let next = next.strip_prefix(&sim.base_url()).unwrap().to_string();
        assert_ne!(next, path);
        path = next;
    }
}

#[tokio::test]
async fn retry_after_on_rate_limit_and_status() {
    let sim = start(
        "faults:\n  - {service: compute, kind: rate-limit, retry_after: '7'}\n  - {service: image, kind: status, status: 503, retry_after: '2'}\n  - {service: network, kind: rate-limit}\n",
    )
    .await;
    let t = token(&sim).await;
    let r = get(&sim, &t, "/compute/v2.1/flavors").await.unwrap();
    assert_eq!(
        (r.status().as_u16(), &r.headers()["retry-after"]),
        (429, &"7".parse::<reqwest::header::HeaderValue>().unwrap())
    );
    let r = get(&sim, &t, "/image/v2/images").await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "2");
    let r = get(&sim, &t, "/network/v2.0/networks").await.unwrap();
    assert_eq!(r.headers()["retry-after"], "0");
}

#[tokio::test]
async fn token_expiry_fault_revokes_the_token() {
    let sim =
        start("faults: [{service: network, path: /networks, kind: token-expiry, times: 1}]\n")
            .await;
    let t = token(&sim).await;
    assert_eq!(
        get(&sim, &t, "/network/v2.0/networks")
            .await
            .unwrap()
            .status(),
        401
    );
    // the token is gone everywhere now
    assert_eq!(
        get(&sim, &t, "/compute/v2.1/flavors")
            .await
            .unwrap()
            .status(),
        401
    );
    let t2 = token(&sim).await;
    assert_eq!(
        get(&sim, &t2, "/network/v2.0/networks")
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn token_ttl_expires_tokens() {
    let sim = start("user: {token_ttl_s: 50}\ntiming: {time_scale: 0.01}\n").await;
    let t = token(&sim).await;
    assert_eq!(
        get(&sim, &t, "/compute/v2.1/flavors")
            .await
            .unwrap()
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        get(&sim, &t, "/compute/v2.1/flavors")
            .await
            .unwrap()
            .status(),
        401
    );
}

#[test]
fn token_ttl_must_be_positive() {
    let e = Fixture::from_yaml("user: {token_ttl_s: 0}\n", "f.yaml").unwrap_err();
    assert!(e.to_string().contains("user.token_ttl_s"), "{e}");
}
