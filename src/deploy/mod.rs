//! Deployment of batch runs onto an engine that schedules them (`scs-check deploy`): today
//! Kubernetes. [`kubernetes`] turns a batch configuration (`cert::batch`) into manifests (a
//! ConfigMap and one CronJob whose Jobs are indexed, one pod per shard, each running `scs-check
//! batch --shard I/N`) plus a script that creates the Secrets they refer to; [`check`] is the
//! schema check every generated manifest passes (the typed Kubernetes API plus our own rules:
//! names, restart policy, resources, image, no secret material inline).
//!
//! Nothing here talks to a cluster: the output is files for `kubectl apply`.

pub mod check;
pub mod kubernetes;

use std::path::PathBuf;

/// Why manifests could not be generated; one line each, naming the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The batch configuration does not load, or its selection does not expand.
    #[error(transparent)]
    Config(#[from] crate::cert::CertError),
    /// A setting (in `[kubernetes]` or from a flag) is missing or wrong.
    #[error("{}: {message}", path.display())]
    Setting {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A generated manifest failed the schema check (a bug of the generator, or a setting that
    /// the check refuses).
    #[error("generated {file} fails the check: {problems}")]
    Check {
        /// The manifest file.
        file: String,
        /// The problems, joined with `; `.
        problems: String,
    },
}
