//! Seeding flavors: kept when they match (resources, visibility, description, extra specs),
//! otherwise replaced (Nova cannot change a flavor), private ones given to the project, and
//! flavors the fixture does not name deleted.

use super::{SeedError, SeedSummary, api, enc, set_extra_specs, str_of};
use crate::openstack::Client;
use crate::sim::fixture::FlavorDef;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Whether an existing flavor is the fixture's flavor `want`.
fn flavor_matches(existing: &Value, want: &FlavorDef) -> bool {
    let num = |k: &str| existing.get(k).and_then(Value::as_u64);
    num("vcpus") == Some(want.vcpus)
        && num("ram") == Some(want.ram)
        && num("disk") == Some(want.disk)
        && existing
            .get("os-flavor-access:is_public")
            .and_then(Value::as_bool)
            == Some(want.is_public)
        && existing.get("description").and_then(Value::as_str) == want.description.as_deref()
        && want
            .id
            .as_ref()
            .is_none_or(|id| existing.get("id").and_then(Value::as_str) == Some(id))
}

/// Makes the cloud's flavors the fixture's; private ones are given to `project` (an id) when given.
pub(super) async fn seed_flavors(
    client: &Client,
    flavors: &[FlavorDef],
    project: Option<&str>,
    summary: &mut SeedSummary,
) -> Result<(), SeedError> {
    let existing = client
        .list("compute", "/flavors/detail?is_public=None", "flavors")
        .await
        .map_err(api("list flavors"))?;
    let wanted: HashSet<&str> = flavors.iter().map(|f| f.name.as_str()).collect();
    for e in &existing {
        let name = str_of(e, "name");
        if !wanted.contains(name.as_str()) {
            delete_flavor(client, e, summary).await?;
        }
    }
    for want in flavors {
        let found = existing
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(&want.name));
        match found {
            Some(e) if flavor_matches(e, want) => {
                let id = str_of(e, "id");
                if sync_extra_specs(client, &id, want).await? {
                    summary.updated.push(format!("flavor {}", want.name));
                } else {
                    summary.kept += 1;
                }
            }
            other => {
                if let Some(e) = other {
                    delete_flavor(client, e, summary).await?;
                }
                create_flavor(client, want, project).await?;
                summary.created.push(format!("flavor {}", want.name));
            }
        }
    }
    Ok(())
}

async fn delete_flavor(
    client: &Client,
    e: &Value,
    summary: &mut SeedSummary,
) -> Result<(), SeedError> {
    let name = str_of(e, "name");
    client
        .request(
            "compute",
            Method::DELETE,
            &format!("/flavors/{}", enc(&str_of(e, "id"))),
            None,
        )
        .await
        .map_err(api(format!("delete flavor \"{name}\"")))?;
    summary.deleted.push(format!("flavor {name}"));
    Ok(())
}

async fn create_flavor(
    client: &Client,
    want: &FlavorDef,
    project: Option<&str>,
) -> Result<(), SeedError> {
    let what = format!("create flavor \"{}\"", want.name);
    let mut f = json!({
        "name": want.name, "vcpus": want.vcpus, "ram": want.ram, "disk": want.disk,
        "os-flavor-access:is_public": want.is_public,
    });
    if let Some(id) = &want.id {
        f["id"] = json!(id);
    }
    if let Some(d) = &want.description {
        f["description"] = json!(d);
    }
    let created = client
        .request_json(
            "compute",
            Method::POST,
            "/flavors",
            Some(&json!({ "flavor": f })),
        )
        .await
        .map_err(api(what.clone()))?;
    let id = created
        .pointer("/flavor/id")
        .and_then(Value::as_str)
        .ok_or_else(|| SeedError::Unexpected(format!("{what}: answer has no flavor id")))?
        .to_string();
    if !want.extra_specs.is_empty() {
        client
            .request_json(
                "compute",
                Method::POST,
                &format!("/flavors/{}/os-extra_specs", enc(&id)),
                Some(&json!({ "extra_specs": want.extra_specs })),
            )
            .await
            .map_err(api(format!("set extra specs of flavor \"{}\"", want.name)))?;
    }
    if let (false, Some(p)) = (want.is_public, project) {
        client
            .request_json(
                "compute",
                Method::POST,
                &format!("/flavors/{}/action", enc(&id)),
                Some(&json!({ "addTenantAccess": { "tenant": p } })),
            )
            .await
            .map_err(api(format!("share flavor \"{}\"", want.name)))?;
    }
    Ok(())
}

/// Makes a flavor's extra specs equal the fixture's; true when something changed.
async fn sync_extra_specs(client: &Client, id: &str, want: &FlavorDef) -> Result<bool, SeedError> {
    let path = format!("/flavors/{}/os-extra_specs", enc(id));
    let have = client
        .get_json("compute", &path)
        .await
        .map_err(api(format!("read extra specs of flavor \"{}\"", want.name)))?;
    let what = format!("flavor \"{}\"", want.name);
    set_extra_specs(client, "compute", &path, &have, &want.extra_specs, &what).await
}
