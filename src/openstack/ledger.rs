//! The resource ledger: a JSON-lines file that records every resource scs-check is about to
//! create, before the create call is sent, and what became of it (id, deleted). An interrupted
//! run leaves a ledger from which `scs-check cleanup` finds its leftovers.
//!
//! Each line is the full state of one entry (`run` + `seq` identify it); the last line of an
//! entry wins. Every write is flushed and synced to disk before it returns. The default file is
//! `$XDG_STATE_HOME/scs-check/ledger-<cloud>.jsonl` (or `~/.local/state/...`).

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A ledger could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file could not be opened, written or synced.
    #[error("ledger {path}: {message}")]
    Io {
        /// The ledger file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// A line is not a ledger entry.
    #[error("ledger {path}:{line}:1: not a ledger entry: {message}")]
    Parse {
        /// The ledger file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The kinds of resources scs-check creates, in the order they are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// A Nova server (its boot volume goes with it).
    Server,
    /// A Barbican secret.
    Secret,
    /// A Neutron security group.
    SecurityGroup,
    /// A Cinder backup.
    Backup,
    /// A Cinder volume.
    Volume,
    /// A router's interface on a subnet (`parent` is the router id, `id` the subnet id).
    RouterInterface,
    /// A Neutron router.
    Router,
    /// A Neutron subnet.
    Subnet,
    /// A Neutron network.
    Network,
    /// A Keystone group.
    Group,
    /// A Keystone project.
    Project,
    /// A Keystone user.
    User,
    /// A Keystone role.
    Role,
}

impl ResourceKind {
    /// Every kind, in deletion order.
    pub const ALL: [ResourceKind; 13] = [
        ResourceKind::Server,
        ResourceKind::Secret,
        ResourceKind::SecurityGroup,
        ResourceKind::Backup,
        ResourceKind::Volume,
        ResourceKind::RouterInterface,
        ResourceKind::Router,
        ResourceKind::Subnet,
        ResourceKind::Network,
        ResourceKind::Group,
        ResourceKind::Project,
        ResourceKind::User,
        ResourceKind::Role,
    ];

    /// A Keystone object (scs-0302): cleaned up through the ledger and by the probe's own
    /// sessions, never by the prefix sweep (a project member may not list them, and the
    /// names of other domains' objects are none of our business).
    pub fn is_identity(self) -> bool {
        matches!(
            self,
            ResourceKind::Group | ResourceKind::Project | ResourceKind::User | ResourceKind::Role
        )
    }

    /// The kind in words, e.g. `security group`.
    pub fn label(self) -> &'static str {
        match self {
            ResourceKind::Server => "server",
            ResourceKind::Secret => "secret",
            ResourceKind::SecurityGroup => "security group",
            ResourceKind::Backup => "backup",
            ResourceKind::Volume => "volume",
            ResourceKind::RouterInterface => "router interface",
            ResourceKind::Router => "router",
            ResourceKind::Subnet => "subnet",
            ResourceKind::Network => "network",
            ResourceKind::Group => "group",
            ResourceKind::Project => "project",
            ResourceKind::User => "user",
            ResourceKind::Role => "role",
        }
    }
}

/// What became of a ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// The create call is about to be sent (or was sent, and its answer never arrived).
    Intent,
    /// The cloud created it (the id is known).
    Created,
    /// The create call failed: nothing exists.
    NotCreated,
    /// It was deleted (or found gone).
    Deleted,
}

/// One resource scs-check created or meant to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The run that created it.
    pub run: String,
    /// Sequence number within the run.
    pub seq: u64,
    /// The kind.
    pub kind: ResourceKind,
    /// Its name (always starting with the run's prefix; for router interfaces, the router's).
    pub name: String,
    /// The prefix the name was made with.
    pub prefix: String,
    /// The cloud's id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For router interfaces: the router id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// What became of it.
    pub state: EntryState,
    /// When this state was written (RFC 3339).
    pub at: String,
    /// The last error deleting it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Entry {
    /// Whether the resource may still exist in the cloud.
    pub fn may_exist(&self) -> bool {
        matches!(self.state, EntryState::Intent | EntryState::Created)
    }

    /// `network "_scs-0101-net-1a2b3c4d" (id ...)`.
    pub fn describe(&self) -> String {
        match &self.id {
            Some(id) => format!("{} \"{}\" ({id})", self.kind.label(), self.name),
            None => format!("{} \"{}\" (id unknown)", self.kind.label(), self.name),
        }
    }
}

/// An append-only ledger file, or an in-memory one (for tests and runs that create nothing).
#[derive(Debug)]
pub struct Ledger {
    path: Option<PathBuf>,
    file: Mutex<Option<File>>,
    memory: Mutex<Vec<Entry>>,
}

impl Ledger {
    /// The default ledger path for a cloud: `$XDG_STATE_HOME/scs-check/ledger-<cloud>.jsonl`,
    /// else `~/.local/state/scs-check/...`, else the temp dir.
    pub fn default_path(cloud: &str) -> PathBuf {
        let safe: String = cloud
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let base = env("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("scs-check").join(format!("ledger-{safe}.jsonl"))
    }

    /// Opens (creating it and its folder if needed) a ledger file for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<Ledger, LedgerError> {
        let path = path.as_ref().to_path_buf();
        let io = |e: std::io::Error| LedgerError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(Ledger {
            path: Some(path),
            file: Mutex::new(Some(file)),
            memory: Mutex::new(vec![]),
        })
    }

    /// A ledger that keeps entries in memory only.
    pub fn in_memory() -> Ledger {
        Ledger {
            path: None,
            file: Mutex::new(None),
            memory: Mutex::new(vec![]),
        }
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes one entry state (append, flush, fsync) before returning.
    pub fn write(&self, entry: &Entry) -> Result<(), LedgerError> {
        if let Ok(mut mem) = self.memory.lock() {
            mem.push(entry.clone());
        }
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |e: std::io::Error| LedgerError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut line = serde_json::to_string(entry).map_err(|e| LedgerError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        line.push('\n');
        let mut guard = self.file.lock().map_err(|_| LedgerError::Io {
            path: path.display().to_string(),
            message: "ledger lock poisoned".into(),
        })?;
        if let Some(file) = guard.as_mut() {
            file.write_all(line.as_bytes()).map_err(io)?;
            file.flush().map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(())
    }

    /// The current state of every entry this ledger object wrote, in creation order.
    pub fn written(&self) -> Vec<Entry> {
        fold(self.memory.lock().map(|m| m.clone()).unwrap_or_default())
    }

    /// The current state of every entry in the file (all runs), in creation order. A missing
    /// file is an empty ledger.
    pub fn read(path: impl AsRef<Path>) -> Result<Vec<Entry>, LedgerError> {
        let path = path.as_ref();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => {
                return Err(LedgerError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        let mut lines = vec![];
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| LedgerError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(&line) {
                Ok(e) => lines.push(e),
                // A torn last line (the process died mid-write) is skipped; others are errors.
                Err(_) if !line.ends_with('}') => continue,
                Err(e) => {
                    return Err(LedgerError::Parse {
                        path: path.display().to_string(),
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(fold(lines))
    }
}

/// Last state per (run, seq), in order of first appearance.
fn fold(lines: Vec<Entry>) -> Vec<Entry> {
    let mut by_key: indexmap::IndexMap<(String, u64), Entry> = indexmap::IndexMap::new();
    for e in lines {
        by_key.insert((e.run.clone(), e.seq), e);
    }
    by_key.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, state: EntryState) -> Entry {
        Entry {
            run: "r1".into(),
            seq,
            kind: ResourceKind::Network,
            name: format!("_scs-net-{seq}"),
            prefix: "_scs-".into(),
            id: (state != EntryState::Intent).then(|| format!("id{seq}")),
            parent: None,
            state,
            at: "2026-01-01T00:00:00Z".into(),
            error: None,
        }
    }

    #[test]
    fn file_round_trip_last_state_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ledger.jsonl");
        let ledger = Ledger::open(&path).unwrap();
        ledger.write(&entry(1, EntryState::Intent)).unwrap();
        ledger.write(&entry(2, EntryState::Intent)).unwrap();
        ledger.write(&entry(1, EntryState::Created)).unwrap();
        ledger.write(&entry(2, EntryState::Deleted)).unwrap();
        let read = Ledger::read(&path).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].state, EntryState::Created);
        assert!(read[0].may_exist());
        assert!(!read[1].may_exist());
        assert_eq!(ledger.written(), read);
        // Torn trailing line is ignored; a broken line in the middle is located.
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap() + "{\"run\":\"r",
        )
        .unwrap();
        assert_eq!(Ledger::read(&path).unwrap().len(), 2);
        std::fs::write(&path, "{}\n").unwrap();
        let err = Ledger::read(&path).unwrap_err().to_string();
        assert!(err.contains("ledger.jsonl:1:1"), "{err}");
        assert!(Ledger::read(dir.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn default_path_is_per_cloud_and_safe() {
        let p = Ledger::default_path("my cloud/x");
        assert!(p.ends_with("scs-check/ledger-my_cloud_x.jsonl"), "{p:?}");
    }
}
