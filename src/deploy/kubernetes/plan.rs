//! The checked inputs of `deploy kubernetes`: the `[kubernetes]` settings validated against the
//! batch configuration (name, image, schedule, shards, time limit, the scope and kubeconfig files
//! the pods need), from which the manifests and the secrets script are made.

use super::{DEFAULT_SCHEDULE, KubernetesSettings, MAX_CONFIGMAP_BYTES};
use crate::cert::batch::{self, BatchConfig, JobSelection};
use crate::deploy::DeployError;
use crate::deploy::check;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Everything the manifests are made from, checked.
pub(super) struct Plan<'a> {
    pub(super) config: &'a BatchConfig,
    pub(super) settings: KubernetesSettings,
    pub(super) name: String,
    pub(super) image: String,
    pub(super) schedule: String,
    pub(super) subjects: Vec<String>,
    pub(super) shards: usize,
    pub(super) parallelism: usize,
    pub(super) workers: usize,
    pub(super) deadline: i64,
    pub(super) upload: bool,
    /// ConfigMap key -> (path under the configuration directory, contents).
    pub(super) config_files: BTreeMap<String, (String, String)>,
    /// Secret key -> (path under the configuration directory, path on this machine).
    pub(super) kubeconfigs: BTreeMap<String, (String, PathBuf)>,
    pub(super) openstack: bool,
}

impl<'a> Plan<'a> {
    pub(super) fn new(
        config: &'a BatchConfig,
        settings: KubernetesSettings,
    ) -> Result<Self, DeployError> {
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
}

/// `path` relative to `dir` (both absolute) when it lies inside, with `/` separators.
pub(super) fn inside(dir: &Path, path: &Path) -> Option<String> {
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
pub(super) fn key_for(rel: &str) -> String {
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
