//! Targets and filters: each selected version's targets before and after `-t`/`-S`, the
//! modules no version includes that `-t` pulls in, and the informative targets a run leaves out
//! (with a `-t` that would select them).

use super::versions::choose_versions;
use super::{Plan, PlanError, PlannedVersion, Selection};
use crate::spec::Scope;
use chrono::NaiveDate;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};

/// The versions chosen on the reference date (or by `-V`), with their targets before and after
/// the `-t`/`-S` filters and the modules `-t` pulls in.
pub(super) fn planned_versions(
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
/// [`resolve`](super::resolve)).
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
