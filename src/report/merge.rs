//! Merging the report of a rerun (`scs-check rerun`) into the report it reran: the rerun
//! testcases take their new results, every other result stays as it was, and the report says
//! which results are new.

use super::model::{Report, RerunNote, ScsCheckBlock};
use super::summary::{VersionSummary, target_summary, totals};
use chrono::{TimeZone, Utc};

/// Merges `new` (a run of only the testcases `rerun`) into `old`, whose per-version summaries
/// are `old_versions` (its own block, or computed with the scope for the reference tool's
/// reports). The result:
///
/// - is a new report (`run.uuid` = `run_uuid`; the monitor rejects duplicates) that keeps the
///   old `checked_at`, `reference_date`, subject, scope and command line: its oldest results
///   are that old, so it never claims to be fresher;
/// - holds every old invocation minus the rerun testcases' results and evidence (an invocation
///   left without any result is dropped), then the new invocations: the monitor reads each
///   testcase's result exactly once;
/// - has the rerun testcases' new summaries marked `rerun: true`, targets and totals
///   recomputed, and `scs_check.rerun` naming the old run, the time of the rerun and the
///   testcases; requests and resources of both runs are added up, and the report is marked
///   simulated or TLS-unverified if either run was. Waivers recorded in `old` are dropped (they
///   may have expired); `rerun --waivers` applies a waiver file to the merged report.
pub fn merge_rerun(
    old: &Report,
    old_versions: Vec<VersionSummary>,
    new: &Report,
    rerun: &[String],
    run_uuid: String,
) -> Report {
    let is_rerun = |id: &str| rerun.iter().any(|r| r == id);
    let mut merged = old.clone();
    merged.run.uuid = run_uuid;
    merged.versions = None;

    let mut invocations = indexmap::IndexMap::new();
    for (uuid, inv) in &old.run.invocations {
        let had_results = !inv.results.is_empty();
        let mut inv = inv.clone();
        inv.results.retain(|id, _| !is_rerun(id));
        if let Some(ev) = inv.scs_check.as_mut() {
            ev.testcases.retain(|id, _| !is_rerun(id));
            ev.missing.retain(|id, _| !is_rerun(id));
        }
        let touched = had_results && inv.results.is_empty();
        if !touched {
            invocations.insert(uuid.clone(), inv);
        }
    }
    for (uuid, inv) in &new.run.invocations {
        let mut inv = inv.clone();
        inv.results.retain(|id, _| is_rerun(id));
        if let Some(ev) = inv.scs_check.as_mut() {
            ev.testcases.retain(|id, _| is_rerun(id));
            ev.missing.retain(|id, _| is_rerun(id));
        }
        invocations.insert(uuid.clone(), inv);
    }
    merged.run.invocations = invocations;

    let new_versions = new
        .scs_check
        .as_ref()
        .map(|b| b.versions.as_slice())
        .unwrap_or_default();
    let versions: Vec<VersionSummary> = old_versions
        .into_iter()
        .map(|mut version| {
            let fresh = new_versions.iter().find(|v| v.name == version.name);
            for (id, tc) in version.testcases.iter_mut() {
                if !is_rerun(id) {
                    continue;
                }
                if let Some(new_tc) = fresh.and_then(|v| v.testcases.get(id)) {
                    *tc = new_tc.clone();
                    tc.rerun = true;
                }
            }
            for target in version.targets.values_mut() {
                *target = target_summary(&target.testcases, &version.testcases);
            }
            version
        })
        .collect();

    let new_block = new.scs_check.as_ref();
    let mut block = match old.scs_check.clone() {
        Some(block) => block,
        None => ScsCheckBlock {
            tool: "scs-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            partial: old.run.is_partial(),
            versions: vec![],
            totals: Default::default(),
            requests: None,
            resources: vec![],
            simulated: false,
            tls_verification_disabled: false,
            waivers: vec![],
            rerun: None,
            extra: Default::default(),
        },
    };
    // Waivers are applied anew (`rerun --waivers`); old ones may have expired since.
    block.waivers.clear();
    block.totals = totals(&versions);
    block.versions = versions;
    if let Some(nb) = new_block {
        block.requests = match (block.requests, nb.requests) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        block.resources.extend(nb.resources.iter().cloned());
        block.simulated |= nb.simulated;
        block.tls_verification_disabled |= nb.tls_verification_disabled;
    }
    block.rerun = Some(RerunNote {
        of_run: old.run.uuid.clone(),
        rerun_at: Utc.from_utc_datetime(&new.checked_at),
        testcases: rerun.to_vec(),
    });
    merged.scs_check = Some(block);
    merged
}
