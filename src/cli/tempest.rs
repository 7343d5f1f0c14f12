//! `scs-check tempest-judge RESULTS`: judges saved Tempest results (scs-0128) offline against
//! the SCS test list.

use super::{ExitStatus, TempestJudgeArgs};
use crate::probes::iaas::tempest_judge;
use anyhow::{Result, anyhow};

/// Judges a Tempest workspace, stestr repository, subunit (v1 or v2) file or JUnit XML file.
pub(super) async fn tempest_judge(args: TempestJudgeArgs) -> Result<ExitStatus> {
    let list = tempest_judge::load_list(args.list.as_deref(), args.areas.as_deref())
        .map_err(|e| anyhow!("{e}"))?;
    let file = tempest_judge::locate_results(&args.results).map_err(|e| anyhow!("{e}"))?;
    let results = tempest_judge::read_results(&file).map_err(|e| anyhow!("{e}"))?;
    let j = tempest_judge::judge(&list, &results);
    println!("results: {}", file.display());
    for (test, detail) in &j.failed {
        println!(
            "FAILED: {test}{}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            }
        );
    }
    for test in &j.missing {
        println!("missing: {test}");
    }
    for test in &j.skipped_unexplained {
        println!("skipped without reason: {test}");
    }
    for (test, reason) in &j.skipped {
        println!("skipped: {test} ({reason})");
    }
    println!("listed: {}", j.listed);
    println!("passed: {}", j.passed);
    println!("failed: {}", j.failed.len());
    println!("skipped: {}", j.skipped.len() + j.skipped_unexplained.len());
    for (area, n) in &j.skipped_by_area {
        println!("skipped in {area}: {n}");
    }
    println!("missing: {}", j.missing.len());
    let verdict = j.verdict();
    println!("verdict: {verdict}");
    Ok(match verdict {
        crate::verdict::Verdict::Pass => ExitStatus::Pass,
        crate::verdict::Verdict::Fail => ExitStatus::Fail,
        _ => ExitStatus::Inconclusive,
    })
}
