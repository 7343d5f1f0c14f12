//! Finding and reading the configuration files: where `clouds.yaml` and `secure.yaml` are looked
//! for (the environment, [`ConfigEnv`]), reading them as YAML or JSON with errors that name file,
//! line and column but never show the file's text (it could hold a password), and the deep merge
//! of `secure.yaml` over `clouds.yaml`.

use super::ConfigError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

    pub(super) fn var(&self, name: &str) -> Option<&str> {
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
    pub(super) fn candidates(&self, base: &str, env_var: &str) -> Vec<PathBuf> {
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

pub(super) fn read_yaml(path: &Path) -> Result<Value, ConfigError> {
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
pub(super) fn merge(base: &mut Value, over: &Value) {
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
