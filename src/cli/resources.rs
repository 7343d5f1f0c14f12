//! The `run` flags for probes that create cloud resources (prefix, ledger, time budgets,
//! cleanup grace), building the run's [`Tracker`], and the end-of-run bookkeeping: the
//! report's resource list, written first; then a last cleanup of anything a probe could not
//! delete, under one time limit (what is left of the probes' cleanup grace); the reports
//! again if that changed anything; and a console note naming what is left with the command
//! that removes it.

use super::RunningSimulator;
use crate::openstack::Snapshot;
use crate::openstack::ledger::Ledger;
use crate::openstack::resources::{
    DEFAULT_PREFIX, Pace, ResourceRecord, SweepOptions, Tracker, TrackerOptions, sweep,
};
use crate::report::{Report, Written};
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
    /// Seconds deleting a probe's resources may take from when its cleanup begins (at the
    /// latest at its timeout or Ctrl-C); the run's last try after the reports shares it and
    /// gets what is left, at least 3 s.
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
    super::cleanup::check_prefix(&args.resource_prefix, "--resource-prefix")?;
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
            cleanup_grace: Some(Duration::from_secs(args.cleanup_grace.max(1))),
        },
    ))
}

/// The command that removes this run's leftovers: `scs-check cleanup --os-cloud NAME`, with
/// `--ledger FILE` when the run wrote a ledger file.
pub(crate) fn cleanup_command(tracker: &Tracker, cloud: &str) -> String {
    let ledger = tracker
        .ledger()
        .path()
        .map(|p| format!(" --ledger {}", p.display()))
        .unwrap_or_default();
    format!("scs-check cleanup --os-cloud {cloud}{ledger}")
}

/// Puts every resource of the run into the report; those that may still exist carry the
/// cleanup command.
fn record(tracker: &Tracker, cloud: &str, report: &mut Report) -> Vec<ResourceRecord> {
    let command = cleanup_command(tracker, cloud);
    let list: Vec<ResourceRecord> = tracker
        .records()
        .iter()
        .map(|e| {
            let mut r = ResourceRecord::from(e);
            if !r.deleted {
                r.cleanup = Some(command.clone());
            }
            r
        })
        .collect();
    crate::report::record_resources(report, &list);
    list
}

/// After the run, in this order: records every resource in the report and writes the reports
/// (`write`); then deletes this run's leftovers under ONE time limit, what is left of the
/// probes' cleanup grace ([`Tracker::last_sweep_limit`]: at most `grace`, at least a few
/// seconds; unless the cleanup was abandoned); then, if that changed anything, records and writes the reports
/// again; finally says on stderr what is left, with the exact cleanup command. Returns what
/// the last write did (the caller announces it). Without an OpenStack cloud it only writes.
pub(crate) async fn finish<W>(
    tracker: &Arc<Tracker>,
    snapshot: Option<&Arc<Snapshot>>,
    cloud: &str,
    simulated: bool,
    grace: Duration,
    report: &mut Report,
    mut write: W,
) -> Written
where
    W: FnMut(&Report) -> Written,
{
    let Some(snapshot) = snapshot else {
        return write(report);
    };
    let before = record(tracker, cloud, report);
    let mut written = write(report);
    let cancel = tracker.abort_cleanup_token();
    let leftovers = tracker.leftovers();
    if !leftovers.is_empty() && !cancel.is_cancelled() {
        // What is left of the probes' cleanup grace, not a second full grace.
        let limit = tracker.last_sweep_limit(grace);
        crate::terminal::err_line(&format!(
            "deleting {} resource(s) the probes left behind (at most {:.0} s)",
            leftovers.len(),
            limit.as_secs_f64().ceil()
        ));
        let options = SweepOptions {
            prefix: String::new(), // this run's entries only
            dry_run: false,
            pace: tracker.pace(),
            time_limit: Some(limit),
        };
        sweep(
            snapshot.client(),
            Some(tracker.ledger()),
            leftovers,
            &options,
            &cancel,
        )
        .await;
        let after = record(tracker, cloud, report);
        if after != before {
            written = write(report);
        }
    }
    let left: Vec<_> = tracker
        .records()
        .into_iter()
        .filter(|e| e.may_exist())
        .collect();
    if !left.is_empty() {
        crate::terminal::err_line(&format!(
            "resources left behind in the cloud ({}):",
            left.len()
        ));
        for e in &left {
            match &e.error {
                Some(why) => crate::terminal::err_line(&format!("  {}: {why}", e.describe())),
                None => crate::terminal::err_line(&format!("  {}", e.describe())),
            }
        }
        crate::terminal::err_line(&format!(
            "remove them with: {}",
            cleanup_command(tracker, cloud)
        ));
        if simulated {
            crate::terminal::err_line("(this cloud was simulated: it is gone with the run)");
        }
    }
    written
}
