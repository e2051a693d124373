"""docs/content/guides/http.md's table of routes and key scopes, walked against a running ``cinch serve``.

The routes come from docs/openapi.json (itself checked against the app): a route missing from
the table, or from REQUESTS below, fails the test, so no new route escapes the scope check.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import cinch
from cinch.engine import inspect
from cinch.engine.branches import create_branch
from cinch.server import keys as keystore
from cinch.server.state import StateStore, state_path
from tests.server.conftest import RealServer, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
HTTP_MD = ROOT / "docs" / "content" / "guides" / "http.md"
OPENAPI = ROOT / "docs" / "openapi.json"

# The table's columns: (scope, --db, --branch, --tenant) of the key each one stands for.
COLUMNS: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "read": ("read", None, None, None),
    "write": ("write", None, None, None),
    "admin": ("admin", None, None, None),
    "admin `--db other`": ("admin", "other", None, None),
    "admin `--branch 'release/*'`": ("admin", None, "release/*", None),
    "write `--tenant globex`": ("write", None, None, "globex"),
}

# How to call each route: path parameters, query, body ({key} is the column's index, so a
# route that creates something makes a new one for each key).
PATH_VALUES = {"db": "main", "tenant": "acme", "table": "users", "column": "walk_col",
               "index": "walk_idx", "view": "adults", "branch": "main", "name": "doomed"}
REQUESTS: dict[str, tuple[dict[str, str], dict[str, str], Any]] = {
    "GET /health": ({}, {}, None),
    "GET /metrics": ({}, {}, None),
    "GET /project": ({}, {}, None),
    "GET /databases": ({}, {}, None),
    "GET /databases/{db}": ({}, {}, None),
    "GET /databases/{db}/schema.sql": ({}, {"rev": "main"}, None),
    "POST /databases/adopt": ({}, {}, {"path": "/nonexistent/walk{key}", "database": "walk{key}",
                                       "dry_run": True}),
    "GET /databases/{db}/tables": ({}, {}, None),
    "POST /databases/{db}/tables": ({}, {}, {"name": "walk_new{key}"}),
    "GET /databases/{db}/tables/{table}": ({}, {}, None),
    "PATCH /databases/{db}/tables/{table}": ({"table": "walk_ren"}, {},
                                             {"name": "walk_renamed{key}"}),
    "DELETE /databases/{db}/tables/{table}": ({"table": "walk_drop"}, {}, None),
    "POST /databases/{db}/tables/{table}/copy": ({}, {}, {"name": "walk_copy{key}"}),
    "GET /databases/{db}/tables/{table}/columns": ({}, {}, None),
    "POST /databases/{db}/tables/{table}/columns": ({}, {}, {"name": "walk_add{key}"}),
    "PATCH /databases/{db}/tables/{table}/columns/{column}": ({}, {}, {"name": "walk_col{key}"}),
    "DELETE /databases/{db}/tables/{table}/columns/{column}": ({"column": "walk_gone"}, {},
                                                               None),
    "GET /databases/{db}/indexes": ({}, {}, None),
    "POST /databases/{db}/indexes": ({}, {}, {"table": "users", "columns": ["age"],
                                              "name": "walk_idx{key}"}),
    "DELETE /databases/{db}/indexes/{index}": ({}, {}, None),
    "GET /databases/{db}/views": ({}, {}, None),
    "GET /databases/{db}/views/{view}": ({}, {}, None),
    "GET /databases/{db}/codegen/{lang}": ({"lang": "python"}, {}, None),
    "POST /databases/{db}/views": ({}, {}, {"name": "walk_view{key}",
                                            "sql": "SELECT id FROM users"}),
    "PUT /databases/{db}/views/{view}": ({}, {}, {"sql": "SELECT id, name FROM users"}),
    "DELETE /databases/{db}/views/{view}": ({"view": "walk_view"}, {}, None),
    "GET /databases/{db}/tenants": ({}, {}, None),
    "GET /databases/{db}/tenants/{tenant}": ({}, {}, None),
    "POST /databases/{db}/tenants": ({}, {}, {"name": "walk{key}"}),
    "POST /databases/{db}/tenants/{tenant}/copy": ({}, {}, {"name": "walkcopy{key}"}),
    "DELETE /databases/{db}/tenants/{tenant}": ({"tenant": "walkdel"}, {}, None),
    "POST /databases/{db}/tenants/{tenant}/query": ({}, {}, {"sql": "SELECT count(*) FROM users"}),
    "POST /databases/{db}/tenants/{tenant}/batch": ({}, {}, {"statements": [{"sql": "SELECT 1"}]}),
    "GET /branches": ({}, {}, None),
    "POST /branches": ({}, {}, {"name": "walk{key}"}),
    "GET /branches/{branch}": ({}, {}, None),
    "DELETE /branches/{branch}": ({"branch": "feature/gone"}, {}, None),
    "GET /compare": ({}, {"base": "main", "head": "feature/walk"}, None),
    "GET /history": ({}, {}, None),
    "GET /changes/{change_id}": ({}, {}, None),
    "GET /merge-requests": ({}, {}, None),
    "POST /merge-requests": ({}, {}, {"source": "feature/other", "target": "main",
                                      "title": "walk"}),
    "GET /merge-requests/{number}": ({}, {}, None),
    "POST /merge-requests/{number}/approvals": ({}, {}, None),
    "POST /merge-requests/{number}/merge": ({}, {}, {}),
    "POST /merge-requests/{number}/close": ({}, {}, None),
    "POST /merge-requests/{number}/reopen": ({}, {}, None),
    "GET /merge-requests/{number}/comments": ({}, {}, None),
    "POST /merge-requests/{number}/comments": ({}, {}, {"body": "looks good"}),
    "GET /keys": ({}, {}, None),
    "POST /keys": ({}, {}, {"name": "walk{key}", "scope": "read"}),
    "DELETE /keys/{name}": ({}, {}, None),
}


def documented_table() -> tuple[list[str], dict[str, list[bool]]]:
    text = HTTP_MD.read_text()
    section = text[text.index("## Routes and key scopes"):]
    section = section[:section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")][1:]
    table = {}
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        route = cells[0].strip("`")
        assert route not in table, f"{route} is in the table twice"
        assert set(cells[1:]) <= {"✓", "✗"}, line
        table[route] = [cell == "✓" for cell in cells[1:]]
    return header, table


def openapi_routes() -> list[str]:
    spec = json.loads(OPENAPI.read_text())
    return [f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops]


def test_the_table_covers_every_route_of_the_openapi_document() -> None:
    header, table = documented_table()
    assert header == list(COLUMNS)
    routes = openapi_routes()
    assert sorted(table) == sorted(routes), "docs/content/guides/http.md's scope table and the API differ"
    assert sorted(REQUESTS) == sorted(routes), "say in REQUESTS how to call every route"


@dataclass
class Walk:
    server: RealServer
    secrets: list[str]
    change_id: str
    mr: int


@pytest.fixture(scope="module")
def walk(server_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    root = tmp_path_factory.mktemp("scope-walk") / "acme"
    shutil.copytree(server_template, root, symlinks=True)
    with cinch.open(root) as project:
        db = project.database()
        for table in ("walk_ren", "walk_drop"):
            db.create_table(table, ["x:TEXT"])
        db.add_column("users", "walk_col")
        db.add_column("users", "walk_gone")
        db.create_index("users", ["email"], name="walk_idx")
        db.create_view("walk_view", "SELECT id FROM users")
        project.tenants.create("main", "main", "walkdel")
        for branch in ("feature/walk", "feature/other", "feature/gone"):
            create_branch(project, branch)
        project.database(branch="feature/walk").add_column("users", "phone")
        project.database(branch="feature/other").add_column("users", "fax")
        change_id = inspect.log(project, "main", changes_only=True)[0].changes[0]["id"]
    store = StateStore(state_path(root / ".cinch"))
    try:
        secrets = [keystore.create_key(store, f"k{i}", scope, database=db_glob,
                                       branch=branch_glob, tenant=tenant_glob)[1]
                   for i, (scope, db_glob, branch_glob, tenant_glob)
                   in enumerate(COLUMNS.values())]
        keystore.create_key(store, "doomed", "read")
    finally:
        store.close()
    server = start_server(root, "--rate-limit", "0")
    admin = {"Authorization": f"Bearer {secrets[2]}"}
    mr = httpx.post(f"{server.url}/merge-requests", headers=admin, timeout=60, json={
        "source": "feature/walk", "target": "main", "title": "phone"})
    assert mr.status_code == 201, mr.text
    yield Walk(server, secrets, change_id, mr.json()["number"])
    stop_server(server)


def _fill(value: Any, key: int) -> Any:
    if isinstance(value, str):
        return value.replace("{key}", str(key))
    if isinstance(value, dict):
        return {k: _fill(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, key) for v in value]
    return value


@pytest.mark.parametrize("route", sorted(REQUESTS))
def test_each_key_is_allowed_or_refused_as_the_table_says(walk: Walk, route: str) -> None:
    _, table = documented_table()
    method, template = route.split(" ", 1)
    overrides, query, body = REQUESTS[route]
    values = {**PATH_VALUES, "change_id": walk.change_id, "number": str(walk.mr), **overrides}
    path = re.sub(r"\{(\w+)\}", lambda m: values[m[1]], template)
    allowed = table[route]
    # Refused keys first: an allowed key's request may change what the route finds.
    order = sorted(range(len(allowed)), key=lambda i: allowed[i])
    with httpx.Client(base_url=walk.server.url, timeout=120) as http:
        for i in order:
            response = http.request(method, path, params=query,
                                    json=_fill(body, i) if body is not None else None,
                                    headers={"Authorization": f"Bearer {walk.secrets[i]}"})
            column = list(COLUMNS)[i]
            said = f"{route} with {column}: {response.status_code} {response.text[:300]}"
            if allowed[i]:
                assert response.status_code not in (401, 403) and response.status_code < 500, said
                if response.status_code == 422:  # the request itself was well formed
                    assert response.json()["error"]["code"] != "validation_error", said
            else:
                assert response.status_code == 403, said
