//! Endpoints and versions: the catalog URL of a service, the conventional versioned path asked
//! for first, version discovery (on a 404, never from https to plain http), and the compute
//! microversion (asked for optimistically, negotiated on a 406).

use super::{Budget, COMPUTE_MICROVERSION, Client, split_url};
use crate::openstack::OpenStackError;
use crate::openstack::catalog::{canonical_type, substitute_project};
use reqwest::Method;
use serde_json::Value;

fn versioned(url: &str) -> bool {
    let path = split_url(url);
    path.split('/').any(|seg| {
        let Some(rest) = seg.strip_prefix('v') else {
            return false;
        };
        !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
            && rest.starts_with(|c: char| c.is_ascii_digit())
    })
}

fn wanted_version(service: &str) -> Option<&'static str> {
    match service {
        "compute" => Some("v2.1"),
        "image" => Some("v2"),
        "block-storage" => Some("v3"),
        "network" => Some("v2.0"),
        "key-manager" => Some("v1"),
        "identity" => Some("v3"),
        _ => None,
    }
}

/// The versions list of a version document, in its three shapes.
pub(super) fn versions_of(doc: &Value) -> Vec<Value> {
    if let Some(v) = doc.get("versions") {
        if let Some(a) = v.as_array() {
            return a.clone();
        }
        if let Some(a) = v.get("values").and_then(Value::as_array) {
            return a.clone();
        }
    }
    if let Some(v) = doc.get("version") {
        return vec![v.clone()];
    }
    vec![]
}

pub(super) fn self_link(version: &Value) -> Option<String> {
    version
        .get("links")?
        .as_array()?
        .iter()
        .find(|l| l.get("rel").and_then(Value::as_str) == Some("self"))
        .and_then(|l| l.get("href"))
        .and_then(Value::as_str)
        .map(|s| s.trim_end_matches('/').to_string())
}

/// A link found in a document fetched from `from` must not leave https for plain http.
pub(super) fn no_downgrade(from: &str, to: &str) -> Result<(), OpenStackError> {
    let https = |u: &str| {
        u.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    };
    let http = |u: &str| {
        u.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
    };
    if https(from) && http(to) {
        return Err(OpenStackError::Downgrade {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    Ok(())
}

fn parse_mv(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// [`COMPUTE_MICROVERSION`] as text (`2.61`).
pub(super) fn wanted_microversion() -> String {
    format!("{}.{}", COMPUTE_MICROVERSION.0, COMPUTE_MICROVERSION.1)
}

/// The headers that ask compute for microversion `mv` (none without one).
pub(super) fn microversion_headers(mv: Option<&str>) -> Vec<(String, String)> {
    match mv {
        Some(mv) => vec![
            ("OpenStack-API-Version".into(), format!("compute {mv}")),
            ("X-OpenStack-Nova-API-Version".into(), mv.to_string()),
        ],
        None => vec![],
    }
}

/// Picks the compute microversion: min(server max, 2.61), if the server supports microversions.
pub fn negotiate_microversion(min: Option<&str>, max: Option<&str>) -> Option<String> {
    let max = parse_mv(max?)?;
    let min = min.and_then(parse_mv).unwrap_or((2, 1));
    let want = COMPUTE_MICROVERSION.min(max);
    (want >= min && want > (2, 0)).then(|| format!("{}.{}", want.0, want.1))
}

impl Client {
    /// The versioned endpoint URL of a service (aliases accepted), without trailing slash.
    /// Unversioned catalog URLs are resolved through the service's version document.
    pub async fn endpoint(&self, service_type: &str) -> Result<String, OpenStackError> {
        let service = canonical_type(service_type).to_string();
        // Another probe may be discovering this endpoint: wait within our own budget only.
        Budget::current()
            .guard(&service, "GET", "(version discovery)", async {
                let mut cache = self.inner.endpoints.lock().await;
                if let Some(r) = cache.get(&service) {
                    return r.clone();
                }
                let r = self.resolve_endpoint(service_type, &service).await;
                // A discovery stopped by the asking probe's budget says nothing about the cloud.
                if !r.as_ref().is_err_and(OpenStackError::is_stopped) {
                    cache.insert(service.clone(), r.clone());
                }
                if let Ok(url) = &r
                    && let Ok(mut found) = self.inner.discovered.lock()
                {
                    found.insert(service.clone(), url.clone());
                }
                r
            })
            .await
    }

    /// The catalog URL of a service (project substituted, no trailing slash).
    fn catalog_url(&self, requested: &str) -> Result<String, OpenStackError> {
        let cfg = &self.inner.config;
        let Some(raw) = self.inner.token.catalog.endpoint_url(
            requested,
            cfg.region_name.as_deref(),
            &cfg.interface,
        ) else {
            return Err(OpenStackError::NoEndpoint {
                service: requested.to_string(),
                interface: cfg.interface.clone(),
                region: cfg.region_name.clone(),
                available: self.inner.token.catalog.types().join(", "),
            });
        };
        Ok(
            substitute_project(raw, self.inner.token.project_id.as_deref())
                .trim_end_matches('/')
                .to_string(),
        )
    }

    /// The base URL API requests go to, without any request: the catalog URL when it names a
    /// version (or the service has none we ask for), the discovered endpoint when discovery
    /// ran, else the catalog URL plus the version we ask for (`/v2`, `/v2.0`, ...), as every
    /// OpenStack deployment serves it. The flag says that this conventional path has not
    /// answered yet: [`Client::request`] then falls back to version discovery on a 404.
    pub fn api_base(&self, service_type: &str) -> Result<(String, bool), OpenStackError> {
        let service = canonical_type(service_type);
        let url = self.catalog_url(service_type)?;
        let Some(want) = wanted_version(service).filter(|_| !versioned(&url)) else {
            return Ok((url, false));
        };
        if let Some(found) = self
            .inner
            .discovered
            .lock()
            .ok()
            .and_then(|d| d.get(service).cloned())
        {
            return Ok((found, false));
        }
        let confirmed = self
            .inner
            .confirmed
            .lock()
            .is_ok_and(|c| c.contains(service));
        Ok((format!("{url}/{want}"), !confirmed))
    }

    async fn resolve_endpoint(
        &self,
        requested: &str,
        service: &str,
    ) -> Result<String, OpenStackError> {
        let url = self.catalog_url(requested)?;
        let Some(want) = wanted_version(service) else {
            return Ok(url);
        };
        if versioned(&url) {
            return Ok(url);
        }
        // Version discovery; on any failure fall back to the conventional suffix.
        let fallback = format!("{url}/{want}");
        let Some(doc) = self.version_document(service, &url).await? else {
            return Ok(fallback);
        };
        let versions = versions_of(&doc);
        let major = want.split('.').next().unwrap_or(want);
        let chosen = versions
            .iter()
            .filter(|v| {
                let id = v.get("id").and_then(Value::as_str).unwrap_or("");
                id == want || (id.split('.').next() == Some(major) && service != "compute")
            })
            .find(|v| {
                let st = v
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase();
                ["current", "stable", "supported"].contains(&st.as_str())
            });
        match chosen {
            Some(v) => {
                if service == "compute" {
                    let mv = negotiate_microversion(
                        v.get("min_version").and_then(Value::as_str),
                        v.get("version").and_then(Value::as_str),
                    );
                    let _ = self.inner.compute_version.set(mv);
                }
                let link = self_link(v).unwrap_or(fallback);
                no_downgrade(&url, &link)?;
                Ok(substitute_project(
                    &link,
                    self.inner.token.project_id.as_deref(),
                ))
            }
            None => Ok(fallback),
        }
    }

    /// The version document a service serves at `url/`, or `None` when it cannot be had or
    /// read (the caller then falls back); only a stopped run (Ctrl-C, budget) is an error.
    async fn version_document(
        &self,
        service: &str,
        url: &str,
    ) -> Result<Option<Value>, OpenStackError> {
        match self
            .send(
                service,
                Method::GET,
                &format!("{url}/"),
                None,
                &[],
                true,
                true,
            )
            .await
        {
            Ok(resp) => Ok(serde_json::from_slice::<Value>(&resp.body).ok()),
            Err(e) if e.is_stopped() => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// The negotiated compute microversion (`None` when the server has none).
    pub async fn compute_microversion(&self) -> Result<Option<String>, OpenStackError> {
        let base = self.endpoint("compute").await?;
        let v = Budget::current()
            .guard("compute", "GET", &split_url(&format!("{base}/")), async {
                self.inner
                    .compute_version
                    .get_or_try_init(|| async {
                        // A stop is not remembered: the next request asks again.
                        let Some(doc) = self.version_document("compute", &base).await? else {
                            return Ok(None);
                        };
                        let Some(v) = versions_of(&doc).into_iter().next() else {
                            return Ok(None);
                        };
                        Ok(negotiate_microversion(
                            v.get("min_version").and_then(Value::as_str),
                            v.get("version").and_then(Value::as_str),
                        ))
                    })
                    .await
                    .cloned()
            })
            .await?;
        Ok(v)
    }

    /// The headers a service's requests carry: for compute, the microversion. Until the
    /// microversion is known, [`COMPUTE_MICROVERSION`] is asked for without a discovery request
    /// (the flag says so); a server that does not support it answers 406 and
    /// [`Client::request`] then negotiates.
    pub(super) fn service_headers(&self, service: &str) -> (Vec<(String, String)>, bool) {
        if service != "compute" {
            return (vec![], false);
        }
        match self.inner.compute_version.get() {
            Some(known) => (microversion_headers(known.as_deref()), false),
            None => (microversion_headers(Some(&wanted_microversion())), true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microversion_negotiation() {
        assert_eq!(
            negotiate_microversion(Some("2.1"), Some("2.93")).as_deref(),
            Some("2.61")
        );
        assert_eq!(
            negotiate_microversion(Some("2.1"), Some("2.53")).as_deref(),
            Some("2.53")
        );
        assert_eq!(negotiate_microversion(Some(""), Some("")), None);
        assert_eq!(negotiate_microversion(Some("2.70"), Some("2.93")), None);
    }

    #[test]
    fn versioned_urls() {
        assert!(versioned("http://h/volume/v3/abc"));
        assert!(versioned("http://h:8774/v2.1"));
        assert!(!versioned("http://h:9292"));
        assert!(!versioned("http://h/compute"));
        assert!(!versioned("http://h/vault"));
    }

    #[test]
    fn https_never_turns_into_http() {
        let e = no_downgrade(
            "https://keystone.example.org",
            "http://keystone.example.org/v3",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to follow http://keystone.example.org/v3 from https://keystone.example.org: \
             a link from https to plain http"
        );
        assert!(no_downgrade("HTTPS://a", "HTTP://a/v3").is_err());
        assert!(no_downgrade("https://a", "https://a/v3").is_ok());
        assert!(no_downgrade("http://a", "http://a/v3").is_ok());
        assert!(no_downgrade("http://a", "https://a/v3").is_ok());
    }
}
