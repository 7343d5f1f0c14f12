//! The HTTP client over reqwest: the [`Client`] (its options, connecting, request counting per
//! service, and [`Client::request`], which falls back to version discovery on a 404 and to
//! microversion negotiation on a 406). The parts live in sub-modules:
//!
//! - `auth`: Keystone v3 authentication and token renewal ([`Token`]).
//! - `discovery`: endpoint choice, version discovery, compute microversions.
//! - `transport`: sending one request with timeouts, retries with backoff and `Retry-After`,
//!   bounded bodies and error classification ([`RawResponse`]).
//! - `paging`: listing collections page by page ([`Client::list`], [`Client::list_pages`]).
//! - `budget`: the asking work's time budget and cancellation ([`Budget`]).

use super::OpenStackError;
use super::catalog::{Catalog, canonical_type};
use super::config::CloudConfig;
use crate::retry::RetryPolicy;
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

mod auth;
mod budget;
mod discovery;
mod paging;
mod transport;

pub use auth::Token;
pub use budget::Budget;
pub use discovery::negotiate_microversion;
pub use transport::{RawResponse, api_error_message};

use auth::{Current, authenticate};
use discovery::{microversion_headers, wanted_microversion};
use transport::{decode_json, error_chain};

/// The compute microversion asked for (as the reference suite does) when the server allows it.
pub const COMPUTE_MICROVERSION: (u32, u32) = (2, 61);

/// Tunables of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request timeout (overridden by `api_timeout` in clouds.yaml).
    pub timeout: Duration,
    /// Retries after the first attempt, for idempotent requests.
    pub max_retries: u32,
    /// First backoff delay; doubles with each retry.
    pub backoff: Duration,
    /// Longest wait honoured from a `Retry-After` header.
    pub max_retry_after: Duration,
    /// Most pages one listing may have; more is an error ([`OpenStackError::Listing`]).
    pub max_pages: usize,
    /// Most items one listing may have; more is an error ([`OpenStackError::Listing`]).
    pub max_items: usize,
    /// Largest answer body in bytes; a larger one is an error ([`OpenStackError::Decode`]).
    pub max_body: usize,
}

/// Default of [`ClientOptions::max_pages`].
pub const DEFAULT_MAX_PAGES: usize = 1_000;
/// Default of [`ClientOptions::max_items`].
pub const DEFAULT_MAX_ITEMS: usize = 1_000_000;
/// Default of [`ClientOptions::max_body`]: 64 MiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(32),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(10),
            max_pages: DEFAULT_MAX_PAGES,
            max_items: DEFAULT_MAX_ITEMS,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

impl ClientOptions {
    /// The retry policy of idempotent requests (and of 429 answers): `max_retries` retries
    /// after the first attempt, waits from `backoff` doubling, a `Retry-After` honoured up to
    /// `max_retry_after`; the asking work's [`Budget`] gives the deadline.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: Some(self.max_retries.saturating_add(1)),
            base_delay: self.backoff,
            max_delay: None,
            max_retry_after: Some(self.max_retry_after),
            budget: None,
        }
    }

    /// The defaults, with the listing and body limits taken from `SCS_CHECK_MAX_PAGES`,
    /// `SCS_CHECK_MAX_ITEMS` and `SCS_CHECK_MAX_BODY_MB` where set; a value that is not a
    /// positive number is an error naming the variable.
    pub fn from_env() -> Result<ClientOptions, OpenStackError> {
        let mut o = ClientOptions::default();
        let read = |name: &str| -> Result<Option<usize>, OpenStackError> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(v) => match v.trim().parse::<usize>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => Err(OpenStackError::Setup(format!(
                        "{name}={v:?} is not a positive whole number"
                    ))),
                },
            }
        };
        if let Some(n) = read("SCS_CHECK_MAX_PAGES")? {
            o.max_pages = n;
        }
        if let Some(n) = read("SCS_CHECK_MAX_ITEMS")? {
            o.max_items = n;
        }
        if let Some(n) = read("SCS_CHECK_MAX_BODY_MB")? {
            o.max_body = n.saturating_mul(1024 * 1024);
        }
        Ok(o)
    }
}

/// A connected client. Cheap to clone; clones share the token, caches and counters.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: CloudConfig,
    options: ClientOptions,
    token: Token,
    /// The token value in use; replaced on renewal.
    current: RwLock<Current>,
    /// Held while re-authenticating, so concurrent requests renew once.
    renewing: tokio::sync::Mutex<()>,
    counts: Mutex<BTreeMap<String, u64>>,
    endpoints: tokio::sync::Mutex<HashMap<String, Result<String, OpenStackError>>>,
    /// Endpoints found by version discovery (copied from `endpoints`, readable without waiting).
    discovered: Mutex<HashMap<String, String>>,
    /// Services whose conventional versioned path (see [`Client::api_base`]) has answered with
    /// something other than 404, so it is used without discovery from then on.
    confirmed: Mutex<std::collections::HashSet<String>>,
    compute_version: tokio::sync::OnceCell<Option<String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cloud", &self.inner.config.name)
            .field("auth_url", &self.inner.config.auth.auth_url)
            .field("project", &self.inner.token.project_name)
            .finish()
    }
}

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn split_url(url: &str) -> String {
    // path and query of an absolute URL, for messages
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".to_string(),
    }
}

fn bump(counts: &Mutex<BTreeMap<String, u64>>, service: &str) {
    if let Ok(mut c) = counts.lock() {
        *c.entry(service.to_string()).or_insert(0) += 1;
    }
}

/// Whether runs in this process share their HTTP clients (see [`share_http_clients`]).
static SHARE_HTTP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The HTTP clients shared so far, by request timeout.
static SHARED_HTTP: std::sync::LazyLock<Mutex<HashMap<Duration, reqwest::Client>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

/// Makes every later [`Client::connect_with`] of this process with the plain TLS settings
/// (certificates verified against the system's roots, no own CA file, no client certificate)
/// use one HTTP client per request timeout, so that its connection pool is shared: a batch
/// whose subjects run inside one process then reuses the connections earlier subjects left
/// open to the same cloud instead of opening (and the cloud accepting) new ones for every
/// subject. Tokens, request counts and everything else stay per [`Client`].
pub fn share_http_clients() {
    SHARE_HTTP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The shared HTTP client for `timeout`, when sharing is on (`config` has the plain TLS
/// settings).
fn shared_http(config: &CloudConfig, timeout: Duration) -> Option<reqwest::Client> {
    if !SHARE_HTTP.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let mut shared = SHARED_HTTP.lock().ok()?;
    if let Some(http) = shared.get(&timeout) {
        return Some(http.clone());
    }
    let http = build_http(config, timeout).ok()?;
    shared.insert(timeout, http.clone());
    Some(http)
}

/// The HTTP client for a cloud's TLS settings (`verify`, `cacert`, `cert`/`key`).
fn build_http(config: &CloudConfig, timeout: Duration) -> Result<reqwest::Client, OpenStackError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("scs-check/", env!("CARGO_PKG_VERSION")));
    if config.verify && config.cacert.is_none() && config.cert.is_none() {
        // reqwest's TLS defaults, but the root certificates are read only if a URL is https.
        builder = builder.tls_backend_preconfigured(crate::http::lazy_roots_tls());
    }
    if !config.verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    if let Some(ca) = &config.cacert {
        let pem = std::fs::read(ca)
            .map_err(|e| OpenStackError::Setup(format!("cacert {}: {e}", ca.display())))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| OpenStackError::Setup(format!("cacert {}: {e}", ca.display())))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(cert) = &config.cert {
        let mut pem = std::fs::read(cert)
            .map_err(|e| OpenStackError::Setup(format!("cert {}: {e}", cert.display())))?;
        if let Some(key) = &config.key {
            pem.push(b'\n');
            pem.extend(
                std::fs::read(key)
                    .map_err(|e| OpenStackError::Setup(format!("key {}: {e}", key.display())))?,
            );
        }
        let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
            OpenStackError::Setup(format!("client certificate {}: {e}", cert.display()))
        })?;
        builder = builder.identity(id);
    }
    builder
        .build()
        .map_err(|e| OpenStackError::Setup(error_chain(&e)))
}

impl Client {
    /// Authenticates with default options.
    pub async fn connect(config: CloudConfig) -> Result<Client, OpenStackError> {
        Client::connect_with(config, ClientOptions::default()).await
    }

    /// Authenticates with explicit options.
    pub async fn connect_with(
        config: CloudConfig,
        mut options: ClientOptions,
    ) -> Result<Client, OpenStackError> {
        install_crypto();
        if let Some(t) = config.api_timeout {
            options.timeout = t;
        }
        let plain = config.verify && config.cacert.is_none() && config.cert.is_none();
        let shared = if plain {
            shared_http(&config, options.timeout)
        } else {
            None
        };
        let http = match shared {
            Some(http) => http,
            None => build_http(&config, options.timeout)?,
        };
        let counts = Mutex::new(BTreeMap::new());
        let token = authenticate(&http, &config, &options, &counts).await?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                options,
                current: RwLock::new(Current::of(&token)),
                renewing: tokio::sync::Mutex::new(()),
                token,
                counts,
                endpoints: tokio::sync::Mutex::new(HashMap::new()),
                discovered: Mutex::new(HashMap::new()),
                confirmed: Mutex::new(std::collections::HashSet::new()),
                compute_version: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &CloudConfig {
        &self.inner.config
    }

    /// The service catalog of the token.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.token.catalog
    }

    /// Role names of the token.
    pub fn role_names(&self) -> Vec<String> {
        self.inner
            .token
            .roles
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }

    /// HTTP requests sent so far, per service type (retries count as requests).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.inner
            .counts
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Sends a request to `path` under a service's endpoint and returns the raw answer; error
    /// statuses become [`OpenStackError::Http`]. GET, HEAD, PUT and DELETE are retried.
    ///
    /// No version discovery comes first (see [`Client::api_base`]): only when the conventional
    /// versioned path answers 404 before it ever answered otherwise is the version document
    /// read and the request sent again to the endpoint it names; only when compute refuses
    /// the microversion asked for (406) is the microversion negotiated and the request repeated.
    pub async fn request(
        &self,
        service_type: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, OpenStackError> {
        let service = canonical_type(service_type);
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let (mut base, mut guessed) = self.api_base(service_type)?;
        let (mut headers, mut optimistic) = self.service_headers(service);
        loop {
            let pairs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let url = format!("{base}{path}");
            let result = self
                .send(
                    service,
                    method.clone(),
                    &url,
                    body,
                    &pairs,
                    idempotent,
                    true,
                )
                .await;
            let status = match &result {
                Ok(r) => Some(r.status),
                Err(e) => e.status(),
            };
            if guessed && status.is_some() {
                guessed = false;
                if status == Some(404) {
                    let found = self.endpoint(service_type).await?;
                    if found != base {
                        base = found;
                        continue;
                    }
                } else if let Ok(mut c) = self.inner.confirmed.lock() {
                    c.insert(service.to_string());
                }
            }
            if optimistic && status == Some(406) {
                optimistic = false;
                headers = microversion_headers(self.compute_microversion().await?.as_deref());
                continue;
            }
            if optimistic && let Ok(r) = &result {
                let echoed = r
                    .headers
                    .get("openstack-api-version")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim() == format!("compute {}", wanted_microversion()));
                if echoed {
                    let _ = self.inner.compute_version.set(Some(wanted_microversion()));
                }
            }
            return result;
        }
    }

    /// A request with JSON answer (`Value::Null` for an empty body).
    pub async fn request_json(
        &self,
        service_type: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, OpenStackError> {
        let method_s = method.to_string();
        let resp = self.request(service_type, method, path, body).await?;
        let (base, _) = self.api_base(service_type)?;
        decode_json(
            canonical_type(service_type),
            &method_s,
            &split_url(&format!("{base}{path}")),
            &resp,
        )
    }

    /// GET with JSON answer.
    pub async fn get_json(&self, service_type: &str, path: &str) -> Result<Value, OpenStackError> {
        self.request_json(service_type, Method::GET, path, None)
            .await
    }

    fn count(&self, service: &str) {
        bump(&self.inner.counts, service);
    }

    /// Counts a request made outside this client (e.g. by a probe with its own HTTP code).
    pub fn record_request(&self, service: &str) {
        self.count(service);
    }
}
