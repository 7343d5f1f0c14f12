//! Declaring a probe from an async function ([`FnProbe`]) and the one-line "every requested
//! testcase ABORT" answer ([`abort_all`]); shared by the IaaS and KaaS probes.

use crate::probes::{Outcome, Probe, ProbeContext};
use futures::future::BoxFuture;
use std::sync::Arc;

/// Every requested testcase ABORT with the same reason.
pub fn abort_all(testcases: &[String], reason: &str) -> Vec<Outcome> {
    testcases
        .iter()
        .map(|id| Outcome::abort(id, reason))
        .collect()
}

/// The async function behind a [`FnProbe`]: gets the context and the requested ids.
pub type ProbeFn = for<'a> fn(&'a ProbeContext, &'a [String]) -> BoxFuture<'a, Vec<Outcome>>;

/// A probe made of a name, the ids it answers and an async function.
pub struct FnProbe {
    name: &'static str,
    testcases: Vec<String>,
    run: ProbeFn,
}

impl FnProbe {
    /// Declares a probe.
    pub fn new(name: &'static str, testcases: Vec<String>, run: ProbeFn) -> Arc<Self> {
        Arc::new(FnProbe {
            name,
            testcases,
            run,
        })
    }
}

impl Probe for FnProbe {
    fn name(&self) -> &str {
        self.name
    }
    fn testcases(&self) -> Vec<String> {
        self.testcases.clone()
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ProbeContext,
        testcases: &'a [String],
    ) -> BoxFuture<'a, Vec<Outcome>> {
        (self.run)(ctx, testcases)
    }
}
