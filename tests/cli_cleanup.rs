//! The `cleanup` subcommand from the command line, against an in-process simulated cloud that
//! holds leftovers of an earlier run (prefixed) and a customer's volume (not prefixed); and the
//! resource list in a run's report.

mod common;
use common::{isolated, repo};
use std::path::Path;

fn fixture_with_leftovers(dir: &Path) -> std::path::PathBuf {
    let base = repo().join("fixtures/clouds/compliant.yaml");
    let path = dir.join("leftovers.yaml");
    std::fs::write(
        &path,
        format!(
            "base: {}\nname: leftovers\nresources:\n  volumes:\n    - {{name: customer-data, size: 10}}\n    - {{name: _scs-0117-volume-1a2b3c4d, size: 1}}\n  backups:\n    - {{name: _scs-0117-backup-1a2b3c4d}}\n  secrets:\n    - {{name: _scs-0116-secret-1a2b3c4d}}\n",
            base.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn cleanup_dry_run_lists_and_real_run_deletes_only_prefixed() {
    let home = tempfile::tempdir().unwrap();
    let fixture = fixture_with_leftovers(home.path());
    let ledger = home.path().join("ledger.jsonl");
    let dry = isolated(home.path())
        .args(["cleanup", "--dry-run", "--simulate"])
        .arg(&fixture)
        .arg("--ledger")
        .arg(&ledger)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        out.contains("volume \"_scs-0117-volume-1a2b3c4d\""),
        "{out}"
    );
    assert!(out.contains("would delete"), "{out}");
    assert!(!out.contains("customer-data"), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");

    let real = isolated(home.path())
        .args(["cleanup", "--simulate"])
        .arg(&fixture)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&real.stdout);
    assert!(
        real.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("secret"), "{out}");
    assert!(
        lines[1].starts_with("backup"),
        "backup before volume: {out}"
    );
    assert!(lines[2].starts_with("volume"), "{out}");
    assert!(lines.iter().all(|l| l.ends_with(": deleted")), "{out}");
}

#[test]
fn cleanup_needs_a_cloud() {
    let home = tempfile::tempdir().unwrap();
    let out = isolated(home.path()).arg("cleanup").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--os-cloud"));
}

#[test]
fn run_report_lists_created_resources_as_deleted() {
    let home = tempfile::tempdir().unwrap();
    let fixture = repo().join("fixtures/clouds/compliant.yaml");
    let report = home.path().join("r.json");
    let out = isolated(home.path())
        .args(["run", "iaas", "-V", "v4", "-t", "scs-0101", "--simulate"])
        .arg(&fixture)
        .arg("--json")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let res = v["scs_check"]["resources"].as_array().unwrap();
    assert_eq!(res.len(), 5, "{res:?}");
    assert!(res.iter().all(|r| r["deleted"] == true), "{res:?}");
    assert!(
        res.iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("_scs-0101-"))
    );
}

#[test]
fn v4_on_the_compliant_cloud_passes_in_seconds() {
    let home = tempfile::tempdir().unwrap();
    let fixture = repo().join("fixtures/clouds/compliant.yaml");
    let started = std::time::Instant::now();
    let out = isolated(home.path())
        .args(["run", "iaas", "-V", "v4", "-q", "--simulate"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// A fixture deriving from the compliant cloud at a tenth of real time, with `faults`.
fn faulty_fixture(dir: &Path, name: &str, faults: &str) -> std::path::PathBuf {
    let base = repo().join("fixtures/clouds/compliant.yaml");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "base: {}\nname: {name}\ntiming: {{time_scale: 0.1}}\nfaults:\n{faults}",
            base.display()
        ),
    )
    .unwrap();
    path
}

/// Runs `scs-check run iaas ARGS --simulate FIXTURE --json r.json --timeout 20
/// --cleanup-grace 2` and returns (exit code, stderr, report, seconds taken).
fn run_with_budget(
    home: &Path,
    fixture: &Path,
    args: &[&str],
) -> (Option<i32>, String, serde_json::Value, f64) {
    run_with_limits(home, fixture, args, 20, 2)
}

/// Runs `scs-check run iaas ARGS --simulate FIXTURE --json r.json --timeout TIMEOUT
/// --cleanup-grace GRACE` and returns (exit code, stderr, report, seconds taken).
fn run_with_limits(
    home: &Path,
    fixture: &Path,
    args: &[&str],
    timeout: u64,
    grace: u64,
) -> (Option<i32>, String, serde_json::Value, f64) {
    let started = std::time::Instant::now();
    let out = isolated(home)
        .args(["run", "iaas"])
        .args(args)
        .arg("--simulate")
        .arg(fixture)
        .args(["--json", "r.json", "--timeout"])
        .arg(timeout.to_string())
        .arg("--cleanup-grace")
        .arg(grace.to_string())
        .output()
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = std::fs::read_to_string(home.join("r.json"))
        .unwrap_or_else(|e| panic!("no report ({e}); stderr: {stderr}"));
    (
        out.status.code(),
        stderr,
        serde_json::from_str(&text).unwrap(),
        secs,
    )
}

/// `--timeout` + `--cleanup-grace` + a margin for start-up and the simulator.
const BUDGET_SECS: f64 = 20.0 + 2.0 + 8.0;

#[test]
fn persistent_volume_delete_failure_ends_in_budget_and_names_the_cleanup_command() {
    let home = tempfile::tempdir().unwrap();
    let fixture = faulty_fixture(
        home.path(),
        "voldel",
        "  - {service: block-storage, method: DELETE, path: /volumes/, kind: status, status: 500}\n",
    );
    let (code, stderr, report, secs) = run_with_budget(
        home.path(),
        &fixture,
        &["-V", "v5.1", "-t", "scs-0117-test-backup"],
    );
    assert!(secs < BUDGET_SECS, "took {secs:.1} s; {stderr}");
    assert!(code.is_some(), "{stderr}");
    let res = report["scs_check"]["resources"].as_array().unwrap();
    let left: Vec<&serde_json::Value> = res.iter().filter(|r| r["deleted"] == false).collect();
    assert_eq!(left.len(), 2, "two volumes left: {res:?}");
    assert!(
        left.iter().all(|r| r["cleanup"]
            .as_str()
            .is_some_and(|c| c.starts_with("scs-check cleanup --os-cloud sim-voldel"))),
        "{left:?}"
    );
    assert!(
        stderr.contains("remove them with: scs-check cleanup --os-cloud sim-voldel"),
        "{stderr}"
    );
    assert!(stderr.contains("_scs-0117-volume-"), "{stderr}");
}

#[test]
fn persistent_server_status_failure_ends_in_budget_and_deletes_everything() {
    let home = tempfile::tempdir().unwrap();
    let fixture = faulty_fixture(
        home.path(),
        "srvget",
        "  - {service: compute, method: GET, path: /servers/, kind: status, status: 500}\n",
    );
    let (code, stderr, report, secs) =
        run_with_budget(home.path(), &fixture, &["-V", "v4", "-t", "scs-0101"]);
    assert!(secs < BUDGET_SECS, "took {secs:.1} s; {stderr}");
    assert_eq!(code, Some(2), "ABORT: {stderr}");
    let res = report["scs_check"]["resources"].as_array().unwrap();
    assert_eq!(res.len(), 5, "{res:?}");
    assert!(res.iter().all(|r| r["deleted"] == true), "{res:?}");
}

#[test]
fn cleanup_refuses_short_prefixes() {
    let home = tempfile::tempdir().unwrap();
    let fixture = fixture_with_leftovers(home.path());
    let out = isolated(home.path())
        .args(["cleanup", "--prefix", "_s", "--simulate"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--prefix \"_s\" is too short"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A probe that times out (the backup call never answers) and whose volume cannot be deleted
/// (no DELETE is ever answered): the probe's own cleanup spends the whole grace waiting, and the
/// last sweep gets only what is left of that grace (at least 3 s), not a second full grace.
/// The run ends within --timeout + --cleanup-grace + 3 s + start-up (the old code took
/// timeout + 2 x grace, over 30 s here).
#[test]
fn timed_out_probe_with_undeletable_volume_ends_within_timeout_plus_one_grace() {
    const TIMEOUT: u64 = 6;
    const GRACE: u64 = 12;
    let home = tempfile::tempdir().unwrap();
    let fixture = faulty_fixture(
        home.path(),
        "hangdel",
        "  - {service: block-storage, method: POST, path: /backups, kind: timeout}\n  - {service: block-storage, method: DELETE, path: /volumes/, kind: timeout}\n",
    );
    let (code, stderr, report, secs) = run_with_limits(
        home.path(),
        &fixture,
        &["-V", "v5.1", "-t", "scs-0117-test-backup"],
        TIMEOUT,
        GRACE,
    );
    let bound = (TIMEOUT + GRACE + 3) as f64 + 5.0;
    assert!(secs < bound, "took {secs:.1} s (bound {bound} s); {stderr}");
    assert_eq!(code, Some(2), "ABORT: {stderr}");
    assert!(stderr.contains("timed out after"), "{stderr}");
    assert!(
        stderr.contains("left behind (at most 3 s)"),
        "the last sweep only gets the minimum: {stderr}"
    );
    let res = report["scs_check"]["resources"].as_array().unwrap();
    let left: Vec<&serde_json::Value> = res.iter().filter(|r| r["deleted"] == false).collect();
    assert_eq!(left.len(), 1, "the volume is left: {res:?}");
    assert!(
        left[0]["cleanup"]
            .as_str()
            .is_some_and(|c| c.starts_with("scs-check cleanup --os-cloud sim-hangdel")),
        "{left:?}"
    );
    assert!(stderr.contains("_scs-0117-volume-"), "{stderr}");
    assert!(
        stderr.contains("remove them with: scs-check cleanup --os-cloud sim-hangdel"),
        "{stderr}"
    );
}

/// `cleanup --timeout` bounds the whole command: a volume whose deletion never gets an answer
/// is reported as left (exit 2) once the limit ran out.
#[test]
fn cleanup_ends_within_its_timeout_when_deletions_hang() {
    let home = tempfile::tempdir().unwrap();
    let fixture = fixture_with_leftovers(home.path());
    let text = std::fs::read_to_string(&fixture).unwrap()
        + "faults:\n  - {service: block-storage, method: DELETE, path: /volumes/, kind: timeout}\n";
    std::fs::write(&fixture, text).unwrap();
    let started = std::time::Instant::now();
    let out = isolated(home.path())
        .args(["cleanup", "--timeout", "3", "--simulate"])
        .arg(&fixture)
        .output()
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(secs < 3.0 + 5.0, "took {secs:.1} s; {stdout}{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains("volume \"_scs-0117-volume-1a2b3c4d\"")
            && stdout.contains("NOT deleted: the cleanup's time limit"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the time limit of 3 s ran out (--timeout)"),
        "{stderr}"
    );
    assert!(stdout.contains("secret"), "{stdout}");
    assert!(!stdout.contains("customer-data"), "{stdout}");
}
