//! The mapping from a run's result to the process exit code: [`ExitStatus`], the only place
//! that decides it. It lives below the command line so that library modules (for example
//! `cert::batch`) can compute a job's status without importing `cli`.

use crate::verdict::Aggregate;
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

impl ExitStatus {
    /// The exit status for the worst `main` result of a run. With `critical_only`, verdicts do not
    /// count; only a run that could not complete (interrupted) is non-zero.
    pub fn from_run(main: Aggregate, interrupted: bool, critical_only: bool) -> ExitStatus {
        if critical_only {
            return if interrupted {
                ExitStatus::Inconclusive
            } else {
                ExitStatus::Pass
            };
        }
        match main {
            Aggregate::Pass if interrupted => ExitStatus::Inconclusive,
            Aggregate::Pass => ExitStatus::Pass,
            Aggregate::Fail => ExitStatus::Fail,
            Aggregate::Missing | Aggregate::Abort => ExitStatus::Inconclusive,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status as u8)
    }
}
