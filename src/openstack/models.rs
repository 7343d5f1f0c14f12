//! Typed models of the API objects the probes read. Every model keeps the fields it does not
//! name in `extra` (for images: the arbitrary top-level properties), so nothing is lost.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    pub properties: IndexMap<String, Value>,
}

impl Image {
    /// A property as a string (`None` when absent or null; numbers and booleans as text).
    pub fn property(&self, key: &str) -> Option<String> {
        match self.properties.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
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
