//! What a run covers: the selection flags shared by `run` and `plan` (`SCOPE`, `-d`, `-V`, `-t`,
//! `-S`, `-a`), turning them into a [`Selection`], the check that every `-a` key is a variable a
//! selected version uses, loading the scope argument, and the "did you mean" hint for typos.

use crate::plan::{self, Selection};
use crate::spec::{self, Scope};
use anyhow::{Result, anyhow, bail};
use chrono::{NaiveDate, Utc};
use clap::Args;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Flags that choose what a run covers (shared by `run` and `plan`).
#[derive(Debug, Args, Clone)]
pub struct SelectionArgs {
    /// Scope: a built-in name (`iaas`, `kaas`), a scope file, or an http(s) URL.
    #[arg(value_name = "SCOPE")]
    pub scope: String,
    /// Reference date for the timeline, YYYY-MM-DD (default: today, UTC).
    #[arg(short = 'd', long = "date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    /// Run this version whatever its status on the date (may repeat).
    #[arg(short = 'V', long = "version", value_name = "VERSION")]
    pub versions: Vec<String>,
    /// Only testcases whose id matches REGEX at the start.
    #[arg(short = 't', long = "tests", value_name = "REGEX")]
    pub tests: Option<String>,
    /// Only testcases in these sections (comma-separated, e.g. `light,medium`).
    #[arg(short = 'S', long = "sections", value_name = "LIST")]
    pub sections: Option<String>,
    /// Set a scope variable (may repeat), e.g. `-a os_cloud=mycloud`.
    #[arg(short = 'a', long = "assign", value_name = "KEY=VALUE")]
    pub assign: Vec<String>,
    /// Run external scripts even where a native probe replaces them.
    #[arg(long)]
    pub prefer_scripts: bool,
    /// Interpreter for `.py` scripts (default: `$VIRTUAL_ENV/bin/python`, else `python3`).
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,
    /// Drop `-a` keys that no selected version uses instead of stopping. Hidden: only `batch`
    /// passes it, because its configurations give one mapping to every scope.
    #[arg(long, hide = true)]
    pub ignore_unused_assignments: bool,
}

pub(super) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date of the form YYYY-MM-DD"))
}

/// Parses `-a KEY=VALUE` items; a repeated key is an error, as in the reference.
fn parse_assignments(items: &[String]) -> Result<IndexMap<String, String>> {
    let mut out = IndexMap::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            bail!("-a {item}: expected KEY=VALUE");
        };
        if key.is_empty() {
            bail!("-a {item}: the variable name is empty");
        }
        if out.insert(key.to_string(), value.to_string()).is_some() {
            bail!("-a {key}=...: variable assigned twice");
        }
    }
    Ok(out)
}

/// Every `-a` key must be a variable a selected version uses ([`plan::used_variables`]: the
/// declared variables, their defaults and the `{name}`s of the selected versions' scripts);
/// otherwise the run stops (exit 3) naming each such key, with the closest used name where one
/// is close (`os_clod`), and the names that are used. A typo would otherwise run against the
/// wrong cloud or stop later with a confusing message.
///
/// With `ignore_unused` (the hidden `--ignore-unused-assignments`, which only `batch` passes)
/// such keys are dropped instead: a batch configuration hands one mapping (`os_cloud`,
/// `kubeconfig`, ...) to every scope, as the reference's do. The flag lets the child decide
/// with the very selection it runs (`-d`, `-V`, the modules `-t` pulls in), so `batch` need
/// not load the scope and repeat the version choice itself.
fn settle_assignment_keys(
    scope: &Scope,
    selection: &mut Selection,
    ignore_unused: bool,
) -> Result<()> {
    let used = plan::used_variables(scope, selection, today())?;
    let names: Vec<&str> = used.names.iter().map(String::as_str).collect();
    let unused: Vec<String> = selection
        .assignments
        .keys()
        .filter(|key| !names.contains(&key.as_str()))
        .cloned()
        .collect();
    if unused.is_empty() {
        return Ok(());
    }
    if ignore_unused {
        for key in &unused {
            selection.assignments.shift_remove(key);
        }
        return Ok(());
    }
    let keys: Vec<String> = unused
        .iter()
        .map(|key| match did_you_mean(key, &names) {
            Some(close) => format!("'{key}' (did you mean '{close}'?)"),
            None => format!("'{key}'"),
        })
        .collect();
    let flags: Vec<String> = unused.iter().map(|key| format!("-a {key}=...")).collect();
    let what = if unused.len() == 1 {
        "a variable"
    } else {
        "the variables"
    };
    let list = if names.is_empty() {
        "they use no variables".to_string()
    } else {
        format!("variables used: {}", names.join(", "))
    };
    bail!(
        "{}: no selected version of scope {} ({}) uses {what} {}; {list}",
        flags.join(", "),
        scope.name,
        used.versions.join(", "),
        keys.join(", ")
    )
}

/// The [`Selection`] the flags ask for (`-a` parsed, `$VIRTUAL_ENV` found).
fn selection_from(args: &SelectionArgs) -> Result<Selection> {
    let python = args.python.clone().or_else(|| {
        std::env::var_os("VIRTUAL_ENV")
            .map(|venv| Path::new(&venv).join("bin/python").display().to_string())
    });
    Ok(Selection {
        date: args.date,
        forced_versions: args.versions.clone(),
        tests: args.tests.clone(),
        sections: args.sections.as_ref().map(|s| {
            s.split(',')
                .map(|item| item.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        }),
        assignments: parse_assignments(&args.assign)?,
        prefer_scripts: args.prefer_scripts,
        python,
    })
}

/// The scope and the [`Selection`] of `run` and `plan`: the scope loaded, the flags turned into a
/// selection and its `-a` keys settled ([`settle_assignment_keys`]).
pub(super) async fn load_selection(args: &SelectionArgs) -> Result<(Arc<Scope>, Selection)> {
    load_selection_with(args, None).await
}

/// [`load_selection`], taking the scope from `scopes` when given (the runs of one batch).
pub(super) async fn load_selection_with(
    args: &SelectionArgs,
    scopes: Option<&ScopeCache>,
) -> Result<(Arc<Scope>, Selection)> {
    let scope = match scopes {
        Some(scopes) => scopes.load(&args.scope).await?,
        None => load_scope(&args.scope).await?,
    };
    let mut selection = selection_from(args)?;
    settle_assignment_keys(&scope, &mut selection, args.ignore_unused_assignments)?;
    Ok((scope, selection))
}

/// Loads the scope a `SCOPE` argument names (built-in name, file or URL).
pub(super) async fn load_scope(arg: &str) -> Result<Arc<Scope>> {
    let scope = spec::load_argument(arg)
        .await
        .map_err(|err| anyhow!("{err}"))?;
    Ok(Arc::new(scope))
}

/// Scopes loaded once and shared by the runs of one `batch`, by their SCOPE argument (an
/// absolute path, a built-in name or a URL): the scope is the same for every subject, and
/// reading and checking it is a good part of a short run's CPU time. A scope that fails to load
/// is not remembered: every run reports the error itself.
#[derive(Debug, Default)]
pub(crate) struct ScopeCache {
    loaded: std::sync::Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Arc<Scope>>>>>,
}

impl ScopeCache {
    /// The scope `arg` names, loaded by the first run that asks (the others wait for it).
    pub(crate) async fn load(&self, arg: &str) -> Result<Arc<Scope>> {
        let cell = self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(arg.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| load_scope(arg)).await.cloned()
    }
}

/// Today's date in UTC, the default reference date.
pub(super) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The candidate closest to `word` when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| {
            *d <= (c.chars().count() / 3).max(1) || c.starts_with(word) && !word.is_empty()
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_loads_each_scope_once_and_remembers_no_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scope.yaml");
        let arg = path.display().to_string();
        let cache = ScopeCache::default();
        let err = cache.load(&arg).await.unwrap_err().to_string();
        assert!(err.contains("scope.yaml"), "{err}");
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/batch/scope.yaml"),
        )
        .unwrap();
        std::fs::write(&path, &text).unwrap();
        // The failure was not remembered: the file is read now.
        let first = cache.load(&arg).await.unwrap();
        // Once loaded, the scope is shared, even if the file changes (or goes away).
        std::fs::remove_file(&path).unwrap();
        let again = cache.load(&arg).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // Other arguments are loaded on their own.
        let iaas = cache.load("iaas").await.unwrap();
        assert!(!Arc::ptr_eq(&first, &iaas));
        assert_ne!(first.name, iaas.name);
    }

    #[test]
    fn did_you_mean_finds_close_names_only() {
        let names = ["os_cloud", "kubeconfig", "subject_root"];
        assert_eq!(did_you_mean("os_clod", &names), Some("os_cloud"));
        assert_eq!(did_you_mean("kubconfig", &names), Some("kubeconfig"));
        assert_eq!(did_you_mean("region", &names), None);
        assert_eq!(
            did_you_mean("compliantt", &["compliant"]),
            Some("compliant")
        );
    }

    #[test]
    fn assignments_reject_duplicates_and_missing_equals() {
        let ok = parse_assignments(&["a=1".into(), "b=x=y".into()]).unwrap();
        assert_eq!(ok["b"], "x=y");
        assert!(parse_assignments(&["a=1".into(), "a=2".into()]).is_err());
        assert!(parse_assignments(&["novalue".into()]).is_err());
    }
}
