//! What a batch run ends with: the overall exit status, the combined report and the summary
//! table.

use super::{JobEnd, JobResult};
use crate::exit::ExitStatus;
use crate::report::{self, Report};

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

/// The combined multi-document report of every job that produced one, in job order.
pub fn combined_report(results: &[JobResult]) -> Option<String> {
    let reports: Vec<Report> = results.iter().filter_map(|r| r.report.clone()).collect();
    (!reports.is_empty()).then(|| report::to_yaml_multi(&reports))
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
