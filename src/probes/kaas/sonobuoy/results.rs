//! Judging sonobuoy's results: the okToFail list (built in or a file), the results tree
//! `plugins/e2e/sonobuoy_results.yaml` (found in a directory, a tarball or given directly), the
//! judgement of its tests and the outcome of a testcase from it.

use crate::probes::{Finding, Outcome};
use regex::Regex;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;

const OK_TO_FAIL: &str = include_str!("../../../../testcases/kaas/sonobuoy-ok-to-fail.yaml");
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
