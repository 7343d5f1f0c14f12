//! `cncf-k8s-conformance` (scs-0201-v1): every `[Conformance]` e2e test passes, except those in
//! the okToFail list. Runs sonobuoy in `certified-conformance` mode (see [`super::sonobuoy`]).

use super::sonobuoy::run_check;
use crate::probes::FnProbe;
use crate::probes::Registry;
use futures::FutureExt;

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

/// Registers the probe.
pub fn register(registry: &mut Registry) {
    registry.register(FnProbe::new(
        "scs-0201-cncf-conformance",
        vec![ID.to_string()],
        |ctx, ids| run_check(ctx, ids, ID, RESULT_DIR, RUN_ARGS).boxed(),
    ));
}
