//! OpenStack API client: clouds.yaml discovery, Keystone v3, the catalog, paging, retries and the
//! per-run snapshot shared by all probes. Knows no standard.
//!
//! - [`config`]: `clouds.yaml`/`secure.yaml`/`OS_*` into a [`CloudConfig`].
//! - [`client`]: the [`Client`] (token, endpoints, retries, paging, request counting).
//! - [`catalog`]: the service catalog and service-type aliases.
//! - [`models`]: flavors, images, volume types, roles, ... keeping unknown fields.
//! - [`snapshot`]: each listing fetched once per run, shared by concurrent probes.
//! - [`secret`]: the [`Secret`] newtype that never prints its value.
//! - [`ledger`], [`resources`]: recording and deleting the resources probes create.

pub mod catalog;
pub mod client;
pub mod config;
pub mod ledger;
pub mod models;
pub mod resources;
pub mod secret;
pub mod snapshot;

pub use catalog::Catalog;
pub use client::{Budget, Client, ClientOptions, RawResponse, Token};
pub use config::{CloudConfig, ConfigError, load_cloud};
pub use secret::Secret;
pub use snapshot::Snapshot;

/// Anything that can go wrong talking to a cloud. Each message is one line naming the service,
/// method and URL path, and the HTTP status and the API's own message where there is one.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum OpenStackError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The API answered with an error status.
    #[error("{service} {method} {path}: HTTP {status}{}", api_message(.message))]
    Http {
        /// Service type (canonical).
        service: String,
        /// HTTP method.
        method: String,
        /// URL path and query.
        path: String,
        /// HTTP status code.
        status: u16,
        /// The API's own message, if any.
        message: String,
    },
    /// The request could not be sent or the answer not read.
    #[error("{service} {method} {path}: {message} (after {attempts} attempt(s))")]
    Transport {
        /// Service type.
        service: String,
        /// HTTP method.
        method: String,
        /// URL path and query.
        path: String,
        /// What failed.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer within the per-request timeout.
    #[error(
        "{service} {method} {path}: no answer within {seconds:.1} s (after {attempts} attempt(s))"
    )]
    Timeout {
        /// Service type.
        service: String,
        /// HTTP method.
        method: String,
        /// URL path and query.
        path: String,
        /// The timeout.
        seconds: f64,
        /// Attempts made.
        attempts: u32,
    },
    /// The answer was not what the API promises (not JSON, wrong shape).
    #[error("{service} {method} {path}: {message}")]
    Decode {
        /// Service type.
        service: String,
        /// HTTP method.
        method: String,
        /// URL path and query.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The catalog has no usable endpoint for a service.
    #[error(
        "no {service} endpoint for interface {interface}{} in the catalog (services: {available})",
        region.as_ref().map(|r| format!(" in region {r}")).unwrap_or_default()
    )]
    NoEndpoint {
        /// Requested service type.
        service: String,
        /// Interface.
        interface: String,
        /// Region, if configured.
        region: Option<String>,
        /// Types in the catalog, comma-separated.
        available: String,
    },
    /// TLS or client setup failed.
    #[error("HTTP client setup: {0}")]
    Setup(String),
    /// A listing could not be read completely (a `next` link that repeats a page, or more
    /// pages or items than the client's limits): the items read so far are not the listing.
    #[error("{service} GET {path}: incomplete listing: {message}")]
    Listing {
        /// Service type.
        service: String,
        /// URL path and query of the listing's first page.
        path: String,
        /// What happened.
        message: String,
    },
    /// The request was stopped before an answer: the work that sent it ran out of its time
    /// budget or was interrupted (Ctrl-C, the executor's timeout).
    #[error("{service} {method} {path}: stopped: {reason}")]
    Stopped {
        /// Service type.
        service: String,
        /// HTTP method.
        method: String,
        /// URL path and query.
        path: String,
        /// Why (`interrupted`, `time limit reached`).
        reason: String,
    },
    /// A link would have turned an https URL into an http one (version discovery).
    #[error("refusing to follow {to} from {from}: a link from https to plain http")]
    Downgrade {
        /// The https URL that was asked.
        from: String,
        /// The http URL it pointed to.
        to: String,
    },
}

fn api_message(m: &str) -> String {
    if m.is_empty() {
        String::new()
    } else {
        format!(": {m}")
    }
}

impl OpenStackError {
    /// The HTTP status for [`OpenStackError::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            OpenStackError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the error says only that the asking work was stopped (budget or interruption),
    /// nothing about the cloud. Such errors are never remembered for other probes.
    pub fn is_stopped(&self) -> bool {
        matches!(self, OpenStackError::Stopped { .. })
    }
}
