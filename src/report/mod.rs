//! Reports: the monitor's YAML report (plus our evidence under extra keys), JSON, JUnit,
//! Markdown and HTML writers, readers for our reports and the reference tool's, and the console summary.
//!
//! - [`build`] turns a plan and item results into a [`Report`].
//! - [`to_yaml`], [`to_json`], [`to_junit`], [`to_markdown`], [`to_html`] render it; [`write_all`] writes the
//!   requested files atomically.
//! - [`read_reports`] reads multi-document YAML or JSON, ours or the reference tool's.
//! - [`summarize`] (re)computes per-version summaries; [`console_summary`] prints them and
//!   [`main_outcome`] gives the result the exit status is derived from.
//! - [`merge_rerun`] merges the report of `scs-check rerun` into the report it reran.
//! - [`load_waivers`] and [`apply_waivers`] record the waivers that let a known FAIL pass the CI
//!   gate; [`waived_summaries`] is what the exit status goes by.

mod build;
mod console;
mod html;
mod junit;
mod markdown;
mod merge;
mod model;
mod read;
mod summary;
mod text;
mod waiver;
mod write;

#[cfg(test)]
mod tests;

pub use build::{RunMeta, build, record_requests, record_resources};
pub use console::{EVIDENCE_LINES, console_summary, console_summary_of_run, render_console};
pub use html::{render_html, to_html};
pub use junit::{render_junit, to_junit};
pub use markdown::{render_markdown, to_markdown};
pub use merge::merge_rerun;
pub use model::{
    Invocation, InvocationEvidence, LegacyResult, Report, RerunNote, Run, ScsCheckBlock, SpecRef,
    TestcaseEvidence, naive_timestamp,
};
pub use read::{MAX_REPORT_BYTES, read_report_file, read_report_text, read_reports};
pub(crate) use summary::summaries_for;
pub use summary::{
    PSEUDO_VERSION, TargetSummary, TestcaseSummary, Totals, VersionSummary, main_outcome, summarize,
};
pub use waiver::{
    AppliedWaiver, Waiver, apply_waivers, load_waivers, parse_waivers, waived_summaries,
};
pub use write::{Written, check_output_paths, to_json, to_yaml, to_yaml_multi, write_all};

use std::path::PathBuf;

/// Errors reading or writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The text is not a readable report.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// The file name, or `<report>` when reading from text.
        origin: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
}
