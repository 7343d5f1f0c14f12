//! `run --waivers FILE` through the binary against the simulator: waived FAILs show as WAIVED
//! in the console, Markdown, HTML and JUnit and do not fail the exit status, while the YAML
//! and JSON reports keep the real verdicts; expired and unused waivers are warnings, ABORT is
//! not waivable, and a malformed file is one line with file and line (exit 3).

mod common;
use common::{derived_cloud, isolated, json_results, repo};
use std::path::Path;

/// Testcase ids with a FAIL in some version.
fn failing(path: &Path) -> Vec<String> {
    let mut ids: Vec<String> = json_results(path)
        .into_iter()
        .filter(|(_, _, r)| r == "FAIL")
        .map(|(_, id, _)| id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn waiver_file(dir: &Path, entries: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let mut text = String::from("waivers:\n");
    for (testcase, reason, expires) in entries {
        text.push_str(&format!(
            "  - testcase: {testcase}\n    subject: demo\n    reason: \"{reason}\"\n    expires: {expires}\n"
        ));
    }
    let path = dir.join("waivers.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(home: &Path, fixture: &Path, extra: &[&str]) -> Outcome {
    let output = isolated(home)
        .args([
            "run", "iaas", "-s", "demo", "--json", "r.json", "-o", "r.yaml",
        ])
        .args(["--junit", "r.xml", "--markdown", "r.md", "--html", "r.html"])
        .arg("--simulate")
        .arg(fixture)
        .args(extra)
        .output()
        .unwrap();
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn waived_fails_pass_the_gate_but_the_report_keeps_them() {
    let home = tempfile::tempdir().unwrap();
    let fixture = repo().join("fixtures/clouds/flavors-broken.yaml");
    let plain = run(home.path(), &fixture, &[]);
    assert_eq!(plain.code, Some(1), "{}", plain.stderr);
    let fails = failing(&home.path().join("r.json"));
    assert!(fails.len() > 1, "{fails:?}");
    let before = json_results(&home.path().join("r.json"));

    // Every FAIL waived: exit 0.
    let entries: Vec<(&str, &str, &str)> = fails
        .iter()
        .map(|id| (id.as_str(), "known <issue> & tracked", "2099-12-31"))
        .collect();
    let file = waiver_file(home.path(), &entries);
    let waived = run(
        home.path(),
        &fixture,
        &["--waivers", file.to_str().unwrap()],
    );
    assert_eq!(waived.code, Some(0), "{}", waived.stderr);
    assert!(!waived.stderr.contains("warning:"), "{}", waived.stderr);

    // The YAML and JSON reports keep every real verdict; the waivers are recorded aside.
    assert_eq!(json_results(&home.path().join("r.json")), before);
    let yaml = std::fs::read_to_string(home.path().join("r.yaml")).unwrap();
    let report: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let mut monitor_fails = vec![];
    for (_, inv) in report["run"]["invocations"].as_object().unwrap() {
        for (id, r) in inv["results"].as_object().unwrap() {
            if r.as_i64() == Some(-1) {
                monitor_fails.push(id.clone());
            }
        }
    }
    monitor_fails.sort();
    monitor_fails.dedup();
    assert_eq!(monitor_fails, fails);
    let recorded: Vec<&str> = report["scs_check"]["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["testcase"].as_str().unwrap())
        .collect();
    assert_eq!(
        recorded,
        fails.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(report["scs_check"]["waivers"][0]["expires"], "2099-12-31");
    assert_eq!(report["scs_check"]["waivers"][0]["subject"], "demo");

    // Console: no FAILED section, every waived testcase under WAIVED with the waiver.
    assert!(!waived.stdout.contains("FAILED:"), "{}", waived.stdout);
    let section = &waived.stdout[waived.stdout.find("WAIVED:\n").unwrap()..];
    for id in &fails {
        assert!(section.contains(&format!("- {id}: ")), "{id}");
    }
    assert!(
        section
            .contains("waived until 2099-12-31: known <issue> & tracked (the report keeps FAIL)")
    );
    assert!(
        waived.stdout.contains("- main: WAIVED ("),
        "{}",
        waived.stdout
    );

    // JUnit: no failures; each waived FAIL is skipped with type WAIVED and the waiver message.
    let xml = std::fs::read_to_string(home.path().join("r.xml")).unwrap();
    assert!(!xml.contains("<failure"), "{xml}");
    let waived_cases = xml.matches("type=\"WAIVED\"").count();
    let fail_cases = before.iter().filter(|(_, _, r)| r == "FAIL").count();
    assert_eq!(waived_cases, fail_cases);
    assert!(
        xml.contains(
            "message=\"waived until 2099-12-31: known &lt;issue&gt; &amp; tracked (FAIL: "
        )
    );

    // Markdown and HTML: WAIVED instead of FAIL, with the waiver.
    let md = std::fs::read_to_string(home.path().join("r.md")).unwrap();
    assert!(!md.contains("| FAIL |"), "{md}");
    assert!(md.contains("| WAIVED |"));
    assert!(md.contains("- With waivers applied (CI gate only, not certification): **PASS**"));
    let html = std::fs::read_to_string(home.path().join("r.html")).unwrap();
    // Only the certification result (first line) stays FAIL; the CI gate line says PASS.
    assert_eq!(
        html.matches("v-fail\">FAIL<").count(),
        1,
        "a FAIL badge is left"
    );
    assert!(
        html.contains("(CI gate only, not certification): <span class=\"verdict v-pass\">PASS<")
    );
    assert!(html.contains("class=\"verdict v-waived\">WAIVED<"));
    assert!(html.contains("waived until 2099-12-31: known &lt;issue&gt; &amp; tracked"));

    // `report` renders the stored report with the recorded waivers too.
    let again = isolated(home.path())
        .args(["report", "r.yaml", "-f", "junit"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout)
            .matches("type=\"WAIVED\"")
            .count(),
        fail_cases
    );
}

#[test]
fn expired_partial_and_unused_waivers_warn_and_the_rest_fails() {
    let home = tempfile::tempdir().unwrap();
    let fixture = repo().join("fixtures/clouds/flavors-broken.yaml");
    let plain = run(home.path(), &fixture, &[]);
    let fails = failing(&home.path().join("r.json"));
    assert!(fails.len() > 1, "{}", plain.stderr);
    // The first FAIL waived, the second with an expired waiver, a passing testcase waived.
    let file = waiver_file(
        home.path(),
        &[
            (fails[0].as_str(), "accepted", "2099-12-31"),
            (fails[1].as_str(), "was accepted", "2020-01-01"),
            ("scs-0123-storage-apis", "not needed", "2099-12-31"),
        ],
    );
    let out = run(
        home.path(),
        &fixture,
        &["--waivers", file.to_str().unwrap()],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        vec![
            format!(
                "warning: {}:6: the waiver for {} expired on 2020-01-01; the FAIL counts",
                file.display(),
                fails[1]
            ),
            format!(
                "warning: {}:10: the waiver for scs-0123-storage-apis is unused: the testcase \
                 did not fail",
                file.display()
            ),
        ]
    );
    let failed = &out.stdout[out.stdout.find("FAILED:\n").unwrap()..];
    let failed = &failed[..failed.find("WAIVED:\n").unwrap()];
    assert!(failed.contains(&format!("- {}: ", fails[1])));
    assert!(!failed.contains(&format!("- {}: ", fails[0])));
    // Waivers for another subject only: one warning, nothing waived.
    std::fs::write(
        home.path().join("other.yaml"),
        format!(
            "waivers:\n  - testcase: {}\n    subject: othercloud\n    reason: r\n    expires: 2099-12-31\n",
            fails[0]
        ),
    )
    .unwrap();
    let other = run(home.path(), &fixture, &["--waivers", "other.yaml"]);
    assert_eq!(other.code, Some(1));
    assert!(
        other
            .stderr
            .contains("warning: no waiver is for subject demo (the waivers are for: othercloud)"),
        "{}",
        other.stderr
    );
}

#[test]
fn an_abort_is_not_waivable() {
    let home = tempfile::tempdir().unwrap();
    let fixture = derived_cloud(
        home.path(),
        "faults: [{service: compute, path: /flavors/detail, kind: status, status: 503, retry_after: '0'}]\n",
    );
    let file = waiver_file(
        home.path(),
        &[("scs-0100-syntax-check", "flaky API", "2099-12-31")],
    );
    let out = run(
        home.path(),
        &fixture,
        &["-t", "scs-0100", "--waivers", file.to_str().unwrap()],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the waiver for scs-0100-syntax-check is unused: the testcase is ABORT, which cannot be waived"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("WAIVED"), "{}", out.stdout);
    let yaml = std::fs::read_to_string(home.path().join("r.yaml")).unwrap();
    assert!(!yaml.contains("waivers:\n  -"), "nothing is recorded");
}

#[test]
fn a_malformed_waiver_file_stops_the_run_with_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("bad.yaml"),
        "waivers:\n  - testcase: scs-0100-syntax-check\n    subject: demo\n    reason: r\n    expires: next week\n",
    )
    .unwrap();
    let output = isolated(home.path())
        .args(["run", "iaas", "--simulate", "compliant", "-o", "r.yaml"])
        .args(["--waivers", "bad.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: bad.yaml:2: expires 'next week' is not a date of the form YYYY-MM-DD"
    );
    // Nothing ran, nothing was written.
    assert!(!home.path().join("r.yaml").exists());
    let missing = isolated(home.path())
        .args([
            "run",
            "iaas",
            "--simulate",
            "compliant",
            "--waivers",
            "nope.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.starts_with("error: nope.yaml: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
