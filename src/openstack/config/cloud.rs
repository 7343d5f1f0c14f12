//! Validation of one `clouds.NAME` mapping (after the `secure.yaml` merge) into a
//! [`CloudConfig`]: auth type and fields, interface, TLS settings and timeouts, each problem
//! naming the file, the cloud and the key (never a secret's value).

use super::{AuthConfig, AuthType, CloudConfig, ConfigError, ConfigSource};
use crate::openstack::secret::Secret;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

const SECRET_KEYS: &[&str] = &["password", "application_credential_secret", "token"];

fn scalar(
    map: &Map<String, Value>,
    key: &str,
    ctx: (&str, &str, &str),
) -> Result<Option<String>, ConfigError> {
    let (path, cloud, prefix) = ctx;
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(ConfigError::Invalid {
            path: path.into(),
            cloud: cloud.into(),
            key: format!("{prefix}{key}"),
            message: if SECRET_KEYS.contains(&key) {
                "expected a string".into()
            } else {
                "expected a string, found a list or mapping".into()
            },
        }),
    }
}

fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Some(true),
            "false" | "no" | "0" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Builds a [`CloudConfig`] from one `clouds.NAME` mapping.
pub(super) fn from_value(
    name: &str,
    cloud: &Value,
    source: ConfigSource,
    path: &str,
) -> Result<CloudConfig, ConfigError> {
    let empty = Map::new();
    let Some(top) = cloud.as_object() else {
        return Err(ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "".into(),
            message: "expected a mapping".into(),
        });
    };
    let auth_map = match top.get("auth") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ConfigError::Invalid {
                path: path.into(),
                cloud: name.into(),
                key: "auth".into(),
                message: "expected a mapping".into(),
            });
        }
    };
    let a = |key: &str| scalar(auth_map, key, (path, name, "auth."));
    let t = |key: &str| scalar(top, key, (path, name, ""));
    let default_domain_id = a("default_domain_id")?;
    let default_domain_name = a("default_domain_name")?;
    let auth = AuthConfig {
        auth_url: a("auth_url")?.unwrap_or_default(),
        username: a("username")?,
        user_id: a("user_id")?,
        password: a("password")?.map(Secret::new),
        user_domain_name: a("user_domain_name")?.or(default_domain_name.clone()),
        user_domain_id: a("user_domain_id")?.or(default_domain_id.clone()),
        project_name: a("project_name")?.or(a("tenant_name")?),
        project_id: a("project_id")?.or(a("tenant_id")?),
        project_domain_name: a("project_domain_name")?.or(default_domain_name),
        project_domain_id: a("project_domain_id")?.or(default_domain_id),
        domain_name: a("domain_name")?,
        domain_id: a("domain_id")?,
        application_credential_id: a("application_credential_id")?,
        application_credential_name: a("application_credential_name")?,
        application_credential_secret: a("application_credential_secret")?.map(Secret::new),
        token: a("token")?.map(Secret::new),
    };
    let missing = |key: &str, why: &str| ConfigError::Missing {
        path: path.into(),
        cloud: name.into(),
        key: key.into(),
        why: if why.is_empty() {
            String::new()
        } else {
            format!(": {why}")
        },
    };
    let auth_type = match t("auth_type")?.as_deref() {
        None | Some("password") | Some("v3password") => AuthType::Password,
        Some("v3applicationcredential") | Some("applicationcredential") => {
            AuthType::ApplicationCredential
        }
        Some("token") | Some("v3token") => AuthType::Token,
        Some(other) => {
            return Err(ConfigError::Invalid {
                path: path.into(),
                cloud: name.into(),
                key: "auth_type".into(),
                message: format!(
                    "unsupported auth type \"{other}\" (supported: password, v3password, \
                     v3applicationcredential, token)"
                ),
            });
        }
    };
    if auth.auth_url.is_empty() {
        return Err(missing("auth.auth_url", "the Keystone URL is required"));
    }
    if !auth.auth_url.starts_with("http://") && !auth.auth_url.starts_with("https://") {
        return Err(ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "auth.auth_url".into(),
            message: format!("\"{}\" is not an http(s) URL", auth.auth_url),
        });
    }
    match auth_type {
        AuthType::Password => {
            if auth.username.is_none() && auth.user_id.is_none() {
                return Err(missing("auth.username", "password auth needs a user"));
            }
            if auth.password.is_none() {
                return Err(missing("auth.password", "password auth needs a password"));
            }
            if auth.user_id.is_none()
                && auth.user_domain_name.is_none()
                && auth.user_domain_id.is_none()
            {
                return Err(missing(
                    "auth.user_domain_name",
                    "a user given by name needs its domain (or user_domain_id)",
                ));
            }
        }
        AuthType::ApplicationCredential => {
            if auth.application_credential_secret.is_none() {
                return Err(missing("auth.application_credential_secret", ""));
            }
            if auth.application_credential_id.is_none() {
                if auth.application_credential_name.is_none() {
                    return Err(missing(
                        "auth.application_credential_id",
                        "or application_credential_name with username",
                    ));
                }
                if auth.username.is_none() && auth.user_id.is_none() {
                    return Err(missing(
                        "auth.username",
                        "an application credential given by name needs its user",
                    ));
                }
            }
        }
        AuthType::Token => {
            if auth.token.is_none() {
                return Err(missing("auth.token", "token auth needs a token"));
            }
        }
    }
    if auth.project_name.is_some()
        && auth.project_id.is_none()
        && auth.project_domain_name.is_none()
        && auth.project_domain_id.is_none()
    {
        return Err(missing(
            "auth.project_domain_name",
            "a project given by name needs its domain (or project_domain_id)",
        ));
    }
    let mut verify = true;
    if let Some(v) = top.get("verify") {
        verify = boolish(v).ok_or_else(|| ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "verify".into(),
            message: "expected true or false".into(),
        })?;
    }
    if let Some(v) = top.get("insecure") {
        let insecure = boolish(v).ok_or_else(|| ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "insecure".into(),
            message: "expected true or false".into(),
        })?;
        if insecure {
            verify = false;
        }
    }
    let interface = t("interface")?
        .or(t("endpoint_type")?)
        .unwrap_or_else(|| "public".into());
    let interface = interface.trim_end_matches("URL").to_string();
    if !["public", "internal", "admin"].contains(&interface.as_str()) {
        return Err(ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "interface".into(),
            message: format!("\"{interface}\" is not one of public, internal, admin"),
        });
    }
    let api_timeout = match t("api_timeout")? {
        None => None,
        Some(s) => Some(Duration::from_secs_f64(
            s.parse::<f64>()
                .ok()
                .filter(|v| *v > 0.0 && v.is_finite())
                .ok_or_else(|| ConfigError::Invalid {
                    path: path.into(),
                    cloud: name.into(),
                    key: "api_timeout".into(),
                    message: format!("\"{s}\" is not a positive number of seconds"),
                })?,
        )),
    };
    let file_key = |key: &str| -> Result<Option<PathBuf>, ConfigError> {
        Ok(t(key)?.map(|p| expand_home(&p)))
    };
    let cacert = file_key("cacert")?;
    let cert = file_key("cert")?;
    let key = file_key("key")?;
    for (k, p) in [("cacert", &cacert), ("cert", &cert), ("key", &key)] {
        if let Some(p) = p
            && !p.is_file()
        {
            return Err(ConfigError::Invalid {
                path: path.into(),
                cloud: name.into(),
                key: k.into(),
                message: format!("file {} does not exist", p.display()),
            });
        }
    }
    Ok(CloudConfig {
        name: name.into(),
        source,
        auth_type,
        auth,
        region_name: t("region_name")?,
        interface,
        verify,
        cacert,
        cert,
        key,
        api_timeout,
    })
}

fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    PathBuf::from(p)
}
