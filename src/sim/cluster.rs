//! The simulated Kubernetes cluster: a fake API server over a fixture
//! (`fixtures/clusters/*.yaml`, format in `docs/fixtures.md`) serving `/version`, nodes,
//! storage classes, and namespaces, PVCs and pods with create/get/delete; plus local stand-ins
//! for the data the version policy downloads (GitHub releases with paging, the Kubernetes CVE
//! feed and CVE records), and the fake `sonobuoy` executable. Knows no verdicts.
//!
//! Files: this one runs the server ([`ClusterHandle`]) and holds its state; `fixture` is the
//! cluster fixture format, `api` answers the requests, `sonobuoy` installs the fake executable.

mod api;
mod fixture;
mod sonobuoy;

pub use fixture::{
    ClusterFixture, ClusterFixtureError, CveFixture, DataBehaviour, NodeFixture, PvcBehaviour,
    RecordBehaviour, ReleaseFixture, StorageClassFixture,
};
pub use sonobuoy::install_fake_sonobuoy;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What was created through the API, and the request log.
#[derive(Default)]
struct Objects {
    namespaces: BTreeSet<String>,
    pvcs: BTreeMap<(String, String), Value>,
    pods: BTreeMap<(String, String), Value>,
    created: u64,
    requests: Vec<String>,
}

/// The shared state of a running cluster.
struct State {
    fixture: ClusterFixture,
    base: String,
    objects: Mutex<Objects>,
}

/// A running simulated cluster; stops on [`ClusterHandle::shutdown`] or drop.
pub struct ClusterHandle {
    addr: SocketAddr,
    state: Arc<State>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHandle")
            .field("addr", &self.addr)
            .field("fixture", &self.state.fixture.name)
            .finish()
    }
}

impl ClusterHandle {
    /// Serves `fixture` on 127.0.0.1 (`port`, or a free one).
    pub async fn start(fixture: ClusterFixture, port: Option<u16>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.unwrap_or(0))).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            fixture,
            base: format!("http://{addr}"),
            objects: Mutex::new(Objects::default()),
        });
        let st = state.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let st = st.clone();
            async move { api::handle(st, req).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ClusterHandle {
            addr,
            state,
            task: Some(task),
        })
    }

    /// The API server URL.
    pub fn url(&self) -> String {
        self.state.base.clone()
    }

    /// The fixture.
    pub fn fixture(&self) -> &ClusterFixture {
        &self.state.fixture
    }

    /// A kubeconfig for this server (context = fixture name).
    pub fn kubeconfig(&self) -> String {
        crate::kube::kubeconfig_for(&self.url(), &self.state.fixture.name)
    }

    /// Options pointing the version policy's downloads at this server.
    pub fn kaas_options(&self, cache_dir: Option<PathBuf>) -> crate::kube::KaasOptions {
        crate::kube::KaasOptions {
            github_api: self.url(),
            github_token: None,
            cve_feed: format!("{}/cve-feed.json", self.url()),
            cve_record_base: format!("{}/cve", self.url()),
            cache_dir,
            ..crate::kube::KaasOptions::default()
        }
    }

    /// Objects created through the API that still exist: (namespaces, PVCs, pods).
    pub fn leftovers(&self) -> (usize, usize, usize) {
        let o = self.state.objects.lock().unwrap_or_else(|p| p.into_inner());
        (o.namespaces.len(), o.pvcs.len(), o.pods.len())
    }

    /// How many objects were created so far.
    pub fn created(&self) -> u64 {
        self.state
            .objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .created
    }

    /// `METHOD path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state
            .objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .requests
            .clone()
    }

    /// Stops the server.
    pub async fn shutdown(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
