//! A self-contained HTML page of a report for people: the run's metadata, per version a table
//! of targets and a table of testcases with verdict colours, and the evidence of every
//! testcase that did not pass.
//!
//! The page needs nothing from outside: the style sheet is inline, there is no script, no
//! image and no link that leaves the page (documentation addresses are shown as text). Every
//! piece of text from the report is escaped, because findings quote what a cloud answered.

use super::model::{Report, naive_timestamp};
use super::summary::{VersionSummary, main_outcome, summaries_for, summarize};
use super::text::evidence_lines;
use super::waiver::{shown_target, shown_word, waived_summaries, waiver_for, waiver_line};
use crate::spec::Scope;
use crate::verdict::Verdict;
use std::fmt::Write;

/// Renders the report as one HTML page.
pub fn to_html(report: &Report) -> String {
    html_with(report, &summarize(report, None, None))
}

/// Like [`to_html`] for a stored report: reports without our summary block are evaluated
/// against `scope` when one is given.
pub fn render_html(report: &Report, scope: Option<&Scope>) -> String {
    html_with(report, &summaries_for(report, scope))
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The CSS class of a result word (`PASS` → `v-pass`).
fn verdict_class(word: &str) -> String {
    format!("v-{}", word.to_ascii_lowercase())
}

/// A verdict badge: `<span class="verdict v-fail">FAIL</span>`.
fn badge(word: &str) -> String {
    format!(
        "<span class=\"verdict {}\">{}</span>",
        verdict_class(word),
        escape(word)
    )
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;\
max-width:75rem;padding:0 1rem;color:#1d2330;background:#fff;line-height:1.4}\
h1{font-size:1.6rem;margin-bottom:.3rem}h2{margin-top:2.5rem;border-bottom:2px solid #d8dde6;\
padding-bottom:.2rem}h3{margin-top:1.5rem}\
table{border-collapse:collapse;margin:.6rem 0 1rem;width:100%}\
th,td{border:1px solid #d8dde6;padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:#f1f3f7}td.num{text-align:right;font-variant-numeric:tabular-nums}\
table.meta{width:auto}table.meta th{font-weight:600;white-space:nowrap}\
.verdict{display:inline-block;min-width:4.8rem;text-align:center;border-radius:.25rem;\
padding:.05rem .4rem;font-weight:700;font-size:.85rem;color:#fff}\
.v-pass{background:#1f7a3a}.v-fail{background:#b3261e}.v-abort{background:#b86e00}\
.v-missing{background:#6b7280}.v-waived{background:#5b3fa8}\
tr.r-fail td{background:#fdf0ef}tr.r-abort td{background:#fff6e6}\
tr.r-missing td{background:#f4f5f7}tr.r-waived td{background:#f3effb}\
.outcome{font-size:1.1rem}.note{color:#4b5563;font-size:.9rem}\
.finding{border-left:4px solid #d8dde6;padding:.2rem .8rem;margin:.8rem 0}\
.finding.r-fail{border-color:#b3261e}.finding.r-abort{border-color:#b86e00}\
.finding.r-missing{border-color:#6b7280}.finding.r-waived{border-color:#5b3fa8}\
.finding h4{margin:.2rem 0}.finding p{margin:.2rem 0}\
td.id{white-space:nowrap}\
ul.evidence{margin:.3rem 0;padding-left:1.2rem}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;\
overflow-wrap:anywhere}\
a{color:#1d4ed8}";

fn html_with(report: &Report, versions: &[VersionSummary]) -> String {
    let mut out = String::new();
    let title = format!("{}: {}", report.subject, report.spec.name);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&title));
    let _ = writeln!(out, "<style>{STYLE}</style>");
    out.push_str("</head>\n<body>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let outcome = main_outcome(versions);
    let _ = writeln!(
        out,
        "<p class=\"outcome\">Result (<code>main</code> of every version): {}</p>",
        badge(&outcome.to_string())
    );
    let waivers = report.scs_check.as_ref().map_or(0, |b| b.waivers.len());
    if waivers > 0 {
        let _ = writeln!(
            out,
            "<p class=\"outcome\">With waivers applied (CI gate only, not \
             certification): {}</p>",
            badge(&main_outcome(&waived_summaries(report, versions)).to_string())
        );
    }
    metadata(&mut out, report);
    overview(&mut out, report, versions);
    for (index, version) in versions.iter().enumerate() {
        version_section(&mut out, report, version, index);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The table of the run's metadata.
fn metadata(out: &mut String, report: &Report) {
    let mut rows: Vec<(&str, String)> = vec![
        ("Subject", escape(&report.subject)),
        (
            "Scope",
            format!(
                "{} (<code>{}</code>)",
                escape(&report.spec.name),
                escape(&report.spec.uuid)
            ),
        ),
    ];
    if !report.spec.url.is_empty() {
        rows.push((
            "Scope file",
            format!("<code>{}</code>", escape(&report.spec.url)),
        ));
    }
    // Our reports are in UTC; the reference tool writes local time without a zone.
    let zone = if report.scs_check.is_some() {
        " UTC"
    } else {
        ""
    };
    rows.push((
        "Checked at",
        escape(&format!(
            "{}{zone}",
            naive_timestamp::format(&report.checked_at)
        )),
    ));
    if let Some(date) = report.reference_date {
        rows.push(("Reference date", escape(&date.to_string())));
    }
    rows.push(("Run", format!("<code>{}</code>", escape(&report.run.uuid))));
    if let Some(note) = report.scs_check.as_ref().and_then(|b| b.rerun.as_ref()) {
        rows.push((
            "Rerun",
            format!(
                "{} of run <code>{}</code> run again at {} UTC; their results are new (marked \
                 <em>rerun</em>)",
                super::text::testcases(note.testcases.len()),
                escape(&note.of_run),
                escape(&note.rerun_at.format("%Y-%m-%d %H:%M:%S").to_string())
            ),
        ));
    }
    if let Some(sections) = &report.run.sections {
        rows.push(("Partial run, sections", escape(&sections.join(", "))));
    }
    if let Some(tests) = &report.run.forced_tests {
        rows.push((
            "Partial run, tests",
            format!("<code>{}</code>", escape(tests)),
        ));
    }
    if let Some(forced) = &report.run.forced_version {
        rows.push(("Forced versions", escape(forced)));
    }
    match &report.scs_check {
        Some(block) => {
            rows.push(("Tool", escape(&format!("{} {}", block.tool, block.version))));
            rows.push((
                "Simulated cloud",
                if block.simulated {
                    "yes: a simulated run is no certificate".into()
                } else {
                    "no".into()
                },
            ));
            rows.push((
                "TLS certificate verification",
                if block.tls_verification_disabled {
                    "off (insecure)".into()
                } else {
                    "on".into()
                },
            ));
            if let Some(requests) = block.requests {
                rows.push(("API requests", requests.to_string()));
            }
            if !block.resources.is_empty() {
                let left = block.resources.iter().filter(|r| !r.deleted).count();
                rows.push((
                    "Cloud resources",
                    format!("{} created, {} left behind", block.resources.len(), left),
                ));
            }
        }
        None => rows.push(("Tool", "another tool (no scs-check summary)".into())),
    }
    out.push_str("<table class=\"meta\">\n");
    for (name, value) in rows {
        let _ = writeln!(out, "<tr><th>{}</th><td>{value}</td></tr>", escape(name));
    }
    out.push_str("</table>\n");
}

/// One row per version and target: the summary at the top of the page.
fn overview(out: &mut String, report: &Report, versions: &[VersionSummary]) {
    if versions.is_empty() {
        return;
    }
    out.push_str("<h2>Summary</h2>\n<table class=\"overview\">\n<tr><th>Version</th>");
    out.push_str("<th>Validity</th><th>Target</th><th>Result</th><th>Passed</th><th>Failed</th>");
    out.push_str("<th>Waived</th><th>Aborted</th><th>Missing</th></tr>\n");
    for (index, version) in versions.iter().enumerate() {
        let validity = version.validity.map(|v| v.to_string()).unwrap_or_default();
        for (name, target) in &version.targets {
            let (shown, waived) = shown_target(report, version, target);
            let _ = writeln!(
                out,
                "<tr class=\"r-{}\"><td><a href=\"#v{index}\">{}</a></td><td>{}</td><td>{}</td>\
                 <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{waived}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                shown.to_ascii_lowercase(),
                escape(&version.name),
                escape(&validity),
                escape(name),
                badge(&shown),
                target.passed,
                target.failed - waived,
                target.aborted,
                target.missing
            );
        }
    }
    out.push_str("</table>\n");
}

/// One version: its targets, its testcases and the evidence of the non-passing ones.
fn version_section(out: &mut String, report: &Report, version: &VersionSummary, index: usize) {
    let _ = write!(
        out,
        "<section id=\"v{index}\">\n<h2>{}",
        escape(&version.name)
    );
    if let Some(validity) = version.validity {
        let _ = write!(
            out,
            " <span class=\"note\">({})</span>",
            escape(&validity.to_string())
        );
    }
    out.push_str("</h2>\n<table class=\"targets\">\n<tr><th>Target</th><th>Result</th>");
    out.push_str("<th>Passed</th><th>Failed</th><th>Waived</th><th>Aborted</th><th>Missing</th>");
    out.push_str("</tr>\n");
    for (name, target) in &version.targets {
        let (shown, waived) = shown_target(report, version, target);
        let _ = writeln!(
            out,
            "<tr class=\"r-{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{waived}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            shown.to_ascii_lowercase(),
            escape(name),
            badge(&shown),
            target.passed,
            target.failed - waived,
            target.aborted,
            target.missing
        );
    }
    out.push_str("</table>\n");

    out.push_str("<table class=\"testcases\">\n<tr><th>Testcase</th><th>Target</th>");
    out.push_str("<th>Result</th><th>Reason</th></tr>\n");
    for (position, (id, tc)) in version.testcases.iter().enumerate() {
        let word = shown_word(report, id, tc);
        let targets: Vec<&str> = version
            .targets
            .iter()
            .filter(|(_, t)| t.testcases.iter().any(|x| x == id))
            .map(|(name, _)| name.as_str())
            .collect();
        let mut id_cell = if tc.result == Some(Verdict::Pass) {
            format!("<code>{}</code>", escape(id))
        } else {
            format!(
                "<a href=\"#{}\"><code>{}</code></a>",
                anchor(index, position),
                escape(id)
            )
        };
        if tc.rerun {
            id_cell.push_str(" <em class=\"note\">rerun</em>");
        }
        let _ = writeln!(
            out,
            "<tr class=\"r-{}\"><td class=\"id\">{id_cell}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            word.to_ascii_lowercase(),
            escape(&targets.join(", ")),
            badge(word),
            escape(&match waiver_for(report, id, tc.result) {
                Some(waiver) => format!(
                    "{} (FAIL: {})",
                    waiver_line(waiver),
                    tc.reason.as_deref().unwrap_or("")
                ),
                None => tc.reason.clone().unwrap_or_default(),
            })
        );
    }
    out.push_str("</table>\n");

    let failing: Vec<_> = version
        .testcases
        .iter()
        .enumerate()
        .filter(|(_, (_, t))| t.result != Some(Verdict::Pass))
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "<h3>Not passing in {}</h3>", escape(&version.name));
    }
    for (position, (id, tc)) in failing {
        let word = shown_word(report, id, tc);
        let _ = writeln!(
            out,
            "<div class=\"finding r-{}\" id=\"{}\">\n<h4><code>{}</code> {}</h4>",
            word.to_ascii_lowercase(),
            anchor(index, position),
            escape(id),
            badge(word)
        );
        if let Some(waiver) = waiver_for(report, id, tc.result) {
            let _ = writeln!(
                out,
                "<p><strong>{}</strong> (the report keeps FAIL)</p>",
                escape(&waiver_line(waiver))
            );
        }
        if let Some(reason) = &tc.reason {
            let _ = writeln!(out, "<p>{}</p>", escape(reason));
        }
        if let Some(description) = &tc.description {
            let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&text));
        }
        if let Some(url) = &tc.url {
            let _ = writeln!(out, "<p class=\"note\"><code>{}</code></p>", escape(url));
        }
        let lines = evidence_lines(report, id, tc);
        if !lines.is_empty() {
            out.push_str("<ul class=\"evidence\">\n");
            for line in lines {
                let _ = writeln!(out, "<li><code>{}</code></li>", escape(&line));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

/// The id of a testcase's evidence block: version and testcase by position, so no text from
/// the report ends up in an attribute that links point to.
fn anchor(version: usize, testcase: usize) -> String {
    format!("v{version}-t{testcase}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b\tc"), "a\u{fffd}b\tc");
    }

    #[test]
    fn verdict_classes_are_lower_case_words() {
        assert_eq!(verdict_class("MISSING"), "v-missing");
        assert!(badge("FAIL").contains("class=\"verdict v-fail\""));
    }
}
