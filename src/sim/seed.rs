//! The seeder: makes a real OpenStack cloud hold what a simulator [`Fixture`] describes, so one
//! fixture serves both the simulator and the real test bed (`testbed/openstack/`).
//!
//! [`seed`] synchronises, as an admin, the cloud's flavors (with extra specs and access for
//! private flavors), images (properties, visibility, `os_hidden`, a small payload) and volume
//! types (descriptions and extra specs) with the fixture: objects that already match are kept,
//! differing ones are updated or replaced, and objects the fixture does not name are deleted.
//! Everything else in a fixture (catalog, faults, Neutron and Barbican behaviour, S3) describes
//! how a service behaves and cannot be seeded; [`SeedSummary::notes`] says what was left out.

//!
//! Files: this one holds the entry point [`seed`], its options, summary and errors; `command`
//! the `scs-check seed` command with its safety checks and the deletion plan; `flavors`,
//! `images` and `volume_types` synchronise one kind of object each.

mod command;
mod flavors;
mod images;
mod volume_types;

pub use command::{Safety, command, is_loopback_url, planned_deletions};

use super::fixture::{Fixture, resolve_date};
use crate::openstack::{Client, OpenStackError};
use indexmap::IndexMap;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::fmt;

/// The bytes uploaded as the data of every seeded image that has data.
pub const IMAGE_PAYLOAD: &[u8] = b"scs-check test bed image (not bootable)\n";

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

/// Maps a client error to a [`SeedError`] naming `what` was being done.
fn api(what: impl Into<String>) -> impl FnOnce(OpenStackError) -> SeedError {
    let what = what.into();
    move |source| SeedError::Api { what, source }
}

/// A path segment percent-encoded (unreserved characters and `:` kept).
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

/// A field of an object as text (`""` when missing or null).
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
    flavors::seed_flavors(
        client,
        &fixture.flavors,
        project_id.as_deref(),
        &mut summary,
    )
    .await?;
    images::seed_images(client, &fixture.images, project_id.as_deref(), &mut summary).await?;
    volume_types::seed_volume_types(client, &fixture.volume_types, &mut summary).await?;
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

/// The id of the project named (or with the id) `name_or_id`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Simulator;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(enc("scs:cpu-type"), "scs:cpu-type");
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
    }

    /// The simulator serves fixtures read-only, so seeding it fails at the first write with
    /// an error that names the object and the endpoint.
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
