//! `scs-check flavor-name`: explains SCS flavor names in words (canonical, short and v1 forms),
//! or shows which character breaks the grammar and why; with `--check-cloud`, lists every SCS
//! flavor of a cloud (or simulated cloud) with its syntax and semantics verdict.

use super::{
    CloudSource, ExitStatus, FlavorNameArgs, cloud_config, connect_openstack, start_simulator,
};
use crate::flavor_name::{self, Aspect, FlavorName, NameCheck, ParseError, Problem};
use crate::openstack::models::Flavor;
use crate::probes::iaas::scs_0100_flavor_naming::flavor_facts;
use anyhow::{Result, anyhow, bail};
use std::fmt::Write as _;

/// Runs the subcommand: exit 0 when every name (and every SCS flavor of the cloud) is
/// acceptable, 1 otherwise.
pub(crate) async fn run(args: FlavorNameArgs) -> Result<ExitStatus> {
    let mut all_good = true;
    for name in &args.names {
        let (text, good) = explain_name(name);
        super::console::print(&text);
        all_good &= good;
    }
    if args.check_cloud {
        if !args.names.is_empty() {
            super::console::print("\n");
        }
        let (cloud, flavors) = cloud_flavors(&args).await?;
        let (text, good) = check_cloud(&cloud, &flavors);
        super::console::print(&text);
        all_good &= good;
    }
    Ok(if all_good {
        ExitStatus::Pass
    } else {
        ExitStatus::Fail
    })
}

/// The explanation of one name (several lines) and whether the name is acceptable to
/// `scs-0100-syntax-check` (valid, or tolerated in the v1 syntax).
pub(crate) fn explain_name(name: &str) -> (String, bool) {
    let mut out = String::new();
    match flavor_name::check_name(name) {
        NameCheck::Valid(parsed) => {
            let _ = writeln!(out, "{name}: valid");
            describe(&mut out, &parsed);
            (out, true)
        }
        NameCheck::ToleratedV1(parsed) => {
            let _ = writeln!(
                out,
                "{name}: tolerated: valid only in the old v1 (colon) syntax; \
                 new flavors should use the canonical form"
            );
            describe(&mut out, &parsed);
            (out, true)
        }
        NameCheck::Invalid(err) => {
            let _ = writeln!(out, "{name}: invalid");
            point_at(&mut out, &err);
            if name.contains(':')
                && let Err(v1) = flavor_name::parse_v1(name)
            {
                let _ = writeln!(
                    out,
                    "  read as the old v1 (colon) syntax instead: at {}: {}",
                    position(&v1),
                    v1.kind
                );
            }
            (out, false)
        }
        NameCheck::NotScs => {
            let _ = writeln!(
                out,
                "{name}: invalid: not an SCS flavor name (SCS names start with \"SCS-\", \
                 case-sensitive; the syntax check ignores other names)"
            );
            if let Err(err) = flavor_name::parse(name) {
                point_at(&mut out, &err);
            }
            (out, false)
        }
    }
}

/// The meaning and the forms of an acceptable name.
fn describe(out: &mut String, parsed: &FlavorName) {
    let _ = writeln!(out, "  meaning:   {}", flavor_name::explain(parsed));
    let _ = writeln!(out, "  canonical: {}", parsed.to_v2());
    let _ = writeln!(out, "  short:     {}", parsed.short().to_v2());
    let _ = writeln!(out, "  v1 form:   {}", parsed.to_v1());
}

/// `position 6 ('-')` or `the end of the name`.
fn position(err: &ParseError) -> String {
    match err.found {
        Some(c) => format!("position {} ({c:?})", err.position),
        None => "the end of the name".to_string(),
    }
}

/// The name with a caret under the character that breaks the grammar, and why.
fn point_at(out: &mut String, err: &ParseError) {
    let printable = !err.name.chars().any(char::is_control);
    if printable {
        let _ = writeln!(out, "  {}", err.name);
        let pad = " ".repeat(err.position.saturating_sub(1));
        let _ = writeln!(out, "  {pad}^ at {}: {}", position(err), err.kind);
    } else {
        let _ = writeln!(out, "  {:?}: at {}: {}", err.name, position(err), err.kind);
    }
}

/// Connects to the cloud chosen by the flags (or `OS_CLOUD` / `OS_AUTH_URL`) and lists its
/// flavors; returns the cloud's name for the heading too.
async fn cloud_flavors(args: &FlavorNameArgs) -> Result<(String, Vec<Flavor>)> {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    let mut simulator = None;
    let (cloud, source) = if let Some(fixture) = &args.simulate {
        let sim = start_simulator(fixture, None).await?;
        let source = CloudSource::Simulated(Box::new(sim.handle.cloud_config(&sim.cloud)));
        let cloud = sim.cloud.clone();
        simulator = Some(sim);
        (cloud, source)
    } else if let Some(name) = args.os_cloud.clone().or_else(|| env("OS_CLOUD")) {
        (name.clone(), CloudSource::Named(Some(name)))
    } else if env("OS_AUTH_URL").is_some() {
        ("envvars".to_string(), CloudSource::Named(None))
    } else {
        bail!("{}", crate::openstack::config::no_cloud_help());
    };
    let services =
        connect_openstack(cloud_config(source)?, std::time::Duration::from_secs(120)).await?;
    let listed = match services.openstack() {
        Ok(snapshot) => snapshot
            .flavors()
            .await
            .map(|f| f.to_vec())
            .map_err(|err| anyhow!("cannot list the flavors of {cloud}: {err}")),
        Err(reason) => Err(anyhow!("{reason}")),
    };
    if let Some(sim) = simulator {
        sim.handle.shutdown().await;
    }
    Ok((cloud, listed?))
}

/// The verdicts of every SCS flavor of a cloud, and whether all are good: syntax as
/// `scs-0100-syntax-check` judges it, semantics as `scs-0100-semantics-check` (vCPUs, RAM,
/// disk) plus the `scs:` extra specs that contradict the name.
pub(crate) fn check_cloud(cloud: &str, flavors: &[Flavor]) -> (String, bool) {
    let mut out = String::new();
    let scs: Vec<&Flavor> = flavors
        .iter()
        .filter(|f| flavor_name::check_name(&f.name).is_scs())
        .collect();
    let _ = writeln!(
        out,
        "cloud {cloud}: {}, {} with an SCS name",
        super::console::count(flavors.len(), "flavor"),
        scs.len()
    );
    let width = scs
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0);
    let (mut invalid, mut short, mut contradicting) = (0usize, 0usize, 0usize);
    for flavor in &scs {
        let check = flavor_name::check_name(&flavor.name);
        let syntax = match &check {
            NameCheck::Valid(_) => "valid",
            NameCheck::ToleratedV1(_) => "v1 (tolerated)",
            _ => "INVALID",
        };
        let mut details = Vec::new();
        let semantics = match check.flavor() {
            None => {
                invalid += 1;
                if let NameCheck::Invalid(err) = &check {
                    details.push(format!("at {}: {}", position(err), err.kind));
                }
                "not checked".to_string()
            }
            Some(parsed) => {
                let mut problems = flavor_name::check_semantics(parsed, &flavor_facts(flavor));
                // A `scs:name-vN` that says the flavor's own name repeats the same shortfall.
                problems.retain(|p| !restates_own_name(p, flavor, parsed));
                let (resources, specs): (Vec<_>, Vec<_>) =
                    problems.into_iter().partition(|p| p.aspect.is_resource());
                let verdict = match (resources.is_empty(), specs.is_empty()) {
                    (true, true) => "ok",
                    (true, false) => "ok, but extra specs contradict the name",
                    (false, true) => "FAIL",
                    (false, false) => "FAIL, and extra specs contradict the name",
                };
                short += usize::from(!resources.is_empty());
                contradicting += usize::from(!specs.is_empty());
                details.extend(resources.iter().chain(&specs).map(|p| p.message.clone()));
                verdict.to_string()
            }
        };
        let _ = writeln!(
            out,
            "{:<width$}  syntax: {syntax:<14}  semantics: {semantics}",
            flavor.name
        );
        for line in details {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(
        out,
        "summary: {invalid} invalid name(s), {short} flavor(s) giving less than the name \
         promises, {contradicting} with extra specs contradicting the name"
    );
    (out, invalid + short + contradicting == 0)
}

/// Whether a problem comes from a `scs:name-vN` extra spec that names the flavor's own name
/// (in any syntax), so it only repeats the problem of the name itself.
fn restates_own_name(problem: &Problem, flavor: &Flavor, own: &FlavorName) -> bool {
    let Aspect::ExtraSpec(key) = &problem.aspect else {
        return false;
    };
    key.starts_with("scs:name-v")
        && flavor
            .extra_specs
            .get(key)
            .and_then(|v| {
                flavor_name::parse(v)
                    .or_else(|_| flavor_name::parse_v1(v))
                    .ok()
            })
            .is_some_and(|named| named == *own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_name_in_words_and_forms() {
        let (text, good) = explain_name("SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib");
        assert!(good);
        assert!(text.starts_with("SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib: valid\n"));
        assert!(
            text.contains("  short:     SCS-16T-64-3x10s_GNa-64_ib\n"),
            "{text}"
        );
        assert!(text.contains("  v1 form:   SCS-16T:64:3x10s-bms-hwv-i3h-GNa:64-ib\n"));
        assert!(text.contains("bare metal"), "{text}");
    }

    #[test]
    fn caret_points_at_the_breaking_character() {
        let (text, good) = explain_name("SCS-2iT-4");
        assert!(!good);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "SCS-2iT-4: invalid");
        assert_eq!(lines[1], "  SCS-2iT-4");
        let caret = lines[2].find('^').unwrap();
        assert_eq!(&lines[1][caret..caret + 1], "i");
        assert!(lines[2].contains("comes after it"), "{text}");
    }

    #[test]
    fn v1_tolerated_and_not_scs() {
        let (text, good) = explain_name("SCS-2V:4:10");
        assert!(good);
        assert!(text.contains("tolerated"));
        assert!(text.contains("canonical: SCS-2V-4-10"));
        let (text, good) = explain_name("scs-2V-4");
        assert!(!good);
        assert!(text.contains("not an SCS flavor name"), "{text}");
        assert!(text.contains("^ at position 1 ('s')"), "{text}");
        let (text, _) = explain_name("SCS-2V-4\n");
        assert!(text.contains("\"SCS-2V-4\\n\""), "{text}");
    }
}
