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
    Outcome::from(output)
}

impl From<std::process::Output> for Outcome {
    fn from(output: std::process::Output) -> Self {
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A run of subject `demo` against the cloud with broken flavors, without waivers: it fails
/// (exit 1). Returns the fixture and the ids of the failing testcases.
fn broken_run(home: &Path) -> (std::path::PathBuf, Vec<String>) {
    let fixture = repo().join("fixtures/clouds/flavors-broken.yaml");
    let plain = run(home, &fixture, &[]);
    assert_eq!(plain.code, Some(1), "{}", plain.stderr);
    let fails = failing(&home.join("r.json"));
    assert!(fails.len() > 1, "{fails:?}");
    (fixture, fails)
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

#[test]
fn report_applies_a_waiver_file_anew_and_gates_on_it() {
    let home = tempfile::tempdir().unwrap();
    let (_, fails) = broken_run(home.path());
    let report = |extra: &[&str]| {
        Outcome::from(
            isolated(home.path())
                .args(["report", "r.yaml"])
                .args(extra)
                .output()
                .unwrap(),
        )
    };
    // Without waivers `report` only renders: exit 0 whatever the verdicts, FAILs shown.
    let shown = report(&["-f", "markdown"]);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert!(shown.stdout.contains("| FAIL |"), "{}", shown.stdout);

    // One FAIL left unwaived: WAIVED for the others, and the gate fails (exit 1, as `run`).
    let entries: Vec<(&str, &str, &str)> = fails[1..]
        .iter()
        .map(|id| (id.as_str(), "tracked in OPS-1", "2099-12-31"))
        .collect();
    let file = waiver_file(home.path(), &entries);
    let partial = report(&["-f", "junit", "--waivers", file.to_str().unwrap()]);
    assert_eq!(partial.code, Some(1), "{}", partial.stderr);
    assert!(
        partial.stdout.contains("type=\"WAIVED\""),
        "{}",
        partial.stdout
    );
    assert!(partial.stdout.contains("<failure"), "{}", partial.stdout);

    // Every FAIL waived: exit 0; YAML output records the waivers and keeps the verdicts.
    let entries: Vec<(&str, &str, &str)> = fails
        .iter()
        .map(|id| (id.as_str(), "tracked in OPS-1", "2099-12-31"))
        .collect();
    let file = waiver_file(home.path(), &entries);
    let all = report(&[
        "-f",
        "yaml",
        "--waivers",
        file.to_str().unwrap(),
        "-o",
        "w.yaml",
    ]);
    assert_eq!(all.code, Some(0), "{}", all.stderr);
    assert!(!all.stderr.contains("warning:"), "{}", all.stderr);
    let before: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(home.path().join("r.yaml")).unwrap())
            .unwrap();
    let after: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(home.path().join("w.yaml")).unwrap())
            .unwrap();
    assert_eq!(before["run"]["invocations"], after["run"]["invocations"]);
    assert_eq!(
        before["scs_check"]["versions"],
        after["scs_check"]["versions"]
    );
    assert_eq!(
        after["scs_check"]["waivers"].as_array().unwrap().len(),
        fails.len()
    );

    // Expired: a warning naming the file and line, and the FAIL counts again.
    let file = waiver_file(home.path(), &[(fails[0].as_str(), "old", "2001-01-01")]);
    let expired = report(&["--waivers", file.to_str().unwrap()]);
    assert_eq!(expired.code, Some(1), "{}", expired.stderr);
    assert!(
        expired.stderr.contains("waivers.yaml:2: the waiver for")
            && expired
                .stderr
                .contains("expired on 2001-01-01; the FAIL counts"),
        "{}",
        expired.stderr
    );

    // A malformed waiver file: one line with the file, exit 3.
    std::fs::write(home.path().join("bad.yaml"), "waivers:\n  - testcase: x\n").unwrap();
    let bad = report(&["--waivers", "bad.yaml"]);
    assert_eq!(bad.code, Some(3), "{}", bad.stderr);
    assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("bad.yaml:2"), "{}", bad.stderr);
}

#[test]
fn batch_passes_the_waivers_to_every_run() {
    let home = tempfile::tempdir().unwrap();
    let (fixture, fails) = broken_run(home.path());
    // The waivers cover subject `demo` only; `other` keeps its FAILs.
    let entries: Vec<(&str, &str, &str)> = fails
        .iter()
        .map(|id| (id.as_str(), "tracked in OPS-1", "2099-12-31"))
        .collect();
    waiver_file(home.path(), &entries);
    std::fs::create_dir(home.path().join("cfg")).unwrap();
    std::fs::write(
        home.path().join("cfg/config.toml"),
        "[scopes.iaas]\nspec = \"iaas\"\n\n[presets.default]\nscopes = [\"iaas\"]\nsubjects = [\"demo\", \"other\"]\n",
    )
    .unwrap();
    let batch = |subjects: &str| {
        isolated(home.path())
            .args(["batch", "cfg/config.toml", "--subject", subjects])
            .args(["--scope", "iaas", "--waivers", "waivers.yaml", "-o", "out"])
            .arg("--simulate")
            .arg(&fixture)
            .output()
            .unwrap()
    };
    let only_demo = batch("demo");
    let stdout = String::from_utf8_lossy(&only_demo.stdout);
    assert_eq!(
        only_demo.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&only_demo.stderr)
    );
    assert!(stdout.contains("FAIL (waived: PASS)"), "{stdout}");
    let kept = std::fs::read_to_string(home.path().join("out/report-iaas-demo.yaml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&kept).unwrap();
    assert_eq!(
        doc["scs_check"]["waivers"].as_array().unwrap().len(),
        fails.len()
    );
    assert!(kept.contains("-1"), "the report keeps the FAIL results");

    let both = batch("demo,other");
    let stdout = String::from_utf8_lossy(&both.stdout);
    assert_eq!(both.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("1 of 2 runs did not pass: other"),
        "{stdout}"
    );
}

#[test]
fn reports_of_the_reference_tool_cannot_carry_waivers() {
    let home = tempfile::tempdir().unwrap();
    let file = waiver_file(
        home.path(),
        &[("scs-0100-semantics-check", "r", "2099-01-01")],
    );
    let out = Outcome::from(
        isolated(home.path())
            .arg("report")
            .arg(repo().join("fixtures/reports/reference-2026.yaml"))
            .arg("--waivers")
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("reference-2026.yaml: report 1 (subject cloud-a) has no scs_check block"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing rendered: {}", out.stdout);
}
