//! Test helpers for IaaS probes: a simulated cloud from fixture text, reached through the real
//! client, and a probe context over it with a fixed clock.

use crate::openstack::{Client, ClientOptions, Snapshot};
use crate::probes::{Clock, ProbeContext, Services};
use crate::sim::{Fixture, SimHandle, Simulator};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A running simulated cloud and a context for probes.
pub struct SimCloud {
    /// The simulator (kept alive while the test runs).
    #[allow(dead_code)]
    pub sim: SimHandle,
    /// The probe context: the cloud's snapshot, the parameters, a clock fixed at the
    /// simulator's start (which is when it resolved the fixture's relative dates).
    pub ctx: ProbeContext,
}

/// Starts a simulator for fixture text (`base:` paths relative to `fixtures/clouds`) and builds
/// a probe context with the given include parameters.
pub async fn sim_cloud(fixture: &str, parameters: &[(&str, &str)]) -> SimCloud {
    let fixture = Fixture::from_yaml_in(fixture, "test", Some(Path::new("fixtures/clouds")))
        .expect("test fixture is valid");
    let sim = Simulator::start(fixture, None)
        .await
        .expect("simulator starts");
    let now = chrono::Utc::now();
    let options = ClientOptions {
        backoff: Duration::from_millis(1),
        ..ClientOptions::default()
    };
    let client = Client::connect_with(sim.cloud_config("c"), options)
        .await
        .expect("connects");
    let ctx = ProbeContext {
        services: Services {
            openstack: Some(Snapshot::new(client)),
            ..Default::default()
        },
        variables: BTreeMap::new(),
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        clock: Clock::fixed(now),
        cancel: CancellationToken::new(),
        timeout: Duration::from_secs(60),
    };
    SimCloud { sim, ctx }
}
