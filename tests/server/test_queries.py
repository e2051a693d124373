"""Queries: values with their SQLite types, cursor pages, batches in one transaction."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.server.conftest import Keys

QUERY = "/databases/main/tenants/acme/query"
BATCH = "/databases/main/tenants/acme/batch"


def test_values_come_with_their_sqlite_types(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.read)
    response = client.post(QUERY, headers=h, json={
        "sql": "SELECT ? AS i, ? AS r, ? AS t, NULL AS n, x'00ff' AS b, 9e999 AS inf",
        "params": [7, 1.5, "hé"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["i", "r", "t", "n", "b", "inf"]
    assert body["types"] == [["integer", "real", "text", "null", "blob", "real"]]
    assert body["rows"] == [[7, 1.5, "hé", None, base64.b64encode(b"\x00\xff").decode(),
                             "Infinity"]]
    named = client.post(QUERY, headers=h, json={"sql": "SELECT :a + :b AS s",
                                                "params": {"a": 1, "b": 2}})
    assert named.json()["rows"] == [[3]]


def test_writes_report_rowcount_and_lastrowid(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    response = client.post(QUERY, headers=h, json={
        "sql": "INSERT INTO users (name, email) VALUES (?, ?)", "params": ["bo", "bo@x"]})
    body = response.json()
    assert body["rowcount"] == 1 and body["columns"] == [] and body["lastrowid"]
    returning = client.post(QUERY, headers=h, json={
        "sql": "UPDATE users SET age = 30 WHERE name = ? RETURNING name, age", "params": ["bo"]})
    assert returning.json()["rows"] == [["bo", 30]]


def test_large_results_page_with_an_opaque_cursor(client: TestClient, api_keys: Keys) -> None:
    w = Keys.header(api_keys.write)
    statements = [{"sql": "INSERT INTO users (name, email) VALUES (?, ?)",
                   "params": [f"u{i}", f"u{i}@x"]} for i in range(25)]
    assert client.post(BATCH, headers=w, json={"statements": statements}).status_code == 200
    query = {"sql": "SELECT name FROM users ORDER BY name", "read_only": True, "limit": 10}
    names, cursor, pages = [], None, 0
    while True:
        body = client.post(QUERY, headers=Keys.header(api_keys.read),
                           json={**query, "cursor": cursor}).json()
        names += [r[0] for r in body["rows"]]
        pages += 1
        cursor = body["next_cursor"]
        assert body["truncated"] == (cursor is not None)
        if cursor is None:
            break
    assert pages == 3 and len(names) == 26 and names == sorted(names)
    # A cursor belongs to its query.
    first = client.post(QUERY, headers=w, json=query).json()
    other = client.post(QUERY, headers=w, json={**query, "sql": "SELECT email FROM users",
                                                "cursor": first["next_cursor"]})
    assert other.status_code == 400 and other.json()["error"]["code"] == "query_error"
    forged = client.post(QUERY, headers=w, json={**query, "cursor": "!!not-a-cursor"})
    assert forged.status_code == 400
    # A statement that may write never pages (it would be run again).
    writer = client.post(QUERY, headers=w, json={**query, "read_only": False})
    assert writer.json()["truncated"] and writer.json()["next_cursor"] is None


def test_a_batch_is_one_transaction(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    ok = client.post(BATCH, headers=h, json={"statements": [
        {"sql": "INSERT INTO users (name, email) VALUES ('a', 'a@x')"},
        {"sql": "SELECT count(*) FROM users"}]})
    assert ok.status_code == 200
    assert ok.json()["results"][1]["rows"] == [[2]]
    failed = client.post(BATCH, headers=h, json={"statements": [
        {"sql": "INSERT INTO users (name, email) VALUES ('b', 'b@x')"},
        {"sql": "INSERT INTO users (name, email) VALUES ('c', 'a@x')"}]})  # unique email
    assert failed.status_code == 400
    error = failed.json()["error"]
    assert error["details"]["index"] == 1 and "statement 2 of 2" in error["message"]
    after = client.post(QUERY, headers=h, json={"sql": "SELECT count(*) FROM users"})
    assert after.json()["rows"] == [[2]]  # 'b' was rolled back
    too_many = client.post(BATCH, headers=h, json={"statements": [{"sql": "SELECT 1"}] * 101})
    assert too_many.status_code == 422


def test_tenants_are_separate_and_unknown_ones_404(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.read)
    for tenant in ("acme", "globex"):
        body = client.post(f"/databases/main/tenants/{tenant}/query", headers=h,
                           json={"sql": "SELECT name FROM users"}).json()
        assert body["rows"] == [[f"{tenant}-ann"]]
    missing = client.post("/databases/main/tenants/nobody/query", headers=h,
                          json={"sql": "SELECT 1"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_read_fast_path_answers_like_the_route(client: TestClient, api_keys: Keys) -> None:
    """`read_only: true` skips FastAPI's machinery (cinch.server.fastpath); a read key's query
    without it goes through the route. Both must answer alike, errors included."""
    r = Keys.header(api_keys.read)
    for sql, params in (("SELECT name, email, age FROM users", []),
                        ("SELECT ? AS a, x'01' AS b", [1.25]), ("SELECT nope", []),
                        ("DELETE FROM users", []), ("ATTACH 'x' AS x", [])):
        fast = client.post(QUERY, headers=r, json={"sql": sql, "params": params,
                                                   "read_only": True})
        route = client.post(QUERY, headers=r, json={"sql": sql, "params": params})
        assert (fast.status_code, fast.json()) == (route.status_code, route.json()), sql
        assert fast.headers["x-content-type-options"] == "nosniff"
    for url in (QUERY + "?branch=nope", QUERY + "?branch=..%2Fx",
                "/databases/main/tenants/nobody/query", "/databases/sqlite_x/tenants/a/query"):
        fast = client.post(url, headers=r, json={"sql": "SELECT 1", "read_only": True})
        route = client.post(url, headers=r, json={"sql": "SELECT 1"})
        assert (fast.status_code, fast.json()) == (route.status_code, route.json()), url
    feature = client.post(QUERY, headers=Keys.header(api_keys.feature),
                          json={"sql": "SELECT 1", "read_only": True})
    assert feature.status_code == 403 and feature.json()["error"]["code"] == "forbidden"
    metrics = client.get("/metrics", headers=r).text
    assert 'route="/databases/{db}/tenants/{tenant}/query",status="200"' in metrics
