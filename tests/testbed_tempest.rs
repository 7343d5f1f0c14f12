//! scs-0128 with the real Tempest (Debian's 33.0.0) against the real Zed test bed of
//! testbed/openstack/: `scs-check run iaas -t scs-0128` with the built-in list, for each run of
//! `testbed/tempest-expected.yaml` (areas, verdict, passed count, expected skips with their
//! reasons), then `scs-check tempest-judge` on the workspace it left, which must agree. Runs
//! only when `SCS_TESTBED_TEMPEST` is set (by `.ci/testbed-tempest`) to the clouds.yaml that
//! `testbed/openstack/tempest_accounts.py` wrote (entries `tempest-primary`, `tempest-alt`);
//! `SCS_TESTBED_TEMPEST_AREAS` picks one run by its areas.

use assert_cmd::Command;
use serde::Deserialize;
use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Deserialize)]
struct Expected {
    runs: Vec<ExpectedRun>,
}

#[derive(Debug, Deserialize)]
struct ExpectedRun {
    areas: String,
    verdict: String,
    listed: usize,
    passed: usize,
    #[serde(default)]
    skipped: Vec<ExpectedSkip>,
    /// Expected failures (a bed without hypervisor or volume backend): class prefix and count.
    #[serde(default)]
    failed: Vec<ExpectedFail>,
    /// An INI file (relative to the repository) appended to tempest.conf.
    #[serde(default)]
    conf_extra: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExpectedFail {
    prefix: String,
    count: usize,
}

#[derive(Debug, Deserialize)]
struct ExpectedSkip {
    prefix: String,
    count: usize,
    reason: String,
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Checks one run against its expectation; returns the problems.
fn check_run(clouds: &Path, want: &ExpectedRun) -> Vec<String> {
    let out_dir = std::env::var_os("SCS_TESTBED_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/testbed"));
    // A fresh parent per run: the probe's workspace is its only `scs-check-tempest-*` child.
    let work = out_dir.join(format!("tempest-{}", want.areas.replace(',', "-")));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let started = std::time::Instant::now();
    let extra_args: Vec<String> = want
        .conf_extra
        .iter()
        .flat_map(|e| {
            [
                "-a".to_string(),
                format!("tempest_conf_extra={}", repo().join(e).display()),
            ]
        })
        .collect();
    let mut cmd = Command::cargo_bin("scs-check").unwrap();
    let out = cmd
        .env("OS_CLIENT_CONFIG_FILE", clouds)
        .env_remove("OS_CLOUD")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .current_dir(repo())
        .args(["run", "iaas", "-V", "next", "-t", "scs-0128"])
        .args([
            "--os-cloud",
            "tempest-primary",
            "-a",
            "tempest_alt=tempest-alt",
        ])
        .arg("-a")
        .arg(format!("tempest_areas={}", want.areas))
        .arg("-a")
        .arg(format!("tempest_workdir={}", work.display()))
        .args(["--timeout", "1500"])
        .args(&extra_args)
        .output()
        .unwrap();
    let run = text(&out);
    eprintln!(
        "== tempest {}: {:.0} s\n{}",
        want.areas,
        started.elapsed().as_secs_f64(),
        run.lines()
            .filter(|l| l.contains("scs-0128-tempest-e2e"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut problems = Vec::new();
    let verdict_line = run
        .lines()
        .find(|l| l.contains("] scs-0128-tempest-e2e "))
        .unwrap_or_default()
        .to_string();
    if !verdict_line.contains(&format!("scs-0128-tempest-e2e {} ", want.verdict)) {
        problems.push(format!("expected {}: {verdict_line}", want.verdict));
    }
    let workspaces: Vec<PathBuf> = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    let [workspace] = workspaces.as_slice() else {
        problems.push(format!(
            "expected one Tempest workspace in {}, found {workspaces:?}:\n{run}",
            work.display()
        ));
        return problems;
    };
    // The offline judge reads the same workspace (stestr's subunit v1) and must agree.
    let judged = Command::cargo_bin("scs-check")
        .unwrap()
        .current_dir(repo())
        .arg("tempest-judge")
        .arg(workspace)
        .args(["--areas", &want.areas])
        .output()
        .unwrap();
    let judged = text(&judged);
    let want_failed: usize = want.failed.iter().map(|f| f.count).sum();
    for line in [
        format!("listed: {}", want.listed),
        format!("passed: {}", want.passed),
        format!("failed: {want_failed}"),
        "missing: 0".to_string(),
        format!("verdict: {}", want.verdict),
    ] {
        if !judged.lines().any(|l| l == line) {
            problems.push(format!("tempest-judge: expected `{line}`"));
        }
    }
    let skips: Vec<(&str, &str)> = judged
        .lines()
        .filter_map(|l| l.strip_prefix("skipped: "))
        .filter_map(|l| l.strip_suffix(')'))
        .filter_map(|l| l.split_once(" ("))
        .collect();
    let mut matched = vec![false; skips.len()];
    for want_skip in &want.skipped {
        let hits: Vec<usize> = skips
            .iter()
            .enumerate()
            .filter(|(_, (t, r))| t.starts_with(&want_skip.prefix) && *r == want_skip.reason)
            .map(|(i, _)| i)
            .collect();
        if hits.len() != want_skip.count {
            problems.push(format!(
                "expected {} skip(s) of {} ({}), got {}",
                want_skip.count,
                want_skip.prefix,
                want_skip.reason,
                hits.len()
            ));
        }
        for i in hits {
            matched[i] = true;
        }
    }
    for (i, (t, r)) in skips.iter().enumerate() {
        if !matched[i] {
            problems.push(format!("unexpected skip: {t} ({r})"));
        }
    }
    let failures: Vec<&str> = judged
        .lines()
        .filter_map(|l| l.strip_prefix("FAILED: "))
        .collect();
    for want_fail in &want.failed {
        let n = failures
            .iter()
            .filter(|t| t.starts_with(&want_fail.prefix))
            .count();
        if n != want_fail.count {
            problems.push(format!(
                "expected {} failure(s) of {}, got {n}",
                want_fail.count, want_fail.prefix
            ));
        }
    }
    for t in &failures {
        if !want.failed.iter().any(|f| t.starts_with(&f.prefix)) {
            problems.push(format!("unexpected failure: {t}"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("run output:\n{run}\ntempest-judge:\n{judged}"));
    }
    problems
}

#[test]
fn tempest_on_the_zed_bed_matches_the_expectations() {
    let Some(clouds) = std::env::var_os("SCS_TESTBED_TEMPEST").map(PathBuf::from) else {
        eprintln!("SCS_TESTBED_TEMPEST is not set: skipping (see .ci/testbed-tempest)");
        return;
    };
    let expected: Expected = serde_saphyr::from_str(
        &std::fs::read_to_string(repo().join("testbed/tempest-expected.yaml")).unwrap(),
    )
    .unwrap();
    // `SCS_TESTBED_TEMPEST_AREAS=compute,volume` runs only that run (for development).
    let only = std::env::var("SCS_TESTBED_TEMPEST_AREAS").ok();
    let problems: Vec<String> = expected
        .runs
        .iter()
        .filter(|run| only.as_ref().is_none_or(|o| *o == run.areas))
        .flat_map(|run| check_run(&clouds, run))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
