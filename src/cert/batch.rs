//! Batch runs: scopes × subjects from a TOML configuration in the spirit of the reference
//! runner's `config.toml` (`[secrets]`, `[scopes.NAME]`, `[presets.NAME]`,
//! `[subjects._.mapping]` with `{subject}` interpolation, `[subjects.NAME.mapping]` overrides),
//! plus our own keys: `[monitor] url`, `timeout` (per subject, seconds) and `script_timeout`
//! in `[batch]`, a preset or a subject, and `isolate` in `[batch]`.
//!
//! Each (scope, subject) job is one `scs-check run SPEC -s SUBJECT -a k=v … -o FILE`, with the
//! configuration's directory as working directory and its output prefixed with the subject. By
//! default the runs are tasks inside the batch's own process (the runner comes from `cli`); at
//! the per-subject timeout a run is stopped as Ctrl-C stops it (unfinished testcases ABORT, its
//! report is written) and abandoned after a grace period. With `isolate` (`batch --isolate`)
//! each run is a child process in its own process group, so a crash or hang of one subject
//! cannot take the others down: SIGINT at the timeout, SIGKILL after the grace period.
//!
//! This file reads the configuration and turns it into jobs; `shard` picks one shard's subjects,
//! `run` runs the jobs, `summary` gives the exit status, the combined report and the table.

mod run;
mod shard;
mod summary;

pub use run::{
    BatchOptions, JobEnd, JobResult, JobRunner, SubjectEnd, SubjectRunner, report_path,
    run_arguments, run_jobs,
};
pub use shard::Shard;
pub use summary::{combined_report, overall_status, render_summary};

use super::CertError;
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Subjects checked at once when neither `-w`, the preset nor `[batch]` says: a subject's run
/// waits on its cloud, not on the CPU, so this is about how many clouds are checked together
/// (the reference runner's busiest preset uses 16); memory grows with it (one run, or with
/// `--isolate` one scs-check process, per running subject).
pub const DEFAULT_WORKERS: usize = 16;

/// Default per-subject time limit (seconds) when the configuration sets none.
pub const DEFAULT_SUBJECT_TIMEOUT: u64 = 4 * 3600;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    secrets: RawSecrets,
    #[serde(default)]
    monitor: RawMonitor,
    #[serde(default)]
    batch: RawLimits,
    #[serde(default)]
    scopes: IndexMap<String, RawScope>,
    #[serde(default)]
    presets: IndexMap<String, RawPreset>,
    #[serde(default)]
    subjects: IndexMap<String, RawSubject>,
    /// `[kubernetes]`: read by `scs-check deploy kubernetes` (`crate::deploy`), not by `batch`.
    #[serde(default, rename = "kubernetes")]
    _kubernetes: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    keyfile: Option<String>,
    tokenfile: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonitor {
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout: Option<u64>,
    script_timeout: Option<u64>,
    workers: Option<usize>,
    isolate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    spec: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    subjects: Vec<String>,
    workers: Option<usize>,
    timeout: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    #[serde(default)]
    mapping: IndexMap<String, String>,
    timeout: Option<u64>,
}

/// A loaded batch configuration; relative paths are resolved against its directory.
#[derive(Debug)]
pub struct BatchConfig {
    /// The configuration file.
    pub path: PathBuf,
    /// Its directory: the working directory of the runs.
    pub dir: PathBuf,
    /// The signing key (`[secrets] keyfile`, default `.secret/keyfile`).
    pub keyfile: PathBuf,
    /// The token file (`[secrets] tokenfile`, default `.secret/tokenfile`).
    pub tokenfile: PathBuf,
    /// The monitor (`[monitor] url`), if set.
    pub monitor: Option<String>,
    raw: RawConfig,
}

/// Which jobs to run: a preset, or lists of scopes and subjects (the preset wins, as in the
/// reference runner; with nothing given the preset `default` is used).
#[derive(Debug, Clone, Default)]
pub struct JobSelection {
    /// Preset name.
    pub preset: Option<String>,
    /// Scope names (keys of `[scopes]`).
    pub scopes: Vec<String>,
    /// Subject names.
    pub subjects: Vec<String>,
}

/// One (scope, subject) run.
#[derive(Debug, Clone)]
pub struct Job {
    /// Position in the job list.
    pub index: usize,
    /// Scope name from the configuration.
    pub scope: String,
    /// The scope argument for `run` (an absolute file path, a built-in name or a URL).
    pub spec: String,
    /// The subject.
    pub subject: String,
    /// The `-a` assignments.
    pub assignments: IndexMap<String, String>,
    /// Wall-clock limit of the whole run of this subject.
    pub timeout: Duration,
}

/// The jobs and the worker count a selection gives.
#[derive(Debug, Clone)]
pub struct JobList {
    /// The jobs, scopes outer, subjects inner.
    pub jobs: Vec<Job>,
    /// Workers from the preset or `[batch]`, if set.
    pub workers: Option<usize>,
    /// Per-script limit from the configuration, if set.
    pub script_timeout: Option<u64>,
    /// `[batch] isolate`: every run in a child process of its own.
    pub isolate: bool,
}

/// Reads and checks a batch configuration; errors name the file, line and column.
pub fn load_config(path: &Path) -> Result<BatchConfig, CertError> {
    let bytes = super::read_file(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let raw: RawConfig = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let resolve = |p: Option<&String>, default: &str| dir.join(p.map_or(default, |s| s.as_str()));
    Ok(BatchConfig {
        path: path.to_path_buf(),
        keyfile: resolve(raw.secrets.keyfile.as_ref(), ".secret/keyfile"),
        tokenfile: resolve(raw.secrets.tokenfile.as_ref(), ".secret/tokenfile"),
        monitor: raw.monitor.url.clone(),
        dir,
        raw,
    })
}

/// A TOML error in the configuration `path` (whose text is `text`), naming line and column.
pub(crate) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> CertError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
    CertError::Config {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().trim().replace('\n', " "),
    }
}

/// The 1-based line and column of a byte offset in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl BatchConfig {
    fn err(&self, message: String) -> CertError {
        CertError::Config {
            path: self.path.clone(),
            line: 0,
            column: 0,
            message,
        }
    }

    /// The variables of a subject: the `_` mapping with `{subject}` replaced, then the
    /// subject's own mapping taken literally.
    pub fn mapping(&self, subject: &str) -> IndexMap<String, String> {
        let mut out: IndexMap<String, String> = self
            .raw
            .subjects
            .get("_")
            .map(|s| {
                s.mapping
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace("{subject}", subject)))
                    .collect()
            })
            .unwrap_or_default();
        if subject != "_"
            && let Some(own) = self.raw.subjects.get(subject)
        {
            for (k, v) in &own.mapping {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    /// Expands a selection into jobs.
    pub fn jobs(&self, selection: &JobSelection) -> Result<JobList, CertError> {
        let preset_name = match (
            &selection.preset,
            selection.scopes.is_empty() && selection.subjects.is_empty(),
        ) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => Some("default".to_string()),
            (None, false) => None,
        };
        let preset = match &preset_name {
            Some(name) => Some(self.raw.presets.get(name).ok_or_else(|| {
                let known: Vec<&str> = self.raw.presets.keys().map(String::as_str).collect();
                self.err(format!(
                    "no preset {name:?} (presets: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            })?),
            None => None,
        };
        let (scopes, subjects) = match preset {
            Some(p) => (p.scopes.clone(), p.subjects.clone()),
            None => (selection.scopes.clone(), selection.subjects.clone()),
        };
        if scopes.is_empty() {
            return Err(self.err("no scope selected".into()));
        }
        if subjects.is_empty() {
            return Err(self.err("no subject selected".into()));
        }
        let limits = self.raw.batch;
        let mut jobs = Vec::new();
        for scope in &scopes {
            let entry = self.raw.scopes.get(scope).ok_or_else(|| {
                self.err(format!("scope {scope:?} is not defined under [scopes]"))
            })?;
            let spec = if entry.spec.contains("://") {
                entry.spec.clone()
            } else {
                let p = self.dir.join(&entry.spec);
                if p.exists() || entry.spec.contains('/') || entry.spec.ends_with(".yaml") {
                    p.display().to_string()
                } else {
                    entry.spec.clone()
                }
            };
            for subject in &subjects {
                if subject == "_" {
                    return Err(self.err("\"_\" is the default mapping, not a subject".into()));
                }
                let secs = self
                    .raw
                    .subjects
                    .get(subject)
                    .and_then(|s| s.timeout)
                    .or(preset.and_then(|p| p.timeout))
                    .or(limits.timeout)
                    .unwrap_or(DEFAULT_SUBJECT_TIMEOUT);
                jobs.push(Job {
                    index: jobs.len(),
                    scope: scope.clone(),
                    spec: spec.clone(),
                    subject: subject.clone(),
                    assignments: self.mapping(subject),
                    timeout: Duration::from_secs(secs.max(1)),
                });
            }
        }
        Ok(JobList {
            jobs,
            workers: preset.and_then(|p| p.workers).or(limits.workers),
            script_timeout: limits.script_timeout,
            isolate: limits.isolate.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::ExitStatus;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    fn config(text: &str) -> (tempfile::TempDir, Result<BatchConfig, CertError>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, text).unwrap();
        let c = load_config(&p);
        (dir, c)
    }

    const CONFIG: &str = r#"
[secrets]
keyfile = "keys/k"

[scopes.iaas]
spec = "scope.yaml"

[presets.default]
scopes = ["iaas"]
subjects = ["a", "b-1"]
workers = 2

[subjects._.mapping]
os_cloud = "{subject}"
kubeconfig = "{subject}/kubeconfig.yaml"

[subjects.b-1]
timeout = 7
mapping = { os_cloud = "literal-{subject}" }
"#;

    #[test]
    fn mapping_interpolates_only_the_default() {
        let (dir, c) = config(CONFIG);
        let c = c.unwrap();
        assert_eq!(
            c.keyfile,
            std::fs::canonicalize(dir.path()).unwrap().join("keys/k")
        );
        assert!(c.tokenfile.ends_with(".secret/tokenfile"));
        let m = c.mapping("a");
        assert_eq!(m["os_cloud"], "a");
        assert_eq!(m["kubeconfig"], "a/kubeconfig.yaml");
        let m = c.mapping("b-1");
        assert_eq!(m["os_cloud"], "literal-{subject}");
        assert_eq!(m["kubeconfig"], "b-1/kubeconfig.yaml");
    }

    #[test]
    fn default_preset_and_timeouts() {
        let (_d, c) = config(CONFIG);
        let list = c.unwrap().jobs(&JobSelection::default()).unwrap();
        assert_eq!(list.workers, Some(2));
        assert_eq!(list.jobs.len(), 2);
        assert_eq!(
            list.jobs[0].timeout,
            Duration::from_secs(DEFAULT_SUBJECT_TIMEOUT)
        );
        assert_eq!(list.jobs[1].timeout, Duration::from_secs(7));
        assert!(list.jobs[0].spec.ends_with("/scope.yaml"));
        // Subjects run inside the batch's process unless `[batch] isolate` says otherwise.
        assert!(!list.isolate);
        let (_d, c) = config(&format!("{CONFIG}\n[batch]\nisolate = true\n"));
        assert!(c.unwrap().jobs(&JobSelection::default()).unwrap().isolate);
    }

    #[test]
    fn explicit_scopes_and_subjects() {
        let (_d, c) = config(CONFIG);
        let c = c.unwrap();
        let sel = JobSelection {
            preset: None,
            scopes: vec!["iaas".into()],
            subjects: vec!["x".into()],
        };
        let list = c.jobs(&sel).unwrap();
        assert_eq!(list.jobs[0].subject, "x");
        assert_eq!(list.workers, None);
        let sel = JobSelection {
            preset: None,
            scopes: vec!["nope".into()],
            subjects: vec!["x".into()],
        };
        let err = c.jobs(&sel).unwrap_err().to_string();
        assert!(err.contains("scope \"nope\" is not defined"), "{err}");
        let sel = JobSelection {
            preset: Some("zzz".into()),
            ..Default::default()
        };
        let err = c.jobs(&sel).unwrap_err().to_string();
        assert!(
            err.contains("no preset \"zzz\" (presets: default)"),
            "{err}"
        );
    }

    #[test]
    fn bad_config_names_line_and_column() {
        let (_d, c) = config("[scopes.x]\nspec = \"a\"\nspek = 1\n");
        let err = c.unwrap_err().to_string();
        assert!(err.contains("config.toml:3:1: "), "{err}");
        assert!(err.contains("spek"), "{err}");
        let (_d, c) = config("[scopes\n");
        assert!(c.unwrap_err().to_string().contains("config.toml:1:"));
    }

    #[test]
    fn shard_values_are_checked() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        assert_eq!("0/1".parse::<Shard>().unwrap().to_string(), "0/1");
        for (bad, says) in [
            ("3", "expected I/N"),
            ("a/2", "I is not a whole number"),
            ("1/x", "N is not a whole number"),
            ("-1/2", "I is not a whole number"),
            ("0/0", "N must be at least 1"),
            ("2/2", "numbered 0 to 1"),
        ] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.starts_with(&format!("'{bad}': ")), "{err}");
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn shards_cover_every_subject_once_whatever_the_order() {
        let subjects: Vec<String> = (0..23)
            .map(|i| format!("cloud-{:02}", (i * 7) % 23))
            .collect();
        let mut reversed = subjects.clone();
        reversed.reverse();
        for count in [1, 2, 3, 5, 23, 30] {
            let mut seen: Vec<&str> = vec![];
            for index in 0..count {
                let shard = Shard { index, count };
                let mine = shard.subjects(subjects.iter().map(String::as_str));
                assert_eq!(
                    mine,
                    shard.subjects(reversed.iter().map(String::as_str)),
                    "the order of the configuration changed shard {shard}"
                );
                // Even shares: sizes differ by at most one.
                assert!(mine.len() == 23 / count || mine.len() == 23 / count + 1);
                seen.extend(mine);
            }
            seen.sort();
            let mut all: Vec<&str> = subjects.iter().map(String::as_str).collect();
            all.sort();
            assert_eq!(seen, all, "{count} shards");
        }
        // The rule itself: sorted names, position mod N.
        let shard = Shard { index: 1, count: 2 };
        assert_eq!(shard.subjects(["d", "a", "c", "b", "a"]), vec!["b", "d"]);
    }

    #[test]
    fn a_shard_keeps_every_scope_of_its_subjects() {
        let (_d, c) = config(&format!("{CONFIG}\n[scopes.kaas]\nspec = \"kaas\"\n"));
        let c = c.unwrap();
        let sel = JobSelection {
            preset: None,
            scopes: vec!["iaas".into(), "kaas".into()],
            subjects: vec!["z".into(), "a".into(), "m".into()],
        };
        let list = c.jobs(&sel).unwrap().shard(Shard { index: 0, count: 2 });
        let got: Vec<(usize, &str, &str)> = list
            .jobs
            .iter()
            .map(|j| (j.index, j.scope.as_str(), j.subject.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "iaas", "z"),
                (1, "iaas", "a"),
                (2, "kaas", "z"),
                (3, "kaas", "a")
            ]
        );
    }

    /// A stand-in for our binary: it logs `start`, waits until `together` runs have started
    /// (so that the first ones provably overlap), logs `end` and exits without a report.
    fn gated_exe(dir: &Path, together: usize) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let log = dir.join("log");
        let exe = dir.join("fake-run.sh");
        std::fs::write(
            &exe,
            format!(
                "#!/bin/sh\necho start >> '{log}'\nn=0\nwhile [ \"$(grep -c start '{log}')\" -lt {together} ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done\necho end >> '{log}'\n",
                log = log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        exe
    }

    #[tokio::test]
    async fn subjects_run_concurrently_up_to_the_worker_limit() {
        let dir = tempfile::tempdir().unwrap();
        let workers = 4;
        let exe = gated_exe(dir.path(), workers);
        let jobs: Vec<Job> = (0..10)
            .map(|i| Job {
                index: i,
                scope: "iaas".into(),
                spec: "iaas".into(),
                subject: format!("s{i}"),
                assignments: IndexMap::new(),
                timeout: Duration::from_secs(60),
            })
            .collect();
        let options = BatchOptions {
            runner: JobRunner::Process(exe),
            cwd: dir.path().to_path_buf(),
            out_dir: dir.path().to_path_buf(),
            workers,
            extra_args: vec![],
            grace: Duration::from_secs(1),
            cancel: CancellationToken::new(),
            prefix_scope: false,
        };
        let results = run_jobs(jobs, &options).await;
        assert_eq!(results.len(), 10);
        assert!(
            results.iter().all(|r| r.end == JobEnd::Exited(Some(0))),
            "{results:?}"
        );
        let text = std::fs::read_to_string(dir.path().join("log")).unwrap();
        let (mut now, mut most) = (0i32, 0i32);
        for line in text.lines() {
            now += if line == "start" { 1 } else { -1 };
            most = most.max(now);
        }
        assert_eq!(text.lines().filter(|l| *l == "start").count(), 10);
        // The first `workers` runs wait for each other, so they all ran at once; no more did.
        assert_eq!(most, workers as i32, "log:\n{text}");
    }

    /// A stand-in for the in-process runner: what it does depends on the subject's name.
    /// `ok-*` ends with exit 0 and no report; `panic` panics; `stops` waits for its token and
    /// ends; `stuck` ignores its token.
    struct FakeRuns {
        seen: std::sync::Mutex<Vec<Vec<String>>>,
    }

    impl SubjectRunner for FakeRuns {
        fn run(
            &self,
            args: Vec<String>,
            prefix: String,
            cancel: CancellationToken,
        ) -> futures::future::BoxFuture<'static, SubjectEnd> {
            self.seen.lock().unwrap().push(args.clone());
            Box::pin(async move {
                assert_eq!(prefix, format!("[{}] ", args[3]));
                match args[3].as_str() {
                    "panic" => panic!("probe bug"),
                    "stops" => {
                        cancel.cancelled().await;
                        SubjectEnd {
                            code: 2,
                            report: None,
                        }
                    }
                    "stuck" => std::future::pending().await,
                    _ => SubjectEnd {
                        code: 0,
                        report: None,
                    },
                }
            })
        }
    }

    #[tokio::test]
    async fn in_process_jobs_end_by_themselves_by_their_token_or_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let job = |index: usize, subject: &str| Job {
            index,
            scope: "iaas".into(),
            spec: "iaas".into(),
            subject: subject.into(),
            assignments: IndexMap::from([("os_cloud".to_string(), subject.to_string())]),
            timeout: Duration::from_millis(if subject.starts_with("ok") {
                60_000
            } else {
                300
            }),
        };
        let jobs = vec![
            job(0, "stuck"),
            job(1, "ok-1"),
            job(2, "panic"),
            job(3, "stops"),
            job(4, "ok-2"),
        ];
        let runner = Arc::new(FakeRuns {
            seen: std::sync::Mutex::new(vec![]),
        });
        let options = BatchOptions {
            runner: JobRunner::InProcess(runner.clone()),
            cwd: dir.path().to_path_buf(),
            out_dir: dir.path().to_path_buf(),
            workers: 2,
            extra_args: vec!["-t".into(), "scs-0123-".into()],
            grace: Duration::from_millis(200),
            cancel: CancellationToken::new(),
            prefix_scope: false,
        };
        let results = run_jobs(jobs, &options).await;
        let ends: Vec<(&str, &JobEnd, Option<&str>)> = results
            .iter()
            .map(|r| (r.job.subject.as_str(), &r.end, r.problem.as_deref()))
            .collect();
        assert_eq!(
            ends,
            vec![
                (
                    "stuck",
                    &JobEnd::TimedOut,
                    Some("no report (stopped after the time limit)")
                ),
                (
                    "ok-1",
                    &JobEnd::Exited(Some(0)),
                    Some("no report (the run exited with code 0)")
                ),
                (
                    "panic",
                    &JobEnd::Crashed("internal error: probe bug".into()),
                    Some("internal error: probe bug")
                ),
                (
                    "stops",
                    &JobEnd::TimedOut,
                    Some("no report (stopped after the time limit)")
                ),
                (
                    "ok-2",
                    &JobEnd::Exited(Some(0)),
                    Some("no report (the run exited with code 0)")
                ),
            ]
        );
        assert!(results.iter().all(|r| r.status() == ExitStatus::Error));
        // Each run got the arguments a child process gets.
        let seen = runner.seen.lock().unwrap();
        let ok = seen.iter().find(|a| a[3] == "ok-1").unwrap();
        let out = dir.path().join("report-iaas-ok-1.yaml");
        assert_eq!(
            ok,
            &[
                "run",
                "iaas",
                "-s",
                "ok-1",
                "--ignore-unused-assignments",
                "-a",
                "os_cloud=ok-1",
                "-o",
                &out.display().to_string(),
                "-t",
                "scs-0123-"
            ]
        );
    }
}
