//! The KaaS side of the command line: cluster access for `run` (`--kubeconfig`, `--context`,
//! `KUBECONFIG`, `--offline`), `run kaas --simulate FIXTURE` (a simulated cluster with a
//! temporary kubeconfig and a fake `sonobuoy`), and the `sonobuoy-judge` subcommand.

use super::{ExitStatus, RunArgs, SonobuoyJudgeArgs};
use crate::kube::{Cluster, KaasOptions, KubeError, kubeconfig_path};
use crate::plan::Selection;
use crate::probes::kaas::sonobuoy;
use crate::probes::{Clock, Services};
use crate::sim::cluster::{ClusterFixture, ClusterHandle, install_fake_sonobuoy};
use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The KaaS part of one `run`: the simulated cluster (if any) and its scratch directory.
pub(super) struct KaasRun {
    sim: Option<ClusterHandle>,
    scratch: Option<PathBuf>,
    kubeconfig_flag: Option<PathBuf>,
    context: Option<String>,
    offline: bool,
}

/// Whether a scope is about a cluster (declares the `kubeconfig` variable).
pub(super) fn wants_cluster(scope: &crate::spec::Scope) -> bool {
    scope.variables.iter().any(|v| v == "kubeconfig")
}

/// Sets up cluster access before planning: starts the simulator for `--simulate`, and assigns
/// `kubeconfig` (flag, `KUBECONFIG`, or the simulator's) and `subject_root` when unassigned.
pub(super) async fn prepare(selection: &mut Selection, args: &RunArgs) -> Result<KaasRun> {
    let mut run = KaasRun {
        sim: None,
        scratch: None,
        kubeconfig_flag: args.kubeconfig.clone(),
        context: args.context.clone(),
        offline: args.offline,
    };
    if let Some(fixture) = &args.simulate {
        let loaded = ClusterFixture::load(fixture).map_err(|e| anyhow!("{e}"))?;
        let scratch =
            std::env::temp_dir().join(format!("scs-check-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        let sim = ClusterHandle::start(loaded, None)
            .await
            .context("cannot start the simulated cluster")?;
        let kc = scratch.join("kubeconfig.yaml");
        std::fs::write(&kc, sim.kubeconfig())
            .with_context(|| format!("cannot write {}", kc.display()))?;
        if args.kubeconfig.is_some() || selection.assignments.contains_key("kubeconfig") {
            bail!("--simulate writes its own kubeconfig; drop --kubeconfig / -a kubeconfig=");
        }
        selection
            .assignments
            .insert("kubeconfig".into(), kc.display().to_string());
        selection
            .assignments
            .entry("subject_root".into())
            .or_insert_with(|| scratch.join("subject").display().to_string());
        run.kubeconfig_flag = Some(kc);
        run.context = None;
        run.sim = Some(sim);
        run.scratch = Some(scratch);
        return Ok(run);
    }
    if !selection.assignments.contains_key("kubeconfig") {
        let env = std::env::var("KUBECONFIG").ok();
        if let Ok(path) = kubeconfig_path(args.kubeconfig.as_deref(), None, env.as_deref()) {
            selection
                .assignments
                .insert("kubeconfig".into(), path.display().to_string());
        }
    } else if let Some(flag) = &args.kubeconfig
        && selection.assignments.get("kubeconfig").map(String::as_str)
            != Some(&*flag.to_string_lossy())
    {
        bail!(
            "--kubeconfig {} contradicts -a kubeconfig=...",
            flag.display()
        );
    }
    if !selection.assignments.contains_key("subject_root")
        && let Some(kc) = selection.assignments.get("kubeconfig")
    {
        let dir = Path::new(kc)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        selection
            .assignments
            .insert("subject_root".into(), dir.display().to_string());
    }
    Ok(run)
}

impl KaasRun {
    /// The probes' clock: the fixture's `clock` under `--simulate`, else the system clock.
    pub(super) fn clock(&self) -> Option<Clock> {
        self.sim
            .as_ref()
            .and_then(|s| s.fixture().clock)
            .map(Clock::fixed)
    }

    /// Connects to the cluster named by the plan's `kubeconfig`. A missing file or context stops
    /// the run; an unreachable API server makes the KaaS probes ABORT with the reason.
    pub(super) async fn connect(
        &self,
        variables: &indexmap::IndexMap<String, String>,
        services: &mut Services,
        events: tokio::sync::mpsc::UnboundedSender<crate::execute::Event>,
    ) -> Result<()> {
        let path = kubeconfig_path(
            self.kubeconfig_flag.as_deref(),
            variables.get("kubeconfig").map(String::as_str),
            None,
        )
        .map_err(|e| anyhow!("{e}"))?;
        let mut options = match (&self.sim, &self.scratch) {
            (Some(sim), Some(scratch)) => {
                let mut o = sim.kaas_options(Some(scratch.join("cache")));
                let bin = install_fake_sonobuoy(&scratch.join("sonobuoy"), &sim.fixture().sonobuoy)
                    .context("cannot install the fake sonobuoy")?;
                o.sonobuoy = Some(bin);
                o.sonobuoy_poll = Duration::from_millis(500);
                o
            }
            _ => KaasOptions {
                github_token: std::env::var("GITHUB_TOKEN").ok().filter(|t| !t.is_empty()),
                ..KaasOptions::default()
            },
        };
        options.offline = self.offline;
        // Sonobuoy's status goes into the progress display (bar message, or a plain line). A
        // weak sender, so the display still ends when the run's events end.
        let events = events.downgrade();
        options.progress = Some(Arc::new(move |line: String| {
            if let Some(events) = events.upgrade() {
                let _ = events.send(crate::execute::Event::Status { line });
            }
        }));
        match Cluster::connect(&path, self.context.as_deref(), options).await {
            Ok(cluster) => services.kube = Some(Arc::new(cluster)),
            Err(err @ KubeError::Unreachable { .. }) => {
                crate::terminal::err_line(&format!("warning: {err}"));
                services.kube_error = Some(err.to_string());
            }
            Err(err) => bail!("{err}"),
        }
        Ok(())
    }

    /// Stops the simulator and removes the scratch directory.
    pub(super) async fn finish(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
        if let Some(dir) = self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `scs-check sonobuoy-judge RESULTS`: judges saved sonobuoy results offline.
pub(super) async fn sonobuoy_judge(args: SonobuoyJudgeArgs) -> Result<ExitStatus> {
    let ok = match &args.ok_to_fail {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            sonobuoy::parse_ok_to_fail(&text, &path.display().to_string())
        }
        None => sonobuoy::builtin_ok_to_fail(),
    }
    .map_err(|e| anyhow!("{e}"))?;
    let scratch =
        std::env::temp_dir().join(format!("scs-check-judge-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let judged = sonobuoy::locate_results(&args.results, &scratch)
        .and_then(|file| sonobuoy::judge_file(&file, &ok).map(|j| (file, j)));
    let _ = std::fs::remove_dir_all(&scratch);
    let (file, j) = judged.map_err(|e| anyhow!("{e}"))?;
    println!("results: {}", file.display());
    for test in &j.failed {
        println!("FAILED: {test}");
    }
    for (test, reason) in &j.failed_ok {
        println!("failed_ok: {test} ({reason})");
    }
    for (test, status) in &j.other {
        println!("other: {test} ({status})");
    }
    for e in &j.errors {
        println!("error: {e}");
    }
    println!("passed: {}", j.passed);
    println!("failed: {}", j.failed.len());
    println!("failed_ok: {}", j.failed_ok.len());
    println!("skipped: {}", j.skipped);
    println!("other: {}", j.other.len());
    let verdict = j.verdict();
    println!("verdict: {verdict}");
    Ok(match verdict {
        crate::verdict::Verdict::Pass => ExitStatus::Pass,
        crate::verdict::Verdict::Fail => ExitStatus::Fail,
        _ => ExitStatus::Inconclusive,
    })
}
