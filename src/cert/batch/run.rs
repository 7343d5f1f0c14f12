//! Running batch jobs, at most `workers` at once, each with its time limit, its output
//! prefixed with the subject, and its result in job order. A job runs `run` with the arguments
//! [`run_arguments`] gives, in one of two ways ([`JobRunner`]):
//!
//! - inside this process (the default): a task running the [`SubjectRunner`] that `cli`
//!   supplies (this layer may not import `cli`). At the time limit the job's cancellation token
//!   is cancelled (what Ctrl-C does to a run: unfinished testcases ABORT, cleanup, the report is
//!   written); a run that has not ended `grace` later is abandoned (its task aborted) and has no
//!   report. A panic ends only its own job ("internal error: ...").
//! - as a child `scs-check run` in its own process group (`batch --isolate`), so that a crash or
//!   hang of one subject cannot take the others down: SIGINT at the time limit, SIGKILL after
//!   `grace`, output pumped line by line, the result read back from the report it wrote.

use super::Job;
use crate::exit::ExitStatus;
use crate::report::{self, Report};
use crate::verdict::Aggregate;
use futures::StreamExt;
use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

/// How one subject ended when run inside this process.
#[derive(Debug)]
pub struct SubjectEnd {
    /// The exit code the `run` would have exited with.
    pub code: i32,
    /// The report the run built and wrote, if it got that far.
    pub report: Option<Report>,
}

/// Runs `scs-check run` inside this process (supplied by `cli`, which owns the `run` wiring).
pub trait SubjectRunner: Send + Sync {
    /// Runs `run` with `args` (what a child process would get after the program name, starting
    /// with `run`; see [`run_arguments`]), every printed line behind `prefix`, stopping as on
    /// Ctrl-C when `cancel` is cancelled.
    fn run(
        &self,
        args: Vec<String>,
        prefix: String,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, SubjectEnd>;
}

/// How each job's `run` is started.
#[derive(Clone)]
pub enum JobRunner {
    /// A child process of this binary per job (`batch --isolate`).
    Process(PathBuf),
    /// A task in this process per job.
    InProcess(Arc<dyn SubjectRunner>),
}

impl std::fmt::Debug for JobRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobRunner::Process(exe) => f.debug_tuple("Process").field(exe).finish(),
            JobRunner::InProcess(_) => f.write_str("InProcess"),
        }
    }
}

/// How to run the jobs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// How a job's `run` is started.
    pub runner: JobRunner,
    /// Working directory of child processes (the configuration's directory); an in-process
    /// batch has changed the process's working directory to it.
    pub cwd: PathBuf,
    /// Where per-subject reports go.
    pub out_dir: PathBuf,
    /// Parallel children.
    pub workers: usize,
    /// Extra arguments for every `run` (such as `-d DATE`, `-S LIST`, `--timeout N`).
    pub extra_args: Vec<String>,
    /// Time a subject past its time limit has to end after being stopped (SIGINT or its
    /// cancellation token) before it is killed or abandoned.
    pub grace: Duration,
    /// Cancels every job (Ctrl-C).
    pub cancel: CancellationToken,
    /// Prefix output lines with the scope too (several scopes).
    pub prefix_scope: bool,
}

/// How one job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    /// The child exited by itself with this code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// The child ran past the subject's timeout and was stopped.
    TimedOut,
    /// The batch was cancelled.
    Cancelled,
    /// The child could not be started.
    LaunchFailed(String),
    /// The in-process run panicked (the message).
    Crashed(String),
}

/// The result of one job.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// The job.
    pub job: Job,
    /// How it ended.
    pub end: JobEnd,
    /// The report file, when one was written and reads as a report.
    pub report_path: Option<PathBuf>,
    /// The report read back.
    pub report: Option<Report>,
    /// The worst `main` result of the report.
    pub main: Option<Aggregate>,
    /// [`JobResult::gate`], worked out once with `main`.
    gated: Option<Aggregate>,
    /// Why there is no report, when there is none.
    pub problem: Option<String>,
    /// Wall-clock time.
    pub duration: Duration,
}

impl JobResult {
    /// The worst `main` result with the FAILs the run waived (`batch --waivers`) counted as
    /// passed: what the exit status goes by. Without waivers, [`JobResult::main`].
    pub fn gate(&self) -> Option<Aggregate> {
        self.gated
    }

    /// The exit status this subject alone would give.
    pub fn status(&self) -> ExitStatus {
        match self.gate() {
            None => ExitStatus::Error,
            Some(main) => ExitStatus::from_run(
                main,
                matches!(self.end, JobEnd::TimedOut | JobEnd::Cancelled),
                false,
            ),
        }
    }
}

/// The report file of a job.
pub fn report_path(out_dir: &Path, job: &Job) -> PathBuf {
    out_dir.join(format!(
        "report-{}-{}.yaml",
        crate::cert::scorecard::slug(&job.scope),
        crate::cert::scorecard::slug(&job.subject)
    ))
}

/// Runs the jobs, at most `workers` at once; returns the results in job order. Each child writes
/// its own report as soon as it finishes.
pub async fn run_jobs(jobs: Vec<Job>, options: &BatchOptions) -> Vec<JobResult> {
    let options = Arc::new(options.clone());
    let mut results: Vec<JobResult> = futures::stream::iter(jobs)
        .map(|job| {
            let options = options.clone();
            async move { run_job(job, &options).await }
        })
        .buffer_unordered(options.workers.max(1))
        .collect()
        .await;
    results.sort_by_key(|r| r.job.index);
    results
}

fn send_signal(pid: Option<u32>, signal: i32, group: bool) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let target = if group { -pid } else { pid };
        // SAFETY: kill(2) with a pid we started; a stale pid only yields ESRCH.
        unsafe { libc::kill(target, signal) };
    }
}

/// The arguments of a job's `run` (after the program name): `run SPEC -s SUBJECT
/// --ignore-unused-assignments -a k=v … -o FILE` and the batch's extra arguments.
pub fn run_arguments(job: &Job, out: &Path, extra_args: &[String]) -> Vec<String> {
    let mut args = vec![
        "run".to_string(),
        job.spec.clone(),
        "-s".to_string(),
        job.subject.clone(),
        // One mapping serves every scope of the configuration (as in the reference), so the
        // run drops the keys its selected versions do not use instead of refusing them.
        "--ignore-unused-assignments".to_string(),
    ];
    for (k, v) in &job.assignments {
        args.push("-a".to_string());
        args.push(format!("{k}={v}"));
    }
    args.push("-o".to_string());
    args.push(out.display().to_string());
    args.extend(extra_args.iter().cloned());
    args
}

async fn run_job(job: Job, options: &BatchOptions) -> JobResult {
    let started = Instant::now();
    let out = report_path(&options.out_dir, &job);
    let _ = std::fs::remove_file(&out);
    let prefix = if options.prefix_scope {
        format!("[{}/{}] ", job.subject, job.scope)
    } else {
        format!("[{}] ", job.subject)
    };
    let args = run_arguments(&job, &out, &options.extra_args);
    match &options.runner {
        JobRunner::Process(exe) => run_child(job, exe, args, options, prefix, out, started).await,
        JobRunner::InProcess(runner) => {
            run_task(job, runner, args, options, prefix, out, started).await
        }
    }
}

/// A job as a task of this process.
async fn run_task(
    job: Job,
    runner: &Arc<dyn SubjectRunner>,
    args: Vec<String>,
    options: &BatchOptions,
    prefix: String,
    out: PathBuf,
    started: Instant,
) -> JobResult {
    // A child of the batch's token: Ctrl-C of the batch stops every subject at once.
    let cancel = options.cancel.child_token();
    let mut task = tokio::spawn(runner.run(args, prefix.clone(), cancel.clone()));
    let stopped = tokio::select! {
        joined = &mut task => Err(joined),
        _ = tokio::time::sleep(job.timeout) => Ok(JobEnd::TimedOut),
        _ = options.cancel.cancelled() => Ok(JobEnd::Cancelled),
    };
    let (stop, joined) = match stopped {
        Err(joined) => (None, Some(joined)),
        Ok(stop) => {
            if stop == JobEnd::TimedOut {
                eprintln!(
                    "{prefix}time limit of {} s reached; stopping (unfinished testcases become ABORT)",
                    job.timeout.as_secs()
                );
            }
            cancel.cancel();
            match tokio::time::timeout(options.grace, &mut task).await {
                Ok(joined) => (Some(stop), Some(joined)),
                Err(_) => {
                    eprintln!(
                        "{prefix}not ended {} s after being stopped; abandoning it",
                        options.grace.as_secs()
                    );
                    task.abort();
                    let _ = task.await;
                    (Some(stop), None)
                }
            }
        }
    };
    let (end, report) = match joined {
        Some(Ok(ended)) => (
            stop.unwrap_or(JobEnd::Exited(Some(ended.code))),
            ended.report,
        ),
        Some(Err(err)) => {
            let message = match err.try_into_panic() {
                Ok(payload) => payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "the run panicked".to_string()),
                Err(err) => err.to_string(),
            };
            eprintln!("{prefix}internal error: {message}");
            (JobEnd::Crashed(format!("internal error: {message}")), None)
        }
        None => (stop.unwrap_or(JobEnd::Cancelled), None),
    };
    // The report counts when the run wrote its file (as a child's report is read back).
    let read = match report {
        Some(report) if out.exists() => Ok(report),
        _ => Err(match &end {
            JobEnd::TimedOut => "no report (stopped after the time limit)".to_string(),
            other => no_report(other),
        }),
    };
    result(job, end, out, read, started)
}

/// A job as a child process.
async fn run_child(
    job: Job,
    exe: &Path,
    args: Vec<String>,
    options: &BatchOptions,
    prefix: String,
    out: PathBuf,
    started: Instant,
) -> JobResult {
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(&args)
        .current_dir(&options.cwd)
        .env("CI", "true")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("cannot start {}: {e}", exe.display());
            eprintln!("{prefix}{msg}");
            return finish(job, JobEnd::LaunchFailed(msg), out, started);
        }
    };
    let pid = child.id();
    let mut pumps = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let p = prefix.clone();
        pumps.push(tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                println!("{p}{line}");
            }
        }));
    }
    if let Some(stderr) = child.stderr.take() {
        let p = prefix.clone();
        pumps.push(tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{p}{line}");
            }
        }));
    }
    let stopped = tokio::select! {
        status = child.wait() => Err(status),
        _ = tokio::time::sleep(job.timeout) => Ok(JobEnd::TimedOut),
        _ = options.cancel.cancelled() => Ok(JobEnd::Cancelled),
    };
    let end = match stopped {
        Err(status) => JobEnd::Exited(status.ok().and_then(|s| s.code())),
        Ok(end) => {
            if end == JobEnd::TimedOut {
                eprintln!(
                    "{prefix}time limit of {} s reached; stopping (unfinished testcases become ABORT)",
                    job.timeout.as_secs()
                );
            }
            send_signal(pid, libc::SIGINT, false);
            if tokio::time::timeout(options.grace, child.wait())
                .await
                .is_err()
            {
                eprintln!(
                    "{prefix}no exit {} s after SIGINT; killing",
                    options.grace.as_secs()
                );
                send_signal(pid, libc::SIGKILL, true);
                let _ = child.wait().await;
            }
            end
        }
    };
    for pump in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(5), pump).await;
    }
    finish(job, end, out, started)
}

/// Why a job has no report, from how it ended.
fn no_report(end: &JobEnd) -> String {
    match end {
        JobEnd::LaunchFailed(m) | JobEnd::Crashed(m) => m.clone(),
        JobEnd::Exited(Some(code)) => format!("no report (the run exited with code {code})"),
        JobEnd::Exited(None) => "no report (the run was killed by a signal)".to_string(),
        JobEnd::TimedOut => "no report (killed after the time limit)".to_string(),
        JobEnd::Cancelled => "no report (cancelled)".to_string(),
    }
}

/// The result of a child's job: its report read back from the file it wrote.
fn finish(job: Job, end: JobEnd, out: PathBuf, started: Instant) -> JobResult {
    let read = if out.exists() {
        match report::read_report_file(&out) {
            Ok(mut reports) if reports.len() == 1 => Ok(reports.remove(0)),
            Ok(reports) => Err(format!(
                "{} holds {} reports, expected one",
                out.display(),
                reports.len()
            )),
            Err(e) => Err(e.to_string()),
        }
    } else {
        Err(no_report(&end))
    };
    result(job, end, out, read, started)
}

/// A job's result from its report (or why there is none).
fn result(
    job: Job,
    end: JobEnd,
    out: PathBuf,
    read: Result<Report, String>,
    started: Instant,
) -> JobResult {
    let (report, problem) = match read {
        Ok(r) => (Some(r), None),
        Err(p) => (None, Some(p)),
    };
    // One summary gives both the worst `main` result and the one with the waived FAILs passed.
    let (main, gated) = match &report {
        Some(r) => {
            let summaries = report::summarize(r, None, None);
            let main = report::main_outcome(&summaries);
            let gated = report::main_outcome(&report::waived_summaries(r, &summaries));
            (Some(main), Some(gated))
        }
        None => (None, None),
    };
    JobResult {
        report_path: report.as_ref().map(|_| out),
        job,
        end,
        report,
        main,
        gated,
        problem,
        duration: started.elapsed(),
    }
}
