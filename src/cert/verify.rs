//! Verifying signed reports: the SSHSIG signature (namespace `report`, as `ssh-keygen -Y verify`
//! checks it) against an allowed-signers file or a public key, and the signed bytes as a
//! well-formed report (the monitor's required fields present, run uuids unique).

use super::{CertError, NAMESPACE, read_file};
use crate::report::{Report, read_reports};
use ssh_key::{HashAlg, PublicKey, SshSig};
use std::path::Path;

/// One trusted key: the principals it may sign for (empty for a bare public key) and the key.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Principals (identities) from the allowed-signers line; empty for a public-key file.
    pub principals: Vec<String>,
    /// The public key.
    pub key: PublicKey,
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

/// Key types an allowed-signers line may name.
fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

/// Reads an allowed-signers file (`principals [options] keytype base64 [comment]` per line,
/// `#` comments) or a public-key file (`keytype base64 [comment]`, as `.pub` files are).
/// Lines whose `namespaces="…"` option excludes `report` are skipped.
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
        let key = PublicKey::from_openssh(&format!("{} {blob}", words[at]))
            .map_err(|e| err(format!("unreadable {} key ({e})", words[at])))?;
        let (principals, options) = match at {
            0 => (vec![], vec![]),
            _ => (
                words[0].split(',').map(String::from).collect(),
                words[1..at].to_vec(),
            ),
        };
        if let Some(ns) = options.iter().find_map(|o| {
            o.strip_prefix("namespaces=")
                .map(|v| v.trim_matches('"').to_string())
        }) && !ns.split(',').any(|n| glob(n, NAMESPACE))
        {
            continue;
        }
        out.push(Signer { principals, key });
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

/// A minimal OpenSSH pattern match: `*` matches any run, `?` one character.
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

/// Checks `signature` (armored SSHSIG text) over `message` against the trusted signers; with
/// `identity`, the matching signer must list a principal matching it. `origin` names the
/// signature in errors.
pub fn verify_signature<'a>(
    message: &[u8],
    signature: &str,
    signers: &'a [Signer],
    identity: Option<&str>,
    origin: &str,
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
    let signer = signers
        .iter()
        .find(|s| s.key.key_data() == sig.public_key())
        .ok_or_else(|| {
            let fp = PublicKey::new(sig.public_key().clone(), "").fingerprint(HashAlg::Sha256);
            err(format!("signed by {fp}, which is not a trusted key"))
        })?;
    if let Some(id) = identity
        && !signer.principals.is_empty()
        && !signer.principals.iter().any(|p| glob(p, id))
    {
        return Err(err(format!("the signing key is not allowed for {id:?}")));
    }
    signer
        .key
        .verify(NAMESPACE, message, &sig)
        .map_err(|_| err("BAD signature: the report was changed after signing, or the signature belongs to other data".into()))?;
    Ok(signer)
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
        let text = format!("a@b namespaces=\"git\" {pubkey}\n");
        assert!(parse_signers(&text, Path::new("f")).is_err());
        let text = format!("# c\n\na@b,c@d namespaces=\"git,rep*\" {pubkey}\n");
        let s = parse_signers(&text, Path::new("f")).unwrap();
        assert_eq!(s[0].principals, vec!["a@b", "c@d"]);
        let err = parse_signers("a@b nokey\n", Path::new("f"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "f:1: no key type (such as ssh-ed25519) on this line");
        let err = parse_signers("a@b ssh-ed25519 AAAA\n", Path::new("f"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f:1: unreadable ssh-ed25519 key"), "{err}");
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
