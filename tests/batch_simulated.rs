//! `scs-check batch --simulate`: many subjects against simulated clouds (issue 13, item 5).
//! Timing is the benchmark's business; these tests check that every subject runs and is
//! reported, that the reports say they are simulated, and that such a batch is never signed.

mod common;
use assert_cmd::Command;
use common::stdout_of;

fn config(dir: &std::path::Path, subjects: usize) -> std::path::PathBuf {
    let names: Vec<String> = (0..subjects).map(|i| format!("\"s{i:02}\"")).collect();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[scopes.iaas]\nspec = \"iaas\"\n\n[presets.default]\nscopes = [\"iaas\"]\nsubjects = [{}]\n",
            names.join(", ")
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_simulated_batch_runs_every_subject_and_marks_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 6);
    let out = Command::cargo_bin("scs-check")
        .unwrap()
        .env("CI", "1")
        .arg("batch")
        .arg(&cfg)
        .args([
            "--simulate",
            "compliant",
            "-t",
            "scs-0123-",
            "-w",
            "3",
            "-o",
        ])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    let stdout = stdout_of(&out, 0);
    assert!(stdout.contains("all 6 runs passed"), "{stdout}");
    for i in 0..6 {
        let text = std::fs::read_to_string(
            dir.path()
                .join("reports")
                .join(format!("report-iaas-s{i:02}.yaml")),
        )
        .unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(doc["subject"], format!("s{i:02}"));
        assert_eq!(doc["scs_check"]["simulated"], true, "{text}");
        let results = doc["run"]["invocations"].to_string();
        assert!(results.contains("scs-0123-service-compute"), "{text}");
        assert!(!results.contains("scs-0101"), "-t reached the run: {text}");
    }
}

#[test]
fn a_simulated_batch_is_never_signed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1);
    let out = Command::cargo_bin("scs-check")
        .unwrap()
        .arg("batch")
        .arg(&cfg)
        .args(["--simulate", "compliant", "--sign", "-o"])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    // Exit code 3: bad flags; nothing ran.
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with '--sign'"), "{stderr}");
    assert!(!dir.path().join("reports").exists());
}

/// A report's text without what differs between two runs of the same thing: uuids, times,
/// durations, the simulator's port and the report's own path (`out`).
fn comparable(text: &str, out: &str) -> String {
    let is_uuid = |w: &str| {
        w.len() == 36
            && w.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    let mut lines = vec![];
    for line in text.lines() {
        if ["checked_at:", "started_at:", "duration_s:"]
            .iter()
            .any(|k| line.trim_start().starts_with(k))
        {
            continue;
        }
        let mut line = line.replace(out, "<out>");
        if let Some(at) = line.find("127.0.0.1:") {
            let port_end = line[at + 10..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(line.len(), |n| at + 10 + n);
            line.replace_range(at + 10..port_end, "<port>");
        }
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                let bare = w.trim_end_matches(':');
                if is_uuid(bare) {
                    w.replace(bare, "<uuid>")
                } else {
                    w.to_string()
                }
            })
            .collect();
        lines.push(words.join(" "));
    }
    lines.join("\n")
}

/// Whether `line` is one whole line a subject's run prints (progress, summary, report
/// written), behind its `[sNN] ` prefix; a line two runs wrote into each other is not.
fn whole_subject_line(line: &str) -> bool {
    let Some(rest) = line
        .strip_prefix("[s")
        .and_then(|r| r.get(2..))
        .and_then(|r| r.strip_prefix("] "))
    else {
        return false;
    };
    let progress = rest.starts_with('[')
        && rest.contains("] scs-0123-")
        && rest.ends_with(')')
        && rest.matches('[').count() == 1;
    let summary = (rest.starts_with('s') && rest.contains(" SCS-compatible IaaS "))
        || rest.starts_with("- main: PASS");
    let wrote = rest.starts_with("wrote /") && rest.ends_with(".yaml") && !rest.contains('[');
    progress || summary || wrote
}

#[test]
fn in_process_subjects_write_the_report_a_separate_run_writes_and_prefix_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 5);
    let reports = dir.path().join("reports");
    let out = Command::cargo_bin("scs-check")
        .unwrap()
        .env("CI", "1")
        .arg("batch")
        .arg(&cfg)
        .args([
            "--simulate",
            "compliant",
            "-t",
            "scs-0123-",
            "-w",
            "5",
            "-o",
        ])
        .arg(&reports)
        .output()
        .unwrap();
    let stdout = stdout_of(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("all 5 runs passed"), "{stdout}");
    // Every line of a subject's run is whole and carries the subject's prefix; the batch's own
    // lines (the start line, the table, the combined report) are the only others.
    for line in stderr.lines() {
        assert!(
            whole_subject_line(line) || line.starts_with("batch: 5 runs (5 at a time)"),
            "stray stderr line {line:?} in:\n{stderr}"
        );
    }
    let table_start = stdout.find("SUBJECT  SCOPE").expect("the table");
    for line in stdout[..table_start].lines() {
        assert!(whole_subject_line(line), "stray stdout line {line:?}");
    }
    for i in 0..5 {
        let s = format!("s{i:02}");
        assert_eq!(
            stderr
                .lines()
                .filter(|l| l.starts_with(&format!("[{s}] [")))
                .count(),
            9,
            "{s}: one progress line per testcase:\n{stderr}"
        );
        assert!(stdout.contains(&format!("[{s}] - main: PASS")), "{stdout}");
    }
    // A separate `scs-check run` with the arguments the report records writes the same report.
    let path = reports.join("report-iaas-s03.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let argv: Vec<String> = doc["run"]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(argv[..4], ["run", "iaas", "-s", "s03"], "{argv:?}");
    let single = dir.path().join("single.yaml");
    let argv: Vec<String> = argv
        .iter()
        .map(|a| {
            if *a == path.display().to_string() {
                single.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    assert!(argv.contains(&single.display().to_string()), "{argv:?}");
    let run = Command::cargo_bin("scs-check")
        .unwrap()
        .env("CI", "1")
        .current_dir(dir.path())
        .args(&argv)
        .output()
        .unwrap();
    stdout_of(&run, 0);
    let alone = std::fs::read_to_string(&single).unwrap();
    assert_eq!(
        comparable(&text, &path.display().to_string()),
        comparable(&alone, &single.display().to_string())
    );
    // The combined report holds the very documents of the subjects' files, in job order, as
    // the reports render again when read back.
    let combined_text = std::fs::read_to_string(reports.join("report.yaml")).unwrap();
    let rendered: String = (0..5)
        .map(|i| {
            let file = reports.join(format!("report-iaas-s{i:02}.yaml"));
            let report = scs_check::report::read_reports(&std::fs::read_to_string(file).unwrap())
                .unwrap()
                .remove(0);
            scs_check::report::to_yaml(&report)
        })
        .collect();
    assert_eq!(combined_text, rendered);
    let combined = scs_check::report::read_reports(&combined_text).unwrap();
    let own = scs_check::report::read_reports(&text).unwrap();
    assert_eq!(combined.len(), 5);
    assert_eq!(
        scs_check::report::to_yaml(&combined[3]),
        scs_check::report::to_yaml(&own[0])
    );
}

/// A configuration in `conf` (beside `home`) whose subjects use the clouds of `clouds.yaml`
/// there: `s00` and `s01` a compliant cloud, `slow` one whose flavor listing takes 30 s, with
/// a time limit of 2 s for `slow` alone.
fn served_config(conf: &std::path::Path, clouds: &str) -> std::path::PathBuf {
    std::fs::write(conf.join("clouds.yaml"), clouds).unwrap();
    let path = conf.join("config.toml");
    std::fs::write(
        &path,
        "[scopes.iaas]\nspec = \"iaas\"\n\n[presets.default]\nscopes = [\"iaas\"]\n\
         subjects = [\"s00\", \"slow\", \"s01\"]\n\n[subjects._.mapping]\n\
         os_cloud = \"sim-compliant\"\n\n[subjects.slow]\ntimeout = 2\n\
         mapping = { os_cloud = \"sim-faulty\" }\n",
    )
    .unwrap();
    path
}

#[test]
fn a_subject_past_its_time_limit_aborts_with_its_report_while_the_others_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (home, conf) = (dir.path().join("home"), dir.path().join("conf"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&conf).unwrap();
    let fast = common::serve(
        &common::repo().join("fixtures/clouds/compliant.yaml"),
        &dir.path().join("fast.yaml"),
    );
    let slow_fixture = common::derived_cloud(
        dir.path(),
        "faults:\n  - {service: compute, method: GET, path: /flavors/detail, kind: latency, delay_ms: 30000}\n",
    );
    let slow = common::serve(&slow_fixture, &dir.path().join("slow.yaml"));
    // One clouds.yaml with both clouds, found only in the configuration's directory.
    let fast_text = std::fs::read_to_string(dir.path().join("fast.yaml")).unwrap();
    let slow_text = std::fs::read_to_string(dir.path().join("slow.yaml")).unwrap();
    let slow_entries = slow_text.split_once("clouds:\n").unwrap().1;
    let cfg = served_config(&conf, &format!("{fast_text}{slow_entries}"));
    for isolate in [false, true] {
        let reports = home.join(if isolate { "isolated" } else { "reports" });
        let mut cmd = common::isolated(&home);
        cmd.arg("batch")
            .arg(&cfg)
            .args(["-t", "scs-0100-", "--grace", "20", "-o"])
            .arg(&reports);
        if isolate {
            cmd.arg("--isolate");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // slow is inconclusive (ABORT), the others pass: exit 2.
        assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
        assert!(
            stderr.contains("[slow] time limit of 2 s reached"),
            "{stderr}"
        );
        let row = |s: &str| {
            stdout
                .lines()
                .find(|l| l.starts_with(s))
                .unwrap_or("")
                .to_string()
        };
        assert!(row("s00 ").contains("PASS"), "{stdout}");
        assert!(row("s01 ").contains("PASS"), "{stdout}");
        assert!(
            row("slow ").contains("ABORT") && row("slow ").contains("timed out after 2 s"),
            "{stdout}"
        );
        assert!(
            stdout.contains("1 of 3 runs did not pass: slow"),
            "{stdout}"
        );
        let text = std::fs::read_to_string(reports.join("report-iaas-slow.yaml")).unwrap();
        let report = &scs_check::report::read_reports(&text).unwrap()[0];
        assert_eq!(report.subject, "slow");
        let results: Vec<i8> = report
            .run
            .invocations
            .values()
            .flat_map(|inv| inv.results.values().copied())
            .collect();
        assert!(!results.is_empty() && results.contains(&0), "{text}");
        assert!(!results.contains(&-1), "nothing FAILs: {text}");
        for s in ["s00", "s01"] {
            let text =
                std::fs::read_to_string(reports.join(format!("report-iaas-{s}.yaml"))).unwrap();
            let report = &scs_check::report::read_reports(&text).unwrap()[0];
            assert!(
                report
                    .run
                    .invocations
                    .values()
                    .flat_map(|inv| inv.results.values())
                    .all(|r| *r == 1),
                "{text}"
            );
        }
    }
    drop((fast, slow));
}
