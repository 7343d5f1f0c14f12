//! The stateful side of the fake services: created resources with delayed status changes and
//! deletions ([`Resource`], [`Dynamic`]), and the list/show/delete answers shared by the
//! services that keep such resources.

use super::SimState;
use super::listing::page;
use super::pipeline::Req;
use super::respond::{empty, error, json_response};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A created resource with a delayed status change.
#[derive(Debug, Clone)]
pub(super) struct Resource {
    pub(super) body: Map<String, Value>,
    pub(super) created: Instant,
    pub(super) ready_after: Duration,
    pub(super) initial: &'static str,
    pub(super) ready: String,
    /// Deleted: disappears once this much time has passed since the instant.
    pub(super) gone_after: Option<(Instant, Duration)>,
    /// The server whose deletion takes this resource along (ports, boot volumes).
    pub(super) owner: Option<String>,
}

impl Resource {
    pub(super) fn render(&self) -> Value {
        let mut b = self.body.clone();
        if !self.initial.is_empty() {
            let st = if self.created.elapsed() >= self.ready_after {
                self.ready.clone()
            } else {
                self.initial.to_string()
            };
            b.insert("status".into(), json!(st));
        }
        if self.gone_after.is_some() && b.contains_key("OS-EXT-STS:task_state") {
            b.insert("OS-EXT-STS:task_state".into(), json!("deleting"));
        }
        Value::Object(b)
    }
    /// The status right now.
    pub(super) fn status(&self) -> String {
        self.render()["status"].as_str().unwrap_or("").to_string()
    }
    pub(super) fn now(body: Value) -> Resource {
        Resource {
            body: body.as_object().cloned().unwrap_or_default(),
            created: Instant::now(),
            ready_after: Duration::ZERO,
            initial: "",
            ready: String::new(),
            gone_after: None,
            owner: None,
        }
    }
}

/// Stateful resources, by kind and id, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Dynamic {
    pub(super) kinds: HashMap<&'static str, indexmap::IndexMap<String, Resource>>,
}

impl Dynamic {
    pub(super) fn map(&mut self, kind: &'static str) -> &mut indexmap::IndexMap<String, Resource> {
        self.kinds.entry(kind).or_default()
    }

    /// Removes resources whose deletion has completed, with what they own.
    pub(super) fn purge(&mut self) {
        let mut gone: Vec<String> = vec![];
        for map in self.kinds.values_mut() {
            let done: Vec<String> = map
                .iter()
                .filter(|(_, r)| r.gone_after.is_some_and(|(at, d)| at.elapsed() >= d))
                .map(|(id, _)| id.clone())
                .collect();
            for id in done {
                map.shift_remove(&id);
                gone.push(id);
            }
        }
        if gone.is_empty() {
            return;
        }
        for map in self.kinds.values_mut() {
            map.retain(|_, r| r.owner.as_ref().is_none_or(|o| !gone.contains(o)));
        }
    }

    /// Marks a resource deleted after `after`; `false` if there is no such resource.
    pub(super) fn schedule_delete(
        &mut self,
        kind: &'static str,
        id: &str,
        after: Duration,
    ) -> bool {
        let found = match self.map(kind).get_mut(id) {
            Some(r) if r.gone_after.is_none() => {
                r.gone_after = Some((Instant::now(), after));
                true
            }
            Some(_) => true,
            None => false,
        };
        self.purge();
        found
    }

    /// Live resources of a kind matching `pred`.
    pub(super) fn count(&mut self, kind: &'static str, pred: impl Fn(&Value) -> bool) -> usize {
        self.map(kind)
            .values()
            .filter(|r| r.gone_after.is_none())
            .filter(|r| pred(&Value::Object(r.body.clone())))
            .count()
    }
}

pub(super) fn list_dynamic(
    st: &SimState,
    r: &Req,
    service: &str,
    kind: &'static str,
    key: &str,
) -> Response {
    let items: Vec<Value> = st
        .dynamic
        .lock()
        .map(|mut d| d.map(kind).values().map(Resource::render).collect())
        .unwrap_or_default();
    let items: Vec<Value> = items
        .into_iter()
        .filter(|v| {
            r.query.iter().all(|(k, want)| match k.as_str() {
                "limit" | "marker" | "fields" | "all_tenants" => true,
                _ => match v.get(k) {
                    Some(Value::String(s)) => s == want,
                    Some(Value::Bool(b)) => b.to_string().eq_ignore_ascii_case(want),
                    Some(Value::Null) | None => false,
                    Some(other) => want.as_str() == other.to_string().as_str(),
                },
            })
        })
        .collect();
    match page(&items, &r.query, st.page_size(service)) {
        Err(m) => error(service, 400, &m),
        Ok((p, next)) => {
            let mut body = json!({key: p});
            if let Some(m) = next {
                let limit = r.query.get("limit").cloned().unwrap_or_default();
                let path = r.segs.join("/");
                body[format!("{key}_links")] = json!([{"rel": "next",
                    "href": format!("{}/{path}?limit={limit}&marker={m}", st.base)}]);
            }
            json_response(200, &body)
        }
    }
}

pub(super) fn show_dynamic(
    st: &SimState,
    service: &str,
    kind: &'static str,
    key: &str,
    id: &str,
) -> Response {
    let found = st
        .dynamic
        .lock()
        .ok()
        .and_then(|mut d| d.map(kind).get(id).map(Resource::render));
    match found {
        Some(v) => json_response(200, &json!({key: v})),
        None => error(service, 404, &format!("{key} {id} could not be found.")),
    }
}

pub(super) fn delete_dynamic(
    st: &SimState,
    service: &str,
    kind: &'static str,
    id: &str,
    ok: u16,
) -> Response {
    let removed = st
        .dynamic
        .lock()
        .ok()
        .and_then(|mut d| d.map(kind).shift_remove(id));
    match removed {
        Some(_) => empty(ok),
        None => error(service, 404, &format!("{kind} {id} could not be found.")),
    }
}

pub(super) fn insert(st: &SimState, kind: &'static str, res: Resource) -> Value {
    let v = res.render();
    let id = v["id"].as_str().unwrap_or_default().to_string();
    if let Ok(mut d) = st.dynamic.lock() {
        d.map(kind).insert(id, res);
    }
    v
}

pub(super) fn delayed(
    body: Value,
    after: Duration,
    initial: &'static str,
    ready: &str,
) -> Resource {
    Resource {
        body: body.as_object().cloned().unwrap_or_default(),
        created: Instant::now(),
        ready_after: after,
        initial,
        ready: ready.to_string(),
        gone_after: None,
        owner: None,
    }
}
