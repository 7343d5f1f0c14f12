//! The certification workflow around reports: SSHSIG signing and verification compatible with
//! `ssh-keygen -Y`, upload to the SCS compliance monitor, key and token setup for a subject,
//! batch runs over many subjects, and the monitor's score card computed offline.
//!
//! - [`sign`]: load an OpenSSH private key (passphrase from `SCS_KEY_PASSPHRASE` or the
//!   terminal) and write the armored signature with namespace `report`.
//! - [`verify`]: check a signature against an allowed-signers file or a public key, and that
//!   the signed bytes are a well-formed report.
//! - [`upload`]: `POST /reports` with the monitor's body layout, Basic auth and retries.
//! - [`keygen`]: a key pair, a token file and the bootstrap snippet for the monitor operator.
//! - [`batch`]: scopes × subjects, each run a task of this process (or with `--isolate` a child
//!   process), per-subject timeouts, combined report.
//! - [`scorecard`]: each subject's status per scope and version, as the monitor computes it.

pub mod batch;
pub mod keygen;
pub mod scorecard;
pub mod sign;
pub mod upload;
pub mod verify;

use std::path::PathBuf;

/// The SSHSIG namespace the monitor verifies reports with.
pub const NAMESPACE: &str = "report";

/// Errors of the certification workflow; each displays as one line naming the file or endpoint.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A key file is unusable (unreadable format, wrong passphrase, unsupported type).
    #[error("{}: {message}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Signing failed.
    #[error("signing {}: {message}", path.display())]
    Sign {
        /// The signed file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A signature does not verify, or cannot be read.
    #[error("{origin}: {message}")]
    Verify {
        /// The signature file (or `<signature>`).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A line of an allowed-signers or public-key file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Signers {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The signed data is not a well-formed report.
    #[error("{0}")]
    Report(#[from] crate::report::ReportError),
    /// The monitor refused the upload or could not be reached.
    #[error("{url}: {message}")]
    Upload {
        /// The endpoint.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A batch configuration file is invalid.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Anything else that stops a command, with its explanation.
    #[error("{0}")]
    Other(String),
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a whole file, naming it in the error.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), CertError> {
    std::fs::write(path, bytes).map_err(|source| CertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether a parsed report says it was made against a simulated cloud (`scs_check.simulated:
/// true`). Read through the serialized block, so it works whether the field is a typed member
/// of [`crate::report::ScsCheckBlock`] or still one of its unknown keys.
pub fn report_is_simulated(report: &crate::report::Report) -> bool {
    report
        .scs_check
        .as_ref()
        .and_then(|block| serde_json::to_value(block).ok())
        .and_then(|v| v.get("simulated").and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

/// Refuses report bytes that contain a report from a simulated cloud: such a run is never a
/// certificate, so it is neither signed nor uploaded. Bytes that are not a readable report are
/// let through here (signing arbitrary files stays possible; upload checks the form itself).
pub fn refuse_simulated(bytes: &[u8], origin: &str, action: &str) -> Result<(), CertError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let Ok(reports) = crate::report::read_reports(text) else {
        return Ok(());
    };
    if let Some((i, _)) = reports
        .iter()
        .enumerate()
        .find(|(_, r)| report_is_simulated(r))
    {
        let which = if reports.len() > 1 {
            format!(" (document #{})", i + 1)
        } else {
            String::new()
        };
        return Err(CertError::Other(format!(
            "{origin}{which}: the report comes from a simulated cloud (scs_check.simulated: true); \
             refusing to {action} it, a simulated run is never a certificate"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "---\nspec:\n  uuid: u-1\nchecked_at: 2025-01-01 00:00:00.000000\nsubject: s\nrun:\n  uuid: r-1\n  invocations: {}\nscs_check:\n  tool: scs-check\n  version: 0.1.0\n";

    #[test]
    fn simulated_flag_is_read_from_the_scs_check_block() {
        let real = &crate::report::read_reports(REPORT).unwrap()[0];
        assert!(!report_is_simulated(real));
        let text = format!("{REPORT}  simulated: true\n");
        let sim = &crate::report::read_reports(&text).unwrap()[0];
        assert!(report_is_simulated(sim));
        let err = refuse_simulated(text.as_bytes(), "r.yaml", "sign")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("r.yaml: the report comes from a simulated cloud"),
            "{err}"
        );
        refuse_simulated(REPORT.as_bytes(), "r.yaml", "sign").unwrap();
        // Bytes that are no report are left to the other checks.
        refuse_simulated(b"\xff\xfe", "r.yaml", "sign").unwrap();
    }
}
