//! Sonobuoy for the KaaS e2e checks (scs-0201 conformance, scs-0219 networking): running the
//! `sonobuoy` binary the way the reference does (pre-delete, `run --wait` with the mode and
//! execution-mode arguments, `retrieve -x`, post-delete) under an overall timeout and the run's
//! cancellation, polling `sonobuoy status --json` for progress, and judging
//! `plugins/e2e/sonobuoy_results.yaml` with the okToFail list in
//! `testcases/kaas/sonobuoy-ok-to-fail.yaml`.
//!
//! One probe ([`probe`]) answers both testcases. When both are requested they share ONE e2e
//! pass whose focus is the union of theirs ([`SHARED_RUN_ARGS`]), and each is judged on the
//! tests its own focus selects ([`SonobuoyCheck::selects`]); alone, a testcase runs just its own
//! focus and is judged on the whole tree, as in the reference.

use crate::kube::Cluster;
use crate::probes::{Finding, Outcome, ProbeContext};
use regex::Regex;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const OK_TO_FAIL: &str = include_str!("../../../testcases/kaas/sonobuoy-ok-to-fail.yaml");
/// Where the built-in okToFail list comes from (for messages).
pub const OK_TO_FAIL_ORIGIN: &str = "testcases/kaas/sonobuoy-ok-to-fail.yaml";
/// Path of the results tree inside a retrieved results directory.
pub const RESULTS_FILE: &str = "plugins/e2e/sonobuoy_results.yaml";

/// One okToFail exception.
#[derive(Debug, Clone)]
pub struct OkToFail {
    /// Searched anywhere in the test name.
    pub regex: Regex,
    /// Why the failure is acceptable.
    pub reason: String,
}

/// Parses an okToFail file strictly: only `okToFail`, a list of maps with exactly non-empty
/// `regex` and `reason`. Errors name `origin:line:column`.
pub fn parse_ok_to_fail(text: &str, origin: &str) -> Result<Vec<OkToFail>, String> {
    use serde_saphyr::Spanned;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(rename = "okToFail")]
        ok_to_fail: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        regex: Spanned<String>,
        reason: Spanned<String>,
    }
    let file: File = serde_saphyr::from_str(text).map_err(|e| {
        format!(
            "{origin}: {}",
            e.to_string().lines().next().unwrap_or_default()
        )
    })?;
    let at =
        |s: &Spanned<String>| format!("{origin}:{}:{}", s.referenced.line(), s.referenced.column());
    file.ok_to_fail
        .into_iter()
        .map(|e| {
            for (key, field) in [("regex", &e.regex), ("reason", &e.reason)] {
                if field.value.trim().is_empty() {
                    return Err(format!("{}: `{key}` must not be empty", at(field)));
                }
            }
            let regex = Regex::new(&e.regex.value).map_err(|err| {
                format!(
                    "{}: bad regex: {}",
                    at(&e.regex),
                    err.to_string().lines().last().unwrap_or_default().trim()
                )
            })?;
            Ok(OkToFail {
                regex,
                reason: e.reason.value,
            })
        })
        .collect()
}

/// The okToFail list built into the binary.
pub fn builtin_ok_to_fail() -> Result<Vec<OkToFail>, String> {
    parse_ok_to_fail(OK_TO_FAIL, OK_TO_FAIL_ORIGIN)
}

/// One node of `sonobuoy_results.yaml`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ResultItem {
    /// Name (plugin, file, suite or test name).
    #[serde(default)]
    pub name: String,
    /// Status (`passed`, `failed`, `skipped`, ...).
    #[serde(default)]
    pub status: Option<String>,
    /// Children.
    #[serde(default)]
    pub items: Vec<ResultItem>,
}

/// Counts of a judged results tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Leaves with status `passed`.
    pub passed: usize,
    /// Failed leaves not excused.
    pub failed: Vec<String>,
    /// Failed leaves excused by okToFail: (test, reason).
    pub failed_ok: Vec<(String, String)>,
    /// Skipped leaves (also the default status).
    pub skipped: usize,
    /// Leaves that ended in another state (`timeout`, `error`, ...): (test, status).
    pub other: Vec<(String, String)>,
    /// Errors not attributed to a test: a plugin, file or suite reported `failed` (or another
    /// state) although none of its tests failed, e.g. the e2e plugin itself errored.
    pub errors: Vec<String>,
}

impl Judgement {
    /// The verdict: FAIL when a test failed unexcused; else ABORT when a test ended in another
    /// state, sonobuoy reported an error outside the tests, or no test passed; else PASS.
    pub fn verdict(&self) -> crate::verdict::Verdict {
        use crate::verdict::Verdict;
        if !self.failed.is_empty() {
            Verdict::Fail
        } else if !self.other.is_empty() || !self.errors.is_empty() || self.passed == 0 {
            Verdict::Abort
        } else {
            Verdict::Pass
        }
    }
    /// PASS ⇔ at least one test passed, no unexcused failure, no test in another state and no
    /// error outside the tests.
    pub fn passes(&self) -> bool {
        self.verdict() == crate::verdict::Verdict::Pass
    }
    /// The summary line.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} passed, {} failed, {} failed_ok, {} skipped",
            self.passed,
            self.failed.len(),
            self.failed_ok.len(),
            self.skipped
        );
        if !self.other.is_empty() {
            s.push_str(&format!(", {} in another state", self.other.len()));
        }
        if !self.errors.is_empty() {
            s.push_str(&format!(", {} error(s)", self.errors.len()));
        }
        s
    }
}

/// Judges a results tree: the leaves exactly three levels below the root (file → suite →
/// test); a `failed` leaf matching an okToFail regex counts as `failed_ok`. A plugin, file or
/// suite whose status is neither `passed`, `complete` nor `skipped` while every test below it
/// passed or was skipped counts as an error.
pub fn judge_tree(root: &ResultItem, ok: &[OkToFail]) -> Judgement {
    judge_tests(root, ok, None)
}

/// Like [`judge_tree`], but only the tests whose name `selected` matches are counted (a shared
/// e2e pass judged for one testcase); the plugin, file and suite errors count as before.
pub fn judge_tests(root: &ResultItem, ok: &[OkToFail], selected: Option<&Regex>) -> Judgement {
    let mut j = Judgement::default();
    let unfinished_below = |item: &ResultItem, depth: usize| -> bool {
        fn walk(i: &ResultItem, d: usize) -> bool {
            if d == 0 {
                return !matches!(i.status.as_deref(), None | Some("passed" | "skipped"));
            }
            i.items.iter().any(|c| walk(c, d - 1))
        }
        walk(item, depth)
    };
    let container = |item: &ResultItem, what: &str, depth: usize, j: &mut Judgement| {
        if let Some(status) = item.status.as_deref()
            && !matches!(status, "passed" | "complete" | "skipped" | "")
            && !unfinished_below(item, depth)
        {
            j.errors
                .push(format!("{what} \"{}\" reports `{status}`", item.name));
        }
    };
    container(root, "plugin", 3, &mut j);
    for file in &root.items {
        container(file, "file", 2, &mut j);
        for suite in &file.items {
            container(suite, "suite", 1, &mut j);
            for test in &suite.items {
                if selected.is_some_and(|r| !r.is_match(&test.name)) {
                    continue;
                }
                match test.status.as_deref().unwrap_or("skipped") {
                    "passed" => j.passed += 1,
                    "skipped" => j.skipped += 1,
                    "failed" => match ok.iter().find(|o| o.regex.is_match(&test.name)) {
                        Some(o) => j.failed_ok.push((test.name.clone(), o.reason.clone())),
                        None => j.failed.push(test.name.clone()),
                    },
                    other => j.other.push((test.name.clone(), other.to_string())),
                }
            }
        }
    }
    j
}

/// Reads and judges a results file.
pub fn judge_file(path: &Path, ok: &[OkToFail]) -> Result<Judgement, String> {
    Ok(judge_tree(&read_tree(path)?, ok))
}

/// Reads a results file (`sonobuoy_results.yaml`); errors name the file.
pub fn read_tree(path: &Path) -> Result<ResultItem, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| {
        format!(
            "{}: {}",
            path.display(),
            e.to_string().lines().next().unwrap_or_default()
        )
    })
}

/// Finds the results file for a path: the file itself, a results directory, or a `.tar.gz`
/// tarball (extracted into `scratch` with the system `tar`).
pub fn locate_results(path: &Path, scratch: &Path) -> Result<PathBuf, String> {
    if path.is_dir() {
        let f = path.join(RESULTS_FILE);
        return if f.is_file() {
            Ok(f)
        } else {
            Err(format!(
                "{}: no {RESULTS_FILE} in this directory",
                path.display()
            ))
        };
    }
    if !path.is_file() {
        return Err(format!("{}: no such file or directory", path.display()));
    }
    let name = path.to_string_lossy();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar") {
        let status = std::process::Command::new("tar")
            .arg("-xf")
            .arg(path)
            .arg("-C")
            .arg(scratch)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run tar to unpack {}: {e}", path.display()))?;
        if !status.status.success() {
            return Err(format!(
                "{}: tar failed: {}",
                path.display(),
                String::from_utf8_lossy(&status.stderr).trim()
            ));
        }
        let f = scratch.join(RESULTS_FILE);
        return if f.is_file() {
            Ok(f)
        } else {
            Err(format!(
                "{}: the tarball has no {RESULTS_FILE}",
                path.display()
            ))
        };
    }
    Ok(path.to_path_buf())
}

/// The outcome for a judged tree (see [`Judgement::verdict`]).
pub fn outcome_of(id: &str, j: &Judgement) -> Outcome {
    use crate::verdict::Verdict;
    let mut evidence: Vec<Finding> = j
        .failed
        .iter()
        .map(|t| Finding::new(format!("test \"{t}\""), "failed"))
        .collect();
    evidence.extend(j.failed_ok.iter().map(|(t, r)| {
        Finding::new(
            format!("test \"{t}\""),
            format!("failed, excused by okToFail: {r}"),
        )
    }));
    evidence.extend(j.other.iter().map(|(t, status)| {
        Finding::new(
            format!("test \"{t}\""),
            format!("ended in state `{status}`, neither passed nor failed"),
        )
    }));
    evidence.extend(
        j.errors
            .iter()
            .map(|e| Finding::new("sonobuoy results", e.clone())),
    );
    let summary = format!("sonobuoy reports {}", j.summary());
    match j.verdict() {
        Verdict::Pass => Outcome::pass(id, summary),
        Verdict::Fail => Outcome::fail(id, summary),
        _ => {
            let why = if !j.other.is_empty() {
                format!(
                    "{} test(s) ended neither passed nor failed (e.g. `{}`)",
                    j.other.len(),
                    j.other[0].1
                )
            } else if !j.errors.is_empty() {
                format!(
                    "sonobuoy reports an error outside the tests: {}",
                    j.errors[0]
                )
            } else {
                "no test ran and passed".to_string()
            };
            Outcome::abort(id, format!("{summary}: {why}"))
        }
    }
    .with_evidence(evidence)
}

// ---------------------------------------------------------------------------------------------
// Orchestration

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

fn kill_group(child: &tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        // SAFETY: killpg only sends a signal to the process group we created for the child.
        unsafe {
            libc::killpg(pid as libc::pid_t, libc::SIGKILL);
        }
    }
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
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
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
                kill_group(&child);
                let _ = child.wait().await;
                return Err("interrupted; sonobuoy run stopped".into());
            }
            _ = tokio::time::sleep_until(deadline) => {
                kill_group(&child);
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

/// One Sonobuoy-based testcase: what the reference passes to `sonobuoy run` for it alone, and
/// which tests of a shared pass are its own.
#[derive(Debug, Clone, Copy)]
pub struct SonobuoyCheck {
    /// Testcase id.
    pub id: &'static str,
    /// `sonobuoy run` arguments besides the execution mode when it runs alone.
    pub run_args: &'static [&'static str],
    /// Results directory below `subject_root` when it runs alone.
    pub result_dir: &'static str,
    /// Regex over test names: the tests its own focus selects.
    pub focus: &'static str,
}

impl SonobuoyCheck {
    /// The regex of [`SonobuoyCheck::focus`].
    pub fn selects(&self) -> Regex {
        Regex::new(self.focus).expect("built-in focus regex")
    }
}

/// The checks sharing one pass, in the order of [`SHARED_FOCUS`].
pub const CHECKS: [SonobuoyCheck; 2] = [
    super::scs_0201_cncf_conformance::CHECK,
    super::scs_0219_networking::CHECK,
];

/// The focus of a shared pass: certified conformance ∪ the NetworkPolicy tests.
pub const SHARED_FOCUS: &str = r"\[Conformance\]|NetworkPolicy";

/// `sonobuoy run` arguments (besides the execution mode) of the pass both checks share:
/// the certified-conformance mode (and its flake attempts) with the focus widened to the
/// NetworkPolicy tests.
pub const SHARED_RUN_ARGS: &[&str] = &[
    "--mode=certified-conformance",
    "--e2e-focus",
    SHARED_FOCUS,
    "--plugin-env",
    "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
];

/// Results directory below `subject_root` of the shared pass.
pub const SHARED_RESULT_DIR: &str = "sono-results-e2e";

/// Name of the probe answering both Sonobuoy-based testcases.
pub const PROBE_NAME: &str = "kaas-sonobuoy-e2e";

/// The probe answering `cncf-k8s-conformance` and `kaas-networking-check` (one Sonobuoy pass
/// for whichever of them are requested). It creates resources in the cluster.
pub fn probe() -> std::sync::Arc<crate::probes::FnProbe> {
    use futures::FutureExt;
    crate::probes::FnProbe::new(
        PROBE_NAME,
        CHECKS.iter().map(|c| c.id.to_string()).collect(),
        |ctx, ids| run_checks(ctx, ids).boxed(),
    )
}

/// The probe body: one Sonobuoy pass for the requested checks, judged once per check.
pub async fn run_checks(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let abort = |reason: String| -> Vec<Outcome> {
        ids.iter()
            .map(|i| Outcome::abort(i, reason.clone()))
            .collect()
    };
    let selected: Vec<SonobuoyCheck> = CHECKS
        .iter()
        .filter(|c| ids.iter().any(|i| i == c.id))
        .copied()
        .collect();
    let cluster = match ctx.services.kube() {
        Ok(c) => c.clone(),
        Err(e) => return abort(e),
    };
    let ok = match builtin_ok_to_fail() {
        Ok(ok) => ok,
        Err(e) => return abort(e),
    };
    let mode = ctx
        .variables
        .get("execution_mode")
        .map(String::as_str)
        .unwrap_or("parallel");
    let (args, subdir, shared) = match selected.as_slice() {
        [] => return abort("no Sonobuoy-based testcase requested".into()),
        [one] => (one.run_args, one.result_dir, false),
        _ => (SHARED_RUN_ARGS, SHARED_RESULT_DIR, true),
    };
    let mut run_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    match execution_mode_args(mode) {
        Ok(a) => run_args.extend(a),
        Err(e) => return abort(e),
    }
    let root = ctx
        .variables
        .get("subject_root")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let label: Vec<&str> = selected.iter().map(|c| c.id).collect();
    let job = SonobuoyJob {
        id: label.join(" + "),
        run_args,
        result_dir: root.join(subdir),
    };
    // Leave time for the final `delete --wait` inside the executor's budget.
    let budget = ctx
        .timeout
        .saturating_sub(Duration::from_secs(30))
        .max(ctx.timeout / 2);
    let timeout = cluster
        .options
        .sonobuoy_timeout
        .map_or(budget, |t| t.min(budget));
    let tree = match orchestrate(&cluster, &job, timeout, &ctx.cancel).await {
        Ok(tree) => tree,
        Err(e) => return abort(e),
    };
    ids.iter()
        .map(|i| {
            let Some(check) = selected.iter().find(|c| c.id == i) else {
                return Outcome::abort(i, "not a Sonobuoy-based testcase");
            };
            let filter = shared.then(|| check.selects());
            let j = judge_tests(&tree, &ok, filter.as_ref());
            let o = outcome_of(i, &j);
            if mode == "dry" {
                // A dry run lists the tests without running them: no evidence either way.
                Outcome::abort(
                    i,
                    format!(
                        "execution_mode=dry: sonobuoy listed the tests without running them ({})",
                        j.summary()
                    ),
                )
                .with_evidence(o.evidence)
            } else {
                o
            }
        })
        .collect()
}
