//! `scs-check report`: renders an existing report file (ours or the reference tool's) as text,
//! Markdown, JSON, JUnit, HTML or YAML.

use super::selection::{load_scope, today};
use super::{ExitStatus, console};
use crate::report::{self, Report};
use crate::spec;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// The console summary.
    Text,
    /// Markdown summary.
    Markdown,
    /// JSON report.
    Json,
    /// JUnit XML.
    Junit,
    /// A self-contained HTML page.
    Html,
    /// YAML report.
    Yaml,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A report file (YAML or JSON, ours or the reference tool's).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(short = 'f', long = "format", value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Scope file to evaluate a report without our summary block (default: the built-in scope
    /// with the report's uuid).
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Waiver file applied anew (as `run --waivers`): waived FAILs show as WAIVED and the exit
    /// status is the one `run --waivers` gives; the verdicts in the report stay as they are.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
}

/// `report`: renders a report file (ours or the reference tool's) in the format asked for.
pub(super) async fn report_cmd(args: ReportArgs) -> Result<ExitStatus> {
    let text = report::read_report_text(&args.file).map_err(|err| anyhow!("cannot read {err}"))?;
    let mut reports: Vec<Report> =
        report::read_reports(&text).map_err(|err| anyhow!("{}: {err}", args.file.display()))?;
    let mut status = ExitStatus::Pass;
    if let Some(path) = &args.waivers {
        status = super::waivers::apply_waiver_file(&mut reports, path, &args.file, today())?;
    }
    if matches!(args.format, ReportFormat::Html) && reports.len() > 1 {
        bail!(
            "{}: holds {} reports; an HTML page shows one (split the file, one report each)",
            args.file.display(),
            reports.len()
        );
    }
    let mut out = String::new();
    for report in &reports {
        let scope = match &args.scope {
            Some(arg) => Some(load_scope(arg).await?),
            None => spec::builtin_names()
                .iter()
                .filter_map(|name| spec::load_builtin(name))
                .find(|scope| scope.uuid == report.spec.uuid)
                .map(Arc::new),
        };
        let rendered = match args.format {
            ReportFormat::Text => report::render_console(report, scope.as_deref()),
            ReportFormat::Markdown => report::render_markdown(report, scope.as_deref()),
            ReportFormat::Json => report::to_json(report),
            ReportFormat::Junit => report::render_junit(report, scope.as_deref()),
            ReportFormat::Html => report::render_html(report, scope.as_deref()),
            ReportFormat::Yaml => report::to_yaml(report),
        };
        out.push_str(&rendered);
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))?
        }
        None if matches!(args.format, ReportFormat::Text) => console::print_summary(&out),
        None => console::print(&out),
    }
    Ok(status)
}
