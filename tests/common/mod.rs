//! Helpers shared by the test files that drive the `scs-check` binary: where the repository is,
//! and the binary in an isolated environment.

#![allow(dead_code)] // each test file uses what it needs

use assert_cmd::Command;
use std::path::Path;

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
