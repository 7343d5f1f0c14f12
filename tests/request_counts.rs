//! Request counts of whole runs (deterministic, unlike timings): the binary runs IaaS v5.1
//! read-only testcases against simulated clouds served by this test, and the simulator's request
//! log and the report's `scs_check.requests_by_service` must show the minimum the APIs allow.

use assert_cmd::Command;
use scs_check::sim::{Fixture, SimHandle, Simulator};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The v5.1 testcases that create nothing in the cloud (scs-0101's VM tests, scs-0116's secret
/// test and scs-0117's backup test are left out).
const READ_ONLY: &str = "scs-0100-|scs-0101-(flavor|image)-property|scs-0101-rngd|scs-0102-|\
                         scs-0103-|scs-0104-|scs-0114-|scs-0115-|scs-0116-presence|scs-0123-";

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/clouds")
}

/// What one run did: the simulator's request log and the report's counts per service.
struct Run {
    log: Vec<String>,
    by_service: BTreeMap<String, u64>,
    total: u64,
    exit: Option<i32>,
}

impl Run {
    /// Requests whose log line (`METHOD /path?query`) starts with `prefix`.
    fn count(&self, prefix: &str) -> usize {
        self.log.iter().filter(|l| l.starts_with(prefix)).count()
    }
}

/// Runs `scs-check run iaas -V v5.1 -t READ_ONLY` against a simulator of `fixture`.
async fn run_read_only(fixture: &Path) -> Run {
    let fx = Fixture::load(fixture).unwrap();
    let sim: SimHandle = Simulator::start(fx, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(&clouds, sim.clouds_yaml("sim")).unwrap();
    let json = dir.path().join("report.json");
    let mut cmd = Command::cargo_bin("scs-check").unwrap();
    cmd.env("CI", "true")
        .env("OS_CLIENT_CONFIG_FILE", &clouds)
        .env("XDG_STATE_HOME", dir.path())
        .current_dir(dir.path())
        .args([
            "run",
            "iaas",
            "-q",
            "-V",
            "v5.1",
            "--os-cloud",
            "sim",
            "-t",
            READ_ONLY,
        ])
        .arg("--json")
        .arg(&json);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|e| {
            panic!(
                "no report ({e}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        }))
        .unwrap();
    let block = &report["scs_check"];
    let by_service = block["requests_by_service"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let run = Run {
        log: sim.request_log(),
        by_service,
        total: block["requests"].as_u64().unwrap_or(0),
        exit: output.status.code(),
    };
    sim.shutdown().await;
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_cloud_v5_1_read_only_uses_the_minimum_of_requests() {
    let run = run_read_only(&fixture_dir().join("large.yaml")).await;
    assert_eq!(run.exit, Some(0), "{:#?}", run.log);
    let expected: BTreeMap<String, u64> = [
        // the token (its catalog answers every scs-0123 and scs-0116-presence question)
        ("identity", 1),
        // 501 flavors at Nova's largest page (100 here): 5 full pages and one of 1
        ("compute", 6),
        // 5,000 images at Glance's largest page (200 here): 25 full pages, then the empty page
        // the last full one links to (Glance cannot know that nothing follows)
        ("image", 26),
        // the volume types (scs-0114)
        ("block-storage", 1),
        // the default security group rule templates (scs-0115)
        ("network", 1),
        // one S3 ListBuckets (scs-0123-swift-s3)
        ("s3", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(run.by_service, expected, "{:#?}", run.log);
    // At most 36 requests: the sum above; nothing else is asked twice or needed.
    assert_eq!(run.total, 36);
    assert_eq!(run.log.len(), 36, "{:#?}", run.log);
    // No version discovery: the catalog names compute's and block storage's versions, and
    // image and network are reached at their conventional versioned paths (/v2, /v2.0).
    for doc in ["GET /image/", "GET /network/", "GET /compute/v2.1/"] {
        assert!(
            !run.log.iter().any(|l| l == doc),
            "{doc} was asked: {:#?}",
            run.log
        );
    }
    // The largest page the APIs accept is asked for: the server's own maximum applies.
    assert_eq!(run.count("GET /compute/v2.1/flavors/detail?"), 6);
    assert!(
        run.log
            .iter()
            .filter(|l| l.contains("/flavors/detail") || l.contains("/images"))
            .all(|l| l.contains("limit=1000")),
        "{:#?}",
        run.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_compute_costs_one_negotiation_and_no_more() {
    // zed-legacy: compute only up to 2.53, so the first flavor page at 2.61 is refused (406),
    // the version document is read once, and the page is asked again at 2.53; every flavor's
    // extra specs then need a request of their own.
    let run = run_read_only(&fixture_dir().join("zed-legacy.yaml")).await;
    assert!(matches!(run.exit, Some(0..=2)), "{:#?}", run.log);
    assert_eq!(
        run.log
            .iter()
            .filter(|l| *l == "GET /compute/v2.1/")
            .count(),
        1,
        "{:#?}",
        run.log
    );
    assert_eq!(run.count("GET /compute/v2.1/flavors/detail?"), 2);
    let flavors =
        run.count("GET /compute/v2.1/flavors/") - run.count("GET /compute/v2.1/flavors/detail");
    assert!(flavors > 0, "{:#?}", run.log);
    assert_eq!(
        run.by_service.get("compute").copied(),
        Some(3 + flavors as u64),
        "{:#?}",
        run.log
    );
}
