//! The simulated cluster's answers: the Kubernetes API (`/version`, nodes, storage classes,
//! namespaces, PVCs and pods) and the stand-ins for the version policy's downloads (GitHub
//! releases with paging, the CVE feed and records).

use super::{ClusterFixture, DataBehaviour, PvcBehaviour, RecordBehaviour, State};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A JSON answer.
fn respond(code: StatusCode, body: Value) -> Response {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

/// A Kubernetes `Status` failure.
fn status(code: u16, reason: &str, message: String) -> Response {
    respond(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// A Kubernetes list of `items`.
fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Response {
    respond(
        StatusCode::OK,
        json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": "1"}, "items": items}),
    )
}

/// Object metadata with a fresh uid.
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

/// Answers one request.
pub(super) async fn handle(state: Arc<State>, req: axum::extract::Request) -> Response {
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

/// A page of the fake GitHub releases (`?page=`), as the fixture's data behaviour makes it.
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

/// Namespaced PVCs and pods: list, create, get, delete.
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

/// A PVC's status as the fixture's PVC behaviour makes it.
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
