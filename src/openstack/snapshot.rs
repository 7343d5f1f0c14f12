//! One cloud snapshot per run: flavors (with extra specs), images, volume types, catalog and
//! roles are each fetched once and shared by every probe, even when probes ask concurrently.
//! A failed listing is remembered too, so every probe depending on it sees the same error;
//! only a listing stopped by the asking probe's own budget or interruption is not remembered
//! (the next probe fetches it again). A probe waiting for a listing another probe is fetching
//! waits only within its own [`Budget`].
//!
//! Images are decoded page by page as they arrive, without the Glance fields no probe reads
//! ([`UNREAD_IMAGE_FIELDS`]), so a cloud with thousands of images costs little memory.

use super::OpenStackError;
use super::catalog::Catalog;
use super::client::{Budget, Client};
use super::models::{Flavor, Image, Role, VolumeType};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Glance fields of an image that no probe reads: links, where the data lies, the data's
/// checksums and bookkeeping. Dropped from each image as its page arrives; every other field,
/// above all every custom property, is kept.
pub const UNREAD_IMAGE_FIELDS: [&str; 14] = [
    "self",
    "file",
    "schema",
    "locations",
    "direct_url",
    "checksum",
    "os_hash_value",
    "owner",
    "tags",
    "updated_at",
    "virtual_size",
    "protected",
    "container_format",
    "disk_format",
];

/// A flavor as listed, and whether its extra specs came inline.
struct ListedFlavor(Flavor, bool);

impl<'de> serde::Deserialize<'de> for ListedFlavor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Flavor::deserialize_listed(d).map(|(flavor, inline)| ListedFlavor(flavor, inline))
    }
}

/// An image as listed: decoded without the [`UNREAD_IMAGE_FIELDS`].
struct ListedImage(Image);

impl<'de> serde::Deserialize<'de> for ListedImage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Image::deserialize_without(d, &UNREAD_IMAGE_FIELDS).map(ListedImage)
    }
}

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

/// The shared value of `cell`, filled by `init` unless filled already; waits within the current
/// [`Budget`] only.
async fn shared<T, F, Fut>(
    cell: &OnceCell<Shared<T>>,
    service: &str,
    path: &str,
    init: F,
) -> Shared<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, OpenStackError>>,
{
    let filled = Budget::current()
        .guard(service, "GET", path, async {
            cell.get_or_try_init(|| async {
                match init().await {
                    // Says nothing about the cloud: let the next probe try.
                    Err(e) if e.is_stopped() => Err(e),
                    r => Ok(r.map(Arc::new)),
                }
            })
            .await
            .cloned()
        })
        .await;
    filled.and_then(|r| r)
}

/// Image lists at least this long are freed on a thread of their own when the snapshot goes.
const FREE_APART_FROM: usize = 1000;

impl Drop for Snapshot {
    /// Frees a large image list on a short-lived thread of its own: thousands of images, each
    /// with its list of properties, took about 10 ms to free at the end of a run, after the
    /// report was written, and the program (or the next subject of a batch) need not wait for
    /// that. When the thread cannot be started the list is freed here as before.
    fn drop(&mut self) {
        if let Some(Ok(images)) = self.images.take()
            && images.len() >= FREE_APART_FROM
            && Arc::strong_count(&images) == 1
        {
            let _ = std::thread::Builder::new()
                .name("free-images".into())
                .spawn(move || drop(images));
        }
    }
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
        shared(&self.flavors, "compute", "/flavors/detail", || {
            self.fetch_flavors()
        })
        .await
    }

    async fn fetch_flavors(&self) -> Result<Vec<Flavor>, OpenStackError> {
        let path = "/flavors/detail?is_public=None";
        let mut listed: Vec<ListedFlavor> = vec![];
        self.client
            .list_pages("compute", path, "flavors", |page| {
                listed.extend(page);
                Ok(())
            })
            .await?;
        let mut out = Vec::with_capacity(listed.len());
        for ListedFlavor(mut f, inline) in listed {
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

    /// All images (`member_status=all`), every property kept except [`UNREAD_IMAGE_FIELDS`];
    /// probes filter by visibility.
    pub async fn images(&self) -> Shared<Vec<Image>> {
        let path = "/images?member_status=all";
        shared(&self.images, "image", path, || async {
            let mut images: Vec<Image> = vec![];
            self.client
                .list_pages("image", path, "images", |page: Vec<ListedImage>| {
                    images.extend(page.into_iter().map(|listed| listed.0));
                    Ok(())
                })
                .await?;
            images.shrink_to_fit();
            Ok(images)
        })
        .await
    }

    /// All volume types.
    pub async fn volume_types(&self) -> Shared<Vec<VolumeType>> {
        let path = "/types";
        shared(&self.volume_types, "block-storage", path, || async {
            let raw = self
                .client
                .list("block-storage", path, "volume_types")
                .await?;
            decode("block-storage", path, raw)
        })
        .await
    }

    /// Request counts of the client, per service.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.client.request_counts()
    }
}
