//! `scs-check cleanup`: deletes what earlier runs left behind in a cloud: first every resource
//! the ledger says may still exist, then every resource whose name starts with the prefix.
//! Prints one line per resource; `--dry-run` only lists; `--timeout` bounds the whole command.
//! Only the token's own project is touched (an admin token lists other projects' resources
//! too), router interfaces only on our own subnets, and prefixes shorter than 4 characters are
//! refused.

use super::{CloudSource, ExitStatus, cloud_config, start_simulator};
use crate::openstack::ledger::Ledger;
use crate::openstack::resources::{DEFAULT_PREFIX, Disposal, MIN_PREFIX_LEN, SweepOptions, sweep};
use crate::openstack::{Client, ClientOptions};
use anyhow::{Result, anyhow, bail};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Flags of `cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// OpenStack cloud (from clouds.yaml); default `OS_CLOUD`.
    #[arg(long, value_name = "NAME")]
    pub os_cloud: Option<String>,
    /// Clean a simulated cloud started from FIXTURE in this process (for trying it out).
    #[arg(long, value_name = "FIXTURE", conflicts_with = "os_cloud")]
    pub simulate: Option<String>,
    /// Only list what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Only names starting with PREFIX are deleted.
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_PREFIX)]
    pub prefix: String,
    /// Ledger file (default: `$XDG_STATE_HOME/scs-check/ledger-<cloud>.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Overall time limit in seconds (login, listings and deletions); what is not deleted by
    /// then is reported as left, exit 2.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub timeout: u64,
}

/// Refuses a prefix that would match too much of a project: empty, or shorter than
/// [`MIN_PREFIX_LEN`] characters.
pub(crate) fn check_prefix(prefix: &str, flag: &str) -> Result<()> {
    let n = prefix.trim().chars().count();
    if n < MIN_PREFIX_LEN {
        bail!(
            "{flag} \"{prefix}\" is too short: a prefix needs at least {MIN_PREFIX_LEN} characters (the default is \"{DEFAULT_PREFIX}\")"
        );
    }
    Ok(())
}

/// Runs `cleanup`: exit 0 when nothing is left, 2 when something could not be deleted (also
/// when `--timeout` ran out first).
pub async fn run(args: CleanupArgs) -> Result<ExitStatus> {
    check_prefix(&args.prefix, "--prefix")?;
    let limit = Duration::from_secs(args.timeout.max(1));
    let deadline = tokio::time::Instant::now() + limit;
    let simulator = match &args.simulate {
        Some(f) => Some(start_simulator(f, None).await?),
        None => None,
    };
    let (config, cloud) = match &simulator {
        Some(sim) => (
            cloud_config(CloudSource::Simulated(Box::new(
                sim.handle.cloud_config(&sim.cloud),
            )))?,
            sim.cloud.clone(),
        ),
        None => {
            let name = args
                .os_cloud
                .clone()
                .or_else(|| std::env::var("OS_CLOUD").ok().filter(|v| !v.is_empty()));
            let Some(name) = name else {
                bail!("which cloud? use --os-cloud NAME (or set OS_CLOUD)");
            };
            (cloud_config(CloudSource::Named(Some(name.clone())))?, name)
        }
    };
    let ledger_path = args
        .ledger
        .clone()
        .unwrap_or_else(|| Ledger::default_path(&cloud));
    let entries = Ledger::read(&ledger_path).map_err(|e| anyhow!("{e}"))?;
    let entries: Vec<_> = entries.into_iter().filter(|e| e.may_exist()).collect();
    let ledger = if args.dry_run || !ledger_path.exists() {
        None
    } else {
        Some(Ledger::open(&ledger_path).map_err(|e| anyhow!("{e}"))?)
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = tokio::time::timeout_at(
        deadline,
        Client::connect_with(config, ClientOptions::default()),
    )
    .await
    .map_err(|_| {
        anyhow!(
            "cannot connect to the cloud {cloud}: no answer within the time limit of {} s (--timeout)",
            limit.as_secs()
        )
    })?
    .map_err(|e| anyhow!("cannot connect to the cloud: {e}"))?;
    let pace = simulator
        .as_ref()
        .map(|s| crate::openstack::resources::Pace(s.handle.fixture().timing.time_scale))
        .unwrap_or_default();
    let cancel = CancellationToken::new();
    crate::execute::cancel_on_ctrl_c(cancel.clone());
    let options = SweepOptions {
        prefix: args.prefix.clone(),
        dry_run: args.dry_run,
        pace,
        // Whatever the login left of the overall limit (at least a second to say so).
        time_limit: Some(
            deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .max(Duration::from_secs(1)),
        ),
    };
    eprintln!(
        "cleaning up cloud {cloud}: {} ledger entr{} ({}), then names starting with \"{}\"{}",
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" },
        ledger_path.display(),
        args.prefix,
        if args.dry_run { " (dry run)" } else { "" }
    );
    let done = sweep(&client, ledger.as_ref(), entries, &options, &cancel).await;
    let mut failed = 0;
    for d in &done {
        println!("{d}");
        if matches!(d.what, Disposal::Failed(_)) {
            failed += 1;
        }
    }
    if done.is_empty() {
        println!("nothing to clean up");
    }
    if let Some(sim) = simulator {
        sim.handle.shutdown().await;
    }
    Ok(if failed > 0 {
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "the time limit of {} s ran out (--timeout); run it again to retry",
                limit.as_secs()
            );
        }
        eprintln!(
            "{} could not be deleted",
            super::console::count(failed, "resource")
        );
        ExitStatus::Inconclusive
    } else {
        ExitStatus::Pass
    })
}
