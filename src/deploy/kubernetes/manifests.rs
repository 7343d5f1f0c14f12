//! The Kubernetes objects of `deploy kubernetes`: the ConfigMap and the indexed CronJob built
//! from a [`Plan`], rendered to YAML and checked with [`check::check_manifest`].

use super::plan::Plan;
use super::{
    CLOUDS_DIR, CONFIG_DIR, Generated, GeneratedFile, NONROOT_ID, REPORTS_DIR, SIGNING_DIR,
    TERMINATION_GRACE_SECONDS,
};
use crate::deploy::DeployError;
use crate::deploy::check;
use crate::terminal::count;
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
use std::collections::BTreeMap;

impl Plan<'_> {
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

    pub(super) fn render(&self) -> Result<Generated, DeployError> {
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
                        "{} in {}",
                        count(self.subjects.len(), "subject"),
                        count(self.shards, "shard")
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
