//! Setting up a subject for uploads, as the reference's `add_subject.py` does: an ed25519 key
//! pair (`keyfile`, `keyfile.pub`, comment = subject with `-` replaced by `_`, no passphrase), a
//! token file holding base64(`subject:password`) with mode 0600, and the `bootstrap.yaml`
//! snippet the monitor operator adds (argon2 hash of the password and the public key).

use super::{CertError, write_file};
use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ssh_key::{Algorithm, LineEnding, PrivateKey, rand_core::OsRng};
use std::path::{Path, PathBuf};

/// The environment variable that supplies the monitor password non-interactively.
pub const PASSWORD_ENV: &str = "SCS_MONITOR_PASSWORD";

/// What `keygen` created.
#[derive(Debug, Clone)]
pub struct KeygenOutput {
    /// The private key file.
    pub key_path: PathBuf,
    /// The public key file.
    pub public_path: PathBuf,
    /// The token file.
    pub token_path: PathBuf,
    /// The public key line (`ssh-ed25519 AAAA… comment`).
    pub public_key: String,
    /// The account snippet for the monitor's `bootstrap.yaml`.
    pub bootstrap: String,
}

/// Whether a subject name is acceptable to the monitor (`[a-zA-Z0-9_-]+`).
pub fn valid_subject(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A random password of 24 letters and digits.
pub fn random_password() -> String {
    use ssh_key::rand_core::RngCore;
    const A: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = OsRng;
    (0..24)
        .map(|_| A[(rng.next_u32() as usize) % A.len()] as char)
        .collect()
}

/// The argon2id hash of a password in PHC form (what passlib verifies).
pub fn hash_password(password: &str) -> Result<String, CertError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CertError::Other(format!("cannot hash the password: {e}")))
}

/// Creates `DIR/keyfile`, `DIR/keyfile.pub` and `DIR/tokenfile` for `subject`; refuses to
/// overwrite existing files.
pub fn keygen(subject: &str, dir: &Path, password: &str) -> Result<KeygenOutput, CertError> {
    if !valid_subject(subject) {
        return Err(CertError::Other(format!(
            "subject {subject:?}: only letters, digits, '_' and '-' are allowed"
        )));
    }
    if password.is_empty() {
        return Err(CertError::Other("the password is empty".into()));
    }
    let key_path = dir.join("keyfile");
    let public_path = dir.join("keyfile.pub");
    let token_path = dir.join("tokenfile");
    for p in [&key_path, &public_path, &token_path] {
        if p.exists() {
            return Err(CertError::Other(format!(
                "{} exists already; not overwriting it",
                p.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| CertError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)
        .map_err(|e| CertError::Other(format!("cannot generate a key: {e}")))?;
    key.set_comment(subject.replace('-', "_"));
    let private = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| CertError::Other(format!("cannot encode the key: {e}")))?;
    write_private(&key_path, private.as_bytes())?;
    let public_key = key
        .public_key()
        .to_openssh()
        .map_err(|e| CertError::Other(format!("cannot encode the public key: {e}")))?;
    write_file(&public_path, format!("{public_key}\n").as_bytes())?;
    write_private(
        &token_path,
        STANDARD.encode(format!("{subject}:{password}")).as_bytes(),
    )?;
    let mut words = public_key.split_whitespace();
    let key_type = words.next().unwrap_or_default();
    let blob = words.next().unwrap_or_default();
    let bootstrap = format!(
        "accounts:\n  - subject: {subject}\n    api_keys:\n      - \"{}\"\n    keys:\n      - public_key: \"{blob}\"\n        public_key_type: \"{key_type}\"\n        public_key_name: \"primary\"\n",
        hash_password(password)?
    );
    Ok(KeygenOutput {
        key_path,
        public_path,
        token_path,
        public_key,
        bootstrap,
    })
}

/// Writes a secret file with mode 0600 from the start.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| CertError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[test]
    fn keygen_writes_key_token_and_snippet() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join(".secret");
        let out = keygen("my-cloud", &secret, "hunter2").unwrap();
        let key = PrivateKey::read_openssh_file(&out.key_path).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Ed25519);
        assert_eq!(key.comment(), "my_cloud");
        assert!(!key.is_encrypted());
        let token = std::fs::read_to_string(&out.token_path).unwrap();
        assert_eq!(
            token, "bXktY2xvdWQ6aHVudGVyMg==",
            "base64 of my-cloud:hunter2"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out.token_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(out.bootstrap.contains("subject: my-cloud"));
        assert!(out.bootstrap.contains("public_key_type: \"ssh-ed25519\""));
        let hash = out
            .bootstrap
            .lines()
            .find_map(|l| l.trim().strip_prefix("- \"$argon2"))
            .map(|h| format!("$argon2{}", h.trim_end_matches('"')))
            .unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"hunter2", &parsed)
                .is_ok()
        );
        let again = keygen("my-cloud", &secret, "x").unwrap_err().to_string();
        assert!(again.contains("not overwriting"), "{again}");
        assert!(keygen("bad name", dir.path(), "x").is_err());
    }
}
