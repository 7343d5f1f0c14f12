//! Tests of the executor: real shell scripts in a temporary directory, and test probes.

use super::*;
use crate::plan::testutil::{Behaviour, ScopeBuilder, TestProbe, date};
use crate::plan::{Plan, ScriptCommand, Selection, WorkItem, WorkKind};
use crate::probes::{Clock, Registry, Services};
use crate::verdict::Verdict;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Writes an executable `sh` script.
fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn command(program: PathBuf, dir: &Path) -> ScriptCommand {
    ScriptCommand {
        executable: program.file_name().unwrap().to_string_lossy().into_owned(),
        program,
        interpreter: None,
        args: vec![],
        env: vec![],
        cwd: dir.to_path_buf(),
        display: "cmd".into(),
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn script(
    dir: &Path,
    body: &str,
    requested: &[&str],
    timeout: Duration,
) -> (ScriptRun, Vec<(bool, String)>) {
    let cmd = command(write_script(dir, "s.sh", body), dir);
    let mut seen = Vec::new();
    let run = run_script(
        &cmd,
        &ids(requested),
        timeout,
        &CancellationToken::new(),
        |stderr, line| seen.push((stderr, line.to_string())),
    )
    .await;
    (run, seen)
}

fn verdicts(outcomes: &[crate::probes::Outcome]) -> Vec<(&str, Verdict)> {
    outcomes
        .iter()
        .map(|o| (o.testcase.as_str(), o.verdict))
        .collect()
}

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn pass_fail_abort_and_rc() {
    let dir = tempfile::tempdir().unwrap();
    let (run, seen) = script(
        dir.path(),
        "echo 't1: PASS'; echo 't2:fail'; echo ' t3 : Abort '; echo 'ERROR: bad' >&2; exit 3",
        &["t1", "t2", "t3"],
        LONG,
    )
    .await;
    assert_eq!(
        verdicts(&run.outcomes),
        [
            ("t1", Verdict::Pass),
            ("t2", Verdict::Fail),
            ("t3", Verdict::Abort)
        ]
    );
    assert_eq!(run.rc, Some(3));
    assert_eq!(run.ending, Ending::Completed);
    assert!(run.notes.is_empty());
    assert_eq!(run.stdout.len(), 3);
    assert_eq!(run.stderr, ["ERROR: bad"]);
    assert_eq!(run.signals.error, 1);
    assert_eq!(seen.len(), 4);
    assert!(seen.contains(&(true, "ERROR: bad".to_string())));
}

#[tokio::test]
async fn silent_script_leaves_testcases_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (run, _) = script(dir.path(), "exit 0", &["t1", "t2"], LONG).await;
    assert!(run.outcomes.is_empty());
    assert_eq!(run.notes.len(), 2);
    assert_eq!(run.notes["t1"], REASON_NO_RESULT);
    assert_eq!(run.rc, Some(0));
}

#[tokio::test]
async fn garbage_output_does_not_break_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let (run, _) = script(
        dir.path(),
        r"printf 'bin\377\376ary\r\n'; printf 't1: PASS\r\n'; printf 'Errors: 0\n'; printf 'no newline at end: FAIL'",
        &["t1", "no newline at end"],
        LONG,
    )
    .await;
    assert_eq!(
        verdicts(&run.outcomes),
        [("t1", Verdict::Pass), ("no newline at end", Verdict::Fail)]
    );
    assert_eq!(run.stdout[0], "bin\u{fffd}\u{fffd}ary");
    assert_eq!(run.signals.error, 1, "`Errors: 0` counts as an error line");
}

#[tokio::test]
async fn unrequested_ids_are_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (run, seen) = script(
        dir.path(),
        "echo 'other: PASS'; echo 'DEBUG: foo: pass'; echo 't1: FAIL'",
        &["t1"],
        LONG,
    )
    .await;
    assert_eq!(verdicts(&run.outcomes), [("t1", Verdict::Fail)]);
    assert_eq!(
        run.stderr,
        [
            "WARNING: ignoring invalid result id: other",
            "WARNING: ignoring invalid result id: DEBUG: foo"
        ]
    );
    assert_eq!(run.signals.warning, 2);
    assert!(seen.contains(&(true, "WARNING: ignoring invalid result id: other".into())));
}

#[tokio::test]
async fn last_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (run, _) = script(
        dir.path(),
        "echo 't1: FAIL'; echo 't1: PASS'; echo 't2: PASS'; echo 't2: ABORT'",
        &["t1", "t2"],
        LONG,
    )
    .await;
    assert_eq!(
        verdicts(&run.outcomes),
        [("t1", Verdict::Pass), ("t2", Verdict::Abort)]
    );
}

#[tokio::test]
async fn env_args_and_cwd_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("work");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("marker"), "").unwrap();
    let mut cmd = command(
        write_script(
            dir.path(),
            "s.sh",
            r#"echo "$1: $MY_VERDICT"; [ -f marker ] && echo "$2: PASS"; read x && echo "t3: PASS""#,
        ),
        &sub,
    );
    cmd.args = ids(&["t1", "t2"]);
    cmd.env = vec![("MY_VERDICT".into(), "FAIL".into())];
    let run = run_script(
        &cmd,
        &ids(&["t1", "t2", "t3"]),
        LONG,
        &CancellationToken::new(),
        |_, _| {},
    )
    .await;
    // stdin is null: `read` fails, so t3 stays missing
    assert_eq!(
        verdicts(&run.outcomes),
        [("t1", Verdict::Fail), ("t2", Verdict::Pass)]
    );
    assert_eq!(run.notes.keys().collect::<Vec<_>>(), ["t3"]);

    // a working directory that does not exist is a launch failure, not a confusing ENOENT
    cmd.cwd = dir.path().join("gone");
    let run = run_script(
        &cmd,
        &ids(&["t1"]),
        LONG,
        &CancellationToken::new(),
        |_, _| {},
    )
    .await;
    assert_eq!(run.rc, Some(127));
    assert!(
        run.outcomes[0].reason.contains("working directory"),
        "{:?}",
        run.outcomes
    );
}

/// Whether a process has exited (gone, or a zombie waiting to be reaped).
fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn pid_after(lines: &[String], prefix: &str) -> i32 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {lines:?}"))
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (run, _) = script(
        dir.path(),
        "sleep 30 & echo \"grandchild $!\"; echo \"leader $$\"; echo 't1: PASS'; wait",
        &["t1", "t2"],
        Duration::from_millis(500),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    assert_eq!(run.ending, Ending::TimedOut);
    assert_eq!(
        verdicts(&run.outcomes),
        [("t1", Verdict::Pass), ("t2", Verdict::Abort)]
    );
    assert_eq!(run.outcomes[1].reason, "timed out after 0.5s");
    assert_eq!(run.rc, None, "killed by a signal");
    assert!(
        run.stderr
            .iter()
            .any(|l| l.starts_with("CRITICAL: timed out"))
    );
    let grandchild = pid_after(&run.stdout, "grandchild ");
    let leader = pid_after(&run.stdout, "leader ");
    // give init a moment to reap the orphan
    let deadline = Instant::now() + Duration::from_secs(2);
    while !(process_gone(grandchild) && process_gone(leader)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        process_gone(grandchild),
        "grandchild sleep {grandchild} survived"
    );
    assert!(process_gone(leader), "script {leader} survived");
    // every live member of the group is gone (zombies cannot be signalled away, so allow ESRCH
    // or only zombies left)
    let live = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // SAFETY: getpgid only reads process attributes.
            let pgid = unsafe { libc::getpgid(*pid) };
            pgid == leader && !process_gone(*pid)
        })
        .count();
    assert_eq!(live, 0, "processes left in group {leader}");
}

#[tokio::test]
async fn background_child_holding_the_pipe_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (run, _) = script(
        dir.path(),
        "sleep 20 & echo \"grandchild $!\"; echo 't1: PASS'; exit 0",
        &["t1"],
        LONG,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.ending, Ending::Completed);
    assert_eq!(run.rc, Some(0));
    assert_eq!(verdicts(&run.outcomes), [("t1", Verdict::Pass)]);
    assert!(run.stderr[0].starts_with("WARNING: output still open"));
    let grandchild = pid_after(&run.stdout, "grandchild ");
    let deadline = Instant::now() + Duration::from_secs(2);
    while !process_gone(grandchild) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(process_gone(grandchild), "leftover {grandchild} survived");
}

#[tokio::test]
async fn term_ignoring_script_is_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (run, _) = script(
        dir.path(),
        "trap '' TERM; while :; do sleep 0.1; done",
        &["t1"],
        Duration::from_millis(300),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
    assert_eq!(run.ending, Ending::TimedOut);
    assert_eq!(verdicts(&run.outcomes), [("t1", Verdict::Abort)]);
}

#[tokio::test]
async fn missing_or_non_executable_program_fails_to_launch() {
    let dir = tempfile::tempdir().unwrap();
    let missing = command(dir.path().join("nope.sh"), dir.path());
    let plain = dir.path().join("plain.sh");
    std::fs::write(&plain, "echo 't1: PASS'\n").unwrap();
    let not_exec = command(plain, dir.path());
    for cmd in [missing, not_exec] {
        let mut seen = Vec::new();
        let run = run_script(
            &cmd,
            &ids(&["t1", "t2"]),
            LONG,
            &CancellationToken::new(),
            |e, l| seen.push((e, l.to_string())),
        )
        .await;
        assert_eq!(run.rc, Some(127));
        assert_eq!(run.ending, Ending::LaunchFailed);
        assert_eq!(
            verdicts(&run.outcomes),
            [("t1", Verdict::Abort), ("t2", Verdict::Abort)]
        );
        assert!(run.outcomes[0].reason.starts_with("cannot run "));
        assert_eq!(run.stderr.len(), 1);
        assert!(run.stderr[0].starts_with("CRITICAL: cannot run "));
        assert_eq!(run.signals.critical, 1);
        assert_eq!(seen.len(), 1);
    }
}

#[tokio::test]
async fn python_scripts_run_through_the_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("check.py");
    // not executable, and shell code: only runs if the interpreter (here sh) is used
    std::fs::write(
        &file,
        "echo \"$0: PASS\" | sed 's|.*/||'; echo \"t1: $1\"\n",
    )
    .unwrap();
    let mut cmd = command(file, dir.path());
    cmd.interpreter = Some("sh".into());
    cmd.args = ids(&["ABORT"]);
    let run = run_script(
        &cmd,
        &ids(&["check.py", "t1"]),
        LONG,
        &CancellationToken::new(),
        |_, _| {},
    )
    .await;
    assert_eq!(
        verdicts(&run.outcomes),
        [("check.py", Verdict::Pass), ("t1", Verdict::Abort)]
    );
}

// ---- the scheduler ----

fn plan_with(items: Vec<(WorkKind, &[&str])>) -> Plan {
    let scope = ScopeBuilder::new().build();
    Plan {
        scope,
        date: date("2025-01-01"),
        versions: vec![],
        items: items
            .into_iter()
            .enumerate()
            .map(|(index, (kind, tcs))| WorkItem {
                index,
                kind,
                testcases: ids(tcs),
                parameters: [("image_spec".to_string(), "x.yaml".to_string())]
                    .into_iter()
                    .collect(),
                versions: vec!["v1".into()],
            })
            .collect(),
        variables: [("os_cloud".to_string(), "c".to_string())]
            .into_iter()
            .collect(),
        selection: Selection::default(),
    }
}

fn options(jobs: usize, timeout: Duration) -> RunOptions {
    RunOptions {
        jobs,
        read_only_jobs: super::READ_ONLY_JOBS,
        timeout,
        clock: Clock::system(),
        services: Services::default(),
        cancel: CancellationToken::new(),
        cleanup_grace: super::PROBE_GRACE,
    }
}

fn script_kind(dir: &Path, name: &str, body: &str) -> WorkKind {
    WorkKind::Script(command(write_script(dir, name, body), dir))
}

async fn run_collect(
    plan: &Plan,
    registry: &Registry,
    opts: RunOptions,
) -> (Vec<ItemResult>, Vec<Event>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let results = run(plan, registry, opts, tx).await;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (results, events)
}

fn native(probe: &str) -> WorkKind {
    WorkKind::Native {
        probe: probe.into(),
        replaces: None,
    }
}

#[tokio::test]
async fn native_probes_pass_timeout_panic_and_missing() {
    let mut reg = Registry::empty();
    reg.register(TestProbe::new("ok", &["p1"], Behaviour::Pass));
    reg.register(TestProbe::new(
        "slow",
        &["p2"],
        Behaviour::Sleep {
            duration: LONG,
            obey_cancel: true,
        },
    ));
    reg.register(TestProbe::new("boom", &["p3"], Behaviour::Panic("kaboom")));
    reg.register(TestProbe::new("omit", &["p4"], Behaviour::Omit));
    let plan = plan_with(vec![
        (native("ok"), &["p1"]),
        (native("slow"), &["p2"]),
        (native("boom"), &["p3"]),
        (native("omit"), &["p4"]),
        (native("unknown"), &["p5"]),
    ]);
    let started = Instant::now();
    let (results, events) = run_collect(&plan, &reg, options(4, Duration::from_millis(200))).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        results.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    for r in &results {
        assert_eq!(r.outcomes.len(), 1);
        assert!(r.cmd.starts_with("builtin:"));
        assert_eq!(r.rc, None);
    }
    assert_eq!(results[0].cmd, "builtin:ok");
    assert_eq!(results[0].outcomes[0].verdict, Verdict::Pass);
    assert_eq!(
        results[0].outcomes[0].reason,
        r#"params {"image_spec": "x.yaml"}"#
    );
    assert_eq!(results[1].ending, Ending::TimedOut);
    assert_eq!(results[1].outcomes[0].verdict, Verdict::Abort);
    assert_eq!(results[1].outcomes[0].reason, "timed out after 0.2s");
    assert_eq!(results[2].ending, Ending::Completed);
    assert_eq!(results[2].outcomes[0].verdict, Verdict::Abort);
    assert_eq!(results[2].outcomes[0].reason, "probe panicked: kaboom");
    assert_eq!(results[3].outcomes[0].reason, REASON_NO_VERDICT);
    assert_eq!(
        results[3].stderr,
        ["WARNING: ignoring result for unrequested testcase: not-requested"]
    );
    assert_eq!(results[4].ending, Ending::LaunchFailed);
    let finished = events
        .iter()
        .filter(|e| matches!(e, Event::Finished(_)))
        .count();
    assert_eq!(finished, 5);
}

#[tokio::test]
async fn probe_ignoring_cancellation_is_dropped_after_the_grace() {
    let mut reg = Registry::empty();
    reg.register(TestProbe::new(
        "stubborn",
        &["p1"],
        Behaviour::Sleep {
            duration: LONG,
            obey_cancel: false,
        },
    ));
    let plan = plan_with(vec![(native("stubborn"), &["p1"])]);
    let started = Instant::now();
    let (results, _) = run_collect(&plan, &reg, options(1, Duration::from_millis(100))).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(results[0].ending, Ending::TimedOut);
    assert_eq!(results[0].outcomes[0].reason, "timed out after 0.1s");
    assert!(results[0].stderr[0].starts_with("WARNING: probe did not stop"));
}

#[tokio::test]
async fn not_run_items() {
    let plan = plan_with(vec![
        (
            WorkKind::NotRun {
                reason: "manual testcase".into(),
                abort: false,
            },
            &["m1", "m2"],
        ),
        (
            WorkKind::NotRun {
                reason: "no probe".into(),
                abort: true,
            },
            &["n1"],
        ),
    ]);
    let (results, _) = run_collect(&plan, &Registry::empty(), options(1, LONG)).await;
    assert_eq!(results[0].ending, Ending::NotRun);
    assert!(results[0].outcomes.is_empty());
    assert_eq!(results[0].notes["m2"], "manual testcase");
    assert_eq!(results[1].ending, Ending::NotRun);
    assert_eq!(verdicts(&results[1].outcomes), [("n1", Verdict::Abort)]);
    assert_eq!(results[1].outcomes[0].reason, "no probe");
}

#[tokio::test]
async fn lines_stream_before_the_script_ends() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_with(vec![(
        script_kind(dir.path(), "a.sh", "echo 't1: PASS'; sleep 1"),
        &["t1"],
    )]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reg = Registry::empty();
    let consumer = async {
        let mut first_line = None;
        let mut finished = None;
        while let Some(e) = rx.recv().await {
            match e {
                Event::Line { line, .. } if first_line.is_none() => {
                    first_line = Some((Instant::now(), line))
                }
                Event::Finished(_) => finished = Some(Instant::now()),
                _ => {}
            }
        }
        (first_line, finished)
    };
    let (results, (first_line, finished)) =
        tokio::join!(run(&plan, &reg, options(1, LONG), tx), consumer);
    let (line_at, line) = first_line.expect("a line event");
    assert_eq!(line, "t1: PASS");
    let finished_at = finished.expect("finished event");
    assert!(
        finished_at.duration_since(line_at) > Duration::from_millis(600),
        "line was not streamed live"
    );
    assert_eq!(results[0].cmd, "cmd");
    assert_eq!(results[0].outcomes[0].verdict, Verdict::Pass);
}

#[tokio::test]
async fn cancellation_stops_running_and_pending_items() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Registry::empty();
    reg.register(TestProbe::new(
        "slow",
        &["p1"],
        Behaviour::Sleep {
            duration: LONG,
            obey_cancel: true,
        },
    ));
    let plan = plan_with(vec![
        (script_kind(dir.path(), "a.sh", "sleep 30"), &["a1"]),
        (native("slow"), &["p1"]),
        (script_kind(dir.path(), "c.sh", "echo 'c1: PASS'"), &["c1"]),
    ]);
    // `-j 1`: script a holds the one slot for scripts, c waits; the read-only probe runs.
    let opts = options(1, LONG);
    let cancel = opts.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let (results, _) = run_collect(&plan, &reg, opts).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(results[0].ending, Ending::Cancelled);
    assert_eq!(results[0].outcomes[0].reason, "interrupted");
    assert_eq!(results[1].ending, Ending::Cancelled);
    assert_eq!(results[1].outcomes[0].reason, "interrupted");
    assert_eq!(results[2].ending, Ending::Cancelled);
    assert_eq!(verdicts(&results[2].outcomes), [("c1", Verdict::Abort)]);
    assert_eq!(results[2].outcomes[0].reason, REASON_NOT_STARTED);
}

#[tokio::test]
async fn concurrency_limit_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let body = format!(
        "echo start >> '{0}'; sleep 0.3; echo end >> '{0}'; echo \"$(basename $0 .sh): PASS\"",
        log.display()
    );
    let names = ["w0", "w1", "w2", "w3", "w4"];
    let plan = plan_with(
        names
            .iter()
            .map(|n| {
                (
                    script_kind(dir.path(), &format!("{n}.sh"), &body),
                    std::slice::from_ref(n),
                )
            })
            .collect(),
    );
    let (results, _) = run_collect(&plan, &Registry::empty(), options(2, LONG)).await;
    for (r, n) in results.iter().zip(names) {
        assert_eq!(verdicts(&r.outcomes), [(n, Verdict::Pass)]);
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let (mut now, mut max) = (0i32, 0i32);
    for line in text.lines() {
        now += if line == "start" { 1 } else { -1 };
        max = max.max(now);
    }
    assert_eq!(max, 2, "log:\n{text}");
}

/// A probe for the scheduler tests: it records how many probes of its class run at once and
/// waits for `gate` (when given) before it passes.
struct GatedProbe {
    name: String,
    testcase: String,
    running: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
    gate: Option<Gate>,
    /// Counted up when the probe passes.
    passed: Arc<tokio::sync::watch::Sender<usize>>,
}

/// What a gated probe waits for: every creating probe has started (`together` of them), then
/// `readers` read-only probes have passed.
#[derive(Clone)]
struct Gate {
    together: Arc<tokio::sync::Barrier>,
    readers_passed: tokio::sync::watch::Receiver<usize>,
    readers: usize,
}

impl crate::probes::Probe for GatedProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn testcases(&self) -> Vec<String> {
        vec![self.testcase.clone()]
    }
    fn run<'a>(
        &'a self,
        _ctx: &'a crate::probes::ProbeContext,
        _testcases: &'a [String],
    ) -> futures::future::BoxFuture<'a, Vec<crate::probes::Outcome>> {
        use std::sync::atomic::Ordering::SeqCst;
        Box::pin(async move {
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            if let Some(gate) = &self.gate {
                gate.together.wait().await;
                let mut seen = gate.readers_passed.clone();
                let _ = seen.wait_for(|n| *n >= gate.readers).await;
            } else {
                tokio::task::yield_now().await;
            }
            self.running.fetch_sub(1, SeqCst);
            self.passed.send_modify(|n| *n += 1);
            vec![crate::probes::Outcome::pass(&self.testcase, "done")]
        })
    }
}

/// (finished?, first testcase) of each `Started` and `Finished` event, in order.
fn event_order(events: &[Event], plan: &Plan) -> Vec<(bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Started { index, .. } => Some((false, plan.items[*index].testcases[0].clone())),
            Event::Finished(r) => Some((true, plan.items[r.index].testcases[0].clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn read_only_probes_never_wait_behind_creating_ones() {
    // Two creating probes (a VM boot, a backup) hold both `-j 2` slots until every read-only
    // probe has passed: with one shared limit the run would never end. 20 read-only probes,
    // more than READ_ONLY_JOBS, also show that the read-only limit frees its slots.
    const READERS: usize = 20;
    let (readers_tx, readers_rx) = tokio::sync::watch::channel(0usize);
    let readers_tx = Arc::new(readers_tx);
    let (creators_tx, _) = tokio::sync::watch::channel(0usize);
    let creators_tx = Arc::new(creators_tx);
    let gate = Gate {
        together: Arc::new(tokio::sync::Barrier::new(2)),
        readers_passed: readers_rx,
        readers: READERS,
    };
    let counter = || Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (creating_running, creating_most) = (counter(), counter());
    let (reading_running, reading_most) = (counter(), counter());
    let mut reg = Registry::empty();
    let mut items: Vec<(WorkKind, Vec<String>)> = Vec::new();
    for name in ["boot-vm", "backup"] {
        reg.register_creating(Arc::new(GatedProbe {
            name: name.into(),
            testcase: format!("{name}-check"),
            running: creating_running.clone(),
            most: creating_most.clone(),
            gate: Some(gate.clone()),
            passed: creators_tx.clone(),
        }));
        items.push((native(name), vec![format!("{name}-check")]));
    }
    for i in 0..READERS {
        let name = format!("catalog-{i}");
        reg.register(Arc::new(GatedProbe {
            name: name.clone(),
            testcase: format!("{name}-check"),
            running: reading_running.clone(),
            most: reading_most.clone(),
            gate: None,
            passed: readers_tx.clone(),
        }));
        items.push((native(&name), vec![format!("{name}-check")]));
    }
    let tcs: Vec<Vec<&str>> = items
        .iter()
        .map(|(_, t)| t.iter().map(String::as_str).collect())
        .collect();
    let plan = plan_with(
        items
            .iter()
            .zip(&tcs)
            .map(|((kind, _), t)| (kind.clone(), t.as_slice()))
            .collect(),
    );
    assert!(!reg.creates_resources("catalog-0"));
    assert!(reg.creates_resources("boot-vm"));
    let (results, events) = tokio::time::timeout(
        Duration::from_secs(60),
        run_collect(&plan, &reg, options(2, LONG)),
    )
    .await
    .expect("read-only probes were stuck behind the creating ones");
    assert!(
        results
            .iter()
            .all(|r| r.outcomes.len() == 1 && r.outcomes[0].verdict == Verdict::Pass)
    );
    // Every read-only probe started (and, by the gate, passed) before a creating one ended.
    let order = event_order(&events, &plan);
    let first_creating_end = order
        .iter()
        .position(|(finished, n)| *finished && !n.starts_with("catalog-"))
        .unwrap();
    let readers_started = order
        .iter()
        .take(first_creating_end)
        .filter(|(finished, n)| !*finished && n.starts_with("catalog-"))
        .count();
    assert_eq!(readers_started, READERS, "{order:?}");
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(
        creating_most.load(SeqCst),
        2,
        "the two creating probes overlapped"
    );
    assert!(reading_most.load(SeqCst) <= READ_ONLY_JOBS);
}

#[tokio::test]
async fn creating_probes_run_in_parallel_up_to_jobs() {
    // Six creating probes, each waiting until two of them run together; `-j 2` must never
    // let a third one in.
    let counter = || Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (running, most) = (counter(), counter());
    let (tx, rx) = tokio::sync::watch::channel(0usize);
    let tx = Arc::new(tx);
    let gate = Gate {
        together: Arc::new(tokio::sync::Barrier::new(2)),
        readers_passed: rx,
        readers: 0,
    };
    let mut reg = Registry::empty();
    let names: Vec<String> = (0..6).map(|i| format!("boot-{i}")).collect();
    for name in &names {
        reg.register_creating(Arc::new(GatedProbe {
            name: name.clone(),
            testcase: name.clone(),
            running: running.clone(),
            most: most.clone(),
            gate: Some(gate.clone()),
            passed: tx.clone(),
        }));
    }
    let tcs: Vec<[&str; 1]> = names.iter().map(|n| [n.as_str()]).collect();
    let plan = plan_with(
        names
            .iter()
            .zip(&tcs)
            .map(|(n, t)| (native(n), t.as_slice()))
            .collect(),
    );
    let (results, _) = tokio::time::timeout(
        Duration::from_secs(60),
        run_collect(&plan, &reg, options(2, LONG)),
    )
    .await
    .expect("creating probes did not run two at a time");
    assert!(
        results
            .iter()
            .all(|r| r.outcomes[0].verdict == Verdict::Pass)
    );
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A `Write` into shared memory.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn plain_progress_lines() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_with(vec![
        (
            script_kind(
                dir.path(),
                "a.sh",
                "echo 'a1: PASS'; echo 'a2: FAIL'; echo 'INFO: hi' >&2",
            ),
            &["a1", "a2", "a3"],
        ),
        (
            WorkKind::NotRun {
                reason: "manual testcase".into(),
                abort: false,
            },
            &["m1"],
        ),
    ]);
    let buf = Shared::default();
    let progress = Progress::plain(
        plan.testcase_count(),
        "cloud-x",
        true,
        false,
        Box::new(buf.clone()),
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let reg = Registry::empty();
    let (_, ()) = tokio::join!(run(&plan, &reg, options(1, LONG), tx), progress.consume(rx));
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"[cloud-x] INFO: hi"), "{text}");
    assert!(lines.contains(&"[cloud-x] a1: PASS"), "{text}");
    let progress_lines: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("[") && l.as_bytes().get(1).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            // drop the timing, which varies
            let cut = l.find(" (").unwrap();
            let rest = &l[l.find(')').unwrap() + 1..];
            format!("{}{rest}", &l[..cut])
        })
        .collect();
    assert_eq!(
        progress_lines,
        [
            // the manual item finishes at once, before the script
            "[1/4] m1 MISSING: manual testcase",
            "[2/4] a1 PASS",
            "[3/4] a2 FAIL: the script reported FAIL",
            "[4/4] a3 MISSING: script printed no result",
        ]
    );
}

#[test]
fn seconds_format() {
    assert_eq!(fmt_secs(Duration::from_secs(30)), "30s");
    assert_eq!(fmt_secs(Duration::from_millis(500)), "0.5s");
    assert_eq!(fmt_secs(Duration::from_millis(1300)), "1.3s");
}

#[test]
fn status_lines_of_long_probes_reach_the_display() {
    let buf = Shared::default();
    let mut progress = Progress::plain(1, "cluster-y", false, false, Box::new(buf.clone()));
    progress.handle(&Event::Status {
        line: "sonobuoy: e2e running, 12/400 passed".into(),
    });
    let mut quiet = Progress::plain(1, "cluster-y", false, true, Box::new(buf.clone()));
    quiet.handle(&Event::Status {
        line: "not shown when quiet".into(),
    });
    progress.finish();
    quiet.finish();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text, "[cluster-y] sonobuoy: e2e running, 12/400 passed\n");
}

#[test]
fn the_first_interrupt_says_how_many_resources_are_cleaned_up() {
    use super::runner::first_interrupt_message;
    assert_eq!(
        first_interrupt_message(3),
        "interrupted: cleaning up 3 resources, Ctrl-C again to abandon"
    );
    assert!(first_interrupt_message(1).contains("cleaning up 1 resource,"));
    assert!(first_interrupt_message(0).starts_with("interrupted: stopping"));
}

#[test]
fn builtin_probes_say_whether_they_create_resources() {
    let reg = Registry::builtin();
    for creating in [
        "scs-0101-entropy",
        "scs-0117-volume-backup",
        "scs-0128-tempest",
        "scs-0211-default-storage-class",
    ] {
        assert!(reg.get(creating).is_some(), "{creating} is registered");
        assert!(reg.creates_resources(creating), "{creating}");
    }
    for read_only in ["scs-0123-services", "scs-0100-flavor-naming"] {
        assert!(reg.get(read_only).is_some(), "{read_only} is registered");
        assert!(!reg.creates_resources(read_only), "{read_only}");
    }
}

#[tokio::test]
async fn catalog_checks_finish_while_a_vm_still_boots() {
    // The real probes against the simulator: scs-0101 boots a server that never becomes
    // ACTIVE, and holds the only `-j 1` slot; the scs-0123 catalog checks (read-only) must run
    // and pass meanwhile. Once they are done the run is interrupted, so scs-0101 ends
    // cancelled (and cleans up) rather than by its timeout.
    use crate::probes::iaas::scs_0101_entropy as s0101;
    use crate::probes::iaas::scs_0123_services as s0123;
    use crate::probes::iaas::testing::TestCloud;
    let cloud =
        TestCloud::yaml("base: compliant.yaml\ntiming: {server_active_after: 100000}\n").await;
    let registry = Registry::builtin();
    let catalog: Vec<&str> = s0123::CATALOG_CHECKS.iter().map(|(id, _)| *id).collect();
    let mut plan = plan_with(vec![
        (native(s0101::PROBE_NAME), &[s0101::ENTROPY_AVAIL]),
        (native("scs-0123-services"), catalog.as_slice()),
    ]);
    for item in &mut plan.items {
        item.parameters.clear();
    }
    let mut opts = options(1, Duration::from_secs(120));
    opts.clock = cloud.ctx.clock.clone();
    opts.services = cloud.ctx.services.clone();
    opts.cleanup_grace = Duration::from_secs(60);
    let cancel = opts.cancel.clone();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watcher = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            if matches!(&e, Event::Finished(r) if r.index == 1) {
                cancel.cancel();
            }
            events.push(e);
        }
        events
    });
    let results = tokio::time::timeout(Duration::from_secs(100), run(&plan, &registry, opts, tx))
        .await
        .expect("the run ends once the catalog checks are done");
    let events = watcher.await.unwrap();
    assert!(
        results[1]
            .outcomes
            .iter()
            .all(|o| o.verdict == Verdict::Pass),
        "{:?}",
        results[1].outcomes
    );
    assert_eq!(results[1].outcomes.len(), catalog.len());
    assert_eq!(
        results[0].ending,
        Ending::Cancelled,
        "scs-0101 was still booting when the catalog checks were done"
    );
    let order = event_order(&events, &plan);
    let position = |finished: bool, id: &str| {
        order
            .iter()
            .position(|(f, n)| *f == finished && n == id)
            .unwrap()
    };
    assert!(position(false, s0101::ENTROPY_AVAIL) < position(true, catalog[0]));
    assert!(position(true, catalog[0]) < position(true, s0101::ENTROPY_AVAIL));
}
