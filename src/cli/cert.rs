//! The certification subcommands (`sign`, `verify`, `keygen`, `upload`, `batch`, `scorecard`)
//! and the signing/upload step of `run --upload`. The work itself lives in [`crate::cert`].

use super::{ExitStatus, console, load_scope, parse_date};
use crate::cert::{self, CertError, batch, scorecard, upload};
use crate::report::{self, Report};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{Datelike, NaiveDate, Utc, Weekday};
use clap::{ArgGroup, Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Flags of `batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The batch configuration (TOML, like the reference runner's config.toml).
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Preset (overrides --scope/--subject; default: `default` when neither is given).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Scopes (names under [scopes]), comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub scope: Vec<String>,
    /// Subjects, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub subject: Vec<String>,
    /// Parallel subjects (default: the preset's, else `[batch] workers`, else 16).
    #[arg(short = 'w', long, value_name = "N")]
    pub workers: Option<usize>,
    /// Run only shard I of N (0 <= I < N): the subjects whose position in the sorted list of
    /// selected subject names is I modulo N, with all their scopes (one pod of an indexed Job).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<batch::Shard>,
    /// Directory for the per-subject and combined reports.
    #[arg(
        short = 'o',
        long = "output-dir",
        value_name = "DIR",
        default_value = "reports"
    )]
    pub output_dir: PathBuf,
    /// Time limit per subject in seconds (overrides the configuration).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Seconds between SIGINT and SIGKILL for a subject past its time limit.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub grace: u64,
    /// Reference date passed to every run.
    #[arg(short = 'd', long = "date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    /// Sections passed to every run; `.auto` = light,medium (plus heavy on Saturdays, UTC).
    #[arg(short = 'S', long = "sections", value_name = "LIST")]
    pub sections: Option<String>,
    /// Testcase filter passed to every run (`-t REGEX`: ids matching at the start).
    #[arg(short = 't', long = "tests", value_name = "REGEX")]
    pub tests: Option<String>,
    /// Test every subject against a simulated cloud or cluster from FIXTURE (passed to each
    /// run as `--simulate`); for trying a configuration and for benchmarks. Never signed or
    /// uploaded.
    #[arg(long, value_name = "FIXTURE", conflicts_with_all = ["sign", "upload", "key"])]
    pub simulate: Option<String>,
    /// Waiver file passed to every run (as `run --waivers`): waived FAILs show as WAIVED and do
    /// not fail the exit status; the reports (and what is uploaded) keep the real verdicts.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Sign the combined report (key from --key or the configuration's [secrets]).
    #[arg(long)]
    pub sign: bool,
    /// Signing key (overrides the configuration).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    /// Sign and upload the combined report.
    #[arg(long)]
    pub upload: bool,
    #[command(flatten)]
    /// Where to upload.
    pub monitor: MonitorArgs,
}

/// Output formats of `scorecard`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScorecardFormat {
    /// A terminal table.
    Table,
    /// A Markdown matrix of subjects × scopes.
    Markdown,
    /// JSON with every version and testcase.
    Json,
}

/// Flags of `scorecard`.
#[derive(Debug, Args)]
pub struct ScorecardArgs {
    /// Report files (YAML with one or more documents, or JSON).
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// Scope files for reports whose scope is not built in (may repeat).
    #[arg(long, value_name = "SCOPE")]
    pub scope: Vec<String>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: ScorecardFormat,
    /// Judge expiry at this instant, `YYYY-MM-DD[ HH:MM:SS]` in the reports' clock (default: now, UTC).
    #[arg(long, value_name = "TIMESTAMP")]
    pub at: Option<String>,
    /// Read the timelines on this date (default: the date of --at).
    #[arg(short = 'd', long = "date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    /// Let draft versions count for the headline (the monitor's `_full` views).
    #[arg(long)]
    pub full: bool,
    /// Write an SVG badge per subject and scope into DIR.
    #[arg(long, value_name = "DIR")]
    pub badges: Option<PathBuf>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
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

fn upload_options(
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
    eprintln!("{line}");
}

/// Uploads and reports the outcome on the console; 409 is not an error.
async fn do_upload(
    options: &upload::UploadOptions,
    signature: &str,
    bytes: &[u8],
    what: &Path,
) -> Result<()> {
    match upload::upload(options, signature, bytes, &log_line).await? {
        upload::UploadOutcome::Accepted => {
            eprintln!("uploaded {} to {}", what.display(), options.endpoint());
        }
        upload::UploadOutcome::AlreadyUploaded { message } => {
            eprintln!(
                "already uploaded: the monitor has this run uuid already (409{}); nothing changed",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            );
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
pub fn check_upload_target(args: &super::RunArgs) -> Result<()> {
    if args.upload {
        upload_options(&run_monitor_args(args), None, Path::new(DEFAULT_TOKEN))?;
    }
    Ok(())
}

fn run_monitor_args(args: &super::RunArgs) -> MonitorArgs {
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
pub async fn after_run(args: &super::RunArgs, report: &Report) -> Result<()> {
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
            eprintln!("wrote {} (no -o given)", p.display());
            p
        }
    };
    let key_path = args
        .key
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KEY));
    let key = cert::sign::load_private_key(&key_path)?;
    let sig_path = cert::sign::sign_file(&key, &path)?;
    eprintln!("wrote {}", sig_path.display());
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

/// The sections for `.auto`: light and medium, plus heavy on Saturdays (UTC).
fn auto_sections(today: NaiveDate) -> &'static str {
    if today.weekday() == Weekday::Sat {
        "light,medium,heavy"
    } else {
        "light,medium"
    }
}

/// `batch`.
pub async fn batch_cmd(args: BatchArgs) -> Result<ExitStatus> {
    let config = batch::load_config(&args.config)?;
    let selection = batch::JobSelection {
        preset: args.preset.clone(),
        scopes: args.scope.clone(),
        subjects: args.subject.clone(),
    };
    let mut list = config.jobs(&selection)?;
    if let Some(shard) = args.shard {
        list = list.shard(shard);
        if list.jobs.is_empty() {
            eprintln!(
                "batch: shard {shard} has no subjects (fewer subjects than shards); nothing to run"
            );
            return Ok(ExitStatus::Pass);
        }
    }
    if args.upload {
        // The monitor address and token file are checked before any subject runs.
        upload_options(&args.monitor, config.monitor.as_deref(), &config.tokenfile)?;
    }
    if let Some(t) = args.timeout {
        for job in &mut list.jobs {
            job.timeout = Duration::from_secs(t.max(1));
        }
    }
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("cannot create {}", args.output_dir.display()))?;
    let out_dir = std::fs::canonicalize(&args.output_dir)?;
    let mut extra = Vec::new();
    if let Some(d) = args.date {
        extra.extend(["-d".to_string(), d.to_string()]);
    }
    if let Some(s) = &args.sections {
        let s = if s == ".auto" {
            auto_sections(Utc::now().date_naive()).to_string()
        } else {
            s.clone()
        };
        extra.extend(["-S".to_string(), s]);
    }
    if let Some(t) = &args.tests {
        extra.extend(["-t".to_string(), t.clone()]);
    }
    if let Some(fixture) = &args.simulate {
        extra.extend(["--simulate".to_string(), fixture.clone()]);
    }
    if let Some(path) = &args.waivers {
        // Checked once here (one error, not one per subject); the runs start in the
        // configuration's directory, so they get the absolute path.
        super::waivers::load(path)?;
        let path = std::fs::canonicalize(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        extra.extend(["--waivers".to_string(), path.display().to_string()]);
    }
    if let Some(t) = list.script_timeout {
        extra.extend(["--timeout".to_string(), t.to_string()]);
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    // Ctrl-C or SIGTERM (how Kubernetes stops a pod) stops every subject the same way.
    crate::execute::cancel_on_ctrl_c(cancel.clone());
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            eprintln!("interrupted: stopping every subject (reports are still written)");
        });
    }
    let scopes_used: std::collections::BTreeSet<&str> =
        list.jobs.iter().map(|j| j.scope.as_str()).collect();
    let options = batch::BatchOptions {
        exe: std::env::current_exe().context("cannot find our own executable")?,
        cwd: config.dir.clone(),
        out_dir: out_dir.clone(),
        workers: args
            .workers
            .or(list.workers)
            .unwrap_or(batch::DEFAULT_WORKERS)
            .max(1),
        extra_args: extra,
        grace: Duration::from_secs(args.grace),
        cancel,
        prefix_scope: scopes_used.len() > 1,
    };
    eprintln!(
        "batch: {} ({} at a time), reports in {}",
        console::count(list.jobs.len(), "run"),
        options.workers,
        out_dir.display()
    );
    let results = batch::run_jobs(list.jobs, &options).await;
    print!("{}", batch::render_summary(&results));
    let mut status = batch::overall_status(&results);
    let Some(combined) = batch::combined_report(&results) else {
        eprintln!("no subject produced a report; nothing to combine");
        return Ok(ExitStatus::Error);
    };
    let combined_path = out_dir.join("report.yaml");
    std::fs::write(&combined_path, &combined)
        .with_context(|| format!("cannot write {}", combined_path.display()))?;
    println!("combined report: {}", combined_path.display());
    if args.sign || args.upload || args.key.is_some() {
        let key_path = args.key.clone().unwrap_or_else(|| config.keyfile.clone());
        let key = cert::sign::load_private_key(&key_path)?;
        let sig = cert::sign::sign_file(&key, &combined_path)?;
        println!("signature: {}", sig.display());
        if args.upload {
            let options =
                upload_options(&args.monitor, config.monitor.as_deref(), &config.tokenfile)?;
            let signature = std::fs::read_to_string(&sig)?;
            if let Err(e) =
                do_upload(&options, &signature, combined.as_bytes(), &combined_path).await
            {
                eprintln!(
                    "error: upload failed: {e:#} (the reports are kept in {})",
                    out_dir.display()
                );
                status = ExitStatus::Error;
            }
        }
    }
    Ok(status)
}

fn parse_at(text: &str) -> Result<chrono::NaiveDateTime> {
    if let Ok(d) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN));
    }
    report::naive_timestamp::parse(text)
        .ok_or_else(|| anyhow!("--at {text}: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"))
}

/// `scorecard`.
pub async fn scorecard_cmd(args: ScorecardArgs) -> Result<ExitStatus> {
    let mut reports = Vec::new();
    for path in &args.reports {
        reports.extend(report::read_report_file(path)?);
    }
    let mut scopes = Vec::new();
    for arg in &args.scope {
        scopes.push((*load_scope(arg).await?).clone());
    }
    for name in crate::spec::builtin_names() {
        if let Some(s) = crate::spec::load_builtin(name)
            && !scopes.iter().any(|x: &crate::spec::Scope| x.uuid == s.uuid)
        {
            scopes.push(s);
        }
    }
    let at = match &args.at {
        Some(t) => parse_at(t)?,
        None => Utc::now().naive_utc(),
    };
    let date = args.date.unwrap_or(at.date());
    let card = scorecard::compute(&reports, &scopes, at, date, args.full);
    let text = match args.format {
        ScorecardFormat::Table => scorecard::render_table(&card),
        ScorecardFormat::Markdown => scorecard::render_markdown(&card),
        ScorecardFormat::Json => scorecard::render_json(&card),
    };
    match &args.output {
        Some(p) => {
            std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => print!("{text}"),
    }
    if let Some(dir) = &args.badges {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for entry in &card.entries {
            let p = dir.join(scorecard::badge_file_name(entry));
            std::fs::write(&p, scorecard::render_badge(entry))
                .with_context(|| format!("cannot write {}", p.display()))?;
        }
        eprintln!(
            "wrote {} to {}",
            console::count(card.entries.len(), "badge"),
            dir.display()
        );
    }
    Ok(ExitStatus::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

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
