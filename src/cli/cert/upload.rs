//! `scs-check upload` and the signing/upload step of `run --upload`: the monitor options
//! shared with `batch --upload`, and sending a signed report to the monitor.

use super::{DEFAULT_KEY, DEFAULT_TOKEN};
use crate::cert::{self, upload};
use crate::cli::ExitStatus;
use crate::report::{self, Report};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Flags shared by the commands that upload.
#[derive(Debug, Args, Clone)]
pub struct MonitorArgs {
    /// The compliance monitor.
    #[arg(long, value_name = "URL")]
    pub monitor: Option<String>,
    /// File with the Basic-auth token (base64 of subject:password) [default: .secret/tokenfile].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Upload attempts on connection errors and 5xx answers.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub attempts: u32,
    /// Seconds before the first retry (doubled for each further one).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub retry_delay: f64,
    /// Allow a plain http:// monitor (the token and report then travel unencrypted).
    #[arg(long)]
    pub allow_http: bool,
}

/// Flags of `upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The report to upload (YAML, possibly several documents, or JSON).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The signature (default: REPORT.sig, made with --key when missing).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Sign with this key first (writes REPORT.sig).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    /// Where to upload.
    pub monitor: MonitorArgs,
}

pub(super) fn upload_options(
    args: &MonitorArgs,
    default_monitor: Option<&str>,
    default_token: &Path,
) -> Result<upload::UploadOptions> {
    let monitor = args
        .monitor
        .clone()
        .or(default_monitor.map(String::from))
        .unwrap_or_else(|| upload::DEFAULT_MONITOR.to_string());
    let token_file = args
        .token_file
        .clone()
        .unwrap_or_else(|| default_token.to_path_buf());
    let token = upload::read_token(&token_file)?;
    let mut o = upload::UploadOptions::new(&monitor, token);
    o.attempts = args.attempts.max(1);
    o.backoff = Duration::from_secs_f64(args.retry_delay.clamp(0.0, 3600.0));
    o.allow_http = args.allow_http;
    o.check_monitor()?;
    Ok(o)
}

fn log_line(line: &str) {
    crate::terminal::err_line(line);
}

/// Uploads and reports the outcome on the console; 409 is not an error.
pub(super) async fn do_upload(
    options: &upload::UploadOptions,
    signature: &str,
    bytes: &[u8],
    what: &Path,
) -> Result<()> {
    match upload::upload(options, signature, bytes, &log_line).await? {
        upload::UploadOutcome::Accepted => {
            crate::terminal::err_line(&format!(
                "uploaded {} to {}",
                what.display(),
                options.endpoint()
            ));
        }
        upload::UploadOutcome::AlreadyUploaded { message } => {
            crate::terminal::err_line(&format!(
                "already uploaded: the monitor has this run uuid already (409{}); nothing changed",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            ));
        }
    }
    Ok(())
}

/// `upload`.
pub async fn upload_cmd(args: UploadArgs) -> Result<ExitStatus> {
    let options = upload_options(&args.monitor, None, Path::new(DEFAULT_TOKEN))?;
    let bytes = std::fs::read(&args.report)
        .with_context(|| format!("cannot read {}", args.report.display()))?;
    cert::verify::check_reports(&bytes, &args.report.display().to_string())?;
    cert::refuse_simulated(&bytes, &args.report.display().to_string(), "upload")?;
    let sig_path = args
        .signature
        .clone()
        .unwrap_or_else(|| cert::sign::signature_path(&args.report));
    if let Some(key) = &args.key {
        let key = cert::sign::load_private_key(key)?;
        cert::sign::sign_file(&key, &args.report)?;
    } else if !sig_path.exists() {
        bail!(
            "{}: no signature; sign first (scs-check sign --key KEY) or give --key",
            sig_path.display()
        );
    }
    let signature = std::fs::read_to_string(&sig_path)
        .with_context(|| format!("cannot read {}", sig_path.display()))?;
    do_upload(&options, &signature, &bytes, &args.report).await?;
    Ok(ExitStatus::Pass)
}

/// Checks `run --upload`'s monitor address and token file before any probe runs, so a refused
/// `http://` monitor or a missing token is not found only after a long run.
pub fn check_upload_target(args: &crate::cli::RunArgs) -> Result<()> {
    if args.upload {
        upload_options(&run_monitor_args(args), None, Path::new(DEFAULT_TOKEN))?;
    }
    Ok(())
}

fn run_monitor_args(args: &crate::cli::RunArgs) -> MonitorArgs {
    MonitorArgs {
        monitor: args.monitor.clone(),
        token_file: args.token_file.clone(),
        attempts: 4,
        retry_delay: 2.0,
        allow_http: args.allow_http,
    }
}

/// The signing and upload step of `run` (`--key` signs; `--upload` signs and uploads). The
/// report file is kept whatever happens. Returns an error only for a failed upload or signing.
pub async fn after_run(args: &crate::cli::RunArgs, report: &Report) -> Result<()> {
    if !args.upload && args.key.is_none() {
        return Ok(());
    }
    if cert::report_is_simulated(report) {
        bail!(
            "the report comes from a simulated cloud; refusing to {} it (a simulated run is never a certificate)",
            if args.upload {
                "sign and upload"
            } else {
                "sign"
            }
        );
    }
    let path = match &args.output {
        Some(p) => p.clone(),
        None => {
            let p = PathBuf::from(format!("report-{}.yaml", report.run.uuid));
            std::fs::write(&p, report::to_yaml(report))
                .with_context(|| format!("cannot write {}", p.display()))?;
            crate::terminal::err_line(&format!("wrote {} (no -o given)", p.display()));
            p
        }
    };
    let key_path = args
        .key
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KEY));
    let key = cert::sign::load_private_key(&key_path)?;
    let sig_path = cert::sign::sign_file(&key, &path)?;
    crate::terminal::err_line(&format!("wrote {}", sig_path.display()));
    if args.upload {
        let options = upload_options(&run_monitor_args(args), None, Path::new(DEFAULT_TOKEN))?;
        let signature = std::fs::read_to_string(&sig_path)?;
        let bytes = std::fs::read(&path)?;
        do_upload(&options, &signature, &bytes, &path)
            .await
            .with_context(|| format!("the report is kept in {}", path.display()))?;
    }
    Ok(())
}
