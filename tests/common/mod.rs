//! Helpers shared by the test files that drive the `scs-check` binary: where the repository is,
//! and the binary in an isolated environment.

#![allow(dead_code)] // each test file uses what it needs

use assert_cmd::Command;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

/// The repository root (fixtures, standards, docs).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary in an empty environment: no clouds.yaml anywhere, no OS_* variables, `CI` set
/// (plain progress lines), started in `home`.
pub fn isolated(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("scs-check").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("CI", "true")
        .current_dir(home);
    cmd
}

/// A `scs-check simulate` child serving `fixture`, with its clouds.yaml at `clouds`.
pub struct Served {
    /// The `scs-check simulate` process.
    pub child: Child,
    /// What it printed until it served (its clouds.yaml entry and the command that tests it).
    pub printed: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `scs-check simulate FIXTURE --clouds-yaml CLOUDS` and waits until it serves.
pub fn serve(fixture: &Path, clouds: &Path) -> Served {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scs-check"))
        .arg("simulate")
        .arg(fixture)
        .arg("--clouds-yaml")
        .arg(clouds)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    Served { child, printed }
}

/// A cloud fixture written into `dir` (`fixture.yaml`): the shipped compliant cloud as `base`,
/// named `faulty`, with `overlay` (faults, changed content) on top.
pub fn derived_cloud(dir: &Path, overlay: &str) -> PathBuf {
    let base = repo().join("fixtures/clouds/compliant.yaml");
    let path = dir.join("fixture.yaml");
    std::fs::write(
        &path,
        format!("base: {}\nname: faulty\n{overlay}", base.display()),
    )
    .unwrap();
    path
}

/// Every (version, testcase, result) of a JSON report's `scs_check` block, in report order
/// (`MISSING` where a testcase has no result).
pub fn json_results(path: &Path) -> Vec<(String, String, String)> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = vec![];
    for version in json["scs_check"]["versions"].as_array().unwrap() {
        for (id, tc) in version["testcases"].as_object().unwrap() {
            out.push((
                version["name"].as_str().unwrap().to_string(),
                id.clone(),
                tc["result"].as_str().unwrap_or("MISSING").to_string(),
            ));
        }
    }
    out
}

/// The standard output of a finished command, after asserting that it exited with `code`
/// (standard output and error in the failure message).
pub fn stdout_of(out: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
