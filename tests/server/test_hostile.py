"""Hostile input gets a clear 4xx, changes nothing, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import Keys, RealServer


@pytest.fixture
def real_server(shared_server: tuple[RealServer, Keys]) -> RealServer:
    return shared_server[0]


@pytest.fixture
def api_keys(shared_server: tuple[RealServer, Keys]) -> Keys:
    return shared_server[1]


@pytest.fixture
def http(real_server: RealServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_server.url, timeout=30) as c:
        yield c


def tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))
            if p.is_file() and "server" not in p.parts and not p.name.endswith(("-wal", "-shm"))}


def count(http: httpx.Client, h: dict[str, str]) -> int:
    response = http.post("/databases/main/tenants/acme/query", headers=h,
                         json={"sql": "SELECT count(*) FROM users", "read_only": True})
    return int(response.json()["rows"][0][0])


@pytest.mark.parametrize("raw_path", [
    "/databases/main/tenants/..%2F..%2F..%2Fetc/query",
    "/databases/main/tenants/%2E%2E/query",
    "/databases/main/tenants/..%5C..%5Cx/query",
    "/databases/main/tenants/acme%00/query",
    "/databases/..%2F..%2Fmain/tenants/acme/query",
    "/databases/main/tenants/acme/query?branch=..%2F..%2Fmain",
    "/databases/main/tenants/acme/query?branch=refs%2Fheads%2Fmain%0A",
    "/databases/main/tenants/con/query",
    "/databases/main/tenants/_cinch_ledger/query",
])
def test_paths_that_try_to_escape_are_refused(real_server: RealServer, http: httpx.Client,
                                              api_keys: Keys, raw_path: str) -> None:
    h = Keys.header(api_keys.admin)
    before = tree(real_server.root)
    # Sent byte for byte: no client-side normalisation of ".." or "%2F".
    request = http.build_request("POST", "/", headers=h, json={"sql": "SELECT 1"})
    request.url = httpx.URL(real_server.url + raw_path)
    response = http.send(request)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error"}
    assert tree(real_server.root) == before
    assert http.get("/health").status_code == 200


@pytest.mark.parametrize("sql", [
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "SELECT load_extension('/tmp/evil.so')",
    "CREATE TABLE evil (x)",
    "DROP TABLE users",
    "PRAGMA writable_schema = ON",
    "PRAGMA database_list",
    "VACUUM INTO '/tmp/copy.db'",
    "BEGIN",
    "DELETE FROM _cinch_log",
    "SELECT 1; DROP TABLE users",
    "UPDATE sqlite_master SET sql = 'x'",
])
def test_dangerous_sql_is_refused_and_changes_nothing(real_server: RealServer,
                                                      http: httpx.Client, api_keys: Keys,
                                                      sql: str) -> None:
    h = Keys.header(api_keys.admin)
    before = tree(real_server.root)
    for url, body in (("/databases/main/tenants/acme/query", {"sql": sql}),
                      ("/databases/main/tenants/acme/batch",
                       {"statements": [{"sql": "DELETE FROM users"}, {"sql": sql}]})):
        response = http.post(url, headers=h, json=body)
        assert response.status_code in (400, 403), response.text
        assert response.json()["error"]["code"] in ("query_refused", "query_error")
    assert count(http, h) == 1  # the batch's DELETE was rolled back with it
    assert tree(real_server.root) == before
    assert not Path("/tmp/copy.db").exists()


def test_oversized_and_malformed_bodies(real_server: RealServer, http: httpx.Client,
                                        api_keys: Keys) -> None:
    h = {**Keys.header(api_keys.admin), "content-type": "application/json"}
    url = "/databases/main/tenants/acme/query"
    big = http.post(url, headers=h, content=b'{"sql": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    assert big.status_code == 413
    for body in (b"{", b"\xff\xfe", b'{"sql": "SELECT 1", "sql": [1]}', b"null",
                 b'{"sql": "SELECT 1", "params": {"a": {"b": 1}}}',
                 b'{"sql": "SELECT 1", "extra": 1}'):
        response = http.post(url, headers=h, content=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert set(response.json()) == {"error"}
    assert count(http, Keys.header(api_keys.admin)) == 1
    assert http.get("/health").status_code == 200


def test_names_in_bodies_are_checked(real_server: RealServer, http: httpx.Client,
                                     api_keys: Keys) -> None:
    h = Keys.header(api_keys.admin)
    before = tree(real_server.root)
    for url, body in (("/databases/main/tenants", {"name": "../../evil"}),
                      ("/databases/main/tenants", {"name": "a/b"}),
                      ("/databases/main/tenants/acme/copy", {"name": ".."}),
                      ("/branches", {"name": "../x"}),
                      ("/branches", {"name": "a..b"}),
                      ("/databases/main/tables", {"name": 'x"; DROP TABLE users; --'}),
                      ("/keys", {"name": "../k", "scope": "read"}),
                      ("/keys", {"name": "k", "scope": "read", "branch": "feat ure"})):
        response = http.post(url, headers=h, json=body)
        assert response.status_code == 422, (url, body, response.text)
        assert response.json()["error"]["code"] in ("invalid_name", "validation_error")
    assert tree(real_server.root) == before
