//! Tests of the planner on hand-built scopes.

use super::testutil::{Behaviour, ScopeBuilder, TestProbe, date};
use super::*;
use crate::probes::Registry;
use crate::spec::{Runner, Validity};

const P: &[(&str, &str)] = &[];

/// A scope with an executable script, a manual script, a builtin script, an http script,
/// three versions and two timeline entries (listed newest first, as files do).
fn scope() -> Arc<Scope> {
    ScopeBuilder::new()
        .variable("os_cloud", None)
        .variable("mode", Some("parallel"))
        .script(
            Runner::Executable("./check.py".into()),
            Some("-c {os_cloud} {testcases}"),
            &[("MODE", "{mode}"), ("LIT", "{{x}}")],
            &[
                ("a-one", Some("light")),
                ("a-two", None),
                ("a-three", Some("heavy")),
            ],
        )
        .script(Runner::Manual, None, &[], &[("m-manual", Some("light"))])
        .script(
            Runner::Builtin("iaas".into()),
            None,
            &[],
            &[("b-img", None), ("b-flav", None)],
        )
        .script(
            Runner::Executable("https://example.com/x.sh".into()),
            None,
            &[],
            &[("h-http", None)],
        )
        .module(
            "mod-a",
            &[("main", &["a-one", "a-two"]), ("recommended", &["a-three"])],
            &[],
        )
        .module("mod-m", &[("main", &["m-manual"])], &[])
        .module("mod-b", &[("main", &["b-img", "b-flav"])], &["image_spec"])
        .module("mod-h", &[("main", &["h-http"])], &[])
        .version(
            "v2",
            &[
                ("mod-a", P),
                ("mod-m", P),
                ("mod-b", &[("image_spec", "new.yaml")]),
            ],
        )
        .version(
            "v1",
            &[
                ("mod-a", P),
                ("mod-b", &[("image_spec", "old.yaml")]),
                ("mod-h", P),
            ],
        )
        .version("next", &[("mod-a", P)])
        .timeline(
            "2025-06-01",
            &[
                ("next", Validity::Draft),
                ("v2", Validity::Effective),
                ("v1", Validity::Warn),
            ],
        )
        .timeline("2025-01-01", &[("v1", Validity::Effective)])
        .build()
}

fn selection() -> Selection {
    Selection {
        assignments: [("os_cloud".to_string(), "my cloud".to_string())]
            .into_iter()
            .collect(),
        ..Selection::default()
    }
}

fn registry() -> Registry {
    let mut r = Registry::empty();
    r.register(TestProbe::new("img", &["b-img"], Behaviour::Pass));
    r
}

fn plan_on(day: &str, sel: Selection) -> Result<Plan, PlanError> {
    resolve(scope(), sel, &registry(), date(day))
}

fn names(plan: &Plan) -> Vec<(&str, Validity, Option<Validity>)> {
    plan.versions
        .iter()
        .map(|v| (v.name.as_str(), v.validity, v.explicit))
        .collect()
}

#[test]
fn timeline_day_before_an_entry_uses_the_older_one() {
    let plan = plan_on("2025-05-31", selection()).unwrap();
    assert_eq!(
        names(&plan),
        [("v1", Validity::Effective, Some(Validity::Effective))]
    );
    assert_eq!(plan.date, date("2025-05-31"));
}

#[test]
fn timeline_entry_applies_on_its_own_day() {
    let plan = plan_on("2025-06-01", selection()).unwrap();
    // scope order (v2, v1, next), not timeline order
    assert_eq!(
        names(&plan),
        [
            ("v2", Validity::Effective, Some(Validity::Effective)),
            ("v1", Validity::Warn, Some(Validity::Warn)),
            ("next", Validity::Draft, Some(Validity::Draft)),
        ]
    );
}

#[test]
fn selection_date_overrides_today() {
    let sel = Selection {
        date: Some(date("2025-02-01")),
        ..selection()
    };
    let plan = plan_on("2030-01-01", sel).unwrap();
    assert_eq!(plan.date, date("2025-02-01"));
    assert_eq!(names(&plan)[0].0, "v1");
}

#[test]
fn no_entry_yet_is_an_error_naming_the_entries() {
    let err = plan_on("2024-12-31", selection()).unwrap_err();
    assert!(matches!(err, PlanError::NoValidVersion { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with("no valid version found for 2024-12-31"),
        "{msg}"
    );
    assert!(msg.contains("2025-01-01, 2025-06-01"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn unlisted_versions_are_deprecated_and_forcing_reaches_them() {
    let all = annotate_validity(&scope(), date("2025-02-01"));
    assert_eq!(
        all,
        [
            ("v2".to_string(), Validity::Deprecated, None),
            (
                "v1".to_string(),
                Validity::Effective,
                Some(Validity::Effective)
            ),
            ("next".to_string(), Validity::Deprecated, None),
        ]
    );
    // Before any entry, forcing still works; everything is implicitly deprecated.
    let sel = Selection {
        forced_versions: vec!["next".into()],
        ..selection()
    };
    let plan = plan_on("2020-01-01", sel).unwrap();
    assert_eq!(names(&plan), [("next", Validity::Deprecated, None)]);
}

#[test]
fn forced_several_versions_in_scope_order() {
    let sel = Selection {
        forced_versions: vec!["next".into(), "v2".into()],
        ..selection()
    };
    let plan = plan_on("2025-02-01", sel).unwrap();
    assert_eq!(
        names(&plan),
        [
            ("v2", Validity::Deprecated, None),
            ("next", Validity::Deprecated, None)
        ]
    );
}

#[test]
fn forced_unknown_version_lists_known_ones() {
    let sel = Selection {
        forced_versions: vec!["v2".into(), "v9".into()],
        ..selection()
    };
    let err = plan_on("2025-06-01", sel).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown version 'v9' (known versions: v2, v1, next)"
    );
}

#[test]
fn empty_timeline_says_so() {
    let s = ScopeBuilder::new()
        .script(Runner::Manual, None, &[], &[("x", None)])
        .module("m", &[("main", &["x"])], &[])
        .version("v1", &[("m", P)])
        .build();
    let err = resolve(
        s,
        Selection::default(),
        &Registry::empty(),
        date("2025-01-01"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no valid version found for 2025-01-01 (the timeline has no entries)"
    );
}

#[test]
fn missing_variables_are_listed_together() {
    let s = ScopeBuilder::new()
        .variable("os_cloud", None)
        .variable("kubeconfig", None)
        .variable("mode", Some("serial"))
        .build();
    let err = resolve(
        s,
        Selection::default(),
        &Registry::empty(),
        date("2025-01-01"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing variable assignments (use -a KEY=VALUE): os_cloud, kubeconfig"
    );
}

#[test]
fn variables_overlay_defaults_and_allow_extras() {
    let mut sel = selection();
    sel.assignments.insert("mode".into(), "serial".into());
    sel.assignments.insert("extra".into(), "1".into());
    let plan = plan_on("2025-06-01", sel).unwrap();
    assert_eq!(plan.variables["mode"], "serial");
    assert_eq!(plan.variables["os_cloud"], "my cloud");
    assert_eq!(plan.variables["extra"], "1");
}

fn item_for<'a>(plan: &'a Plan, id: &str) -> Vec<&'a WorkItem> {
    plan.items
        .iter()
        .filter(|i| i.testcases.iter().any(|t| t == id))
        .collect()
}

#[test]
fn work_items_native_script_manual_no_probe_http() {
    let plan = plan_on("2025-06-01", selection()).unwrap();
    let kinds: Vec<String> = plan
        .items
        .iter()
        .map(|i| format!("{}:{}", i.label(), i.testcases.join(",")))
        .collect();
    assert_eq!(
        kinds,
        [
            "./check.py:a-one,a-three,a-two",
            "not run: manual testcase:m-manual",
            "img:b-img",
            "img:b-img",
            "not run: no probe:b-flav",
            "not run: http(s) executables are not supported:h-http",
        ]
    );
    for (i, item) in plan.items.iter().enumerate() {
        assert_eq!(item.index, i);
    }
    let manual = item_for(&plan, "m-manual")[0];
    assert_eq!(
        manual.kind,
        WorkKind::NotRun {
            reason: "manual testcase".into(),
            abort: false
        }
    );
    assert_eq!(manual.versions, ["v2"]);
    let flav = item_for(&plan, "b-flav")[0];
    assert_eq!(
        flav.kind,
        WorkKind::NotRun {
            reason: "no probe".into(),
            abort: true
        }
    );
    let http = item_for(&plan, "h-http")[0];
    assert!(matches!(http.kind, WorkKind::NotRun { abort: true, .. }));
    assert_eq!(http.versions, ["v1"]);
    // Manual testcases stay in the targets (they become MISSING).
    assert!(plan.versions[0].targets["main"].contains(&"m-manual".to_string()));
    assert_eq!(plan.testcase_count(), 8);
}

#[test]
fn native_items_are_grouped_by_parameters() {
    let plan = plan_on("2025-06-01", selection()).unwrap();
    let img = item_for(&plan, "b-img");
    assert_eq!(img.len(), 2);
    assert_eq!(
        img[0].kind,
        WorkKind::Native {
            probe: "img".into(),
            replaces: None
        }
    );
    assert_eq!(img[0].versions, ["v2"]);
    assert_eq!(img[0].parameters["image_spec"], "new.yaml");
    assert_eq!(img[1].versions, ["v1"]);
    assert_eq!(img[1].parameters["image_spec"], "old.yaml");

    // Same parameters in both versions: one item serving both.
    let s = ScopeBuilder::new()
        .script(
            Runner::Builtin("x".into()),
            None,
            &[],
            &[("t1", None), ("t2", None)],
        )
        .module("m1", &[("main", &["t1"])], &["p"])
        .module("m2", &[("main", &["t2"])], &["p"])
        .version("v2", &[("m1", &[("p", "same")]), ("m2", &[("p", "same")])])
        .version("v1", &[("m1", &[("p", "same")])])
        .timeline(
            "2025-01-01",
            &[("v1", Validity::Effective), ("v2", Validity::Draft)],
        )
        .build();
    let mut reg = Registry::empty();
    reg.register(TestProbe::new("both", &["t1", "t2"], Behaviour::Pass));
    let plan = resolve(s, Selection::default(), &reg, date("2025-01-01")).unwrap();
    assert_eq!(plan.items.len(), 1);
    assert_eq!(plan.items[0].testcases, ["t1", "t2"]);
    assert_eq!(plan.items[0].versions, ["v2", "v1"]);
}

#[test]
fn executable_with_partial_native_coverage_splits() {
    let mut reg = registry();
    reg.register(TestProbe::new("native-a", &["a-two"], Behaviour::Pass));
    let plan = resolve(scope(), selection(), &reg, date("2025-06-01")).unwrap();
    let script = item_for(&plan, "a-one")[0];
    let WorkKind::Script(cmd) = &script.kind else {
        panic!("expected a script item: {script:?}");
    };
    assert_eq!(script.testcases, ["a-one", "a-three"]);
    // {testcases} holds only what the script is asked for
    assert_eq!(cmd.args, ["-c", "my", "cloud", "a-one", "a-three"]);
    let native = item_for(&plan, "a-two")[0];
    assert_eq!(
        native.kind,
        WorkKind::Native {
            probe: "native-a".into(),
            replaces: Some("./check.py".into())
        }
    );
    assert_eq!(native.versions, ["v2", "v1", "next"]);

    // --prefer-scripts keeps the executable for everything
    let sel = Selection {
        prefer_scripts: true,
        ..selection()
    };
    let plan = resolve(scope(), sel, &reg, date("2025-06-01")).unwrap();
    assert_eq!(
        item_for(&plan, "a-two")[0].testcases,
        ["a-one", "a-three", "a-two"]
    );
    // ... but builtin scripts have no executable, so their probe still runs
    assert!(matches!(
        item_for(&plan, "b-img")[0].kind,
        WorkKind::Native { .. }
    ));
}

#[test]
fn script_command_rendering() {
    let sel = Selection {
        python: Some("/venv/bin/python".into()),
        ..selection()
    };
    let plan = plan_on("2025-06-01", sel).unwrap();
    let WorkKind::Script(cmd) = &plan.items[0].kind else {
        panic!("first item is the script");
    };
    assert_eq!(cmd.program, PathBuf::from("/nonexistent/./check.py"));
    assert_eq!(cmd.cwd, PathBuf::from("/nonexistent"));
    assert_eq!(cmd.interpreter.as_deref(), Some("/venv/bin/python"));
    assert_eq!(cmd.args, ["-c", "my", "cloud", "a-one", "a-three", "a-two"]);
    assert_eq!(
        cmd.env,
        [
            ("MODE".to_string(), "parallel".to_string()),
            ("LIT".to_string(), "{x}".to_string())
        ]
    );
    assert_eq!(
        cmd.display,
        "MODE=parallel LIT={x} ./check.py -c my cloud a-one a-three a-two"
    );
}

fn one_script(exe: &str, args: &str, env: &[(&str, &str)]) -> Arc<Scope> {
    ScopeBuilder::new()
        .variable("v", Some("val ue"))
        .script(
            Runner::Executable(exe.into()),
            Some(args),
            env,
            &[("t-b", None), ("t-a", None)],
        )
        .module("m", &[("main", &["t-b", "t-a"])], &[])
        .version("v1", &[("m", P)])
        .timeline("2025-01-01", &[("v1", Validity::Effective)])
        .build()
}

fn render(exe: &str, args: &str, env: &[(&str, &str)]) -> Result<ScriptCommand, PlanError> {
    let plan = resolve(
        one_script(exe, args, env),
        Selection::default(),
        &Registry::empty(),
        date("2025-01-01"),
    )?;
    match &plan.items[0].kind {
        WorkKind::Script(cmd) => Ok(cmd.clone()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn substitution_and_splitting_table() {
    let rows: &[(&str, &[&str])] = &[
        ("", &[]),
        ("{v}", &["val", "ue"]),
        ("'{v}'", &["val ue"]),
        ("\"{v}\" x", &["val ue", "x"]),
        ("--x={v}", &["--x=val", "ue"]),
        ("{testcases}", &["t-a", "t-b"]),
        ("'{testcases}'", &["t-a t-b"]),
        ("{{v}}", &["{v}"]),
        ("a\\ b", &["a b"]),
    ];
    for (args, want) in rows {
        let cmd = render("./s.sh", args, &[]).unwrap();
        assert_eq!(&cmd.args, want, "args {args:?}");
        assert_eq!(cmd.interpreter, None);
    }
}

#[test]
fn substitution_errors_name_variable_and_script() {
    let err = render("./s.sh", "-c {os_cloud}", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "script ./s.sh (line 10): args: unknown variable 'os_cloud'"
    );
    let err = render("./s.sh", "", &[("K", "{nope}")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "script ./s.sh (line 10): env K: unknown variable 'nope'"
    );
    let err = render("./s.sh", "'unbalanced", &[]).unwrap_err();
    assert!(matches!(err, PlanError::BadArgs { .. }), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn file_prefix_and_missing_base_dir() {
    let cmd = render("file://bin/s.sh", "", &[]).unwrap();
    assert_eq!(cmd.program, PathBuf::from("/nonexistent/bin/s.sh"));
    assert_eq!(cmd.executable, "file://bin/s.sh");

    let s = ScopeBuilder::new()
        .base_dir(None)
        .script(Runner::Executable("t.py".into()), None, &[], &[("t", None)])
        .module("m", &[("main", &["t"])], &[])
        .version("v1", &[("m", P)])
        .timeline("2025-01-01", &[("v1", Validity::Effective)])
        .build();
    let plan = resolve(
        s,
        Selection::default(),
        &Registry::empty(),
        date("2025-01-01"),
    )
    .unwrap();
    let WorkKind::Script(cmd) = &plan.items[0].kind else {
        panic!()
    };
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(cmd.cwd, cwd.join("."));
    assert!(cmd.program.is_absolute());
    assert!(cmd.program.ends_with("t.py"));
    assert_eq!(cmd.interpreter.as_deref(), Some("python3"));
    assert_eq!(cmd.display, "t.py");
}

#[test]
fn tests_filter_is_a_prefix_match() {
    let sel = Selection {
        tests: Some("a-th".into()),
        ..selection()
    };
    let plan = plan_on("2025-06-01", sel).unwrap();
    let v2 = &plan.versions[0];
    assert_eq!(v2.targets["main"], Vec::<String>::new());
    assert_eq!(v2.targets["recommended"], ["a-three"]);
    assert_eq!(v2.all_targets["main"].len(), 5);
    assert!(plan.is_partial());
    assert_eq!(plan.items.len(), 1);
    assert_eq!(plan.items[0].testcases, ["a-three"]);

    // match at the start only: "one" does not match "a-one"; alternation is anchored as a whole
    let sel = Selection {
        tests: Some("one|b-img".into()),
        ..selection()
    };
    let plan = plan_on("2025-06-01", sel).unwrap();
    let ids: Vec<&str> = plan
        .items
        .iter()
        .flat_map(|i| i.testcases.iter().map(String::as_str))
        .collect();
    assert_eq!(ids, ["b-img", "b-img"]);
}

#[test]
fn bad_regex_is_one_line_error() {
    let sel = Selection {
        tests: Some("a-(".into()),
        ..selection()
    };
    let err = plan_on("2025-06-01", sel).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("invalid --tests regex 'a-(': "), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn sections_filter_drops_testcases_without_section() {
    let sel = Selection {
        sections: Some(vec![" light ".into(), "".into()]),
        ..selection()
    };
    let plan = plan_on("2025-06-01", sel).unwrap();
    let v2 = &plan.versions[0];
    assert_eq!(v2.targets["main"], ["a-one", "m-manual"]);
    assert_eq!(v2.targets["recommended"], Vec::<String>::new());
    let labels: Vec<String> = plan.items.iter().map(|i| i.label()).collect();
    assert_eq!(labels, ["./check.py", "not run: manual testcase"]);
    assert_eq!(plan.items[0].testcases, ["a-one"]);
}

#[test]
fn undeclared_testcase_in_target_is_an_error() {
    let s = ScopeBuilder::new()
        .module("m", &[("main", &["ghost"])], &[])
        .version("v1", &[("m", P)])
        .timeline("2025-01-01", &[("v1", Validity::Effective)])
        .build();
    let err = resolve(
        s,
        Selection::default(),
        &Registry::empty(),
        date("2025-01-01"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "version 'v1' lists testcase 'ghost', which no script declares"
    );
}

#[test]
fn tests_filter_reaches_modules_no_version_includes() {
    // The built-in IaaS scope: scs-0103-v1-rec (recommended standard flavors) and
    // scs-0104-v1-2-rec are in no version; `-t` can still select their testcases.
    let scope = Arc::new(crate::spec::load_builtin("iaas").unwrap());
    let registry = Registry::builtin();
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let mut selection = Selection {
        forced_versions: vec!["v5.1".into()],
        tests: Some("scs-0103-flavor-1v-4-10|scs-0104-image-capi-2".into()),
        ..Selection::default()
    };
    selection.assignments.insert("os_cloud".into(), "x".into());
    let plan = resolve(scope.clone(), selection.clone(), &registry, today).unwrap();
    let v = &plan.versions[0];
    assert_eq!(
        v.targets["recommended"],
        vec!["scs-0103-flavor-1v-4-10", "scs-0104-image-capi-2"]
    );
    assert!(
        v.targets["main"].is_empty(),
        "a pulled-in module never joins main"
    );
    let capi = plan
        .items
        .iter()
        .find(|i| i.testcases.contains(&"scs-0104-image-capi-2".to_string()))
        .unwrap();
    assert!(
        capi.parameters.contains_key("image_spec"),
        "parameters of the sibling include: {capi:?}"
    );

    // Without -t, nothing is pulled in.
    selection.tests = None;
    let plan = resolve(scope, selection, &registry, today).unwrap();
    assert!(!plan.versions[0].targets.contains_key("recommended"));
}

#[test]
fn filters_that_select_nothing_are_an_error() {
    let sel = Selection {
        tests: Some("zzz".into()),
        ..selection()
    };
    let err = plan_on("2025-06-01", sel).unwrap_err();
    assert!(matches!(err, PlanError::NothingSelected { .. }), "{err}");
    let text = err.to_string();
    assert!(text.starts_with("no testcase matches -t 'zzz'"), "{text}");
    assert!(text.contains("v2, v1, next"), "{text}");
    let sel = Selection {
        sections: Some(vec!["nope".into()]),
        ..selection()
    };
    let text = plan_on("2025-06-01", sel).unwrap_err().to_string();
    assert!(text.contains("-S nope"), "{text}");
    // A filter that keeps something is fine, even when some version gets nothing.
    let sel = Selection {
        tests: Some("m-".into()),
        ..selection()
    };
    assert!(plan_on("2025-06-01", sel).is_ok());
}

#[test]
fn display_plans_show_missing_variables_as_unassigned() {
    let (plan, unassigned) = resolve_for_display(
        scope(),
        Selection::default(),
        &registry(),
        date("2025-06-01"),
    )
    .unwrap();
    assert_eq!(unassigned, ["os_cloud"]);
    assert_eq!(plan.variables["os_cloud"], UNASSIGNED);
    assert_eq!(plan.variables["mode"], "parallel");
    assert!(!plan.selection.assignments.contains_key("os_cloud"));
    // A real run still needs the value.
    assert!(matches!(
        plan_on("2025-06-01", Selection::default()),
        Err(PlanError::MissingVariables(_))
    ));
}

/// `-t` pulls a `-rec` module only into the versions that include its sibling module, with the
/// sibling's include parameters: v5.1 tests `scs-0104-v1-2`, so `-t scs-0104` brings the
/// recommended images of that list (with its image spec), not `scs-0104-image-capi-1` of the
/// first list, which had no image spec there and aborted.
#[test]
fn rec_modules_join_the_versions_of_their_sibling() {
    let scope = Arc::new(crate::spec::load_builtin("iaas").unwrap());
    let mut sel = Selection {
        forced_versions: vec!["v5.1".into()],
        tests: Some("scs-0104".into()),
        ..Selection::default()
    };
    sel.assignments.insert("os_cloud".into(), "x".into());
    let plan = resolve(scope, sel, &Registry::builtin(), date("2026-11-28")).unwrap();
    let rec = &plan.versions[0].targets["recommended"];
    assert!(
        rec.iter().all(|id| id != "scs-0104-image-capi-1"),
        "{rec:?}"
    );
    assert!(
        rec.contains(&"scs-0104-image-capi-2".to_string()),
        "{rec:?}"
    );
    for item in &plan.items {
        if item.testcases.iter().any(|t| t.starts_with("scs-0104-")) {
            assert!(item.parameters.contains_key("image_spec"), "{item:?}");
        }
    }
}

#[test]
fn informative_targets_not_run_are_listed_with_a_tests_filter() {
    // mod-a's recommended testcase a-three, filtered out by -t.
    let sel = Selection {
        tests: Some("a-one".into()),
        ..selection()
    };
    let plan = plan_on("2025-06-01", sel).unwrap();
    let not_run = not_run_targets(&plan);
    assert!(
        not_run.iter().all(|n| n.target == "recommended"),
        "{not_run:?}"
    );
    let v2 = not_run.iter().find(|n| n.version == "v2").unwrap();
    assert_eq!(v2.testcases, 1);
    assert_eq!(v2.tests, "a-three");
    // Without filters every target runs.
    let plan = plan_on("2025-06-01", selection()).unwrap();
    assert!(not_run_targets(&plan).is_empty());

    // The built-in IaaS scope: the -rec modules are in no version.
    let scope = Arc::new(crate::spec::load_builtin("iaas").unwrap());
    let mut sel = Selection {
        forced_versions: vec!["v5.1".into()],
        ..Selection::default()
    };
    sel.assignments.insert("os_cloud".into(), "x".into());
    let plan = resolve(
        scope.clone(),
        sel.clone(),
        &Registry::builtin(),
        date("2026-11-28"),
    )
    .unwrap();
    let rec = not_run_targets(&plan)
        .into_iter()
        .find(|n| n.target == "recommended")
        .unwrap();
    assert!(rec.testcases > 10, "{rec:?}");
    // Its -t selects them all.
    sel.tests = Some(rec.tests.clone());
    let plan = resolve(scope, sel, &Registry::builtin(), date("2026-11-28")).unwrap();
    assert_eq!(plan.versions[0].targets["recommended"].len(), rec.testcases);
}

/// `-a` keys are checked against the versions the selection chooses: a `{name}` in the script
/// of a module only another version includes is not used, `-V` and the modules `-t` pulls in
/// change that.
#[test]
fn used_variables_follow_the_version_choice() {
    let scope = ScopeBuilder::new()
        .variable("os_cloud", None)
        .variable("mode", Some("fast"))
        .script(
            Runner::Executable("./old.sh".into()),
            Some("--cloud {os_cloud}"),
            &[],
            &[("old-check", None)],
        )
        .script(
            Runner::Executable("./new.sh".into()),
            Some("{testcases}"),
            &[("REGION", "{region}")],
            &[("new-check", None)],
        )
        .script(
            Runner::Executable("./extra.sh".into()),
            Some("--spec {flavor_spec}"),
            &[],
            &[("extra-check", None)],
        )
        .module("mod-old", &[("main", &["old-check"])], &[])
        .module("mod-new", &[("main", &["new-check"])], &[])
        .module("mod-new-rec", &[("main", &["extra-check"])], &[])
        .version("v2", &[("mod-old", P), ("mod-new", P)])
        .version("v1", &[("mod-old", P)])
        .timeline(
            "2025-06-01",
            &[("v2", Validity::Draft), ("v1", Validity::Effective)],
        )
        .timeline("2025-01-01", &[("v1", Validity::Effective)])
        .build();
    let used = |day: &str, sel: &Selection| used_variables(&scope, sel, date(day)).unwrap();

    let early = used("2025-02-01", &Selection::default());
    assert_eq!(early.versions, ["v1"]);
    assert_eq!(early.names, ["mode", "os_cloud"]);

    let forced = Selection {
        forced_versions: vec!["v2".into()],
        ..Selection::default()
    };
    let late = used("2025-02-01", &forced);
    assert_eq!(late.versions, ["v2"]);
    assert_eq!(late.names, ["mode", "os_cloud", "region", "testcases"]);
    assert_eq!(used("2025-07-01", &Selection::default()).names, late.names);

    // `-t` filters testcases, not versions; it pulls in the module no version includes, but a
    // `-rec` module only into the versions that include its sibling (`mod-new`: v2, not v1).
    let tests = Selection {
        tests: Some("extra".into()),
        ..Selection::default()
    };
    assert_eq!(used("2025-02-01", &tests).names, ["mode", "os_cloud"]);
    let tests_v2 = Selection {
        forced_versions: vec!["v2".into()],
        ..tests
    };
    let pulled = used("2025-02-01", &tests_v2);
    assert_eq!(
        pulled.names,
        ["flavor_spec", "mode", "os_cloud", "region", "testcases"]
    );

    // Nothing chosen: the same error as `resolve`.
    assert!(matches!(
        used_variables(&scope, &Selection::default(), date("2024-01-01")),
        Err(PlanError::NoValidVersion { .. })
    ));
}
