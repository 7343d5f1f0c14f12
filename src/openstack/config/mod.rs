//! Cloud configuration the way OpenStack users already have it: `clouds.yaml` and `secure.yaml`
//! discovered like openstacksdk does, cloud selection by name or `OS_CLOUD`, and a cloud defined
//! only by `OS_*` environment variables. Secrets are wrapped in [`Secret`] so they never print.
//!
//! This module holds the configuration types and the selection of a cloud ([`load_cloud`]);
//! `files` finds and reads `clouds.yaml`/`secure.yaml` ([`ConfigEnv`]) and merges them, `cloud`
//! validates one cloud's mapping into a [`CloudConfig`], `env` builds one from `OS_*` variables.

use super::secret::Secret;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod cloud;
mod env;
mod files;

pub use files::ConfigEnv;

use cloud::from_value;
use env::from_env;
use files::{merge, read_yaml};

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
