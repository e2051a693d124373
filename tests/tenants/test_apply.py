"""Applying change sets to many tenants: all or nothing, idempotent, safe for readers."""

from __future__ import annotations

import sqlite3
import threading

import pytest

import cinch
from cinch.errors import ApplyRefused, CinchError
from cinch.stores import tenantstore as ts


def _snapshot(project: cinch.Project) -> dict[str, bytes]:
    out = {}
    for name in project.tenants.names("main", "main"):
        path = project.tenants.path("main", "main", name)
        conn = sqlite3.connect(path)
        out[name] = repr((ts.schema_fingerprint(conn),
                          conn.execute("SELECT * FROM users ORDER BY id").fetchall(),
                          conn.execute("SELECT change_id FROM _cinch_log WHERE change_id IS NOT NULL")
                          .fetchall())).encode()
        conn.close()
    return out


def test_failure_on_one_tenant_changes_nothing(project: cinch.Project) -> None:
    names = [f"c{i:02d}" for i in range(40)]
    project.tenants.create_many("main", "main", names)
    for i, name in enumerate(names):
        project.tenant(name).insert("users", {"name": "x", "email": f"{name}@x", "age": i})
    # One tenant of many holds duplicates: the unique index must be refused everywhere.
    project.tenant("c17").insert("users", {"name": "y", "email": "c17@x", "age": 1})
    head = project.git.branch_tip("main")
    before = _snapshot(project)
    with pytest.raises(ApplyRefused) as err:
        project.database().create_index("users", ["email"], unique=True)
    assert "c17" in err.value.message and "duplicate" in err.value.message
    assert project.git.branch_tip("main") == head
    assert _snapshot(project) == before
    # NOT NULL on a column holding NULLs: refused, nothing changed.
    project.tenant("c03").insert("users", {"name": None, "email": "n@x", "age": 2})
    before = _snapshot(project)
    with pytest.raises(ApplyRefused, match="c03"):
        project.database().alter_column("users", "name", not_null=True)
    assert project.git.branch_tip("main") == head
    assert _snapshot(project) == before


def test_apply_reaches_every_tenant_and_is_idempotent(project: cinch.Project) -> None:
    project.tenants.create_many("main", "main", ["a", "b", "c"])
    project.tenant("b").insert("users", {"name": "Bo", "email": "b@x", "age": 40})
    result = project.database().alter_column("users", "age", type="REAL")
    assert result.tenants["tenants"] == 4
    for name in ("a", "b", "c", "main"):
        cols = {r["name"]: r["type"] for r in project.tenant(name).rows(
            "SELECT name, type FROM pragma_table_info('users')")}
        assert cols["age"] == "REAL"
    assert project.tenant("b").rows("SELECT age FROM users") == [{"age": 40.0}]
    assert project.sync()["main"]["updated"] == 0  # twice is a no-op
    assert {i.state for i in project.tenants.infos("main", "main")} == {"up to date"}


def test_drift_is_reported(project: cinch.Project) -> None:
    project.tenants.create("main", "main", "odd")
    path = project.tenants.path("main", "main", "odd")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE sneaky(x)")  # a change made behind cinch's back
    conn.close()
    states = {i.name: i.state for i in project.tenants.infos("main", "main")}
    assert states == {"main": "up to date", "odd": "drifted"}


def test_readers_during_apply(project: cinch.Project) -> None:
    names = [f"r{i}" for i in range(30)]
    project.tenants.create_many("main", "main", names)
    for name in names:
        for i in range(50):
            project.tenant(name).insert("users", {"name": "n", "email": f"{i}", "age": i})
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader(name: str) -> None:
        other = cinch.open(project.root)
        try:
            tenant = other.tenant(name)
            while not stop.is_set():
                rows = tenant.rows("SELECT count(*) AS n, sum(age) AS s FROM users")
                assert rows == [{"n": 50, "s": sum(range(50))}]
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=reader, args=(n,)) for n in names[:4]]
    for t in threads:
        t.start()
    try:
        project.database().alter_column("users", "age", type="REAL")
        project.database().add_column("users", "nick:TEXT")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]


def test_query_guard_and_binding(project: cinch.Project) -> None:
    tenant = project.tenant("main")
    evil = "x'); DROP TABLE users; --"
    tenant.query("INSERT INTO users(name, email, age) VALUES (?, ?, ?)", [evil, "e", 1])
    assert tenant.rows("SELECT name FROM users") == [{"name": evil}]
    for sql in ("DROP TABLE users", "CREATE TABLE t(x)", "ALTER TABLE users ADD COLUMN z",
                "ATTACH DATABASE 'other.db' AS o", "SELECT load_extension('x')",
                "PRAGMA journal_mode=DELETE", "DELETE FROM _cinch_log",
                "SELECT 1; DROP TABLE users"):
        with pytest.raises(CinchError):
            tenant.query(sql)
    with pytest.raises(CinchError):
        tenant.query("INSERT INTO users(name) VALUES ('x')", read_only=True)
    assert project.database().table("users")  # schema intact
    assert len(tenant.rows("SELECT * FROM users")) == 1


def test_python_api_rows(project: cinch.Project) -> None:
    tenant = project.tenant("main")
    row = tenant.insert("users", {"name": "Ann", "email": "a@x", "age": 30})
    assert len(row["id"]) == 36 and row["id"][14] == "4"  # a UUID4
    assert row["created_at"] == row["updated_at"]
    updated = tenant.update("users", row["id"], {"age": 31})
    assert updated["age"] == 31
    with pytest.raises(RuntimeError), tenant.transaction():
        tenant.insert("users", {"name": "Bob"})
        raise RuntimeError("roll back")
    assert [r["name"] for r in tenant.rows("SELECT name FROM users")] == ["Ann"]
    assert tenant.delete("users", row["id"]) is True
    assert tenant.rows("SELECT * FROM users") == []


def test_a_commit_of_other_files_leaves_the_tenants_synced_unread(
        project: cinch.Project) -> None:
    """A commit that changes no change set (a README, the code beside the schema) keeps every
    tenant at the head without opening one: the sync git's hook runs after it costs nothing
    per tenant. (So a file put back behind cinch's back is found only by a full sync, as
    at any head cinch synced.)"""
    import os
    import subprocess

    tenants = project.tenants
    tenants.create_many("main", "main", ["a", "b"])
    tenants.pool.close_all()
    path = tenants.path("main", "main", "a")
    old = path.read_bytes()  # a holds one change set fewer than the head below
    project.database().add_column("users", "nick:TEXT")
    tenants.pool.close_all()
    path.write_bytes(old)  # put back behind cinch's back: a is behind now
    (project.root / "README.md").write_text("# acme\n")
    who = {"GIT_AUTHOR_NAME": "Ann", "GIT_AUTHOR_EMAIL": "ann@example.com",
           "GIT_COMMITTER_NAME": "Ann", "GIT_COMMITTER_EMAIL": "ann@example.com"}
    for args in (["add", "README.md"], ["commit", "-q", "-m", "Add a readme"]):
        subprocess.run(["git", *args], cwd=project.root, check=True, env={**os.environ, **who})
    result = project.sync()  # as the post-commit hook's: nothing read, nothing moved
    assert result["main"]["updated"] == 0 and result["main"]["tenants"] == 3
    assert project.sync(full=True)["main"]["updated"] == 1  # a full sync reads every file
    assert {i.state for i in tenants.infos("main", "main")} == {"up to date"}
