//! The scs-0100 (flavor naming) and scs-0103 (standard flavors) probes, run through the real
//! HTTP client against the simulated cloud, looked up in the built-in probe registry as a run
//! would: PASS on the compliant cloud, FAIL on broken flavors, ABORT on an admin token and on a
//! flavor listing that keeps failing.

use scs_check::openstack::{Client, ClientOptions, Snapshot};
use scs_check::probes::{Clock, Outcome, ProbeContext, Registry, Services};
use scs_check::sim::{Fixture, SimHandle, Simulator};
use scs_check::verdict::Verdict;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const SYNTAX: &str = "scs-0100-syntax-check";
const SEMANTICS: &str = "scs-0100-semantics-check";

/// The 31 scs-0103 testcase ids (as in the built-in scope).
const STANDARD: [&str; 31] = [
    "1v-4",
    "2v-8",
    "4v-16",
    "8v-32",
    "1v-2",
    "2v-4",
    "4v-8",
    "8v-16",
    "16v-32",
    "1v-8",
    "2v-16",
    "4v-32",
    "1l-1",
    "2v-4-20s",
    "4v-16-100s",
    "1v-4-10",
    "2v-8-20",
    "4v-16-50",
    "8v-32-100",
    "1v-2-5",
    "2v-4-10",
    "4v-8-20",
    "8v-16-50",
    "16v-32-100",
    "1v-8-20",
    "2v-16-50",
    "4v-32-100",
    "1l-1-5",
    "16v-64",
    "8v-64",
    "16v-128",
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/clouds")
}

fn shipped(file: &str) -> Fixture {
    Fixture::load(fixture_dir().join(file)).unwrap()
}

/// A fixture derived from compliant.yaml.
fn derived(overlay: &str) -> Fixture {
    let text = format!("base: compliant.yaml\nname: test\n{overlay}");
    Fixture::from_yaml_in(&text, "<test>", Some(&fixture_dir())).unwrap()
}

fn all_ids() -> Vec<String> {
    let mut ids = vec![SYNTAX.to_string(), SEMANTICS.to_string()];
    ids.extend(STANDARD.iter().map(|s| format!("scs-0103-flavor-{s}")));
    ids
}

/// Starts the simulator, runs the registered probes for `ids` (grouped by probe, as the
/// executor does) and returns the outcomes by id.
async fn run(fixture: Fixture, ids: &[String]) -> (BTreeMap<String, Outcome>, SimHandle) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::start(fixture, None).await.unwrap();
    let options = ClientOptions {
        timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(10),
        ..ClientOptions::default()
    };
    let client = Client::connect_with(sim.cloud_config("t"), options)
        .await
        .unwrap();
    let ctx = ProbeContext {
        services: Services {
            openstack: Some(Snapshot::new(client)),
            ..Default::default()
        },
        variables: BTreeMap::new(),
        parameters: BTreeMap::new(),
        clock: Clock::fixed("2026-11-18T10:00:00Z".parse().unwrap()),
        cancel: CancellationToken::new(),
        timeout: Duration::from_secs(60),
    };
    let registry = Registry::builtin();
    let mut by_probe: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in ids {
        let probe = registry
            .probe_for(id)
            .unwrap_or_else(|| panic!("no probe for {id}"));
        by_probe
            .entry(probe.to_string())
            .or_default()
            .push(id.clone());
    }
    let mut out = BTreeMap::new();
    for (name, wanted) in by_probe {
        let outcomes = registry.get(&name).unwrap().run(&ctx, &wanted).await;
        assert_eq!(outcomes.len(), wanted.len(), "{name}");
        for outcome in outcomes {
            out.insert(outcome.testcase.clone(), outcome);
        }
    }
    (out, sim)
}

fn verdicts(outcomes: &BTreeMap<String, Outcome>) -> BTreeMap<String, Verdict> {
    outcomes
        .iter()
        .map(|(id, o)| (id.clone(), o.verdict))
        .collect()
}

fn lines(outcome: &Outcome) -> Vec<String> {
    outcome
        .evidence
        .iter()
        .map(|f| format!("{}: {}", f.object, f.message))
        .collect()
}

fn flavor_id(short: &str) -> String {
    format!("scs-0103-flavor-{short}")
}

#[tokio::test]
async fn compliant_cloud_passes_every_testcase() {
    let (outcomes, sim) = run(shipped("compliant.yaml"), &all_ids()).await;
    assert_eq!(outcomes.len(), 33);
    for (id, outcome) in &outcomes {
        assert_eq!(outcome.verdict, Verdict::Pass, "{id}: {}", outcome.reason);
    }
    assert_eq!(
        outcomes[SYNTAX].reason,
        "all 32 SCS flavor names follow the naming grammar"
    );
    assert!(outcomes[SYNTAX].evidence.is_empty());
    // One flavor listing serves all 33 testcases.
    let listings = sim
        .request_log()
        .iter()
        .filter(|l| l.contains("/flavors/detail"))
        .count();
    assert_eq!(listings, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn broken_flavors_fail_exactly_what_the_fixture_header_says() {
    let (outcomes, sim) = run(shipped("flavors-broken.yaml"), &all_ids()).await;
    sim.shutdown().await;
    let failing: Vec<String> = [SYNTAX, SEMANTICS]
        .iter()
        .map(|s| s.to_string())
        .chain(
            [
                "1v-4",
                "2v-8",
                "4v-8",
                "8v-16",
                "8v-32",
                "2v-4-20s",
                "1v-4-10",
                "4v-16-100s",
            ]
            .iter()
            .map(|s| flavor_id(s)),
        )
        .collect();
    for (id, verdict) in verdicts(&outcomes) {
        let want = if failing.contains(&id) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        assert_eq!(verdict, want, "{id}: {}", outcomes[&id].reason);
    }
    assert_eq!(
        lines(&outcomes[SYNTAX]),
        [
            "flavor \"SCS-2-4\": SCS-2-4: at position 6 ('-'): expected a CPU type letter L, V, T or C"
        ]
    );
    assert_eq!(
        lines(&outcomes[SEMANTICS]),
        [
            "flavor \"SCS-4V-8\": the flavor has 2 vCPUs, but the name promises 4",
            "flavor \"SCS-8V-16\": the flavor has 15360 MiB RAM, but the name promises 16 GiB (at least 16333 MiB)",
            "flavor \"SCS-4V-16-100s\": the flavor has a 10 GB root disk, but the name promises 100 GB",
        ]
    );
    let expect = [
        (
            "1v-4",
            "flavor \"SCS-1V-4\": scs:cpu-type is \"crowded-core\", expected \"shared-core\"",
        ),
        (
            "2v-8",
            "flavor \"SCS-2V-8\": scs:name-v1 is \"SCS-2V-8\", expected \"SCS-2V:8\"",
        ),
        ("4v-8", "flavor \"SCS-4V-8\": vcpus is 2, expected 4"),
        (
            "8v-16",
            "flavor \"SCS-8V-16\": ram is 15360 MiB, expected 16384 MiB",
        ),
        (
            "2v-4-20s",
            "flavor \"SCS-2V-4-20s\": scs:disk0-type is missing, expected \"ssd\"",
        ),
        (
            "1v-4-10",
            "flavor \"SCS-1V-4-10\": scs:disk0-type is \"local\", expected one of ssd, nvme, hdd, network",
        ),
        (
            "4v-16-100s",
            "flavor \"SCS-4V-16-100s\": disk is 10 GB, expected 100 GB",
        ),
    ];
    for (short, line) in expect {
        assert_eq!(lines(&outcomes[&flavor_id(short)]), [line], "{short}");
    }
    let missing = &outcomes[&flavor_id("8v-32")];
    assert_eq!(
        missing.reason,
        "the mandatory standard flavor SCS-8V-32 is missing"
    );
    assert_eq!(missing.evidence[0].object, "flavor \"SCS-8V-32\"");
}

#[tokio::test]
async fn admin_token_aborts_everything_in_preflight() {
    let (outcomes, sim) = run(shipped("admin-token.yaml"), &all_ids()).await;
    let listed = sim.request_log().iter().any(|l| l.contains("/flavors"));
    sim.shutdown().await;
    assert!(
        !listed,
        "the pre-flight check stops before any flavor request"
    );
    assert_eq!(outcomes.len(), 33);
    for (id, outcome) in &outcomes {
        assert_eq!(outcome.verdict, Verdict::Abort, "{id}");
        assert!(
            outcome.reason.contains("privileges too high") && outcome.reason.contains("admin"),
            "{id}: {}",
            outcome.reason
        );
        assert!(outcome.evidence.is_empty(), "{id}");
    }
}

#[tokio::test]
async fn a_member_without_the_member_role_aborts() {
    let (outcomes, sim) = run(derived("user: {roles: [reader]}\n"), &all_ids()).await;
    sim.shutdown().await;
    for (id, outcome) in &outcomes {
        assert_eq!(outcome.verdict, Verdict::Abort, "{id}");
        assert!(outcome.reason.contains("missing member role"), "{id}");
    }
}

#[tokio::test]
async fn a_failing_flavor_listing_aborts_everything() {
    let overlay = "faults:\n  - {service: compute, path: /flavors, kind: status, status: 500}\n";
    let (outcomes, sim) = run(derived(overlay), &all_ids()).await;
    // Both probes share the one (failed, retried) listing.
    let attempts = sim
        .request_log()
        .iter()
        .filter(|l| l.contains("/flavors/detail"))
        .count();
    sim.shutdown().await;
    assert_eq!(
        attempts, 3,
        "first try and two retries, once for all probes"
    );
    for (id, outcome) in &outcomes {
        assert_eq!(outcome.verdict, Verdict::Abort, "{id}");
        assert!(
            outcome.reason.starts_with("cannot list the flavors: ")
                && outcome.reason.contains("500"),
            "{id}: {}",
            outcome.reason
        );
    }
}

#[tokio::test]
async fn extra_specs_from_the_separate_call_before_microversion_2_61() {
    let (outcomes, sim) = run(derived("compute: {max_version: \"2.53\"}\n"), &all_ids()).await;
    let separate = sim
        .request_log()
        .iter()
        .filter(|l| l.contains("/os-extra_specs"))
        .count();
    sim.shutdown().await;
    assert_eq!(separate, 33, "one extra-spec request per flavor");
    for (id, outcome) in &outcomes {
        assert_eq!(outcome.verdict, Verdict::Pass, "{id}: {}", outcome.reason);
    }
}

const SMALL_SPECS: &str =
    "{\"scs:cpu-type\": shared-core, \"scs:name-v1\": \"SCS-2V:4\", \"scs:name-v2\": SCS-2V-4}";

#[tokio::test]
async fn standard_flavor_found_by_name_v2_spec_under_another_name() {
    // The flavor called SCS-2V-4 is gone; "small" stands for it through scs:name-v2.
    let overlay = format!(
        "flavors:\n  - {{name: SCS-2V-4, remove: true}}\n  - {{name: small, vcpus: 2, ram: 4096, extra_specs: {SMALL_SPECS}}}\n"
    );
    let ids = vec![flavor_id("2v-4")];
    let (outcomes, sim) = run(derived(&overlay), &ids).await;
    sim.shutdown().await;
    let outcome = &outcomes[&ids[0]];
    assert_eq!(outcome.verdict, Verdict::Pass, "{}", outcome.reason);
    assert_eq!(
        outcome.reason,
        "flavor \"small\" (scs:name-v2 SCS-2V-4) has the figures and extra specs of SCS-2V-4"
    );
}

#[tokio::test]
async fn the_name_v2_spec_wins_over_the_flavor_name() {
    // A correct SCS-2V-4 exists, but "small" claims the name through scs:name-v2 and has only
    // 2 GiB: the claim wins, as in the reference suite.
    let overlay =
        format!("flavors:\n  - {{name: small, vcpus: 2, ram: 2048, extra_specs: {SMALL_SPECS}}}\n");
    let ids = vec![flavor_id("2v-4")];
    let (outcomes, sim) = run(derived(&overlay), &ids).await;
    sim.shutdown().await;
    assert_eq!(
        lines(&outcomes[&ids[0]]),
        ["flavor \"small\" (scs:name-v2 SCS-2V-4): ram is 2048 MiB, expected 4096 MiB"]
    );
}

#[tokio::test]
async fn wrong_figures_and_extra_specs_are_each_named() {
    let overlay = "flavors:\n  - name: SCS-4V-16-100s\n    vcpus: 8\n    ram: 16000\n    disk: 120\n    extra_specs: {\"scs:cpu-type\": null, \"scs:disk0-type\": network, \"scs:name-v2\": null}\n  - {name: SCS-1L-1, remove: true}\n  - {name: SCS-1L-1-5, remove: true}\n  - {name: SCS-1L-1, vcpus: 1, ram: 1024, extra_specs: {\"scs:cpu-type\": shared-core, \"scs:name-v1\": \"SCS-1L:1\", \"scs:name-v2\": SCS-1L-1}}\n";
    let ids = vec![
        flavor_id("4v-16-100s"),
        flavor_id("1l-1"),
        flavor_id("1l-1-5"),
    ];
    let (outcomes, sim) = run(derived(overlay), &ids).await;
    sim.shutdown().await;
    assert_eq!(
        lines(&outcomes[&ids[0]]),
        [
            "flavor \"SCS-4V-16-100s\": vcpus is 8, expected 4",
            "flavor \"SCS-4V-16-100s\": ram is 16000 MiB, expected 16384 MiB",
            "flavor \"SCS-4V-16-100s\": disk is 120 GB, expected 100 GB",
            "flavor \"SCS-4V-16-100s\": scs:cpu-type is missing, expected \"shared-core\"",
            "flavor \"SCS-4V-16-100s\": scs:disk0-type is \"network\", expected \"ssd\"",
            "flavor \"SCS-4V-16-100s\": scs:name-v2 is missing, expected \"SCS-4V-16-100s\"",
        ]
    );
    assert_eq!(
        outcomes[&ids[0]].reason,
        "flavor \"SCS-4V-16-100s\" differs from the standard in vcpus, ram, disk, scs:cpu-type, scs:disk0-type, scs:name-v2"
    );
    assert_eq!(
        lines(&outcomes[&ids[1]]),
        ["flavor \"SCS-1L-1\": scs:cpu-type is \"shared-core\", expected \"crowded-core\""]
    );
    let missing = &outcomes[&ids[2]];
    assert_eq!(missing.verdict, Verdict::Fail);
    assert_eq!(
        missing.reason,
        "the recommended standard flavor SCS-1L-1-5 is missing"
    );
}

#[tokio::test]
async fn naming_checks_on_odd_names() {
    let overlay = "flavors:\n  - {name: \"SCS-2V:4:10\", vcpus: 2, ram: 4096, disk: 10}\n  - {name: SCS-4V-8-n, vcpus: 4, ram: 8192, disk: 0}\n  - {name: SCS-16V-64_GNa_ib, vcpus: 16, ram: 65536}\n  - {name: scs-lower, vcpus: 1, ram: 1}\n  - {name: SCS-2C-4uo-10n, vcpus: 2, ram: 4000, disk: 10}\n";
    let ids = vec![SYNTAX.to_string(), SEMANTICS.to_string()];
    let (outcomes, sim) = run(derived(overlay), &ids).await;
    sim.shutdown().await;
    let syntax = &outcomes[SYNTAX];
    assert_eq!(syntax.verdict, Verdict::Pass, "{}", syntax.reason);
    assert_eq!(
        syntax.reason,
        "all 36 SCS flavor names follow the naming grammar (1 only in the tolerated v1 colon syntax)"
    );
    assert_eq!(
        lines(syntax),
        [
            "flavor \"SCS-2V:4:10\": uses the old v1 (colon) syntax, which is merely tolerated; the current form is \"SCS-2V-4-10\""
        ]
    );
    let semantics = &outcomes[SEMANTICS];
    assert_eq!(semantics.verdict, Verdict::Fail);
    assert_eq!(
        lines(semantics),
        [
            "flavor \"SCS-2C-4uo-10n\": the flavor has 4000 MiB RAM, but the name promises 4 GiB (at least 4045 MiB)"
        ]
    );
}
