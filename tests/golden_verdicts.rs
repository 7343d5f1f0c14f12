//! Golden verdicts: every shipped simulated cloud is run through the binary for IaaS v4, v5.1 and
//! next, and each testcase's verdict per version must equal the one recorded in
//! `fixtures/golden/verdicts/<cloud>.yaml`. A faulty cloud thereby fails exactly the testcases its
//! faults should fail, and the compliant cloud passes everything.
//!
//! After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test --test golden_verdicts`
//! and review the diff.

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const VERSIONS: [&str; 3] = ["v4", "v5.1", "next"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The simulated clouds with golden verdicts (the large performance cloud is left out).
fn clouds() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join("fixtures/clouds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "large"))
        .collect();
    out.sort();
    out
}

type Verdicts = BTreeMap<String, BTreeMap<String, String>>;

/// Runs the cloud for all versions and returns version → testcase → verdict (MISSING included).
fn verdicts_of(cloud: &Path) -> Verdicts {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut cmd = Command::cargo_bin("scs-check").unwrap();
    cmd.env("CI", "true").current_dir(dir.path());
    cmd.args(["run", "iaas", "-q", "--simulate"]).arg(cloud);
    for v in VERSIONS {
        cmd.args(["-V", v]);
    }
    let output = cmd.arg("--json").arg(&json).output().unwrap();
    let code = output.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{}: exit {code:?}: {}",
        cloud.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut out = Verdicts::new();
    for version in report["scs_check"]["versions"].as_array().unwrap() {
        let name = version["name"].as_str().unwrap().to_string();
        let testcases = version["testcases"].as_object().unwrap();
        let per = out.entry(name).or_default();
        for (id, tc) in testcases {
            let result = tc["result"].as_str().unwrap_or("MISSING").to_string();
            per.insert(id.clone(), result);
        }
    }
    out
}

fn render(cloud: &Path, verdicts: &Verdicts) -> String {
    let mut text = format!(
        "# Golden verdicts of the simulated cloud fixtures/clouds/{} for SCS-compatible IaaS.\n\
         # Regenerate with UPDATE_GOLDEN=1 cargo test --test golden_verdicts, then review the diff.\n",
        cloud.file_name().unwrap().to_string_lossy()
    );
    for (version, per) in verdicts {
        text.push_str(&format!("{version}:\n"));
        for (id, verdict) in per {
            text.push_str(&format!("  {id}: {verdict}\n"));
        }
    }
    text
}

#[test]
fn every_simulated_cloud_gets_its_golden_verdicts() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let golden_dir = repo().join("fixtures/golden/verdicts");
    let mut failures = Vec::new();
    for cloud in clouds() {
        let got = render(&cloud, &verdicts_of(&cloud));
        let path = golden_dir.join(cloud.file_name().unwrap());
        if update {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
        if want != got {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("    golden: {a}\n    now:    {b}"))
                .collect();
            failures.push(format!("{}:\n{}", cloud.display(), diff.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "verdicts differ from the golden files:\n{}",
        failures.join("\n")
    );
}

#[test]
fn compliant_cloud_passes_every_automated_testcase_of_every_version() {
    let verdicts = verdicts_of(&repo().join("fixtures/clouds/compliant.yaml"));
    let scope = scs_check::spec::load_builtin("iaas").unwrap();
    for version in VERSIONS {
        let per = &verdicts[version];
        let main = &scope.version(version).unwrap().targets["main"];
        for id in main {
            let manual = matches!(
                scope.scripts[scope.testcases[id].script].runner,
                scs_check::spec::Runner::Manual
            );
            let got = per.get(id).map(String::as_str).unwrap_or("MISSING");
            if manual {
                assert_eq!(got, "MISSING", "{version} {id}");
            } else {
                assert_eq!(got, "PASS", "{version} {id}");
            }
        }
    }
}
