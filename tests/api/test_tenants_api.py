"""``Database.tenants`` and ``Tenant``: the tenant collection and a tenant's writes, through
``cinch`` only, on real SQLite files."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

import cinch
from cinch import errors


def test_create_get_list_and_len(project: cinch.Project) -> None:
    tenants = project.database().tenants
    assert isinstance(tenants, cinch.TenantCollection)
    made = tenants.create("acme", "globex")
    assert [t.name for t in made] == ["acme", "globex"]
    assert all(isinstance(t, cinch.Tenant) and t.path.is_file() for t in made)
    assert list(tenants) == ["acme", "globex", "main"]
    assert len(tenants) == 3 and "acme" in tenants and "nope" not in tenants

    infos = tenants.list()
    assert all(isinstance(i, cinch.TenantInfo) for i in infos)
    assert [(i.name, i.state) for i in infos] == [
        ("acme", "up to date"), ("globex", "up to date"), ("main", "up to date")]
    assert [i.name for i in tenants.list(limit=1)] == ["acme"]
    assert [i.name for i in tenants.list(limit=2, after="acme")] == ["globex", "main"]
    assert tenants.list(after="main") == []

    acme = tenants.get("acme")
    acme.insert("users", {"name": "Ann"})
    assert tenants.get("acme").rows("SELECT name FROM users") == [{"name": "Ann"}]
    with pytest.raises(errors.NotFound):
        tenants.get("nope")


def test_create_is_all_or_nothing(project: cinch.Project) -> None:
    tenants = project.database().tenants
    tenants.create("acme")
    with pytest.raises(errors.AlreadyExists):
        tenants.create("new", "acme")
    assert list(tenants) == ["acme", "main"]
    with pytest.raises(errors.InvalidName):
        tenants.create("ok", "../bad")
    assert list(tenants) == ["acme", "main"]
    with pytest.raises(errors.UsageError):
        tenants.create()
    assert [t.name for t in tenants.create_many(["x", "y"])] == ["x", "y"]


def test_copy_rename_delete(project: cinch.Project) -> None:
    tenants = project.database().tenants
    acme = tenants.create("acme")[0]
    acme.insert("users", {"name": "Ann"})
    copy = tenants.copy("acme", "acme2")
    assert copy.rows("SELECT name FROM users") == [{"name": "Ann"}]
    renamed = tenants.rename("acme2", "initech")
    assert renamed.rows("SELECT name FROM users") == [{"name": "Ann"}]
    assert list(tenants) == ["acme", "initech", "main"]
    tenants.delete("initech")
    assert list(tenants) == ["acme", "main"]
    assert not renamed.path.exists()
    with pytest.raises(errors.NotFound):
        tenants.delete("initech")


def test_tenants_are_per_branch(project: cinch.Project) -> None:
    project.database().tenants.create("acme")
    project.create_branch("feature", empty=True)
    feature = project.database(branch="feature").tenants
    assert list(feature) == ["acme", "main"]
    assert feature.info("acme").state == "not copied yet"
    feature.create("only-here")
    assert "only-here" not in project.database().tenants


def _create_while_locked(root: str, ready: object, done: object) -> None:
    with cinch.open(root) as p:
        ready.set()  # type: ignore[attr-defined]
        p.database().tenants.create("late")
        done.set()  # type: ignore[attr-defined]


def test_create_waits_for_the_project_lock(project: cinch.Project) -> None:
    """The engine takes the lock itself: another process's create waits while this one
    holds it (as a schema change would), and goes on once it is released."""
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    with project.lock():
        child = ctx.Process(target=_create_while_locked, args=(str(project.root), ready, done))
        child.start()
        assert ready.wait(60)
        assert not done.wait(1.0)  # blocked on the lock we hold
        assert "late" not in project.database().tenants
    child.join(60)
    assert child.exitcode == 0 and done.is_set()
    assert "late" in project.database().tenants


def test_executemany_and_batch_are_atomic(project: cinch.Project) -> None:
    main = project.database().tenants.get("main")
    changed = main.executemany("INSERT INTO users (name, email) VALUES (?, ?)",
                               [("Ann", "a@x"), ("Bob", "b@x")])
    assert changed == 2
    with pytest.raises(errors.QueryError) as failed:
        main.executemany("INSERT INTO users (name, email) VALUES (?, ?)",
                         [("Cy", "c@x"), ("Dup", "a@x")])  # email is unique
    assert failed.value.details["index"] == 1
    assert [r["name"] for r in main.rows("SELECT name FROM users ORDER BY name")] == \
        ["Ann", "Bob"]

    results = main.batch(["UPDATE users SET age = 30 WHERE name = 'Ann'",
                          ("SELECT name, age FROM users WHERE age > ?", [20])])
    assert all(isinstance(r, cinch.QueryResult) for r in results)
    assert results[0].rowcount == 1 and results[1].rows == [("Ann", 30)]
    with pytest.raises(errors.QueryError):
        main.batch(["UPDATE users SET age = 40", "INSERT INTO nope VALUES (1)"])
    assert main.rows("SELECT age FROM users WHERE name = 'Ann'") == [{"age": 30}]
    with pytest.raises(errors.QueryRefused):
        main.batch(["UPDATE users SET age = 1"], read_only=True)
    with pytest.raises(errors.QueryRefused):
        main.batch(["DROP TABLE users"])  # schema changes go through cinch


def test_batch_inside_a_transaction_rolls_back_with_it(project: cinch.Project) -> None:
    main = project.database().tenants.get("main")
    with pytest.raises(RuntimeError), main.transaction():
        main.batch([("INSERT INTO users (name) VALUES (?)", ["Zed"])])
        raise RuntimeError("rolled back")
    conn = sqlite3.connect(Path(main.path))
    try:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    finally:
        conn.close()


def test_watch_sees_a_commit(project: cinch.Project) -> None:
    main = project.database().tenants.get("main")
    watch = main.watch()
    try:
        before = watch.version()
        main.insert("users", {"name": "Ann"})
        assert watch.version() != before
    finally:
        watch.close()


def test_a_handle_writes_at_the_schema_of_the_moment(project: cinch.Project) -> None:
    """Write statements are built once per schema: a column added or dropped since the last
    write through the same handle is seen at the next one, inside a transaction or not."""
    db = project.database()
    acme = db.tenants.create("acme")[0]
    acme.insert("users", {"name": "Ann"})
    with pytest.raises(errors.NotFound):
        acme.insert("users", {"name": "Bob", "nickname": "bobby"})
    db.add_column("users", "nickname", "TEXT")
    with acme.transaction():
        bob = acme.insert("users", {"name": "Bob", "nickname": "bobby"})
        acme.update("users", bob["id"], {"nickname": "rob"})
    assert acme.get("users", bob["id"])["nickname"] == "rob"  # type: ignore[index]
    db.drop_column("users", "nickname")
    for _ in range(2):  # refused each time, not only when the statement is first built
        with pytest.raises(errors.NotFound, match="nickname"), acme.transaction():
            acme.insert("users", {"name": "Cy", "nickname": "cy"})
        with pytest.raises(errors.InvalidOperation, match="maintained by cinch"):
            acme.update("users", bob["id"], {"updated_at": "x"})
    assert [r["name"] for r in acme.rows("SELECT name FROM users ORDER BY name")] == [
        "Ann", "Bob"]


def test_rows_reads_and_refuses_writes(project: cinch.Project) -> None:
    """``Tenant.rows`` keeps a read connection of the handle's own: it sees every commit, and
    refuses anything but a read whatever ran on that connection before."""
    acme = project.database().tenants.create("acme")[0]
    ann = acme.insert("users", {"name": "Ann"})
    point = "SELECT name FROM users WHERE id = ?"
    assert acme.rows(point, [ann["id"]]) == [{"name": "Ann"}]
    assert acme.rows(point, ["nobody"]) == []
    # A write through another connection is seen by the next read.
    with sqlite3.connect(acme.path) as other:
        other.execute("UPDATE users SET name = 'Anna' WHERE id = ?", [ann["id"]])
    assert acme.rows(point, [ann["id"]]) == [{"name": "Anna"}]
    for sql, error in [("DELETE FROM users", errors.QueryRefused),
                       ("DROP TABLE users", errors.QueryRefused),
                       ("SELECT * FROM users; DELETE FROM users", errors.QueryRefused),
                       ("   ", errors.QueryError),
                       ("SELECT nosuch FROM users", errors.QueryError)]:
        with pytest.raises(error):
            acme.rows(sql)
        # The refusal left the handle's reader usable, and still guarded.
        assert acme.query("SELECT count(*) FROM users", read_only=True).rows == [(1,)]
        assert acme.rows(point, [ann["id"]]) == [{"name": "Anna"}]
    with pytest.raises(errors.QueryRefused):
        acme.rows("UPDATE users SET name = 'x'")
    assert acme.rows("SELECT name FROM users") == [{"name": "Anna"}]
    assert [r["name"] for r in acme.rows("SELECT name FROM users UNION ALL SELECT 'Bob'")] == [
        "Anna", "Bob"]


def test_close_releases_the_tenants_connections_but_not_one_in_use(
        project: cinch.Project) -> None:
    """A script going through many tenants closes each when done: the file is left with no
    WAL beside it (its last connection checkpointed it), and nothing is lost. A connection
    another handle holds in a transaction is left to it."""
    acme, globex = project.database().tenants.create("acme", "globex")
    with acme.transaction():
        acme.insert("users", {"name": "Ann"})
    assert acme.rows("SELECT name FROM users") == [{"name": "Ann"}]
    wal = acme.path.with_name(acme.path.name + "-wal")
    assert wal.exists()  # the pooled writer and the handle's reader are open
    acme.close()
    assert not wal.exists()
    assert not project.tenants.pool.holds(acme.path)
    with sqlite3.connect(acme.path) as plain:
        assert plain.execute("SELECT name FROM users").fetchall() == [("Ann",)]
    plain.close()

    other = project.database().tenants.get("globex")
    with globex.transaction():
        globex.insert("users", {"name": "Bob"})
        other.close()  # globex's connection is leased to the transaction: left alone
        globex.insert("users", {"name": "Cy"})
    assert sorted(r["name"] for r in other.rows("SELECT name FROM users")) == ["Bob", "Cy"]
    other.close()
    acme.insert("users", {"name": "Dee"})  # a closed handle reopens what it needs
    assert len(acme.rows("SELECT name FROM users")) == 2


def test_closing_handles_while_another_thread_writes_loses_nothing(
        project: cinch.Project) -> None:
    """close() on one thread while another commits through its own handle of the same
    tenant: the writer's leased connection is never closed under it, every row lands."""
    import threading

    acme = project.database().tenants.create("acme")[0]
    errors_seen: list[BaseException] = []
    stop = threading.Event()

    def closer() -> None:
        try:
            while not stop.is_set():
                handle = project.database().tenants.get("acme")
                handle.rows("SELECT count(*) FROM users")
                handle.close()
                stop.wait(0.002)
        except BaseException as exc:  # reported by the assertion below
            errors_seen.append(exc)

    thread = threading.Thread(target=closer)
    thread.start()
    try:
        for i in range(40):
            with acme.transaction():
                acme.insert("users", {"name": f"u{i}"})
                acme.insert("users", {"name": f"v{i}"})
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors_seen, errors_seen
    assert acme.rows("SELECT count(*) AS n FROM users") == [{"n": 80}]
    acme.close()
