//! One cloud snapshot per run: flavors (with extra specs), images, volume types, catalog and
//! roles are each fetched once and shared by every probe, even when probes ask concurrently.
//! A failed listing is remembered too, so every probe depending on it sees the same error.

use super::OpenStackError;
use super::catalog::Catalog;
use super::client::Client;
use super::models::{Flavor, Image, Role, VolumeType};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The result of one shared listing.
pub type Shared<T> = Result<Arc<T>, OpenStackError>;

/// The shared, lazily filled view of one cloud. Put it in an `Arc` and hand it to all probes.
pub struct Snapshot {
    client: Client,
    flavors: OnceCell<Shared<Vec<Flavor>>>,
    images: OnceCell<Shared<Vec<Image>>>,
    volume_types: OnceCell<Shared<Vec<VolumeType>>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("client", &self.client)
            .field(
                "flavors",
                &self.flavors.get().map(|r| r.as_ref().map(|v| v.len())),
            )
            .field(
                "images",
                &self.images.get().map(|r| r.as_ref().map(|v| v.len())),
            )
            .finish()
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    service: &str,
    path: &str,
    items: Vec<Value>,
) -> Result<Vec<T>, OpenStackError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v).map_err(|e| OpenStackError::Decode {
                service: service.into(),
                method: "GET".into(),
                path: path.into(),
                message: format!("item {i}: {e}"),
            })
        })
        .collect()
}

impl Snapshot {
    /// A snapshot over a connected client; nothing is fetched yet.
    pub fn new(client: Client) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            client,
            flavors: OnceCell::new(),
            images: OnceCell::new(),
            volume_types: OnceCell::new(),
        })
    }

    /// The client, for probes that need more than the shared listings.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The catalog of the token (no request).
    pub async fn catalog(&self) -> Shared<Catalog> {
        Ok(Arc::new(self.client.catalog().clone()))
    }

    /// The roles of the token (no request).
    pub async fn roles(&self) -> Shared<Vec<Role>> {
        Ok(Arc::new(self.client.token().roles.clone()))
    }

    /// All flavors visible to the project, with extra specs: inline with microversion 2.61,
    /// otherwise one `os-extra_specs` request per flavor that came without them.
    pub async fn flavors(&self) -> Shared<Vec<Flavor>> {
        self.flavors
            .get_or_init(|| async { self.fetch_flavors().await.map(Arc::new) })
            .await
            .clone()
    }

    async fn fetch_flavors(&self) -> Result<Vec<Flavor>, OpenStackError> {
        let path = "/flavors/detail?is_public=None";
        let raw = self.client.list("compute", path, "flavors").await?;
        let mut out = Vec::with_capacity(raw.len());
        for v in raw {
            let inline = v.get("extra_specs").is_some_and(Value::is_object);
            let mut f: Flavor = serde_json::from_value(v).map_err(|e| OpenStackError::Decode {
                service: "compute".into(),
                method: "GET".into(),
                path: path.into(),
                message: format!("flavor: {e}"),
            })?;
            if !inline {
                let specs = self
                    .client
                    .get_json("compute", &format!("/flavors/{}/os-extra_specs", f.id))
                    .await?;
                let Some(m) = specs.get("extra_specs").and_then(Value::as_object) else {
                    return Err(OpenStackError::Decode {
                        service: "compute".into(),
                        method: "GET".into(),
                        path: format!("/flavors/{}/os-extra_specs", f.id),
                        message: format!("flavor {:?}: the answer has no `extra_specs`", f.name),
                    });
                };
                f.extra_specs = m
                    .iter()
                    .map(|(k, v)| {
                        let s = v.as_str().map(str::to_string).unwrap_or(v.to_string());
                        (k.clone(), s)
                    })
                    .collect();
            }
            out.push(f);
        }
        Ok(out)
    }

    /// All images (`member_status=all`), every property kept; probes filter by visibility.
    pub async fn images(&self) -> Shared<Vec<Image>> {
        self.images
            .get_or_init(|| async {
                let path = "/images?member_status=all";
                let raw = self.client.list("image", path, "images").await?;
                decode("image", path, raw).map(Arc::new)
            })
            .await
            .clone()
    }

    /// All volume types.
    pub async fn volume_types(&self) -> Shared<Vec<VolumeType>> {
        self.volume_types
            .get_or_init(|| async {
                let path = "/types";
                let raw = self
                    .client
                    .list("block-storage", path, "volume_types")
                    .await?;
                decode("block-storage", path, raw).map(Arc::new)
            })
            .await
            .clone()
    }

    /// Request counts of the client, per service.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.client.request_counts()
    }
}
