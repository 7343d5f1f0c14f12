#!/usr/bin/python3
"""Records real answers of the running test bed into fixtures/recorded/ (standard library only).

Version documents, the token's catalog, error bodies and pagination links, as the member user
sees them after `scs-check seed fixtures/clouds/compliant.yaml --yes`. Tokens are not recorded; ids,
times and request ids are replaced by placeholders so the files stay stable between runs.
tests/recorded_shapes.rs compares the simulator's answers with these files.

    testbed/openstack/record.py [OUTPUT_DIR]     (default: fixtures/recorded)
"""

import json
import os
import re
import sys
import urllib.error
import urllib.request

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "fixtures", "recorded")
KS = "http://127.0.0.1:5000/v3"
UUID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b")
TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?\b")


def get(url, token=None, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def scrub(text):
    text = UUID.sub("ID", text)
    return TIME.sub("TIME", text)


def login(user, password, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    status, headers, raw = get(KS + "/auth/tokens", method="POST", body=body)
    if status != 201:
        sys.exit(f"record: login as {user}: HTTP {status}")
    return headers["X-Subject-Token"], json.loads(raw)


def save(name, request, status, headers, raw):
    try:
        body = json.loads(scrub(raw.decode()))
    except ValueError:
        body = scrub(raw.decode(errors="replace"))
    doc = {"request": request, "status": status,
           "content_type": headers.get("Content-Type") or headers.get("content-type"),
           "body": body}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"record: {name}: HTTP {status}")


def main():
    member, tok = login("scs-tester", "testbed-member-secret", "scs-test")
    admin, _ = login("admin", "testbed-admin-secret", "admin")
    project = tok["token"]["project"]["id"]
    catalog = [{"type": s["type"], "name": s["name"],
                "endpoints": sorted({(e["interface"], scrub(e["url"].replace(project, "PROJECT")))
                                     for e in s["endpoints"]})}
               for s in tok["token"]["catalog"]]
    token_shape = {"methods": tok["token"]["methods"],
                   "roles": sorted(r["name"] for r in tok["token"]["roles"]),
                   "keys": sorted(tok["token"].keys()),
                   "catalog": sorted(catalog, key=lambda s: s["type"])}
    save("identity-token", "POST /v3/auth/tokens (member, project scope)", 201, {
        "Content-Type": "application/json"}, json.dumps(token_shape).encode())
    roots = {"identity": "http://127.0.0.1:5000/", "compute": "http://127.0.0.1:8774/",
             "image": "http://127.0.0.1:9292/", "block-storage": "http://127.0.0.1:8776/",
             "network": "http://127.0.0.1:9696/", "key-manager": "http://127.0.0.1:9311/"}
    for service, url in roots.items():
        save(f"{service}-versions", f"GET {url}", *get(url))
    save("compute-version-v2.1", "GET /v2.1/", *get("http://127.0.0.1:8774/v2.1/", member))
    cinder = f"http://127.0.0.1:8776/v3/{project}"
    calls = [
        ("identity-401", KS + "/projects", None),
        ("compute-flavor-404", "http://127.0.0.1:8774/v2.1/flavors/does-not-exist", member),
        ("compute-flavors-page", "http://127.0.0.1:8774/v2.1/flavors?limit=2", member),
        ("image-404", "http://127.0.0.1:9292/v2/images/" + "0" * 8 + "-0000-0000-0000-"
         + "0" * 12, member),
        ("image-images-page", "http://127.0.0.1:9292/v2/images?limit=2", member),
        ("block-storage-type-404", cinder + "/types/does-not-exist", member),
        ("block-storage-types", cinder + "/types", member),
        ("network-default-sg-rules-404",
         "http://127.0.0.1:9696/v2.0/default-security-group-rules", member),
        ("network-security-groups-page", "http://127.0.0.1:9696/v2.0/security-groups?limit=1",
         member),
        ("key-manager-secrets-403", "http://127.0.0.1:9311/v1/secrets", member),
        ("key-manager-secrets-admin", "http://127.0.0.1:9311/v1/secrets?limit=1", admin),
    ]
    for name, url, token in calls:
        path = re.sub(r"^http://127\.0\.0\.1:\d+", "", url).replace(project, "PROJECT")
        save(name, f"GET {scrub(path)}", *get(url, token))


if __name__ == "__main__":
    main()
