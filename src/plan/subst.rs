//! Template substitution for script `args` and `env` values, following the subset of Python's
//! `str.format` the scope files use: `{name}` is replaced, `{{` and `}}` stand for literal braces,
//! and anything else is an error (unknown name, single `}`, unclosed `{`, empty `{}`).

use std::fmt;

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstError {
    /// `{name}` names no variable.
    UnknownVariable(String),
    /// `{}`: an empty placeholder (a positional field in Python, which nothing supplies).
    EmptyPlaceholder,
    /// A `{` without its closing `}`.
    UnclosedBrace,
    /// A single `}` that is not part of `}}` or a placeholder.
    StrayCloseBrace,
    /// A `{` inside a placeholder name.
    BraceInName(String),
}

impl fmt::Display for SubstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubstError::UnknownVariable(name) => write!(f, "unknown variable '{name}'"),
            SubstError::EmptyPlaceholder => f.write_str("empty placeholder '{}'"),
            SubstError::UnclosedBrace => {
                f.write_str("'{' without closing '}' (write '{{' for a brace)")
            }
            SubstError::StrayCloseBrace => f.write_str("single '}' (write '}}' for a brace)"),
            SubstError::BraceInName(name) => write!(f, "unexpected '{{' in placeholder '{{{name}'"),
        }
    }
}

impl std::error::Error for SubstError {}

/// Renders `template`, looking placeholder names up with `lookup`.
pub fn substitute<'a>(
    template: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Result<String, SubstError> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        None => return Err(SubstError::UnclosedBrace),
                        Some('}') => break,
                        Some('{') => return Err(SubstError::BraceInName(name)),
                        Some(other) => name.push(other),
                    }
                }
                if name.is_empty() {
                    return Err(SubstError::EmptyPlaceholder);
                }
                match lookup(&name) {
                    Some(value) => out.push_str(value),
                    None => return Err(SubstError::UnknownVariable(name)),
                }
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(SubstError::StrayCloseBrace),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The placeholder names of `template` in order of appearance (repeats kept), read as
/// [`substitute`] reads them; a malformed template yields the names before the fault.
pub fn placeholders(template: &str) -> Vec<String> {
    let names = std::cell::RefCell::new(Vec::new());
    let _ = substitute(template, |name| {
        names.borrow_mut().push(name.to_string());
        Some("")
    });
    names.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn render(template: &str) -> Result<String, SubstError> {
        let vars: HashMap<&str, &str> = [
            ("os_cloud", "my cloud"),
            ("testcases", "a b"),
            ("empty", ""),
        ]
        .into_iter()
        .collect();
        substitute(template, |name| vars.get(name).copied())
    }

    #[test]
    fn substitution_table() {
        let ok = |t: &str, want: &str| assert_eq!(render(t).as_deref(), Ok(want), "template {t:?}");
        ok("", "");
        ok("plain", "plain");
        ok("-c {os_cloud}", "-c my cloud");
        ok("{testcases}", "a b");
        ok("x{empty}y", "xy");
        ok("{{literal}}", "{literal}");
        ok("{{{os_cloud}}}", "{my cloud}");
        ok("a}}b{{c", "a}b{c");
        ok("ünï {os_cloud}", "ünï my cloud");

        let err = |t: &str, want: SubstError| assert_eq!(render(t), Err(want), "template {t:?}");
        err("{nope}", SubstError::UnknownVariable("nope".into()));
        err("-c {os_cloud", SubstError::UnclosedBrace);
        err("a } b", SubstError::StrayCloseBrace);
        err("{}", SubstError::EmptyPlaceholder);
        err("{a{b}", SubstError::BraceInName("a".into()));
        err(
            "{os_cloud:>5}",
            SubstError::UnknownVariable("os_cloud:>5".into()),
        );
    }

    #[test]
    fn placeholders_are_the_substituted_names() {
        assert_eq!(
            placeholders("-c {os_cloud} {testcases} {{x}} {a-b} {os_cloud}"),
            ["os_cloud", "testcases", "a-b", "os_cloud"]
        );
        assert_eq!(placeholders("{a} {b"), ["a"]);
        assert!(placeholders("plain").is_empty());
    }

    #[test]
    fn messages_are_one_line() {
        for e in [
            SubstError::UnknownVariable("x".into()),
            SubstError::EmptyPlaceholder,
            SubstError::UnclosedBrace,
            SubstError::StrayCloseBrace,
            SubstError::BraceInName("a".into()),
        ] {
            assert!(!e.to_string().contains('\n'));
        }
        assert_eq!(
            SubstError::BraceInName("a".into()).to_string(),
            "unexpected '{' in placeholder '{a'"
        );
    }
}
