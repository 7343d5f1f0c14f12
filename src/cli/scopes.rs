//! The commands that show scope files: `list` (the built-in scopes and their versions' status
//! today) and `validate` (every problem of scope files, with file, line and column).

use super::selection::today;
use super::{ExitStatus, console};
use crate::{plan, spec};
use anyhow::{Result, anyhow};
use clap::Args;
use std::path::Path;

/// `list`: the built-in scopes with their versions and each version's status today.
pub(super) async fn list() -> Result<ExitStatus> {
    use std::fmt::Write;
    let date = today();
    let mut out = String::new();
    for name in spec::builtin_names() {
        let scope =
            spec::load_builtin(name).ok_or_else(|| anyhow!("built-in scope {name} is missing"))?;
        let _ = writeln!(out, "{name}: {} ({})", scope.name, scope.uuid);
        let statuses = plan::annotate_validity(&scope, date);
        for version in &scope.versions {
            let status = statuses
                .iter()
                .find(|(name, _, _)| *name == version.name)
                .and_then(|(_, _, explicit)| *explicit)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "deprecated (not in the timeline)".into());
            let stable = match version.stabilized_at {
                Some(d) => format!("stable since {d}"),
                None => "not stable".into(),
            };
            let _ = writeln!(out, "  {:<8} {:<34} {stable}", version.name, status);
        }
    }
    let _ = writeln!(out, "\nstatus on {date} (UTC)");
    console::print(&out);
    Ok(ExitStatus::Pass)
}

/// Flags of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scope files (or built-in names) to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

/// `validate`: prints every problem of the scope files; exit 3 when any has one.
pub(super) async fn validate(args: ValidateArgs) -> Result<ExitStatus> {
    let mut bad = 0usize;
    for file in &args.files {
        // As for `run`: only a regular file shadows a built-in name.
        let local = Path::new(file).is_file()
            || (Path::new(file).exists() && spec::builtin::builtin_short_name(file).is_none());
        let checked = if local || file.contains("://") {
            if file.contains("://") {
                match spec::load_url(file).await {
                    Ok(scope) => spec::Checked {
                        scope: Some(scope),
                        problems: vec![],
                    },
                    Err(err) => {
                        bad += 1;
                        console::println(&err.to_string());
                        continue;
                    }
                }
            } else {
                spec::validate_file(Path::new(file)).map_err(|err| anyhow!("{err}"))?
            }
        } else if let Some(name) = spec::builtin::builtin_short_name(file) {
            let text = spec::builtin::builtin_text(name).unwrap_or_default();
            spec::validate_text(text, spec::Origin::Builtin(name.to_string()), None)
        } else {
            bad += 1;
            console::println(&format!("{file}: no such scope file"));
            continue;
        };
        for problem in &checked.problems {
            console::println(&problem.to_string());
        }
        if checked.has_errors() {
            bad += 1;
        } else if let Some(scope) = &checked.scope {
            console::println(&format!(
                "{file}: ok ({}, {}, {})",
                scope.name,
                console::count(scope.versions.len(), "version"),
                console::count(scope.testcases.len(), "testcase")
            ));
        }
    }
    if bad > 0 {
        let has = if bad == 1 { "has" } else { "have" };
        eprintln!(
            "{bad} of {} {has} problems",
            console::count(args.files.len(), "scope file")
        );
        Ok(ExitStatus::Error)
    } else {
        Ok(ExitStatus::Pass)
    }
}
