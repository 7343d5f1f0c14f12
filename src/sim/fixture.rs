//! The fixture format: a YAML description of a simulated cloud (user and roles, catalog,
//! flavors, images, volume types, network defaults, Barbican and S3 behaviour, page sizes,
//! faults, timings and pre-existing resources). Documented in `docs/fixtures.md`.
//!
//! This file holds the whole fixture ([`Fixture`]) and its errors; the parts live in
//! `content` (what the cloud holds: user, catalog, flavors, images, volume types, resources)
//! and `behaviour` (how its services act: network defaults, Barbican, S3, Cinder, faults,
//! timings, the scs-0302 Keystone); `load` reads files, YAML and `base:` chains, `validate`
//! checks what serde cannot, and `dates` resolves relative dates.

mod behaviour;
mod content;
mod dates;
mod load;
mod validate;

pub use behaviour::{
    BlockStorageDef, DefaultRuleDef, DmPolicy, DomainManagerDef, FaultDef, FaultKind,
    KeyManagerDef, NetworkDef, S3Behaviour, S3Def, TimingDef,
};
pub use content::{
    AppCredDef, ComputeDef, FlavorDef, GenerateDef, ImageDef, ResourcesDef, ServiceDef,
    ServiceFull, UserDef, VolumeTypeDef,
};
pub use dates::resolve_date;

use content::default_services;
use load::{parse_yaml, read, resolve_base};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Why a fixture cannot be used; one line naming the file and position or key.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FixtureError {
    /// Unreadable file.
    #[error("{path}: cannot read fixture: {message}")]
    Read {
        /// File.
        path: String,
        /// OS error.
        message: String,
    },
    /// YAML syntax or shape error.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// File.
        path: String,
        /// Line (1-based, 0 if unknown).
        line: u64,
        /// Column (1-based, 0 if unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// Semantically invalid content.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// File (or `<inline>`).
        path: String,
        /// Dotted key, e.g. `flavors[3].name`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// A simulated cloud.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Short name (used as the cloud name in the printed clouds.yaml).
    #[serde(default = "default_name")]
    pub name: String,
    /// What this cloud is for, and which testcases it should fail.
    #[serde(default)]
    pub description: String,
    /// Region of every endpoint.
    #[serde(default = "default_region")]
    pub region: String,
    /// The one user and project that may log in.
    #[serde(default)]
    pub user: UserDef,
    /// Application credentials accepted in addition to the password.
    #[serde(default)]
    pub application_credentials: Vec<AppCredDef>,
    /// Catalog entries (service types); default is a full SCS cloud.
    #[serde(default = "default_services")]
    pub services: Vec<ServiceDef>,
    /// Compute microversion range.
    #[serde(default)]
    pub compute: ComputeDef,
    /// Flavors.
    #[serde(default)]
    pub flavors: Vec<FlavorDef>,
    /// Images.
    #[serde(default)]
    pub images: Vec<ImageDef>,
    /// Volume types.
    #[serde(default)]
    pub volume_types: Vec<VolumeTypeDef>,
    /// Neutron behaviour.
    #[serde(default)]
    pub network: NetworkDef,
    /// Barbican behaviour.
    #[serde(default)]
    pub key_manager: KeyManagerDef,
    /// Behaviour of the S3 endpoint (`GET /` on the server root).
    #[serde(default)]
    pub s3: S3Def,
    /// Cinder behaviour.
    #[serde(default)]
    pub block_storage: BlockStorageDef,
    /// Largest page per service type (`compute`, `image`, ...; `default` for the rest).
    #[serde(default)]
    pub page_size: BTreeMap<String, usize>,
    /// Injected faults.
    #[serde(default)]
    pub faults: Vec<FaultDef>,
    /// Status transitions and console output of created resources.
    #[serde(default)]
    pub timing: TimingDef,
    /// Resources that exist before the run.
    #[serde(default)]
    pub resources: ResourcesDef,
    /// How many resources of a kind the project may hold (`servers`, `volumes`, `backups`,
    /// `networks`, `subnets`, `routers`, `security_groups`, `secrets`); default unlimited.
    /// Creating one more is refused as the real service refuses it.
    #[serde(default)]
    pub quotas: BTreeMap<String, u64>,
    /// A Keystone with two domains and their domain managers (scs-0302), see
    /// `src/sim/server/keystone.rs`.
    #[serde(default)]
    pub domain_manager: Option<DomainManagerDef>,
    /// Generated bulk content for performance work.
    #[serde(default)]
    pub generate: Option<GenerateDef>,
}

fn default_name() -> String {
    "simulated".into()
}
fn default_region() -> String {
    "RegionOne".into()
}
fn default_true() -> bool {
    true
}

impl Fixture {
    /// Reads and validates a fixture file. A fixture may name a `base:` fixture (path relative
    /// to its own file) that it modifies; see `docs/fixtures.md`.
    pub fn load(path: impl AsRef<Path>) -> Result<Fixture, FixtureError> {
        let path = path.as_ref();
        let text = read(path)?;
        Fixture::from_yaml_in(&text, &path.display().to_string(), path.parent())
    }

    /// Parses and validates fixture text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Fixture, FixtureError> {
        Fixture::from_yaml_in(text, origin, None)
    }

    /// Parses fixture text whose `base:` paths are relative to `dir`.
    pub fn from_yaml_in(
        text: &str,
        origin: &str,
        dir: Option<&Path>,
    ) -> Result<Fixture, FixtureError> {
        let raw: Value = parse_yaml(text, origin)?;
        let mut f: Fixture = if raw.get("base").is_some() {
            let merged = resolve_base(raw, origin, dir, 0)?;
            serde_json::from_value(merged).map_err(|e| FixtureError::Invalid {
                path: origin.into(),
                key: "(after merging base)".into(),
                message: e.to_string(),
            })?
        } else {
            parse_yaml(text, origin)?
        };
        f.validate(origin)?;
        if let Some(g) = f.generate.clone() {
            super::generate::extend(&mut f, &g);
        }
        Ok(f)
    }

    /// The built-in minimal cloud used by tests: the default user and catalog, nothing else.
    pub fn minimal() -> Fixture {
        Fixture::from_yaml("name: minimal\n", "<minimal>").expect("built-in fixture is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_located() {
        let e = Fixture::from_yaml(
            "name: x\nflavors:\n  - name: a\n    vcpus: many\n",
            "f.yaml",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("f.yaml:4:"), "{s}");
        let e = Fixture::from_yaml("nmae: x\n", "f.yaml").unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");
        let e =
            Fixture::from_yaml("faults: [{service: nova, kind: status}]\n", "f.yaml").unwrap_err();
        assert!(e.to_string().contains("faults[0].service"), "{e}");
    }
}
