//! `kaas-networking-check` (scs-0219-v1): the upstream e2e tests focused on `NetworkPolicy` pass,
//! except those in the okToFail list. Runs sonobuoy with `--e2e-focus NetworkPolicy` (see
//! [`super::sonobuoy`]).

use super::sonobuoy::run_check;
use crate::probes::FnProbe;
use crate::probes::Registry;
use futures::FutureExt;

/// The testcase id.
pub const ID: &str = "kaas-networking-check";
/// `sonobuoy run` arguments besides the execution mode, as the reference passes them
/// (`--e2e-focus "NetworkPolicy"` shell-split).
pub const RUN_ARGS: &[&str] = &["--e2e-focus", "NetworkPolicy"];
/// Results directory below `subject_root`.
pub const RESULT_DIR: &str = "sono-results-0219";

/// Registers the probe.
pub fn register(registry: &mut Registry) {
    registry.register(FnProbe::new(
        "scs-0219-networking",
        vec![ID.to_string()],
        |ctx, ids| run_check(ctx, ids, ID, RESULT_DIR, RUN_ARGS).boxed(),
    ));
}
