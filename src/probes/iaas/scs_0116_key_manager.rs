//! scs-0116 (key manager): `scs-0116-presence`, whether the token's catalog lists a service of
//! type `key-manager` (read-only, no request beyond authentication), and
//! `scs-0116-permissions`, a separate probe that **creates a secret** as a member, finds it,
//! and deletes it again.

use super::common::{FnProbe, abort_all, checked_snapshot};
use super::creating::{leftover_findings, step_reason, with_cleanup};
use crate::openstack::Catalog;
use crate::openstack::ledger::ResourceKind;
use crate::openstack::resources::{ErrorClass, ResourceError, Session};
use crate::probes::{Finding, Outcome, ProbeContext};
use crate::verdict::Verdict;
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Testcase: a member may create, read and delete secrets.
pub const PERMISSIONS: &str = "scs-0116-permissions";

/// Name of the permissions probe (also the key of `--probe-timeout`).
pub const PERMISSIONS_PROBE: &str = "scs-0116-permissions";

/// Default overall budget of the permissions probe (cloud seconds).
pub const PERMISSIONS_BUDGET: Duration = Duration::from_secs(5 * 60);

/// The probe answering `scs-0116-permissions`.
pub fn permissions_probe() -> Arc<FnProbe> {
    FnProbe::new(PERMISSIONS_PROBE, vec![PERMISSIONS.into()], run_permissions)
}

/// A 403 that is not about quota is a FAIL (the member lacks a permission the standard asks
/// for); every other error leaves the question open (ABORT), as [`ErrorClass`] says.
fn judged(step: &str, err: &ResourceError) -> (Verdict, String) {
    let verdict = match err.class() {
        ErrorClass::Refused(Some(403)) => Verdict::Fail,
        _ => Verdict::Abort,
    };
    (verdict, step_reason(step, err))
}

/// List, create, find by name, delete; the first problem ends it.
async fn exercise_secret(session: Arc<Session>) -> Result<String, (Verdict, String)> {
    let client = session.client().clone();
    let list = |c: crate::openstack::Client, query: String| async move {
        c.list("key-manager", &format!("/secrets{query}"), "secrets")
            .await
            .map_err(ResourceError::from)
    };
    list(client.clone(), String::new())
        .await
        .map_err(|e| judged("listing secrets", &e))?;
    let name = session.tracker().name("0116-secret");
    let c = client.clone();
    let body = json!({"name": name, "payload": "foo", "payload_content_type": "text/plain",
        "secret_type": "opaque"});
    let id = session
        .create(ResourceKind::Secret, &name, None, async move {
            let v = c
                .request_json("key-manager", Method::POST, "/secrets", Some(&body))
                .await?;
            v["secret_ref"]
                .as_str()
                .and_then(|h| h.rsplit('/').next())
                .map(str::to_string)
                .ok_or_else(|| ResourceError::Answer("secret answer has no secret_ref".into()))
        })
        .await
        .map_err(|e| judged("creating a secret", &e))?;
    let found = list(client.clone(), format!("?name={name}"))
        .await
        .map_err(|e| judged("listing secrets again", &e))?;
    if !found
        .iter()
        .any(|s| s["name"].as_str() == Some(name.as_str()))
    {
        return Err((
            Verdict::Abort,
            format!("the new secret \"{name}\" is not in the listing"),
        ));
    }
    client
        .request(
            "key-manager",
            Method::DELETE,
            &format!("/secrets/{id}"),
            None,
        )
        .await
        .map_err(|e| judged("deleting the secret", &ResourceError::from(e)))?;
    Ok(name)
}

fn run_permissions<'a>(
    ctx: &'a ProbeContext,
    testcases: &'a [String],
) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let snapshot = match checked_snapshot(ctx).await {
            Ok(s) => s,
            Err(reason) => return abort_all(testcases, &reason),
        };
        let client = snapshot.client().clone();
        let outcome = if !client.catalog().has_type(KEY_MANAGER_TYPE) {
            Outcome::pass(
                PERMISSIONS,
                "no key-manager service: nothing to check (the key manager is a SHOULD)",
            )
        } else {
            let guarded = with_cleanup(
                ctx,
                client,
                PERMISSIONS_PROBE,
                PERMISSIONS_BUDGET,
                exercise_secret,
            )
            .await;
            let mut o = match &guarded.result {
                Err(stopped) => Outcome::abort(PERMISSIONS, stopped.to_string()),
                Ok(Ok(name)) => Outcome::pass(
                    PERMISSIONS,
                    format!("a member created, found and deleted the secret \"{name}\""),
                ),
                Ok(Err((verdict, why))) => Outcome {
                    testcase: PERMISSIONS.into(),
                    verdict: *verdict,
                    reason: why.clone(),
                    evidence: vec![
                        Finding::new("key manager as a member", "a member cannot use secrets")
                            .expected_actual(
                                "list, create and delete secrets succeed",
                                why.clone(),
                            ),
                    ],
                },
            };
            o.evidence.extend(leftover_findings(&guarded.disposed));
            o
        };
        testcases
            .iter()
            .map(|id| {
                if id == PERMISSIONS {
                    outcome.clone()
                } else {
                    Outcome::abort(id, "not a testcase of the scs-0116 permissions probe")
                }
            })
            .collect()
    })
}

/// Testcase: the catalog has a key manager.
pub const PRESENCE: &str = "scs-0116-presence";

/// The catalog type that counts (exact; the reference suite accepts no alias).
pub const KEY_MANAGER_TYPE: &str = "key-manager";

/// The probe answering `scs-0116-presence`.
pub fn presence_probe() -> Arc<FnProbe> {
    FnProbe::new("scs-0116-presence", vec![PRESENCE.into()], run_presence)
}

/// Judges a catalog: PASS iff it has an entry of type `key-manager` (even without endpoints).
pub fn judge_presence(catalog: &Catalog) -> Outcome {
    if catalog.has_type(KEY_MANAGER_TYPE) {
        Outcome::pass(PRESENCE, "the catalog lists a key-manager service")
    } else {
        let types = catalog.types().join(", ");
        Outcome::fail(PRESENCE, "no key-manager service in the catalog").with_evidence(vec![
            Finding::new(
                format!("service type \"{KEY_MANAGER_TYPE}\""),
                "missing from the service catalog",
            )
            .expected_actual(KEY_MANAGER_TYPE, format!("catalog types: {types}")),
        ])
    }
}

fn run_presence<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let (_, catalog) = match super::common::catalog(ctx).await {
            Ok(found) => found,
            Err(reason) => return abort_all(testcases, &reason),
        };
        testcases
            .iter()
            .map(|id| {
                if id == PRESENCE {
                    judge_presence(&catalog)
                } else {
                    Outcome::abort(id, "not a testcase of the scs-0116 presence probe")
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::iaas::testing::TestCloud;
    use crate::verdict::Verdict;

    const IDS: [&str; 1] = [PRESENCE];

    #[test]
    fn entry_without_endpoints_counts_alias_does_not() {
        let cat = |t: &str| -> Catalog {
            serde_json::from_value(serde_json::json!([{"type": t, "endpoints": []}])).unwrap()
        };
        assert_eq!(judge_presence(&cat("key-manager")).verdict, Verdict::Pass);
        let alias = judge_presence(&cat("key_manager"));
        assert_eq!(alias.verdict, Verdict::Fail);
        assert_eq!(
            alias.evidence[0].actual.as_deref(),
            Some("catalog types: key_manager")
        );
    }

    #[tokio::test]
    async fn compliant_cloud_passes() {
        let cloud = TestCloud::file("compliant.yaml").await;
        let out = cloud.run(presence_probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        assert!(cloud.requests_matching("/key-manager") == 0, "catalog only");
    }

    #[tokio::test]
    async fn missing_key_manager_fails() {
        let cloud = TestCloud::file("services-missing.yaml").await;
        let out = cloud.run(presence_probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Fail);
        assert_eq!(out[0].evidence[0].object, "service type \"key-manager\"");
    }

    #[tokio::test]
    async fn admin_token_aborts() {
        let cloud = TestCloud::file("admin-token.yaml").await;
        let out = cloud.run(presence_probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(out[0].reason.contains("too high"), "{}", out[0].reason);
    }

    const PIDS: [&str; 1] = [PERMISSIONS];

    async fn secrets_left(cloud: &TestCloud) -> usize {
        crate::openstack::resources::prefixed_names(cloud.snapshot.client(), "_scs-")
            .await
            .unwrap()
            .len()
    }

    #[tokio::test]
    async fn member_can_use_secrets_passes() {
        let cloud = TestCloud::file("compliant.yaml").await;
        let out = cloud.run(permissions_probe().as_ref(), &PIDS).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        assert_eq!(cloud.requests_matching("POST /key-manager/v1/secrets"), 1);
        assert_eq!(
            cloud.requests_matching("DELETE /key-manager/v1/secrets/"),
            1
        );
        assert_eq!(secrets_left(&cloud).await, 0);
        let records = cloud.ctx.services.tracker().records();
        assert_eq!(records.len(), 1);
        assert!(!records[0].may_exist());
    }

    #[tokio::test]
    async fn forbidden_create_fails() {
        let cloud =
            TestCloud::yaml("base: compliant.yaml\nkey_manager: {member_can_create: false}\n")
                .await;
        let out = cloud.run(permissions_probe().as_ref(), &PIDS).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
        assert!(
            out[0].reason.contains("creating a secret"),
            "{}",
            out[0].reason
        );
        assert!(out[0].reason.contains("403"), "{}", out[0].reason);
    }

    #[tokio::test]
    async fn forbidden_delete_fails_and_reports_the_leftover() {
        let cloud =
            TestCloud::yaml("base: compliant.yaml\nkey_manager: {member_can_delete: false}\n")
                .await;
        let out = cloud.run(permissions_probe().as_ref(), &PIDS).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
        assert!(
            out[0].reason.contains("deleting the secret"),
            "{}",
            out[0].reason
        );
        assert!(
            out[0]
                .evidence
                .iter()
                .any(|f| f.message.contains("left behind")),
            "{:?}",
            out[0].evidence
        );
        assert_eq!(cloud.ctx.services.tracker().leftovers().len(), 1);
    }

    #[tokio::test]
    async fn server_error_aborts() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: key-manager, method: POST, kind: status, status: 500}\n",
        )
        .await;
        let out = cloud.run(permissions_probe().as_ref(), &PIDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort, "{:?}", out[0]);
        assert_eq!(secrets_left(&cloud).await, 0);
    }

    #[tokio::test]
    async fn secret_quota_aborts() {
        let cloud = TestCloud::file("quota-exhausted.yaml").await;
        let out = cloud.run(permissions_probe().as_ref(), &PIDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort, "{:?}", out[0]);
        assert!(out[0].reason.contains("Quota"), "{}", out[0].reason);
    }

    #[tokio::test]
    async fn no_key_manager_passes_without_requests() {
        let cloud = TestCloud::file("services-missing.yaml").await;
        let out = cloud.run(permissions_probe().as_ref(), &PIDS).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        assert_eq!(cloud.requests_matching("/key-manager"), 0);
    }
}
