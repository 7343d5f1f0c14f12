//! Tests of the "nothing left behind" guarantee across probes: runs interrupted hard (the probe
//! is dropped mid-way, as when the process dies) at several points, followed by a cleanup
//! from the ledger and by prefix; soft interruptions (Ctrl-C) where the probe cleans up
//! itself; the second Ctrl-C; and resources without the prefix that must survive. Also the
//! fault cells of the resource-creating probes (transient faults are ABORT, never FAIL, and
//! nothing is left; a server whose status read keeps failing is still deleted) and the safety
//! of `scs-check cleanup` (own project only, own router interfaces only, no short prefixes).

use super::scs_0101_entropy as s0101;
use super::scs_0117_volume_backup as s0117;
use super::testing::{TestCloud, verdict};
use crate::openstack::ledger::{EntryState, Ledger, ResourceKind};
use crate::openstack::resources::{
    Disposal, SweepOptions, Tracker, TrackerOptions, prefixed_names, sweep,
};
use crate::probes::Probe;
use crate::verdict::Verdict;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Gives the cloud a tracker writing to a ledger file in `dir`.
fn file_tracker(cloud: &mut TestCloud, dir: &Path) -> (Arc<Tracker>, PathBuf) {
    let path = dir.join("ledger.jsonl");
    let pace = cloud.ctx.services.tracker().pace();
    let tracker = Tracker::new(
        Ledger::open(&path).unwrap(),
        TrackerOptions {
            pace,
            ..Default::default()
        },
    );
    cloud.ctx.services.tracker = Some(tracker.clone());
    (tracker, path)
}

/// Runs `probe` until the ledger has an entry of `kind` in `state`, then drops it (no cleanup
/// runs, as when the process is killed).
async fn run_until(
    cloud: &TestCloud,
    probe: &dyn Probe,
    ids: &[&str],
    tracker: &Tracker,
    kind: ResourceKind,
    state: EntryState,
) {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    let reached = async {
        loop {
            if tracker
                .records()
                .iter()
                .any(|e| e.kind == kind && e.state == state)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        out = probe.run(&cloud.ctx, &ids) => panic!("probe finished before the interruption point: {out:?}"),
        _ = reached => {}
    }
}

/// The janitor, as `scs-check cleanup` runs it.
async fn cleanup_from(
    cloud: &TestCloud,
    path: &Path,
) -> Vec<crate::openstack::resources::Disposed> {
    let entries = Ledger::read(path).unwrap();
    let ledger = Ledger::open(path).unwrap();
    let options = SweepOptions {
        prefix: "_scs-".into(),
        dry_run: false,
        pace: cloud.ctx.services.tracker().pace(),
        time_limit: None,
    };
    sweep(
        cloud.snapshot.client(),
        Some(&ledger),
        entries,
        &options,
        &Default::default(),
    )
    .await
}

async fn assert_clean(cloud: &TestCloud, path: &Path) {
    let left = prefixed_names(cloud.snapshot.client(), "_scs-")
        .await
        .unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
    let ledger = Ledger::read(path).unwrap();
    assert!(
        ledger.iter().all(|e| !e.may_exist()),
        "ledger still lists: {ledger:?}"
    );
}

#[tokio::test]
async fn killed_during_network_setup_then_cleanup() {
    // The router create call is never answered.
    let mut cloud = TestCloud::yaml(
        "base: compliant.yaml\nfaults:\n  - {service: network, method: POST, path: /routers, kind: timeout}\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (tracker, path) = file_tracker(&mut cloud, dir.path());
    let probe = s0101::probe();
    run_until(
        &cloud,
        probe.as_ref(),
        &[s0101::ENTROPY_AVAIL],
        &tracker,
        ResourceKind::Router,
        EntryState::Intent,
    )
    .await;
    assert_eq!(
        prefixed_names(cloud.snapshot.client(), "_scs-")
            .await
            .unwrap()
            .len(),
        2
    );
    let done = cleanup_from(&cloud, &path).await;
    assert!(
        done.iter().all(|d| !matches!(d.what, Disposal::Failed(_))),
        "{done:?}"
    );
    assert_clean(&cloud, &path).await;
}

#[tokio::test]
async fn killed_during_boot_then_cleanup() {
    let mut cloud =
        TestCloud::yaml("base: compliant.yaml\ntiming: {server_active_after: 100000}\n").await;
    let dir = tempfile::tempdir().unwrap();
    let (tracker, path) = file_tracker(&mut cloud, dir.path());
    let probe = s0101::probe();
    run_until(
        &cloud,
        probe.as_ref(),
        &[s0101::ENTROPY_AVAIL, s0101::FIPS_TEST],
        &tracker,
        ResourceKind::Server,
        EntryState::Created,
    )
    .await;
    let done = cleanup_from(&cloud, &path).await;
    let kinds: Vec<ResourceKind> = done.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            ResourceKind::Server,
            ResourceKind::RouterInterface,
            ResourceKind::Router,
            ResourceKind::Subnet,
            ResourceKind::Network
        ],
        "dependency order"
    );
    assert_clean(&cloud, &path).await;
    let vols = cloud
        .snapshot
        .client()
        .list("block-storage", "/volumes/detail", "volumes")
        .await
        .unwrap();
    assert!(
        vols.is_empty(),
        "boot volume went with the server: {vols:?}"
    );
}

#[tokio::test]
async fn killed_during_backup_then_cleanup_waits_for_it() {
    let mut cloud =
        TestCloud::yaml("base: compliant.yaml\ntiming: {backup_available_after: 60}\n").await;
    let dir = tempfile::tempdir().unwrap();
    let (tracker, path) = file_tracker(&mut cloud, dir.path());
    let probe = s0117::probe();
    run_until(
        &cloud,
        probe.as_ref(),
        &[s0117::TEST_BACKUP],
        &tracker,
        ResourceKind::Backup,
        EntryState::Created,
    )
    .await;
    let done = cleanup_from(&cloud, &path).await;
    assert_eq!(
        done[0].kind,
        ResourceKind::Backup,
        "backup before its volume"
    );
    assert_eq!(done[0].what, Disposal::Deleted, "{done:?}");
    assert_clean(&cloud, &path).await;
}

#[tokio::test]
async fn ctrl_c_during_boot_cleans_up_at_once() {
    let mut cloud =
        TestCloud::yaml("base: compliant.yaml\ntiming: {server_active_after: 100000}\n").await;
    let dir = tempfile::tempdir().unwrap();
    let (tracker, path) = file_tracker(&mut cloud, dir.path());
    let cancel = cloud.ctx.cancel.clone();
    let t = tracker.clone();
    tokio::spawn(async move {
        while !t.records().iter().any(|e| e.kind == ResourceKind::Server) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
    });
    let out = cloud
        .run(
            s0101::probe().as_ref(),
            &[s0101::ENTROPY_AVAIL, s0101::FIPS_TEST],
        )
        .await;
    assert_eq!(verdict(&out, s0101::ENTROPY_AVAIL), Verdict::Abort);
    assert_eq!(out[0].reason, "interrupted");
    assert_clean(&cloud, &path).await;
}

#[tokio::test]
async fn second_ctrl_c_abandons_cleanup_and_leaves_a_list() {
    let mut cloud =
        TestCloud::yaml("base: compliant.yaml\ntiming: {server_active_after: 100000}\n").await;
    let dir = tempfile::tempdir().unwrap();
    let (tracker, path) = file_tracker(&mut cloud, dir.path());
    let cancel = cloud.ctx.cancel.clone();
    let t = tracker.clone();
    tokio::spawn(async move {
        while !t.records().iter().any(|e| e.kind == ResourceKind::Server) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        t.abort_cleanup_token().cancel();
        cancel.cancel();
    });
    let out = cloud
        .run(s0101::probe().as_ref(), &[s0101::ENTROPY_AVAIL])
        .await;
    assert_eq!(out[0].verdict, Verdict::Abort);
    assert!(
        out[0]
            .evidence
            .iter()
            .any(|f| f.message.contains("cleanup abandoned")),
        "{:?}",
        out[0].evidence
    );
    assert_eq!(tracker.leftovers().len(), 5, "{:?}", tracker.leftovers());
    // A later cleanup removes everything.
    cleanup_from(&cloud, &path).await;
    assert_clean(&cloud, &path).await;
}

#[tokio::test]
async fn resources_without_the_prefix_are_never_deleted() {
    let cloud = TestCloud::yaml(
        "base: compliant.yaml\nresources:\n  volumes:\n    - {id: 11111111-1111-4111-8111-111111111111, name: customer-data, size: 10}\n    - {id: 22222222-2222-4222-8222-222222222222, name: _scs-0117-volume-old, size: 1}\n    - {name: null, size: 1}\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    // A ledger entry whose id now belongs to a customer's volume (or was tampered with).
    std::fs::write(
        &path,
        r#"{"run":"old","seq":1,"kind":"volume","name":"_scs-0117-volume-old2","prefix":"_scs-","id":"11111111-1111-4111-8111-111111111111","state":"created","at":"2026-01-01T00:00:00Z"}
{"run":"old","seq":2,"kind":"network","name":"customer-net","prefix":"_scs-","state":"intent","at":"2026-01-01T00:00:00Z"}
"#,
    )
    .unwrap();
    let done = cleanup_from(&cloud, &path).await;
    let client = cloud.snapshot.client();
    let vols = client
        .list("block-storage", "/volumes/detail", "volumes")
        .await
        .unwrap();
    let names: Vec<&str> = vols
        .iter()
        .map(|v| v["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["customer-data", ""],
        "only the prefixed volume went"
    );
    assert!(
        done.iter()
            .any(|d| matches!(&d.what, Disposal::Skipped(why) if why.contains("customer-data"))),
        "{done:?}"
    );
    assert_eq!(cloud.requests_matching("DELETE /volume/v3/"), 1);
    assert!(
        done.iter()
            .any(|d| d.name == "customer-net" && matches!(d.what, Disposal::Skipped(_))),
        "{done:?}"
    );
}

#[tokio::test]
async fn executor_timeout_waits_for_the_cleanup() {
    use crate::execute::{Ending, RunOptions};
    use crate::plan::testutil::{ScopeBuilder, date};
    use crate::plan::{Plan, Selection, WorkItem, WorkKind};
    let mut cloud =
        TestCloud::yaml("base: compliant.yaml\ntiming: {server_active_after: 100000}\n").await;
    let dir = tempfile::tempdir().unwrap();
    let (_tracker, path) = file_tracker(&mut cloud, dir.path());
    let mut registry = crate::probes::Registry::empty();
    registry.register(s0101::probe());
    let plan = Plan {
        scope: ScopeBuilder::new().build(),
        date: date("2026-01-01"),
        versions: vec![],
        items: vec![WorkItem {
            index: 0,
            kind: WorkKind::Native {
                probe: s0101::PROBE_NAME.into(),
                replaces: None,
            },
            testcases: vec![s0101::ENTROPY_AVAIL.into()],
            parameters: Default::default(),
            versions: vec!["v1".into()],
        }],
        variables: Default::default(),
        selection: Selection::default(),
    };
    let options = RunOptions {
        jobs: 1,
        read_only_jobs: 1,
        timeout: Duration::from_millis(400),
        clock: cloud.ctx.clock.clone(),
        services: cloud.ctx.services.clone(),
        cancel: Default::default(),
        cleanup_grace: Duration::from_secs(60),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let results = crate::execute::run(&plan, &registry, options, tx).await;
    assert_eq!(results[0].ending, Ending::TimedOut);
    assert_eq!(results[0].outcomes[0].verdict, Verdict::Abort);
    assert!(
        !results[0].stderr.iter().any(|l| l.contains("did not stop")),
        "{:?}",
        results[0].stderr
    );
    assert_clean(&cloud, &path).await;
}

// ---------------------------------------------------------------------------------------------
// Transient faults: ABORT, never FAIL, and nothing left behind (issue 11, items 2.1, 2.3, 2.4).

use super::scs_0115_default_security_group_rules as s0115;
use super::scs_0116_key_manager as s0116;
use crate::openstack::{Client, ClientOptions, Snapshot};

/// Faults that prove nothing about a standard: a server error, an overloaded service, a rate
/// limit, an expired token, an unreadable body and a request that is never answered.
const TRANSIENT: [&str; 6] = [
    "kind: status, status: 500",
    "kind: status, status: 503",
    "kind: rate-limit",
    "kind: status, status: 401",
    "kind: malformed-json",
    "kind: timeout",
];

/// A simulated cloud from `base` with one fault `{service, method, path, <kind>}`, and a
/// client that gives up on an unanswered request after 300 ms.
async fn faulty(base: &str, service: &str, method: &str, path: &str, kind: &str) -> TestCloud {
    let mut cloud = TestCloud::yaml(&format!(
        "base: {base}\nfaults:\n  - {{service: {service}, method: {method}, path: {path}, {kind}}}\n"
    ))
    .await;
    let options = ClientOptions {
        timeout: Duration::from_millis(300),
        backoff: Duration::from_millis(1),
        max_retry_after: Duration::from_millis(1),
        ..ClientOptions::default()
    };
    let client = Client::connect_with(cloud.sim.cloud_config("sim"), options)
        .await
        .expect("client connects");
    let snapshot = Snapshot::new(client);
    cloud.ctx.services.openstack = Some(snapshot.clone());
    cloud.snapshot = snapshot;
    cloud
}

/// Every requested testcase is ABORT with an "inconclusive" reason, and the ledger says every
/// resource is gone.
fn assert_inconclusive(cell: &str, out: &[crate::probes::Outcome], tracker: &Tracker) {
    for o in out {
        assert_eq!(o.verdict, Verdict::Abort, "{cell}: {o:?}");
        assert!(o.reason.contains("inconclusive"), "{cell}: {}", o.reason);
    }
    let left = tracker.leftovers();
    assert!(left.is_empty(), "{cell}: left behind {left:?}");
}

#[tokio::test]
async fn scs_0117_transient_faults_abort_and_clean_up() {
    for path in ["/volumes", "/backups"] {
        for kind in TRANSIENT {
            let cell = format!("POST {path} {kind}");
            let cloud = faulty("compliant.yaml", "block-storage", "POST", path, kind).await;
            let out = cloud
                .run(s0117::probe().as_ref(), &[s0117::TEST_BACKUP])
                .await;
            assert_inconclusive(&cell, &out, &cloud.ctx.services.tracker());
            let left = prefixed_names(cloud.snapshot.client(), "_scs-")
                .await
                .unwrap();
            assert!(left.is_empty(), "{cell}: {left:?}");
        }
    }
}

#[tokio::test]
async fn scs_0117_unreadable_backup_status_aborts_and_still_deletes() {
    // Every GET of a backup fails (the status poll, the read-back and the wait until gone).
    let cloud = faulty(
        "compliant.yaml",
        "block-storage",
        "GET",
        "/backups/",
        "kind: status, status: 503",
    )
    .await;
    let out = cloud
        .run(s0117::probe().as_ref(), &[s0117::TEST_BACKUP])
        .await;
    assert_inconclusive("GET /backups/ 503", &out, &cloud.ctx.services.tracker());
    let log = cloud.sim.request_log();
    let deleted = |what: &str| {
        log.iter()
            .any(|l| l.starts_with("DELETE /volume/v3/") && l.contains(what))
    };
    assert!(deleted("/backups/") && deleted("/volumes/"), "{log:?}");
    let vols = cloud
        .snapshot
        .client()
        .list("block-storage", "/volumes/detail", "volumes")
        .await
        .unwrap();
    assert!(vols.is_empty(), "{vols:?}");
}

#[tokio::test]
async fn scs_0116_transient_faults_abort_and_clean_up() {
    for (method, path) in [("POST", "/secrets"), ("GET", "/secrets")] {
        for kind in TRANSIENT {
            let cell = format!("{method} {path} {kind}");
            let cloud = faulty("compliant.yaml", "key-manager", method, path, kind).await;
            let out = cloud
                .run(s0116::permissions_probe().as_ref(), &[s0116::PERMISSIONS])
                .await;
            assert_inconclusive(&cell, &out, &cloud.ctx.services.tracker());
        }
    }
}

#[tokio::test]
async fn scs_0101_transient_faults_abort_and_clean_up() {
    for (service, path) in [("network", "/networks"), ("compute", "/servers")] {
        for kind in TRANSIENT {
            let cell = format!("POST {path} {kind}");
            let cloud = faulty("compliant.yaml", service, "POST", path, kind).await;
            let out = cloud
                .run(
                    s0101::probe().as_ref(),
                    &[s0101::ENTROPY_AVAIL, s0101::FIPS_TEST],
                )
                .await;
            assert_inconclusive(&cell, &out, &cloud.ctx.services.tracker());
            let left = prefixed_names(cloud.snapshot.client(), "_scs-")
                .await
                .unwrap();
            assert!(left.is_empty(), "{cell}: {left:?}");
        }
    }
}

#[tokio::test]
async fn scs_0115_fallback_transient_faults_abort_and_clean_up() {
    for kind in TRANSIENT {
        let cell = format!("POST /security-groups {kind}");
        let cloud = faulty(
            "zed-legacy.yaml",
            "network",
            "POST",
            "/security-groups",
            kind,
        )
        .await;
        let out = cloud
            .run(s0115::probe().as_ref(), &[s0115::DEFAULT_RULES])
            .await;
        assert_inconclusive(&cell, &out, &cloud.ctx.services.tracker());
        let groups = cloud
            .snapshot
            .client()
            .list("network", "/security-groups", "security_groups")
            .await
            .unwrap();
        assert_eq!(
            groups.len(),
            1,
            "{cell}: only the default group: {groups:?}"
        );
    }
}

#[tokio::test]
async fn server_whose_status_read_keeps_failing_is_still_deleted_with_its_network() {
    // Every GET of a server fails: the boot wait, the read-back before deleting it, and the
    // wait until it is gone. It is deleted by id all the same (the ledger records it as ours),
    // so its port goes and the router, subnet and network can go too.
    let cloud = faulty(
        "compliant.yaml",
        "compute",
        "GET",
        "/servers/",
        "kind: status, status: 500",
    )
    .await;
    let out = cloud
        .run(
            s0101::probe().as_ref(),
            &[s0101::ENTROPY_AVAIL, s0101::FIPS_TEST],
        )
        .await;
    assert_inconclusive("GET /servers/ 500", &out, &cloud.ctx.services.tracker());
    assert_eq!(cloud.requests_matching("DELETE /compute/v2.1/servers/"), 1);
    let client = cloud.snapshot.client();
    for (path, key) in [
        ("/networks?router:external=False", "networks"),
        ("/subnets", "subnets"),
        ("/routers", "routers"),
        ("/ports", "ports"),
    ] {
        let left = client.list("network", path, key).await.unwrap();
        assert!(left.is_empty(), "{key}: {left:?}");
    }
}

#[tokio::test]
async fn delete_answered_with_any_2xx_body_counts_as_done() {
    // DELETE answers are labelled text/html (a proxy in between): still done.
    let cloud = faulty(
        "compliant.yaml",
        "'*'",
        "DELETE",
        "/",
        "kind: wrong-content-type",
    )
    .await;
    let out = cloud
        .run(s0117::probe().as_ref(), &[s0117::TEST_BACKUP])
        .await;
    assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
    assert!(cloud.ctx.services.tracker().leftovers().is_empty());
    assert!(
        prefixed_names(cloud.snapshot.client(), "_scs-")
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// `scs-check cleanup` safety (issue 11, item 5.2).

/// The janitor with `prefix` and no ledger.
async fn sweep_prefix(
    cloud: &TestCloud,
    prefix: &str,
) -> Vec<crate::openstack::resources::Disposed> {
    let options = SweepOptions {
        prefix: prefix.into(),
        dry_run: false,
        pace: cloud.ctx.services.tracker().pace(),
        time_limit: Some(Duration::from_secs(30)),
    };
    sweep(
        cloud.snapshot.client(),
        None,
        vec![],
        &options,
        &Default::default(),
    )
    .await
}

#[tokio::test]
async fn cleanup_with_an_admin_token_leaves_other_projects_alone() {
    // An admin token sees other projects' resources: a volume and a backup named like ours in
    // another project, and another project's external network named with the prefix.
    let cloud = TestCloud::yaml(
        "base: admin-token.yaml\nnetwork: {external_networks: [_scs-shared-ext]}\nresources:\n  volumes:\n    - {name: _scs-0117-volume-theirs, size: 1, \"os-vol-tenant-attr:tenant_id\": 0ther0000000000000000000000000001}\n    - {name: _scs-0117-volume-ours, size: 1}\n  backups:\n    - {name: _scs-0117-backup-theirs, \"os-backup-project-attr:project_id\": 0ther0000000000000000000000000001}\n",
    )
    .await;
    let done = sweep_prefix(&cloud, "_scs-").await;
    let names: Vec<&str> = done.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["_scs-0117-volume-ours"], "{done:?}");
    assert_eq!(done[0].what, Disposal::Deleted);
    let log = cloud.sim.request_log();
    let deletes: Vec<&String> = log.iter().filter(|l| l.starts_with("DELETE")).collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    let client = cloud.snapshot.client();
    let vols = client
        .list("block-storage", "/volumes/detail", "volumes")
        .await
        .unwrap();
    assert_eq!(vols.len(), 1, "{vols:?}");
    assert_eq!(
        client
            .list("block-storage", "/backups/detail", "backups")
            .await
            .unwrap()
            .len(),
        1
    );
    let ext = client
        .list("network", "/networks?router:external=True", "networks")
        .await
        .unwrap();
    assert_eq!(ext.len(), 1, "the other project's network stays: {ext:?}");
}

#[tokio::test]
async fn cleanup_never_detaches_a_router_interface_that_is_not_ours() {
    use reqwest::Method;
    use serde_json::json;
    let cloud = TestCloud::file("compliant.yaml").await;
    let client = cloud.snapshot.client();
    let post = |path: &'static str, body: serde_json::Value| async move {
        client
            .request_json("network", Method::POST, path, Some(&body))
            .await
            .unwrap()
    };
    let net = post("/networks", json!({"network": {"name": "customer-net"}})).await;
    let net = net["network"]["id"].as_str().unwrap().to_string();
    let subnet = |name: &'static str, cidr: &'static str| {
        let net = net.clone();
        async move {
            let v = post(
                "/subnets",
                json!({"subnet": {"name": name, "network_id": net, "cidr": cidr, "ip_version": 4}}),
            )
            .await;
            v["subnet"]["id"].as_str().unwrap().to_string()
        }
    };
    let theirs = subnet("customer-subnet", "10.9.0.0/24").await;
    let ours = subnet("_scs-0101-subnet-old", "10.8.0.0/24").await;
    let router = post(
        "/routers",
        json!({"router": {"name": "_scs-0101-router-old"}}),
    )
    .await;
    let router = router["router"]["id"].as_str().unwrap().to_string();
    for s in [&theirs, &ours] {
        client
            .request_json(
                "network",
                Method::PUT,
                &format!("/routers/{router}/add_router_interface"),
                Some(&json!({"subnet_id": s})),
            )
            .await
            .unwrap();
    }
    let done = sweep_prefix(&cloud, "_scs-").await;
    let on_router = client
        .list(
            "network",
            &format!("/ports?device_id={router}&device_owner=network:router_interface"),
            "ports",
        )
        .await
        .unwrap();
    let subnets_on_router: Vec<&str> = on_router
        .iter()
        .filter_map(|p| p["fixed_ips"][0]["subnet_id"].as_str())
        .collect();
    assert_eq!(
        subnets_on_router,
        [theirs.as_str()],
        "our interface went, the customer's stayed: {done:?}"
    );
    let router_line = done
        .iter()
        .find(|d| d.kind == ResourceKind::Router)
        .unwrap();
    assert!(
        matches!(&router_line.what, Disposal::Failed(why) if why.contains("not ours")),
        "{router_line:?}"
    );
    let line = router_line.to_string();
    assert!(line.contains(&theirs), "{line}");
    // Our subnet (no interface any more) is gone; the customer's network and subnet stay.
    let subnets = client.list("network", "/subnets", "subnets").await.unwrap();
    let names: Vec<&str> = subnets.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(names.contains(&"customer-subnet"), "{names:?}");
    assert!(!names.contains(&"_scs-0101-subnet-old"), "{names:?}");
}

#[tokio::test]
async fn short_prefixes_are_not_swept() {
    let cloud = TestCloud::yaml(
        "base: compliant.yaml\nresources:\n  volumes:\n    - {name: _scs-0117-volume-old, size: 1}\n",
    )
    .await;
    assert!(sweep_prefix(&cloud, "_sc").await.is_empty());
    assert_eq!(cloud.requests_matching("DELETE"), 0);
    assert_eq!(sweep_prefix(&cloud, "_scs").await.len(), 1);
}
