"""Regression tests for what probing ``cinch serve`` as an attacker found, against a real
server: a ``feature/*`` key forking main, a database-limited key seeing and changing other
databases, tenant-limited keys, non-finite parameters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import cinch
from cinch.engine.branches import create_branch
from cinch.server import keys as keystore
from cinch.server.state import StateStore, state_path
from tests.conftest import run_cinch
from tests.server.conftest import Keys, RealServer, start_server, stop_server


def new_key(root: Path, name: str, scope: str, **limits: str) -> str:
    store = StateStore(state_path(root / ".cinch"))
    try:
        return keystore.create_key(store, name, scope, **limits)[1]  # type: ignore[arg-type]
    finally:
        store.close()


def billing_columns(root: Path, branch: str = "main") -> list[str]:
    with cinch.open(root) as project:
        tenant = project.tenant("main", database="billing", branch=branch)
        return [c["name"] for c in tenant.rows("SELECT name FROM pragma_table_info('invoices')")]


@pytest.fixture
def two_databases(server_root: Path, api_keys: Keys) -> Iterator[tuple[RealServer, str]]:
    """main and billing on every branch; feature/x changes both, feature/y only main; a key
    that is admin but limited to database main."""
    with cinch.open(server_root) as project:
        project.create_database("billing").create_table("invoices", ["total:INTEGER"])
        for branch, dbs in (("feature/x", ("main", "billing")), ("feature/y", ("main",))):
            create_branch(project, branch)
            for db in dbs:
                target = "users" if db == "main" else "invoices"
                project.database(db, branch=branch).add_column(target, f"from_{branch[-1]}")
    secret = new_key(server_root, "main_admin", "admin", database="main")
    server = start_server(server_root, "--rate-limit", "0")
    yield server, secret
    stop_server(server)


def test_a_branch_key_cannot_fork_the_branch_it_may_not_read(real_server: RealServer,
                                                             http: httpx.Client,
                                                             api_keys: Keys) -> None:
    dev = Keys.header(api_keys.feature)
    # No `start`: the current branch (main) would be forked, data and all.
    for body in ({"name": "feature/z"}, {"name": "feature/z", "start": "main"},
                 {"name": "feature/z", "empty": True}):
        refused = http.post("/branches", headers=dev, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["details"]["branch"] == "main"
    with cinch.open(real_server.root) as project:
        head = project.git.branch_tip("main")
        assert project.git.branch_tip("feature/z") is None
    # Nor from a commit of main: the key may start only from a branch it covers.
    by_commit = http.post("/branches", headers=dev, json={"name": "feature/z", "start": head})
    assert by_commit.status_code == 403 and "revision" in by_commit.json()["error"]["message"]
    made = http.post("/branches", headers=Keys.header(api_keys.write), json={"name": "feature/a"})
    assert made.status_code == 201
    forked = http.post("/branches", headers=dev, json={"name": "feature/z", "start": "feature/a"})
    assert forked.status_code == 201, forked.text
    rows = http.post("/databases/main/tenants/acme/query?branch=feature/z", headers=dev,
                     json={"sql": "SELECT name FROM users"})
    assert rows.json()["rows"] == [["acme-ann"]]


def test_a_database_key_sees_and_changes_only_its_database(
        two_databases: tuple[RealServer, str], api_keys: Keys) -> None:
    server, secret = two_databases
    h = Keys.header(secret)
    with httpx.Client(base_url=server.url, headers=h, timeout=60) as http:
        assert http.get("/project").json()["databases"] == ["main"]
        history = http.get("/history", params={"branch": "feature/x"}).json()["items"]
        assert history and all(item["changes"] for item in history)
        assert all(c["database"] == "main" for item in history for c in item["changes"])
        assert "billing" not in json.dumps(history) and "invoices" not in json.dumps(history)
        compare = http.get("/compare", params={"base": "main", "head": "feature/x"}).json()
        assert [d["database"] for d in compare["databases"]] == ["main"]

        opened = http.post("/merge-requests", json={
            "source": "feature/x", "target": "main", "title": "both"})
        assert opened.status_code == 201, opened.text
        mr = opened.json()
        assert set(mr["check"]["changes"]) == {"main"} and set(mr["check"]["tenants"]) == {"main"}
        assert [d["database"] for d in mr["diff"]["databases"]] == ["main"]
        listed = http.get("/merge-requests").json()["items"]
        assert [set(m["check"]["changes"]) for m in listed] == [{"main"}]

        # feature/x brings billing's change set: this key may not merge it, nor delete it.
        merge = http.post(f"/merge-requests/{mr['number']}/merge", json={})
        assert merge.status_code == 403, merge.text
        assert "billing" not in merge.text
        assert "from_x" not in billing_columns(server.root)
        assert http.get(f"/merge-requests/{mr['number']}").json()["state"] == "open"
        assert http.delete("/branches/feature/y").status_code == 403  # holds billing tenants
        assert http.delete("/branches/feature/x").status_code == 403

        # feature/y touches main only: the same key merges it.
        only_main = http.post("/merge-requests", json={
            "source": "feature/y", "target": "main", "title": "main only"}).json()
        merged = http.post(f"/merge-requests/{only_main['number']}/merge", json={})
        assert merged.status_code == 200, merged.text
        assert set(merged.json()["result"]["tenants"]) == {"main"}
    with cinch.open(server.root) as project:
        assert project.git.branch_tip("feature/x") is not None
        assert "from_y" in [c.name for c in project.database().schema().table("users").columns]
    # A key not limited to databases merges feature/x, billing and all.
    admin = Keys.header(api_keys.admin)
    merged = httpx.post(f"{server.url}/merge-requests/{mr['number']}/merge", headers=admin,
                        json={}, timeout=60)
    assert merged.status_code == 200, merged.text
    assert "from_x" in billing_columns(server.root)


def test_a_tenant_key_queries_only_its_tenants(real_server: RealServer, http: httpx.Client,
                                               api_keys: Keys) -> None:
    created = run_cinch("-C", str(real_server.root), "keys", "create", "--name", "customer",
                        "--scope", "write", "--tenant", "acme*", "--format", "json", check=True)
    key = json.loads(created.stdout)
    assert key["tenant"] == "acme*"
    h = Keys.header(key["secret"])
    insert = {"sql": "INSERT INTO users (name, email) VALUES ('bo', 'bo@acme')"}
    assert http.post("/databases/main/tenants/acme/query", headers=h, json=insert).status_code \
        == 200
    for path in ("/databases/main/tenants/globex/query", "/databases/main/tenants/globex/batch"):
        body = {"statements": [insert]} if path.endswith("batch") else insert
        refused = http.post(path, headers=h, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["details"]["tenant"] == "globex"
    assert http.get("/databases/main/tenants/globex", headers=h).status_code == 403
    names = [t["name"] for t in http.get("/databases/main/tenants", headers=h).json()["items"]]
    assert names == ["acme"]
    # Writes beyond its tenants' rows: none.
    for method, url, body in (("POST", "/databases/main/tenants", {"name": "acme2"}),
                              ("DELETE", "/databases/main/tenants/acme", None),
                              ("POST", "/databases/main/tables/users/columns", {"name": "x"}),
                              ("POST", "/branches", {"name": "acme-branch"})):
        refused = http.request(method, url, headers=h, json=body)
        assert refused.status_code == 403, (url, refused.text)
    with cinch.open(real_server.root) as project:
        assert [r["name"] for r in project.tenant("globex").rows("SELECT name FROM users")] \
            == ["globex-ann"]
        assert len(project.tenant("acme").rows("SELECT name FROM users")) == 2


@pytest.mark.parametrize(("params", "named"), [
    ("[1, NaN]", "parameter 2"), ("[Infinity]", "parameter 1"), ('{"x": -Infinity}', ":x"),
    ("[1e999]", "parameter 1")])
def test_non_finite_parameters_are_refused_naming_them(
        shared_server: tuple[RealServer, Keys], params: str, named: str) -> None:
    """Refusals only: the cases share one server (each checks the tenant is as it was)."""
    real_server, api_keys = shared_server
    h = {**Keys.header(api_keys.write), "content-type": "application/json"}
    with httpx.Client(base_url=real_server.url, timeout=30) as http:
        _refuse_non_finite(http, h, params, named)
    with cinch.open(real_server.root) as project:
        assert len(project.tenant("acme").rows("SELECT name FROM users")) == 1


def _refuse_non_finite(http: httpx.Client, h: dict[str, str], params: str, named: str) -> None:
    for path, raw in (
            ("/databases/main/tenants/acme/query",
             f'{{"sql": "INSERT INTO users (name, email) VALUES (?, ?)", "params": {params}}}'),
            ("/databases/main/tenants/acme/batch",
             f'{{"statements": [{{"sql": "SELECT 1"}}, {{"sql": "SELECT ?", '
             f'"params": {params}}}]}}')):
        refused = http.post(path, headers=h, content=raw)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "validation_error" and named in error["message"]
