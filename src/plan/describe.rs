//! The plan's description for people, as `scs-check plan` prints it: scope, date, filters,
//! versions with their targets, variables, and the work list with how each item runs.

use super::{Plan, UNASSIGNED, WorkKind};
use crate::terminal::count;

/// The human description of a plan printed by `scs-check plan`.
pub fn describe_plan(plan: &Plan) -> String {
    use std::fmt::Write;
    let scope = &plan.scope;
    let mut out = String::new();
    let _ = writeln!(out, "scope:  {} ({})", scope.name, scope.uuid);
    let _ = writeln!(out, "source: {}", scope.origin);
    let _ = writeln!(out, "date:   {}", plan.date);
    if let Some(tests) = &plan.selection.tests {
        let _ = writeln!(out, "tests:  '{tests}' (prefix match)");
    }
    if let Some(sections) = &plan.selection.sections {
        let _ = writeln!(out, "sections: {}", sections.join(", "));
    }
    let _ = writeln!(out, "\nversions:");
    for version in &plan.versions {
        let status = match version.explicit {
            Some(code) => code.to_string(),
            None => "deprecated (not in the timeline)".to_string(),
        };
        let _ = writeln!(out, "  {} — {}", version.name, status);
        for (target, ids) in &version.all_targets {
            let selected = version.targets.get(target).map_or(0, Vec::len);
            let decides = if target == "main" {
                ", decides certification"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    {target}: {selected} of {} selected{decides}",
                count(ids.len(), "testcase")
            );
        }
    }
    if !plan.variables.is_empty() {
        let _ = writeln!(out, "\nvariables:");
        for (key, value) in &plan.variables {
            if value == UNASSIGNED {
                let _ = writeln!(out, "  {key}: unassigned (give it with -a {key}=VALUE)");
            } else {
                let _ = writeln!(out, "  {key} = {value}");
            }
        }
    }
    let _ = writeln!(out, "\nwork ({}):", count(plan.items.len(), "item"));
    for item in &plan.items {
        let how = match &item.kind {
            WorkKind::Native {
                probe,
                replaces: Some(script),
            } => {
                format!("built-in probe {probe} (replaces {script})")
            }
            WorkKind::Native {
                probe,
                replaces: None,
            } => format!("built-in probe {probe}"),
            WorkKind::Script(cmd) => format!("script: {}", cmd.display),
            WorkKind::NotRun {
                reason,
                abort: true,
            } => format!("not run, ABORT: {reason}"),
            WorkKind::NotRun {
                reason,
                abort: false,
            } => format!("not run, MISSING: {reason}"),
        };
        let _ = writeln!(out, "  {}. {how}", item.index + 1);
        if !item.parameters.is_empty() {
            let params: Vec<String> = item
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(out, "     parameters: {}", params.join(", "));
        }
        let _ = writeln!(out, "     testcases: {}", item.testcases.join(" "));
    }
    out
}
