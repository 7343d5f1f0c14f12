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

mod manifests;
mod plan;
mod secrets_script;

use super::DeployError;
use crate::cert::batch;
use plan::Plan;
use serde::Deserialize;
use std::path::Path;

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
/// [`check::check_manifest`](super::check::check_manifest) before it is returned.
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

#[cfg(test)]
mod tests {
    use super::plan::{inside, key_for};
    use super::secrets_script::shell_quote;
    use std::path::Path;

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
