//! End-to-end tests of the KaaS command line: `run kaas --simulate` against the simulated
//! cluster (with the fake sonobuoy) and `sonobuoy-judge` on saved results.

use assert_cmd::Command;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scs_check() -> Command {
    let mut cmd = Command::cargo_bin("scs-check").expect("binary is built");
    cmd.current_dir(root())
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
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
            text.contains("ABORT") && text.contains("450 days old"),
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("failed_ok: 2") && stdout.contains("verdict: PASS"),
        "{stdout}"
    );

    // A retrieved directory and a tarball of it.
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("res/plugins/e2e");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::copy(
        root().join("fixtures/sonobuoy/results-fail.yaml"),
        tree.join("sonobuoy_results.yaml"),
    )
    .unwrap();
    let out = scs_check()
        .arg("sonobuoy-judge")
        .arg(dir.path().join("res"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
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
