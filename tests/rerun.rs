//! `scs-check rerun REPORT` through the binary against the simulator: a fault that clears
//! (first run ABORT, rerun PASS) gives a merged report with the new PASSes marked and the old
//! PASSes kept, whose monitor fields carry each testcase's result exactly once.

mod common;
use common::{isolated, repo};
use std::collections::BTreeMap;
use std::path::Path;

/// A fixture derived from the shipped compliant cloud whose flavor listing answers 503.
fn faulty(dir: &Path) -> std::path::PathBuf {
    let base = repo().join("fixtures/clouds/compliant.yaml");
    let path = dir.join("faulty.yaml");
    std::fs::write(
        &path,
        format!(
            "base: {}\nname: faulty\nfaults: [{{service: compute, path: /flavors/detail, \
             kind: status, status: 503, retry_after: '0'}}]\n",
            base.display()
        ),
    )
    .unwrap();
    path
}

fn yaml(path: &Path) -> serde_json::Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (version, testcase) → (result word, invocation, rerun flag) from our summaries.
fn summaries(report: &serde_json::Value) -> BTreeMap<(String, String), (String, String, bool)> {
    let mut out = BTreeMap::new();
    for version in report["scs_check"]["versions"].as_array().unwrap() {
        for (id, tc) in version["testcases"].as_object().unwrap() {
            out.insert(
                (version["name"].as_str().unwrap().to_string(), id.clone()),
                (
                    tc["result"].as_str().unwrap_or("MISSING").to_string(),
                    tc["invocation"].as_str().unwrap_or("").to_string(),
                    tc["rerun"].as_bool().unwrap_or(false),
                ),
            );
        }
    }
    out
}

/// testcase → every result the monitor would read (one per invocation that has it).
fn monitor_results(report: &serde_json::Value) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (_, inv) in report["run"]["invocations"].as_object().unwrap() {
        for (id, r) in inv["results"].as_object().unwrap() {
            out.entry(id.clone()).or_default().push(r.as_i64().unwrap());
        }
    }
    out
}

#[test]
fn a_fault_that_clears_gives_new_passes_and_keeps_the_old_ones() {
    let home = tempfile::tempdir().unwrap();
    let fixture = faulty(home.path());
    let first = isolated(home.path())
        .args(["run", "iaas", "-q", "-s", "demo", "-o", "first.yaml"])
        .arg("--simulate")
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let old = yaml(&home.path().join("first.yaml"));
    let old_summaries = summaries(&old);
    let aborted: Vec<&(String, String)> = old_summaries
        .iter()
        .filter(|(_, (r, _, _))| r == "ABORT")
        .map(|(k, _)| k)
        .collect();
    assert!(
        aborted.iter().any(|(_, id)| id.starts_with("scs-0100")),
        "{aborted:?}"
    );
    assert!(old_summaries.values().any(|(r, _, _)| r == "PASS"));

    // The fault is gone: the same subject, now against the compliant cloud.
    let rerun = isolated(home.path())
        .args(["rerun", "first.yaml", "--simulate", "compliant"])
        .args([
            "-o",
            "merged.yaml",
            "--json",
            "merged.json",
            "--html",
            "merged.html",
        ])
        .args(["--markdown", "merged.md"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&rerun.stdout);
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("rerunning "), "{stderr}");
    assert!(stdout.contains(" testcases, now "), "{stdout}");
    assert!(!stdout.contains("not passing"), "{stdout}");

    let merged = yaml(&home.path().join("merged.yaml"));
    let merged_summaries = summaries(&merged);
    assert_eq!(
        merged_summaries.keys().collect::<Vec<_>>(),
        old_summaries.keys().collect::<Vec<_>>()
    );
    for (key, (result, invocation, rerun)) in &merged_summaries {
        let (old_result, old_invocation, _) = &old_summaries[key];
        assert_eq!(result, "PASS", "{key:?}");
        if old_result == "PASS" {
            // Old PASSes are kept as they were, from their old invocation.
            assert!(!rerun, "{key:?} is marked new");
            assert_eq!(invocation, old_invocation, "{key:?}");
        } else {
            assert!(rerun, "{key:?} is not marked new");
            assert_ne!(invocation, old_invocation, "{key:?}");
            assert!(
                merged["run"]["invocations"][invocation.as_str()].is_object(),
                "{key:?}: its invocation is in the report"
            );
        }
    }
    // The monitor reads each testcase's result exactly once, and every one passes.
    let monitor = monitor_results(&merged);
    for (id, results) in &monitor {
        assert_eq!(results, &vec![1], "{id}");
    }
    for (_, id) in old_summaries.keys() {
        assert!(monitor.contains_key(id), "{id} has no result");
    }
    // A new report (new uuid) for the same subject, scope and time; the note names the old run.
    assert_ne!(merged["run"]["uuid"], old["run"]["uuid"]);
    for key in ["subject", "checked_at", "reference_date", "spec"] {
        assert_eq!(merged[key], old[key], "{key}");
    }
    let note = &merged["scs_check"]["rerun"];
    assert_eq!(note["of_run"], old["run"]["uuid"]);
    let mut rerun_ids: Vec<&str> = note["testcases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    rerun_ids.sort();
    let mut want: Vec<&str> = aborted.iter().map(|(_, id)| id.as_str()).collect();
    want.sort();
    want.dedup();
    assert_eq!(rerun_ids, want);
    assert_eq!(merged["scs_check"]["totals"]["aborted"], 0);
    assert_eq!(merged["scs_check"]["simulated"], true);
    // The JSON is the same document; the human formats mark the new results.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.path().join("merged.json")).unwrap())
            .unwrap();
    assert_eq!(summaries(&json), merged_summaries);
    let html = std::fs::read_to_string(home.path().join("merged.html")).unwrap();
    assert_eq!(
        html.matches("<em class=\"note\">rerun</em>").count(),
        aborted.len()
    );
    let md = std::fs::read_to_string(home.path().join("merged.md")).unwrap();
    assert!(md.contains("- Rerun: "), "{md}");
    assert_eq!(md.matches(" _rerun_ |").count(), aborted.len());
}

#[test]
fn a_report_that_passed_is_written_unchanged() {
    let home = tempfile::tempdir().unwrap();
    let first = isolated(home.path())
        .args(["run", "iaas", "-q", "-s", "demo", "-t", "scs-0100"])
        .args(["--simulate", "compliant", "-o", "first.yaml"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0));
    let rerun = isolated(home.path())
        .args([
            "rerun",
            "first.yaml",
            "--simulate",
            "compliant",
            "-q",
            "-o",
            "again.yaml",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("nothing to rerun"), "{stderr}");
    assert_eq!(
        yaml(&home.path().join("again.yaml")),
        yaml(&home.path().join("first.yaml"))
    );
}

#[test]
fn a_rerun_that_still_fails_says_so_and_fails() {
    let home = tempfile::tempdir().unwrap();
    let broken = repo().join("fixtures/clouds/flavors-broken.yaml");
    let first = isolated(home.path())
        .args([
            "run",
            "iaas",
            "-q",
            "-s",
            "demo",
            "-t",
            "scs-0100",
            "-o",
            "first.yaml",
        ])
        .arg("--simulate")
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(1));
    let rerun = isolated(home.path())
        .args(["rerun", "first.yaml", "-o", "merged.yaml", "--simulate"])
        .arg(&broken)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&rerun.stdout);
    assert_eq!(rerun.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL (not passing: scs-0100-"), "{stdout}");
    let merged = yaml(&home.path().join("merged.yaml"));
    // The partial run stays partial: the filter of the first run is kept.
    assert_eq!(merged["run"]["forced_tests"], "scs-0100");
    assert!(
        monitor_results(&merged)
            .values()
            .all(|results| results.len() == 1)
    );
    // With waivers for every FAIL the rerun passes the gate; the merged report keeps the FAILs.
    let mut waivers = String::from("waivers:\n");
    for id in ["scs-0100-semantics-check", "scs-0100-syntax-check"] {
        waivers.push_str(&format!(
            "  - testcase: {id}\n    subject: demo\n    reason: known\n    expires: 2099-12-31\n"
        ));
    }
    std::fs::write(home.path().join("w.yaml"), waivers).unwrap();
    let waived = isolated(home.path())
        .args([
            "rerun",
            "first.yaml",
            "-q",
            "-o",
            "waived.yaml",
            "--waivers",
            "w.yaml",
        ])
        .arg("--simulate")
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(
        waived.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&waived.stderr)
    );
    let waived = yaml(&home.path().join("waived.yaml"));
    assert_eq!(waived["scs_check"]["waivers"].as_array().unwrap().len(), 2);
    assert!(monitor_results(&waived).values().any(|r| r == &vec![-1]));
}

#[test]
fn bad_input_is_one_line_and_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let fixture = faulty(home.path());
    let first = isolated(home.path())
        .args([
            "run",
            "iaas",
            "-q",
            "-s",
            "demo",
            "-t",
            "scs-0100",
            "-o",
            "first.yaml",
        ])
        .arg("--simulate")
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(2));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["rerun", "first.yaml", "-o", "m.yaml"],
            "first.yaml: the report is from a simulated cloud; give the fixture with --simulate FIXTURE",
        ),
        (
            vec!["rerun", "missing.yaml", "-o", "m.yaml"],
            "missing.yaml",
        ),
        (
            vec![
                "rerun",
                "first.yaml",
                "-o",
                "m.yaml",
                "--simulate",
                "compliant",
                "--scope",
                "kaas",
            ],
            "--scope kaas is scope",
        ),
    ];
    for (args, want) in cases {
        let output = isolated(home.path()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(!home.path().join("m.yaml").exists());
    }
    // A scope that is not built in must be given.
    let text = std::fs::read_to_string(home.path().join("first.yaml")).unwrap();
    let uuid = yaml(&home.path().join("first.yaml"))["spec"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(
        home.path().join("other.yaml"),
        text.replace(&uuid, "00000000-0000-4000-8000-000000000000"),
    )
    .unwrap();
    let output = isolated(home.path())
        .args([
            "rerun",
            "other.yaml",
            "-o",
            "m.yaml",
            "--simulate",
            "compliant",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("give its scope file with --scope"),
        "{stderr}"
    );
}

/// A report of the reference tool (no `scs_check` blocks) is summarized with the built-in scope,
/// and the merged report gets our block with the new results marked.
#[test]
fn a_reference_tool_report_can_be_rerun() {
    let home = tempfile::tempdir().unwrap();
    let fixture = faulty(home.path());
    let first = isolated(home.path())
        .args(["run", "iaas", "-q", "-s", "demo", "-t", "scs-0100|scs-0123"])
        .args(["-o", "first.yaml", "--simulate"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(2));
    let mut report = yaml(&home.path().join("first.yaml"));
    let object = report.as_object_mut().unwrap();
    object.remove("scs_check");
    for (_, inv) in object["run"]["invocations"].as_object_mut().unwrap() {
        inv.as_object_mut().unwrap().remove("scs_check");
    }
    // As if the reference tool had run it against a real cloud.
    object["run"]["assignment"] = serde_json::json!({"os_cloud": "mycloud"});
    std::fs::write(
        home.path().join("reference.json"),
        serde_json::to_string(&report).unwrap(),
    )
    .unwrap();
    let rerun = isolated(home.path())
        .args(["rerun", "reference.json", "-q", "-o", "merged.yaml"])
        .args(["--simulate", "compliant"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(0), "{stderr}");
    let merged = yaml(&home.path().join("merged.yaml"));
    let merged_summaries = summaries(&merged);
    assert!(!merged_summaries.is_empty());
    assert!(merged_summaries.values().all(|(r, _, _)| r == "PASS"));
    assert!(
        merged_summaries
            .iter()
            .any(|((_, id), (_, _, rerun))| id.starts_with("scs-0100") && *rerun)
    );
    assert!(
        merged_summaries
            .iter()
            .filter(|((_, id), _)| id.starts_with("scs-0123"))
            .all(|(_, (_, _, rerun))| !rerun)
    );
    for (id, results) in monitor_results(&merged) {
        assert_eq!(results, vec![1], "{id}");
    }
}
