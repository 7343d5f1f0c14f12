//! scs-0116 (key manager): `scs-0116-presence`, whether the token's catalog lists a service of
//! type `key-manager`. Read-only (no request beyond authentication). The permission test
//! (`scs-0116-permissions`), which creates a secret, is a separate probe.

use super::common::{FnProbe, abort_all, checked_snapshot};
use crate::openstack::Catalog;
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
use std::sync::Arc;

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
        let snapshot = match checked_snapshot(ctx).await {
            Ok(s) => s,
            Err(reason) => return abort_all(testcases, &reason),
        };
        let catalog = match snapshot.catalog().await {
            Ok(c) => c,
            Err(err) => return abort_all(testcases, &format!("cannot read the catalog: {err}")),
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
}
