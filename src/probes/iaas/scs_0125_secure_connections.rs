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

use super::common::{FnProbe, abort_all};
use crate::openstack::Catalog;
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

fn problem(
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

/// How the endpoints are scanned.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// The `openssl` executable (`None`: not found, the checks needing it are ABORT).
    pub openssl: Option<PathBuf>,
    /// CA bundle for chain verification (clouds.yaml `cacert`); `None`: the system store.
    pub cacert: Option<PathBuf>,
    /// Time limit of one connection or `openssl` run.
    pub step_timeout: Duration,
}

impl Scanner {
    /// `openssl` from `SCS_CHECK_OPENSSL` or `PATH`, and the given CA bundle.
    pub fn from_env(cacert: Option<PathBuf>) -> Scanner {
        let openssl = match std::env::var_os(OPENSSL_ENV) {
            Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
            None => find_on_path("openssl"),
        };
        Scanner {
            openssl,
            cacert,
            step_timeout: Duration::from_secs(20),
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What `openssl s_client` reported about one handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handshake {
    /// TCP connected.
    pub connected: bool,
    /// Negotiated protocol (`TLSv1.3`), if the handshake completed.
    pub protocol: Option<String>,
    /// Negotiated cipher, if the handshake completed.
    pub cipher: Option<String>,
    /// `Verify return code: N (text)`.
    pub verify: Option<(i32, String)>,
    /// The leaf key: algorithm and bits (`rsaEncryption`, 2048).
    pub leaf_key: Option<(String, u32)>,
    /// The leaf's `NotBefore`/`NotAfter` text.
    pub validity: Option<(String, String)>,
    /// `Server Temp Key`: kind and bits (`DH`, 1024).
    pub temp_key: Option<(String, u32)>,
    /// The first error line, for reasons.
    pub error: Option<String>,
}

impl Handshake {
    /// Whether a cipher was agreed.
    pub fn accepted(&self) -> bool {
        self.cipher.is_some()
    }
}

/// Parses the output of `openssl s_client` (stdout and stderr together).
pub fn parse_s_client(text: &str) -> Handshake {
    let mut h = Handshake {
        connected: text.contains("CONNECTED("),
        ..Default::default()
    };
    let mut in_leaf = false;
    for line in text.lines() {
        let t = line.trim();
        if line.starts_with(" 0 s:") {
            in_leaf = true;
        } else if line.starts_with(" 1 s:") || t == "---" {
            in_leaf = false;
        }
        if in_leaf && let Some(rest) = t.strip_prefix("a:PKEY: ") {
            // "rsaEncryption, 2048 (bit); sigalg: RSA-SHA256"
            let mut parts = rest.split(';').next().unwrap_or("").split(',');
            let alg = parts.next().unwrap_or("").trim().to_string();
            let bits = parts
                .next()
                .and_then(|b| b.trim().split(' ').next())
                .and_then(|b| b.parse().ok());
            if let Some(bits) = bits {
                h.leaf_key = Some((alg, bits));
            }
        }
        if in_leaf
            && let Some(rest) = t.strip_prefix("v:NotBefore: ")
            && let Some((nb, na)) = rest.split_once("; NotAfter: ")
        {
            h.validity = Some((nb.trim().to_string(), na.trim().to_string()));
        }
        if let Some(rest) = t.strip_prefix("New, ")
            && let Some((proto, cipher)) = rest.split_once(", Cipher is ")
            && proto != "(NONE)"
            && cipher.trim() != "(NONE)"
        {
            h.protocol = Some(proto.to_string());
            h.cipher = Some(cipher.trim().to_string());
        }
        if let Some(rest) = t.strip_prefix("Verify return code: ") {
            let (code, text) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Ok(code) = code.parse() {
                let text = text.trim().trim_start_matches('(').trim_end_matches(')');
                h.verify = Some((code, text.to_string()));
            }
        }
        if let Some(rest) = t.strip_prefix("Server Temp Key: ") {
            // "X25519, 253 bits" or "DH, 1024 bits" or "ECDH, secp224r1, 224 bits"
            let kind = rest.split(',').next().unwrap_or("").trim().to_string();
            let bits = rest
                .rsplit(',')
                .next()
                .and_then(|b| b.trim().split(' ').next())
                .and_then(|b| b.parse().ok());
            if let Some(bits) = bits {
                h.temp_key = Some((kind, bits));
            }
        }
        if h.error.is_none()
            && (t.contains(":error:") || t.starts_with("connect:") || t.contains("errno="))
        {
            h.error = Some(t.to_string());
        }
    }
    h
}

impl Scanner {
    /// Runs `openssl s_client` against `target` with `extra` arguments; `Err` is why it could not
    /// run (missing tool, timeout).
    async fn s_client(&self, target: &Target, extra: &[&str]) -> Result<Handshake, String> {
        let Some(openssl) = &self.openssl else {
            return Err(format!(
                "the openssl executable was not found (install the openssl package or set {OPENSSL_ENV})"
            ));
        };
        let mut cmd = tokio::process::Command::new(openssl);
        cmd.arg("s_client").arg("-connect").arg(target.authority());
        let is_ip = target.host.parse::<std::net::IpAddr>().is_ok();
        if is_ip {
            cmd.arg("-verify_ip").arg(&target.host);
        } else {
            cmd.arg("-servername")
                .arg(&target.host)
                .arg("-verify_hostname")
                .arg(&target.host);
        }
        if let Some(ca) = &self.cacert {
            cmd.arg("-CAfile").arg(ca);
        }
        cmd.args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", openssl.display()))?;
        let out = tokio::time::timeout(self.step_timeout, child.wait_with_output())
            .await
            .map_err(|_| {
                format!(
                    "openssl s_client {} did not finish within {}s",
                    extra.join(" "),
                    self.step_timeout.as_secs()
                )
            })?
            .map_err(|e| format!("openssl s_client: {e}"))?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(parse_s_client(&text))
    }

    /// Scans one endpoint: `(criterion, check)` pairs.
    pub async fn scan(&self, target: &Target) -> Vec<(&'static str, Check)> {
        let mut out = Vec::new();
        // Reachability.
        let addr = target.authority();
        match tokio::time::timeout(self.step_timeout, TcpStream::connect(&addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                out.push((
                    "reachable",
                    Check::Unchecked(format!("TCP connect to {addr} failed: {e}")),
                ));
                return out;
            }
            Err(_) => {
                out.push((
                    "reachable",
                    Check::Unchecked(format!("TCP connect to {addr} timed out")),
                ));
                return out;
            }
        }
        // Baseline handshake.
        let base = match self.s_client(target, &["-cipher", "ALL:@SECLEVEL=0"]).await {
            Ok(h) => h,
            Err(reason) => {
                out.push(("tls", Check::Unchecked(reason)));
                out.push(("tls_versions", self.sslv3(target).await));
                return out;
            }
        };
        if !base.accepted() {
            if !base.connected {
                out.push((
                    "reachable",
                    Check::Unchecked(format!(
                        "openssl could not connect: {}",
                        base.error.as_deref().unwrap_or("no reason given")
                    )),
                ));
            } else {
                out.push((
                    "tls",
                    problem(
                        "no TLS handshake: the endpoint does not speak TLS (1.0 to 1.3)",
                        "a TLS 1.2 or 1.3 handshake",
                        base.error.unwrap_or_else(|| "handshake failed".into()),
                    ),
                ));
            }
            return out;
        }
        out.push(("tls", Check::Ok));
        out.push(("certificate_path_validation", judge_verify(&base)));
        out.push(("key_size", judge_leaf_key(&base)));
        out.push(("certificate_lifespan", judge_lifespan(&base)));
        // Forbidden protocols.
        let mut versions = Vec::new();
        match self.sslv3(target).await {
            Check::Ok => {}
            other => versions.push(other),
        }
        for (flag, name) in [("-tls1", "TLSv1.0"), ("-tls1_1", "TLSv1.1")] {
            match self
                .s_client(target, &[flag, "-cipher", "ALL:@SECLEVEL=0"])
                .await
            {
                Ok(h) if h.accepted() => versions.push(problem(
                    format!("tls_versions: the server accepts {name}"),
                    "only TLSv1.2 and TLSv1.3",
                    format!("{name} handshake with {}", h.cipher.unwrap_or_default()),
                )),
                Ok(_) => {}
                Err(reason) => versions.push(Check::Unchecked(format!("{name}: {reason}"))),
            }
        }
        if versions.is_empty() {
            out.push(("tls_versions", Check::Ok));
        }
        out.extend(versions.into_iter().map(|c| ("tls_versions", c)));
        out.push(("ciphers", self.forbidden_ciphers(target).await));
        out.push(("ciphersuites", self.forbidden_suites_13(target).await));
        out.push((
            "dh_param_size",
            self.temp_key_size(
                target,
                &["-tls1_2", "-cipher", "kDHE:@SECLEVEL=0"],
                "DHE",
                MIN_RSA_BITS,
            )
            .await,
        ));
        out.push((
            "ecdh_param_size",
            self.temp_key_size(
                target,
                &[
                    "-tls1_2",
                    "-cipher",
                    "kECDHE:@SECLEVEL=0",
                    "-groups",
                    "P-224",
                ],
                "ECDHE",
                MIN_EC_BITS,
            )
            .await,
        ));
        out
    }

    /// Offers every TLS ≤1.2 cipher outside the profile, removing each accepted one and asking
    /// again, so the finding lists them all (at most 30 rounds).
    async fn forbidden_ciphers(&self, target: &Target) -> Check {
        let mut excluded: Vec<String> = ALLOWED_CIPHERS.iter().map(|c| c.to_string()).collect();
        let mut accepted = Vec::new();
        for _ in 0..30 {
            let spec = format!("ALL:COMPLEMENTOFALL:!{}:@SECLEVEL=0", excluded.join(":!"));
            match self.s_client(target, &["-tls1_2", "-cipher", &spec]).await {
                Ok(h) => match h.cipher {
                    Some(c) if !excluded.contains(&c) => {
                        excluded.push(c.clone());
                        accepted.push(c);
                    }
                    _ => break,
                },
                Err(reason) => return Check::Unchecked(format!("TLS 1.2 ciphers: {reason}")),
            }
        }
        if accepted.is_empty() {
            Check::Ok
        } else {
            problem(
                "ciphers: the server accepts TLS 1.2 ciphers outside the intermediate profile",
                ALLOWED_CIPHERS.join(" "),
                format!("accepted: {}", accepted.join(" ")),
            )
        }
    }

    async fn forbidden_suites_13(&self, target: &Target) -> Check {
        let suites = FORBIDDEN_SUITES_13.join(":");
        match self
            .s_client(target, &["-tls1_3", "-ciphersuites", &suites])
            .await
        {
            Ok(h) => match h.cipher {
                Some(c) => problem(
                    "ciphersuites: the server accepts a TLS 1.3 suite outside the intermediate profile",
                    "TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256",
                    format!("accepted: {c}"),
                ),
                None => Check::Ok,
            },
            Err(reason) => Check::Unchecked(format!("TLS 1.3 suites: {reason}")),
        }
    }

    async fn temp_key_size(&self, target: &Target, args: &[&str], what: &str, min: u32) -> Check {
        match self.s_client(target, args).await {
            Ok(h) => match (h.cipher.as_ref(), h.temp_key) {
                (None, _) => Check::Ok,
                (Some(_), Some((kind, bits))) => {
                    let bits = if kind == "X25519" || kind == "X448" {
                        bits.max(MIN_EC_BITS)
                    } else {
                        bits
                    };
                    if bits < min {
                        problem(
                            format!("{what} key exchange with a {bits}-bit {kind} key"),
                            format!("at least {min} bits"),
                            format!("{kind}, {bits} bits"),
                        )
                    } else {
                        Check::Ok
                    }
                }
                (Some(c), None) => {
                    Check::Unchecked(format!("{what} handshake ({c}) showed no server temp key"))
                }
            },
            Err(reason) => Check::Unchecked(format!("{what} key size: {reason}")),
        }
    }

    /// Sends a hand-built SSL 3.0 ClientHello and reads the first record.
    async fn sslv3(&self, target: &Target) -> Check {
        match tokio::time::timeout(self.step_timeout, sslv3_accepted(&target.authority())).await {
            Ok(Ok(true)) => problem(
                "tls_versions: the server accepts SSLv3",
                "only TLSv1.2 and TLSv1.3",
                "an SSL 3.0 ServerHello",
            ),
            Ok(Ok(false)) => Check::Ok,
            Ok(Err(e)) => Check::Unchecked(format!("SSLv3: {e}")),
            Err(_) => Check::Unchecked("SSLv3: no answer in time".into()),
        }
    }
}

/// The SSL 3.0 ClientHello (RFC 6101): every SSL 3.0 cipher suite, no extensions.
pub fn sslv3_client_hello() -> Vec<u8> {
    let mut suites: Vec<u8> = Vec::new();
    for s in 0x0001u16..=0x003a {
        suites.extend_from_slice(&s.to_be_bytes());
    }
    suites.extend_from_slice(&0x00ffu16.to_be_bytes());
    let mut body = vec![0x03, 0x00];
    body.extend((0..32u8).map(|i| i.wrapping_mul(37).wrapping_add(11)));
    body.push(0); // session id
    body.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    body.extend_from_slice(&suites);
    body.extend_from_slice(&[1, 0]); // null compression
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x00];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// Whether the first record answers the SSL 3.0 hello with an SSL 3.0 ServerHello.
pub fn is_sslv3_server_hello(answer: &[u8]) -> bool {
    // record: type 22, version 3.0; handshake type 2; server_version 3.0
    answer.len() >= 11
        && answer[0] == 0x16
        && answer[1..3] == [0x03, 0x00]
        && answer[5] == 0x02
        && answer[9..11] == [0x03, 0x00]
}

async fn sslv3_accepted(addr: &str) -> Result<bool, String> {
    let mut s = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    if s.write_all(&sslv3_client_hello()).await.is_err() {
        return Ok(false);
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64];
    while buf.len() < 11 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(is_sslv3_server_hello(&buf))
}

/// Chain verification (with host name) of the baseline handshake.
pub fn judge_verify(h: &Handshake) -> Check {
    match &h.verify {
        Some((0, _)) => Check::Ok,
        Some((code, text)) => problem(
            format!("certificate_path_validation: the certificate does not verify: {text}"),
            "a chain to a trusted CA (clouds.yaml cacert, else the system store), valid now, for the host name",
            format!("verify code {code} ({text})"),
        ),
        None => Check::Unchecked("openssl printed no verification result".into()),
    }
}

/// RSA leaf ≥ 2048 bits, EC leaf ≥ 256 bits.
pub fn judge_leaf_key(h: &Handshake) -> Check {
    match &h.leaf_key {
        Some((alg, bits)) if alg == "rsaEncryption" || alg == "rsassaPss" => {
            if *bits < MIN_RSA_BITS {
                problem(
                    format!("rsa_key_size: the certificate's RSA key has {bits} bits"),
                    format!("at least {MIN_RSA_BITS} bits"),
                    format!("{bits} bits"),
                )
            } else {
                Check::Ok
            }
        }
        Some((alg, bits)) if alg == "id-ecPublicKey" => {
            if *bits < MIN_EC_BITS {
                problem(
                    format!("certificate key: the certificate's EC key has {bits} bits"),
                    format!("at least {MIN_EC_BITS} bits"),
                    format!("{bits} bits"),
                )
            } else {
                Check::Ok
            }
        }
        Some((alg, _)) => problem(
            "certificate_types: the certificate key is neither RSA nor ECDSA",
            "rsaEncryption or id-ecPublicKey",
            alg.clone(),
        ),
        None => Check::Unchecked("openssl printed no leaf key (a:PKEY line)".into()),
    }
}

/// Lifespan of the leaf (notAfter − notBefore) at most 366 days.
pub fn judge_lifespan(h: &Handshake) -> Check {
    let Some((nb, na)) = &h.validity else {
        return Check::Unchecked("openssl printed no certificate validity".into());
    };
    let parse = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s.trim_end_matches(" GMT"), "%b %e %H:%M:%S %Y")
    };
    match (parse(nb), parse(na)) {
        (Ok(b), Ok(a)) => {
            let days = (a - b).num_days();
            if days > MAX_LIFESPAN_DAYS {
                problem(
                    format!(
                        "maximum_certificate_lifespan: the certificate is valid for {days} days"
                    ),
                    format!("at most {MAX_LIFESPAN_DAYS} days"),
                    format!("{nb} to {na}"),
                )
            } else {
                Check::Ok
            }
        }
        _ => Check::Unchecked(format!("unreadable certificate dates {nb:?} / {na:?}")),
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
