//! Sonobuoy for the KaaS e2e checks (scs-0201 conformance, scs-0219 networking): running the
//! `sonobuoy` binary the way the reference does (pre-delete, `run --wait` with the mode and
//! execution-mode arguments, `retrieve -x`, post-delete) under an overall timeout and the run's
//! cancellation, polling `sonobuoy status --json` for progress, and judging
//! `plugins/e2e/sonobuoy_results.yaml` with the okToFail list in
//! `testcases/kaas/sonobuoy-ok-to-fail.yaml`.
//!
//! One probe ([`probe`]) answers both testcases. When both are requested they share ONE e2e
//! pass whose focus is the union of theirs ([`SHARED_RUN_ARGS`]), and each is judged on the
//! tests its own focus selects ([`SonobuoyCheck::selects`]); alone, a testcase runs just its own
//! focus and is judged on the whole tree, as in the reference.
//!
//! `run` drives the `sonobuoy` binary, `results` judges what it retrieved; this file holds
//! the two checks and the probe that runs them.

mod results;
mod run;

use crate::probes::{Outcome, ProbeContext};
use regex::Regex;
pub use results::{
    Judgement, OK_TO_FAIL_ORIGIN, OkToFail, RESULTS_FILE, ResultItem, builtin_ok_to_fail,
    judge_file, judge_tests, judge_tree, locate_results, outcome_of, parse_ok_to_fail, read_tree,
};
pub use run::{
    SonobuoyJob, empty_dir, execution_mode_args, find_sonobuoy, orchestrate, status_line,
};
use std::path::PathBuf;
use std::time::Duration;

/// One Sonobuoy-based testcase: what the reference passes to `sonobuoy run` for it alone, and
/// which tests of a shared pass are its own.
#[derive(Debug, Clone, Copy)]
pub struct SonobuoyCheck {
    /// Testcase id.
    pub id: &'static str,
    /// `sonobuoy run` arguments besides the execution mode when it runs alone.
    pub run_args: &'static [&'static str],
    /// Results directory below `subject_root` when it runs alone.
    pub result_dir: &'static str,
    /// Regex over test names: the tests its own focus selects.
    pub focus: &'static str,
}

impl SonobuoyCheck {
    /// The regex of [`SonobuoyCheck::focus`].
    pub fn selects(&self) -> Regex {
        Regex::new(self.focus).expect("built-in focus regex")
    }
}

/// The checks sharing one pass, in the order of [`SHARED_FOCUS`].
pub const CHECKS: [SonobuoyCheck; 2] = [
    super::scs_0201_cncf_conformance::CHECK,
    super::scs_0219_networking::CHECK,
];

/// The focus of a shared pass: certified conformance ∪ the NetworkPolicy tests.
pub const SHARED_FOCUS: &str = r"\[Conformance\]|NetworkPolicy";

/// `sonobuoy run` arguments (besides the execution mode) of the pass both checks share:
/// the certified-conformance mode (and its flake attempts) with the focus widened to the
/// NetworkPolicy tests.
pub const SHARED_RUN_ARGS: &[&str] = &[
    "--mode=certified-conformance",
    "--e2e-focus",
    SHARED_FOCUS,
    "--plugin-env",
    "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
];

/// Results directory below `subject_root` of the shared pass.
pub const SHARED_RESULT_DIR: &str = "sono-results-e2e";

/// Name of the probe answering both Sonobuoy-based testcases.
pub const PROBE_NAME: &str = "kaas-sonobuoy-e2e";

/// The probe answering `cncf-k8s-conformance` and `kaas-networking-check` (one Sonobuoy pass
/// for whichever of them are requested). It creates resources in the cluster.
pub fn probe() -> std::sync::Arc<crate::probes::FnProbe> {
    use futures::FutureExt;
    crate::probes::FnProbe::new(
        PROBE_NAME,
        CHECKS.iter().map(|c| c.id.to_string()).collect(),
        |ctx, ids| run_checks(ctx, ids).boxed(),
    )
}

/// The probe body: one Sonobuoy pass for the requested checks, judged once per check.
pub async fn run_checks(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let abort = |reason: String| -> Vec<Outcome> {
        ids.iter()
            .map(|i| Outcome::abort(i, reason.clone()))
            .collect()
    };
    let selected: Vec<SonobuoyCheck> = CHECKS
        .iter()
        .filter(|c| ids.iter().any(|i| i == c.id))
        .copied()
        .collect();
    let cluster = match ctx.services.kube() {
        Ok(c) => c.clone(),
        Err(e) => return abort(e),
    };
    let ok = match builtin_ok_to_fail() {
        Ok(ok) => ok,
        Err(e) => return abort(e),
    };
    let mode = ctx
        .variables
        .get("execution_mode")
        .map(String::as_str)
        .unwrap_or("parallel");
    let (args, subdir, shared) = match selected.as_slice() {
        [] => return abort("no Sonobuoy-based testcase requested".into()),
        [one] => (one.run_args, one.result_dir, false),
        _ => (SHARED_RUN_ARGS, SHARED_RESULT_DIR, true),
    };
    let mut run_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    match execution_mode_args(mode) {
        Ok(a) => run_args.extend(a),
        Err(e) => return abort(e),
    }
    let root = ctx
        .variables
        .get("subject_root")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let label: Vec<&str> = selected.iter().map(|c| c.id).collect();
    let job = SonobuoyJob {
        id: label.join(" + "),
        run_args,
        result_dir: root.join(subdir),
    };
    // Leave time for the final `delete --wait` inside the executor's budget.
    let budget = ctx
        .timeout
        .saturating_sub(Duration::from_secs(30))
        .max(ctx.timeout / 2);
    let timeout = cluster
        .options
        .sonobuoy_timeout
        .map_or(budget, |t| t.min(budget));
    let tree = match orchestrate(&cluster, &job, timeout, &ctx.cancel).await {
        Ok(tree) => tree,
        Err(e) => return abort(e),
    };
    ids.iter()
        .map(|i| {
            let Some(check) = selected.iter().find(|c| c.id == i) else {
                return Outcome::abort(i, "not a Sonobuoy-based testcase");
            };
            let filter = shared.then(|| check.selects());
            let j = judge_tests(&tree, &ok, filter.as_ref());
            let o = outcome_of(i, &j);
            if mode == "dry" {
                // A dry run lists the tests without running them: no evidence either way.
                Outcome::abort(
                    i,
                    format!(
                        "execution_mode=dry: sonobuoy listed the tests without running them ({})",
                        j.summary()
                    ),
                )
                .with_evidence(o.evidence)
            } else {
                o
            }
        })
        .collect()
}
