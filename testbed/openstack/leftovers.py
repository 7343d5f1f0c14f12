#!/usr/bin/python3
"""Lists what exists on the test bed, as the admin sees it, to prove a run left nothing behind.

  leftovers.py save FILE     record the ids of every image, network, subnet, port, router,
                             floating IP, subnet pool, security group, server, volume, volume
                             snapshot, user, project and application credential of the
                             Tempest accounts
  leftovers.py check FILE    list them again; print and fail (exit 1) on anything new
                             (the `default` security group Neutron creates per project is
                             not counted)

Standard library only; uses keystone_setup.py's helpers and the admin password of up.sh.
"""

import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keystone_setup as ks  # noqa: E402

os.environ.setdefault("TB_ADMIN_PASSWORD", "testbed-admin-secret")

NEUTRON = "http://127.0.0.1:9696/v2.0"
COLLECTIONS = [
    ("image", "http://127.0.0.1:9292/v2/images?limit=1000", "images"),
    ("network", f"{NEUTRON}/networks", "networks"),
    ("subnet", f"{NEUTRON}/subnets", "subnets"),
    ("port", f"{NEUTRON}/ports", "ports"),
    ("router", f"{NEUTRON}/routers", "routers"),
    ("floating ip", f"{NEUTRON}/floatingips", "floatingips"),
    ("subnet pool", f"{NEUTRON}/subnetpools", "subnetpools"),
    ("security group", f"{NEUTRON}/security-groups", "security_groups"),
    ("server", "http://127.0.0.1:8774/v2.1/servers?all_tenants=1", "servers"),
]


def get(url, token):
    req = urllib.request.Request(url, headers={"X-Auth-Token": token,
                                               "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read().decode())


def inventory():
    token = ks.admin_token()
    seen = {}
    for kind, url, key in COLLECTIONS:
        try:
            items = get(url, token)[key]
        except urllib.error.HTTPError as err:
            if err.code == 404:  # not offered by this bed (e.g. no router plugin)
                continue
            sys.exit(f"leftovers: cannot list {kind}s ({url}): {err}")
        except Exception as err:  # a service that is down proves nothing: say so
            sys.exit(f"leftovers: cannot list {kind}s ({url}): {err}")
        seen[kind] = {i["id"]: i.get("name") or "" for i in items
                      if not (kind == "security group" and i.get("name") == "default")}
    admin_project = ks.find(token, "projects", "project", name="admin")["id"]
    for kind, key in (("volume", "volumes"), ("volume snapshot", "snapshots")):
        url = f"http://127.0.0.1:8776/v3/{admin_project}/{key}?all_tenants=1"
        try:
            seen[kind] = {i["id"]: i.get("name") or "" for i in get(url, token)[key]}
        except Exception as err:
            sys.exit(f"leftovers: cannot list {kind}s ({url}): {err}")
    _, _, doc = ks.call("GET", "/users", token=token)
    seen["user"] = {u["id"]: u["name"] for u in doc["users"]}
    _, _, doc = ks.call("GET", "/projects", token=token)
    seen["project"] = {p["id"]: p["name"] for p in doc["projects"]}
    creds = {}
    for uid, name in seen["user"].items():
        if name.startswith("scs-tempest-"):
            _, _, doc = ks.call("GET", f"/users/{uid}/application_credentials", token=token)
            creds.update({c["id"]: c["name"] for c in doc["application_credentials"]})
    seen["application credential"] = creds
    return seen


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "check"):
        sys.exit(__doc__)
    mode, path = sys.argv[1], sys.argv[2]
    now = inventory()
    if mode == "save":
        with open(path, "w") as f:
            json.dump(now, f)
        print(f"leftovers: {sum(len(v) for v in now.values())} objects recorded")
        return
    with open(path) as f:
        before = json.load(f)
    new = [(kind, i, name) for kind, items in now.items() for i, name in items.items()
           if i not in before.get(kind, {})]
    for kind, i, name in new:
        print(f"leftovers: new {kind} {i} ({name})")
    if new:
        sys.exit(f"leftovers: the run left {len(new)} object(s) behind")
    print("leftovers: nothing left behind")


if __name__ == "__main__":
    main()
