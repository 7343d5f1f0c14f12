//! scs-0125 (secure connections): the TLS configuration of every public endpoint in the service
//! catalog, judged against the Mozilla "intermediate" profile the standard names.
//!
//! How it probes (see the README section "scs-0125"):
//! - The public endpoints of the token's catalog are deduplicated by `host:port`. A URL that is not
//!   `https://` FAILs on the scheme alone (the standard: catalog entries MUST be HTTPS URLs).
//! - A TCP connect first: an endpoint that cannot be reached is ABORT for that endpoint (the network
//!   may be at fault), never PASS.
//! - SSL 3.0: rustls and Debian's OpenSSL 3 cannot offer it, so the probe sends a hand-built SSL 3.0
//!   ClientHello and reads the first record: a ServerHello for 3.0 means the server accepts it.
//! - Everything else runs the external `openssl s_client` (OpenSSL 3, found on `PATH` or named by
//!   `SCS_CHECK_OPENSSL`), always with `@SECLEVEL=0` on the client side, since OpenSSL 3's default
//!   level refuses TLS 1.0/1.1, small DH groups and small keys by itself, which would read as "the
//!   server refuses". One baseline handshake (certificate, chain verification against the
//!   clouds.yaml `cacert` or the system store, host name, key size, lifespan), then one handshake
//!   each for TLS 1.0, TLS 1.1, the forbidden TLS ≤1.2 ciphers, the forbidden TLS 1.3 suites, DHE
//!   group size and ECDHE curve size. An endpoint that answers TCP but not TLS FAILs.
//! - Without `openssl` the checks that need it are ABORT, with the reason; the scheme check and
//!   the SSL 3.0 check still run.
//!
//! This file finds the targets and decides the verdict; `scanner` runs the handshakes and
//! `handshake` reads `openssl s_client`'s report and judges the certificate.

mod handshake;
mod scanner;

use super::common::{FnProbe, abort_all};
use crate::openstack::Catalog;
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
pub use handshake::{Handshake, judge_leaf_key, judge_lifespan, judge_verify, parse_s_client};
pub use scanner::{Scanner, is_sslv3_server_hello, sslv3_client_hello};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The testcase id.
pub const TESTCASE: &str = "scs-0125-tls-public-endpoints";
/// Environment variable naming the `openssl` executable (default: `openssl` on `PATH`).
pub const OPENSSL_ENV: &str = "SCS_CHECK_OPENSSL";

/// The TLS ≤1.2 ciphers the intermediate profile allows (OpenSSL names).
pub const ALLOWED_CIPHERS: [&str; 9] = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
];
/// TLS 1.3 suites OpenSSL can offer that the profile does not allow.
pub const FORBIDDEN_SUITES_13: [&str; 2] = ["TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"];
/// Smallest RSA key (bits) and DH group the profile accepts.
pub const MIN_RSA_BITS: u32 = 2048;
/// Smallest ECDSA key / ECDHE curve (bits); X25519 counts as 256 as in the profile's checker.
pub const MIN_EC_BITS: u32 = 256;
/// The profile's maximum certificate lifespan in days.
pub const MAX_LIFESPAN_DAYS: i64 = 366;

/// The probe.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new("scs-0125-secure-connections", vec![TESTCASE.into()], run)
}

/// One public endpoint to scan (all catalog URLs that share its `host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP literal (without brackets).
    pub host: String,
    /// Port (443 when the URL has none).
    pub port: u16,
    /// `service type → URL` of the catalog entries on this endpoint.
    pub services: Vec<(String, String)>,
}

impl Target {
    /// `host:port` (`[v6]:port` for IPv6 literals).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// How findings name the endpoint.
    pub fn label(&self) -> String {
        let types: Vec<&str> = self.services.iter().map(|(t, _)| t.as_str()).collect();
        format!(
            "public endpoint {} ({})",
            self.authority(),
            types.join(", ")
        )
    }
}

/// The public endpoints of the catalog: `https` ones to scan, deduplicated by `host:port`, and a
/// FAIL finding for every URL that is not `https://` (or not a URL).
pub fn public_targets(catalog: &Catalog) -> (Vec<Target>, Vec<Finding>) {
    let mut targets: BTreeMap<(String, u16), Target> = BTreeMap::new();
    let mut bad = Vec::new();
    for entry in &catalog.entries {
        for ep in &entry.endpoints {
            if ep.interface.trim_end_matches("URL") != "public" {
                continue;
            }
            let object = format!("public endpoint {} ({})", ep.url, entry.service_type);
            let url = match reqwest::Url::parse(&ep.url) {
                Ok(u) => u,
                Err(e) => {
                    bad.push(
                        Finding::new(object, format!("the catalog URL does not parse: {e}"))
                            .expected_actual("an https:// URL", ep.url.clone()),
                    );
                    continue;
                }
            };
            if url.scheme() != "https" {
                bad.push(
                    Finding::new(
                        object,
                        "the catalog URL is not https: the API is reachable without TLS",
                    )
                    .expected_actual("scheme https", format!("scheme {}", url.scheme())),
                );
                continue;
            }
            let Some(host) = url.host_str() else {
                bad.push(Finding::new(object, "the catalog URL has no host"));
                continue;
            };
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = url.port_or_known_default().unwrap_or(443);
            targets
                .entry((host.clone(), port))
                .or_insert_with(|| Target {
                    host,
                    port,
                    services: Vec::new(),
                })
                .services
                .push((entry.service_type.clone(), ep.url.clone()));
        }
    }
    (targets.into_values().collect(), bad)
}

/// The result of one check on one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Checked, compliant.
    Ok,
    /// Checked, breaks the profile: what was expected and what happened.
    Problem {
        /// The criterion (`tls_versions`, `ciphers`, …) and what is wrong.
        message: String,
        /// Expected.
        expected: String,
        /// Found.
        actual: String,
    },
    /// Could not be checked, with the reason.
    Unchecked(String),
}

pub(super) fn problem(
    message: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Check {
    Check::Problem {
        message: message.into(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Judges the scans: FAIL on any problem (or non-https URL), else ABORT if any check could not
/// run, else PASS.
pub fn judge(bad_urls: Vec<Finding>, scans: &[(Target, Vec<(&'static str, Check)>)]) -> Outcome {
    let mut problems = bad_urls;
    let mut unchecked = Vec::new();
    for (target, checks) in scans {
        for (criterion, check) in checks {
            match check {
                Check::Ok => {}
                Check::Problem {
                    message,
                    expected,
                    actual,
                } => problems.push(
                    Finding::new(target.label(), message.clone())
                        .expected_actual(expected.clone(), actual.clone()),
                ),
                Check::Unchecked(reason) => unchecked.push(Finding::new(
                    target.label(),
                    format!("{criterion} not checked: {reason}"),
                )),
            }
        }
    }
    let n = scans.len();
    if !problems.is_empty() {
        let mut evidence = problems;
        let count = evidence.len();
        evidence.extend(unchecked);
        return Outcome::fail(
            TESTCASE,
            format!("{count} problem(s) with the TLS of the public endpoints"),
        )
        .with_evidence(evidence);
    }
    if !unchecked.is_empty() {
        return Outcome::abort(
            TESTCASE,
            format!(
                "{} check(s) of the public endpoints could not run: {}",
                unchecked.len(),
                unchecked[0].message
            ),
        )
        .with_evidence(unchecked);
    }
    if n == 0 {
        return Outcome::abort(TESTCASE, "the catalog has no public endpoint to check");
    }
    Outcome::pass(
        TESTCASE,
        format!(
            "{n} public endpoint(s) use https and comply with the Mozilla intermediate profile \
             (protocols, ciphers, certificate, key sizes); not checked: SSLv2, compression, \
             renegotiation, Heartbleed, ROBOT, internal/admin endpoints"
        ),
    )
}

/// Scans every target of the catalog with `scanner`.
pub async fn check_catalog(catalog: &Catalog, scanner: &Scanner) -> Outcome {
    let (targets, bad) = public_targets(catalog);
    let mut scans = Vec::new();
    for t in targets {
        let checks = scanner.scan(&t).await;
        scans.push((t, checks));
    }
    judge(bad, &scans)
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let snapshot = match ctx.services.openstack() {
            Ok(s) => s.clone(),
            Err(reason) => return abort_all(testcases, &reason),
        };
        let catalog = match snapshot.catalog().await {
            Ok(c) => c,
            Err(err) => return abort_all(testcases, &format!("cannot read the catalog: {err}")),
        };
        let scanner = Scanner::from_env(snapshot.client().config().cacert.clone());
        let outcome = tokio::select! {
            o = check_catalog(&catalog, &scanner) => o,
            _ = ctx.cancel.cancelled() => Outcome::abort(TESTCASE, "interrupted"),
        };
        testcases
            .iter()
            .map(|id| {
                if id == TESTCASE {
                    outcome.clone()
                } else {
                    Outcome::abort(id, "not a testcase of the scs-0125 probe")
                }
            })
            .collect()
    })
}

#[cfg(test)]
#[path = "scs_0125_tests.rs"]
mod tests;
