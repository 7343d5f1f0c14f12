//! YAML and JSON writers, and writing report files atomically.

use super::model::{Report, naive_timestamp};
use super::{ReportError, to_junit, to_markdown};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Renders one report as a YAML document in block style, starting with `---`.
///
/// `checked_at` and `reference_date` are written as plain (unquoted) scalars so that YAML
/// readers see a timestamp and a date, as the reference tool writes them. Every other string
/// that could be mistaken for another type is quoted (YAML 1.1 rules, which the monitor's
/// PyYAML follows).
pub fn to_yaml(report: &Report) -> String {
    let options = serde_saphyr::ser_options! {
        prefer_block_scalars: false,
    };
    // Serializing our own model cannot fail: every map key is a string and no options are
    // out of range. A failure is a bug in this module, not bad input.
    let body = serde_saphyr::to_string_with_options(report, options)
        .expect("a report always serializes to YAML");
    let body = body.strip_prefix("---\n").unwrap_or(&body);
    let mut out = String::with_capacity(body.len() + 4);
    out.push_str("---\n");
    for line in body.lines() {
        out.push_str(&unquote_top_level(line, report));
        out.push('\n');
    }
    out
}

/// Renders several reports as one multi-document YAML stream (as the batch driver uploads).
pub fn to_yaml_multi(reports: &[Report]) -> String {
    reports.iter().map(to_yaml).collect()
}

/// Rewrites the top-level `checked_at`/`reference_date` lines as plain scalars. Only lines at
/// column 0 are top-level keys, so nested values and block scalars are never touched.
fn unquote_top_level(line: &str, report: &Report) -> String {
    if line.starts_with("checked_at:") {
        return format!(
            "checked_at: {}",
            naive_timestamp::format(&report.checked_at)
        );
    }
    if line.starts_with("reference_date:")
        && let Some(date) = report.reference_date
    {
        return format!("reference_date: {}", date.format("%Y-%m-%d"));
    }
    line.to_string()
}

/// Renders one report as pretty-printed JSON (the monitor's `application/x-signed-json` body).
pub fn to_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report always serializes to JSON");
    s.push('\n');
    s
}

/// Writes the requested formats, each atomically (a temporary file in the same directory,
/// then a rename). Stops at the first error, which names the path.
pub fn write_all(
    report: &Report,
    yaml: Option<&Path>,
    json: Option<&Path>,
    junit: Option<&Path>,
    markdown: Option<&Path>,
) -> Result<(), ReportError> {
    if let Some(path) = yaml {
        write_atomic(path, to_yaml(report).as_bytes())?;
    }
    if let Some(path) = json {
        write_atomic(path, to_json(report).as_bytes())?;
    }
    if let Some(path) = junit {
        write_atomic(path, to_junit(report).as_bytes())?;
    }
    if let Some(path) = markdown {
        write_atomic(path, to_markdown(report).as_bytes())?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary sibling file and a rename, so readers never see
/// a half-written report.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}
