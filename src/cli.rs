//! The command line: parses flags, wires spec → plan → execute → report, and maps the result to
//! an exit code (in one place, [`ExitStatus`]).
//!
//! Flags of the reference checker (`-s -a -V -d -t -S -o -C -v -q`) are accepted with the same
//! meaning, so existing CI jobs switch by changing the program name.

use anyhow::{Result, anyhow};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

mod cert;
mod cleanup;
mod completions;
pub(crate) mod console;
mod deploy;
mod flavor_name;
mod kaas;
mod plan_cmd;
mod report_cmd;
mod rerun;
mod resources;
mod run;
mod scopes;
mod selection;
mod simulate;
mod tempest;
mod waivers;
pub use crate::exit::ExitStatus;
pub use crate::plan::describe_plan;
pub use cert::{BatchArgs, KeygenArgs, ScorecardArgs, SignArgs, UploadArgs, VerifyArgs};
pub use completions::{CompletionsArgs, ManArgs};
pub use console::ColorChoice;
pub use plan_cmd::PlanArgs;
pub use report_cmd::{ReportArgs, ReportFormat};
pub use rerun::RerunArgs;
pub use run::{ReportFormatArgs, RunArgs};
pub use scopes::ValidateArgs;
pub use selection::SelectionArgs;
pub use simulate::SimulateArgs;
// Shared by the command modules (`super::…`).
use run::{CloudSource, cloud_config, connect_openstack};
use selection::{did_you_mean, load_scope, parse_date};
use simulate::{RunningSimulator, start_simulator};

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
        Command::Run(args) => run::run(*args).await,
        Command::Plan(args) => plan_cmd::plan_cmd(args).await,
        Command::List => scopes::list().await,
        Command::Validate(args) => scopes::validate(args).await,
        Command::Report(args) => report_cmd::report_cmd(args).await,
        Command::Rerun(args) => rerun::rerun(*args).await,
        Command::Simulate(args) => simulate::simulate(args).await,
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
