"""One real server, many clients at once: schema changes, inserts and reads interleave without
a lost commit, a lost row or a server error (the server shares one project between threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pygit2

import cinch
from tests.server.conftest import Keys, RealServer


def test_concurrent_schema_changes_writes_and_reads(real_server: RealServer, api_keys: Keys,
                                                   ) -> None:
    h = Keys.header(api_keys.write)
    base = pygit2.Repository(str(real_server.root)).head.target

    def add_column(i: int) -> int:
        with httpx.Client(base_url=real_server.url, timeout=60) as c:
            return c.post("/databases/main/tables/users/columns", headers=h,
                          json={"name": f"c{i}", "type": "TEXT"}).status_code

    def insert(i: int) -> int:
        with httpx.Client(base_url=real_server.url, timeout=60) as c:
            return c.post("/databases/main/tenants/globex/query", headers=h, json={
                "sql": "INSERT INTO users (name, email) VALUES (?, ?)",
                "params": [f"u{i}", f"u{i}@globex"]}).status_code

    def read(_: int) -> int:
        with httpx.Client(base_url=real_server.url, timeout=60) as c:
            return c.get("/databases/main/tenants?limit=10", headers=h).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        columns = [pool.submit(add_column, i) for i in range(6)]
        inserts = [pool.submit(insert, i) for i in range(30)]
        reads = [pool.submit(read, i) for i in range(12)]
        assert [f.result() for f in columns] == [200] * 6
        assert [f.result() for f in inserts] == [200] * 30
        assert [f.result() for f in reads] == [200] * 12

    repo = pygit2.Repository(str(real_server.root))
    added = []
    for commit in repo.walk(repo.head.target):
        if commit.id == base:
            break
        assert len(commit.parents) == 1
        added.append(commit)
    assert len(added) == 6  # one commit per change, none overwritten
    with cinch.open(real_server.root) as p:
        names = {c.name for c in p.database().schema().table("users").columns}
        assert {f"c{i}" for i in range(6)} <= names
        assert {i.state for i in p.tenants.infos("main", "main")} == {"up to date"}
        rows = p.tenant("globex").rows("SELECT name FROM users WHERE name LIKE 'u%'")
        assert len(rows) == 30
    assert real_server.process.poll() is None
