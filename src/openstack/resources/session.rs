//! A probe's [`Session`]: creating resources so that each is recorded in the ledger before the
//! create call is sent, adding router interfaces, and deleting everything the session created
//! (in dependency order, within the run's cleanup grace).

use super::janitor::Janitor;
use super::{Disposed, ResourceError, Tracker, now};
use crate::openstack::ledger::{Entry, EntryState, ResourceKind};
use crate::openstack::{Client, OpenStackError};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The resources one probe created, and how to delete them again.
pub struct Session {
    pub(super) tracker: Arc<Tracker>,
    pub(super) client: Client,
    pub(super) seqs: Mutex<Vec<u64>>,
}

impl Session {
    /// The tracker.
    pub fn tracker(&self) -> &Arc<Tracker> {
        &self.tracker
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Records the intent to create `kind` named `name` (fsynced), runs `create`, and records
    /// the id it returns. A refused create is recorded as not created; an unanswered one stays
    /// an intent (cleanup looks for it by name).
    pub async fn create<F>(
        &self,
        kind: ResourceKind,
        name: &str,
        parent: Option<&str>,
        create: F,
    ) -> Result<String, ResourceError>
    where
        F: std::future::Future<Output = Result<String, ResourceError>>,
    {
        let seq = self.tracker.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let mut entry = Entry {
            run: self.tracker.run.clone(),
            seq,
            kind,
            name: name.to_string(),
            prefix: self.tracker.options.prefix.clone(),
            id: None,
            parent: parent.map(str::to_string),
            state: EntryState::Intent,
            at: now(),
            error: None,
        };
        self.tracker.write(&entry)?;
        if let Ok(mut s) = self.seqs.lock() {
            s.push(seq);
        }
        match create.await {
            Ok(id) => {
                entry.id = Some(id.clone());
                entry.state = EntryState::Created;
                entry.at = now();
                self.tracker.write(&entry)?;
                Ok(id)
            }
            Err(err) => {
                if let ResourceError::Api(OpenStackError::Http { status, .. }) = &err
                    && *status < 500
                {
                    entry.state = EntryState::NotCreated;
                    entry.at = now();
                    entry.error = Some(err.to_string());
                    self.tracker.write(&entry)?;
                }
                Err(err)
            }
        }
    }

    /// POSTs `body` to `path` and returns `answer[key].id`.
    pub async fn create_via_post(
        &self,
        kind: ResourceKind,
        name: &str,
        service: &str,
        path: &str,
        key: &str,
        body: Value,
    ) -> Result<String, ResourceError> {
        let client = self.client.clone();
        self.create(kind, name, None, async move {
            let answer = client
                .request_json(service, Method::POST, path, Some(&body))
                .await?;
            answer[key]["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ResourceError::Answer(format!("{service} POST {path}: no {key}.id")))
        })
        .await
    }

    /// Adds a router interface on `subnet` (recorded under the router's name).
    pub async fn add_router_interface(
        &self,
        router_name: &str,
        router_id: &str,
        subnet_id: &str,
    ) -> Result<(), ResourceError> {
        let client = self.client.clone();
        let path = format!("/routers/{router_id}/add_router_interface");
        let subnet = subnet_id.to_string();
        self.create(
            ResourceKind::RouterInterface,
            router_name,
            Some(router_id),
            async move {
                client
                    .request_json(
                        "network",
                        Method::PUT,
                        &path,
                        Some(&json!({"subnet_id": subnet})),
                    )
                    .await?;
                Ok(subnet)
            },
        )
        .await
        .map(|_| ())
    }

    /// Deletes everything this session created, in dependency order; stops early when the
    /// tracker's cleanup is abandoned. Opens the cleanup window (one grace from now) that the
    /// run's last sweep shares. Returns one line per resource.
    pub async fn cleanup(&self) -> Vec<Disposed> {
        self.tracker.open_cleanup_window();
        let mine: Vec<u64> = self.seqs.lock().map(|s| s.clone()).unwrap_or_default();
        let entries: Vec<Entry> = self
            .tracker
            .records()
            .into_iter()
            .filter(|e| mine.contains(&e.seq))
            .collect();
        let janitor = Janitor::new(
            &self.client,
            self.tracker.pace(),
            &self.tracker.abort_cleanup,
            None,
            false,
            &entries,
        );
        janitor.dispose_entries(&self.tracker.ledger, entries).await
    }
}
