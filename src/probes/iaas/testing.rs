//! Test support for IaaS probes: a simulated cloud from a fixture, a probe context over the real
//! client connected to it, and helpers to run a probe and pick outcomes.

use crate::openstack::{Client, ClientOptions, Snapshot};
use crate::probes::{Clock, Outcome, Probe, ProbeContext, Services};
use crate::sim::{Fixture, SimHandle, Simulator};
use crate::verdict::Verdict;
use chrono::TimeZone;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The folder of the shipped fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/clouds")
}

/// A running simulator with a probe context whose snapshot talks to it.
pub struct TestCloud {
    /// The simulator (kept alive as long as the test needs it).
    pub sim: SimHandle,
    /// The context to hand to probes.
    pub ctx: ProbeContext,
    /// The snapshot inside `ctx`.
    pub snapshot: Arc<Snapshot>,
}

impl TestCloud {
    /// Serves a shipped fixture, e.g. `compliant.yaml`.
    pub async fn file(name: &str) -> TestCloud {
        let fixture = Fixture::load(fixtures_dir().join(name)).expect("fixture loads");
        TestCloud::start(fixture).await
    }

    /// Serves inline fixture text; `base:` is relative to the shipped fixtures.
    pub async fn yaml(text: &str) -> TestCloud {
        let dir = fixtures_dir();
        let fixture = Fixture::from_yaml_in(text, "test", Some(&dir)).expect("fixture parses");
        TestCloud::start(fixture).await
    }

    /// Serves a fixture; the client retries quickly so fault tests stay fast.
    pub async fn start(fixture: Fixture) -> TestCloud {
        let pace = crate::openstack::resources::Pace(fixture.timing.time_scale);
        let sim = Simulator::start(fixture, None).await.expect("simulator");
        let options = ClientOptions {
            backoff: Duration::from_millis(1),
            max_retry_after: Duration::from_millis(1),
            ..ClientOptions::default()
        };
        let client = Client::connect_with(sim.cloud_config("sim"), options)
            .await
            .expect("client connects");
        let snapshot = Snapshot::new(client);
        let ctx = ProbeContext {
            services: Services {
                openstack: Some(snapshot.clone()),
                tracker: Some(crate::openstack::resources::Tracker::new(
                    crate::openstack::ledger::Ledger::in_memory(),
                    crate::openstack::resources::TrackerOptions {
                        pace,
                        ..Default::default()
                    },
                )),
                ..Default::default()
            },
            variables: Default::default(),
            parameters: Default::default(),
            clock: Clock::fixed(chrono::Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap()),
            cancel: CancellationToken::new(),
            timeout: Duration::from_secs(60),
        };
        TestCloud { sim, ctx, snapshot }
    }

    /// Replaces the run's tracker with one that gives `probe` the budget `d` (cloud seconds).
    pub fn set_probe_timeout(&mut self, probe: &str, d: Duration) {
        let old = self.ctx.services.tracker();
        let mut options = crate::openstack::resources::TrackerOptions {
            pace: old.pace(),
            prefix: old.prefix().to_string(),
            ..Default::default()
        };
        options.probe_timeouts.insert(probe.to_string(), d);
        self.ctx.services.tracker = Some(crate::openstack::resources::Tracker::new(
            crate::openstack::ledger::Ledger::in_memory(),
            options,
        ));
    }

    /// Runs `probe` for `ids` and checks that it answered each id once, in order.
    pub async fn run(&self, probe: &dyn Probe, ids: &[&str]) -> Vec<Outcome> {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let out = probe.run(&self.ctx, &ids).await;
        let got: Vec<&str> = out.iter().map(|o| o.testcase.as_str()).collect();
        assert_eq!(got, ids, "one outcome per requested id, in order");
        out
    }

    /// Requests the simulator received whose `METHOD /path` contains `needle`.
    pub fn requests_matching(&self, needle: &str) -> usize {
        self.sim
            .request_log()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }
}

/// The outcome for `id`.
pub fn outcome<'a>(outcomes: &'a [Outcome], id: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.testcase == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

/// The verdict for `id`.
pub fn verdict(outcomes: &[Outcome], id: &str) -> Verdict {
    outcome(outcomes, id).verdict
}
