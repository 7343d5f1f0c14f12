//! `scs-check run` under faults of the cloud, through the binary: a hung listing ends with the
//! probe's `--timeout` (not after 4 × 32 s), a cloud that cannot be authenticated at stops the
//! run at once with one line and exit 3, and a short-lived token is renewed through a long
//! resource-creating run whose cleanup still deletes everything.

mod common;
use common::{derived_cloud, isolated, json_results};
use std::path::Path;
use std::time::{Duration, Instant};

/// testcase → result of a JSON report.
fn results(path: &Path) -> Vec<(String, String)> {
    json_results(path)
        .into_iter()
        .map(|(_, id, result)| (id, result))
        .collect()
}

/// Today a hung flavor listing kept scs-0100 for 32 s × 4 attempts (and the executor waited up
/// to the cleanup grace of 900 s for it), whatever `--timeout` said.
#[test]
fn a_hung_listing_ends_with_the_probe_timeout() {
    let home = tempfile::tempdir().unwrap();
    let fixture = derived_cloud(
        home.path(),
        "faults: [{service: compute, path: /flavors/detail, kind: timeout}]\n",
    );
    let started = Instant::now();
    let output = isolated(home.path())
        .args(["run", "iaas", "-q", "--timeout", "3", "-t", "scs-0100"])
        .arg("--simulate")
        .arg(&fixture)
        .args(["--json", "r.json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        elapsed < Duration::from_secs(15),
        "took {elapsed:?}: {stderr}"
    );
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let results = results(&home.path().join("r.json"));
    let flavor: Vec<_> = results
        .iter()
        .filter(|(id, _)| id.starts_with("scs-0100"))
        .collect();
    assert!(!flavor.is_empty(), "{results:?}");
    for (id, r) in flavor {
        assert_eq!(r, "ABORT", "{id}");
    }
}

#[test]
fn a_refused_login_is_one_line_and_exit_3() {
    let home = tempfile::tempdir().unwrap();
    // Keystone refuses the credentials, as for a wrong password.
    let fixture = derived_cloud(
        home.path(),
        "faults: [{service: identity, method: POST, path: /auth/tokens, kind: status, status: 401}]\n",
    );
    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate"])
        .arg(&fixture)
        .args(["-o", "r.yaml"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("cannot authenticate at 127.0.0.1:"),
        "{stderr}"
    );
    assert!(lines[0].contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains("ABORT"), "{stderr}");
}

#[test]
fn an_unreachable_auth_url_is_one_line_and_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clouds = format!(
        "clouds:\n  down:\n    auth:\n      auth_url: http://127.0.0.1:{port}/v3\n      username: u\n      password: p\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n"
    );
    std::fs::write(home.path().join("clouds.yaml"), clouds).unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas", "--os-cloud", "down", "-t", "scs-0100"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot authenticate at 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn a_missing_clouds_yaml_mentions_os_client_config_file() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas", "--os-cloud", "nowhere", "-t", "scs-0100"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("OS_CLIENT_CONFIG_FILE"), "{stderr}");
}

/// Tokens live 20 simulated seconds (0.2 s); server and backup probes take several times
/// that. Today the token expired mid-run: ABORTs and resources left behind.
#[test]
fn a_short_lived_token_is_renewed_through_a_creating_run() {
    let home = tempfile::tempdir().unwrap();
    let fixture = derived_cloud(home.path(), "user: {token_ttl_s: 20}\n");
    let output = isolated(home.path())
        .args(["run", "iaas", "-q", "-t", "scs-01(17|01)"])
        .arg("--simulate")
        .arg(&fixture)
        .args(["--json", "r.json"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "exit {:?}: {stderr}",
        output.status.code()
    );
    assert!(!stderr.contains("left behind"), "{stderr}");
    let results = results(&home.path().join("r.json"));
    let ran: Vec<_> = results
        .iter()
        .filter(|(id, _)| id.starts_with("scs-0117") || id.starts_with("scs-0101"))
        .collect();
    assert!(ran.len() >= 2, "{results:?}");
    for (id, r) in ran {
        assert_ne!(r, "ABORT", "{id}: {stderr}");
    }
}

/// A Keystone that never answers: the login ends with `--timeout`, not after 4 × 32 s; a
/// transient failure of the login is no refusal: the run goes on, its testcases ABORT with the
/// reason and the report is written.
#[test]
fn a_hung_keystone_ends_with_the_timeout_and_a_report() {
    let home = tempfile::tempdir().unwrap();
    let fixture = derived_cloud(
        home.path(),
        "faults: [{service: identity, method: POST, path: /auth/tokens, kind: timeout}]\n",
    );
    let started = Instant::now();
    let output = isolated(home.path())
        .args([
            "run",
            "iaas",
            "-q",
            "--timeout",
            "2",
            "-t",
            "scs-0100",
            "--simulate",
        ])
        .arg(&fixture)
        .args(["--json", "r.json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(started.elapsed() < Duration::from_secs(12), "{stderr}");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot authenticate at 127.0.0.1:"),
        "{stderr}"
    );
    let results = results(&home.path().join("r.json"));
    assert!(!results.is_empty());
    for (id, r) in results.iter().filter(|(id, _)| id.starts_with("scs-0100")) {
        assert_eq!(r, "ABORT", "{id}");
    }
}

#[test]
fn a_failing_keystone_is_abort_with_a_report() {
    let home = tempfile::tempdir().unwrap();
    let fixture = derived_cloud(
        home.path(),
        "faults: [{service: identity, method: POST, path: /auth/tokens, kind: status, status: 503, retry_after: '0'}]\n",
    );
    let output = isolated(home.path())
        .args(["run", "iaas", "-q", "-t", "scs-0100", "--simulate"])
        .arg(&fixture)
        .args(["--json", "r.json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("HTTP 503"), "{stderr}");
    let results = results(&home.path().join("r.json"));
    assert!(
        results
            .iter()
            .any(|(id, r)| id.starts_with("scs-0100") && r == "ABORT"),
        "{results:?}"
    );
}

/// Ctrl-C during a hung listing ends the run at once (with its report), not after the
/// request's 4 × 32 s.
#[test]
fn ctrl_c_cuts_a_hung_request() {
    let home = tempfile::tempdir().unwrap();
    let fixture = derived_cloud(
        home.path(),
        "faults: [{service: compute, path: /flavors/detail, kind: timeout}]\n",
    );
    let bin = assert_cmd::cargo::cargo_bin("scs-check");
    let mut child = std::process::Command::new(bin)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("CI", "true")
        .current_dir(home.path())
        .args([
            "run",
            "iaas",
            "-q",
            "-t",
            "scs-0100",
            "--json",
            "r.json",
            "--simulate",
        ])
        .arg(&fixture)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "ended before the interrupt"
    );
    let interrupted = Instant::now();
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if interrupted.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("still running 60 s after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        interrupted.elapsed() < Duration::from_secs(10),
        "{:?}",
        interrupted.elapsed()
    );
    assert_eq!(status.code(), Some(2));
    let results = results(&home.path().join("r.json"));
    assert!(
        results
            .iter()
            .any(|(id, r)| id.starts_with("scs-0100") && r == "ABORT"),
        "{results:?}"
    );
}
