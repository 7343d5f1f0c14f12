//! Verifying signed reports: the SSHSIG signature (namespace `report`, as `ssh-keygen -Y verify`
//! checks it) against an allowed-signers file or a public key, and the signed bytes as a
//! well-formed report (the monitor's required fields present, run uuids unique).

use super::{CertError, NAMESPACE, read_file};
use crate::report::{Report, read_reports};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ssh_key::{HashAlg, PublicKey, SshSig};
use std::path::Path;

/// One trusted key: the principals it may sign for (empty for a bare public key), the key and
/// the options of its allowed-signers line.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Principal patterns (identities) from the allowed-signers line (OpenSSH pattern-list:
    /// `*`, `?`, `!negation`); empty for a public-key file.
    pub principals: Vec<String>,
    /// The public key.
    pub key: PublicKey,
    /// The line's options.
    pub options: SignerOptions,
    /// 1-based line in the file (for messages).
    pub line: usize,
}

/// The options of an allowed-signers line that `ssh-keygen -Y verify` honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerOptions {
    /// `cert-authority`: the key only vouches for certificates it signed; a signature made by
    /// the key itself is not accepted through this line (as in ssh-keygen).
    pub cert_authority: bool,
    /// `namespaces="…"`: a pattern-list the signature's namespace must match.
    pub namespaces: Option<String>,
    /// `valid-after=…`: the key is valid at or after this instant.
    pub valid_after: Option<DateTime<Utc>>,
    /// `valid-before=…`: the key is valid at or before this instant.
    pub valid_before: Option<DateTime<Utc>>,
}

/// What a successful verification found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer whose key made the signature.
    pub signer: Signer,
    /// SHA-256 fingerprint of that key (`SHA256:…`).
    pub fingerprint: String,
    /// The reports in the signed bytes.
    pub reports: Vec<Report>,
}

impl Verified {
    /// Which principal the signature was accepted for: the `-I` identity when given, otherwise
    /// the principal patterns of the accepting line (empty for a bare public key).
    pub fn principal_text(&self, identity: Option<&str>) -> String {
        match identity {
            Some(id) if !self.signer.principals.is_empty() => format!(
                "principal {id} (allowed by line {}: {})",
                self.signer.line,
                self.signer.principals.join(",")
            ),
            _ if self.signer.principals.is_empty() => String::new(),
            _ => format!(
                "principal {} (line {}; no -I given, so any principal of that line)",
                self.signer.principals.join(","),
                self.signer.line
            ),
        }
    }
}

/// Key types an allowed-signers line may name.
fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

/// Reads an allowed-signers file (`principals [options] keytype base64 [comment]` per line,
/// `#` comments) or a public-key file (`keytype base64 [comment]`, as `.pub` files are).
/// The options `cert-authority`, `namespaces=`, `valid-after=` and `valid-before=` are read
/// as `ssh-keygen` reads them; any other option is an error naming the line.
pub fn read_signers(path: &Path) -> Result<Vec<Signer>, CertError> {
    let bytes = read_file(path)?;
    let text = String::from_utf8_lossy(&bytes);
    parse_signers(&text, path)
}

/// Parses the text of an allowed-signers or public-key file (see [`read_signers`]); `path` only
/// names the file in errors.
pub fn parse_signers(text: &str, path: &Path) -> Result<Vec<Signer>, CertError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| CertError::Signers {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let words = split_words(line);
        let Some(at) = words.iter().position(|w| is_key_type(w)) else {
            return Err(err("no key type (such as ssh-ed25519) on this line".into()));
        };
        let Some(blob) = words.get(at + 1) else {
            return Err(err(format!("{} is not followed by the key", words[at])));
        };
        if words[at].contains("-cert-v01@") {
            return Err(err(format!(
                "{}: certificates are not keys of an allowed-signers line (use the CA key with cert-authority)",
                words[at]
            )));
        }
        let key = PublicKey::from_openssh(&format!("{} {blob}", words[at]))
            .map_err(|e| err(format!("unreadable {} key ({e})", words[at])))?;
        let (principals, options) = match at {
            0 => (vec![], SignerOptions::default()),
            1 => (principal_list(&words[0]), SignerOptions::default()),
            2 => (
                principal_list(&words[0]),
                parse_options(&words[1]).map_err(err)?,
            ),
            _ => {
                return Err(err(format!(
                    "unexpected {:?} before the key type (options are one comma-separated field without spaces)",
                    words[2]
                )));
            }
        };
        out.push(Signer {
            principals,
            key,
            options,
            line: i + 1,
        });
    }
    if out.is_empty() {
        return Err(CertError::Signers {
            path: path.to_path_buf(),
            line: 0,
            message: "no usable key in the file".into(),
        });
    }
    Ok(out)
}

fn principal_list(field: &str) -> Vec<String> {
    field
        .trim_matches('"')
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// Parses the options field of an allowed-signers line (comma-separated, values may be quoted).
fn parse_options(field: &str) -> Result<SignerOptions, String> {
    let mut options = SignerOptions::default();
    for option in split_outside_quotes(field, ',') {
        let (name, value) = match option.split_once('=') {
            Some((n, v)) => (n, Some(v.trim_matches('"').to_string())),
            None => (option.as_str(), None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("cert-authority", None) => options.cert_authority = true,
            ("namespaces", Some(v)) => options.namespaces = Some(v),
            ("valid-after", Some(v)) => options.valid_after = Some(parse_timestamp(&v)?),
            ("valid-before", Some(v)) => options.valid_before = Some(parse_timestamp(&v)?),
            _ => {
                return Err(format!(
                    "unsupported option {option:?} (ssh-keygen knows cert-authority, namespaces=, valid-after=, valid-before=)"
                ));
            }
        }
    }
    Ok(options)
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c == sep && !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// An allowed-signers timestamp: `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]`; without `Z` in the
/// system's time zone, as ssh-keygen reads it.
fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let bad =
        || format!("invalid timestamp {text:?} (expected YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z])");
    let (digits, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (text, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let naive = match digits.len() {
        8 => NaiveDate::parse_from_str(digits, "%Y%m%d")
            .ok()
            .map(|d| d.and_time(chrono::NaiveTime::MIN)),
        12 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M").ok(),
        14 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok(),
        _ => None,
    }
    .ok_or_else(bad)?;
    if utc {
        return Ok(naive.and_utc());
    }
    naive
        .and_local_timezone(chrono::Local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(bad)
}

/// Splits on whitespace, keeping double-quoted parts (option values) together.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// OpenSSH pattern matching: `*` matches any run, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

/// An OpenSSH pattern-list match (`match_pattern_list`): a matching `!pattern` denies at once,
/// otherwise at least one positive pattern must match.
fn match_pattern_list<S: AsRef<str>>(text: &str, patterns: &[S]) -> bool {
    let mut positive = false;
    for p in patterns {
        let p = p.as_ref();
        match p.strip_prefix('!') {
            Some(neg) if glob(neg, text) => return false,
            Some(_) => {}
            None if glob(p, text) => positive = true,
            None => {}
        }
    }
    positive
}

/// Checks `signature` (armored SSHSIG text) over `message` against the trusted signers, now;
/// see [`verify_signature_at`].
pub fn verify_signature<'a>(
    message: &[u8],
    signature: &str,
    signers: &'a [Signer],
    identity: Option<&str>,
    origin: &str,
) -> Result<&'a Signer, CertError> {
    verify_signature_at(message, signature, signers, identity, origin, Utc::now())
}

/// Checks `signature` (armored SSHSIG text) over `message` against the trusted signers at the
/// instant `now`, as `ssh-keygen -Y verify` does: a line accepts the signature when its key is
/// the signing key, it is not a `cert-authority` line, its `namespaces=` list matches
/// `report`, `now` lies within `valid-after`/`valid-before`, and (with `identity`) its
/// principal pattern-list matches the identity. `origin` names the signature in errors.
pub fn verify_signature_at<'a>(
    message: &[u8],
    signature: &str,
    signers: &'a [Signer],
    identity: Option<&str>,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<&'a Signer, CertError> {
    let err = |message: String| CertError::Verify {
        origin: origin.to_string(),
        message,
    };
    let sig: SshSig = signature
        .trim_start()
        .parse()
        .map_err(|e| err(format!("not an SSH signature ({e})")))?;
    if sig.namespace() != NAMESPACE {
        return Err(err(format!(
            "the signature is for namespace {:?}, not {NAMESPACE:?}",
            sig.namespace()
        )));
    }
    let same_key: Vec<&Signer> = signers
        .iter()
        .filter(|s| s.key.key_data() == sig.public_key())
        .collect();
    if same_key.is_empty() {
        let fp = PublicKey::new(sig.public_key().clone(), "").fingerprint(HashAlg::Sha256);
        return Err(err(format!("signed by {fp}, which is not a trusted key")));
    }
    // The first line that accepts the signature wins; otherwise the reasons of every line.
    let mut reasons = Vec::new();
    let mut accepted = None;
    for s in same_key {
        match line_refuses(s, identity, now) {
            Some(reason) => reasons.push(format!("line {}: {reason}", s.line)),
            None => {
                accepted = Some(s);
                break;
            }
        }
    }
    let Some(signer) = accepted else {
        return Err(err(format!(
            "the signing key is not acceptable: {}",
            reasons.join("; ")
        )));
    };
    signer
        .key
        .verify(NAMESPACE, message, &sig)
        .map_err(|_| err("BAD signature: the report was changed after signing, or the signature belongs to other data".into()))?;
    Ok(signer)
}

/// Why an allowed-signers line with the signing key does not accept it, if it does not.
fn line_refuses(s: &Signer, identity: Option<&str>, now: DateTime<Utc>) -> Option<String> {
    let o = &s.options;
    if o.cert_authority {
        return Some(
            "cert-authority: only certificates signed by this key are accepted, not signatures by the key itself (certificate signatures are not supported)".into(),
        );
    }
    if let Some(ns) = &o.namespaces
        && !match_pattern_list(NAMESPACE, &split_outside_quotes(ns, ','))
    {
        return Some(format!(
            "namespaces={ns:?} does not allow namespace {NAMESPACE:?}"
        ));
    }
    if let Some(after) = o.valid_after
        && now < after
    {
        return Some(format!("key not yet valid (valid-after {after})"));
    }
    if let Some(before) = o.valid_before
        && now > before
    {
        return Some(format!("key expired (valid-before {before})"));
    }
    if let Some(id) = identity
        && !s.principals.is_empty()
        && !match_pattern_list(id, &s.principals)
    {
        return Some(format!(
            "the key is not allowed for {id:?} (principals {})",
            s.principals.join(",")
        ));
    }
    None
}

/// Checks that `bytes` hold one or more well-formed reports: UTF-8, readable as our or the
/// reference tool's report, each with `spec.uuid`, `subject` and `run.uuid`, run uuids unique.
pub fn check_reports(bytes: &[u8], origin: &str) -> Result<Vec<Report>, CertError> {
    let bad = |message: String| CertError::Verify {
        origin: origin.to_string(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text ({e})")))?;
    let reports = read_reports(text).map_err(|e| bad(e.to_string()))?;
    if reports.is_empty() {
        return Err(bad("no report in the file".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, r) in reports.iter().enumerate() {
        let n = i + 1;
        if r.spec.uuid.trim().is_empty() {
            return Err(bad(format!("report #{n}: spec.uuid is empty")));
        }
        if r.subject.trim().is_empty() {
            return Err(bad(format!("report #{n}: subject is empty")));
        }
        if r.run.uuid.trim().is_empty() {
            return Err(bad(format!("report #{n}: run.uuid is empty")));
        }
        if !seen.insert(r.run.uuid.clone()) {
            return Err(bad(format!(
                "report #{n}: run.uuid {} appears twice (the monitor would answer 409)",
                r.run.uuid
            )));
        }
    }
    Ok(reports)
}

/// Verifies a report file against its signature file and the trusted signers, then checks the
/// report is well formed.
pub fn verify_file(
    report: &Path,
    signature: &Path,
    signers: &[Signer],
    identity: Option<&str>,
) -> Result<Verified, CertError> {
    let message = read_file(report)?;
    let sig = read_file(signature)?;
    let sig = String::from_utf8_lossy(&sig);
    let signer = verify_signature(
        &message,
        &sig,
        signers,
        identity,
        &signature.display().to_string(),
    )?
    .clone();
    let reports = check_reports(&message, &report.display().to_string())?;
    Ok(Verified {
        fingerprint: signer.key.fingerprint(HashAlg::Sha256).to_string(),
        signer,
        reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::sign::sign_bytes;
    use ssh_key::{Algorithm, PrivateKey, rand_core::OsRng};

    const REPORT: &str = "---\nspec:\n  uuid: u-1\nchecked_at: 2025-01-01 00:00:00.000000\nsubject: s\nrun:\n  uuid: r-1\n  invocations: {}\n";

    fn signers_for(key: &PrivateKey, line_prefix: &str) -> Vec<Signer> {
        let text = format!("{line_prefix}{}\n", key.public_key().to_openssh().unwrap());
        parse_signers(&text, Path::new("allowed")).unwrap()
    }

    #[test]
    fn good_signature_verifies_and_a_changed_byte_fails() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let sig = sign_bytes(&key, REPORT.as_bytes()).unwrap();
        let signers = signers_for(&key, "mail@csp.eu ");
        verify_signature(REPORT.as_bytes(), &sig, &signers, Some("mail@csp.eu"), "s").unwrap();
        let tampered = REPORT.replace("subject: s", "subject: t");
        let err = verify_signature(tampered.as_bytes(), &sig, &signers, None, "s")
            .unwrap_err()
            .to_string();
        assert!(err.contains("BAD signature"), "{err}");
        let err = verify_signature(REPORT.as_bytes(), &sig, &signers, Some("other@x"), "s")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not allowed"), "{err}");
    }

    #[test]
    fn untrusted_key_is_named_by_fingerprint() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let other = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let sig = sign_bytes(&key, REPORT.as_bytes()).unwrap();
        let err = verify_signature(REPORT.as_bytes(), &sig, &signers_for(&other, ""), None, "s")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SHA256:") && err.contains("not a trusted key"),
            "{err}"
        );
    }

    #[test]
    fn namespaces_option_and_bad_lines() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let pubkey = key.public_key().to_openssh().unwrap();
        let sig = sign_bytes(&key, REPORT.as_bytes()).unwrap();
        let text = format!("a@b namespaces=\"git\" {pubkey}\n");
        let s = parse_signers(&text, Path::new("f")).unwrap();
        let err = verify_signature(REPORT.as_bytes(), &sig, &s, None, "s")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1: namespaces=\"git\""), "{err}");
        let text = format!("# c\n\na@b,c@d namespaces=\"git,rep*\" {pubkey}\n");
        let s = parse_signers(&text, Path::new("f")).unwrap();
        assert_eq!(s[0].principals, vec!["a@b", "c@d"]);
        verify_signature(REPORT.as_bytes(), &sig, &s, Some("c@d"), "s").unwrap();
        // A negated namespace pattern denies even when another pattern matches.
        let text = format!("a@b namespaces=\"*,!report\" {pubkey}\n");
        let s = parse_signers(&text, Path::new("f")).unwrap();
        assert!(verify_signature(REPORT.as_bytes(), &sig, &s, None, "s").is_err());
        let err = parse_signers("a@b nokey\n", Path::new("f"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "f:1: no key type (such as ssh-ed25519) on this line");
        let err = parse_signers("a@b ssh-ed25519 AAAA\n", Path::new("f"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f:1: unreadable ssh-ed25519 key"), "{err}");
        let err = parse_signers(&format!("a@b no-touch-required {pubkey}\n"), Path::new("f"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("f:1: unsupported option \"no-touch-required\""),
            "{err}"
        );
        let err = parse_signers(
            &format!("a@b valid-after=\"2025\" {pubkey}\n"),
            Path::new("f"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("invalid timestamp \"2025\""), "{err}");
    }

    #[test]
    fn principal_patterns_follow_openssh() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let pubkey = key.public_key().to_openssh().unwrap();
        let sig = sign_bytes(&key, REPORT.as_bytes()).unwrap();
        let text = format!("*@csp.eu,!evil@csp.eu,ops?@x.org {pubkey}\n");
        let s = parse_signers(&text, Path::new("f")).unwrap();
        let check = |id: &str| verify_signature(REPORT.as_bytes(), &sig, &s, Some(id), "s");
        check("mail@csp.eu").unwrap();
        check("ops1@x.org").unwrap();
        assert!(check("ops12@x.org").is_err());
        let err = check("evil@csp.eu").unwrap_err().to_string();
        assert!(err.contains("not allowed for \"evil@csp.eu\""), "{err}");
        assert!(check("mail@csp.eu.org").is_err());
    }

    #[test]
    fn validity_window_is_honoured() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let pubkey = key.public_key().to_openssh().unwrap();
        let sig = sign_bytes(&key, REPORT.as_bytes()).unwrap();
        let text =
            format!("a@b valid-after=\"20250101Z\",valid-before=\"202506301200Z\" {pubkey}\n");
        let s = parse_signers(&text, Path::new("f")).unwrap();
        let at = |t: &str| {
            verify_signature_at(
                REPORT.as_bytes(),
                &sig,
                &s,
                Some("a@b"),
                "s",
                t.parse::<DateTime<Utc>>().unwrap(),
            )
        };
        at("2025-03-01T00:00:00Z").unwrap();
        at("2025-01-01T00:00:00Z").unwrap();
        let err = at("2024-12-31T23:59:59Z").unwrap_err().to_string();
        assert!(err.contains("not yet valid"), "{err}");
        let err = at("2025-06-30T12:00:01Z").unwrap_err().to_string();
        assert!(err.contains("expired"), "{err}");
        // A second line for the same key without limits accepts it.
        let text = format!("{text}a@b {pubkey}\n");
        let s2 = parse_signers(&text, Path::new("f")).unwrap();
        let ok = verify_signature_at(
            REPORT.as_bytes(),
            &sig,
            &s2,
            Some("a@b"),
            "s",
            "2030-01-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(ok.line, 2);
    }

    #[test]
    fn cert_authority_line_does_not_accept_the_key_itself() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let pubkey = key.public_key().to_openssh().unwrap();
        let sig = sign_bytes(&key, REPORT.as_bytes()).unwrap();
        let s = parse_signers(
            &format!("*@csp.eu cert-authority {pubkey}\n"),
            Path::new("f"),
        )
        .unwrap();
        let err = verify_signature(REPORT.as_bytes(), &sig, &s, Some("a@csp.eu"), "s")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cert-authority"), "{err}");
    }

    #[test]
    fn report_checks() {
        assert_eq!(check_reports(REPORT.as_bytes(), "r").unwrap().len(), 1);
        let twice = format!("{REPORT}{REPORT}");
        let err = check_reports(twice.as_bytes(), "r")
            .unwrap_err()
            .to_string();
        assert!(err.contains("appears twice"), "{err}");
        let err = check_reports(b"---\nfoo: 1\n", "r")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("r: "), "{err}");
        let no_subject = REPORT.replace("subject: s", "subject: ''");
        assert!(check_reports(no_subject.as_bytes(), "r").is_err());
    }
}
