//! `node-distribution-labels` (scs-0214-v2, informational): every node carries the
//! `topology.kubernetes.io/region` and `topology.kubernetes.io/zone` labels the standard
//! requires, and there are at least two nodes; how control-plane and worker nodes spread over
//! regions and zones is reported as warnings (the physical host is not observable, so the
//! standard's MUST about physical machines stays a manual check).

use crate::probes::{Finding, Outcome, ProbeContext, Registry};
use crate::probes::{FnProbe, abort_all};
use futures::FutureExt;
use k8s_openapi::api::core::v1::Node;
use std::collections::{BTreeMap, BTreeSet};

/// The testcase id.
pub const ID: &str = "node-distribution-labels";
/// Region label.
pub const REGION: &str = "topology.kubernetes.io/region";
/// Zone label.
pub const ZONE: &str = "topology.kubernetes.io/zone";
/// Control-plane role label (any value).
pub const CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";

/// Registers the probe.
pub fn register(registry: &mut Registry) {
    registry.register(FnProbe::new(
        "scs-0214-node-distribution",
        vec![ID.to_string()],
        |ctx, ids| run(ctx, ids).boxed(),
    ));
}

/// A node as the probe sees it: name and labels.
pub type NodeLabels = (String, BTreeMap<String, String>);

/// Judges nodes given as (name, labels).
pub fn judge(nodes: &[NodeLabels]) -> Outcome {
    if nodes.len() < 2 {
        return Outcome::fail(
            ID,
            format!(
                "{} node(s); a distributed cluster needs at least two",
                nodes.len()
            ),
        )
        .with_evidence(vec![
            Finding::new("cluster", "too few nodes to be distributed")
                .expected_actual("at least 2 nodes", nodes.len().to_string()),
        ]);
    }
    let any_cp = nodes.iter().any(|(_, l)| l.contains_key(CONTROL_PLANE));
    let groups: Vec<(&str, Vec<&NodeLabels>)> = if any_cp {
        vec![
            (
                "control-plane",
                nodes
                    .iter()
                    .filter(|(_, l)| l.contains_key(CONTROL_PLANE))
                    .collect(),
            ),
            (
                "worker",
                nodes
                    .iter()
                    .filter(|(_, l)| !l.contains_key(CONTROL_PLANE))
                    .collect(),
            ),
        ]
    } else {
        vec![("all", nodes.iter().collect())]
    };
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for (group, members) in &groups {
        if members.is_empty() {
            notes.push(Finding::new(format!("{group} nodes"), "none visible"));
            continue;
        }
        for (name, labels) in members {
            for key in [REGION, ZONE] {
                if labels.get(key).is_none_or(|v| v.is_empty()) {
                    problems.push(
                        Finding::new(
                            format!("node \"{name}\""),
                            format!("label {key} is not set"),
                        )
                        .expected_actual("a non-empty value", "missing"),
                    );
                }
            }
        }
        let spread = |key: &str| -> BTreeSet<&str> {
            members
                .iter()
                .filter_map(|(_, l)| l.get(key).map(String::as_str))
                .collect()
        };
        let regions = spread(REGION);
        let zones = spread(ZONE);
        if regions.len() >= 2 {
            notes.push(Finding::new(
                format!("{group} nodes"),
                format!("spread over {} regions", regions.len()),
            ));
        } else if zones.len() >= 2 {
            notes.push(Finding::new(
                format!("{group} nodes"),
                format!("one region, spread over {} zones", zones.len()),
            ));
        } else {
            notes.push(Finding::new(
                format!("{group} nodes"),
                "warning: no distribution across regions or zones",
            ));
        }
    }
    if problems.is_empty() {
        Outcome::pass(
            ID,
            format!("{} nodes, all with region and zone labels", nodes.len()),
        )
        .with_evidence(notes)
    } else {
        let n = problems.len();
        problems.extend(notes);
        Outcome::fail(ID, format!("{n} missing topology label(s)")).with_evidence(problems)
    }
}

async fn run(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let client = match ctx.services.kube().and_then(|c| c.client().cloned()) {
        Ok(c) => c,
        Err(e) => return abort_all(ids, &e),
    };
    let api: kube::Api<Node> = kube::Api::all(client);
    let params = kube::api::ListParams::default();
    let list = tokio::select! {
        r = api.list(&params) => r,
        _ = ctx.cancel.cancelled() => return abort_all(ids, "interrupted"),
    };
    let outcome = match list {
        Err(e) => Outcome::abort(
            ID,
            format!("cannot list nodes: {}", crate::kube::one_line(&e)),
        ),
        Ok(list) => {
            let nodes: Vec<(String, BTreeMap<String, String>)> = list
                .items
                .into_iter()
                .map(|n| {
                    (
                        n.metadata.name.unwrap_or_default(),
                        n.metadata.labels.unwrap_or_default(),
                    )
                })
                .collect();
            judge(&nodes)
        }
    };
    ids.iter()
        .map(|id| Outcome {
            testcase: id.clone(),
            ..outcome.clone()
        })
        .collect()
}
