//! Building a [`Report`] from a plan and the results of its work items.

use super::model::{
    Invocation, InvocationEvidence, Report, Run, ScsCheckBlock, SpecRef, TestcaseEvidence,
};
use super::summary::{TestcaseSummary, VersionSummary, ordered_targets, target_summary, totals};
use crate::outcome::{Ending, ItemResult, Outcome};
use crate::plan::{Plan, WorkItem, WorkKind};
use chrono::{DateTime, Utc};
use indexmap::IndexMap;

/// Facts about the run that the plan does not hold.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// Subject label (`-s`).
    pub subject: String,
    /// Command-line arguments without the program name.
    pub argv: Vec<String>,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
    /// Fresh uuid4 identifying the report.
    pub run_uuid: String,
}

/// One item's outcomes after filling in what the executor could not say.
struct Effective<'a> {
    item: Option<&'a WorkItem>,
    result: Option<&'a ItemResult>,
    uuid: String,
    outcomes: Vec<Outcome>,
}

/// Builds the report of a run.
///
/// - `run.assignment` holds only the `-a` values; `run.forced_version` joins several `-V` with
///   `", "`.
/// - One invocation per item result (in work-list order). Items that did not run and produced
///   no outcome (manual testcases) get no invocation. Items that cannot run because no probe
///   exists (`WorkKind::NotRun { abort: true }`) are reported as ABORT, in an invocation of their
///   own, so that the monitor shows them as inconclusive like we do.
/// - `rc` is the script's exit code; 0 for native probes, 127 when a script could not launch
///   and -1 when it was killed (timeout, Ctrl-C).
/// - The summary of each version takes, for each testcase, the outcome of the item serving that
///   version (several items can answer an id with different include parameters), else the last.
pub fn build(plan: &Plan, results: &[ItemResult], meta: &RunMeta) -> Report {
    let effective = effective_items(plan, results);

    let mut invocations = IndexMap::new();
    for e in &effective {
        let ending = e.result.map_or(Ending::NotRun, |r| r.ending);
        if ending == Ending::NotRun && e.outcomes.is_empty() {
            continue;
        }
        let inv = invocation(e, ending, meta.checked_at);
        invocations.insert(e.uuid.clone(), inv);
    }

    let versions: Vec<VersionSummary> = plan
        .versions
        .iter()
        .map(|pv| {
            let mut testcases = IndexMap::new();
            for (_, ids) in ordered_targets(&pv.targets) {
                for id in ids {
                    if !testcases.contains_key(id) {
                        let summary = testcase_summary(plan, &effective, &pv.name, id);
                        testcases.insert(id.clone(), summary);
                    }
                }
            }
            let targets = ordered_targets(&pv.targets)
                .into_iter()
                .map(|(name, ids)| (name.clone(), target_summary(ids, &testcases)))
                .collect();
            VersionSummary {
                name: pv.name.clone(),
                validity: Some(pv.validity),
                targets,
                testcases,
            }
        })
        .collect();

    let sel = &plan.selection;
    let scope = &plan.scope;
    Report {
        spec: SpecRef {
            uuid: scope.uuid.clone(),
            name: scope.name.clone(),
            url: scope.url.clone(),
        },
        checked_at: meta.checked_at.naive_utc(),
        reference_date: Some(plan.date),
        subject: meta.subject.clone(),
        run: Run {
            uuid: meta.run_uuid.clone(),
            argv: meta.argv.clone(),
            assignment: sel.assignments.clone(),
            sections: sel.sections.clone(),
            forced_version: (!sel.forced_versions.is_empty())
                .then(|| sel.forced_versions.join(", ")),
            forced_tests: sel.tests.clone(),
            invocations,
        },
        versions: None,
        scs_check: Some(ScsCheckBlock {
            tool: "scs-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            partial: plan.is_partial(),
            totals: totals(&versions),
            versions,
            requests: None,
            resources: vec![],
            simulated: false,
            tls_verification_disabled: false,
            waivers: vec![],
            rerun: None,
            extra: IndexMap::new(),
        }),
    }
}

/// Pairs results with their work items (in work-list order) and adds ABORT outcomes for items
/// that cannot run for lack of a probe.
fn effective_items<'a>(plan: &'a Plan, results: &'a [ItemResult]) -> Vec<Effective<'a>> {
    let mut sorted: Vec<&ItemResult> = results.iter().collect();
    sorted.sort_by_key(|r| r.index);
    let item_of = |index: usize| plan.items.iter().find(|i| i.index == index);

    let mut out: Vec<Effective<'a>> = sorted
        .into_iter()
        .map(|r| Effective {
            item: item_of(r.index),
            result: Some(r),
            uuid: r.uuid.clone(),
            outcomes: r.outcomes.clone(),
        })
        .collect();
    // Items without any result: only those that cannot run matter (they count as ABORT).
    for item in &plan.items {
        if !out
            .iter()
            .any(|e| e.item.is_some_and(|i| i.index == item.index))
        {
            out.push(Effective {
                item: Some(item),
                result: None,
                uuid: uuid::Uuid::new_v4().to_string(),
                outcomes: vec![],
            });
        }
    }
    out.sort_by_key(|e| e.item.map_or(usize::MAX, |i| i.index));
    for e in &mut out {
        if let Some(WorkItem {
            kind:
                WorkKind::NotRun {
                    reason,
                    abort: true,
                },
            testcases,
            ..
        }) = e.item
        {
            for id in testcases {
                if !e.outcomes.iter().any(|o| &o.testcase == id) {
                    e.outcomes.push(Outcome::abort(id.clone(), reason.clone()));
                }
            }
        }
    }
    out
}

fn invocation(e: &Effective<'_>, ending: Ending, checked_at: DateTime<Utc>) -> Invocation {
    let kind = e.item.map(|i| &i.kind);
    let rc = match e.result.and_then(|r| r.rc) {
        Some(rc) => rc,
        None => match (kind, ending) {
            (Some(WorkKind::Script(_)), Ending::LaunchFailed) => 127,
            (Some(WorkKind::Script(_)), Ending::TimedOut | Ending::Cancelled) => -1,
            _ => 0,
        },
    };
    let cmd = match (e.result, kind) {
        (Some(r), _) => r.cmd.clone(),
        (None, Some(WorkKind::NotRun { reason, .. })) => format!("not run: {reason}"),
        (None, _) => String::new(),
    };
    let signals = e.result.map(|r| r.signals).unwrap_or_default();
    let results: IndexMap<String, i8> = e
        .outcomes
        .iter()
        .map(|o| (o.testcase.clone(), o.verdict.as_int()))
        .collect();
    let testcases = e
        .outcomes
        .iter()
        .map(|o| {
            (
                o.testcase.clone(),
                TestcaseEvidence {
                    reason: o.reason.clone(),
                    evidence: o.evidence.clone(),
                },
            )
        })
        .collect();
    Invocation {
        id: e.uuid.clone(),
        cmd,
        results,
        rc,
        stdout: e.result.map(|r| r.stdout.clone()).unwrap_or_default(),
        stderr: e.result.map(|r| r.stderr.clone()).unwrap_or_default(),
        info: signals.info,
        warning: signals.warning,
        error: signals.error,
        critical: signals.critical,
        result: None,
        scs_check: Some(InvocationEvidence {
            ending,
            started_at: e.result.map_or(checked_at, |r| r.started_at),
            duration_s: e.result.map_or(0.0, |r| r.duration.as_secs_f64()),
            versions: e.item.map(|i| i.versions.clone()).unwrap_or_default(),
            parameters: e.item.map(|i| i.parameters.clone()).unwrap_or_default(),
            testcases,
            missing: e
                .result
                .map(|r| {
                    r.notes
                        .iter()
                        .filter(|(id, _)| !e.outcomes.iter().any(|o| &o.testcase == *id))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }),
    }
}

fn testcase_summary(
    plan: &Plan,
    effective: &[Effective<'_>],
    version: &str,
    id: &str,
) -> TestcaseSummary {
    let serves = |e: &Effective<'_>| {
        e.item
            .is_some_and(|i| i.versions.iter().any(|v| v == version))
    };
    let answering = || {
        effective.iter().filter_map(move |e| {
            e.outcomes
                .iter()
                .rfind(|o| o.testcase == id)
                .map(|o| (e, o))
        })
    };
    let found = answering()
        .rfind(|(e, _)| serves(e))
        .or_else(|| answering().next_back());
    let tc = plan.scope.testcases.get(id);
    let description = tc.and_then(|t| t.description.clone());
    let url = tc.and_then(|t| t.url.clone());
    if let Some((e, o)) = found {
        return TestcaseSummary {
            result: Some(o.verdict),
            reason: Some(o.reason.clone()),
            description,
            url,
            invocation: Some(e.uuid.clone()),
            rerun: false,
        };
    }
    // No outcome: say why, from the item that was meant to produce it.
    let requesting = || {
        effective
            .iter()
            .filter(|e| e.item.is_some_and(|i| i.testcases.iter().any(|t| t == id)))
    };
    let item = requesting()
        .rfind(|e| serves(e))
        .or_else(|| requesting().next_back());
    let note = item.and_then(|e| e.result).and_then(|r| r.notes.get(id));
    let reason = match item {
        None => "not planned".to_string(),
        Some(_) if note.is_some() => note.cloned().unwrap_or_default(),
        Some(e) => match (e.item.map(|i| &i.kind), e.result.map(|r| r.ending)) {
            (Some(WorkKind::NotRun { reason, .. }), _) => reason.clone(),
            (_, None) => "not run".to_string(),
            (_, Some(Ending::Completed)) => "no result reported".to_string(),
            (_, Some(Ending::TimedOut)) => "timed out before reporting a result".to_string(),
            (_, Some(Ending::Cancelled)) => "cancelled before reporting a result".to_string(),
            (_, Some(Ending::LaunchFailed)) => "could not be launched".to_string(),
            (_, Some(Ending::NotRun)) => "not run".to_string(),
        },
    };
    TestcaseSummary {
        result: None,
        reason: Some(reason),
        description,
        url,
        invocation: None,
        rerun: false,
    }
}

/// Records how many API requests the run made, per service, in our summary block
/// (`scs_check.requests` and `scs_check.requests_by_service`).
pub fn record_requests(report: &mut Report, counts: &std::collections::BTreeMap<String, u64>) {
    if let Some(block) = report.scs_check.as_mut() {
        block.requests = Some(counts.values().sum());
        let by_service: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
            .collect();
        block.extra.insert(
            "requests_by_service".into(),
            serde_json::Value::Object(by_service),
        );
    }
}

/// Records the resources the run created (`scs_check.resources`), with whether each is gone.
pub fn record_resources(
    report: &mut Report,
    records: &[crate::openstack::resources::ResourceRecord],
) {
    if let Some(block) = report.scs_check.as_mut() {
        block.resources = records.to_vec();
    }
}
