//! Running the `sonobuoy` binary the way the reference does: pre-delete, `run --wait` with the
//! mode and execution-mode arguments, `retrieve -x`, post-delete, under an overall timeout and
//! the run's cancellation, polling `sonobuoy status --json` for progress.

use super::results::{RESULTS_FILE, ResultItem, read_tree};
use crate::kube::Cluster;
use crate::probes::external_tool::{kill_child_group, spawn_in_own_group};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Extra arguments for `sonobuoy run` for an execution mode (`parallel`, `serial`, `dry`).
pub fn execution_mode_args(mode: &str) -> Result<Vec<String>, String> {
    match mode {
        "parallel" => Ok(vec!["--e2e-parallel=true".into()]),
        "serial" => Ok(vec![]),
        "dry" => Ok(vec!["--plugin-env".into(), "e2e.E2E_DRYRUN=true".into()]),
        other => Err(format!(
            "execution_mode `{other}` is not one of parallel, serial, dry"
        )),
    }
}

/// The `sonobuoy` binary: the configured one, else `sonobuoy` in PATH, else `~/.local/bin/sonobuoy`.
pub fn find_sonobuoy(configured: Option<&Path>) -> Result<PathBuf, String> {
    let hint = "install sonobuoy (https://github.com/vmware-tanzu/sonobuoy/releases, v0.57.3 is what the reference CI uses) into PATH or ~/.local/bin";
    let home_bin: Vec<(&str, PathBuf)> = std::env::var_os("HOME")
        .map(|home| ("~/.local/bin", PathBuf::from(home).join(".local/bin")))
        .into_iter()
        .collect();
    crate::probes::external_tool::find_tool("sonobuoy", configured, &home_bin, hint)
}

/// One sonobuoy-driven check.
#[derive(Debug, Clone)]
pub struct SonobuoyJob {
    /// Testcase id.
    pub id: String,
    /// Arguments for `sonobuoy run` (after `--wait`), execution mode included.
    pub run_args: Vec<String>,
    /// Directory for `retrieve -x`.
    pub result_dir: PathBuf,
}

/// Runs one command to completion, stdout and stderr captured.
async fn sonobuoy_cmd(bin: &Path, kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
    let out = tokio::process::Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "`sonobuoy {}` failed ({}){}",
            args.join(" "),
            out.status,
            if last.is_empty() {
                String::new()
            } else {
                format!(": {}", last.trim())
            }
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A progress line from `sonobuoy status --json` output.
pub fn status_line(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json.trim()).ok()?;
    let plugins = v["plugins"].as_array()?;
    let parts: Vec<String> = plugins
        .iter()
        .map(|p| {
            let name = p["plugin"].as_str().unwrap_or("?");
            let status = p["status"].as_str().unwrap_or("?");
            let prog = &p["progress"];
            match (prog["completed"].as_u64(), prog["total"].as_u64()) {
                (Some(c), Some(t)) => {
                    let failed = prog["failures"].as_array().map_or(0, Vec::len);
                    format!("{name} {status} {c}/{t} ({failed} failed)")
                }
                _ => format!("{name} {status}"),
            }
        })
        .collect();
    Some(format!("sonobuoy: {}", parts.join(", ")))
}

/// Runs the whole sequence once and reads the results tree. `Err` = ABORT reason.
pub async fn orchestrate(
    cluster: &Cluster,
    job: &SonobuoyJob,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<ResultItem, String> {
    let bin = find_sonobuoy(cluster.options.sonobuoy.as_deref())?;
    let kc = cluster.kubeconfig.as_path();
    sonobuoy_cmd(&bin, kc, &["delete", "--wait"]).await?;
    let result = run_and_retrieve(cluster, &bin, job, timeout, cancel).await;
    // Always clean up; keep the first error.
    let cleanup = if cancel.is_cancelled() {
        // Little time is left after an interrupt: start the delete and give it a moment.
        tokio::time::timeout(
            Duration::from_millis(1500),
            sonobuoy_cmd(&bin, kc, &["delete", "--wait"]),
        )
        .await
        .unwrap_or_else(|_| Err("cleanup `sonobuoy delete --wait` did not finish in time".into()))
    } else {
        tokio::time::timeout(
            Duration::from_secs(600),
            sonobuoy_cmd(&bin, kc, &["delete", "--wait"]),
        )
        .await
        .unwrap_or_else(|_| Err("cleanup `sonobuoy delete --wait` timed out".into()))
    };
    let tree = result?;
    if let (Err(e), Some(p)) = (&cleanup, &cluster.options.progress) {
        p(format!("WARNING: {e}"));
    }
    Ok(tree)
}

async fn run_and_retrieve(
    cluster: &Cluster,
    bin: &Path,
    job: &SonobuoyJob,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<ResultItem, String> {
    let kc = cluster.kubeconfig.as_path();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--kubeconfig")
        .arg(kc)
        .arg("run")
        .arg("--wait")
        .args(&job.run_args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = spawn_in_own_group(&mut cmd, bin)?;
    let mut stderr = child.stderr.take();
    let err_task = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut buf = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut buf).await;
        }
        buf
    });
    let deadline = tokio::time::Instant::now() + timeout;
    let poll = cluster.options.sonobuoy_poll.max(Duration::from_millis(50));
    let status = loop {
        tokio::select! {
            s = child.wait() => break s.map_err(|e| format!("waiting for sonobuoy: {e}"))?,
            _ = cancel.cancelled() => {
                kill_child_group(&child);
                let _ = child.wait().await;
                return Err("interrupted; sonobuoy run stopped".into());
            }
            _ = tokio::time::sleep_until(deadline) => {
                kill_child_group(&child);
                let _ = child.wait().await;
                return Err(format!("sonobuoy run did not finish within {}s", timeout.as_secs()));
            }
            _ = tokio::time::sleep(poll) => {
                if let Some(p) = &cluster.options.progress
                    && let Ok(out) = sonobuoy_cmd(bin, kc, &["status", "--json"]).await
                    && let Some(line) = status_line(&out)
                {
                    p(format!("{}: {line}", job.id));
                }
            }
        }
    };
    let err_text = err_task.await.unwrap_or_default();
    if !status.success() {
        let last = err_text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "`sonobuoy run` failed ({status}){}",
            if last.is_empty() {
                String::new()
            } else {
                format!(": {}", last.trim())
            }
        ));
    }
    // Results of an earlier run must not be judged as this run's: start from an empty directory.
    empty_dir(&job.result_dir)?;
    let dir = job.result_dir.to_string_lossy().into_owned();
    tokio::time::timeout(
        deadline.saturating_duration_since(tokio::time::Instant::now()) + Duration::from_secs(60),
        sonobuoy_cmd(bin, kc, &["retrieve", "-x", &dir]),
    )
    .await
    .map_err(|_| "`sonobuoy retrieve` timed out".to_string())??;
    let file = job.result_dir.join(RESULTS_FILE);
    if !file.is_file() {
        return Err(format!("sonobuoy retrieved no {}", file.display()));
    }
    read_tree(&file)
}

/// Creates `dir`, or empties it when it exists (a results directory of an earlier run).
pub fn empty_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| format!("cannot empty the results directory {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}
