//! The seeder: makes a real OpenStack cloud hold what a simulator [`Fixture`] describes, so one
//! fixture serves both the simulator and the real test bed (`testbed/openstack/`).
//!
//! [`seed`] synchronises, as an admin, the cloud's flavors (with extra specs and access for
//! private flavors), images (properties, visibility, `os_hidden`, a small payload) and volume
//! types (descriptions and extra specs) with the fixture: objects that already match are kept,
//! differing ones are updated or replaced, and objects the fixture does not name are deleted.
//! Everything else in a fixture (catalog, faults, Neutron and Barbican behaviour, S3) describes
//! how a service behaves and cannot be seeded; [`SeedSummary::notes`] says what was left out.

use super::fixture::{Fixture, FlavorDef, ImageDef, VolumeTypeDef, resolve_date};
use crate::openstack::{Client, OpenStackError};
use indexmap::IndexMap;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::fmt;

/// The bytes uploaded as the data of every seeded image that has data.
pub const IMAGE_PAYLOAD: &[u8] = b"scs-check test bed image (not bootable)\n";

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

/// Why seeding failed: one line naming the object and the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// An API call failed.
    #[error("{what}: {source}")]
    Api {
        /// What was being done (e.g. `create flavor "SCS-2V-4"`).
        what: String,
        /// The client error (names service, method, path, status).
        source: OpenStackError,
    },
    /// The image upload failed outside the client (transport or status).
    #[error("upload data of image \"{image}\" to {url}: {message}")]
    Upload {
        /// Image name.
        image: String,
        /// Upload URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The cloud answered something the seeder cannot use.
    #[error("{0}")]
    Unexpected(String),
    /// The fixture cannot be read.
    #[error(transparent)]
    Fixture(#[from] super::FixtureError),
    /// The safety checks refuse to seed this cloud (not a test bed, or no `--yes`).
    #[error("{0}")]
    Refused(String),
    /// The cloud configuration is unusable or the cloud refuses the login.
    #[error("cannot connect to the cloud: {0}")]
    Connect(OpenStackError),
}

/// Options of [`seed`].
#[derive(Debug, Clone, Default)]
pub struct SeedOptions {
    /// Project (name or id) that gets access to private flavors and owns non-public images.
    pub project: Option<String>,
}

/// What [`seed`] did, per kind of object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedSummary {
    /// Objects created.
    pub created: Vec<String>,
    /// Objects changed in place.
    pub updated: Vec<String>,
    /// Objects deleted.
    pub deleted: Vec<String>,
    /// Objects already as described.
    pub kept: usize,
    /// Parts of the fixture that cannot be reproduced on a real cloud.
    pub notes: Vec<String>,
}

impl fmt::Display for SeedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} deleted, {} unchanged",
            self.created.len(),
            self.updated.len(),
            self.deleted.len(),
            self.kept
        )
    }
}

fn api(what: impl Into<String>) -> impl FnOnce(OpenStackError) -> SeedError {
    let what = what.into();
    move |source| SeedError::Api { what, source }
}

fn enc(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn str_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A fixture value as Glance stores it (properties are strings).
fn glance_string(v: &Value, now: chrono::DateTime<chrono::Utc>) -> String {
    match v {
        Value::String(s) => resolve_date(s, now),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The safety switches of `scs-check seed`: seeding deletes every flavor, image and volume
/// type the fixture does not name, so it acts only on what is clearly a test bed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Safety {
    /// `--yes`: the user confirmed the deletions.
    pub yes: bool,
    /// `--force`: seed even a cloud whose Keystone is not on a loopback address.
    pub force: bool,
    /// `--dry-run`: only say what would be deleted.
    pub dry_run: bool,
}

/// Whether `auth_url` points at this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_url(auth_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(auth_url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// `scs-check seed FIXTURE --os-cloud CLOUD --yes`: loads the fixture (a file, or `compliant`
/// for the built-in one), refuses a cloud whose Keystone is not on a loopback address (unless
/// `force`), logs in to `cloud` from clouds.yaml (or `OS_CLOUD`), lists what seeding would
/// delete and prints it; then seeds only with `yes` and not `dry_run`. Prints one line per
/// change and a summary through `println` (the command line passes its pipe-safe writer; the
/// simulator does not depend on the command line).
pub async fn command(
    fixture: &str,
    cloud: Option<&str>,
    project: Option<&str>,
    safety: Safety,
    println: fn(&str),
) -> Result<SeedSummary, SeedError> {
    let loaded = if !std::path::Path::new(fixture).exists() && fixture == "compliant" {
        Fixture::from_yaml(
            include_str!("../../fixtures/clouds/compliant.yaml"),
            "<built-in compliant cloud>",
        )?
    } else {
        Fixture::load(fixture)?
    };
    let config = crate::openstack::load_cloud(cloud)
        .map_err(|e| SeedError::Connect(OpenStackError::Config(e)))?;
    let auth_url = config.auth.auth_url.clone();
    if !safety.force && !is_loopback_url(&auth_url) {
        return Err(SeedError::Refused(format!(
            "seed deletes every flavor, image and volume type the fixture does not name; \
             {auth_url} is not a loopback address, so this does not look like a test bed \
             (add --force if it is one)"
        )));
    }
    let client = Client::connect(config).await.map_err(SeedError::Connect)?;
    let doomed = planned_deletions(&client, &loaded).await?;
    if doomed.is_empty() {
        println(&format!("{auth_url}: nothing to delete"));
    } else {
        println(&format!(
            "{auth_url}: seeding deletes {} the fixture \"{}\" does not name:",
            crate::terminal::count(doomed.len(), "object"),
            loaded.name
        ));
        for item in &doomed {
            println(&format!("  {item}"));
        }
    }
    if safety.dry_run {
        println("dry run: nothing was changed");
        return Ok(SeedSummary::default());
    }
    if !safety.yes && !doomed.is_empty() {
        return Err(SeedError::Refused(format!(
            "not seeding {auth_url} without --yes (it deletes the {} listed above)",
            crate::terminal::count(doomed.len(), "object")
        )));
    }
    if !safety.yes {
        return Err(SeedError::Refused(format!(
            "not seeding {auth_url} without --yes"
        )));
    }
    let options = SeedOptions {
        project: project.map(str::to_string),
    };
    let summary = seed(&client, &loaded, &options).await?;
    for (verb, list) in [
        ("deleted", &summary.deleted),
        ("created", &summary.created),
        ("updated", &summary.updated),
    ] {
        for item in list {
            println(&format!("{verb} {item}"));
        }
    }
    for note in &summary.notes {
        println(&format!("note: {note}"));
    }
    println(&format!("seeded fixture \"{}\": {summary}", loaded.name));
    Ok(summary)
}

/// What [`seed`] would delete on this cloud (it only lists): flavors and volume types the
/// fixture does not name, and images that match no image of the fixture.
pub async fn planned_deletions(
    client: &Client,
    fixture: &Fixture,
) -> Result<Vec<String>, SeedError> {
    let mut out = Vec::new();
    let flavors = client
        .list("compute", "/flavors/detail?is_public=None", "flavors")
        .await
        .map_err(api("list flavors"))?;
    let wanted: HashSet<&str> = fixture.flavors.iter().map(|f| f.name.as_str()).collect();
    for e in &flavors {
        let name = str_of(e, "name");
        if !wanted.contains(name.as_str()) {
            out.push(format!("flavor {name}"));
        }
    }
    let existing = list_all_images(client).await?;
    let used = match_images(&existing, &fixture.images, chrono::Utc::now());
    for (e, used) in existing.iter().zip(used) {
        if !used {
            out.push(format!("image {}", str_of(e, "name")));
        }
    }
    let listing = client
        .get_json("block-storage", "/types?is_public=None")
        .await
        .map_err(api("list volume types"))?;
    let wanted: HashSet<&str> = fixture
        .volume_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    for e in listing
        .get("volume_types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_of(e, "name");
        if !wanted.contains(name.as_str()) {
            out.push(format!("volume type {name}"));
        }
    }
    Ok(out)
}

/// Every image, hidden ones included.
async fn list_all_images(client: &Client) -> Result<Vec<Value>, SeedError> {
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
fn match_images(
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

/// Makes the cloud behind `client` (an admin) hold the fixture's flavors, images and volume
/// types; see the module documentation.
pub async fn seed(
    client: &Client,
    fixture: &Fixture,
    options: &SeedOptions,
) -> Result<SeedSummary, SeedError> {
    let mut summary = SeedSummary::default();
    let project_id = match &options.project {
        Some(p) => Some(project_id(client, p).await?),
        None => None,
    };
    seed_flavors(
        client,
        &fixture.flavors,
        project_id.as_deref(),
        &mut summary,
    )
    .await?;
    seed_images(client, &fixture.images, project_id.as_deref(), &mut summary).await?;
    seed_volume_types(client, &fixture.volume_types, &mut summary).await?;
    for (cond, note) in [
        (
            !fixture.faults.is_empty(),
            "faults are simulator-only and were not reproduced",
        ),
        (
            fixture.generate.is_some(),
            "generate: bulk content is not seeded",
        ),
        (
            !fixture.resources.volumes.is_empty()
                || !fixture.resources.backups.is_empty()
                || !fixture.resources.secrets.is_empty(),
            "pre-existing resources are not seeded",
        ),
    ] {
        if cond {
            summary.notes.push(note.to_string());
        }
    }
    Ok(summary)
}

async fn project_id(client: &Client, name_or_id: &str) -> Result<String, SeedError> {
    let path = format!("/projects?name={}", enc(name_or_id));
    let v = client
        .get_json("identity", &path)
        .await
        .map_err(api(format!("find project \"{name_or_id}\"")))?;
    if let Some(id) = v
        .get("projects")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|p| p.get("id"))
        .and_then(Value::as_str)
    {
        return Ok(id.to_string());
    }
    let v = client
        .get_json("identity", &format!("/projects/{}", enc(name_or_id)))
        .await
        .map_err(api(format!("find project \"{name_or_id}\"")))?;
    v.pointer("/project/id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| SeedError::Unexpected(format!("no project \"{name_or_id}\"")))
}

// ---- flavors -------------------------------------------------------------------------------

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

async fn seed_flavors(
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

/// Makes the extra specs under `path` (`{"extra_specs": {...}}` in `have`) equal `want`:
/// deletes the keys `want` lacks, then sets the missing or different ones in one request.
/// Shared by flavors (Nova) and volume types (Cinder), whose extra-spec APIs have this shape.
async fn set_extra_specs(
    client: &Client,
    service: &str,
    path: &str,
    have: &Value,
    want: &IndexMap<String, String>,
    what: &str,
) -> Result<bool, SeedError> {
    let have = have
        .get("extra_specs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for key in have.keys() {
        if !want.contains_key(key) {
            client
                .request(
                    service,
                    Method::DELETE,
                    &format!("{path}/{}", enc(key)),
                    None,
                )
                .await
                .map_err(api(format!("delete extra spec {key} of {what}")))?;
            changed = true;
        }
    }
    let missing: Map<String, Value> = want
        .iter()
        .filter(|(k, v)| have.get(*k).and_then(Value::as_str) != Some(v.as_str()))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !missing.is_empty() {
        client
            .request_json(
                service,
                Method::POST,
                path,
                Some(&json!({ "extra_specs": missing })),
            )
            .await
            .map_err(api(format!("set extra specs of {what}")))?;
        changed = true;
    }
    Ok(changed)
}

// ---- images --------------------------------------------------------------------------------

fn wants_data(want: &ImageDef) -> bool {
    want.size.is_some() && want.status != "queued"
}

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

async fn seed_images(
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

// ---- volume types --------------------------------------------------------------------------

async fn seed_volume_types(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Simulator;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(enc("scs:cpu-type"), "scs:cpu-type");
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
    }

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

    /// The simulator serves fixtures read-only, so seeding it fails at the first write with
    /// an error that names the object and the endpoint.
    #[test]
    fn only_loopback_keystones_count_as_test_beds() {
        for url in [
            "http://127.0.0.1:5000/v3",
            "http://127.9.9.9/identity",
            "https://localhost:5000/v3",
            "http://[::1]:5000/v3",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://keystone.example.com:5000/v3",
            "http://10.0.0.1:5000",
            "http://localhost.example.com/",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[tokio::test]
    async fn errors_name_object_and_endpoint() {
        let sim = Simulator::start(Fixture::minimal(), None).await.unwrap();
        let client = Client::connect(sim.cloud_config("c")).await.unwrap();
        let f =
            Fixture::from_yaml("flavors: [{name: SCS-1V-2, vcpus: 1, ram: 2048}]\n", "t").unwrap();
        let err = seed(&client, &f, &SeedOptions::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("create flavor \"SCS-1V-2\": compute POST"),
            "{err}"
        );
        sim.shutdown().await;
    }
}
