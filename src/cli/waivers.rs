//! `--waivers FILE` for the commands that gate on a finished report: `report` (re-render a
//! report with a waiver file applied anew) and `batch` (checks the file once, then passes it to
//! every subject's `run`). The waiver semantics themselves live in [`crate::report`]: waivers
//! change what people see and the exit status, never the verdicts a report carries.

use super::ExitStatus;
use crate::report::{self, Report};
use crate::verdict::{Aggregate, Verdict};
use anyhow::{Result, anyhow, bail};
use chrono::NaiveDate;
use std::path::Path;

/// Reads the waiver file at `path`; its errors are one line naming the file and line.
pub fn load(path: &Path) -> Result<Vec<report::Waiver>> {
    report::load_waivers(path).map_err(|err| anyhow!("{err}"))
}

/// Applies the waiver file at `path` to every report of `file` (as `run --waivers` does on
/// `today`), prints the warnings on stderr and returns the exit status `run --waivers` would
/// give: the worst over the reports, with waived FAILs counted as passed. A report without
/// our `scs_check` block (the reference tool's) cannot carry waivers and is an error.
pub fn apply_waiver_file(
    reports: &mut [Report],
    path: &Path,
    file: &Path,
    today: NaiveDate,
) -> Result<ExitStatus> {
    let waivers = load(path)?;
    let mut mains = vec![];
    for (n, report) in reports.iter_mut().enumerate() {
        if report.scs_check.is_none() {
            bail!(
                "{}: report {} (subject {}) has no scs_check block (not written by scs-check); \
                 waivers apply to scs-check reports only",
                file.display(),
                n + 1,
                report.subject
            );
        }
        for warning in report::apply_waivers(report, &waivers, today) {
            eprintln!("warning: {warning}");
        }
        let summaries = report::summarize(report, None, None);
        let summaries = report::waived_summaries(report, &summaries);
        mains.push(match report::main_outcome(&summaries) {
            Aggregate::Missing => None,
            Aggregate::Pass => Some(Verdict::Pass),
            Aggregate::Fail => Some(Verdict::Fail),
            Aggregate::Abort => Some(Verdict::Abort),
        });
    }
    // The worst of the reports, by the one precedence (FAIL > MISSING > ABORT > PASS).
    Ok(ExitStatus::from_run(Aggregate::of(mains), false, false))
}
