//! [`resolve`]: turns a scope and the user's [`Selection`] into a [`Plan`]: validity on the
//! reference date, version choice, testcase filters, variable assignment, command rendering and
//! the work list.

use super::subst::{SubstError, placeholders, substitute};
use super::{Plan, PlannedVersion, ScriptCommand, Selection, WorkItem, WorkKind};
use crate::probes::Registry;
use crate::spec::{Pos, Runner, Scope, Script, TimelineEntry, Validity};
use chrono::NaiveDate;
use indexmap::IndexMap;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reason recorded for manual testcases (no executable).
pub const REASON_MANUAL: &str = "manual testcase";
/// Reason recorded for `builtin:` testcases without a registered probe.
pub const REASON_NO_PROBE: &str = "no probe";
/// Reason recorded for scripts whose executable is an http(s) URL.
pub const REASON_HTTP: &str = "http(s) executables are not supported";

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

/// Validity of every version on `date`, as the reference's `annotate_validity` computes it:
/// the timeline entry with the greatest date not after `date` applies; listed versions get their
/// code, the others are deprecated without an explicit code. Without such an entry every version
/// is implicitly deprecated. Returns `(name, validity, explicit)` in scope order.
pub fn annotate_validity(
    scope: &Scope,
    date: NaiveDate,
) -> Vec<(String, Validity, Option<Validity>)> {
    let entry = applicable_entry(&scope.timeline, date);
    scope
        .versions
        .iter()
        .map(|v| {
            let explicit = entry.and_then(|e| e.versions.get(&v.name).copied());
            (
                v.name.clone(),
                explicit.unwrap_or(Validity::Deprecated),
                explicit,
            )
        })
        .collect()
}

/// The timeline entry in force on `date` (greatest date ≤ `date`; on equal dates the first in
/// file order), independent of the order the file lists them in.
pub fn applicable_entry(timeline: &[TimelineEntry], date: NaiveDate) -> Option<&TimelineEntry> {
    let mut best: Option<&TimelineEntry> = None;
    for entry in timeline.iter().filter(|e| e.date <= date) {
        if best.is_none_or(|b| entry.date > b.date) {
            best = Some(entry);
        }
    }
    best
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

/// The versions chosen on the reference date (or by `-V`), with their targets before and after
/// the `-t`/`-S` filters and the modules `-t` pulls in.
fn planned_versions(
    scope: &Scope,
    selection: &Selection,
    date: NaiveDate,
) -> Result<Vec<PlannedVersion>, PlanError> {
    let chosen = choose_versions(scope, selection, date)?;
    let filter = Filter::new(selection)?;
    let mut versions = Vec::new();
    for (name, validity, explicit) in chosen {
        let Some(version) = scope.version(&name) else {
            continue;
        };
        let mut targets = BTreeMap::new();
        for (target, ids) in &version.targets {
            let mut kept = Vec::new();
            for id in ids {
                let Some(tc) = scope.testcases.get(id) else {
                    return Err(PlanError::UnknownTestcase {
                        version: name.clone(),
                        testcase: id.clone(),
                    });
                };
                if filter.keeps(id, tc.section.as_deref()) {
                    kept.push(id.clone());
                }
            }
            targets.insert(target.clone(), kept);
        }
        let mut all_targets = version.targets.clone();
        let extra_includes = if selection.tests.is_some() {
            pull_in_modules(scope, version, &filter, &mut targets, &mut all_targets)
        } else {
            Vec::new()
        };
        versions.push(PlannedVersion {
            name,
            validity,
            explicit,
            targets,
            all_targets,
            extra_includes,
        });
    }
    Ok(versions)
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

/// An informative target (never `main`) of a selected version that this run does not run at
/// all, with a `-t` that would select its testcases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRunTarget {
    /// The version.
    pub version: String,
    /// The target, e.g. `recommended`.
    pub target: String,
    /// How many testcases it has.
    pub testcases: usize,
    /// A `-t` value selecting them.
    pub tests: String,
}

/// The informative targets of the selected versions that have testcases but none selected:
/// targets that `-t`/`-S` filtered out, and (without `-t`) the targets of modules that no
/// version includes, which only `-t` selects (main becomes `recommended`, see
/// [`resolve`]).
pub fn not_run_targets(plan: &Plan) -> Vec<NotRunTarget> {
    let scope = &plan.scope;
    let mut out = Vec::new();
    for version in &plan.versions {
        let mut candidates: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (target, ids) in &version.all_targets {
            candidates
                .entry(target.clone())
                .or_default()
                .extend(ids.iter().cloned());
        }
        let spec_version = scope.versions.iter().find(|v| v.name == version.name);
        if let (None, Some(spec_version)) = (&plan.selection.tests, spec_version) {
            for (module, _) in modules_to_pull_in(scope, spec_version) {
                for (target, ids) in &module.targets {
                    let target = if target == "main" {
                        "recommended"
                    } else {
                        target.as_str()
                    };
                    candidates
                        .entry(target.to_string())
                        .or_default()
                        .extend(ids.iter().cloned());
                }
            }
        }
        for (target, mut ids) in candidates {
            let selected = version.targets.get(&target).map_or(0, Vec::len);
            if target == "main" || selected > 0 {
                continue;
            }
            ids.sort();
            ids.dedup();
            let Some(tests) = common_prefix(&ids) else {
                continue;
            };
            out.push(NotRunTarget {
                version: version.name.clone(),
                target,
                testcases: ids.len(),
                tests,
            });
        }
    }
    out
}

/// A `-t` value for `ids`: per group of ids sharing their first two `-` parts (`scs-0102-`),
/// the group's longest common prefix, joined with `|`; `None` for no ids.
fn common_prefix(ids: &[String]) -> Option<String> {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for id in ids {
        let key: String = id.split_inclusive('-').take(2).collect();
        groups.entry(key).or_default().push(id);
    }
    let parts: Vec<String> = groups
        .values()
        .map(|group| {
            let first = group[0];
            let len = group[1..].iter().fold(first.len(), |len, id| {
                len.min(
                    first
                        .bytes()
                        .zip(id.bytes())
                        .take_while(|(a, b)| a == b)
                        .count(),
                )
            });
            let mut len = len;
            while !first.is_char_boundary(len) {
                len -= 1;
            }
            escape_regex(&first[..len])
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("|"))
}

/// Escapes the regex metacharacters of `text` (but not `-`, which needs none outside classes).
fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The modules that no version of the scope includes but that `-t` may pull into `version`,
/// each with the include of its sibling module (the same id without `-rec`) in that version.
/// A `-rec` module whose sibling exists joins only the versions that include the sibling:
/// `scs-0104-v1-1-rec` belongs with `scs-0104-v1-1` (and takes its image spec), not with a
/// version that tests `scs-0104-v1-2`.
fn modules_to_pull_in<'a>(
    scope: &'a Scope,
    version: &'a crate::spec::Version,
) -> Vec<(&'a crate::spec::Module, Option<&'a crate::spec::Include>)> {
    let included: BTreeSet<&str> = scope
        .versions
        .iter()
        .flat_map(|v| v.includes.iter().map(|i| i.module.as_str()))
        .collect();
    scope
        .modules
        .values()
        .filter(|module| !included.contains(module.id.as_str()))
        .filter_map(|module| {
            let sibling = module.id.strip_suffix("-rec").unwrap_or(&module.id);
            let include = version.includes.iter().find(|i| i.module == sibling);
            let has_sibling = sibling != module.id && scope.modules.contains_key(sibling);
            (!has_sibling || include.is_some()).then_some((module, include))
        })
        .collect()
}

/// With `-t`, testcases of modules that no version of the scope includes (such as the `-rec`
/// modules of the current scope files) can still be selected: such a module joins each
/// selected version with its own target names, except that `main` becomes `recommended` (a module the
/// version does not include never decides certification). A `-rec` module whose sibling module
/// (the same id without `-rec`) exists joins only the versions that include the sibling, and
/// takes the sibling's include parameters.
fn pull_in_modules(
    scope: &Scope,
    version: &crate::spec::Version,
    filter: &Filter,
    targets: &mut BTreeMap<String, Vec<String>>,
    all_targets: &mut BTreeMap<String, Vec<String>>,
) -> Vec<crate::spec::Include> {
    let already: BTreeSet<&String> = version.targets.values().flatten().collect();
    let mut extra = Vec::new();
    for (module, sibling_include) in modules_to_pull_in(scope, version) {
        let mut pulled = false;
        for (target, ids) in &module.targets {
            let target = if target == "main" {
                "recommended"
            } else {
                target.as_str()
            };
            for id in ids {
                let Some(tc) = scope.testcases.get(id) else {
                    continue;
                };
                if already.contains(id) || !filter.keeps(id, tc.section.as_deref()) {
                    continue;
                }
                for map in [&mut *targets, &mut *all_targets] {
                    let list = map.entry(target.to_string()).or_default();
                    if !list.contains(id) {
                        list.push(id.clone());
                        list.sort();
                    }
                }
                pulled = true;
            }
        }
        if pulled {
            let parameters = sibling_include
                .map(|i| i.parameters.clone())
                .unwrap_or_default();
            extra.push(crate::spec::Include {
                module: module.id.clone(),
                parameters,
                pos: Default::default(),
            });
        }
    }
    extra
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

/// The versions to run, in scope order, with their validity on `date`.
fn choose_versions(
    scope: &Scope,
    selection: &Selection,
    date: NaiveDate,
) -> Result<Vec<(String, Validity, Option<Validity>)>, PlanError> {
    let annotated = annotate_validity(scope, date);
    if !selection.forced_versions.is_empty() {
        for name in &selection.forced_versions {
            if scope.version(name).is_none() {
                return Err(PlanError::UnknownVersion {
                    name: name.clone(),
                    known: scope.versions.iter().map(|v| v.name.clone()).collect(),
                });
            }
        }
        return Ok(annotated
            .into_iter()
            .filter(|(name, _, _)| selection.forced_versions.contains(name))
            .collect());
    }
    let chosen: Vec<_> = annotated
        .into_iter()
        .filter(|(_, _, explicit)| explicit.is_some())
        .collect();
    if chosen.is_empty() {
        let detail = if scope.timeline.is_empty() {
            "the timeline has no entries".to_string()
        } else {
            let mut dates: Vec<NaiveDate> = scope.timeline.iter().map(|e| e.date).collect();
            dates.sort();
            let list = dates
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            match applicable_entry(&scope.timeline, date) {
                None => format!("the first timeline entry is later; entries: {list}"),
                Some(e) => format!(
                    "the entry of {} lists no version of this scope; entries: {list}",
                    e.date
                ),
            }
        };
        return Err(PlanError::NoValidVersion { date, detail });
    }
    Ok(chosen)
}

/// The `-t` and `-S` filters.
struct Filter {
    tests: Option<Regex>,
    sections: Option<Vec<String>>,
}

impl Filter {
    fn new(selection: &Selection) -> Result<Self, PlanError> {
        let tests = match &selection.tests {
            None => None,
            Some(pattern) => Some(Regex::new(&format!("^(?:{pattern})")).map_err(|e| {
                PlanError::BadTestsRegex {
                    pattern: pattern.clone(),
                    message: one_line_regex_error(&e),
                }
            })?),
        };
        let sections = selection.sections.as_ref().map(|list| {
            list.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        });
        Ok(Filter { tests, sections })
    }

    fn keeps(&self, id: &str, section: Option<&str>) -> bool {
        if let Some(sections) = &self.sections {
            match section {
                Some(s) if sections.iter().any(|x| x == s) => {}
                _ => return false,
            }
        }
        if let Some(re) = &self.tests {
            return re.is_match(id);
        }
        true
    }
}

/// The regex crate's syntax errors span several lines (pattern, caret, message); keep the message.
fn one_line_regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
        .unwrap_or_else(|| text.lines().map(str::trim).collect::<Vec<_>>().join(" "))
}

/// `EXECUTABLE (line N)` for error messages.
fn script_label(script: &Script) -> String {
    let what = match &script.runner {
        Runner::Executable(e) => e.clone(),
        Runner::Builtin(name) => format!("{}{name}", crate::spec::BUILTIN_PREFIX),
        Runner::Manual => "(manual)".to_string(),
    };
    if script.pos == Pos::default() {
        what
    } else {
        format!("{what} (line {})", script.pos.line)
    }
}

/// The work list: scripts in scope order; native probe items grouped by (probe, parameters).
fn work_items(
    scope: &Scope,
    selection: &Selection,
    registry: &Registry,
    versions: &[PlannedVersion],
    variables: &IndexMap<String, String>,
) -> Result<Vec<WorkItem>, PlanError> {
    // Every selected testcase, with the versions whose (filtered) targets contain it.
    let mut serving: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (vi, v) in versions.iter().enumerate() {
        for ids in v.targets.values() {
            for id in ids {
                let list = serving.entry(id.as_str()).or_default();
                if !list.contains(&vi) {
                    list.push(vi);
                }
            }
        }
    }

    // Group by script, in scope order; testcases sorted within a script.
    let mut per_script: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for &id in serving.keys() {
        let Some(tc) = scope.testcases.get(id) else {
            continue; // checked while building targets
        };
        if tc.script >= scope.scripts.len() {
            return Err(PlanError::DanglingScript {
                testcase: id.to_string(),
                script: tc.script,
            });
        }
        per_script.entry(tc.script).or_default().push(id);
    }

    struct Draft {
        kind: WorkKind,
        testcases: BTreeSet<String>,
        parameters: BTreeMap<String, String>,
        versions: BTreeSet<usize>,
    }
    let mut drafts: Vec<Draft> = Vec::new();
    let mut native_slot: BTreeMap<(String, BTreeMap<String, String>), usize> = BTreeMap::new();
    let versions_of = |ids: &[&str]| -> BTreeSet<usize> {
        ids.iter()
            .flat_map(|id| serving.get(id).into_iter().flatten().copied())
            .collect()
    };

    for (si, ids) in per_script {
        let script = &scope.scripts[si];
        let not_run = |reason: &str, abort: bool, ids: &[&str]| Draft {
            kind: WorkKind::NotRun {
                reason: reason.to_string(),
                abort,
            },
            testcases: ids.iter().map(|s| s.to_string()).collect(),
            parameters: BTreeMap::new(),
            versions: versions_of(ids),
        };
        let (native_allowed, replaces) = match &script.runner {
            Runner::Manual => {
                drafts.push(not_run(REASON_MANUAL, false, &ids));
                continue;
            }
            Runner::Builtin(_) => (true, None),
            Runner::Executable(exe) => (!selection.prefer_scripts, Some(exe.clone())),
        };
        let mut rest: Vec<&str> = Vec::new();
        for &id in &ids {
            let probe = if native_allowed {
                registry.probe_for(id)
            } else {
                None
            };
            let Some(probe) = probe else {
                rest.push(id);
                continue;
            };
            for &vi in serving.get(id).into_iter().flatten() {
                let parameters = versions[vi].parameters_for(scope, id);
                let key = (probe.to_string(), parameters.clone());
                let slot = *native_slot.entry(key).or_insert_with(|| {
                    drafts.push(Draft {
                        kind: WorkKind::Native {
                            probe: probe.to_string(),
                            replaces: replaces.clone(),
                        },
                        testcases: BTreeSet::new(),
                        parameters,
                        versions: BTreeSet::new(),
                    });
                    drafts.len() - 1
                });
                drafts[slot].testcases.insert(id.to_string());
                drafts[slot].versions.insert(vi);
            }
        }
        if rest.is_empty() {
            continue;
        }
        match &script.runner {
            Runner::Builtin(_) => drafts.push(not_run(REASON_NO_PROBE, true, &rest)),
            Runner::Executable(exe) if is_http(exe) => {
                drafts.push(not_run(REASON_HTTP, true, &rest))
            }
            Runner::Executable(exe) => {
                let command = render_command(scope, selection, script, exe, &rest, variables)?;
                drafts.push(Draft {
                    kind: WorkKind::Script(command),
                    testcases: rest.iter().map(|s| s.to_string()).collect(),
                    parameters: BTreeMap::new(),
                    versions: versions_of(&rest),
                });
            }
            Runner::Manual => {}
        }
    }

    Ok(drafts
        .into_iter()
        .enumerate()
        .map(|(index, d)| WorkItem {
            index,
            kind: d.kind,
            testcases: d.testcases.into_iter().collect(),
            parameters: d.parameters,
            versions: d
                .versions
                .into_iter()
                .map(|vi| versions[vi].name.clone())
                .collect(),
        })
        .collect())
}

fn is_http(executable: &str) -> bool {
    let lower = executable.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Renders the command of a script for the given (sorted) testcases.
fn render_command(
    scope: &Scope,
    selection: &Selection,
    script: &Script,
    executable: &str,
    testcases: &[&str],
    variables: &IndexMap<String, String>,
) -> Result<ScriptCommand, PlanError> {
    let label = script_label(script);
    let joined = testcases.join(" ");
    // Precedence as upstream: `testcases` first, variables override it.
    let lookup = |name: &str| -> Option<&str> {
        variables
            .get(name)
            .map(String::as_str)
            .or_else(|| (name == "testcases").then_some(joined.as_str()))
    };
    let rendered_args = match &script.args {
        None => String::new(),
        Some(template) => {
            substitute(template, lookup).map_err(|error| PlanError::Substitution {
                script: label.clone(),
                field: "args".to_string(),
                error,
            })?
        }
    };
    let args = shell_words::split(&rendered_args).map_err(|e| PlanError::BadArgs {
        script: label.clone(),
        args: rendered_args.clone(),
        message: e.to_string(),
    })?;
    let mut env = Vec::new();
    for (key, template) in &script.env {
        let value = substitute(template, lookup).map_err(|error| PlanError::Substitution {
            script: label.clone(),
            field: format!("env {key}"),
            error,
        })?;
        env.push((key.clone(), value));
    }

    let base = scope.base_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let stripped = executable.strip_prefix("file://").unwrap_or(executable);
    let program = absolute(&base.join(stripped));
    let cwd = absolute(&base);
    let interpreter = stripped.ends_with(".py").then(|| {
        selection
            .python
            .clone()
            .unwrap_or_else(|| "python3".to_string())
    });

    let mut display: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    display.push(executable.to_string());
    if !rendered_args.trim().is_empty() {
        display.push(rendered_args.trim().to_string());
    }
    Ok(ScriptCommand {
        program,
        executable: executable.to_string(),
        interpreter,
        args,
        env,
        cwd,
        display: display.join(" "),
    })
}

/// Makes a path absolute against the current directory without touching the file system, so
/// a relative program still resolves after the child changes its working directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
