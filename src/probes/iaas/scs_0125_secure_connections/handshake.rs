//! What `openssl s_client` reported about one handshake ([`Handshake`], parsed by
//! [`parse_s_client`]) and the judgments that read only it: chain verification, the leaf key's
//! size and the certificate's lifespan.

use super::{Check, MAX_LIFESPAN_DAYS, MIN_EC_BITS, MIN_RSA_BITS, problem};

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
