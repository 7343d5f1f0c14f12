//! scs-0114 (volume types): the `[scs:aspect, ...]` feature list at the start of a volume type's
//! description, its syntax (`scs-0114-syntax-check`) and whether some type announces encryption
//! or replication (`scs-0114-encrypted-type`, `scs-0114-replicated-type`). Read-only; uses the
//! shared volume-type listing of the snapshot.

use super::common::{self, FnProbe, abort_all};
use crate::openstack::models::VolumeType;
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
use std::sync::Arc;

/// Testcase: every feature list is well formed.
pub const SYNTAX_CHECK: &str = "scs-0114-syntax-check";
/// Testcase: some volume type announces `encrypted`.
pub const ENCRYPTED_TYPE: &str = "scs-0114-encrypted-type";
/// Testcase: some volume type announces `replicated`.
pub const REPLICATED_TYPE: &str = "scs-0114-replicated-type";

/// The aspects scs-0114-v1 defines, in their required (sorted) order.
pub const ASPECTS: [&str; 2] = ["encrypted", "replicated"];

/// The probe answering the three scs-0114 testcases.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(
        "scs-0114-volume-types",
        vec![
            SYNTAX_CHECK.into(),
            ENCRYPTED_TYPE.into(),
            REPLICATED_TYPE.into(),
        ],
        run,
    )
}

/// The feature list at the start of a description: `Some(items)` when the description starts
/// exactly with `[scs:` and has a `]` later with no `[` in between; items are split on `,` and
/// trimmed (`[scs:]` gives an empty list). `None` when there is no feature list: the type is
/// then ignored (upper-case `SCS`, a leading space, or no closing bracket).
pub fn feature_list(description: Option<&str>) -> Option<Vec<String>> {
    let rest = description?.strip_prefix("[scs:")?;
    let end = rest.find(']')?;
    let inner = &rest[..end];
    if inner.contains('[') {
        return None;
    }
    if inner.is_empty() {
        return Some(vec![]);
    }
    Some(inner.split(',').map(|s| s.trim().to_string()).collect())
}

/// What is wrong with a feature list, one message per problem (empty when it is fine): the
/// aspects must be sorted, unique and known.
pub fn list_problems(items: &[String]) -> Vec<String> {
    let mut problems = vec![];
    let mut sorted = items.to_vec();
    sorted.sort();
    if sorted != items {
        problems.push(format!(
            "aspects not sorted: expected [{}], found [{}]",
            sorted.join(", "),
            items.join(", ")
        ));
    }
    let mut seen: Vec<&str> = vec![];
    for item in items {
        if seen.contains(&item.as_str()) {
            problems.push(format!("aspect `{item}` appears more than once"));
        } else {
            seen.push(item);
        }
    }
    let mut unknown: Vec<&str> = vec![];
    for item in items.iter().map(String::as_str) {
        if !ASPECTS.contains(&item) && !unknown.contains(&item) {
            unknown.push(item);
        }
    }
    for item in unknown {
        problems.push(format!(
            "unknown aspect `{item}` (known: {})",
            ASPECTS.join(", ")
        ));
    }
    problems
}

fn object(t: &VolumeType) -> String {
    format!("volume type \"{}\"", t.name)
}

/// The syntax judgement over all volume types: one finding per problem of each type.
pub fn judge_syntax(types: &[VolumeType]) -> Outcome {
    let mut findings = vec![];
    let mut with_list = 0;
    for t in types {
        let Some(items) = feature_list(t.description.as_deref()) else {
            continue;
        };
        with_list += 1;
        for problem in list_problems(&items) {
            findings.push(Finding::new(object(t), problem).expected_actual(
                format!(
                    "[scs:...] with sorted, unique aspects out of {}",
                    ASPECTS.join(", ")
                ),
                t.description.clone().unwrap_or_default(),
            ));
        }
    }
    if findings.is_empty() {
        Outcome::pass(
            SYNTAX_CHECK,
            if types.is_empty() {
                "0 volume types: nothing to check".to_string()
            } else if with_list == 0 {
                format!(
                    "none of {} volume type(s) carries a [scs:...] feature list: nothing to check",
                    types.len()
                )
            } else {
                format!(
                    "checked the feature lists of {with_list} of {} volume type(s): all well formed",
                    types.len()
                )
            },
        )
    } else {
        let bad: std::collections::BTreeSet<&str> =
            findings.iter().map(|f| f.object.as_str()).collect();
        Outcome::fail(
            SYNTAX_CHECK,
            format!(
                "{} volume type(s) with a faulty feature list: {}",
                bad.len(),
                bad.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .with_evidence(findings)
    }
}

/// Whether some type announces `aspect` (a list with syntax errors counts too, as in the
/// reference suite).
pub fn judge_aspect(id: &str, aspect: &str, types: &[VolumeType]) -> Outcome {
    let having: Vec<&VolumeType> = types
        .iter()
        .filter(|t| {
            feature_list(t.description.as_deref()).is_some_and(|l| l.iter().any(|i| i == aspect))
        })
        .collect();
    if having.is_empty() {
        let evidence = types
            .iter()
            .map(|t| {
                Finding::new(object(t), format!("does not announce `{aspect}`")).expected_actual(
                    format!("description starting with a [scs:...] list containing {aspect}"),
                    t.description
                        .clone()
                        .filter(|d| !d.is_empty())
                        .unwrap_or_else(|| "(none)".into()),
                )
            })
            .collect();
        Outcome::fail(
            id,
            format!(
                "none of the {} volume types announces `{aspect}` in its description",
                types.len()
            ),
        )
        .with_evidence(evidence)
    } else {
        let names: Vec<String> = having.iter().map(|t| format!("\"{}\"", t.name)).collect();
        Outcome::pass(
            id,
            format!(
                "`{aspect}` announced in the feature list of {}",
                names.join(", ")
            ),
        )
    }
}

/// Judges the requested ids over a volume-type listing.
pub fn judge(testcases: &[String], types: &[VolumeType]) -> Vec<Outcome> {
    testcases
        .iter()
        .map(|id| match id.as_str() {
            SYNTAX_CHECK => judge_syntax(types),
            ENCRYPTED_TYPE => judge_aspect(id, "encrypted", types),
            REPLICATED_TYPE => judge_aspect(id, "replicated", types),
            other => Outcome::abort(other, "not a testcase of the scs-0114 probe"),
        })
        .collect()
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        match common::volume_types(ctx).await {
            Ok(types) => judge(testcases, &types),
            Err(reason) => abort_all(testcases, &reason),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::iaas::testing::{TestCloud, outcome, verdict};
    use crate::verdict::Verdict;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn feature_list_table() {
        let table: &[(Option<&str>, Option<&[&str]>)] = &[
            (
                Some("[scs:encrypted, replicated] text"),
                Some(&["encrypted", "replicated"]),
            ),
            (
                Some("[scs:replicated, encrypted]"),
                Some(&["replicated", "encrypted"]),
            ),
            (Some("[scs:fast]"), Some(&["fast"])),
            (Some("[scs:]"), Some(&[])),
            (Some("[scs:encrypted,]"), Some(&["encrypted", ""])),
            (Some("[scs: encrypted ]rest"), Some(&["encrypted"])),
            (Some(" [scs:encrypted]"), None),
            (Some("[SCS:encrypted]"), None),
            (Some("[scs:encrypted"), None),
            (Some("[scs:enc[rypted]"), None),
            (Some("encrypted [scs:encrypted]"), None),
            (Some(""), None),
            (None, None),
        ];
        for (desc, want) in table {
            let want = want.map(s);
            assert_eq!(feature_list(*desc), want, "{desc:?}");
        }
    }

    #[test]
    fn list_problem_table() {
        let table: &[(&[&str], &[&str])] = &[
            (&["encrypted", "replicated"], &[]),
            (&["encrypted"], &[]),
            (&[], &[]),
            (&["replicated", "encrypted"], &["not sorted"]),
            (&["fast"], &["unknown aspect `fast`"]),
            (&["encrypted", "encrypted"], &["appears more than once"]),
            (&["encrypted", ""], &["not sorted", "unknown aspect ``"]),
        ];
        for (items, want) in table {
            let got = list_problems(&s(items));
            assert_eq!(got.len(), want.len(), "{items:?}: {got:?}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(g.contains(w), "{items:?}: {g} lacks {w}");
            }
        }
    }

    fn vt(name: &str, desc: Option<&str>) -> VolumeType {
        serde_json::from_value(serde_json::json!({"id": name, "name": name, "description": desc}))
            .unwrap()
    }

    #[test]
    fn faulty_list_still_counts_for_aspects() {
        let types = vec![vt("a", Some("[scs:replicated, encrypted]")), vt("b", None)];
        let ids = s(&[SYNTAX_CHECK, ENCRYPTED_TYPE, REPLICATED_TYPE]);
        let out = judge(&ids, &types);
        assert_eq!(out[0].verdict, Verdict::Fail);
        assert_eq!(out[0].evidence[0].object, "volume type \"a\"");
        assert_eq!(out[1].verdict, Verdict::Pass);
        assert_eq!(out[2].verdict, Verdict::Pass);
    }

    const ALL: [&str; 3] = [SYNTAX_CHECK, ENCRYPTED_TYPE, REPLICATED_TYPE];

    #[tokio::test]
    async fn compliant_cloud_passes() {
        let cloud = TestCloud::file("compliant.yaml").await;
        let out = cloud.run(probe().as_ref(), &ALL).await;
        for id in ALL {
            assert_eq!(verdict(&out, id), Verdict::Pass, "{:?}", outcome(&out, id));
        }
        assert!(
            outcome(&out, ENCRYPTED_TYPE)
                .reason
                .contains("ceph-encrypted")
        );
        // One shared listing for all three testcases.
        assert_eq!(cloud.requests_matching("GET /volume/v3/"), 1);
    }

    #[tokio::test]
    async fn bad_feature_lists_fail_syntax_only() {
        let cloud = TestCloud::file("volume-types-bad.yaml").await;
        let out = cloud.run(probe().as_ref(), &ALL).await;
        let syntax = outcome(&out, SYNTAX_CHECK);
        assert_eq!(syntax.verdict, Verdict::Fail);
        let objects: Vec<&str> = syntax.evidence.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(
            objects,
            ["volume type \"ceph-secure\"", "volume type \"fast\""]
        );
        assert!(syntax.evidence[0].message.contains("not sorted"));
        assert!(syntax.evidence[1].message.contains("unknown aspect `fast`"));
        assert_eq!(verdict(&out, ENCRYPTED_TYPE), Verdict::Pass);
        assert_eq!(verdict(&out, REPLICATED_TYPE), Verdict::Pass);
    }

    #[tokio::test]
    async fn no_announced_aspects_fail() {
        let cloud = TestCloud::file("zed-legacy.yaml").await;
        let out = cloud.run(probe().as_ref(), &ALL).await;
        assert_eq!(verdict(&out, SYNTAX_CHECK), Verdict::Pass);
        let enc = outcome(&out, ENCRYPTED_TYPE);
        assert_eq!(enc.verdict, Verdict::Fail);
        assert!(
            enc.evidence
                .iter()
                .any(|f| f.object == "volume type \"__DEFAULT__\"")
        );
        assert_eq!(verdict(&out, REPLICATED_TYPE), Verdict::Fail);
    }

    #[tokio::test]
    async fn admin_token_aborts() {
        let cloud = TestCloud::file("admin-token.yaml").await;
        let out = cloud.run(probe().as_ref(), &ALL).await;
        for o in &out {
            assert_eq!(o.verdict, Verdict::Abort);
            assert!(o.reason.contains("too high"), "{}", o.reason);
        }
    }

    #[tokio::test]
    async fn persistent_server_error_aborts() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: block-storage, method: GET, path: /types, kind: status, status: 500}\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &ALL).await;
        for o in &out {
            assert_eq!(o.verdict, Verdict::Abort);
            assert!(o.reason.contains("HTTP 500"), "{}", o.reason);
        }
    }

    #[tokio::test]
    async fn no_block_storage_endpoint_aborts() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nservices: [identity, compute, image, network]\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &[ENCRYPTED_TYPE]).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(
            out[0].reason.contains("no block-storage endpoint"),
            "{}",
            out[0].reason
        );
    }
}
