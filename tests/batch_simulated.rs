//! `scs-check batch --simulate`: many subjects against simulated clouds (issue 13, item 5).
//! Timing is the benchmark's business; these tests check that every subject runs and is
//! reported, that the reports say they are simulated, and that such a batch is never signed.

mod common;
use assert_cmd::Command;
use common::stdout_of;

fn config(dir: &std::path::Path, subjects: usize) -> std::path::PathBuf {
    let names: Vec<String> = (0..subjects).map(|i| format!("\"s{i:02}\"")).collect();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[scopes.iaas]\nspec = \"iaas\"\n\n[presets.default]\nscopes = [\"iaas\"]\nsubjects = [{}]\n",
            names.join(", ")
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_simulated_batch_runs_every_subject_and_marks_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 6);
    let out = Command::cargo_bin("scs-check")
        .unwrap()
        .env("CI", "1")
        .arg("batch")
        .arg(&cfg)
        .args([
            "--simulate",
            "compliant",
            "-t",
            "scs-0123-",
            "-w",
            "3",
            "-o",
        ])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    let stdout = stdout_of(&out, 0);
    assert!(stdout.contains("all 6 runs passed"), "{stdout}");
    for i in 0..6 {
        let text = std::fs::read_to_string(
            dir.path()
                .join("reports")
                .join(format!("report-iaas-s{i:02}.yaml")),
        )
        .unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(doc["subject"], format!("s{i:02}"));
        assert_eq!(doc["scs_check"]["simulated"], true, "{text}");
        let results = doc["run"]["invocations"].to_string();
        assert!(results.contains("scs-0123-service-compute"), "{text}");
        assert!(!results.contains("scs-0101"), "-t reached the run: {text}");
    }
}

#[test]
fn a_simulated_batch_is_never_signed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1);
    let out = Command::cargo_bin("scs-check")
        .unwrap()
        .arg("batch")
        .arg(&cfg)
        .args(["--simulate", "compliant", "--sign", "-o"])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    // Exit code 3: bad flags; nothing ran.
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with '--sign'"), "{stderr}");
    assert!(!dir.path().join("reports").exists());
}
