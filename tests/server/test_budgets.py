"""Query time budgets against a real ``cinch serve``: a runaway query is stopped inside SQLite
within its key's budget, rolled back, and delays nobody else's requests meanwhile."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

import cinch
from cinch.server import keys as keystore
from cinch.server.state import StateStore, state_path
from tests.conftest import assert_refused, run_cinch
from tests.server.conftest import Keys, RealServer, make_keys, set_config, start_server, stop_server

# Never ends by itself: only a budget stops it.
FOREVER = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
# A write that takes the tenant's write lock at once, then runs forever.
RUNAWAY_WRITE = f"UPDATE users SET name = ({FOREVER})"
POINT = "SELECT name FROM users WHERE email = ?"


@dataclass
class Budgeted:
    server: RealServer
    keys: Keys
    runaway: str  # a write key with its own budget of 4 s


@pytest.fixture(scope="module")
def budgeted(server_template: Path, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[Budgeted]:
    """A server whose cinch.toml gives every query 1.5 s (batches of at most 3 statements,
    pages of at most 500 rows), and a key with 4 s of its own."""
    root = tmp_path_factory.mktemp("budgets") / "acme"
    shutil.copytree(server_template, root, symlinks=True)
    with cinch.open(root) as project:
        set_config(project, "main", limits__query_timeout_ms=1500, limits__max_batch_statements=3,
                   limits__max_query_rows=500)
    keys = make_keys(root)
    store = StateStore(state_path(root / ".cinch"))
    try:
        _, runaway = keystore.create_key(store, "runaway", "write", timeout_ms=4000)
    finally:
        store.close()
    server = start_server(root, "--rate-limit", "0")
    yield Budgeted(server, keys, runaway)
    stop_server(server)


def tenant_file(root: Path, tenant: str) -> Path:
    with cinch.open(root) as project:
        return Path(project.tenants.path("main", "main", tenant))


def write_locked(path: Path) -> bool:
    """Whether another connection holds the tenant's write lock right now."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        conn.close()


def names(root: Path, tenant: str) -> list[str]:
    with cinch.open(root) as project:
        return [r["name"] for r in project.tenant(tenant).rows("SELECT name FROM users")]


def post(url: str, path: str, secret: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=Keys.header(secret), timeout=60)


def test_a_runaway_write_is_stopped_and_delays_no_other_tenant(budgeted: Budgeted) -> None:
    url, root = budgeted.server.url, budgeted.server.root
    acme = tenant_file(root, "acme")
    before = names(root, "acme")
    answered: list[httpx.Response] = []
    runaway = threading.Thread(target=lambda: answered.append(post(
        url, "/databases/main/tenants/acme/query", budgeted.runaway, {"sql": RUNAWAY_WRITE})))
    runaway.start()
    try:
        # The runaway is under way once it holds acme's write lock.
        for _ in range(200):
            if write_locked(acme):
                break
            runaway.join(0.05)
        else:
            pytest.fail(f"the runaway write never took acme's write lock: {answered}")
        with httpx.Client(base_url=url, headers=Keys.header(budgeted.keys.read),
                          timeout=30) as client:
            for i in range(50):
                response = client.post("/databases/main/tenants/globex/query",
                                       json={"sql": POINT, "params": ["ann@globex"]})
                assert response.status_code == 200, response.text
                assert response.json()["rows"] == [["globex-ann"]]
                if i % 10 == 0:  # the engine's routes answer too
                    assert client.get("/databases").status_code == 200
        # All of that was answered while the runaway still ran: nothing waited for it.
        assert runaway.is_alive() and write_locked(acme)
    finally:
        runaway.join(60)
    [response] = answered
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "query_timeout"
    assert error["details"]["timeout_seconds"] == 4.0  # the key's own budget
    assert names(root, "acme") == before  # rolled back
    assert not write_locked(acme)


def test_the_budget_of_cinch_toml_stops_reads_and_batches(budgeted: Budgeted) -> None:
    url, root = budgeted.server.url, budgeted.server.root
    read = post(url, "/databases/main/tenants/acme/query", budgeted.keys.read, {"sql": FOREVER})
    assert read.status_code == 503
    assert read.json()["error"]["code"] == "query_timeout"
    assert read.json()["error"]["details"]["timeout_seconds"] == 1.5  # limits.query_timeout_ms
    before = names(root, "acme")
    batch = post(url, "/databases/main/tenants/acme/batch", budgeted.keys.write, {"statements": [
        {"sql": "INSERT INTO users (name, email) VALUES ('kept?', 'kept@acme')"},
        {"sql": FOREVER}]})
    assert batch.status_code == 503
    error = batch.json()["error"]
    assert error["code"] == "query_timeout" and error["details"]["index"] == 1
    assert names(root, "acme") == before  # the whole batch was rolled back
    # The server goes on answering, on the same tenant too.
    after = post(url, "/databases/main/tenants/acme/query", budgeted.keys.read,
                 {"sql": POINT, "params": ["ann@acme"]})
    assert after.json()["rows"] == [["acme-ann"]]


def test_a_runaway_live_query_gets_an_error_and_the_socket_goes_on(budgeted: Budgeted) -> None:
    url = budgeted.server.url.replace("http://", "ws://") + "/databases/main/tenants/acme/live"
    with connect(url, additional_headers=Keys.header(budgeted.keys.read)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        ws.send(json.dumps({"type": "subscribe", "id": "forever", "sql": FOREVER}))
        message = json.loads(ws.recv(timeout=30))
        assert message["type"] == "error" and message["id"] == "forever"
        assert message["error"]["code"] == "query_timeout"
        ws.send(json.dumps({"type": "subscribe", "id": "n", "sql": "SELECT count(*) FROM users"}))
        assert json.loads(ws.recv(timeout=10))["result"]["rows"] == [[1]]


def test_cinch_query_has_no_budget_unless_given_one(budgeted: Budgeted) -> None:
    root = budgeted.server.root
    stopped = run_cinch("-C", str(root), "query", "--tenant", "globex", "--timeout", "0.3",
                        RUNAWAY_WRITE)
    assert_refused(stopped, ["time budget of 0.3 s"])
    assert names(root, "globex") == ["globex-ann"]
    # Without --timeout a long query runs to its end (cinch.toml's budget is the server's).
    counted = run_cinch("-C", str(root), "query", "--format", "json", FOREVER.replace(
        "FROM r)", "FROM r WHERE n < 3000000)"), check=True)
    assert json.loads(counted.stdout) == [{"count(*)": 3000000}]


def test_the_size_limits_of_cinch_toml_are_the_servers(budgeted: Budgeted) -> None:
    url, read = budgeted.server.url, budgeted.keys.read
    four = {"statements": [{"sql": "SELECT 1"}] * 4}
    refused = post(url, "/databases/main/tenants/acme/batch", read, four)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "limit_exceeded" and error["details"]["max_batch_statements"] == 3
    three = post(url, "/databases/main/tenants/acme/batch", read, {"statements": four[
        "statements"][:3]})
    assert three.status_code == 200 and len(three.json()["results"]) == 3
    for path in ("query", "batch"):  # the fast path and the route alike
        body = {"sql": "SELECT 1", "limit": 501} if path == "query" else {
            "statements": [{"sql": "SELECT 1"}], "limit": 501}
        too_many = post(url, f"/databases/main/tenants/acme/{path}", read, body)
        assert too_many.status_code == 422, too_many.text
        assert too_many.json()["error"]["details"]["max_query_rows"] == 500
