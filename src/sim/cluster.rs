//! The simulated Kubernetes cluster: a fake API server over a fixture
//! (`fixtures/clusters/*.yaml`, format in `docs/fixtures.md`) serving `/version`, nodes,
//! storage classes, and namespaces, PVCs and pods with create/get/delete; plus local stand-ins
//! for the data the version policy downloads (GitHub releases with paging, the Kubernetes CVE
//! feed and CVE records), and the fake `sonobuoy` executable. Knows no verdicts.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const FAKE_SONOBUOY: &str = include_str!("../../fixtures/sonobuoy/fake-sonobuoy.sh");
const RESULTS_PASS: &str = include_str!("../../fixtures/sonobuoy/results-pass.yaml");
const RESULTS_FAIL: &str = include_str!("../../fixtures/sonobuoy/results-fail.yaml");
const RESULTS_OK_TO_FAIL: &str = include_str!("../../fixtures/sonobuoy/results-ok-to-fail.yaml");
const RESULTS_BROKEN: &str = include_str!("../../fixtures/sonobuoy/results-broken.yaml");
const RESULTS_EMPTY: &str = include_str!("../../fixtures/sonobuoy/results-empty.yaml");
const RESULTS_TIMEOUT: &str = include_str!("../../fixtures/sonobuoy/results-timeout.yaml");
const RESULTS_PLUGIN_ERROR: &str =
    include_str!("../../fixtures/sonobuoy/results-plugin-error.yaml");
const RESULTS_NETPOL_FAIL: &str = include_str!("../../fixtures/sonobuoy/results-netpol-fail.yaml");
const RESULTS_BOTH_FAIL: &str = include_str!("../../fixtures/sonobuoy/results-both-fail.yaml");
const RESULTS_CONFORMANCE_FAIL: &str =
    include_str!("../../fixtures/sonobuoy/results-conformance-fail.yaml");

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

/// Installs the fake `sonobuoy` into `dir` with the results named by `behaviour` (see
/// [`ClusterFixture::sonobuoy`]) and returns the executable's path.
pub fn install_fake_sonobuoy(dir: &Path, behaviour: &str) -> std::io::Result<PathBuf> {
    let (mode, results) = match behaviour {
        "pass" => ("pass", RESULTS_PASS),
        "fail" => ("pass", RESULTS_FAIL),
        "ok-to-fail" => ("pass", RESULTS_OK_TO_FAIL),
        "broken" => ("pass", RESULTS_BROKEN),
        "empty" => ("pass", RESULTS_EMPTY),
        "timeout" => ("pass", RESULTS_TIMEOUT),
        "plugin-error" => ("pass", RESULTS_PLUGIN_ERROR),
        "netpol-fail" => ("pass", RESULTS_NETPOL_FAIL),
        "both-fail" => ("pass", RESULTS_BOTH_FAIL),
        "conformance-fail" => ("pass", RESULTS_CONFORMANCE_FAIL),
        other => (other, RESULTS_PASS),
    };
    std::fs::create_dir_all(dir)?;
    let bin = dir.join("sonobuoy");
    std::fs::write(&bin, FAKE_SONOBUOY)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::write(dir.join("mode"), mode)?;
    std::fs::write(dir.join("sonobuoy_results.yaml"), results)?;
    Ok(bin)
}

#[derive(Default)]
struct Objects {
    namespaces: BTreeSet<String>,
    pvcs: BTreeMap<(String, String), Value>,
    pods: BTreeMap<(String, String), Value>,
    created: u64,
    requests: Vec<String>,
}

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
            async move { handle(st, req).await }
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

fn respond(code: StatusCode, body: Value) -> Response {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

fn status(code: u16, reason: &str, message: String) -> Response {
    respond(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Response {
    respond(
        StatusCode::OK,
        json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": "1"}, "items": items}),
    )
}

fn meta(name: &str, namespace: Option<&str>, labels: Option<&BTreeMap<String, String>>) -> Value {
    let mut m = json!({"name": name, "uid": uuid::Uuid::new_v4().to_string(),
                       "resourceVersion": "1", "creationTimestamp": "2026-01-01T00:00:00Z"});
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    if let Some(l) = labels {
        m["labels"] = json!(l);
    }
    m
}

async fn handle(state: Arc<State>, req: axum::extract::Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let f = &state.fixture;
    {
        let mut o = state.objects.lock().unwrap_or_else(|p| p.into_inner());
        o.requests.push(format!("{method} {path}"));
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.clone(), segs.as_slice()) {
        (Method::GET, ["version"]) => {
            let v = crate::kube::version::parse_cluster_version(&f.version).map(|(v, _)| v);
            let (major, minor) = v.map_or((String::new(), String::new()), |v| {
                (v.major.to_string(), v.minor.to_string())
            });
            respond(
                StatusCode::OK,
                json!({"major": major, "minor": minor, "gitVersion": f.version,
                       "gitCommit": "0000000", "gitTreeState": "clean",
                       "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                       "compiler": "gc", "platform": "linux/amd64"}),
            )
        }
        (Method::GET, ["api", "v1", "nodes"]) => list(
            "NodeList",
            "v1",
            f.nodes
                .iter()
                .map(|n| json!({"metadata": meta(&n.name, None, Some(&n.labels))}))
                .collect(),
        ),
        (Method::GET, ["apis", "storage.k8s.io", "v1", "storageclasses"]) => list(
            "StorageClassList",
            "storage.k8s.io/v1",
            f.storage_classes
                .iter()
                .map(|c| {
                    let mut m = meta(&c.name, None, None);
                    if c.default {
                        m["annotations"] =
                            json!({"storageclass.kubernetes.io/is-default-class": "true"});
                    }
                    json!({"metadata": m, "provisioner": c.provisioner,
                           "volumeBindingMode": c.binding_mode, "reclaimPolicy": "Delete"})
                })
                .collect(),
        ),
        (Method::GET, ["api", "v1", "namespaces"]) => {
            let o = state.objects.lock().unwrap_or_else(|p| p.into_inner());
            list(
                "NamespaceList",
                "v1",
                o.namespaces
                    .iter()
                    .map(|n| json!({"metadata": meta(n, None, None)}))
                    .collect(),
            )
        }
        (Method::POST, ["api", "v1", "namespaces"]) => {
            let name = body["metadata"]["name"].as_str().unwrap_or("").to_string();
            let mut o = state.objects.lock().unwrap_or_else(|p| p.into_inner());
            if name.is_empty() {
                return status(422, "Invalid", "metadata.name: Required value".into());
            }
            if !o.namespaces.insert(name.clone()) {
                return status(
                    409,
                    "AlreadyExists",
                    format!("namespaces \"{name}\" already exists"),
                );
            }
            o.created += 1;
            respond(
                StatusCode::CREATED,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(&name, None, None),
                       "status": {"phase": "Active"}}),
            )
        }
        (Method::GET | Method::DELETE, ["api", "v1", "namespaces", name]) => {
            let mut o = state.objects.lock().unwrap_or_else(|p| p.into_inner());
            if !o.namespaces.contains(*name) {
                return status(404, "NotFound", format!("namespaces \"{name}\" not found"));
            }
            if method == Method::DELETE {
                o.namespaces.remove(*name);
                o.pvcs.retain(|(ns, _), _| ns != name);
                o.pods.retain(|(ns, _), _| ns != name);
            }
            respond(
                StatusCode::OK,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, None),
                       "status": {"phase": if method == Method::DELETE {"Terminating"} else {"Active"}}}),
            )
        }
        (
            m,
            [
                "api",
                "v1",
                "namespaces",
                ns,
                kind @ ("persistentvolumeclaims" | "pods"),
                rest @ ..,
            ],
        ) => namespaced(&state, m, ns, kind, rest.first().copied(), body),
        (Method::GET, ["repos", "kubernetes", "kubernetes", "releases"]) => {
            releases(&state, &query)
        }
        (Method::GET, ["cve-feed.json"]) => {
            if f.data == DataBehaviour::CveFeedBroken {
                return respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "feed unavailable"}),
                );
            }
            respond(
                StatusCode::OK,
                json!({"version": "https://jsonfeed.org/version/1.1", "title": "simulated CVE feed",
                       "items": f.cves.iter().map(|c| json!({"id": c.id, "url": format!("{}/cve/{}", state.base, c.id)})).collect::<Vec<_>>()}),
            )
        }
        (Method::GET, ["cve", id]) => match f.cves.iter().find(|c| c.id == *id) {
            None => respond(StatusCode::NOT_FOUND, json!({"error": "CVE_RECORD_DNE"})),
            Some(c) if c.record == RecordBehaviour::Missing => {
                respond(StatusCode::NOT_FOUND, json!({"error": "CVE_RECORD_DNE"}))
            }
            Some(c) if c.record == RecordBehaviour::NotJson => Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "text/html")
                .body(Body::from("<html><body>maintenance</body></html>"))
                .unwrap_or_default(),
            Some(c) => respond(
                StatusCode::OK,
                json!({"dataType": "CVE_RECORD", "dataVersion": "5.1",
                       "cveMetadata": {"cveId": c.id},
                       "containers": {"cna": {
                           "metrics": [{"cvssV3_1": {"baseScore": c.score, "version": "3.1"}}],
                           "affected": [{"vendor": "Kubernetes", "product": "Kubernetes",
                                         "versions": c.affected.iter().map(|a| {
                                             let mut v = json!({"status": "affected"});
                                             for (k, val) in a { v[k] = json!(val); }
                                             v
                                         }).collect::<Vec<_>>()}]}}}),
            ),
        },
        _ => status(
            404,
            "NotFound",
            format!("the simulator does not serve {method} {path}"),
        ),
    }
}

fn releases(state: &State, query: &str) -> Response {
    let f = &state.fixture;
    if f.data == DataBehaviour::RateLimited {
        return respond(
            StatusCode::FORBIDDEN,
            json!({"message": "API rate limit exceeded for 127.0.0.1.",
                   "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}),
        );
    }
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let per_page = param("per_page").unwrap_or(30).clamp(1, 100);
    let page = param("page").unwrap_or(1).max(1);
    let mut sorted = f.releases.clone();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.published));
    let items: Vec<Value> = sorted
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|r| {
            json!({"tag_name": r.tag, "name": r.tag, "draft": r.draft, "prerelease": r.prerelease,
                   "published_at": if r.draft { Value::Null } else { json!(r.published.format("%Y-%m-%dT%H:%M:%SZ").to_string()) }})
        })
        .collect();
    let items = if f.data == DataBehaviour::ReleasesEndless && items.is_empty() {
        // The listing never ends: later pages repeat the first one.
        sorted
            .iter()
            .take(per_page.min(1))
            .map(|r| {
                json!({"tag_name": r.tag, "name": r.tag, "draft": false, "prerelease": r.prerelease,
                            "published_at": r.published.format("%Y-%m-%dT%H:%M:%SZ").to_string()})
            })
            .collect()
    } else {
        items
    };
    let mut resp = respond(StatusCode::OK, Value::Array(items));
    let next_page = match f.data {
        DataBehaviour::ReleasesLooping => Some(1),
        DataBehaviour::ReleasesEndless => Some(page + 1),
        _ => (page * per_page < sorted.len()).then_some(page + 1),
    };
    if let Some(next_page) = next_page {
        let next = format!(
            "<{}/repos/kubernetes/kubernetes/releases?per_page={per_page}&page={next_page}>; rel=\"next\"",
            state.base,
        );
        if let Ok(v) = next.parse() {
            resp.headers_mut().insert("link", v);
        }
    }
    resp
}

fn namespaced(
    state: &State,
    method: Method,
    ns: &str,
    kind: &str,
    name: Option<&str>,
    body: Value,
) -> Response {
    let f = &state.fixture;
    let mut o = state.objects.lock().unwrap_or_else(|p| p.into_inner());
    if !o.namespaces.contains(ns) && ns != "default" {
        return status(404, "NotFound", format!("namespaces \"{ns}\" not found"));
    }
    let is_pvc = kind == "persistentvolumeclaims";
    match (method, name) {
        (Method::POST, None) => {
            let name = body["metadata"]["name"].as_str().unwrap_or("").to_string();
            if name.is_empty() {
                return status(422, "Invalid", "metadata.name: Required value".into());
            }
            let key = (ns.to_string(), name.clone());
            let mut obj = body.clone();
            obj["metadata"] = meta(&name, Some(ns), None);
            if is_pvc {
                if o.pvcs.contains_key(&key) {
                    return status(
                        409,
                        "AlreadyExists",
                        format!("persistentvolumeclaims \"{name}\" already exists"),
                    );
                }
                let class = obj["spec"]["storageClassName"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let Some(sc) = f.storage_classes.iter().find(|c| c.name == class) else {
                    obj["status"] = json!({"phase": "Pending"});
                    o.pvcs.insert(key, obj.clone());
                    o.created += 1;
                    return respond(StatusCode::CREATED, obj);
                };
                let wait = sc.binding_mode == "WaitForFirstConsumer";
                obj["status"] = if wait {
                    json!({"phase": "Pending"})
                } else {
                    bound(f, &obj)
                };
                o.pvcs.insert(key, obj.clone());
            } else {
                if o.pods.contains_key(&key) {
                    return status(
                        409,
                        "AlreadyExists",
                        format!("pods \"{name}\" already exists"),
                    );
                }
                obj["status"] = json!({"phase": "Running"});
                // A pod using a waiting claim makes it bind.
                for v in obj["spec"]["volumes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str()
                        && let Some(pvc) = o.pvcs.get_mut(&(ns.to_string(), claim.to_string()))
                    {
                        let st = bound(f, pvc);
                        pvc["status"] = st;
                    }
                }
                o.pods.insert(key, obj.clone());
            }
            o.created += 1;
            respond(StatusCode::CREATED, obj)
        }
        (Method::GET, None) => {
            let items: Vec<Value> = if is_pvc { &o.pvcs } else { &o.pods }
                .iter()
                .filter(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect();
            list(
                if is_pvc {
                    "PersistentVolumeClaimList"
                } else {
                    "PodList"
                },
                "v1",
                items,
            )
        }
        (m @ (Method::GET | Method::DELETE), Some(name)) => {
            let key = (ns.to_string(), name.to_string());
            let map = if is_pvc { &mut o.pvcs } else { &mut o.pods };
            let found = if m == Method::DELETE {
                map.remove(&key)
            } else {
                map.get(&key).cloned()
            };
            match found {
                Some(obj) => respond(StatusCode::OK, obj),
                None => status(404, "NotFound", format!("{kind} \"{name}\" not found")),
            }
        }
        _ => status(
            405,
            "MethodNotAllowed",
            format!("{kind}: method not supported"),
        ),
    }
}

fn bound(f: &ClusterFixture, pvc: &Value) -> Value {
    match f.pvc {
        PvcBehaviour::Pending => json!({"phase": "Pending"}),
        PvcBehaviour::Bind => json!({"phase": "Bound",
            "accessModes": pvc["spec"]["accessModes"].clone(),
            "capacity": {"storage": "1Gi"}}),
        PvcBehaviour::RwxOnly => json!({"phase": "Bound", "accessModes": ["ReadWriteMany"],
            "capacity": {"storage": "1Gi"}}),
    }
}
