//! `kaas-networking-check` (scs-0219-v1): the upstream e2e tests focused on `NetworkPolicy` pass,
//! except those in the okToFail list. Runs sonobuoy with `--e2e-focus NetworkPolicy` (see
//! [`super::sonobuoy`]).

use super::sonobuoy::SonobuoyCheck;

/// The testcase id.
pub const ID: &str = "kaas-networking-check";
/// `sonobuoy run` arguments besides the execution mode, as the reference passes them
/// (`--e2e-focus "NetworkPolicy"` shell-split).
pub const RUN_ARGS: &[&str] = &["--e2e-focus", "NetworkPolicy"];
/// Results directory below `subject_root`.
pub const RESULT_DIR: &str = "sono-results-0219";

/// The check as [`super::sonobuoy::probe`] runs it; its focus is the NetworkPolicy tests.
pub const CHECK: SonobuoyCheck = SonobuoyCheck {
    id: ID,
    run_args: RUN_ARGS,
    result_dir: RESULT_DIR,
    focus: "NetworkPolicy",
};
