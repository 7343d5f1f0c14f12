//! Signing reports: an OpenSSH SSHSIG signature over the exact report bytes with namespace
//! `report` and SHA-512, armored with LF line endings, as `ssh-keygen -Y sign -n report` writes it.
//! Encrypted keys take their passphrase from `SCS_KEY_PASSPHRASE` or a prompt on the terminal.

use super::{CertError, NAMESPACE, read_file, write_file};
use ssh_key::{HashAlg, LineEnding, PrivateKey};
use std::path::{Path, PathBuf};

/// The environment variable holding the passphrase of an encrypted key.
pub const PASSPHRASE_ENV: &str = "SCS_KEY_PASSPHRASE";

/// Loads an OpenSSH private key and decrypts it when needed: with `SCS_KEY_PASSPHRASE` if set,
/// otherwise by asking on `/dev/tty`. Without either, an encrypted key is an error.
pub fn load_private_key(path: &Path) -> Result<PrivateKey, CertError> {
    let text = read_file(path)?;
    let key_err = |message: String| CertError::Key {
        path: path.to_path_buf(),
        message,
    };
    let key = PrivateKey::from_openssh(&text)
        .map_err(|e| key_err(format!("not an OpenSSH private key ({e})")))?;
    if !key.is_encrypted() {
        return Ok(key);
    }
    let passphrase = match std::env::var(PASSPHRASE_ENV) {
        Ok(p) => p,
        Err(_) => {
            prompt_secret(&format!("Enter passphrase for {}: ", path.display())).map_err(|e| {
                key_err(format!(
                    "the key is encrypted; set {PASSPHRASE_ENV} or run in a terminal ({e})"
                ))
            })?
        }
    };
    key.decrypt(passphrase.as_bytes())
        .map_err(|_| key_err("wrong passphrase (cannot decrypt the key)".into()))
}

/// Signs `message` and returns the armored signature (`-----BEGIN SSH SIGNATURE-----` …,
/// ending with a line feed).
pub fn sign_bytes(key: &PrivateKey, message: &[u8]) -> Result<String, ssh_key::Error> {
    let sig = match key.key_data() {
        ssh_key::private::KeypairData::Rsa(rsa) => sign_rsa(key, rsa, message)?,
        _ => key.sign(NAMESPACE, HashAlg::Sha512, message)?,
    };
    let mut pem = sig.to_pem(LineEnding::LF)?;
    if !pem.ends_with('\n') {
        pem.push('\n');
    }
    Ok(pem)
}

/// RSA signing (`rsa-sha2-512`, as ssh-keygen uses for SSHSIG). ssh-key 0.6.7 builds the RSA
/// private key from the prime `p` twice instead of `p` and `q`, so its own RSA signing fails;
/// this builds the key correctly and signs the same SSHSIG blob.
fn sign_rsa(
    key: &PrivateKey,
    rsa: &ssh_key::private::RsaKeypair,
    message: &[u8],
) -> Result<ssh_key::SshSig, ssh_key::Error> {
    use rsa::signature::{SignatureEncoding, Signer};
    let big = |m: &ssh_key::Mpint| {
        m.as_positive_bytes()
            .map(rsa::BigUint::from_bytes_be)
            .ok_or(ssh_key::Error::Crypto)
    };
    let private = rsa::RsaPrivateKey::from_components(
        big(&rsa.public.n)?,
        big(&rsa.public.e)?,
        big(&rsa.private.d)?,
        vec![big(&rsa.private.p)?, big(&rsa.private.q)?],
    )
    .map_err(|_| ssh_key::Error::Crypto)?;
    let signed = ssh_key::SshSig::signed_data(NAMESPACE, HashAlg::Sha512, message)?;
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(private);
    let data = signer
        .try_sign(&signed)
        .map_err(|_| ssh_key::Error::Crypto)?
        .to_vec();
    let signature = ssh_key::Signature::new(
        ssh_key::Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        data,
    )?;
    ssh_key::SshSig::new(
        key.public_key().key_data().clone(),
        NAMESPACE,
        HashAlg::Sha512,
        signature,
    )
}

/// The signature file of a report: `REPORT.sig`.
pub fn signature_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Signs the report file with the key and writes `REPORT.sig`; returns its path. A report from
/// a simulated cloud is refused (see [`super::refuse_simulated`]).
pub fn sign_file(key: &PrivateKey, report: &Path) -> Result<PathBuf, CertError> {
    let bytes = read_file(report)?;
    super::refuse_simulated(&bytes, &report.display().to_string(), "sign")?;
    let pem = sign_bytes(key, &bytes).map_err(|e| CertError::Sign {
        path: report.to_path_buf(),
        message: e.to_string(),
    })?;
    let out = signature_path(report);
    write_file(&out, pem.as_bytes())?;
    Ok(out)
}

/// Reads one line from the controlling terminal with echo off, after printing `prompt` there.
pub fn prompt_secret(prompt: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is a plain C struct; tcgetattr fills it or fails without touching memory
    // we rely on.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let have_term = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    let original = term;
    if have_term {
        term.c_lflag &= !libc::ECHO;
        term.c_lflag |= libc::ECHONL;
        // SAFETY: fd is an open terminal and term a valid termios.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    }
    let result = (|| {
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let mut line = String::new();
        std::io::BufReader::new(&tty).read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    })();
    if have_term {
        // SAFETY: restores the settings read above on the same fd.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &original) };
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::{Algorithm, rand_core::OsRng};

    #[test]
    fn signature_is_armored_and_verifies() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let pem = sign_bytes(&key, b"---\nsubject: x\n").unwrap();
        assert!(pem.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
        assert!(pem.ends_with("-----END SSH SIGNATURE-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 70));
        let sig: ssh_key::SshSig = pem.parse().unwrap();
        assert_eq!(sig.namespace(), "report");
        assert_eq!(sig.hash_alg(), HashAlg::Sha512);
        key.public_key()
            .verify("report", b"---\nsubject: x\n", &sig)
            .unwrap();
        assert!(
            key.public_key()
                .verify("report", b"---\nsubject: y\n", &sig)
                .is_err()
        );
    }

    #[test]
    fn encrypted_key_needs_the_right_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let enc = key.encrypt(&mut OsRng, "s3cret").unwrap();
        enc.write_openssh_file(&path, LineEnding::LF).unwrap();
        // The environment is process-wide: set it only in this test.
        unsafe { std::env::set_var(PASSPHRASE_ENV, "wrong") };
        let err = load_private_key(&path).unwrap_err().to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        unsafe { std::env::set_var(PASSPHRASE_ENV, "s3cret") };
        let loaded = load_private_key(&path).unwrap();
        unsafe { std::env::remove_var(PASSPHRASE_ENV) };
        assert_eq!(loaded.public_key(), key.public_key());
    }

    #[test]
    fn garbage_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "hello").unwrap();
        let err = load_private_key(&path).unwrap_err().to_string();
        assert!(err.contains("not an OpenSSH private key"), "{err}");
        assert!(err.starts_with(&path.display().to_string()));
    }
}
