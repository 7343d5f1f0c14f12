//! `scs-check simulate` and `--simulate`: checking a fixture argument, starting the simulated
//! cloud (the built-in `compliant` one or a fixture file), and serving it until Ctrl-C with its
//! clouds.yaml entry printed.

use super::{ExitStatus, console, did_you_mean};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use std::path::{Path, PathBuf};

/// Flags of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Fixture file describing the cloud, or `compliant` for the built-in compliant cloud.
    #[arg(value_name = "FIXTURE")]
    pub fixture: String,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Also write the clouds.yaml entry to FILE.
    #[arg(long, value_name = "FILE")]
    pub clouds_yaml: Option<PathBuf>,
}

/// A running simulated cloud and the cloud name its clouds.yaml entry uses.
pub(crate) struct RunningSimulator {
    pub(super) handle: crate::sim::SimHandle,
    pub(super) cloud: String,
    pub(super) clouds_yaml: String,
}

/// The compliant simulated cloud, built into the binary so `--simulate compliant` works anywhere.
const BUILTIN_COMPLIANT_FIXTURE: &str = include_str!("../../fixtures/clouds/compliant.yaml");

/// The names `--simulate` knows without a file.
const BUILTIN_CLOUD_FIXTURES: &[&str] = &["compliant"];

/// Checks a `--simulate` argument before it is used: a name that is neither a file nor a
/// built-in fixture gets the built-in names (and a close one), and a fixture of the wrong kind
/// (a cluster for an IaaS run, a cloud for a KaaS run) says so.
pub(crate) fn check_simulate_arg(fixture: &str, want: crate::sim::FixtureKind) -> Result<()> {
    use crate::sim::FixtureKind;
    let path = Path::new(fixture);
    let (kind_word, dir) = match want {
        FixtureKind::Cloud => ("cloud", "fixtures/clouds/"),
        FixtureKind::Cluster => ("cluster", "fixtures/clusters/"),
    };
    if !path.exists() {
        if want == FixtureKind::Cloud && BUILTIN_CLOUD_FIXTURES.contains(&fixture) {
            return Ok(());
        }
        let builtin = match want {
            FixtureKind::Cloud => format!(
                "the built-in {kind_word} fixtures are: {}",
                BUILTIN_CLOUD_FIXTURES.join(", ")
            ),
            FixtureKind::Cluster => "there are no built-in cluster fixtures".to_string(),
        };
        let hint = match want {
            FixtureKind::Cloud => did_you_mean(fixture, BUILTIN_CLOUD_FIXTURES)
                .map(|m| format!(" (did you mean '{m}'?)"))
                .unwrap_or_default(),
            FixtureKind::Cluster => String::new(),
        };
        bail!(
            "--simulate {fixture}: no such fixture file{hint}; {builtin}, or give a file such \
             as {dir}*.yaml"
        );
    }
    match (FixtureKind::of_file(path), want) {
        (Some(FixtureKind::Cluster), FixtureKind::Cloud) => bail!(
            "--simulate {fixture}: this is a cluster fixture (KaaS); an IaaS scope needs a \
             cloud fixture such as fixtures/clouds/*.yaml (or run a KaaS scope: run kaas \
             --simulate {fixture})"
        ),
        (Some(FixtureKind::Cloud), FixtureKind::Cluster) => bail!(
            "--simulate {fixture}: this is a cloud fixture (IaaS); a KaaS scope needs a \
             cluster fixture such as fixtures/clusters/*.yaml (or run an IaaS scope: run iaas \
             --simulate {fixture})"
        ),
        _ => Ok(()),
    }
}

/// Starts the simulated cloud of `fixture` (a file or a built-in name) on `port` (default: a
/// free one).
pub(crate) async fn start_simulator(fixture: &str, port: Option<u16>) -> Result<RunningSimulator> {
    use crate::sim::{Fixture, Simulator};
    check_simulate_arg(fixture, crate::sim::FixtureKind::Cloud)?;
    let loaded = if !Path::new(fixture).exists() && fixture == "compliant" {
        Fixture::from_yaml(BUILTIN_COMPLIANT_FIXTURE, "<built-in compliant cloud>")
    } else {
        Fixture::load(fixture)
    }
    .map_err(|err| anyhow!("{err}"))?;
    let cloud = format!("sim-{}", loaded.name);
    let handle = Simulator::start(loaded, port)
        .await
        .map_err(|err| anyhow!("{err}"))?;
    let clouds_yaml = handle.clouds_yaml(&cloud);
    Ok(RunningSimulator {
        handle,
        cloud,
        clouds_yaml,
    })
}

/// `simulate`: serves a simulated cloud until Ctrl-C and prints its clouds.yaml entry.
pub(super) async fn simulate(args: SimulateArgs) -> Result<ExitStatus> {
    let sim = start_simulator(&args.fixture, args.port).await?;
    if let Some(path) = &args.clouds_yaml {
        std::fs::write(path, &sim.clouds_yaml)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    console::println(&format!(
        "# simulated cloud {} at {}",
        sim.cloud,
        sim.handle.auth_url()
    ));
    console::println(&format!(
        "# clouds.yaml entry (use with OS_CLOUD={}):",
        sim.cloud
    ));
    console::print(&sim.clouds_yaml);
    if let Some(path) = &args.clouds_yaml {
        console::println("# test it with:");
        console::println(&format!(
            "# OS_CLIENT_CONFIG_FILE={} scs-check run iaas --os-cloud {}",
            shell_word(&path.display().to_string()),
            sim.cloud
        ));
    }
    console::println("# press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sim.handle.shutdown().await;
    Ok(ExitStatus::Pass)
}

/// `text` as one shell word (quoted only when it needs it).
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
