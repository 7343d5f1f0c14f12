//! The certification subcommands (`sign`, `verify`, `keygen`, `upload`, `batch`, `scorecard`)
//! and the signing/upload step of `run --upload`. The work itself lives in [`crate::cert`].
//!
//! This file holds `sign`, `verify` and `keygen`; `upload` (with `run --upload`), `batch` and
//! `scorecard` have a file each.

mod batch;
mod scorecard;
mod upload;

pub use batch::{BatchArgs, batch_cmd};
pub use scorecard::{ScorecardArgs, scorecard_cmd};
pub use upload::{UploadArgs, after_run, check_upload_target, upload_cmd};

use super::ExitStatus;
use crate::cert::{self, CertError};
use anyhow::{Result, anyhow, bail};
use clap::{ArgGroup, Args};
use std::path::PathBuf;

/// Default key file, as in the reference runner's configuration.
const DEFAULT_KEY: &str = ".secret/keyfile";
/// Default token file.
const DEFAULT_TOKEN: &str = ".secret/tokenfile";

/// Flags of `sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// OpenSSH private key (ed25519, ECDSA or RSA; passphrase from SCS_KEY_PASSPHRASE or a prompt).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Report files; each gets REPORT.sig next to it.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
}

/// Flags of `verify`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("trust").required(true).args(["allowed_signers", "public_key"])))]
pub struct VerifyArgs {
    /// The signed report.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The signature (default: REPORT.sig).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// An allowed-signers file (`principals [options] keytype key`), as for `ssh-keygen -Y verify`.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// A public key file (`keytype key [comment]`, such as keyfile.pub).
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Require the signer to be allowed for this identity (allowed-signers principals).
    #[arg(short = 'I', long, value_name = "ID")]
    pub identity: Option<String>,
}

/// Flags of `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Subject (monitor account) name: letters, digits, `_` and `-`.
    #[arg(value_name = "SUBJECT")]
    pub subject: String,
    /// Directory for keyfile, keyfile.pub and tokenfile.
    #[arg(long, value_name = "DIR", default_value = ".secret")]
    pub dir: PathBuf,
}

/// `sign`: writes REPORT.sig for every report.
pub async fn sign(args: SignArgs) -> Result<ExitStatus> {
    let key = cert::sign::load_private_key(&args.key)?;
    for report in &args.reports {
        let sig = cert::sign::sign_file(&key, report)?;
        eprintln!("wrote {}", sig.display());
    }
    Ok(ExitStatus::Pass)
}

/// `verify`: exit 0 when the signature is good and the report well formed, 1 otherwise.
pub async fn verify(args: VerifyArgs) -> Result<ExitStatus> {
    let trust = args
        .allowed_signers
        .as_ref()
        .or(args.public_key.as_ref())
        .ok_or_else(|| anyhow!("give --allowed-signers or --public-key"))?;
    let signers = cert::verify::read_signers(trust)?;
    let sig = args
        .signature
        .clone()
        .unwrap_or_else(|| cert::sign::signature_path(&args.report));
    match cert::verify::verify_file(&args.report, &sig, &signers, args.identity.as_deref()) {
        Ok(v) => {
            let subjects: Vec<&str> = v.reports.iter().map(|r| r.subject.as_str()).collect();
            let who = v.principal_text(args.identity.as_deref());
            println!(
                "Good signature on {} by {}{} ({} report{}: {})",
                args.report.display(),
                v.fingerprint,
                if who.is_empty() {
                    String::new()
                } else {
                    format!(" for {who}")
                },
                v.reports.len(),
                if v.reports.len() == 1 { "" } else { "s" },
                subjects.join(", ")
            );
            Ok(ExitStatus::Pass)
        }
        Err(e @ (CertError::Verify { .. } | CertError::Report(_))) => {
            eprintln!("error: {e}");
            Ok(ExitStatus::Fail)
        }
        Err(e) => Err(e.into()),
    }
}

/// `keygen`: key pair, token file and the operator's snippet.
pub async fn keygen(args: KeygenArgs) -> Result<ExitStatus> {
    let password = match std::env::var(cert::keygen::PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => p,
        _ => match cert::sign::prompt_secret(&format!(
            "Monitor password for {} (empty: generate one): ",
            args.subject
        )) {
            Ok(p) if !p.is_empty() => {
                let again = cert::sign::prompt_secret("Repeat the password: ")?;
                if again != p {
                    bail!("the passwords differ");
                }
                p
            }
            _ => {
                eprintln!(
                    "generated a random password (it is only stored in the token file; set {} to choose one)",
                    cert::keygen::PASSWORD_ENV
                );
                cert::keygen::random_password()
            }
        },
    };
    let out = cert::keygen::keygen(&args.subject, &args.dir, &password)?;
    println!(
        "wrote {}, {} and {}",
        out.key_path.display(),
        out.public_path.display(),
        out.token_path.display()
    );
    println!("public key: {}", out.public_key);
    println!("\n# for the monitor operator: add this account to bootstrap.yaml");
    print!("{}", out.bootstrap);
    Ok(ExitStatus::Pass)
}

#[cfg(test)]
mod tests {
    use super::batch::auto_sections;
    use super::scorecard::parse_at;
    use chrono::NaiveDate;

    #[test]
    fn auto_sections_add_heavy_on_saturday() {
        let sat = NaiveDate::from_ymd_opt(2025, 1, 4).unwrap();
        assert_eq!(auto_sections(sat), "light,medium,heavy");
        assert_eq!(auto_sections(sat.succ_opt().unwrap()), "light,medium");
    }

    #[test]
    fn at_accepts_dates_and_timestamps() {
        assert_eq!(
            parse_at("2025-01-02").unwrap().to_string(),
            "2025-01-02 00:00:00"
        );
        assert_eq!(
            parse_at("2025-01-02 03:04:05").unwrap().to_string(),
            "2025-01-02 03:04:05"
        );
        assert!(parse_at("tomorrow").is_err());
    }
}
