//! The [`sweep`] behind `scs-check cleanup` and the run's last cleanup: first what the ledger
//! says may still exist, then every resource of the token's project whose name has the prefix,
//! all under one time limit.

use super::janitor::{Janitor, Target};
use super::lookup::{id_of, list_kind, name_of};
use super::{Disposal, Disposed, Pace};
use crate::openstack::ledger::{Entry, Ledger, ResourceKind};
use crate::openstack::{Client, OpenStackError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The shortest prefix a prefix sweep accepts: shorter ones match too much of a project.
pub const MIN_PREFIX_LEN: usize = 4;

/// Options of [`sweep`].
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Only names starting with this are touched (empty: the ledger entries only; otherwise
    /// at least [`MIN_PREFIX_LEN`] characters, or the prefix search is refused).
    pub prefix: String,
    /// Report what would be deleted, delete nothing.
    pub dry_run: bool,
    /// Pace of waits.
    pub pace: Pace,
    /// One time limit (real time) for the whole sweep; what is not done by then is reported
    /// as left behind.
    pub time_limit: Option<Duration>,
}

/// Removes leftovers: first everything the ledger (if any) says may exist, then everything in
/// the token's project whose name starts with the prefix. Returns one line per resource
/// touched. Resources of other projects, names without the prefix and router interfaces on
/// subnets that are not ours are left alone.
pub async fn sweep(
    client: &Client,
    ledger: Option<&Ledger>,
    ledger_entries: Vec<Entry>,
    options: &SweepOptions,
    cancel: &CancellationToken,
) -> Vec<Disposed> {
    let fallback = Ledger::in_memory();
    let ledger = ledger.unwrap_or(&fallback);
    let janitor = Janitor::new(
        client,
        options.pace,
        cancel,
        options.time_limit,
        options.dry_run,
        &ledger_entries,
    );
    let mut out = janitor.dispose_entries(ledger, ledger_entries).await;
    if options.prefix.chars().count() < MIN_PREFIX_LEN {
        return out;
    }
    for kind in ResourceKind::ALL {
        if kind == ResourceKind::RouterInterface || kind.is_identity() {
            continue; // removed with their routers; identity objects: by ledger only
        }
        let found = match janitor.out_of_time() {
            Some(Disposal::Failed(why)) => Err(why),
            _ => {
                let listed = async { list_kind(client, kind).await.map_err(|e| e.to_string()) };
                match janitor.deadline {
                    None => listed.await,
                    Some((at, _)) => tokio::time::timeout_at(at, listed)
                        .await
                        .unwrap_or_else(|_| Err("the cleanup's time limit ran out".into())),
                }
            }
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                out.push(Disposed {
                    kind,
                    name: format!("{}*", options.prefix),
                    id: None,
                    what: Disposal::Failed(format!("cannot list: {e}")),
                });
                continue;
            }
        };
        for v in found {
            let Some(name) = name_of(&v).filter(|n| n.starts_with(&options.prefix)) else {
                continue;
            };
            let Some(id) = id_of(kind, &v) else { continue };
            if out
                .iter()
                .any(|d| d.kind == kind && d.id.as_deref() == Some(id.as_str()))
            {
                continue;
            }
            let target = Target {
                kind,
                id: id.clone(),
                parent: None,
            };
            let what = janitor
                .bounded(janitor.delete_checked(&target, &options.prefix, false))
                .await;
            out.push(Disposed {
                kind,
                name: name.to_string(),
                id: Some(id),
                what,
            });
        }
    }
    out
}

/// Lists, per kind, the names of every resource in the token's project that starts with
/// `prefix` (for tests and dry runs).
pub async fn prefixed_names(
    client: &Client,
    prefix: &str,
) -> Result<Vec<(ResourceKind, String)>, OpenStackError> {
    let mut out = vec![];
    for kind in ResourceKind::ALL {
        if kind == ResourceKind::RouterInterface || kind.is_identity() {
            continue;
        }
        for v in list_kind(client, kind).await? {
            if let Some(n) = name_of(&v).filter(|n| n.starts_with(prefix)) {
                out.push((kind, n.to_string()));
            }
        }
    }
    Ok(out)
}
