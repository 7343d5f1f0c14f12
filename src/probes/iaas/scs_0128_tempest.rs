//! `scs-0128-tempest-e2e` (scs-0128-v1, module `opc-v2022.11`): runs Tempest with the SCS test
//! list and judges the results natively (see [`super::tempest_judge`]).
//!
//! The probe creates a fresh Tempest workspace (`tempest init`), writes `etc/tempest.conf` and a
//! pre-provisioned `etc/accounts.yaml` from two clouds.yaml entries (primary and alt, both
//! non-admin), writes the list without comments and runs
//! `tempest run --config-file … --load-list …` in its own process group, forwarding Tempest's
//! per-test lines as progress. On the probe's timeout or Ctrl-C the whole group is killed. The
//! newest stestr run (`.stestr/<n>`) is judged; the workspace stays for
//! `scs-check tempest-judge`, the accounts file (passwords) is removed.
//!
//! Variables (all optional except an alt account): `tempest_primary` (default: `os_cloud`),
//! `tempest_alt`, `tempest` (the binary; `--tempest PATH`), `tempest_test_list`,
//! `tempest_areas` (e.g. `identity,image,network`), `tempest_conf_extra` (an INI file appended
//! to the generated configuration), `tempest_concurrency` (default 1), `tempest_workdir`
//! (parent of the workspace, default the temporary directory), `tempest_clouds_file` (the
//! clouds.yaml to read the two entries from instead of the usual locations). An account that
//! names the run's own cloud (`os_cloud`, also `--simulate`'s) uses the run's in-memory
//! configuration; the others come from clouds.yaml.
//!
//! Before the run, `tempest run --list-tests` lists the installed tests and each listed test is
//! resolved to this Tempest's id by its idempotent id ([`tempest_judge::resolve_ids`]); the
//! results are read from the newest stestr run, subunit v1 (stestr 3.x) or v2.

use super::tempest_judge::{self, ListedTest};
use crate::openstack::config::{CloudConfig, ConfigEnv, load_cloud_with};
use crate::probes::iaas::common::FnProbe;
use crate::probes::{Outcome, ProbeContext, Registry};
use futures::FutureExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The testcase id.
pub const ID: &str = "scs-0128-tempest-e2e";

/// The probe.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new("scs-0128-tempest", vec![ID.to_string()], |ctx, ids| {
        run_probe(ctx, ids).boxed()
    })
}

/// Registers the probe.
pub fn register(registry: &mut Registry) {
    registry.register_creating(probe());
}

/// Where progress lines go (the run's progress display).
#[derive(Clone)]
pub struct ProgressSink(pub Arc<dyn Fn(String) + Send + Sync>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// The `tempest` binary: the configured one, else `tempest` in PATH.
pub fn find_tempest(configured: Option<&Path>) -> Result<PathBuf, String> {
    let hint = "install Tempest (Debian: `apt-get install tempest`, 33.0.0 matches Zed; or `pip install tempest`) into PATH, or pass --tempest PATH";
    crate::probes::external_tool::find_tool("tempest", configured, &[], hint)
}

/// One account of `accounts.yaml`.
fn account_entry(c: &CloudConfig) -> Result<String, String> {
    let a = &c.auth;
    let username = a.username.as_deref().ok_or_else(|| {
        format!(
            "cloud `{}`: Tempest needs a username/password account (no `username`)",
            c.name
        )
    })?;
    let password = a
        .password
        .as_ref()
        .ok_or_else(|| format!("cloud `{}`: no `password`", c.name))?;
    let project = a
        .project_name
        .as_deref()
        .ok_or_else(|| format!("cloud `{}`: Tempest needs a `project_name`", c.name))?;
    let user_domain = a
        .user_domain_name
        .as_deref()
        .or(a.domain_name.as_deref())
        .unwrap_or("Default");
    let project_domain = a
        .project_domain_name
        .as_deref()
        .or(a.domain_name.as_deref())
        .unwrap_or(user_domain);
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    Ok(format!(
        "- username: {}\n  password: {}\n  project_name: {}\n  user_domain_name: {}\n  project_domain_name: {}\n",
        q(username),
        q(password.expose()),
        q(project),
        q(user_domain),
        q(project_domain)
    ))
}

/// `accounts.yaml` for pre-provisioned credentials (primary first, then alt).
pub fn accounts_yaml(accounts: &[&CloudConfig]) -> Result<String, String> {
    accounts.iter().map(|c| account_entry(c)).collect()
}

/// Catalog service types → Tempest's `[service_available]` options.
const SERVICE_FLAGS: &[(&str, &[&str])] = &[
    ("nova", &["compute"]),
    ("glance", &["image"]),
    ("neutron", &["network"]),
    ("cinder", &["volumev3", "block-storage", "volume"]),
    ("swift", &["object-store"]),
];

/// The generated `tempest.conf`. `services` are the catalog's service types (unknown: Tempest's
/// defaults stay); `accounts_file` is the absolute path of `accounts.yaml`; `extra` is appended.
pub fn tempest_conf(
    primary: &CloudConfig,
    services: Option<&[String]>,
    accounts_file: &Path,
    log_dir: &Path,
    extra: &str,
) -> String {
    let a = &primary.auth;
    let mut uri = a.auth_url.trim_end_matches('/').to_string();
    if !uri.ends_with("/v3") {
        uri.push_str("/v3");
    }
    let domain = a
        .user_domain_name
        .as_deref()
        .or(a.domain_name.as_deref())
        .unwrap_or("Default");
    let mut s = String::from("# written by scs-check for scs-0128\n[DEFAULT]\n");
    s.push_str(&format!(
        "log_dir = {}\nuse_stderr = false\n\n",
        log_dir.display()
    ));
    s.push_str("[auth]\nuse_dynamic_credentials = false\n");
    s.push_str(&format!(
        "test_accounts_file = {}\ndefault_credentials_domain_name = {domain}\n\n",
        accounts_file.display()
    ));
    s.push_str(&format!(
        "[identity]\nauth_version = v3\nuri_v3 = {uri}\nv3_endpoint_type = {}\n",
        primary.interface
    ));
    if let Some(r) = &primary.region_name {
        s.push_str(&format!("region = {r}\n"));
    }
    if !primary.verify {
        s.push_str("disable_ssl_certificate_validation = true\n");
    }
    if let Some(ca) = &primary.cacert {
        s.push_str(&format!("ca_certificates_file = {}\n", ca.display()));
    }
    s.push('\n');
    if let Some(types) = services {
        s.push_str("[service_available]\n");
        for (flag, names) in SERVICE_FLAGS {
            let on = types.iter().any(|t| names.contains(&t.as_str()));
            s.push_str(&format!("{flag} = {on}\n"));
        }
        s.push('\n');
    }
    if !extra.trim().is_empty() {
        s.push_str("# from tempest_conf_extra\n");
        s.push_str(extra);
        if !extra.ends_with('\n') {
            s.push('\n');
        }
    }
    s
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

fn kill_group(child: &tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        kill_pgid(pid);
    }
}

fn kill_pgid(pid: u32) {
    #[cfg(unix)]
    // SAFETY: killpg only sends a signal to the process group we created for the child.
    unsafe {
        libc::killpg(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// Kills the child's process group when the run is dropped before the child ended (the
/// executor gave up on the probe): `kill_on_drop` alone would leave Tempest's workers running.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            kill_pgid(pid);
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
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", job.bin.display()))?;
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
            kill_group(&child);
            let _ = child.wait().await;
            return Err(format!("interrupted; `tempest {what}` stopped"));
        }
        _ = tokio::time::sleep_until(deadline) => {
            kill_group(&child);
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

fn load_account(
    ctx: &ProbeContext,
    var: &str,
    fallback: Option<&str>,
) -> Result<CloudConfig, String> {
    let name = ctx
        .variables
        .get(var)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .or(fallback)
        .ok_or_else(|| {
            format!(
                "Tempest needs two non-admin accounts: name a clouds.yaml entry with -a {var}=CLOUD"
            )
        })?;
    // The run's own cloud (also a simulated one, which has no clouds.yaml on disk): its
    // in-memory configuration.
    if let Some(run_cloud) = ctx.services.openstack.as_ref().map(|s| s.client().config())
        && run_cloud.name == name
    {
        return Ok(run_cloud.clone());
    }
    let mut env = ConfigEnv::from_process();
    env.vars.remove("OS_CLOUD");
    if let Some(f) = ctx.variables.get("tempest_clouds_file") {
        env.vars.insert("OS_CLIENT_CONFIG_FILE".into(), f.clone());
    }
    load_cloud_with(Some(name), &env).map_err(|e| format!("{var}={name}: {e}"))
}

/// Builds the job from the run's variables. `Err` = ABORT reason.
pub fn job_from_variables(
    ctx: &ProbeContext,
    services: Option<Vec<String>>,
) -> Result<TempestJob, String> {
    let var = |k: &str| {
        ctx.variables
            .get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    };
    let bin = find_tempest(var("tempest").map(Path::new))?;
    let list = tempest_judge::load_list(
        var("tempest_test_list").map(Path::new),
        var("tempest_areas"),
    )?;
    let primary = load_account(ctx, "tempest_primary", var("os_cloud"))?;
    let alt = load_account(ctx, "tempest_alt", None)?;
    if primary.auth.username.is_some()
        && primary.auth.username == alt.auth.username
        && primary.auth.project_name == alt.auth.project_name
    {
        return Err(
            "tempest_primary and tempest_alt are the same account; Tempest needs two".into(),
        );
    }
    let extra_conf = match var("tempest_conf_extra") {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("cannot read tempest_conf_extra {p}: {e}"))?,
        None => String::new(),
    };
    let concurrency = match var("tempest_concurrency") {
        Some(c) => c
            .parse()
            .map_err(|_| format!("tempest_concurrency `{c}` is not a number"))?,
        None => 1,
    };
    let parent = var("tempest_workdir")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let workspace = parent.join(format!(
        "scs-check-tempest-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    Ok(TempestJob {
        bin,
        workspace,
        list,
        primary,
        alt,
        services,
        extra_conf,
        concurrency,
    })
}

async fn run_probe(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let abort = |reason: String| -> Vec<Outcome> {
        ids.iter()
            .map(|i| Outcome::abort(i, reason.clone()))
            .collect()
    };
    // The catalog, when the run has a cloud: it sets `[service_available]`.
    let services = match ctx.services.openstack() {
        Ok(s) => s
            .catalog()
            .await
            .ok()
            .map(|c| c.types().into_iter().map(str::to_string).collect()),
        Err(_) => None,
    };
    let job = match job_from_variables(ctx, services) {
        Ok(j) => j,
        Err(e) => return abort(e),
    };
    let progress = ctx.services.progress.clone();
    // Stop Tempest before the executor's own deadline for the probe, so the process group is
    // killed and the workspace judged/reported by us.
    let budget = ctx
        .timeout
        .saturating_sub(Duration::from_secs(10))
        .max(ctx.timeout / 2);
    match orchestrate(&job, budget, &ctx.cancel, progress.as_ref()).await {
        Ok(j) => ids
            .iter()
            .map(|i| {
                let mut o = tempest_judge::outcome_of(i, &j);
                o.reason = format!("{} (workspace {})", o.reason, job.workspace.display());
                o
            })
            .collect(),
        Err(e) => abort(format!("{e} (workspace {})", job.workspace.display())),
    }
}

#[cfg(test)]
#[path = "scs_0128_tests.rs"]
mod tests;
