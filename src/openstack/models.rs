//! Typed models of the API objects the probes read. Every model keeps the fields it does not
//! name in `extra` (for images: the arbitrary top-level properties, as text in the compact
//! [`ImageProperties`]), so nothing is lost.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

fn string_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<IndexMap<String, Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, s)
        })
        .collect())
}

/// A present string field whose `null` becomes `""`, so that `None` means "absent".
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// A Nova flavor. `extra_specs` is filled either inline (microversion ≥ 2.61) or by a separate
/// `os-extra_specs` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    /// Flavor id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Flavor name.
    #[serde(default)]
    pub name: String,
    /// Number of vCPUs.
    #[serde(default)]
    pub vcpus: u64,
    /// RAM in MiB.
    #[serde(default)]
    pub ram: u64,
    /// Root disk in GiB.
    #[serde(default)]
    pub disk: u64,
    /// Extra specs (string values).
    #[serde(default, deserialize_with = "string_map")]
    pub extra_specs: BTreeMap<String, String>,
    /// Every other field of the API object.
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

/// A Glance image. Glance puts custom properties at the top level, so they land in
/// `properties` together with standard keys such as `architecture` and `os_hash_algo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Image id.
    pub id: String,
    /// Name (Glance allows none).
    #[serde(default)]
    pub name: Option<String>,
    /// `queued`, `active`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// `public`, `community`, `shared`, `private`.
    #[serde(default)]
    pub visibility: Option<String>,
    /// `os_hidden`.
    #[serde(default)]
    pub os_hidden: bool,
    /// Registration time (`YYYY-MM-DDTHH:MM:SSZ`).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Size in bytes (null for images without data).
    #[serde(default)]
    pub size: Option<u64>,
    /// Minimum disk in GiB.
    #[serde(default)]
    pub min_disk: Option<u64>,
    /// Minimum RAM in MiB.
    #[serde(default)]
    pub min_ram: Option<u64>,
    /// Every other key, including all custom properties.
    #[serde(flatten)]
    pub properties: ImageProperties,
}

impl Image {
    /// A property as a string (`None` when absent or null; numbers and booleans as text).
    pub fn property(&self, key: &str) -> Option<String> {
        self.property_text(key).map(str::to_string)
    }

    /// Like [`Image::property`], borrowed: for rules that look at thousands of images.
    pub fn property_text(&self, key: &str) -> Option<&str> {
        self.properties.get(key).flatten()
    }
}

/// The keys of an image other than its named fields, in the order the API sent them, each with
/// its value as text: a string as it is, a number, boolean, list or object as its JSON text,
/// `None` for JSON `null`. Thousands of images repeat the same keys and mostly the same values,
/// so short texts are shared ([`shared_text`]) and each image keeps one exactly sized slice:
/// about a quarter of the memory of a JSON map per image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageProperties {
    entries: Box<[PropertyEntry]>,
}

/// One key of [`ImageProperties`] with its value as text (`None`: JSON `null`).
type PropertyEntry = (Arc<str>, Option<Arc<str>>);

impl ImageProperties {
    /// The value of `key`: `None` when absent, `Some(None)` when null.
    pub fn get(&self, key: &str) -> Option<Option<&str>> {
        self.entries
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.as_deref())
    }

    /// Whether the image carries `key` (even as null).
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys and values in the order the API sent them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.entries.iter().map(|(k, v)| (&**k, v.as_deref()))
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for ImageProperties {
    /// Keeps the last value of a repeated key at the place of its first appearance, as a JSON
    /// map does.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut entries: Vec<PropertyEntry> = Vec::new();
        for (key, value) in iter {
            let text = match value {
                Value::Null => None,
                Value::String(s) => Some(shared_text(&s)),
                other => Some(shared_text(&other.to_string())),
            };
            let key = key.as_ref();
            match entries.iter_mut().find(|(k, _)| &**k == key) {
                Some(entry) => entry.1 = text,
                None => entries.push((shared_text(key), text)),
            }
        }
        ImageProperties {
            entries: entries.into_boxed_slice(),
        }
    }
}

impl Serialize for ImageProperties {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for ImageProperties {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = ImageProperties;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of image properties")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ImageProperties, A::Error> {
                let mut entries: Vec<(String, Value)> = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(Entries)
    }
}

/// Texts no longer than this are shared by [`shared_text`].
const SHARED_TEXT_MAX_LEN: usize = 64;
/// At most this many distinct texts are remembered by [`shared_text`] (a bound on its memory
/// whatever a cloud sends); later new texts are simply not shared.
const SHARED_TEXT_MAX_COUNT: usize = 4096;

/// `text` as a shared string: the same allocation for every equal short text this process has
/// seen (property keys such as `os_distro`, values such as `x86_64`), a new one otherwise.
pub fn shared_text(text: &str) -> Arc<str> {
    static TEXTS: LazyLock<Mutex<HashSet<Arc<str>>>> = LazyLock::new(Default::default);
    if text.len() > SHARED_TEXT_MAX_LEN {
        return Arc::from(text);
    }
    let mut texts = TEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = texts.get(text) {
        return known.clone();
    }
    let fresh: Arc<str> = Arc::from(text);
    if texts.len() < SHARED_TEXT_MAX_COUNT {
        texts.insert(fresh.clone());
    }
    fresh
}

/// A Cinder volume type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeType {
    /// Type id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description: `None` only when the answer lacks the key (Cinder always sends it), `Some("")`
    /// when it is null ("no description").
    #[serde(default, deserialize_with = "null_as_empty")]
    pub description: Option<String>,
    /// Extra specs (often hidden from non-admins).
    #[serde(default, deserialize_with = "string_map")]
    pub extra_specs: BTreeMap<String, String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

/// A role in the current token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Role id.
    #[serde(default)]
    pub id: String,
    /// Role name.
    pub name: String,
}

/// A Neutron default security group rule template (`/v2.0/default-security-group-rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefaultSecurityGroupRule {
    /// Rule id.
    #[serde(default)]
    pub id: String,
    /// `ingress` or `egress`.
    #[serde(default)]
    pub direction: String,
    /// `IPv4` or `IPv6`.
    #[serde(default)]
    pub ethertype: String,
    /// `PARENT` for "the same group".
    #[serde(default)]
    pub remote_group_id: Option<String>,
    /// CIDR or none.
    #[serde(default)]
    pub remote_ip_prefix: Option<String>,
    /// Used for the default security group.
    #[serde(default)]
    pub used_in_default_sg: bool,
    /// Used for other new security groups.
    #[serde(default)]
    pub used_in_non_default_sg: bool,
    /// Every other field.
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(v: Value) -> Image {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn image_properties_keep_every_other_key_as_text() {
        let i = image(json!({
            "id": "a", "name": "Debian 12", "visibility": "public", "min_disk": 4,
            "architecture": "x86_64", "hotfix_hours": 72, "hw_qemu_guest_agent": true,
            "tags": ["x", "y"], "meta": {"b": 1, "a": 2}, "provided_until": null,
        }));
        assert_eq!(i.name.as_deref(), Some("Debian 12"));
        assert_eq!(i.min_disk, Some(4));
        assert_eq!(i.property("architecture").as_deref(), Some("x86_64"));
        assert_eq!(i.property("hotfix_hours").as_deref(), Some("72"));
        assert_eq!(i.property("hw_qemu_guest_agent").as_deref(), Some("true"));
        assert_eq!(i.property("tags").as_deref(), Some(r#"["x","y"]"#));
        // Objects keep the API's key order (as serde_json's `preserve_order` map did).
        assert_eq!(i.property("meta").as_deref(), Some(r#"{"b":1,"a":2}"#));
        assert_eq!(i.property("provided_until"), None);
        assert!(i.properties.contains_key("provided_until"));
        assert!(!i.properties.contains_key("os_distro"));
        assert!(
            !i.properties.contains_key("name"),
            "named fields are not properties"
        );
        let keys: Vec<&str> = i.properties.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "architecture",
                "hotfix_hours",
                "hw_qemu_guest_agent",
                "tags",
                "meta",
                "provided_until"
            ]
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_at_its_first_place() {
        let props: ImageProperties = [
            ("os_distro", json!("debian")),
            ("os_version", json!("12")),
            ("os_distro", json!("ubuntu")),
        ]
        .into_iter()
        .collect();
        assert_eq!(props.len(), 2);
        assert_eq!(
            props.iter().collect::<Vec<_>>(),
            [("os_distro", Some("ubuntu")), ("os_version", Some("12"))]
        );
    }

    #[test]
    fn image_properties_round_trip_through_json() {
        let i = image(json!({"id": "a", "os_distro": "debian", "provided_until": null}));
        let back = serde_json::to_value(&i).unwrap();
        assert_eq!(back["os_distro"], "debian");
        assert!(back["provided_until"].is_null());
        assert_eq!(image(back), i);
    }

    #[test]
    fn short_texts_are_shared_long_ones_are_not() {
        let a = image(json!({"id": "a", "architecture": "x86_64"}));
        let b = image(json!({"id": "b", "architecture": "x86_64"}));
        let value = |i: &Image| i.properties.entries[0].1.clone().unwrap();
        assert!(Arc::ptr_eq(&value(&a), &value(&b)));
        assert!(Arc::ptr_eq(
            &a.properties.entries[0].0,
            &b.properties.entries[0].0
        ));
        let long = "x".repeat(SHARED_TEXT_MAX_LEN + 1);
        assert!(!Arc::ptr_eq(&shared_text(&long), &shared_text(&long)));
        assert_eq!(&*shared_text(&long), long);
    }
}
