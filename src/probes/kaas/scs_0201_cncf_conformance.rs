//! `cncf-k8s-conformance` (scs-0201-v1): every `[Conformance]` e2e test passes, except those in
//! the okToFail list. Runs sonobuoy in `certified-conformance` mode (see [`super::sonobuoy`]).

use super::sonobuoy::SonobuoyCheck;

/// The testcase id.
pub const ID: &str = "cncf-k8s-conformance";
/// `sonobuoy run` arguments besides the execution mode, as the reference passes them.
pub const RUN_ARGS: &[&str] = &[
    "--mode=certified-conformance",
    "--plugin-env",
    "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
];
/// Results directory below `subject_root`.
pub const RESULT_DIR: &str = "sono-results-e2e";

/// The check as [`super::sonobuoy::probe`] runs it; its focus is certified conformance: the tests tagged `[Conformance]`.
pub const CHECK: SonobuoyCheck = SonobuoyCheck {
    id: ID,
    run_args: RUN_ARGS,
    result_dir: RESULT_DIR,
    focus: r"\[Conformance\]",
};
