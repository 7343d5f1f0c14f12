//! The scs-0128 orchestration against the fake `tempest` (`fixtures/tempest/fake-tempest.sh`):
//! PASS, FAIL and ABORT from its results, a failing Tempest, the time budget and Ctrl-C (the
//! whole process group is killed), the generated configuration and the probe's variables.

use super::*;
use crate::probes::iaas::tempest_judge::ListedTest;
use crate::probes::iaas::testing::TestCloud;
use crate::verdict::Verdict;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A private copy of the fake tempest with `mode` and `results.subunit` (a fixture name).
fn fake(dir: &Path, mode: &str, results: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("tempest");
    std::fs::copy(root().join("fixtures/tempest/fake-tempest.sh"), &exe).unwrap();
    std::fs::write(bin.join("mode"), mode).unwrap();
    std::fs::copy(
        root().join("fixtures/tempest/listing.txt"),
        bin.join("listing"),
    )
    .unwrap();
    std::fs::copy(
        root().join("fixtures/tempest").join(results),
        bin.join("results.subunit"),
    )
    .unwrap();
    exe
}

fn job(dir: &Path, bin: PathBuf) -> TempestJob {
    let list =
        tempest_judge::load_list(Some(&root().join("fixtures/tempest/list.lst")), None).unwrap();
    TempestJob {
        bin,
        workspace: dir.join("work/ws"),
        list,
        primary: CloudConfig::password(
            "p",
            "http://127.0.0.1:5000",
            "alice",
            "s3cret-p",
            "demo",
            "Default",
        ),
        alt: CloudConfig::password(
            "a",
            "http://127.0.0.1:5000",
            "bob",
            "s3cret-a",
            "alt",
            "Default",
        ),
        services: Some(vec!["identity".into(), "image".into(), "network".into()]),
        extra_conf: "[compute]\\nimage_ref = 1234\\n".into(),
        concurrency: 1,
    }
}

fn sink() -> (ProgressSink, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    (
        ProgressSink(Arc::new(move |s| l.lock().unwrap().push(s))),
        lines,
    )
}

#[tokio::test]
async fn pass_writes_the_config_and_forwards_progress() {
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "pass", "pass.subunit"));
    let (sink, lines) = sink();
    let judged = orchestrate(
        &j,
        Duration::from_secs(30),
        &CancellationToken::new(),
        Some(&sink),
    )
    .await
    .unwrap();
    assert_eq!(judged.verdict(), Verdict::Pass, "{judged:?}");
    assert_eq!(judged.skipped.len(), 1);
    let bin = dir.path().join("bin");
    let calls = std::fs::read_to_string(bin.join("calls.log")).unwrap();
    assert!(calls.starts_with("init "), "{calls}");
    assert!(
        calls.contains(" --load-list ") && !calls.contains("include-list"),
        "{calls}"
    );
    // The list handed over has the ids only, no comments.
    let seen = std::fs::read_to_string(bin.join("seen-list.lst")).unwrap();
    assert_eq!(seen.lines().count(), 4);
    assert!(!seen.contains('#'));
    let conf = std::fs::read_to_string(bin.join("seen-tempest.conf")).unwrap();
    for want in [
        "use_dynamic_credentials = false",
        "uri_v3 = http://127.0.0.1:5000/v3",
        "nova = false",
        "glance = true",
        "neutron = true",
        "image_ref = 1234",
    ] {
        assert!(conf.contains(want), "{want} in {conf}");
    }
    assert!(!conf.contains("s3cret"), "no password in tempest.conf");
    // The accounts file was private while it existed, and is gone now.
    assert_eq!(
        std::fs::read_to_string(bin.join("seen-accounts-mode"))
            .unwrap()
            .trim(),
        "600"
    );
    assert!(!j.workspace.join("etc/accounts.yaml").exists());
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[3].starts_with("tempest 4/4: VolumesGetTest.test_volume_create_get ok"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn failing_tests_fail() {
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "fail", "fail.subunit"));
    let judged = orchestrate(&j, Duration::from_secs(30), &CancellationToken::new(), None)
        .await
        .unwrap();
    assert_eq!(judged.verdict(), Verdict::Fail);
    let o = tempest_judge::outcome_of(ID, &judged);
    assert!(
        o.evidence
            .iter()
            .any(|f| f.message.contains("setUpClass failed")),
        "{o:?}"
    );
}

#[tokio::test]
async fn no_tests_run_crash_and_missing_results_abort() {
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "pass", "empty.subunit"));
    let judged = orchestrate(&j, Duration::from_secs(30), &CancellationToken::new(), None)
        .await
        .unwrap();
    assert_eq!(judged.verdict(), Verdict::Abort);
    assert!(
        tempest_judge::outcome_of(ID, &judged)
            .reason
            .contains("no listed test ran")
    );

    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "crash", "pass.subunit"));
    let err = orchestrate(&j, Duration::from_secs(30), &CancellationToken::new(), None)
        .await
        .unwrap_err();
    assert!(
        err.contains("left no results") && err.contains("uri_v3 is not valid"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut j = job(dir.path(), fake(dir.path(), "pass", "pass.subunit"));
    j.list.clear();
    let err = orchestrate(&j, Duration::from_secs(30), &CancellationToken::new(), None)
        .await
        .unwrap_err();
    assert!(err.contains("no tests"), "{err}");
}

#[tokio::test]
async fn tests_missing_from_the_installed_tempest_abort_and_a_failed_listing_is_named() {
    // A listed test the installed Tempest does not have: not run, counted as missing (ABORT),
    // and the finding says why.
    let dir = tempfile::tempdir().unwrap();
    let mut j = job(dir.path(), fake(dir.path(), "pass", "pass.subunit"));
    j.list.push(ListedTest::parse(
        "tempest.api.identity.v3.test_gone.GoneTest.test_gone[id-00000000-0000-4000-8000-0000000000ff]",
    ));
    let judged = orchestrate(&j, Duration::from_secs(30), &CancellationToken::new(), None)
        .await
        .unwrap();
    assert_eq!(judged.verdict(), Verdict::Abort, "{judged:?}");
    assert_eq!(judged.not_installed.len(), 1);
    let seen = std::fs::read_to_string(dir.path().join("bin/seen-list.lst")).unwrap();
    assert!(!seen.contains("test_gone"), "{seen}");
    let o = tempest_judge::outcome_of(ID, &judged);
    assert!(
        o.reason.contains("(1 not in the installed Tempest)"),
        "{}",
        o.reason
    );
    assert!(
        o.evidence
            .iter()
            .any(|f| f.message.contains("not in the installed Tempest")),
        "{o:?}"
    );

    // `tempest run --list-tests` fails: ABORT before the run, naming the command.
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "no-listing", "pass.subunit"));
    let err = orchestrate(&j, Duration::from_secs(30), &CancellationToken::new(), None)
        .await
        .unwrap_err();
    assert!(
        err.contains("`tempest run --list-tests` listed no tests"),
        "{err}"
    );
    let calls = std::fs::read_to_string(dir.path().join("bin/calls.log")).unwrap();
    assert!(!calls.contains("--load-list"), "{calls}");
}

#[test]
fn progress_lines_name_the_test_or_the_class_setup() {
    let mut done = 0;
    assert_eq!(
        progress_line(
            "{0} tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token[id-1] [0.5s] ... ok",
            &mut done,
            9
        )
        .as_deref(),
        Some("tempest 1/9: TokensV3Test.test_create_token ok")
    );
    assert_eq!(
        progress_line(
            "{0} setUpClass (tempest.api.compute.servers.test_servers.ServersTestJSON) ... FAILED",
            &mut done,
            9
        )
        .as_deref(),
        Some("tempest 2/9: ServersTestJSON.setUpClass failed")
    );
    assert_eq!(progress_line("Totals", &mut done, 9), None);
    assert_eq!(done, 2);
}

fn assert_gone(pid_file: &Path) {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Gone, or a zombie waiting for a reaper (its parent, the shell, was killed too).
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie);
    assert!(!alive, "tempest's child {pid} survived");
}

async fn wait_for(path: &Path) {
    for _ in 0..100 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} did not appear", path.display());
}

#[tokio::test]
async fn timeout_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "hang", "pass.subunit"));
    let started = std::time::Instant::now();
    let err = orchestrate(&j, Duration::from_secs(2), &CancellationToken::new(), None)
        .await
        .unwrap_err();
    assert!(err.contains("did not finish within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_gone(&dir.path().join("bin/child.pid"));
    assert!(!j.workspace.join("etc/accounts.yaml").exists());
}

#[tokio::test]
async fn cancellation_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "hang", "pass.subunit"));
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let pid_file = dir.path().join("bin/child.pid");
    let p = pid_file.clone();
    tokio::spawn(async move {
        wait_for(&p).await;
        c.cancel();
    });
    let err = orchestrate(&j, Duration::from_secs(60), &cancel, None)
        .await
        .unwrap_err();
    assert!(err.contains("interrupted"), "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_gone(&pid_file);
}

#[tokio::test]
async fn probe_reads_its_variables_and_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake(dir.path(), "pass", "pass.subunit");
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  prim:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: alice\n      password: pw-a\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n  alt:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: bob\n      password: pw-b\n      project_name: other\n      user_domain_name: Default\n      project_domain_name: Default\n",
    )
    .unwrap();
    let mut cloud = TestCloud::file("compliant.yaml").await;
    let v = &mut cloud.ctx.variables;
    for (k, val) in [
        ("tempest", bin.display().to_string()),
        ("tempest_clouds_file", clouds.display().to_string()),
        ("tempest_primary", "prim".into()),
        ("tempest_alt", "alt".into()),
        (
            "tempest_workdir",
            dir.path().join("ws").display().to_string(),
        ),
        (
            "tempest_test_list",
            root()
                .join("fixtures/tempest/list.lst")
                .display()
                .to_string(),
        ),
    ] {
        v.insert(k.into(), val);
    }
    let out = cloud.run(probe().as_ref(), &[ID]).await;
    assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
    assert!(
        out[0]
            .reason
            .contains("4 listed: 3 passed, 0 failed, 1 skipped (volume 1)"),
        "{}",
        out[0].reason
    );
    let conf = std::fs::read_to_string(dir.path().join("bin/seen-tempest.conf")).unwrap();
    assert!(conf.contains("[service_available]\nnova = true"), "{conf}");

    // Without an alt account: ABORT naming the variable.
    cloud.ctx.variables.remove("tempest_alt");
    let out = cloud.run(probe().as_ref(), &[ID]).await;
    assert_eq!(out[0].verdict, Verdict::Abort);
    assert!(
        out[0].reason.contains("-a tempest_alt=CLOUD"),
        "{}",
        out[0].reason
    );

    // The areas narrow the list (identity and image only: the volume skip is gone).
    cloud
        .ctx
        .variables
        .insert("tempest_alt".into(), "alt".into());
    cloud
        .ctx
        .variables
        .insert("tempest_areas".into(), "identity,image".into());
    let out = cloud.run(probe().as_ref(), &[ID]).await;
    assert!(
        out[0].reason.contains("2 listed: 2 passed"),
        "{}",
        out[0].reason
    );
}

#[tokio::test]
async fn a_dropped_run_kills_the_group_and_removes_the_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let j = job(dir.path(), fake(dir.path(), "hang", "pass.subunit"));
    let pid_file = dir.path().join("bin/child.pid");
    let cancel = CancellationToken::new();
    let run = orchestrate(&j, Duration::from_secs(60), &cancel, None);
    let p = pid_file.clone();
    // The executor gives up on the probe: the future is dropped while Tempest runs.
    let dropped = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::select! {
            _ = run => panic!("the hanging run ended"),
            _ = wait_for(&p) => {}
        }
    })
    .await;
    assert!(dropped.is_ok());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_gone(&pid_file);
    assert!(!j.workspace.join("etc/accounts.yaml").exists());
}

#[test]
fn accounts_yaml_is_tempests_preprovisioned_format() {
    let p = CloudConfig::password("p", "http://k:5000", "al\"ice", "pw: #1", "demo", "Dom");
    let text = accounts_yaml(&[&p]).unwrap();
    let v: Vec<std::collections::BTreeMap<String, String>> = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(v[0]["username"], "al\"ice");
    assert_eq!(v[0]["password"], "pw: #1");
    assert_eq!(v[0]["project_name"], "demo");
    assert_eq!(v[0]["user_domain_name"], "Dom");
    assert_eq!(v[0]["project_domain_name"], "Dom");
    let mut token = p.clone();
    token.auth.username = None;
    assert!(accounts_yaml(&[&token]).unwrap_err().contains("username"));
}
