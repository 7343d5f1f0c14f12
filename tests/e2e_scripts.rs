//! End to end: the binary runs a scope whose testcases are small external scripts (pass, fail,
//! abort, silent, garbage, hanging past the timeout, manual) and we check the console, the exit
//! code and every report format.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixture_scope() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/e2e/scope.yaml")
}

fn scs_check() -> Command {
    let mut cmd = Command::cargo_bin("scs-check").expect("binary is built");
    cmd.env("CI", "true")
        .env_remove("OS_CLOUD")
        .env_remove("VIRTUAL_ENV");
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    dir: tempfile::TempDir,
}

fn run_e2e(extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).display().to_string();
    let mut cmd = scs_check();
    cmd.args(["run"])
        .arg(fixture_scope())
        .args([
            "-s",
            "demo-cloud",
            "-d",
            "2025-07-01",
            "-a",
            "greeting=hello world",
        ])
        .args(["--timeout", "3", "-j", "4"])
        .args(["-o", &out("report.yaml"), "--json", &out("report.json")])
        .args([
            "--junit",
            &out("junit.xml"),
            "--markdown",
            &out("report.md"),
        ])
        .args(extra);
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        dir,
    }
}

fn results_of(doc: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut all = serde_json::Map::new();
    for invocation in doc["run"]["invocations"].as_object().unwrap().values() {
        for (id, value) in invocation["results"].as_object().unwrap() {
            all.insert(id.clone(), value.clone());
        }
    }
    all
}

#[test]
fn full_run_gives_verdicts_exit_code_and_every_report() {
    let started = std::time::Instant::now();
    let run = run_e2e(&[]);
    let ctx = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "a FAIL in v1 main gives exit 1\n{ctx}");
    // The hanging script was killed at the timeout, not waited for.
    assert!(
        started.elapsed().as_secs() < 25,
        "took {:?}",
        started.elapsed()
    );

    // Console: per version and target, and each non-passing testcase with reason and description.
    assert!(run.stdout.contains("v1"), "{ctx}");
    assert!(run.stdout.contains("main: FAIL"), "{ctx}");
    assert!(run.stdout.contains("e2e-fail"), "{ctx}");
    assert!(run.stdout.contains("Always fails."), "{ctx}");
    assert!(
        run.stdout.contains("https://example.invalid/docs#fail"),
        "{ctx}"
    );
    assert!(run.stdout.contains("e2e-hang"), "{ctx}");
    assert!(run.stdout.to_lowercase().contains("timed out"), "{ctx}");
    // CI mode: one plain line per finished testcase on stderr.
    assert!(
        run.stderr.contains("e2e-pass") && run.stderr.contains("PASS"),
        "{ctx}"
    );

    // YAML report: every field the monitor reads, with the right types.
    let yaml_text = std::fs::read_to_string(run.dir.path().join("report.yaml")).unwrap();
    assert!(yaml_text.starts_with("---"), "{yaml_text}");
    let checked_at = yaml_text
        .lines()
        .find_map(|l| l.strip_prefix("checked_at: "))
        .expect("checked_at line");
    let ts = regex::Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$").unwrap();
    assert!(
        ts.is_match(checked_at),
        "naive UTC timestamp, unquoted: {checked_at}"
    );
    assert!(
        yaml_text.contains("\nreference_date: 2025-07-01\n"),
        "{yaml_text}"
    );
    let yaml: serde_json::Value = serde_saphyr::from_str(&yaml_text).unwrap();
    assert_eq!(yaml["spec"]["uuid"], "00000000-0000-4000-8000-00000000e2e0");
    assert_eq!(yaml["spec"]["name"], "End-to-end demo scope");
    assert_eq!(
        yaml["spec"]["url"],
        "https://example.invalid/e2e-scope.yaml"
    );
    assert_eq!(yaml["subject"], "demo-cloud");
    let run_uuid = yaml["run"]["uuid"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(run_uuid).unwrap().get_version_num(),
        4
    );
    assert!(
        yaml["run"]["argv"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "demo-cloud")
    );
    assert_eq!(yaml["run"]["assignment"]["greeting"], "hello world");
    assert!(
        yaml["run"]["assignment"].get("pause").is_none(),
        "defaults are not assignments"
    );
    assert!(yaml["run"]["sections"].is_null());
    assert!(yaml["run"]["forced_version"].is_null());
    assert!(yaml["run"]["forced_tests"].is_null());
    for (key, invocation) in yaml["run"]["invocations"].as_object().unwrap() {
        assert_eq!(invocation["id"].as_str(), Some(key.as_str()));
        assert!(invocation["cmd"].is_string());
        assert!(invocation["rc"].is_i64(), "rc is an int: {invocation}");
        assert!(invocation["stdout"].is_array() && invocation["stderr"].is_array());
        for counter in ["info", "warning", "error", "critical"] {
            assert!(invocation[counter].is_u64(), "{counter} in {invocation}");
        }
    }
    let results = results_of(&yaml);
    assert_eq!(results["e2e-pass"], 1, "last line wins");
    assert_eq!(results["e2e-fail"], -1);
    assert_eq!(results["e2e-abort"], 0);
    assert_eq!(results["e2e-hang"], 0, "timed out → ABORT");
    assert!(
        !results.contains_key("e2e-silent"),
        "no line → MISSING, never written"
    );
    assert!(!results.contains_key("e2e-garbage"));
    assert!(!results.contains_key("e2e-manual"));
    assert!(!results.contains_key("unrequested-id"));
    // The verdicts script saw the substituted argument (with a space) and environment.
    let verdicts = yaml["run"]["invocations"]
        .as_object()
        .unwrap()
        .values()
        .find(|inv| inv["cmd"].as_str().unwrap().contains("verdicts.sh"))
        .unwrap();
    let stderr: Vec<&str> = verdicts["stderr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert!(
        stderr.contains(&"INFO: greeting is hello (env: hello world)"),
        "{stderr:?}"
    );
    assert_eq!(verdicts["info"], 1);
    assert_eq!(verdicts["error"], 1);

    // JSON: the same document.
    let json_text = std::fs::read_to_string(run.dir.path().join("report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(json["run"]["uuid"], yaml["run"]["uuid"]);
    assert_eq!(results_of(&json), results);

    // JUnit: one root, one suite per version and target, one case per testcase.
    let junit_text = std::fs::read_to_string(run.dir.path().join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&junit_text).unwrap();
    let suite_names: Vec<String> = junit
        .test_suites
        .iter()
        .map(|s| s.name.as_str().to_string())
        .collect();
    assert!(
        suite_names
            .iter()
            .any(|n| n.contains("v1") && n.contains("main")),
        "{suite_names:?}"
    );
    assert!(
        suite_names
            .iter()
            .any(|n| n.contains("v2") && n.contains("preview")),
        "{suite_names:?}"
    );
    let v1_main = junit
        .test_suites
        .iter()
        .find(|s| s.name.as_str().contains("v1") && s.name.as_str().contains("main"))
        .unwrap();
    assert_eq!(v1_main.tests, 6);
    assert_eq!(v1_main.failures, 1);
    assert!(v1_main.errors >= 2, "abort and hang are errors");

    // Markdown: a table per version.
    let md = std::fs::read_to_string(run.dir.path().join("report.md")).unwrap();
    assert!(
        md.lines()
            .any(|l| l.starts_with("| [e2e-fail]") && l.contains("FAIL")),
        "{md}"
    );
    assert!(md.contains("v2") && md.contains("v1"), "{md}");
}

#[test]
fn filtered_run_passes_and_is_marked_partial() {
    let run = run_e2e(&["-t", "e2e-pa"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let yaml_text = std::fs::read_to_string(run.dir.path().join("report.yaml")).unwrap();
    let yaml: serde_json::Value = serde_saphyr::from_str(&yaml_text).unwrap();
    assert_eq!(yaml["run"]["forced_tests"], "e2e-pa");
    assert_eq!(results_of(&yaml).len(), 1);
}

#[test]
fn forced_draft_version_with_manual_testcase_is_inconclusive_only_outside_main() {
    // v2's main has only e2e-pass; its preview target has a manual testcase (MISSING), which
    // does not decide certification.
    let run = run_e2e(&["-V", "v2"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("e2e-manual"), "{}", run.stdout);
}

#[test]
fn critical_only_ignores_verdicts() {
    let run = run_e2e(&["-C", "-t", "e2e-fail"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

#[test]
fn missing_variable_is_one_clear_error() {
    let output = scs_check()
        .args(["run"])
        .arg(fixture_scope())
        .args(["-s", "x", "-d", "2025-07-01"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("greeting"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn date_before_the_timeline_is_an_error() {
    let output = scs_check()
        .args(["run"])
        .arg(fixture_scope())
        .args(["-s", "x", "-d", "2024-01-01", "-a", "greeting=hi"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.to_lowercase().contains("no valid version"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_exit_3() {
    let output = scs_check()
        .args(["run", "iaas", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let output = scs_check()
        .args(["run", "iaas", "-d", "2025-13-01"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
}

#[test]
fn report_command_renders_a_written_report() {
    let run = run_e2e(&["-t", "e2e-fail"]);
    let path = run.dir.path().join("report.yaml");
    for format in ["markdown", "json", "junit", "text", "yaml"] {
        let output = scs_check()
            .args(["report"])
            .arg(&path)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("e2e-fail"), "{format}: {text}");
    }
}

#[test]
fn plan_shows_how_each_testcase_runs_without_running() {
    let output = scs_check()
        .args(["plan"])
        .arg(fixture_scope())
        .args(["-d", "2025-07-01", "-a", "greeting=hi"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("v1") && text.contains("effective"), "{text}");
    assert!(text.contains("v2") && text.contains("draft"), "{text}");
    assert!(
        text.contains("./scripts/verdicts.sh --greeting hi"),
        "{text}"
    );
    assert!(text.contains("MISSING: manual"), "{text}");
}

#[test]
fn interrupted_run_still_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.yaml");
    let junit = dir.path().join("junit.xml");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scs-check"))
        .env("CI", "true")
        .args(["run"])
        .arg(fixture_scope())
        .args([
            "-s",
            "demo",
            "-d",
            "2025-07-01",
            "-a",
            "greeting=hi",
            "--timeout",
            "60",
        ])
        .arg("-o")
        .arg(&report)
        .arg("--junit")
        .arg(&junit)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the fast scripts have reported, then interrupt while the hanging one runs.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let started = std::time::Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed().as_secs() < 15,
        "stopped promptly after Ctrl-C"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the FAIL seen before the interrupt: {stderr}"
    );
    let text = std::fs::read_to_string(&report).expect("report written after Ctrl-C");
    let yaml: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let results = results_of(&yaml);
    assert_eq!(results["e2e-fail"], -1);
    assert_eq!(
        results["e2e-hang"], 0,
        "unfinished testcase reported as ABORT"
    );
    assert!(junit.exists());
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn scope_can_be_loaded_from_an_http_url() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = std::fs::read_to_string(fixture_scope()).unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/yaml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
            body.len(),
            body
        );
        stream.write_all(response.as_bytes()).unwrap();
    });
    let url = format!("http://127.0.0.1:{port}/scope.yaml");
    let output = scs_check()
        .args(["plan", &url, "-d", "2025-07-01", "-a", "greeting=hi"])
        .output()
        .unwrap();
    server.join().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("End-to-end demo scope"), "{text}");
    assert!(text.contains(&url), "{text}");
}

#[test]
fn builtin_scopes_need_no_path() {
    for (scope, assign) in [
        ("iaas", &["-a", "os_cloud=x"][..]),
        ("kaas", &["-a", "kubeconfig=k", "-a", "subject_root=r"][..]),
    ] {
        let output = scs_check()
            .args(["plan", scope])
            .args(assign)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{scope}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("<built-in"), "{text}");
    }
    let output = scs_check()
        .args(["validate", "iaas", "kaas"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let output = scs_check()
        .args(["validate", "fixtures/scopes/bad-several.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("fixtures/scopes/bad-several.yaml:10:19: unknown lifetime"),
        "{text}"
    );
}
