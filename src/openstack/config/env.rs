//! A cloud defined only by `OS_*` environment variables (an openrc file), validated like a
//! `clouds.yaml` entry.

use super::cloud::from_value;
use super::files::ConfigEnv;
use super::{CloudConfig, ConfigError, ConfigSource, ENVVARS_CLOUD};
use serde_json::{Map, Value};

/// A cloud from `OS_*` variables (`OS_AUTH_URL`, `OS_USERNAME`, ...).
pub(super) fn from_env(env: &ConfigEnv) -> Result<CloudConfig, ConfigError> {
    let mut auth = Map::new();
    let mut top = Map::new();
    const AUTH_KEYS: &[&str] = &[
        "auth_url",
        "username",
        "user_id",
        "password",
        "user_domain_name",
        "user_domain_id",
        "project_name",
        "project_id",
        "tenant_name",
        "tenant_id",
        "project_domain_name",
        "project_domain_id",
        "domain_name",
        "domain_id",
        "default_domain_name",
        "default_domain_id",
        "application_credential_id",
        "application_credential_name",
        "application_credential_secret",
        "token",
    ];
    const TOP_KEYS: &[&str] = &[
        "auth_type",
        "region_name",
        "interface",
        "endpoint_type",
        "cacert",
        "cert",
        "key",
        "insecure",
        "verify",
        "api_timeout",
    ];
    for k in AUTH_KEYS {
        if let Some(v) = env.var(&format!("OS_{}", k.to_ascii_uppercase())) {
            auth.insert((*k).into(), Value::String(v.into()));
        }
    }
    for k in TOP_KEYS {
        if let Some(v) = env.var(&format!("OS_{}", k.to_ascii_uppercase())) {
            top.insert((*k).into(), Value::String(v.into()));
        }
    }
    top.insert("auth".into(), Value::Object(auth));
    from_value(
        ENVVARS_CLOUD,
        &Value::Object(top),
        ConfigSource::Environment,
        "OS_* environment",
    )
}
