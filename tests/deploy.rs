//! `scs-check deploy kubernetes` through the binary: the generated manifests parse into the
//! `k8s-openapi` types, pass the schema check (which is shown to catch what it must), carry
//! the shard arithmetic `batch --shard` uses, refer to Secrets without holding any secret, and
//! bad settings are one line naming the configuration. No cluster is involved: nothing here
//! applies the manifests.

mod common;
use common::isolated;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::ConfigMap;
use scs_check::cert::batch::Shard;
use scs_check::deploy::check::check_manifest;
use serde_json::{Value, json};
use std::path::Path;

const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const TOKEN: &str = "Y2VydGlmaWVyOnMzY3JldC1wYXNzd29yZA==";

/// A certifier's directory: 50 subjects, a local scope file, kubeconfigs, key and token.
fn certifier(dir: &Path, kubernetes: &str) {
    std::fs::create_dir_all(dir.join(".secret")).unwrap();
    std::fs::write(dir.join(".secret/keyfile"), PRIVATE_KEY).unwrap();
    std::fs::write(dir.join(".secret/tokenfile"), TOKEN).unwrap();
    std::fs::write(dir.join("my-scope.yaml"), "name: my scope\n").unwrap();
    let subjects: Vec<String> = (0..50).map(|i| format!("\"cloud-{i:02}\"")).collect();
    for i in 0..50 {
        let kube = dir.join(format!("kube/cloud-{i:02}"));
        std::fs::create_dir_all(&kube).unwrap();
        std::fs::write(kube.join("kubeconfig.yaml"), "apiVersion: v1\n").unwrap();
    }
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[monitor]\nurl = \"https://monitor.example.com/\"\n\n\
             [scopes.iaas]\nspec = \"iaas\"\n[scopes.mine]\nspec = \"my-scope.yaml\"\n\n\
             [presets.default]\nscopes = [\"iaas\", \"mine\"]\nsubjects = [{}]\n\n\
             [subjects._.mapping]\nos_cloud = \"{{subject}}\"\nkubeconfig = \"kube/{{subject}}/kubeconfig.yaml\"\n\n\
             {kubernetes}",
            subjects.join(", ")
        ),
    )
    .unwrap();
}

struct Deployed {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn deploy(dir: &Path, extra: &[&str]) -> Deployed {
    let out = isolated(dir)
        .args([
            "deploy",
            "kubernetes",
            "--config",
            "config.toml",
            "--out",
            "out",
        ])
        .args(extra)
        .output()
        .unwrap();
    Deployed {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("out").join(name)).unwrap()
}

#[test]
fn fifty_subjects_become_an_indexed_cronjob_of_shards() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    certifier(
        dir,
        "[kubernetes]\nimage = \"registry.example.com/scs/scs-check:0.1\"\nnamespace = \"scs\"\nschedule = \"30 2 * * *\"\nparallelism = 2\n",
    );
    let run = deploy(dir, &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("50 subjects in 4 shards (16 at a time per pod)"),
        "{}",
        run.stdout
    );

    // Every manifest passes the schema check and parses into its Kubernetes type.
    let cron_text = read(dir, "cronjob.yaml");
    let map_text = read(dir, "configmap.yaml");
    for text in [&cron_text, &map_text] {
        assert_eq!(check_manifest(text), Vec::<String>::new(), "{text}");
    }
    let cron: CronJob = serde_saphyr::from_str(&cron_text).unwrap();
    let map: ConfigMap = serde_saphyr::from_str(&map_text).unwrap();

    let spec = cron.spec.as_ref().unwrap();
    assert_eq!(spec.schedule, "30 2 * * *");
    assert_eq!(spec.time_zone.as_deref(), Some("Etc/UTC"));
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(cron.metadata.namespace.as_deref(), Some("scs"));
    let job = spec.job_template.spec.as_ref().unwrap();
    assert_eq!(job.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!(job.completions, Some(4));
    assert_eq!(job.parallelism, Some(2));
    // A failed shard is not rerun (no second upload), and does not stop the others.
    assert_eq!(job.backoff_limit_per_index, Some(0));
    // Two waves of pods, each one round of 16 subjects x 2 scopes (4 h each), plus 10 min.
    assert_eq!(job.active_deadline_seconds, Some(2 * 2 * 4 * 3600 + 600));
    let pod = job.template.spec.as_ref().unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let container = &pod.containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some("registry.example.com/scs/scs-check:0.1")
    );
    let args = container.args.clone().unwrap();
    assert_eq!(
        args,
        [
            "batch",
            "/etc/scs-check/config/config.toml",
            "--shard",
            "$(SCS_CHECK_SHARD)/4",
            "-o",
            "/reports",
            "--upload",
            "--key",
            "/var/run/secrets/scs-check/signing/keyfile",
            "--token-file",
            "/var/run/secrets/scs-check/signing/tokenfile"
        ]
    );
    // The shard number is the Job's completion index, defined before the args use it.
    let env = container.env.clone().unwrap();
    let shard_env = env.iter().find(|e| e.name == "SCS_CHECK_SHARD").unwrap();
    assert_eq!(
        shard_env
            .value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .field_path,
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    let requests = container
        .resources
        .as_ref()
        .unwrap()
        .requests
        .clone()
        .unwrap();
    assert!(requests.contains_key("cpu") && requests.contains_key("memory"));

    // The 4 shards of the pods split the 50 subjects without overlap, as `batch` computes them.
    let subjects: Vec<String> = (0..50).map(|i| format!("cloud-{i:02}")).collect();
    let mut covered: Vec<&str> = (0..4)
        .flat_map(|index| Shard { index, count: 4 }.subjects(subjects.iter().map(String::as_str)))
        .collect();
    covered.sort();
    assert_eq!(covered.len(), 50);
    covered.dedup();
    assert_eq!(covered.len(), 50);

    // Secrets are referred to by name, mounted where the args and the config expect them.
    let volumes = pod.volumes.clone().unwrap();
    let secret = |name: &str| {
        volumes
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.secret.as_ref())
            .and_then(|s| s.secret_name.clone())
    };
    assert_eq!(secret("signing").as_deref(), Some("scs-check-signing"));
    assert_eq!(secret("clouds").as_deref(), Some("scs-check-clouds"));
    let projected = volumes
        .iter()
        .find(|v| v.name == "config")
        .and_then(|v| v.projected.clone())
        .unwrap()
        .sources
        .unwrap();
    let kube = projected[1].secret.as_ref().unwrap();
    assert_eq!(kube.name, "scs-check-kubeconfigs");
    let items = kube.items.clone().unwrap();
    assert_eq!(items.len(), 50);
    assert!(
        items
            .iter()
            .any(|i| i.path == "kube/cloud-07/kubeconfig.yaml")
    );
    let mounts = container.volume_mounts.clone().unwrap();
    let reports = mounts.iter().find(|m| m.mount_path == "/reports").unwrap();
    assert_eq!(reports.read_only, Some(false));
    let reports_volume = volumes.iter().find(|v| v.name == reports.name).unwrap();
    assert!(reports_volume.empty_dir.is_some());

    // The ConfigMap holds the configuration and the local scope file, nothing secret.
    let data = map.data.unwrap();
    assert_eq!(
        data["config.toml"],
        std::fs::read_to_string(dir.join("config.toml")).unwrap()
    );
    assert_eq!(data["my-scope.yaml"], "name: my scope\n");
    assert_eq!(data.len(), 2);

    // create-secrets.sh names the files; no generated file holds the key or the token.
    let script = read(dir, "create-secrets.sh");
    for name in [
        "scs-check-signing",
        "scs-check-clouds",
        "scs-check-kubeconfigs",
    ] {
        assert!(
            script.contains(&format!(
                "kubectl create secret generic {name} --namespace scs"
            )),
            "{script}"
        );
    }
    assert!(script.contains(&format!(
        "--from-file=keyfile='{}'",
        std::fs::canonicalize(dir).unwrap().join(".secret/keyfile").display()
    )));
    for text in [&cron_text, &map_text, &script] {
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains(TOKEN),
            "{text}"
        );
    }
}

#[test]
fn reports_on_a_claim_and_no_upload() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    certifier(
        dir,
        "[kubernetes]\nname = \"daily\"\nimage = \"scs-check:test\"\nupload = false\nreports_claim = \"scs-reports\"\nshards = 7\nsections = \".auto\"\n",
    );
    // A kubeconfig not there yet: the manifests are written, with a warning naming it.
    std::fs::remove_file(dir.join("kube/cloud-03/kubeconfig.yaml")).unwrap();
    let run = deploy(dir, &["--shards", "5", "--namespace", "other"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("warning: kubeconfig kube/cloud-03/kubeconfig.yaml: ")
            && run
                .stderr
                .contains("does not exist; create-secrets.sh stops there"),
        "{}",
        run.stderr
    );
    let cron_text = read(dir, "cronjob.yaml");
    assert_eq!(check_manifest(&cron_text), Vec::<String>::new());
    let cron: CronJob = serde_saphyr::from_str(&cron_text).unwrap();
    assert_eq!(cron.metadata.name.as_deref(), Some("daily"));
    assert_eq!(cron.metadata.namespace.as_deref(), Some("other"));
    let job = cron.spec.unwrap().job_template.spec.unwrap();
    assert_eq!(job.completions, Some(5), "--shards overrides the file");
    let pod = job.template.spec.unwrap();
    let args = pod.containers[0].args.clone().unwrap();
    assert!(
        args.windows(2)
            .any(|w| w == ["--shard", "$(SCS_CHECK_SHARD)/5"])
    );
    assert!(args.windows(2).any(|w| w == ["-S", ".auto"]));
    assert!(!args.iter().any(|a| a == "--upload" || a == "--key"));
    let volumes = pod.volumes.unwrap();
    assert!(!volumes.iter().any(|v| v.name == "signing"));
    let claim = volumes
        .iter()
        .find(|v| v.name == "reports")
        .and_then(|v| v.persistent_volume_claim.as_ref())
        .unwrap();
    assert_eq!(claim.claim_name, "scs-reports");
    let mount = pod.containers[0]
        .volume_mounts
        .clone()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "reports")
        .unwrap();
    assert_eq!(mount.sub_path_expr.as_deref(), Some("$(POD_NAME)"));
    let script = read(dir, "create-secrets.sh");
    assert!(!script.contains("daily-signing"), "{script}");
    assert!(
        script.contains("daily-clouds --namespace other"),
        "{script}"
    );
}

#[test]
fn bad_settings_are_one_line_naming_the_configuration() {
    for (kubernetes, says) in [
        (
            "",
            "no container image: set [kubernetes] image or give --image",
        ),
        (
            "[kubernetes]\nimage = \"i\"\nshedule = \"0 3 * * *\"\n",
            "config.toml:19:1: unknown field `shedule`",
        ),
        (
            "[kubernetes]\nimage = \"i\"\nschedule = \"0 25 * * *\"\n",
            "schedule \"0 25 * * *\": hour",
        ),
        (
            "[kubernetes]\nimage = \"i\"\nname = \"SCS\"\n",
            "DNS-1123 label",
        ),
        (
            "[kubernetes]\nimage = \"i\"\nshards = 0\n",
            "shards must be at least 1",
        ),
        (
            "[kubernetes]\nimage = \"i\"\ncpu = \"lots\"\n",
            "cpu \"lots\" is not a Kubernetes quantity",
        ),
    ] {
        let home = tempfile::tempdir().unwrap();
        certifier(home.path(), kubernetes);
        let run = deploy(home.path(), &[]);
        assert_eq!(run.code, Some(3), "{kubernetes}: {}", run.stdout);
        assert!(run.stderr.contains(says), "{kubernetes}: {}", run.stderr);
        assert!(run.stderr.contains("config.toml"), "{}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(!home.path().join("out").exists());
    }
    // Files the pods cannot see: a kubeconfig or a scope outside the directory.
    let home = tempfile::tempdir().unwrap();
    certifier(home.path(), "[kubernetes]\nimage = \"i\"\n");
    let config = home.path().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("kube/{subject}/kubeconfig.yaml", "/etc/{subject}.yaml"),
    )
    .unwrap();
    let run = deploy(home.path(), &[]);
    assert_eq!(run.code, Some(3));
    assert!(
        run.stderr
            .contains("must be a path inside the configuration's directory"),
        "{}",
        run.stderr
    );
    std::fs::write(&config, text.replace("my-scope.yaml", "../elsewhere.yaml")).unwrap();
    let run = deploy(home.path(), &[]);
    assert_eq!(run.code, Some(3));
    assert!(
        run.stderr.contains("outside the configuration's directory"),
        "{}",
        run.stderr
    );
}

/// A change to a manifest tree.
type Edit = Box<dyn FnOnce(&mut Value)>;

/// The pod spec of a CronJob tree.
fn pod(doc: &mut Value) -> &mut Value {
    &mut doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
}

/// The generated CronJob as a tree, changed by `edit`, checked again.
fn problems_after(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    certifier(home.path(), "[kubernetes]\nimage = \"scs-check:test\"\n");
    assert_eq!(deploy(home.path(), &[]).code, Some(0));
    let mut doc: Value = serde_saphyr::from_str(&read(home.path(), "cronjob.yaml")).unwrap();
    edit(&mut doc);
    check_manifest(&serde_saphyr::to_string(&doc).unwrap())
}

#[test]
fn the_schema_check_catches_what_it_must() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "unknown field spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicyy",
            Box::new(|d| {
                d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] =
                    json!("Always")
            }),
        ),
        (
            "unknown field spec.jobTemplate.spec.completionsMode",
            Box::new(|d| d["spec"]["jobTemplate"]["spec"]["completionsMode"] = json!("Indexed")),
        ),
        (
            "resources.requests.cpu is missing",
            Box::new(|d| {
                pod(d)["containers"][0]["resources"]["requests"]
                    .as_object_mut()
                    .unwrap()
                    .remove("cpu");
            }),
        ),
        (
            "restartPolicy \"Always\"",
            Box::new(|d| pod(d)["restartPolicy"] = json!("Always")),
        ),
        (
            "restartPolicy is missing",
            Box::new(|d| {
                pod(d).as_object_mut().unwrap().remove("restartPolicy");
            }),
        ),
        (
            "image is not set",
            Box::new(|d| pod(d)["containers"][0]["image"] = json!("")),
        ),
        (
            "metadata.name must be a DNS-1123 name",
            Box::new(|d| d["metadata"]["name"] = json!("SCS_check")),
        ),
        (
            "env OS_PASSWORD has a literal value",
            Box::new(|d| {
                pod(d)["containers"][0]["env"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "OS_PASSWORD", "value": "hunter2"}))
            }),
        ),
        (
            "volumeMount \"gone\" names no volume",
            Box::new(|d| pod(d)["containers"][0]["volumeMounts"][0]["name"] = json!("gone")),
        ),
        (
            "spec.schedule: expected five fields",
            Box::new(|d| d["spec"]["schedule"] = json!("daily")),
        ),
        (
            "holds a private key",
            Box::new(|d| {
                pod(d)["containers"][0]["args"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!(PRIVATE_KEY))
            }),
        ),
    ];
    for (says, edit) in cases {
        let problems = problems_after(edit);
        assert!(
            problems.iter().any(|p| p.contains(says)),
            "expected {says:?} in {problems:?}"
        );
    }
    // Kinds: an embedded Secret, and secret files in a ConfigMap.
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  keyfile: eA==\n";
    assert!(check_manifest(secret)[0].contains("a Secret with its data in a manifest"));
    let map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\ndata:\n  keyfile: |\n    {}\n",
        PRIVATE_KEY.lines().next().unwrap()
    );
    let problems = check_manifest(&map);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("looks like a secret file")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("holds a private key")),
        "{problems:?}"
    );
}

#[test]
fn the_shipped_example_generates_and_passes_the_check() {
    let home = tempfile::tempdir().unwrap();
    let out = isolated(home.path())
        .args(["deploy", "kubernetes", "--config"])
        .arg(common::repo().join("deploy/kubernetes/config.toml"))
        .args(["--out", "k8s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("3 subjects in 1 shard (16 at a time per pod)"),
        "{stdout}"
    );
    // Its key, token and kubeconfigs are not in the repository: one warning each.
    assert_eq!(stderr.matches("warning: ").count(), 5, "{stderr}");
    for name in ["configmap.yaml", "cronjob.yaml"] {
        let text = std::fs::read_to_string(home.path().join("k8s").join(name)).unwrap();
        assert_eq!(check_manifest(&text), Vec::<String>::new(), "{name}");
    }
}
