//! Seeding volume types: descriptions and extra specs made equal to the fixture's, missing
//! types created, and types the fixture does not name deleted.

use super::{SeedError, SeedSummary, api, enc, set_extra_specs, str_of};
use crate::openstack::Client;
use crate::sim::fixture::VolumeTypeDef;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Makes the cloud's volume types the fixture's `want`.
pub(super) async fn seed_volume_types(
    client: &Client,
    types: &[VolumeTypeDef],
    summary: &mut SeedSummary,
) -> Result<(), SeedError> {
    let listing = client
        .get_json("block-storage", "/types?is_public=None")
        .await
        .map_err(api("list volume types"))?;
    let existing = listing
        .get("volume_types")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let wanted: HashSet<&str> = types.iter().map(|t| t.name.as_str()).collect();
    for e in &existing {
        let name = str_of(e, "name");
        if wanted.contains(name.as_str()) {
            continue;
        }
        let r = client
            .request(
                "block-storage",
                Method::DELETE,
                &format!("/types/{}", enc(&str_of(e, "id"))),
                None,
            )
            .await;
        match r {
            Ok(_) => summary.deleted.push(format!("volume type {name}")),
            // Cinder refuses to delete its default type.
            Err(e) if e.status() == Some(400) => summary.notes.push(format!(
                "volume type \"{name}\" cannot be deleted (Cinder's default type) and stays"
            )),
            Err(source) => {
                return Err(SeedError::Api {
                    what: format!("delete volume type \"{name}\""),
                    source,
                });
            }
        }
    }
    for want in types {
        let found = existing
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(&want.name));
        match found {
            Some(e) => {
                let id = str_of(e, "id");
                let mut changed = false;
                let desc = want.description.clone().unwrap_or_default();
                if str_of(e, "description") != desc {
                    client
                        .request_json(
                            "block-storage",
                            Method::PUT,
                            &format!("/types/{}", enc(&id)),
                            Some(&json!({ "volume_type": { "description": desc } })),
                        )
                        .await
                        .map_err(api(format!("update volume type \"{}\"", want.name)))?;
                    changed = true;
                }
                changed |= sync_type_specs(client, &id, want, e).await?;
                if changed {
                    summary.updated.push(format!("volume type {}", want.name));
                } else {
                    summary.kept += 1;
                }
            }
            None => {
                let mut t = json!({
                    "name": want.name, "os-volume-type-access:is_public": true,
                    "extra_specs": want.extra_specs,
                });
                if let Some(d) = &want.description {
                    t["description"] = json!(d);
                }
                client
                    .request_json(
                        "block-storage",
                        Method::POST,
                        "/types",
                        Some(&json!({ "volume_type": t })),
                    )
                    .await
                    .map_err(api(format!("create volume type \"{}\"", want.name)))?;
                summary.created.push(format!("volume type {}", want.name));
            }
        }
    }
    Ok(())
}

async fn sync_type_specs(
    client: &Client,
    id: &str,
    want: &VolumeTypeDef,
    existing: &Value,
) -> Result<bool, SeedError> {
    let path = format!("/types/{}/extra_specs", enc(id));
    let what = format!("volume type \"{}\"", want.name);
    set_extra_specs(
        client,
        "block-storage",
        &path,
        existing,
        &want.extra_specs,
        &what,
    )
    .await
}
