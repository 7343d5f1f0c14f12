//! What the probes that create resources share: running the work under the probe's overall
//! budget and the run's cancellation token, always followed by the cleanup of everything the
//! work created; waiting for a status with the reference suite's schedules; evidence about
//! resources that could not be deleted; and the reasons of ABORT and FAIL verdicts built on
//! the one error classifier ([`ErrorClass`]).

use crate::openstack::resources::{Disposal, Disposed, ErrorClass, Pace, ResourceError, Session};
use crate::openstack::{Client, OpenStackError};
use crate::probes::{Finding, ProbeContext};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Why the work did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The probe's overall budget ran out (real time).
    TimedOut(Duration),
    /// The run was cancelled (Ctrl-C or the executor's timeout).
    Interrupted,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::TimedOut(d) => write!(
                f,
                "the probe's time budget of {:.1} s ran out (resources cleaned up)",
                d.as_secs_f64()
            ),
            Stopped::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// What [`with_cleanup`] returns: the work's result (unless stopped) and what the cleanup did.
pub struct Guarded<T> {
    /// The work's own result, or why it was stopped.
    pub result: Result<T, Stopped>,
    /// One line per resource the work created.
    pub disposed: Vec<Disposed>,
}

impl<T> Guarded<T> {
    /// Findings for resources that are still there after the cleanup.
    pub fn leftover_findings(&self) -> Vec<Finding> {
        leftover_findings(&self.disposed)
    }
}

/// A step of a resource-creating probe that failed, and why.
#[derive(Debug)]
pub struct StepError {
    /// What the probe was doing, e.g. `creating the volume`.
    pub step: String,
    /// The error.
    pub error: ResourceError,
}

impl StepError {
    /// `step` failed with `error`.
    pub fn new(step: impl Into<String>, error: ResourceError) -> StepError {
        StepError {
            step: step.into(),
            error,
        }
    }

    /// The class of the error ([`ErrorClass::of`]).
    pub fn class(&self) -> ErrorClass {
        self.error.class()
    }

    /// One line: `creating the volume: <error>`, followed for errors that prove nothing by
    /// why they do not (`(transient or unreadable: inconclusive)`).
    pub fn reason(&self) -> String {
        step_reason(&self.step, &self.error)
    }
}

/// The reason line of a failed step (see [`StepError::reason`]).
pub fn step_reason(step: &str, err: &ResourceError) -> String {
    match err.class() {
        ErrorClass::Refused(_) => format!("{step}: {err}"),
        class => format!("{step}: {err} ({})", class.note()),
    }
}

/// Maps a step's error to `StepError` (for `map_err`).
pub fn at(step: &'static str) -> impl Fn(ResourceError) -> StepError {
    move |e| StepError::new(step, e)
}

/// Findings for resources that a cleanup could not delete.
pub fn leftover_findings(disposed: &[Disposed]) -> Vec<Finding> {
    disposed
        .iter()
        .filter_map(|d| match &d.what {
            Disposal::Failed(why) => Some(
                Finding::new(
                    format!("{} \"{}\"", d.kind.label(), d.name),
                    format!("left behind: {why}; `scs-check cleanup` removes it"),
                )
                .expected_actual("deleted", "still present"),
            ),
            _ => None,
        })
        .collect()
}

/// Runs `work` with a fresh [`Session`] under the probe's budget (`probe`'s configured timeout,
/// else `default_budget`, in cloud seconds) and `ctx.cancel`; then deletes whatever the session
/// created, whatever happened. The cleanup is not subject to `ctx.cancel` (only to the
/// tracker's abandon token, the second Ctrl-C).
pub async fn with_cleanup<T, F, Fut>(
    ctx: &ProbeContext,
    client: Client,
    probe: &str,
    default_budget: Duration,
    work: F,
) -> Guarded<T>
where
    F: FnOnce(Arc<Session>) -> Fut,
    Fut: Future<Output = T>,
{
    let tracker = ctx.services.tracker();
    let session = Arc::new(tracker.session(client));
    let budget = tracker.probe_timeout(probe, default_budget);
    let result = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Err(Stopped::Interrupted),
        r = work(session.clone()) => Ok(r),
        _ = tokio::time::sleep(budget) => Err(Stopped::TimedOut(budget)),
    };
    // The cleanup outlives the probe's budget (it has its own limits).
    let disposed = crate::openstack::Budget::exempt(session.cleanup()).await;
    Guarded { result, disposed }
}

/// The reference suite's wait schedule for scs-0117: check, then sleep 2, 3, 5, 10, 15, 25, 50
/// seconds between checks (8 checks), then give up.
pub const BACKUP_SCHEDULE: [u64; 7] = [2, 3, 5, 10, 15, 25, 50];

/// What a status check says.
pub enum Check<T> {
    /// Done, with a value.
    Ready(T),
    /// Not yet; the current state in words.
    Pending(String),
    /// It will never get there (e.g. status `error`).
    Failed(String),
}

/// Checks, then sleeps each step of `schedule` (cloud seconds, paced) between checks; the
/// last pending state is in the timeout error.
pub async fn wait_with_schedule<T, C, Fut>(
    pace: Pace,
    schedule: &[u64],
    what: &str,
    mut check: C,
) -> Result<T, ResourceError>
where
    C: FnMut() -> Fut,
    Fut: Future<Output = Result<Check<T>, OpenStackError>>,
{
    let mut last = String::new();
    for i in 0..=schedule.len() {
        match check().await? {
            Check::Ready(v) => return Ok(v),
            Check::Failed(why) => return Err(ResourceError::Failed(format!("{what}: {why}"))),
            Check::Pending(state) => last = state,
        }
        if let Some(step) = schedule.get(i) {
            tokio::time::sleep(pace.secs(*step as f64)).await;
        }
    }
    let total: u64 = schedule.iter().sum();
    Err(ResourceError::Timeout(format!(
        "{what}: still {last} after {total} s"
    )))
}

/// Checks every `interval` cloud seconds for at most `limit` cloud seconds.
pub async fn wait_every<T, C, Fut>(
    pace: Pace,
    interval: f64,
    limit: f64,
    what: &str,
    mut check: C,
) -> Result<T, ResourceError>
where
    C: FnMut() -> Fut,
    Fut: Future<Output = Result<Check<T>, OpenStackError>>,
{
    let started = tokio::time::Instant::now();
    let limit_real = pace.secs(limit);
    loop {
        match check().await? {
            Check::Ready(v) => return Ok(v),
            Check::Failed(why) => return Err(ResourceError::Failed(format!("{what}: {why}"))),
            Check::Pending(state) => {
                if started.elapsed() >= limit_real {
                    return Err(ResourceError::Timeout(format!(
                        "{what}: still {state} after {limit:.0} s"
                    )));
                }
            }
        }
        tokio::time::sleep(pace.secs(interval)).await;
    }
}
