//! Scope loading and validation against the fixtures in `fixtures/scopes/`: every broken file
//! gives exactly the expected located messages, the sample files of all three formats load into
//! the expected model, and the built-in scopes load clean.

use scs_check::spec::{
    self, Format, Lifetime, LoadError, Origin, Runner, Scope, Severity, Validity, load_argument,
    load_file, load_str, validate_file, validate_text,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/scopes")
        .join(name)
}

/// Every problem of a file as `LINE:COL: message` (warnings with a `warning: ` prefix).
fn problems(name: &str) -> Vec<String> {
    let checked = validate_file(&fixture(name)).expect("fixture readable");
    checked
        .problems
        .iter()
        .map(|p| {
            let pos = p.pos.map(|p| p.to_string()).unwrap_or_default();
            match p.severity {
                Severity::Error => format!("{pos}: {}", p.message),
                Severity::Warning => format!("{pos}: warning: {}", p.message),
            }
        })
        .collect()
}

#[test]
fn broken_fixtures_report_exact_messages() {
    let table: &[(&str, &[&str])] = &[
        (
            "bad-unknown-key.yaml",
            &["10:9: unknown key `lifetim` in testcase"],
        ),
        (
            "bad-missing-key.yaml",
            &["14:5: missing required key `id` in module"],
        ),
        (
            "bad-duplicate-testcase.yaml",
            &["10:13: duplicate testcase id `alpha` (first declared at 8:13)"],
        ),
        (
            "bad-duplicate-module.yaml",
            &["14:9: duplicate module id `mod-a` (first declared at 11:9)"],
        ),
        (
            "bad-duplicate-version.yaml",
            &["23:14: duplicate version `v1` (first declared at 19:14)"],
        ),
        (
            "bad-undeclared-testcase.yaml",
            &["13:27: target `main` of module `mod-a` names undeclared testcase `gamma`"],
        ),
        (
            "bad-unknown-include.yaml",
            &["23:9: include names unknown module `mod-x`"],
        ),
        (
            "bad-timeline-unknown-version.yaml",
            &["18:7: timeline names unknown version `v9`"],
        ),
        (
            "bad-validity-code.yaml",
            &[
                "17:11: unknown validity code `active` (expected effective, warn, draft or deprecated)",
            ],
        ),
        (
            "bad-lifetime.yaml",
            &["10:19: unknown lifetime `fortnight` (expected day, week, month, quarter or year)"],
        ),
        (
            "bad-date.yaml",
            &["20:20: invalid date `2024-02-30` for `stabilized_at` (expected YYYY-MM-DD)"],
        ),
        (
            "bad-effective-before-stable.yaml",
            &[
                "17:11: version `v1` is `effective` from 2025-01-01 but is only stabilized at 2025-02-01",
            ],
        ),
        (
            "bad-effective-unstable.yaml",
            &["17:11: version `v1` is `effective` from 2025-01-01 but has no `stabilized_at`"],
        ),
        (
            "bad-no-main.yaml",
            &["19:5: version `v1` has no `main` target"],
        ),
        (
            "bad-include-parameters.yaml",
            &["24:9: include of module `mod-a` gives no value for its parameter `image_spec`"],
        ),
        (
            "bad-wrong-type.yaml",
            &["20:20: `stabilized_at` must be a string, found an integer"],
        ),
        (
            "bad-duplicate-yaml-key.yaml",
            &["5:1: duplicate key `name`"],
        ),
        (
            "bad-variable.yaml",
            &[
                "7:5: a variable must be a name or a single-key mapping `name: default`, found a mapping",
            ],
        ),
        (
            "bad-builtin-empty.yaml",
            &["6:17: `builtin:` must be followed by the name of a probe set"],
        ),
        (
            "bad-env-list.yaml",
            &["8:7: `env` must be a mapping, found a list"],
        ),
        (
            "bad-selector.yaml",
            &["22:13: invalid selector `mandatory,,`: empty alternative"],
        ),
        (
            "bad-unknown-format.yaml",
            &[
                "2:1: cannot tell the scope format: expected top-level `scripts` (current format), modules with `run`/`testcases`, or versions with `standards`",
            ],
        ),
        (
            "bad-format-a-condition.yaml",
            &["12:24: unknown condition `sometimes` (expected mandatory or optional)"],
        ),
        (
            "bad-several.yaml",
            &[
                "10:19: unknown lifetime `fortnight` (expected day, week, month, quarter or year)",
                "11:9: unknown key `colour` in testcase",
                "19:11: unknown validity code `active` (expected effective, warn, draft or deprecated)",
                "25:9: include names unknown module `mod-x`",
            ],
        ),
    ];
    for (file, expected) in table {
        assert_eq!(problems(file), *expected, "{file}");
    }
    // every bad-* fixture is covered by the table
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bad-"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = table.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn load_file_fails_with_one_line_per_problem() {
    let path = fixture("bad-several.yaml");
    let err = load_file(&path).unwrap_err();
    let LoadError::Invalid(list) = &err else {
        panic!("expected Invalid, got {err}");
    };
    assert_eq!(list.len(), 4);
    let text = err.to_string();
    assert_eq!(text.lines().count(), 4);
    assert_eq!(
        text.lines().next().unwrap(),
        format!(
            "{}:10:19: unknown lifetime `fortnight` (expected day, week, month, quarter or year)",
            path.display()
        )
    );
}

#[test]
fn missing_file_names_the_file() {
    let err = load_file(Path::new("/nonexistent/dir/scope.yaml")).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/dir/scope.yaml: cannot read scope file: "),
        "{err}"
    );
}

fn targets(scope: &Scope, version: &str, target: &str) -> Vec<String> {
    scope.version(version).unwrap().targets[target].clone()
}

#[test]
fn format_c_sample() {
    let path = fixture("ok-c.yaml");
    let scope = load_file(&path).unwrap();
    assert_eq!(scope.format, Format::C);
    assert_eq!(scope.origin, Origin::File(path.clone()));
    assert_eq!(scope.base_dir.as_deref(), path.parent());
    assert_eq!(scope.uuid, "00000000-0000-4000-8000-00000000000c");
    assert_eq!(scope.variables, ["cloud", "mode"]);
    assert_eq!(scope.defaults["mode"], "fast");
    assert_eq!(scope.scripts.len(), 3);
    assert_eq!(
        scope.scripts[0].runner,
        Runner::Executable("./check.sh".into())
    );
    assert_eq!(
        scope.scripts[0].args.as_deref(),
        Some("--cloud {cloud} {testcases}")
    );
    assert_eq!(scope.scripts[0].env["LEVEL"], "2");
    assert_eq!(scope.scripts[1].runner, Runner::Builtin("iaas".into()));
    assert_eq!(scope.scripts[2].runner, Runner::Manual);
    let alpha = &scope.testcases["alpha"];
    assert_eq!(alpha.lifetime, Lifetime::Month);
    assert_eq!(alpha.section.as_deref(), Some("light"));
    assert_eq!(alpha.script, 0);
    assert_eq!(scope.testcases["beta"].lifetime, Lifetime::Week);
    assert_eq!(scope.testcases["delta"].script, 2);
    // targets: sorted union over included modules
    assert_eq!(targets(&scope, "next", "main"), ["alpha", "beta", "gamma"]);
    assert_eq!(targets(&scope, "next", "preview"), ["delta"]);
    assert_eq!(targets(&scope, "v1", "main"), ["alpha", "beta"]);
    assert_eq!(targets(&scope, "v1", "recommended"), ["gamma"]);
    assert_eq!(
        scope
            .version("v2")
            .unwrap()
            .targets
            .keys()
            .collect::<Vec<_>>(),
        ["main", "recommended"]
    );
    assert_eq!(
        scope.version("v2").unwrap().stabilized_at,
        chrono::NaiveDate::from_ymd_opt(2025, 2, 15)
    );
    assert!(scope.version("next").unwrap().stabilized_at.is_none());
    let next = scope.version("next").unwrap();
    assert_eq!(
        next.parameters_for(&scope, "gamma")["spec"],
        "https://example.org/spec-next.yaml"
    );
    assert_eq!(scope.timeline.len(), 2);
    assert_eq!(scope.timeline[0].versions["v1"], Validity::Warn);
    assert_eq!(scope.timeline[1].versions["v2"], Validity::Draft);
}

#[test]
fn format_b_sample() {
    let scope = load_file(&fixture("ok-b.yaml")).unwrap();
    assert_eq!(scope.format, Format::B);
    // identical run entries of two modules become one script; the module without `run` is manual
    assert_eq!(scope.scripts.len(), 2);
    assert_eq!(scope.scripts[0].runner, Runner::Executable("./x.py".into()));
    assert_eq!(scope.scripts[0].testcases, ["x-main", "x-extra"]);
    assert_eq!(scope.scripts[1].runner, Runner::Manual);
    assert_eq!(scope.testcases["x-main"].section.as_deref(), Some("light"));
    assert_eq!(scope.testcases["x-extra"].lifetime, Lifetime::Month);
    assert_eq!(scope.testcases["x-extra"].tags, ["recommended"]);
    assert_eq!(targets(&scope, "v1", "main"), ["x-main"]);
    assert_eq!(targets(&scope, "v1", "preview"), ["docs", "x-extra"]);
    // mod-y tags x-extra as mandatory: the tags are per module
    assert_eq!(targets(&scope, "v2", "main"), ["x-extra", "x-main"]);
    assert_eq!(scope.modules["mod-x"].targets["main"], ["x-main"]);
    assert_eq!(scope.timeline[0].versions["v2"], Validity::Draft);
    let v1 = scope.version("v1").unwrap();
    assert_eq!(v1.parameters_for(&scope, "x-main")["spec"], "s1.yaml");
}

#[test]
fn format_a_sample() {
    let scope = load_file(&fixture("ok-a.yaml")).unwrap();
    assert_eq!(scope.format, Format::A);
    assert_eq!(scope.uuid, "");
    // one script per distinct check; the same id with another command line is qualified
    assert_eq!(
        scope.testcases.keys().collect::<Vec<_>>(),
        ["flavor-check", "flavor-strict", "flavor-check@v1"]
    );
    assert_eq!(scope.scripts.len(), 3);
    assert_eq!(scope.testcases["flavor-check"].lifetime, Lifetime::Week);
    assert_eq!(
        scope.testcases["flavor-check"].section.as_deref(),
        Some("week")
    );
    assert_eq!(scope.testcases["flavor-check@v1"].lifetime, Lifetime::Day);
    assert_eq!(
        scope.testcases["flavor-check@v1"].section.as_deref(),
        Some("light")
    );
    assert_eq!(targets(&scope, "v2", "main"), ["flavor-check"]);
    assert_eq!(targets(&scope, "v2", "recommended"), ["flavor-strict"]);
    assert_eq!(targets(&scope, "v1", "main"), ["flavor-check@v1"]);
    assert_eq!(
        scope.modules.keys().collect::<Vec<_>>(),
        ["flavor-rules", "interop-guideline", "flavor-rules@v1"]
    );
    // synthesised timeline, newest first
    let rows: Vec<(String, Vec<(String, Validity)>)> = scope
        .timeline
        .iter()
        .map(|e| {
            (
                e.date.to_string(),
                e.versions.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            )
        })
        .collect();
    let row = |d: &str, vs: &[(&str, Validity)]| {
        (
            d.to_string(),
            vs.iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<Vec<_>>(),
        )
    };
    use Validity::{Draft, Effective};
    assert_eq!(
        rows,
        [
            row("2024-07-01", &[("v2", Effective)]),
            row("2024-06-01", &[("v2", Effective), ("v1", Effective)]),
            row("2024-01-10", &[("v2", Draft), ("v1", Effective)]),
            row("1970-01-01", &[("v2", Draft), ("v1", Draft)]),
        ]
    );
}

#[test]
fn builtin_scopes_load_and_validate_clean() {
    for name in spec::builtin_names() {
        let scope = spec::load_builtin(name).unwrap();
        assert_eq!(scope.format, Format::C);
        assert_eq!(scope.origin, Origin::Builtin(name.to_string()));
        assert!(scope.base_dir.is_none());
        // automated testcases run the native probes, the rest are manual
        for script in &scope.scripts {
            assert!(
                script.runner == Runner::Builtin(name.to_string())
                    || script.runner == Runner::Manual,
                "{name}: {:?}",
                script.runner
            );
        }
        for v in &scope.versions {
            assert!(v.targets.contains_key("main"), "{name} {}", v.name);
        }
    }
    let iaas = spec::load_builtin("scs-compatible-iaas.yaml").unwrap();
    assert_eq!(iaas.uuid, "50393e6f-2ae1-4c5c-a62c-3b75f2abef3f");
    assert_eq!(
        iaas.variables,
        ["os_cloud", "domain_manager_a", "domain_manager_b"]
    );
    assert_eq!(
        iaas.versions
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        ["next", "v5.1", "v4", "v3"]
    );
    assert_eq!(iaas.version("v3").unwrap().targets["main"].len(), 16);
    assert!(iaas.modules.contains_key("scs-0102-v1-rec"));
    let kaas = spec::load_builtin("scs-compatible-kaas").unwrap();
    assert_eq!(kaas.uuid, "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180");
    assert_eq!(kaas.defaults["execution_mode"], "parallel");
    assert_eq!(
        kaas.version("v1").unwrap().targets["main"],
        [
            "cncf-k8s-conformance",
            "kaas-networking-check",
            "version-policy-check"
        ]
    );
    assert!(spec::load_builtin("paas").is_none());
}

#[tokio::test]
async fn load_argument_resolves_files_and_builtin_names() {
    let scope = load_argument("kaas").await.unwrap();
    assert_eq!(scope.name, "SCS-compatible KaaS");
    let scope = load_argument("scs-compatible-iaas").await.unwrap();
    assert_eq!(scope.origin, Origin::Builtin("iaas".into()));
    let path = fixture("ok-c.yaml");
    let scope = load_argument(path.to_str().unwrap()).await.unwrap();
    assert_eq!(scope.origin, Origin::File(path));
    let err = load_argument("no-such-scope.yaml").await.unwrap_err();
    assert!(matches!(err, LoadError::NotFound { .. }));
    assert!(err.to_string().starts_with("no-such-scope.yaml: "));
    assert!(err.to_string().ends_with("built-in scopes: iaas, kaas)"));
}

#[tokio::test]
async fn load_url_reports_unreachable_servers() {
    // a port nobody listens on: bind, learn the port, close
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/scope.yaml");
    let err = load_argument(&url).await.unwrap_err();
    assert!(matches!(err, LoadError::Download { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{url}: cannot download scope file: ")),
        "{err}"
    );
}

#[test]
fn warnings_do_not_stop_loading() {
    let text = std::fs::read_to_string(fixture("ok-c.yaml"))
        .unwrap()
        .replace(
            "          spec: https://example.org/spec.yaml\n",
            "          spec: https://example.org/spec.yaml\n          extra: 1\n",
        )
        .replace(
            "name: Sample scope C\n",
            "name: Sample scope C\nprerequisite: {}\n",
        );
    let checked = validate_text(&text, Origin::File("mem.yaml".into()), None);
    let lines: Vec<String> = checked.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "mem.yaml:3:15: warning: `prerequisite` is not supported and is ignored",
            "mem.yaml:67:11: warning: include of module `mod-b` sets parameter `extra`, which the module does not declare",
        ]
    );
    assert!(!checked.has_errors());
    assert!(checked.scope.is_some());
    assert!(load_str(&text, Origin::File("mem.yaml".into()), None).is_ok());
}

#[test]
fn duplicate_keys_anywhere_are_errors() {
    let text = std::fs::read_to_string(fixture("ok-c.yaml"))
        .unwrap()
        .replace(
            "        lifetime: month\n",
            "        lifetime: month\n        lifetime: year\n",
        );
    let err = load_str(&text, Origin::Url("https://x/s.yaml".into()), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "https://x/s.yaml:16:9: duplicate key `lifetime`"
    );
}
