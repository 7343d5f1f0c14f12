//! What a batch run ends with: the overall exit status, the combined report and the summary
//! table.

use super::{JobEnd, JobResult};
use crate::exit::ExitStatus;
use crate::report;

/// The overall exit status: Error (a subject has no report) > Fail > Inconclusive > Pass.
pub fn overall_status(results: &[JobResult]) -> ExitStatus {
    let rank = |s: ExitStatus| match s {
        ExitStatus::Pass => 0,
        ExitStatus::Inconclusive => 1,
        ExitStatus::Fail => 2,
        ExitStatus::Error => 3,
    };
    results
        .iter()
        .map(JobResult::status)
        .max_by_key(|s| rank(*s))
        .unwrap_or(ExitStatus::Error)
}

/// The combined multi-document report of every job that produced one, in job order: what
/// [`report::to_yaml_multi`] makes of their reports. A subject's file holds exactly
/// [`report::to_yaml`] of its report (a report reads back as the same report), so the file's
/// text is taken as it is instead of rendering the report again; a file that cannot be read
/// any more is rendered from the report.
pub fn combined_report(results: &[JobResult]) -> Option<String> {
    let mut combined = String::new();
    let mut any = false;
    for (report, path) in results
        .iter()
        .filter_map(|r| r.report.as_ref().map(|report| (report, &r.report_path)))
    {
        any = true;
        match path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
            Some(text) if text.starts_with("---") => combined.push_str(&text),
            _ => combined.push_str(&report::to_yaml(report)),
        }
    }
    any.then_some(combined)
}

/// The summary table: one line per job, with what went wrong.
pub fn render_summary(results: &[JobResult]) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "SUBJECT".into(),
        "SCOPE".into(),
        "RESULT".into(),
        "EXIT".into(),
        "TIME".into(),
        "NOTE".into(),
    ]];
    for r in results {
        let result = match (r.main, r.gate()) {
            (Some(main), Some(gate)) if gate != main => format!("{main} (waived: {gate})"),
            (main, _) => main.map_or("ERROR".to_string(), |m| m.to_string()),
        };
        let note = match (&r.end, &r.problem) {
            (_, Some(p)) => p.clone(),
            (JobEnd::TimedOut, None) => format!("timed out after {} s", r.job.timeout.as_secs()),
            (JobEnd::Cancelled, None) => "cancelled".into(),
            _ => r
                .report_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        };
        rows.push([
            r.job.subject.clone(),
            r.job.scope.clone(),
            result,
            (r.status() as u8).to_string(),
            format!("{:.1}s", r.duration.as_secs_f64()),
            note,
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            line.push_str(&format!("{:<w$}  ", row[i], w = *w));
        }
        line.push_str(&row[5]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.status() != ExitStatus::Pass)
        .map(|r| r.job.subject.as_str())
        .collect();
    if failed.is_empty() {
        let runs = crate::terminal::count(results.len(), "run");
        match results.len() {
            1 => out.push_str("the run passed\n"),
            _ => out.push_str(&format!("all {runs} passed\n")),
        }
    } else {
        out.push_str(&format!(
            "{} of {} did not pass: {}\n",
            failed.len(),
            crate::terminal::count(results.len(), "run"),
            failed.join(", ")
        ));
    }
    out
}
