//! Running Tempest: finding the binary, the job (workspace, list, limits), `tempest run` in its
//! own process group under the overall timeout and the run's cancellation, progress lines from
//! its output, and the results it leaves for judging.

use super::{ProgressSink, accounts_yaml, tempest_conf};
use crate::openstack::config::CloudConfig;
use crate::probes::external_tool::{kill_child_group, kill_group, spawn_in_own_group};
use crate::probes::iaas::tempest_judge::{self, ListedTest};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The `tempest` binary: the configured one, else `tempest` in PATH.
pub fn find_tempest(configured: Option<&Path>) -> Result<PathBuf, String> {
    let hint = "install Tempest (Debian: `apt-get install tempest`, 33.0.0 matches Zed; or `pip install tempest`) into PATH, or pass --tempest PATH";
    crate::probes::external_tool::find_tool("tempest", configured, &[], hint)
}

/// Everything one Tempest run needs.
#[derive(Debug, Clone)]
pub struct TempestJob {
    /// The `tempest` binary.
    pub bin: PathBuf,
    /// The fresh workspace directory (must not exist yet).
    pub workspace: PathBuf,
    /// The tests to run and judge.
    pub list: Vec<ListedTest>,
    /// Primary account.
    pub primary: CloudConfig,
    /// Alt account.
    pub alt: CloudConfig,
    /// Catalog service types, when known.
    pub services: Option<Vec<String>>,
    /// Text appended to `tempest.conf`.
    pub extra_conf: String,
    /// `--concurrency`.
    pub concurrency: usize,
}

/// Kills the child's process group when the run is dropped before the child ended (the
/// executor gave up on the probe): `kill_on_drop` alone would leave Tempest's workers running.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            kill_group(pid);
        }
    }
}

/// Removes a file (the accounts with their passwords) however the run ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// A progress line for a line of `tempest run` output: the per-test result lines
/// (`{0} tempest.api…test_x [0.5s] ... ok`), counted.
pub fn progress_line(line: &str, done: &mut usize, total: usize) -> Option<String> {
    let l = line.trim();
    let result = ["... ok", "... FAILED", "... SKIPPED"]
        .iter()
        .find(|m| l.contains(*m) || l.starts_with(&m[4..]))?;
    *done += 1;
    // `setUpClass (tempest.api….Class)` names the class in parentheses: `Class.setUpClass`.
    let words: Vec<&str> = l.split_whitespace().collect();
    let class_setup = words
        .iter()
        .position(|w| *w == "setUpClass" || *w == "tearDownClass")
        .and_then(|i| Some((words[i], words.get(i + 1)?)));
    let owned;
    let name = match class_setup {
        Some((what, class)) => {
            owned = format!("{}.{what}", class.trim_matches(|c| c == '(' || c == ')'));
            owned.as_str()
        }
        None => words
            .iter()
            .find(|w| w.starts_with("tempest."))
            .copied()
            .unwrap_or(""),
    };
    let short = name.split('[').next().unwrap_or(name);
    let short = short.rsplit('.').take(2).collect::<Vec<_>>();
    let short: Vec<&str> = short.into_iter().rev().collect();
    Some(format!(
        "tempest {done}/{total}: {} {}",
        short.join("."),
        result.trim_start_matches("... ").to_lowercase()
    ))
}

/// What a finished Tempest command left: its exit status, the last line of its error output
/// (else of its output), and its whole output when asked for.
struct CmdOutput {
    status: std::process::ExitStatus,
    tail: String,
    stdout: Vec<String>,
}

/// Runs one command of Tempest in the workspace, killed on timeout or cancellation; keeps the
/// whole output when `keep_stdout`.
async fn tempest_cmd(
    job: &TempestJob,
    args: &[&std::ffi::OsStr],
    deadline: tokio::time::Instant,
    cancel: &CancellationToken,
    progress: Option<&ProgressSink>,
    total: usize,
    keep_stdout: bool,
) -> Result<CmdOutput, String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let mut cmd = tokio::process::Command::new(&job.bin);
    cmd.args(args)
        .current_dir(&job.workspace)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn_in_own_group(&mut cmd, &job.bin)?;
    let mut guard = GroupGuard(child.id());
    let stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let err_task = tokio::spawn(async move {
        let mut buf = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut buf).await;
        }
        buf
    });
    let sink = progress.cloned();
    let out_task = tokio::spawn(async move {
        let mut last = String::new();
        let mut kept = Vec::new();
        let mut done = 0;
        if let Some(out) = stdout {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let (Some(s), Some(p)) = (&sink, progress_line(&line, &mut done, total)) {
                    (s.0)(p);
                }
                if keep_stdout {
                    kept.push(line.clone());
                }
                if !line.trim().is_empty() {
                    last = line;
                }
            }
        }
        (last, kept)
    });
    let what = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let status = tokio::select! {
        s = child.wait() => {
            guard.0 = None;
            s.map_err(|e| format!("waiting for tempest: {e}"))?
        }
        _ = cancel.cancelled() => {
            kill_child_group(&child);
            let _ = child.wait().await;
            return Err(format!("interrupted; `tempest {what}` stopped"));
        }
        _ = tokio::time::sleep_until(deadline) => {
            kill_child_group(&child);
            let _ = child.wait().await;
            return Err(format!("`tempest {what}` did not finish within the probe's time budget; stopped"));
        }
    };
    let err = err_task.await.unwrap_or_default();
    let (out, stdout) = out_task.await.unwrap_or_default();
    let tail = match last_line(&err) {
        l if l.is_empty() => out,
        l => l,
    };
    Ok(CmdOutput {
        status,
        tail,
        stdout,
    })
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs Tempest for a job and judges the newest stestr run. `Err` = ABORT reason.
pub async fn orchestrate(
    job: &TempestJob,
    timeout: Duration,
    cancel: &CancellationToken,
    progress: Option<&ProgressSink>,
) -> Result<tempest_judge::Judgement, String> {
    if job.list.is_empty() {
        return Err("the test list has no tests (for the selected areas); nothing to run".into());
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let parent = job
        .workspace
        .parent()
        .ok_or("the workspace has no parent directory")?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let init = {
        let mut init = job.clone();
        init.workspace = parent.to_path_buf();
        tempest_cmd(
            &init,
            &["init".as_ref(), job.workspace.as_os_str()],
            deadline,
            cancel,
            None,
            0,
            false,
        )
        .await?
    };
    if !init.status.success() {
        return Err(format!(
            "`tempest init` failed ({}): {}",
            init.status, init.tail
        ));
    }
    // The installed Tempest's own ids for the listed tests (see `resolve_ids`).
    let listing = tempest_cmd(
        job,
        &["run".as_ref(), "--list-tests".as_ref()],
        deadline,
        cancel,
        None,
        0,
        true,
    )
    .await?;
    let installed: Vec<String> = listing
        .stdout
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("tempest."))
        .map(str::to_string)
        .collect();
    if !listing.status.success() || installed.is_empty() {
        return Err(format!(
            "`tempest run --list-tests` listed no tests ({}): {}",
            listing.status, listing.tail
        ));
    }
    let (load_ids, not_installed) = tempest_judge::resolve_ids(&job.list, &installed);
    if load_ids.is_empty() {
        return Err(format!(
            "none of the {} listed tests is in the installed Tempest ({} tests); is it a Tempest for this list?",
            job.list.len(),
            installed.len()
        ));
    }
    let etc = job.workspace.join("etc");
    std::fs::create_dir_all(&etc).map_err(|e| format!("cannot create {}: {e}", etc.display()))?;
    let accounts = etc.join("accounts.yaml");
    let conf = etc.join("tempest.conf");
    let list_file = etc.join("scs-0128-tests.lst");
    let logs = job.workspace.join("logs");
    let _ = std::fs::remove_file(&accounts);
    let _remove_accounts = RemoveOnDrop(accounts.clone());
    write_private(&accounts, &accounts_yaml(&[&job.primary, &job.alt])?)?;
    let text = tempest_conf(
        &job.primary,
        job.services.as_deref(),
        &accounts,
        &logs,
        &job.extra_conf,
    );
    let result = async {
        std::fs::write(&conf, text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        let ids: String = load_ids.iter().map(|t| format!("{t}\n")).collect();
        std::fs::write(&list_file, ids)
            .map_err(|e| format!("cannot write {}: {e}", list_file.display()))?;
        let concurrency = job.concurrency.max(1).to_string();
        let CmdOutput { status, tail, .. } = tempest_cmd(
            job,
            &[
                "run".as_ref(),
                "--config-file".as_ref(),
                conf.as_os_str(),
                "--load-list".as_ref(),
                list_file.as_os_str(),
                "--concurrency".as_ref(),
                concurrency.as_ref(),
            ],
            deadline,
            cancel,
            progress,
            load_ids.len(),
            false,
        )
        .await?;
        let file = tempest_judge::locate_results(&job.workspace).map_err(|_| {
            format!(
                "`tempest run` left no results ({status}){}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            )
        })?;
        let results = tempest_judge::read_results(&file)?;
        if results.is_empty() && !status.success() {
            return Err(format!(
                "`tempest run` failed ({status}) without test results: {tail}"
            ));
        }
        let mut judgement = tempest_judge::judge(&job.list, &results);
        judgement.not_installed = not_installed
            .into_iter()
            .filter(|t| judgement.missing.contains(t))
            .collect();
        Ok(judgement)
    }
    .await;
    // The passwords do not outlive the run (also when this future is dropped: the guard).
    result
}
