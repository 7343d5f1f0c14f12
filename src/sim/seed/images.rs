//! Seeding images: each fixture image matched to an existing one (name, visibility, sizes,
//! properties) or created with its properties and, when it has data, the small payload
//! [`IMAGE_PAYLOAD`](super::IMAGE_PAYLOAD); images that match nothing are deleted.

use super::{IMAGE_PAYLOAD, SeedError, SeedSummary, api, enc, glance_string, str_of};
use crate::openstack::Client;
use crate::sim::fixture::ImageDef;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// Image fields Glance sets or owns itself; anything else on an image is a property.
const GLANCE_CORE: &[&str] = &[
    "id",
    "name",
    "status",
    "visibility",
    "os_hidden",
    "protected",
    "size",
    "virtual_size",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
    "os_hash_algo",
    "os_hash_value",
    "checksum",
    "owner",
    "created_at",
    "updated_at",
    "tags",
    "self",
    "file",
    "schema",
    "direct_url",
    "locations",
    "stores",
];

/// Every image, hidden ones included.
pub(super) async fn list_all_images(client: &Client) -> Result<Vec<Value>, SeedError> {
    let mut existing = client
        .list("image", "/images", "images")
        .await
        .map_err(api("list images"))?;
    existing.extend(
        client
            .list("image", "/images?os_hidden=true", "images")
            .await
            .map_err(api("list hidden images"))?,
    );
    Ok(existing)
}

/// Which existing images a fixture image matches (each used once, in fixture order).
pub(super) fn match_images(
    existing: &[Value],
    images: &[ImageDef],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<bool> {
    let mut used = vec![false; existing.len()];
    for want in images {
        if let Some((i, _)) = existing
            .iter()
            .enumerate()
            .find(|(i, e)| !used[*i] && image_matches(e, want, now))
        {
            used[i] = true;
        }
    }
    used
}

/// Whether the fixture image has data to upload.
fn wants_data(want: &ImageDef) -> bool {
    want.size.is_some() && want.status != "queued"
}

/// Whether an existing image `e` is the fixture image `want` (dates resolved at `now`).
fn image_matches(e: &Value, want: &ImageDef, now: chrono::DateTime<chrono::Utc>) -> bool {
    let expected_status = if wants_data(want) {
        want.status.as_str()
    } else {
        "queued"
    };
    if str_of(e, "name") != want.name
        || str_of(e, "status") != expected_status
        || str_of(e, "visibility") != want.visibility
        || e.get("os_hidden").and_then(Value::as_bool).unwrap_or(false) != want.os_hidden
        || e.get("min_disk").and_then(Value::as_u64) != Some(want.min_disk)
        || e.get("min_ram").and_then(Value::as_u64) != Some(want.min_ram)
    {
        return false;
    }
    let props_ok = want.properties.iter().all(|(k, v)| {
        e.get(k)
            .is_some_and(|have| *have == json!(glance_string(v, now)))
    });
    let no_extra = e.as_object().is_some_and(|o| {
        o.keys().all(|k| {
            GLANCE_CORE.contains(&k.as_str())
                || k.starts_with("os_glance")
                || want.properties.contains_key(k)
        })
    });
    props_ok && no_extra
}

/// Makes the cloud's images the fixture's; images that are not public are created owned by
/// `project` (an id) when given.
pub(super) async fn seed_images(
    client: &Client,
    images: &[ImageDef],
    project: Option<&str>,
    summary: &mut SeedSummary,
) -> Result<(), SeedError> {
    let now = chrono::Utc::now();
    let existing = list_all_images(client).await?;
    let mut used = vec![false; existing.len()];
    let mut to_create = vec![];
    for want in images {
        let hit = existing
            .iter()
            .enumerate()
            .find(|(i, e)| !used[*i] && image_matches(e, want, now));
        match hit {
            Some((i, _)) => {
                used[i] = true;
                summary.kept += 1;
            }
            None => to_create.push(want),
        }
        if want.os_hash_algo.as_deref().is_some_and(|a| a != "sha512") {
            summary.notes.push(format!(
                "image \"{}\": Glance computes os_hash_algo itself (sha512), not {}",
                want.name,
                want.os_hash_algo.as_deref().unwrap_or_default()
            ));
        }
        if want.created_at.is_some() {
            summary.notes.push(format!(
                "image \"{}\": Glance sets created_at to the upload time, not {}",
                want.name,
                want.created_at.as_deref().unwrap_or_default()
            ));
        }
    }
    for (i, e) in existing.iter().enumerate() {
        if !used[i] {
            let name = str_of(e, "name");
            let id = str_of(e, "id");
            if e.get("protected").and_then(Value::as_bool) == Some(true) {
                client
                    .request_json(
                        "image",
                        Method::PATCH,
                        &format!("/images/{}", enc(&id)),
                        Some(&json!([{"op": "replace", "path": "/protected", "value": false}])),
                    )
                    .await
                    .map_err(api(format!("unprotect image \"{name}\"")))?;
            }
            client
                .request(
                    "image",
                    Method::DELETE,
                    &format!("/images/{}", enc(&id)),
                    None,
                )
                .await
                .map_err(api(format!("delete image \"{name}\"")))?;
            summary.deleted.push(format!("image {name}"));
        }
    }
    for want in to_create {
        create_image(client, want, project, now).await?;
        summary.created.push(format!("image {}", want.name));
    }
    Ok(())
}

async fn create_image(
    client: &Client,
    want: &ImageDef,
    project: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), SeedError> {
    let what = format!("create image \"{}\"", want.name);
    let mut body = Map::new();
    body.insert("name".into(), json!(want.name));
    body.insert("visibility".into(), json!(want.visibility));
    body.insert("os_hidden".into(), json!(want.os_hidden));
    body.insert("min_disk".into(), json!(want.min_disk));
    body.insert("min_ram".into(), json!(want.min_ram));
    body.insert("disk_format".into(), json!("qcow2"));
    body.insert("container_format".into(), json!("bare"));
    if let Some(id) = &want.id {
        body.insert("id".into(), json!(id));
    }
    if let (true, Some(p)) = (want.visibility != "public", project) {
        body.insert("owner".into(), json!(p));
    }
    for (k, v) in &want.properties {
        body.insert(k.clone(), json!(glance_string(v, now)));
    }
    let created = client
        .request_json("image", Method::POST, "/images", Some(&Value::Object(body)))
        .await
        .map_err(api(what.clone()))?;
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| SeedError::Unexpected(format!("{what}: answer has no id")))?
        .to_string();
    if wants_data(want) {
        upload(client, &want.name, &id).await?;
        if want.status == "deactivated" {
            client
                .request(
                    "image",
                    Method::POST,
                    &format!("/images/{}/actions/deactivate", enc(&id)),
                    None,
                )
                .await
                .map_err(api(format!("deactivate image \"{}\"", want.name)))?;
        }
    }
    Ok(())
}

/// Uploads [`IMAGE_PAYLOAD`] (the client sends JSON bodies only, so this is a plain request
/// with the client's token).
async fn upload(client: &Client, name: &str, id: &str) -> Result<(), SeedError> {
    let base = client
        .endpoint("image")
        .await
        .map_err(api(format!("find the image endpoint for \"{name}\"")))?;
    let url = format!("{base}/images/{}/file", enc(id));
    let err = |message: String| SeedError::Upload {
        image: name.to_string(),
        url: url.clone(),
        message,
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| err(e.to_string()))?;
    client.record_request("image");
    let resp = http
        .put(&url)
        .header("X-Auth-Token", client.token().value.expose())
        .header("Content-Type", "application/octet-stream")
        .body(IMAGE_PAYLOAD.to_vec())
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.bytes().await.unwrap_or_default();
        return Err(err(format!(
            "HTTP {}: {}",
            status.as_u16(),
            crate::openstack::client::api_error_message(&body)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fixture::Fixture;

    #[test]
    fn image_matching_looks_at_properties_and_extras() {
        let now = chrono::Utc::now();
        let f = Fixture::from_yaml(
            "images:\n  - name: A\n    min_disk: 8\n    properties: {os_distro: ubuntu, \
             image_build_date: \"@today\"}\n",
            "t",
        )
        .unwrap();
        let want = &f.images[0];
        let today = now.format("%Y-%m-%d").to_string();
        let mut e = json!({"name": "A", "status": "active", "visibility": "public",
            "os_hidden": false, "min_disk": 8, "min_ram": 0, "os_distro": "ubuntu",
            "image_build_date": today, "os_glance_importing_to_stores": "", "size": 40});
        assert!(image_matches(&e, want, now));
        e["os_distro"] = json!("debian");
        assert!(!image_matches(&e, want, now));
        e["os_distro"] = json!("ubuntu");
        e["extra"] = json!("x");
        assert!(
            !image_matches(&e, want, now),
            "unknown property must not match"
        );
    }
}
