#!/usr/bin/python3
"""scs-0302 (domain manager role) on the real Zed Keystone of the test bed (standard library).

    domain_manager.py VARIANT     install the policy VARIANT and the fixtures it needs
    domain_manager.py cleanup     empty policy again (Keystone defaults); fails when users,
                                  projects, groups or roles named `_scs-*` are left

VARIANT is one of
    compliant               the domain-manager policy for Keystone before 2024.2
    none                    no policy (Keystone's defaults)
    admin-assignable        `is_domain_managed_role` also allows `admin`
    create-user-any-domain  `identity:create_user` without the domain condition
    manager-role-missing    B's manager holds `member` on its domain instead of `manager`

Fixtures (created once as the bootstrap admin): role `manager` (Zed's bootstrap lacks it),
domains `scs-dm-a` and `scs-dm-b`, a user `scs-dm-manager-a`/`-b` in each holding `manager` on
its domain. Writes `$SCS_TESTBED_DIR/clouds-dm.yaml` with the domain-scoped entries `dm-a` and
`dm-b` (auth_url, user, password, domain_name only: no project scope).

The policy is our own formulation of the rules listed in the SCS standard scs-0302's
implementation notes (scs-0302-w1), not a copy of its text. oslo.policy re-reads the file
when its mtime changes, so variants switch without a restart.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keystone_setup import call, admin_token, find, ensure, role_id  # noqa: E402

STATE = os.environ.get("SCS_TESTBED_DIR", "/tmp/scs-testbed")
POLICY = os.path.join(STATE, "keystone", "policy.yaml")
PASSWORD = "testbed-dm-secret"

BASE = {
    "is_domain_manager": "role:manager",
    "is_domain_managed_role":
        "'member':%(target.role.name)s or 'load-balancer_member':%(target.role.name)s",
    "dm_user": "rule:is_domain_manager and token.domain.id:%(target.user.domain_id)s",
    "dm_project": "rule:is_domain_manager and token.domain.id:%(target.project.domain_id)s",
    "dm_group": "rule:is_domain_manager and token.domain.id:%(target.group.domain_id)s",
    "dm_grant_target":
        "token.domain.id:%(target.domain.id)s or token.domain.id:%(target.project.domain_id)s",
    "dm_grant_actor":
        "token.domain.id:%(target.user.domain_id)s or token.domain.id:%(target.group.domain_id)s",
    "dm_grant": "rule:is_domain_manager and rule:dm_grant_target and rule:dm_grant_actor"
                " and rule:is_domain_managed_role",
    "identity:list_domains": "rule:admin_required or rule:is_domain_manager",
    "identity:list_roles": "rule:admin_required or rule:is_domain_manager",
    "identity:get_user": "rule:admin_required or user_id:%(target.user.id)s or rule:dm_user",
    "identity:list_users": "rule:admin_required or rule:is_domain_manager",
    "identity:create_user": "rule:admin_required or rule:dm_user",
    "identity:update_user": "rule:admin_required or rule:dm_user",
    "identity:delete_user": "rule:admin_required or rule:dm_user",
    "identity:list_user_projects":
        "rule:admin_required or user_id:%(target.user.id)s or rule:dm_user",
    "identity:get_project":
        "rule:admin_required or project_id:%(target.project.id)s or rule:dm_project",
    "identity:list_projects": "rule:admin_required or rule:is_domain_manager",
    "identity:create_project": "rule:admin_required or rule:dm_project",
    "identity:update_project": "rule:admin_required or rule:dm_project",
    "identity:delete_project": "rule:admin_required or rule:dm_project",
    "identity:get_group": "rule:admin_required or rule:dm_group",
    "identity:list_groups": "rule:admin_required or rule:is_domain_manager",
    "identity:create_group": "rule:admin_required or rule:dm_group",
    "identity:update_group": "rule:admin_required or rule:dm_group",
    "identity:delete_group": "rule:admin_required or rule:dm_group",
    "identity:list_users_in_group": "rule:admin_required or rule:dm_group",
    "identity:add_user_to_group":
        "rule:admin_required or (rule:dm_group and token.domain.id:%(target.user.domain_id)s)",
    "identity:remove_user_from_group":
        "rule:admin_required or (rule:dm_group and token.domain.id:%(target.user.domain_id)s)",
    "identity:check_user_in_group":
        "rule:admin_required or (rule:dm_group and token.domain.id:%(target.user.domain_id)s)",
    "identity:create_grant": "rule:admin_required or rule:dm_grant",
    "identity:revoke_grant": "rule:admin_required or rule:dm_grant",
    "identity:check_grant": "rule:admin_required or rule:dm_grant",
    "identity:list_grants": "rule:admin_required or (rule:is_domain_manager"
                            " and rule:dm_grant_target and rule:dm_grant_actor)",
}


def policy(variant):
    if variant in ("none", "cleanup"):
        return {}
    rules = dict(BASE)
    if variant == "admin-assignable":
        rules["is_domain_managed_role"] += " or 'admin':%(target.role.name)s"
    if variant == "create-user-any-domain":
        rules["identity:create_user"] = "rule:admin_required or rule:is_domain_manager"
    return rules


def write_policy(rules):
    # JSON is YAML; a strictly later mtime makes oslo.policy reload it.
    old = os.stat(POLICY).st_mtime if os.path.exists(POLICY) else 0
    with open(POLICY, "w") as f:
        json.dump(rules, f, indent=1)
    now = max(time.time(), old + 1)
    os.utime(POLICY, (now, now))


def fixtures(variant):
    token = admin_token()
    manager, _ = ensure(token, "roles", "role", {"name": "manager"}, name="manager")
    member = role_id(token, "member")
    entries = {}
    for s in ("a", "b"):
        dom, _ = ensure(token, "domains", "domain", {"name": f"scs-dm-{s}", "enabled": True},
                        name=f"scs-dm-{s}")
        user, _ = ensure(token, "users", "user",
                         {"name": f"scs-dm-manager-{s}", "domain_id": dom["id"],
                          "password": PASSWORD},
                         name=f"scs-dm-manager-{s}", domain_id=dom["id"])
        grants = f"/domains/{dom['id']}/users/{user['id']}/roles"
        if variant == "manager-role-missing" and s == "b":
            call("PUT", f"{grants}/{member}", token=token)
            call("DELETE", f"{grants}/{manager['id']}", token=token, ok=(204, 404))
        else:
            call("PUT", f"{grants}/{manager['id']}", token=token)
            call("DELETE", f"{grants}/{member}", token=token, ok=(204, 404))
        entries[f"dm-{s}"] = {
            "auth_type": "password",
            "auth": {"auth_url": "http://127.0.0.1:5000/v3", "username": user["name"],
                     "password": PASSWORD, "user_domain_name": dom["name"],
                     "domain_name": dom["name"]},
            "region_name": "RegionOne",
        }
    path = os.path.join(STATE, "clouds-dm.yaml")
    with open(path, "w") as f:
        json.dump({"clouds": entries}, f, indent=1)
    os.chmod(path, 0o600)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    variant = sys.argv[1]
    known = ("compliant", "none", "admin-assignable", "create-user-any-domain",
             "manager-role-missing", "cleanup")
    if variant not in known:
        sys.exit(f"unknown variant {variant}; one of {', '.join(known)}")
    if variant != "cleanup":
        fixtures(variant)
    write_policy(policy(variant))
    print(f"domain_manager: policy {variant} installed")
    if variant == "cleanup":
        token = admin_token()
        left = []
        for kind in ("users", "projects", "groups", "roles"):
            _, _, doc = call("GET", f"/{kind}", token=token)
            left += [f"{kind[:-1]} {x['name']}" for x in doc[kind] if x["name"].startswith("_scs-")]
        if left:
            sys.exit("domain_manager: left behind: " + ", ".join(left))


if __name__ == "__main__":
    main()
