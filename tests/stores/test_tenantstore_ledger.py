"""The ledger: idempotent, atomic change application, the 12-step rebuild, dry runs, drift."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from cinch.errors import TenantError
from cinch.stores import tenantstore as ts


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}


def test_ledger_reads_and_rows(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        assert ts.read_ledger(conn) == ["01A", "01B"]
        rows = ts.read_ledger_rows(conn)
        assert [(r.seq, r.change_id, r.commit_id) for r in rows] == [
            (1, "01A", "c1"), (2, "01B", "c2"),
        ]
        assert rows[0].applied_at.endswith("Z") and "T" in rows[0].applied_at
        assert ts.has_change(conn, "01A") and not ts.has_change(conn, "nope")
    finally:
        conn.close()


def test_ledger_on_a_bare_database(tmp_path: Path) -> None:
    conn = ts.connect(tmp_path / "bare.db")
    try:
        assert ts.read_ledger(conn) == [] and ts.read_ledger_rows(conn) == []
        ts.ensure_ledger(conn)
        ts.ensure_ledger(conn)  # idempotent
        assert ts.read_ledger(conn) == []
    finally:
        conn.close()


def test_apply_is_idempotent(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        stmts = ["ALTER TABLE parent ADD COLUMN email TEXT"]
        assert ts.apply_change(conn, "01C", "c3", stmts) is True
        assert ts.apply_change(conn, "01C", "c3", stmts) is False  # would fail if re-run
        assert ts.apply_change(conn, "01C", "other", ["SELECT 1"]) is False
        assert ts.read_ledger(conn) == ["01A", "01B", "01C"]
        assert ts.read_ledger_rows(conn)[-1].commit_id == "c3"
    finally:
        conn.close()


def test_apply_is_atomic(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        before = ts.schema_fingerprint(conn)
        conn.execute("INSERT INTO parent(name) VALUES ('kept')")
        stmts = [
            "CREATE TABLE audit(id INTEGER PRIMARY KEY)",
            "ALTER TABLE nosuchtable ADD COLUMN x TEXT",
            "UPDATE parent SET name = 'changed'",
        ]
        with pytest.raises(TenantError) as info:
            ts.apply_change(conn, "01C", "c3", stmts)
        err = info.value
        assert err.details["statement"] == stmts[1]
        assert err.details["statement_index"] == 1
        assert err.details["change_id"] == "01C"
        assert err.details["path"] == str(tenant)
        assert "no such table" in err.details["reason"]
        assert "statement 2 of 3" in err.message
        assert not conn.in_transaction
        assert "audit" not in _tables(conn)
        assert ts.schema_fingerprint(conn) == before
        assert conn.execute("SELECT name FROM parent").fetchall() == [("kept",)]
        assert ts.read_ledger(conn) == ["01A", "01B"]
        # A statement holding two statements is an error too, not half-applied.
        with pytest.raises(TenantError):
            ts.apply_change(conn, "01D", "c4", ["CREATE TABLE x(a); CREATE TABLE y(b)"])
        assert {"x", "y"}.isdisjoint(_tables(conn))
    finally:
        conn.close()


def test_apply_refuses_an_open_transaction(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        conn.execute("BEGIN")
        with pytest.raises(TenantError, match="open transaction"):
            ts.apply_change(conn, "01C", "c3", ["CREATE TABLE t(x)"])
        conn.execute("ROLLBACK")
    finally:
        conn.close()


REBUILD = [
    "CREATE TABLE parent_new(id INTEGER PRIMARY KEY, name TEXT NOT NULL, code TEXT)",
    "INSERT INTO parent_new(id, name) SELECT id, name FROM parent WHERE name <> 'dropme'",
    "DROP TABLE parent",
    "ALTER TABLE parent_new RENAME TO parent",
]


def test_rebuild_with_foreign_key_violation_is_refused(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        conn.execute("INSERT INTO parent(id, name) VALUES (1, 'keep'), (2, 'dropme')")
        conn.execute("INSERT INTO child(parent_id) VALUES (1), (2)")
        before = ts.schema_fingerprint(conn)
        with pytest.raises(TenantError, match="foreign key") as info:
            ts.apply_change(conn, "01C", "c3", REBUILD, rebuild=True)
        assert "child rowid 2" in info.value.message
        assert info.value.details["violations"][0][:3] == ["child", 2, "parent"]
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert ts.schema_fingerprint(conn) == before
        assert conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 2
        assert ts.read_ledger(conn) == ["01A", "01B"]
        # dry_run reports the same without changing anything.
        message = ts.dry_run(conn, REBUILD, rebuild=True)
        assert message is not None and "child rowid 2" in message
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        conn.close()


def test_rebuild_succeeds_and_keeps_children(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        conn.execute("INSERT INTO parent(id, name) VALUES (1, 'keep')")
        conn.execute("INSERT INTO child(parent_id) VALUES (1)")
        assert ts.apply_change(conn, "01C", "c3", REBUILD, rebuild=True) is True
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        cols = [r[1] for r in conn.execute("PRAGMA table_info(parent)")]
        assert cols == ["id", "name", "code"]
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 1
        # The child's foreign key still points at "parent" (not renamed away).
        assert conn.execute("PRAGMA foreign_key_list(child)").fetchone()[2] == "parent"
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO child(parent_id) VALUES (42)")
    finally:
        conn.close()


def test_rebuild_restores_foreign_keys_after_a_statement_error(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        with pytest.raises(TenantError):
            ts.apply_change(conn, "01C", "c3", ["DROP TABLE nosuch"], rebuild=True)
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        conn.close()


def test_dry_run_never_changes_anything(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        before = ts.schema_fingerprint(conn)
        assert ts.dry_run(conn, ["CREATE TABLE t(x)", "ALTER TABLE t ADD COLUMN y"]) is None
        assert "t" not in _tables(conn)
        message = ts.dry_run(conn, ["CREATE TABLE t(x)", "CREATE TABLE t(x)"])
        assert message is not None
        assert "statement 2 of 2" in message and "already exists" in message
        assert ts.schema_fingerprint(conn) == before
        assert not conn.in_transaction
    finally:
        conn.close()


def test_fingerprint_tracks_the_user_schema_only(
    store: ts.TenantStore, template: Path, tenant: Path
) -> None:
    other = store.create_from_template(template, "main", "main", "other")
    a, b = ts.connect(tenant), ts.connect(other)
    try:
        assert ts.schema_fingerprint(a) == ts.schema_fingerprint(b)
        a.execute("INSERT INTO parent(name) VALUES ('data does not matter')")
        ts.apply_change(a, "01Z", "cz", [])  # neither does the ledger
        assert ts.schema_fingerprint(a) == ts.schema_fingerprint(b)
        a.execute("CREATE INDEX parent_name ON parent(name)")
        assert ts.schema_fingerprint(a) != ts.schema_fingerprint(b)
        b.execute("CREATE INDEX parent_name ON parent(name)")
        assert ts.schema_fingerprint(a) == ts.schema_fingerprint(b)
        # '_' in the exclusion patterns is literal, not a LIKE wildcard.
        b.execute("CREATE TABLE xcinch(x)")
        assert ts.schema_fingerprint(a) != ts.schema_fingerprint(b)
    finally:
        a.close()
        b.close()


def test_concurrent_readers_while_a_writer_applies(store: ts.TenantStore, tenant: Path) -> None:
    with store.connection("main", "main", "acme") as conn:
        conn.executemany(
            "INSERT INTO parent(name) VALUES (?)", [(f"p{i}",) for i in range(2000)]
        )
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: set[int] = set()

    def reader() -> None:
        try:
            while not stop.is_set():
                with store.connection("main", "main", "acme", read_only=True) as conn:
                    cols = len(conn.execute("PRAGMA table_info(parent)").fetchall())
                    count = conn.execute("SELECT count(*) FROM parent").fetchone()[0]
                    assert count == 2000
                    seen.add(cols)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    with store.connection("main", "main", "acme") as conn:
        stmts = [
            "ALTER TABLE parent ADD COLUMN score INTEGER NOT NULL DEFAULT 0",
            "UPDATE parent SET score = id * 2",
            "CREATE INDEX parent_score ON parent(score)",
        ]
        assert ts.apply_change(conn, "01C", "c3", stmts)
    time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert seen <= {2, 3} and 3 in seen  # readers saw the old schema or the new, never a half
    with store.connection("main", "main", "acme", read_only=True) as conn:
        assert conn.execute("SELECT sum(score) FROM parent").fetchone()[0] == 2000 * 2001
        assert ts.read_ledger(conn)[-1] == "01C"


def test_two_appliers_race_and_apply_once(store: ts.TenantStore, tenant: Path) -> None:
    results: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def apply() -> None:
        conn = ts.connect(tenant)
        try:
            barrier.wait()
            results.append(ts.apply_change(conn, "01C", "c3", ["CREATE TABLE once(x)"]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [False, False, False, True]


def _known(conn: sqlite3.Connection) -> ts.Known:
    """What a mover reads before its write transaction, in the order it reads it."""
    seen = ts.data_version(conn)
    recorded = ts.read_recorded(conn)
    return ts.Known(recorded.ids, seen, recorded.state.get("fingerprint"),
                    ts.schema_cookie(conn), recorded.top)


def test_the_record_read_gives_the_ledger_in_the_order_applied(tenant: Path) -> None:
    """A change set applied after one with a later id (a pull, a merge) comes after it: the
    order a move unwinds in, whatever order the ids sort in."""
    conn = ts.connect(tenant)
    try:
        assert ts.apply_change(conn, "01Z", "c3", ["CREATE TABLE late(x)"]) is True
        assert ts.apply_change(conn, "01C", "c4", ["CREATE TABLE early(x)"]) is True
        state, ids, complete, _ = ts.read_recorded(conn)
        assert ids == ["01A", "01B", "01Z", "01C"] == ts.read_ledger(conn)
        assert complete and state["ledger"] == ts.ledger_digest(ids)
    finally:
        conn.close()


def test_a_read_made_stale_by_another_connection_is_read_again(tenant: Path) -> None:
    """A mover's ledger read stands in for the read under the write lock only while no other
    connection committed: here another process applied the change in between."""
    conn, other = ts.connect(tenant), ts.connect(tenant)
    try:
        known = _known(conn)
        assert "01C" not in known.ids
        assert ts.apply_change(other, "01C", "c3", ["CREATE TABLE once(x)"]) is True
        assert ts.apply_change(conn, "01C", "c3", ["CREATE TABLE once(x)"], check_first=False,
                               ledger_ready=True, known=known) is False
        assert ts.read_ledger(conn) == ["01A", "01B", "01C"]
        assert ts.drift(conn) is None
    finally:
        conn.close()
        other.close()


def test_a_fingerprint_carried_over_from_another_tenant_is_the_file_s_own(
        store: ts.TenantStore, template: Path) -> None:
    """Tenants of one schema given the same statements record the fingerprint the first one
    hashed; each is what hashing its own file gives, and a tenant whose schema differs
    hashes its own."""
    files = [store.create_from_template(template, "main", "main", f"t{i}") for i in range(3)]
    with sqlite3.connect(files[2]) as raw:  # a schema of its own, recorded as cinch's
        raw.execute("CREATE TABLE extra(x)")
    raw.close()
    conn = ts.connect(files[2])
    try:
        conn.execute("BEGIN IMMEDIATE")
        ts.record_state(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    statements = ["ALTER TABLE parent ADD COLUMN email TEXT"]
    for path in files:
        conn = ts.connect(path)
        try:
            assert ts.apply_change(conn, "01C", "c3", statements, check_first=False,
                                   ledger_ready=True, known=_known(conn)) is True
            recorded = ts.read_state(conn)["fingerprint"]
            assert recorded == ts.schema_fingerprint(conn)
            assert ts.drift(conn) is None
        finally:
            conn.close()
    fingerprints = []
    for path in files:
        with contextlib.closing(sqlite3.connect(path)) as raw:
            fingerprints.append(ts.read_state(raw)["fingerprint"])
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]


def test_drift_follows_every_schema_change_made_outside_cinch(tenant: Path) -> None:
    """The record keeps SQLite's schema cookie so an unchanged file is not hashed again; any
    schema change moves the cookie, and the file is then compared by its fingerprint."""
    conn = ts.connect(tenant)
    try:
        ts.apply_change(conn, "01C", "c3", ["ALTER TABLE parent ADD COLUMN email TEXT"])
        assert ts.drift(conn) is None
        # The same schema by another road (dropped and made again): the cookie moved, the
        # fingerprint did not, so it is not drift.
        conn.execute("DROP INDEX child_parent")
        conn.execute("CREATE INDEX child_parent ON child(parent_id)")
        assert ts.drift(conn) is None
        conn.execute("CREATE INDEX sneaky ON parent(name)")
        assert ts.drift(conn) == "its schema was changed outside cinch"
        conn.execute("DROP INDEX sneaky")
        assert ts.drift(conn) is None
        conn.execute("ALTER TABLE child ADD COLUMN extra TEXT")
        assert ts.drift(conn) == "its schema was changed outside cinch"
        # A record without the cookie (written before it was kept) is compared by hashing.
        conn.execute("UPDATE _cinch_log SET schema_version = NULL WHERE change_id IS NULL")
        assert ts.drift(conn) == "its schema was changed outside cinch"
        conn.execute("ALTER TABLE child DROP COLUMN extra")
        assert ts.drift(conn) is None
        conn.execute("DELETE FROM _cinch_log WHERE change_id = '01A'")
        assert ts.drift(conn) == "its ledger was edited outside cinch"
    finally:
        conn.close()


def test_a_file_without_ledger_or_record_reads_as_empty(tmp_path: Path) -> None:
    conn = ts.connect(tmp_path / "plain.db")
    try:
        conn.execute("CREATE TABLE t(x)")
        assert ts.read_state(conn) == {} and ts.read_ledger(conn) == []
        assert ts.read_ledger_rows(conn) == [] and ts.drift(conn) is None
        ts.ensure_ledger(conn)
        assert "_cinch_log" in _tables(conn)
        assert ts.read_state(conn) == {} and ts.read_ledger(conn) == []
    finally:
        conn.close()


def _documents(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM _cinch_docs").fetchone()[0])


def test_documents_follow_their_change_sets(tenant: Path) -> None:
    """A change set's document is kept while the tenant holds it: applied with it, gone with
    its unwind, and a repair leaves exactly the documents of the ledger it sets."""
    conn = ts.connect(tenant)
    try:
        assert ts.apply_change(conn, "01C", "c3", ["CREATE TABLE a(x)"], body=b'{"id":"01C"}')
        assert ts.apply_change(conn, "01D", "c4", ["CREATE TABLE b(x)"], body=b'{"id":"01D"}')
        assert ts.change_bodies(conn) == {"01C": b'{"id":"01C"}', "01D": b'{"id":"01D"}'}
        assert ts.unwind_change(conn, "01C", "c4", ["DROP TABLE a"]) is True
        assert ts.change_bodies(conn) == {"01D": b'{"id":"01D"}'} and _documents(conn) == 1
        assert ts.read_ledger(conn) == ["01A", "01B", "01D"] and ts.drift(conn) is None
        # applied again after the unwind: a row (and document) of its own at the end
        assert ts.apply_change(conn, "01C", "c5", ["CREATE TABLE a(x)"], body=b'{"id":"01C"}')
        assert ts.read_ledger(conn) == ["01A", "01B", "01D", "01C"]
        assert ts.change_bodies(conn)["01C"] == b'{"id":"01C"}' and _documents(conn) == 2
        ts.reset_ledger(conn, [], [("01A", b"a"), ("01B", b"b")], "c6")
        assert ts.change_bodies(conn) == {"01A": b"a", "01B": b"b"} and _documents(conn) == 2
        assert ts.read_ledger(conn) == ["01A", "01B"]
        assert ts.read_state(conn)["ledger"] == ts.ledger_digest(["01A", "01B"])
    finally:
        conn.close()


def test_a_documents_table_dropped_by_hand_comes_back_empty(tenant: Path) -> None:
    """The documents are a copy of what git holds: a file whose table of them was dropped
    still moves both ways, and keeps the documents of the change sets it takes from then on."""
    conn = ts.connect(tenant)
    try:
        assert ts.apply_change(conn, "01C", "c3", ["CREATE TABLE a(x)"], body=b'{"id":"01C"}')
        conn.execute("DROP TABLE _cinch_docs")
        assert ts.change_bodies(conn) == {} and ts.drift(conn) is None
        assert ts.unwind_change(conn, "01C", "c2", ["DROP TABLE a"]) is True
        assert ts.apply_change(conn, "01D", "c4", ["CREATE TABLE b(x)"], body=b'{"id":"01D"}')
        assert ts.change_bodies(conn) == {"01D": b'{"id":"01D"}'}
        assert ts.read_ledger(conn) == ["01A", "01B", "01D"] and ts.drift(conn) is None
    finally:
        conn.close()
