//! Per-version summaries: for each version its validity, each target's aggregate with counts,
//! and each testcase's result. Computed from a plan at build time, or recomputed from a report
//! (ours or the reference tool's) with or without a scope.

use super::model::{Invocation, Report};
use crate::spec::{Runner, Scope, Validity};
use crate::verdict::{Aggregate, Verdict};
use chrono::NaiveDate;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The name of the pseudo-version used when a report cannot be related to a scope's versions
/// (the monitor uses the same name).
pub const PSEUDO_VERSION: &str = "*";

/// One version's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    /// Version name (`*` for the pseudo-version).
    pub name: String,
    /// Validity on the reference date; `None` for the pseudo-version.
    #[serde(default, with = "opt_validity")]
    pub validity: Option<Validity>,
    /// Target name → aggregate; `main` first, then the others by name.
    #[serde(default)]
    pub targets: IndexMap<String, TargetSummary>,
    /// Every testcase of any target, in target order, with its result.
    #[serde(default)]
    pub testcases: IndexMap<String, TestcaseSummary>,
}

impl VersionSummary {
    /// The aggregate of the `main` target, if the version has one.
    pub fn main(&self) -> Option<Aggregate> {
        self.targets.get("main").map(|t| t.result)
    }
}

/// The aggregate of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSummary {
    /// FAIL > MISSING > ABORT > PASS over the testcases.
    pub result: Aggregate,
    /// Number of passed testcases.
    pub passed: usize,
    /// Number of failed testcases.
    pub failed: usize,
    /// Number of aborted testcases.
    pub aborted: usize,
    /// Number of testcases without a result.
    pub missing: usize,
    /// The testcase ids of the target (after filters).
    #[serde(default)]
    pub testcases: Vec<String>,
}

/// One testcase's result within a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestcaseSummary {
    /// The verdict; null stands for MISSING.
    pub result: Option<Verdict>,
    /// Why (the outcome's reason, or why there is no result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Short description from the scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Documentation link from the scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Uuid of the invocation that produced the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation: Option<String>,
    /// The result is new: `scs-check rerun` produced it (see [`super::RerunNote`]). Written
    /// only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rerun: bool,
}

/// Counts over distinct testcases (a testcase counted once, with its worst result over the
/// selected versions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Passed testcases.
    pub passed: usize,
    /// Failed testcases.
    pub failed: usize,
    /// Aborted testcases.
    pub aborted: usize,
    /// Testcases without a result.
    pub missing: usize,
}

/// How bad an aggregate is: FAIL > MISSING > ABORT > PASS.
pub(crate) fn severity(a: Aggregate) -> u8 {
    match a {
        Aggregate::Pass => 0,
        Aggregate::Abort => 1,
        Aggregate::Missing => 2,
        Aggregate::Fail => 3,
    }
}

fn verdict_severity(v: Option<Verdict>) -> u8 {
    severity(Aggregate::of([v]))
}

/// The result that decides the exit status: the worst `main` aggregate over the versions.
/// A version without a `main` target, and an empty list, count as MISSING (nothing certified).
/// The CLI maps Pass → 0, Fail → 1, Missing/Abort → 2.
pub fn main_outcome(summaries: &[VersionSummary]) -> Aggregate {
    if summaries.is_empty() {
        return Aggregate::Missing;
    }
    summaries
        .iter()
        .map(|s| s.main().unwrap_or(Aggregate::Missing))
        .max_by_key(|a| severity(*a))
        .unwrap_or(Aggregate::Missing)
}

/// Builds a target summary from the testcase results of its version.
pub(crate) fn target_summary(
    ids: &[String],
    testcases: &IndexMap<String, TestcaseSummary>,
) -> TargetSummary {
    let results: Vec<Option<Verdict>> = ids
        .iter()
        .map(|id| testcases.get(id).and_then(|t| t.result))
        .collect();
    let count = |want: Option<Verdict>| results.iter().filter(|r| **r == want).count();
    TargetSummary {
        result: Aggregate::of(results.iter().copied()),
        passed: count(Some(Verdict::Pass)),
        failed: count(Some(Verdict::Fail)),
        aborted: count(Some(Verdict::Abort)),
        missing: count(None),
        testcases: ids.to_vec(),
    }
}

/// Orders target names `main` first, then by name.
pub(crate) fn ordered_targets<'a>(
    targets: impl IntoIterator<Item = (&'a String, &'a Vec<String>)>,
) -> Vec<(&'a String, &'a Vec<String>)> {
    let mut v: Vec<_> = targets.into_iter().collect();
    v.sort_by(|a, b| (a.0 != "main", a.0).cmp(&(b.0 != "main", b.0)));
    v
}

/// Counts distinct testcases over the versions, each with its worst result.
pub(crate) fn totals(versions: &[VersionSummary]) -> Totals {
    let mut worst: IndexMap<&str, Option<Verdict>> = IndexMap::new();
    for v in versions {
        for (id, t) in &v.testcases {
            match worst.get(id.as_str()) {
                Some(prev) if verdict_severity(*prev) >= verdict_severity(t.result) => {}
                _ => {
                    worst.insert(id, t.result);
                }
            }
        }
    }
    let mut totals = Totals::default();
    for r in worst.values() {
        match r {
            Some(Verdict::Pass) => totals.passed += 1,
            Some(Verdict::Fail) => totals.failed += 1,
            Some(Verdict::Abort) => totals.aborted += 1,
            None => totals.missing += 1,
        }
    }
    totals
}

/// Recomputes version summaries from a report.
///
/// - With a scope: the versions forced in the report (`run.forced_version`) if they exist in the
///   scope, otherwise the versions listed in the timeline entry applicable on `date` (default: the
///   report's `reference_date`, else the date of `checked_at`), in scope order. Targets come from
///   the scope, narrowed by the report's `-t`/`-S` filters; results from the invocations (an
///   invocation that says it served the version wins, otherwise the last one).
/// - Without a scope, our `scs_check` block is returned when present; otherwise the report's
///   old-shape `versions` map; otherwise one pseudo-version `*` whose `main` target holds every
///   result (later invocations override earlier ones, as in the monitor). Without a scope nothing
///   can be known to be MISSING.
pub fn summarize(
    report: &Report,
    scope: Option<&Scope>,
    date: Option<NaiveDate>,
) -> Vec<VersionSummary> {
    match scope {
        Some(scope) => summarize_with_scope(report, scope, date),
        None => {
            if let Some(block) = &report.scs_check {
                return block.versions.clone();
            }
            if let Some(legacy) = &report.versions {
                return legacy
                    .iter()
                    .map(|(name, results)| {
                        let testcases: IndexMap<String, TestcaseSummary> = results
                            .iter()
                            .map(|(id, r)| {
                                let result = r.result.and_then(|v| Verdict::from_int(v.into()));
                                (id.clone(), bare(result, r.invocation.clone()))
                            })
                            .collect();
                        pseudo(name, testcases)
                    })
                    .collect();
            }
            let mut testcases = IndexMap::new();
            for (uuid, inv) in &report.run.invocations {
                for (id, v) in inv.verdicts() {
                    testcases.insert(id.to_string(), bare(Some(v), Some(uuid.clone())));
                }
            }
            vec![pseudo(PSEUDO_VERSION, testcases)]
        }
    }
}

/// The summaries a stored report is shown with: our own block when the report has one (it
/// knows per-version parameters and reasons), otherwise [`summarize`] with the scope.
pub(crate) fn summaries_for(report: &Report, scope: Option<&Scope>) -> Vec<VersionSummary> {
    match &report.scs_check {
        Some(block) => block.versions.clone(),
        None => summarize(report, scope, None),
    }
}

fn bare(result: Option<Verdict>, invocation: Option<String>) -> TestcaseSummary {
    TestcaseSummary {
        result,
        reason: None,
        description: None,
        url: None,
        invocation,
        rerun: false,
    }
}

fn pseudo(name: &str, mut testcases: IndexMap<String, TestcaseSummary>) -> VersionSummary {
    for t in testcases.values_mut() {
        if t.result.is_none() {
            t.reason = Some("no result".into());
        }
    }
    let ids: Vec<String> = testcases.keys().cloned().collect();
    let main = target_summary(&ids, &testcases);
    VersionSummary {
        name: name.to_string(),
        validity: None,
        targets: IndexMap::from([("main".to_string(), main)]),
        testcases,
    }
}

fn summarize_with_scope(
    report: &Report,
    scope: &Scope,
    date: Option<NaiveDate>,
) -> Vec<VersionSummary> {
    let date = date
        .or(report.reference_date)
        .unwrap_or_else(|| report.checked_at.date());
    let listed = crate::plan::applicable_entry(&scope.timeline, date).map(|e| &e.versions);
    let forced: Vec<String> = report
        .run
        .forced_versions()
        .into_iter()
        .filter(|n| scope.version(n).is_some())
        .collect();
    let selected: Vec<(&crate::spec::Version, Validity)> = scope
        .versions
        .iter()
        .filter_map(|v| {
            let code = listed.and_then(|l| l.get(&v.name)).copied();
            if forced.is_empty() {
                code.map(|c| (v, c))
            } else if forced.contains(&v.name) {
                Some((v, code.unwrap_or(Validity::Deprecated)))
            } else {
                None
            }
        })
        .collect();

    let tests = report
        .run
        .forced_tests
        .as_deref()
        .and_then(|rx| regex::Regex::new(&format!("^(?:{rx})")).ok());
    let keep = |id: &str| -> bool {
        if let Some(rx) = &tests
            && !rx.is_match(id)
        {
            return false;
        }
        if let Some(sections) = &report.run.sections {
            let section = scope.testcases.get(id).and_then(|t| t.section.as_deref());
            return section.is_some_and(|s| sections.iter().any(|x| x == s));
        }
        true
    };

    selected
        .into_iter()
        .map(|(version, validity)| {
            let targets: BTreeMap<String, Vec<String>> = version
                .targets
                .iter()
                .map(|(name, ids)| {
                    let ids = ids.iter().filter(|id| keep(id)).cloned().collect();
                    (name.clone(), ids)
                })
                .collect();
            let mut testcases = IndexMap::new();
            for (_, ids) in ordered_targets(&targets) {
                for id in ids {
                    if testcases.contains_key(id) {
                        continue;
                    }
                    let found = find_result(&report.run.invocations, &version.name, id);
                    let tc = scope.testcases.get(id);
                    let note = report.run.invocations.values().rev().find_map(|inv| {
                        let ev = inv.scs_check.as_ref()?;
                        ev.missing.get(id.as_str()).cloned()
                    });
                    let summary = match found {
                        Some((uuid, inv, v)) => TestcaseSummary {
                            result: Some(v),
                            reason: inv
                                .scs_check
                                .as_ref()
                                .and_then(|e| e.testcases.get(id))
                                .map(|e| e.reason.clone()),
                            description: None,
                            url: None,
                            invocation: Some(uuid.clone()),
                            rerun: false,
                        },
                        None => TestcaseSummary {
                            reason: note,
                            ..bare(None, None)
                        },
                    };
                    let summary = TestcaseSummary {
                        reason: summary.reason.or_else(|| {
                            summary.result.is_none().then(|| missing_reason(scope, id))
                        }),
                        description: tc.and_then(|t| t.description.clone()),
                        url: tc.and_then(|t| t.url.clone()),
                        ..summary
                    };
                    testcases.insert(id.clone(), summary);
                }
            }
            let targets = ordered_targets(&targets)
                .into_iter()
                .map(|(name, ids)| (name.clone(), target_summary(ids, &testcases)))
                .collect();
            VersionSummary {
                name: version.name.clone(),
                validity: Some(validity),
                targets,
                testcases,
            }
        })
        .collect()
}

/// Why a testcase of the scope has no result in a report.
fn missing_reason(scope: &Scope, id: &str) -> String {
    let manual = scope
        .testcases
        .get(id)
        .and_then(|t| scope.scripts.get(t.script))
        .is_some_and(|s| s.runner == Runner::Manual);
    if manual {
        "manual testcase"
    } else {
        "no result"
    }
    .to_string()
}

/// The invocation answering `id` for `version`: the last one that says it served the version,
/// else the last one with a result for the id.
fn find_result<'a>(
    invocations: &'a IndexMap<String, Invocation>,
    version: &str,
    id: &str,
) -> Option<(&'a String, &'a Invocation, Verdict)> {
    let with_id = || {
        invocations.iter().filter_map(|(uuid, inv)| {
            let v = inv
                .results
                .get(id)
                .and_then(|v| Verdict::from_int((*v).into()))?;
            Some((uuid, inv, v))
        })
    };
    with_id()
        .rfind(|(_, inv, _)| {
            inv.scs_check
                .as_ref()
                .is_some_and(|e| e.versions.iter().any(|v| v == version))
        })
        .or_else(|| with_id().next_back())
}

/// Serde for `Option<Validity>` as its scope-file word.
mod opt_validity {
    use crate::spec::Validity;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &Option<Validity>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(v.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Validity>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(word) => Validity::parse(&word)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("unknown validity {word:?}"))),
        }
    }
}
