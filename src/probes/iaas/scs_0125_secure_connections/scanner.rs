//! How the endpoints are scanned: the [`Scanner`] runs `openssl s_client` per criterion (TLS
//! versions, ciphers, TLS 1.3 suites, key exchange sizes, certificate) and speaks a bare SSLv3
//! hello itself, since current OpenSSL builds cannot.

use super::handshake::{Handshake, judge_leaf_key, judge_lifespan, judge_verify, parse_s_client};
use super::{
    ALLOWED_CIPHERS, Check, FORBIDDEN_SUITES_13, MIN_EC_BITS, MIN_RSA_BITS, OPENSSL_ENV, Target,
    problem,
};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

pub(super) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
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
