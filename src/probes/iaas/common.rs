//! What every IaaS probe shares: access to the cloud snapshot, the pre-flight role check of the
//! reference suite, and a way to declare a probe from an async function.

use crate::openstack::Snapshot;
use crate::openstack::catalog::Catalog;
use crate::openstack::models::{Flavor, Image, VolumeType};
use crate::probes::{Outcome, Probe, ProbeContext};
use futures::future::BoxFuture;
use std::sync::Arc;

/// The cloud snapshot of the run, after the pre-flight role check.
///
/// The reference suite refuses to judge a cloud through a token that lacks the `member` role or
/// carries `admin` or `manager` (every automated testcase must pass for a plain member); every
/// affected testcase is then ABORT with the same reason.
pub async fn checked_snapshot(ctx: &ProbeContext) -> Result<Arc<Snapshot>, String> {
    let snapshot = ctx.services.openstack()?.clone();
    let roles = snapshot
        .roles()
        .await
        .map_err(|err| format!("cannot read the token's roles: {err}"))?;
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    preflight_roles(&names)?;
    Ok(snapshot)
}

/// The flavors of the cloud (after the pre-flight check); the error is the ABORT reason.
pub async fn flavors(ctx: &ProbeContext) -> Result<Arc<Vec<Flavor>>, String> {
    let snapshot = checked_snapshot(ctx).await?;
    snapshot
        .flavors()
        .await
        .map_err(|err| format!("cannot list the flavors: {err}"))
}

/// The images of the cloud (after the pre-flight check); the error is the ABORT reason.
pub async fn images(ctx: &ProbeContext) -> Result<Arc<Vec<Image>>, String> {
    let snapshot = checked_snapshot(ctx).await?;
    snapshot
        .images()
        .await
        .map_err(|err| format!("cannot list images: {err}"))
}

/// The volume types of the cloud (after the pre-flight check); the error is the ABORT reason.
pub async fn volume_types(ctx: &ProbeContext) -> Result<Arc<Vec<VolumeType>>, String> {
    let snapshot = checked_snapshot(ctx).await?;
    snapshot
        .volume_types()
        .await
        .map_err(|err| format!("cannot list volume types: {err}"))
}

/// The snapshot and the token's service catalog (after the pre-flight check); the error is the
/// ABORT reason.
pub async fn catalog(ctx: &ProbeContext) -> Result<(Arc<Snapshot>, Arc<Catalog>), String> {
    let snapshot = checked_snapshot(ctx).await?;
    let catalog = snapshot
        .catalog()
        .await
        .map_err(|err| format!("cannot read the catalog: {err}"))?;
    Ok((snapshot, catalog))
}

/// The role rule of the pre-flight check, on the role names of the token.
pub fn preflight_roles(names: &[&str]) -> Result<(), String> {
    if let Some(high) = names.iter().find(|n| matches!(**n, "admin" | "manager")) {
        return Err(format!(
            "user privileges too high: the token has the role `{high}`; run as a plain project member"
        ));
    }
    if !names.contains(&"member") {
        return Err(format!(
            "missing member role: the token has only [{}]; the checks must run as a project member",
            names.join(", ")
        ));
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_rule() {
        assert!(preflight_roles(&["member", "reader"]).is_ok());
        assert!(
            preflight_roles(&["member", "admin"])
                .unwrap_err()
                .contains("too high")
        );
        assert!(
            preflight_roles(&["manager", "member"])
                .unwrap_err()
                .contains("manager")
        );
        assert!(
            preflight_roles(&["reader"])
                .unwrap_err()
                .contains("missing member role")
        );
    }
}
