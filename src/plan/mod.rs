//! The plan: from a scope, a date, forced versions, filters and variables, which versions are
//! selected (with their validity on the date), which targets they have, and the work list that
//! says for every selected testcase who produces its verdict.
//!
//! [`resolve`] is the entry point. Manual testcases and testcases nobody can run stay in the
//! targets (they end up MISSING or ABORT) and get [`WorkKind::NotRun`] items; `-t`/`-S` filters
//! remove testcases from [`PlannedVersion::targets`] but not from [`PlannedVersion::all_targets`].

mod describe;
mod resolve;
mod subst;
mod targets;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;
mod versions;
mod work;

pub use describe::describe_plan;
pub use resolve::{
    PlanError, UNASSIGNED, VariableUse, resolve, resolve_for_display, used_variables,
};
pub use subst::{SubstError, placeholders, substitute};
pub use targets::{NotRunTarget, not_run_targets};
pub use versions::{annotate_validity, applicable_entry};
pub use work::{REASON_HTTP, REASON_MANUAL, REASON_NO_PROBE};

use crate::spec::{Scope, Validity};
use chrono::NaiveDate;
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What the user asked for; everything that shapes a plan besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Reference date for the timeline (`-d`).
    pub date: Option<NaiveDate>,
    /// Versions forced with `-V` (any status); empty means "by the timeline".
    pub forced_versions: Vec<String>,
    /// `-t REGEX`: keep testcases whose id matches at the start.
    pub tests: Option<String>,
    /// `-S a,b`: keep testcases whose section is listed.
    pub sections: Option<Vec<String>>,
    /// `-a KEY=VALUE` assignments, in command-line order.
    pub assignments: IndexMap<String, String>,
    /// Run external scripts even where a native probe exists.
    pub prefer_scripts: bool,
    /// Interpreter for `.py` scripts (default `python3`).
    pub python: Option<String>,
}

/// A version chosen for the run, with its status on the reference date.
#[derive(Debug, Clone)]
pub struct PlannedVersion {
    /// Version name.
    pub name: String,
    /// Validity on the date (`deprecated` when the timeline does not list it).
    pub validity: Validity,
    /// The code written in the applicable timeline entry, if any.
    pub explicit: Option<Validity>,
    /// Target name → testcase ids selected for this run (after filters).
    pub targets: BTreeMap<String, Vec<String>>,
    /// Target name → every testcase id of the target (before filters).
    pub all_targets: BTreeMap<String, Vec<String>>,
    /// Modules the version does not include, pulled in because `-t` names their testcases
    /// (e.g. the `-rec` modules); their parameters come from the sibling module's include.
    pub extra_includes: Vec<crate::spec::Include>,
}

impl PlannedVersion {
    /// The include parameters in force for a testcase of this version, counting the modules
    /// pulled in by `-t`.
    pub fn parameters_for(&self, scope: &Scope, testcase: &str) -> BTreeMap<String, String> {
        let mut out = scope
            .version(&self.name)
            .map(|v| v.parameters_for(scope, testcase))
            .unwrap_or_default();
        for inc in &self.extra_includes {
            let Some(module) = scope.modules.get(&inc.module) else {
                continue;
            };
            if module
                .targets
                .values()
                .any(|ids| ids.iter().any(|id| id == testcase))
            {
                for (k, v) in &inc.parameters {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        out
    }
}

/// Who produces the verdicts of a work item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkKind {
    /// A native probe, registered under this probe name.
    Native {
        /// The probe's name in the registry.
        probe: String,
        /// The executable the scope file names, which the native probe replaces (if any).
        replaces: Option<String>,
    },
    /// An external script run through the line protocol.
    Script(ScriptCommand),
    /// Nobody can run these testcases (manual testcase, or `builtin:` without a registered probe).
    NotRun {
        /// Why not, e.g. "manual testcase" or "no probe".
        reason: String,
        /// Whether the testcases count as ABORT (no probe) rather than MISSING (manual).
        abort: bool,
    },
}

/// A fully rendered external command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCommand {
    /// Resolved program path.
    pub program: PathBuf,
    /// The executable as written in the scope file.
    pub executable: String,
    /// Interpreter to run the program with (for `.py` files), if any.
    pub interpreter: Option<String>,
    /// Arguments after substitution and shell splitting.
    pub args: Vec<String>,
    /// Rendered environment overlay.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The command as the reference records it: `K=V ... executable args`.
    pub display: String,
}

/// One unit of execution: a probe run or a script invocation for a set of testcases.
#[derive(Debug, Clone)]
pub struct WorkItem {
    /// Position in the work list; stable within one plan.
    pub index: usize,
    /// Who runs it.
    pub kind: WorkKind,
    /// Requested testcase ids, sorted.
    pub testcases: Vec<String>,
    /// Include parameters in force for these testcases (native probes only).
    pub parameters: BTreeMap<String, String>,
    /// Names of the versions whose targets this item serves.
    pub versions: Vec<String>,
}

impl WorkItem {
    /// A short name for progress displays: the probe name, the executable as written, or the
    /// reason an item is not run.
    pub fn label(&self) -> String {
        match &self.kind {
            WorkKind::Native { probe, .. } => probe.clone(),
            WorkKind::Script(cmd) => cmd.executable.clone(),
            WorkKind::NotRun { reason, .. } => format!("not run: {reason}"),
        }
    }
}

/// The resolved plan of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scope being run.
    pub scope: Arc<Scope>,
    /// Reference date used for version selection.
    pub date: NaiveDate,
    /// Selected versions in scope order.
    pub versions: Vec<PlannedVersion>,
    /// Work list.
    pub items: Vec<WorkItem>,
    /// Complete variable assignment (defaults overlaid with `-a`).
    pub variables: IndexMap<String, String>,
    /// The user's selection the plan was made from.
    pub selection: Selection,
}

impl Plan {
    /// Number of testcases over all work items (a testcase served by two native items with
    /// different parameters counts twice), i.e. the total a progress display counts towards.
    pub fn testcase_count(&self) -> usize {
        self.items.iter().map(|i| i.testcases.len()).sum()
    }

    /// Whether a filter (`-t`, `-S`) narrowed the testcases, making the run partial.
    pub fn is_partial(&self) -> bool {
        self.selection.tests.is_some() || self.selection.sections.is_some()
    }
}
