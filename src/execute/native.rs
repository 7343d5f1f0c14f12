//! Running one native probe: as its own task (a panic becomes ABORT, not a crash), under a
//! timeout and the run's cancellation token, with missing verdicts recorded as ABORT. The
//! probe's cloud requests carry the same limits (an OpenStack [`Budget`]): a request in flight
//! is dropped when the probe times out or is interrupted.

use super::{Ending, Signals, fmt_secs};
use crate::openstack::Budget;
use crate::probes::{Outcome, Probe, ProbeContext};
use crate::verdict::Verdict;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a probe gets to clean up after its token was cancelled, unless the run says
/// otherwise ([`super::RunOptions::cleanup_grace`]).
pub const PROBE_GRACE: Duration = Duration::from_secs(2);
/// Reason of requested testcases a probe returned nothing for.
pub const REASON_NO_VERDICT: &str = "probe returned no verdict";

/// What one probe run produced.
#[derive(Debug, Clone)]
pub(crate) struct NativeRun {
    /// One outcome per requested testcase, in request order.
    pub outcomes: Vec<Outcome>,
    /// The runner's own remarks about the run (`LEVEL: message` lines).
    pub stderr: Vec<String>,
    /// Counters over `stderr`.
    pub signals: Signals,
    /// How it ended.
    pub ending: Ending,
}

enum Stop {
    Done(Result<Vec<Outcome>, tokio::task::JoinError>),
    TimedOut,
    Cancelled,
}

/// Runs `probe` for `requested`. `ctx.cancel` must be a token private to this run (a child of
/// the run's token): it is cancelled on timeout.
pub(crate) async fn run_probe(
    probe: Arc<dyn Probe>,
    ctx: ProbeContext,
    requested: &[String],
    timeout: Duration,
    grace: Duration,
) -> NativeRun {
    let token = ctx.cancel.clone();
    let ids = requested.to_vec();
    let budget = Budget::new(
        tokio::time::Instant::now().checked_add(timeout),
        token.clone(),
    );
    let mut handle = tokio::spawn(budget.scope(async move { probe.run(&ctx, &ids).await }));

    let stop = tokio::select! {
        biased;
        r = &mut handle => Stop::Done(r),
        _ = token.cancelled() => Stop::Cancelled,
        _ = tokio::time::sleep(timeout) => Stop::TimedOut,
    };

    let mut stderr = Vec::new();
    let (ending, result) = match stop {
        // The run was interrupted and the probe wound down in response: keep the verdicts it
        // reached, mark the rest as interrupted.
        Stop::Done(r) if token.is_cancelled() => (Ending::Cancelled, r),
        Stop::Done(r) => (Ending::Completed, r),
        Stop::TimedOut | Stop::Cancelled => {
            let (ending, why) = if matches!(stop, Stop::TimedOut) {
                (
                    Ending::TimedOut,
                    format!("timed out after {}", fmt_secs(timeout)),
                )
            } else {
                (Ending::Cancelled, "interrupted".to_string())
            };
            token.cancel();
            if tokio::time::timeout(grace, &mut handle).await.is_err() {
                handle.abort();
                stderr.push(format!(
                    "WARNING: probe did not stop within {} after cancellation",
                    fmt_secs(grace)
                ));
            }
            stderr.push(format!("CRITICAL: {why}"));
            let outcomes = requested
                .iter()
                .map(|id| Outcome::abort(id, why.clone()))
                .collect();
            return finish(outcomes, stderr, ending);
        }
    };

    let returned = match result {
        Ok(outcomes) => outcomes,
        Err(e) => {
            let why = if e.is_panic() {
                format!("probe panicked: {}", panic_message(e.into_panic()))
            } else {
                "probe task was cancelled".to_string()
            };
            stderr.push(format!("CRITICAL: {why}"));
            let outcomes = requested
                .iter()
                .map(|id| Outcome::abort(id, why.clone()))
                .collect();
            return finish(outcomes, stderr, ending);
        }
    };

    // Last outcome per requested id wins; others are reported and dropped.
    let mut by_id: BTreeMap<String, Outcome> = BTreeMap::new();
    for outcome in returned {
        if requested.contains(&outcome.testcase) {
            by_id.insert(outcome.testcase.clone(), outcome);
        } else {
            stderr.push(format!(
                "WARNING: ignoring result for unrequested testcase: {}",
                outcome.testcase
            ));
        }
    }
    let cancelled = ending == Ending::Cancelled;
    let outcomes = requested
        .iter()
        .map(|id| match by_id.remove(id) {
            Some(o) if cancelled && o.verdict == Verdict::Abort => {
                Outcome::abort(id, "interrupted")
            }
            Some(o) => o,
            None if cancelled => Outcome::abort(id, "interrupted"),
            None => Outcome::abort(id, REASON_NO_VERDICT),
        })
        .collect();
    if cancelled {
        stderr.push("CRITICAL: interrupted".to_string());
    }
    finish(outcomes, stderr, ending)
}

fn finish(outcomes: Vec<Outcome>, stderr: Vec<String>, ending: Ending) -> NativeRun {
    let mut signals = Signals::default();
    for line in &stderr {
        signals.count_line(line);
    }
    NativeRun {
        outcomes,
        stderr,
        signals,
        ending,
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}
