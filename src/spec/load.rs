//! Loading entry points (text, file, URL, built-in, command-line argument), the located
//! [`Problem`] type and [`LoadError`], format detection, and the small helpers the three format
//! readers share to pull typed values out of the YAML node tree while collecting problems.

use super::model::{Format, Origin, Pos, Scope};
use super::yaml::{self, Node, Value};
use chrono::NaiveDate;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The scope cannot be used.
    Error,
    /// Suspicious but usable; loading still succeeds.
    Warning,
}

/// One located finding about a scope file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, URL or built-in name the problem is in (see [`Origin`]'s `Display`).
    pub origin: String,
    /// Line and column, when the problem has a place.
    pub pos: Option<Pos>,
    /// One line, without the location prefix.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl Problem {
    /// Whether this problem makes loading fail.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    /// `ORIGIN:LINE:COL: message`, or `ORIGIN: message` without a place; warnings carry a
    /// `warning: ` prefix before the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.origin)?;
        if let Some(pos) = self.pos {
            write!(f, "{}:{}:", pos.line, pos.column)?;
        }
        if self.severity == Severity::Warning {
            write!(f, " warning: {}", self.message)
        } else {
            write!(f, " {}", self.message)
        }
    }
}

fn display_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a scope could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{}: cannot read scope file: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The URL could not be downloaded.
    #[error("{url}: cannot download scope file: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong (HTTP status, timeout, connection error).
        message: String,
    },
    /// The argument is neither a URL, nor an existing file, nor a built-in scope name.
    #[error(
        "{arg}: no such scope file (not a URL, not an existing file, and not a built-in scope; built-in scopes: {})",
        super::builtin::builtin_names().join(", ")
    )]
    NotFound {
        /// The argument as given.
        arg: String,
    },
    /// The file was read but is not a valid scope; every problem found (errors and warnings),
    /// in file order. Displayed as one line per problem.
    #[error("{}", display_problems(.0))]
    Invalid(Vec<Problem>),
}

/// The result of checking a scope text: the scope (if there were no errors) and every problem,
/// errors and warnings, in file order.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The scope, when no problem is an error.
    pub scope: Option<Scope>,
    /// All problems, sorted by position.
    pub problems: Vec<Problem>,
}

impl Checked {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }
}

/// Parses and validates a scope text, returning the scope and every problem (errors and
/// warnings). This is what `scs-check validate` uses.
pub fn validate_text(text: &str, origin: Origin, base_dir: Option<PathBuf>) -> Checked {
    let mut cx = Ctx::new(origin.to_string());
    let scope = match yaml::parse(text) {
        Err(e) => {
            cx.problems.push(Problem {
                origin: cx.origin.clone(),
                pos: e.pos,
                message: e.message,
                severity: Severity::Error,
            });
            None
        }
        Ok(root) => read_root(&mut cx, &root, origin, base_dir),
    };
    let mut problems = cx.problems;
    problems.sort_by_key(|p| p.pos);
    let scope = if problems.iter().any(Problem::is_error) {
        None
    } else {
        scope
    };
    Checked { scope, problems }
}

/// Reads a file and checks it like [`validate_text`]; only I/O failures are errors here.
pub fn validate_file(path: &Path) -> Result<Checked, LoadError> {
    let text = read_file(path)?;
    Ok(validate_text(
        &text,
        Origin::File(path.to_path_buf()),
        Some(dir_of(path)),
    ))
}

/// Parses and validates a scope text. Warnings are dropped; use [`validate_text`] to see them.
pub fn load_str(text: &str, origin: Origin, base_dir: Option<PathBuf>) -> Result<Scope, LoadError> {
    let checked = validate_text(text, origin, base_dir);
    match checked.scope {
        Some(scope) => Ok(scope),
        None => Err(LoadError::Invalid(checked.problems)),
    }
}

fn read_file(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Loads a scope file from disk; scripts resolve against the file's directory.
pub fn load_file(path: &Path) -> Result<Scope, LoadError> {
    let text = read_file(path)?;
    load_str(&text, Origin::File(path.to_path_buf()), Some(dir_of(path)))
}

/// Downloads and loads a scope file (30 s timeout). Downloaded scopes have no base directory.
pub async fn load_url(url: &str) -> Result<Scope, LoadError> {
    let text = crate::http::get_text(url, Duration::from_secs(30))
        .await
        .map_err(|message| LoadError::Download {
            url: url.to_string(),
            message,
        })?;
    load_str(&text, Origin::Url(url.to_string()), None)
}

/// Loads the scope a command-line argument names: an `http(s)://` URL, an existing file, or a
/// built-in name (`iaas`, `kaas`, also `scs-compatible-iaas` and `scs-compatible-iaas.yaml`).
pub async fn load_argument(arg: &str) -> Result<Scope, LoadError> {
    if arg.starts_with("http://") || arg.starts_with("https://") {
        return load_url(arg).await;
    }
    let path = Path::new(arg);
    // Only a regular file shadows a built-in name: a directory called `iaas/` in the current
    // directory must not turn `scs-check run iaas` into a read error.
    if path.is_file() {
        return load_file(path);
    }
    if let Some(scope) = super::builtin::load_builtin(arg) {
        return Ok(scope);
    }
    if path.exists() {
        // Not a built-in name, and not a file: let the read name the problem (a directory).
        return load_file(path);
    }
    Err(LoadError::NotFound {
        arg: arg.to_string(),
    })
}

/// Detects the format of a parsed file (see `docs/scope-format.md`).
pub(crate) fn detect_format(root: &Node) -> Option<Format> {
    let has = |k: &str| root.get(k).is_some();
    if has("scripts") {
        return Some(Format::C);
    }
    let modules = root.get("modules").and_then(Node::as_seq).unwrap_or(&[]);
    let versions = root.get("versions").and_then(Node::as_seq).unwrap_or(&[]);
    let b_module = modules
        .iter()
        .any(|m| m.get("run").is_some() || m.get("testcases").is_some());
    let b_version = versions.iter().any(|v| {
        v.get("targets")
            .and_then(Node::as_map)
            .is_some_and(|t| t.iter().any(|(_, sel)| sel.as_str().is_some()))
    });
    if b_module || b_version {
        return Some(Format::B);
    }
    if versions.iter().any(|v| v.get("standards").is_some()) {
        return Some(Format::A);
    }
    if has("modules") || has("timeline") {
        return Some(Format::C);
    }
    if has("versions") {
        return Some(Format::A);
    }
    None
}

fn read_root(
    cx: &mut Ctx,
    root: &Node,
    origin: Origin,
    base_dir: Option<PathBuf>,
) -> Option<Scope> {
    if root.as_map().is_none() {
        cx.error(
            Some(root.pos),
            format!(
                "a scope file must be a mapping, found {}",
                root.value.kind()
            ),
        );
        return None;
    }
    let Some(format) = detect_format(root) else {
        cx.error(
            Some(root.pos),
            "cannot tell the scope format: expected top-level `scripts` (current format), \
             modules with `run`/`testcases`, or versions with `standards`",
        );
        return None;
    };
    let mut scope = match format {
        Format::A => super::format_a::read(cx, root)?,
        Format::B => super::format_b::read(cx, root)?,
        Format::C => super::format_c::read(cx, root)?,
    };
    scope.origin = origin;
    scope.base_dir = base_dir;
    Some(scope)
}

/// Collects problems while a format reader walks the node tree.
pub(crate) struct Ctx {
    pub origin: String,
    pub problems: Vec<Problem>,
    /// Versions whose `stabilized_at` was present but unreadable (already reported), so that
    /// the timeline check does not report them a second time.
    pub bad_stabilized: std::collections::HashSet<String>,
}

impl Ctx {
    pub fn new(origin: String) -> Self {
        Ctx {
            origin,
            problems: Vec::new(),
            bad_stabilized: std::collections::HashSet::new(),
        }
    }

    /// Records the first declaration of `id`; a repeated one is an error naming `what` and
    /// where the first stands. Returns whether `id` is new.
    pub fn first_declaration(
        &mut self,
        seen: &mut std::collections::HashMap<String, Pos>,
        what: &str,
        id: &str,
        pos: Pos,
    ) -> bool {
        if let Some(first) = seen.get(id) {
            let message = format!("duplicate {what} `{id}` (first declared at {first})");
            self.error(Some(pos), message);
            return false;
        }
        seen.insert(id.to_string(), pos);
        true
    }

    pub fn error(&mut self, pos: Option<Pos>, message: impl Into<String>) {
        self.problems.push(Problem {
            origin: self.origin.clone(),
            pos,
            message: message.into(),
            severity: Severity::Error,
        });
    }

    pub fn warn(&mut self, pos: Option<Pos>, message: impl Into<String>) {
        self.problems.push(Problem {
            origin: self.origin.clone(),
            pos,
            message: message.into(),
            severity: Severity::Warning,
        });
    }

    /// Requires a mapping; reports "`what` must be a mapping".
    pub fn map<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a [(Node, Node)]> {
        match &node.value {
            Value::Map(m) => Some(m),
            other => {
                self.error(
                    Some(node.pos),
                    format!("{what} must be a mapping, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// Requires a list; `null` counts as an empty list.
    pub fn seq<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a [Node]> {
        match &node.value {
            Value::Seq(s) => Some(s),
            Value::Null => Some(&[]),
            other => {
                self.error(
                    Some(node.pos),
                    format!("{what} must be a list, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// Checks the keys of a mapping: every key must be a string in `allowed`, every key in
    /// `required` must be present. Returns false if the node is not a mapping.
    pub fn keys(
        &mut self,
        node: &Node,
        context: &str,
        allowed: &[&str],
        required: &[&str],
    ) -> bool {
        let Some(entries) = self.map(node, context) else {
            return false;
        };
        for (k, _) in entries {
            match k.as_str() {
                Some(name) if allowed.contains(&name) => {}
                Some(name) => self.error(Some(k.pos), format!("unknown key `{name}` in {context}")),
                None => self.error(
                    Some(k.pos),
                    format!(
                        "keys of {context} must be strings, found {}",
                        k.value.kind()
                    ),
                ),
            }
        }
        for req in required {
            if node.get(req).is_none() {
                self.error(
                    Some(node.pos),
                    format!("missing required key `{req}` in {context}"),
                );
            }
        }
        true
    }

    /// A string value; numbers and other scalars are a type error.
    pub fn string(&mut self, node: &Node, key: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            other => {
                self.error(
                    Some(node.pos),
                    format!("`{key}` must be a string, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// An optional string field of a mapping.
    pub fn opt_string(&mut self, map: &Node, key: &str) -> Option<String> {
        let node = map.get(key)?;
        self.string(node, key)
    }

    /// A required string field (absence is reported by [`Ctx::keys`]).
    pub fn req_string(&mut self, map: &Node, key: &str) -> Option<(String, Pos)> {
        let node = map.get(key)?;
        self.string(node, key).map(|s| (s, node.pos))
    }

    /// A scalar rendered as text (for variable defaults, parameter and env values).
    pub fn scalar(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.scalar_text() {
            Some(s) => Some(s),
            None => {
                self.error(
                    Some(node.pos),
                    format!("{what} must be a scalar, found {}", node.value.kind()),
                );
                None
            }
        }
    }

    /// A `YYYY-MM-DD` date.
    pub fn date(&mut self, node: &Node, key: &str) -> Option<NaiveDate> {
        let text = self.string(node, key)?;
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) if text.len() == 10 => Some(d),
            _ => {
                self.error(
                    Some(node.pos),
                    format!("invalid date `{text}` for `{key}` (expected YYYY-MM-DD)"),
                );
                None
            }
        }
    }

    /// A mapping from names to scalar values (env, include parameters).
    pub fn string_map(&mut self, node: &Node, what: &str) -> indexmap::IndexMap<String, String> {
        let mut out = indexmap::IndexMap::new();
        if node.is_null() {
            return out;
        }
        let Some(entries) = self.map(node, what) else {
            return out;
        };
        for (k, v) in entries {
            let Some(name) = self.string(k, what) else {
                continue;
            };
            if let Some(val) = self.scalar(v, &format!("value of `{name}` in {what}")) {
                out.insert(name, val);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_display() {
        let p = Problem {
            origin: "a.yaml".into(),
            pos: Some(Pos { line: 3, column: 5 }),
            message: "boom".into(),
            severity: Severity::Error,
        };
        assert_eq!(p.to_string(), "a.yaml:3:5: boom");
        let w = Problem {
            pos: None,
            severity: Severity::Warning,
            ..p.clone()
        };
        assert_eq!(w.to_string(), "a.yaml: warning: boom");
        let e = LoadError::Invalid(vec![p, w]);
        assert_eq!(e.to_string(), "a.yaml:3:5: boom\na.yaml: warning: boom");
    }

    #[test]
    fn not_found_lists_builtins() {
        let e = LoadError::NotFound { arg: "nope".into() };
        assert_eq!(
            e.to_string(),
            "nope: no such scope file (not a URL, not an existing file, and not a built-in scope; built-in scopes: iaas, kaas)"
        );
    }

    #[test]
    fn dir_of_bare_file_is_dot() {
        assert_eq!(dir_of(Path::new("x.yaml")), PathBuf::from("."));
        assert_eq!(dir_of(Path::new("a/x.yaml")), PathBuf::from("a"));
    }
}
