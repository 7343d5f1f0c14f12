//! `scs-check batch`: scopes × subjects from a configuration file, each subject's `run` a task
//! inside this process (the runner, [`InProcessRuns`], lives here because `cert` may not import
//! `cli`) or, with `--isolate`, a child process; with the summary, the combined report and its
//! optional upload.
//!
//! The runs start in the configuration's directory (its clouds.yaml, relative paths in its
//! mapping): an in-process batch makes every path it still needs absolute and then changes the
//! process's working directory to that directory once, before the first job; with `--isolate`
//! the children start there.

use super::upload::{MonitorArgs, do_upload, upload_options};
use crate::cert::{self, batch};
use crate::cli::run::{RunContext, run_with};
use crate::cli::selection::ScopeCache;
use crate::cli::{Cli, Command, ExitStatus, console, one_line, parse_date};
use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate, Utc, Weekday};
use clap::{Args, CommandFactory, FromArgMatches};
use futures::future::BoxFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Flags of `batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The batch configuration (TOML, like the reference runner's config.toml).
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Preset (overrides --scope/--subject; default: `default` when neither is given).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    // Also the --help text: the brackets are TOML, not links.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Scopes (names under [scopes]), comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub scope: Vec<String>,
    /// Subjects, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub subject: Vec<String>,
    /// Parallel subjects (default: the preset's, else `[batch] workers`, else 16).
    #[arg(short = 'w', long, value_name = "N")]
    pub workers: Option<usize>,
    /// Run only shard I of N (0 <= I < N): the subjects whose position in the sorted list of
    /// selected subject names is I modulo N, with all their scopes (one pod of an indexed Job).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<batch::Shard>,
    /// Directory for the per-subject and combined reports.
    #[arg(
        short = 'o',
        long = "output-dir",
        value_name = "DIR",
        default_value = "reports"
    )]
    pub output_dir: PathBuf,
    /// Time limit per subject in seconds (overrides the configuration).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Seconds a subject past its time limit has to end after being stopped (its unfinished
    /// testcases ABORT, its report is written) before it is abandoned (with --isolate: between
    /// SIGINT and SIGKILL).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub grace: u64,
    /// Run each subject in its own child process (`scs-check run`), so that a crash or hang of
    /// one cannot take the others down (also `[batch] isolate = true`). Default: every subject
    /// runs inside this process, which costs far less per subject.
    #[arg(long)]
    pub isolate: bool,
    /// Reference date passed to every run.
    #[arg(short = 'd', long = "date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    /// Sections passed to every run; `.auto` = light,medium (plus heavy on Saturdays, UTC).
    #[arg(short = 'S', long = "sections", value_name = "LIST")]
    pub sections: Option<String>,
    /// Testcase filter passed to every run (`-t REGEX`: ids matching at the start).
    #[arg(short = 't', long = "tests", value_name = "REGEX")]
    pub tests: Option<String>,
    /// Test every subject against a simulated cloud or cluster from FIXTURE (passed to each
    /// run as `--simulate`); for trying a configuration and for benchmarks. Never signed or
    /// uploaded.
    #[arg(long, value_name = "FIXTURE", conflicts_with_all = ["sign", "upload", "key"])]
    pub simulate: Option<String>,
    /// Waiver file passed to every run (as `run --waivers`): waived FAILs show as WAIVED and do
    /// not fail the exit status; the reports (and what is uploaded) keep the real verdicts.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    // Also the --help text: the brackets are TOML, not links.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Sign the combined report (key from --key or the configuration's [secrets]).
    #[arg(long)]
    pub sign: bool,
    /// Signing key (overrides the configuration).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    /// Sign and upload the combined report.
    #[arg(long)]
    pub upload: bool,
    #[command(flatten)]
    /// Where to upload.
    pub monitor: MonitorArgs,
}

/// The sections for `.auto`: light and medium, plus heavy on Saturdays (UTC).
pub(super) fn auto_sections(today: NaiveDate) -> &'static str {
    if today.weekday() == Weekday::Sat {
        "light,medium,heavy"
    } else {
        "light,medium"
    }
}

/// Runs each subject's `run` inside this process: the arguments a child would get are parsed
/// with the command line's own definition and run by [`run_with`], with the job's cancellation
/// token, its output prefix and those arguments as the report's command line. The runs share
/// the scopes they load (the same for every subject); nothing that depends on the subject is
/// shared.
#[derive(Default)]
struct InProcessRuns {
    scopes: Arc<ScopeCache>,
}

impl batch::SubjectRunner for InProcessRuns {
    fn run(
        &self,
        args: Vec<String>,
        prefix: String,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, batch::SubjectEnd> {
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let failed = batch::SubjectEnd {
                code: ExitStatus::Error as i32,
                report: None,
            };
            let parsed = parse_in_process(&args);
            let run_args = match parsed {
                Ok(Cli {
                    command: Command::Run(run_args),
                    ..
                }) => *run_args,
                Ok(_) => {
                    eprintln!("{prefix}error: not a run: {}", args.join(" "));
                    return failed;
                }
                Err(err) => {
                    for line in err.render().to_string().lines() {
                        eprintln!("{prefix}{line}");
                    }
                    return failed;
                }
            };
            let context = RunContext {
                cancel: Some(cancel),
                output_prefix: Some(prefix.clone()),
                argv: args,
                scopes: Some(scopes),
            };
            match run_with(run_args, context).await {
                Ok(end) => batch::SubjectEnd {
                    code: end.status as i32,
                    report: end.report,
                },
                Err(err) => {
                    eprintln!("{prefix}error: {}", one_line(&err));
                    failed
                }
            }
        })
    }
}

/// The command line `scs-check ARGS` parsed as [`Cli::try_parse_from`] does, with the
/// command's definition built once per process: building it anew took as long as the rest of
/// a subject's set-up.
fn parse_in_process(args: &[String]) -> Result<Cli, clap::Error> {
    static COMMAND: std::sync::LazyLock<std::sync::Mutex<clap::Command>> =
        std::sync::LazyLock::new(|| std::sync::Mutex::new(Cli::command()));
    let matches = COMMAND
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .try_get_matches_from_mut(
            std::iter::once("scs-check").chain(args.iter().map(String::as_str)),
        )?;
    Cli::from_arg_matches(&matches)
}

/// `path` made absolute against the current working directory (before the batch changes it).
fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// `batch`.
pub async fn batch_cmd(mut args: BatchArgs) -> Result<ExitStatus> {
    let config = batch::load_config(&args.config)?;
    let selection = batch::JobSelection {
        preset: args.preset.clone(),
        scopes: args.scope.clone(),
        subjects: args.subject.clone(),
    };
    let mut list = config.jobs(&selection)?;
    if let Some(shard) = args.shard {
        list = list.shard(shard);
        if list.jobs.is_empty() {
            eprintln!(
                "batch: shard {shard} has no subjects (fewer subjects than shards); nothing to run"
            );
            return Ok(ExitStatus::Pass);
        }
    }
    if args.upload {
        // The monitor address and token file are checked before any subject runs.
        upload_options(&args.monitor, config.monitor.as_deref(), &config.tokenfile)?;
    }
    if let Some(t) = args.timeout {
        for job in &mut list.jobs {
            job.timeout = Duration::from_secs(t.max(1));
        }
    }
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("cannot create {}", args.output_dir.display()))?;
    let out_dir = std::fs::canonicalize(&args.output_dir)?;
    let mut extra = Vec::new();
    if let Some(d) = args.date {
        extra.extend(["-d".to_string(), d.to_string()]);
    }
    if let Some(s) = &args.sections {
        let s = if s == ".auto" {
            auto_sections(Utc::now().date_naive()).to_string()
        } else {
            s.clone()
        };
        extra.extend(["-S".to_string(), s]);
    }
    if let Some(t) = &args.tests {
        extra.extend(["-t".to_string(), t.clone()]);
    }
    if let Some(fixture) = &args.simulate {
        extra.extend(["--simulate".to_string(), fixture.clone()]);
    }
    if let Some(path) = &args.waivers {
        // Checked once here (one error, not one per subject); the runs start in the
        // configuration's directory, so they get the absolute path.
        crate::cli::waivers::load(path)?;
        let path = std::fs::canonicalize(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        extra.extend(["--waivers".to_string(), path.display().to_string()]);
    }
    if let Some(t) = list.script_timeout {
        extra.extend(["--timeout".to_string(), t.to_string()]);
    }
    let isolate = args.isolate || list.isolate;
    let runner = if isolate {
        batch::JobRunner::Process(
            std::env::current_exe().context("cannot find our own executable")?,
        )
    } else {
        // The runs use the configuration's directory as the children did; every path used
        // after this point is absolute (the output directory and waivers are already).
        if let Some(key) = &args.key {
            args.key = Some(absolute(key)?);
        }
        if let Some(token) = &args.monitor.token_file {
            args.monitor.token_file = Some(absolute(token)?);
        }
        std::env::set_current_dir(&config.dir)
            .with_context(|| format!("cannot change to {}", config.dir.display()))?;
        // Subjects on the same cloud reuse each other's open connections.
        crate::openstack::client::share_http_clients();
        batch::JobRunner::InProcess(Arc::new(InProcessRuns::default()))
    };
    let cancel = CancellationToken::new();
    // Ctrl-C or SIGTERM (how Kubernetes stops a pod) stops every subject the same way.
    crate::execute::cancel_on_ctrl_c(cancel.clone());
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            eprintln!("interrupted: stopping every subject (reports are still written)");
        });
    }
    let scopes_used: std::collections::BTreeSet<&str> =
        list.jobs.iter().map(|j| j.scope.as_str()).collect();
    let options = batch::BatchOptions {
        runner,
        cwd: config.dir.clone(),
        out_dir: out_dir.clone(),
        workers: args
            .workers
            .or(list.workers)
            .unwrap_or(batch::DEFAULT_WORKERS)
            .max(1),
        extra_args: extra,
        grace: Duration::from_secs(args.grace),
        cancel,
        prefix_scope: scopes_used.len() > 1,
    };
    eprintln!(
        "batch: {} ({} at a time), reports in {}",
        console::count(list.jobs.len(), "run"),
        options.workers,
        out_dir.display()
    );
    let results = batch::run_jobs(list.jobs, &options).await;
    print!("{}", batch::render_summary(&results));
    let mut status = batch::overall_status(&results);
    let Some(combined) = batch::combined_report(&results) else {
        eprintln!("no subject produced a report; nothing to combine");
        return Ok(ExitStatus::Error);
    };
    let combined_path = out_dir.join("report.yaml");
    std::fs::write(&combined_path, &combined)
        .with_context(|| format!("cannot write {}", combined_path.display()))?;
    println!("combined report: {}", combined_path.display());
    if args.sign || args.upload || args.key.is_some() {
        let key_path = args.key.clone().unwrap_or_else(|| config.keyfile.clone());
        let key = cert::sign::load_private_key(&key_path)?;
        let sig = cert::sign::sign_file(&key, &combined_path)?;
        println!("signature: {}", sig.display());
        if args.upload {
            let options =
                upload_options(&args.monitor, config.monitor.as_deref(), &config.tokenfile)?;
            let signature = std::fs::read_to_string(&sig)?;
            if let Err(e) =
                do_upload(&options, &signature, combined.as_bytes(), &combined_path).await
            {
                eprintln!(
                    "error: upload failed: {e:#} (the reports are kept in {})",
                    out_dir.display()
                );
                status = ExitStatus::Error;
            }
        }
    }
    Ok(status)
}
