//! Keystone v3 authentication: the token request body for password, application-credential and
//! token auth, the v3 endpoint discovery, the [`Token`] with its catalog and roles, and renewing
//! the token shortly before it expires or after a 401 (once for all concurrent requests).

use super::discovery::{no_downgrade, self_link, versions_of};
use super::transport::{SendArgs, decode_json, send_with_retries};
use super::{Client, ClientOptions, split_url};
use crate::openstack::OpenStackError;
use crate::openstack::catalog::Catalog;
use crate::openstack::config::{AuthType, CloudConfig};
use crate::openstack::models::Role;
use crate::openstack::secret::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A Keystone token with what came with it.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token itself.
    pub value: Secret,
    /// Roles of the token (implied roles included, as Keystone sends them).
    pub roles: Vec<Role>,
    /// The full service catalog.
    pub catalog: Catalog,
    /// Scoped project id.
    pub project_id: Option<String>,
    /// Scoped project name.
    pub project_name: Option<String>,
    /// User id.
    pub user_id: Option<String>,
    /// User name.
    pub user_name: Option<String>,
    /// Expiry time as Keystone wrote it.
    pub expires_at: Option<String>,
}

/// The token value in use.
#[derive(Clone)]
pub(super) struct Current {
    pub(super) value: Secret,
    /// Renew at or after this instant (shortly before `expires_at`); `None`: never.
    pub(super) renew_at: Option<Instant>,
    /// Counts renewals, so that a request that saw an old token renews at most once.
    pub(super) generation: u64,
}

impl Current {
    pub(super) fn of(token: &Token) -> Current {
        Current {
            value: token.value.clone(),
            renew_at: renew_at(token.expires_at.as_deref()),
            generation: 0,
        }
    }
}

/// When to renew a token that expires at `expires_at`: a tenth of its remaining lifetime
/// (at most a minute) before.
fn renew_at(expires_at: Option<&str>) -> Option<Instant> {
    let at = chrono::DateTime::parse_from_rfc3339(expires_at?).ok()?;
    let left = (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    let margin = (left / 10).min(Duration::from_secs(60));
    Some(Instant::now() + left.saturating_sub(margin))
}

/// Builds the Keystone v3 authentication body for a configuration.
fn auth_body(config: &CloudConfig) -> Value {
    let a = &config.auth;
    let domain = |id: &Option<String>, name: &Option<String>| -> Option<Value> {
        if let Some(id) = id {
            Some(json!({"id": id}))
        } else {
            name.as_ref().map(|n| json!({"name": n}))
        }
    };
    let user = || -> Value {
        let mut u = serde_json::Map::new();
        if let Some(id) = &a.user_id {
            u.insert("id".into(), json!(id));
        } else if let Some(name) = &a.username {
            u.insert("name".into(), json!(name));
            if let Some(d) = domain(&a.user_domain_id, &a.user_domain_name) {
                u.insert("domain".into(), d);
            }
        }
        Value::Object(u)
    };
    let identity = match config.auth_type {
        AuthType::Password => {
            let mut u = user();
            u["password"] = json!(a.password.as_ref().map(Secret::expose).unwrap_or(""));
            json!({"methods": ["password"], "password": {"user": u}})
        }
        AuthType::ApplicationCredential => {
            let secret = a
                .application_credential_secret
                .as_ref()
                .map(Secret::expose)
                .unwrap_or("");
            let cred = if let Some(id) = &a.application_credential_id {
                json!({"id": id, "secret": secret})
            } else {
                json!({"name": a.application_credential_name, "secret": secret, "user": user()})
            };
            json!({"methods": ["application_credential"], "application_credential": cred})
        }
        AuthType::Token => {
            json!({"methods": ["token"], "token": {"id": a.token.as_ref().map(Secret::expose).unwrap_or("")}})
        }
    };
    let mut auth = json!({"identity": identity});
    if config.auth_type != AuthType::ApplicationCredential {
        let scope = if let Some(id) = &a.project_id {
            Some(json!({"project": {"id": id}}))
        } else if let Some(name) = &a.project_name {
            let mut p = json!({"name": name});
            if let Some(d) = domain(&a.project_domain_id, &a.project_domain_name) {
                p["domain"] = d;
            }
            Some(json!({"project": p}))
        } else {
            domain(&a.domain_id, &a.domain_name).map(|d| json!({ "domain": d }))
        };
        if let Some(s) = scope {
            auth["scope"] = s;
        }
    }
    json!({ "auth": auth })
}

pub(super) async fn authenticate(
    http: &reqwest::Client,
    config: &CloudConfig,
    options: &ClientOptions,
    counts: &Mutex<BTreeMap<String, u64>>,
) -> Result<Token, OpenStackError> {
    let base = config.auth.auth_url.trim_end_matches('/').to_string();
    let v3 = if base.ends_with("/v3") {
        base.clone()
    } else {
        // Discover the v3 endpoint; fall back to appending /v3.
        let disc = send_with_retries(
            http,
            options,
            counts,
            SendArgs {
                service: "identity",
                method: Method::GET,
                url: &format!("{base}/"),
                body: None,
                headers: &[],
                idempotent: true,
                token: None,
            },
        )
        .await;
        let found = disc
            .ok()
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .and_then(|doc| {
                versions_of(&doc)
                    .iter()
                    .find(|v| {
                        v.get("id")
                            .and_then(Value::as_str)
                            .is_some_and(|id| id.starts_with("v3"))
                    })
                    .and_then(self_link)
            });
        if let Some(link) = &found {
            no_downgrade(&base, link)?;
        }
        found.unwrap_or_else(|| format!("{base}/v3"))
    };
    let url = format!("{v3}/auth/tokens");
    let body = auth_body(config);
    let resp = send_with_retries(
        http,
        options,
        counts,
        SendArgs {
            service: "identity",
            method: Method::POST,
            url: &url,
            body: Some(&body),
            headers: &[],
            idempotent: true,
            token: None,
        },
    )
    .await?;
    let path = split_url(&url);
    let value = resp
        .headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(Secret::new)
        .ok_or_else(|| OpenStackError::Decode {
            service: "identity".into(),
            method: "POST".into(),
            path: path.clone(),
            message: "answer has no X-Subject-Token header".into(),
        })?;
    let doc = decode_json("identity", "POST", &path, &resp)?;
    let t = doc.get("token").ok_or_else(|| OpenStackError::Decode {
        service: "identity".into(),
        method: "POST".into(),
        path: path.clone(),
        message: "answer has no \"token\" object".into(),
    })?;
    // An absent field is empty; a malformed one names the field.
    fn field<T: serde::de::DeserializeOwned + Default>(
        token: &Value,
        key: &str,
        path: &str,
    ) -> Result<T, OpenStackError> {
        token
            .get(key)
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| OpenStackError::Decode {
                service: "identity".into(),
                method: "POST".into(),
                path: path.to_string(),
                message: format!("token {key}: {e}"),
            })
            .map(Option::unwrap_or_default)
    }
    let roles: Vec<Role> = field(t, "roles", &path)?;
    let catalog: Catalog = field(t, "catalog", &path)?;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    Ok(Token {
        value,
        roles,
        catalog,
        project_id: s(t.pointer("/project/id")),
        project_name: s(t.pointer("/project/name")),
        user_id: s(t.pointer("/user/id")),
        user_name: s(t.pointer("/user/name")),
        expires_at: s(t.get("expires_at")),
    })
}

impl Client {
    /// The token as first issued (roles, catalog, project). Its `value` may have been renewed
    /// since; requests use [`Client::current_token`].
    pub fn token(&self) -> &Token {
        &self.inner.token
    }

    /// The token value requests carry now.
    pub fn current_token(&self) -> Secret {
        self.current().value
    }

    pub(super) fn current(&self) -> Current {
        match self.inner.current.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Whether the configured auth can get a new token (a bare `token` auth cannot).
    pub(super) fn can_renew(&self) -> bool {
        self.inner.config.auth_type != AuthType::Token
    }

    /// Re-authenticates unless another request already renewed the token since `seen`
    /// (one renewal for many concurrent requests).
    pub(super) async fn renew(&self, seen: u64) -> Result<(), OpenStackError> {
        let _guard = self.inner.renewing.lock().await;
        if self.current().generation != seen {
            return Ok(());
        }
        let token = authenticate(
            &self.inner.http,
            &self.inner.config,
            &self.inner.options,
            &self.inner.counts,
        )
        .await?;
        let mut next = Current::of(&token);
        next.generation = seen + 1;
        match self.inner.current.write() {
            Ok(mut c) => *c = next,
            Err(p) => *p.into_inner() = next,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_comes_before_expiry() {
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(100)).to_rfc3339();
        let at = renew_at(Some(&soon)).unwrap();
        let left = at - Instant::now();
        assert!(
            left > Duration::from_secs(85) && left < Duration::from_secs(91),
            "{left:?}"
        );
        let later = (chrono::Utc::now() + chrono::Duration::hours(12)).to_rfc3339();
        let left = renew_at(Some(&later)).unwrap() - Instant::now();
        assert!(left > Duration::from_secs(12 * 3600 - 61), "{left:?}");
        assert!(renew_at(Some("not a date")).is_none());
        assert!(renew_at(None).is_none());
    }
}
