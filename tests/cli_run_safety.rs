//! The command line under faults and mistakes, through the binary: report paths checked before
//! the run, one line per report written, a closed pipe, endless input, SIGTERM twice, empty
//! selections, informative targets that were not run, simulated and insecure runs recorded in
//! the report, `seed`'s safety switches, and errors that name what to do instead.

mod common;
use common::{isolated, repo, serve};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn a_report_directory_that_does_not_exist_stops_the_run_at_start() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate", "compliant"])
        .args(["-o", "r.yaml", "--junit", "missing/r.xml"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--junit missing/r.xml"), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    // Nothing ran: no progress lines, no report.
    assert!(!stderr.contains("PASS"), "{stderr}");
    assert!(!home.path().join("r.yaml").exists());
}

#[test]
fn every_report_written_is_named_and_a_simulated_run_says_so() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate", "compliant", "-t", "scs-0100"])
        .args(["-o", "r.yaml", "--json", "r.json", "--markdown", "r.md"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(matches!(output.status.code(), Some(0..=2)), "{stderr}");
    for name in ["r.yaml", "r.json", "r.md"] {
        assert!(
            stderr.lines().any(|l| l == format!("wrote {name}")),
            "{stderr}"
        );
    }
    let report = yaml(&home.path().join("r.yaml"));
    assert_eq!(report["scs_check"]["simulated"], true, "{report}");
    assert!(
        report["scs_check"]
            .get("tls_verification_disabled")
            .is_none()
    );
}

#[test]
fn a_simulated_run_is_never_signed_uploaded_or_mixed_with_a_real_cloud() {
    let home = tempfile::tempdir().unwrap();
    for extra in [
        &["--upload"][..],
        &["--key", "k"][..],
        &["--os-cloud", "prod"][..],
        &["-a", "os_cloud=prod"][..],
    ] {
        let output = isolated(home.path())
            .args(["run", "iaas", "--simulate", "compliant", "-o", "r.yaml"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{extra:?}: {stderr}");
        assert!(
            stderr.contains(extra[0]) || stderr.contains("-a os_cloud="),
            "{stderr}"
        );
        assert!(stderr.contains("no certificate"), "{stderr}");
        assert!(!home.path().join("r.yaml").exists());
    }
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let home = tempfile::tempdir().unwrap();
    let report = repo().join("fixtures/reports/reference-2026.yaml");
    for format in ["json", "text", "yaml"] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scs-check"))
            .arg("report")
            .arg(&report)
            .args(["-f", format])
            .current_dir(home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is written (`| head -0`).
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert!(
            output.status.code().is_some(),
            "{format}: killed by a signal"
        );
    }
    // A command that still prints with `print!` ends quietly too (128 + SIGPIPE).
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scs-check"))
        .arg("sonobuoy-judge")
        .arg(repo().join("fixtures/sonobuoy/results-pass.yaml"))
        .current_dir(home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // 141, or 0 should the child have written before the pipe was closed.
    assert!(
        matches!(output.status.code(), Some(141 | 0)),
        "{:?}: {stderr}",
        output.status
    );
}

#[test]
fn an_endless_report_input_stops_with_a_size_error() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(home.path())
        .args(["report", "/dev/zero"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("/dev/zero"), "{stderr}");
    assert!(stderr.contains("64 MiB"), "{stderr}");
}

#[test]
fn a_selection_without_testcases_is_an_error_not_a_pass() {
    let home = tempfile::tempdir().unwrap();
    for filter in [&["-t", "scs-9999"][..], &["-S", "no-such-section"][..]] {
        let output = isolated(home.path())
            .args(["run", "iaas", "--simulate", "compliant", "-o", "r.yaml"])
            .args(filter)
            .output()
            .unwrap();
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{filter:?}: {stderr}");
        assert!(stderr.contains("no testcase matches"), "{stderr}");
        assert!(stderr.contains(filter[1]), "{stderr}");
        assert!(!stdout.contains("PASS"), "{stdout}");
    }
}

#[test]
fn informative_targets_that_were_not_run_are_in_the_summary() {
    let home = tempfile::tempdir().unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate", "compliant"])
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert!(matches!(output.status.code(), Some(0..=2)), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("- recommended: not run ("))
        .unwrap_or_else(|| panic!("no not-run line:\n{stdout}"));
    // The hint is a -t value that selects them.
    let tests = line
        .split("use -t '")
        .nth(1)
        .unwrap()
        .trim_end_matches('\'');
    let output = isolated(home.path())
        .args(["plan", "iaas", "-t", tests])
        .output()
        .unwrap();
    let plan = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(plan.contains("recommended: "), "{plan}");
    assert!(!plan.contains("recommended: 0 of"), "{plan}");
}

#[test]
fn plan_works_without_variables_and_takes_the_cloud_from_flag_or_environment() {
    let home = tempfile::tempdir().unwrap();
    // The README's example.
    let output = isolated(home.path())
        .args(["plan", "iaas", "-V", "v4", "-t", "scs-0103"])
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(stdout.contains("os_cloud: unassigned"), "{stdout}");
    assert!(stdout.contains("scs-0103-standard-flavors"), "{stdout}");

    let output = isolated(home.path())
        .env("OS_CLOUD", "from-env")
        .args(["plan", "iaas", "-V", "v4"])
        .output()
        .unwrap();
    assert!(text(&output.stdout).contains("os_cloud = from-env"));
    let output = isolated(home.path())
        .args(["plan", "iaas", "--os-cloud", "from-flag"])
        .output()
        .unwrap();
    assert!(text(&output.stdout).contains("os_cloud = from-flag"));
}

#[test]
fn a_directory_named_like_a_builtin_scope_does_not_shadow_it() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("iaas")).unwrap();
    let output = isolated(home.path())
        .args(["plan", "iaas", "-a", "os_cloud=x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("source: <built-in iaas>"));
    let output = isolated(home.path())
        .args(["validate", "iaas"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
}

/// Runs `run iaas --simulate compliant ARGS` and returns (exit code, stderr).
fn run_error(home: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = isolated(home)
        .args(["run", "iaas", "--simulate", "compliant"])
        .args(args)
        .output()
        .unwrap();
    (output.status.code(), text(&output.stderr))
}

#[test]
fn typos_get_a_did_you_mean() {
    let home = tempfile::tempdir().unwrap();
    let (code, stderr) = run_error(home.path(), &["-a", "os_clod=x"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("did you mean 'os_cloud'"), "{stderr}");
    assert!(
        stderr.contains("variables used: domain_manager_a, domain_manager_b, os_cloud"),
        "{stderr}"
    );

    // A key far from every variable is an error as well (without a hint); so is a variable of
    // another scope (`kubeconfig` on the IaaS scope), in `plan` as in `run`.
    let (code, stderr) = run_error(home.path(), &["-a", "unrelated=1"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("-a unrelated=..."), "{stderr}");
    assert!(!stderr.contains("did you mean"), "{stderr}");
    assert!(
        stderr.contains("variables used: domain_manager_a, domain_manager_b, os_cloud"),
        "{stderr}"
    );
    let plan = |extra: &[&str]| {
        isolated(home.path())
            .args([
                "plan",
                "iaas",
                "-a",
                "os_cloud=x",
                "-a",
                "kubeconfig=k.yaml",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = plan(&[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("-a kubeconfig=..."), "{stderr}");
    // Only `batch` passes the hidden flag that drops such keys instead.
    let output = plan(&["--ignore-unused-assignments"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!text(&output.stdout).contains("kubeconfig"));

    let (code, stderr) = run_error(home.path(), &["--probe-timeout", "scs-0101-entropi=60"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("did you mean 'scs-0101-entropy'"),
        "{stderr}"
    );

    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate", "compliantt"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("did you mean 'compliant'"), "{stderr}");
    assert!(stderr.contains("built-in"), "{stderr}");
}

#[test]
fn a_fixture_of_the_wrong_kind_says_so() {
    let home = tempfile::tempdir().unwrap();
    let cluster = repo().join("fixtures/clusters/compliant.yaml");
    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate"])
        .arg(&cluster)
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cluster fixture"), "{stderr}");
    assert!(stderr.contains("run kaas"), "{stderr}");

    let cloud = repo().join("fixtures/clouds/compliant.yaml");
    let output = isolated(home.path())
        .args(["run", "kaas", "--offline", "--simulate"])
        .arg(&cloud)
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cloud fixture"), "{stderr}");
    assert!(stderr.contains("run iaas"), "{stderr}");
}

#[test]
fn simulate_prints_the_command_that_tests_it() {
    let home = tempfile::tempdir().unwrap();
    let clouds = home.path().join("clouds.yaml");
    let served = serve(&repo().join("fixtures/clouds/compliant.yaml"), &clouds);
    let line = format!(
        "OS_CLIENT_CONFIG_FILE={} scs-check run iaas --os-cloud sim-compliant",
        clouds.display()
    );
    assert!(served.printed.contains(&line), "{}", served.printed);
}

#[test]
fn insecure_tls_is_warned_about_and_recorded() {
    let home = tempfile::tempdir().unwrap();
    let clouds = home.path().join("clouds.yaml");
    let _served = serve(&repo().join("fixtures/clouds/compliant.yaml"), &clouds);
    let entry = std::fs::read_to_string(&clouds).unwrap();
    let insecure = entry.replace(
        "    interface: public\n",
        "    interface: public\n    verify: false\n",
    );
    assert_ne!(insecure, entry, "{entry}");
    std::fs::write(&clouds, insecure).unwrap();
    let output = isolated(home.path())
        .env("OS_CLIENT_CONFIG_FILE", &clouds)
        .args([
            "run",
            "iaas",
            "--os-cloud",
            "sim-compliant",
            "-t",
            "scs-0100",
        ])
        .args(["-o", "r.yaml", "--ledger", "ledger.jsonl"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(matches!(output.status.code(), Some(0..=2)), "{stderr}");
    assert!(
        stderr.contains("warning: TLS certificate verification is off"),
        "{stderr}"
    );
    let report = yaml(&home.path().join("r.yaml"));
    assert_eq!(report["scs_check"]["tls_verification_disabled"], true);
    assert!(report["scs_check"].get("simulated").is_none(), "{report}");
}

/// A fixture naming a single flavor, no images and no volume types: seeding it deletes
/// everything else.
fn tiny_fixture(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.yaml");
    std::fs::write(
        &path,
        "name: tiny\nflavors: [{name: SCS-1V-4, vcpus: 1, ram: 4096}]\n",
    )
    .unwrap();
    path
}

#[test]
fn seed_says_what_it_deletes_and_needs_yes() {
    let home = tempfile::tempdir().unwrap();
    let clouds = home.path().join("clouds.yaml");
    let _served = serve(&repo().join("fixtures/clouds/compliant.yaml"), &clouds);
    let fixture = tiny_fixture(home.path());
    let seed = |extra: &[&str]| {
        isolated(home.path())
            .env("OS_CLIENT_CONFIG_FILE", &clouds)
            .args(["seed", "--os-cloud", "sim-compliant"])
            .arg(&fixture)
            .args(extra)
            .output()
            .unwrap()
    };
    let dry = seed(&["--dry-run"]);
    let listed = text(&dry.stdout);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(listed.contains("seeding deletes"), "{listed}");
    assert!(listed.contains("  flavor SCS-2V-8"), "{listed}");
    assert!(listed.contains("  image "), "{listed}");
    assert!(listed.contains("  volume type "), "{listed}");
    assert!(listed.contains("dry run: nothing was changed"), "{listed}");

    let refused = seed(&[]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("without --yes"), "{stderr}");
    // Nothing was deleted: the same list again.
    let again = seed(&["--dry-run"]);
    assert_eq!(text(&again.stdout), listed);
}

#[test]
fn seed_refuses_a_cloud_that_is_not_on_this_machine() {
    let home = tempfile::tempdir().unwrap();
    let clouds = home.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  prod:\n    auth:\n      auth_url: https://keystone.example.com:5000/v3\n      \
         username: admin\n      password: hunter2\n      project_name: admin\n      \
         user_domain_name: Default\n      project_domain_name: Default\n",
    )
    .unwrap();
    let fixture = tiny_fixture(home.path());
    for extra in [&["--yes"][..], &["--dry-run"][..]] {
        let output = isolated(home.path())
            .env("OS_CLIENT_CONFIG_FILE", &clouds)
            .args(["seed", "--os-cloud", "prod"])
            .arg(&fixture)
            .args(extra)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains("keystone.example.com"), "{stderr}");
        assert!(stderr.contains("--force"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

/// Sends SIGTERM to a child.
fn terminate(child: &Child) {
    // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
}

#[test]
fn a_second_sigterm_abandons_the_cleanup_like_a_second_ctrl_c() {
    let home = tempfile::tempdir().unwrap();
    // Servers take ten minutes to boot and as long to go away: the cleanup after the first
    // SIGTERM waits for the server, and only the second SIGTERM ends the run.
    let fixture = home.path().join("slow.yaml");
    std::fs::write(
        &fixture,
        format!(
            "base: {}\nname: slow\ntiming: {{server_active_after: 600, server_delete_after: 600}}\n",
            repo().join("fixtures/clouds/compliant.yaml").display()
        ),
    )
    .unwrap();
    let ledger = home.path().join("ledger.jsonl");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scs-check"))
        .args([
            "run",
            "iaas",
            "-t",
            "scs-0101",
            "-o",
            "r.yaml",
            "--simulate",
        ])
        .arg(&fixture)
        .arg("--ledger")
        .arg(&ledger)
        .env("CI", "true")
        .current_dir(home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |what: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100))
                && line.contains(what)
            {
                return line;
            }
        }
        panic!("no line containing {what:?}");
    };
    // Wait until the server exists (the ledger records it before it is created).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&ledger).is_ok_and(|l| l.contains("server")) {
        assert!(Instant::now() < deadline, "the probe created no server");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    terminate(&child);
    let first = wait_for("interrupted:");
    assert!(first.contains("cleaning up"), "{first}");
    assert!(first.contains("Ctrl-C again to abandon"), "{first}");
    terminate(&child);
    wait_for("second interrupt: abandoning the cleanup");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(home.path().join("r.yaml").exists());
}
