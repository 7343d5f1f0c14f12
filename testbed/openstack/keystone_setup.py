#!/usr/bin/python3
"""Registers the test bed in Keystone (idempotent; standard library only).

Creates the service project and one service user per running service, the catalog (running
services plus catalog-only entries), the test project with a member-only user, and writes
clouds.yaml. Called by up.sh; settings come from the environment (see up.sh).
"""

import json
import os
import sys
import urllib.error
import urllib.request

KEYSTONE = "http://127.0.0.1:5000/v3"
ENV = os.environ


def call(method, path, body=None, token=None, ok=(200, 201, 204)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(KEYSTONE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read().decode()
            return resp.status, resp.headers, (json.loads(text) if text.strip() else None)
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        if err.code in ok:
            return err.code, err.headers, None
        sys.exit(f"keystone: {method} {path}: HTTP {err.code}: {text[:300]}")


def admin_token():
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": ENV["TB_ADMIN_PASSWORD"]}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    _, headers, _ = call("POST", "/auth/tokens", body)
    return headers["X-Subject-Token"]


def find(token, collection, key, **filters):
    query = "&".join(f"{k}={urllib.request.quote(v)}" for k, v in filters.items())
    _, _, doc = call("GET", f"/{collection}?{query}", token=token)
    items = doc[collection]
    return items[0] if items else None


def ensure(token, collection, key, body, **filters):
    item = find(token, collection, key, **filters)
    if item:
        return item, False
    _, _, doc = call("POST", f"/{collection}", {key: body}, token=token)
    return doc[key], True


def role_id(token, name):
    item = find(token, "roles", "role", name=name)
    if not item:
        sys.exit(f"keystone: role {name} does not exist")
    return item["id"]


def grant(token, project, user, role):
    call("PUT", f"/projects/{project}/users/{user}/roles/{role}", token=token)


def main():
    token = admin_token()
    created = 0
    service_project, _ = ensure(token, "projects", "project",
                                {"name": "service", "domain_id": "default"},
                                name="service", domain_id="default")
    admin_role = role_id(token, "admin")
    member_role = role_id(token, "member")
    for user in ENV["TB_SERVICE_USERS"].split():
        u, new = ensure(token, "users", "user", {
            "name": user, "domain_id": "default", "password": ENV["TB_SERVICE_PASSWORD"],
            "default_project_id": service_project["id"]}, name=user, domain_id="default")
        created += new
        grant(token, service_project["id"], u["id"], admin_role)
    # Catalog: "type name url [catalog-only]" per line.
    for line in ENV["TB_CATALOG"].strip().splitlines():
        stype, name, url = line.split()[:3]
        svc, new = ensure(token, "services", "service",
                          {"type": stype, "name": name, "enabled": True}, type=stype)
        created += new
        _, _, doc = call("GET", f"/endpoints?service_id={svc['id']}", token=token)
        have = {e["interface"]: e for e in doc["endpoints"]}
        for interface in ("public", "internal"):
            e = have.get(interface)
            if e and e["url"] == url:
                continue
            if e:
                call("DELETE", f"/endpoints/{e['id']}", token=token)
            call("POST", "/endpoints", {"endpoint": {
                "service_id": svc["id"], "interface": interface, "url": url,
                "region_id": "RegionOne", "enabled": True}}, token=token)
            created += 1
    project, new = ensure(token, "projects", "project",
                          {"name": ENV["TB_PROJECT"], "domain_id": "default"},
                          name=ENV["TB_PROJECT"], domain_id="default")
    created += new
    user, new = ensure(token, "users", "user", {
        "name": ENV["TB_USER"], "domain_id": "default", "password": ENV["TB_USER_PASSWORD"],
        "default_project_id": project["id"]}, name=ENV["TB_USER"], domain_id="default")
    created += new
    grant(token, project["id"], user["id"], member_role)
    print(f"keystone: {created} object(s) created, project {ENV['TB_PROJECT']} "
          f"id {project['id']}")
    with open(ENV["TB_CLOUDS_YAML"], "w") as out:
        out.write(clouds_yaml())


def clouds_yaml():
    def cloud(name, user, password, project):
        return (f"  {name}:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n"
                f"      username: {user}\n      password: {password}\n"
                f"      project_name: {project}\n      user_domain_name: Default\n"
                f"      project_domain_name: Default\n    region_name: RegionOne\n"
                f"    interface: public\n    identity_api_version: 3\n")
    return ("# Written by testbed/openstack/up.sh: the local Zed test bed.\nclouds:\n"
            + cloud("testbed-admin", "admin", ENV["TB_ADMIN_PASSWORD"], "admin")
            + cloud("testbed-member", ENV["TB_USER"], ENV["TB_USER_PASSWORD"],
                    ENV["TB_PROJECT"]))


if __name__ == "__main__":
    main()
