//! The command line: parses flags, wires spec → plan → execute → report, and maps the result to
//! an exit code (in one place, [`ExitStatus`]).

use std::process::ExitCode;

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every selected version's `main` target passes.
    Pass = 0,
    /// Some `main` target has a FAIL.
    Fail = 1,
    /// Inconclusive: ABORT or MISSING in some `main`, no FAIL.
    Inconclusive = 2,
    /// The run could not start (bad flags, bad scope, missing variables, unreachable config).
    Error = 3,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    ExitCode::from(ExitStatus::Error as u8)
}
