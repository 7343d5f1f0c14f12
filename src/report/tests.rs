//! Tests of the report module: building from a hand-made plan, every writer re-parsed, the
//! readers on hand-written reference-style reports, and golden files for the human outputs.

use super::*;
use crate::execute::{Ending, ItemResult, Signals};
use crate::plan::{Plan, PlannedVersion, ScriptCommand, Selection, WorkItem, WorkKind};
use crate::probes::{Finding, Outcome};
use crate::spec::{
    Format, Lifetime, Origin, Pos, Runner, Scope, Script, Testcase, TimelineEntry, Validity,
    Version,
};
use crate::verdict::{Aggregate, Verdict};
use chrono::{NaiveDate, TimeZone, Utc};
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const SCOPE_UUID: &str = "6f1c0d52-93a4-4e7b-9a55-0c2d7e8b1a11";

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn targets(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    list.iter()
        .map(|(name, tcs)| {
            let mut v = ids(tcs);
            v.sort();
            (name.to_string(), v)
        })
        .collect()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A small scope: testcases t-pass, t-fail, t-abort, t-param (checked natively), t-missing
/// (a script that reports nothing), t-manual (manual), t-noprobe (builtin without a probe).
fn scope() -> Scope {
    let tc = |id: &str, script: usize, section: Option<&str>| Testcase {
        id: id.into(),
        lifetime: Lifetime::Week,
        section: section.map(String::from),
        description: Some(format!("Checks the {id} requirement.")),
        url: Some(format!("https://docs.example.org/{id}")),
        script,
        tags: vec![],
        pos: Pos::default(),
    };
    let script = |runner: Runner, tcs: &[&str]| Script {
        runner,
        args: None,
        env: IndexMap::new(),
        testcases: ids(tcs),
        pos: Pos::default(),
    };
    let version = |name: &str, t: BTreeMap<String, Vec<String>>| Version {
        name: name.into(),
        stabilized_at: None,
        includes: vec![],
        targets: t,
        pos: Pos::default(),
    };
    let testcases = [
        tc("t-pass", 0, Some("light")),
        tc("t-fail", 0, Some("light")),
        tc("t-abort", 0, Some("heavy")),
        tc("t-param", 0, None),
        tc("t-missing", 1, None),
        tc("t-manual", 2, None),
        tc("t-noprobe", 3, None),
    ]
    .into_iter()
    .map(|t| (t.id.clone(), t))
    .collect();
    Scope {
        uuid: SCOPE_UUID.into(),
        name: "Example Scope".into(),
        url: "https://example.org/scope.yaml".into(),
        variables: vec!["os_cloud".into()],
        defaults: IndexMap::new(),
        scripts: vec![
            script(
                Runner::Builtin("iaas".into()),
                &["t-pass", "t-fail", "t-abort", "t-param"],
            ),
            script(Runner::Executable("./check.sh".into()), &["t-missing"]),
            script(Runner::Manual, &["t-manual"]),
            script(Runner::Builtin("nothing".into()), &["t-noprobe"]),
        ],
        testcases,
        modules: IndexMap::new(),
        versions: vec![
            version(
                "v2",
                targets(&[
                    ("main", &["t-abort", "t-pass", "t-param"]),
                    ("preview", &["t-manual", "t-missing"]),
                ]),
            ),
            version("v1", targets(&[("main", &["t-fail", "t-param", "t-pass"])])),
            version("next", targets(&[("main", &["t-noprobe", "t-pass"])])),
        ],
        timeline: vec![
            TimelineEntry {
                date: date("2026-01-01"),
                versions: IndexMap::from([
                    ("next".to_string(), Validity::Draft),
                    ("v2".to_string(), Validity::Effective),
                    ("v1".to_string(), Validity::Warn),
                ]),
                pos: Pos::default(),
            },
            TimelineEntry {
                date: date("2025-01-01"),
                versions: IndexMap::from([("v1".to_string(), Validity::Effective)]),
                pos: Pos::default(),
            },
        ],
        origin: Origin::Builtin("example".into()),
        base_dir: None,
        format: Format::C,
    }
}

fn planned(scope: &Scope, name: &str, validity: Validity, keep: &dyn Fn(&str) -> bool) -> PlannedVersion {
    let all = scope.version(name).unwrap().targets.clone();
    let filtered = all
        .iter()
        .map(|(t, tcs)| (t.clone(), tcs.iter().filter(|i| keep(i)).cloned().collect()))
        .collect();
    PlannedVersion {
        name: name.into(),
        validity,
        explicit: Some(validity),
        targets: filtered,
        all_targets: all,
    }
}

fn native(index: usize, probe: &str, tcs: &[&str], params: &[(&str, &str)], versions: &[&str]) -> WorkItem {
    WorkItem {
        index,
        kind: WorkKind::Native {
            probe: probe.into(),
            replaces: None,
        },
        testcases: ids(tcs),
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        versions: ids(versions),
    }
}

fn plan_with(selection: Selection, keep: &dyn Fn(&str) -> bool) -> Plan {
    let scope = scope();
    let versions = vec![
        planned(&scope, "v2", Validity::Effective, keep),
        planned(&scope, "v1", Validity::Warn, keep),
        planned(&scope, "next", Validity::Draft, keep),
    ];
    let items = vec![
        native(0, "p-basic", &["t-abort", "t-fail", "t-pass"], &[], &["v2", "v1", "next"]),
        native(1, "p-param", &["t-param"], &[("x", "1")], &["v2"]),
        native(2, "p-param", &["t-param"], &[("x", "2")], &["v1"]),
        WorkItem {
            index: 3,
            kind: WorkKind::Script(ScriptCommand {
                program: PathBuf::from("/scopes/check.sh"),
                executable: "./check.sh".into(),
                interpreter: None,
                args: ids(&["--cloud", "mycloud"]),
                env: vec![],
                cwd: PathBuf::from("/scopes"),
                display: "./check.sh --cloud mycloud".into(),
            }),
            testcases: ids(&["t-missing"]),
            parameters: BTreeMap::new(),
            versions: ids(&["v2"]),
        },
        WorkItem {
            index: 4,
            kind: WorkKind::NotRun {
                reason: "manual testcase".into(),
                abort: false,
            },
            testcases: ids(&["t-manual"]),
            parameters: BTreeMap::new(),
            versions: ids(&["v2"]),
        },
        WorkItem {
            index: 5,
            kind: WorkKind::NotRun {
                reason: "no probe for builtin:nothing".into(),
                abort: true,
            },
            testcases: ids(&["t-noprobe"]),
            parameters: BTreeMap::new(),
            versions: ids(&["next"]),
        },
    ];
    Plan {
        scope: Arc::new(scope),
        date: date("2026-03-02"),
        versions,
        items,
        variables: IndexMap::from([("os_cloud".to_string(), "mycloud".to_string())]),
        selection,
    }
}

fn full_plan() -> Plan {
    let selection = Selection {
        date: Some(date("2026-03-02")),
        assignments: IndexMap::from([("os_cloud".to_string(), "mycloud".to_string())]),
        ..Selection::default()
    };
    plan_with(selection, &|_| true)
}

fn started() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

fn result(index: usize, uuid: &str, cmd: &str, outcomes: Vec<Outcome>, secs: u64) -> ItemResult {
    ItemResult {
        index,
        uuid: uuid.into(),
        cmd: cmd.into(),
        outcomes,
        rc: None,
        stdout: vec![],
        stderr: vec![],
        signals: Signals::default(),
        ending: Ending::Completed,
        started_at: started(),
        duration: Duration::from_secs(secs),
    }
}

fn findings(n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| {
            Finding::new(format!("flavor \"f{i}\""), "name does not follow the scheme")
                .expected_actual("SCS-*", format!("f{i}"))
        })
        .collect()
}

fn full_results() -> Vec<ItemResult> {
    // Deliberately out of work-list order: build() sorts by index.
    let mut script = result(3, "uuid-3", "./check.sh --cloud mycloud", vec![], 4);
    script.rc = Some(0);
    script.stdout = ids(&["t-missing: maybe", "2026-03-02 10:00:00: PASS?"]);
    script.stderr = ids(&["ERROR: could not reach the endpoint", "INFO: done"]);
    script.signals = Signals {
        info: 1,
        warning: 0,
        error: 1,
        critical: 0,
    };
    vec![
        result(
            2,
            "uuid-2",
            "builtin:p-param",
            vec![Outcome::fail("t-param", "x=2 is not honoured")],
            1,
        ),
        result(
            0,
            "uuid-0",
            "builtin:p-basic",
            vec![
                Outcome::pass("t-pass", "all 12 flavors are fine"),
                Outcome::fail("t-fail", "7 flavors violate the naming scheme")
                    .with_evidence(findings(7)),
                Outcome::abort("t-abort", "the image service did not answer"),
            ],
            3,
        ),
        result(
            1,
            "uuid-1",
            "builtin:p-param",
            vec![Outcome::pass("t-param", "x=1 is honoured")],
            2,
        ),
        script,
    ]
}

fn meta() -> RunMeta {
    RunMeta {
        subject: "mycloud".into(),
        argv: ids(&["run", "--scope", "example", "-s", "mycloud", "-a", "os_cloud=mycloud"]),
        checked_at: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 7).unwrap()
            + chrono::Duration::microseconds(104_863),
        run_uuid: "0b9a4d0e-1c2f-4b3a-8d5e-6f7a8b9c0d1e".into(),
    }
}

fn full_report() -> Report {
    build(&full_plan(), &full_results(), &meta())
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reports")
        .join(rel)
}

#[test]
fn yaml_preview() {
    println!("{}", to_yaml(&full_report()));
}
