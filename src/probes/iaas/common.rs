//! What every IaaS probe shares: access to the cloud snapshot, the pre-flight role check of the
//! reference suite, the listings with the fields the probes need checked (a field the API always
//! sends but the answer lacks makes the listing incomplete: ABORT naming the object and the field,
//! never "none"). `FnProbe` and `abort_all` live in `probes` (shared with KaaS) and are
//! re-exported here.

use crate::openstack::Snapshot;
use crate::openstack::catalog::Catalog;
use crate::openstack::models::{Flavor, Image, VolumeType};
use crate::probes::ProbeContext;
pub use crate::probes::{FnProbe, ProbeFn, abort_all};
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

/// The flavors of the cloud (after the pre-flight check), each with a name, vCPUs and RAM;
/// the error is the ABORT reason.
pub async fn flavors(ctx: &ProbeContext) -> Result<Arc<Vec<Flavor>>, String> {
    let snapshot = checked_snapshot(ctx).await?;
    let flavors = snapshot
        .flavors()
        .await
        .map_err(|err| format!("cannot list the flavors: {err}"))?;
    check_flavor_fields(&flavors)?;
    Ok(flavors)
}

/// Checks the fields Nova always sends and the flavor probes read: a flavor without a name, or
/// with 0 vCPUs or 0 MiB RAM (absent in the answer; Nova never stores 0), makes the listing
/// unusable. The error names the flavor and the field.
pub fn check_flavor_fields(flavors: &[Flavor]) -> Result<(), String> {
    for f in flavors {
        let missing = if f.name.trim().is_empty() {
            "name"
        } else if f.vcpus == 0 {
            "vcpus"
        } else if f.ram == 0 {
            "ram"
        } else {
            continue;
        };
        return Err(format!(
            "incomplete flavor listing: flavor {} (id {}) has no `{missing}` (absent or 0 in the answer), so the flavors cannot be judged",
            if f.name.is_empty() {
                "<no name>".to_string()
            } else {
                format!("{:?}", f.name)
            },
            f.id
        ));
    }
    Ok(())
}

/// The images of the cloud (after the pre-flight check), each with its `visibility` (which
/// decides whether a probe judges it); the error is the ABORT reason.
pub async fn images(ctx: &ProbeContext) -> Result<Arc<Vec<Image>>, String> {
    let snapshot = checked_snapshot(ctx).await?;
    let images = snapshot
        .images()
        .await
        .map_err(|err| format!("cannot list images: {err}"))?;
    require_image_fields(images.iter(), &["visibility"])?;
    Ok(images)
}

/// Checks that every image carries the named fields Glance always sends (`visibility`,
/// `created_at`, `status`, or a property key); the error names the image and the field.
pub fn require_image_fields<'a>(
    images: impl IntoIterator<Item = &'a Image>,
    fields: &[&str],
) -> Result<(), String> {
    for image in images {
        for field in fields {
            let present = match *field {
                "visibility" => image.visibility.is_some(),
                "created_at" => image.created_at.is_some(),
                "status" => image.status.is_some(),
                key => image.properties.contains_key(key),
            };
            if !present {
                return Err(format!(
                    "incomplete image listing: image {} (id {}) has no `{field}`, so the images cannot be judged",
                    image
                        .name
                        .as_deref()
                        .map_or("<no name>".to_string(), |n| format!("{n:?}")),
                    image.id
                ));
            }
        }
    }
    Ok(())
}

/// The volume types of the cloud (after the pre-flight check), each with its `description`
/// key (null is fine: no description); the error is the ABORT reason.
pub async fn volume_types(ctx: &ProbeContext) -> Result<Arc<Vec<VolumeType>>, String> {
    let snapshot = checked_snapshot(ctx).await?;
    let types = snapshot
        .volume_types()
        .await
        .map_err(|err| format!("cannot list volume types: {err}"))?;
    if let Some(t) = types.iter().find(|t| t.description.is_none()) {
        return Err(format!(
            "incomplete volume type listing: volume type {:?} (id {}) has no `description`, so the feature lists cannot be judged",
            t.name, t.id
        ));
    }
    Ok(types)
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
