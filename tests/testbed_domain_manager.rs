//! scs-0302 (domain manager role) against the real Zed Keystone of testbed/openstack/: for
//! each policy variant that `testbed/openstack/domain_manager.py` installs, runs
//! `scs-check run iaas -t domain-manager-check` with the two domain-scoped manager entries and
//! checks the verdict: the compliant policy PASSes, each broken one FAILs naming the broken
//! rule. Runs only when `SCS_TESTBED_DM` is set (by `.ci/testbed`, after `up.sh`), to the test
//! bed's state directory.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn install(variant: &str, state: &Path) {
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(repo().join("testbed/openstack/domain_manager.py"))
        .arg(variant)
        .env("SCS_TESTBED_DIR", state)
        .env("TB_ADMIN_PASSWORD", "testbed-admin-secret")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "domain_manager.py {variant}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the check; returns the outcome of `domain-manager-check` in version `next`.
fn run(state: &Path, variant: &str) -> Value {
    let out_dir = std::env::var_os("SCS_TESTBED_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/testbed"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let report = out_dir.join(format!("domain-manager-{variant}.json"));
    let output = Command::cargo_bin("scs-check")
        .unwrap()
        .env("OS_CLIENT_CONFIG_FILE", state.join("clouds-dm.yaml"))
        .env_remove("OS_CLOUD")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .current_dir(repo())
        .args([
            "run",
            "iaas",
            "-q",
            "-V",
            "next",
            "-t",
            "domain-manager-check",
        ])
        .args(["-a", "os_cloud=dm-a", "-a", "domain_manager_a=dm-a"])
        .args(["-a", "domain_manager_b=dm-b", "--timeout", "300", "--json"])
        .arg(&report)
        .output()
        .unwrap();
    let code = output.status.code().unwrap_or(-1);
    assert!(
        matches!(code, 0..=2),
        "scs-check exited {code}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    find_outcome(&doc).unwrap_or_else(|| panic!("no domain-manager-check in {doc:#}"))
}

/// The testcase's entry in `scs_check.versions[].testcases` (with `result` and `reason`).
fn find_outcome(report: &Value) -> Option<Value> {
    report["scs_check"]["versions"]
        .as_array()?
        .iter()
        .find_map(|v| v["testcases"].get("domain-manager-check").cloned())
}

fn verdict(o: &Value) -> String {
    o["result"].as_str().unwrap_or("MISSING").to_string()
}

#[test]
fn domain_manager_variants_on_real_keystone() {
    let Some(state) = std::env::var_os("SCS_TESTBED_DM").map(PathBuf::from) else {
        eprintln!("SCS_TESTBED_DM not set: the real Keystone test is skipped");
        return;
    };
    // (variant, verdict, text the reason must contain)
    let cases = [
        ("compliant", "PASS", ""),
        ("none", "FAIL", "identity:list_roles"),
        (
            "admin-assignable",
            "FAIL",
            "is_domain_managed_role must not contain admin",
        ),
        ("create-user-any-domain", "FAIL", "identity:create_user"),
        (
            "manager-role-missing",
            "FAIL",
            "a role named `manager` is present",
        ),
    ];
    let mut problems = vec![];
    for (variant, want, needle) in cases {
        install(variant, &state);
        let o = run(&state, variant);
        let got = verdict(&o);
        let reason = o["reason"].as_str().unwrap_or("").to_string();
        eprintln!("domain-manager {variant}: {got}: {reason}");
        if got != want || !reason.contains(needle) {
            problems.push(format!(
                "{variant}: want {want} with {needle:?}, got {got}: {reason}"
            ));
        }
    }
    install("cleanup", &state);
    assert!(problems.is_empty(), "{problems:#?}");
}
