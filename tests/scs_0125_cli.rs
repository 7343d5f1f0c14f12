//! scs-0125 through the command line: `-t` selects the preview testcase, `plan` shows it, and a
//! run against the simulated cloud (whose catalog lists plain `http://` URLs) reports FAIL in the
//! `preview` target without touching the `main` verdict or the exit code.

use assert_cmd::Command;

fn scs_check() -> Command {
    let mut cmd = Command::cargo_bin("scs-check").expect("binary is built");
    cmd.env("CI", "true");
    cmd
}

#[test]
fn plan_shows_the_preview_testcase() {
    let out = scs_check()
        .args(["plan", "iaas", "-t", "scs-0125"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("preview: 1 of 1 testcase selected"), "{text}");
    assert!(
        text.contains("built-in probe scs-0125-secure-connections"),
        "{text}"
    );
    assert!(text.contains("scs-0125-tls-public-endpoints"), "{text}");
    // Without -t no version runs it.
    let out = scs_check().args(["plan", "iaas"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("scs-0125"), "{text}");
}

#[test]
fn simulated_http_catalog_fails_in_preview_only() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = scs_check()
        .current_dir(dir.path())
        .args([
            "run",
            "iaas",
            "-q",
            "--simulate",
            "compliant",
            "-t",
            "scs-0125",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let text = report.to_string();
    assert!(text.contains("scs-0125-tls-public-endpoints"), "{text}");
    assert!(text.contains("the catalog URL is not https"), "{text}");
    for version in report["scs_check"]["versions"].as_array().unwrap() {
        let tc = &version["testcases"]["scs-0125-tls-public-endpoints"];
        assert_eq!(tc["result"], "FAIL", "{version}");
    }
}
