//! `create-secrets.sh` of `deploy kubernetes`: the `kubectl create secret` commands for the
//! Secrets the pods mount, naming files on this machine (never their contents), and the
//! warnings for files that do not exist yet.

use super::plan::Plan;
use std::path::Path;

impl Plan<'_> {
    /// The files `create-secrets.sh` names that are missing here: it would stop at them.
    pub(super) fn missing_files(&self) -> Vec<String> {
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
    pub(super) fn secrets_script(&self) -> String {
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
}

/// A path in single quotes for sh.
pub(super) fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}
