//! `scs-check scorecard`: the certification status of subjects from their reports.

use crate::cert::scorecard;
use crate::cli::{ExitStatus, console, load_scope, parse_date};
use crate::report;
use anyhow::{Context, Result, anyhow};
use chrono::{NaiveDate, Utc};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

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

pub(super) fn parse_at(text: &str) -> Result<chrono::NaiveDateTime> {
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
