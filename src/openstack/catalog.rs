//! The Keystone service catalog: its model, service-type aliases, and endpoint choice by type,
//! region and interface.

use serde::{Deserialize, Serialize};

/// One endpoint of a catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Endpoint id.
    #[serde(default)]
    pub id: String,
    /// `public`, `internal` or `admin`.
    #[serde(default)]
    pub interface: String,
    /// Region name (Keystone sends both `region` and `region_id`).
    #[serde(default)]
    pub region: Option<String>,
    /// Region id.
    #[serde(default)]
    pub region_id: Option<String>,
    /// URL.
    pub url: String,
}

/// One service in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Service id.
    #[serde(default)]
    pub id: String,
    /// Service type, e.g. `compute`, `volumev3`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name, e.g. `nova`.
    #[serde(default)]
    pub name: String,
    /// Endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// The full catalog of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Catalog {
    /// Entries in the order Keystone sent them.
    pub entries: Vec<CatalogEntry>,
}

/// Service types that mean the same service, official type first (from the OpenStack
/// service-types authority).
pub const ALIASES: &[&[&str]] = &[
    &[
        "block-storage",
        "volumev3",
        "volumev2",
        "volume",
        "block-store",
    ],
    &["key-manager", "key_manager"],
    &["load-balancer", "load_balancer"],
    &["object-store", "object_store"],
    &["compute"],
    &["identity"],
    &["image"],
    &["network"],
    &["placement"],
    &["shared-file-system", "sharev2", "share"],
    &["orchestration"],
    &["dns"],
];

/// The official type for a type or alias (unknown types map to themselves).
pub fn canonical_type(service_type: &str) -> &str {
    for group in ALIASES {
        if group.contains(&service_type) {
            return group[0];
        }
    }
    service_type
}

/// All types that may stand for `service_type`, preferred first.
pub fn candidate_types(service_type: &str) -> Vec<&str> {
    for group in ALIASES {
        if group.contains(&service_type) {
            let mut v = vec![service_type];
            v.extend(group.iter().copied().filter(|t| *t != service_type));
            return v;
        }
    }
    vec![service_type]
}

impl Catalog {
    /// Whether the catalog has an entry of exactly this type (no aliases), even one without
    /// endpoints.
    pub fn has_type(&self, service_type: &str) -> bool {
        self.entries.iter().any(|e| e.service_type == service_type)
    }

    /// Service types in catalog order.
    pub fn types(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|e| e.service_type.as_str())
            .collect()
    }

    /// The URL for a service type (aliases accepted), region and interface. Types are tried in
    /// alias order; the first entry with a matching endpoint wins.
    pub fn endpoint_url(
        &self,
        service_type: &str,
        region: Option<&str>,
        interface: &str,
    ) -> Option<&str> {
        for t in candidate_types(service_type) {
            for entry in self.entries.iter().filter(|e| e.service_type == t) {
                for ep in &entry.endpoints {
                    let iface = ep.interface.trim_end_matches("URL");
                    if iface != interface {
                        continue;
                    }
                    if let Some(r) = region
                        && ep.region.as_deref() != Some(r)
                        && ep.region_id.as_deref() != Some(r)
                    {
                        continue;
                    }
                    return Some(ep.url.as_str());
                }
            }
        }
        None
    }
}

/// Replaces the project-id placeholders that catalogs and endpoint overrides use.
pub fn substitute_project(url: &str, project_id: Option<&str>) -> String {
    let Some(pid) = project_id else {
        return url.to_string();
    };
    let mut out = url.to_string();
    for pat in [
        "{project_id}",
        "{tenant_id}",
        "$(project_id)s",
        "$(tenant_id)s",
        "%(project_id)s",
        "%(tenant_id)s",
    ] {
        out = out.replace(pat, pid);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        serde_json::from_value(serde_json::json!([
            {"type": "volumev3", "name": "cinderv3", "endpoints": [
                {"interface": "internal", "region": "R1", "url": "http://int/v3"},
                {"interface": "public", "region": "R1", "url": "http://pub1/v3"},
                {"interface": "public", "region": "R2", "url": "http://pub2/v3"}]},
            {"type": "key-manager", "name": "barbican", "endpoints": []}
        ]))
        .unwrap()
    }

    #[test]
    fn aliases_region_interface() {
        let c = cat();
        assert_eq!(
            c.endpoint_url("block-storage", Some("R2"), "public"),
            Some("http://pub2/v3")
        );
        assert_eq!(
            c.endpoint_url("volume", None, "internal"),
            Some("http://int/v3")
        );
        assert_eq!(c.endpoint_url("block-storage", Some("R3"), "public"), None);
        assert_eq!(c.endpoint_url("key-manager", None, "public"), None);
        assert!(c.has_type("key-manager"));
        assert!(!c.has_type("block-storage"));
        assert_eq!(canonical_type("volumev3"), "block-storage");
    }

    #[test]
    fn project_placeholders() {
        assert_eq!(
            substitute_project("http://x/v3/$(project_id)s", Some("p")),
            "http://x/v3/p"
        );
        assert_eq!(
            substitute_project("http://x/v1/AUTH_{project_id}", Some("p")),
            "http://x/v1/AUTH_p"
        );
    }
}
