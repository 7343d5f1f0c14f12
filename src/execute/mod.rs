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

pub use crate::outcome::{Ending, ItemResult, Signals};
use std::time::Duration;

/// Formats a duration as seconds the way reasons show it: `30s`, `0.5s`.
pub(crate) fn fmt_secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
