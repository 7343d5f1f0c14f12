//! Talking to the simulator on the wire with plain reqwest (no scs-check client), for the test
//! files that check what it answers (`#[path = "common/sim_wire.rs"] mod sim_wire;`).

#![allow(dead_code)] // each test file uses what it needs

use scs_check::sim::SimHandle;
use serde_json::json;
use std::time::Duration;

/// A plain HTTP client with a 10 s timeout.
pub fn http() -> reqwest::Client {
    scs_check::http::install_crypto();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A project-scoped token for the fixture's user.
pub async fn token(sim: &SimHandle) -> String {
    let u = &sim.fixture().user;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": u.username, "domain": {"name": u.domain_name}, "password": u.password}}},
        "scope": {"project": {"name": u.project_name, "domain": {"name": u.domain_name}}}}});
    let r = http()
        .post(format!("{}/auth/tokens", sim.auth_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.headers()["x-subject-token"].to_str().unwrap().to_string()
}
