//! The work list: who produces each selected testcase's verdict (a native probe grouped by
//! probe and include parameters, an external script with its rendered command, or nobody:
//! not run, with the reason).

use super::subst::substitute;
use super::{PlanError, PlannedVersion, ScriptCommand, Selection, WorkItem, WorkKind};
use crate::probes::Registry;
use crate::spec::{Pos, Runner, Scope, Script};
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Reason recorded for manual testcases (no executable).
pub const REASON_MANUAL: &str = "manual testcase";
/// Reason recorded for `builtin:` testcases without a registered probe.
pub const REASON_NO_PROBE: &str = "no probe";
/// Reason recorded for scripts whose executable is an http(s) URL.
pub const REASON_HTTP: &str = "http(s) executables are not supported";

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
pub(super) fn work_items(
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
