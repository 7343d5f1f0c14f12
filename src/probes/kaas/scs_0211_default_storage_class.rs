//! `default-storage-class-check` (scs-0211, informational): exactly one StorageClass is marked
//! default (`storageclass.kubernetes.io/is-default-class: "true"`), it is not the node-local
//! `kubernetes.io/no-provisioner`, and a ReadWriteOnce PVC of that class binds. The probe works
//! in a namespace of its own and deletes everything it created, whatever happens.

use crate::probes::{Finding, Outcome, ProbeContext, Registry};
use crate::probes::{FnProbe, abort_all};
use futures::FutureExt;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, PostParams};
use std::time::Duration;

/// The testcase id.
pub const ID: &str = "default-storage-class-check";
/// The default-class annotation.
pub const DEFAULT_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// Provisioner of node-local volumes.
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
/// Image of the consumer pod for `WaitForFirstConsumer` classes.
pub const CONSUMER_IMAGE: &str = "registry.k8s.io/pause:3.10";
const PVC: &str = "scs-check-pvc";
const POD: &str = "scs-check-consumer";

/// Registers the probe.
pub fn register(registry: &mut Registry) {
    registry.register_creating(FnProbe::new(
        "scs-0211-default-storage-class",
        vec![ID.to_string()],
        |ctx, ids| run(ctx, ids).boxed(),
    ));
}

/// The default classes among `classes`.
pub fn defaults(classes: &[StorageClass]) -> Vec<&StorageClass> {
    classes
        .iter()
        .filter(|c| {
            c.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT_ANNOTATION))
                .is_some_and(|v| v == "true")
        })
        .collect()
}

async fn run(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let client = match ctx.services.kube().and_then(|c| c.client().cloned()) {
        Ok(c) => c,
        Err(e) => return abort_all(ids, &e),
    };
    let namespace = format!(
        "scs-check-sc-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let created = std::sync::Mutex::new(false);
    let body = check(ctx, &client, &namespace, &created);
    let outcome = tokio::select! {
        o = body => o,
        _ = ctx.cancel.cancelled() => Outcome::abort(ID, "interrupted"),
    };
    let must_clean = *created.lock().unwrap_or_else(|p| p.into_inner());
    let mut outcome = outcome;
    if must_clean {
        let limit = if ctx.cancel.is_cancelled() {
            Duration::from_millis(1500)
        } else {
            Duration::from_secs(60)
        };
        match tokio::time::timeout(limit, cleanup(&client, &namespace)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => outcome.evidence.push(Finding::new(
                format!("namespace \"{namespace}\""),
                format!("warning: cleanup failed: {e}"),
            )),
            Err(_) => outcome.evidence.push(Finding::new(
                format!("namespace \"{namespace}\""),
                "warning: cleanup did not finish in time",
            )),
        }
    }
    ids.iter()
        .map(|id| Outcome {
            testcase: id.clone(),
            ..outcome.clone()
        })
        .collect()
}

fn err_text(e: &kube::Error) -> String {
    crate::kube::one_line(e)
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

async fn cleanup(client: &kube::Client, namespace: &str) -> Result<(), String> {
    let dp = DeleteParams::default();
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let nss: Api<Namespace> = Api::all(client.clone());
    let mut errors = Vec::new();
    if let Err(e) = pods.delete(POD, &dp).await
        && !not_found(&e)
    {
        errors.push(format!("pod {POD}: {}", err_text(&e)));
    }
    if let Err(e) = pvcs.delete(PVC, &dp).await
        && !not_found(&e)
    {
        errors.push(format!("pvc {PVC}: {}", err_text(&e)));
    }
    if let Err(e) = nss.delete(namespace, &dp).await
        && !not_found(&e)
    {
        errors.push(format!("namespace {namespace}: {}", err_text(&e)));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

async fn check(
    ctx: &ProbeContext,
    client: &kube::Client,
    namespace: &str,
    created: &std::sync::Mutex<bool>,
) -> Outcome {
    let classes: Api<StorageClass> = Api::all(client.clone());
    let list = match classes.list(&Default::default()).await {
        Ok(l) => l.items,
        Err(e) => {
            return Outcome::abort(ID, format!("cannot list storage classes: {}", err_text(&e)));
        }
    };
    let defs = defaults(&list);
    let names: Vec<String> = defs
        .iter()
        .map(|c| c.metadata.name.clone().unwrap_or_default())
        .collect();
    if defs.len() != 1 {
        return Outcome::fail(
            ID,
            format!(
                "{} default storage classes; exactly one is required",
                defs.len()
            ),
        )
        .with_evidence(vec![
            Finding::new(
                "storage classes",
                format!(
                    "annotated {DEFAULT_ANNOTATION}=\"true\": [{}]",
                    names.join(", ")
                ),
            )
            .expected_actual("1", defs.len().to_string()),
        ]);
    }
    let class = defs[0];
    let name = names[0].clone();
    if class.provisioner == NO_PROVISIONER {
        return Outcome::fail(
            ID,
            format!("default storage class \"{name}\" provisions node-local volumes"),
        )
        .with_evidence(vec![
            Finding::new(
                format!("storage class \"{name}\""),
                "node-bound volumes do not survive a node failure",
            )
            .expected_actual("a network or replicated provisioner", NO_PROVISIONER),
        ]);
    }

    let nss: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": namespace, "labels": {"app.kubernetes.io/managed-by": "scs-check"}}
    }))
    .unwrap_or_default();
    *created.lock().unwrap_or_else(|p| p.into_inner()) = true;
    if let Err(e) = nss.create(&PostParams::default(), &ns).await {
        return Outcome::abort(
            ID,
            format!("cannot create namespace {namespace}: {}", err_text(&e)),
        );
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let pvc: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
        "metadata": {"name": PVC},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": name,
            "resources": {"requests": {"storage": "1Gi"}}
        }
    }))
    .unwrap_or_default();
    if let Err(e) = pvcs.create(&PostParams::default(), &pvc).await {
        return Outcome::abort(
            ID,
            format!("cannot create PVC {namespace}/{PVC}: {}", err_text(&e)),
        );
    }
    if class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer") {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": POD},
            "spec": {
                "containers": [{"name": "consumer", "image": CONSUMER_IMAGE,
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": PVC}}]
            }
        }))
        .unwrap_or_default();
        if let Err(e) = pods.create(&PostParams::default(), &pod).await {
            return Outcome::abort(
                ID,
                format!("cannot create pod {namespace}/{POD}: {}", err_text(&e)),
            );
        }
    }
    let wait = Duration::from_secs(60).min(ctx.timeout / 2);
    let started = tokio::time::Instant::now();
    let last = loop {
        let got = match pvcs.get(PVC).await {
            Ok(p) => p,
            Err(e) => {
                return Outcome::abort(
                    ID,
                    format!("cannot read PVC {namespace}/{PVC}: {}", err_text(&e)),
                );
            }
        };
        let status = got.status.clone().unwrap_or_default();
        if status.phase.as_deref() == Some("Bound") || started.elapsed() >= wait {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let phase = last.phase.clone().unwrap_or_else(|| "unknown".into());
    if phase != "Bound" {
        return Outcome::fail(
            ID,
            format!(
                "a ReadWriteOnce PVC of the default class \"{name}\" did not bind within {}s",
                wait.as_secs()
            ),
        )
        .with_evidence(vec![
            Finding::new(format!("pvc \"{namespace}/{PVC}\""), "not bound")
                .expected_actual("Bound", phase),
        ]);
    }
    let modes = last.access_modes.unwrap_or_default();
    if !modes.iter().any(|m| m == "ReadWriteOnce") {
        return Outcome::fail(
            ID,
            format!("the bound volume of class \"{name}\" lacks ReadWriteOnce"),
        )
        .with_evidence(vec![
            Finding::new(
                format!("pvc \"{namespace}/{PVC}\""),
                "access modes of the bound volume",
            )
            .expected_actual("ReadWriteOnce", modes.join(", ")),
        ]);
    }
    Outcome::pass(
        ID,
        format!(
            "default storage class \"{name}\" ({}) binds a ReadWriteOnce PVC",
            class.provisioner
        ),
    )
}
