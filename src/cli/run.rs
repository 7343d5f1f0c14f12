//! `scs-check run`: its flags, and the wiring of one run: flag checks, the cloud it tests
//! (`--os-cloud`, `-a os_cloud=`, `OS_CLOUD`, the simulator), the login, execution with the
//! progress display, the reports, the last cleanup and the exit status.

use super::selection::{ScopeCache, load_selection_with, today};
use super::simulate::{RunningSimulator, check_simulate_arg, start_simulator};
use super::{ExitStatus, SelectionArgs, cert, console, did_you_mean, kaas, one_line, resources};
use crate::execute::{self, Event, RunOptions};
use crate::plan::{self, Plan, Selection, WorkKind};
use crate::probes::{Clock, Registry, Services};
use crate::report::{self, RunMeta};
use crate::spec::Scope;
use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The report files beside the YAML one (`run` and `rerun` both take them).
#[derive(Debug, Args)]
pub struct ReportFormatArgs {
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML file (one suite per version and target).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML page (no external assets, no script).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

impl ReportFormatArgs {
    /// Every report file asked for, the YAML one (`-o`) first, with the flag that names each.
    pub(super) fn paths<'a>(&'a self, yaml: Option<&'a Path>) -> Vec<(&'static str, &'a Path)> {
        [
            ("-o", yaml),
            ("--json", self.json.as_deref()),
            ("--junit", self.junit.as_deref()),
            ("--markdown", self.markdown.as_deref()),
            ("--html", self.html.as_deref()),
        ]
        .into_iter()
        .filter_map(|(flag, path)| path.map(|p| (flag, p)))
        .collect()
    }

    /// Writes `report` to the YAML file and every format asked for.
    pub(super) fn write(&self, report: &report::Report, yaml: Option<&Path>) -> report::Written {
        report::write_all(
            report,
            yaml,
            self.json.as_deref(),
            self.junit.as_deref(),
            self.markdown.as_deref(),
            self.html.as_deref(),
        )
    }
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    /// What to run.
    pub selection: SelectionArgs,
    /// Subject name for the console and the report (default: the cloud name or kube context).
    #[arg(short = 's', long = "subject", value_name = "NAME")]
    pub subject: Option<String>,
    /// Write the YAML report (the format the SCS compliance monitor ingests).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The other report formats (JSON, JUnit, Markdown, HTML).
    #[command(flatten)]
    pub formats: ReportFormatArgs,
    /// Exit non-zero only when the run could not complete, not for FAIL verdicts.
    #[arg(short = 'C', long = "critical-only")]
    pub critical_only: bool,
    /// Waiver file: a FAIL it waives (for this subject, until its date) shows as WAIVED and does
    /// not fail the exit status; the YAML/JSON report keeps the real verdict.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// More output: script output live, passed testcases in the summary (twice: debug).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No console summary.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Same as `-vv` (accepted for compatibility with the reference checker).
    #[arg(long)]
    pub debug: bool,
    /// How many resource-creating probes (VM boots, backups, e2e suites) and external scripts
    /// run at once [default: 4]. Read-only probes do not count: up to 16 of them always run
    /// alongside, so they never wait behind a VM boot.
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Time limit per probe or script, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u64,
    /// OpenStack cloud (from clouds.yaml) to test; same as `-a os_cloud=NAME` or `OS_CLOUD`.
    #[arg(long, value_name = "NAME")]
    pub os_cloud: Option<String>,
    /// Start a simulated cloud from FIXTURE (or `compliant`) and test it instead of a real one.
    /// For a KaaS scope, FIXTURE is a cluster fixture (`fixtures/clusters/*.yaml`).
    #[arg(long, value_name = "FIXTURE")]
    pub simulate: Option<String>,
    #[command(flatten)]
    /// How probes that create cloud resources behave.
    pub resources: resources::ResourceArgs,
    /// The `tempest` binary for scs-0128 (default: `tempest` in PATH).
    #[arg(long, value_name = "PATH")]
    pub tempest: Option<PathBuf>,
    /// Kubernetes cluster to test (KaaS); same as `-a kubeconfig=PATH` or `KUBECONFIG`.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Download nothing: use cached release/CVE data or the built-in snapshot (KaaS).
    #[arg(long)]
    pub offline: bool,
    /// Sign the report and upload it to the compliance monitor (the report file is kept).
    #[arg(long)]
    pub upload: bool,
    // The doc comment is also the --help text, so it stays plain text for rustdoc too.
    #[allow(rustdoc::bare_urls)]
    /// Compliance monitor for --upload [default: https://compliance.sovereignit.cloud/].
    #[arg(long, value_name = "URL")]
    pub monitor: Option<String>,
    /// Token file for --upload [default: .secret/tokenfile].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Sign the report with this key (REPORT.sig) [--upload default: .secret/keyfile].
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    /// Allow a plain http:// monitor for --upload (the token then travels unencrypted).
    #[arg(long)]
    pub allow_http: bool,
}

/// Every `--probe-timeout PROBE=SECONDS` must name a probe; a typo gets the closest name.
fn check_probe_timeout_names(registry: &Registry, items: &[String]) -> Result<()> {
    let names = registry.names();
    for item in items {
        let probe = item
            .split_once('=')
            .map_or(item.as_str(), |(p, _)| p)
            .trim();
        if names.contains(&probe) {
            continue;
        }
        let hint = did_you_mean(probe, &names)
            .map(|m| format!("did you mean '{m}'? "))
            .unwrap_or_default();
        bail!(
            "--probe-timeout {item}: no probe is called '{probe}' ({hint}probes: {})",
            names.join(", ")
        );
    }
    Ok(())
}

/// What a run takes from its surroundings: the `run` command takes them from the process
/// ([`RunContext::command`]); `batch` runs each subject inside its own process with a context
/// of its own ([`run_with`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct RunContext {
    /// Stops the run as Ctrl-C would (unfinished testcases ABORT, cleanup, report written).
    /// `None`: the run installs its own Ctrl-C/SIGTERM handler.
    pub cancel: Option<CancellationToken>,
    /// Put in front of every line the run prints (`[subject] `); such a run prints plain
    /// progress lines and no colours, as with `CI=true`.
    pub output_prefix: Option<String>,
    /// The arguments the report records as the run's command line (after the program name).
    pub argv: Vec<String>,
    /// Scopes shared with other runs of the same batch (`None`: the run loads its own).
    pub scopes: Option<Arc<ScopeCache>>,
}

impl RunContext {
    /// The context of the `run` command: its own Ctrl-C handler, no prefix, the process's argv.
    pub(crate) fn command() -> Self {
        RunContext {
            cancel: None,
            output_prefix: None,
            argv: std::env::args().skip(1).collect(),
            scopes: None,
        }
    }
}

/// How a run ended: its exit status and, once it got as far as building one, its report.
#[derive(Debug)]
pub(crate) struct RunEnd {
    /// The exit status of the run.
    pub status: ExitStatus,
    /// The report as written to the files the run was asked for.
    pub report: Option<report::Report>,
}

/// `run`: checks the flags, resolves the plan, connects, executes, writes the reports, cleans
/// up and maps the result to the exit status.
pub(super) async fn run(args: RunArgs) -> Result<ExitStatus> {
    run_with(args, RunContext::command())
        .await
        .map(|end| end.status)
}

/// One run in the given context (see [`RunContext`]); what `run` does, for `batch` too.
pub(crate) async fn run_with(args: RunArgs, context: RunContext) -> Result<RunEnd> {
    match context.output_prefix.clone() {
        Some(prefix) => crate::terminal::with_output_prefix(prefix, run_in(args, context)).await,
        None => run_in(args, context).await,
    }
}

async fn run_in(args: RunArgs, context: RunContext) -> Result<RunEnd> {
    // A report that cannot be written is found out now, not after a long run.
    report::check_output_paths(&args.formats.paths(args.output.as_deref()))
        .map_err(|err| anyhow!("{err}"))?;
    let waivers = match &args.waivers {
        Some(path) => report::load_waivers(path).map_err(|err| anyhow!("{err}"))?,
        None => vec![],
    };
    if args.simulate.is_some() {
        for (given, flag) in [
            (args.upload, "--upload"),
            (args.key.is_some(), "--key"),
            (args.os_cloud.is_some(), "--os-cloud"),
            (
                args.selection
                    .assign
                    .iter()
                    .any(|a| a.starts_with("os_cloud=")),
                "-a os_cloud=",
            ),
        ] {
            if given {
                bail!(
                    "--simulate cannot be combined with {flag}: a simulated run tests no real \
                     cloud and is no certificate"
                );
            }
        }
    }
    cert::check_upload_target(&args)?;
    let registry = Registry::builtin();
    check_probe_timeout_names(&registry, &args.resources.probe_timeout)?;
    let (scope, mut selection) =
        load_selection_with(&args.selection, context.scopes.as_deref()).await?;
    if let Some(bin) = &args.tempest {
        // The scs-0128 probe reads the variable `tempest`.
        selection
            .assignments
            .insert("tempest".into(), bin.display().to_string());
    }
    let kaas = match kaas::wants_cluster(&scope) {
        true => {
            if let Some(fixture) = &args.simulate {
                check_simulate_arg(fixture, crate::sim::FixtureKind::Cluster)?;
            }
            Some(kaas::prepare(&mut selection, &args).await?)
        }
        false => None,
    };
    let simulator = match &args.simulate {
        Some(fixture) if kaas.is_none() => Some(start_simulator(fixture, None).await?),
        _ => None,
    };
    let cloud = choose_cloud(&scope, &mut selection, &args, simulator.as_ref())?;
    let plan = plan::resolve(scope, selection, &registry, today())?;
    let subject = match &args.subject {
        Some(subject) => subject.clone(),
        None => default_subject(&plan)?,
    };
    let verbose = if args.debug { 2 } else { args.verbose };
    let needs_cloud = plan
        .items
        .iter()
        .any(|item| matches!(item.kind, WorkKind::Native { .. }));
    // A broken configuration stops the run even when no probe would talk to the cloud.
    let cloud_config = cloud.map(cloud_config).transpose()?;
    let tls_off = cloud_config.as_ref().is_some_and(|c| !c.verify);
    if tls_off {
        crate::terminal::err_line(
            "warning: TLS certificate verification is off for this cloud (`insecure: true` or \
             `verify: false` in clouds.yaml); the report records it",
        );
    }
    let mut services = match cloud_config {
        Some(config) if needs_cloud => {
            connect_openstack(config, Duration::from_secs(args.timeout.max(1))).await?
        }
        _ => Services::default(),
    };
    let cloud_name = plan.variables.get("os_cloud").cloned().unwrap_or_default();
    let tracker = resources::tracker(
        &args.resources,
        &cloud_name,
        simulator.as_ref(),
        services.openstack.is_some(),
    )?;
    services.tracker = Some(tracker.clone());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    {
        // Progress lines of external tools (Tempest); a weak sender, so the display still ends.
        let events = tx.downgrade();
        services.progress = Some(crate::probes::iaas::scs_0128_tempest::ProgressSink(
            std::sync::Arc::new(move |line: String| {
                if let Some(events) = events.upgrade() {
                    let _ = events.send(Event::Status { line });
                }
            }),
        ));
    }
    if let Some(kaas) = kaas.as_ref().filter(|_| needs_cloud) {
        kaas.connect(&plan.variables, &mut services, tx.clone())
            .await?;
    }

    let cancel = match &context.cancel {
        Some(cancel) => cancel.clone(),
        None => {
            let cancel = CancellationToken::new();
            let live = tracker.clone();
            execute::cancel_on_ctrl_c_with_cleanup(
                cancel.clone(),
                tracker.abort_cleanup_token(),
                move || live.leftovers().len(),
            );
            cancel
        }
    };
    let options = RunOptions {
        jobs: args.jobs.unwrap_or(execute::DEFAULT_JOBS).max(1),
        read_only_jobs: execute::READ_ONLY_JOBS,
        timeout: Duration::from_secs(args.timeout.max(1)),
        clock: kaas
            .as_ref()
            .and_then(|k| k.clock())
            .unwrap_or_else(Clock::system),
        services: services.clone(),
        cancel: cancel.clone(),
        cleanup_grace: Duration::from_secs(args.resources.cleanup_grace.max(1)),
    };
    let total: usize = plan.items.iter().map(|item| item.testcases.len()).sum();
    let progress = execute::Progress::new(total, &subject, verbose > 0, args.quiet);
    // Task-locals do not pass to spawned tasks: the display gets the run's output prefix again.
    let display = tokio::spawn(match crate::terminal::output_prefix() {
        Some(prefix) => futures::future::Either::Left(crate::terminal::with_output_prefix(
            prefix,
            progress.consume(rx),
        )),
        None => futures::future::Either::Right(progress.consume(rx)),
    });
    let checked_at = Utc::now();
    let results = execute::run(&plan, &registry, options, tx).await;
    let _ = display.await;
    let interrupted = cancel.is_cancelled();

    let meta = RunMeta {
        subject,
        argv: context.argv,
        checked_at,
        run_uuid: uuid::Uuid::new_v4().to_string(),
    };
    let mut report = report::build(&plan, &results, &meta);
    if let Some(block) = report.scs_check.as_mut() {
        block.simulated = args.simulate.is_some();
        block.tls_verification_disabled = tls_off;
    }
    if args.waivers.is_some() {
        for warning in report::apply_waivers(&mut report, &waivers, today()) {
            crate::terminal::err_line(&format!("warning: {warning}"));
        }
    }
    if let Some(snapshot) = &services.openstack {
        let counts = snapshot.request_counts();
        if verbose > 0 {
            let list: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            crate::terminal::err_line(&format!("API requests: {}", list.join(", ")));
        }
        report::record_requests(&mut report, &counts);
    }
    // Reports first, then the last cleanup under one time limit, then the reports again if
    // the resources' states changed (see `resources::finish`).
    let written = resources::finish(
        &tracker,
        services.openstack.as_ref(),
        &cloud_name,
        simulator.is_some(),
        Duration::from_secs(args.resources.cleanup_grace.max(1)),
        &mut report,
        |r| write_reports(r, &args),
    )
    .await;
    if let Some(sim) = simulator {
        sim.handle.shutdown().await;
    }
    if let Some(kaas) = kaas {
        kaas.finish().await;
    }
    if !args.quiet {
        console::print_summary(&report::console_summary_of_run(
            &report,
            verbose > 0,
            &plan::not_run_targets(&plan),
        ));
    }
    written.announce();
    let end = |status| {
        Ok(RunEnd {
            status,
            report: Some(report.clone()),
        })
    };
    if !written.all_ok() {
        // Every other report was written; the run could not complete properly.
        return end(ExitStatus::Error);
    }
    if interrupted {
        crate::terminal::err_line("interrupted: unfinished testcases are reported as ABORT");
    }
    if let Err(err) = cert::after_run(&args, &report).await {
        crate::terminal::err_line(&format!("error: {}", one_line(&err)));
        return end(ExitStatus::Error);
    }
    let summaries = report::summarize(&report, Some(&plan.scope), None);
    // A waived FAIL counts as passed for the exit status (the CI gate), nowhere else.
    let summaries = report::waived_summaries(&report, &summaries);
    let status = ExitStatus::from_run(
        report::main_outcome(&summaries),
        interrupted,
        args.critical_only,
    );
    Ok(RunEnd {
        status,
        report: Some(report),
    })
}

/// Writes every report a run asked for (called before and, if the resources' states changed,
/// after the last cleanup).
/// The files are synced to disk (about 1 ms each); on a multi-threaded runtime the worker
/// hands its other tasks on meanwhile, so the subjects of a batch running in this process do
/// not wait for another subject's disk.
fn write_reports(report: &report::Report, args: &RunArgs) -> report::Written {
    let write = || args.formats.write(report, args.output.as_deref());
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(write),
        _ => write(),
    }
}

/// Where the OpenStack configuration of a run comes from.
pub(crate) enum CloudSource {
    /// A cloud of clouds.yaml (or `envvars`), by name.
    Named(Option<String>),
    /// The in-process simulator.
    Simulated(Box<crate::openstack::config::CloudConfig>),
}

/// Settles which OpenStack cloud a run uses and makes sure the scope's `os_cloud` variable is
/// assigned. Scopes without `os_cloud` (KaaS) need no cloud.
fn choose_cloud(
    scope: &Scope,
    selection: &mut Selection,
    args: &RunArgs,
    simulator: Option<&RunningSimulator>,
) -> Result<Option<CloudSource>> {
    let wants_cloud = scope.variables.iter().any(|v| v == "os_cloud");
    if let Some(sim) = simulator {
        if wants_cloud || args.os_cloud.is_none() {
            selection
                .assignments
                .entry("os_cloud".into())
                .or_insert_with(|| sim.cloud.clone());
        }
        return Ok(Some(CloudSource::Simulated(Box::new(
            sim.handle.cloud_config(&sim.cloud),
        ))));
    }
    if let Some(name) = &args.os_cloud {
        if selection
            .assignments
            .get("os_cloud")
            .is_some_and(|v| v != name)
        {
            bail!("--os-cloud {name} contradicts -a os_cloud=...");
        }
        selection
            .assignments
            .insert("os_cloud".into(), name.clone());
        return Ok(Some(CloudSource::Named(Some(name.clone()))));
    }
    if !wants_cloud {
        return Ok(None);
    }
    if let Some(name) = selection.assignments.get("os_cloud") {
        return Ok(Some(CloudSource::Named(Some(name.clone()))));
    }
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    if let Some(name) = env("OS_CLOUD") {
        selection
            .assignments
            .insert("os_cloud".into(), name.clone());
        return Ok(Some(CloudSource::Named(Some(name))));
    }
    if env("OS_AUTH_URL").is_some() {
        selection
            .assignments
            .insert("os_cloud".into(), "envvars".into());
        return Ok(Some(CloudSource::Named(None)));
    }
    bail!("{}", crate::openstack::config::no_cloud_help())
}

/// Reads the cloud's configuration; a broken or missing one stops the run (exit 3).
pub(crate) fn cloud_config(source: CloudSource) -> Result<crate::openstack::config::CloudConfig> {
    match source {
        CloudSource::Simulated(config) => Ok(*config),
        CloudSource::Named(name) => {
            crate::openstack::config::load_cloud(name.as_deref()).map_err(|err| anyhow!("{err}"))
        }
    }
}

/// Connects to the cloud, the login taking at most `limit`. A cloud that refuses the login
/// (wrong password: Keystone's 4xx) or cannot be reached at all (refused connection, unknown
/// host, TLS setup) stops the run before any probe: one line naming the host and the cause
/// (exit 3). A transient failure of the login (5xx, 429, timeout, a broken answer) makes every
/// OpenStack testcase ABORT with the reason, and the run goes on so that a report is written.
pub(super) async fn connect_openstack(
    config: crate::openstack::config::CloudConfig,
    limit: Duration,
) -> Result<Services> {
    use crate::openstack::{Budget, Client, ClientOptions, OpenStackError, Snapshot};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let host = crate::openstack::config::url_host(&config.auth.auth_url);
    let options = ClientOptions::from_env().map_err(|err| anyhow!("{err}"))?;
    let budget = Budget::new(
        tokio::time::Instant::now().checked_add(limit),
        CancellationToken::new(),
    );
    match budget.scope(Client::connect_with(config, options)).await {
        Ok(client) => Ok(Services {
            openstack: Some(Snapshot::new(client)),
            ..Services::default()
        }),
        Err(err) => {
            let refused = match &err {
                OpenStackError::Http { status, .. } => *status < 500 && *status != 429,
                OpenStackError::Transport { message, .. } => message.starts_with("cannot connect"),
                OpenStackError::Config(_)
                | OpenStackError::Setup(_)
                | OpenStackError::Downgrade { .. } => true,
                _ => false,
            };
            if refused {
                bail!("cannot authenticate at {host}: {err}");
            }
            crate::terminal::err_line(&format!("warning: cannot authenticate at {host}: {err}"));
            Ok(Services {
                openstack_error: Some(format!("cannot authenticate at {host}: {err}")),
                ..Services::default()
            })
        }
    }
}

/// The subject when `-s` is not given: the cloud name (IaaS) or the kube context (KaaS).
fn default_subject(plan: &Plan) -> Result<String> {
    let vars = &plan.variables;
    if let Some(cloud) = vars.get("os_cloud").filter(|v| !v.is_empty()) {
        return Ok(cloud.clone());
    }
    if let Some(cloud) = std::env::var("OS_CLOUD").ok().filter(|c| !c.is_empty()) {
        return Ok(cloud);
    }
    if let Some(context) = vars
        .get("kubeconfig")
        .and_then(|path| kube_current_context(path))
    {
        return Ok(context);
    }
    bail!("no subject: give one with -s NAME")
}

/// Reads `current-context` from a kubeconfig file, if it has one.
fn kube_current_context(path: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct KubeConfig {
        #[serde(rename = "current-context")]
        current_context: Option<String>,
    }
    let text = std::fs::read_to_string(path).ok()?;
    let config: KubeConfig = serde_saphyr::from_str(&text).ok()?;
    config.current_context.filter(|c| !c.is_empty())
}
