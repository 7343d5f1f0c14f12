//! Cloud configuration the way OpenStack users already have it: `clouds.yaml` and `secure.yaml`
//! discovered like openstacksdk does, cloud selection by name or `OS_CLOUD`, and a cloud defined
//! only by `OS_*` environment variables. Secrets are wrapped in [`Secret`] so they never print.

use super::secret::Secret;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name given to a cloud defined only by `OS_*` environment variables (as in openstacksdk).
pub const ENVVARS_CLOUD: &str = "envvars";

/// How a cloud authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `password` / `v3password`.
    Password,
    /// `v3applicationcredential`.
    ApplicationCredential,
    /// `token` / `v3token`: an existing token.
    Token,
}

impl AuthType {
    /// The canonical clouds.yaml spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthType::Password => "password",
            AuthType::ApplicationCredential => "v3applicationcredential",
            AuthType::Token => "token",
        }
    }
}

/// The `auth:` section of a cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// Keystone URL (with or without `/v3`).
    pub auth_url: String,
    /// User name (password auth, application credential by name).
    pub username: Option<String>,
    /// User id.
    pub user_id: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// Domain of the user, by name.
    pub user_domain_name: Option<String>,
    /// Domain of the user, by id.
    pub user_domain_id: Option<String>,
    /// Project scope by name.
    pub project_name: Option<String>,
    /// Project scope by id.
    pub project_id: Option<String>,
    /// Domain of the project, by name.
    pub project_domain_name: Option<String>,
    /// Domain of the project, by id.
    pub project_domain_id: Option<String>,
    /// Domain scope by name (when no project is given).
    pub domain_name: Option<String>,
    /// Domain scope by id (when no project is given).
    pub domain_id: Option<String>,
    /// Application credential id.
    pub application_credential_id: Option<String>,
    /// Application credential name (needs a user).
    pub application_credential_name: Option<String>,
    /// Application credential secret.
    pub application_credential_secret: Option<Secret>,
    /// Existing token (token auth).
    pub token: Option<Secret>,
}

/// Where a configuration came from, for error messages and `-v` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A clouds.yaml file, possibly merged with a secure.yaml.
    File {
        /// The clouds.yaml.
        clouds: PathBuf,
        /// The secure.yaml merged into it, if any.
        secure: Option<PathBuf>,
    },
    /// `OS_*` environment variables.
    Environment,
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::File { clouds, .. } => write!(f, "{}", clouds.display()),
            ConfigSource::Environment => f.write_str("OS_* environment variables"),
        }
    }
}

/// One fully resolved cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudConfig {
    /// Cloud name (`envvars` for an environment-only cloud).
    pub name: String,
    /// Where it came from.
    pub source: ConfigSource,
    /// Authentication method.
    pub auth_type: AuthType,
    /// Credentials and scope.
    pub auth: AuthConfig,
    /// Region to pick endpoints from.
    pub region_name: Option<String>,
    /// Endpoint interface: `public` (default), `internal` or `admin`.
    pub interface: String,
    /// Verify TLS certificates (`verify: false` or `insecure: true` turn this off).
    pub verify: bool,
    /// CA bundle file.
    pub cacert: Option<PathBuf>,
    /// Client certificate file.
    pub cert: Option<PathBuf>,
    /// Client key file.
    pub key: Option<PathBuf>,
    /// Per-request timeout (`api_timeout`).
    pub api_timeout: Option<Duration>,
}

impl CloudConfig {
    /// A password cloud for tests and the simulator.
    pub fn password(
        name: &str,
        auth_url: &str,
        username: &str,
        password: &str,
        project_name: &str,
        domain: &str,
    ) -> Self {
        CloudConfig {
            name: name.to_string(),
            source: ConfigSource::Environment,
            auth_type: AuthType::Password,
            auth: AuthConfig {
                auth_url: auth_url.to_string(),
                username: Some(username.to_string()),
                password: Some(Secret::new(password)),
                user_domain_name: Some(domain.to_string()),
                project_name: Some(project_name.to_string()),
                project_domain_name: Some(domain.to_string()),
                ..AuthConfig::default()
            },
            region_name: None,
            interface: "public".to_string(),
            verify: true,
            cacert: None,
            cert: None,
            key: None,
            api_timeout: None,
        }
    }
}

/// A configuration problem, always one line naming the file (or variable) and key.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// No cloud selected and none defined by the environment.
    #[error("no OpenStack cloud configured: {hint}")]
    NoCloud {
        /// What was searched and what to do.
        hint: String,
    },
    /// A cloud name was given but no clouds.yaml exists.
    #[error(
        "cloud \"{name}\" requested, but no clouds.yaml found (searched {searched}); \
         set OS_CLIENT_CONFIG_FILE to the file to use"
    )]
    NoFile {
        /// Requested cloud.
        name: String,
        /// Paths searched, comma-separated.
        searched: String,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {message}")]
    Read {
        /// File.
        path: String,
        /// OS error.
        message: String,
    },
    /// A file is not valid YAML or has the wrong shape.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// File.
        path: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// Parser message (never a snippet of the file).
        message: String,
    },
    /// The requested cloud is not in the file.
    #[error("{path}: no cloud named \"{name}\" under clouds (defined: {available})")]
    UnknownCloud {
        /// File.
        path: String,
        /// Requested cloud.
        name: String,
        /// Defined clouds, comma-separated.
        available: String,
    },
    /// A required key is missing.
    #[error("{path}: clouds.{cloud}.{key} is missing{why}")]
    Missing {
        /// File or `OS_* environment`.
        path: String,
        /// Cloud.
        cloud: String,
        /// Dotted key.
        key: String,
        /// Extra explanation, starting with ": " when present.
        why: String,
    },
    /// A key has an unusable value.
    #[error("{path}: clouds.{cloud}.{key}: {message}")]
    Invalid {
        /// File or `OS_* environment`.
        path: String,
        /// Cloud.
        cloud: String,
        /// Dotted key.
        key: String,
        /// What is wrong (never the value of a secret key).
        message: String,
    },
}

/// The environment configuration is read from: variables, working directory and home.
/// [`ConfigEnv::from_process`] reads the real process; tests build their own.
#[derive(Debug, Clone, Default)]
pub struct ConfigEnv {
    /// Environment variables.
    pub vars: BTreeMap<String, String>,
    /// Working directory (searched first).
    pub cwd: Option<PathBuf>,
    /// Home directory (`~/.config/openstack`).
    pub home: Option<PathBuf>,
    /// System directory, normally `/etc/openstack`.
    pub system_dir: Option<PathBuf>,
}

impl ConfigEnv {
    /// The running process's environment.
    pub fn from_process() -> Self {
        ConfigEnv {
            vars: std::env::vars().collect(),
            cwd: std::env::current_dir().ok(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            system_dir: Some(PathBuf::from("/etc/openstack")),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn search_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![];
        if let Some(cwd) = &self.cwd {
            dirs.push(cwd.clone());
        }
        if let Some(home) = &self.home {
            dirs.push(home.join(".config").join("openstack"));
        }
        if let Some(sys) = &self.system_dir {
            dirs.push(sys.clone());
        }
        dirs
    }

    /// Candidate files for `base` (`clouds` or `secure`), in search order; `env_var` names a
    /// file that goes first.
    fn candidates(&self, base: &str, env_var: &str) -> Vec<PathBuf> {
        let mut files = vec![];
        if let Some(f) = self.var(env_var) {
            files.push(PathBuf::from(f));
        }
        for dir in self.search_dirs() {
            for ext in ["yaml", "yml", "json"] {
                files.push(dir.join(format!("{base}.{ext}")));
            }
        }
        files
    }
}

/// Loads the cloud named `name` (or `OS_CLOUD`, or the `OS_*` environment) from the running
/// process's environment and the usual clouds.yaml locations.
pub fn load_cloud(name: Option<&str>) -> Result<CloudConfig, ConfigError> {
    load_cloud_with(name, &ConfigEnv::from_process())
}

/// [`load_cloud`] against an explicit environment.
pub fn load_cloud_with(name: Option<&str>, env: &ConfigEnv) -> Result<CloudConfig, ConfigError> {
    let requested = name
        .map(str::to_string)
        .or_else(|| env.var("OS_CLOUD").map(str::to_string));
    let clouds_file = env.candidates("clouds", "OS_CLIENT_CONFIG_FILE");
    let found = clouds_file.iter().find(|p| p.is_file()).cloned();
    let searched = || {
        clouds_file
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(name) = requested else {
        if env.var("OS_AUTH_URL").is_some() {
            return from_env(env);
        }
        return Err(ConfigError::NoCloud {
            hint: no_cloud_hint(found.as_deref()),
        });
    };
    if name == ENVVARS_CLOUD && env.var("OS_AUTH_URL").is_some() {
        return from_env(env);
    }
    let Some(path) = found else {
        return Err(ConfigError::NoFile {
            name,
            searched: searched(),
        });
    };
    let doc = read_yaml(&path)?;
    let clouds = doc.get("clouds").and_then(Value::as_object);
    let Some(cloud) = clouds.and_then(|c| c.get(&name)) else {
        let available = clouds
            .map(|c| c.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        return Err(ConfigError::UnknownCloud {
            path: path.display().to_string(),
            name,
            available: if available.is_empty() {
                "none".into()
            } else {
                available
            },
        });
    };
    let mut cloud = cloud.clone();
    // secure.yaml is merged on top.
    let secure_path = env
        .candidates("secure", "OS_CLIENT_SECURE_FILE")
        .into_iter()
        .find(|p| p.is_file());
    let mut secure_used = None;
    if let Some(sp) = &secure_path {
        let secure = read_yaml(sp)?;
        if let Some(sc) = secure
            .get("clouds")
            .and_then(Value::as_object)
            .and_then(|c| c.get(&name))
        {
            merge(&mut cloud, sc);
            secure_used = Some(sp.clone());
        }
    }
    let source = ConfigSource::File {
        clouds: path.clone(),
        secure: secure_used,
    };
    from_value(&name, &cloud, source, &path.display().to_string())
}

/// The host (and port) of a URL, for messages; the whole text if it is no URL.
pub fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    // never show user:password@
    authority
        .rsplit('@')
        .next()
        .unwrap_or(authority)
        .to_string()
}

/// The help text shown when no cloud is configured: how to configure one and how to try the
/// built-in simulated cloud.
pub fn no_cloud_help() -> String {
    [
        "No OpenStack cloud is configured. Either:",
        "  - put a clouds.yaml in ./, ~/.config/openstack/ or /etc/openstack/ (or point",
        "    OS_CLIENT_CONFIG_FILE at one) and select the cloud with --os-cloud NAME,",
        "    -a os_cloud=NAME or OS_CLOUD=NAME;",
        "  - or export OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME,",
        "    OS_USER_DOMAIN_NAME and OS_PROJECT_DOMAIN_NAME (e.g. by sourcing an openrc file).",
        "To try scs-check without a cloud, run against the built-in simulated cloud:",
        "  scs-check run iaas --simulate compliant      (built in; or a fixture file)",
    ]
    .join("\n")
}

fn no_cloud_hint(found: Option<&Path>) -> String {
    match found {
        Some(p) => format!(
            "{} exists but no cloud was selected; use --os-cloud NAME or OS_CLOUD",
            p.display()
        ),
        None => "no clouds.yaml found (set OS_CLIENT_CONFIG_FILE to use one elsewhere) and \
                 OS_AUTH_URL is not set; run `scs-check run iaas` without a cloud for help, or \
                 try --simulate fixtures/clouds/compliant.yaml"
            .into(),
    }
}

fn read_yaml(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let value: Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            line: e.line() as u64,
            column: e.column() as u64,
            message: "invalid JSON".into(),
        })?
    } else {
        serde_saphyr::from_str(&text).map_err(|e| yaml_error(path, &e))?
    };
    if !value.is_object() && !value.is_null() {
        return Err(ConfigError::Parse {
            path: path.display().to_string(),
            line: 1,
            column: 1,
            message: "expected a mapping with key `clouds`".into(),
        });
    }
    Ok(value)
}

/// A YAML error as one line, with location but without the file snippet (which could show a
/// password).
pub(crate) fn yaml_error(path: &Path, e: &serde_saphyr::Error) -> ConfigError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let inner = e.without_snippet().to_string();
    let message = inner.lines().next().unwrap_or("invalid YAML").to_string();
    ConfigError::Parse {
        path: path.display().to_string(),
        line,
        column,
        message,
    }
}

/// Deep merge of `over` into `base` (mappings merge, everything else replaces).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

const SECRET_KEYS: &[&str] = &["password", "application_credential_secret", "token"];

fn scalar(
    map: &Map<String, Value>,
    key: &str,
    ctx: (&str, &str, &str),
) -> Result<Option<String>, ConfigError> {
    let (path, cloud, prefix) = ctx;
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(ConfigError::Invalid {
            path: path.into(),
            cloud: cloud.into(),
            key: format!("{prefix}{key}"),
            message: if SECRET_KEYS.contains(&key) {
                "expected a string".into()
            } else {
                "expected a string, found a list or mapping".into()
            },
        }),
    }
}

fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Some(true),
            "false" | "no" | "0" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Builds a [`CloudConfig`] from one `clouds.NAME` mapping.
fn from_value(
    name: &str,
    cloud: &Value,
    source: ConfigSource,
    path: &str,
) -> Result<CloudConfig, ConfigError> {
    let empty = Map::new();
    let Some(top) = cloud.as_object() else {
        return Err(ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "".into(),
            message: "expected a mapping".into(),
        });
    };
    let auth_map = match top.get("auth") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ConfigError::Invalid {
                path: path.into(),
                cloud: name.into(),
                key: "auth".into(),
                message: "expected a mapping".into(),
            });
        }
    };
    let a = |key: &str| scalar(auth_map, key, (path, name, "auth."));
    let t = |key: &str| scalar(top, key, (path, name, ""));
    let default_domain_id = a("default_domain_id")?;
    let default_domain_name = a("default_domain_name")?;
    let auth = AuthConfig {
        auth_url: a("auth_url")?.unwrap_or_default(),
        username: a("username")?,
        user_id: a("user_id")?,
        password: a("password")?.map(Secret::new),
        user_domain_name: a("user_domain_name")?.or(default_domain_name.clone()),
        user_domain_id: a("user_domain_id")?.or(default_domain_id.clone()),
        project_name: a("project_name")?.or(a("tenant_name")?),
        project_id: a("project_id")?.or(a("tenant_id")?),
        project_domain_name: a("project_domain_name")?.or(default_domain_name),
        project_domain_id: a("project_domain_id")?.or(default_domain_id),
        domain_name: a("domain_name")?,
        domain_id: a("domain_id")?,
        application_credential_id: a("application_credential_id")?,
        application_credential_name: a("application_credential_name")?,
        application_credential_secret: a("application_credential_secret")?.map(Secret::new),
        token: a("token")?.map(Secret::new),
    };
    let missing = |key: &str, why: &str| ConfigError::Missing {
        path: path.into(),
        cloud: name.into(),
        key: key.into(),
        why: if why.is_empty() {
            String::new()
        } else {
            format!(": {why}")
        },
    };
    let auth_type = match t("auth_type")?.as_deref() {
        None | Some("password") | Some("v3password") => AuthType::Password,
        Some("v3applicationcredential") | Some("applicationcredential") => {
            AuthType::ApplicationCredential
        }
        Some("token") | Some("v3token") => AuthType::Token,
        Some(other) => {
            return Err(ConfigError::Invalid {
                path: path.into(),
                cloud: name.into(),
                key: "auth_type".into(),
                message: format!(
                    "unsupported auth type \"{other}\" (supported: password, v3password, \
                     v3applicationcredential, token)"
                ),
            });
        }
    };
    if auth.auth_url.is_empty() {
        return Err(missing("auth.auth_url", "the Keystone URL is required"));
    }
    if !auth.auth_url.starts_with("http://") && !auth.auth_url.starts_with("https://") {
        return Err(ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "auth.auth_url".into(),
            message: format!("\"{}\" is not an http(s) URL", auth.auth_url),
        });
    }
    match auth_type {
        AuthType::Password => {
            if auth.username.is_none() && auth.user_id.is_none() {
                return Err(missing("auth.username", "password auth needs a user"));
            }
            if auth.password.is_none() {
                return Err(missing("auth.password", "password auth needs a password"));
            }
            if auth.user_id.is_none()
                && auth.user_domain_name.is_none()
                && auth.user_domain_id.is_none()
            {
                return Err(missing(
                    "auth.user_domain_name",
                    "a user given by name needs its domain (or user_domain_id)",
                ));
            }
        }
        AuthType::ApplicationCredential => {
            if auth.application_credential_secret.is_none() {
                return Err(missing("auth.application_credential_secret", ""));
            }
            if auth.application_credential_id.is_none() {
                if auth.application_credential_name.is_none() {
                    return Err(missing(
                        "auth.application_credential_id",
                        "or application_credential_name with username",
                    ));
                }
                if auth.username.is_none() && auth.user_id.is_none() {
                    return Err(missing(
                        "auth.username",
                        "an application credential given by name needs its user",
                    ));
                }
            }
        }
        AuthType::Token => {
            if auth.token.is_none() {
                return Err(missing("auth.token", "token auth needs a token"));
            }
        }
    }
    if auth.project_name.is_some()
        && auth.project_id.is_none()
        && auth.project_domain_name.is_none()
        && auth.project_domain_id.is_none()
    {
        return Err(missing(
            "auth.project_domain_name",
            "a project given by name needs its domain (or project_domain_id)",
        ));
    }
    let mut verify = true;
    if let Some(v) = top.get("verify") {
        verify = boolish(v).ok_or_else(|| ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "verify".into(),
            message: "expected true or false".into(),
        })?;
    }
    if let Some(v) = top.get("insecure") {
        let insecure = boolish(v).ok_or_else(|| ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "insecure".into(),
            message: "expected true or false".into(),
        })?;
        if insecure {
            verify = false;
        }
    }
    let interface = t("interface")?
        .or(t("endpoint_type")?)
        .unwrap_or_else(|| "public".into());
    let interface = interface.trim_end_matches("URL").to_string();
    if !["public", "internal", "admin"].contains(&interface.as_str()) {
        return Err(ConfigError::Invalid {
            path: path.into(),
            cloud: name.into(),
            key: "interface".into(),
            message: format!("\"{interface}\" is not one of public, internal, admin"),
        });
    }
    let api_timeout = match t("api_timeout")? {
        None => None,
        Some(s) => Some(Duration::from_secs_f64(
            s.parse::<f64>()
                .ok()
                .filter(|v| *v > 0.0 && v.is_finite())
                .ok_or_else(|| ConfigError::Invalid {
                    path: path.into(),
                    cloud: name.into(),
                    key: "api_timeout".into(),
                    message: format!("\"{s}\" is not a positive number of seconds"),
                })?,
        )),
    };
    let file_key = |key: &str| -> Result<Option<PathBuf>, ConfigError> {
        Ok(t(key)?.map(|p| expand_home(&p)))
    };
    let cacert = file_key("cacert")?;
    let cert = file_key("cert")?;
    let key = file_key("key")?;
    for (k, p) in [("cacert", &cacert), ("cert", &cert), ("key", &key)] {
        if let Some(p) = p
            && !p.is_file()
        {
            return Err(ConfigError::Invalid {
                path: path.into(),
                cloud: name.into(),
                key: k.into(),
                message: format!("file {} does not exist", p.display()),
            });
        }
    }
    Ok(CloudConfig {
        name: name.into(),
        source,
        auth_type,
        auth,
        region_name: t("region_name")?,
        interface,
        verify,
        cacert,
        cert,
        key,
        api_timeout,
    })
}

fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    PathBuf::from(p)
}

/// A cloud from `OS_*` variables (`OS_AUTH_URL`, `OS_USERNAME`, ...).
fn from_env(env: &ConfigEnv) -> Result<CloudConfig, ConfigError> {
    let mut auth = Map::new();
    let mut top = Map::new();
    const AUTH_KEYS: &[&str] = &[
        "auth_url",
        "username",
        "user_id",
        "password",
        "user_domain_name",
        "user_domain_id",
        "project_name",
        "project_id",
        "tenant_name",
        "tenant_id",
        "project_domain_name",
        "project_domain_id",
        "domain_name",
        "domain_id",
        "default_domain_name",
        "default_domain_id",
        "application_credential_id",
        "application_credential_name",
        "application_credential_secret",
        "token",
    ];
    const TOP_KEYS: &[&str] = &[
        "auth_type",
        "region_name",
        "interface",
        "endpoint_type",
        "cacert",
        "cert",
        "key",
        "insecure",
        "verify",
        "api_timeout",
    ];
    for k in AUTH_KEYS {
        if let Some(v) = env.var(&format!("OS_{}", k.to_ascii_uppercase())) {
            auth.insert((*k).into(), Value::String(v.into()));
        }
    }
    for k in TOP_KEYS {
        if let Some(v) = env.var(&format!("OS_{}", k.to_ascii_uppercase())) {
            top.insert((*k).into(), Value::String(v.into()));
        }
    }
    top.insert("auth".into(), Value::Object(auth));
    from_value(
        ENVVARS_CLOUD,
        &Value::Object(top),
        ConfigSource::Environment,
        "OS_* environment",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts_for_messages() {
        assert_eq!(
            url_host("https://keystone.example.org:5000/v3"),
            "keystone.example.org:5000"
        );
        assert_eq!(url_host("http://u:secret@h/v3"), "h");
        assert_eq!(url_host("h"), "h");
    }

    const PASSWORD: &str = "Pa55-Recognisable-XyZZy";

    fn env_in(dir: &Path, vars: &[(&str, &str)]) -> ConfigEnv {
        ConfigEnv {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: Some(dir.to_path_buf()),
            home: Some(dir.join("home")),
            system_dir: Some(dir.join("etc")),
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    const CLOUDS: &str = "clouds:\n  mycloud:\n    auth:\n      auth_url: https://keystone.example:5000/v3\n      username: alice\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionTwo\n    verify: false\n  other:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: https://k.example\n      application_credential_id: abc\n      application_credential_secret: s3cr3t\n";

    #[test]
    fn secure_yaml_is_merged_and_password_hidden() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "clouds.yaml", CLOUDS);
        write(
            dir.path(),
            "secure.yaml",
            &format!("clouds:\n  mycloud:\n    auth:\n      password: {PASSWORD}\n"),
        );
        let c = load_cloud_with(Some("mycloud"), &env_in(dir.path(), &[])).unwrap();
        assert_eq!(c.auth.password.as_ref().unwrap().expose(), PASSWORD);
        assert_eq!(c.region_name.as_deref(), Some("RegionTwo"));
        assert!(!c.verify);
        assert!(matches!(
            c.source,
            ConfigSource::File {
                secure: Some(_),
                ..
            }
        ));
        assert!(!format!("{c:?}").contains(PASSWORD));
    }

    #[test]
    fn os_client_config_file_wins_and_os_cloud_selects() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "clouds.yaml", "clouds: {}\n");
        let f = write(dir.path(), "elsewhere/my.yaml", CLOUDS);
        let env = env_in(
            dir.path(),
            &[
                ("OS_CLIENT_CONFIG_FILE", f.to_str().unwrap()),
                ("OS_CLOUD", "other"),
            ],
        );
        let c = load_cloud_with(None, &env).unwrap();
        assert_eq!(c.name, "other");
        assert_eq!(c.auth_type, AuthType::ApplicationCredential);
    }

    #[test]
    fn home_config_dir_is_searched() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "home/.config/openstack/clouds.yaml", CLOUDS);
        write(
            dir.path(),
            "home/.config/openstack/secure.yaml",
            "clouds:\n  mycloud:\n    auth:\n      password: x\n",
        );
        let c = load_cloud_with(Some("mycloud"), &env_in(dir.path(), &[])).unwrap();
        assert_eq!(c.auth.username.as_deref(), Some("alice"));
    }

    #[test]
    fn missing_key_names_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "clouds.yaml", CLOUDS);
        let e = load_cloud_with(Some("mycloud"), &env_in(dir.path(), &[])).unwrap_err();
        let line = e.to_string();
        assert!(line.contains(&p.display().to_string()), "{line}");
        assert!(
            line.contains("clouds.mycloud.auth.password is missing"),
            "{line}"
        );
        assert_eq!(line.lines().count(), 1);
    }

    #[test]
    fn unknown_cloud_lists_defined_ones() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "clouds.yaml", CLOUDS);
        let e = load_cloud_with(Some("nope"), &env_in(dir.path(), &[])).unwrap_err();
        assert!(e.to_string().contains("mycloud, other"), "{e}");
    }

    #[test]
    fn yaml_error_has_location_and_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "clouds.yaml",
            &format!("clouds:\n  c:\n    auth:\n      password: {PASSWORD}\n     bad: [\n"),
        );
        let e = load_cloud_with(Some("c"), &env_in(dir.path(), &[])).unwrap_err();
        let line = e.to_string();
        assert!(line.starts_with(&p.display().to_string()), "{line}");
        assert!(!line.contains(PASSWORD), "{line}");
        assert!(
            matches!(e, ConfigError::Parse { line: l, .. } if l > 0),
            "{line}"
        );
    }

    #[test]
    fn env_only_cloud() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(
            dir.path(),
            &[
                ("OS_AUTH_URL", "http://127.0.0.1:5000/v3"),
                ("OS_USERNAME", "bob"),
                ("OS_PASSWORD", PASSWORD),
                ("OS_PROJECT_ID", "p1"),
                ("OS_USER_DOMAIN_ID", "default"),
                ("OS_INTERFACE", "internal"),
                ("OS_INSECURE", "true"),
            ],
        );
        let c = load_cloud_with(None, &env).unwrap();
        assert_eq!(c.name, ENVVARS_CLOUD);
        assert_eq!(c.interface, "internal");
        assert!(!c.verify);
        assert_eq!(c.auth.project_id.as_deref(), Some("p1"));
    }

    #[test]
    fn nothing_configured_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_cloud_with(None, &env_in(dir.path(), &[])).unwrap_err();
        assert!(matches!(e, ConfigError::NoCloud { .. }));
        assert!(no_cloud_help().contains("--simulate compliant"));
    }

    #[test]
    fn bad_auth_type_and_interface() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "clouds.yaml",
            "clouds:\n  c:\n    auth_type: oidc\n    auth: {auth_url: http://x}\n",
        );
        let e = load_cloud_with(Some("c"), &env_in(dir.path(), &[])).unwrap_err();
        assert!(e.to_string().contains("clouds.c.auth_type"), "{e}");
    }
}
