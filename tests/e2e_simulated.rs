//! End to end against the simulated cloud: the README quick start, the `simulate` command, the
//! help for a machine without any cloud, and that a password never reaches any output.

mod common;
use common::{isolated, repo};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[test]
fn quickstart_writes_a_report_from_the_simulated_cloud() {
    let home = tempfile::tempdir().unwrap();
    let fixture = repo().join("fixtures/clouds/compliant.yaml");
    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate"])
        .arg(&fixture)
        .args(["-o", "report.yaml", "--json", "report.json", "-v"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap();
    assert!(matches!(code, 0..=2), "exit {code}: {stderr}");
    let text = std::fs::read_to_string(home.path().join("report.yaml")).unwrap();
    let yaml: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(yaml["spec"]["uuid"], "50393e6f-2ae1-4c5c-a62c-3b75f2abef3f");
    assert_eq!(yaml["subject"], "sim-compliant");
    assert_eq!(yaml["run"]["assignment"]["os_cloud"], "sim-compliant");
    assert!(!yaml["run"]["invocations"].as_object().unwrap().is_empty());
}

#[test]
fn builtin_compliant_cloud_needs_no_fixture_file() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(home.path())
        .args([
            "run",
            "iaas",
            "--simulate",
            "compliant",
            "-o",
            "r.yaml",
            "-q",
        ])
        .output()
        .unwrap();
    let code = output.status.code().unwrap();
    assert!(
        matches!(code, 0..=2),
        "exit {code}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(home.path().join("r.yaml").exists());
}

#[test]
fn no_cloud_at_all_explains_how_to_configure_one() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("clouds.yaml"), "{stderr}");
    assert!(stderr.contains("--simulate"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn broken_clouds_yaml_is_one_line_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("clouds.yaml"),
        "clouds:\n  mycloud:\n    auth: [oops\n",
    )
    .unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas", "-a", "os_cloud=mycloud", "-t", "scs-0100"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("clouds.yaml"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn password_never_appears_in_output_or_report() {
    const PASSWORD: &str = "Very-Recognisable-Pa55word-4711";
    let home = tempfile::tempdir().unwrap();
    // A cloud whose Keystone does not answer (closed port): the run cannot start (exit 3).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clouds = format!(
        "clouds:\n  leaky:\n    auth:\n      auth_url: http://127.0.0.1:{port}/v3\n      username: u\n      password: {PASSWORD}\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n"
    );
    std::fs::write(home.path().join("clouds.yaml"), clouds).unwrap();
    let output = isolated(home.path())
        .args([
            "run",
            "iaas",
            "--os-cloud",
            "leaky",
            "-vv",
            "-o",
            "r.yaml",
            "--json",
            "r.json",
        ])
        .args(["--junit", "r.xml", "--markdown", "r.md"])
        .output()
        .unwrap();
    let mut everything = String::from_utf8_lossy(&output.stdout).into_owned();
    everything.push_str(&String::from_utf8_lossy(&output.stderr));
    for file in ["r.yaml", "r.json", "r.xml", "r.md"] {
        everything.push_str(&std::fs::read_to_string(home.path().join(file)).unwrap_or_default());
    }
    assert_eq!(output.status.code(), Some(3), "{everything}");
    assert!(
        !everything.contains(PASSWORD),
        "password leaked:\n{everything}"
    );
}

#[test]
fn simulate_serves_a_cloud_and_writes_clouds_yaml() {
    let home = tempfile::tempdir().unwrap();
    let clouds = home.path().join("clouds.yaml");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scs-check"))
        .args(["simulate"])
        .arg(repo().join("fixtures/clouds/compliant.yaml"))
        .arg("--clouds-yaml")
        .arg(&clouds)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    assert!(printed.contains("auth_url"), "{printed}");
    let written = std::fs::read_to_string(&clouds).unwrap();
    assert!(written.contains("sim-compliant"), "{written}");
    // Anyone's client can use it: our own, through the written clouds.yaml.
    let output = isolated(home.path())
        .env("OS_CLIENT_CONFIG_FILE", &clouds)
        .args(["run", "iaas", "--os-cloud", "sim-compliant", "-o", "r.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(matches!(output.status.code(), Some(0..=2)), "{stderr}");
    assert!(!stderr.contains("cannot connect"), "{stderr}");
    assert!(home.path().join("r.yaml").exists());
    let _ = child.kill();
    let _ = child.wait();
}
