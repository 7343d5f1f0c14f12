//! Running batch jobs: each (scope, subject) as a child `scs-check run` in its own process
//! group, at most `workers` at once, with its time limit, SIGINT then SIGKILL, prefixed output,
//! and the result read back from the report it wrote.

use super::Job;
use crate::exit::ExitStatus;
use crate::report::{self, Report};
use crate::verdict::Aggregate;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

/// How to run the jobs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Our binary.
    pub exe: PathBuf,
    /// Working directory of the children (the configuration's directory).
    pub cwd: PathBuf,
    /// Where per-subject reports go.
    pub out_dir: PathBuf,
    /// Parallel children.
    pub workers: usize,
    /// Extra arguments for every `run` (such as `-d DATE`, `-S LIST`, `--timeout N`).
    pub extra_args: Vec<String>,
    /// Time between SIGINT and SIGKILL for a child past its timeout.
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
    /// Why there is no report, when there is none.
    pub problem: Option<String>,
    /// Wall-clock time.
    pub duration: Duration,
}

impl JobResult {
    /// The worst `main` result with the FAILs the run waived (`batch --waivers`) counted as
    /// passed: what the exit status goes by. Without waivers, [`JobResult::main`].
    pub fn gate(&self) -> Option<Aggregate> {
        let report = self.report.as_ref()?;
        let summaries = report::summarize(report, None, None);
        Some(report::main_outcome(&report::waived_summaries(
            report, &summaries,
        )))
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

async fn run_job(job: Job, options: &BatchOptions) -> JobResult {
    let started = Instant::now();
    let out = report_path(&options.out_dir, &job);
    let _ = std::fs::remove_file(&out);
    let prefix = if options.prefix_scope {
        format!("[{}/{}] ", job.subject, job.scope)
    } else {
        format!("[{}] ", job.subject)
    };
    let mut cmd = tokio::process::Command::new(&options.exe);
    cmd.arg("run").arg(&job.spec).args(["-s", &job.subject]);
    // One mapping serves every scope of the configuration (as in the reference), so the child
    // drops the keys its selected versions do not use instead of refusing them (see `run`).
    cmd.arg("--ignore-unused-assignments");
    for (k, v) in &job.assignments {
        cmd.arg("-a").arg(format!("{k}={v}"));
    }
    cmd.arg("-o")
        .arg(&out)
        .args(&options.extra_args)
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
            let msg = format!("cannot start {}: {e}", options.exe.display());
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
        Err(match &end {
            JobEnd::LaunchFailed(m) => m.clone(),
            JobEnd::Exited(Some(code)) => format!("no report (the run exited with code {code})"),
            JobEnd::Exited(None) => "no report (the run was killed by a signal)".to_string(),
            JobEnd::TimedOut => "no report (killed after the time limit)".to_string(),
            JobEnd::Cancelled => "no report (cancelled)".to_string(),
        })
    };
    let (report, problem) = match read {
        Ok(r) => (Some(r), None),
        Err(p) => (None, Some(p)),
    };
    let main = report
        .as_ref()
        .map(|r| report::main_outcome(&report::summarize(r, None, None)));
    JobResult {
        report_path: report.as_ref().map(|_| out),
        job,
        end,
        report,
        main,
        problem,
        duration: started.elapsed(),
    }
}
