//! Deleting resources safely: the [`Janitor`] that every cleanup (a session's or a sweep's)
//! shares: one deadline and the abandon token around each deletion, the read-back that checks
//! name prefix and project before anything is deleted, the delete call retried while the cloud
//! says it will pass, the wait until the resource is gone, and router interfaces removed only
//! on our own subnets.

use super::lookup::{collection, find_by_name, foreign_project, name_of, service_of, show};
use super::{Disposal, Disposed, Pace, ResourceError, now};
use crate::openstack::ledger::{Entry, EntryState, Ledger, ResourceKind};
use crate::openstack::{Client, OpenStackError};
use crate::retry::{Retries, RetryPolicy};
use reqwest::Method;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What every deletion of one cleanup shares: the client, the pace of waits, the abandon
/// token (second Ctrl-C), the one deadline of the whole cleanup, the token's project (nothing
/// of another project is touched) and the subnets known to be ours (only their router
/// interfaces are removed).
pub(super) struct Janitor<'a> {
    pub(super) client: &'a Client,
    pub(super) pace: Pace,
    pub(super) cancel: &'a CancellationToken,
    pub(super) deadline: Option<(tokio::time::Instant, Duration)>,
    pub(super) dry_run: bool,
    pub(super) project: Option<String>,
    pub(super) own_subnets: HashSet<String>,
}

impl<'a> Janitor<'a> {
    pub(super) fn new(
        client: &'a Client,
        pace: Pace,
        cancel: &'a CancellationToken,
        limit: Option<Duration>,
        dry_run: bool,
        entries: &[Entry],
    ) -> Janitor<'a> {
        let own_subnets = entries
            .iter()
            .filter(|e| matches!(e.kind, ResourceKind::Subnet | ResourceKind::RouterInterface))
            .filter_map(|e| e.id.clone())
            .collect();
        Janitor {
            client,
            pace,
            cancel,
            deadline: limit.map(|d| (tokio::time::Instant::now() + d, d)),
            dry_run,
            project: client.token().project_id.clone(),
            own_subnets,
        }
    }

    pub(super) fn out_of_time(&self) -> Option<Disposal> {
        if self.cancel.is_cancelled() {
            return Some(Disposal::Failed("cleanup abandoned".into()));
        }
        match self.deadline {
            Some((at, limit)) if tokio::time::Instant::now() >= at => {
                Some(Disposal::Failed(format!(
                    "the cleanup's time limit of {:.1} s ran out",
                    limit.as_secs_f64()
                )))
            }
            _ => None,
        }
    }

    /// Runs one deletion under the abandon token and the cleanup's deadline (an unanswered
    /// request is dropped when either fires).
    pub(super) async fn bounded(
        &self,
        work: impl std::future::Future<Output = Disposal>,
    ) -> Disposal {
        if let Some(stop) = self.out_of_time() {
            return stop;
        }
        let timed = async {
            match self.deadline {
                None => work.await,
                Some((at, limit)) => match tokio::time::timeout_at(at, work).await {
                    Ok(d) => d,
                    Err(_) => Disposal::Failed(format!(
                        "the cleanup's time limit of {:.1} s ran out",
                        limit.as_secs_f64()
                    )),
                },
            }
        };
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Disposal::Failed("cleanup abandoned".into()),
            d = timed => d,
        }
    }

    /// Deletes ledger entries that may still exist, newest first within each kind, kinds in
    /// deletion order; updates the ledger.
    pub(super) async fn dispose_entries(
        &self,
        ledger: &Ledger,
        entries: Vec<Entry>,
    ) -> Vec<Disposed> {
        let mut out = vec![];
        for kind in ResourceKind::ALL {
            for mut e in entries
                .iter()
                .filter(|e| e.kind == kind && e.may_exist())
                .rev()
                .cloned()
            {
                let what = self.bounded(self.dispose_entry(&mut e)).await;
                match &what {
                    Disposal::Deleted | Disposal::Gone | Disposal::Accepted(_) => {
                        e.state = EntryState::Deleted;
                        e.error = None;
                    }
                    Disposal::Failed(why) => {
                        // Keep the cloud's last answer when this cleanup did not get to ask.
                        e.error = Some(match &e.error {
                            Some(prev) if stopped_early(why) && !stopped_early(prev) => {
                                format!("{prev}; {why}")
                            }
                            _ => why.clone(),
                        });
                    }
                    Disposal::Skipped(why) => {
                        // Not ours (any more): the ledger stops tracking it.
                        e.state = EntryState::NotCreated;
                        e.error = Some(why.clone());
                    }
                    Disposal::WouldDelete => {}
                }
                if !self.dry_run {
                    e.at = now();
                    let _ = ledger.write(&e);
                }
                out.push(Disposed {
                    kind,
                    name: e.name.clone(),
                    id: e.id.clone(),
                    what,
                });
            }
        }
        out
    }

    async fn dispose_entry(&self, e: &mut Entry) -> Disposal {
        if !e.name.starts_with(&e.prefix) || e.prefix.is_empty() {
            return Disposal::Skipped(format!("name lacks the prefix \"{}\"", e.prefix));
        }
        // An intent without id: find it by its exact name.
        if e.id.is_none() {
            if e.kind == ResourceKind::RouterInterface {
                return Disposal::Gone; // the router's deletion path removes its interfaces
            }
            match find_by_name(self.client, e.kind, &e.name).await {
                Ok(ids) if ids.is_empty() => return Disposal::Gone,
                Ok(ids) => e.id = ids.into_iter().next(),
                Err(err) => return Disposal::Failed(format!("cannot look it up by name: {err}")),
            }
        }
        let Some(id) = e.id.clone() else {
            return Disposal::Gone;
        };
        let target = Target {
            kind: e.kind,
            id,
            parent: e.parent.clone(),
        };
        self.delete_checked(&target, &e.prefix, true).await
    }

    /// Reads the resource back, checks its name and project, deletes it and waits until it is
    /// gone. When the read-back fails (the cloud does not answer it) and the resource comes
    /// from the ledger (`recorded`: we created it), it is deleted by id all the same, so that
    /// what depends on it can go too.
    pub(super) async fn delete_checked(
        &self,
        t: &Target,
        prefix: &str,
        recorded: bool,
    ) -> Disposal {
        // Read back: a router interface is checked through its router.
        let (check_kind, check_id) = match (t.kind, &t.parent) {
            (ResourceKind::RouterInterface, Some(router)) => {
                (ResourceKind::Router, router.as_str())
            }
            _ => (t.kind, t.id.as_str()),
        };
        match show(self.client, check_kind, check_id).await {
            Ok(None) => return Disposal::Gone,
            Ok(Some(current)) => {
                let name = name_of(&current).unwrap_or("");
                if !name.starts_with(prefix) || prefix.is_empty() {
                    return Disposal::Skipped(format!(
                        "its name \"{name}\" lacks the prefix \"{prefix}\""
                    ));
                }
                if let Some(other) = foreign_project(&current, self.project.as_deref()) {
                    return Disposal::Skipped(format!("it belongs to another project ({other})"));
                }
            }
            Err(e) if !recorded => return Disposal::Failed(format!("cannot read it back: {e}")),
            Err(_) => {} // the ledger records that we created it
        }
        if self.dry_run {
            return Disposal::WouldDelete;
        }
        match self.delete_and_wait(t, prefix).await {
            Ok(d) => d,
            Err(ResourceError::Interrupted) => Disposal::Failed("cleanup abandoned".into()),
            Err(e) => Disposal::Failed(e.to_string()),
        }
    }

    /// Waits before the next try of one deletion (its `retries`), unless the cleanup is
    /// abandoned first.
    async fn backoff(&self, retries: &mut Retries) -> Result<(), ResourceError> {
        retries.begin();
        // The policy has no attempt limit and no deadline: there is always a next wait (the
        // deletion's own budget is checked by the caller).
        let wait = retries.next_wait(None).unwrap_or_default();
        tokio::select! {
            _ = self.cancel.cancelled() => Err(ResourceError::Interrupted),
            _ = tokio::time::sleep(wait) => Ok(()),
        }
    }

    async fn delete_and_wait(&self, t: &Target, prefix: &str) -> Result<Disposal, ResourceError> {
        let client = self.client;
        let service = service_of(t.kind);
        let (_, _, single) = collection(t.kind);
        let started = tokio::time::Instant::now();
        let budget = self.pace.secs(DELETE_BUDGET_SECS);
        let mut retries = deletion_waits(self.pace).start();
        // Volumes and backups cannot be deleted while they are still being made. When their
        // status cannot be read, the delete call is tried all the same.
        if matches!(t.kind, ResourceKind::Volume | ResourceKind::Backup) {
            loop {
                match show(client, t.kind, &t.id).await {
                    Ok(None) => return Ok(Disposal::Gone),
                    Ok(Some(v)) if !transitional(v["status"].as_str().unwrap_or("")) => break,
                    Ok(Some(_)) => {}
                    Err(_) => break,
                }
                if started.elapsed() > budget {
                    return Err(ResourceError::Timeout("still busy, cannot delete".into()));
                }
                self.backoff(&mut retries).await?;
            }
        }
        if t.kind == ResourceKind::Router {
            let foreign = self.remove_own_interfaces(&t.id, prefix).await?;
            if !foreign.is_empty() {
                return Ok(Disposal::Failed(format!(
                    "it has interfaces on subnets that are not ours ({}); they are left attached",
                    foreign.join(", ")
                )));
            }
        }
        // The delete call, retried while the cloud refuses it for a reason that passes (409
        // while dependants are still going away, 400 while a volume is busy). Any 2xx answer,
        // whatever its body, counts. Persistent server errors (the client has retried them
        // already), 401/403 and unanswered calls end it: the leftover is reported.
        loop {
            let sent = match (t.kind, &t.parent) {
                (ResourceKind::RouterInterface, Some(router)) => {
                    client
                        .request(
                            "network",
                            Method::PUT,
                            &format!("/routers/{router}/remove_router_interface"),
                            Some(&json!({"subnet_id": t.id})),
                        )
                        .await
                }
                _ => {
                    client
                        .request(service, Method::DELETE, &format!("{single}/{}", t.id), None)
                        .await
                }
            };
            match sent {
                Ok(_) => break,
                Err(e) if e.status() == Some(404) => return Ok(Disposal::Gone),
                Err(e) if matches!(e.status(), Some(400 | 409)) && started.elapsed() <= budget => {}
                Err(e) => return Err(e.into()),
            }
            self.backoff(&mut retries).await?;
        }
        if t.kind == ResourceKind::RouterInterface {
            return Ok(Disposal::Deleted);
        }
        // Wait until it is gone (so that what it depends on can go next). A cloud that does
        // not answer the status call any more has still accepted the deletion.
        loop {
            match show(client, t.kind, &t.id).await {
                Ok(None) => return Ok(Disposal::Deleted),
                Ok(Some(_)) => {}
                Err(e) => return Ok(Disposal::Accepted(e.to_string())),
            }
            if started.elapsed() > budget {
                return Err(ResourceError::Timeout(format!(
                    "still present {:.0} s after the delete call",
                    started.elapsed().as_secs_f64()
                )));
            }
            self.backoff(&mut retries).await?;
        }
    }

    /// Removes the interfaces of a router (found through its ports) that are on our subnets:
    /// subnets in the ledger, or whose name has the prefix and that belong to the token's
    /// project. Returns the subnets of interfaces left alone.
    async fn remove_own_interfaces(
        &self,
        router: &str,
        prefix: &str,
    ) -> Result<Vec<String>, OpenStackError> {
        let client = self.client;
        let ports = client
            .list(
                "network",
                &format!("/ports?device_id={router}&device_owner=network:router_interface"),
                "ports",
            )
            .await?;
        let mut foreign = vec![];
        for p in ports {
            for ip in p["fixed_ips"].as_array().into_iter().flatten() {
                let Some(subnet) = ip["subnet_id"].as_str() else {
                    continue;
                };
                if !self.is_own_subnet(subnet, prefix).await? {
                    foreign.push(subnet.to_string());
                    continue;
                }
                match client
                    .request(
                        "network",
                        Method::PUT,
                        &format!("/routers/{router}/remove_router_interface"),
                        Some(&json!({"subnet_id": subnet})),
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(foreign)
    }

    async fn is_own_subnet(&self, subnet: &str, prefix: &str) -> Result<bool, OpenStackError> {
        if self.own_subnets.contains(subnet) {
            return Ok(true);
        }
        Ok(
            match show(self.client, ResourceKind::Subnet, subnet).await? {
                None => false,
                Some(v) => {
                    !prefix.is_empty()
                        && name_of(&v).is_some_and(|n| n.starts_with(prefix))
                        && foreign_project(&v, self.project.as_deref()).is_none()
                }
            },
        )
    }
}

/// Whether a cleanup's failure only says that it stopped (time limit, second Ctrl-C).
fn stopped_early(why: &str) -> bool {
    why.starts_with("the cleanup's time limit") || why == "cleanup abandoned"
}

/// One resource to delete.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) kind: ResourceKind,
    pub(super) id: String,
    pub(super) parent: Option<String>,
}

/// The waits between the tries of one deletion: 1, 2, 4, 8, 15, 15, ... cloud seconds, as many
/// as the deletion's budget ([`DELETE_BUDGET_SECS`], checked by the caller) allows.
pub(super) fn deletion_waits(pace: Pace) -> RetryPolicy {
    RetryPolicy {
        max_attempts: None,
        base_delay: pace.secs(1.0),
        max_delay: Some(pace.secs(15.0)),
        max_retry_after: None,
        budget: None,
    }
}

/// The cloud seconds one deletion may take in total before it counts as failed (a cleanup's
/// overall time limit may cut it shorter).
const DELETE_BUDGET_SECS: f64 = 300.0;

fn transitional(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "creating" | "restoring-backup" | "backing-up" | "downloading" | "restoring" | "attaching"
    )
}
