//! Tempest's configuration for one run: `accounts.yaml` (the test accounts from clouds.yaml
//! entries) and `tempest.conf` (endpoints, the services the catalog has, the test image and
//! flavors).

use crate::openstack::config::CloudConfig;
use std::path::Path;

/// One account of `accounts.yaml`.
fn account_entry(c: &CloudConfig) -> Result<String, String> {
    let a = &c.auth;
    let username = a.username.as_deref().ok_or_else(|| {
        format!(
            "cloud `{}`: Tempest needs a username/password account (no `username`)",
            c.name
        )
    })?;
    let password = a
        .password
        .as_ref()
        .ok_or_else(|| format!("cloud `{}`: no `password`", c.name))?;
    let project = a
        .project_name
        .as_deref()
        .ok_or_else(|| format!("cloud `{}`: Tempest needs a `project_name`", c.name))?;
    let user_domain = a
        .user_domain_name
        .as_deref()
        .or(a.domain_name.as_deref())
        .unwrap_or("Default");
    let project_domain = a
        .project_domain_name
        .as_deref()
        .or(a.domain_name.as_deref())
        .unwrap_or(user_domain);
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    Ok(format!(
        "- username: {}\n  password: {}\n  project_name: {}\n  user_domain_name: {}\n  project_domain_name: {}\n",
        q(username),
        q(password.expose()),
        q(project),
        q(user_domain),
        q(project_domain)
    ))
}

/// `accounts.yaml` for pre-provisioned credentials (primary first, then alt).
pub fn accounts_yaml(accounts: &[&CloudConfig]) -> Result<String, String> {
    accounts.iter().map(|c| account_entry(c)).collect()
}

/// Catalog service types → Tempest's `[service_available]` options.
const SERVICE_FLAGS: &[(&str, &[&str])] = &[
    ("nova", &["compute"]),
    ("glance", &["image"]),
    ("neutron", &["network"]),
    ("cinder", &["volumev3", "block-storage", "volume"]),
    ("swift", &["object-store"]),
];

/// The generated `tempest.conf`. `services` are the catalog's service types (unknown: Tempest's
/// defaults stay); `accounts_file` is the absolute path of `accounts.yaml`; `extra` is appended.
pub fn tempest_conf(
    primary: &CloudConfig,
    services: Option<&[String]>,
    accounts_file: &Path,
    log_dir: &Path,
    extra: &str,
) -> String {
    let a = &primary.auth;
    let mut uri = a.auth_url.trim_end_matches('/').to_string();
    if !uri.ends_with("/v3") {
        uri.push_str("/v3");
    }
    let domain = a
        .user_domain_name
        .as_deref()
        .or(a.domain_name.as_deref())
        .unwrap_or("Default");
    let mut s = String::from("# written by scs-check for scs-0128\n[DEFAULT]\n");
    s.push_str(&format!(
        "log_dir = {}\nuse_stderr = false\n\n",
        log_dir.display()
    ));
    s.push_str("[auth]\nuse_dynamic_credentials = false\n");
    s.push_str(&format!(
        "test_accounts_file = {}\ndefault_credentials_domain_name = {domain}\n\n",
        accounts_file.display()
    ));
    s.push_str(&format!(
        "[identity]\nauth_version = v3\nuri_v3 = {uri}\nv3_endpoint_type = {}\n",
        primary.interface
    ));
    if let Some(r) = &primary.region_name {
        s.push_str(&format!("region = {r}\n"));
    }
    if !primary.verify {
        s.push_str("disable_ssl_certificate_validation = true\n");
    }
    if let Some(ca) = &primary.cacert {
        s.push_str(&format!("ca_certificates_file = {}\n", ca.display()));
    }
    s.push('\n');
    if let Some(types) = services {
        s.push_str("[service_available]\n");
        for (flag, names) in SERVICE_FLAGS {
            let on = types.iter().any(|t| names.contains(&t.as_str()));
            s.push_str(&format!("{flag} = {on}\n"));
        }
        s.push('\n');
    }
    if !extra.trim().is_empty() {
        s.push_str("# from tempest_conf_extra\n");
        s.push_str(extra);
        if !extra.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}
