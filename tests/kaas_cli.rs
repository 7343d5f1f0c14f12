//! End-to-end tests of the KaaS command line: `run kaas --simulate` against the simulated
//! cluster (with the fake sonobuoy) and `sonobuoy-judge` on saved results.

mod common;
use assert_cmd::Command;
use common::{repo, stdout_of};

fn scs_check() -> Command {
    let mut cmd = Command::cargo_bin("scs-check").expect("binary is built");
    cmd.current_dir(repo())
        .env_remove("KUBECONFIG")
        .env("CI", "1");
    cmd
}

#[test]
fn run_kaas_v1_simulated_compliant_passes() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = scs_check()
        .args([
            "run",
            "kaas",
            "-V",
            "v1",
            "--simulate",
            "fixtures/clusters/compliant.yaml",
            "--json",
        ])
        .arg(&report)
        .output()
        .unwrap();
    let stdout = stdout_of(&out, 0);
    assert!(stdout.contains("main: PASS (3 passed)"), "{stdout}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(doc.to_string().contains("version-policy-check"));
}

#[test]
fn run_kaas_simulated_outdated_fails_and_light_section_skips_sonobuoy() {
    let out = scs_check()
        .args([
            "run",
            "kaas",
            "-V",
            "v1",
            "-S",
            "light",
            "--simulate",
            "fixtures/clusters/outdated.yaml",
        ])
        .output()
        .unwrap();
    let stdout = stdout_of(&out, 1);
    assert!(stdout.contains("version-policy-check"), "{stdout}");
    assert!(
        !stdout.contains("cncf-k8s-conformance: sonobuoy"),
        "{stdout}"
    );
}

/// Issue 11 (4.1): `run kaas --offline` without a cache falls back to the built-in snapshot,
/// which is far older than 31 days at the fixtures' clock: ABORT naming the data's age, for an
/// outdated cluster (it used to PASS) and a compliant one alike.
#[test]
fn run_kaas_offline_on_stale_data_aborts_with_the_age() {
    // The age the probe must name: from the snapshot's `taken` (00:00 UTC) to the fixtures'
    // clock (2026-11-20T12:00:00Z), in whole days.
    let snapshot = std::fs::read_to_string("testcases/kaas/k8s-release-snapshot.yaml").unwrap();
    let taken = snapshot
        .lines()
        .find_map(|l| l.strip_prefix("taken: "))
        .and_then(|t| chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok())
        .expect("taken: in the snapshot");
    let clock = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let days = (clock - taken).num_days();
    assert!(
        days > 31,
        "the shipped snapshot is older than 31 days at the fixtures' clock"
    );
    let age = format!("{days} days old");
    for fixture in ["outdated", "compliant"] {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.json");
        let out = scs_check()
            .args([
                "run",
                "kaas",
                "-V",
                "v1",
                "-S",
                "light",
                "--offline",
                "--simulate",
            ])
            .arg(format!("fixtures/clusters/{fixture}.yaml"))
            .arg("--json")
            .arg(&report)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{fixture}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&report).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let text = doc.to_string();
        assert!(text.contains("version-policy-check"), "{fixture}");
        assert!(
            text.contains("ABORT") && text.contains(&age),
            "{fixture}: {text}"
        );
        assert!(!text.contains("\"PASS\""), "{fixture}: {text}");
    }
}

#[test]
fn missing_kubeconfig_and_context_are_clear_errors() {
    let out = scs_check()
        .args([
            "run",
            "kaas",
            "-V",
            "v1",
            "--kubeconfig",
            "/nonexistent/kc.yaml",
            "-s",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kubeconfig /nonexistent/kc.yaml: no such file"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc.yaml");
    std::fs::write(
        &kc,
        scs_check::kube::kubeconfig_for("http://127.0.0.1:1", "only"),
    )
    .unwrap();
    let out = scs_check()
        .args([
            "run",
            "kaas",
            "-V",
            "v1",
            "--context",
            "other",
            "--kubeconfig",
        ])
        .arg(&kc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no context named `other`"), "{err}");
}

#[test]
fn sonobuoy_judge_files_dirs_and_tarballs() {
    let out = scs_check()
        .args([
            "sonobuoy-judge",
            "fixtures/sonobuoy/results-ok-to-fail.yaml",
        ])
        .output()
        .unwrap();
    let stdout = stdout_of(&out, 0);
    assert!(
        stdout.contains("failed_ok: 2") && stdout.contains("verdict: PASS"),
        "{stdout}"
    );

    // A retrieved directory and a tarball of it.
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("res/plugins/e2e");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::copy(
        repo().join("fixtures/sonobuoy/results-fail.yaml"),
        tree.join("sonobuoy_results.yaml"),
    )
    .unwrap();
    let out = scs_check()
        .arg("sonobuoy-judge")
        .arg(dir.path().join("res"))
        .output()
        .unwrap();
    let stdout = stdout_of(&out, 1);
    assert!(
        stdout.contains("FAILED: [sig-network] Services should serve a basic endpoint"),
        "{stdout}"
    );
    let tarball = dir.path().join("results.tar.gz");
    let ok = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path().join("res"))
        .arg("plugins")
        .status()
        .unwrap();
    assert!(ok.success());
    let out = scs_check()
        .arg("sonobuoy-judge")
        .arg(&tarball)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // A bad okToFail list names the file and position.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "okToFail:\n  - regex: ''\n    reason: r\n").unwrap();
    let out = scs_check()
        .args([
            "sonobuoy-judge",
            "fixtures/sonobuoy/results-pass.yaml",
            "--ok-to-fail",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:2:"));
}

/// A tiny HTTP CONNECT proxy on 127.0.0.1; returns its URL and the number of tunnels opened.
fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tunnels = count.clone();
    std::thread::spawn(move || {
        for inbound in listener.incoming() {
            let Ok(mut inbound) = inbound else { return };
            let tunnels = tunnels.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if inbound.read_exact(&mut byte).is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split_whitespace().next());
                let Some(Ok(mut outbound)) = target.map(std::net::TcpStream::connect) else {
                    let _ = inbound.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    return;
                };
                tunnels.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = inbound.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                let (mut a, mut b) = (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut outbound);
                    let _ = outbound.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut b, &mut inbound);
                let _ = inbound.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (url, count)
}

/// Issue 11 (5.6): with `HTTPS_PROXY` set, `run kaas` reaches the cluster through the proxy
/// (it used to stop with exit 3, "requires the disabled feature kube/http-proxy").
#[test]
fn run_kaas_through_an_https_proxy() {
    let (proxy, tunnels) = connect_proxy();
    let out = scs_check()
        .args([
            "run",
            "kaas",
            "-V",
            "v1",
            "-S",
            "light",
            "--simulate",
            "fixtures/clusters/compliant.yaml",
        ])
        .env("HTTPS_PROXY", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stderr.contains("disabled feature"), "{stderr}");
    assert!(
        tunnels.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the cluster was reached through the proxy"
    );
}

/// Issue 13 (6): with both Sonobuoy-based testcases selected, `run kaas` makes ONE invocation
/// (one work item, one e2e pass) that answers both, and judges each on its own tests.
#[test]
fn run_kaas_judges_both_sonobuoy_testcases_from_one_pass() {
    for (fixture, cncf, networking, exit) in [
        ("compliant", 1, 1, 0),
        ("sonobuoy-netpol-fail", 1, -1, 1),
        ("sonobuoy-fail", -1, -1, 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.yaml");
        let out = scs_check()
            .args(["run", "kaas", "-V", "v1", "--simulate"])
            .arg(format!("fixtures/clusters/{fixture}.yaml"))
            .arg("-o")
            .arg(&report)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{fixture}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&report).unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let invocations = doc["run"]["invocations"].as_object().unwrap();
        let sonobuoy: Vec<&serde_json::Value> = invocations
            .values()
            .filter(|i| i["cmd"] == "builtin:kaas-sonobuoy-e2e")
            .collect();
        assert_eq!(sonobuoy.len(), 1, "{fixture}: one invocation: {text}");
        assert_eq!(
            sonobuoy[0]["results"]["cncf-k8s-conformance"], cncf,
            "{fixture}: {text}"
        );
        assert_eq!(
            sonobuoy[0]["results"]["kaas-networking-check"], networking,
            "{fixture}: {text}"
        );
    }
}
