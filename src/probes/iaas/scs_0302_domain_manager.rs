//! scs-0302 (domain manager role): `domain-manager-check`, a native port of the standard's
//! conformance test. Two domain managers, A (domain D1) and B (domain D2), log in with
//! domain-scoped password tokens from the clouds.yaml entries named by the variables
//! `domain_manager_a` and `domain_manager_b`; A then manages users, projects, groups and role
//! assignments in D1 (must be allowed) and tries the same in D2, on roles, and with the `admin`
//! role (must be refused). Every check is a finding naming the API call, the expectation and
//! the answer. Every object is created fresh (prefixed, in the ledger, cleaned up by the
//! manager of its domain); no negative check uses an object an earlier step deleted.

use super::common::FnProbe;
use super::creating::leftover_findings;
use crate::openstack::config::{AuthType, CloudConfig, load_cloud};
use crate::openstack::ledger::ResourceKind;
use crate::openstack::resources::{ErrorClass, ResourceError, Session};
use crate::openstack::{Client, ClientOptions, OpenStackError};
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The testcase.
pub const TESTCASE: &str = "domain-manager-check";

/// Name of the probe (also the key of `--probe-timeout`).
pub const PROBE: &str = "scs-0302-domain-manager";

/// Default overall budget (cloud seconds).
pub const BUDGET: Duration = Duration::from_secs(3 * 60);

/// Variable naming the clouds.yaml entry of the manager of the first domain.
pub const VAR_A: &str = "domain_manager_a";
/// Variable naming the clouds.yaml entry of the manager of the second domain.
pub const VAR_B: &str = "domain_manager_b";

/// The role the standard names.
pub const MANAGER_ROLE: &str = "manager";

/// The probe answering `domain-manager-check`.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(PROBE, vec![TESTCASE.into()], run)
}

/// A logged-in domain manager.
#[derive(Clone)]
struct Manager {
    /// `A` or `B`.
    who: &'static str,
    client: Client,
    domain_id: String,
}

/// What a check expects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A 2xx answer.
    Allowed,
    /// A 403 (or 404: the object is hidden).
    Refused,
}

/// The checks so far.
#[derive(Default)]
struct Book {
    findings: Vec<Finding>,
    failed: Vec<String>,
    aborted: Vec<String>,
    passed: usize,
}

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
    fn check(
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
    fn observe(&mut self, rule: &str, object: &str, ok: bool, expected: &str, actual: String) {
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
    fn setup_failed(&mut self, what: &str, why: String) {
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
async fn call(
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

/// Resolves the user id and domain id of a logged-in manager.
async fn whoami(c: &Client) -> Result<(String, String), String> {
    let uid = c
        .token()
        .user_id
        .clone()
        .ok_or_else(|| "the token names no user".to_string())?;
    let v = call(c, Method::GET, &format!("/users/{uid}"), None)
        .await
        .map_err(|e| format!("GET /v3/users/{uid} (own user): {e}"))?;
    let dom = v["user"]["domain_id"]
        .as_str()
        .ok_or_else(|| "the own user has no domain_id".to_string())?;
    Ok((uid, dom.to_string()))
}

/// The id of the role `name`, as `by` sees it through `GET /v3/roles?name=`.
async fn role_id(book: &mut Book, m: &Manager, name: &str, rule: &str) -> Option<String> {
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

/// All checks; `sa`/`sb` are the ledger sessions of A and B (each cleans up with its
/// manager's token).
async fn exercise(book: &mut Book, a: &Manager, b: &Manager, sa: &Session, sb: &Session) {
    let (d1, d2) = (a.domain_id.as_str(), b.domain_id.as_str());
    for m in [a, b] {
        let roles = m.client.role_names();
        book.observe(
            "a role named `manager` is present and the domain manager's token carries it",
            &format!("{}: domain-scoped token (POST /v3/auth/tokens)", m.who),
            roles.iter().any(|r| r == MANAGER_ROLE),
            "roles include manager",
            format!("roles: [{}]", roles.join(", ")),
        );
    }
    if d1 == d2 {
        book.setup_failed(
            "the two managers",
            format!("both are in domain {d1}; the check needs two domains"),
        );
        return;
    }
    let Some(member) = role_id(
        book,
        a,
        "member",
        "managers can look up roles by name (identity:list_roles)",
    )
    .await
    else {
        return;
    };
    let admin = role_id(
        book,
        a,
        "admin",
        "managers can look up roles by name (identity:list_roles)",
    )
    .await;

    let x = X {
        a,
        b,
        sa,
        sb,
        member,
        admin,
    };
    let mut ids = Ids::default();
    Box::pin(users(book, &x, &mut ids)).await;
    Box::pin(projects(book, &x, &mut ids)).await;
    Box::pin(groups(book, &x, &mut ids)).await;
    Box::pin(roles(book, &x)).await;
    Box::pin(deletions(book, &x, &ids)).await;
}

/// What every section needs.
struct X<'a> {
    a: &'a Manager,
    b: &'a Manager,
    sa: &'a Session,
    sb: &'a Session,
    member: String,
    admin: Option<String>,
}

/// Objects made by one section and used by later ones.
#[derive(Default)]
struct Ids {
    ua: Option<String>,
    ub: Option<String>,
    pa: Option<String>,
    ga: Option<String>,
}

/// Users: create/read/update/grant in D1 allowed; the same in D2 refused.
async fn users(book: &mut Book, x: &X<'_>, ids: &mut Ids) {
    let (ca, cb) = (&x.a.client, &x.b.client);
    let (d1, d2) = (x.a.domain_id.as_str(), x.b.domain_id.as_str());
    let (sa, sb, member, admin) = (x.sa, x.sb, &x.member, &x.admin);
    let name = sa.tracker().name("0302-ua");
    let (r, ua) = create(
        sa,
        ca,
        ResourceKind::User,
        "user",
        &name,
        json!({"domain_id": d1}),
    )
    .await;
    book.check(
        "a manager creates users in its own domain (identity:create_user)",
        "A",
        "POST /v3/users (own domain)",
        Expect::Allowed,
        &r,
    );
    let name = sb.tracker().name("0302-ub");
    let (r, ub) = create(
        sb,
        cb,
        ResourceKind::User,
        "user",
        &name,
        json!({"domain_id": d2}),
    )
    .await;
    if let Err(e) = &r {
        book.setup_failed("B: POST /v3/users (own domain)", e.to_string());
    }
    let name = sb.tracker().name("0302-ux");
    let (r, _) = create(
        sb,
        ca,
        ResourceKind::User,
        "user",
        &name,
        json!({"domain_id": d2}),
    )
    .await;
    book.check(
        "a manager cannot create users in another domain (identity:create_user)",
        "A",
        "POST /v3/users (domain_id of D2)",
        Expect::Refused,
        &r,
    );
    let name = sa.tracker().name("0302-un");
    let (r, _) = create(sa, ca, ResourceKind::User, "user", &name, json!({})).await;
    book.check("a manager cannot create users without naming its domain (identity:create_user needs target.user.domain_id)", "A", "POST /v3/users (no domain_id)", Expect::Refused, &r);
    let r = call(ca, Method::GET, "/users", None).await;
    if book.check(
        "a manager lists users (identity:list_users)",
        "A",
        "GET /v3/users",
        Expect::Allowed,
        &r,
    ) {
        let foreign: Vec<String> = r
            .as_ref()
            .ok()
            .and_then(|v| v["users"].as_array())
            .into_iter()
            .flatten()
            .filter(|u| u["domain_id"].as_str() != Some(d1))
            .filter_map(|u| u["name"].as_str().map(str::to_string))
            .collect();
        book.observe(
            "a manager sees only users of its own domain",
            "A: GET /v3/users",
            foreign.is_empty(),
            "only users of D1",
            format!("users of other domains: [{}]", foreign.join(", ")),
        );
    }
    if let Some(ua) = &ua {
        let r = call(ca, Method::GET, &format!("/users/{ua}"), None).await;
        book.check(
            "a manager reads users of its domain (identity:get_user)",
            "A",
            "GET /v3/users/{own}",
            Expect::Allowed,
            &r,
        );
        let r = call(
            ca,
            Method::PATCH,
            &format!("/users/{ua}"),
            Some(json!({"user": {"email": "changed@example.invalid"}})),
        )
        .await;
        book.check(
            "a manager updates users of its domain (identity:update_user)",
            "A",
            "PATCH /v3/users/{own}",
            Expect::Allowed,
            &r,
        );
        let path = format!("/domains/{d1}/users/{ua}/roles/{member}");
        let r = call(ca, Method::PUT, &path, None).await;
        if book.check(
            "a manager assigns a managed role on its domain (identity:create_grant)",
            "A",
            "PUT /v3/domains/D1/users/{own}/roles/member",
            Expect::Allowed,
            &r,
        ) {
            let h = head(ca, &path).await.map(|x| json!(x));
            if book.check(
                "a manager checks grants in its domain (identity:check_grant)",
                "A",
                "HEAD /v3/domains/D1/users/{own}/roles/member",
                Expect::Allowed,
                &h,
            ) {
                book.observe(
                    "an assigned grant is there",
                    "A: HEAD /v3/domains/D1/users/{own}/roles/member",
                    h.as_ref().ok() == Some(&json!(true)),
                    "204",
                    format!("{:?}", h.ok()),
                );
            }
            let r = call(ca, Method::DELETE, &path, None).await;
            book.check(
                "a manager revokes managed roles in its domain (identity:revoke_grant)",
                "A",
                "DELETE /v3/domains/D1/users/{own}/roles/member",
                Expect::Allowed,
                &r,
            );
        }
        if let Some(admin) = &admin {
            let r = call(
                ca,
                Method::PUT,
                &format!("/domains/{d1}/users/{ua}/roles/{admin}"),
                None,
            )
            .await;
            book.check("a manager cannot assign the admin role (is_domain_managed_role must not contain admin)", "A", "PUT /v3/domains/D1/users/{own}/roles/admin", Expect::Refused, &r);
        }
    }
    if let Some(ub) = &ub {
        let r = call(ca, Method::GET, &format!("/users/{ub}"), None).await;
        book.check(
            "a manager cannot read users of another domain (identity:get_user)",
            "A",
            "GET /v3/users/{D2 user}",
            Expect::Refused,
            &r,
        );
        let r = call(
            ca,
            Method::PATCH,
            &format!("/users/{ub}"),
            Some(json!({"user": {"email": "changed@example.invalid"}})),
        )
        .await;
        book.check(
            "a manager cannot update users of another domain (identity:update_user)",
            "A",
            "PATCH /v3/users/{D2 user}",
            Expect::Refused,
            &r,
        );
        let r = call(ca, Method::GET, &format!("/users/{ub}/projects"), None).await;
        book.check("a manager cannot list the projects of another domain's user (identity:list_user_projects)", "A", "GET /v3/users/{D2 user}/projects", Expect::Refused, &r);
        let path = format!("/domains/{d2}/users/{ub}/roles/{member}");
        let r = call(ca, Method::PUT, &path, None).await;
        book.check(
            "a manager cannot assign roles in another domain (identity:create_grant)",
            "A",
            "PUT /v3/domains/D2/users/{D2 user}/roles/member",
            Expect::Refused,
            &r,
        );
        match head(cb, &path).await {
            Ok(there) => book.observe(
                "a refused grant is not there (verified by B)",
                "B: HEAD /v3/domains/D2/users/{D2 user}/roles/member",
                !there,
                "404",
                if there { "204".into() } else { "404".into() },
            ),
            Err(e) => book.setup_failed(
                "B: HEAD /v3/domains/D2/users/{D2 user}/roles/member",
                e.to_string(),
            ),
        }
        // B grants, A tries to revoke.
        match call(cb, Method::PUT, &path, None).await {
            Ok(_) => {
                let r = call(ca, Method::DELETE, &path, None).await;
                book.check(
                    "a manager cannot revoke roles in another domain (identity:revoke_grant)",
                    "A",
                    "DELETE /v3/domains/D2/users/{D2 user}/roles/member",
                    Expect::Refused,
                    &r,
                );
            }
            Err(e) => book.setup_failed(
                "B: PUT /v3/domains/D2/users/{D2 user}/roles/member",
                e.to_string(),
            ),
        }
        // A fresh D2 user for the deletion attempt (never one deleted before).
        let name = sb.tracker().name("0302-ud");
        let (r, ud) = create(
            sb,
            cb,
            ResourceKind::User,
            "user",
            &name,
            json!({"domain_id": d2}),
        )
        .await;
        match (r, ud) {
            (Ok(_), Some(ud)) => {
                let r = call(ca, Method::DELETE, &format!("/users/{ud}"), None).await;
                book.check(
                    "a manager cannot delete users of another domain (identity:delete_user)",
                    "A",
                    "DELETE /v3/users/{D2 user}",
                    Expect::Refused,
                    &r,
                );
            }
            (r, _) => book.setup_failed("B: POST /v3/users (own domain)", status_text(&r)),
        }
    }

    ids.ua = ua;
    ids.ub = ub;
}

/// Projects.
async fn projects(book: &mut Book, x: &X<'_>, ids: &mut Ids) {
    let (ca, cb) = (&x.a.client, &x.b.client);
    let (d1, d2) = (x.a.domain_id.as_str(), x.b.domain_id.as_str());
    let (sa, sb, member) = (x.sa, x.sb, &x.member);
    let (ua, ub) = (ids.ua.clone(), ids.ub.clone());
    let name = sa.tracker().name("0302-pa");
    let (r, pa) = create(
        sa,
        ca,
        ResourceKind::Project,
        "project",
        &name,
        json!({"domain_id": d1}),
    )
    .await;
    book.check(
        "a manager creates projects in its own domain (identity:create_project)",
        "A",
        "POST /v3/projects (own domain)",
        Expect::Allowed,
        &r,
    );
    let name = sb.tracker().name("0302-px");
    let (r, _) = create(
        sb,
        ca,
        ResourceKind::Project,
        "project",
        &name,
        json!({"domain_id": d2}),
    )
    .await;
    book.check(
        "a manager cannot create projects in another domain (identity:create_project)",
        "A",
        "POST /v3/projects (domain_id of D2)",
        Expect::Refused,
        &r,
    );
    if let Some(pa) = &pa {
        let r = call(
            ca,
            Method::PATCH,
            &format!("/projects/{pa}"),
            Some(json!({"project": {"description": "changed"}})),
        )
        .await;
        book.check(
            "a manager updates projects of its domain (identity:update_project)",
            "A",
            "PATCH /v3/projects/{own}",
            Expect::Allowed,
            &r,
        );
        if let Some(ua) = &ua {
            let path = format!("/projects/{pa}/users/{ua}/roles/{member}");
            let r = call(ca, Method::PUT, &path, None).await;
            if book.check(
                "a manager assigns managed roles on its projects (identity:create_grant)",
                "A",
                "PUT /v3/projects/{own}/users/{own}/roles/member",
                Expect::Allowed,
                &r,
            ) {
                let r = call(ca, Method::GET, &format!("/users/{ua}/projects"), None).await;
                if book.check(
                    "a manager lists the projects of its users (identity:list_user_projects)",
                    "A",
                    "GET /v3/users/{own}/projects",
                    Expect::Allowed,
                    &r,
                ) {
                    let ids: Vec<String> = r
                        .as_ref()
                        .ok()
                        .and_then(|v| v["projects"].as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["id"].as_str().map(str::to_string))
                        .collect();
                    book.observe(
                        "the granted project is listed",
                        "A: GET /v3/users/{own}/projects",
                        ids == vec![pa.clone()],
                        "exactly the granted project",
                        format!("{} project(s)", ids.len()),
                    );
                }
            }
        }
    }
    let name = sb.tracker().name("0302-pb");
    let (r, pb) = create(
        sb,
        cb,
        ResourceKind::Project,
        "project",
        &name,
        json!({"domain_id": d2}),
    )
    .await;
    match (&r, pb) {
        (Ok(_), Some(pb)) => {
            let r = call(ca, Method::GET, &format!("/projects/{pb}"), None).await;
            book.check(
                "a manager cannot read projects of another domain (identity:get_project)",
                "A",
                "GET /v3/projects/{D2 project}",
                Expect::Refused,
                &r,
            );
            let r = call(
                ca,
                Method::PATCH,
                &format!("/projects/{pb}"),
                Some(json!({"project": {"description": "changed"}})),
            )
            .await;
            book.check(
                "a manager cannot update projects of another domain (identity:update_project)",
                "A",
                "PATCH /v3/projects/{D2 project}",
                Expect::Refused,
                &r,
            );
            if let Some(ub) = &ub {
                let path = format!("/projects/{pb}/users/{ub}/roles/{member}");
                let r = call(ca, Method::PUT, &path, None).await;
                book.check("a manager cannot assign roles on another domain's projects (identity:create_grant)", "A", "PUT /v3/projects/{D2 project}/users/{D2 user}/roles/member", Expect::Refused, &r);
                match head(cb, &path).await {
                    Ok(there) => book.observe(
                        "a refused grant is not there (verified by B)",
                        "B: HEAD /v3/projects/{D2 project}/users/{D2 user}/roles/member",
                        !there,
                        "404",
                        if there { "204".into() } else { "404".into() },
                    ),
                    Err(e) => book.setup_failed(
                        "B: HEAD /v3/projects/{D2 project}/users/{D2 user}/roles/member",
                        e.to_string(),
                    ),
                }
            }
            let r = call(ca, Method::DELETE, &format!("/projects/{pb}"), None).await;
            book.check(
                "a manager cannot delete projects of another domain (identity:delete_project)",
                "A",
                "DELETE /v3/projects/{D2 project}",
                Expect::Refused,
                &r,
            );
        }
        _ => book.setup_failed("B: POST /v3/projects (own domain)", status_text(&r)),
    }

    ids.pa = pa;
}

/// Groups and group membership.
async fn groups(book: &mut Book, x: &X<'_>, ids: &mut Ids) {
    let (ca, cb) = (&x.a.client, &x.b.client);
    let (d1, d2) = (x.a.domain_id.as_str(), x.b.domain_id.as_str());
    let (sa, sb, admin) = (x.sa, x.sb, &x.admin);
    let (ua, ub) = (ids.ua.clone(), ids.ub.clone());
    let name = sa.tracker().name("0302-ga");
    let (r, ga) = create(
        sa,
        ca,
        ResourceKind::Group,
        "group",
        &name,
        json!({"domain_id": d1}),
    )
    .await;
    book.check(
        "a manager creates groups in its own domain (identity:create_group)",
        "A",
        "POST /v3/groups (own domain)",
        Expect::Allowed,
        &r,
    );
    let name = sb.tracker().name("0302-gx");
    let (r, _) = create(
        sb,
        ca,
        ResourceKind::Group,
        "group",
        &name,
        json!({"domain_id": d2}),
    )
    .await;
    book.check(
        "a manager cannot create groups in another domain (identity:create_group)",
        "A",
        "POST /v3/groups (domain_id of D2)",
        Expect::Refused,
        &r,
    );
    if let Some(ga) = &ga {
        let r = call(cb, Method::GET, "/groups", None).await;
        if book.check(
            "a manager lists groups (identity:list_groups)",
            "B",
            "GET /v3/groups",
            Expect::Allowed,
            &r,
        ) {
            let foreign: Vec<String> = r
                .as_ref()
                .ok()
                .and_then(|v| v["groups"].as_array())
                .into_iter()
                .flatten()
                .filter(|g| g["domain_id"].as_str() != Some(d2))
                .filter_map(|g| g["name"].as_str().map(str::to_string))
                .collect();
            book.observe(
                "a manager sees only groups of its own domain",
                "B: GET /v3/groups",
                foreign.is_empty(),
                "only groups of D2",
                format!("groups of other domains: [{}]", foreign.join(", ")),
            );
        }
        let r = call(
            cb,
            Method::PATCH,
            &format!("/groups/{ga}"),
            Some(json!({"group": {"description": "changed"}})),
        )
        .await;
        book.check(
            "a manager cannot update groups of another domain (identity:update_group)",
            "B",
            "PATCH /v3/groups/{D1 group}",
            Expect::Refused,
            &r,
        );
        if let Some(ua) = &ua {
            let path = format!("/groups/{ga}/users/{ua}");
            let r = call(ca, Method::PUT, &path, None).await;
            book.check(
                "a manager adds its users to its groups (identity:add_user_to_group)",
                "A",
                "PUT /v3/groups/{own}/users/{own}",
                Expect::Allowed,
                &r,
            );
            let r = call(cb, Method::DELETE, &path, None).await;
            book.check("a manager cannot remove users from another domain's groups (identity:remove_user_from_group)", "B", "DELETE /v3/groups/{D1 group}/users/{D1 user}", Expect::Refused, &r);
        }
        if let Some(ub) = &ub {
            let r = call(ca, Method::PUT, &format!("/groups/{ga}/users/{ub}"), None).await;
            book.check("a manager cannot add another domain's users to its groups (identity:add_user_to_group)", "A", "PUT /v3/groups/{own}/users/{D2 user}", Expect::Refused, &r);
        }
        if let Some(admin) = &admin {
            let r = call(
                ca,
                Method::PUT,
                &format!("/domains/{d1}/groups/{ga}/roles/{admin}"),
                None,
            )
            .await;
            book.check("a manager cannot assign the admin role (is_domain_managed_role must not contain admin)", "A", "PUT /v3/domains/D1/groups/{own}/roles/admin", Expect::Refused, &r);
        }
        let r = call(cb, Method::DELETE, &format!("/groups/{ga}"), None).await;
        book.check(
            "a manager cannot delete groups of another domain (identity:delete_group)",
            "B",
            "DELETE /v3/groups/{D1 group}",
            Expect::Refused,
            &r,
        );
    }

    ids.ga = ga;
}

/// Roles cannot be created or changed.
async fn roles(book: &mut Book, x: &X<'_>) {
    let ca = &x.a.client;
    let (sa, member) = (x.sa, &x.member);
    let name = sa.tracker().name("0302-role");
    let (r, _) = create(sa, ca, ResourceKind::Role, "role", &name, json!({})).await;
    book.check(
        "a manager cannot create roles (identity:create_role)",
        "A",
        "POST /v3/roles",
        Expect::Refused,
        &r,
    );
    let r = call(
        ca,
        Method::PATCH,
        &format!("/roles/{member}"),
        Some(json!({"role": {"name": "member"}})),
    )
    .await;
    book.check(
        "a manager cannot modify roles (identity:update_role)",
        "A",
        "PATCH /v3/roles/{member}",
        Expect::Refused,
        &r,
    );
}

/// Deletions in the own domain, last (nothing later uses these objects).
async fn deletions(book: &mut Book, x: &X<'_>, ids: &Ids) {
    let ca = &x.a.client;
    let (ga, pa, ua) = (ids.ga.clone(), ids.pa.clone(), ids.ua.clone());
    for (kind, id) in [("groups", &ga), ("projects", &pa), ("users", &ua)] {
        if let Some(id) = id {
            let r = call(ca, Method::DELETE, &format!("/{kind}/{id}"), None).await;
            book.check(
                &format!(
                    "a manager deletes {kind} of its domain (identity:delete_{})",
                    kind.trim_end_matches('s')
                ),
                "A",
                &format!("DELETE /v3/{kind}/{{own}}"),
                Expect::Allowed,
                &r,
            );
        }
    }
}

/// Loads the clouds.yaml entry named by `var` and checks that it can give a domain-scoped
/// password token.
fn manager_config(ctx: &ProbeContext, var: &str) -> Result<CloudConfig, String> {
    let name = ctx
        .variables
        .get(var)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!(
                "no clouds.yaml entry for the domain managers: set -a {VAR_A}=CLOUD -a {VAR_B}=CLOUD \
                 (missing: {var})"
            )
        })?;
    let cfg = load_cloud(Some(name)).map_err(|e| format!("{var}={name}: {e}"))?;
    check_manager_config(var, &cfg)?;
    Ok(cfg)
}

/// A manager's entry must use password auth and a domain scope (no project scope).
pub fn check_manager_config(var: &str, cfg: &CloudConfig) -> Result<(), String> {
    let name = &cfg.name;
    if cfg.auth_type != AuthType::Password {
        return Err(format!(
            "{var}={name}: the check needs password authentication (auth_type {} is not supported by the standard's test)",
            cfg.auth_type.as_str()
        ));
    }
    let a = &cfg.auth;
    if a.project_id.is_some() || a.project_name.is_some() {
        return Err(format!(
            "{var}={name}: the entry names a project; a domain manager needs a domain-scoped token \
             (set domain_name or domain_id, no project)"
        ));
    }
    if a.domain_id.is_none() && a.domain_name.is_none() {
        return Err(format!(
            "{var}={name}: the entry names no domain scope (set auth.domain_name or auth.domain_id)"
        ));
    }
    Ok(())
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let configs = manager_config(ctx, VAR_A).and_then(|a| Ok((a, manager_config(ctx, VAR_B)?)));
        let outcome = match configs {
            Err(reason) => Outcome::abort(TESTCASE, reason),
            Ok((a, b)) => Box::pin(judge(ctx, a, b, ClientOptions::default())).await,
        };
        testcases
            .iter()
            .map(|id| {
                if id == TESTCASE {
                    outcome.clone()
                } else {
                    Outcome::abort(id, "not a testcase of the scs-0302 domain manager probe")
                }
            })
            .collect()
    })
}

async fn login(
    who: &'static str,
    cfg: CloudConfig,
    options: ClientOptions,
) -> Result<Client, Outcome> {
    let name = cfg.name.clone();
    match Client::connect_with(cfg, options).await {
        Ok(c) => Ok(c),
        Err(e) => {
            let finding = Finding::new(
                format!("{who}: POST /v3/auth/tokens (domain scope, cloud {name})"),
                "the domain-scoped login was refused",
            )
            .expected_actual("a token", e.to_string());
            let reason = if e.status() == Some(401) {
                format!(
                    "domain manager {who} ({name}) cannot log in with a domain scope: wrong credentials, \
                     or the user holds no role (such as `manager`) on its domain; Keystone does not say which"
                )
            } else {
                format!("domain manager {who} ({name}) cannot log in: {e}")
            };
            Err(Outcome::abort(TESTCASE, reason).with_evidence(vec![finding]))
        }
    }
}

/// Runs every check with the two managers' configurations (the testable core of the probe).
pub async fn judge(
    ctx: &ProbeContext,
    cfg_a: CloudConfig,
    cfg_b: CloudConfig,
    options: ClientOptions,
) -> Outcome {
    let tracker = ctx.services.tracker();
    let budget = tracker.probe_timeout(PROBE, BUDGET);
    let mut book = Book::default();
    let work = async {
        let ca = login("A", cfg_a, options.clone()).await?;
        let cb = login("B", cfg_b, options).await?;
        let mut managers = vec![];
        for (who, c) in [("A", ca), ("B", cb)] {
            match whoami(&c).await {
                Ok((_, domain_id)) => managers.push(Manager {
                    who,
                    client: c,
                    domain_id,
                }),
                Err(why) => {
                    // Reading the own user is allowed by Keystone's defaults (owner rule).
                    let refused = why.contains("HTTP 403");
                    let o = if refused {
                        Outcome::fail(TESTCASE, format!("{who} cannot read its own user: {why}"))
                    } else {
                        Outcome::abort(TESTCASE, format!("{who}: {why}"))
                    };
                    return Err(o);
                }
            }
        }
        Ok(managers)
    };
    let managers = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Err(Outcome::abort(TESTCASE, "interrupted")),
        r = work => r,
        _ = tokio::time::sleep(budget) => Err(Outcome::abort(TESTCASE, "the probe's time budget ran out while logging in")),
    };
    let managers = match managers {
        Ok(m) => m,
        Err(o) => return o,
    };
    let (a, b) = (&managers[0], &managers[1]);
    let sa = tracker.session(a.client.clone());
    let sb = tracker.session(b.client.clone());
    let stopped = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Some("interrupted".to_string()),
        _ = Box::pin(exercise(&mut book, a, b, &sa, &sb)) => None,
        _ = tokio::time::sleep(budget) => Some(format!(
            "the probe's time budget of {:.1} s ran out (resources cleaned up)", budget.as_secs_f64())),
    };
    let mut disposed = crate::openstack::Budget::exempt(sb.cleanup()).await;
    disposed.extend(crate::openstack::Budget::exempt(sa.cleanup()).await);
    let mut evidence = book.findings;
    evidence.extend(leftover_findings(&disposed));
    let total = book.passed + book.failed.len() + book.aborted.len();
    let outcome = if !book.failed.is_empty() {
        Outcome::fail(
            TESTCASE,
            format!(
                "{} of {total} checks broken: {}",
                book.failed.len(),
                book.failed.join("; ")
            ),
        )
    } else if let Some(why) = stopped {
        Outcome::abort(TESTCASE, why)
    } else if !book.aborted.is_empty() {
        Outcome::abort(
            TESTCASE,
            format!(
                "{} check(s) could not be made: {}",
                book.aborted.len(),
                book.aborted.join("; ")
            ),
        )
    } else {
        Outcome::pass(
            TESTCASE,
            format!("all {total} checks of the domain manager role hold"),
        )
    };
    outcome.with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::iaas::testing::TestCloud;
    use crate::verdict::Verdict;

    /// A domain-scoped clouds.yaml entry for manager `s` (`a` or `b`) of the simulator.
    fn manager(cloud: &TestCloud, s: &str) -> CloudConfig {
        let mut c = CloudConfig::password(
            &format!("dm-{s}"),
            &cloud.sim.auth_url(),
            &format!("manager-{s}"),
            &format!("secret-{s}"),
            "",
            &format!("domain-{s}"),
        );
        c.auth.project_name = None;
        c.auth.project_domain_name = None;
        c.auth.domain_name = Some(format!("domain-{s}"));
        c
    }

    fn fast() -> ClientOptions {
        ClientOptions {
            backoff: Duration::from_millis(1),
            max_retry_after: Duration::from_millis(1),
            ..ClientOptions::default()
        }
    }

    async fn judged(fixture: &str) -> (TestCloud, Outcome) {
        let cloud = TestCloud::yaml(fixture).await;
        let o = judge(
            &cloud.ctx,
            manager(&cloud, "a"),
            manager(&cloud, "b"),
            fast(),
        )
        .await;
        (cloud, o)
    }

    fn nothing_left(cloud: &TestCloud, o: &Outcome) {
        let log = cloud.sim.request_log();
        assert!(
            !o.evidence.iter().any(|f| f.message.contains("left behind")),
            "{o:?}"
        );
        let created = log
            .iter()
            .filter(|l| l.starts_with("POST") && !l.contains("auth/tokens"))
            .count();
        assert!(created > 0, "the probe created objects");
    }

    #[tokio::test]
    async fn compliant_keystone_passes() {
        let (cloud, o) = judged("base: compliant.yaml\ndomain_manager: {}\n").await;
        assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
        assert!(
            o.evidence.len() > 30,
            "every check is a finding: {}",
            o.evidence.len()
        );
        assert!(
            o.evidence
                .iter()
                .all(|f| f.expected.is_some() && f.actual.is_some())
        );
        nothing_left(&cloud, &o);
        assert_domains_clean(&cloud).await;
    }

    /// Each manager sees only its own user and group-/project-free domains afterwards.
    async fn assert_domains_clean(cloud: &TestCloud) {
        for s in ["a", "b"] {
            let c = Client::connect_with(manager(cloud, s), fast())
                .await
                .unwrap();
            for kind in ["users", "projects", "groups"] {
                let v = c.get_json("identity", &format!("/{kind}")).await.unwrap();
                let names: Vec<&str> = v[kind]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|x| x["name"].as_str())
                    .collect();
                let want: Vec<String> = if kind == "users" {
                    vec![format!("manager-{s}")]
                } else {
                    vec![]
                };
                assert_eq!(names, want, "{kind} of domain-{s}");
            }
        }
    }

    #[tokio::test]
    async fn interrupted_run_aborts_and_cleans_up() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\ndomain_manager: {}\nfaults:\n  - {service: identity, path: /groups, method: POST, kind: latency, delay_ms: 5000}\n",
        )
        .await;
        let cancel = cloud.ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            cancel.cancel();
        });
        let o = Box::pin(judge(
            &cloud.ctx,
            manager(&cloud, "a"),
            manager(&cloud, "b"),
            fast(),
        ))
        .await;
        assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
        assert_eq!(o.reason, "interrupted");
        assert_domains_clean(&cloud).await;
    }

    #[tokio::test]
    async fn no_policy_fails() {
        let (_, o) = judged("base: compliant.yaml\ndomain_manager: {policy: none}\n").await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(o.reason.contains("identity:list_roles"), "{}", o.reason);
    }

    #[tokio::test]
    async fn assignable_admin_fails_naming_the_rule() {
        let (_, o) =
            judged("base: compliant.yaml\ndomain_manager: {policy: admin-assignable}\n").await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(
            o.reason
                .contains("is_domain_managed_role must not contain admin"),
            "{}",
            o.reason
        );
        assert!(
            o.reason
                .contains("PUT /v3/domains/D1/users/{own}/roles/admin"),
            "{}",
            o.reason
        );
        assert!(!o.reason.contains("create_user"), "{}", o.reason);
    }

    #[tokio::test]
    async fn user_creation_in_any_domain_fails_naming_the_rule() {
        let (cloud, o) =
            judged("base: compliant.yaml\ndomain_manager: {policy: create-user-any-domain}\n")
                .await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(o.reason.contains("identity:create_user"), "{}", o.reason);
        assert!(
            o.reason.contains("POST /v3/users (domain_id of D2)"),
            "{}",
            o.reason
        );
        // The user A wrongly created in D2 was cleaned up by B.
        nothing_left(&cloud, &o);
        assert_domains_clean(&cloud).await;
    }

    #[tokio::test]
    async fn missing_manager_role_fails() {
        let (_, o) = judged("base: compliant.yaml\ndomain_manager: {manager_role: false}\n").await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(
            o.reason.contains("a role named `manager` is present"),
            "{}",
            o.reason
        );
    }

    #[tokio::test]
    async fn wrong_password_aborts() {
        let cloud = TestCloud::yaml("base: compliant.yaml\ndomain_manager: {}\n").await;
        let mut b = manager(&cloud, "b");
        b.auth.password = Some(crate::openstack::Secret::new("wrong"));
        let o = Box::pin(judge(&cloud.ctx, manager(&cloud, "a"), b, fast())).await;
        assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
        assert!(
            o.reason.contains("cannot log in with a domain scope"),
            "{}",
            o.reason
        );
    }

    #[tokio::test]
    async fn server_errors_abort_and_clean_up() {
        let (cloud, o) = judged(
            "base: compliant.yaml\ndomain_manager: {}\nfaults:\n  - {service: identity, path: /groups, method: POST, kind: status, status: 503}\n",
        )
        .await;
        assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
        nothing_left(&cloud, &o);
        assert_domains_clean(&cloud).await;
    }

    #[tokio::test]
    async fn missing_variables_abort() {
        let cloud = TestCloud::yaml("base: compliant.yaml\n").await;
        let out = cloud.run(probe().as_ref(), &[TESTCASE]).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(
            out[0].reason.contains("-a domain_manager_a=CLOUD"),
            "{}",
            out[0].reason
        );
    }

    #[test]
    fn project_scoped_entries_are_refused() {
        let c = CloudConfig::password("x", "http://k", "u", "p", "proj", "d");
        let e = check_manager_config(VAR_A, &c).unwrap_err();
        assert!(e.contains("names a project"), "{e}");
    }
}
