//! A small Keystone for scs-0302 (domain manager role): domains, users, projects, groups,
//! roles, role assignments and group membership, with the policy of the standard's
//! implementation notes for Keystone before 2024.2 evaluated natively, or one of its broken
//! variants ([`DmPolicy`]). Serves only when the fixture has a `domain_manager` section; the
//! fixture's ordinary user keeps working as before.
//!
//! Fixed content: domains `domain-a` and `domain-b`, with users `manager-a` (password
//! `secret-a`) and `manager-b` (`secret-b`) holding the role `manager` on their domain (the role
//! `member` instead when `manager_role: false`), and roles `admin`, `member`, `reader`,
//! `load-balancer_member` and `manager`.

use super::SimState;
use super::identity::catalog;
use super::pipeline::Req;
use super::respond::{empty, error, json_response};
use crate::sim::fixture::{DmPolicy, DomainManagerDef};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone)]
struct Obj {
    name: String,
    domain_id: String,
    extra: serde_json::Map<String, Value>,
}

/// (target kind `domains`/`projects`, target id, actor kind `users`/`groups`, actor id, role id)
type Grant = (String, String, String, String, String);

struct Tok {
    user_id: String,
    domain_id: String,
    roles: Vec<String>,
}

/// The simulated identity store.
pub(crate) struct Keystone {
    def: DomainManagerDef,
    domains: BTreeMap<String, String>,
    passwords: BTreeMap<String, String>,
    users: BTreeMap<String, Obj>,
    projects: BTreeMap<String, Obj>,
    groups: BTreeMap<String, Obj>,
    roles: BTreeMap<String, String>,
    grants: BTreeSet<Grant>,
    members: BTreeSet<(String, String)>,
    tokens: BTreeMap<String, Tok>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn forbidden(action: &str) -> Response {
    error(
        "identity",
        403,
        &format!("You are not authorized to perform the requested action: {action}."),
    )
}

fn not_found() -> Response {
    error("identity", 404, "Could not find the resource.")
}

impl Keystone {
    pub(crate) fn new(def: DomainManagerDef) -> Keystone {
        let mut k = Keystone {
            def,
            domains: BTreeMap::new(),
            passwords: BTreeMap::new(),
            users: BTreeMap::new(),
            projects: BTreeMap::new(),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            grants: BTreeSet::new(),
            members: BTreeSet::new(),
            tokens: BTreeMap::new(),
        };
        let mut names = vec!["admin", "member", "reader", "load-balancer_member"];
        if k.def.manager_role {
            names.push("manager");
        }
        for r in names {
            k.roles.insert(new_id(), r.into());
        }
        let held = if k.def.manager_role {
            "manager"
        } else {
            "member"
        };
        let held = k.role_id(held).unwrap_or_default();
        for s in ["a", "b"] {
            let d = new_id();
            k.domains.insert(d.clone(), format!("domain-{s}"));
            let u = new_id();
            k.users.insert(
                u.clone(),
                Obj {
                    name: format!("manager-{s}"),
                    domain_id: d.clone(),
                    extra: Default::default(),
                },
            );
            k.passwords.insert(u.clone(), format!("secret-{s}"));
            k.grants
                .insert(("domains".into(), d, "users".into(), u, held.clone()));
        }
        k
    }

    fn role_id(&self, name: &str) -> Option<String> {
        self.roles
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| id.clone())
    }

    fn domain_by(&self, d: &Value) -> Option<String> {
        if let Some(id) = d["id"].as_str() {
            return self.domains.contains_key(id).then(|| id.to_string());
        }
        let name = d["name"].as_str()?;
        self.domains
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| id.clone())
    }

    /// `POST /v3/auth/tokens` for the domain managers; `None` for anyone else.
    pub(crate) fn auth(&mut self, st: &SimState, r: &Req) -> Option<Response> {
        let pu = &r.body["auth"]["identity"]["password"]["user"];
        let uid = if let Some(id) = pu["id"].as_str() {
            self.users.contains_key(id).then(|| id.to_string())
        } else {
            let name = pu["name"].as_str()?;
            let dom = self.domain_by(&pu["domain"])?;
            self.users
                .iter()
                .find(|(_, u)| u.name == name && u.domain_id == dom)
                .map(|(id, _)| id.clone())
        }?;
        let unauthorized = || {
            error(
                "identity",
                401,
                "The request you have made requires authentication.",
            )
        };
        if self.passwords.get(&uid).map(String::as_str) != pu["password"].as_str() {
            return Some(unauthorized());
        }
        let Some(dom) = self.domain_by(&r.body["auth"]["scope"]["domain"]) else {
            return Some(unauthorized());
        };
        let roles: Vec<String> = self
            .grants
            .iter()
            .filter(|g| g.0 == "domains" && g.1 == dom && g.2 == "users" && g.3 == uid)
            .filter_map(|g| self.roles.get(&g.4).cloned())
            .collect();
        if roles.is_empty() {
            return Some(unauthorized());
        }
        let user = &self.users[&uid];
        let token = json!({"token": {
            "methods": ["password"],
            "user": {"id": uid, "name": user.name,
                "domain": {"id": user.domain_id, "name": self.domains[&user.domain_id]}},
            "domain": {"id": dom, "name": self.domains[&dom]},
            "roles": roles.iter().map(|n| json!({"id": self.role_id(n), "name": n})).collect::<Vec<_>>(),
            "catalog": catalog(st),
            "expires_at": (chrono::Utc::now() + chrono::Duration::hours(12))
                .format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "issued_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S.000000Z").to_string(),
            "audit_ids": [new_id()[..22].to_string()],
        }});
        let tid = new_id();
        self.tokens.insert(
            tid.clone(),
            Tok {
                user_id: uid.clone(),
                domain_id: dom,
                roles,
            },
        );
        let mut resp = json_response(201, &token);
        if let Ok(v) = axum::http::HeaderValue::from_str(&tid) {
            resp.headers_mut().insert("X-Subject-Token", v);
        }
        Some(resp)
    }

    fn store(&mut self, kind: &str) -> Option<&mut BTreeMap<String, Obj>> {
        match kind {
            "users" => Some(&mut self.users),
            "projects" => Some(&mut self.projects),
            "groups" => Some(&mut self.groups),
            _ => None,
        }
    }

    fn domain_of(&self, kind: &str, id: &str) -> Option<String> {
        match kind {
            "domains" => self.domains.contains_key(id).then(|| id.to_string()),
            "users" => self.users.get(id).map(|o| o.domain_id.clone()),
            "projects" => self.projects.get(id).map(|o| o.domain_id.clone()),
            "groups" => self.groups.get(id).map(|o| o.domain_id.clone()),
            _ => None,
        }
    }

    fn managed(&self, role_id: &str) -> bool {
        let name = self.roles.get(role_id).map(String::as_str).unwrap_or("");
        matches!(name, "member" | "load-balancer_member")
            || (self.def.policy == DmPolicy::AdminAssignable && name == "admin")
    }

    /// Any other identity request with a domain manager's token; `None` for other tokens.
    pub(crate) fn handle(&mut self, r: &Req, segs: &[&str]) -> Option<Response> {
        let tid = r.headers.get("x-auth-token")?.to_str().ok()?;
        let tok = self.tokens.get(tid)?;
        let me = tok.user_id.clone();
        let (dom, manager) = (
            tok.domain_id.clone(),
            tok.roles.iter().any(|x| x == "manager"),
        );
        let policy = self.def.policy;
        // Without the policy file, Zed's defaults let a manager do nothing here.
        let mgr = manager && policy != DmPolicy::None;
        let rest: Vec<&str> = segs.iter().skip(2).copied().collect();
        let m = &r.method;
        let obj_json = |kind: &str, id: &str, o: &Obj| {
            let mut v = o.extra.clone();
            v.insert("id".into(), json!(id));
            v.insert("name".into(), json!(o.name));
            v.insert("domain_id".into(), json!(o.domain_id));
            let _ = kind;
            Value::Object(v)
        };
        let resp = match (m, rest.as_slice()) {
            (&Method::GET, ["domains"]) => {
                if !mgr {
                    return Some(forbidden("identity:list_domains"));
                }
                let ds: Vec<Value> = self
                    .domains
                    .iter()
                    .filter(|(_, n)| r.query.get("name").is_none_or(|q| q == *n))
                    .map(|(id, n)| json!({"id": id, "name": n, "enabled": true}))
                    .collect();
                json_response(200, &json!({"domains": ds}))
            }
            (&Method::GET, ["roles"]) => {
                if !mgr {
                    return Some(forbidden("identity:list_roles"));
                }
                let rs: Vec<Value> = self
                    .roles
                    .iter()
                    .filter(|(_, n)| r.query.get("name").is_none_or(|q| q == *n))
                    .map(|(id, n)| json!({"id": id, "name": n}))
                    .collect();
                json_response(200, &json!({"roles": rs}))
            }
            (&Method::POST, ["roles"]) => forbidden("identity:create_role"),
            (_, ["roles", _]) => forbidden("identity:update_role"),
            (&Method::GET, [kind @ ("users" | "projects" | "groups")]) => {
                if !mgr {
                    return Some(forbidden(&format!("identity:list_{kind}")));
                }
                let key = kind.to_string();
                let list: Vec<Value> = self
                    .store(kind)?
                    .iter()
                    .filter(|(_, o)| o.domain_id == dom)
                    .map(|(id, o)| obj_json(kind, id, o))
                    .collect();
                json_response(200, &json!({ key: list }))
            }
            (&Method::POST, [kind @ ("users" | "projects" | "groups")]) => {
                let key = kind.trim_end_matches('s').to_string();
                let body = r.body[&key].clone();
                let target = body["domain_id"].as_str().map(str::to_string);
                let allowed = mgr
                    && (target.as_deref() == Some(dom.as_str())
                        || (*kind == "users" && policy == DmPolicy::CreateUserAnyDomain));
                if !allowed {
                    return Some(forbidden(&format!("identity:create_{key}")));
                }
                let Some(name) = body["name"].as_str() else {
                    return Some(error("identity", 400, "name is required"));
                };
                let domain_id = target.unwrap_or_else(|| dom.clone());
                if !self.domains.contains_key(&domain_id) {
                    return Some(not_found());
                }
                let id = new_id();
                let mut extra = body.as_object().cloned().unwrap_or_default();
                for k in ["id", "name", "domain_id", "password"] {
                    extra.remove(k);
                }
                let o = Obj {
                    name: name.into(),
                    domain_id,
                    extra,
                };
                let v = obj_json(kind, &id, &o);
                self.store(kind)?.insert(id, o);
                json_response(201, &json!({ key: v }))
            }
            (_, [kind @ ("users" | "projects" | "groups"), id]) => {
                let key = kind.trim_end_matches('s').to_string();
                let Some(o) = self.store(kind)?.get(*id).cloned() else {
                    return Some(not_found());
                };
                let own = *kind == "users" && *m == Method::GET && *id == me;
                let action = match *m {
                    Method::GET => "get",
                    Method::PATCH => "update",
                    Method::DELETE => "delete",
                    _ => return Some(error("identity", 405, "Method not allowed")),
                };
                if !(own || (mgr && o.domain_id == dom)) {
                    return Some(forbidden(&format!("identity:{action}_{key}")));
                }
                match action {
                    "get" => json_response(200, &json!({ key.clone(): obj_json(kind, id, &o) })),
                    "update" => {
                        let mut o = o;
                        if let Some(fields) = r.body[&key].as_object() {
                            for (k, v) in fields {
                                if k == "name" {
                                    o.name = v.as_str().unwrap_or(&o.name).to_string();
                                } else if k != "id" && k != "domain_id" && k != "password" {
                                    o.extra.insert(k.clone(), v.clone());
                                }
                            }
                        }
                        let v = obj_json(kind, id, &o);
                        self.store(kind)?.insert(id.to_string(), o);
                        json_response(200, &json!({ key: v }))
                    }
                    _ => {
                        self.store(kind)?.remove(*id);
                        let gone = id.to_string();
                        self.grants.retain(|g| g.1 != gone && g.3 != gone);
                        self.members.retain(|(g, u)| *g != gone && *u != gone);
                        empty(204)
                    }
                }
            }
            (&Method::GET, ["users", uid, "projects"]) => {
                let Some(ud) = self.domain_of("users", uid) else {
                    return Some(not_found());
                };
                if !(mgr && ud == dom) {
                    return Some(forbidden("identity:list_user_projects"));
                }
                let ps: BTreeSet<&String> = self
                    .grants
                    .iter()
                    .filter(|g| g.0 == "projects" && g.2 == "users" && g.3 == *uid)
                    .map(|g| &g.1)
                    .collect();
                let list: Vec<Value> = ps
                    .into_iter()
                    .filter_map(|p| self.projects.get(p).map(|o| obj_json("projects", p, o)))
                    .collect();
                json_response(200, &json!({"projects": list}))
            }
            (_, ["groups", gid, "users"]) if *m == Method::GET => {
                let Some(gd) = self.domain_of("groups", gid) else {
                    return Some(not_found());
                };
                if !(mgr && gd == dom) {
                    return Some(forbidden("identity:list_users_in_group"));
                }
                let list: Vec<Value> = self
                    .members
                    .iter()
                    .filter(|(g, _)| g == gid)
                    .filter_map(|(_, u)| self.users.get(u).map(|o| obj_json("users", u, o)))
                    .collect();
                json_response(200, &json!({"users": list}))
            }
            (_, ["groups", gid, "users", uid]) => {
                let (Some(gd), Some(ud)) =
                    (self.domain_of("groups", gid), self.domain_of("users", uid))
                else {
                    return Some(not_found());
                };
                if !(mgr && gd == dom && ud == dom) {
                    return Some(forbidden("identity:add_user_to_group"));
                }
                let pair = (gid.to_string(), uid.to_string());
                match *m {
                    Method::PUT => {
                        self.members.insert(pair);
                        empty(204)
                    }
                    Method::DELETE => {
                        if self.members.remove(&pair) {
                            empty(204)
                        } else {
                            not_found()
                        }
                    }
                    _ => empty(if self.members.contains(&pair) {
                        204
                    } else {
                        404
                    }),
                }
            }
            (
                _,
                [
                    tk @ ("domains" | "projects"),
                    t,
                    ak @ ("users" | "groups"),
                    a,
                    "roles",
                    rid,
                ],
            ) => {
                let (Some(td), Some(ad)) = (self.domain_of(tk, t), self.domain_of(ak, a)) else {
                    return Some(not_found());
                };
                if !self.roles.contains_key(*rid) {
                    return Some(not_found());
                }
                if !(mgr && td == dom && ad == dom && self.managed(rid)) {
                    return Some(forbidden("identity:create_grant"));
                }
                let g = (
                    tk.to_string(),
                    t.to_string(),
                    ak.to_string(),
                    a.to_string(),
                    rid.to_string(),
                );
                match *m {
                    Method::PUT => {
                        self.grants.insert(g);
                        empty(204)
                    }
                    Method::DELETE => {
                        if self.grants.remove(&g) {
                            empty(204)
                        } else {
                            not_found()
                        }
                    }
                    _ => empty(if self.grants.contains(&g) { 204 } else { 404 }),
                }
            }
            (&Method::GET, ["role_assignments"]) => {
                let (tk, t) = if let Some(p) = r.query.get("scope.project.id") {
                    ("projects", p.clone())
                } else if let Some(d) = r.query.get("scope.domain.id") {
                    ("domains", d.clone())
                } else {
                    return Some(forbidden("identity:list_role_assignments"));
                };
                if !(mgr && self.domain_of(tk, &t).as_deref() == Some(dom.as_str())) {
                    return Some(forbidden("identity:list_role_assignments"));
                }
                let list: Vec<Value> = self
                    .grants
                    .iter()
                    .filter(|g| g.0 == tk && g.1 == t)
                    .filter(|g| r.query.get("group.id").is_none_or(|x| g.2 == "groups" && *x == g.3))
                    .filter(|g| r.query.get("user.id").is_none_or(|x| g.2 == "users" && *x == g.3))
                    .map(|g| {
                        let scope = if tk == "projects" { "project" } else { "domain" };
                        let actor = if g.2 == "users" { "user" } else { "group" };
                        json!({"role": {"id": g.4}, "scope": {scope: {"id": g.1}}, actor: {"id": g.3}})
                    })
                    .collect();
                json_response(200, &json!({"role_assignments": list}))
            }
            _ => return None,
        };
        Some(resp)
    }
}
