//! The OpenStack client under faults, through HTTP against the simulator: incomplete listings
//! (looping and endless `next` links, page and item limits), bounded bodies, undecodable
//! answers naming the endpoint, per-request budgets and cancellation (also for probes waiting
//! on a shared listing), and token renewal after expiry.

use scs_check::openstack::config::AuthType;
use scs_check::openstack::{Budget, Client, ClientOptions, OpenStackError, Snapshot};
use scs_check::probes::{Clock, ProbeContext, Registry, Services};
use scs_check::sim::{Fixture, SimHandle, Simulator};
use scs_check::verdict::Verdict;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/clouds")
}

async fn start(extra: &str) -> SimHandle {
    let text = format!("name: test\n{extra}");
    Simulator::start(Fixture::from_yaml(&text, "<test>").unwrap(), None)
        .await
        .unwrap()
}

fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

async fn connect_with(sim: &SimHandle, options: ClientOptions) -> Client {
    Client::connect_with(sim.cloud_config("t"), options)
        .await
        .unwrap()
}

fn count(sim: &SimHandle, needle: &str) -> usize {
    sim.request_log()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

const FLAVORS: &str = "flavors:\n  - {name: SCS-1V-4, vcpus: 1, ram: 4096}\n  - {name: SCS-2V-8, vcpus: 2, ram: 8192}\n  - {name: SCS-4V-16, vcpus: 4, ram: 16384}\n  - {name: SCS-8V-32, vcpus: 8, ram: 32768}\npage_size: {compute: 2, image: 2}\n";

#[tokio::test]
async fn a_looping_next_link_is_an_incomplete_listing() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: looping-next}}]\n"
    ))
    .await;
    let e = Snapshot::new(connect_with(&sim, fast()).await)
        .flavors()
        .await
        .unwrap_err();
    assert!(matches!(e, OpenStackError::Listing { .. }), "{e:?}");
    let s = e.to_string();
    assert!(
        s.starts_with("compute GET /compute/v2.1/flavors/detail?is_public=None"),
        "{s}"
    );
    assert!(s.contains("points back at an earlier page"), "{s}");
    assert!(!s.contains('\n'));
}

/// The case: the flavor on page 2 breaks the naming standard; page 1's `next` link
/// loops. The old client stopped silently after page 1 and scs-0100 passed.
#[tokio::test]
async fn scs_0100_aborts_when_a_looping_next_hides_page_two() {
    let overlay = "base: compliant.yaml\nname: test\npage_size: {compute: 2}\n\
        flavors:\n  - {name: zz-bad-flavor, vcpus: 1, ram: 1024}\n\
        faults: [{service: compute, path: /flavors/detail, kind: looping-next}]\n";
    let fixture = Fixture::from_yaml_in(overlay, "<test>", Some(&fixture_dir())).unwrap();
    let sim = Simulator::start(fixture, None).await.unwrap();
    let client = connect_with(&sim, fast()).await;
    let ctx = ProbeContext {
        services: Services {
            openstack: Some(Snapshot::new(client)),
            ..Default::default()
        },
        variables: BTreeMap::new(),
        parameters: BTreeMap::new(),
        clock: Clock::fixed("2026-11-18T10:00:00Z".parse().unwrap()),
        cancel: CancellationToken::new(),
        timeout: Duration::from_secs(60),
    };
    let registry = Registry::builtin();
    let ids = vec![
        "scs-0100-syntax-check".to_string(),
        "scs-0100-semantics-check".to_string(),
    ];
    let probe = registry.probe_for(&ids[0]).unwrap().to_string();
    let outcomes = registry.get(&probe).unwrap().run(&ctx, &ids).await;
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert_eq!(o.verdict, Verdict::Abort, "{o:?}");
    }
}

#[tokio::test]
async fn an_endless_listing_ends_at_the_item_limit() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: endless-next}}]\n"
    ))
    .await;
    let c = connect_with(
        &sim,
        ClientOptions {
            max_items: 41,
            ..fast()
        },
    )
    .await;
    let e = c
        .list("compute", "/flavors/detail", "flavors")
        .await
        .unwrap_err();
    assert!(matches!(e, OpenStackError::Listing { .. }), "{e:?}");
    assert!(e.to_string().contains("more than 41 items"), "{e}");
    // 20 pages of 2 items were read, the 21st went over the limit
    assert_eq!(count(&sim, "GET /compute/v2.1/flavors/detail"), 21);
}

#[tokio::test]
async fn an_endless_listing_ends_at_the_page_limit() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: endless-next}}]\n"
    ))
    .await;
    let c = connect_with(
        &sim,
        ClientOptions {
            max_pages: 15,
            ..fast()
        },
    )
    .await;
    let e = c
        .list("compute", "/flavors/detail", "flavors")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("more than 15 pages"), "{e}");
    assert_eq!(count(&sim, "GET /compute/v2.1/flavors/detail"), 15);
}

#[tokio::test]
async fn default_limits_are_sane() {
    let o = ClientOptions::default();
    assert_eq!((o.max_pages, o.max_items), (1_000, 1_000_000));
    assert_eq!(o.max_body, 64 * 1024 * 1024);
}

#[tokio::test]
async fn a_huge_body_is_an_error_not_out_of_memory() {
    let sim =
        start("images: [{name: a}]\nfaults: [{service: image, path: /images, kind: huge-body}]\n")
            .await;
    let c = connect_with(
        &sim,
        ClientOptions {
            max_body: 2 * 1024 * 1024,
            ..fast()
        },
    )
    .await;
    let started = Instant::now();
    let e = Snapshot::new(c).images().await.unwrap_err();
    assert!(matches!(e, OpenStackError::Decode { .. }), "{e:?}");
    let s = e.to_string();
    assert!(s.starts_with("image GET /image/v2/images"), "{s}");
    assert!(s.contains("larger than the limit of 2 MiB"), "{s}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn truncated_html_and_reset_answers_name_the_endpoint() {
    let sim = start(&format!(
        "{FLAVORS}images: [{{name: a}}]\nfaults:\n  - {{service: compute, path: /flavors/detail, kind: truncated-json}}\n  - {{service: image, path: /images, kind: html}}\n  - {{service: block-storage, path: /types, kind: reset}}\n"
    ))
    .await;
    let snap = Snapshot::new(connect_with(&sim, fast()).await);
    let e = snap.flavors().await.unwrap_err();
    assert!(matches!(e, OpenStackError::Decode { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("compute GET /compute/v2.1/flavors/detail"),
        "{e}"
    );
    let e = snap.images().await.unwrap_err();
    assert!(matches!(e, OpenStackError::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("text/html"), "{e}");
    let e = snap.volume_types().await.unwrap_err();
    assert!(matches!(e, OpenStackError::Transport { .. }), "{e:?}");
    assert!(e.to_string().contains("/types"), "{e}");
}

/// A hung listing used to take 32 s × 4 attempts whatever the probe's budget said.
#[tokio::test]
async fn a_hung_request_ends_with_the_budget() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: timeout}}]\n"
    ))
    .await;
    let c = connect_with(&sim, ClientOptions::default()).await;
    let snap = Snapshot::new(c);
    let started = Instant::now();
    let budget = Budget::new(
        Some(tokio::time::Instant::now() + Duration::from_millis(800)),
        CancellationToken::new(),
    );
    let e = budget.scope(snap.flavors()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e,
            OpenStackError::Stopped { .. } | OpenStackError::Timeout { .. }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("/flavors/detail"), "{e}");
    sim.shutdown().await;
}

#[tokio::test]
async fn cancelling_drops_a_hung_request_at_once() {
    let sim = start("faults: [{service: network, kind: timeout}]\n").await;
    let c = connect_with(&sim, ClientOptions::default()).await;
    let cancel = CancellationToken::new();
    let budget = Budget::new(None, cancel.clone());
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    let e = budget
        .scope(c.get_json("network", "/networks"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(e, OpenStackError::Stopped { .. }), "{e:?}");
    assert!(e.to_string().ends_with("stopped: interrupted"), "{e}");
    sim.shutdown().await;
}

/// A probe waiting for a listing that another probe is fetching waits only within its own
/// budget; a listing stopped that way is not remembered for later probes.
#[tokio::test]
async fn a_shared_listing_holds_no_probe_past_its_budget() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: timeout, times: 1}}]\n"
    ))
    .await;
    let c = connect_with(&sim, ClientOptions::default()).await;
    let snap = Snapshot::new(c);
    // probe A starts the listing (its request hangs) with a long budget and is interrupted
    let cancel_a = CancellationToken::new();
    let a = {
        let snap = snap.clone();
        let budget = Budget::new(None, cancel_a.clone());
        tokio::spawn(async move { budget.scope(async move { snap.flavors().await }).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // probe B waits for it with a short budget
    let started = Instant::now();
    let budget_b = Budget::new(
        Some(tokio::time::Instant::now() + Duration::from_millis(400)),
        CancellationToken::new(),
    );
    let e = budget_b.scope(snap.flavors()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(e.to_string().contains("time limit reached"), "{e}");
    cancel_a.cancel();
    let e = tokio::time::timeout(Duration::from_secs(2), a)
        .await
        .expect("A stops at once")
        .unwrap()
        .unwrap_err();
    assert!(e.is_stopped(), "{e:?}");
    // the next probe fetches the listing anew (the fault affected one request only)
    assert_eq!(snap.flavors().await.unwrap().len(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_the_request_retried() {
    let sim =
        start("faults: [{service: network, path: /networks, kind: token-expiry, times: 1}]\n")
            .await;
    let c = connect_with(&sim, fast()).await;
    let first = c.current_token();
    let v = c.get_json("network", "/networks").await.unwrap();
    assert!(v["networks"].is_array());
    assert_eq!(count(&sim, "POST /identity/v3/auth/tokens"), 2);
    assert_ne!(c.current_token().expose(), first.expose());
    // the old token is dead, the new one in use
    c.get_json("compute", "/flavors").await.unwrap();
    assert_eq!(count(&sim, "POST /identity/v3/auth/tokens"), 2);
}

#[tokio::test]
async fn concurrent_requests_renew_an_expiring_token_once() {
    let sim = start("user: {token_ttl_s: 40}\ntiming: {time_scale: 0.01}\n").await;
    let c = connect_with(&sim, fast()).await;
    c.get_json("compute", "/flavors").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = futures::future::join_all((0..8).map(|_| c.get_json("compute", "/flavors"))).await;
    for r in all {
        r.unwrap();
    }
    assert_eq!(count(&sim, "POST /identity/v3/auth/tokens"), 2);
    // and no request was refused: renewal came before expiry
    assert!(!sim.request_log().is_empty());
}

#[tokio::test]
async fn a_bare_token_cannot_be_renewed() {
    let sim =
        start("faults: [{service: network, path: /networks, kind: token-expiry, times: 1}]\n")
            .await;
    let c = connect_with(&sim, fast()).await;
    let mut tcfg = sim.cloud_config("t");
    tcfg.auth_type = AuthType::Token;
    tcfg.auth.token = Some(c.token().value.clone());
    tcfg.auth.password = None;
    let t = Client::connect_with(tcfg, fast()).await.unwrap();
    let e = t.get_json("network", "/networks").await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}

/// Version discovery that hangs for one probe holds no other probe past its budget, and is not
/// remembered when it was stopped.
#[tokio::test]
async fn a_hung_version_discovery_holds_no_other_probe() {
    let sim = start("images: [{name: a}]\nfaults: [{service: image, method: GET, path: /, kind: timeout, times: 1}]\n").await;
    let c = connect_with(&sim, ClientOptions::default()).await;
    let cancel_a = CancellationToken::new();
    let a = {
        let c = c.clone();
        let budget = Budget::new(None, cancel_a.clone());
        tokio::spawn(async move { budget.scope(async move { c.endpoint("image").await }).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let budget_b = Budget::new(
        Some(tokio::time::Instant::now() + Duration::from_millis(300)),
        CancellationToken::new(),
    );
    let e = budget_b.scope(c.endpoint("image")).await.unwrap_err();
    assert!(e.is_stopped(), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    cancel_a.cancel();
    let e = tokio::time::timeout(Duration::from_secs(2), a)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(e.is_stopped(), "{e:?}");
    // discovered anew, without the fault
    assert!(c.endpoint("image").await.unwrap().ends_with("/image/v2"));
    assert_eq!(Snapshot::new(c).images().await.unwrap().len(), 1);
    sim.shutdown().await;
}

/// A `Retry-After` longer than the budget left is not waited for: the answer is the error.
#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_not_waited_for() {
    let sim =
        start("faults: [{service: compute, kind: status, status: 503, retry_after: '60'}]\n").await;
    let c = connect_with(
        &sim,
        ClientOptions {
            max_retry_after: Duration::from_secs(120),
            ..fast()
        },
    )
    .await;
    let budget = Budget::new(
        Some(tokio::time::Instant::now() + Duration::from_secs(2)),
        CancellationToken::new(),
    );
    let started = Instant::now();
    let e = budget
        .scope(c.get_json("compute", "/flavors"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.status(), Some(503), "{e}");
    assert_eq!(count(&sim, "GET /compute/v2.1/flavors"), 1);
}

/// The first listing after the token expired gets 401; the snapshot still gets the listing.
#[tokio::test]
async fn a_shared_listing_survives_an_expired_token() {
    let sim = start(&format!(
        "{FLAVORS}faults: [{{service: compute, path: /flavors/detail, kind: token-expiry, times: 1}}]\n"
    ))
    .await;
    let snap = Snapshot::new(connect_with(&sim, fast()).await);
    assert_eq!(snap.flavors().await.unwrap().len(), 4);
    assert_eq!(count(&sim, "POST /identity/v3/auth/tokens"), 2);
}
