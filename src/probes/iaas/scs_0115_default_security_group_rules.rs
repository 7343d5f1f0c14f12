//! scs-0115 (default rules for security groups): `scs-0115-default-rules`, judged on Neutron's
//! default security group rule templates (`GET /v2.0/default-security-group-rules`, readable by
//! members since Neutron 2023.2). Read-only.
//!
//! Clouds without that API get the reference suite's fallback ([`fallback_without_api`]): it
//! **creates a security group**, judges the rules Neutron gave it, and deletes it again.

use super::common::{FnProbe, abort_all, checked_snapshot};
use super::creating::{leftover_findings, step_reason, with_cleanup};
use crate::openstack::ledger::ResourceKind;
use crate::openstack::models::DefaultSecurityGroupRule;
use crate::openstack::resources::Session;
use crate::openstack::{Client, OpenStackError, Snapshot};
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Name of the probe (also the key of `--probe-timeout`).
pub const PROBE_NAME: &str = "scs-0115-default-security-group-rules";

/// Default overall budget of the fallback (cloud seconds).
pub const FALLBACK_BUDGET: Duration = Duration::from_secs(5 * 60);

/// Testcase: the default rules allow no ingress from outside and allow egress.
pub const DEFAULT_RULES: &str = "scs-0115-default-rules";

/// The probe answering `scs-0115-default-rules`.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(PROBE_NAME, vec![DEFAULT_RULES.into()], run)
}

/// Egress rules (without a remote prefix) found per ethertype and kind of group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EgressCounts {
    /// IPv4 rules used in the default security group.
    pub ipv4_default: usize,
    /// IPv4 rules used in other new security groups.
    pub ipv4_custom: usize,
    /// IPv6 rules used in the default security group.
    pub ipv6_default: usize,
    /// IPv6 rules used in other new security groups.
    pub ipv6_custom: usize,
}

/// The judgement of a set of default rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// One finding per ingress rule that lets traffic in from outside the group.
    pub forbidden: Vec<Finding>,
    /// Egress counters.
    pub egress: EgressCounts,
    /// Egress rules that do not count because they name a remote prefix.
    pub prefixed_egress: Vec<Finding>,
}

impl Judgement {
    /// The missing egress combinations, as findings.
    pub fn missing_egress(&self) -> Vec<Finding> {
        let e = &self.egress;
        [
            ("IPv4", "the default security group", e.ipv4_default),
            ("IPv4", "other new security groups", e.ipv4_custom),
            ("IPv6", "the default security group", e.ipv6_default),
            ("IPv6", "other new security groups", e.ipv6_custom),
        ]
        .into_iter()
        .filter(|(_, _, n)| *n == 0)
        .map(|(eth, group, _)| {
            Finding::new(
                format!("{eth} egress for {group}"),
                format!("no default {eth} egress rule without a remote prefix applies to {group}"),
            )
            .expected_actual("at least 1 rule", "0")
        })
        .collect()
    }

    /// PASS when nothing is forbidden and every egress combination is present.
    pub fn passes(&self) -> bool {
        self.forbidden.is_empty() && self.missing_egress().is_empty()
    }
}

/// A rule in words, e.g. `ingress IPv4 tcp 22-22 from 0.0.0.0/0 (default group: yes, other
/// groups: yes)`.
pub fn describe_rule(rule: &DefaultSecurityGroupRule) -> String {
    let text = |k: &str| match rule.extra.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let protocol = text("protocol").unwrap_or_else(|| "any protocol".into());
    let ports = match (text("port_range_min"), text("port_range_max")) {
        (Some(a), Some(b)) => format!(" {a}-{b}"),
        (Some(a), None) => format!(" {a}"),
        _ => String::new(),
    };
    let remote = match (&rule.remote_group_id, &rule.remote_ip_prefix) {
        (Some(g), _) if !g.is_empty() => format!("group {g}"),
        (_, Some(p)) if !p.is_empty() => p.clone(),
        _ => "anywhere".into(),
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    let dir = if rule.direction == "ingress" {
        "from"
    } else {
        "to"
    };
    format!(
        "{} {} {protocol}{ports} {dir} {remote} (default group: {}, other groups: {})",
        rule.direction,
        rule.ethertype,
        yes(rule.used_in_default_sg),
        yes(rule.used_in_non_default_sg)
    )
}

fn rule_object(rule: &DefaultSecurityGroupRule) -> String {
    if rule.id.is_empty() {
        "default security group rule".into()
    } else {
        format!("default security group rule {}", rule.id)
    }
}

/// Judges default rule templates as the reference suite does: an ingress rule is allowed only
/// when it admits the group itself (`remote_group_id` `PARENT`) and is not used for other new
/// groups; egress counts only with no remote prefix (an explicit `0.0.0.0/0` does not count),
/// per ethertype and per kind of group.
pub fn judge_rules(rules: &[DefaultSecurityGroupRule]) -> Judgement {
    let mut forbidden = vec![];
    let mut prefixed_egress = vec![];
    let mut egress = EgressCounts::default();
    for rule in rules {
        match rule.direction.as_str() {
            "ingress" => {
                let from_parent = rule.remote_group_id.as_deref() == Some("PARENT");
                if from_parent && !rule.used_in_non_default_sg {
                    continue;
                }
                let why = if from_parent {
                    "admits ingress from the group itself in new non-default security groups"
                } else {
                    "admits ingress from outside the security group"
                };
                forbidden.push(Finding::new(rule_object(rule), why).expected_actual(
                    "no ingress except from the same group, in the default security group only",
                    describe_rule(rule),
                ));
            }
            "egress" => {
                let v4 = rule.ethertype == "IPv4";
                if !v4 && rule.ethertype != "IPv6" {
                    continue;
                }
                if rule
                    .remote_ip_prefix
                    .as_deref()
                    .is_some_and(|p| !p.is_empty())
                {
                    prefixed_egress.push(
                        Finding::new(
                            rule_object(rule),
                            "egress rule with a remote prefix does not count as open egress",
                        )
                        .expected_actual("no remote_ip_prefix", describe_rule(rule)),
                    );
                    continue;
                }
                if rule.used_in_default_sg {
                    if v4 {
                        egress.ipv4_default += 1;
                    } else {
                        egress.ipv6_default += 1;
                    }
                }
                if rule.used_in_non_default_sg {
                    if v4 {
                        egress.ipv4_custom += 1;
                    } else {
                        egress.ipv6_custom += 1;
                    }
                }
            }
            _ => {}
        }
    }
    Judgement {
        forbidden,
        egress,
        prefixed_egress,
    }
}

/// The outcome for a judgement over `total` rules.
pub fn outcome_of(judgement: &Judgement, total: usize) -> Outcome {
    if judgement.passes() {
        return Outcome::pass(
            DEFAULT_RULES,
            format!(
                "{total} default rules: no ingress from outside the group, \
                 IPv4 and IPv6 egress for default and other groups"
            ),
        );
    }
    let missing = judgement.missing_egress();
    let mut parts = vec![];
    if !judgement.forbidden.is_empty() {
        parts.push(format!(
            "{} ingress rule(s) admit traffic from outside the group",
            judgement.forbidden.len()
        ));
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|f| f.object.as_str()).collect();
        parts.push(format!("missing {}", names.join(", ")));
    }
    let mut evidence = judgement.forbidden.clone();
    evidence.extend(missing);
    evidence.extend(judgement.prefixed_egress.iter().cloned());
    Outcome::fail(DEFAULT_RULES, parts.join("; ")).with_evidence(evidence)
}

/// Reads the default rule templates; `Ok(None)` when the cloud has no such API (HTTP 404, Neutron
/// before 2023.2).
pub async fn read_default_rules(
    client: &Client,
) -> Result<Option<Vec<DefaultSecurityGroupRule>>, OpenStackError> {
    let path = "/default-security-group-rules";
    let raw = match client
        .list("network", path, "default_security_group_rules")
        .await
    {
        Ok(raw) => raw,
        Err(err) if err.status() == Some(404) => return Ok(None),
        Err(err) => return Err(err),
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v).map_err(|e| OpenStackError::Decode {
                service: "network".into(),
                method: "GET".into(),
                path: path.into(),
                message: format!("rule {i}: {e}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Judges the rules of a freshly created (non-default) security group the short way, as the
/// reference's fallback does: every ingress rule is forbidden; at least one IPv4 and one IPv6
/// egress rule must be there (a remote prefix does not matter here).
pub fn judge_new_group(rules: &[DefaultSecurityGroupRule], group: &str) -> Outcome {
    let mut evidence = vec![];
    let (mut v4, mut v6) = (0, 0);
    for rule in rules {
        match rule.direction.as_str() {
            "ingress" => evidence.push(
                Finding::new(
                    format!("rule {} of the new security group {group}", rule.id),
                    "a new security group admits ingress",
                )
                .expected_actual("no ingress rule", describe_rule(rule)),
            ),
            "egress" if rule.ethertype == "IPv4" => v4 += 1,
            "egress" if rule.ethertype == "IPv6" => v6 += 1,
            _ => {}
        }
    }
    for (eth, n) in [("IPv4", v4), ("IPv6", v6)] {
        if n == 0 {
            evidence.push(
                Finding::new(
                    format!("{eth} egress of the new security group {group}"),
                    format!("a new security group gets no {eth} egress rule"),
                )
                .expected_actual("at least 1 rule", "0"),
            );
        }
    }
    let note = "(no default-security-group-rules API; judged on a new security group)";
    if evidence.is_empty() {
        Outcome::pass(
            DEFAULT_RULES,
            format!("a new security group has no ingress and IPv4 and IPv6 egress {note}"),
        )
    } else {
        Outcome::fail(
            DEFAULT_RULES,
            format!(
                "{} problem(s) with a new security group {note}",
                evidence.len()
            ),
        )
        .with_evidence(evidence)
    }
}

async fn create_and_read_group(
    session: Arc<Session>,
) -> Result<(String, Vec<DefaultSecurityGroupRule>), String> {
    let name = session.tracker().name("0115-sg");
    let id = session
        .create_via_post(
            ResourceKind::SecurityGroup,
            &name,
            "network",
            "/security-groups",
            "security_group",
            serde_json::json!({"security_group": {"name": name, "description": name}}),
        )
        .await
        .map_err(|e| step_reason("creating a security group", &e))?;
    let v = session
        .client()
        .get_json("network", &format!("/security-groups/{id}"))
        .await
        .map_err(|e| step_reason("reading the new security group", &e.into()))?;
    let rules = v["security_group"]["security_group_rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut r| {
            // The default-rule fields do not exist on real rules; the short check ignores them.
            if let Some(o) = r.as_object_mut() {
                o.entry("used_in_default_sg").or_insert(Value::Bool(false));
                o.entry("used_in_non_default_sg")
                    .or_insert(Value::Bool(true));
            }
            serde_json::from_value(r).map_err(|e| format!("a rule of the new group: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name, rules))
}

/// The path for clouds without the default-rules API: creates a security group, judges the
/// rules it was given ([`judge_new_group`]) and deletes it again. Every error is ABORT (the
/// standard is about the rules, not about creating groups), with the classifier's reason.
pub async fn fallback_without_api(ctx: &ProbeContext, snapshot: &Snapshot) -> Outcome {
    let guarded = with_cleanup(
        ctx,
        snapshot.client().clone(),
        PROBE_NAME,
        FALLBACK_BUDGET,
        create_and_read_group,
    )
    .await;
    let mut outcome = match &guarded.result {
        Err(stopped) => Outcome::abort(DEFAULT_RULES, stopped.to_string()),
        Ok(Err(why)) => Outcome::abort(DEFAULT_RULES, why.clone()),
        Ok(Ok((name, rules))) => judge_new_group(rules, name),
    };
    outcome
        .evidence
        .extend(leftover_findings(&guarded.disposed));
    outcome
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let snapshot = match checked_snapshot(ctx).await {
            Ok(s) => s,
            Err(reason) => return abort_all(testcases, &reason),
        };
        let outcome = match read_default_rules(snapshot.client()).await {
            Ok(Some(rules)) => outcome_of(&judge_rules(&rules), rules.len()),
            Ok(None) => fallback_without_api(ctx, &snapshot).await,
            Err(err) => Outcome::abort(
                DEFAULT_RULES,
                format!("cannot read the default security group rules: {err}"),
            ),
        };
        testcases
            .iter()
            .map(|id| {
                if id == DEFAULT_RULES {
                    outcome.clone()
                } else {
                    Outcome::abort(id, "not a testcase of the scs-0115 probe")
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
    use serde_json::json;

    fn rule(v: Value) -> DefaultSecurityGroupRule {
        let mut base = json!({"used_in_default_sg": true, "used_in_non_default_sg": true});
        for (k, x) in v.as_object().unwrap() {
            base[k] = x.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn egress_all() -> Vec<DefaultSecurityGroupRule> {
        vec![
            rule(json!({"direction": "egress", "ethertype": "IPv4"})),
            rule(json!({"direction": "egress", "ethertype": "IPv6"})),
        ]
    }

    #[test]
    fn judgement_table() {
        let parent_default_only = json!({"direction": "ingress", "ethertype": "IPv4",
            "remote_group_id": "PARENT", "used_in_non_default_sg": false});
        let parent_everywhere =
            json!({"direction": "ingress", "ethertype": "IPv4", "remote_group_id": "PARENT"});
        let ssh = json!({"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0",
            "remote_group_id": null});
        let v4_prefixed =
            json!({"direction": "egress", "ethertype": "IPv4", "remote_ip_prefix": "0.0.0.0/0"});
        let v6_default_only = json!({"direction": "egress", "ethertype": "IPv6",
            "used_in_non_default_sg": false});
        // (extra rules on top of IPv4+IPv6 egress, keep the base egress, pass, forbidden, missing)
        let table: Vec<(Vec<Value>, bool, bool, usize, usize)> = vec![
            (vec![], true, true, 0, 0),
            (vec![parent_default_only.clone()], true, true, 0, 0),
            (vec![parent_everywhere], true, false, 1, 0),
            (vec![ssh.clone()], true, false, 1, 0),
            (vec![], false, false, 0, 4),
            (vec![v4_prefixed.clone()], false, false, 0, 4),
            (
                vec![
                    v4_prefixed,
                    json!({"direction": "egress", "ethertype": "IPv6"}),
                ],
                false,
                false,
                0,
                2,
            ),
            (
                vec![
                    json!({"direction": "egress", "ethertype": "IPv4"}),
                    v6_default_only,
                ],
                false,
                false,
                0,
                1,
            ),
            (
                vec![json!({"direction": "egress", "ethertype": "IPv5"})],
                false,
                false,
                0,
                4,
            ),
        ];
        for (i, (extra, keep_base, pass, forbidden, missing)) in table.into_iter().enumerate() {
            let mut rules = if keep_base { egress_all() } else { vec![] };
            rules.extend(extra.into_iter().map(rule));
            let j = judge_rules(&rules);
            assert_eq!(j.passes(), pass, "case {i}: {j:?}");
            assert_eq!(j.forbidden.len(), forbidden, "case {i}");
            assert_eq!(j.missing_egress().len(), missing, "case {i}");
            let out = outcome_of(&j, rules.len());
            assert_eq!(out.verdict == Verdict::Pass, pass, "case {i}");
        }
    }

    #[test]
    fn rule_in_words() {
        let r = rule(
            json!({"id": "r1", "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
            "remote_ip_prefix": "0.0.0.0/0"}),
        );
        assert_eq!(
            describe_rule(&r),
            "ingress IPv4 tcp 22-22 from 0.0.0.0/0 (default group: yes, other groups: yes)"
        );
    }

    const IDS: [&str; 1] = [DEFAULT_RULES];

    #[tokio::test]
    async fn compliant_cloud_passes() {
        let cloud = TestCloud::file("compliant.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        assert_eq!(
            cloud.requests_matching("GET /network/v2.0/default-security-group-rules"),
            1
        );
        // Read-only: nothing was created.
        assert_eq!(
            cloud.requests_matching("POST "),
            1,
            "only the token request"
        );
    }

    #[tokio::test]
    async fn open_default_rules_fail() {
        let cloud = TestCloud::file("default-sg-open.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        let o = &out[0];
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.reason.contains("1 ingress rule"), "{}", o.reason);
        assert!(o.reason.contains("IPv6 egress"), "{}", o.reason);
        let ssh = &o.evidence[0];
        assert!(ssh.object.starts_with("default security group rule "));
        assert_eq!(
            ssh.actual.as_deref(),
            Some("ingress IPv4 tcp 22-22 from 0.0.0.0/0 (default group: yes, other groups: yes)")
        );
        let objects: Vec<&str> = o.evidence.iter().map(|f| f.object.as_str()).collect();
        assert!(objects.contains(&"IPv6 egress for the default security group"));
        assert!(objects.contains(&"IPv6 egress for other new security groups"));
    }

    #[tokio::test]
    async fn missing_api_falls_back_to_a_new_group_and_deletes_it() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: network, path: /default-security-group-rules, kind: status, status: 404}\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        assert!(
            out[0].reason.contains("new security group"),
            "{}",
            out[0].reason
        );
        assert_eq!(
            cloud.requests_matching("POST /network/v2.0/security-groups"),
            1
        );
        assert_eq!(
            cloud.requests_matching("DELETE /network/v2.0/security-groups/"),
            1
        );
        let left = crate::openstack::resources::prefixed_names(cloud.snapshot.client(), "_scs-")
            .await
            .unwrap();
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn zed_legacy_new_group_admits_ingress_fails() {
        let cloud = TestCloud::file("zed-legacy.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
        assert!(out[0].evidence[0].message.contains("admits ingress"));
        assert_eq!(
            cloud.requests_matching("DELETE /network/v2.0/security-groups/"),
            1
        );
    }

    #[tokio::test]
    async fn fallback_with_open_new_groups_fails() {
        let cloud = TestCloud::yaml(
            "base: zed-legacy.yaml\nnetwork:\n  new_security_group_rules:\n    - {direction: ingress, ethertype: IPv4, remote_ip_prefix: 0.0.0.0/0}\n    - {direction: egress, ethertype: IPv4}\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
        let objects: Vec<&str> = out[0].evidence.iter().map(|f| f.object.as_str()).collect();
        assert!(
            objects.iter().any(|o| o.starts_with("IPv6 egress")),
            "{objects:?}"
        );
        assert!(
            objects.iter().any(|o| o.starts_with("rule ")),
            "{objects:?}"
        );
    }

    #[tokio::test]
    async fn fallback_create_refused_aborts() {
        let cloud = TestCloud::yaml("base: zed-legacy.yaml\nquotas: {security_groups: 1}\n").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort, "{:?}", out[0]);
        assert!(out[0].reason.contains("HTTP 409"), "{}", out[0].reason);
    }

    #[tokio::test]
    async fn admin_token_aborts() {
        let cloud = TestCloud::file("admin-token.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(out[0].reason.contains("too high"), "{}", out[0].reason);
    }

    #[tokio::test]
    async fn persistent_server_error_aborts() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: network, method: GET, path: /default-security-group-rules, kind: status, status: 500}\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(out[0].reason.contains("HTTP 500"), "{}", out[0].reason);
    }
}
