//! Execution of a plan: native probes and external scripts run concurrently under a cancellation
//! token and per-item timeouts. Progress, console lines and the report consume the results.
//!
//! [`run`] is the entry point; it streams [`Event`]s (item started, output line, item finished)
//! to consumers such as [`Progress`] and returns one [`ItemResult`] per work item.
//! Every requested testcase of an item ends up either in [`ItemResult::outcomes`] or, with the
//! reason it has no verdict (MISSING), in [`ItemResult::notes`].

mod native;
mod progress;
mod protocol;
mod runner;
mod script;
#[cfg(test)]
mod tests;

pub use native::{PROBE_GRACE, REASON_NO_VERDICT};
pub use progress::Progress;
pub use protocol::{Level, level_of, parse_verdict_line};
pub use runner::{DEFAULT_JOBS, READ_ONLY_JOBS, REASON_NOT_STARTED};
pub use runner::{Event, RunOptions, cancel_on_ctrl_c, cancel_on_ctrl_c_with_cleanup, run};
pub use script::{REASON_NO_RESULT, ScriptRun, run_script};

use crate::probes::Outcome;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Counts of log lines by level, as the reference counts them (prefix test on the lower-cased line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// Lines starting with `info`.
    pub info: u32,
    /// Lines starting with `warning`.
    pub warning: u32,
    /// Lines starting with `error`.
    pub error: u32,
    /// Lines starting with `critical`.
    pub critical: u32,
}

/// How a work item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It ran to completion.
    Completed,
    /// It ran past its timeout and was stopped.
    TimedOut,
    /// The run was interrupted (Ctrl-C) before or while it ran.
    Cancelled,
    /// It could not be started (program missing, not executable, ...).
    LaunchFailed,
    /// It was not run at all (manual testcases, no probe).
    NotRun,
}

/// The result of one work item: what ran, how it ended, and the outcome of each testcase it
/// reported on.
#[derive(Debug, Clone)]
pub struct ItemResult {
    /// [`crate::plan::WorkItem::index`] of the item.
    pub index: usize,
    /// Fresh uuid4 identifying this invocation in the report.
    pub uuid: String,
    /// The command line as the report records it (`builtin:PROBE` for native probes).
    pub cmd: String,
    /// Outcomes of the requested testcases that got a verdict (missing ones are absent).
    pub outcomes: Vec<Outcome>,
    /// Requested testcases without an outcome (MISSING), with the reason, e.g.
    /// "script printed no result" or "manual testcase".
    pub notes: BTreeMap<String, String>,
    /// Exit code of a script (127 = could not launch; `None` for native probes and killed scripts).
    pub rc: Option<i32>,
    /// Captured stdout lines (scripts) or log lines (probes).
    pub stdout: Vec<String>,
    /// Captured stderr lines.
    pub stderr: Vec<String>,
    /// Log-level counters.
    pub signals: Signals,
    /// How it ended.
    pub ending: Ending,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
}

/// Formats a duration as seconds the way reasons show it: `30s`, `0.5s`.
pub(crate) fn fmt_secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
