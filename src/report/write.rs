//! YAML and JSON writers, and writing report files atomically.

use super::model::{LegacyResult, Report, Run, ScsCheckBlock, SpecRef, naive_timestamp};
use super::{ReportError, to_html, to_junit, to_markdown};
use indexmap::IndexMap;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Renders one report as a YAML document in block style, starting with `---`.
///
/// `checked_at` and `reference_date` are written as plain (unquoted) scalars so that YAML
/// readers see a timestamp and a date, as the reference tool writes them. Every other string
/// that could be mistaken for another type is quoted (YAML 1.1 rules, which the monitor's
/// PyYAML follows). The top-level mapping is composed here from the model, key by key in the
/// model's order: the two scalars from their typed values, every other key by the YAML
/// serializer (so nested values are never rewritten as text).
pub fn to_yaml(report: &Report) -> String {
    // Exhaustive: a field added to `Report` does not compile until it is placed here.
    let Report {
        spec,
        checked_at,
        reference_date,
        subject,
        run,
        versions,
        scs_check,
    } = report;

    /// The keys before the two plain scalars.
    #[derive(Serialize)]
    struct Head<'a> {
        spec: &'a SpecRef,
    }
    /// The keys after them, with the model's omission rules.
    #[derive(Serialize)]
    struct Tail<'a> {
        subject: &'a str,
        run: &'a Run,
        #[serde(skip_serializing_if = "Option::is_none")]
        versions: Option<&'a IndexMap<String, IndexMap<String, LegacyResult>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scs_check: Option<&'a ScsCheckBlock>,
    }

    let mut out = String::from("---\n");
    out.push_str(&block_yaml(&Head { spec }));
    out.push_str(&format!(
        "checked_at: {}\n",
        naive_timestamp::format(checked_at)
    ));
    match reference_date {
        Some(date) => out.push_str(&format!("reference_date: {}\n", date.format("%Y-%m-%d"))),
        None => out.push_str("reference_date: null\n"),
    }
    out.push_str(&block_yaml(&Tail {
        subject,
        run,
        versions: versions.as_ref(),
        scs_check: scs_check.as_ref(),
    }));
    out
}

/// One mapping in block style without the document marker, each line ending in a newline.
fn block_yaml(value: &impl Serialize) -> String {
    let options = serde_saphyr::ser_options! {
        prefer_block_scalars: false,
    };
    // Serializing our own model cannot fail: every map key is a string and no options are
    // out of range. A failure is a bug in this module, not bad input.
    let body = serde_saphyr::to_string_with_options(value, options)
        .expect("a report always serializes to YAML");
    let mut body = body.strip_prefix("---\n").unwrap_or(&body).to_string();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    body
}

/// Renders several reports as one multi-document YAML stream (as the batch driver uploads).
pub fn to_yaml_multi(reports: &[Report]) -> String {
    reports.iter().map(to_yaml).collect()
}

/// Renders one report as pretty-printed JSON (the monitor's `application/x-signed-json` body).
pub fn to_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report always serializes to JSON");
    s.push('\n');
    s
}

/// The outcome of [`write_all`]: one entry per requested file, in the order YAML, JSON, JUnit,
/// Markdown, HTML.
#[derive(Debug, Default)]
pub struct Written {
    /// Each requested file with whether writing it worked.
    pub files: Vec<(PathBuf, Result<(), ReportError>)>,
}

impl Written {
    /// Whether every requested file was written.
    pub fn all_ok(&self) -> bool {
        self.files.iter().all(|(_, r)| r.is_ok())
    }

    /// The files that could not be written, with the reason.
    pub fn failures(&self) -> impl Iterator<Item = &ReportError> {
        self.files.iter().filter_map(|(_, r)| r.as_ref().err())
    }

    /// Prints one line per file on stderr: `wrote PATH`, or `error: cannot write PATH: reason`.
    pub fn announce(&self) {
        for (path, result) in &self.files {
            match result {
                Ok(()) => crate::terminal::err_line(&format!("wrote {}", path.display())),
                Err(err) => crate::terminal::err_line(&format!("error: cannot write {err}")),
            }
        }
    }

    /// The first failure as an error (for callers that stop on it).
    pub fn into_result(self) -> Result<(), ReportError> {
        match self.files.into_iter().find_map(|(_, r)| r.err()) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// Writes the requested formats, each atomically (a temporary file in the same directory,
/// then a rename). A file that cannot be written does not keep the others from being written;
/// the result says, per file, what happened. Prints nothing (see [`Written::announce`]), so it
/// can be called again to rewrite the reports silently.
pub fn write_all(
    report: &Report,
    yaml: Option<&Path>,
    json: Option<&Path>,
    junit: Option<&Path>,
    markdown: Option<&Path>,
    html: Option<&Path>,
) -> Written {
    type Render = fn(&Report) -> String;
    let renderers: [(Option<&Path>, Render); 5] = [
        (yaml, to_yaml),
        (json, to_json),
        (junit, to_junit),
        (markdown, to_markdown),
        (html, to_html),
    ];
    let mut written = Written::default();
    for (path, render) in renderers {
        if let Some(path) = path {
            let result = write_atomic(path, render(report).as_bytes());
            written.files.push((path.to_path_buf(), result));
        }
    }
    written
}

/// Checks, before a run, that each output file can be written later: its directory exists, is
/// a directory and accepts a new file (tried with a temporary file that is removed again), and
/// the path itself is not a directory. Returns the first problem as one line naming the flag
/// and the path.
pub fn check_output_paths(paths: &[(&str, &Path)]) -> Result<(), String> {
    for (flag, path) in paths {
        if path.is_dir() {
            return Err(format!("{flag} {}: is a directory", path.display()));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            let what = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(format!(
                "{flag} {}: the directory {} {what}",
                path.display(),
                dir.display()
            ));
        }
        // The same name the real write uses first, so a name that is too long shows up too.
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        let probe = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        match std::fs::File::create(&probe) {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(err) => {
                return Err(format!(
                    "{flag} {}: cannot write into {}: {err}",
                    path.display(),
                    dir.display()
                ));
            }
        }
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
