//! A human summary in Markdown: heading, per-version tables and the evidence of every
//! non-passing testcase.

use super::model::{Report, naive_timestamp};
use super::summary::{VersionSummary, main_outcome, summaries_for, summarize};
use super::text::{evidence_lines, md_cell};
use super::waiver::{shown_target, shown_word, waived_summaries, waiver_for, waiver_line};
use crate::spec::Scope;
use crate::verdict::Verdict;
use std::fmt::Write;

/// Renders the report as Markdown.
pub fn to_markdown(report: &Report) -> String {
    markdown_with(report, &summarize(report, None, None))
}

/// Like [`to_markdown`] for a stored report: reports without our summary block are evaluated
/// against `scope` when one is given.
pub fn render_markdown(report: &Report, scope: Option<&Scope>) -> String {
    markdown_with(report, &summaries_for(report, scope))
}

fn markdown_with(report: &Report, versions: &[VersionSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}: {}\n", report.subject, report.spec.name);
    let scope = if report.spec.url.is_empty() {
        report.spec.name.clone()
    } else {
        format!("[{}]({})", report.spec.name, report.spec.url)
    };
    let _ = writeln!(out, "- Scope: {scope} (`{}`)", report.spec.uuid);
    let _ = writeln!(out, "- Subject: {}", report.subject);
    // Our reports are in UTC; the reference tool writes local time without a zone.
    let zone = if report.scs_check.is_some() {
        " UTC"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "- Checked at: {}{zone}",
        naive_timestamp::format(&report.checked_at)
    );
    if let Some(d) = report.reference_date {
        let _ = writeln!(out, "- Reference date: {d}");
    }
    let _ = writeln!(out, "- Run: `{}`", report.run.uuid);
    if let Some(note) = report.scs_check.as_ref().and_then(|b| b.rerun.as_ref()) {
        let _ = writeln!(
            out,
            "- Rerun: {} of run `{}` run again at {} UTC (marked _rerun_)",
            super::text::testcases(note.testcases.len()),
            note.of_run,
            note.rerun_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    if let Some(s) = &report.run.sections {
        let _ = writeln!(out, "- Partial run, sections: {}", s.join(", "));
    }
    if let Some(t) = &report.run.forced_tests {
        let _ = writeln!(out, "- Partial run, tests: `{t}`");
    }
    if let Some(b) = &report.scs_check {
        let _ = writeln!(out, "- Tool: {} {}", b.tool, b.version);
    }
    let _ = writeln!(
        out,
        "- Result (`main` of every version): **{}**",
        main_outcome(versions)
    );
    let waivers = report.scs_check.as_ref().map_or(0, |b| b.waivers.len());
    if waivers > 0 {
        let _ = writeln!(
            out,
            "- With waivers applied (CI gate only, not certification): **{}**",
            main_outcome(&waived_summaries(report, versions))
        );
    }

    for v in versions {
        let _ = write!(out, "\n## {}", v.name);
        if let Some(validity) = v.validity {
            let _ = write!(out, " ({validity})");
        }
        // The Waived column only appears in reports with waivers (older outputs stay as they were).
        if waivers > 0 {
            out.push_str(
                "\n\n| Target | Result | Passed | Failed | Waived | Aborted | Missing |\n",
            );
            out.push_str("|---|---|---:|---:|---:|---:|---:|\n");
        } else {
            out.push_str("\n\n| Target | Result | Passed | Failed | Aborted | Missing |\n");
            out.push_str("|---|---|---:|---:|---:|---:|\n");
        }
        for (name, t) in &v.targets {
            let (shown, waived) = shown_target(report, v, t);
            let waived_cell = if waivers > 0 {
                format!(" {waived} |")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {name} | {shown} | {} | {} |{waived_cell} {} | {} |",
                t.passed,
                t.failed - waived,
                t.aborted,
                t.missing
            );
        }
        out.push_str("\n| Testcase | Result | Reason |\n|---|---|---|\n");
        for (id, tc) in &v.testcases {
            let mut id_cell = match &tc.url {
                Some(u) => format!("[{}]({})", md_cell(id), u),
                None => md_cell(id),
            };
            if tc.rerun {
                id_cell.push_str(" _rerun_");
            }
            let mut reason = tc.reason.clone().unwrap_or_default();
            if let Some(waiver) = waiver_for(report, id, tc.result) {
                reason = format!("{} (FAIL: {reason})", waiver_line(waiver));
            }
            let _ = writeln!(
                out,
                "| {id_cell} | {} | {} |",
                shown_word(report, id, tc),
                md_cell(&reason)
            );
        }
        let failing: Vec<_> = v
            .testcases
            .iter()
            .filter(|(_, t)| t.result != Some(Verdict::Pass))
            .collect();
        if failing.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### Not passing in {}\n", v.name);
        for (id, tc) in failing {
            let _ = write!(out, "- **{id}** ({})", shown_word(report, id, tc));
            if let Some(r) = &tc.reason {
                let _ = write!(out, ": {r}");
            }
            out.push('\n');
            if let Some(waiver) = waiver_for(report, id, tc.result) {
                let _ = writeln!(out, "  - {} (the report keeps FAIL)", waiver_line(waiver));
            }
            if let Some(d) = &tc.description {
                let _ = writeln!(
                    out,
                    "  - {}",
                    d.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
            if let Some(u) = &tc.url {
                let _ = writeln!(out, "  - <{u}>");
            }
            for line in evidence_lines(report, id, tc) {
                let _ = writeln!(out, "  - `{}`", line.replace('`', "'"));
            }
        }
    }
    out
}
