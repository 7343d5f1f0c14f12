//! Tests of the report module: building from a hand-made plan, every writer re-parsed, the
//! readers on hand-written reference-style reports, and golden files for the human outputs.

use super::*;
use crate::outcome::{Ending, Finding, ItemResult, Outcome, Signals};
use crate::plan::{Plan, PlannedVersion, ScriptCommand, Selection, WorkItem, WorkKind};
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

fn planned(
    scope: &Scope,
    name: &str,
    validity: Validity,
    keep: &dyn Fn(&str) -> bool,
) -> PlannedVersion {
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
        extra_includes: Vec::new(),
    }
}

fn native(
    index: usize,
    probe: &str,
    tcs: &[&str],
    params: &[(&str, &str)],
    versions: &[&str],
) -> WorkItem {
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
        native(
            0,
            "p-basic",
            &["t-abort", "t-fail", "t-pass"],
            &[],
            &["v2", "v1", "next"],
        ),
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
        notes: BTreeMap::new(),
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
            Finding::new(
                format!("flavor \"f{i}\""),
                "name does not follow the scheme",
            )
            .expected_actual("SCS-*", format!("f{i}"))
        })
        .collect()
}

fn full_results() -> Vec<ItemResult> {
    // Deliberately out of work-list order: build() sorts by index.
    let mut script = result(3, "uuid-3", "./check.sh --cloud mycloud", vec![], 4);
    script.rc = Some(0);
    script.notes = BTreeMap::from([(
        "t-missing".to_string(),
        "script printed no result".to_string(),
    )]);
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
        argv: ids(&[
            "run",
            "--scope",
            "example",
            "-s",
            "mycloud",
            "-a",
            "os_cloud=mycloud",
        ]),
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

/// Compares `actual` with a golden file; `UPDATE_GOLDEN=1` rewrites it.
fn golden(name: &str, actual: &str) {
    let path = fixture(&format!("golden/{name}"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, expected, "golden file {} differs", path.display());
}

fn yaml_value(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("report YAML re-reads")
}

fn version<'a>(summaries: &'a [VersionSummary], name: &str) -> &'a VersionSummary {
    summaries.iter().find(|v| v.name == name).unwrap()
}

fn counts(t: &TargetSummary) -> (Aggregate, usize, usize, usize, usize) {
    (t.result, t.passed, t.failed, t.aborted, t.missing)
}

#[test]
fn build_computes_version_summaries() {
    let report = full_report();
    let block = report.scs_check.as_ref().unwrap();
    assert!(!block.partial);
    assert_eq!(block.tool, "scs-check");
    let names: Vec<_> = block.versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["v2", "v1", "next"]);

    let v2 = version(&block.versions, "v2");
    assert_eq!(v2.validity, Some(Validity::Effective));
    assert_eq!(v2.targets.keys().collect::<Vec<_>>(), ["main", "preview"]);
    assert_eq!(counts(&v2.targets["main"]), (Aggregate::Abort, 2, 0, 1, 0));
    assert_eq!(
        counts(&v2.targets["preview"]),
        (Aggregate::Missing, 0, 0, 0, 2)
    );
    // t-param is answered by two items; v2 takes the one serving v2.
    assert_eq!(v2.testcases["t-param"].result, Some(Verdict::Pass));
    assert_eq!(
        v2.testcases["t-param"].invocation.as_deref(),
        Some("uuid-1")
    );
    assert_eq!(v2.testcases["t-manual"].result, None);
    assert_eq!(
        v2.testcases["t-manual"].reason.as_deref(),
        Some("manual testcase")
    );
    assert_eq!(
        v2.testcases["t-missing"].reason.as_deref(),
        Some("script printed no result")
    );
    assert_eq!(
        v2.testcases["t-pass"].url.as_deref(),
        Some("https://docs.example.org/t-pass")
    );

    let v1 = version(&block.versions, "v1");
    assert_eq!(v1.validity, Some(Validity::Warn));
    assert_eq!(counts(&v1.targets["main"]), (Aggregate::Fail, 1, 2, 0, 0));
    assert_eq!(
        v1.testcases["t-param"].invocation.as_deref(),
        Some("uuid-2")
    );

    let next = version(&block.versions, "next");
    assert_eq!(
        counts(&next.targets["main"]),
        (Aggregate::Abort, 1, 0, 1, 0)
    );
    assert_eq!(
        next.testcases["t-noprobe"].reason.as_deref(),
        Some("no probe for builtin:nothing")
    );

    // Distinct testcases, each with its worst result: t-pass; t-fail, t-param; t-abort,
    // t-noprobe; t-manual, t-missing.
    assert_eq!(
        block.totals,
        Totals {
            passed: 1,
            failed: 2,
            aborted: 2,
            missing: 2
        }
    );
    assert_eq!(main_outcome(&block.versions), Aggregate::Fail);
}

#[test]
fn build_writes_monitor_invocations() {
    let report = full_report();
    let inv = &report.run.invocations;
    // Work-list order; the manual item has no invocation; the probe-less item gets one (ABORT).
    let keys: Vec<_> = inv.keys().map(String::as_str).collect();
    assert_eq!(&keys[..4], ["uuid-0", "uuid-1", "uuid-2", "uuid-3"]);
    assert_eq!(keys.len(), 5);
    let noprobe = &inv[4];
    assert_eq!(noprobe.id, keys[4]);
    assert!(uuid::Uuid::parse_str(&noprobe.id).is_ok());
    assert_eq!(
        noprobe.results,
        IndexMap::from([("t-noprobe".to_string(), 0)])
    );
    assert_eq!(noprobe.scs_check.as_ref().unwrap().ending, Ending::NotRun);
    assert!(!inv.values().any(|i| i.results.contains_key("t-manual")));

    let basic = &inv["uuid-0"];
    assert_eq!(basic.cmd, "builtin:p-basic");
    assert_eq!(basic.rc, 0);
    assert_eq!(
        basic.results,
        IndexMap::from([
            ("t-pass".to_string(), 1),
            ("t-fail".to_string(), -1),
            ("t-abort".to_string(), 0)
        ])
    );
    let ev = basic.scs_check.as_ref().unwrap();
    assert_eq!(ev.duration_s, 3.0);
    assert_eq!(ev.testcases["t-fail"].evidence.len(), 7);
    assert_eq!(
        inv["uuid-1"].scs_check.as_ref().unwrap().parameters["x"],
        "1"
    );

    let script = &inv["uuid-3"];
    assert!(script.results.is_empty());
    assert_eq!((script.info, script.error), (1, 1));
    assert_eq!(script.stderr.len(), 2);

    assert_eq!(report.run.assignment["os_cloud"], "mycloud");
    assert_eq!(report.run.forced_version, None);
    assert_eq!(report.reference_date, Some(date("2026-03-02")));
}

#[test]
fn rc_for_killed_and_unlaunchable_scripts() {
    let plan = full_plan();
    let mut killed = result(3, "k", "./check.sh", vec![], 1);
    killed.ending = Ending::TimedOut;
    let report = build(&plan, &[killed], &meta());
    assert_eq!(report.run.invocations["k"].rc, -1);
    let v2 = version(&report.scs_check.as_ref().unwrap().versions, "v2");
    assert_eq!(
        v2.testcases["t-missing"].reason.as_deref(),
        Some("timed out before reporting a result")
    );
    // Items without results are missing with a reason.
    assert_eq!(v2.testcases["t-pass"].reason.as_deref(), Some("not run"));

    let mut unlaunchable = result(3, "u", "./check.sh", vec![], 0);
    unlaunchable.ending = Ending::LaunchFailed;
    let report = build(&plan, &[unlaunchable], &meta());
    assert_eq!(report.run.invocations["u"].rc, 127);

    let mut exited = result(3, "e", "./check.sh", vec![], 0);
    exited.rc = Some(3);
    let report = build(&plan, &[exited], &meta());
    assert_eq!(report.run.invocations["e"].rc, 3);
}

#[test]
fn several_forced_versions_are_joined() {
    let selection = Selection {
        forced_versions: ids(&["v2", "v1"]),
        ..Selection::default()
    };
    let report = build(&plan_with(selection, &|_| true), &[], &meta());
    assert_eq!(report.run.forced_version.as_deref(), Some("v2, v1"));
    assert_eq!(report.run.forced_versions(), ["v2", "v1"]);
    assert!(report.run.assignment.is_empty());
}

#[test]
fn yaml_has_every_monitor_field_with_its_type() {
    let report = full_report();
    let text = to_yaml(&report);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "---");
    // Plain (unquoted) scalars that YAML resolves as a timestamp and a date.
    assert!(lines.contains(&"checked_at: 2026-03-02 10:00:07.104863"));
    assert!(lines.contains(&"reference_date: 2026-03-02"));
    let ts = regex::Regex::new(
        r"^checked_at: [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?$",
    )
    .unwrap();
    assert_eq!(lines.iter().filter(|l| ts.is_match(l)).count(), 1);
    // Top-level keys in the monitor's order, our block last.
    let top: Vec<&str> = lines
        .iter()
        .filter(|l| !l.starts_with([' ', '-']) && l.contains(':'))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        top,
        [
            "spec",
            "checked_at",
            "reference_date",
            "subject",
            "run",
            "scs_check"
        ]
    );

    let v = yaml_value(&text);
    assert_eq!(v["spec"]["uuid"], SCOPE_UUID);
    assert_eq!(v["spec"]["name"], "Example Scope");
    assert_eq!(v["spec"]["url"], "https://example.org/scope.yaml");
    assert_eq!(v["checked_at"], "2026-03-02 10:00:07.104863");
    assert_eq!(v["subject"], "mycloud");
    let run = &v["run"];
    assert_eq!(run["uuid"], "0b9a4d0e-1c2f-4b3a-8d5e-6f7a8b9c0d1e");
    assert!(
        run["argv"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.is_string())
    );
    assert_eq!(run["assignment"]["os_cloud"], "mycloud");
    assert!(run["sections"].is_null());
    assert!(run["forced_version"].is_null());
    assert!(run["forced_tests"].is_null());
    let invocations = run["invocations"].as_object().unwrap();
    assert_eq!(invocations.len(), 5);
    for (key, inv) in invocations {
        assert_eq!(inv["id"].as_str(), Some(key.as_str()));
        assert!(inv["cmd"].is_string());
        for r in inv["results"].as_object().unwrap().values() {
            let n = r.as_i64().expect("results are integers");
            assert!((-1..=1).contains(&n));
        }
        assert!(inv["rc"].is_i64());
        for stream in ["stdout", "stderr"] {
            assert!(
                inv[stream]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|l| l.is_string())
            );
        }
        for counter in ["info", "warning", "error", "critical"] {
            assert!(inv[counter].is_u64(), "{counter} of {key}");
        }
    }
    assert_eq!(invocations["uuid-0"]["results"]["t-fail"], -1);
    // Strings that look like other types stay strings.
    assert_eq!(
        invocations["uuid-3"]["stdout"][1],
        "2026-03-02 10:00:00: PASS?"
    );
    assert_eq!(
        v["scs_check"]["versions"][0]["testcases"]["t-manual"]["result"],
        serde_json::Value::Null
    );
    assert_eq!(
        v["scs_check"]["versions"][0]["targets"]["main"]["result"],
        "ABORT"
    );
}

#[test]
fn yaml_round_trips() {
    let report = full_report();
    let text = to_yaml(&report);
    assert_eq!(read_reports(&text).unwrap(), vec![report.clone()]);
    let mut other = report.clone();
    other.subject = "othercloud".into();
    other.run.uuid = "another".into();
    let both = to_yaml_multi(&[report.clone(), other.clone()]);
    assert_eq!(both.matches("\n---\n").count() + 1, 2);
    assert_eq!(read_reports(&both).unwrap(), vec![report, other]);
}

#[test]
fn json_round_trips_with_monitor_types() {
    let report = full_report();
    let text = to_json(&report);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["checked_at"], "2026-03-02 10:00:07.104863");
    assert_eq!(v["reference_date"], "2026-03-02");
    assert_eq!(v["run"]["invocations"]["uuid-0"]["results"]["t-pass"], 1);
    assert_eq!(v["run"]["invocations"]["uuid-0"]["rc"], 0);
    assert_eq!(read_reports(&text).unwrap(), vec![report.clone()]);
    // An array of reports reads too.
    let array = format!("[{text},{text}]");
    assert_eq!(read_reports(&array).unwrap().len(), 2);
}

#[test]
fn junit_reparses_with_counts() {
    let report = full_report();
    let xml = to_junit(&report);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit re-reads");
    let names: Vec<_> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Example Scope v2 main",
            "Example Scope v2 preview",
            "Example Scope v1 main",
            "Example Scope next main"
        ]
    );
    assert_eq!(parsed.tests, 10);
    assert_eq!(parsed.failures, 2);
    assert_eq!(parsed.errors, 2);
    assert_eq!(parsed.skipped, 2);

    let v1 = &parsed.test_suites[2];
    let fail = v1
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "t-fail")
        .unwrap();
    match &fail.status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            message,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert_eq!(
                message.as_ref().unwrap().as_str(),
                "7 flavors violate the naming scheme"
            );
            let text = description.as_ref().unwrap().as_str();
            assert_eq!(text.lines().count(), 7);
            assert!(text.contains(
                "flavor \"f3\": name does not follow the scheme (expected SCS-*, actual f3)"
            ));
        }
        other => panic!("unexpected status {other:?}"),
    }
    // One invocation of 3 s answered 3 testcases.
    assert_eq!(fail.time, Some(Duration::from_secs(1)));
    let preview = &parsed.test_suites[1];
    assert!(matches!(
        preview.test_cases[0].status,
        quick_junit::TestCaseStatus::Skipped { .. }
    ));
}

#[test]
fn markdown_has_tables_and_evidence() {
    let md = to_markdown(&full_report());
    assert!(md.starts_with("# mycloud: Example Scope\n"));
    assert!(md.contains("## v1 (warn)"));
    assert!(md.contains("| main | FAIL | 1 | 2 | 0 | 0 |"));
    assert!(md.contains(
        "| [t-fail](https://docs.example.org/t-fail) | FAIL | 7 flavors violate the naming scheme |"
    ));
    assert!(
        md.contains(
            "| [t-manual](https://docs.example.org/t-manual) | MISSING | manual testcase |"
        )
    );
    assert!(md.contains(
        "  - `flavor \"f6\": name does not follow the scheme (expected SCS-*, actual f6)`"
    ));
    golden("markdown.md", &md);
}

#[test]
fn console_summary_lists_non_passing_once() {
    let report = full_report();
    let text = console_summary(&report, false);
    assert!(text.contains("mycloud Example Scope v1 (warn):\n- main: FAIL (1 passed, 2 failed)\n"));
    assert!(text.contains("mycloud Example Scope v2 (effective):\n- main: ABORT (2 passed, 1 aborted)\n- preview: MISSING (0 passed, 2 missing)\n"));
    assert_eq!(text.matches("- t-param:").count(), 1);
    // t-param is FAIL in v1 and PASS in v2: listed once, as FAILED.
    let failed = text.find("FAILED:").unwrap();
    let aborted = text.find("ABORTED:").unwrap();
    let missing = text.find("MISSING:").unwrap();
    assert!(failed < aborted && aborted < missing);
    assert!(text[failed..aborted].contains("- t-param: x=2 is not honoured"));
    assert!(text.contains("    ... 2 more\n"));
    assert!(!text.contains("PASSED:"));
    golden("console.txt", &text);

    let verbose = console_summary(&report, true);
    assert!(verbose.contains("PASSED:\n- t-pass: all 12 flavors are fine\n"));
    golden("console-verbose.txt", &verbose);
}

#[test]
fn partial_run_marks_headings_and_hides_missing() {
    let selection = Selection {
        tests: Some("t-pa".into()),
        ..Selection::default()
    };
    let plan = plan_with(selection, &|id| id.starts_with("t-pa"));
    let report = build(&plan, &full_results(), &meta());
    let block = report.scs_check.as_ref().unwrap();
    assert!(block.partial);
    let v2 = version(&block.versions, "v2");
    assert_eq!(counts(&v2.targets["main"]), (Aggregate::Pass, 2, 0, 0, 0));
    assert!(v2.targets["preview"].testcases.is_empty());
    assert_eq!(report.run.forced_tests.as_deref(), Some("t-pa"));

    let text = console_summary(&report, false);
    assert!(text.contains("mycloud Example Scope [tests: 't-pa'] v2 (effective):"));
    assert!(text.contains("- preview: no testcase selected (counts as PASS)"));
    assert!(!text.contains("MISSING:"));
    assert!(text.contains("FAILED:\n- t-param: x=2 is not honoured\n"));
    golden("console-partial.txt", &text);
}

#[test]
fn write_all_writes_atomically_and_names_paths() {
    let report = full_report();
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_all(
        &report,
        Some(&p("r.yaml")),
        Some(&p("r.json")),
        Some(&p("r.xml")),
        Some(&p("r.md")),
        Some(&p("r.html")),
    )
    .into_result()
    .unwrap();
    assert_eq!(
        read_report_file(&p("r.yaml")).unwrap(),
        vec![report.clone()]
    );
    assert_eq!(
        read_report_file(&p("r.json")).unwrap(),
        vec![report.clone()]
    );
    assert!(
        std::fs::read_to_string(p("r.xml"))
            .unwrap()
            .contains("<testsuites")
    );
    assert!(
        std::fs::read_to_string(p("r.md"))
            .unwrap()
            .starts_with("# mycloud")
    );
    assert!(
        std::fs::read_to_string(p("r.html"))
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 5);

    let bad = dir.path().join("missing-dir").join("r.yaml");
    let err = write_all(&report, Some(&bad), None, None, None, None)
        .into_result()
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&bad.display().to_string()),
        "{err}"
    );
}

#[test]
fn write_all_writes_the_other_files_when_one_fails() {
    let report = full_report();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("missing-dir").join("r.yaml");
    let json = dir.path().join("r.json");
    let md = dir.path().join("r.md");
    let written = write_all(&report, Some(&bad), Some(&json), None, Some(&md), None);
    assert!(!written.all_ok());
    assert_eq!(written.files.len(), 3);
    assert!(written.files[0].1.is_err());
    assert_eq!(written.failures().count(), 1);
    assert_eq!(read_report_file(&json).unwrap(), vec![report.clone()]);
    assert!(md.exists());
}

#[test]
fn output_paths_are_checked_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("r.yaml");
    assert!(check_output_paths(&[("-o", &ok)]).is_ok());
    let missing = dir.path().join("nope").join("r.yaml");
    let err = check_output_paths(&[("-o", &ok), ("--json", &missing)]).unwrap_err();
    assert!(err.starts_with("--json "), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    let err = check_output_paths(&[("--junit", dir.path())]).unwrap_err();
    assert!(err.contains("is a directory"), "{err}");
    // The check leaves nothing behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The scope the reference fixtures were written against (invented).
fn fixture_scope() -> Scope {
    let mut s = scope();
    s.uuid = "4a8b2c1d-7e6f-4d3c-9b2a-1f0e9d8c7b6a".into();
    s.name = "Example Compatible IaaS".into();
    let all = [
        ("scs-0100-flavor-names", Some("light")),
        ("scs-0101-entropy-avail", Some("heavy")),
        ("scs-0104-standard-images", Some("light")),
        ("scs-0114-volume-types", None),
    ];
    s.testcases = all
        .iter()
        .map(|(id, section)| {
            let mut t = s.testcases["t-pass"].clone();
            t.id = id.to_string();
            t.section = section.map(String::from);
            t.description = Some(format!("About {id}."));
            t.url = None;
            (t.id.clone(), t)
        })
        .collect();
    let first3 = &[
        "scs-0100-flavor-names",
        "scs-0101-entropy-avail",
        "scs-0104-standard-images",
    ];
    s.versions[0].name = "v2".into();
    s.versions[0].targets = targets(&[("main", first3), ("preview", &["scs-0114-volume-types"])]);
    s.versions[1].name = "v1".into();
    s.versions[1].targets =
        targets(&[("main", &["scs-0100-flavor-names", "scs-0101-entropy-avail"])]);
    s.versions[2].targets = targets(&[("main", &["scs-0114-volume-types"])]);
    s
}

#[test]
fn reads_reference_reports_current_shape() {
    let reports = read_report_file(&fixture("reference-2026.yaml")).unwrap();
    assert_eq!(reports.len(), 2);
    let a = &reports[0];
    assert_eq!(a.subject, "cloud-a");
    assert!(a.scs_check.is_none());
    assert_eq!(
        naive_timestamp::format(&a.checked_at),
        "2026-02-16 03:14:07.000001"
    );
    assert_eq!(
        naive_timestamp::format(&reports[1].checked_at),
        "2026-02-16 03:20:00.000000"
    );
    let first = &a.run.invocations[0];
    assert_eq!(first.rc, 1);
    assert_eq!(first.critical, 1);
    assert!(
        first
            .cmd
            .ends_with("scs-0101-entropy-avail scs-0104-standard-images")
    );

    // Without a scope: one pseudo-version, later invocations override earlier ones.
    let pseudo = summarize(a, None, None);
    assert_eq!(pseudo.len(), 1);
    assert_eq!(pseudo[0].name, PSEUDO_VERSION);
    assert_eq!(
        counts(&pseudo[0].targets["main"]),
        (Aggregate::Fail, 1, 2, 1, 0)
    );
    assert_eq!(
        pseudo[0].testcases["scs-0100-flavor-names"].result,
        Some(Verdict::Fail)
    );

    // With the scope: the versions listed on the reference date, targets from the scope.
    let scope = fixture_scope();
    let with = summarize(a, Some(&scope), None);
    let names: Vec<_> = with.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["v2", "v1", "next"]);
    let v2 = version(&with, "v2");
    assert_eq!(counts(&v2.targets["main"]), (Aggregate::Fail, 0, 2, 1, 0));
    assert_eq!(
        counts(&v2.targets["preview"]),
        (Aggregate::Pass, 1, 0, 0, 0)
    );
    assert_eq!(
        v2.testcases["scs-0101-entropy-avail"]
            .description
            .as_deref(),
        Some("About scs-0101-entropy-avail.")
    );
    // Before 2026 only v1 was listed.
    let old = summarize(a, Some(&scope), Some(date("2025-06-01")));
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].validity, Some(Validity::Effective));

    // Stored reports render against the scope: versions, descriptions, MISSING are known.
    let text = render_console(a, Some(&scope));
    assert!(text.contains(
        "cloud-a Example Compatible IaaS v2 (effective):\n- main: FAIL (0 passed, 2 failed, 1 aborted)\n"
    ));
    assert!(text.contains("- scs-0101-entropy-avail: FAIL\n  > About scs-0101-entropy-avail.\n"));
    assert!(render_markdown(a, Some(&scope)).contains("## v1 (warn)"));
    let xml = render_junit(a, Some(&scope));
    assert!(xml.contains("Example Compatible IaaS next main"));
    // Without a scope the same report shows the pseudo-version.
    assert!(render_console(a, None).contains("cloud-a Example Compatible IaaS *:"));

    // The second report forced v1 and ran only the light section.
    let b = &reports[1];
    let with = summarize(b, Some(&scope), None);
    assert_eq!(with.len(), 1);
    assert_eq!(with[0].name, "v1");
    assert_eq!(with[0].validity, Some(Validity::Warn));
    assert_eq!(
        counts(&with[0].targets["main"]),
        (Aggregate::Pass, 1, 0, 0, 0)
    );

    let text = console_summary(a, false);
    assert!(text.contains(
        "cloud-a Example Compatible IaaS *:\n- main: FAIL (1 passed, 2 failed, 1 aborted)\n"
    ));
    assert!(text.contains("    ERROR: server entropy-check-2 has 180 bits of entropy\n"));
    // JUnit and Markdown work on reference reports too.
    let parsed = quick_junit::Report::deserialize_from_str(&to_junit(a)).unwrap();
    assert_eq!((parsed.tests, parsed.failures, parsed.errors), (4, 2, 1));
    assert!(to_markdown(a).contains("| scs-0104-standard-images | ABORT |  |"));
}

#[test]
fn reads_reference_reports_old_shape() {
    let reports = read_report_file(&fixture("reference-2025-versions.yaml")).unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    let legacy = r.versions.as_ref().unwrap();
    assert_eq!(legacy["v1"]["scs-0100-flavor-names"].result, Some(-1));
    assert_eq!(r.run.invocations[0].result, Some(-1));
    let summaries = summarize(r, None, None);
    let names: Vec<_> = summaries.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["v1", "v0"]);
    assert_eq!(summaries[0].main(), Some(Aggregate::Fail));
    assert_eq!(summaries[1].main(), Some(Aggregate::Pass));
    assert_eq!(main_outcome(&summaries), Aggregate::Fail);
    // Re-writing keeps the old keys, so nothing the monitor reads is lost.
    assert_eq!(read_reports(&to_yaml(r)).unwrap(), reports);
}

#[test]
fn summarize_with_scope_matches_build() {
    let report = full_report();
    let built = report.scs_check.clone().unwrap().versions;
    let scope = scope();
    let recomputed = summarize(&report, Some(&scope), None);
    assert_eq!(recomputed.len(), built.len());
    for (a, b) in recomputed.iter().zip(&built) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.validity, b.validity);
        assert_eq!(a.targets, b.targets, "{}", a.name);
        for (id, t) in &a.testcases {
            assert_eq!(t.result, b.testcases[id].result, "{} {id}", a.name);
        }
    }
    let v2 = version(&recomputed, "v2");
    assert_eq!(
        v2.testcases["t-manual"].reason.as_deref(),
        Some("manual testcase")
    );
    assert_eq!(
        v2.testcases["t-missing"].reason.as_deref(),
        Some("script printed no result")
    );
    assert_eq!(
        version(&recomputed, "v1").testcases["t-fail"]
            .reason
            .as_deref(),
        Some("7 flavors violate the naming scheme")
    );
    // Without a scope our own block is used as it is.
    assert_eq!(summarize(&report, None, None), built);
}

#[test]
fn read_errors_carry_positions() {
    let err = read_reports("---\nspec:\n  uuid: x\nchecked_at: [\n").unwrap_err();
    let ReportError::Parse { line, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(*line >= 4, "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");

    let text = "---\nspec: {uuid: u}\nchecked_at: yesterday\nsubject: s\nrun: {uuid: r}\n";
    let err = read_reports(text).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("<report>:3:"), "{msg}");
    assert!(msg.contains("invalid timestamp"), "{msg}");

    let err = read_reports("{\"spec\": {\"uuid\": 1}}").unwrap_err();
    assert!(err.to_string().starts_with("<report>:1:"), "{err}");

    let text = "---\nspec: {uuid: u}\nchecked_at: 2026-01-01 00:00:00\nsubject: s\nrun:\n  uuid: r\n  invocations:\n    a:\n      results: {x: null}\n";
    let err = read_reports(text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<report>:9:20: result is null (must be -1, 0 or 1)"
    );
    let err = read_reports(&text.replace("null", "2")).unwrap_err();
    assert_eq!(err.to_string(), "<report>:9:20: result 2 is not -1, 0 or 1");

    let err = read_reports("---\nspec: {uuid: u}\nchecked_at: 2026-01-01 00:00:00\n").unwrap_err();
    assert!(err.to_string().contains("missing field `subject`"), "{err}");
    // A quoted timestamp is accepted as well as a plain one.
    let text =
        "---\nspec: {uuid: u}\nchecked_at: '2026-01-01 00:00:00'\nsubject: s\nrun: {uuid: r}\n";
    assert_eq!(
        read_reports(text).unwrap()[0].checked_at.to_string(),
        "2026-01-01 00:00:00"
    );
}

#[test]
fn timestamps_parse_leniently() {
    let p = |s| naive_timestamp::parse(s).map(|t| naive_timestamp::format(&t));
    assert_eq!(
        p("2026-01-02 03:04:05"),
        Some("2026-01-02 03:04:05.000000".into())
    );
    assert_eq!(
        p("2026-01-02T03:04:05.5"),
        Some("2026-01-02 03:04:05.500000".into())
    );
    assert_eq!(
        p("2026-01-02T03:04:05Z"),
        Some("2026-01-02 03:04:05.000000".into())
    );
    assert_eq!(
        p("2026-01-02 05:04:05+02:00"),
        Some("2026-01-02 03:04:05.000000".into())
    );
    assert_eq!(p("2026-01-02"), None);
}

#[test]
fn main_outcome_is_worst_main() {
    let v = |name: &str, main: Option<Aggregate>| VersionSummary {
        name: name.into(),
        validity: None,
        targets: main
            .map(|r| {
                let t = TargetSummary {
                    result: r,
                    passed: 0,
                    failed: 0,
                    aborted: 0,
                    missing: 0,
                    testcases: vec![],
                };
                IndexMap::from([("main".to_string(), t)])
            })
            .unwrap_or_default(),
        testcases: IndexMap::new(),
    };
    assert_eq!(main_outcome(&[]), Aggregate::Missing);
    assert_eq!(
        main_outcome(&[v("a", Some(Aggregate::Pass))]),
        Aggregate::Pass
    );
    assert_eq!(
        main_outcome(&[
            v("a", Some(Aggregate::Abort)),
            v("b", Some(Aggregate::Pass))
        ]),
        Aggregate::Abort
    );
    assert_eq!(
        main_outcome(&[
            v("a", Some(Aggregate::Abort)),
            v("b", Some(Aggregate::Missing))
        ]),
        Aggregate::Missing
    );
    assert_eq!(
        main_outcome(&[
            v("a", Some(Aggregate::Fail)),
            v("b", Some(Aggregate::Missing))
        ]),
        Aggregate::Fail
    );
    assert_eq!(main_outcome(&[v("a", None)]), Aggregate::Missing);
}

#[test]
fn yaml_keeps_tricky_strings() {
    let mut report = full_report();
    let tricky = ids(&[
        "",
        " leading space",
        "trailing space ",
        "yes",
        "No",
        "~",
        "null",
        "1:30",
        "0x1F",
        "1e3",
        "- dash",
        "# hash",
        "key: value",
        "a\ttab",
        "multi\nline",
        "quote ' and \" both",
        "2026-03-02",
        "2026-03-02 10:00:00",
        "---",
        "...",
        "@at",
        "`tick",
        "%percent",
        "{flow}",
        "[flow]",
        "*alias",
        "&anchor",
        "!tag",
        "|",
        ">",
        "ünïcödé ✓",
        "\u{1b}[31mred",
        "checked_at: 2026-01-01 00:00:00",
    ]);
    let inv = report.run.invocations.get_index_mut(3).unwrap().1;
    inv.stdout = tricky.clone();
    inv.stderr = tricky.clone();
    report.run.assignment = tricky
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("k{i}"), s.clone()))
        .collect();
    report.subject = "2026-03-02".into();
    let text = to_yaml(&report);
    let back = read_reports(&text).unwrap();
    assert_eq!(back, vec![report]);
    let v = yaml_value(&text);
    assert_eq!(v["subject"], "2026-03-02");
    assert_eq!(v["run"]["invocations"]["uuid-3"]["stdout"][3], "yes");
}

#[test]
fn scs_check_block_keeps_unknown_keys() {
    let mut report = full_report();
    let block = report.scs_check.as_mut().unwrap();
    block.requests = Some(42);
    block
        .extra
        .insert("future".into(), serde_json::json!({"a": 1, "b": ["x"]}));
    let text = to_yaml(&report);
    assert!(text.contains("\n  requests: 42\n"));
    assert_eq!(read_reports(&text).unwrap(), vec![report.clone()]);
    assert_eq!(read_reports(&to_json(&report)).unwrap(), vec![report]);
}

#[test]
fn yaml_without_reference_date_or_our_block_reads_back_the_same() {
    let mut report = full_report();
    report.reference_date = None;
    report.scs_check = None;
    let text = to_yaml(&report);
    assert!(text.lines().any(|l| l == "reference_date: null"), "{text}");
    assert!(!text.contains("\nscs_check:"), "{text}");
    assert_eq!(read_reports(&text).unwrap(), vec![report]);
}
