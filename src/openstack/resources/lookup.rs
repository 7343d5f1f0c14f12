//! Finding resources in the cloud by kind: each kind's service and API paths, listing a kind in
//! the token's own project, finding by exact name, reading one back, and telling whether a
//! resource belongs to another project.

use crate::openstack::ledger::ResourceKind;
use crate::openstack::{Client, OpenStackError};
use serde_json::Value;

pub(super) fn service_of(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Server => "compute",
        ResourceKind::Secret => "key-manager",
        ResourceKind::Backup | ResourceKind::Volume => "block-storage",
        ResourceKind::Group | ResourceKind::Project | ResourceKind::User | ResourceKind::Role => {
            "identity"
        }
        _ => "network",
    }
}

pub(super) fn collection(kind: ResourceKind) -> (&'static str, &'static str, &'static str) {
    // (list path, list key, single path prefix)
    match kind {
        ResourceKind::Server => ("/servers/detail", "servers", "/servers"),
        ResourceKind::Secret => ("/secrets", "secrets", "/secrets"),
        ResourceKind::SecurityGroup => ("/security-groups", "security_groups", "/security-groups"),
        ResourceKind::Backup => ("/backups/detail", "backups", "/backups"),
        ResourceKind::Volume => ("/volumes/detail", "volumes", "/volumes"),
        ResourceKind::Router | ResourceKind::RouterInterface => ("/routers", "routers", "/routers"),
        ResourceKind::Subnet => ("/subnets", "subnets", "/subnets"),
        ResourceKind::Network => ("/networks", "networks", "/networks"),
        ResourceKind::Group => ("/groups", "groups", "/groups"),
        ResourceKind::Project => ("/projects", "projects", "/projects"),
        ResourceKind::User => ("/users", "users", "/users"),
        ResourceKind::Role => ("/roles", "roles", "/roles"),
    }
}

pub(super) fn id_of(kind: ResourceKind, v: &Value) -> Option<String> {
    if kind == ResourceKind::Secret {
        let href = v.get("secret_ref").and_then(Value::as_str)?;
        return href.rsplit('/').next().map(str::to_string);
    }
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

pub(super) fn name_of(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// The fields in which the APIs name a resource's project (Neutron, Nova, Cinder volumes as
/// an admin sees them, Cinder backups).
const PROJECT_FIELDS: [&str; 4] = [
    "project_id",
    "tenant_id",
    "os-vol-tenant-attr:tenant_id",
    "os-backup-project-attr:project_id",
];

/// The other project `v` belongs to, if it names one that is not `project`.
pub(super) fn foreign_project(v: &Value, project: Option<&str>) -> Option<String> {
    let project = project.filter(|p| !p.is_empty())?;
    PROJECT_FIELDS
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_str))
        .find(|p| !p.is_empty() && *p != project)
        .map(str::to_string)
}

/// Lists the resources of `kind` in the token's project: Neutron is asked for that project
/// only (an admin token lists every project's otherwise), and whatever names another
/// project is dropped.
pub(super) async fn list_kind(
    client: &Client,
    kind: ResourceKind,
) -> Result<Vec<Value>, OpenStackError> {
    let (path, key, _) = collection(kind);
    if kind == ResourceKind::Secret && !client.catalog().has_type("key-manager") {
        return Ok(vec![]);
    }
    let project = client.token().project_id.clone();
    let path = match (&project, service_of(kind)) {
        (Some(p), "network") if !p.is_empty() => format!("{path}?project_id={p}"),
        _ => path.to_string(),
    };
    let all = client.list(service_of(kind), &path, key).await?;
    Ok(all
        .into_iter()
        .filter(|v| foreign_project(v, project.as_deref()).is_none())
        .collect())
}

pub(super) async fn find_by_name(
    client: &Client,
    kind: ResourceKind,
    name: &str,
) -> Result<Vec<String>, OpenStackError> {
    Ok(list_kind(client, kind)
        .await?
        .iter()
        .filter(|v| name_of(v) == Some(name))
        .filter_map(|v| id_of(kind, v))
        .collect())
}

/// GET one resource: `Ok(None)` when it does not exist.
pub(super) async fn show(
    client: &Client,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<Value>, OpenStackError> {
    let (_, _, single) = collection(kind);
    match client
        .get_json(service_of(kind), &format!("{single}/{id}"))
        .await
    {
        Ok(v) => {
            let key = match kind {
                ResourceKind::Secret => return Ok(Some(v)),
                ResourceKind::Server => "server",
                ResourceKind::SecurityGroup => "security_group",
                ResourceKind::Backup => "backup",
                ResourceKind::Volume => "volume",
                ResourceKind::Router | ResourceKind::RouterInterface => "router",
                ResourceKind::Subnet => "subnet",
                ResourceKind::Network => "network",
                ResourceKind::Group => "group",
                ResourceKind::Project => "project",
                ResourceKind::User => "user",
                ResourceKind::Role => "role",
            };
            Ok(Some(v.get(key).cloned().unwrap_or(v)))
        }
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}
