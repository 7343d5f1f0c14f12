//! Small text helpers shared by the human-readable writers (console, Markdown, JUnit).

use super::model::Report;
use super::summary::TestcaseSummary;
use crate::outcome::Finding;
use crate::verdict::Verdict;

/// `PASS`, `FAIL`, `ABORT` or `MISSING`.
pub(crate) fn result_word(result: Option<Verdict>) -> &'static str {
    match result {
        Some(Verdict::Pass) => "PASS",
        Some(Verdict::Fail) => "FAIL",
        Some(Verdict::Abort) => "ABORT",
        None => "MISSING",
    }
}

/// One finding as a line: `object: message (expected E, actual A)`.
pub(crate) fn finding_line(f: &Finding) -> String {
    let mut s = format!("{}: {}", f.object, f.message);
    match (&f.expected, &f.actual) {
        (Some(e), Some(a)) => s.push_str(&format!(" (expected {e}, actual {a})")),
        (Some(e), None) => s.push_str(&format!(" (expected {e})")),
        (None, Some(a)) => s.push_str(&format!(" (actual {a})")),
        (None, None) => {}
    }
    s
}

/// The evidence behind a testcase's result: our findings when the report has them, otherwise
/// (reference reports) the `ERROR`/`WARNING` lines of the invocation's stderr, which is what the
/// monitor's public report page keeps.
pub(crate) fn evidence_lines(report: &Report, id: &str, tc: &TestcaseSummary) -> Vec<String> {
    let Some(inv) = tc
        .invocation
        .as_ref()
        .and_then(|uuid| report.run.invocations.get(uuid))
    else {
        return vec![];
    };
    if let Some(ev) = inv.scs_check.as_ref() {
        return ev
            .testcases
            .get(id)
            .map(|t| t.evidence.iter().map(finding_line).collect())
            .unwrap_or_default();
    }
    inv.stderr
        .iter()
        .filter(|l| l.starts_with("ERROR") || l.starts_with("WARNIN"))
        .cloned()
        .collect()
}

/// Escapes text for a Markdown table cell.
pub(crate) fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// `1 testcase`, `2 testcases`.
pub(crate) fn testcases(n: usize) -> String {
    if n == 1 {
        "1 testcase".to_string()
    } else {
        format!("{n} testcases")
    }
}
