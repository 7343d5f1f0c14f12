//! Reading reports: multi-document YAML or JSON, our reports and the reference tool's (both
//! the current shape and the 2024-03..2026-01 shape with top-level `versions`). Unknown keys
//! are ignored.

use super::ReportError;
use super::model::Report;
use std::path::Path;

/// Reads every report in `text`: a JSON object or array of objects, or one or more YAML
/// documents. Errors name the line and column (with origin `<report>`).
pub fn read_reports(text: &str) -> Result<Vec<Report>, ReportError> {
    read_with_origin(text, "<report>")
}

/// The largest report file we read (64 MiB): far more than any real report, and a stop for
/// endless inputs such as `/dev/zero`.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;

/// Reads a report file; errors name the file, line and column.
pub fn read_report_file(path: &Path) -> Result<Vec<Report>, ReportError> {
    let text = read_report_text(path)?;
    read_with_origin(&text, &path.display().to_string())
}

/// Reads the text of a report file, at most [`MAX_REPORT_BYTES`]; a larger (or endless) input
/// is an error naming the file and the limit.
pub fn read_report_text(path: &Path) -> Result<String, ReportError> {
    use std::io::Read;
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB: not a report (stopped reading)",
                MAX_REPORT_BYTES >> 20
            ),
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text: not a report",
        ))
    })
}

fn read_with_origin(text: &str, origin: &str) -> Result<Vec<Report>, ReportError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return read_json(text, origin);
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 50_000_000,
            max_nodes: 20_000_000,
            max_documents: 1_000_000,
            max_total_scalar_bytes: 1 << 31,
        },
    };
    serde_saphyr::from_multiple_with_options::<Report>(text, options).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        ReportError::Parse {
            origin: origin.to_string(),
            line,
            column,
            message: one_line(&e.without_snippet().to_string()),
        }
    })
}

fn read_json(text: &str, origin: &str) -> Result<Vec<Report>, ReportError> {
    let err = |e: serde_json::Error| ReportError::Parse {
        origin: origin.to_string(),
        line: e.line() as u64,
        column: e.column() as u64,
        message: strip_json_position(&e.to_string()),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(err)?;
    match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                serde_json::from_value(item).map_err(|e| ReportError::Parse {
                    origin: origin.to_string(),
                    line: 0,
                    column: 0,
                    message: format!("report #{}: {e}", i + 1),
                })
            })
            .collect(),
        // Deserialize from the text again so that errors carry a position.
        _ => Ok(vec![serde_json::from_str(text).map_err(err)?]),
    }
}

/// Drops serde_json's ` at line L column C` suffix (the position is carried separately).
fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Collapses a possibly multi-line message to its first non-empty line, without the
/// ` at line L, column C` suffix (the position is carried separately).
fn one_line(msg: &str) -> String {
    let line = msg
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid report");
    match line.rfind(" at line ") {
        Some(i) if line[i..].contains(", column ") => line[..i].to_string(),
        _ => line.to_string(),
    }
}
