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

use super::ledger::{Entry, EntryState, Ledger, LedgerError, ResourceKind};
use super::{Client, OpenStackError};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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

/// The resources one probe created, and how to delete them again.
pub struct Session {
    tracker: Arc<Tracker>,
    client: Client,
    seqs: Mutex<Vec<u64>>,
}

impl Session {
    /// The tracker.
    pub fn tracker(&self) -> &Arc<Tracker> {
        &self.tracker
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Records the intent to create `kind` named `name` (fsynced), runs `create`, and records
    /// the id it returns. A refused create is recorded as not created; an unanswered one stays
    /// an intent (cleanup looks for it by name).
    pub async fn create<F>(
        &self,
        kind: ResourceKind,
        name: &str,
        parent: Option<&str>,
        create: F,
    ) -> Result<String, ResourceError>
    where
        F: std::future::Future<Output = Result<String, ResourceError>>,
    {
        let seq = self.tracker.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let mut entry = Entry {
            run: self.tracker.run.clone(),
            seq,
            kind,
            name: name.to_string(),
            prefix: self.tracker.options.prefix.clone(),
            id: None,
            parent: parent.map(str::to_string),
            state: EntryState::Intent,
            at: now(),
            error: None,
        };
        self.tracker.write(&entry)?;
        if let Ok(mut s) = self.seqs.lock() {
            s.push(seq);
        }
        match create.await {
            Ok(id) => {
                entry.id = Some(id.clone());
                entry.state = EntryState::Created;
                entry.at = now();
                self.tracker.write(&entry)?;
                Ok(id)
            }
            Err(err) => {
                if let ResourceError::Api(OpenStackError::Http { status, .. }) = &err
                    && *status < 500
                {
                    entry.state = EntryState::NotCreated;
                    entry.at = now();
                    entry.error = Some(err.to_string());
                    self.tracker.write(&entry)?;
                }
                Err(err)
            }
        }
    }

    /// POSTs `body` to `path` and returns `answer[key].id`.
    pub async fn create_via_post(
        &self,
        kind: ResourceKind,
        name: &str,
        service: &str,
        path: &str,
        key: &str,
        body: Value,
    ) -> Result<String, ResourceError> {
        let client = self.client.clone();
        self.create(kind, name, None, async move {
            let answer = client
                .request_json(service, Method::POST, path, Some(&body))
                .await?;
            answer[key]["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ResourceError::Answer(format!("{service} POST {path}: no {key}.id")))
        })
        .await
    }

    /// Adds a router interface on `subnet` (recorded under the router's name).
    pub async fn add_router_interface(
        &self,
        router_name: &str,
        router_id: &str,
        subnet_id: &str,
    ) -> Result<(), ResourceError> {
        let client = self.client.clone();
        let path = format!("/routers/{router_id}/add_router_interface");
        let subnet = subnet_id.to_string();
        self.create(
            ResourceKind::RouterInterface,
            router_name,
            Some(router_id),
            async move {
                client
                    .request_json(
                        "network",
                        Method::PUT,
                        &path,
                        Some(&json!({"subnet_id": subnet})),
                    )
                    .await?;
                Ok(subnet)
            },
        )
        .await
        .map(|_| ())
    }

    /// Deletes everything this session created, in dependency order; stops early when the
    /// tracker's cleanup is abandoned. Opens the cleanup window (one grace from now) that the
    /// run's last sweep shares. Returns one line per resource.
    pub async fn cleanup(&self) -> Vec<Disposed> {
        self.tracker.open_cleanup_window();
        let mine: Vec<u64> = self.seqs.lock().map(|s| s.clone()).unwrap_or_default();
        let entries: Vec<Entry> = self
            .tracker
            .records()
            .into_iter()
            .filter(|e| mine.contains(&e.seq))
            .collect();
        let janitor = Janitor::new(
            &self.client,
            self.tracker.pace(),
            &self.tracker.abort_cleanup,
            None,
            false,
            &entries,
        );
        janitor.dispose_entries(&self.tracker.ledger, entries).await
    }
}

/// What every deletion of one cleanup shares: the client, the pace of waits, the abandon
/// token (second Ctrl-C), the one deadline of the whole cleanup, the token's project (nothing
/// of another project is touched) and the subnets known to be ours (only their router
/// interfaces are removed).
struct Janitor<'a> {
    client: &'a Client,
    pace: Pace,
    cancel: &'a CancellationToken,
    deadline: Option<(tokio::time::Instant, Duration)>,
    dry_run: bool,
    project: Option<String>,
    own_subnets: HashSet<String>,
}

impl<'a> Janitor<'a> {
    fn new(
        client: &'a Client,
        pace: Pace,
        cancel: &'a CancellationToken,
        limit: Option<Duration>,
        dry_run: bool,
        entries: &[Entry],
    ) -> Janitor<'a> {
        let own_subnets = entries
            .iter()
            .filter(|e| matches!(e.kind, ResourceKind::Subnet | ResourceKind::RouterInterface))
            .filter_map(|e| e.id.clone())
            .collect();
        Janitor {
            client,
            pace,
            cancel,
            deadline: limit.map(|d| (tokio::time::Instant::now() + d, d)),
            dry_run,
            project: client.token().project_id.clone(),
            own_subnets,
        }
    }

    fn out_of_time(&self) -> Option<Disposal> {
        if self.cancel.is_cancelled() {
            return Some(Disposal::Failed("cleanup abandoned".into()));
        }
        match self.deadline {
            Some((at, limit)) if tokio::time::Instant::now() >= at => {
                Some(Disposal::Failed(format!(
                    "the cleanup's time limit of {:.1} s ran out",
                    limit.as_secs_f64()
                )))
            }
            _ => None,
        }
    }

    /// Runs one deletion under the abandon token and the cleanup's deadline (an unanswered
    /// request is dropped when either fires).
    async fn bounded(&self, work: impl std::future::Future<Output = Disposal>) -> Disposal {
        if let Some(stop) = self.out_of_time() {
            return stop;
        }
        let timed = async {
            match self.deadline {
                None => work.await,
                Some((at, limit)) => match tokio::time::timeout_at(at, work).await {
                    Ok(d) => d,
                    Err(_) => Disposal::Failed(format!(
                        "the cleanup's time limit of {:.1} s ran out",
                        limit.as_secs_f64()
                    )),
                },
            }
        };
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Disposal::Failed("cleanup abandoned".into()),
            d = timed => d,
        }
    }

    /// Deletes ledger entries that may still exist, newest first within each kind, kinds in
    /// deletion order; updates the ledger.
    async fn dispose_entries(&self, ledger: &Ledger, entries: Vec<Entry>) -> Vec<Disposed> {
        let mut out = vec![];
        for kind in ResourceKind::ALL {
            for mut e in entries
                .iter()
                .filter(|e| e.kind == kind && e.may_exist())
                .rev()
                .cloned()
            {
                let what = self.bounded(self.dispose_entry(&mut e)).await;
                match &what {
                    Disposal::Deleted | Disposal::Gone | Disposal::Accepted(_) => {
                        e.state = EntryState::Deleted;
                        e.error = None;
                    }
                    Disposal::Failed(why) => {
                        // Keep the cloud's last answer when this cleanup did not get to ask.
                        e.error = Some(match &e.error {
                            Some(prev) if stopped_early(why) && !stopped_early(prev) => {
                                format!("{prev}; {why}")
                            }
                            _ => why.clone(),
                        });
                    }
                    Disposal::Skipped(why) => {
                        // Not ours (any more): the ledger stops tracking it.
                        e.state = EntryState::NotCreated;
                        e.error = Some(why.clone());
                    }
                    Disposal::WouldDelete => {}
                }
                if !self.dry_run {
                    e.at = now();
                    let _ = ledger.write(&e);
                }
                out.push(Disposed {
                    kind,
                    name: e.name.clone(),
                    id: e.id.clone(),
                    what,
                });
            }
        }
        out
    }

    async fn dispose_entry(&self, e: &mut Entry) -> Disposal {
        if !e.name.starts_with(&e.prefix) || e.prefix.is_empty() {
            return Disposal::Skipped(format!("name lacks the prefix \"{}\"", e.prefix));
        }
        // An intent without id: find it by its exact name.
        if e.id.is_none() {
            if e.kind == ResourceKind::RouterInterface {
                return Disposal::Gone; // the router's deletion path removes its interfaces
            }
            match find_by_name(self.client, e.kind, &e.name).await {
                Ok(ids) if ids.is_empty() => return Disposal::Gone,
                Ok(ids) => e.id = ids.into_iter().next(),
                Err(err) => return Disposal::Failed(format!("cannot look it up by name: {err}")),
            }
        }
        let Some(id) = e.id.clone() else {
            return Disposal::Gone;
        };
        let target = Target {
            kind: e.kind,
            id,
            parent: e.parent.clone(),
        };
        self.delete_checked(&target, &e.prefix, true).await
    }

    /// Reads the resource back, checks its name and project, deletes it and waits until it is
    /// gone. When the read-back fails (the cloud does not answer it) and the resource comes
    /// from the ledger (`recorded`: we created it), it is deleted by id all the same, so that
    /// what depends on it can go too.
    async fn delete_checked(&self, t: &Target, prefix: &str, recorded: bool) -> Disposal {
        // Read back: a router interface is checked through its router.
        let (check_kind, check_id) = match (t.kind, &t.parent) {
            (ResourceKind::RouterInterface, Some(router)) => {
                (ResourceKind::Router, router.as_str())
            }
            _ => (t.kind, t.id.as_str()),
        };
        match show(self.client, check_kind, check_id).await {
            Ok(None) => return Disposal::Gone,
            Ok(Some(current)) => {
                let name = name_of(&current).unwrap_or("");
                if !name.starts_with(prefix) || prefix.is_empty() {
                    return Disposal::Skipped(format!(
                        "its name \"{name}\" lacks the prefix \"{prefix}\""
                    ));
                }
                if let Some(other) = foreign_project(&current, self.project.as_deref()) {
                    return Disposal::Skipped(format!("it belongs to another project ({other})"));
                }
            }
            Err(e) if !recorded => return Disposal::Failed(format!("cannot read it back: {e}")),
            Err(_) => {} // the ledger records that we created it
        }
        if self.dry_run {
            return Disposal::WouldDelete;
        }
        match self.delete_and_wait(t, prefix).await {
            Ok(d) => d,
            Err(ResourceError::Interrupted) => Disposal::Failed("cleanup abandoned".into()),
            Err(e) => Disposal::Failed(e.to_string()),
        }
    }

    async fn backoff(&self, attempt: u32) -> Result<(), ResourceError> {
        backoff_sleep(attempt, self.pace, self.cancel).await
    }

    async fn delete_and_wait(&self, t: &Target, prefix: &str) -> Result<Disposal, ResourceError> {
        let client = self.client;
        let service = service_of(t.kind);
        let (_, _, single) = collection(t.kind);
        let started = tokio::time::Instant::now();
        let budget = self.pace.secs(DELETE_BUDGET_SECS);
        let mut attempt = 0u32;
        // Volumes and backups cannot be deleted while they are still being made. When their
        // status cannot be read, the delete call is tried all the same.
        if matches!(t.kind, ResourceKind::Volume | ResourceKind::Backup) {
            loop {
                match show(client, t.kind, &t.id).await {
                    Ok(None) => return Ok(Disposal::Gone),
                    Ok(Some(v)) if !transitional(v["status"].as_str().unwrap_or("")) => break,
                    Ok(Some(_)) => {}
                    Err(_) => break,
                }
                if started.elapsed() > budget {
                    return Err(ResourceError::Timeout("still busy, cannot delete".into()));
                }
                self.backoff(attempt).await?;
                attempt += 1;
            }
        }
        if t.kind == ResourceKind::Router {
            let foreign = self.remove_own_interfaces(&t.id, prefix).await?;
            if !foreign.is_empty() {
                return Ok(Disposal::Failed(format!(
                    "it has interfaces on subnets that are not ours ({}); they are left attached",
                    foreign.join(", ")
                )));
            }
        }
        // The delete call, retried while the cloud refuses it for a reason that passes (409
        // while dependants are still going away, 400 while a volume is busy). Any 2xx answer,
        // whatever its body, counts. Persistent server errors (the client has retried them
        // already), 401/403 and unanswered calls end it: the leftover is reported.
        loop {
            let sent = match (t.kind, &t.parent) {
                (ResourceKind::RouterInterface, Some(router)) => {
                    client
                        .request(
                            "network",
                            Method::PUT,
                            &format!("/routers/{router}/remove_router_interface"),
                            Some(&json!({"subnet_id": t.id})),
                        )
                        .await
                }
                _ => {
                    client
                        .request(service, Method::DELETE, &format!("{single}/{}", t.id), None)
                        .await
                }
            };
            match sent {
                Ok(_) => break,
                Err(e) if e.status() == Some(404) => return Ok(Disposal::Gone),
                Err(e) if matches!(e.status(), Some(400 | 409)) && started.elapsed() <= budget => {}
                Err(e) => return Err(e.into()),
            }
            self.backoff(attempt).await?;
            attempt += 1;
        }
        if t.kind == ResourceKind::RouterInterface {
            return Ok(Disposal::Deleted);
        }
        // Wait until it is gone (so that what it depends on can go next). A cloud that does
        // not answer the status call any more has still accepted the deletion.
        loop {
            match show(client, t.kind, &t.id).await {
                Ok(None) => return Ok(Disposal::Deleted),
                Ok(Some(_)) => {}
                Err(e) => return Ok(Disposal::Accepted(e.to_string())),
            }
            if started.elapsed() > budget {
                return Err(ResourceError::Timeout(format!(
                    "still present {:.0} s after the delete call",
                    started.elapsed().as_secs_f64()
                )));
            }
            self.backoff(attempt).await?;
            attempt += 1;
        }
    }

    /// Removes the interfaces of a router (found through its ports) that are on our subnets:
    /// subnets in the ledger, or whose name has the prefix and that belong to the token's
    /// project. Returns the subnets of interfaces left alone.
    async fn remove_own_interfaces(
        &self,
        router: &str,
        prefix: &str,
    ) -> Result<Vec<String>, OpenStackError> {
        let client = self.client;
        let ports = client
            .list(
                "network",
                &format!("/ports?device_id={router}&device_owner=network:router_interface"),
                "ports",
            )
            .await?;
        let mut foreign = vec![];
        for p in ports {
            for ip in p["fixed_ips"].as_array().into_iter().flatten() {
                let Some(subnet) = ip["subnet_id"].as_str() else {
                    continue;
                };
                if !self.is_own_subnet(subnet, prefix).await? {
                    foreign.push(subnet.to_string());
                    continue;
                }
                match client
                    .request(
                        "network",
                        Method::PUT,
                        &format!("/routers/{router}/remove_router_interface"),
                        Some(&json!({"subnet_id": subnet})),
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(foreign)
    }

    async fn is_own_subnet(&self, subnet: &str, prefix: &str) -> Result<bool, OpenStackError> {
        if self.own_subnets.contains(subnet) {
            return Ok(true);
        }
        Ok(
            match show(self.client, ResourceKind::Subnet, subnet).await? {
                None => false,
                Some(v) => {
                    !prefix.is_empty()
                        && name_of(&v).is_some_and(|n| n.starts_with(prefix))
                        && foreign_project(&v, self.project.as_deref()).is_none()
                }
            },
        )
    }
}

/// Whether a cleanup's failure only says that it stopped (time limit, second Ctrl-C).
fn stopped_early(why: &str) -> bool {
    why.starts_with("the cleanup's time limit") || why == "cleanup abandoned"
}

/// One resource to delete.
#[derive(Debug, Clone)]
struct Target {
    kind: ResourceKind,
    id: String,
    parent: Option<String>,
}

fn service_of(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Server => "compute",
        ResourceKind::Secret => "key-manager",
        ResourceKind::Backup | ResourceKind::Volume => "block-storage",
        ResourceKind::Group | ResourceKind::Project | ResourceKind::User | ResourceKind::Role => {
            "identity"
        }
        _ => "network",
    }
}

fn collection(kind: ResourceKind) -> (&'static str, &'static str, &'static str) {
    // (list path, list key, single path prefix)
    match kind {
        ResourceKind::Server => ("/servers/detail", "servers", "/servers"),
        ResourceKind::Secret => ("/secrets", "secrets", "/secrets"),
        ResourceKind::SecurityGroup => ("/security-groups", "security_groups", "/security-groups"),
        ResourceKind::Backup => ("/backups/detail", "backups", "/backups"),
        ResourceKind::Volume => ("/volumes/detail", "volumes", "/volumes"),
        ResourceKind::Router | ResourceKind::RouterInterface => ("/routers", "routers", "/routers"),
        ResourceKind::Subnet => ("/subnets", "subnets", "/subnets"),
        ResourceKind::Network => ("/networks", "networks", "/networks"),
        ResourceKind::Group => ("/groups", "groups", "/groups"),
        ResourceKind::Project => ("/projects", "projects", "/projects"),
        ResourceKind::User => ("/users", "users", "/users"),
        ResourceKind::Role => ("/roles", "roles", "/roles"),
    }
}

fn id_of(kind: ResourceKind, v: &Value) -> Option<String> {
    if kind == ResourceKind::Secret {
        let href = v.get("secret_ref").and_then(Value::as_str)?;
        return href.rsplit('/').next().map(str::to_string);
    }
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

fn name_of(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// The fields in which the APIs name a resource's project (Neutron, Nova, Cinder volumes as
/// an admin sees them, Cinder backups).
const PROJECT_FIELDS: [&str; 4] = [
    "project_id",
    "tenant_id",
    "os-vol-tenant-attr:tenant_id",
    "os-backup-project-attr:project_id",
];

/// The other project `v` belongs to, if it names one that is not `project`.
fn foreign_project(v: &Value, project: Option<&str>) -> Option<String> {
    let project = project.filter(|p| !p.is_empty())?;
    PROJECT_FIELDS
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_str))
        .find(|p| !p.is_empty() && *p != project)
        .map(str::to_string)
}

/// Lists the resources of `kind` in the token's project: Neutron is asked for that project
/// only (an admin token lists every project's otherwise), and whatever names another
/// project is dropped.
async fn list_kind(client: &Client, kind: ResourceKind) -> Result<Vec<Value>, OpenStackError> {
    let (path, key, _) = collection(kind);
    if kind == ResourceKind::Secret && !client.catalog().has_type("key-manager") {
        return Ok(vec![]);
    }
    let project = client.token().project_id.clone();
    let path = match (&project, service_of(kind)) {
        (Some(p), "network") if !p.is_empty() => format!("{path}?project_id={p}"),
        _ => path.to_string(),
    };
    let all = client.list(service_of(kind), &path, key).await?;
    Ok(all
        .into_iter()
        .filter(|v| foreign_project(v, project.as_deref()).is_none())
        .collect())
}

async fn find_by_name(
    client: &Client,
    kind: ResourceKind,
    name: &str,
) -> Result<Vec<String>, OpenStackError> {
    Ok(list_kind(client, kind)
        .await?
        .iter()
        .filter(|v| name_of(v) == Some(name))
        .filter_map(|v| id_of(kind, v))
        .collect())
}

/// GET one resource: `Ok(None)` when it does not exist.
async fn show(
    client: &Client,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<Value>, OpenStackError> {
    let (_, _, single) = collection(kind);
    match client
        .get_json(service_of(kind), &format!("{single}/{id}"))
        .await
    {
        Ok(v) => {
            let key = match kind {
                ResourceKind::Secret => return Ok(Some(v)),
                ResourceKind::Server => "server",
                ResourceKind::SecurityGroup => "security_group",
                ResourceKind::Backup => "backup",
                ResourceKind::Volume => "volume",
                ResourceKind::Router | ResourceKind::RouterInterface => "router",
                ResourceKind::Subnet => "subnet",
                ResourceKind::Network => "network",
                ResourceKind::Group => "group",
                ResourceKind::Project => "project",
                ResourceKind::User => "user",
                ResourceKind::Role => "role",
            };
            Ok(Some(v.get(key).cloned().unwrap_or(v)))
        }
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Bounded backoff: 1, 2, 4, 8, 15, 15, ... cloud seconds.
async fn backoff_sleep(
    attempt: u32,
    pace: Pace,
    cancel: &CancellationToken,
) -> Result<(), ResourceError> {
    let secs = (1u64 << attempt.min(4)).min(15) as f64;
    tokio::select! {
        _ = cancel.cancelled() => Err(ResourceError::Interrupted),
        _ = tokio::time::sleep(pace.secs(secs)) => Ok(()),
    }
}

/// The cloud seconds one deletion may take in total before it counts as failed (a cleanup's
/// overall time limit may cut it shorter).
const DELETE_BUDGET_SECS: f64 = 300.0;

fn transitional(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "creating" | "restoring-backup" | "backing-up" | "downloading" | "restoring" | "attaching"
    )
}

/// The shortest prefix a prefix sweep accepts: shorter ones match too much of a project.
pub const MIN_PREFIX_LEN: usize = 4;

/// Options of [`sweep`].
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Only names starting with this are touched (empty: the ledger entries only; otherwise
    /// at least [`MIN_PREFIX_LEN`] characters, or the prefix search is refused).
    pub prefix: String,
    /// Report what would be deleted, delete nothing.
    pub dry_run: bool,
    /// Pace of waits.
    pub pace: Pace,
    /// One time limit (real time) for the whole sweep; what is not done by then is reported
    /// as left behind.
    pub time_limit: Option<Duration>,
}

/// Removes leftovers: first everything the ledger (if any) says may exist, then everything in
/// the token's project whose name starts with the prefix. Returns one line per resource
/// touched. Resources of other projects, names without the prefix and router interfaces on
/// subnets that are not ours are left alone.
pub async fn sweep(
    client: &Client,
    ledger: Option<&Ledger>,
    ledger_entries: Vec<Entry>,
    options: &SweepOptions,
    cancel: &CancellationToken,
) -> Vec<Disposed> {
    let fallback = Ledger::in_memory();
    let ledger = ledger.unwrap_or(&fallback);
    let janitor = Janitor::new(
        client,
        options.pace,
        cancel,
        options.time_limit,
        options.dry_run,
        &ledger_entries,
    );
    let mut out = janitor.dispose_entries(ledger, ledger_entries).await;
    if options.prefix.chars().count() < MIN_PREFIX_LEN {
        return out;
    }
    for kind in ResourceKind::ALL {
        if kind == ResourceKind::RouterInterface || kind.is_identity() {
            continue; // removed with their routers; identity objects: by ledger only
        }
        let found = match janitor.out_of_time() {
            Some(Disposal::Failed(why)) => Err(why),
            _ => {
                let listed = async { list_kind(client, kind).await.map_err(|e| e.to_string()) };
                match janitor.deadline {
                    None => listed.await,
                    Some((at, _)) => tokio::time::timeout_at(at, listed)
                        .await
                        .unwrap_or_else(|_| Err("the cleanup's time limit ran out".into())),
                }
            }
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                out.push(Disposed {
                    kind,
                    name: format!("{}*", options.prefix),
                    id: None,
                    what: Disposal::Failed(format!("cannot list: {e}")),
                });
                continue;
            }
        };
        for v in found {
            let Some(name) = name_of(&v).filter(|n| n.starts_with(&options.prefix)) else {
                continue;
            };
            let Some(id) = id_of(kind, &v) else { continue };
            if out
                .iter()
                .any(|d| d.kind == kind && d.id.as_deref() == Some(id.as_str()))
            {
                continue;
            }
            let target = Target {
                kind,
                id: id.clone(),
                parent: None,
            };
            let what = janitor
                .bounded(janitor.delete_checked(&target, &options.prefix, false))
                .await;
            out.push(Disposed {
                kind,
                name: name.to_string(),
                id: Some(id),
                what,
            });
        }
    }
    out
}

/// Lists, per kind, the names of every resource in the token's project that starts with
/// `prefix` (for tests and dry runs).
pub async fn prefixed_names(
    client: &Client,
    prefix: &str,
) -> Result<Vec<(ResourceKind, String)>, OpenStackError> {
    let mut out = vec![];
    for kind in ResourceKind::ALL {
        if kind == ResourceKind::RouterInterface || kind.is_identity() {
            continue;
        }
        for v in list_kind(client, kind).await? {
            if let Some(n) = name_of(&v).filter(|n| n.starts_with(prefix)) {
                out.push((kind, n.to_string()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
