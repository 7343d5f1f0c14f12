//! `scs-check rerun REPORT`: runs only the FAIL, ABORT and MISSING testcases of a report again,
//! against the same subject with the same scope, date and versions, and writes a merged report
//! in which the new results are marked (`rerun: true`, `scs_check.rerun`).
//!
//! The rerun is an ordinary `run` (same code path: simulator, cleanup, Ctrl-C, time limits)
//! narrowed with `-t` to the exact ids; its report goes to a temporary file and is merged with
//! [`report::merge_rerun`].

use super::{Cli, Command, ExitStatus, console, load_scope};
use crate::report::{self, Report};
use crate::spec::{self, Scope};
use crate::verdict::Verdict;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Flags of `rerun`.
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The report to rerun (YAML or JSON, ours or the reference tool's; one report).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// Where to write the merged YAML report.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// The merged report in other formats (JSON, JUnit, Markdown, HTML).
    #[command(flatten)]
    pub formats: super::ReportFormatArgs,
    /// Scope file (default: the built-in scope with the report's uuid).
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// OpenStack cloud (from clouds.yaml) to test (default: the report's `os_cloud`).
    #[arg(long, value_name = "NAME")]
    pub os_cloud: Option<String>,
    /// Test a simulated cloud from FIXTURE (or `compliant`); needed to rerun a simulated report.
    #[arg(long, value_name = "FIXTURE", conflicts_with = "os_cloud")]
    pub simulate: Option<String>,
    /// Kubernetes cluster to test (default: the report's `kubeconfig`).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Time limit per probe or script, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u64,
    /// How many probes and scripts run at once (default: number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Waiver file, as for `run`.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// No console summary.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

/// `1 testcase`, `2 testcases`.
fn testcases(n: usize) -> String {
    if n == 1 {
        "1 testcase".to_string()
    } else {
        format!("{n} testcases")
    }
}

/// The testcases of a report's summaries that did not pass (FAIL, ABORT, MISSING), each once,
/// in report order.
pub fn not_passed(versions: &[report::VersionSummary]) -> Vec<String> {
    let mut ids: Vec<String> = vec![];
    for version in versions {
        for (id, tc) in &version.testcases {
            if tc.result != Some(Verdict::Pass) && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

/// A `-t` expression that selects exactly these ids (`-t` matches at the start).
pub fn exact_ids_regex(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("{}$", regex::escape(id)))
        .collect::<Vec<_>>()
        .join("|")
}

/// The scope a report was made against: `--scope`, else the built-in scope with its uuid.
async fn scope_of(report: &Report, arg: Option<&str>) -> Result<(String, Arc<Scope>)> {
    if let Some(arg) = arg {
        let scope = load_scope(arg).await?;
        if scope.uuid != report.spec.uuid {
            bail!(
                "--scope {arg} is scope {} ({}), but the report is for {} ({})",
                scope.name,
                scope.uuid,
                report.spec.name,
                report.spec.uuid
            );
        }
        return Ok((arg.to_string(), scope));
    }
    for name in spec::builtin_names() {
        if let Some(scope) = spec::load_builtin(name)
            && scope.uuid == report.spec.uuid
        {
            return Ok((name.to_string(), Arc::new(scope)));
        }
    }
    bail!(
        "the report is for scope {} ({}), which is not built in: give its scope file with --scope",
        report.spec.name,
        report.spec.uuid
    )
}

/// The `run` command line that reruns `ids` of `old`.
fn run_argv(
    old: &Report,
    scope_arg: &str,
    ids: &[String],
    args: &RerunArgs,
    output: &Path,
) -> Result<Vec<String>> {
    let mut argv: Vec<String> = ["scs-check", "run", scope_arg, "-q", "-s", &old.subject]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let date = old.reference_date.unwrap_or_else(|| old.checked_at.date());
    argv.extend(["-d".into(), date.format("%Y-%m-%d").to_string()]);
    for version in old.run.forced_versions() {
        argv.extend(["-V".into(), version]);
    }
    argv.extend(["-t".into(), exact_ids_regex(ids)]);
    // The variables of the old run (a narrower selection may not use all of them).
    argv.push("--ignore-unused-assignments".into());
    let cloud_given = args.simulate.is_some() || args.os_cloud.is_some();
    let cluster_given = args.kubeconfig.is_some();
    let simulated = old.scs_check.as_ref().is_some_and(|b| b.simulated);
    if simulated && args.simulate.is_none() && old.run.assignment.contains_key("os_cloud") {
        bail!(
            "{}: the report is from a simulated cloud; give the fixture with --simulate FIXTURE",
            args.report.display()
        );
    }
    for (key, value) in &old.run.assignment {
        match key.as_str() {
            "os_cloud" if cloud_given => continue,
            "kubeconfig" if cluster_given => continue,
            _ => argv.extend(["-a".into(), format!("{key}={value}")]),
        }
    }
    if let Some(fixture) = &args.simulate {
        argv.extend(["--simulate".into(), fixture.clone()]);
    }
    if let Some(cloud) = &args.os_cloud {
        argv.extend(["--os-cloud".into(), cloud.clone()]);
    }
    if let Some(path) = &args.kubeconfig {
        argv.extend(["--kubeconfig".into(), path.display().to_string()]);
    }
    if let Some(context) = &args.context {
        argv.extend(["--context".into(), context.clone()]);
    }
    argv.extend(["--timeout".into(), args.timeout.to_string()]);
    if let Some(jobs) = args.jobs {
        argv.extend(["-j".into(), jobs.to_string()]);
    }
    argv.extend(["-o".into(), output.display().to_string()]);
    Ok(argv)
}

/// `rerun`: see the module documentation.
pub async fn rerun(args: RerunArgs) -> Result<ExitStatus> {
    report::check_output_paths(&args.formats.paths(Some(&args.output)))
        .map_err(|err| anyhow!("{err}"))?;
    let waivers = match &args.waivers {
        Some(path) => report::load_waivers(path).map_err(|err| anyhow!("{err}"))?,
        None => vec![],
    };
    let mut reports = report::read_report_file(&args.report).map_err(|err| anyhow!("{err}"))?;
    if reports.len() != 1 {
        bail!(
            "{}: holds {} reports; rerun takes one",
            args.report.display(),
            reports.len()
        );
    }
    let old = reports.remove(0);
    let (scope_arg, scope) = scope_of(&old, args.scope.as_deref()).await?;
    let old_versions = report::summaries_for(&old, Some(&scope));
    let ids = not_passed(&old_versions);

    let merged = if ids.is_empty() {
        eprintln!(
            "nothing to rerun: every testcase of {} passed; the report is written unchanged",
            args.report.display()
        );
        old.clone()
    } else {
        let dir = std::env::temp_dir().join(format!(
            "scs-check-rerun-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let partial = dir.join("rerun.yaml");
        let argv = run_argv(&old, &scope_arg, &ids, &args, &partial)?;
        eprintln!(
            "rerunning {} of run {} (FAIL, ABORT, MISSING): {}",
            testcases(ids.len()),
            old.run.uuid,
            ids.join(" ")
        );
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let result = run_partial(argv, &partial).await;
        let _ = std::fs::remove_dir_all(&dir);
        let new = result?;
        report::merge_rerun(
            &old,
            old_versions,
            &new,
            &ids,
            uuid::Uuid::new_v4().to_string(),
        )
    };
    let mut merged = merged;
    if args.waivers.is_some() {
        for warning in report::apply_waivers(&mut merged, &waivers, chrono::Utc::now().date_naive())
        {
            eprintln!("warning: {warning}");
        }
    }
    let written = args.formats.write(&merged, Some(&args.output));
    if !args.quiet {
        console::print(&report::console_summary(&merged, false));
        if let Some(note) = merged.scs_check.as_ref().and_then(|b| b.rerun.as_ref()) {
            console::println(&rerun_line(&merged, note));
        }
    }
    written.announce();
    if !written.all_ok() {
        return Ok(ExitStatus::Error);
    }
    let summaries = report::summarize(&merged, None, None);
    let summaries = report::waived_summaries(&merged, &summaries);
    Ok(ExitStatus::from_run(
        report::main_outcome(&summaries),
        false,
        false,
    ))
}

/// One line saying what the rerun changed: `rerun of run UUID: 19 testcases, now 18 PASS, 1
/// FAIL (not passing: ID ...)`.
fn rerun_line(merged: &Report, note: &report::RerunNote) -> String {
    let versions = report::summarize(merged, None, None);
    let mut counts: Vec<(String, usize)> = vec![];
    let mut not_passing = vec![];
    for id in &note.testcases {
        // The worst result over the versions.
        let results: Vec<Option<Verdict>> = versions
            .iter()
            .filter_map(|v| v.testcases.get(id).map(|t| t.result))
            .collect();
        let worst = crate::verdict::Aggregate::of(results.iter().copied()).to_string();
        if worst != "PASS" {
            not_passing.push(id.as_str());
        }
        match counts.iter_mut().find(|(w, _)| *w == worst) {
            Some((_, n)) => *n += 1,
            None => counts.push((worst, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    let mut line = format!(
        "rerun of run {}: {}, now {}",
        note.of_run,
        testcases(note.testcases.len()),
        counts.join(", ")
    );
    if !not_passing.is_empty() {
        line.push_str(&format!(" (not passing: {})", not_passing.join(" ")));
    }
    line
}

/// Runs the narrowed `run` and reads the report it wrote.
async fn run_partial(argv: Vec<String>, partial: &Path) -> Result<Report> {
    let cli = Cli::try_parse_from(&argv).map_err(|err| {
        anyhow!(
            "cannot build the rerun command line: {}",
            err.to_string().lines().next().unwrap_or_default()
        )
    })?;
    let Command::Run(run_args) = cli.command else {
        bail!("cannot build the rerun command line");
    };
    let status = Box::pin(super::run::run(*run_args)).await?;
    if status == ExitStatus::Error && !partial.exists() {
        bail!("the rerun could not complete");
    }
    let mut reports = report::read_report_file(partial).map_err(|err| anyhow!("{err}"))?;
    reports
        .pop()
        .ok_or_else(|| anyhow!("the rerun wrote no report"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regex_selects_exactly_the_ids() {
        let ids = vec!["scs-0100-syntax-check".to_string(), "a.b+c".to_string()];
        let rx = regex::Regex::new(&format!("^(?:{})", exact_ids_regex(&ids))).unwrap();
        assert!(rx.is_match("scs-0100-syntax-check"));
        assert!(rx.is_match("a.b+c"));
        assert!(!rx.is_match("scs-0100-syntax-check-2"));
        assert!(!rx.is_match("axb+c"));
        assert!(!rx.is_match("scs-0100-semantics-check"));
    }
}
