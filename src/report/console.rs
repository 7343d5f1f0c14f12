//! The console summary printed at the end of a run.
//!
//! Unlike the reference tool, an ABORT is called ABORT (inconclusive) and never FAIL.

use super::model::Report;
use super::summary::{TestcaseSummary, VersionSummary, severity, summaries_for, summarize};
use super::text::{evidence_lines, result_word};
use super::waiver::{shown_target, shown_word, waiver_for, waiver_line};
use crate::plan::NotRunTarget;
use crate::spec::Scope;
use crate::verdict::Aggregate;
use indexmap::IndexMap;
use std::fmt::Write;

/// How many evidence lines are shown per testcase before `... N more`.
pub const EVIDENCE_LINES: usize = 5;

/// Renders the summary: per version a heading and one line per target, then the FAILED,
/// WAIVED (a FAIL with a waiver, see [`super::apply_waivers`]), ABORTED and MISSING testcases (MISSING omitted for partial runs) with reason, description,
/// link and up to [`EVIDENCE_LINES`] evidence lines; PASSED only when `verbose`.
pub fn console_summary(report: &Report, verbose: bool) -> String {
    console_with(report, &summarize(report, None, None), verbose, &[])
}

/// Like [`console_summary`], with a line per informative target the run did not run at all
/// (`- recommended: not run (24 testcases), use -t '...'`), under its version.
pub fn console_summary_of_run(report: &Report, verbose: bool, not_run: &[NotRunTarget]) -> String {
    console_with(report, &summarize(report, None, None), verbose, not_run)
}

/// Like [`console_summary`] (not verbose) for a stored report: reports without our summary
/// block (the reference tool's) are evaluated against `scope` when one is given, so versions,
/// targets, MISSING testcases, descriptions and links are known.
pub fn render_console(report: &Report, scope: Option<&Scope>) -> String {
    console_with(report, &summaries_for(report, scope), false, &[])
}

pub(crate) fn console_with(
    report: &Report,
    versions: &[VersionSummary],
    verbose: bool,
    not_run: &[NotRunTarget],
) -> String {
    let mut out = String::new();
    let partial = report
        .scs_check
        .as_ref()
        .map_or(report.run.is_partial(), |b| b.partial);
    let mut filters = String::new();
    if let Some(sections) = &report.run.sections {
        let _ = write!(filters, " [sections: {}]", sections.join(", "));
    }
    if let Some(tests) = &report.run.forced_tests {
        let _ = write!(filters, " [tests: '{tests}']");
    }
    // Each testcase once, with its worst result over the versions (and that version's details).
    let mut worst: IndexMap<&str, &TestcaseSummary> = IndexMap::new();
    for v in versions {
        let _ = write!(
            out,
            "{} {}{} {}",
            report.subject, report.spec.name, filters, v.name
        );
        if let Some(validity) = v.validity {
            let _ = write!(out, " ({validity})");
        }
        out.push_str(":\n");
        for (name, t) in &v.targets {
            if t.testcases.is_empty() {
                // An empty target passes (like the reference), but say why: nothing was selected.
                let _ = writeln!(
                    out,
                    "- {name}: no testcase selected (counts as {})",
                    t.result
                );
                continue;
            }
            let (shown, waived) = shown_target(report, v, t);
            let _ = write!(out, "- {name}: {shown} ({} passed", t.passed);
            for (n, word) in [
                (t.failed - waived, "failed"),
                (waived, "waived"),
                (t.aborted, "aborted"),
                (t.missing, "missing"),
            ] {
                if n > 0 {
                    let _ = write!(out, ", {n} {word}");
                }
            }
            out.push_str(")\n");
        }
        for nr in not_run.iter().filter(|nr| nr.version == v.name) {
            let noun = if nr.testcases == 1 {
                "testcase"
            } else {
                "testcases"
            };
            let _ = writeln!(
                out,
                "- {}: not run ({} {noun}), use -t '{}'",
                nr.target, nr.testcases, nr.tests
            );
        }
        for (id, tc) in &v.testcases {
            let rank = |t: &TestcaseSummary| severity(Aggregate::of([t.result]));
            match worst.get(id.as_str()) {
                Some(prev) if rank(prev) >= rank(tc) => {}
                _ => {
                    worst.insert(id, tc);
                }
            }
        }
    }
    // A waived FAIL is listed under WAIVED with the waiver, not under FAILED.
    let mut categories = vec![
        ("FAILED", "FAIL"),
        ("WAIVED", "WAIVED"),
        ("ABORTED", "ABORT"),
    ];
    if !partial {
        categories.push(("MISSING", "MISSING"));
    }
    if verbose {
        categories.push(("PASSED", "PASS"));
    }
    for (title, want) in categories {
        let members: Vec<_> = worst
            .iter()
            .filter(|(id, t)| shown_word(report, id, t) == want)
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for (id, tc) in members {
            let reason = tc.reason.as_deref().unwrap_or(result_word(tc.result));
            let _ = writeln!(out, "- {id}: {reason}");
            if let Some(waiver) = waiver_for(report, id, tc.result) {
                let _ = writeln!(out, "  {} (the report keeps FAIL)", waiver_line(waiver));
            }
            if let Some(d) = &tc.description {
                for line in d.lines().filter(|l| !l.trim().is_empty()) {
                    let _ = writeln!(out, "  > {}", line.trim());
                }
            }
            if let Some(u) = &tc.url {
                let _ = writeln!(out, "  > {u}");
            }
            if want != "PASS" {
                let lines = evidence_lines(report, id, tc);
                for line in lines.iter().take(EVIDENCE_LINES) {
                    let _ = writeln!(out, "    {line}");
                }
                if lines.len() > EVIDENCE_LINES {
                    let _ = writeln!(out, "    ... {} more", lines.len() - EVIDENCE_LINES);
                }
            }
        }
    }
    out
}
