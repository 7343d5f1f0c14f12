//! scs-0117 (volume backup): `scs-0117-test-backup`. **Creates resources**: a 1 GiB volume, a
//! backup of it, and a volume restored from the backup; all are deleted again afterwards (backup
//! before volumes), whatever happened. Waits follow the reference suite's schedule (check, then
//! sleep 2, 3, 5, 10, 15, 25, 50 s).
//!
//! FAIL only when the cloud answered and refused (an HTTP 4xx such as 403 or 404 that is not
//! about quota, or a volume or backup that ended in status `error`): the standard says backups
//! must work for customers. Everything that proves nothing is ABORT with its reason (HTTP 5xx,
//! 429, 401, transport errors, no answer, unreadable bodies, exhausted quota, waits that ran
//! out, an unwritable ledger, the probe's time budget, Ctrl-C); the reference suite instead
//! turns every exception into FAIL (see docs/divergences.md).

use super::common::{FnProbe, abort_all, checked_snapshot};
use super::creating::{
    BACKUP_SCHEDULE, Check, StepError, at, leftover_findings, wait_with_schedule, with_cleanup,
};
use crate::openstack::ledger::ResourceKind;
use crate::openstack::resources::{ErrorClass, ResourceError, Session};
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Testcase: a member can back up a volume and restore it.
pub const TEST_BACKUP: &str = "scs-0117-test-backup";

/// The probe's name (also the key of `--probe-timeout`).
pub const PROBE_NAME: &str = "scs-0117-volume-backup";

/// Default overall budget (cloud seconds).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(15 * 60);

/// The probe answering `scs-0117-test-backup`.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(PROBE_NAME, vec![TEST_BACKUP.into()], run)
}

/// Waits for `status` of a volume or backup with the reference schedule; `error` ends it.
async fn wait_status(
    session: &Session,
    kind: &str,
    id: &str,
    label: &str,
) -> Result<(), ResourceError> {
    let client = session.client().clone();
    let path = format!("/{kind}s/{id}");
    wait_with_schedule(session.tracker().pace(), &BACKUP_SCHEDULE, label, || {
        let client = client.clone();
        let path = path.clone();
        async move {
            let v = client.get_json("block-storage", &path).await?;
            let status = v[kind]["status"].as_str().unwrap_or("").to_string();
            Ok(match status.as_str() {
                "available" => Check::Ready(()),
                "error" | "error_restoring" => Check::Failed(format!("status is {status}")),
                _ => Check::Pending(format!("in status {status}")),
            })
        }
    })
    .await
}

/// The steps: volume, backup, restore. `Err` carries the step that failed.
async fn exercise(session: Arc<Session>) -> Result<(), StepError> {
    let t = session.tracker().clone();
    let step = at;
    let volume = session
        .create_via_post(
            ResourceKind::Volume,
            &t.name("0117-volume"),
            "block-storage",
            "/volumes",
            "volume",
            json!({"volume": {"name": t.name("0117-volume"), "size": 1}}),
        )
        .await
        .map_err(step("creating the volume"))?;
    wait_status(&session, "volume", &volume, "volume")
        .await
        .map_err(step("waiting for the volume"))?;
    let backup_name = t.name("0117-backup");
    let backup = session
        .create_via_post(
            ResourceKind::Backup,
            &backup_name,
            "block-storage",
            "/backups",
            "backup",
            json!({"backup": {"name": backup_name, "volume_id": volume}}),
        )
        .await
        .map_err(step("creating the backup"))?;
    wait_status(&session, "backup", &backup, "backup")
        .await
        .map_err(step("waiting for the backup"))?;
    let restored_name = t.name("0117-restored");
    let client = session.client().clone();
    let path = format!("/backups/{backup}/restore");
    let body = json!({"restore": {"name": restored_name}});
    let restored = session
        .create(ResourceKind::Volume, &restored_name, None, async move {
            let v: Value = client
                .request_json("block-storage", Method::POST, &path, Some(&body))
                .await?;
            v["restore"]["volume_id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ResourceError::Answer("restore answer has no volume_id".into()))
        })
        .await
        .map_err(step("restoring the backup"))?;
    wait_status(&session, "volume", &restored, "restored volume")
        .await
        .map_err(step("waiting for the restored volume"))?;
    Ok(())
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let snapshot = match checked_snapshot(ctx).await {
            Ok(s) => s,
            Err(reason) => return abort_all(testcases, &reason),
        };
        let guarded = with_cleanup(
            ctx,
            snapshot.client().clone(),
            PROBE_NAME,
            DEFAULT_BUDGET,
            exercise,
        )
        .await;
        let leftovers = leftover_findings(&guarded.disposed);
        let outcome = match &guarded.result {
            Err(stopped) => Outcome::abort(TEST_BACKUP, stopped.to_string()),
            Ok(Err(err)) => match err.class() {
                ErrorClass::Refused(_) => {
                    let why = err.reason();
                    Outcome::fail(TEST_BACKUP, why.clone()).with_evidence(vec![
                        Finding::new(
                            "volume backup API",
                            "a member cannot back up and restore a volume",
                        )
                        .expected_actual("volume, backup and restore succeed", why),
                    ])
                }
                _ => Outcome::abort(TEST_BACKUP, err.reason()),
            },
            Ok(Ok(())) => Outcome::pass(
                TEST_BACKUP,
                "with the run's credentials a new 1 GiB volume was backed up and the backup restored \
                 into a new volume",
            ),
        };
        let mut outcome = outcome;
        outcome.evidence.extend(leftovers);
        testcases
            .iter()
            .map(|id| {
                if id == TEST_BACKUP {
                    outcome.clone()
                } else {
                    Outcome::abort(id, "not a testcase of the scs-0117 probe")
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openstack::resources::prefixed_names;
    use crate::probes::iaas::testing::TestCloud;
    use crate::verdict::Verdict;

    const IDS: [&str; 1] = [TEST_BACKUP];

    async fn nothing_left(cloud: &TestCloud) {
        let left = prefixed_names(cloud.snapshot.client(), "_scs-")
            .await
            .unwrap();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[tokio::test]
    async fn compliant_cloud_passes_and_cleans_up() {
        let cloud = TestCloud::file("compliant.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        assert_eq!(
            cloud.requests_matching("POST /volume/v3/"),
            3,
            "volume, backup, restore"
        );
        nothing_left(&cloud).await;
        let records = cloud.ctx.services.tracker().records();
        assert_eq!(records.len(), 3);
        assert!(records.iter().all(|r| !r.may_exist()), "{records:?}");
    }

    #[tokio::test]
    async fn broken_backups_fail_and_clean_up() {
        let cloud = TestCloud::file("vm-and-backup-broken.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
        assert!(
            out[0].reason.contains("status is error"),
            "{}",
            out[0].reason
        );
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn volume_quota_aborts() {
        let cloud = TestCloud::yaml("base: compliant.yaml\nquotas: {volumes: 0}\n").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort, "{:?}", out[0]);
        assert!(out[0].reason.contains("HTTP 413"), "{}", out[0].reason);
        assert!(out[0].reason.contains("quota"), "{}", out[0].reason);
    }

    #[tokio::test]
    async fn backup_quota_aborts_and_cleans_up() {
        let cloud = TestCloud::yaml("base: compliant.yaml\nquotas: {backups: 0}\n").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort, "{:?}", out[0]);
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn forbidden_backups_fail() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: block-storage, method: POST, path: /backups, kind: status, status: 403}\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
        assert!(out[0].reason.contains("HTTP 403"), "{}", out[0].reason);
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn budget_runs_out_aborts_and_cleans_up() {
        // Reading the backup's status hangs past the budget once.
        let mut cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: block-storage, method: GET, path: /backups/, kind: latency, delay_ms: 1500, times: 1}\n",
        )
        .await;
        cloud.set_probe_timeout(PROBE_NAME, Duration::from_secs(60));
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort, "{:?}", out[0]);
        assert!(out[0].reason.contains("time budget"), "{}", out[0].reason);
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn admin_token_aborts_without_creating() {
        let cloud = TestCloud::file("admin-token.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert_eq!(cloud.requests_matching("POST /volume"), 0);
    }
}
