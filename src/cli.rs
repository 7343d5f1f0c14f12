//! The command line: parses flags, wires spec → plan → execute → report, and maps the result to
//! an exit code (in one place, [`ExitStatus`]).
//!
//! Flags of the reference checker (`-s -a -V -d -t -S -o -C -v -q`) are accepted with the same
//! meaning, so existing CI jobs switch by changing the program name.

use crate::execute::{self, Event, RunOptions};
use crate::plan::{self, Plan, Selection, WorkKind};
use crate::probes::{Clock, Registry, Services};
use crate::report::{self, Report, RunMeta};
use crate::spec::{self, Scope};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indexmap::IndexMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod cert;
mod cleanup;
mod completions;
pub(crate) mod console;
mod deploy;
mod flavor_name;
mod kaas;
mod rerun;
mod resources;
mod tempest;
mod waivers;
pub use crate::exit::ExitStatus;
pub use cert::{BatchArgs, KeygenArgs, ScorecardArgs, SignArgs, UploadArgs, VerifyArgs};
pub use completions::{CompletionsArgs, ManArgs};
pub use console::ColorChoice;
pub use rerun::RerunArgs;

/// scs-check: conformance tests for the Sovereign Cloud Stack (SCS) standards.
#[derive(Debug, Parser)]
#[command(name = "scs-check", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Colour PASS/FAIL/ABORT: auto (on a terminal, not with NO_COLOR, CI or TERM=dumb),
    /// always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t)]
    pub color: ColorChoice,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scope's testcases against a cloud or cluster and report the verdicts.
    Run(Box<RunArgs>),
    /// Print the resolved plan (versions, targets, testcases, how each runs) without running it.
    Plan(PlanArgs),
    /// List the built-in scopes with their versions and each version's status today.
    List,
    /// Check scope files and print every problem with file, line and column.
    Validate(ValidateArgs),
    /// Render an existing report (ours or the reference tool's) in another format.
    Report(ReportArgs),
    /// Run only the FAIL/ABORT/MISSING testcases of a report again and write a merged report
    /// that marks the new results.
    Rerun(Box<RerunArgs>),
    /// Serve a simulated OpenStack cloud for any client (prints a clouds.yaml entry).
    Simulate(SimulateArgs),
    /// Delete resources that earlier runs left behind (from the ledger and by name prefix).
    Cleanup(cleanup::CleanupArgs),
    /// Explain SCS flavor names, or check the flavor names of a cloud (--check-cloud).
    FlavorName(FlavorNameArgs),
    /// Judge saved sonobuoy results (a results directory, tarball or sonobuoy_results.yaml).
    SonobuoyJudge(SonobuoyJudgeArgs),
    /// Judge saved Tempest results (scs-0128) against the SCS test list.
    TempestJudge(TempestJudgeArgs),
    /// Sign reports (SSHSIG, namespace `report`, as `ssh-keygen -Y sign` does).
    Sign(SignArgs),
    /// Verify a signed report and check that it is well formed.
    Verify(VerifyArgs),
    /// Create a key pair and token file for a subject, and print the monitor operator's snippet.
    Keygen(KeygenArgs),
    /// Upload a signed report to the SCS compliance monitor.
    Upload(UploadArgs),
    /// Run scopes × subjects from a configuration file, in parallel, and combine the reports.
    Batch(BatchArgs),
    /// Generate manifests that run a batch configuration on Kubernetes, in shards.
    Deploy(deploy::DeployArgs),
    /// Compute each subject's status per scope from reports, as the compliance monitor does.
    Scorecard(ScorecardArgs),
    /// Make a test cloud (as admin) hold exactly a fixture's flavors, images and volume types
    /// (deletes the others; needs --yes, and --force for a non-loopback Keystone).
    Seed(SeedArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --out DIR.
    Man(ManArgs),
}

/// Flags of `seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Fixture file describing the content, or `compliant` for the built-in compliant cloud.
    #[arg(value_name = "FIXTURE")]
    pub fixture: String,
    /// Admin cloud (from clouds.yaml) to seed; default `OS_CLOUD`.
    #[arg(long, value_name = "NAME")]
    pub os_cloud: Option<String>,
    /// Project that gets access to private flavors and owns non-public images.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Go ahead: delete the flavors, images and volume types the fixture does not name.
    #[arg(long)]
    pub yes: bool,
    /// Seed even a cloud whose Keystone is not on a loopback address (a remote test bed).
    #[arg(long)]
    pub force: bool,
    /// Only list what seeding would delete; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of `flavor-name`. Exit status 0 when every name is valid (or tolerated in the old v1
/// syntax) and, with `--check-cloud`, every SCS flavor of the cloud keeps its name's promises.
#[derive(Debug, Args)]
pub struct FlavorNameArgs {
    /// Flavor names to explain, e.g. `SCS-2V-4-20s`.
    #[arg(value_name = "NAME", required_unless_present = "check_cloud")]
    pub names: Vec<String>,
    /// List every SCS flavor of a cloud with its syntax and semantics verdict.
    #[arg(long)]
    pub check_cloud: bool,
    /// OpenStack cloud (from clouds.yaml) for `--check-cloud` (default: `OS_CLOUD`).
    #[arg(long, value_name = "NAME", requires = "check_cloud")]
    pub os_cloud: Option<String>,
    /// Check a simulated cloud from FIXTURE (or `compliant`) with `--check-cloud`.
    #[arg(
        long,
        value_name = "FIXTURE",
        requires = "check_cloud",
        conflicts_with = "os_cloud"
    )]
    pub simulate: Option<String>,
}

/// Flags of `sonobuoy-judge`.
#[derive(Debug, Args)]
pub struct SonobuoyJudgeArgs {
    /// Directory from `sonobuoy retrieve -x`, a results tarball, or a sonobuoy_results.yaml.
    #[arg(value_name = "RESULTS_DIR_OR_TARBALL")]
    pub results: PathBuf,
    /// okToFail list to use instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub ok_to_fail: Option<PathBuf>,
}

/// Flags of `tempest-judge`.
#[derive(Debug, Args)]
pub struct TempestJudgeArgs {
    /// A Tempest workspace or stestr repository (its newest run), a directory with
    /// `tempest.subunit`, a subunit file (v1 or v2), or a JUnit XML file (`*.xml`).
    #[arg(value_name = "DIR_OR_FILE")]
    pub results: PathBuf,
    /// Test list to judge against instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Judge only these areas of the list, e.g. `identity,image,network`.
    #[arg(long, value_name = "AREAS")]
    pub areas: Option<String>,
}

/// Flags of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Fixture file describing the cloud, or `compliant` for the built-in compliant cloud.
    #[arg(value_name = "FIXTURE")]
    pub fixture: String,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Also write the clouds.yaml entry to FILE.
    #[arg(long, value_name = "FILE")]
    pub clouds_yaml: Option<PathBuf>,
}

/// Flags that choose what a run covers (shared by `run` and `plan`).
#[derive(Debug, Args, Clone)]
pub struct SelectionArgs {
    /// Scope: a built-in name (`iaas`, `kaas`), a scope file, or an http(s) URL.
    #[arg(value_name = "SCOPE")]
    pub scope: String,
    /// Reference date for the timeline, YYYY-MM-DD (default: today, UTC).
    #[arg(short = 'd', long = "date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    /// Run this version whatever its status on the date (may repeat).
    #[arg(short = 'V', long = "version", value_name = "VERSION")]
    pub versions: Vec<String>,
    /// Only testcases whose id matches REGEX at the start.
    #[arg(short = 't', long = "tests", value_name = "REGEX")]
    pub tests: Option<String>,
    /// Only testcases in these sections (comma-separated, e.g. `light,medium`).
    #[arg(short = 'S', long = "sections", value_name = "LIST")]
    pub sections: Option<String>,
    /// Set a scope variable (may repeat), e.g. `-a os_cloud=mycloud`.
    #[arg(short = 'a', long = "assign", value_name = "KEY=VALUE")]
    pub assign: Vec<String>,
    /// Run external scripts even where a native probe replaces them.
    #[arg(long)]
    pub prefer_scripts: bool,
    /// Interpreter for `.py` scripts (default: `$VIRTUAL_ENV/bin/python`, else `python3`).
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,
    /// Drop `-a` keys that no selected version uses instead of stopping. Hidden: only `batch`
    /// passes it, because its configurations give one mapping to every scope.
    #[arg(long, hide = true)]
    pub ignore_unused_assignments: bool,
}

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
    fn paths<'a>(&'a self, yaml: Option<&'a Path>) -> Vec<(&'static str, &'a Path)> {
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
    fn write(&self, report: &report::Report, yaml: Option<&Path>) -> report::Written {
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

/// Flags of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    /// What to plan.
    pub selection: SelectionArgs,
    /// OpenStack cloud (from clouds.yaml) the plan is for; same as `-a os_cloud=NAME` or
    /// `OS_CLOUD`. Nothing is contacted.
    #[arg(long, value_name = "NAME")]
    pub os_cloud: Option<String>,
}

/// Flags of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scope files (or built-in names) to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// The console summary.
    Text,
    /// Markdown summary.
    Markdown,
    /// JSON report.
    Json,
    /// JUnit XML.
    Junit,
    /// A self-contained HTML page.
    Html,
    /// YAML report.
    Yaml,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A report file (YAML or JSON, ours or the reference tool's).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(short = 'f', long = "format", value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Scope file to evaluate a report without our summary block (default: the built-in scope
    /// with the report's uuid).
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Waiver file applied anew (as `run --waivers`): waived FAILs show as WAIVED and the exit
    /// status is the one `run --waivers` gives; the verdicts in the report stay as they are.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date of the form YYYY-MM-DD"))
}

/// Exit code when standard output was closed under a command that still printed with `print!`
/// (128 + SIGPIPE, what a shell reports for a process a closed pipe ended).
const CLOSED_STDOUT_EXIT: i32 = 141;

/// Makes a `print!` on a closed standard output (`scs-check ... | head -1`) end the process
/// quietly instead of with a panic message. Console output of our own commands goes through
/// [`console`] and never gets here; this covers any `print!` left elsewhere.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(CLOSED_STDOUT_EXIT);
        }
        default(info);
    }));
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                ExitStatus::Error as i32
            } else {
                0
            };
            let _ = err.print();
            return ExitCode::from(code as u8);
        }
    };
    console::set_color_choice(cli.color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitStatus::Error.into();
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitStatus::Error.into()
        }
    }
}

/// Formats an error chain on one line (`outer: inner: innermost`), or several lines when the
/// innermost error is itself a list (scope problems).
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

async fn dispatch(cli: Cli) -> Result<ExitStatus> {
    match cli.command {
        Command::Run(args) => run(*args).await,
        Command::Plan(args) => plan_cmd(args).await,
        Command::List => list().await,
        Command::Validate(args) => validate(args).await,
        Command::Report(args) => report_cmd(args).await,
        Command::Rerun(args) => rerun::rerun(*args).await,
        Command::Simulate(args) => simulate(args).await,
        Command::Cleanup(args) => cleanup::run(args).await,
        Command::FlavorName(args) => flavor_name::run(args).await,
        Command::SonobuoyJudge(args) => kaas::sonobuoy_judge(args).await,
        Command::TempestJudge(args) => tempest::tempest_judge(args).await,
        Command::Sign(args) => cert::sign(args).await,
        Command::Verify(args) => cert::verify(args).await,
        Command::Keygen(args) => cert::keygen(args).await,
        Command::Upload(args) => cert::upload_cmd(args).await,
        Command::Batch(args) => cert::batch_cmd(args).await,
        Command::Deploy(args) => deploy::deploy_cmd(args).await,
        Command::Scorecard(args) => cert::scorecard_cmd(args).await,
        Command::Completions(args) => completions::completions_cmd(args),
        Command::Man(args) => completions::man_cmd(args),
        Command::Seed(a) => {
            let safety = crate::sim::seed::Safety {
                yes: a.yes,
                force: a.force,
                dry_run: a.dry_run,
            };
            crate::sim::seed::command(
                &a.fixture,
                a.os_cloud.as_deref(),
                a.project.as_deref(),
                safety,
                console::println,
            )
            .await
            .map(|_| ExitStatus::Pass)
            .map_err(|e| anyhow!("{e}"))
        }
    }
}

/// Parses `-a KEY=VALUE` items; a repeated key is an error, as in the reference.
fn parse_assignments(items: &[String]) -> Result<IndexMap<String, String>> {
    let mut out = IndexMap::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            bail!("-a {item}: expected KEY=VALUE");
        };
        if key.is_empty() {
            bail!("-a {item}: the variable name is empty");
        }
        if out.insert(key.to_string(), value.to_string()).is_some() {
            bail!("-a {key}=...: variable assigned twice");
        }
    }
    Ok(out)
}

/// Every `-a` key must be a variable a selected version uses ([`plan::used_variables`]: the
/// declared variables, their defaults and the `{name}`s of the selected versions' scripts);
/// otherwise the run stops (exit 3) naming each such key, with the closest used name where one
/// is close (`os_clod`), and the names that are used. A typo would otherwise run against the
/// wrong cloud or stop later with a confusing message.
///
/// With `ignore_unused` (the hidden `--ignore-unused-assignments`, which only `batch` passes)
/// such keys are dropped instead: a batch configuration hands one mapping (`os_cloud`,
/// `kubeconfig`, ...) to every scope, as the reference's do. The flag lets the child decide
/// with the very selection it runs (`-d`, `-V`, the modules `-t` pulls in), so `batch` need
/// not load the scope and repeat the version choice itself.
fn settle_assignment_keys(
    scope: &Scope,
    selection: &mut Selection,
    ignore_unused: bool,
) -> Result<()> {
    let used = plan::used_variables(scope, selection, today())?;
    let names: Vec<&str> = used.names.iter().map(String::as_str).collect();
    let unused: Vec<String> = selection
        .assignments
        .keys()
        .filter(|key| !names.contains(&key.as_str()))
        .cloned()
        .collect();
    if unused.is_empty() {
        return Ok(());
    }
    if ignore_unused {
        for key in &unused {
            selection.assignments.shift_remove(key);
        }
        return Ok(());
    }
    let keys: Vec<String> = unused
        .iter()
        .map(|key| match did_you_mean(key, &names) {
            Some(close) => format!("'{key}' (did you mean '{close}'?)"),
            None => format!("'{key}'"),
        })
        .collect();
    let flags: Vec<String> = unused.iter().map(|key| format!("-a {key}=...")).collect();
    let what = if unused.len() == 1 {
        "a variable"
    } else {
        "the variables"
    };
    let list = if names.is_empty() {
        "they use no variables".to_string()
    } else {
        format!("variables used: {}", names.join(", "))
    };
    bail!(
        "{}: no selected version of scope {} ({}) uses {what} {}; {list}",
        flags.join(", "),
        scope.name,
        used.versions.join(", "),
        keys.join(", ")
    )
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

fn selection_from(args: &SelectionArgs) -> Result<Selection> {
    let python = args.python.clone().or_else(|| {
        std::env::var_os("VIRTUAL_ENV")
            .map(|venv| Path::new(&venv).join("bin/python").display().to_string())
    });
    Ok(Selection {
        date: args.date,
        forced_versions: args.versions.clone(),
        tests: args.tests.clone(),
        sections: args.sections.as_ref().map(|s| {
            s.split(',')
                .map(|item| item.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        }),
        assignments: parse_assignments(&args.assign)?,
        prefer_scripts: args.prefer_scripts,
        python,
    })
}

async fn load_scope(arg: &str) -> Result<Arc<Scope>> {
    let scope = spec::load_argument(arg)
        .await
        .map_err(|err| anyhow!("{err}"))?;
    Ok(Arc::new(scope))
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

async fn run(args: RunArgs) -> Result<ExitStatus> {
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
    let scope = load_scope(&args.selection.scope).await?;
    let mut selection = selection_from(&args.selection)?;
    settle_assignment_keys(
        &scope,
        &mut selection,
        args.selection.ignore_unused_assignments,
    )?;
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
        eprintln!(
            "warning: TLS certificate verification is off for this cloud (`insecure: true` or \
             `verify: false` in clouds.yaml); the report records it"
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

    let cancel = CancellationToken::new();
    let live = tracker.clone();
    execute::cancel_on_ctrl_c_with_cleanup(
        cancel.clone(),
        tracker.abort_cleanup_token(),
        move || live.leftovers().len(),
    );
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
    let display = tokio::spawn(progress.consume(rx));
    let checked_at = Utc::now();
    let results = execute::run(&plan, &registry, options, tx).await;
    let _ = display.await;
    let interrupted = cancel.is_cancelled();

    let meta = RunMeta {
        subject,
        argv: std::env::args().skip(1).collect(),
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
            eprintln!("warning: {warning}");
        }
    }
    if let Some(snapshot) = &services.openstack {
        let counts = snapshot.request_counts();
        if verbose > 0 {
            let list: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            eprintln!("API requests: {}", list.join(", "));
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
    if !written.all_ok() {
        // Every other report was written; the run could not complete properly.
        return Ok(ExitStatus::Error);
    }
    if interrupted {
        eprintln!("interrupted: unfinished testcases are reported as ABORT");
    }
    if let Err(err) = cert::after_run(&args, &report).await {
        eprintln!("error: {}", one_line(&err));
        return Ok(ExitStatus::Error);
    }
    let summaries = report::summarize(&report, Some(&plan.scope), None);
    // A waived FAIL counts as passed for the exit status (the CI gate), nowhere else.
    let summaries = report::waived_summaries(&report, &summaries);
    Ok(ExitStatus::from_run(
        report::main_outcome(&summaries),
        interrupted,
        args.critical_only,
    ))
}

/// Writes every report a run asked for (called before and, if the resources' states changed,
/// after the last cleanup).
fn write_reports(report: &report::Report, args: &RunArgs) -> report::Written {
    args.formats.write(report, args.output.as_deref())
}

/// A running simulated cloud and the cloud name its clouds.yaml entry uses.
pub(crate) struct RunningSimulator {
    handle: crate::sim::SimHandle,
    cloud: String,
    clouds_yaml: String,
}

/// The compliant simulated cloud, built into the binary so `--simulate compliant` works anywhere.
const BUILTIN_COMPLIANT_FIXTURE: &str = include_str!("../fixtures/clouds/compliant.yaml");

/// The names `--simulate` knows without a file.
const BUILTIN_CLOUD_FIXTURES: &[&str] = &["compliant"];

/// Checks a `--simulate` argument before it is used: a name that is neither a file nor a
/// built-in fixture gets the built-in names (and a close one), and a fixture of the wrong kind
/// (a cluster for an IaaS run, a cloud for a KaaS run) says so.
pub(crate) fn check_simulate_arg(fixture: &str, want: crate::sim::FixtureKind) -> Result<()> {
    use crate::sim::FixtureKind;
    let path = Path::new(fixture);
    let (kind_word, dir) = match want {
        FixtureKind::Cloud => ("cloud", "fixtures/clouds/"),
        FixtureKind::Cluster => ("cluster", "fixtures/clusters/"),
    };
    if !path.exists() {
        if want == FixtureKind::Cloud && BUILTIN_CLOUD_FIXTURES.contains(&fixture) {
            return Ok(());
        }
        let builtin = match want {
            FixtureKind::Cloud => format!(
                "the built-in {kind_word} fixtures are: {}",
                BUILTIN_CLOUD_FIXTURES.join(", ")
            ),
            FixtureKind::Cluster => "there are no built-in cluster fixtures".to_string(),
        };
        let hint = match want {
            FixtureKind::Cloud => did_you_mean(fixture, BUILTIN_CLOUD_FIXTURES)
                .map(|m| format!(" (did you mean '{m}'?)"))
                .unwrap_or_default(),
            FixtureKind::Cluster => String::new(),
        };
        bail!(
            "--simulate {fixture}: no such fixture file{hint}; {builtin}, or give a file such \
             as {dir}*.yaml"
        );
    }
    match (FixtureKind::of_file(path), want) {
        (Some(FixtureKind::Cluster), FixtureKind::Cloud) => bail!(
            "--simulate {fixture}: this is a cluster fixture (KaaS); an IaaS scope needs a \
             cloud fixture such as fixtures/clouds/*.yaml (or run a KaaS scope: run kaas \
             --simulate {fixture})"
        ),
        (Some(FixtureKind::Cloud), FixtureKind::Cluster) => bail!(
            "--simulate {fixture}: this is a cloud fixture (IaaS); a KaaS scope needs a \
             cluster fixture such as fixtures/clusters/*.yaml (or run an IaaS scope: run iaas \
             --simulate {fixture})"
        ),
        _ => Ok(()),
    }
}

/// The candidate closest to `word` when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| {
            *d <= (c.chars().count() / 3).max(1) || c.starts_with(word) && !word.is_empty()
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

pub(crate) async fn start_simulator(fixture: &str, port: Option<u16>) -> Result<RunningSimulator> {
    use crate::sim::{Fixture, Simulator};
    check_simulate_arg(fixture, crate::sim::FixtureKind::Cloud)?;
    let loaded = if !Path::new(fixture).exists() && fixture == "compliant" {
        Fixture::from_yaml(BUILTIN_COMPLIANT_FIXTURE, "<built-in compliant cloud>")
    } else {
        Fixture::load(fixture)
    }
    .map_err(|err| anyhow!("{err}"))?;
    let cloud = format!("sim-{}", loaded.name);
    let handle = Simulator::start(loaded, port)
        .await
        .map_err(|err| anyhow!("{err}"))?;
    let clouds_yaml = handle.clouds_yaml(&cloud);
    Ok(RunningSimulator {
        handle,
        cloud,
        clouds_yaml,
    })
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
async fn connect_openstack(
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
            eprintln!("warning: cannot authenticate at {host}: {err}");
            Ok(Services {
                openstack_error: Some(format!("cannot authenticate at {host}: {err}")),
                ..Services::default()
            })
        }
    }
}

async fn simulate(args: SimulateArgs) -> Result<ExitStatus> {
    let sim = start_simulator(&args.fixture, args.port).await?;
    if let Some(path) = &args.clouds_yaml {
        std::fs::write(path, &sim.clouds_yaml)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    console::println(&format!(
        "# simulated cloud {} at {}",
        sim.cloud,
        sim.handle.auth_url()
    ));
    console::println(&format!(
        "# clouds.yaml entry (use with OS_CLOUD={}):",
        sim.cloud
    ));
    console::print(&sim.clouds_yaml);
    if let Some(path) = &args.clouds_yaml {
        console::println("# test it with:");
        console::println(&format!(
            "# OS_CLIENT_CONFIG_FILE={} scs-check run iaas --os-cloud {}",
            shell_word(&path.display().to_string()),
            sim.cloud
        ));
    }
    console::println("# press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sim.handle.shutdown().await;
    Ok(ExitStatus::Pass)
}

/// `text` as one shell word (quoted only when it needs it).
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
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

/// `plan`: resolves without contacting anything. Variables without a value are shown as
/// unassigned instead of stopping it; `--os-cloud` and `OS_CLOUD` assign `os_cloud`.
async fn plan_cmd(args: PlanArgs) -> Result<ExitStatus> {
    let registry = Registry::builtin();
    let scope = load_scope(&args.selection.scope).await?;
    let mut selection = selection_from(&args.selection)?;
    settle_assignment_keys(
        &scope,
        &mut selection,
        args.selection.ignore_unused_assignments,
    )?;
    if scope.variables.iter().any(|v| v == "os_cloud") {
        let env = std::env::var("OS_CLOUD").ok().filter(|v| !v.is_empty());
        match (&args.os_cloud, selection.assignments.get("os_cloud")) {
            (Some(name), Some(assigned)) if assigned != name => {
                bail!("--os-cloud {name} contradicts -a os_cloud={assigned}")
            }
            (Some(name), _) => {
                selection
                    .assignments
                    .insert("os_cloud".into(), name.clone());
            }
            (None, None) => {
                if let Some(name) = env {
                    selection.assignments.insert("os_cloud".into(), name);
                }
            }
            (None, Some(_)) => {}
        }
    }
    let (plan, _unassigned) = plan::resolve_for_display(scope, selection, &registry, today())?;
    console::print(&describe_plan(&plan));
    Ok(ExitStatus::Pass)
}

/// The human description of a plan printed by `scs-check plan`.
pub fn describe_plan(plan: &Plan) -> String {
    use std::fmt::Write;
    let scope = &plan.scope;
    let mut out = String::new();
    let _ = writeln!(out, "scope:  {} ({})", scope.name, scope.uuid);
    let _ = writeln!(out, "source: {}", scope.origin);
    let _ = writeln!(out, "date:   {}", plan.date);
    if let Some(tests) = &plan.selection.tests {
        let _ = writeln!(out, "tests:  '{tests}' (prefix match)");
    }
    if let Some(sections) = &plan.selection.sections {
        let _ = writeln!(out, "sections: {}", sections.join(", "));
    }
    let _ = writeln!(out, "\nversions:");
    for version in &plan.versions {
        let status = match version.explicit {
            Some(code) => code.to_string(),
            None => "deprecated (not in the timeline)".to_string(),
        };
        let _ = writeln!(out, "  {} — {}", version.name, status);
        for (target, ids) in &version.all_targets {
            let selected = version.targets.get(target).map_or(0, Vec::len);
            let decides = if target == "main" {
                ", decides certification"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    {target}: {selected} of {} selected{decides}",
                console::count(ids.len(), "testcase")
            );
        }
    }
    if !plan.variables.is_empty() {
        let _ = writeln!(out, "\nvariables:");
        for (key, value) in &plan.variables {
            if value == plan::UNASSIGNED {
                let _ = writeln!(out, "  {key}: unassigned (give it with -a {key}=VALUE)");
            } else {
                let _ = writeln!(out, "  {key} = {value}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nwork ({}):",
        console::count(plan.items.len(), "item")
    );
    for item in &plan.items {
        let how = match &item.kind {
            WorkKind::Native {
                probe,
                replaces: Some(script),
            } => {
                format!("built-in probe {probe} (replaces {script})")
            }
            WorkKind::Native {
                probe,
                replaces: None,
            } => format!("built-in probe {probe}"),
            WorkKind::Script(cmd) => format!("script: {}", cmd.display),
            WorkKind::NotRun {
                reason,
                abort: true,
            } => format!("not run, ABORT: {reason}"),
            WorkKind::NotRun {
                reason,
                abort: false,
            } => format!("not run, MISSING: {reason}"),
        };
        let _ = writeln!(out, "  {}. {how}", item.index + 1);
        if !item.parameters.is_empty() {
            let params: Vec<String> = item
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(out, "     parameters: {}", params.join(", "));
        }
        let _ = writeln!(out, "     testcases: {}", item.testcases.join(" "));
    }
    out
}

async fn list() -> Result<ExitStatus> {
    use std::fmt::Write;
    let date = today();
    let mut out = String::new();
    for name in spec::builtin_names() {
        let scope =
            spec::load_builtin(name).ok_or_else(|| anyhow!("built-in scope {name} is missing"))?;
        let _ = writeln!(out, "{name}: {} ({})", scope.name, scope.uuid);
        let statuses = plan::annotate_validity(&scope, date);
        for version in &scope.versions {
            let status = statuses
                .iter()
                .find(|(name, _, _)| *name == version.name)
                .and_then(|(_, _, explicit)| *explicit)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "deprecated (not in the timeline)".into());
            let stable = match version.stabilized_at {
                Some(d) => format!("stable since {d}"),
                None => "not stable".into(),
            };
            let _ = writeln!(out, "  {:<8} {:<34} {stable}", version.name, status);
        }
    }
    let _ = writeln!(out, "\nstatus on {date} (UTC)");
    console::print(&out);
    Ok(ExitStatus::Pass)
}

async fn validate(args: ValidateArgs) -> Result<ExitStatus> {
    let mut bad = 0usize;
    for file in &args.files {
        // As for `run`: only a regular file shadows a built-in name.
        let local = Path::new(file).is_file()
            || (Path::new(file).exists() && spec::builtin::builtin_short_name(file).is_none());
        let checked = if local || file.contains("://") {
            if file.contains("://") {
                match spec::load_url(file).await {
                    Ok(scope) => spec::Checked {
                        scope: Some(scope),
                        problems: vec![],
                    },
                    Err(err) => {
                        bad += 1;
                        console::println(&err.to_string());
                        continue;
                    }
                }
            } else {
                spec::validate_file(Path::new(file)).map_err(|err| anyhow!("{err}"))?
            }
        } else if let Some(name) = spec::builtin::builtin_short_name(file) {
            let text = spec::builtin::builtin_text(name).unwrap_or_default();
            spec::validate_text(text, spec::Origin::Builtin(name.to_string()), None)
        } else {
            bad += 1;
            console::println(&format!("{file}: no such scope file"));
            continue;
        };
        for problem in &checked.problems {
            console::println(&problem.to_string());
        }
        if checked.has_errors() {
            bad += 1;
        } else if let Some(scope) = &checked.scope {
            console::println(&format!(
                "{file}: ok ({}, {}, {})",
                scope.name,
                console::count(scope.versions.len(), "version"),
                console::count(scope.testcases.len(), "testcase")
            ));
        }
    }
    if bad > 0 {
        let has = if bad == 1 { "has" } else { "have" };
        eprintln!(
            "{bad} of {} {has} problems",
            console::count(args.files.len(), "scope file")
        );
        Ok(ExitStatus::Error)
    } else {
        Ok(ExitStatus::Pass)
    }
}

async fn report_cmd(args: ReportArgs) -> Result<ExitStatus> {
    let text = report::read_report_text(&args.file).map_err(|err| anyhow!("cannot read {err}"))?;
    let mut reports: Vec<Report> =
        report::read_reports(&text).map_err(|err| anyhow!("{}: {err}", args.file.display()))?;
    let mut status = ExitStatus::Pass;
    if let Some(path) = &args.waivers {
        status = waivers::apply_waiver_file(&mut reports, path, &args.file, today())?;
    }
    if matches!(args.format, ReportFormat::Html) && reports.len() > 1 {
        bail!(
            "{}: holds {} reports; an HTML page shows one (split the file, one report each)",
            args.file.display(),
            reports.len()
        );
    }
    let mut out = String::new();
    for report in &reports {
        let scope = match &args.scope {
            Some(arg) => Some(load_scope(arg).await?),
            None => spec::builtin_names()
                .iter()
                .filter_map(|name| spec::load_builtin(name))
                .find(|scope| scope.uuid == report.spec.uuid)
                .map(Arc::new),
        };
        let rendered = match args.format {
            ReportFormat::Text => report::render_console(report, scope.as_deref()),
            ReportFormat::Markdown => report::render_markdown(report, scope.as_deref()),
            ReportFormat::Json => report::to_json(report),
            ReportFormat::Junit => report::render_junit(report, scope.as_deref()),
            ReportFormat::Html => report::render_html(report, scope.as_deref()),
            ReportFormat::Yaml => report::to_yaml(report),
        };
        out.push_str(&rendered);
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))?
        }
        None if matches!(args.format, ReportFormat::Text) => console::print_summary(&out),
        None => console::print(&out),
    }
    Ok(status)
}

/// Whether standard error is an interactive terminal and no CI is detected.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reference_flags_parse_after_the_scope_too() {
        let cli = Cli::try_parse_from([
            "scs-check",
            "run",
            "scs-compatible-iaas.yaml",
            "-s",
            "mycloud",
            "-a",
            "os_cloud=mycloud",
            "-o",
            "report.yaml",
            "-V",
            "v4",
            "-d",
            "2025-02-01",
            "-t",
            "scs-0100",
            "-S",
            "light",
            "-C",
            "-v",
            "-q",
            "--debug",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.subject.as_deref(), Some("mycloud"));
        assert_eq!(args.selection.versions, vec!["v4"]);
        assert!(args.critical_only && args.quiet && args.debug);
        assert_eq!(args.verbose, 1);
    }

    #[test]
    fn did_you_mean_finds_close_names_only() {
        let names = ["os_cloud", "kubeconfig", "subject_root"];
        assert_eq!(did_you_mean("os_clod", &names), Some("os_cloud"));
        assert_eq!(did_you_mean("kubconfig", &names), Some("kubeconfig"));
        assert_eq!(did_you_mean("region", &names), None);
        assert_eq!(
            did_you_mean("compliantt", &["compliant"]),
            Some("compliant")
        );
    }

    #[test]
    fn assignments_reject_duplicates_and_missing_equals() {
        let ok = parse_assignments(&["a=1".into(), "b=x=y".into()]).unwrap();
        assert_eq!(ok["b"], "x=y");
        assert!(parse_assignments(&["a=1".into(), "a=2".into()]).is_err());
        assert!(parse_assignments(&["novalue".into()]).is_err());
    }

    #[test]
    fn exit_status_follows_main_verdict() {
        use crate::verdict::Aggregate::*;
        assert_eq!(ExitStatus::from_run(Pass, false, false), ExitStatus::Pass);
        assert_eq!(ExitStatus::from_run(Fail, false, false), ExitStatus::Fail);
        assert_eq!(
            ExitStatus::from_run(Missing, false, false),
            ExitStatus::Inconclusive
        );
        assert_eq!(
            ExitStatus::from_run(Abort, false, false),
            ExitStatus::Inconclusive
        );
        assert_eq!(
            ExitStatus::from_run(Pass, true, false),
            ExitStatus::Inconclusive
        );
        assert_eq!(ExitStatus::from_run(Fail, false, true), ExitStatus::Pass);
        assert_eq!(
            ExitStatus::from_run(Fail, true, true),
            ExitStatus::Inconclusive
        );
    }
}
