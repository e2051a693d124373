"""Every scope boundary: read, write, admin; database and branch globs; keys revoked live."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

import cinch
from cinch.engine.branches import create_branch
from tests.conftest import run_cinch
from tests.server.conftest import Keys, set_config

QUERY = "/databases/main/tenants/acme/query"
INSERT = {"sql": "INSERT INTO users (name, email) VALUES ('x', 'x@x')"}


def test_read_key_reads_but_never_writes(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.read)
    assert client.get("/databases/main/tables", headers=h).status_code == 200
    assert client.post(QUERY, headers=h, json={"sql": "SELECT count(*) FROM users"}).json()[
        "rows"] == [[1]]
    # The query runs read-only whatever the SQL or the read_only flag says.
    for body in (INSERT, {**INSERT, "read_only": False}):
        response = client.post(QUERY, headers=h, json=body)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "query_refused"
    batch = {"statements": [INSERT]}
    assert client.post("/databases/main/tenants/acme/batch", headers=h,
                       json=batch).status_code == 403
    for method, url, body in (
            ("POST", "/databases/main/tables", {"name": "t"}),
            ("DELETE", "/databases/main/tables/users", None),
            ("POST", "/databases/main/tenants", {"name": "new"}),
            ("DELETE", "/databases/main/tenants/acme", None),
            ("POST", "/branches", {"name": "b"}),
            ("POST", "/merge-requests", {"source": "main", "target": "main", "title": "t"})):
        response = client.request(method, url, headers=h, json=body)
        assert response.status_code == 403, (url, response.text)
        assert response.json()["error"]["details"]["needs"] == "write"
    count = client.post(QUERY, headers=h, json={"sql": "SELECT count(*) FROM users"})
    assert count.json()["rows"] == [[1]]


def test_write_key_writes_but_does_not_manage_keys(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    assert client.post(QUERY, headers=h, json=INSERT).status_code == 200
    assert client.post(QUERY, headers=h, json={**INSERT, "read_only": True}).status_code == 403
    for method, url in (("GET", "/keys"), ("POST", "/keys"), ("DELETE", "/keys/read")):
        response = client.request(method, url, headers=h,
                                  json={"name": "k", "scope": "read"} if method == "POST" else None)
        assert response.status_code == 403
        assert response.json()["error"]["details"]["needs"] == "admin"


def test_admin_manages_keys_and_a_revoked_key_stops_at_once(client: TestClient,
                                                            api_keys: Keys) -> None:
    h = Keys.header(api_keys.admin)
    created = client.post("/keys", headers=h, json={"name": "ci", "scope": "read",
                                                    "branch": "feature/*"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert client.get("/project", headers=Keys.header(secret)).status_code == 200
    names = [k["name"] for k in client.get("/keys", headers=h).json()["items"]]
    assert "ci" in names and all("secret" not in k and "hash" not in k
                                 for k in client.get("/keys", headers=h).json()["items"])
    assert client.delete("/keys/ci", headers=h).status_code == 204
    assert client.get("/project", headers=Keys.header(secret)).status_code == 401
    assert client.post("/keys", headers=h, json={"name": "x", "scope": "root"}).status_code == 422


def test_a_key_revoked_by_the_cli_stops_working_on_the_running_server(
        client: TestClient, api_keys: Keys, server_root) -> None:  # type: ignore[no-untyped-def]
    h = Keys.header(api_keys.read)
    assert client.get("/project", headers=h).status_code == 200
    run_cinch("-C", str(server_root), "keys", "revoke", "read", check=True)
    assert client.get("/project", headers=h).status_code == 401


def test_branch_glob_key_cannot_touch_other_branches(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.feature)
    assert client.post("/branches", headers=Keys.header(api_keys.write),
                       json={"name": "feature/base"}).status_code == 201
    assert client.post("/branches", headers=h, json={"name": "feature/a",
                                                     "start": "feature/base"}).status_code == 201
    assert client.post("/branches", headers=h, json={"name": "hotfix"}).status_code == 403
    ok = client.post("/databases/main/tables/users/columns?branch=feature/a", headers=h,
                     json={"name": "nick"})
    assert ok.status_code == 200, ok.text
    for url, body in (("/databases/main/tables/users/columns?branch=main", {"name": "nick"}),
                      ("/databases/main/tables/users/columns", {"name": "nick"}),
                      (QUERY, INSERT), (QUERY + "?branch=main", {"sql": "SELECT 1"})):
        response = client.post(url, headers=h, json=body)
        assert response.status_code == 403, (url, response.text)
        assert response.json()["error"]["details"]["branch"] == "main"
    assert client.get("/databases/main/tables", headers=h).status_code == 403
    names = [b["name"] for b in client.get("/branches", headers=h).json()["items"]]
    assert names == ["feature/a", "feature/base"]
    assert client.get("/compare?base=main&head=feature/a", headers=h).status_code == 403
    assert client.delete("/branches/main", headers=h).status_code == 403


def test_database_glob_key_cannot_touch_other_databases(client: TestClient,
                                                        api_keys: Keys) -> None:
    h = Keys.header(api_keys.other_db)
    response = client.get("/databases/main/tables", headers=h)
    assert response.status_code == 403
    assert response.json()["error"]["details"]["database"] == "main"
    assert client.post(QUERY, headers=h, json={"sql": "SELECT 1"}).status_code == 403
    assert client.get("/databases", headers=h).json() == []


def test_only_admin_merges_into_a_protected_branch(client: TestClient, api_keys: Keys,
                                                   server_root) -> None:  # type: ignore[no-untyped-def]
    with cinch.open(server_root) as project:
        create_branch(project, "feature/p")
        project.database(branch="feature/p").add_column("users", "nick")
        set_config(project, "main", branches__protected=["main"])
    w, a = Keys.header(api_keys.write), Keys.header(api_keys.admin)
    number = client.post("/merge-requests", headers=w, json={
        "source": "feature/p", "target": "main", "title": "nick"}).json()["number"]
    # Schema changes never go straight to a protected branch, whoever asks.
    direct = client.post("/databases/main/tables/users/columns", headers=a, json={"name": "z"})
    assert direct.json()["error"]["code"] == "protected_branch"
    refused = client.post(f"/merge-requests/{number}/merge", headers=w, json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["needs"] == "admin"
    merged = client.post(f"/merge-requests/{number}/merge", headers=a, json={})
    assert merged.status_code == 200, merged.text
    assert merged.json()["merge_request"]["state"] == "merged"


def test_cli_keys_create_list_revoke(server_root) -> None:  # type: ignore[no-untyped-def]
    made = run_cinch("-C", str(server_root), "keys", "create", "--name", "ci", "--scope",
                     "write", "--branch", "feature/*", "--format", "json", check=True)
    data = json.loads(made.stdout)
    assert data["secret"].startswith("cinch_") and data["scope"] == "write"
    assert data["branch"] == "feature/*"
    listed = run_cinch("-C", str(server_root), "keys", "list", "--format", "json", check=True)
    assert [k["name"] for k in json.loads(listed.stdout)] == ["ci"]
    assert data["secret"] not in listed.stdout
    stored = (server_root / ".cinch" / "server" / "state.db").read_bytes()
    assert data["secret"].split("_", 2)[2].encode() not in stored
    bad = run_cinch("-C", str(server_root), "keys", "create", "--name", "x", "--scope", "root")
    assert bad.rc != 0
    run_cinch("-C", str(server_root), "keys", "revoke", "ci", check=True)
    assert run_cinch("-C", str(server_root), "keys", "revoke", "ci").rc != 0
