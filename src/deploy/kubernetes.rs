//! `scs-check deploy kubernetes`: manifests that run a batch configuration on a Kubernetes
//! cluster, split into shards.
//!
//! What is generated (all objects named after `[kubernetes] name`, default `scs-check`):
//! - `configmap.yaml`: ConfigMap `NAME-config` with the batch configuration (`config.toml`) and
//!   the scope files it names that are files in its directory;
//! - `cronjob.yaml`: CronJob `NAME` on `[kubernetes] schedule` (UTC). Each run is one Job in
//!   `Indexed` completion mode with one completion per shard; pod `I` runs `scs-check batch
//!   config.toml --shard I/N -o /reports [--upload]` (`cert::batch::Shard` says which subjects
//!   that is). A shard that fails (some subject FAILs, or no report) fails only its own index
//!   (`backoffLimitPerIndex: 0`: never rerun, so nothing is uploaded twice); a pod evicted by
//!   the cluster is replaced (`podFailurePolicy`: `DisruptionTarget` ignored);
//! - `create-secrets.sh`: the `kubectl create secret` commands for the Secrets the pods mount
//!   (`NAME-signing`: keyfile and tokenfile; `NAME-clouds`: clouds.yaml; `NAME-kubeconfigs`:
//!   the subjects' kubeconfig files), with the paths of the files on this machine. No secret
//!   content is ever written into a manifest.
//!
//! The pod's working directory (the configuration's, as `batch` needs) is a projected volume of
//! the ConfigMap and the kubeconfig Secret; reports go to `/reports`, an `emptyDir` (kept only
//! as long as the pod: the monitor upload is the record) or, with `reports_claim`, a
//! subdirectory per pod of an existing PersistentVolumeClaim.

use super::DeployError;
use super::check;
use crate::cert::batch::{self, BatchConfig, JobSelection};
use k8s_openapi::api::batch::v1::{
    CronJob, CronJobSpec, JobSpec, JobTemplateSpec, PodFailurePolicy,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapProjection, Container, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, KeyToPath, ObjectFieldSelector, PersistentVolumeClaimVolumeSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, ProjectedVolumeSource, ResourceRequirements,
    SeccompProfile, SecretProjection, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
    VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Where the pod sees the configuration's directory (its working directory).
pub const CONFIG_DIR: &str = "/etc/scs-check/config";
/// Where the pod mounts the signing Secret.
pub const SIGNING_DIR: &str = "/var/run/secrets/scs-check/signing";
/// Where the pod mounts the clouds.yaml Secret (a directory the OpenStack client searches).
pub const CLOUDS_DIR: &str = "/etc/openstack";
/// Where each pod writes its reports.
pub const REPORTS_DIR: &str = "/reports";
/// The user and group of the image's `nonroot` user (distroless), which the pods run as.
pub const NONROOT_ID: i64 = 65532;
/// The default schedule: daily at 03:00 UTC, as the compliance monitor rechecks daily.
pub const DEFAULT_SCHEDULE: &str = "0 3 * * *";
/// The largest ConfigMap Kubernetes stores (1 MiB, keys and values).
const MAX_CONFIGMAP_BYTES: usize = 1 << 20;
/// Seconds a pod gets to stop after SIGTERM: `batch` interrupts every subject (they write their
/// reports and clean up), waits its 30 s grace, then writes and uploads the combined report.
const TERMINATION_GRACE_SECONDS: i64 = 120;

/// The `[kubernetes]` table of a batch configuration; every key is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSettings {
    /// Name of the CronJob and prefix of the other objects (a DNS-1123 label, at most 40
    /// characters). Default `scs-check`.
    pub name: Option<String>,
    /// Namespace of every object (default: kubectl's current namespace).
    pub namespace: Option<String>,
    /// The container image built from the `Containerfile` and pushed to a registry the
    /// cluster pulls from. Required (here or `--image`).
    pub image: Option<String>,
    /// Cron schedule (five fields, UTC). Default `0 3 * * *`.
    pub schedule: Option<String>,
    /// Number of shards (pods per run). Default: the subjects divided by the workers per pod
    /// (`[batch] workers` or the preset's, default 16), rounded up.
    pub shards: Option<usize>,
    /// Pods running at once. Default: all shards.
    pub parallelism: Option<usize>,
    /// The preset each pod runs (default: `batch`'s default, the preset `default`).
    pub preset: Option<String>,
    /// Sections passed as `batch -S` (such as `.auto`).
    pub sections: Option<String>,
    /// Sign and upload each shard's combined report to the monitor (default true).
    pub upload: Option<bool>,
    /// An existing PersistentVolumeClaim for the reports (each pod writes into a directory
    /// named after itself); default: an `emptyDir`, reports kept only on the monitor.
    pub reports_claim: Option<String>,
    /// CPU request of a pod (default `250m`).
    pub cpu: Option<String>,
    /// Memory request of a pod (default: 64 MiB per worker plus 64 MiB).
    pub memory: Option<String>,
    /// Memory limit of a pod (default: four times the request).
    pub memory_limit: Option<String>,
}

/// Flags that override `[kubernetes]`.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--image`.
    pub image: Option<String>,
    /// `--namespace`.
    pub namespace: Option<String>,
    /// `--shards`.
    pub shards: Option<usize>,
}

/// One generated file.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    /// File name (no directory).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// What `generate` made, with the numbers people want to see.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The files, manifests first, `create-secrets.sh` last.
    pub files: Vec<GeneratedFile>,
    /// Subjects selected.
    pub subjects: usize,
    /// Shards (pods per run).
    pub shards: usize,
    /// Subjects checked at once in each pod.
    pub workers: usize,
    /// The Secrets the pods need, by name.
    pub secrets: Vec<String>,
    /// Files `create-secrets.sh` reads that do not exist on this machine (yet).
    pub warnings: Vec<String>,
}

/// Reads `[kubernetes]` from the configuration file (other tables are `batch`'s business);
/// errors name the file, line and column.
pub fn read_settings(path: &Path) -> Result<KubernetesSettings, DeployError> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        kubernetes: Option<KubernetesSettings>,
    }
    let bytes = std::fs::read(path).map_err(|source| crate::cert::CertError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let file: File = toml::from_str(&text).map_err(|e| batch::toml_error(path, &text, &e))?;
    Ok(file.kubernetes.unwrap_or_default())
}

/// Generates the manifests for the batch configuration at `path`; each manifest passes
/// [`check::check_manifest`] before it is returned.
pub fn generate(path: &Path, overrides: &Overrides) -> Result<Generated, DeployError> {
    let config = batch::load_config(path)?;
    let mut settings = read_settings(path)?;
    if overrides.image.is_some() {
        settings.image = overrides.image.clone();
    }
    if overrides.namespace.is_some() {
        settings.namespace = overrides.namespace.clone();
    }
    if overrides.shards.is_some() {
        settings.shards = overrides.shards;
    }
    Plan::new(&config, settings)?.render()
}

/// Everything the manifests are made from, checked.
struct Plan<'a> {
    config: &'a BatchConfig,
    settings: KubernetesSettings,
    name: String,
    image: String,
    schedule: String,
    subjects: Vec<String>,
    shards: usize,
    parallelism: usize,
    workers: usize,
    deadline: i64,
    upload: bool,
    /// ConfigMap key -> (path under the configuration directory, contents).
    config_files: BTreeMap<String, (String, String)>,
    /// Secret key -> (path under the configuration directory, path on this machine).
    kubeconfigs: BTreeMap<String, (String, PathBuf)>,
    openstack: bool,
}

impl<'a> Plan<'a> {
    fn new(config: &'a BatchConfig, settings: KubernetesSettings) -> Result<Self, DeployError> {
        let bad = |message: String| DeployError::Setting {
            path: config.path.clone(),
            message,
        };
        let clash = |key: &str, one: &str, other: &str| {
            bad(format!(
                "{one} and {other} would both be stored under the key {key}; rename one"
            ))
        };
        let name = settings.name.clone().unwrap_or_else(|| "scs-check".into());
        if !check::is_dns_label(&name) || name.len() > 40 {
            return Err(bad(format!(
                "[kubernetes] name {name:?} must be a DNS-1123 label (lowercase letters, digits \
                 and '-', starting and ending with a letter or digit) of at most 40 characters"
            )));
        }
        if let Some(ns) = &settings.namespace
            && !check::is_dns_label(ns)
        {
            return Err(bad(format!(
                "[kubernetes] namespace {ns:?} is not a DNS-1123 label"
            )));
        }
        let image = match settings.image.clone() {
            Some(image) if !image.trim().is_empty() && !image.contains(char::is_whitespace) => {
                image
            }
            Some(image) => return Err(bad(format!("[kubernetes] image {image:?} is not valid"))),
            None => {
                return Err(bad(
                    "no container image: set [kubernetes] image or give --image (build it from \
                     the Containerfile and push it to a registry the cluster pulls from)"
                        .into(),
                ));
            }
        };
        let schedule = settings
            .schedule
            .clone()
            .unwrap_or_else(|| DEFAULT_SCHEDULE.into());
        if let Err(why) = check::cron_schedule(&schedule) {
            return Err(bad(format!("[kubernetes] schedule {schedule:?}: {why}")));
        }
        let selection = JobSelection {
            preset: settings.preset.clone(),
            ..Default::default()
        };
        let list = config.jobs(&selection)?;
        let subjects: Vec<String> = list
            .jobs
            .iter()
            .map(|j| j.subject.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let workers = list.workers.unwrap_or(batch::DEFAULT_WORKERS).max(1);
        let shards = match settings.shards {
            Some(0) => return Err(bad("[kubernetes] shards must be at least 1".into())),
            Some(n) => n,
            None => subjects.len().div_ceil(workers).max(1),
        };
        let parallelism = match settings.parallelism {
            Some(0) => return Err(bad("[kubernetes] parallelism must be at least 1".into())),
            Some(n) => n.min(shards),
            None => shards,
        };
        // The Job's time limit: the slowest shard's rounds of subjects (each up to the longest
        // subject time limit), times the waves of pods, plus ten minutes for start and upload.
        let longest = list
            .jobs
            .iter()
            .map(|j| j.timeout.as_secs())
            .max()
            .unwrap_or(batch::DEFAULT_SUBJECT_TIMEOUT);
        let scopes = list.jobs.len() / subjects.len().max(1);
        let per_shard = subjects.len().div_ceil(shards) * scopes.max(1);
        let rounds = per_shard.div_ceil(workers) as u64;
        let waves = shards.div_ceil(parallelism) as u64;
        let deadline = i64::try_from(rounds * waves * longest + 600).unwrap_or(i64::MAX);

        let mut config_files = BTreeMap::new();
        let text = String::from_utf8_lossy(&crate::cert::read_file(&config.path)?).into_owned();
        config_files.insert("config.toml".to_string(), ("config.toml".to_string(), text));
        let mut openstack = false;
        let mut kubeconfigs: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
        for job in &list.jobs {
            let spec = Path::new(&job.spec);
            if spec.is_absolute() {
                let rel = inside(&config.dir, spec).ok_or_else(|| {
                    bad(format!(
                        "scope {:?}: {} is outside the configuration's directory (the pods see \
                         only that directory)",
                        job.scope,
                        spec.display()
                    ))
                })?;
                let key = key_for(&rel);
                match config_files.get(&key) {
                    Some((known, _)) if *known == rel => {}
                    Some((known, _)) => return Err(clash(&key, known, &rel)),
                    None => {
                        let text = std::fs::read_to_string(spec)
                            .map_err(|e| bad(format!("scope {:?}: {}: {e}", job.scope, rel)))?;
                        config_files.insert(key, (rel, text));
                    }
                }
            }
            openstack |= job.assignments.contains_key("os_cloud");
            if let Some(kubeconfig) = job.assignments.get("kubeconfig") {
                let local = config.dir.join(kubeconfig);
                let rel = inside(&config.dir, &local).ok_or_else(|| {
                    bad(format!(
                        "subject {:?}: kubeconfig {kubeconfig:?} must be a path inside the \
                         configuration's directory, where the pod mounts it from a Secret",
                        job.subject
                    ))
                })?;
                let key = key_for(&rel);
                match kubeconfigs.get(&key) {
                    Some((known, _)) if known != &rel => return Err(clash(&key, known, &rel)),
                    _ => {
                        kubeconfigs.insert(key, (rel, local));
                    }
                }
            }
        }
        let size: usize = config_files
            .iter()
            .map(|(k, (_, v))| k.len() + v.len())
            .sum();
        if size > MAX_CONFIGMAP_BYTES {
            return Err(bad(format!(
                "the configuration and its scope files take {size} bytes; a ConfigMap holds at \
                 most 1 MiB (use built-in scopes or URLs for the large ones)"
            )));
        }
        if let Some(claim) = &settings.reports_claim
            && !check::is_dns_subdomain(claim)
        {
            return Err(bad(format!(
                "[kubernetes] reports_claim {claim:?} is not a valid claim name"
            )));
        }
        for (key, value) in [
            ("cpu", &settings.cpu),
            ("memory", &settings.memory),
            ("memory_limit", &settings.memory_limit),
        ] {
            if let Some(v) = value
                && !check::is_quantity(v)
            {
                return Err(bad(format!(
                    "[kubernetes] {key} {v:?} is not a Kubernetes quantity (such as 500m, 1Gi)"
                )));
            }
        }
        Ok(Plan {
            upload: settings.upload.unwrap_or(true),
            config,
            settings,
            name,
            image,
            schedule,
            subjects,
            shards,
            parallelism,
            workers,
            deadline,
            config_files,
            kubeconfigs,
            openstack,
        })
    }

    fn meta(&self, name: String) -> ObjectMeta {
        let labels = BTreeMap::from([
            (
                "app.kubernetes.io/name".to_string(),
                "scs-check".to_string(),
            ),
            ("app.kubernetes.io/instance".to_string(), self.name.clone()),
            (
                "app.kubernetes.io/managed-by".to_string(),
                "scs-check-deploy".to_string(),
            ),
        ]);
        ObjectMeta {
            name: Some(name),
            namespace: self.settings.namespace.clone(),
            labels: Some(labels),
            ..Default::default()
        }
    }

    fn secret_names(&self) -> Vec<String> {
        let mut out = vec![];
        if self.upload {
            out.push(format!("{}-signing", self.name));
        }
        if self.openstack {
            out.push(format!("{}-clouds", self.name));
        }
        if !self.kubeconfigs.is_empty() {
            out.push(format!("{}-kubeconfigs", self.name));
        }
        out
    }

    fn config_map(&self) -> ConfigMap {
        ConfigMap {
            metadata: self.meta(format!("{}-config", self.name)),
            data: Some(
                self.config_files
                    .iter()
                    .map(|(k, (_, text))| (k.clone(), text.clone()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = vec!["batch".to_string(), format!("{CONFIG_DIR}/config.toml")];
        if let Some(preset) = &self.settings.preset {
            args.extend(["--preset".into(), preset.clone()]);
        }
        args.extend([
            "--shard".into(),
            format!("$(SCS_CHECK_SHARD)/{}", self.shards),
            "-o".into(),
            REPORTS_DIR.into(),
        ]);
        if let Some(sections) = &self.settings.sections {
            args.extend(["-S".into(), sections.clone()]);
        }
        if self.upload {
            args.extend([
                "--upload".into(),
                "--key".into(),
                format!("{SIGNING_DIR}/keyfile"),
                "--token-file".into(),
                format!("{SIGNING_DIR}/tokenfile"),
            ]);
        }
        args
    }

    fn env(&self) -> Vec<EnvVar> {
        let field = |name: &str, path: &str| EnvVar {
            name: name.into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: path.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let literal = |name: &str, value: &str| EnvVar {
            name: name.into(),
            value: Some(value.into()),
            ..Default::default()
        };
        let mut env = vec![
            field(
                "SCS_CHECK_SHARD",
                "metadata.annotations['batch.kubernetes.io/job-completion-index']",
            ),
            field("POD_NAME", "metadata.name"),
            // Ledger and caches go to the writable /tmp; plain log lines, no colours.
            literal("HOME", "/tmp"),
            literal("CI", "true"),
        ];
        if self.openstack {
            env.push(literal(
                "OS_CLIENT_CONFIG_FILE",
                &format!("{CLOUDS_DIR}/clouds.yaml"),
            ));
        }
        env
    }

    fn volumes(&self) -> (Vec<Volume>, Vec<VolumeMount>) {
        let item = |key: &str, path: &str| KeyToPath {
            key: key.into(),
            path: path.into(),
            ..Default::default()
        };
        let mut sources = vec![VolumeProjection {
            config_map: Some(ConfigMapProjection {
                name: format!("{}-config", self.name),
                items: Some(
                    self.config_files
                        .iter()
                        .map(|(k, (rel, _))| item(k, rel))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }];
        if !self.kubeconfigs.is_empty() {
            sources.push(VolumeProjection {
                secret: Some(SecretProjection {
                    name: format!("{}-kubeconfigs", self.name),
                    items: Some(
                        self.kubeconfigs
                            .iter()
                            .map(|(k, (rel, _))| item(k, rel))
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        // Configuration and Secrets read-only; reports and /tmp writable.
        let mount = |name: &str, path: &str, writable: bool, sub: Option<&str>| VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            read_only: Some(!writable),
            sub_path_expr: sub.map(String::from),
            ..Default::default()
        };
        // Secrets readable by the pod's group only (fsGroup), never world-readable.
        const SECRET_MODE: i32 = 0o440;
        let mut volumes = vec![Volume {
            name: "config".into(),
            projected: Some(ProjectedVolumeSource {
                sources: Some(sources),
                default_mode: Some(SECRET_MODE),
            }),
            ..Default::default()
        }];
        let mut mounts = vec![mount("config", CONFIG_DIR, false, None)];
        if self.upload {
            volumes.push(Volume {
                name: "signing".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(format!("{}-signing", self.name)),
                    items: Some(vec![
                        item("keyfile", "keyfile"),
                        item("tokenfile", "tokenfile"),
                    ]),
                    default_mode: Some(SECRET_MODE),
                    ..Default::default()
                }),
                ..Default::default()
            });
            mounts.push(mount("signing", SIGNING_DIR, false, None));
        }
        if self.openstack {
            volumes.push(Volume {
                name: "clouds".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(format!("{}-clouds", self.name)),
                    items: Some(vec![item("clouds.yaml", "clouds.yaml")]),
                    default_mode: Some(SECRET_MODE),
                    ..Default::default()
                }),
                ..Default::default()
            });
            mounts.push(mount("clouds", CLOUDS_DIR, false, None));
        }
        volumes.push(match &self.settings.reports_claim {
            Some(claim) => Volume {
                name: "reports".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            None => Volume {
                name: "reports".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            },
        });
        let sub = self.settings.reports_claim.as_ref().map(|_| "$(POD_NAME)");
        mounts.push(mount("reports", REPORTS_DIR, true, sub));
        volumes.push(Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        });
        mounts.push(mount("tmp", "/tmp", true, None));
        (volumes, mounts)
    }

    fn cron_job(&self) -> CronJob {
        let (volumes, mounts) = self.volumes();
        let memory = self
            .settings
            .memory
            .clone()
            .unwrap_or_else(|| format!("{}Mi", 64 * self.workers + 64));
        let memory_limit = self
            .settings
            .memory_limit
            .clone()
            .unwrap_or_else(|| format!("{}Mi", 4 * (64 * self.workers + 64)));
        let cpu = self.settings.cpu.clone().unwrap_or_else(|| "250m".into());
        let container = Container {
            name: "scs-check".into(),
            image: Some(self.image.clone()),
            args: Some(self.args()),
            working_dir: Some(CONFIG_DIR.into()),
            env: Some(self.env()),
            volume_mounts: Some(mounts),
            resources: Some(ResourceRequirements {
                requests: Some(BTreeMap::from([
                    ("cpu".to_string(), Quantity(cpu)),
                    ("memory".to_string(), Quantity(memory)),
                ])),
                limits: Some(BTreeMap::from([(
                    "memory".to_string(),
                    Quantity(memory_limit),
                )])),
                ..Default::default()
            }),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let pod = PodSpec {
            restart_policy: Some("Never".into()),
            termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
            automount_service_account_token: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(NONROOT_ID),
                run_as_group: Some(NONROOT_ID),
                fs_group: Some(NONROOT_ID),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            containers: vec![container],
            volumes: Some(volumes),
            ..Default::default()
        };
        let job = JobSpec {
            completion_mode: Some("Indexed".into()),
            completions: Some(i32::try_from(self.shards).unwrap_or(i32::MAX)),
            parallelism: Some(i32::try_from(self.parallelism).unwrap_or(i32::MAX)),
            backoff_limit_per_index: Some(0),
            pod_failure_policy: Some(PodFailurePolicy {
                rules: vec![PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "DisruptionTarget".into(),
                        status: "True".into(),
                    }]),
                    ..Default::default()
                }],
            }),
            active_deadline_seconds: Some(self.deadline),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: self.meta(String::new()).labels,
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        };
        CronJob {
            metadata: self.meta(self.name.clone()),
            spec: Some(CronJobSpec {
                schedule: self.schedule.clone(),
                time_zone: Some("Etc/UTC".into()),
                concurrency_policy: Some("Forbid".into()),
                starting_deadline_seconds: Some(3600),
                successful_jobs_history_limit: Some(3),
                failed_jobs_history_limit: Some(3),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: self.meta(String::new()).labels,
                        ..Default::default()
                    }),
                    spec: Some(job),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The files `create-secrets.sh` names that are missing here: it would stop at them.
    fn missing_files(&self) -> Vec<String> {
        let mut files: Vec<(String, &Path)> = vec![];
        if self.upload {
            files.push(("[secrets] keyfile".into(), &self.config.keyfile));
            files.push(("[secrets] tokenfile".into(), &self.config.tokenfile));
        }
        for (rel, local) in self.kubeconfigs.values() {
            files.push((format!("kubeconfig {rel}"), local));
        }
        files
            .into_iter()
            .filter(|(_, path)| !path.is_file())
            .map(|(what, path)| {
                format!(
                    "{what}: {} does not exist; create-secrets.sh stops there until it does",
                    path.display()
                )
            })
            .collect()
    }

    /// `create-secrets.sh`: kubectl commands reading the files on this machine.
    fn secrets_script(&self) -> String {
        let ns = self
            .settings
            .namespace
            .as_ref()
            .map(|n| format!(" --namespace {n}"))
            .unwrap_or_default();
        let mut out = String::from(
            "#!/bin/sh\n\
             # Creates the Secrets that the manifests of `scs-check deploy kubernetes` mount, from\n\
             # files on this machine. It holds paths only, never secret contents; review them,\n\
             # then run it with kubectl pointing at the cluster. Rerun after a file changes\n\
             # (delete the Secret first: kubectl delete secret NAME).\n\
             set -eu\n",
        );
        if self.upload {
            out.push_str(&format!(
                "\n# The signing key and the monitor token ([secrets] of the configuration).\n\
                 kubectl create secret generic {}-signing{ns} \\\n  --from-file=keyfile={} \\\n  --from-file=tokenfile={}\n",
                self.name,
                shell_quote(&self.config.keyfile),
                shell_quote(&self.config.tokenfile)
            ));
        }
        if self.openstack {
            out.push_str(&format!(
                "\n# The clouds.yaml naming every subject's cloud (with its credentials; no\n\
                 # secure.yaml: put them into this one file). Set CLOUDS_YAML to use another.\n\
                 kubectl create secret generic {}-clouds{ns} \\\n  --from-file=clouds.yaml=\"${{CLOUDS_YAML:-$HOME/.config/openstack/clouds.yaml}}\"\n",
                self.name
            ));
        }
        if !self.kubeconfigs.is_empty() {
            out.push_str(&format!(
                "\n# The subjects' kubeconfig files (the `kubeconfig` variable of each subject).\n\
                 kubectl create secret generic {}-kubeconfigs{ns}",
                self.name
            ));
            for (key, (_, local)) in &self.kubeconfigs {
                out.push_str(&format!(" \\\n  --from-file={key}={}", shell_quote(local)));
            }
            out.push('\n');
        }
        out
    }

    fn render(&self) -> Result<Generated, DeployError> {
        let header = |what: &str| {
            format!(
                "# Generated by `scs-check deploy kubernetes` from {} ({what}).\n\
                 # Apply with: kubectl apply -f <this directory>\n",
                self.config.path.display()
            )
        };
        let config_map = yaml(&self.config_map());
        let cron_job = yaml(&self.cron_job());
        let mut files = vec![
            GeneratedFile {
                name: "configmap.yaml".into(),
                text: format!("{}{config_map}", header("configuration and scope files")),
            },
            GeneratedFile {
                name: "cronjob.yaml".into(),
                text: format!(
                    "{}{cron_job}",
                    header(&format!(
                        "{} subjects in {} shards",
                        self.subjects.len(),
                        self.shards
                    ))
                ),
            },
        ];
        for file in &files {
            let problems = check::check_manifest(&file.text);
            if !problems.is_empty() {
                return Err(DeployError::Check {
                    file: file.name.clone(),
                    problems: problems.join("; "),
                });
            }
        }
        files.push(GeneratedFile {
            name: "create-secrets.sh".into(),
            text: self.secrets_script(),
        });
        Ok(Generated {
            files,
            subjects: self.subjects.len(),
            shards: self.shards,
            workers: self.workers,
            secrets: self.secret_names(),
            warnings: self.missing_files(),
        })
    }
}

/// A manifest as YAML (one document, no leading `---`).
fn yaml(value: &impl serde::Serialize) -> String {
    // Kubernetes types serialize to plain maps of strings and numbers; a failure is a bug here.
    let text = serde_saphyr::to_string(value).expect("a manifest always serializes to YAML");
    text.strip_prefix("---\n").unwrap_or(&text).to_string()
}

/// `path` relative to `dir` (both absolute) when it lies inside, with `/` separators.
fn inside(dir: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(dir).ok()?;
    let mut parts = vec![];
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A ConfigMap or Secret key for a relative path: every character other than letters, digits,
/// `-`, `_` and `.` becomes `_` (`alpha/kubeconfig.yaml` -> `alpha_kubeconfig.yaml`).
fn key_for(rel: &str) -> String {
    rel.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A path in single quotes for sh.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_directory_only() {
        let dir = Path::new("/c");
        assert_eq!(
            inside(dir, Path::new("/c/a/b.yaml")).as_deref(),
            Some("a/b.yaml")
        );
        assert_eq!(inside(dir, Path::new("/c/./k")).as_deref(), Some("k"));
        assert_eq!(inside(dir, Path::new("/c/../etc/passwd")), None);
        assert_eq!(inside(dir, Path::new("/d/k")), None);
        assert_eq!(inside(dir, Path::new("/c")), None);
        assert_eq!(key_for("alpha/kube config.yaml"), "alpha_kube_config.yaml");
        assert_eq!(shell_quote(Path::new("/a/it's")), "'/a/it'\\''s'");
    }
}
