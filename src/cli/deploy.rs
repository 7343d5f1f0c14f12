//! `scs-check deploy kubernetes`: flags and the writing of the generated files. What is
//! generated, and why, is [`crate::deploy::kubernetes`]'s business.

use super::{ExitStatus, console};
use crate::deploy::kubernetes::{self, Overrides};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Flags of `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Where to deploy.
    #[command(subcommand)]
    pub target: DeployTarget,
}

/// The engines `deploy` writes for.
#[derive(Debug, Subcommand)]
pub enum DeployTarget {
    /// Write a ConfigMap, an indexed CronJob (one pod per shard, each `batch --shard I/N`) and
    /// create-secrets.sh for a batch configuration; settings from its [kubernetes] table.
    Kubernetes(KubernetesArgs),
}

/// Flags of `deploy kubernetes`.
#[derive(Debug, Args)]
pub struct KubernetesArgs {
    /// The batch configuration (as for `batch`), with an optional [kubernetes] table.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Directory for the generated files (created; files of the same names are replaced).
    #[arg(long, value_name = "DIR", default_value = "deploy-kubernetes")]
    pub out: PathBuf,
    /// Container image (overrides [kubernetes] image).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Namespace of every object (overrides [kubernetes] namespace).
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Number of shards, pods per run (overrides [kubernetes] shards).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
}

/// `deploy`.
pub async fn deploy_cmd(args: DeployArgs) -> Result<ExitStatus> {
    match args.target {
        DeployTarget::Kubernetes(args) => kubernetes_cmd(args),
    }
}

fn kubernetes_cmd(args: KubernetesArgs) -> Result<ExitStatus> {
    let overrides = Overrides {
        image: args.image.clone(),
        namespace: args.namespace.clone(),
        shards: args.shards,
    };
    let generated = kubernetes::generate(&args.config, &overrides)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut names = vec![];
    for file in &generated.files {
        let path = args.out.join(&file.name);
        std::fs::write(&path, &file.text)
            .with_context(|| format!("cannot write {}", path.display()))?;
        if file.name.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("cannot make {} executable", path.display()))?;
        }
        names.push(file.name.as_str());
    }
    for warning in &generated.warnings {
        eprintln!("warning: {warning}");
    }
    let dir = args.out.display();
    console::println(&format!(
        "wrote {} to {dir}: {} in {} ({} at a time per pod)",
        names.join(", "),
        crate::terminal::count(generated.subjects, "subject"),
        crate::terminal::count(generated.shards, "shard"),
        generated.workers
    ));
    if !generated.secrets.is_empty() {
        console::println(&format!(
            "the pods mount the Secrets {}: review and run {dir}/create-secrets.sh first",
            generated.secrets.join(", ")
        ));
    }
    console::println(&format!("then: kubectl apply -f {dir}"));
    Ok(ExitStatus::Pass)
}
