//! Creating cloud resources so that nothing is left behind: the run's [`Tracker`] (name prefix,
//! ledger, pace of waits, per-probe time budgets), a probe's [`Session`] (creates resources,
//! recording each in the ledger before the create call is sent, and deletes them again in
//! dependency order), and [`sweep`], the janitor behind `scs-check cleanup`.
//!
//! Safety rules: every name starts with the prefix; nothing is deleted whose current name lacks
//! the prefix or that belongs to another project (each resource is read back before it is
//! deleted; when the read-back gets no answer, only what the ledger records as ours is deleted,
//! by id); router interfaces are removed only on our own subnets; deletion order is server →
//! secret → security group → backup → volume → router interface → router → subnet → network;
//! waits use bounded backoff; a sweep has one overall time limit; a cancelled cleanup (second
//! Ctrl-C) stops and says what is left.
//!
//! [`ErrorClass`] is the one classifier of failed cloud calls that every resource-creating
//! probe uses to tell FAIL (the cloud answered and refused) from ABORT (transient, quota,
//! unreadable, not answered).
//!
//! This module holds the errors, the classifier, the [`Tracker`] and the records; `session`
//! holds [`Session`], `janitor` the deletion rules every cleanup shares, `lookup` finding and
//! reading resources by kind, `sweep` the [`sweep`].

use super::ledger::{Entry, Ledger, LedgerError, ResourceKind};
use super::{Client, OpenStackError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod janitor;
mod lookup;
mod session;
mod sweep;

pub use session::Session;
pub use sweep::{MIN_PREFIX_LEN, SweepOptions, prefixed_names, sweep};

/// The default name prefix of everything scs-check creates.
pub const DEFAULT_PREFIX: &str = "_scs-";

/// Creating or deleting a resource failed.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// The cloud refused or did not answer.
    #[error(transparent)]
    Api(#[from] OpenStackError),
    /// The ledger could not be written, so nothing was created.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The answer lacked the new resource's id.
    #[error("{0}")]
    Answer(String),
    /// Waiting was stopped (timeout, Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// A resource did not reach the wanted state in time.
    #[error("{0}")]
    Timeout(String),
    /// A resource ended in a failure state (e.g. status `error`): the cloud's own answer.
    #[error("{0}")]
    Failed(String),
}

/// How a failed cloud call counts for a verdict. Only [`ErrorClass::Refused`] may become
/// FAIL, and only where the probe's standard says the refused action must work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The cloud answered and refused: an HTTP 4xx other than 401, 407, 408, 413, 425 and
    /// 429 and not about quota (`Some(status)`), or a resource that ended in a failure state
    /// (`None`).
    Refused(Option<u16>),
    /// The project's quota is used up (Nova 403, Cinder 413, Neutron 409 `OverQuota`,
    /// Barbican 403, or any answer whose message speaks of a quota).
    Quota,
    /// Nothing can be concluded: HTTP 5xx, 429, 401 (expired token), transport errors, no
    /// answer, bodies that cannot be parsed, missing ids, the ledger, interruptions, waits
    /// that ran out, and every other kind of error (also those added later).
    Inconclusive,
}

impl ErrorClass {
    /// Classifies a client error: only a definite HTTP answer can be a refusal.
    pub fn of_api(err: &OpenStackError) -> ErrorClass {
        match err {
            OpenStackError::Http {
                status, message, ..
            } => {
                let m = message.to_ascii_lowercase();
                if *status == 413 || m.contains("quota") || m.contains("overquota") {
                    ErrorClass::Quota
                } else if (400..500).contains(status)
                    && !matches!(status, 401 | 407 | 408 | 425 | 429)
                {
                    ErrorClass::Refused(Some(*status))
                } else {
                    ErrorClass::Inconclusive
                }
            }
            _ => ErrorClass::Inconclusive,
        }
    }

    /// Classifies an error of creating, waiting for or deleting a resource.
    pub fn of(err: &ResourceError) -> ErrorClass {
        match err {
            ResourceError::Api(e) => ErrorClass::of_api(e),
            ResourceError::Failed(_) => ErrorClass::Refused(None),
            _ => ErrorClass::Inconclusive,
        }
    }

    /// Words for an ABORT reason: why the error proves nothing about the standard.
    pub fn note(self) -> &'static str {
        match self {
            ErrorClass::Refused(_) => "the cloud refused",
            ErrorClass::Quota => "the project's quota is used up: inconclusive",
            ErrorClass::Inconclusive => "transient or unreadable: inconclusive",
        }
    }
}

impl ResourceError {
    /// [`ErrorClass::of`] this error.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::of(self)
    }
}

/// How fast cloud time passes: every wait and time budget of a probe is multiplied by this
/// factor (1.0 against real clouds; a simulator may run faster, e.g. 0.01).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace(pub f64);

impl Default for Pace {
    fn default() -> Self {
        Pace(1.0)
    }
}

impl Pace {
    /// `d` in real time.
    pub fn scale(self, d: Duration) -> Duration {
        let f = if self.0.is_finite() && self.0 > 0.0 {
            self.0
        } else {
            1.0
        };
        Duration::from_secs_f64(d.as_secs_f64() * f)
    }

    /// `secs` cloud seconds in real time.
    pub fn secs(self, secs: f64) -> Duration {
        self.scale(Duration::from_secs_f64(secs.max(0.0)))
    }
}

/// Settings of a run's [`Tracker`].
#[derive(Debug, Clone)]
pub struct TrackerOptions {
    /// Name prefix (default [`DEFAULT_PREFIX`]).
    pub prefix: String,
    /// Pace of waits and budgets.
    pub pace: Pace,
    /// Overall time budgets by probe name (cloud seconds), overriding the probe's default.
    pub probe_timeouts: BTreeMap<String, Duration>,
    /// The run's cleanup grace (real time): a probe's cleanup, its own attempt and the last
    /// sweep's retry together, ends by one grace after the cleanup began (see
    /// [`Tracker::last_sweep_limit`]). `None`: the last sweep gets the grace it is given.
    pub cleanup_grace: Option<Duration>,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        TrackerOptions {
            prefix: DEFAULT_PREFIX.into(),
            pace: Pace::default(),
            probe_timeouts: BTreeMap::new(),
            cleanup_grace: None,
        }
    }
}

/// The run-wide record keeper of created resources.
#[derive(Debug)]
pub struct Tracker {
    run: String,
    options: TrackerOptions,
    ledger: Ledger,
    seq: AtomicU64,
    abort_cleanup: CancellationToken,
    /// The latest moment a probe's cleanup may last until: one grace after the latest
    /// session was opened or began its cleanup.
    cleanup_until: Mutex<Option<tokio::time::Instant>>,
}

/// The least time the last sweep gets for a retry (unless the grace is shorter), even when
/// the probes' cleanups used up their grace.
pub const LAST_SWEEP_MIN: Duration = Duration::from_secs(3);

impl Tracker {
    /// A tracker writing to `ledger`; the run id is fresh.
    pub fn new(ledger: Ledger, options: TrackerOptions) -> Arc<Tracker> {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        Arc::new(Tracker {
            run,
            options,
            ledger,
            seq: AtomicU64::new(0),
            abort_cleanup: CancellationToken::new(),
            cleanup_until: Mutex::new(None),
        })
    }

    /// An in-memory tracker with default options (tests, runs without a ledger).
    pub fn in_memory() -> Arc<Tracker> {
        Tracker::new(Ledger::in_memory(), TrackerOptions::default())
    }

    /// The run id (8 hex digits), part of every name.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// The name prefix.
    pub fn prefix(&self) -> &str {
        &self.options.prefix
    }

    /// The pace of waits.
    pub fn pace(&self) -> Pace {
        self.options.pace
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// A run-specific resource name: `<prefix><what>-<run id>`.
    pub fn name(&self, what: &str) -> String {
        format!("{}{what}-{}", self.options.prefix, self.run)
    }

    /// The overall budget of `probe` in real time: the configured one, else `default`, paced.
    pub fn probe_timeout(&self, probe: &str, default: Duration) -> Duration {
        let d = self
            .options
            .probe_timeouts
            .get(probe)
            .copied()
            .unwrap_or(default);
        self.options.pace.scale(d)
    }

    /// Moves the end of the cleanup window to one grace from now, if that is later (a session
    /// was opened or began its cleanup). Each such moment lies before its work item's timeout
    /// ran out (a probe's cleanup begins at the latest when its item's timeout cancels it), so
    /// the window never ends after the latest item's start + timeout + grace.
    fn open_cleanup_window(&self) {
        let Some(grace) = self.options.cleanup_grace else {
            return;
        };
        let until = tokio::time::Instant::now() + grace;
        if let Ok(mut current) = self.cleanup_until.lock()
            && current.is_none_or(|c| c < until)
        {
            *current = Some(until);
        }
    }

    /// The time limit of the last sweep (after the run): what is left of the cleanup window
    /// (one grace after the latest probe cleanup began), at most `grace` and at least
    /// [`LAST_SWEEP_MIN`] (or `grace` if shorter). So a probe that timed out and spent its
    /// whole grace failing to delete does not give the run a second full grace: a run whose
    /// items run at once ends within its longest item's timeout + grace + a few seconds.
    pub fn last_sweep_limit(&self, grace: Duration) -> Duration {
        let floor = LAST_SWEEP_MIN.min(grace);
        let until = self.cleanup_until.lock().ok().and_then(|u| *u);
        let left = match until {
            Some(u) => u.saturating_duration_since(tokio::time::Instant::now()),
            None => grace,
        };
        left.clamp(floor, grace)
    }

    /// Cancelled to abandon cleanups (second Ctrl-C).
    pub fn abort_cleanup_token(&self) -> CancellationToken {
        self.abort_cleanup.clone()
    }

    /// Every resource of this run, in creation order, with its current state.
    pub fn records(&self) -> Vec<Entry> {
        self.ledger
            .written()
            .into_iter()
            .filter(|e| e.run == self.run)
            .collect()
    }

    /// The records that may still exist.
    pub fn leftovers(&self) -> Vec<Entry> {
        self.records()
            .into_iter()
            .filter(Entry::may_exist)
            .collect()
    }

    /// A session for one probe.
    pub fn session(self: &Arc<Self>, client: Client) -> Session {
        self.open_cleanup_window();
        Session {
            tracker: self.clone(),
            client,
            seqs: Mutex::new(vec![]),
        }
    }

    fn write(&self, e: &Entry) -> Result<(), LedgerError> {
        self.ledger.write(e)
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A resource as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Kind in words.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Cloud id, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether it is gone (deleted, or never created).
    pub deleted: bool,
    /// The last problem deleting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a resource left behind: the command that removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<String>,
}

impl From<&Entry> for ResourceRecord {
    fn from(e: &Entry) -> Self {
        ResourceRecord {
            kind: e.kind.label().into(),
            name: e.name.clone(),
            id: e.id.clone(),
            deleted: !e.may_exist(),
            error: e.error.clone(),
            cleanup: None,
        }
    }
}

/// What one cleanup did with one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposal {
    /// Deleted now.
    Deleted,
    /// It did not exist (any more).
    Gone,
    /// Left alone on purpose (e.g. its name lacks the prefix).
    Skipped(String),
    /// Deleting failed or was abandoned.
    Failed(String),
    /// Dry run: would be deleted.
    WouldDelete,
    /// The delete call was accepted (any 2xx answer) but the cloud did not answer the check
    /// that it is gone; counts as deleted.
    Accepted(String),
}

/// One line of a cleanup report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposed {
    /// Kind.
    pub kind: ResourceKind,
    /// Name (as recorded or as found).
    pub name: String,
    /// Id, if known.
    pub id: Option<String>,
    /// What happened.
    pub what: Disposal,
}

impl std::fmt::Display for Disposed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.id.as_deref().unwrap_or("id unknown");
        let what = match &self.what {
            Disposal::Deleted => "deleted".to_string(),
            Disposal::Gone => "already gone".to_string(),
            Disposal::Skipped(why) => format!("left alone: {why}"),
            Disposal::Failed(why) => format!("NOT deleted: {why}"),
            Disposal::WouldDelete => "would delete".to_string(),
            Disposal::Accepted(why) => format!("deleted (deletion accepted; not confirmed: {why})"),
        };
        write!(f, "{} \"{}\" ({id}): {what}", self.kind.label(), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::janitor::deletion_waits;
    use super::lookup::foreign_project;
    use super::*;
    use serde_json::json;

    fn http(status: u16, message: &str) -> OpenStackError {
        OpenStackError::Http {
            service: "block-storage".into(),
            method: "POST".into(),
            path: "/volumes".into(),
            status,
            message: message.into(),
        }
    }

    /// The last sweep gets what is left of the latest cleanup's grace, capped by the grace
    /// and never less than LAST_SWEEP_MIN (or the grace, if shorter).
    #[tokio::test]
    async fn last_sweep_limit_is_what_is_left_of_the_grace() {
        let secs = |s: u64| Duration::from_secs(s);
        let with_grace = |g: Option<Duration>| {
            Tracker::new(
                Ledger::in_memory(),
                TrackerOptions {
                    cleanup_grace: g,
                    ..Default::default()
                },
            )
        };
        // No probe opened a session: nothing to share, the whole grace.
        let t = with_grace(Some(secs(60)));
        assert_eq!(t.last_sweep_limit(secs(60)), secs(60));
        // A session just began its cleanup: (almost) the whole grace is left.
        t.open_cleanup_window();
        let left = t.last_sweep_limit(secs(60));
        assert!(left > secs(50) && left <= secs(60), "{left:?}");
        // The grace was used up: only the minimum.
        *t.cleanup_until.lock().unwrap() = Some(tokio::time::Instant::now());
        assert_eq!(t.last_sweep_limit(secs(60)), LAST_SWEEP_MIN);
        // A later cleanup's window counts, an earlier one does not shorten it.
        *t.cleanup_until.lock().unwrap() = Some(tokio::time::Instant::now() + secs(20));
        t.open_cleanup_window(); // now + 60 is later
        assert!(t.last_sweep_limit(secs(60)) > secs(50));
        let far = tokio::time::Instant::now() + secs(100);
        *t.cleanup_until.lock().unwrap() = Some(far);
        t.open_cleanup_window(); // now + 60 is earlier
        assert_eq!(*t.cleanup_until.lock().unwrap(), Some(far));
        // A grace shorter than the minimum is the minimum.
        let t = with_grace(Some(secs(1)));
        *t.cleanup_until.lock().unwrap() = Some(tokio::time::Instant::now());
        assert_eq!(t.last_sweep_limit(secs(1)), secs(1));
        // Without a run grace (probe tests): the grace given.
        let t = with_grace(None);
        t.open_cleanup_window();
        assert_eq!(t.last_sweep_limit(secs(7)), secs(7));
    }

    #[test]
    fn only_definite_refusals_can_fail() {
        let class = |e: OpenStackError| ErrorClass::of(&ResourceError::Api(e));
        assert_eq!(
            class(http(403, "Policy doesn't allow")),
            ErrorClass::Refused(Some(403))
        );
        assert_eq!(class(http(404, "")), ErrorClass::Refused(Some(404)));
        assert_eq!(
            class(http(403, "Quota exceeded for instances")),
            ErrorClass::Quota
        );
        assert_eq!(
            class(http(409, "Quota exceeded for resources: ['network'].")),
            ErrorClass::Quota
        );
        assert_eq!(
            class(http(413, "Maximum number of volumes")),
            ErrorClass::Quota
        );
        for status in [401, 408, 429, 500, 502, 503, 504] {
            assert_eq!(
                class(http(status, "")),
                ErrorClass::Inconclusive,
                "{status}"
            );
        }
        let transport = OpenStackError::Transport {
            service: "compute".into(),
            method: "GET".into(),
            path: "/servers".into(),
            message: "connection reset".into(),
            attempts: 4,
        };
        assert_eq!(class(transport), ErrorClass::Inconclusive);
        let decode = OpenStackError::Decode {
            service: "compute".into(),
            method: "GET".into(),
            path: "/servers".into(),
            message: "not JSON".into(),
        };
        assert_eq!(class(decode), ErrorClass::Inconclusive);
        assert_eq!(
            ErrorClass::of(&ResourceError::Failed("status is error".into())),
            ErrorClass::Refused(None)
        );
        for e in [
            ResourceError::Answer("no id".into()),
            ResourceError::Interrupted,
            ResourceError::Timeout("still creating".into()),
        ] {
            assert_eq!(e.class(), ErrorClass::Inconclusive, "{e}");
        }
    }

    #[test]
    fn deletion_waits_grow_to_fifteen_cloud_seconds_in_the_pace_of_the_run() {
        let waits = |pace: f64| {
            let mut retries = deletion_waits(Pace(pace)).start();
            (0..7)
                .map(|_| {
                    retries.begin();
                    retries.next_wait(None).unwrap()
                })
                .collect::<Vec<_>>()
        };
        let secs = |s: &[f64]| {
            s.iter()
                .map(|s| Duration::from_secs_f64(*s))
                .collect::<Vec<_>>()
        };
        assert_eq!(waits(1.0), secs(&[1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]));
        assert_eq!(waits(0.5), secs(&[0.5, 1.0, 2.0, 4.0, 7.5, 7.5, 7.5]));
    }

    #[test]
    fn project_fields_decide_ownership() {
        let mine = Some("p1");
        assert_eq!(foreign_project(&json!({"project_id": "p1"}), mine), None);
        assert_eq!(foreign_project(&json!({"name": "x"}), mine), None);
        assert_eq!(
            foreign_project(&json!({"os-vol-tenant-attr:tenant_id": "p2"}), mine),
            Some("p2".into())
        );
        assert_eq!(foreign_project(&json!({"tenant_id": "p2"}), None), None);
    }
}
