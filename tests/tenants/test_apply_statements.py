"""What an apply asks of SQLite per tenant. Across thousands of tenants each statement costs a
prepare on a freshly opened connection, so the count is what keeps a plain column add near the
cost of opening, altering and closing the file: held here as a ceiling, counted by SQLite's
own trace of every statement each tenant's connections ran."""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

import pytest

import cinch
from cinch.stores import sqlite_conn
from cinch.stores import tenantstore as ts
from tests.stores.legacy import to_legacy

TENANTS = 6
# Open and set up (4), read the data version, the record and ledger and the schema cookie
# for the drift check (3), the write transaction (BEGIN, the data version again, the ALTER,
# ledger row, document, cookie, state, COMMIT: 8; the first tenant of a schema hashes it too:
# 9), and a group commit's settings and checkpoint (5).
MOST_STATEMENTS = 21


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every statement (each of a script's too) run on a connection cinch opens, by file."""
    seen: Counter[str] = Counter()

    class Traced(sqlite_conn.CinchConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)

            def trace(sql: str) -> None:
                if not sql.startswith("--"):  # a statement SQLite runs inside another one
                    seen[getattr(self, "path", "")] += 1

            self.set_trace_callback(trace)

    monkeypatch.setattr(sqlite_conn, "CinchConnection", Traced)
    return seen


def test_a_column_add_runs_a_bounded_number_of_statements_per_tenant(
        project: cinch.Project, counted: Counter[str]) -> None:
    names = [f"t{i}" for i in range(TENANTS - 1)]
    project.tenants.create_many("main", "main", names)
    files = {name: str(project.tenants.path("main", "main", name)) for name in ["main", *names]}
    project.tenants.apply_workers = 1
    project.database().add_column("users", "plan:TEXT")  # the template and caches, warmed
    project.tenants.pool.close_all()  # each tenant opened by the apply, as across many
    counted.clear()

    project.database().add_column("users", "score:INTEGER")
    project.tenants.pool.close_all()

    per_tenant = {name: counted[path] for name, path in files.items()}
    assert all(0 < count <= MOST_STATEMENTS for count in per_tenant.values()), per_tenant
    for path in files.values():  # and each one holds the change, recorded and undrifted
        with sqlite3.connect(path) as conn:
            columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
            assert columns[-2:] == ["plan", "score"]
            assert len(ts.read_ledger(conn)) == 3
            assert ts.drift(conn) is None
            assert ts.read_state(conn)["fingerprint"] == ts.schema_fingerprint(conn)
        conn.close()


def test_a_tenant_of_an_earlier_cinch_is_carried_over_by_its_next_move(
        project: cinch.Project) -> None:
    """A file whose ledger is still in an earlier cinch's three tables (and whose record
    predates the cookie): status reads it, and the next apply moves it and its ledger, all in
    the one transaction."""
    path = str(project.tenants.path("main", "main", "main"))
    project.tenants.pool.close_all()
    to_legacy(path)
    assert project.tenants.info("main", "main", "main").state == "up to date"

    project.database().add_column("users", "plan:TEXT")
    project.tenants.pool.close_all()

    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
        assert "_cinch_log" in tables and "_cinch_ledger" not in tables
        assert len(ts.read_ledger(conn)) == 2
        state = ts.read_state(conn)
        assert state["ledger"] == ts.ledger_digest(ts.read_ledger(conn))
        assert state["fingerprint"] == ts.schema_fingerprint(conn)
        assert ts.drift(conn) is None
        assert "plan" in [row[1] for row in conn.execute("PRAGMA table_info(users)")]
    conn.close()
