//! Judging Tempest results against the scs-0128 test list: which listed tests passed, failed,
//! were skipped (with Tempest's reason) or are missing from the results. Results are the subunit
//! v2 stream stestr stores per run (`<workspace>/.stestr/<n>`), a saved `.subunit` file, or a
//! JUnit XML file (`subunit2junitxml` output).

use super::subunit::{self, Status};
use crate::probes::{Finding, Outcome};
use crate::verdict::Verdict;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BUILTIN_LIST: &str = include_str!("../../../testcases/scs-0128-tempest-tests.lst");
/// Where the built-in test list comes from (for messages).
pub const LIST_ORIGIN: &str = "testcases/scs-0128-tempest-tests.lst";

/// One listed test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTest {
    /// The full id as listed, e.g. `tempest.api.identity.v3.test_x.XTest.test_y[id-…,smoke]`.
    pub id: String,
    /// The id without the attribute suffix (`module.Class.method`).
    pub name: String,
    /// The idempotent id (`id-<uuid>` tag), if any.
    pub uuid: Option<String>,
}

impl ListedTest {
    /// Parses one list line.
    pub fn parse(line: &str) -> ListedTest {
        let id = line.trim().to_string();
        let name = id.split('[').next().unwrap_or_default().to_string();
        let uuid = id
            .split_once('[')
            .and_then(|(_, attrs)| {
                attrs
                    .trim_end_matches(']')
                    .split(',')
                    .find_map(|a| a.trim().strip_prefix("id-").map(str::to_string))
            })
            .filter(|u| !u.is_empty());
        ListedTest { id, name, uuid }
    }
    /// `module.Class` of the test.
    pub fn class(&self) -> &str {
        self.name.rsplit_once('.').map_or("", |(c, _)| c)
    }
    /// The area: the segment after `tempest.api.` (`compute`, `identity`, `image`, `network`,
    /// `volume`, ...).
    pub fn area(&self) -> &str {
        self.name
            .strip_prefix("tempest.api.")
            .and_then(|r| r.split('.').next())
            .unwrap_or("other")
    }
}

/// Parses a test list: one test id a line; blank lines and lines starting with `#` are ignored.
/// Duplicates are an error (they would hide a missing test).
pub fn parse_list(text: &str, origin: &str) -> Result<Vec<ListedTest>, String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains(char::is_whitespace) {
            return Err(format!("{origin}:{}: a test id contains blanks", n + 1));
        }
        if !seen.insert(line.to_string()) {
            return Err(format!("{origin}:{}: duplicate test id {line}", n + 1));
        }
        out.push(ListedTest::parse(line));
    }
    Ok(out)
}

/// The built-in SCS test list.
pub fn builtin_list() -> Result<Vec<ListedTest>, String> {
    parse_list(BUILTIN_LIST, LIST_ORIGIN)
}

/// Reads a list file, or the built-in list when `path` is `None`; `areas` (e.g.
/// `identity,image,network`) restricts it to those areas.
pub fn load_list(path: Option<&Path>, areas: Option<&str>) -> Result<Vec<ListedTest>, String> {
    let list = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read the test list {}: {e}", p.display()))?;
            parse_list(&text, &p.display().to_string())?
        }
        None => builtin_list()?,
    };
    Ok(match areas.map(str::trim).filter(|a| !a.is_empty()) {
        Some(areas) => {
            let wanted: Vec<&str> = areas.split(',').map(str::trim).collect();
            list.into_iter()
                .filter(|t| wanted.contains(&t.area()))
                .collect()
        }
        None => list,
    })
}

/// The `--load-list` ids for `list` in an installed Tempest whose `tempest run --list-tests`
/// printed `installed`: each listed test is resolved by its idempotent id (when subclasses share
/// it, the one with the listed module.Class.method), else by module.Class.method, so the ids
/// carry the tags this Tempest and configuration give them (e.g. `slow` only with
/// `run_validation`). Returns the ids and the listed tests this Tempest does not have (they
/// get no result, which the judgement counts as missing).
pub fn resolve_ids(list: &[ListedTest], installed: &[String]) -> (Vec<String>, Vec<String>) {
    let mut by_uuid: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, &str> = BTreeMap::new();
    let parsed: Vec<ListedTest> = installed.iter().map(|i| ListedTest::parse(i)).collect();
    for t in &parsed {
        if let Some(u) = &t.uuid {
            by_uuid.entry(u.as_str()).or_default().push(t.id.as_str());
        }
        by_name.insert(t.name.clone(), t.id.as_str());
    }
    let mut ids = Vec::new();
    let mut absent = Vec::new();
    for t in list {
        let candidates = t
            .uuid
            .as_deref()
            .and_then(|u| by_uuid.get(u))
            .cloned()
            .unwrap_or_default();
        let same_name = candidates
            .iter()
            .find(|c| c.split('[').next() == Some(t.name.as_str()));
        let found = same_name
            .copied()
            .or_else(|| (candidates.len() == 1).then(|| candidates[0]))
            .or_else(|| by_name.get(&t.name).copied());
        match found {
            Some(id) => ids.push(id.to_string()),
            None => absent.push(t.id.clone()),
        }
    }
    (ids, absent)
}

/// The final result of one test in a results stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestResult {
    /// Passed (also: failed as expected).
    Passed,
    /// Failed (also: passed unexpectedly), with the first line of the details when given.
    Failed(String),
    /// Skipped, with the reason Tempest gave (empty when none).
    Skipped(String),
}

/// Results by test id (as the runner reports them, attribute suffix included).
pub type Results = BTreeMap<String, TestResult>;

/// Reads the final result of every test from a subunit stream (v2, or the v1 text that stestr
/// 3.x stores). Attachments named `reason` give skip reasons; `traceback` (else the first other
/// text) gives the failure detail.
pub fn results_from_subunit(data: &[u8]) -> Result<Results, String> {
    let mut results = Results::new();
    let mut details: BTreeMap<String, (String, String)> = BTreeMap::new();
    for p in subunit::parse_any(data)? {
        let Some(id) = p.test_id else { continue };
        if let Some((name, content)) = &p.file {
            let text = String::from_utf8_lossy(content).trim().to_string();
            let entry = details.entry(id.clone()).or_default();
            if name == "reason" {
                entry.0 = text;
            } else if (name == "traceback" || entry.1.is_empty()) && !text.is_empty() {
                entry.1 = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default()
                    .trim()
                    .to_string();
            }
        }
        if p.status.is_final() {
            let (reason, detail) = details.get(&id).cloned().unwrap_or_default();
            let r = match p.status {
                Status::Success | Status::ExpectedFail => TestResult::Passed,
                Status::Skip => TestResult::Skipped(reason),
                Status::UnexpectedSuccess => {
                    TestResult::Failed("passed although expected to fail".into())
                }
                _ => TestResult::Failed(detail),
            };
            results.insert(id, r);
        }
    }
    Ok(results)
}

/// Reads results from a JUnit XML file (as `subunit2junitxml` writes it): the test id is
/// `classname.name`.
pub fn results_from_junit(xml: &str) -> Result<Results, String> {
    // `subunit2junitxml` writes a bare `<testsuite>` root; the reader wants `<testsuites>`.
    let body = xml
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|r| r.split_once("?>").map(|(_, b)| b))
        .unwrap_or(xml)
        .trim_start();
    let wrapped;
    let xml = if body.starts_with("<testsuite ") || body.starts_with("<testsuite>") {
        wrapped = format!("<testsuites>{body}</testsuites>");
        wrapped.as_str()
    } else {
        xml
    };
    let report = quick_junit::Report::deserialize_from_str(xml)
        .map_err(|e| format!("not a readable JUnit XML file: {e}"))?;
    let mut results = Results::new();
    for suite in &report.test_suites {
        for case in &suite.test_cases {
            let name = case.name.as_str();
            let id = match case.classname.as_deref() {
                Some(c) if !c.is_empty() => format!("{c}.{name}"),
                _ => name.to_string(),
            };
            let r = match &case.status {
                quick_junit::TestCaseStatus::Success { .. } => TestResult::Passed,
                quick_junit::TestCaseStatus::Skipped { message, .. } => {
                    TestResult::Skipped(message.as_ref().map(|m| m.to_string()).unwrap_or_default())
                }
                quick_junit::TestCaseStatus::NonSuccess { message, .. } => {
                    TestResult::Failed(message.as_ref().map(|m| m.to_string()).unwrap_or_default())
                }
            };
            results.insert(id, r);
        }
    }
    Ok(results)
}

/// Finds the results for a path: a subunit file, a JUnit `.xml` file, a directory holding
/// `tempest.subunit`, or a Tempest workspace / stestr repository (its newest numbered run in
/// `.stestr/`).
pub fn locate_results(path: &Path) -> Result<PathBuf, String> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if !path.is_dir() {
        return Err(format!("{}: no such file or directory", path.display()));
    }
    let saved = path.join("tempest.subunit");
    if saved.is_file() {
        return Ok(saved);
    }
    for repo in [path.join(".stestr"), path.to_path_buf()] {
        let newest = std::fs::read_dir(&repo)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n: u64 = e.file_name().to_str()?.parse().ok()?;
                e.path().is_file().then_some((n, e.path()))
            })
            .max_by_key(|(n, _)| *n);
        if let Some((_, p)) = newest {
            return Ok(p);
        }
    }
    Err(format!(
        "{}: no tempest.subunit and no stestr run (.stestr/<n>) in this directory",
        path.display()
    ))
}

/// Reads the results of a file found by [`locate_results`].
pub fn read_results(file: &Path) -> Result<Results, String> {
    let data = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if file.extension().is_some_and(|e| e == "xml") {
        let text = String::from_utf8(data)
            .map_err(|_| format!("{}: JUnit XML is not UTF-8", file.display()))?;
        results_from_junit(&text).map_err(|e| format!("{}: {e}", file.display()))
    } else {
        results_from_subunit(&data).map_err(|e| format!("{}: {e}", file.display()))
    }
}

/// The judgement of a run against the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Listed tests that passed.
    pub passed: usize,
    /// Listed tests that failed: (test, detail). A class whose setup failed fails every listed
    /// test of it.
    pub failed: Vec<(String, String)>,
    /// Listed tests skipped with a reason: (test, reason).
    pub skipped: Vec<(String, String)>,
    /// Listed tests skipped without any reason.
    pub skipped_unexplained: Vec<String>,
    /// Listed tests without a result.
    pub missing: Vec<String>,
    /// Listed tests the installed Tempest does not have (also in `missing`).
    pub not_installed: Vec<String>,
    /// Skips per area.
    pub skipped_by_area: BTreeMap<String, usize>,
    /// Listed tests in total.
    pub listed: usize,
}

impl Judgement {
    /// FAIL when a listed test failed; else ABORT when none ran (nothing passed or skipped), a
    /// listed test has no result, or one was skipped without a reason; else PASS.
    pub fn verdict(&self) -> Verdict {
        if !self.failed.is_empty() {
            Verdict::Fail
        } else if self.passed + self.skipped.len() == 0
            || !self.missing.is_empty()
            || !self.skipped_unexplained.is_empty()
        {
            Verdict::Abort
        } else {
            Verdict::Pass
        }
    }
    /// The summary line.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} listed: {} passed, {} failed, {} skipped",
            self.listed,
            self.passed,
            self.failed.len(),
            self.skipped.len() + self.skipped_unexplained.len()
        );
        if !self.skipped_by_area.is_empty() {
            let areas: Vec<String> = self
                .skipped_by_area
                .iter()
                .map(|(a, n)| format!("{a} {n}"))
                .collect();
            s.push_str(&format!(" ({})", areas.join(", ")));
        }
        if !self.missing.is_empty() {
            s.push_str(&format!(", {} without a result", self.missing.len()));
        }
        if !self.not_installed.is_empty() {
            s.push_str(&format!(
                " ({} not in the installed Tempest)",
                self.not_installed.len()
            ));
        }
        s
    }
}

/// Judges results against the list. A listed test matches a result by its idempotent id
/// (`id-<uuid>`), else by `module.Class.method`: the attribute suffix of an id depends on the
/// configuration (e.g. `slow` on some tests). A failed `setUpClass (module.Class)` pseudo-test
/// fails every listed test of that class that has no result of its own; a skipped one (the
/// class's `skip_checks`, e.g. a missing extension) skips them with its reason.
pub fn judge(list: &[ListedTest], results: &Results) -> Judgement {
    let mut by_uuid: BTreeMap<String, &TestResult> = BTreeMap::new();
    let mut by_name: BTreeMap<String, &TestResult> = BTreeMap::new();
    let mut class_errors: BTreeMap<String, String> = BTreeMap::new();
    let mut class_skips: BTreeMap<String, TestResult> = BTreeMap::new();
    for (id, r) in results {
        let t = ListedTest::parse(id);
        if let Some(rest) = id.strip_prefix("setUpClass (")
            && let TestResult::Skipped(reason) = r
        {
            let class = rest.trim_end_matches(')').to_string();
            class_skips.insert(class, TestResult::Skipped(reason.clone()));
            continue;
        }
        if let Some(rest) = id
            .strip_prefix("setUpClass (")
            .or_else(|| id.strip_prefix("tearDownClass ("))
            && let TestResult::Failed(detail) = r
        {
            let class = rest.trim_end_matches(')').to_string();
            let what = if id.starts_with("setUp") {
                "setUpClass"
            } else {
                "tearDownClass"
            };
            class_errors.insert(class, format!("{what} failed: {detail}"));
            continue;
        }
        if let Some(u) = &t.uuid {
            by_uuid.insert(u.clone(), r);
        }
        by_name.insert(t.name, r);
    }
    let mut j = Judgement {
        listed: list.len(),
        ..Judgement::default()
    };
    for t in list {
        let found = t
            .uuid
            .as_ref()
            .and_then(|u| by_uuid.get(u))
            .or_else(|| by_name.get(&t.name))
            .copied()
            .or_else(|| {
                class_skips
                    .get(t.class())
                    .filter(|_| !class_errors.contains_key(t.class()))
            });
        match found {
            Some(TestResult::Passed) => j.passed += 1,
            Some(TestResult::Failed(d)) => j.failed.push((t.id.clone(), d.clone())),
            Some(TestResult::Skipped(reason)) => {
                *j.skipped_by_area.entry(t.area().to_string()).or_default() += 1;
                if reason.trim().is_empty() {
                    j.skipped_unexplained.push(t.id.clone());
                } else {
                    j.skipped.push((t.id.clone(), reason.clone()));
                }
            }
            None => match class_errors.get(t.class()) {
                Some(e) => j.failed.push((t.id.clone(), e.clone())),
                None => j.missing.push(t.id.clone()),
            },
        }
    }
    j
}

/// The outcome for a judgement: every failure, skip and missing test is a finding.
pub fn outcome_of(id: &str, j: &Judgement) -> Outcome {
    let mut evidence: Vec<Finding> = j
        .failed
        .iter()
        .map(|(t, d)| {
            Finding::new(
                format!("tempest test \"{t}\""),
                if d.is_empty() {
                    "failed".to_string()
                } else {
                    format!("failed: {d}")
                },
            )
        })
        .collect();
    evidence.extend(j.missing.iter().map(|t| {
        Finding::new(
            format!("tempest test \"{t}\""),
            if j.not_installed.contains(t) {
                "listed but not in the installed Tempest (neither its idempotent id nor its name), so it has no result"
            } else {
                "listed but has no result (not run)"
            },
        )
    }));
    evidence.extend(
        j.skipped_unexplained
            .iter()
            .map(|t| Finding::new(format!("tempest test \"{t}\""), "skipped without a reason")),
    );
    evidence.extend(
        j.skipped
            .iter()
            .map(|(t, r)| Finding::new(format!("tempest test \"{t}\""), format!("skipped: {r}"))),
    );
    let summary = format!("tempest: {}", j.summary());
    match j.verdict() {
        Verdict::Pass => Outcome::pass(id, summary),
        Verdict::Fail => Outcome::fail(id, summary),
        _ => {
            let why = if j.passed + j.skipped.len() == 0 && j.missing.len() == j.listed {
                "no listed test ran".to_string()
            } else if !j.missing.is_empty() {
                format!(
                    "{} listed test(s) have no result, so the list was not checked completely",
                    j.missing.len()
                )
            } else if !j.skipped_unexplained.is_empty() {
                format!(
                    "{} test(s) skipped without a reason",
                    j.skipped_unexplained.len()
                )
            } else {
                "no listed test ran".to_string()
            };
            Outcome::abort(id, format!("{summary}: {why}"))
        }
    }
    .with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::iaas::subunit::encode;

    const A: &str =
        "tempest.api.identity.v3.test_tokens.TokensV3Test.test_validate_token[id-a1,smoke]";
    const B: &str =
        "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image[id-b2]";
    const C: &str =
        "tempest.api.volume.test_volumes_get.VolumesGetTest.test_volume_create_get[id-c3,smoke]";

    fn list() -> Vec<ListedTest> {
        parse_list(&format!("# comment\n{A}\n\n{B}\n{C}\n"), "t").unwrap()
    }

    type Event<'a> = (Status, &'a str, Option<(&'a str, &'a [u8])>);

    fn stream(items: &[Event]) -> Vec<u8> {
        items
            .iter()
            .flat_map(|(s, id, f)| {
                let mut v = encode(Status::InProgress, Some(id), None);
                v.extend(encode(*s, Some(id), *f));
                v
            })
            .collect()
    }

    #[test]
    fn list_lines() {
        let t = ListedTest::parse(A);
        assert_eq!(t.uuid.as_deref(), Some("a1"));
        assert_eq!(t.area(), "identity");
        assert_eq!(
            t.class(),
            "tempest.api.identity.v3.test_tokens.TokensV3Test"
        );
        assert!(
            parse_list(&format!("{A}\n{A}\n"), "f")
                .unwrap_err()
                .contains("f:2")
        );
        assert_eq!(list().len(), 3);
    }

    #[test]
    fn builtin_list_is_the_standards_259_tests() {
        let list = builtin_list().unwrap();
        assert_eq!(list.len(), 259);
        let mut areas: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &list {
            *areas.entry(t.area()).or_default() += 1;
            assert!(t.uuid.is_some(), "{}", t.id);
        }
        let areas: Vec<(&str, usize)> = areas.into_iter().collect();
        assert_eq!(
            areas,
            vec![
                ("compute", 89),
                ("identity", 16),
                ("image", 23),
                ("network", 66),
                ("volume", 65)
            ]
        );
        assert!(
            !list
                .iter()
                .any(|t| t.name.ends_with("test_user_account_lockout"))
        );
        assert!(list.iter().any(|t| {
            t.name
                .ends_with("AttachVolumeTestJSON.test_attach_detach_volume")
        }));
    }

    #[test]
    fn a_skipped_setupclass_skips_the_class_tests_with_its_reason() {
        let mut results = Results::new();
        results.insert(
            "setUpClass (tempest.api.identity.v3.test_tokens.TokensV3Test)".into(),
            TestResult::Skipped("Extension router is not enabled".into()),
        );
        results.insert(B.into(), TestResult::Passed);
        results.insert(C.into(), TestResult::Passed);
        let j = judge(&list(), &results);
        assert_eq!(j.verdict(), Verdict::Pass, "{j:?}");
        assert_eq!(
            j.skipped,
            vec![(A.to_string(), "Extension router is not enabled".to_string())]
        );
        assert_eq!(j.skipped_by_area.get("identity"), Some(&1));
    }

    #[test]
    fn ids_resolve_by_idempotent_id_then_class_then_name() {
        let list = parse_list(
            "tempest.api.x.test_a.A.test_one[id-u1]\n\
             tempest.api.x.test_a.A.test_shared[id-u2,smoke]\n\
             tempest.api.x.test_old.Old.test_moved[id-u3]\n\
             tempest.api.x.test_a.A.test_no_uuid\n\
             tempest.api.x.test_a.A.test_gone[id-u9]\n",
            "l",
        )
        .unwrap();
        let installed: Vec<String> = [
            "tempest.api.x.test_a.A.test_one[id-u1,slow]",
            "tempest.api.x.test_a.AIpV6.test_shared[id-u2,smoke]",
            "tempest.api.x.test_a.A.test_shared[id-u2,smoke]",
            "tempest.api.x.test_new.New.test_moved[id-u3]",
            "tempest.api.x.test_a.A.test_no_uuid[negative]",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (ids, absent) = resolve_ids(&list, &installed);
        assert_eq!(
            ids,
            vec![
                "tempest.api.x.test_a.A.test_one[id-u1,slow]",
                "tempest.api.x.test_a.A.test_shared[id-u2,smoke]",
                "tempest.api.x.test_new.New.test_moved[id-u3]",
                "tempest.api.x.test_a.A.test_no_uuid[negative]",
            ]
        );
        assert_eq!(absent, vec!["tempest.api.x.test_a.A.test_gone[id-u9]"]);
    }

    #[test]
    fn pass_with_documented_skip() {
        let data = stream(&[
            (Status::Success, A, None),
            (Status::Success, B, None),
            (
                Status::Skip,
                C,
                Some(("reason", b"Cinder is not available")),
            ),
        ]);
        let j = judge(&list(), &results_from_subunit(&data).unwrap());
        assert_eq!(j.verdict(), Verdict::Pass, "{j:?}");
        assert_eq!(
            j.skipped,
            vec![(C.to_string(), "Cinder is not available".into())]
        );
        let o = outcome_of("x", &j);
        assert!(o.evidence.iter().any(|f| f.message.contains("Cinder")));
        assert!(o.reason.contains("volume 1"), "{}", o.reason);
    }

    #[test]
    fn failure_and_setupclass_failure_fail() {
        let data = stream(&[
            (Status::Success, A, None),
            (
                Status::Fail,
                "setUpClass (tempest.api.image.v2.test_images.BasicOperationsImagesTest)",
                Some(("traceback", b"Traceback\n  boom\nHTTP 503\n")),
            ),
            (Status::Fail, C, None),
        ]);
        let j = judge(&list(), &results_from_subunit(&data).unwrap());
        assert_eq!(j.verdict(), Verdict::Fail);
        assert_eq!(j.failed.len(), 2);
        assert!(
            j.failed[0].1.contains("setUpClass failed: HTTP 503"),
            "{j:?}"
        );
    }

    #[test]
    fn matches_by_uuid_despite_other_tags() {
        let data = stream(&[
            (
                Status::Success,
                "tempest.api.identity.v3.test_tokens.TokensV3Test.test_validate_token[id-a1,slow,smoke]",
                None,
            ),
            (Status::Success, B.split('[').next().unwrap(), None),
            (Status::Success, C, None),
        ]);
        let j = judge(&list(), &results_from_subunit(&data).unwrap());
        assert_eq!(j.verdict(), Verdict::Pass, "{j:?}");
    }

    #[test]
    fn nothing_ran_missing_and_unexplained_skips_abort() {
        let j = judge(&list(), &Results::new());
        assert_eq!(j.verdict(), Verdict::Abort);
        assert!(outcome_of("x", &j).reason.contains("no listed test ran"));
        let data = stream(&[(Status::Success, A, None), (Status::Success, B, None)]);
        let j = judge(&list(), &results_from_subunit(&data).unwrap());
        assert_eq!(j.verdict(), Verdict::Abort);
        assert_eq!(j.missing, vec![C.to_string()]);
        let data = stream(&[
            (Status::Success, A, None),
            (Status::Success, B, None),
            (Status::Skip, C, None),
        ]);
        let j = judge(&list(), &results_from_subunit(&data).unwrap());
        assert_eq!(j.verdict(), Verdict::Abort);
        assert!(outcome_of("x", &j).reason.contains("without a reason"));
    }

    #[test]
    fn junit_results() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite errors="0" failures="1" name="" tests="3" time="1.0">
<testcase classname="tempest.api.identity.v3.test_tokens.TokensV3Test" name="test_validate_token[id-a1,smoke]" time="0.1"/>
<testcase classname="tempest.api.image.v2.test_images.BasicOperationsImagesTest" name="test_delete_image[id-b2]" time="0.1"><failure message="boom">boom</failure></testcase>
<testcase classname="tempest.api.volume.test_volumes_get.VolumesGetTest" name="test_volume_create_get[id-c3,smoke]" time="0.0"><skipped message="no cinder">no cinder</skipped></testcase>
</testsuite>"#;
        let r = results_from_junit(xml).unwrap();
        let j = judge(&list(), &r);
        assert_eq!(j.verdict(), Verdict::Fail, "{r:?}");
        assert_eq!(j.skipped.len(), 1);
    }
}
