#!/usr/bin/python3
"""Creates what Tempest needs on the test bed for scs-0128 (idempotent; standard library only).

Two non-admin accounts in two projects of their own (Tempest's primary and alt
pre-provisioned credentials; a few identity tests change their own password and put it back,
so they are not the `testbed-member` user the other stages use), and writes
$TB_STATE/clouds-tempest.yaml with the entries `tempest-primary`, `tempest-alt` and
`testbed-admin` (for the leftover check). Called by .ci/testbed-tempest after up.sh.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keystone_setup as ks  # noqa: E402

ACCOUNTS = [("tempest-primary", "scs-tempest-a"), ("tempest-alt", "scs-tempest-b")]
PASSWORD = "testbed-tempest-secret"


def main():
    state = os.environ.get("SCS_TESTBED_DIR", "/tmp/scs-testbed")
    admin_pw = os.environ.get("TB_ADMIN_PASSWORD", "testbed-admin-secret")
    os.environ["TB_ADMIN_PASSWORD"] = admin_pw
    token = ks.admin_token()
    member = ks.role_id(token, "member")
    clouds = "# Written by testbed/openstack/tempest_accounts.py (scs-0128).\nclouds:\n"
    for cloud, name in ACCOUNTS:
        project, _ = ks.ensure(token, "projects", "project",
                               {"name": name, "domain_id": "default"},
                               name=name, domain_id="default")
        user, new = ks.ensure(token, "users", "user", {
            "name": name, "domain_id": "default", "password": PASSWORD,
            "default_project_id": project["id"]}, name=name, domain_id="default")
        if not new:
            # A run that was killed while a test had changed the password: reset it.
            ks.call("PATCH", f"/users/{user['id']}", {"user": {"password": PASSWORD}},
                    token=token)
        ks.grant(token, project["id"], user["id"], member)
        clouds += entry(cloud, name, PASSWORD, name)
    clouds += entry("testbed-admin", "admin", admin_pw, "admin")
    path = os.path.join(state, "clouds-tempest.yaml")
    with open(path, "w") as out:
        out.write(clouds)
    print(f"tempest accounts: {', '.join(n for _, n in ACCOUNTS)}; clouds in {path}")


def entry(cloud, user, password, project):
    return (f"  {cloud}:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n"
            f"      username: {user}\n      password: {password}\n"
            f"      project_name: {project}\n      user_domain_name: Default\n"
            f"      project_domain_name: Default\n    region_name: RegionOne\n"
            f"    interface: public\n    identity_api_version: 3\n")


if __name__ == "__main__":
    main()
