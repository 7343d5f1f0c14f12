//! scs-0100 (flavor naming, v3.1): the testcases `scs-0100-syntax-check` (every flavor whose
//! name starts with `SCS-` follows the naming grammar; the old v1 colon syntax is tolerated with
//! a note) and `scs-0100-semantics-check` (every acceptable SCS flavor provides at least the
//! vCPUs, RAM and root disk its name promises).
//!
//! The grammar and the comparisons live in [`crate::flavor_name`]; this module turns the cloud's
//! flavor list into verdicts and findings. Decisions that differ from the reference suite (a
//! disk part without a size is not compared instead of aborting; the GPU generation stops at
//! `_`) are listed in `docs/divergences.md`, section "Flavor names".

use super::common::{self, FnProbe, abort_all};
use crate::flavor_name::{self, FlavorFacts, FlavorName, NameCheck, Problem};
use crate::openstack::models::Flavor;
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::FutureExt;
use std::sync::Arc;

/// Testcase id of the syntax check.
pub const SYNTAX_CHECK: &str = "scs-0100-syntax-check";
/// Testcase id of the semantics check.
pub const SEMANTICS_CHECK: &str = "scs-0100-semantics-check";

/// How many flavor names a one-line reason lists before "and N more".
const NAMES_IN_REASON: usize = 5;

/// The probe answering both scs-0100 testcases.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(
        "scs-0100-flavor-naming",
        vec![SYNTAX_CHECK.to_string(), SEMANTICS_CHECK.to_string()],
        |ctx, ids| run(ctx, ids).boxed(),
    )
}

/// What the cloud reports about a flavor, in the form the flavor-name library compares.
pub fn flavor_facts(flavor: &Flavor) -> FlavorFacts {
    FlavorFacts {
        vcpus: flavor.vcpus,
        ram_mib: flavor.ram,
        disk_gb: flavor.disk,
        extra_specs: flavor.extra_specs.clone(),
    }
}

/// How findings name a flavor: `flavor "SCS-2V-4"`.
pub fn flavor_label(name: &str) -> String {
    format!("flavor {name:?}")
}

/// `A, B, C and 2 more`.
fn name_list(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(NAMES_IN_REASON).copied().collect();
    let mut text = shown.join(", ");
    if names.len() > NAMES_IN_REASON {
        text.push_str(&format!(" and {} more", names.len() - NAMES_IN_REASON));
    }
    text
}

async fn run(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let flavors = match common::flavors(ctx).await {
        Ok(flavors) => flavors,
        Err(reason) => return abort_all(ids, &reason),
    };
    ids.iter()
        .map(|id| match id.as_str() {
            SYNTAX_CHECK => syntax_check(&flavors),
            SEMANTICS_CHECK => semantics_check(&flavors),
            other => Outcome::abort(other, "not a testcase of the scs-0100 probe"),
        })
        .collect()
}

/// `scs-0100-syntax-check` over a flavor list: FAIL when a name starting with `SCS-` is
/// neither valid in the current syntax nor in the tolerated v1 syntax.
pub fn syntax_check(flavors: &[Flavor]) -> Outcome {
    let mut evidence = Vec::new();
    let mut invalid: Vec<&str> = Vec::new();
    let mut tolerated = 0usize;
    let mut total = 0usize;
    for flavor in flavors {
        match flavor_name::check_name(&flavor.name) {
            NameCheck::NotScs => continue,
            NameCheck::Valid(_) => {}
            NameCheck::ToleratedV1(parsed) => {
                tolerated += 1;
                evidence.push(Finding::new(
                    flavor_label(&flavor.name),
                    format!(
                        "uses the old v1 (colon) syntax, which is merely tolerated; \
                         the current form is {:?}",
                        parsed.to_v2()
                    ),
                ));
            }
            NameCheck::Invalid(err) => {
                invalid.push(&flavor.name);
                evidence.push(Finding::new(flavor_label(&flavor.name), err.to_string()));
            }
        }
        total += 1;
    }
    let id = SYNTAX_CHECK;
    let outcome = if total == 0 {
        Outcome::pass(id, "no flavor name starts with \"SCS-\"; nothing to check")
    } else if invalid.is_empty() {
        let mut reason = format!("all {total} SCS flavor names follow the naming grammar");
        if tolerated > 0 {
            reason.push_str(&format!(
                " ({tolerated} only in the tolerated v1 colon syntax)"
            ));
        }
        Outcome::pass(id, reason)
    } else {
        Outcome::fail(
            id,
            format!(
                "{} of {total} SCS flavor names break the naming grammar: {}",
                invalid.len(),
                name_list(&invalid)
            ),
        )
    };
    outcome.with_evidence(evidence)
}

/// The problems scs-0100 judges for one acceptable name: vCPUs, RAM and disk only (the `scs:`
/// extra specs are the business of scs-0103).
pub fn resource_problems(name: &FlavorName, flavor: &Flavor) -> Vec<Problem> {
    flavor_name::check_semantics(name, &flavor_facts(flavor))
        .into_iter()
        .filter(|p| p.aspect.is_resource())
        .collect()
}

/// `scs-0100-semantics-check` over a flavor list: FAIL when an acceptable SCS flavor provides
/// fewer vCPUs, less RAM or a smaller root disk than its name promises. Names that break the
/// grammar are left to the syntax check.
pub fn semantics_check(flavors: &[Flavor]) -> Outcome {
    let mut evidence = Vec::new();
    let mut offending: Vec<&str> = Vec::new();
    let mut total = 0usize;
    for flavor in flavors {
        let check = flavor_name::check_name(&flavor.name);
        let Some(parsed) = check.flavor() else {
            continue;
        };
        total += 1;
        let problems = resource_problems(parsed, flavor);
        if !problems.is_empty() {
            offending.push(&flavor.name);
        }
        for problem in problems {
            evidence.push(Finding::new(flavor_label(&flavor.name), problem.message));
        }
    }
    let id = SEMANTICS_CHECK;
    let outcome = if total == 0 {
        Outcome::pass(id, "no flavor has a valid SCS name; nothing to compare")
    } else if offending.is_empty() {
        Outcome::pass(
            id,
            format!("all {total} SCS flavors provide the vCPUs, RAM and disk their names promise"),
        )
    } else {
        Outcome::fail(
            id,
            format!(
                "{} of {total} SCS flavors provide less than their names promise: {}",
                offending.len(),
                name_list(&offending)
            ),
        )
    };
    outcome.with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;

    fn flavor(name: &str, vcpus: u64, ram: u64, disk: u64) -> Flavor {
        Flavor {
            id: name.to_string(),
            name: name.to_string(),
            vcpus,
            ram,
            disk,
            extra_specs: Default::default(),
            extra: Default::default(),
        }
    }

    #[test]
    fn syntax_ignores_non_scs_and_lists_invalid_names() {
        let flavors = vec![
            flavor("m1.small", 1, 2048, 20),
            flavor("scs-2V-4", 2, 4096, 0),
            flavor("SCS-2V-4", 2, 4096, 0),
            flavor("SCS-2-4", 2, 4096, 0),
        ];
        let out = syntax_check(&flavors);
        assert_eq!(out.verdict, Verdict::Fail);
        assert_eq!(
            out.reason,
            "1 of 2 SCS flavor names break the naming grammar: SCS-2-4"
        );
        assert_eq!(out.evidence.len(), 1);
        assert_eq!(out.evidence[0].object, "flavor \"SCS-2-4\"");
        assert!(
            out.evidence[0].message.starts_with("SCS-2-4: at position"),
            "{}",
            out.evidence[0].message
        );
    }

    #[test]
    fn v1_names_pass_with_a_note() {
        let out = syntax_check(&[flavor("SCS-2V:4:10", 2, 4096, 10)]);
        assert_eq!(out.verdict, Verdict::Pass);
        assert!(out.reason.contains("1 only in the tolerated v1"));
        assert!(out.evidence[0].message.contains("\"SCS-2V-4-10\""));
    }

    #[test]
    fn no_scs_flavors_pass() {
        assert_eq!(
            syntax_check(&[flavor("m1.tiny", 1, 512, 1)]).verdict,
            Verdict::Pass
        );
        assert_eq!(semantics_check(&[]).verdict, Verdict::Pass);
    }

    #[test]
    fn semantics_rounding_and_extra_specs_ignored() {
        // 4 GiB needs at least 4045 MiB.
        assert_eq!(
            semantics_check(&[flavor("SCS-2V-4", 2, 4045, 0)]).verdict,
            Verdict::Pass
        );
        let out = semantics_check(&[flavor("SCS-2V-4", 2, 4044, 0)]);
        assert_eq!(out.verdict, Verdict::Fail);
        assert_eq!(
            out.evidence[0].message,
            "the flavor has 4044 MiB RAM, but the name promises 4 GiB (at least 4045 MiB)"
        );
        // A wrong scs:cpu-type is scs-0103's business, not a resource shortfall.
        let mut f = flavor("SCS-2V-4", 2, 4096, 0);
        f.extra_specs
            .insert("scs:cpu-type".into(), "dedicated-core".into());
        assert_eq!(semantics_check(&[f]).verdict, Verdict::Pass);
        // A disk part without a size promises no size (divergence: no ABORT).
        assert_eq!(
            semantics_check(&[flavor("SCS-2V-4-n", 2, 4096, 0)]).verdict,
            Verdict::Pass
        );
        // More than promised is fine; invalid names are left to the syntax check.
        assert_eq!(
            semantics_check(&[
                flavor("SCS-2V-4-10", 4, 8192, 20),
                flavor("SCS-2-4", 0, 0, 0)
            ])
            .verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn reason_lists_at_most_five_names() {
        let flavors: Vec<Flavor> = (1..=7)
            .map(|i| flavor(&format!("SCS-{i}V-4"), 0, 4096, 0))
            .collect();
        let out = semantics_check(&flavors);
        assert_eq!(out.verdict, Verdict::Fail);
        assert!(
            out.reason.ends_with("SCS-5V-4 and 2 more"),
            "{}",
            out.reason
        );
        assert_eq!(out.evidence.len(), 7);
    }
}
