//! Typed models of the API objects the probes read. Every model keeps the fields it does not
//! name in `extra` (for images: the arbitrary top-level properties, as text in the compact
//! [`ImageProperties`]), so nothing is lost.

use indexmap::IndexMap;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

fn string_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<IndexMap<String, Value>> = Option::deserialize(d)?;
    Ok(spec_texts(raw.unwrap_or_default()))
}

/// A present string field whose `null` becomes `""`, so that `None` means "absent".
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

/// A Nova flavor. `extra_specs` is filled either inline (microversion ≥ 2.61) or by a separate
/// `os-extra_specs` request. Decoded by hand ([`Flavor::deserialize_listed`]), straight from
/// the API's text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flavor {
    /// Flavor id.
    pub id: String,
    /// Flavor name.
    pub name: String,
    /// Number of vCPUs.
    pub vcpus: u64,
    /// RAM in MiB.
    pub ram: u64,
    /// Root disk in GiB.
    pub disk: u64,
    /// Extra specs (string values).
    pub extra_specs: BTreeMap<String, String>,
    /// Every other field of the API object.
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

impl Flavor {
    /// Decodes a flavor as its [`Deserialize`] does, and tells whether the object carried its
    /// extra specs inline (an `extra_specs` object). `id` is required and may be a number
    /// (kept as its text); `extra_specs` values become text; a repeated named field is an
    /// error; every other key is kept in `extra`.
    pub fn deserialize_listed<'de, D: Deserializer<'de>>(d: D) -> Result<(Flavor, bool), D::Error> {
        d.deserialize_map(FlavorVisitor)
    }
}

impl<'de> Deserialize<'de> for Flavor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Flavor::deserialize_listed(d).map(|(flavor, _)| flavor)
    }
}

/// Reads a flavor's object (see [`Flavor::deserialize_listed`]).
struct FlavorVisitor;

impl<'de> Visitor<'de> for FlavorVisitor {
    type Value = (Flavor, bool);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a flavor object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(Flavor, bool), A::Error> {
        let mut id: Option<Value> = None;
        let mut name: Option<String> = None;
        let (mut vcpus, mut ram, mut disk) = (None, None, None);
        let mut extra_specs: Option<Option<IndexMap<String, Value>>> = None;
        let mut extra = IndexMap::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match &*key {
                "id" => set_once(&mut id, map.next_value()?, "id")?,
                "name" => set_once(&mut name, map.next_value()?, "name")?,
                "vcpus" => set_once(&mut vcpus, map.next_value::<u64>()?, "vcpus")?,
                "ram" => set_once(&mut ram, map.next_value::<u64>()?, "ram")?,
                "disk" => set_once(&mut disk, map.next_value::<u64>()?, "disk")?,
                "extra_specs" => set_once(&mut extra_specs, map.next_value()?, "extra_specs")?,
                other => {
                    extra.insert(other.to_string(), map.next_value::<Value>()?);
                }
            }
        }
        let id = match id.ok_or_else(|| de::Error::missing_field("id"))? {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let inline = matches!(extra_specs, Some(Some(_)));
        let flavor = Flavor {
            id,
            name: name.unwrap_or_default(),
            vcpus: vcpus.unwrap_or_default(),
            ram: ram.unwrap_or_default(),
            disk: disk.unwrap_or_default(),
            extra_specs: spec_texts(extra_specs.flatten().unwrap_or_default()),
            extra,
        };
        Ok((flavor, inline))
    }
}

/// Extra specs with every value as text (a string as it is, anything else as its JSON text).
fn spec_texts(raw: IndexMap<String, Value>) -> BTreeMap<String, String> {
    raw.into_iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, s)
        })
        .collect()
}

/// A Glance image. Glance puts custom properties at the top level, so they land in
/// `properties` together with standard keys such as `architecture` and `os_hash_algo`.
/// Decoded by hand ([`Image::deserialize_without`]): straight from the API's text, without a
/// JSON tree per image, for clouds with thousands of images.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Decodes an image as its [`Deserialize`] does, except that the top-level keys in `skip`
    /// are passed over unread (never kept as properties). The named fields take the types
    /// they have here (`id` is required; a repeated named field is an error); every other key
    /// becomes a property, its value as text ([`ImageProperties`]).
    pub fn deserialize_without<'de, D: Deserializer<'de>>(
        d: D,
        skip: &[&str],
    ) -> Result<Image, D::Error> {
        d.deserialize_map(ImageVisitor { skip })
    }

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

/// Collects the entries of an [`ImageProperties`]: keeps the last value of a repeated key at
/// the place of its first appearance, as a JSON map does.
#[derive(Default)]
struct PropertiesBuilder {
    entries: Vec<PropertyEntry>,
}

impl PropertiesBuilder {
    fn push(&mut self, key: &str, text: Option<Arc<str>>) {
        match self.entries.iter_mut().find(|(k, _)| &**k == key) {
            Some(entry) => entry.1 = text,
            None => self.entries.push((shared_text(key), text)),
        }
    }

    fn build(self) -> ImageProperties {
        ImageProperties {
            entries: self.entries.into_boxed_slice(),
        }
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for ImageProperties {
    /// Keeps the last value of a repeated key at the place of its first appearance, as a JSON
    /// map does.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut builder = PropertiesBuilder::default();
        for (key, value) in iter {
            let text = match value {
                Value::Null => None,
                Value::String(s) => Some(shared_text(&s)),
                other => Some(shared_text(&other.to_string())),
            };
            builder.push(key.as_ref(), text);
        }
        builder.build()
    }
}

impl Serialize for ImageProperties {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for ImageProperties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = ImageProperties;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of image properties")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ImageProperties, A::Error> {
                let mut builder = PropertiesBuilder::default();
                while let Some(key) = map.next_key_seed(KeySeed)? {
                    builder.push(&key, map.next_value_seed(PropertyText)?);
                }
                Ok(builder.build())
            }
        }
        d.deserialize_map(Entries)
    }
}

impl<'de> Deserialize<'de> for Image {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Image::deserialize_without(d, &[])
    }
}

/// Reads an image's top-level object (see [`Image::deserialize_without`]).
struct ImageVisitor<'s> {
    skip: &'s [&'s str],
}

/// Stores a named field's value, refusing a second one.
fn set_once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Visitor<'de> for ImageVisitor<'_> {
    type Value = Image;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an image object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Image, A::Error> {
        let mut id = None;
        let (mut name, mut status, mut visibility, mut created_at) = (None, None, None, None);
        let mut os_hidden = None;
        let (mut size, mut min_disk, mut min_ram) = (None, None, None);
        let mut properties = PropertiesBuilder::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match &*key {
                "id" => set_once(&mut id, map.next_value::<String>()?, "id")?,
                "name" => set_once(&mut name, map.next_value()?, "name")?,
                "status" => set_once(&mut status, map.next_value()?, "status")?,
                "visibility" => set_once(&mut visibility, map.next_value()?, "visibility")?,
                "os_hidden" => set_once(&mut os_hidden, map.next_value::<bool>()?, "os_hidden")?,
                "created_at" => set_once(&mut created_at, map.next_value()?, "created_at")?,
                "size" => set_once(&mut size, map.next_value()?, "size")?,
                "min_disk" => set_once(&mut min_disk, map.next_value()?, "min_disk")?,
                "min_ram" => set_once(&mut min_ram, map.next_value()?, "min_ram")?,
                other if self.skip.contains(&other) => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                other => properties.push(other, map.next_value_seed(PropertyText)?),
            }
        }
        Ok(Image {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            name: name.flatten(),
            status: status.flatten(),
            visibility: visibility.flatten(),
            os_hidden: os_hidden.unwrap_or_default(),
            created_at: created_at.flatten(),
            size: size.flatten(),
            min_disk: min_disk.flatten(),
            min_ram: min_ram.flatten(),
            properties: properties.build(),
        })
    }
}

/// Reads a map key, borrowed from the input where the parser can (no escapes), owned
/// otherwise.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A property's value as the text [`ImageProperties`] keeps (`None` for `null`), read without
/// building a JSON value for strings, numbers and booleans; lists and objects become their
/// compact JSON text, in the order they were sent.
struct PropertyText;

impl<'de> DeserializeSeed<'de> for PropertyText {
    type Value = Option<Arc<str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertyText {
    type Value = Option<Arc<str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(shared_text(if v { "true" } else { "false" })))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(shared_text(&v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(shared_text(&v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // The text serde_json gives the same number.
        Ok(Some(shared_text(&Value::from(v).to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(shared_text(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Some(shared_text(&v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(shared_text(&v.to_string())))
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

    /// The image the old route gave: a JSON tree first, its properties collected from it.
    fn image_via_tree(v: &Value) -> Image {
        let mut fields = v.as_object().unwrap().clone();
        let take = |fields: &mut serde_json::Map<String, Value>, k: &str| fields.shift_remove(k);
        let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
        let number = |v: Option<Value>| v.and_then(|v| v.as_u64());
        Image {
            id: text(take(&mut fields, "id")).unwrap(),
            name: text(take(&mut fields, "name")),
            status: text(take(&mut fields, "status")),
            visibility: text(take(&mut fields, "visibility")),
            os_hidden: take(&mut fields, "os_hidden")
                .and_then(|v| v.as_bool())
                .unwrap_or_default(),
            created_at: text(take(&mut fields, "created_at")),
            size: number(take(&mut fields, "size")),
            min_disk: number(take(&mut fields, "min_disk")),
            min_ram: number(take(&mut fields, "min_ram")),
            properties: fields.into_iter().collect(),
        }
    }

    #[test]
    fn decoding_from_text_gives_what_the_json_tree_gives() {
        let text = r#"{"id": "i-1", "name": "Debian \"12\" \u00e9", "status": "active",
            "visibility": "public", "os_hidden": true, "created_at": "2026-01-01T00:00:00Z",
            "size": 1073741824, "min_disk": 2, "min_ram": null, "hotfix_hours": 72,
            "neg": -3, "ratio": 0.5, "big": 1e300, "exp": 2.50, "flag": false,
            "tags": ["a", {"z": 1, "y": [null]}], "meta": {"b": 1, "a": "x"},
            "provided_until": null, "esc\u0061ped": "tab\tnewline\n", "empty": "",
            "os_distro": "debian", "os_distro": "ubuntu"}"#;
        let tree: Value = serde_json::from_str(text).unwrap();
        let direct: Image = serde_json::from_str(text).unwrap();
        assert_eq!(direct, image_via_tree(&tree));
        assert_eq!(
            serde_json::from_value::<Image>(tree.clone()).unwrap(),
            direct
        );
        assert_eq!(direct.property("ratio").as_deref(), Some("0.5"));
        assert_eq!(direct.property("big").as_deref(), Some("1e+300"));
        assert_eq!(direct.property("exp").as_deref(), Some("2.5"));
        assert_eq!(direct.property("neg").as_deref(), Some("-3"));
        assert_eq!(
            direct.property("escaped").as_deref(),
            Some("tab\tnewline\n")
        );
        assert_eq!(
            direct.property("tags").as_deref(),
            Some(r#"["a",{"z":1,"y":[null]}]"#)
        );
        assert_eq!(direct.property("os_distro").as_deref(), Some("ubuntu"));
        assert_eq!(direct.min_ram, None);
        assert!(direct.os_hidden);
    }

    #[test]
    fn flavors_decode_with_their_extra_specs_as_text() {
        let text = r#"{"id": 42, "name": "SCS-2V-4", "vcpus": 2, "ram": 4096, "disk": 0,
            "extra_specs": {"scs:cpu-type": "shared-core", "hw:numa_nodes": 1, "x": null},
            "OS-FLV-EXT-DATA:ephemeral": 0, "links": [{"rel": "self"}]}"#;
        let mut de = serde_json::Deserializer::from_str(text);
        let (f, inline) = Flavor::deserialize_listed(&mut de).unwrap();
        assert!(inline);
        assert_eq!(f.id, "42");
        assert_eq!((f.vcpus, f.ram, f.disk), (2, 4096, 0));
        assert_eq!(f.extra_specs["scs:cpu-type"], "shared-core");
        assert_eq!(f.extra_specs["hw:numa_nodes"], "1");
        assert_eq!(f.extra_specs["x"], "null");
        let extra: Vec<&str> = f.extra.keys().map(String::as_str).collect();
        assert_eq!(extra, ["OS-FLV-EXT-DATA:ephemeral", "links"]);
        // Without an `extra_specs` object the specs are asked for separately.
        for text in [
            r#"{"id": "a", "name": "x"}"#,
            r#"{"id": "a", "extra_specs": null}"#,
        ] {
            let mut de = serde_json::Deserializer::from_str(text);
            let (f, inline) = Flavor::deserialize_listed(&mut de).unwrap();
            assert!(!inline, "{text}");
            assert!(f.extra_specs.is_empty());
        }
        let back: Flavor =
            serde_json::from_value(serde_json::to_value(f_of(text)).unwrap()).unwrap();
        assert_eq!(back, f_of(text));
        for (bad, says) in [
            (r#"{"name": "x"}"#, "missing field `id`"),
            (
                r#"{"id": "a", "vcpus": "two"}"#,
                "invalid type: string \"two\"",
            ),
            (r#"{"id": "a", "name": null}"#, "invalid type: null"),
            (
                r#"{"id": "a", "extra_specs": [1]}"#,
                "invalid type: sequence",
            ),
            (
                r#"{"id": "a", "ram": 1, "ram": 2}"#,
                "duplicate field `ram`",
            ),
        ] {
            let e = serde_json::from_str::<Flavor>(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    fn f_of(text: &str) -> Flavor {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn skipped_keys_are_not_kept_and_named_fields_are_checked() {
        let text = r#"{"id": "a", "self": "/v2/images/a", "os_distro": "debian",
            "tags": [1, 2], "checksum": null}"#;
        let mut de = serde_json::Deserializer::from_str(text);
        let i = Image::deserialize_without(&mut de, &["self", "tags", "checksum"]).unwrap();
        let keys: Vec<&str> = i.properties.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["os_distro"]);
        // The same rules as a derived decoder: `id` required, no repeated named field, types.
        for (bad, says) in [
            (r#"{"name": "x"}"#, "missing field `id`"),
            (r#"{"id": "a", "id": "b"}"#, "duplicate field `id`"),
            (
                r#"{"id": "a", "min_disk": "big"}"#,
                "invalid type: string \"big\"",
            ),
            (r#"{"id": "a", "os_hidden": null}"#, "invalid type: null"),
            (r#"["a"]"#, "invalid type: sequence"),
        ] {
            let e = serde_json::from_str::<Image>(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
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
