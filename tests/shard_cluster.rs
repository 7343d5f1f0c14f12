//! A simulated "cluster of workers": what the pods of `scs-check deploy kubernetes` do, as
//! local processes. One `scs-check simulate` serves a fixture cloud over HTTP (reports of runs
//! against it are real, not marked simulated, so they may be signed and uploaded); N shard
//! processes of the real binary (`batch --shard I/N --upload`) run at once against it through a
//! clouds.yaml, and upload to a test monitor. Every subject must run exactly once across the
//! shards and every report reach the monitor exactly once.

mod common;
#[path = "common/monitor.rs"]
mod monitor;

use common::{isolated, repo, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_run_every_subject_once_and_upload_every_report_once() {
    const SUBJECTS: usize = 8;
    const SHARDS: usize = 3;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let clouds = dir.join("clouds.yaml");
    let _cloud = serve(&repo().join("fixtures/clouds/compliant.yaml"), &clouds);

    // Subjects listed out of order: the shares must not depend on it.
    let subjects: Vec<String> = (0..SUBJECTS)
        .map(|i| format!("cloud-{:02}", (i * 5) % SUBJECTS))
        .collect();
    let names: Vec<&str> = subjects.iter().map(String::as_str).collect();
    let (key, token, m) = monitor::account_for(dir, &names);
    let url = monitor::start_monitor(m.clone()).await;
    let quoted: Vec<String> = subjects.iter().map(|s| format!("\"{s}\"")).collect();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[scopes.iaas]\nspec = \"iaas\"\n\n[presets.default]\nscopes = [\"iaas\"]\nsubjects = [{}]\nworkers = 2\n\n\
             [subjects._.mapping]\nos_cloud = \"sim-compliant\"\n",
            quoted.join(", ")
        ),
    )
    .unwrap();

    // The workers, all at once, as the pods of one indexed Job.
    let workers: Vec<_> = (0..SHARDS)
        .map(|index| {
            let mut cmd = isolated(dir);
            cmd.env("OS_CLIENT_CONFIG_FILE", &clouds)
                .args(["batch", "config.toml", "--shard"])
                .arg(format!("{index}/{SHARDS}"))
                .args(["-t", "scs-0123-", "-o"])
                .arg(format!("out-{index}"))
                .args(["--upload", "--allow-http", "--monitor", &url, "--key"])
                .arg(&key)
                .arg("--token-file")
                .arg(&token);
            tokio::task::spawn_blocking(move || cmd.output().unwrap())
        })
        .collect();
    let mut ran: Vec<String> = vec![];
    for (index, worker) in workers.into_iter().enumerate() {
        let out = worker.await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard {index}:\n{stdout}\n{stderr}"
        );
        assert!(stderr.contains("uploaded"), "shard {index}: {stderr}");
        // The subjects of this shard, from its reports.
        let mut mine = vec![];
        for entry in std::fs::read_dir(dir.join(format!("out-{index}"))).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if let Some(subject) = name
                .strip_prefix("report-iaas-")
                .and_then(|n| n.strip_suffix(".yaml"))
            {
                let text =
                    std::fs::read_to_string(dir.join(format!("out-{index}")).join(&name)).unwrap();
                let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
                assert_eq!(doc["subject"], subject);
                assert_ne!(doc["scs_check"]["simulated"], true, "{text}");
                assert!(text.contains("scs-0123-service-compute"), "{text}");
                mine.push(subject.to_string());
            }
        }
        // Even shares of 8 subjects over 3 shards: 3, 3 and 2.
        assert!(
            mine.len() == 2 || mine.len() == 3,
            "shard {index}: {mine:?}"
        );
        ran.extend(mine);
    }
    ran.sort();
    let mut all = subjects.clone();
    all.sort();
    assert_eq!(ran, all, "every subject exactly once across the shards");

    let m = m.lock().unwrap();
    // One upload per shard (its combined report), every subject's report stored once.
    assert_eq!(m.requests, SHARDS);
    let mut uploaded = m.stored_subjects.clone();
    uploaded.sort();
    assert_eq!(uploaded, all, "every report uploaded exactly once");
    let mut uuids = m.stored.clone();
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), SUBJECTS);
}

#[test]
fn bad_shard_values_are_refused_before_anything_runs() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "[scopes.iaas]\nspec = \"iaas\"\n[presets.default]\nscopes = [\"iaas\"]\nsubjects = [\"a\"]\n",
    )
    .unwrap();
    for (value, says) in [
        (
            "3/3",
            "I must be below N (the shards of 3 are numbered 0 to 2)",
        ),
        ("1/0", "N must be at least 1"),
        ("x", "expected I/N"),
    ] {
        let out = isolated(home.path())
            .args(["batch", "config.toml", "--shard", value, "-o", "out"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(says), "{value}: {stderr}");
        assert!(!home.path().join("out").exists());
    }
    // More shards than subjects: an empty shard has nothing to do and says so.
    let out = isolated(home.path())
        .args(["batch", "config.toml", "--shard", "1/2", "-o", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 1/2 has no subjects"));
}
