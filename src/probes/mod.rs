//! Native probes: the [`Probe`] trait, the context a probe gets, and the registry that maps
//! testcase ids to probes. Probes never print; they return [`Outcome`]s with evidence.

pub mod external_tool;
mod fn_probe;
pub mod iaas;
pub mod kaas;

pub use fn_probe::{FnProbe, ProbeFn, abort_all};

pub use crate::outcome::{Finding, Outcome};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The clock probes read; injectable so tests can fix "now".
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }
    /// A clock that always says `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock(Arc::new(move || at))
    }
    /// The current time according to this clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// Handles to the systems under test, shared by every probe of a run. The client layers add
/// their fields here (OpenStack cloud snapshot, Kubernetes cluster).
#[derive(Clone, Debug, Default)]
pub struct Services {
    /// The OpenStack cloud under test: the shared per-run snapshot (which holds the client).
    pub openstack: Option<Arc<crate::openstack::Snapshot>>,
    /// Why there is no OpenStack snapshot, when connecting failed.
    pub openstack_error: Option<String>,
    /// Record keeper of resources probes create (prefix, ledger, pace, time budgets). Probes
    /// fall back to an in-memory one when it is unset.
    pub tracker: Option<Arc<crate::openstack::resources::Tracker>>,
    /// The Kubernetes cluster under test with the KaaS tool settings.
    pub kube: Option<Arc<crate::kube::Cluster>>,
    /// Why there is no cluster, when connecting failed.
    pub kube_error: Option<String>,
    /// Where probes that run an external tool send progress lines (Tempest).
    pub progress: Option<crate::probes::iaas::scs_0128_tempest::ProgressSink>,
}

impl Services {
    /// The run's resource tracker, or a fresh in-memory one.
    pub fn tracker(&self) -> Arc<crate::openstack::resources::Tracker> {
        self.tracker
            .clone()
            .unwrap_or_else(crate::openstack::resources::Tracker::in_memory)
    }

    /// The OpenStack snapshot, or the one-line reason why probes cannot reach the cloud.
    pub fn openstack(&self) -> Result<&Arc<crate::openstack::Snapshot>, String> {
        match (&self.openstack, &self.openstack_error) {
            (Some(snapshot), _) => Ok(snapshot),
            (None, Some(err)) => Err(err.clone()),
            (None, None) => Err("no OpenStack cloud configured for this run \
                                 (use --os-cloud NAME, -a os_cloud=NAME or --simulate FIXTURE)"
                .to_string()),
        }
    }
}

impl Services {
    /// The cluster, or the one-line reason why probes cannot reach it.
    pub fn kube(&self) -> Result<&Arc<crate::kube::Cluster>, String> {
        match (&self.kube, &self.kube_error) {
            (Some(cluster), _) => Ok(cluster),
            (None, Some(err)) => Err(err.clone()),
            (None, None) => Err("no Kubernetes cluster configured for this run \
                                 (use --kubeconfig PATH, -a kubeconfig=PATH or --simulate FIXTURE)"
                .to_string()),
        }
    }
}

/// Everything a probe may use.
#[derive(Clone, Debug)]
pub struct ProbeContext {
    /// Cloud and cluster handles.
    pub services: Services,
    /// Complete variable assignment of the run.
    pub variables: BTreeMap<String, String>,
    /// Include parameters of the version(s) this run serves.
    pub parameters: BTreeMap<String, String>,
    /// The clock.
    pub clock: Clock,
    /// Cancelled on Ctrl-C or timeout; probes stop work and clean up.
    pub cancel: CancellationToken,
    /// Per-testcase time budget.
    pub timeout: Duration,
}

/// A native probe answering one or more testcase ids.
pub trait Probe: Send + Sync {
    /// The probe's name, e.g. `scs-0100-flavor-naming`.
    fn name(&self) -> &str;
    /// The testcase ids this probe answers.
    fn testcases(&self) -> Vec<String>;
    /// Runs the probe for the requested testcases (a subset of [`Probe::testcases`]).
    /// Must return one outcome per requested id; a missing one is recorded as ABORT.
    fn run<'a>(
        &'a self,
        ctx: &'a ProbeContext,
        testcases: &'a [String],
    ) -> BoxFuture<'a, Vec<Outcome>>;
}

/// Probes by testcase id.
#[derive(Clone, Default)]
pub struct Registry {
    probes: HashMap<String, Arc<dyn Probe>>,
    by_testcase: HashMap<String, String>,
    /// Names of the probes that create resources (servers, volumes, pods, ...): the executor
    /// runs them under the `-j` limit, apart from the quick read-only ones.
    creating: std::collections::HashSet<String>,
}

impl Registry {
    /// An empty registry (tests add their own probes).
    pub fn empty() -> Self {
        Registry::default()
    }

    /// Every probe built into scs-check.
    pub fn builtin() -> Self {
        let mut registry = Registry::empty();
        iaas::register(&mut registry);
        kaas::register(&mut registry);
        registry
    }

    /// Adds a probe for all the testcase ids it answers; a later registration of an id wins.
    pub fn register(&mut self, probe: Arc<dyn Probe>) {
        let name = probe.name().to_string();
        for id in probe.testcases() {
            self.by_testcase.insert(id, name.clone());
        }
        self.creating.remove(&name);
        self.probes.insert(name, probe);
    }

    /// Adds a probe that creates resources in the system under test (see
    /// [`Registry::creates_resources`]).
    pub fn register_creating(&mut self, probe: Arc<dyn Probe>) {
        let name = probe.name().to_string();
        self.register(probe);
        self.creating.insert(name);
    }

    /// Whether the probe named `name` creates resources (and may take minutes: VM boots,
    /// backups, e2e suites) rather than only reading.
    pub fn creates_resources(&self, name: &str) -> bool {
        self.creating.contains(name)
    }

    /// The name of the probe answering a testcase id.
    pub fn probe_for(&self, testcase: &str) -> Option<&str> {
        self.by_testcase.get(testcase).map(String::as_str)
    }

    /// A probe by name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Probe>> {
        self.probes.get(name).cloned()
    }

    /// The names of every registered probe, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.probes.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.probes.keys().collect();
        names.sort();
        f.debug_struct("Registry").field("probes", &names).finish()
    }
}
