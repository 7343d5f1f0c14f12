//! The HTTP client over reqwest: Keystone v3 authentication and token renewal, endpoint choice
//! and version discovery, compute microversion negotiation, bounded retries with backoff,
//! per-request timeouts capped by the asking work's [`Budget`], bounded bodies, bounded
//! pagination and request counting per service.

use super::OpenStackError;
use super::catalog::{Catalog, canonical_type, substitute_project};
use super::config::{AuthType, CloudConfig};
use super::models::Role;
use super::secret::Secret;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

mod paging;

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

/// The time budget and cancellation of the work that sends requests (one native probe): each
/// request attempt and retry wait is cut at the deadline, and a cancelled token drops the
/// request in flight. The executor sets it around each probe ([`Budget::scope`]); requests
/// outside any scope are bounded only by [`ClientOptions`].
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// When the work must have ended.
    pub deadline: Option<Instant>,
    /// Cancelled when the work is interrupted or timed out.
    pub cancel: Option<CancellationToken>,
}

tokio::task_local! {
    static BUDGET: Budget;
}

impl Budget {
    /// A budget ending at `deadline` (if any) and cancelled with `cancel`.
    pub fn new(deadline: Option<Instant>, cancel: CancellationToken) -> Budget {
        Budget {
            deadline,
            cancel: Some(cancel),
        }
    }

    /// Runs `f` under this budget (replacing any budget around it).
    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        BUDGET.scope(self, f).await
    }

    /// The budget of the current task (unlimited outside any scope).
    pub fn current() -> Budget {
        BUDGET.try_with(Budget::clone).unwrap_or_default()
    }

    /// Runs `f` without the current budget: for a cleanup that must go on after the work was
    /// interrupted or timed out (it has limits of its own).
    pub async fn exempt<F: std::future::Future>(f: F) -> F::Output {
        Budget::default().scope(f).await
    }

    /// Time left; `None` when unlimited.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Why the work must stop now, if it must.
    pub fn stop_reason(&self) -> Option<&'static str> {
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            Some("interrupted")
        } else if self.remaining() == Some(Duration::ZERO) {
            Some("time limit reached")
        } else {
            None
        }
    }

    /// Resolves when the work must stop (never for an unlimited budget), with the reason.
    pub async fn stopped(&self) -> &'static str {
        let cancelled = async {
            match &self.cancel {
                Some(c) => c.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let expired = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = cancelled => "interrupted",
            _ = expired => "time limit reached",
        }
    }

    /// Runs `f` unless the budget runs out first; then [`OpenStackError::Stopped`] naming
    /// `service`, `method` and `path`.
    pub async fn guard<T, F>(
        &self,
        service: &str,
        method: &str,
        path: &str,
        f: F,
    ) -> Result<T, OpenStackError>
    where
        F: std::future::Future<Output = Result<T, OpenStackError>>,
    {
        let stopped = |reason: &str| OpenStackError::Stopped {
            service: service.into(),
            method: method.into(),
            path: path.into(),
            reason: reason.into(),
        };
        if let Some(reason) = self.stop_reason() {
            return Err(stopped(reason));
        }
        tokio::select! {
            biased;
            reason = self.stopped() => Err(stopped(reason)),
            r = f => r,
        }
    }
}

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

/// A raw answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
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

/// The token value in use.
#[derive(Clone)]
struct Current {
    value: Secret,
    /// Renew at or after this instant (shortly before `expires_at`); `None`: never.
    renew_at: Option<Instant>,
    /// Counts renewals, so that a request that saw an old token renews at most once.
    generation: u64,
}

impl Current {
    fn of(token: &Token) -> Current {
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

/// A transport error as one line: what failed, then the causes (without the URL, which the
/// caller names already).
fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut msg = String::from(if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "error reading the answer"
    } else if e.is_request() {
        "error sending the request"
    } else {
        "request failed"
    });
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// The API's own message from an error body (Nova/Cinder `{"itemNotFound": {"message"}}`,
/// Keystone `{"error": {"message"}}`, Neutron `{"NeutronError": {"message"}}`, Barbican
/// `{"description"}`), else the first line of a text body.
pub fn api_error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        fn find(v: &Value, depth: u32) -> Option<String> {
            let obj = v.as_object()?;
            for key in ["message", "description", "faultstring", "detail", "title"] {
                if let Some(Value::String(s)) = obj.get(key)
                    && !s.is_empty()
                {
                    return Some(s.clone());
                }
            }
            if depth == 0 {
                return None;
            }
            obj.values().find_map(|v| find(v, depth - 1))
        }
        if let Some(m) = find(&v, 2) {
            return m;
        }
    }
    let text = String::from_utf8_lossy(body);
    let tag = |name: &str| -> Option<String> {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].trim().to_string())
    };
    if let Some(code) = tag("Code") {
        // S3-style XML error
        return match tag("Message") {
            Some(m) if !m.is_empty() => format!("{code}: {m}"),
            _ => code,
        };
    }
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('<'))
        .collect::<Vec<_>>()
        .join(" ");
    line.chars().take(300).collect()
}

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
fn versions_of(doc: &Value) -> Vec<Value> {
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

fn self_link(version: &Value) -> Option<String> {
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
fn no_downgrade(from: &str, to: &str) -> Result<(), OpenStackError> {
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
fn wanted_microversion() -> String {
    format!("{}.{}", COMPUTE_MICROVERSION.0, COMPUTE_MICROVERSION.1)
}

/// The headers that ask compute for microversion `mv` (none without one).
fn microversion_headers(mv: Option<&str>) -> Vec<(String, String)> {
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
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("scs-check/", env!("CARGO_PKG_VERSION")));
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
                    std::fs::read(key).map_err(|e| {
                        OpenStackError::Setup(format!("key {}: {e}", key.display()))
                    })?,
                );
            }
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                OpenStackError::Setup(format!("client certificate {}: {e}", cert.display()))
            })?;
            builder = builder.identity(id);
        }
        let http = builder
            .build()
            .map_err(|e| OpenStackError::Setup(error_chain(&e)))?;
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

    /// The token as first issued (roles, catalog, project). Its `value` may have been renewed
    /// since; requests use [`Client::current_token`].
    pub fn token(&self) -> &Token {
        &self.inner.token
    }

    /// The token value requests carry now.
    pub fn current_token(&self) -> Secret {
        self.current().value
    }

    fn current(&self) -> Current {
        match self.inner.current.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Whether the configured auth can get a new token (a bare `token` auth cannot).
    fn can_renew(&self) -> bool {
        self.inner.config.auth_type != AuthType::Token
    }

    /// Re-authenticates unless another request already renewed the token since `seen`
    /// (one renewal for many concurrent requests).
    async fn renew(&self, seen: u64) -> Result<(), OpenStackError> {
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
        let resp = match self
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
            Ok(resp) => resp,
            Err(e) if e.is_stopped() => return Err(e),
            Err(_) => return Ok(fallback),
        };
        let Ok(doc) = serde_json::from_slice::<Value>(&resp.body) else {
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

    /// The negotiated compute microversion (`None` when the server has none).
    pub async fn compute_microversion(&self) -> Result<Option<String>, OpenStackError> {
        let base = self.endpoint("compute").await?;
        let v = Budget::current()
            .guard("compute", "GET", &split_url(&format!("{base}/")), async {
                self.inner
                    .compute_version
                    .get_or_try_init(|| async {
                        let resp = match self
                            .send(
                                "compute",
                                Method::GET,
                                &format!("{base}/"),
                                None,
                                &[],
                                true,
                                true,
                            )
                            .await
                        {
                            Ok(resp) => resp,
                            // Not remembered: the next request asks again.
                            Err(e) if e.is_stopped() => return Err(e),
                            Err(_) => return Ok(None),
                        };
                        let Ok(doc) = serde_json::from_slice::<Value>(&resp.body) else {
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
    fn service_headers(&self, service: &str) -> (Vec<(String, String)>, bool) {
        if service != "compute" {
            return (vec![], false);
        }
        match self.inner.compute_version.get() {
            Some(known) => (microversion_headers(known.as_deref()), false),
            None => (microversion_headers(Some(&wanted_microversion())), true),
        }
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

    /// Sends one request to an absolute URL (with the token when `with_token`), retrying as
    /// described for [`Client::request`]. Used for endpoints outside the catalog's APIs, e.g.
    /// an S3 `ListBuckets`.
    #[allow(clippy::too_many_arguments)]
    pub async fn send(
        &self,
        service: &str,
        method: Method,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        idempotent: bool,
        with_token: bool,
    ) -> Result<RawResponse, OpenStackError> {
        let mut current = with_token.then(|| self.current());
        // Renew a token about to expire before using it.
        if let Some(c) = &current
            && c.renew_at.is_some_and(|at| Instant::now() >= at)
            && self.can_renew()
        {
            self.renew(c.generation).await?;
            current = Some(self.current());
        }
        let attempt = |token: Option<Secret>| {
            let method = method.clone();
            async move {
                send_with_retries(
                    &self.inner.http,
                    &self.inner.options,
                    &self.inner.counts,
                    SendArgs {
                        service,
                        method,
                        url,
                        body,
                        headers,
                        idempotent,
                        token: token.as_ref(),
                    },
                )
                .await
            }
        };
        let result = attempt(current.as_ref().map(|c| c.value.clone())).await;
        match (&result, &current) {
            // A 401 with our token: renew (once) and try once more with the new token.
            (Err(OpenStackError::Http { status: 401, .. }), Some(c)) if self.can_renew() => {
                self.renew(c.generation).await?;
                attempt(Some(self.current().value)).await
            }
            _ => result,
        }
    }

    /// Counts a request made outside this client (e.g. by a probe with its own HTTP code).
    pub fn record_request(&self, service: &str) {
        self.count(service);
    }
}

fn bump(counts: &Mutex<BTreeMap<String, u64>>, service: &str) {
    if let Ok(mut c) = counts.lock() {
        *c.entry(service.to_string()).or_insert(0) += 1;
    }
}

struct SendArgs<'a> {
    service: &'a str,
    method: Method,
    url: &'a str,
    body: Option<&'a Value>,
    headers: &'a [(&'a str, &'a str)],
    idempotent: bool,
    token: Option<&'a Secret>,
}

/// Why one attempt failed before a status arrived.
enum AttemptError {
    Http(reqwest::Error),
    /// The body is larger than `max_body`.
    TooLarge,
}

impl From<reqwest::Error> for AttemptError {
    fn from(e: reqwest::Error) -> Self {
        AttemptError::Http(e)
    }
}

async fn send_with_retries(
    http: &reqwest::Client,
    options: &ClientOptions,
    counts: &Mutex<BTreeMap<String, u64>>,
    a: SendArgs<'_>,
) -> Result<RawResponse, OpenStackError> {
    let path = split_url(a.url);
    let budget = Budget::current();
    let method = a.method.to_string();
    budget
        .guard(a.service, &method, &path, async {
            send_attempts(http, options, counts, &a, &path, &budget).await
        })
        .await
}

async fn send_attempts(
    http: &reqwest::Client,
    options: &ClientOptions,
    counts: &Mutex<BTreeMap<String, u64>>,
    a: &SendArgs<'_>,
    path: &str,
    budget: &Budget,
) -> Result<RawResponse, OpenStackError> {
    let path = path.to_string();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        bump(counts, a.service);
        // Each attempt ends by the per-request timeout or the work's deadline, whichever first.
        let timeout = match budget.remaining() {
            Some(left) => options.timeout.min(left.max(Duration::from_millis(1))),
            None => options.timeout,
        };
        let mut req = http
            .request(a.method.clone(), a.url)
            .timeout(timeout)
            .header("Accept", "application/json");
        if let Some(t) = a.token
            && let Ok(mut v) = HeaderValue::from_str(t.expose())
        {
            v.set_sensitive(true);
            req = req.header("X-Auth-Token", v);
        }
        for (k, v) in a.headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = a.body {
            req = req.json(b);
        }
        let can_retry = attempt <= options.max_retries;
        let backoff = options.backoff * 2u32.saturating_pow(attempt - 1);
        // A wait that would outlast the budget is no retry at all.
        let fits = |wait: Duration| budget.remaining().is_none_or(|left| wait < left);
        let result = async {
            let mut resp = req.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            if resp
                .content_length()
                .is_some_and(|n| n > options.max_body as u64)
            {
                return Err(AttemptError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                if body.len() + chunk.len() > options.max_body {
                    return Err(AttemptError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, AttemptError>(RawResponse {
                status,
                headers,
                body,
            })
        }
        .await;
        match result {
            Err(AttemptError::TooLarge) => {
                return Err(OpenStackError::Decode {
                    service: a.service.into(),
                    method: a.method.to_string(),
                    path,
                    message: format!(
                        "answer larger than the limit of {}",
                        human_size(options.max_body)
                    ),
                });
            }
            Err(AttemptError::Http(e)) => {
                if a.idempotent && can_retry && fits(backoff) {
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                return Err(if e.is_timeout() {
                    OpenStackError::Timeout {
                        service: a.service.into(),
                        method: a.method.to_string(),
                        path,
                        seconds: timeout.as_secs_f64(),
                        attempts: attempt,
                    }
                } else {
                    OpenStackError::Transport {
                        service: a.service.into(),
                        method: a.method.to_string(),
                        path,
                        message: error_chain(&e),
                        attempts: attempt,
                    }
                });
            }
            Ok(resp) if resp.status < 400 => return Ok(resp),
            Ok(resp) => {
                let retryable = resp.status == 429 || resp.status >= 500;
                let wait = resp
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(retry_after)
                    .map(|d| d.min(options.max_retry_after))
                    .unwrap_or(backoff);
                if retryable && can_retry && (a.idempotent || resp.status == 429) && fits(wait) {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let mut message = api_error_message(&resp.body);
                if attempt > 1 {
                    message = format!("{message} (after {attempt} attempts)");
                }
                return Err(OpenStackError::Http {
                    service: a.service.into(),
                    method: a.method.to_string(),
                    path,
                    status: resp.status,
                    message: message.trim_start_matches(": ").to_string(),
                });
            }
        }
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (a date in the past is no wait).
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return secs
            .is_finite()
            .then(|| Duration::from_secs_f64(secs.clamp(0.0, 86_400.0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// `64 MiB`, `512 KiB`, `100 bytes`.
fn human_size(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

fn decode_json(
    service: &str,
    method: &str,
    path: &str,
    resp: &RawResponse,
) -> Result<Value, OpenStackError> {
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let err = |message: String| OpenStackError::Decode {
        service: service.into(),
        method: method.into(),
        path: path.into(),
        message,
    };
    if let Some(ct) = resp.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
        && !ct.to_ascii_lowercase().contains("json")
    {
        return Err(err(format!(
            "expected a JSON answer, got content type \"{ct}\" (HTTP {})",
            resp.status
        )));
    }
    serde_json::from_slice(&resp.body).map_err(|e| {
        err(format!(
            "answer is not valid JSON (HTTP {}): {e}",
            resp.status
        ))
    })
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

async fn authenticate(
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
    fn error_messages_from_bodies() {
        assert_eq!(
            api_error_message(
                br#"{"itemNotFound": {"code": 404, "message": "Flavor x could not be found."}}"#
            ),
            "Flavor x could not be found."
        );
        assert_eq!(
            api_error_message(
                br#"{"NeutronError": {"type": "X", "message": "nope", "detail": ""}}"#
            ),
            "nope"
        );
        assert_eq!(
            api_error_message(
                b"<html><body>\n404 Not Found\n\nThe resource could not be found.\n</body></html>"
            ),
            "404 Not Found The resource could not be found."
        );
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

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("-1"), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = retry_after(&later).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        assert_eq!(retry_after("soon"), None);
    }

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
