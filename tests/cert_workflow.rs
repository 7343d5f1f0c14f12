//! The certification workflow through the binary: signatures interoperate with the system
//! `ssh-keygen` in both directions (skipped with a message where it is absent, a failure under
//! `CI=true`), uploads against a test server that checks what the compliance monitor checks,
//! batches of three simulated subjects (one failing, one hanging past its time limit), and
//! score cards.

#[path = "common/monitor.rs"]
mod monitor;
use assert_cmd::Command;
use axum::extract::State;
use axum::http::StatusCode;
use monitor::{account, start_monitor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn scs_check() -> Command {
    let mut cmd = Command::cargo_bin("scs-check").expect("binary is built");
    cmd.env("CI", "true")
        .env_remove("OS_CLOUD")
        .env_remove("SCS_KEY_PASSPHRASE");
    cmd
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A small well-formed report (the monitor's required fields).
fn report_text(subject: &str, run_uuid: &str) -> String {
    format!(
        "---\nspec:\n  uuid: 00000000-0000-4000-8000-0000000ba7c0\n  name: Batch demo scope\n  url: https://example.invalid/batch-scope.yaml\nchecked_at: 2025-07-01 10:00:00.000000\nreference_date: 2025-07-01\nsubject: {subject}\nrun:\n  uuid: {run_uuid}\n  argv: []\n  assignment: {{}}\n  sections: null\n  forced_version: null\n  forced_tests: null\n  invocations:\n    i-1:\n      id: i-1\n      cmd: ./subject.sh pass\n      results:\n        batch-check: 1\n      rc: 0\n      stdout: ['batch-check: PASS']\n      stderr: []\n      info: 0\n      warning: 0\n      error: 0\n      critical: 0\n"
    )
}

/// Whether `ssh-keygen` can be run; prints why a test is skipped otherwise. Under CI
/// (`CI=true`) a missing ssh-keygen fails the test instead: CI must not pass by skipping.
fn have_ssh_keygen(test: &str) -> bool {
    let ok = std::process::Command::new("ssh-keygen")
        .arg("-?")
        .output()
        .is_ok();
    skip_allowed(test, ok, running_in_ci())
}

/// The decision of [`have_ssh_keygen`]: `true` to run the test, `false` to skip it, a panic
/// when ssh-keygen is missing under CI.
fn skip_allowed(test: &str, ok: bool, ci: bool) -> bool {
    if !ok {
        assert!(
            !ci,
            "{test}: ssh-keygen is not installed, and CI=true forbids skipping the interop tests \
             (apt-get install openssh-client)"
        );
        eprintln!("skipped {test}: ssh-keygen is not installed (apt-get install openssh-client)");
    }
    ok
}

/// Whether the tests run under CI (`CI` set to `true` or `1`, as CI services set it).
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn ssh_keygen(args: &[&str]) -> std::process::Output {
    std::process::Command::new("ssh-keygen")
        .args(args)
        .output()
        .expect("ssh-keygen runs")
}

fn make_key(dir: &Path, name: &str, kind: &[&str], passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let p = path.to_str().unwrap();
    let mut args = vec!["-q", "-N", passphrase, "-C", "test@example", "-f", p];
    args.extend_from_slice(kind);
    let out = ssh_keygen(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn allowed_signers(dir: &Path, key: &Path) -> PathBuf {
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let path = dir.join("allowed_signers");
    std::fs::write(&path, format!("mail@csp.eu {}", public)).unwrap();
    path
}

fn ssh_keygen_verify(allowed: &Path, sig: &Path, data: &Path) -> std::process::Output {
    std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", "mail@csp.eu", "-n", "report", "-s"])
        .arg(sig)
        .stdin(std::fs::File::open(data).unwrap())
        .output()
        .unwrap()
}

#[test]
#[should_panic(expected = "CI=true forbids skipping")]
fn missing_ssh_keygen_fails_under_ci() {
    skip_allowed("demo", false, true);
}

#[test]
fn missing_ssh_keygen_skips_only_outside_ci() {
    assert!(!skip_allowed("demo", false, false));
    assert!(skip_allowed("demo", true, true));
}

#[test]
fn ci_cannot_pass_by_skipping() {
    // .ci/run installs ssh-keygen or stops; it never goes on with a warning.
    let run = std::fs::read_to_string(fixture(".ci/run")).unwrap();
    assert!(!run.contains("will be skipped"), "{run}");
    assert!(run.contains("exit 1"));
    // The workflow runs the test-bed stage in a debian:12 container (root, apt-get) and the
    // rest, without the test bed, on the default runner.
    let ci = std::fs::read_to_string(fixture(".github/workflows/ci.yml")).unwrap();
    let testbed = &ci[ci.find("\n  testbed:").expect("a testbed job")..];
    assert!(testbed.contains("image: debian:12"), "{testbed}");
    assert!(testbed.contains("bash .ci/testbed"), "{testbed}");
    assert!(testbed.contains("rust-toolchain"), "{testbed}");
    let test = &ci[ci.find("\n  test:").expect("a test job")..ci.find("\n  testbed:").unwrap()];
    assert!(test.contains("bash .ci/run --no-testbed"), "{test}");
    assert!(!test.contains("container:"), "{test}");
}

#[test]
fn our_signatures_verify_with_ssh_keygen_and_match_it_byte_for_byte() {
    if !have_ssh_keygen("our_signatures_verify_with_ssh_keygen") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.yaml");
    std::fs::write(&report, report_text("alpha", "r-1")).unwrap();
    for (name, kind) in [
        ("ed", &["-t", "ed25519"][..]),
        ("ec", &["-t", "ecdsa", "-b", "256"][..]),
        ("rsa", &["-t", "rsa", "-b", "2048"][..]),
    ] {
        let key = make_key(dir.path(), name, kind, "");
        scs_check()
            .args(["sign", "--key"])
            .arg(&key)
            .arg(&report)
            .assert()
            .success();
        let sig = dir.path().join("report.yaml.sig");
        let allowed = allowed_signers(dir.path(), &key);
        let out = ssh_keygen_verify(&allowed, &sig, &report);
        assert!(
            out.status.success(),
            "{name}: ssh-keygen rejected our signature: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if name == "ed" {
            // Ed25519 signatures are deterministic: ssh-keygen's file must equal ours.
            let copy = dir.path().join("copy.yaml");
            std::fs::copy(&report, &copy).unwrap();
            let out = ssh_keygen(&[
                "-Y",
                "sign",
                "-f",
                key.to_str().unwrap(),
                "-n",
                "report",
                copy.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let theirs = std::fs::read(dir.path().join("copy.yaml.sig")).unwrap();
            assert_eq!(
                std::fs::read(&sig).unwrap(),
                theirs,
                "signature files differ"
            );
        }
    }
}

#[test]
fn encrypted_key_signs_with_the_passphrase_from_the_environment() {
    if !have_ssh_keygen("encrypted_key_signs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.yaml");
    std::fs::write(&report, report_text("alpha", "r-2")).unwrap();
    let key = make_key(dir.path(), "k", &["-t", "ed25519"], "open sesame");
    scs_check()
        .args(["sign", "--key"])
        .arg(&key)
        .arg(&report)
        .env("SCS_KEY_PASSPHRASE", "wrong")
        .assert()
        .code(3)
        .stderr(predicates::str::contains("wrong passphrase"));
    scs_check()
        .args(["sign", "--key"])
        .arg(&key)
        .arg(&report)
        .env("SCS_KEY_PASSPHRASE", "open sesame")
        .assert()
        .success();
    let allowed = allowed_signers(dir.path(), &key);
    let out = ssh_keygen_verify(&allowed, &dir.path().join("report.yaml.sig"), &report);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ssh_keygen_signatures_verify_with_ours_and_tampering_fails() {
    if !have_ssh_keygen("ssh_keygen_signatures_verify_with_ours") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.yaml");
    std::fs::write(&report, report_text("alpha", "r-3")).unwrap();
    for (name, kind) in [
        ("ed", &["-t", "ed25519"][..]),
        ("ec", &["-t", "ecdsa"][..]),
        ("rsa", &["-t", "rsa", "-b", "2048"][..]),
    ] {
        let key = make_key(dir.path(), name, kind, "");
        let out = ssh_keygen(&[
            "-Y",
            "sign",
            "-f",
            key.to_str().unwrap(),
            "-n",
            "report",
            report.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let allowed = allowed_signers(dir.path(), &key);
        scs_check()
            .arg("verify")
            .arg(&report)
            .arg("--allowed-signers")
            .arg(&allowed)
            .args(["-I", "mail@csp.eu"])
            .assert()
            .success()
            .stdout(predicates::str::contains("Good signature"))
            .stdout(predicates::str::contains("alpha"));
        scs_check()
            .arg("verify")
            .arg(&report)
            .arg("--public-key")
            .arg(format!("{}.pub", key.display()))
            .assert()
            .success();
        std::fs::remove_file(dir.path().join("report.yaml.sig")).unwrap();
        std::fs::remove_file(&key).unwrap();
        std::fs::remove_file(format!("{}.pub", key.display())).unwrap();
    }
    // One changed byte fails with a clear message.
    let key = make_key(dir.path(), "t", &["-t", "ed25519"], "");
    let out = ssh_keygen(&[
        "-Y",
        "sign",
        "-f",
        key.to_str().unwrap(),
        "-n",
        "report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let allowed = allowed_signers(dir.path(), &key);
    let mut bytes = std::fs::read(&report).unwrap();
    let at = bytes.iter().position(|b| *b == b'a').unwrap();
    bytes[at] = b'b';
    std::fs::write(&report, bytes).unwrap();
    scs_check()
        .arg("verify")
        .arg(&report)
        .arg("--allowed-signers")
        .arg(&allowed)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("BAD signature"));
    // A signature for another namespace is refused.
    std::fs::write(&report, report_text("alpha", "r-3")).unwrap();
    std::fs::remove_file(dir.path().join("report.yaml.sig")).unwrap();
    let out = ssh_keygen(&[
        "-Y",
        "sign",
        "-f",
        key.to_str().unwrap(),
        "-n",
        "git",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    scs_check()
        .arg("verify")
        .arg(&report)
        .arg("--allowed-signers")
        .arg(&allowed)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("namespace \"git\""));
}

#[test]
fn allowed_signers_options_agree_with_ssh_keygen() {
    if !have_ssh_keygen("allowed_signers_options_agree_with_ssh_keygen") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.yaml");
    std::fs::write(&report, report_text("alpha", "r-opts")).unwrap();
    let key = make_key(dir.path(), "k", &["-t", "ed25519"], "");
    let out = ssh_keygen(&[
        "-Y",
        "sign",
        "-f",
        key.to_str().unwrap(),
        "-n",
        "report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let public = public.trim();
    // (allowed-signers line, identity, expected verdict)
    let cases = [
        (format!("mail@csp.eu {public}"), "mail@csp.eu", true),
        (format!("*@csp.eu {public}"), "mail@csp.eu", true),
        (
            format!("*@csp.eu,!mail@csp.eu {public}"),
            "mail@csp.eu",
            false,
        ),
        (format!("m?il@csp.eu {public}"), "mail@csp.eu", true),
        (format!("other@csp.eu {public}"), "mail@csp.eu", false),
        (
            format!("mail@csp.eu namespaces=\"git\" {public}"),
            "mail@csp.eu",
            false,
        ),
        (
            format!("mail@csp.eu namespaces=\"git,rep*\" {public}"),
            "mail@csp.eu",
            true,
        ),
        (
            format!("mail@csp.eu valid-before=\"20200101Z\" {public}"),
            "mail@csp.eu",
            false,
        ),
        (
            format!("mail@csp.eu valid-after=\"29990101Z\" {public}"),
            "mail@csp.eu",
            false,
        ),
        (
            format!("mail@csp.eu valid-after=\"20200101Z\",valid-before=\"29990101Z\" {public}"),
            "mail@csp.eu",
            true,
        ),
        (
            format!("mail@csp.eu cert-authority {public}"),
            "mail@csp.eu",
            false,
        ),
        (
            format!("mail@csp.eu valid-before=\"20200101Z\" {public}\nmail@csp.eu {public}"),
            "mail@csp.eu",
            true,
        ),
    ];
    let allowed = dir.path().join("allowed");
    for (line, id, expect) in &cases {
        std::fs::write(&allowed, format!("{line}\n")).unwrap();
        let theirs = std::process::Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&allowed)
            .args(["-I", id, "-n", "report", "-s"])
            .arg(dir.path().join("report.yaml.sig"))
            .stdin(std::fs::File::open(&report).unwrap())
            .output()
            .unwrap();
        assert_eq!(
            theirs.status.success(),
            *expect,
            "ssh-keygen on {line:?}: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let ours = scs_check()
            .arg("verify")
            .arg(&report)
            .arg("--allowed-signers")
            .arg(&allowed)
            .args(["-I", id])
            .output()
            .unwrap();
        assert_eq!(
            ours.status.success(),
            *expect,
            "scs-check on {line:?}: {}{}",
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&ours.stderr)
        );
    }
    // Without -I the output names the principals of the accepting line.
    std::fs::write(
        &allowed,
        format!("ops@csp.eu namespaces=\"git\" {public}\n*@csp.eu {public}\n"),
    )
    .unwrap();
    scs_check()
        .arg("verify")
        .arg(&report)
        .arg("--allowed-signers")
        .arg(&allowed)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "principal *@csp.eu (line 2; no -I given",
        ));
    // An option ssh-keygen does not know for allowed signers is an error naming the line.
    std::fs::write(
        &allowed,
        format!("mail@csp.eu no-touch-required {public}\n"),
    )
    .unwrap();
    scs_check()
        .arg("verify")
        .arg(&report)
        .arg("--allowed-signers")
        .arg(&allowed)
        .assert()
        .code(3)
        .stderr(predicates::str::contains(":1: unsupported option"));
}

#[test]
fn keygen_output_is_usable_for_signing() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join(".secret");
    scs_check()
        .args(["keygen", "my-cloud", "--dir"])
        .arg(&secret)
        .env("SCS_MONITOR_PASSWORD", "pw")
        .assert()
        .success()
        .stdout(predicates::str::contains("subject: my-cloud"))
        .stdout(predicates::str::contains("$argon2id$"))
        .stdout(predicates::str::contains(
            "public_key_type: \"ssh-ed25519\"",
        ));
    assert_eq!(
        std::fs::read_to_string(secret.join("tokenfile")).unwrap(),
        "bXktY2xvdWQ6cHc="
    );
    let report = dir.path().join("r.yaml");
    std::fs::write(&report, report_text("my-cloud", "r-4")).unwrap();
    scs_check()
        .args(["sign", "--key"])
        .arg(secret.join("keyfile"))
        .arg(&report)
        .assert()
        .success();
    scs_check()
        .arg("verify")
        .arg(&report)
        .arg("--public-key")
        .arg(secret.join("keyfile.pub"))
        .assert()
        .success();
    // A second run refuses to overwrite.
    scs_check()
        .args(["keygen", "my-cloud", "--dir"])
        .arg(&secret)
        .env("SCS_MONITOR_PASSWORD", "pw")
        .assert()
        .code(3)
        .stderr(predicates::str::contains("not overwriting"));
}

// ---------------------------------------------------------------------------------------------
// The test monitor is in common/monitor.rs (shared with tests/shard_cluster.rs).

async fn blocking(cmd: Command) -> std::process::Output {
    let mut cmd = cmd;
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_retries_5xx_reports_409_and_refuses_bad_auth() {
    let dir = tempfile::tempdir().unwrap();
    let (key, token, m) = account(dir.path(), "alpha");
    let url = start_monitor(m.clone()).await;
    let report = dir.path().join("report.yaml");
    std::fs::write(&report, report_text("alpha", "run-1")).unwrap();
    m.lock().unwrap().fail_next = true;

    let mut cmd = scs_check();
    cmd.arg("upload").arg(&report).arg("--key").arg(&key);
    cmd.args([
        "--monitor",
        &url,
        "--allow-http",
        "--retry-delay",
        "0.05",
        "--token-file",
    ])
    .arg(&token);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("HTTP 500") && stderr.contains("retrying"),
        "{stderr}"
    );
    assert!(stderr.contains("uploaded"), "{stderr}");
    assert_eq!(m.lock().unwrap().requests, 2);
    assert_eq!(m.lock().unwrap().stored, vec!["run-1"]);

    // The same run again: 409, reported as such, exit 0, signature reused from REPORT.sig.
    let mut cmd = scs_check();
    cmd.arg("upload").arg(&report);
    cmd.args(["--monitor", &url, "--allow-http", "--token-file"])
        .arg(&token);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("already uploaded"), "{stderr}");

    // A wrong token: 401, no retry, exit 3, report kept.
    let bad = dir.path().join("bad-token");
    std::fs::write(&bad, "YWxwaGE6d3Jvbmc=").unwrap();
    let requests = m.lock().unwrap().requests;
    let mut cmd = scs_check();
    cmd.arg("upload")
        .arg(&report)
        .args(["--monitor", &url, "--allow-http", "--token-file"])
        .arg(&bad);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert_eq!(m.lock().unwrap().requests, requests + 1);
    assert!(report.exists());

    // A report for a subject the account may not upload for: 401 Permission denied.
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, report_text("beta", "run-2")).unwrap();
    let mut cmd = scs_check();
    cmd.arg("upload").arg(&other).arg("--key").arg(&key);
    cmd.args(["--monitor", &url, "--allow-http", "--token-file"])
        .arg(&token);
    let out = blocking(cmd).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));

    // Nobody listening: retried, then a clear error; the report stays on disk.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut cmd = scs_check();
    cmd.arg("upload").arg(&report);
    cmd.args([
        "--monitor",
        &format!("http://{closed}"),
        "--allow-http",
        "--attempts",
        "2",
        "--retry-delay",
        "0.01",
        "--token-file",
    ])
    .arg(&token);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot connect") && stderr.contains("gave up after 2 attempts"),
        "{stderr}"
    );
    assert!(report.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_upload_signs_and_uploads_the_written_report() {
    let dir = tempfile::tempdir().unwrap();
    let (key, token, m) = account(dir.path(), "alpha");
    let url = start_monitor(m.clone()).await;
    let out_path = dir.path().join("run.yaml");
    let mut cmd = scs_check();
    cmd.arg("run").arg(fixture("fixtures/batch/scope.yaml"));
    cmd.args([
        "-s",
        "alpha",
        "-a",
        "mode=pass",
        "-a",
        "label=x",
        "-d",
        "2025-07-01",
        "-q",
        "-o",
    ])
    .arg(&out_path);
    cmd.args(["--upload", "--allow-http", "--monitor", &url, "--key"])
        .arg(&key)
        .arg("--token-file")
        .arg(&token);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("uploaded"), "{stderr}");
    assert!(dir.path().join("run.yaml.sig").exists());
    assert_eq!(m.lock().unwrap().stored.len(), 1);
}

/// `report_text` with `scs_check.simulated: true`, as a run against the simulator records it.
fn simulated_report_text(subject: &str, run_uuid: &str) -> String {
    format!(
        "{}scs_check:\n  tool: scs-check\n  version: 0.1.0\n  simulated: true\n",
        report_text(subject, run_uuid)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_reports_are_never_signed_or_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let (key, token, m) = account(dir.path(), "alpha");
    let url = start_monitor(m.clone()).await;
    let report = dir.path().join("sim.yaml");
    std::fs::write(&report, simulated_report_text("alpha", "sim-1")).unwrap();

    let mut cmd = scs_check();
    cmd.args(["sign", "--key"]).arg(&key).arg(&report);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("simulated cloud"), "{stderr}");
    assert!(!dir.path().join("sim.yaml.sig").exists());

    // upload with --key (signs first) and upload of a signature made elsewhere.
    for with_key in [true, false] {
        if !with_key {
            let key = ssh_key::PrivateKey::random(
                &mut ssh_key::rand_core::OsRng,
                ssh_key::Algorithm::Ed25519,
            )
            .unwrap();
            let pem =
                scs_check::cert::sign::sign_bytes(&key, &std::fs::read(&report).unwrap()).unwrap();
            std::fs::write(dir.path().join("sim.yaml.sig"), pem).unwrap();
        }
        let mut cmd = scs_check();
        cmd.arg("upload").arg(&report);
        if with_key {
            cmd.arg("--key").arg(&key);
        }
        cmd.args(["--monitor", &url, "--allow-http", "--token-file"])
            .arg(&token);
        let out = blocking(cmd).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("simulated cloud") && stderr.contains("upload"),
            "{stderr}"
        );
    }
    // A multi-document file with one simulated document is refused as a whole.
    let multi = dir.path().join("multi.yaml");
    std::fs::write(
        &multi,
        format!(
            "{}{}",
            report_text("alpha", "real-1"),
            simulated_report_text("alpha", "sim-2")
        ),
    )
    .unwrap();
    let mut cmd = scs_check();
    cmd.arg("upload").arg(&multi).arg("--key").arg(&key);
    cmd.args(["--monitor", &url, "--allow-http", "--token-file"])
        .arg(&token);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("document #2"), "{stderr}");
    assert_eq!(m.lock().unwrap().requests, 0, "nothing reached the monitor");
    // The library call refuses too (used by `run --upload` and `batch`).
    let options = scs_check::cert::upload::UploadOptions {
        allow_http: true,
        ..scs_check::cert::upload::UploadOptions::new(&url, "t".into())
    };
    let err = scs_check::cert::upload::upload(
        &options,
        "sig",
        simulated_report_text("alpha", "sim-3").as_bytes(),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("simulated cloud"), "{err}");
}

/// A monitor behind a misconfigured proxy: redirects of every kind to an endpoint that
/// answers 200 `null` to anything, and 2xx answers that are not the monitor's.
async fn start_odd_monitor(hits: Arc<Mutex<Vec<String>>>) -> String {
    use axum::response::IntoResponse;
    use axum::routing::any;
    let redirect = |code: u16| {
        any(move || async move {
            (
                StatusCode::from_u16(code).unwrap(),
                [("location", "/ok/reports")],
                "",
            )
                .into_response()
        })
    };
    let app = axum::Router::new()
        .route("/r301/reports", redirect(301))
        .route("/r302/reports", redirect(302))
        .route("/r303/reports", redirect(303))
        .route("/r307/reports", redirect(307))
        .route("/r308/reports", redirect(308))
        .route(
            "/ok/reports",
            any(
                move |method: axum::http::Method, State(h): State<Arc<Mutex<Vec<String>>>>| async move {
                    h.lock().unwrap().push(method.to_string());
                    (StatusCode::OK, "null")
                },
            ),
        )
        .route(
            "/html/reports",
            any(|| async { (StatusCode::OK, "<html><body>Welcome to nginx</body></html>") }),
        )
        .route("/empty/reports", any(|| async { (StatusCode::OK, "") }))
        .route(
            "/accepted/reports",
            any(|| async { (StatusCode::ACCEPTED, "null") }),
        )
        .with_state(hits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_refuses_plain_http_redirects_and_unexpected_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (key, token, m) = account(dir.path(), "alpha");
    let url = start_monitor(m.clone()).await;
    let report = dir.path().join("report.yaml");
    std::fs::write(&report, report_text("alpha", "odd-1")).unwrap();

    // http:// without --allow-http: refused before anything is sent.
    let mut cmd = scs_check();
    cmd.arg("upload").arg(&report).arg("--key").arg(&key);
    cmd.args(["--monitor", &url, "--token-file"]).arg(&token);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("http://") && stderr.contains("--allow-http"),
        "{stderr}"
    );
    assert_eq!(m.lock().unwrap().requests, 0);

    // `run --upload` checks the monitor before any probe runs: no report is written.
    let out_path = dir.path().join("run.yaml");
    let mut cmd = scs_check();
    cmd.arg("run").arg(fixture("fixtures/batch/scope.yaml"));
    cmd.args([
        "-s",
        "alpha",
        "-a",
        "mode=pass",
        "-a",
        "label=x",
        "-q",
        "-o",
    ])
    .arg(&out_path);
    cmd.args(["--upload", "--monitor", &url, "--key"])
        .arg(&key)
        .arg("--token-file")
        .arg(&token);
    let out = blocking(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--allow-http"), "{stderr}");
    assert!(!out_path.exists(), "the run must not start");

    let hits = Arc::new(Mutex::new(Vec::new()));
    let odd = start_odd_monitor(hits.clone()).await;
    for (path, expect) in [
        ("r301", "HTTP 301"),
        ("r302", "HTTP 302"),
        ("r303", "HTTP 303"),
        ("r307", "HTTP 307"),
        ("r308", "HTTP 308"),
        ("html", "Welcome to nginx"),
        ("empty", "empty body"),
        ("accepted", "HTTP 202"),
    ] {
        let mut cmd = scs_check();
        cmd.arg("upload").arg(&report).arg("--key").arg(&key);
        cmd.args([
            "--monitor",
            &format!("{odd}/{path}/"),
            "--allow-http",
            "--attempts",
            "1",
            "--token-file",
        ])
        .arg(&token);
        let out = blocking(cmd).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{path}: {stderr}");
        assert!(stderr.contains(expect), "{path}: {stderr}");
        assert!(!stderr.contains("uploaded"), "{path}: {stderr}");
        if path.starts_with('r') {
            assert!(stderr.contains("/ok/reports"), "{path}: {stderr}");
        }
    }
    assert!(
        hits.lock().unwrap().is_empty(),
        "no redirect was followed: {:?}",
        hits.lock().unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Batch.

#[test]
fn batch_upload_to_a_plain_http_monitor_is_refused_before_any_subject_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let token = dir.path().join("token");
    std::fs::write(&token, "Y2k6cHc=").unwrap();
    let out = scs_check()
        .arg("batch")
        .arg(fixture("fixtures/batch/config.toml"))
        .args([
            "--upload",
            "--monitor",
            "http://127.0.0.1:9/",
            "--token-file",
        ])
        .arg(&token)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--allow-http"), "{stderr}");
    assert!(!out_dir.exists(), "no subject may run");
}

#[test]
fn batch_of_three_subjects_with_a_failure_and_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let key = dir.path().join("secret");
    scs_check()
        .args(["keygen", "ci", "--dir"])
        .arg(&key)
        .env("SCS_MONITOR_PASSWORD", "pw")
        .assert()
        .success();
    let started = std::time::Instant::now();
    let out = scs_check()
        .arg("batch")
        .arg(fixture("fixtures/batch/config.toml"))
        .args(["-d", "2025-07-01", "--grace", "10", "--sign", "--key"])
        .arg(key.join("keyfile"))
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        started.elapsed().as_secs() < 40,
        "the hanging subject was not stopped"
    );
    // beta fails: exit 1 (gamma is only inconclusive).
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // Output is prefixed by subject.
    assert!(
        stdout.contains("[alpha] ") && stdout.contains("[beta] "),
        "{stdout}"
    );
    assert!(
        stderr.contains("[gamma] time limit of 3 s reached"),
        "{stderr}"
    );
    // Summary table.
    let line = |s: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(s))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("alpha ").contains("PASS"), "{stdout}");
    assert!(line("beta ").contains("FAIL"), "{stdout}");
    assert!(
        line("gamma ").contains("ABORT") && line("gamma ").contains("timed out"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 of 3 runs did not pass: beta, gamma"),
        "{stdout}"
    );
    // One report per subject, with the mapping interpolated.
    let read = |name: &str| {
        let text = std::fs::read_to_string(out_dir.join(name)).unwrap();
        scs_check::report::read_reports(&text).unwrap()
    };
    let alpha = read("report-demo-alpha.yaml");
    assert_eq!(alpha[0].subject, "alpha");
    assert_eq!(alpha[0].run.assignment["label"], "alpha-cloud");
    // The mapping's `kubeconfig` is used by no version of the scope: dropped, not an error.
    assert!(!alpha[0].run.assignment.contains_key("kubeconfig"));
    let inv = alpha[0].run.invocations.values().next().unwrap();
    assert_eq!(inv.results["batch-check"], 1);
    assert!(
        inv.stdout
            .iter()
            .any(|l| l.contains("checking subject alpha-cloud"))
    );
    let beta = read("report-demo-beta.yaml");
    assert_eq!(
        beta[0].run.invocations.values().next().unwrap().results["batch-check"],
        -1
    );
    let gamma = read("report-demo-gamma.yaml");
    assert_eq!(
        gamma[0].run.invocations.values().next().unwrap().results["batch-check"],
        0
    );
    // The combined report holds the three documents and is signed once.
    let combined = read("report.yaml");
    let subjects: Vec<&str> = combined.iter().map(|r| r.subject.as_str()).collect();
    assert_eq!(subjects, ["alpha", "beta", "gamma"]);
    scs_check()
        .arg("verify")
        .arg(out_dir.join("report.yaml"))
        .arg("--public-key")
        .arg(key.join("keyfile.pub"))
        .assert()
        .success()
        .stdout(predicates::str::contains("3 reports: alpha, beta, gamma"));
}

#[test]
fn batch_keeps_other_reports_when_a_subject_crashes() {
    // In this process (the default) and with a child process per subject.
    for isolate in [false, true] {
        batch_keeps_other_reports_when_a_subject_crashes_in(isolate);
    }
}

fn batch_keeps_other_reports_when_a_subject_crashes_in(isolate: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = scs_check();
    cmd.arg("batch")
        .arg(fixture("fixtures/batch/config.toml"))
        .args([
            "--scope",
            "demo,broken",
            "--subject",
            "alpha",
            "-d",
            "2025-07-01",
            "-o",
        ])
        .arg(dir.path());
    if isolate {
        cmd.arg("--isolate");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("no report (the run exited with code 3)"),
        "{stdout}"
    );
    assert!(stderr.contains("[alpha/broken] "), "{stderr}");
    assert!(dir.path().join("report-demo-alpha.yaml").exists());
    assert!(!dir.path().join("report-broken-alpha.yaml").exists());
    let combined = std::fs::read_to_string(dir.path().join("report.yaml")).unwrap();
    assert_eq!(scs_check::report::read_reports(&combined).unwrap().len(), 1);
}

#[test]
fn batch_config_errors_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[presets.default]\nscopes = [\"x\"]\nsubjects = [\"a\"]\nworkerz = 3\n",
    )
    .unwrap();
    scs_check()
        .arg("batch")
        .arg(&config)
        .assert()
        .code(3)
        .stderr(predicates::str::contains("c.toml:4:1: "));
}

// ---------------------------------------------------------------------------------------------
// Score cards.

#[test]
fn scorecard_from_reports_in_all_formats() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("all.yaml");
    let beta = report_text("beta", "r-b").replace("batch-check: 1", "batch-check: -1");
    std::fs::write(&reports, format!("{}{beta}", report_text("alpha", "r-a"))).unwrap();
    let scope = fixture("fixtures/batch/scope.yaml");
    let run = |extra: &[&str]| {
        let mut cmd = scs_check();
        cmd.arg("scorecard")
            .arg(&reports)
            .arg("--scope")
            .arg(&scope);
        if !extra.contains(&"--at") {
            cmd.args(["--at", "2025-07-02 12:00:00"]);
        }
        let out = cmd.args(extra).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let md = run(&["-f", "markdown"]);
    assert_eq!(
        md,
        "| Subject | Batch demo scope |\n|---|---|\n| alpha | ✅ v1 |\n| beta | 🛑 – |\n"
    );
    let table = run(&[]);
    assert!(
        table.contains("✅ v1 [PASS]") && table.contains("v1 FAIL (effective)"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&["-f", "json"])).unwrap();
    assert_eq!(
        json["entries"][0]["testcases"]["batch-check"]["expires_at"],
        "2025-07-14 00:00:00.000000"
    );
    // Past the week boundary the results have expired.
    let late = run(&["-f", "markdown", "--at", "2025-07-14"]);
    assert_eq!(
        late,
        "| Subject | Batch demo scope |\n|---|---|\n| alpha | 🛑 – |\n| beta | 🛑 – |\n"
    );
    let badges = dir.path().join("badges");
    run(&["--badges", badges.to_str().unwrap()]);
    let svg = std::fs::read_to_string(badges.join("alpha--Batch-demo-scope.svg")).unwrap();
    assert!(svg.contains("pass v1"), "{svg}");
    assert!(badges.join("beta--Batch-demo-scope.svg").exists());
}
