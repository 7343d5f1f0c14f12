//! Every PASS says what was checked: `scs-check run iaas` against the compliant simulated cloud
//! and against an empty one (no flavors, images or volume types), and every PASS reason in the
//! report names what it looked at. A PASS over zero objects says "nothing to check" instead of
//! "all 0 … are fine".

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/clouds")
        .join(name)
}

/// Runs `run iaas` on the fixture and returns (testcase, verdict, reason) of every result.
fn results(fixture: &Path, dir: &Path) -> Vec<(String, i8, String)> {
    let report = dir.join(format!(
        "{}.yaml",
        fixture.file_stem().unwrap().to_string_lossy()
    ));
    let out = Command::cargo_bin("scs-check")
        .unwrap()
        .env("CI", "true")
        .env_remove("OS_CLOUD")
        .args(["run", "iaas", "-q", "--simulate"])
        .arg(fixture)
        .arg("-o")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = scs_check::report::read_report_file(&report).unwrap();
    let mut rows = Vec::new();
    for r in &reports {
        for inv in r.run.invocations.values() {
            let evidence = inv.scs_check.as_ref().expect("our evidence block");
            for (id, v) in &inv.results {
                let reason = evidence
                    .testcases
                    .get(id)
                    .map(|t| t.reason.clone())
                    .unwrap_or_default();
                rows.push((id.clone(), *v, reason));
            }
        }
    }
    assert!(!rows.is_empty(), "no results in {}", report.display());
    rows
}

/// Why a PASS reason does not say what was checked, if it does not.
fn weak_reason(reason: &str) -> Option<&'static str> {
    let r = reason.trim();
    let lower = r.to_lowercase();
    if r.len() < 15 {
        return Some("too short");
    }
    if [
        "pass",
        "passed",
        "ok",
        "success",
        "fine",
        "compliant",
        "no problems",
    ]
    .contains(&lower.trim_end_matches('.'))
    {
        return Some("generic");
    }
    let zero_count = ["all 0 ", " of 0 ", "none of 0 ", "0 of 0"]
        .iter()
        .any(|p| lower.contains(p) || lower.starts_with(p.trim_start()));
    if zero_count && !lower.contains("nothing to check") {
        return Some("a count of zero objects without saying there was nothing to check");
    }
    None
}

fn check_all(rows: &[(String, i8, String)], what: &str) -> usize {
    let mut passes = 0;
    for (id, verdict, reason) in rows {
        if *verdict != 1 {
            continue;
        }
        passes += 1;
        if let Some(why) = weak_reason(reason) {
            panic!("{what}: PASS reason of {id} is {why}: {reason:?}");
        }
    }
    passes
}

#[test]
fn weak_reasons_are_recognised() {
    assert!(weak_reason("").is_some());
    assert!(weak_reason("passed").is_some());
    assert!(weak_reason("all 0 public images have a valid `architecture`").is_some());
    assert!(weak_reason("0 of 0 volume types carry a feature list; all are well formed").is_some());
    assert!(weak_reason("0 public or community images: nothing to check for `x`").is_none());
    assert!(weak_reason("the catalog has a service of type \"compute\"").is_none());
}

#[test]
fn every_pass_reason_on_the_compliant_cloud_says_what_was_checked() {
    let dir = tempfile::tempdir().unwrap();
    let rows = results(&shipped("compliant.yaml"), dir.path());
    assert!(check_all(&rows, "compliant") > 20);
}

#[test]
fn every_pass_reason_on_an_empty_cloud_says_there_was_nothing_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("empty.yaml");
    std::fs::write(
        &fixture,
        format!(
            "base: {}\nname: empty\nflavors: null\nimages: null\nvolume_types: null\n",
            shipped("compliant.yaml").display()
        ),
    )
    .unwrap();
    let rows = results(&fixture, dir.path());
    check_all(&rows, "empty");
    // The listing-based testcases that pass on an empty cloud say so.
    for (id, verdict, reason) in &rows {
        let listing_based = id.starts_with("scs-0102-") || id == "scs-0114-syntax-check";
        if *verdict == 1 && listing_based {
            assert!(
                reason.contains("nothing to check"),
                "{id}: {reason:?} should say there was nothing to check"
            );
        }
    }
}
