//! The scheduler: runs the work items of a plan concurrently, streams [`Event`]s, and stops
//! cleanly on cancellation.
//!
//! Work is I/O-bound, so the limits are about the system under test, not the CPU count. Items
//! come in two classes with a limit each: quick read-only probes (up to
//! [`RunOptions::read_only_jobs`] at once, [`READ_ONLY_JOBS`] by default) and the items that
//! create resources or may take minutes: probes the [`Registry`] marks as creating (VM boots,
//! backups, e2e suites) and external scripts, which scs-check cannot look into (up to
//! [`RunOptions::jobs`], the `-j` flag, [`DEFAULT_JOBS`] by default). A read-only probe thus never
//! waits behind a VM boot, and creating probes run in parallel with each other.

use super::native::run_probe;
use super::script::run_script;
use super::{Ending, ItemResult, Signals};
use crate::plan::{Plan, WorkItem, WorkKind};
use crate::probes::{Clock, Outcome, ProbeContext, Registry, Services};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// Reason of testcases whose item never started because the run was interrupted.
pub const REASON_NOT_STARTED: &str = "interrupted before it ran";

/// Default of `-j`: resource-creating probes and scripts running at once. Each boots a VM,
/// makes a backup or runs an e2e suite; four keep a run short without straining the quotas of
/// a small project.
pub const DEFAULT_JOBS: usize = 4;

/// Read-only probes running at once: each waits on a few HTTP requests, so many can run
/// together; in practice every read-only probe of a scope starts at once.
pub const READ_ONLY_JOBS: usize = 16;

/// How a run is carried out.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Maximum number of resource-creating probes and external scripts running at once (0
    /// counts as 1).
    pub jobs: usize,
    /// Maximum number of read-only probes running at once (0 counts as 1), independent of
    /// [`RunOptions::jobs`].
    pub read_only_jobs: usize,
    /// Time budget of each item.
    pub timeout: Duration,
    /// The clock probes read (and `started_at` is taken from).
    pub clock: Clock,
    /// Handles to the systems under test.
    pub services: Services,
    /// Cancelled on Ctrl-C: no new items start, running ones are stopped.
    pub cancel: CancellationToken,
    /// How long a probe may take to wind down (delete what it created) after a timeout or
    /// Ctrl-C before it is abandoned ([`super::native::PROBE_GRACE`] is the short default for
    /// probes that create nothing; runs with resource-creating probes give more).
    pub cleanup_grace: Duration,
}

/// What happens during a run, in the order it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// An item started running.
    Started {
        /// [`WorkItem::index`].
        index: usize,
        /// [`WorkItem::label`].
        label: String,
    },
    /// An item printed a line (scripts), or the runner noted something about it.
    Line {
        /// [`WorkItem::index`].
        index: usize,
        /// Whether it came from stderr.
        stderr: bool,
        /// The line without its line end.
        line: String,
    },
    /// An item is done (also sent for items that never started).
    Finished(ItemResult),
    /// A status line of a long-running probe (e.g. Sonobuoy's progress), for the display.
    Status {
        /// The line, e.g. `sonobuoy: e2e running, 120/402 tests passed`.
        line: String,
    },
}

/// Runs every item of `plan` and returns the results in item order. Sends events to `events`
/// (a dropped receiver is fine). Never panics.
pub async fn run(
    plan: &Plan,
    registry: &Registry,
    options: RunOptions,
    events: UnboundedSender<Event>,
) -> Vec<ItemResult> {
    let permits = Permits {
        creating: Arc::new(Semaphore::new(options.jobs.max(1))),
        read_only: Arc::new(Semaphore::new(options.read_only_jobs.max(1))),
    };
    let variables: BTreeMap<String, String> = plan
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let runs = plan
        .items
        .iter()
        .map(|item| run_item(item, registry, &options, &variables, &permits, &events));
    futures::future::join_all(runs).await
}

/// The two limits of a run (see the module documentation).
struct Permits {
    /// Resource-creating probes and scripts.
    creating: Arc<Semaphore>,
    /// Read-only probes.
    read_only: Arc<Semaphore>,
}

impl Permits {
    /// The limit an item runs under.
    fn for_item(&self, item: &WorkItem, registry: &Registry) -> Arc<Semaphore> {
        match &item.kind {
            WorkKind::Native { probe, .. } if !registry.creates_resources(probe) => {
                self.read_only.clone()
            }
            _ => self.creating.clone(),
        }
    }
}

async fn run_item(
    item: &WorkItem,
    registry: &Registry,
    options: &RunOptions,
    variables: &BTreeMap<String, String>,
    permits: &Permits,
    events: &UnboundedSender<Event>,
) -> ItemResult {
    let send = |e: Event| {
        let _ = events.send(e);
    };
    let mut result = ItemResult {
        index: item.index,
        uuid: uuid::Uuid::new_v4().to_string(),
        cmd: String::new(),
        outcomes: vec![],
        notes: BTreeMap::new(),
        rc: None,
        stdout: vec![],
        stderr: vec![],
        signals: Signals::default(),
        ending: Ending::Completed,
        started_at: options.clock.now(),
        duration: Duration::ZERO,
    };

    if let WorkKind::NotRun { reason, abort } = &item.kind {
        send(Event::Started {
            index: item.index,
            label: item.label(),
        });
        result.ending = Ending::NotRun;
        if *abort {
            result.outcomes = abort_all(&item.testcases, reason);
            result.stderr.push(format!("CRITICAL: {reason}"));
            result.signals.critical += 1;
        } else {
            result.notes = note_all(&item.testcases, reason);
        }
        send(Event::Finished(result.clone()));
        return result;
    }

    let permits = permits.for_item(item, registry);
    let permit = tokio::select! {
        biased;
        _ = options.cancel.cancelled() => None,
        p = permits.acquire_owned() => p.ok(),
    };
    let Some(permit) = permit.filter(|_| !options.cancel.is_cancelled()) else {
        result.ending = Ending::Cancelled;
        result.outcomes = abort_all(&item.testcases, REASON_NOT_STARTED);
        send(Event::Finished(result.clone()));
        return result;
    };

    send(Event::Started {
        index: item.index,
        label: item.label(),
    });
    result.started_at = options.clock.now();
    let start_running = tokio::time::Instant::now();

    match &item.kind {
        WorkKind::Native { probe, .. } => {
            result.cmd = format!("{}{probe}", crate::spec::BUILTIN_PREFIX);
            match registry.get(probe) {
                None => {
                    let why = format!("no probe named '{probe}' is registered");
                    result.outcomes = abort_all(&item.testcases, &why);
                    result.stderr.push(format!("CRITICAL: {why}"));
                    result.signals.critical += 1;
                    result.ending = Ending::LaunchFailed;
                }
                Some(p) => {
                    let ctx = ProbeContext {
                        services: options.services.clone(),
                        variables: variables.clone(),
                        parameters: item.parameters.clone(),
                        clock: options.clock.clone(),
                        cancel: options.cancel.child_token(),
                        timeout: options.timeout,
                    };
                    let run = run_probe(
                        p,
                        ctx,
                        &item.testcases,
                        options.timeout,
                        options.cleanup_grace,
                    )
                    .await;
                    for line in &run.stderr {
                        send(Event::Line {
                            index: item.index,
                            stderr: true,
                            line: line.clone(),
                        });
                    }
                    result.outcomes = run.outcomes;
                    result.stderr = run.stderr;
                    result.signals = run.signals;
                    result.ending = run.ending;
                }
            }
        }
        WorkKind::Script(cmd) => {
            result.cmd = cmd.display.clone();
            let run = run_script(
                cmd,
                &item.testcases,
                options.timeout,
                &options.cancel,
                |stderr, line| {
                    send(Event::Line {
                        index: item.index,
                        stderr,
                        line: line.to_string(),
                    })
                },
            )
            .await;
            result.outcomes = run.outcomes;
            result.notes = run.notes;
            result.rc = run.rc;
            result.stdout = run.stdout;
            result.stderr = run.stderr;
            result.signals = run.signals;
            result.ending = run.ending;
        }
        WorkKind::NotRun { .. } => {}
    }
    drop(permit);
    result.duration = start_running.elapsed();
    send(Event::Finished(result.clone()));
    result
}

fn abort_all(ids: &[String], reason: &str) -> Vec<Outcome> {
    ids.iter().map(|id| Outcome::abort(id, reason)).collect()
}

fn note_all(ids: &[String], reason: &str) -> BTreeMap<String, String> {
    ids.iter()
        .map(|id| (id.clone(), reason.to_string()))
        .collect()
}

/// Spawns a task that cancels `token` on the first SIGINT (Ctrl-C) or SIGTERM and prints what
/// happens next (`interrupted: cleaning up N resources, Ctrl-C again to abandon`, where N is
/// `live()` at that moment), then `cleanup` on the second SIGINT or SIGTERM (probes abandon
/// their cleanups and the run reports what is left); a third one ends the process at once with
/// exit code 130. Call inside a tokio runtime.
pub fn cancel_on_ctrl_c_with_cleanup(
    token: CancellationToken,
    cleanup: CancellationToken,
    live: impl Fn() -> usize + Send + 'static,
) {
    tokio::spawn(async move {
        let mut interrupts = Interrupts::new();
        interrupts.next().await;
        eprintln!("{}", first_interrupt_message(live()));
        token.cancel();
        interrupts.next().await;
        eprintln!(
            "second interrupt: abandoning the cleanup; what is left will be listed \
             (interrupt again to quit at once)"
        );
        cleanup.cancel();
        interrupts.next().await;
        std::process::exit(130);
    });
}

/// What the first Ctrl-C (or SIGTERM) of a run prints, given how many created resources may
/// still exist.
pub fn first_interrupt_message(live: usize) -> String {
    match live {
        0 => "interrupted: stopping; unfinished testcases are reported as ABORT \
              (Ctrl-C again to quit at once)"
            .to_string(),
        1 => "interrupted: cleaning up 1 resource, Ctrl-C again to abandon".to_string(),
        n => format!("interrupted: cleaning up {n} resources, Ctrl-C again to abandon"),
    }
}

/// Spawns a task that cancels `token` on the first SIGINT (Ctrl-C) or SIGTERM. A second one
/// ends the process at once with exit code 130. Call inside a tokio runtime.
pub fn cancel_on_ctrl_c(token: CancellationToken) {
    tokio::spawn(async move {
        let mut interrupts = Interrupts::new();
        interrupts.next().await;
        token.cancel();
        interrupts.next().await;
        std::process::exit(130);
    });
}

/// SIGINT and SIGTERM as one stream: a SIGTERM counts like a Ctrl-C.
struct Interrupts {
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Starts listening (the listeners are installed at once, so no signal is missed between
    /// two [`Interrupts::next`] calls for SIGTERM).
    fn new() -> Self {
        Interrupts {
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok(),
        }
    }

    /// Waits for the next SIGINT or SIGTERM.
    async fn next(&mut self) {
        let interrupt = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let terminate = async {
            match self.terminate.as_mut() {
                Some(s) => {
                    if s.recv().await.is_none() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    }
}
