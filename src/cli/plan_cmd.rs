//! `scs-check plan`: resolves a plan without contacting anything and prints it (the rendering
//! is the plan's own, [`crate::plan::describe_plan`]).

use super::selection::{load_selection, today};
use super::{ExitStatus, SelectionArgs, console};
use crate::plan;
use crate::probes::Registry;
use anyhow::{Result, bail};
use clap::Args;

/// Flags of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    /// What to plan.
    pub selection: SelectionArgs,
    /// OpenStack cloud (from clouds.yaml) the plan is for; same as `-a os_cloud=NAME` or
    /// `OS_CLOUD`. Nothing is contacted.
    #[arg(long, value_name = "NAME")]
    pub os_cloud: Option<String>,
}

/// `plan`: resolves without contacting anything. Variables without a value are shown as
/// unassigned instead of stopping it; `--os-cloud` and `OS_CLOUD` assign `os_cloud`.
pub(super) async fn plan_cmd(args: PlanArgs) -> Result<ExitStatus> {
    let registry = Registry::builtin();
    let (scope, mut selection) = load_selection(&args.selection).await?;
    if scope.variables.iter().any(|v| v == "os_cloud") {
        let env = std::env::var("OS_CLOUD").ok().filter(|v| !v.is_empty());
        match (&args.os_cloud, selection.assignments.get("os_cloud")) {
            (Some(name), Some(assigned)) if assigned != name => {
                bail!("--os-cloud {name} contradicts -a os_cloud={assigned}")
            }
            (Some(name), _) => {
                selection
                    .assignments
                    .insert("os_cloud".into(), name.clone());
            }
            (None, None) => {
                if let Some(name) = env {
                    selection.assignments.insert("os_cloud".into(), name);
                }
            }
            (None, Some(_)) => {}
        }
    }
    let (plan, _unassigned) = plan::resolve_for_display(scope, selection, &registry, today())?;
    console::print(&plan::describe_plan(&plan));
    Ok(ExitStatus::Pass)
}
