//! [`resolve`]: turns a scope and the user's [`Selection`] into a [`Plan`]: the variables
//! assigned, the versions and targets chosen ([`super::targets`], [`super::versions`]) and the
//! work list ([`super::work`]); also the variables a selection uses (for checking `-a` keys) and
//! the plan for display, where unassigned variables do not stop it. [`PlanError`] says why a plan
//! could not be made.

use super::subst::{SubstError, placeholders};
use super::targets::planned_versions;
use super::work::work_items;
use super::{Plan, Selection};
use crate::probes::Registry;
use crate::spec::Scope;
use chrono::NaiveDate;
use indexmap::IndexMap;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Why a plan could not be made. Every message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Declared variables without default or assignment.
    #[error("missing variable assignments (use -a KEY=VALUE): {}", .0.join(", "))]
    MissingVariables(Vec<String>),
    /// `-V` named a version the scope does not have.
    #[error("unknown version '{name}' (known versions: {})", known.join(", "))]
    UnknownVersion {
        /// The forced name.
        name: String,
        /// Versions of the scope, in scope order.
        known: Vec<String>,
    },
    /// Nothing is selected on the reference date.
    #[error("no valid version found for {date} ({detail})")]
    NoValidVersion {
        /// The reference date.
        date: NaiveDate,
        /// Which timeline entries exist and which one applied.
        detail: String,
    },
    /// `-t` is not a valid regular expression.
    #[error("invalid --tests regex '{pattern}': {message}")]
    BadTestsRegex {
        /// The pattern as given.
        pattern: String,
        /// The regex engine's complaint.
        message: String,
    },
    /// `-t`/`-S` left no testcase at all in the selected versions.
    #[error(
        "no testcase matches {filters} in version(s) {versions} (see `scs-check plan` for the ids)"
    )]
    NothingSelected {
        /// The filters as given, e.g. `-t 'scs-9999'` or `-t 'x' and -S light`.
        filters: String,
        /// The selected versions, comma-separated.
        versions: String,
    },
    /// A target names a testcase no script declares.
    #[error("version '{version}' lists testcase '{testcase}', which no script declares")]
    UnknownTestcase {
        /// The version whose target names it.
        version: String,
        /// The undeclared id.
        testcase: String,
    },
    /// A testcase points at a script index that does not exist.
    #[error("testcase '{testcase}' refers to script #{script}, which does not exist")]
    DanglingScript {
        /// The testcase id.
        testcase: String,
        /// The bad index.
        script: usize,
    },
    /// An `args` or `env` template of a script could not be rendered.
    #[error("script {script}: {field}: {error}")]
    Substitution {
        /// The script, as `EXECUTABLE (line N)`.
        script: String,
        /// `args` or `env NAME`.
        field: String,
        /// What went wrong.
        error: SubstError,
    },
    /// The rendered `args` could not be split into words (unbalanced quotes).
    #[error("script {script}: args: cannot split '{args}' into words: {message}")]
    BadArgs {
        /// The script, as `EXECUTABLE (line N)`.
        script: String,
        /// The rendered args.
        args: String,
        /// The splitter's complaint.
        message: String,
    },
}

/// Builds the plan of one run. See the module documentation of [`crate::plan`].
pub fn resolve(
    scope: Arc<Scope>,
    selection: Selection,
    registry: &Registry,
    today: NaiveDate,
) -> Result<Plan, PlanError> {
    let date = selection.date.unwrap_or(today);
    let variables = assign_variables(&scope, &selection)?;
    let versions = planned_versions(&scope, &selection, date)?;

    let filtered = selection.tests.is_some() || selection.sections.is_some();
    if filtered
        && versions
            .iter()
            .all(|v| v.targets.values().all(Vec::is_empty))
    {
        let mut filters = Vec::new();
        if let Some(tests) = &selection.tests {
            filters.push(format!("-t '{tests}'"));
        }
        if let Some(sections) = &selection.sections {
            filters.push(format!("-S {}", sections.join(",")));
        }
        return Err(PlanError::NothingSelected {
            filters: filters.join(" and "),
            versions: versions
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }

    let items = work_items(&scope, &selection, registry, &versions, &variables)?;
    Ok(Plan {
        scope,
        date,
        versions,
        items,
        variables,
        selection,
    })
}

/// The variables the versions a selection chooses can use, for checking `-a` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableUse {
    /// The chosen versions, in scope order.
    pub versions: Vec<String>,
    /// The variable names, sorted: the declared variables and their defaults, and every
    /// `{name}` in the `args` and `env` of a script with a testcase in a chosen version (before
    /// the `-t`/`-S` filters, counting the modules `-t` pulls in).
    pub names: Vec<String>,
}

/// Which variables the versions chosen by `selection` (date or `-V`, and `-t` for the modules
/// it pulls in) use. Fails like [`resolve`] when no version can be chosen; does not need the
/// variables to be assigned.
pub fn used_variables(
    scope: &Scope,
    selection: &Selection,
    today: NaiveDate,
) -> Result<VariableUse, PlanError> {
    let date = selection.date.unwrap_or(today);
    let versions = planned_versions(scope, selection, date)?;
    let scripts: BTreeSet<usize> = versions
        .iter()
        .flat_map(|v| v.all_targets.values().flatten())
        .filter_map(|id| scope.testcases.get(id).map(|tc| tc.script))
        .collect();
    let mut names: BTreeSet<String> = scope
        .variables
        .iter()
        .chain(scope.defaults.keys())
        .cloned()
        .collect();
    for script in scripts.iter().filter_map(|&i| scope.scripts.get(i)) {
        for template in script.args.iter().chain(script.env.values()) {
            names.extend(placeholders(template));
        }
    }
    Ok(VariableUse {
        versions: versions.into_iter().map(|v| v.name).collect(),
        names: names.into_iter().collect(),
    })
}

/// The value `plan` shows for a declared variable that has no default and no assignment.
pub const UNASSIGNED: &str = "<unassigned>";

/// Like [`resolve`], for showing a plan: declared variables without a value do not stop it;
/// they are set to [`UNASSIGNED`] and returned by name.
pub fn resolve_for_display(
    scope: Arc<Scope>,
    mut selection: Selection,
    registry: &Registry,
    today: NaiveDate,
) -> Result<(Plan, Vec<String>), PlanError> {
    let mut unassigned = Vec::new();
    for name in &scope.variables {
        if !scope.defaults.contains_key(name) && !selection.assignments.contains_key(name) {
            unassigned.push(name.clone());
        }
    }
    let mut plan = {
        let mut display = selection.clone();
        for name in &unassigned {
            display
                .assignments
                .insert(name.clone(), UNASSIGNED.to_string());
        }
        std::mem::swap(&mut selection, &mut display);
        resolve(scope, selection, registry, today)?
    };
    for name in &unassigned {
        plan.selection.assignments.shift_remove(name);
    }
    Ok((plan, unassigned))
}

/// Scope defaults overlaid with `-a`; every declared variable must end up with a value.
fn assign_variables(
    scope: &Scope,
    selection: &Selection,
) -> Result<IndexMap<String, String>, PlanError> {
    let mut variables = scope.defaults.clone();
    for (k, v) in &selection.assignments {
        variables.insert(k.clone(), v.clone());
    }
    let missing: Vec<String> = scope
        .variables
        .iter()
        .filter(|name| !variables.contains_key(name.as_str()))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(variables)
    } else {
        Err(PlanError::MissingVariables(missing))
    }
}
