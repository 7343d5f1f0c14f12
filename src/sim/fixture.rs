//! The fixture format: a YAML description of a simulated cloud (user and roles, catalog,
//! flavors, images, volume types, network defaults, Barbican and S3 behaviour, page sizes,
//! faults, timings and pre-existing resources). Documented in `docs/fixtures.md`.

use indexmap::IndexMap;
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

/// The scs-0302 Keystone: which policy it enforces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DomainManagerDef {
    /// The policy (default: the standard's, compliant).
    pub policy: DmPolicy,
    /// Whether the role `manager` exists (else the managers hold `member`).
    pub manager_role: bool,
}

impl Default for DomainManagerDef {
    fn default() -> Self {
        DomainManagerDef {
            policy: DmPolicy::Compliant,
            manager_role: true,
        }
    }
}

/// Policies of the scs-0302 Keystone.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DmPolicy {
    /// The standard's policy for Keystone before 2024.2.
    #[default]
    Compliant,
    /// No policy file: Keystone's defaults (a manager may do nothing).
    None,
    /// `is_domain_managed_role` also allows `admin`.
    AdminAssignable,
    /// `identity:create_user` without the domain condition.
    CreateUserAnyDomain,
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

/// The fixture's user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserDef {
    /// User name.
    pub username: String,
    /// User id.
    pub user_id: String,
    /// Password.
    pub password: String,
    /// Domain name (user and project).
    pub domain_name: String,
    /// Domain id.
    pub domain_id: String,
    /// Project name.
    pub project_name: String,
    /// Project id.
    pub project_id: String,
    /// Roles in the token (implied roles included).
    pub roles: Vec<String>,
    /// Lifetime of issued tokens in simulated seconds (scaled by `timing.time_scale`); a
    /// request with an expired token gets 401. Default: 12 hours, as Keystone.
    pub token_ttl_s: Option<f64>,
}

impl Default for UserDef {
    fn default() -> Self {
        UserDef {
            username: "scs-tester".into(),
            user_id: "5c5e0000000000000000000000000001".into(),
            password: "simulated-password".into(),
            domain_name: "Default".into(),
            domain_id: "default".into(),
            project_name: "scs-test".into(),
            project_id: "5c5e0000000000000000000000000002".into(),
            roles: vec!["member".into(), "reader".into()],
            token_ttl_s: None,
        }
    }
}

/// An application credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredDef {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Secret.
    pub secret: String,
    /// Roles (default: the user's).
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// A catalog entry: either just a type, or a mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ServiceDef {
    /// Just the type.
    Type(String),
    /// Type with options.
    Full(ServiceFull),
}

/// A catalog entry with options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFull {
    /// Service type.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name (default from type).
    #[serde(default)]
    pub name: Option<String>,
    /// Path on the simulator (default per type), or an absolute URL elsewhere.
    #[serde(default)]
    pub url: Option<String>,
    /// Interfaces (default public and internal); empty gives an entry without endpoints.
    #[serde(default)]
    pub interfaces: Option<Vec<String>>,
}

impl ServiceDef {
    /// The service type.
    pub fn service_type(&self) -> &str {
        match self {
            ServiceDef::Type(t) => t,
            ServiceDef::Full(f) => &f.service_type,
        }
    }
}

fn default_services() -> Vec<ServiceDef> {
    [
        "identity",
        "compute",
        "image",
        "network",
        "volumev3",
        "block-storage",
        "key-manager",
        "placement",
        "load-balancer",
        "object-store",
        "object-store-s3",
    ]
    .iter()
    .map(|t| ServiceDef::Type(t.to_string()))
    .collect()
}

/// Compute API version range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComputeDef {
    /// Lowest microversion.
    pub min_version: String,
    /// Highest microversion (empty: no microversions, as very old Nova).
    pub max_version: String,
}

impl Default for ComputeDef {
    fn default() -> Self {
        ComputeDef {
            min_version: "2.1".into(),
            max_version: "2.96".into(),
        }
    }
}

/// A flavor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlavorDef {
    /// Id (default derived from the name).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// vCPUs.
    pub vcpus: u64,
    /// RAM in MiB.
    pub ram: u64,
    /// Root disk in GiB.
    #[serde(default)]
    pub disk: u64,
    /// Extra specs.
    #[serde(default)]
    pub extra_specs: IndexMap<String, String>,
    /// Public (private flavors are shared with the project).
    #[serde(default = "default_true")]
    pub is_public: bool,
    /// Description (microversion ≥ 2.55).
    #[serde(default)]
    pub description: Option<String>,
}

/// An image; `properties` become top-level keys as in Glance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageDef {
    /// Id (default derived from the name).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Status.
    #[serde(default = "default_active")]
    pub status: String,
    /// Visibility.
    #[serde(default = "default_public")]
    pub visibility: String,
    /// Hidden from listings.
    #[serde(default)]
    pub os_hidden: bool,
    /// Size in bytes (null for queued images).
    #[serde(default = "default_size")]
    pub size: Option<u64>,
    /// Min disk GiB.
    #[serde(default)]
    pub min_disk: u64,
    /// Min RAM MiB.
    #[serde(default)]
    pub min_ram: u64,
    /// Hash algorithm Glance computed (null for queued images).
    #[serde(default = "default_hash")]
    pub os_hash_algo: Option<String>,
    /// Registration time; supports relative dates (`@now-30d`).
    #[serde(default)]
    pub created_at: Option<String>,
    /// All other properties (arbitrary keys; strings support relative dates).
    #[serde(default)]
    pub properties: IndexMap<String, Value>,
}

fn default_active() -> String {
    "active".into()
}
fn default_public() -> String {
    "public".into()
}
fn default_size() -> Option<u64> {
    Some(2_361_393_152)
}
fn default_hash() -> Option<String> {
    Some("sha512".into())
}

/// A volume type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeTypeDef {
    /// Id (default derived from the name).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Extra specs.
    #[serde(default)]
    pub extra_specs: IndexMap<String, String>,
}

/// Neutron behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkDef {
    /// Rules of `/v2.0/default-security-group-rules`; absent means the API does not exist
    /// (404, as before Neutron 2023.2).
    #[serde(default)]
    pub default_security_group_rules: Option<Vec<DefaultRuleDef>>,
    /// Rules a new security group gets (default: IPv4 and IPv6 egress).
    #[serde(default = "default_new_sg_rules")]
    pub new_security_group_rules: Vec<DefaultRuleDef>,
    /// External networks (`router:external`).
    #[serde(default = "default_external")]
    pub external_networks: Vec<String>,
}

impl Default for NetworkDef {
    fn default() -> Self {
        NetworkDef {
            default_security_group_rules: None,
            new_security_group_rules: default_new_sg_rules(),
            external_networks: default_external(),
        }
    }
}

fn default_external() -> Vec<String> {
    vec!["public".into()]
}

fn default_new_sg_rules() -> Vec<DefaultRuleDef> {
    ["IPv4", "IPv6"]
        .iter()
        .map(|e| DefaultRuleDef {
            direction: "egress".into(),
            ethertype: e.to_string(),
            remote_group_id: None,
            remote_ip_prefix: None,
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            used_in_default_sg: true,
            used_in_non_default_sg: true,
        })
        .collect()
}

/// A security group rule (template).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultRuleDef {
    /// `ingress` / `egress`.
    pub direction: String,
    /// `IPv4` / `IPv6`.
    pub ethertype: String,
    /// `PARENT` or a group id.
    #[serde(default)]
    pub remote_group_id: Option<String>,
    /// CIDR.
    #[serde(default)]
    pub remote_ip_prefix: Option<String>,
    /// Protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Port range start.
    #[serde(default)]
    pub port_range_min: Option<u16>,
    /// Port range end.
    #[serde(default)]
    pub port_range_max: Option<u16>,
    /// Used in the default SG.
    #[serde(default = "default_true")]
    pub used_in_default_sg: bool,
    /// Used in other SGs.
    #[serde(default = "default_true")]
    pub used_in_non_default_sg: bool,
}

/// Barbican behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyManagerDef {
    /// A member may list secrets (else 403).
    pub member_can_list: bool,
    /// A member may create secrets (else 403).
    pub member_can_create: bool,
    /// A member may delete secrets (else 403).
    pub member_can_delete: bool,
}

impl Default for KeyManagerDef {
    fn default() -> Self {
        KeyManagerDef {
            member_can_list: true,
            member_can_create: true,
            member_can_delete: true,
        }
    }
}

/// What the S3 endpoint answers to an anonymous-ish `ListBuckets`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum S3Behaviour {
    /// 403 `InvalidAccessKeyId` (what a real S3 gateway says to an unknown key).
    #[default]
    InvalidAccessKey,
    /// 404 `NoSuchKey`.
    NoSuchKey,
    /// 403 `AccessDenied`.
    AccessDenied,
    /// 403 `SignatureDoesNotMatch`.
    SignatureMismatch,
    /// 200 with an empty bucket list.
    ListBuckets,
    /// Plain 404: no S3 API at all.
    Absent,
}

/// S3 behaviour.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Def {
    /// The answer.
    pub behaviour: S3Behaviour,
}

/// Cinder behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockStorageDef {
    /// Whether backups work (else they end in status `error`).
    pub backups_work: bool,
}

impl Default for BlockStorageDef {
    fn default() -> Self {
        BlockStorageDef { backups_work: true }
    }
}

/// Kinds of injected faults.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Answer normally after `delay_ms`.
    Latency,
    /// Answer with `status` (default 500) and an error body in the service's style.
    Status,
    /// 429 with `Retry-After` (`retry_after`, default 0).
    RateLimit,
    /// Never answer (until the client gives up).
    Timeout,
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 200 with the right body but `Content-Type: text/html`.
    WrongContentType,
    /// Accept the request, then close the connection without an answer.
    Reset,
    /// The real answer cut in the middle (a complete HTTP answer whose JSON ends early).
    TruncatedJson,
    /// An HTML error page (as a proxy sends) with `status` (default 200).
    Html,
    /// 200 with a JSON-labelled body that never ends (or ends after `bytes`).
    HugeBody,
    /// A listing whose `next` link points at the same page again.
    LoopingNext,
    /// A listing where every page has a new `next` link (a new marker) and more items, forever.
    EndlessNext,
    /// The token of the request is revoked and the request gets 401, as when a token expires;
    /// a new token works.
    TokenExpiry,
}

/// One injected fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultDef {
    /// Service type (`compute`, `image`, `block-storage`, `network`, `key-manager`,
    /// `identity`, `s3`, or `*`).
    pub service: String,
    /// HTTP method (default any).
    #[serde(default)]
    pub method: Option<String>,
    /// Prefix of the API path below the version (e.g. `/flavors/detail`); default any.
    #[serde(default)]
    pub path: Option<String>,
    /// What happens.
    pub kind: FaultKind,
    /// Status for `status`.
    #[serde(default)]
    pub status: Option<u16>,
    /// Delay for `latency` (and before any other kind).
    #[serde(default)]
    pub delay_ms: u64,
    /// Only the first N matching requests (after `skip`) are affected; default all.
    #[serde(default)]
    pub times: Option<u64>,
    /// Matching requests let through before the fault starts.
    #[serde(default)]
    pub skip: u64,
    /// `Retry-After` header (seconds or an HTTP date) for `rate-limit` (default `0`) and
    /// `status` (default none).
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Body size for `huge-body`; default endless.
    #[serde(default)]
    pub bytes: Option<u64>,
}

/// Timings of created resources. All durations are in simulated seconds; `time_scale` says
/// how many real seconds one simulated second takes (0.01: a hundred times faster), and the
/// probes wait at the same pace when they run against the simulator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingDef {
    /// Real seconds per simulated second (default 1).
    pub time_scale: f64,
    /// Seconds until a new server is ACTIVE.
    pub server_active_after: f64,
    /// Seconds after ACTIVE until cloud-init has printed its results (before that the console
    /// shows only the lines before the first `_scs-test-` marker).
    pub console_after: f64,
    /// Seconds a deleted server stays visible (task state `deleting`), keeping its port and
    /// boot volume.
    pub server_delete_after: f64,
    /// Final server status (`ACTIVE` or `ERROR`).
    pub server_final_status: String,
    /// Seconds until a new volume is available.
    pub volume_available_after: f64,
    /// Seconds until a new backup is available.
    pub backup_available_after: f64,
    /// Console output of every server once ACTIVE.
    pub console_output: String,
}

impl Default for TimingDef {
    fn default() -> Self {
        TimingDef {
            time_scale: 1.0,
            console_after: 0.0,
            server_delete_after: 0.0,
            server_active_after: 0.2,
            server_final_status: "ACTIVE".into(),
            volume_available_after: 0.2,
            backup_available_after: 0.2,
            console_output: String::new(),
        }
    }
}

/// Resources present before the run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourcesDef {
    /// Volumes: objects with at least `name` (may be null) and `size`.
    pub volumes: Vec<Value>,
    /// Backups: objects with at least `name`.
    pub backups: Vec<Value>,
    /// Secrets: objects with at least `name`.
    pub secrets: Vec<Value>,
}

/// Bulk content for performance work.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateDef {
    /// Extra flavors (valid SCS names with matching extra specs).
    pub flavors: usize,
    /// Extra images (complete, valid metadata).
    pub images: usize,
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

    fn validate(&self, origin: &str) -> Result<(), FixtureError> {
        let err = |key: String, message: String| FixtureError::Invalid {
            path: origin.into(),
            key,
            message,
        };
        let mut seen = std::collections::HashSet::new();
        for (i, fl) in self.flavors.iter().enumerate() {
            if fl.name.is_empty() {
                return Err(err(
                    format!("flavors[{i}].name"),
                    "must not be empty".into(),
                ));
            }
            if !seen.insert(fl.id.clone().unwrap_or_else(|| fl.name.clone())) {
                return Err(err(
                    format!("flavors[{i}]"),
                    format!("duplicate flavor \"{}\" (give an explicit id)", fl.name),
                ));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            const SERVICES: &[&str] = &[
                "*",
                "identity",
                "compute",
                "image",
                "block-storage",
                "network",
                "key-manager",
                "s3",
                "placement",
                "load-balancer",
                "object-store",
            ];
            if !SERVICES.contains(&f.service.as_str()) {
                return Err(err(
                    format!("faults[{i}].service"),
                    format!(
                        "unknown service \"{}\" (one of {})",
                        f.service,
                        SERVICES.join(", ")
                    ),
                ));
            }
            if let Some(s) = f.status
                && !(100..=599).contains(&s)
            {
                return Err(err(
                    format!("faults[{i}].status"),
                    format!("{s} is not an HTTP status"),
                ));
            }
        }
        if let Some(ttl) = self.user.token_ttl_s
            && !(ttl.is_finite() && ttl > 0.0)
        {
            return Err(err(
                "user.token_ttl_s".into(),
                "must be a positive number".into(),
            ));
        }
        if !(self.timing.time_scale.is_finite() && self.timing.time_scale > 0.0) {
            return Err(err(
                "timing.time_scale".into(),
                "must be a positive number".into(),
            ));
        }
        if !["ACTIVE", "ERROR"].contains(&self.timing.server_final_status.as_str()) {
            return Err(err(
                "timing.server_final_status".into(),
                "must be ACTIVE or ERROR".into(),
            ));
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<String, FixtureError> {
    std::fs::read_to_string(path).map_err(|e| FixtureError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T, FixtureError> {
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        FixtureError::Parse {
            path: origin.into(),
            line,
            column,
            message: e
                .without_snippet()
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid YAML")
                .to_string(),
        }
    })
}

/// Loads `base:` chains and merges the overlay onto its base.
fn resolve_base(
    mut overlay: Value,
    origin: &str,
    dir: Option<&Path>,
    depth: u32,
) -> Result<Value, FixtureError> {
    let Some(base) = overlay.as_object_mut().and_then(|o| o.remove("base")) else {
        return Ok(overlay);
    };
    let Some(base_name) = base.as_str() else {
        return Err(FixtureError::Invalid {
            path: origin.into(),
            key: "base".into(),
            message: "expected a file name".into(),
        });
    };
    if depth > 8 {
        return Err(FixtureError::Invalid {
            path: origin.into(),
            key: "base".into(),
            message: "base fixtures nest too deeply (a cycle?)".into(),
        });
    }
    let path = dir
        .map(|d| d.join(base_name))
        .unwrap_or_else(|| base_name.into());
    let text = read(&path)?;
    let base_origin = path.display().to_string();
    let base_value: Value = parse_yaml(&text, &base_origin)?;
    let mut merged = resolve_base(base_value, &base_origin, path.parent(), depth + 1)?;
    merge(&mut merged, overlay);
    Ok(merged)
}

/// Deep merge: mappings merge key by key (`null` deletes a key); the lists `flavors`, `images`
/// and `volume_types` merge item by `name` (an item with `remove: true` deletes it); all other
/// values replace.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(&k);
                    continue;
                }
                let by_name = matches!(k.as_str(), "flavors" | "images" | "volume_types");
                match b.get_mut(&k) {
                    Some(Value::Array(list)) if by_name => {
                        if let Value::Array(items) = v {
                            for item in items {
                                let name = item.get("name").cloned();
                                let remove = item.get("remove") == Some(&Value::Bool(true));
                                let pos = list
                                    .iter()
                                    .position(|x| name.is_some() && x.get("name") == name.as_ref());
                                match (pos, remove) {
                                    (Some(i), true) => {
                                        list.remove(i);
                                    }
                                    (None, true) => {}
                                    (Some(i), false) => merge(&mut list[i], item),
                                    (None, false) => list.push(item),
                                }
                            }
                        }
                    }
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Resolves relative dates in fixture strings: `@now`, `@now-30d`, `@now+2h` (RFC 3339, `Z`)
/// and `@today`, `@today-30d` (`YYYY-MM-DD`). Other strings are returned unchanged.
pub fn resolve_date(s: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let (base, rest, date_only) = if let Some(r) = s.strip_prefix("@today") {
        (now, r, true)
    } else if let Some(r) = s.strip_prefix("@now") {
        (now, r, false)
    } else {
        return s.to_string();
    };
    let offset = if rest.is_empty() {
        Some(chrono::Duration::zero())
    } else {
        let (sign, num) = match rest.as_bytes()[0] {
            b'+' => (1i64, &rest[1..]),
            b'-' => (-1i64, &rest[1..]),
            _ => return s.to_string(),
        };
        let (n, unit) = num.split_at(num.len().saturating_sub(1));
        let n: i64 = match n.parse() {
            Ok(n) => n,
            Err(_) => return s.to_string(),
        };
        match unit {
            "d" => Some(chrono::Duration::days(sign * n)),
            "h" => Some(chrono::Duration::hours(sign * n)),
            "m" => Some(chrono::Duration::minutes(sign * n)),
            _ => None,
        }
    };
    let Some(offset) = offset else {
        return s.to_string();
    };
    let t = base + offset;
    if date_only {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
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

    #[test]
    fn relative_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(resolve_date("@today-9d", now), "2026-03-01");
        assert_eq!(resolve_date("@now+1h", now), "2026-03-10T13:00:00Z");
        assert_eq!(resolve_date("2020-01-01", now), "2020-01-01");
        assert_eq!(resolve_date("@nowhere", now), "@nowhere");
    }
}
