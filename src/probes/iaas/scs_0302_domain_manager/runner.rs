//! Runs the table of [`super::cases`] (steps as [`super::steps`] defines them): the [`Book`] of findings (a check holds, breaks or could
//! not be made; an observation; a failed setup step), Keystone requests as the managers, and
//! the walk over the steps with the ids they make.

use super::Manager;
use super::steps::{Actor, Expect, Judge, Observe, Step};
use crate::openstack::ledger::ResourceKind;
use crate::openstack::resources::{ErrorClass, ResourceError, Session};
use crate::openstack::{Client, OpenStackError};
use crate::probes::Finding;
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The rule a refused grant's `HEAD` by B checks.
const REFUSED_GRANT_ABSENT: &str = "a refused grant is not there (verified by B)";

/// The checks so far.
#[derive(Default)]
pub(super) struct Book {
    /// The findings, one per check or observation, in order.
    pub(super) findings: Vec<Finding>,
    /// The broken rules.
    pub(super) failed: Vec<String>,
    /// The checks that could not be made.
    pub(super) aborted: Vec<String>,
    /// How many checks held.
    pub(super) passed: usize,
}

/// The answer as the findings state it.
fn status_text(r: &Result<Value, OpenStackError>) -> String {
    match r {
        Ok(_) => "allowed (2xx)".into(),
        Err(e) => match e.status() {
            Some(s) => format!("HTTP {s}: {e}"),
            None => e.to_string(),
        },
    }
}

impl Book {
    /// Records one check; true when it held.
    pub(super) fn check(
        &mut self,
        rule: &str,
        who: &str,
        call: &str,
        expect: Expect,
        got: &Result<Value, OpenStackError>,
    ) -> bool {
        let object = format!("{who}: {call}");
        let (expected, verdict) = match expect {
            Expect::Allowed => (
                "allowed (2xx)",
                match got {
                    Ok(_) => Some(true),
                    Err(e) if e.status() == Some(403) => Some(false),
                    Err(_) => None,
                },
            ),
            Expect::Refused => (
                "refused (403)",
                match got {
                    Ok(_) => Some(false),
                    Err(e) if matches!(e.status(), Some(403 | 404)) => Some(true),
                    Err(_) => None,
                },
            ),
        };
        let actual = status_text(got);
        match verdict {
            Some(true) => {
                self.passed += 1;
                self.findings.push(
                    Finding::new(&object, format!("holds: {rule}"))
                        .expected_actual(expected, actual),
                );
                true
            }
            Some(false) => {
                self.failed.push(format!("{object}: {rule}"));
                self.findings.push(
                    Finding::new(&object, format!("BROKEN: {rule}"))
                        .expected_actual(expected, actual),
                );
                false
            }
            None => {
                let note = match got {
                    Err(e) => ErrorClass::of_api(e).note().to_string(),
                    Ok(_) => String::new(),
                };
                self.aborted.push(format!("{object}: {actual}"));
                self.findings.push(
                    Finding::new(&object, format!("not checked ({note}): {rule}"))
                        .expected_actual(expected, actual),
                );
                false
            }
        }
    }

    /// Records a plain observation that held or broke a rule (no HTTP status to judge).
    pub(super) fn observe(
        &mut self,
        rule: &str,
        object: &str,
        ok: bool,
        expected: &str,
        actual: String,
    ) {
        if ok {
            self.passed += 1;
            self.findings.push(
                Finding::new(object, format!("holds: {rule}")).expected_actual(expected, actual),
            );
        } else {
            self.failed.push(format!("{object}: {rule}"));
            self.findings.push(
                Finding::new(object, format!("BROKEN: {rule}")).expected_actual(expected, actual),
            );
        }
    }

    /// A step the checks need that did not work: the dependent checks are not made.
    pub(super) fn setup_failed(&mut self, what: &str, why: String) {
        self.aborted.push(format!("{what}: {why}"));
        self.findings.push(
            Finding::new(
                what,
                "setup step failed; the checks that need it were not made",
            )
            .expected_actual("success", why),
        );
    }
}

/// A request whose answer is JSON (or empty).
pub(super) async fn call(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, OpenStackError> {
    c.request_json("identity", method, path, body.as_ref())
        .await
}

/// `HEAD path`: Ok(true) on 2xx, Ok(false) on 404, the error otherwise.
async fn head(c: &Client, path: &str) -> Result<bool, OpenStackError> {
    match c.request("identity", Method::HEAD, path, None).await {
        Ok(_) => Ok(true),
        Err(e) if e.status() == Some(404) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates `kind` (key `key`) named `name` with `fields` through `session`'s ledger, sending
/// the request as `by`. Returns the answer as a result for [`Book::check`] plus the id.
async fn create(
    session: &Session,
    by: &Client,
    kind: ResourceKind,
    key: &str,
    name: &str,
    fields: Value,
) -> (Result<Value, OpenStackError>, Option<String>) {
    let mut obj = fields;
    obj["name"] = json!(name);
    let body = json!({ key: obj });
    let path = format!("/{key}s");
    let c = by.clone();
    let key2 = key.to_string();
    let r = session
        .create(kind, name, None, async move {
            let v = call(&c, Method::POST, &path, Some(body)).await?;
            v[&key2]["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ResourceError::Answer(format!("the new {key2} has no id")))
        })
        .await;
    match r {
        Ok(id) => (Ok(json!({ "id": id })), Some(id)),
        Err(ResourceError::Api(e)) => (Err(e), None),
        Err(other) => (
            Err(OpenStackError::Decode {
                service: "identity".into(),
                method: "POST".into(),
                path: format!("/{key}s"),
                message: other.to_string(),
            }),
            None,
        ),
    }
}

/// The id of the role `name`, as `by` sees it through `GET /v3/roles?name=`.
pub(super) async fn role_id(
    book: &mut Book,
    m: &Manager,
    name: &str,
    rule: &str,
) -> Option<String> {
    let r = call(&m.client, Method::GET, &format!("/roles?name={name}"), None).await;
    if !book.check(
        rule,
        m.who,
        &format!("GET /v3/roles?name={name}"),
        Expect::Allowed,
        &r,
    ) {
        return None;
    }
    let id = r.ok()?["roles"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"].as_str() == Some(name)))
        .and_then(|x| x["id"].as_str())
        .map(str::to_string);
    if id.is_none() {
        book.setup_failed(&format!("role \"{name}\""), "not in the role list".into());
    }
    id
}

/// `template` with its `{name}`s replaced by their values in `ids`; `None` when one has no
/// value (an object the step needs was not made).
fn fill(template: &str, ids: &HashMap<&'static str, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}')?;
        out.push_str(ids.get(&rest[open + 1..close])?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Walks the table of checks with the two managers and their ledger sessions (each cleans up
/// with its manager's token).
pub(super) struct Runner<'a> {
    /// The findings so far.
    pub(super) book: &'a mut Book,
    /// The manager of D1.
    pub(super) a: &'a Manager,
    /// The manager of D2.
    pub(super) b: &'a Manager,
    /// A's ledger session.
    pub(super) sa: &'a Session,
    /// B's ledger session.
    pub(super) sb: &'a Session,
    /// The values of the path templates' names: the domains (`d1`, `d2`), the role ids
    /// (`member`, `admin`) and the ids the steps keep.
    pub(super) ids: HashMap<&'static str, String>,
}

impl<'a> Runner<'a> {
    fn manager(&self, who: Actor) -> &'a Manager {
        match who {
            Actor::A => self.a,
            Actor::B => self.b,
        }
    }

    fn session(&self, who: Actor) -> &'a Session {
        match who {
            Actor::A => self.sa,
            Actor::B => self.sb,
        }
    }

    /// Records the answer `got` of a step by `who`; true when it held (or the setup step
    /// worked).
    fn judge(&mut self, who: Actor, judge: Judge, got: &Result<Value, OpenStackError>) -> bool {
        match judge {
            Judge::Check { rule, call, expect } => {
                self.book.check(rule, who.name(), call, expect, got)
            }
            Judge::Setup { what, status } => match got {
                Ok(_) => true,
                Err(e) => {
                    let why = if status {
                        status_text(got)
                    } else {
                        e.to_string()
                    };
                    self.book.setup_failed(what, why);
                    false
                }
            },
        }
    }

    /// Runs `steps` in order.
    pub(super) fn run<'s>(&'s mut self, steps: &'static [Step]) -> BoxFuture<'s, ()> {
        Box::pin(async move {
            for step in steps {
                self.step(step).await;
            }
        })
    }

    async fn step(&mut self, step: &'static Step) {
        match step {
            Step::Create {
                object,
                judge,
                then,
            } => {
                let fields = match object.domain {
                    None => json!({}),
                    Some(domain) => match self.ids.get(domain) {
                        Some(id) => json!({ "domain_id": id }),
                        None => return,
                    },
                };
                let session = self.session(object.ledger);
                let by = &self.manager(object.by).client;
                let name = session.tracker().name(object.name);
                let (got, id) = create(session, by, object.kind, object.key, &name, fields).await;
                let held = self.judge(object.by, *judge, &got);
                if let (Some(keep), Some(id)) = (object.keep, id) {
                    self.ids.insert(keep, id);
                }
                if held {
                    self.run(then).await;
                }
            }
            Step::Call {
                by,
                method,
                path,
                body,
                judge,
                observe,
                then,
            } => {
                let Some(path) = fill(path, &self.ids) else {
                    return;
                };
                let client = &self.manager(*by).client;
                let got = if *method == Method::HEAD {
                    head(client, &path).await.map(|there| json!(there))
                } else {
                    call(client, method.clone(), &path, body.map(|body| body())).await
                };
                if !self.judge(*by, *judge, &got) {
                    return;
                }
                if let (Some(observe), Judge::Check { call, .. }) = (observe, judge) {
                    let object = format!("{}: {call}", by.name());
                    self.observe(*by, *observe, &object, &got);
                }
                self.run(then).await;
            }
            Step::RefusedGrantAbsent { path, what } => {
                let Some(path) = fill(path, &self.ids) else {
                    return;
                };
                match head(&self.b.client, &path).await {
                    Ok(there) => self.book.observe(
                        REFUSED_GRANT_ABSENT,
                        what,
                        !there,
                        "404",
                        if there { "204".into() } else { "404".into() },
                    ),
                    Err(e) => self.book.setup_failed(what, e.to_string()),
                }
            }
            Step::IfMade { id, steps } => {
                if self.ids.contains_key(id) {
                    self.run(steps).await;
                }
            }
        }
    }

    /// The second look at an answer that held.
    fn observe(
        &mut self,
        by: Actor,
        observe: Observe,
        object: &str,
        got: &Result<Value, OpenStackError>,
    ) {
        let listed = |list: &str| -> Vec<Value> {
            got.as_ref()
                .ok()
                .and_then(|v| v[list].as_array())
                .cloned()
                .unwrap_or_default()
        };
        match observe {
            Observe::OnlyOwnDomain {
                list,
                rule,
                expected,
            } => {
                let domain = self.manager(by).domain_id.as_str();
                let foreign: Vec<String> = listed(list)
                    .iter()
                    .filter(|x| x["domain_id"].as_str() != Some(domain))
                    .filter_map(|x| x["name"].as_str().map(str::to_string))
                    .collect();
                self.book.observe(
                    rule,
                    object,
                    foreign.is_empty(),
                    expected,
                    format!("{list} of other domains: [{}]", foreign.join(", ")),
                );
            }
            Observe::GrantThere { rule } => self.book.observe(
                rule,
                object,
                got.as_ref().ok() == Some(&json!(true)),
                "204",
                format!("{:?}", got.as_ref().ok()),
            ),
            Observe::ListsExactly {
                list,
                id,
                rule,
                expected,
            } => {
                let ids: Vec<String> = listed(list)
                    .iter()
                    .filter_map(|x| x["id"].as_str().map(str::to_string))
                    .collect();
                let want = self.ids.get(id);
                self.book.observe(
                    rule,
                    object,
                    want.is_some_and(|want| ids.len() == 1 && ids[0] == *want),
                    expected,
                    format!("{} {}(s)", ids.len(), list.trim_end_matches('s')),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_filled_or_skipped_when_an_id_is_missing() {
        let ids = HashMap::from([("d1", "D".to_string()), ("ua", "U".to_string())]);
        assert_eq!(
            fill("/domains/{d1}/users/{ua}/roles", &ids).as_deref(),
            Some("/domains/D/users/U/roles")
        );
        assert_eq!(fill("/users", &ids).as_deref(), Some("/users"));
        assert_eq!(fill("/users/{ub}", &ids), None);
        assert_eq!(fill("/users/{ua", &ids), None);
    }

    /// Every name a path template or a domain uses is one the probe sets or a step keeps, and
    /// every kept name is used: a typo in the table would silently skip checks.
    #[test]
    fn the_table_names_only_ids_it_makes() {
        use super::super::cases::SECTIONS;
        let mut kept = vec!["d1", "d2", "member", "admin"];
        let mut used = Vec::new();
        fn walk(
            steps: &'static [Step],
            kept: &mut Vec<&'static str>,
            used: &mut Vec<&'static str>,
        ) {
            for step in steps {
                match step {
                    Step::Create { object, then, .. } => {
                        used.extend(object.domain);
                        kept.extend(object.keep);
                        walk(then, kept, used);
                    }
                    Step::Call { path, then, .. } => {
                        used.extend(names(path));
                        walk(then, kept, used);
                    }
                    Step::RefusedGrantAbsent { path, .. } => used.extend(names(path)),
                    Step::IfMade { id, steps } => {
                        used.push(id);
                        walk(steps, kept, used);
                    }
                }
            }
        }
        fn names(path: &'static str) -> Vec<&'static str> {
            path.split('{')
                .skip(1)
                .filter_map(|part| part.split_once('}').map(|(name, _)| name))
                .collect()
        }
        for section in SECTIONS {
            walk(section, &mut kept, &mut used);
        }
        for name in &used {
            assert!(kept.contains(name), "{name} is used but never set");
        }
        for name in &kept {
            assert!(used.contains(name), "{name} is set but never used");
        }
    }
}
