//! Simulated cloud and cluster: HTTP servers that answer as the real APIs do for a fixture.
//! Knows no verdicts.
//!
//! [`Simulator::start`] serves a [`Fixture`] on 127.0.0.1 (Keystone, Nova, Glance, Cinder,
//! Neutron, Barbican, and an S3 `ListBuckets` endpoint at `/`), with version documents,
//! pagination, fault injection and stateful resources. The returned [`SimHandle`] gives the
//! auth URL and a ready clouds.yaml.

pub mod cluster;
pub mod fixture;
pub mod generate;
pub mod seed;
mod server;

pub use fixture::{Fixture, FixtureError};

use crate::openstack::config::CloudConfig;
use server::SimState;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// The simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The fixture is unusable.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {message}")]
    Bind {
        /// Requested port (0 = random).
        port: u16,
        /// OS error.
        message: String,
    },
}

/// What a fixture file describes, judged by its top-level keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureKind {
    /// A simulated OpenStack cloud (`fixtures/clouds/`, for IaaS scopes).
    Cloud,
    /// A simulated Kubernetes cluster (`fixtures/clusters/`, for KaaS scopes).
    Cluster,
}

impl FixtureKind {
    /// Guesses the kind from the top-level keys of a fixture text (`None` when the keys say
    /// nothing, e.g. a fixture that only names its `base`).
    pub fn of_text(text: &str) -> Option<FixtureKind> {
        const CLUSTER: &[&str] = &[
            "clock",
            "nodes",
            "storage_classes",
            "pvc",
            "releases",
            "cves",
            "sonobuoy",
        ];
        const CLOUD: &[&str] = &[
            "services",
            "compute",
            "flavors",
            "images",
            "volume_types",
            "network",
            "key_manager",
            "block_storage",
            "s3",
            "faults",
            "timing",
            "resources",
            "quotas",
            "generate",
            "user",
            "region",
            "application_credentials",
            "page_size",
            "base",
        ];
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with([' ', '\t', '#', '-']))
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim()))
            .collect();
        let count = |set: &[&str]| keys.iter().filter(|k| set.contains(k)).count();
        match (count(CLOUD), count(CLUSTER)) {
            (0, 0) => None,
            (cloud, cluster) if cluster > cloud => Some(FixtureKind::Cluster),
            _ => Some(FixtureKind::Cloud),
        }
    }

    /// Reads `path` and guesses its kind (`None` when unreadable or unclear).
    pub fn of_file(path: &Path) -> Option<FixtureKind> {
        let text = std::fs::read_to_string(path).ok()?;
        FixtureKind::of_text(&text)
    }
}

/// Starts simulated clouds.
pub struct Simulator;

/// A running simulated cloud; stops on [`SimHandle::shutdown`] or drop.
pub struct SimHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("fixture", &self.state.fixture.name)
            .finish()
    }
}

impl Simulator {
    /// Serves `fixture` on 127.0.0.1 (`port`, or a random free one). Needs a tokio runtime.
    pub async fn start(fixture: Fixture, port: Option<u16>) -> Result<SimHandle, SimError> {
        let port = port.unwrap_or(0);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| SimError::Bind {
                port,
                message: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| SimError::Bind {
            port,
            message: e.to_string(),
        })?;
        let base = format!("http://{addr}");
        let state = Arc::new(SimState::new(fixture, base));
        let app = server::app(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(SimHandle {
            addr,
            state,
            task: Some(task),
        })
    }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Keystone URL to put into clouds.yaml.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base_url())
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fixture being served.
    pub fn fixture(&self) -> &Fixture {
        &self.state.fixture
    }

    /// A complete clouds.yaml with one cloud named `cloud_name` for this simulator. It contains
    /// the simulator's (made-up) password, as a real clouds.yaml would.
    pub fn clouds_yaml(&self, cloud_name: &str) -> String {
        let u = &self.state.fixture.user;
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        format!(
            "# Simulated cloud \"{fixture}\" served by scs-check at {base}\n\
             clouds:\n  {name}:\n    auth:\n      auth_url: {auth}\n      username: {user}\n      \
             password: {pw}\n      project_name: {project}\n      user_domain_name: {domain}\n      \
             project_domain_name: {domain}\n    region_name: {region}\n    interface: public\n    \
             identity_api_version: 3\n",
            fixture = self.state.fixture.name,
            base = self.base_url(),
            name = q(cloud_name),
            auth = q(&self.auth_url()),
            user = q(&u.username),
            pw = q(&u.password),
            project = q(&u.project_name),
            domain = q(&u.domain_name),
            region = q(&self.state.fixture.region),
        )
    }

    /// The same cloud as a ready [`CloudConfig`] (no file needed).
    pub fn cloud_config(&self, cloud_name: &str) -> CloudConfig {
        let u = &self.state.fixture.user;
        let mut c = CloudConfig::password(
            cloud_name,
            &self.auth_url(),
            &u.username,
            &u.password,
            &u.project_name,
            &u.domain_name,
        );
        c.region_name = Some(self.state.fixture.region.clone());
        c
    }

    /// Every request received so far, as `METHOD /path?query`.
    pub fn request_log(&self) -> Vec<String> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stateful resources (servers, volumes, networks, secrets, ...) that exist right now, as
    /// `(kind, id, name)`, whether the fixture or a client created them. Tests use it to prove
    /// that a run left nothing behind.
    pub fn live_resources(&self) -> Vec<(String, String, String)> {
        self.state.live_resources()
    }

    /// The Keystone tokens the simulator knows now: issued and neither expired nor revoked
    /// (tests check that none reaches any output).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued_tokens()
    }

    /// Stops the server (also ends requests held by a `timeout` fault).
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    fn stop(&mut self) {
        self.state.cancel.cancel();
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Loads a fixture file and starts it; returns the handle, a clouds.yaml text and the cloud
/// name in it (the fixture's name, prefixed `sim-`). For `scs-check simulate` and
/// `run --simulate`.
pub async fn start_from_file(
    path: impl AsRef<Path>,
    port: Option<u16>,
) -> Result<(SimHandle, String, String), SimError> {
    let fixture = Fixture::load(path)?;
    let cloud = format!("sim-{}", fixture.name);
    let handle = Simulator::start(fixture, port).await?;
    let yaml = handle.clouds_yaml(&cloud);
    Ok((handle, yaml, cloud))
}

#[cfg(test)]
mod kind_tests {
    use super::FixtureKind;

    #[test]
    fn fixture_kind_follows_the_top_level_keys() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (dir, kind) in [
            ("fixtures/clouds", FixtureKind::Cloud),
            ("fixtures/clusters", FixtureKind::Cluster),
        ] {
            for entry in std::fs::read_dir(repo.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                assert_eq!(
                    FixtureKind::of_file(&path),
                    Some(kind),
                    "{}",
                    path.display()
                );
            }
        }
        assert_eq!(FixtureKind::of_text("name: x\n"), None);
    }
}
