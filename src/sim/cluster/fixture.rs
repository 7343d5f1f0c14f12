//! The cluster fixture format (`fixtures/clusters/*.yaml`, documented in `docs/fixtures.md`):
//! nodes, storage classes, PVC behaviour, the releases and CVEs the fake download endpoints
//! serve, and the fake Sonobuoy's results.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A cluster fixture is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ClusterFixtureError {
    /// The file cannot be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The YAML does not match the format.
    #[error("{origin}: {message}")]
    Parse {
        /// File or label.
        origin: String,
        /// The parser's message (with line and column).
        message: String,
    },
}

/// A node of the fixture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFixture {
    /// Node name.
    pub name: String,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A storage class of the fixture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageClassFixture {
    /// Name.
    pub name: String,
    /// Annotated as the default class.
    #[serde(default)]
    pub default: bool,
    /// Provisioner.
    #[serde(default = "default_provisioner")]
    pub provisioner: String,
    /// `Immediate` or `WaitForFirstConsumer`.
    #[serde(default = "default_binding")]
    pub binding_mode: String,
}

fn default_provisioner() -> String {
    "cinder.csi.openstack.org".into()
}
fn default_binding() -> String {
    "Immediate".into()
}

/// How PVCs behave.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PvcBehaviour {
    /// PVCs bind (for `WaitForFirstConsumer` classes once a pod uses them).
    #[default]
    Bind,
    /// PVCs stay `Pending`.
    Pending,
    /// PVCs bind, but the volume offers only ReadWriteMany.
    RwxOnly,
}

/// A release served on the fake GitHub endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseFixture {
    /// Tag, e.g. `v1.35.2`.
    pub tag: String,
    /// Publication time.
    pub published: DateTime<Utc>,
    /// Pre-release flag.
    #[serde(default)]
    pub prerelease: bool,
    /// Draft flag.
    #[serde(default)]
    pub draft: bool,
}

/// A CVE served on the fake feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CveFixture {
    /// CVE id.
    pub id: String,
    /// CVSS v3.1 base score.
    pub score: f64,
    /// `affected[].versions[]` entries of the Kubernetes product, as in CVE JSON 5.
    #[serde(default)]
    pub affected: Vec<BTreeMap<String, String>>,
    /// How the record endpoint answers for this CVE.
    #[serde(default)]
    pub record: RecordBehaviour,
}

/// How the CVE record endpoint answers for one CVE.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RecordBehaviour {
    /// The CVE JSON 5 record.
    #[default]
    Ok,
    /// 404 (the feed lists an id the record service does not know).
    Missing,
    /// 200 with a body that is not JSON.
    NotJson,
}

/// How the fake GitHub endpoint answers.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DataBehaviour {
    /// Normal answers.
    #[default]
    Ok,
    /// GitHub answers 403 "API rate limit exceeded".
    RateLimited,
    /// The CVE feed answers 500.
    CveFeedBroken,
    /// Every release page's `next` link points back to the first page.
    ReleasesLooping,
    /// Every release page has a `next` link (the listing never ends).
    ReleasesEndless,
}

/// A simulated cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFixture {
    /// Name (the kube context of the simulator).
    pub name: String,
    /// The probes' clock under `run --simulate` (the data below is relative to it).
    #[serde(default)]
    pub clock: Option<DateTime<Utc>>,
    /// `gitVersion` of `/version`.
    pub version: String,
    /// Nodes.
    #[serde(default)]
    pub nodes: Vec<NodeFixture>,
    /// Storage classes.
    #[serde(default)]
    pub storage_classes: Vec<StorageClassFixture>,
    /// PVC behaviour.
    #[serde(default)]
    pub pvc: PvcBehaviour,
    /// Releases on the fake GitHub endpoint.
    #[serde(default)]
    pub releases: Vec<ReleaseFixture>,
    /// CVEs on the fake feed.
    #[serde(default)]
    pub cves: Vec<CveFixture>,
    /// Faults of the data endpoints.
    #[serde(default)]
    pub data: DataBehaviour,
    /// Which results the fake sonobuoy returns: `pass`, `fail`, `ok-to-fail`, `broken`, `empty`
    /// (no test ran), `timeout` (a test ended in state `timeout`), `plugin-error`,
    /// `netpol-fail` (only a NetworkPolicy test fails), `conformance-fail` (only a conformance
    /// test outside the NetworkPolicy tests fails), `both-fail` (one of each fails); or a behaviour: `hang`, `run-fails`,
    /// `no-results`.
    #[serde(default = "default_sonobuoy")]
    pub sonobuoy: String,
}

fn default_sonobuoy() -> String {
    "pass".into()
}

impl ClusterFixture {
    /// Parses a fixture from YAML text.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ClusterFixtureError> {
        serde_saphyr::from_str(text).map_err(|e| ClusterFixtureError::Parse {
            origin: origin.to_string(),
            message: e.to_string().replace('\n', " "),
        })
    }
    /// Loads a fixture file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ClusterFixtureError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ClusterFixtureError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_yaml(&text, &path.display().to_string())
    }
}
