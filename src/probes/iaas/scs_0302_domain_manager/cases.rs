//! The checks of scs-0302 as one table, in the order they run: users, projects, groups and
//! role assignments in the own domain (allowed) and in the other (refused), roles, and the
//! deletions last. The step model is [`super::steps`].

use super::steps::{Actor, Body, Expect, Judge, NewObject, Observe, Step};
use crate::openstack::ledger::ResourceKind;
use reqwest::Method;
use serde_json::json;

use Actor::{A, B};
use Expect::{Allowed, Refused};

/// A check that creating `object` gets the answer `expect`.
const fn create_check(
    object: NewObject,
    rule: &'static str,
    call: &'static str,
    expect: Expect,
) -> Step {
    Step::Create {
        object,
        judge: Judge::Check { rule, call, expect },
        then: &[],
    }
}

/// A request by `by` checked against `expect`, with no second look and no dependent steps.
const fn check(
    by: Actor,
    method: Method,
    path: &'static str,
    body: Option<Body>,
    rule: &'static str,
    call: &'static str,
    expect: Expect,
) -> Step {
    Step::Call {
        by,
        method,
        path,
        body,
        judge: Judge::Check { rule, call, expect },
        observe: None,
        then: &[],
    }
}

const USER_EMAIL: Option<Body> = Some(|| json!({"user": {"email": "changed@example.invalid"}}));
const PROJECT_DESCRIPTION: Option<Body> = Some(|| json!({"project": {"description": "changed"}}));
const GROUP_DESCRIPTION: Option<Body> = Some(|| json!({"group": {"description": "changed"}}));
const ROLE_NAME: Option<Body> = Some(|| json!({"role": {"name": "member"}}));
const ADMIN_NOT_MANAGED: &str =
    "a manager cannot assign the admin role (is_domain_managed_role must not contain admin)";

/// Users: create/read/update/grant in D1 allowed; the same in D2 refused.
const USERS: &[Step] = &[
    create_check(
        NewObject {
            by: A,
            ledger: A,
            kind: ResourceKind::User,
            key: "user",
            name: "0302-ua",
            domain: Some("d1"),
            keep: Some("ua"),
        },
        "a manager creates users in its own domain (identity:create_user)",
        "POST /v3/users (own domain)",
        Allowed,
    ),
    Step::Create {
        object: NewObject {
            by: B,
            ledger: B,
            kind: ResourceKind::User,
            key: "user",
            name: "0302-ub",
            domain: Some("d2"),
            keep: Some("ub"),
        },
        judge: Judge::Setup {
            what: "B: POST /v3/users (own domain)",
            status: false,
        },
        then: &[],
    },
    create_check(
        NewObject {
            by: A,
            ledger: B,
            kind: ResourceKind::User,
            key: "user",
            name: "0302-ux",
            domain: Some("d2"),
            keep: None,
        },
        "a manager cannot create users in another domain (identity:create_user)",
        "POST /v3/users (domain_id of D2)",
        Refused,
    ),
    create_check(
        NewObject {
            by: A,
            ledger: A,
            kind: ResourceKind::User,
            key: "user",
            name: "0302-un",
            domain: None,
            keep: None,
        },
        "a manager cannot create users without naming its domain (identity:create_user needs \
         target.user.domain_id)",
        "POST /v3/users (no domain_id)",
        Refused,
    ),
    Step::Call {
        by: A,
        method: Method::GET,
        path: "/users",
        body: None,
        judge: Judge::Check {
            rule: "a manager lists users (identity:list_users)",
            call: "GET /v3/users",
            expect: Allowed,
        },
        observe: Some(Observe::OnlyOwnDomain {
            list: "users",
            rule: "a manager sees only users of its own domain",
            expected: "only users of D1",
        }),
        then: &[],
    },
    check(
        A,
        Method::GET,
        "/users/{ua}",
        None,
        "a manager reads users of its domain (identity:get_user)",
        "GET /v3/users/{own}",
        Allowed,
    ),
    check(
        A,
        Method::PATCH,
        "/users/{ua}",
        USER_EMAIL,
        "a manager updates users of its domain (identity:update_user)",
        "PATCH /v3/users/{own}",
        Allowed,
    ),
    Step::Call {
        by: A,
        method: Method::PUT,
        path: "/domains/{d1}/users/{ua}/roles/{member}",
        body: None,
        judge: Judge::Check {
            rule: "a manager assigns a managed role on its domain (identity:create_grant)",
            call: "PUT /v3/domains/D1/users/{own}/roles/member",
            expect: Allowed,
        },
        observe: None,
        then: &[
            Step::Call {
                by: A,
                method: Method::HEAD,
                path: "/domains/{d1}/users/{ua}/roles/{member}",
                body: None,
                judge: Judge::Check {
                    rule: "a manager checks grants in its domain (identity:check_grant)",
                    call: "HEAD /v3/domains/D1/users/{own}/roles/member",
                    expect: Allowed,
                },
                observe: Some(Observe::GrantThere {
                    rule: "an assigned grant is there",
                }),
                then: &[],
            },
            check(
                A,
                Method::DELETE,
                "/domains/{d1}/users/{ua}/roles/{member}",
                None,
                "a manager revokes managed roles in its domain (identity:revoke_grant)",
                "DELETE /v3/domains/D1/users/{own}/roles/member",
                Allowed,
            ),
        ],
    },
    check(
        A,
        Method::PUT,
        "/domains/{d1}/users/{ua}/roles/{admin}",
        None,
        ADMIN_NOT_MANAGED,
        "PUT /v3/domains/D1/users/{own}/roles/admin",
        Refused,
    ),
    Step::IfMade {
        id: "ub",
        steps: &[
            check(
                A,
                Method::GET,
                "/users/{ub}",
                None,
                "a manager cannot read users of another domain (identity:get_user)",
                "GET /v3/users/{D2 user}",
                Refused,
            ),
            check(
                A,
                Method::PATCH,
                "/users/{ub}",
                USER_EMAIL,
                "a manager cannot update users of another domain (identity:update_user)",
                "PATCH /v3/users/{D2 user}",
                Refused,
            ),
            check(
                A,
                Method::GET,
                "/users/{ub}/projects",
                None,
                "a manager cannot list the projects of another domain's user \
                 (identity:list_user_projects)",
                "GET /v3/users/{D2 user}/projects",
                Refused,
            ),
            check(
                A,
                Method::PUT,
                "/domains/{d2}/users/{ub}/roles/{member}",
                None,
                "a manager cannot assign roles in another domain (identity:create_grant)",
                "PUT /v3/domains/D2/users/{D2 user}/roles/member",
                Refused,
            ),
            Step::RefusedGrantAbsent {
                path: "/domains/{d2}/users/{ub}/roles/{member}",
                what: "B: HEAD /v3/domains/D2/users/{D2 user}/roles/member",
            },
            // B grants, A tries to revoke.
            Step::Call {
                by: B,
                method: Method::PUT,
                path: "/domains/{d2}/users/{ub}/roles/{member}",
                body: None,
                judge: Judge::Setup {
                    what: "B: PUT /v3/domains/D2/users/{D2 user}/roles/member",
                    status: false,
                },
                observe: None,
                then: &[check(
                    A,
                    Method::DELETE,
                    "/domains/{d2}/users/{ub}/roles/{member}",
                    None,
                    "a manager cannot revoke roles in another domain (identity:revoke_grant)",
                    "DELETE /v3/domains/D2/users/{D2 user}/roles/member",
                    Refused,
                )],
            },
            // A fresh D2 user for the deletion attempt (never one deleted before).
            Step::Create {
                object: NewObject {
                    by: B,
                    ledger: B,
                    kind: ResourceKind::User,
                    key: "user",
                    name: "0302-ud",
                    domain: Some("d2"),
                    keep: Some("ud"),
                },
                judge: Judge::Setup {
                    what: "B: POST /v3/users (own domain)",
                    status: true,
                },
                then: &[check(
                    A,
                    Method::DELETE,
                    "/users/{ud}",
                    None,
                    "a manager cannot delete users of another domain (identity:delete_user)",
                    "DELETE /v3/users/{D2 user}",
                    Refused,
                )],
            },
        ],
    },
];

/// Projects.
const PROJECTS: &[Step] = &[
    create_check(
        NewObject {
            by: A,
            ledger: A,
            kind: ResourceKind::Project,
            key: "project",
            name: "0302-pa",
            domain: Some("d1"),
            keep: Some("pa"),
        },
        "a manager creates projects in its own domain (identity:create_project)",
        "POST /v3/projects (own domain)",
        Allowed,
    ),
    create_check(
        NewObject {
            by: A,
            ledger: B,
            kind: ResourceKind::Project,
            key: "project",
            name: "0302-px",
            domain: Some("d2"),
            keep: None,
        },
        "a manager cannot create projects in another domain (identity:create_project)",
        "POST /v3/projects (domain_id of D2)",
        Refused,
    ),
    check(
        A,
        Method::PATCH,
        "/projects/{pa}",
        PROJECT_DESCRIPTION,
        "a manager updates projects of its domain (identity:update_project)",
        "PATCH /v3/projects/{own}",
        Allowed,
    ),
    Step::Call {
        by: A,
        method: Method::PUT,
        path: "/projects/{pa}/users/{ua}/roles/{member}",
        body: None,
        judge: Judge::Check {
            rule: "a manager assigns managed roles on its projects (identity:create_grant)",
            call: "PUT /v3/projects/{own}/users/{own}/roles/member",
            expect: Allowed,
        },
        observe: None,
        then: &[Step::Call {
            by: A,
            method: Method::GET,
            path: "/users/{ua}/projects",
            body: None,
            judge: Judge::Check {
                rule: "a manager lists the projects of its users (identity:list_user_projects)",
                call: "GET /v3/users/{own}/projects",
                expect: Allowed,
            },
            observe: Some(Observe::ListsExactly {
                list: "projects",
                id: "pa",
                rule: "the granted project is listed",
                expected: "exactly the granted project",
            }),
            then: &[],
        }],
    },
    Step::Create {
        object: NewObject {
            by: B,
            ledger: B,
            kind: ResourceKind::Project,
            key: "project",
            name: "0302-pb",
            domain: Some("d2"),
            keep: Some("pb"),
        },
        judge: Judge::Setup {
            what: "B: POST /v3/projects (own domain)",
            status: true,
        },
        then: &[
            check(
                A,
                Method::GET,
                "/projects/{pb}",
                None,
                "a manager cannot read projects of another domain (identity:get_project)",
                "GET /v3/projects/{D2 project}",
                Refused,
            ),
            check(
                A,
                Method::PATCH,
                "/projects/{pb}",
                PROJECT_DESCRIPTION,
                "a manager cannot update projects of another domain (identity:update_project)",
                "PATCH /v3/projects/{D2 project}",
                Refused,
            ),
            check(
                A,
                Method::PUT,
                "/projects/{pb}/users/{ub}/roles/{member}",
                None,
                "a manager cannot assign roles on another domain's projects \
                 (identity:create_grant)",
                "PUT /v3/projects/{D2 project}/users/{D2 user}/roles/member",
                Refused,
            ),
            Step::RefusedGrantAbsent {
                path: "/projects/{pb}/users/{ub}/roles/{member}",
                what: "B: HEAD /v3/projects/{D2 project}/users/{D2 user}/roles/member",
            },
            check(
                A,
                Method::DELETE,
                "/projects/{pb}",
                None,
                "a manager cannot delete projects of another domain (identity:delete_project)",
                "DELETE /v3/projects/{D2 project}",
                Refused,
            ),
        ],
    },
];

/// Groups and group membership.
const GROUPS: &[Step] = &[
    create_check(
        NewObject {
            by: A,
            ledger: A,
            kind: ResourceKind::Group,
            key: "group",
            name: "0302-ga",
            domain: Some("d1"),
            keep: Some("ga"),
        },
        "a manager creates groups in its own domain (identity:create_group)",
        "POST /v3/groups (own domain)",
        Allowed,
    ),
    create_check(
        NewObject {
            by: A,
            ledger: B,
            kind: ResourceKind::Group,
            key: "group",
            name: "0302-gx",
            domain: Some("d2"),
            keep: None,
        },
        "a manager cannot create groups in another domain (identity:create_group)",
        "POST /v3/groups (domain_id of D2)",
        Refused,
    ),
    Step::IfMade {
        id: "ga",
        steps: &[
            Step::Call {
                by: B,
                method: Method::GET,
                path: "/groups",
                body: None,
                judge: Judge::Check {
                    rule: "a manager lists groups (identity:list_groups)",
                    call: "GET /v3/groups",
                    expect: Allowed,
                },
                observe: Some(Observe::OnlyOwnDomain {
                    list: "groups",
                    rule: "a manager sees only groups of its own domain",
                    expected: "only groups of D2",
                }),
                then: &[],
            },
            check(
                B,
                Method::PATCH,
                "/groups/{ga}",
                GROUP_DESCRIPTION,
                "a manager cannot update groups of another domain (identity:update_group)",
                "PATCH /v3/groups/{D1 group}",
                Refused,
            ),
            check(
                A,
                Method::PUT,
                "/groups/{ga}/users/{ua}",
                None,
                "a manager adds its users to its groups (identity:add_user_to_group)",
                "PUT /v3/groups/{own}/users/{own}",
                Allowed,
            ),
            check(
                B,
                Method::DELETE,
                "/groups/{ga}/users/{ua}",
                None,
                "a manager cannot remove users from another domain's groups \
                 (identity:remove_user_from_group)",
                "DELETE /v3/groups/{D1 group}/users/{D1 user}",
                Refused,
            ),
            check(
                A,
                Method::PUT,
                "/groups/{ga}/users/{ub}",
                None,
                "a manager cannot add another domain's users to its groups \
                 (identity:add_user_to_group)",
                "PUT /v3/groups/{own}/users/{D2 user}",
                Refused,
            ),
            check(
                A,
                Method::PUT,
                "/domains/{d1}/groups/{ga}/roles/{admin}",
                None,
                ADMIN_NOT_MANAGED,
                "PUT /v3/domains/D1/groups/{own}/roles/admin",
                Refused,
            ),
            check(
                B,
                Method::DELETE,
                "/groups/{ga}",
                None,
                "a manager cannot delete groups of another domain (identity:delete_group)",
                "DELETE /v3/groups/{D1 group}",
                Refused,
            ),
        ],
    },
];

/// Roles cannot be created or changed.
const ROLES: &[Step] = &[
    create_check(
        NewObject {
            by: A,
            ledger: A,
            kind: ResourceKind::Role,
            key: "role",
            name: "0302-role",
            domain: None,
            keep: None,
        },
        "a manager cannot create roles (identity:create_role)",
        "POST /v3/roles",
        Refused,
    ),
    check(
        A,
        Method::PATCH,
        "/roles/{member}",
        ROLE_NAME,
        "a manager cannot modify roles (identity:update_role)",
        "PATCH /v3/roles/{member}",
        Refused,
    ),
];

/// Deletions in the own domain, last (nothing later uses these objects).
const DELETIONS: &[Step] = &[
    check(
        A,
        Method::DELETE,
        "/groups/{ga}",
        None,
        "a manager deletes groups of its domain (identity:delete_group)",
        "DELETE /v3/groups/{own}",
        Allowed,
    ),
    check(
        A,
        Method::DELETE,
        "/projects/{pa}",
        None,
        "a manager deletes projects of its domain (identity:delete_project)",
        "DELETE /v3/projects/{own}",
        Allowed,
    ),
    check(
        A,
        Method::DELETE,
        "/users/{ua}",
        None,
        "a manager deletes users of its domain (identity:delete_user)",
        "DELETE /v3/users/{own}",
        Allowed,
    ),
];

/// Every section, in the order they run.
pub(super) const SECTIONS: &[&[Step]] = &[USERS, PROJECTS, GROUPS, ROLES, DELETIONS];
