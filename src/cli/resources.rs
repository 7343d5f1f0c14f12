//! The `run` flags for probes that create cloud resources (prefix, ledger, time budgets,
//! cleanup grace), building the run's [`Tracker`], and the end-of-run bookkeeping: a last
//! cleanup of anything a probe could not delete, the report's resource list, and a console
//! note naming what is left.

use super::RunningSimulator;
use crate::openstack::Snapshot;
use crate::openstack::ledger::Ledger;
use crate::openstack::resources::{
    DEFAULT_PREFIX, Pace, ResourceRecord, SweepOptions, Tracker, TrackerOptions, sweep,
};
use crate::report::Report;
use anyhow::{Result, anyhow, bail};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Flags of `run` about created resources.
#[derive(Debug, Args, Clone)]
pub struct ResourceArgs {
    /// Name prefix of every resource the run creates (cleanup touches only such names).
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_PREFIX)]
    pub resource_prefix: String,
    /// Ledger file recording created resources (default:
    /// `$XDG_STATE_HOME/scs-check/ledger-<cloud>.jsonl`; in memory for `--simulate`).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Overall time budget of one resource-creating probe, e.g.
    /// `scs-0101-entropy=1800` (may repeat; defaults: scs-0101-entropy 1200,
    /// scs-0117-volume-backup 900, others 300).
    #[arg(long, value_name = "PROBE=SECONDS")]
    pub probe_timeout: Vec<String>,
    /// Seconds a probe may spend deleting what it created after a timeout or Ctrl-C.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub cleanup_grace: u64,
}

/// Parses `PROBE=SECONDS` items.
pub(crate) fn parse_probe_timeouts(
    items: &[String],
) -> Result<std::collections::BTreeMap<String, Duration>> {
    let mut out = std::collections::BTreeMap::new();
    for item in items {
        let Some((probe, secs)) = item.split_once('=') else {
            bail!("--probe-timeout {item}: expected PROBE=SECONDS");
        };
        let secs: u64 = secs
            .trim()
            .parse()
            .map_err(|_| anyhow!("--probe-timeout {item}: '{secs}' is not a number of seconds"))?;
        out.insert(probe.trim().to_string(), Duration::from_secs(secs.max(1)));
    }
    Ok(out)
}

/// The run's tracker: ledger file (or memory for a simulated cloud or a run without an
/// OpenStack cloud, unless `--ledger` is given), prefix, budgets and the simulator's pace.
pub(crate) fn tracker(
    args: &ResourceArgs,
    cloud: &str,
    simulator: Option<&RunningSimulator>,
    has_cloud: bool,
) -> Result<Arc<Tracker>> {
    if args.resource_prefix.trim().is_empty() {
        bail!("--resource-prefix must not be empty (cleanup relies on it)");
    }
    let ledger = match (&args.ledger, simulator) {
        (Some(path), _) => Ledger::open(path).map_err(|e| anyhow!("{e}"))?,
        (None, Some(_)) => Ledger::in_memory(),
        (None, None) if !has_cloud => Ledger::in_memory(),
        (None, None) => Ledger::open(Ledger::default_path(cloud)).map_err(|e| anyhow!("{e}"))?,
    };
    let pace = simulator
        .map(|s| Pace(s.handle.fixture().timing.time_scale))
        .unwrap_or_default();
    Ok(Tracker::new(
        ledger,
        TrackerOptions {
            prefix: args.resource_prefix.clone(),
            pace,
            probe_timeouts: parse_probe_timeouts(&args.probe_timeout)?,
        },
    ))
}

/// After the run: deletes this run's leftovers (unless the cleanup was abandoned), records
/// every resource in the report and says on stderr what is left.
pub(crate) async fn finish(
    tracker: &Arc<Tracker>,
    snapshot: &Arc<Snapshot>,
    cloud: &str,
    simulated: bool,
    report: &mut Report,
) {
    let cancel = tracker.abort_cleanup_token();
    let leftovers = tracker.leftovers();
    if !leftovers.is_empty() && !cancel.is_cancelled() {
        let options = SweepOptions {
            prefix: String::new(), // this run's entries only
            dry_run: false,
            pace: tracker.pace(),
        };
        sweep(
            snapshot.client(),
            Some(tracker.ledger()),
            leftovers,
            &options,
            &cancel,
        )
        .await;
    }
    let records = tracker.records();
    let list: Vec<ResourceRecord> = records.iter().map(ResourceRecord::from).collect();
    crate::report::record_resources(report, &list);
    let left: Vec<_> = records.iter().filter(|e| e.may_exist()).collect();
    if !left.is_empty() {
        eprintln!("resources left behind in the cloud ({}):", left.len());
        for e in &left {
            eprintln!("  {}", e.describe());
        }
        if simulated {
            eprintln!("(the simulated cloud is gone with the run)");
        } else {
            let ledger = tracker
                .ledger()
                .path()
                .map(|p| format!(" --ledger {}", p.display()))
                .unwrap_or_default();
            eprintln!("remove them with: scs-check cleanup --os-cloud {cloud}{ledger}");
        }
    }
}
