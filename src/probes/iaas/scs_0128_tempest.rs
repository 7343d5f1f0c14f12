//! `scs-0128-tempest-e2e` (scs-0128-v1, module `opc-v2022.11`): runs Tempest with the SCS test
//! list and judges the results natively (see [`super::tempest_judge`]).
//!
//! The probe creates a fresh Tempest workspace (`tempest init`), writes `etc/tempest.conf` and a
//! pre-provisioned `etc/accounts.yaml` from two clouds.yaml entries (primary and alt, both
//! non-admin), writes the list without comments and runs
//! `tempest run --config-file … --load-list …` in its own process group, forwarding Tempest's
//! per-test lines as progress. On the probe's timeout or Ctrl-C the whole group is killed. The
//! newest stestr run (`.stestr/<n>`) is judged; the workspace stays for
//! `scs-check tempest-judge`, the accounts file (passwords) is removed.
//!
//! Variables (all optional except an alt account): `tempest_primary` (default: `os_cloud`),
//! `tempest_alt`, `tempest` (the binary; `--tempest PATH`), `tempest_test_list`,
//! `tempest_areas` (e.g. `identity,image,network`), `tempest_conf_extra` (an INI file appended
//! to the generated configuration), `tempest_concurrency` (default 1), `tempest_workdir`
//! (parent of the workspace, default the temporary directory), `tempest_clouds_file` (the
//! clouds.yaml to read the two entries from instead of the usual locations). An account that
//! names the run's own cloud (`os_cloud`, also `--simulate`'s) uses the run's in-memory
//! configuration; the others come from clouds.yaml.
//!
//! Before the run, `tempest run --list-tests` lists the installed tests and each listed test is
//! resolved to this Tempest's id by its idempotent id ([`tempest_judge::resolve_ids`]); the
//! results are read from the newest stestr run, subunit v1 (stestr 3.x) or v2.
//!
//! `config` writes Tempest's configuration, `run` runs it; this file turns the scope's
//! variables into the job and the probe's outcome.

mod config;
mod run;

use super::tempest_judge;
use crate::openstack::config::{CloudConfig, ConfigEnv, load_cloud_with};
use crate::probes::iaas::common::FnProbe;
use crate::probes::{Outcome, ProbeContext, Registry};
pub use config::{accounts_yaml, tempest_conf};
use futures::FutureExt;
pub use run::{TempestJob, find_tempest, orchestrate, progress_line};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The testcase id.
pub const ID: &str = "scs-0128-tempest-e2e";

/// The probe.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new("scs-0128-tempest", vec![ID.to_string()], |ctx, ids| {
        run_probe(ctx, ids).boxed()
    })
}

/// Registers the probe.
pub fn register(registry: &mut Registry) {
    registry.register_creating(probe());
}

/// Where progress lines go (the run's progress display).
#[derive(Clone)]
pub struct ProgressSink(pub Arc<dyn Fn(String) + Send + Sync>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

fn load_account(
    ctx: &ProbeContext,
    var: &str,
    fallback: Option<&str>,
) -> Result<CloudConfig, String> {
    let name = ctx
        .variables
        .get(var)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .or(fallback)
        .ok_or_else(|| {
            format!(
                "Tempest needs two non-admin accounts: name a clouds.yaml entry with -a {var}=CLOUD"
            )
        })?;
    // The run's own cloud (also a simulated one, which has no clouds.yaml on disk): its
    // in-memory configuration.
    if let Some(run_cloud) = ctx.services.openstack.as_ref().map(|s| s.client().config())
        && run_cloud.name == name
    {
        return Ok(run_cloud.clone());
    }
    let mut env = ConfigEnv::from_process();
    env.vars.remove("OS_CLOUD");
    if let Some(f) = ctx.variables.get("tempest_clouds_file") {
        env.vars.insert("OS_CLIENT_CONFIG_FILE".into(), f.clone());
    }
    load_cloud_with(Some(name), &env).map_err(|e| format!("{var}={name}: {e}"))
}

/// Builds the job from the run's variables. `Err` = ABORT reason.
pub fn job_from_variables(
    ctx: &ProbeContext,
    services: Option<Vec<String>>,
) -> Result<TempestJob, String> {
    let var = |k: &str| {
        ctx.variables
            .get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    };
    let bin = find_tempest(var("tempest").map(Path::new))?;
    let list = tempest_judge::load_list(
        var("tempest_test_list").map(Path::new),
        var("tempest_areas"),
    )?;
    let primary = load_account(ctx, "tempest_primary", var("os_cloud"))?;
    let alt = load_account(ctx, "tempest_alt", None)?;
    if primary.auth.username.is_some()
        && primary.auth.username == alt.auth.username
        && primary.auth.project_name == alt.auth.project_name
    {
        return Err(
            "tempest_primary and tempest_alt are the same account; Tempest needs two".into(),
        );
    }
    let extra_conf = match var("tempest_conf_extra") {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("cannot read tempest_conf_extra {p}: {e}"))?,
        None => String::new(),
    };
    let concurrency = match var("tempest_concurrency") {
        Some(c) => c
            .parse()
            .map_err(|_| format!("tempest_concurrency `{c}` is not a number"))?,
        None => 1,
    };
    let parent = var("tempest_workdir")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let workspace = parent.join(format!(
        "scs-check-tempest-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    Ok(TempestJob {
        bin,
        workspace,
        list,
        primary,
        alt,
        services,
        extra_conf,
        concurrency,
    })
}

async fn run_probe(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let abort = |reason: String| -> Vec<Outcome> {
        ids.iter()
            .map(|i| Outcome::abort(i, reason.clone()))
            .collect()
    };
    // The catalog, when the run has a cloud: it sets `[service_available]`.
    let services = match ctx.services.openstack() {
        Ok(s) => s
            .catalog()
            .await
            .ok()
            .map(|c| c.types().into_iter().map(str::to_string).collect()),
        Err(_) => None,
    };
    let job = match job_from_variables(ctx, services) {
        Ok(j) => j,
        Err(e) => return abort(e),
    };
    let progress = ctx.services.progress.clone();
    // Stop Tempest before the executor's own deadline for the probe, so the process group is
    // killed and the workspace judged/reported by us.
    let budget = ctx
        .timeout
        .saturating_sub(Duration::from_secs(10))
        .max(ctx.timeout / 2);
    match orchestrate(&job, budget, &ctx.cancel, progress.as_ref()).await {
        Ok(j) => ids
            .iter()
            .map(|i| {
                let mut o = tempest_judge::outcome_of(i, &j);
                o.reason = format!("{} (workspace {})", o.reason, job.workspace.display());
                o
            })
            .collect(),
        Err(e) => abort(format!("{e} (workspace {})", job.workspace.display())),
    }
}

#[cfg(test)]
#[path = "scs_0128_tests.rs"]
mod tests;
