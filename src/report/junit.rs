//! JUnit XML for CI systems: one `<testsuites>` root, one suite per (version, target), one case
//! per testcase. FAIL is a `<failure>` (message = reason, text = evidence lines), ABORT an
//! `<error>`, MISSING `<skipped>`, and a waived FAIL `<skipped>` of type `WAIVED` whose message
//! is the waiver.

use super::model::Report;
use super::summary::{VersionSummary, summaries_for, summarize};
use super::text::{evidence_lines, result_word};
use super::waiver::{waiver_for, waiver_line};
use crate::spec::Scope;
use crate::verdict::Verdict;
use chrono::{FixedOffset, TimeZone};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// Renders the report as JUnit XML.
///
/// Suites are named `SCOPE VERSION TARGET`, e.g. `SCS-compatible IaaS v5.1 main`. A case's time
/// is its invocation's duration shared evenly by the testcases that invocation reported on.
pub fn to_junit(report: &Report) -> String {
    junit_with(report, &summarize(report, None, None))
}

/// Like [`to_junit`] for a stored report: reports without our summary block are evaluated
/// against `scope` when one is given.
pub fn render_junit(report: &Report, scope: Option<&Scope>) -> String {
    junit_with(report, &summaries_for(report, scope))
}

fn junit_with(report: &Report, versions: &[VersionSummary]) -> String {
    let mut root = quick_junit::Report::new(format!("{} {}", report.spec.name, report.subject));
    let timestamp = FixedOffset::east_opt(0)
        .and_then(|utc| utc.from_local_datetime(&report.checked_at).single());
    if let Some(ts) = timestamp {
        root.set_timestamp(ts);
    }
    for version in versions {
        for (target, summary) in &version.targets {
            let name = format!("{} {} {}", report.spec.name, version.name, target);
            let mut suite = TestSuite::new(name.clone());
            if let Some(ts) = timestamp {
                suite.set_timestamp(ts);
            }
            suite.add_property(Property::new("subject", report.subject.as_str()));
            suite.add_property(Property::new("scope", report.spec.uuid.as_str()));
            suite.add_property(Property::new("run", report.run.uuid.as_str()));
            if let Some(v) = version.validity {
                suite.add_property(Property::new("validity", v.as_str()));
            }
            suite.add_property(Property::new("result", summary.result.to_string()));
            let mut total = Duration::ZERO;
            for id in &summary.testcases {
                let Some(tc) = version.testcases.get(id) else {
                    continue;
                };
                let reason = tc
                    .reason
                    .clone()
                    .unwrap_or_else(|| result_word(tc.result).to_string());
                let waiver = waiver_for(report, id, tc.result);
                let status = match (tc.result, waiver) {
                    (Some(Verdict::Pass), _) => TestCaseStatus::success(),
                    // A waived FAIL is skipped with the waiver as its message, so that CI does
                    // not fail on it and still shows why.
                    (Some(Verdict::Fail), Some(waiver)) => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(format!("{} (FAIL: {reason})", waiver_line(waiver)));
                        s.set_type("WAIVED");
                        let lines = evidence_lines(report, id, tc);
                        if !lines.is_empty() {
                            s.set_description(lines.join("\n"));
                        }
                        s
                    }
                    (Some(v), _) => {
                        let kind = if v == Verdict::Fail {
                            NonSuccessKind::Failure
                        } else {
                            NonSuccessKind::Error
                        };
                        let mut s = TestCaseStatus::non_success(kind);
                        s.set_message(reason);
                        s.set_type(result_word(tc.result));
                        let lines = evidence_lines(report, id, tc);
                        if !lines.is_empty() {
                            s.set_description(lines.join("\n"));
                        }
                        s
                    }
                    (None, _) => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(reason);
                        s.set_type("MISSING");
                        s
                    }
                };
                let mut case = TestCase::new(id.as_str(), status);
                case.set_classname(name.as_str());
                if let Some(time) = case_time(report, tc.invocation.as_deref()) {
                    total += time;
                    case.set_time(time);
                }
                suite.add_test_case(case);
            }
            suite.set_time(total);
            root.add_test_suite(suite);
        }
    }
    // Writing to memory cannot fail for any report content (XmlString drops what XML cannot
    // carry); a failure is a bug here.
    root.to_string().expect("JUnit XML renders in memory")
}

fn case_time(report: &Report, invocation: Option<&str>) -> Option<Duration> {
    let inv = report.run.invocations.get(invocation?)?;
    let ev = inv.scs_check.as_ref()?;
    let n = inv.results.len().max(1) as f64;
    let secs = ev.duration_s / n;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}
