"""Guarded user queries: the authorizer policy, binding, read-only, batches and pages."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cinch.errors import QueryError, QueryRefused, QueryTimeout
from cinch.stores import tenantstore as ts


@pytest.fixture
def conn(store: ts.TenantStore, tenant: Path) -> Iterator[ts.CinchConnection]:
    with store.connection("main", "main", "acme") as conn:
        conn.execute("INSERT INTO parent(id, name) VALUES (1, 'one'), (2, 'two')")
        yield conn


def _state(conn: sqlite3.Connection) -> tuple[str, list[str], list[tuple[object, ...]]]:
    rows = conn.execute("SELECT id, name FROM parent ORDER BY id").fetchall()
    return ts.schema_fingerprint(conn), ts.read_ledger(conn), rows


REFUSED = [
    ("CREATE TABLE evil(x)", "change sets"),
    ("CREATE TEMP TABLE evil(x)", "change sets"),
    ("CREATE INDEX evil ON parent(name)", "change sets"),
    ("CREATE VIEW evil AS SELECT 1", "change sets"),
    ("CREATE TRIGGER evil AFTER INSERT ON parent BEGIN DELETE FROM child; END", "change sets"),
    ("CREATE VIRTUAL TABLE evil USING fts5(x)", "change sets"),
    ("DROP TABLE child", "change sets"),
    ("DROP INDEX child_parent", "change sets"),
    ("ALTER TABLE parent ADD COLUMN evil TEXT", "change sets"),
    ("ALTER TABLE parent RENAME TO evil", "change sets"),
    ("ATTACH DATABASE '/tmp/evil.db' AS evil", "ATTACH"),
    ("DETACH DATABASE main", "ATTACH"),
    ("VACUUM", "VACUUM"),
    ("VACUUM INTO '/tmp/cinch-evil-copy.db'", "VACUUM"),
    ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys"),
    ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"),
    ("PRAGMA user_version = 7", "PRAGMA user_version"),
    ("PRAGMA writable_schema = ON", "PRAGMA writable_schema"),
    ("PRAGMA query_only = OFF", "PRAGMA query_only"),
    ("PRAGMA database_list", "PRAGMA database_list"),
    ("PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_checkpoint"),
    ("SELECT load_extension('/tmp/evil.so')", "load_extension"),
    ("INSERT INTO _cinch_log(change_id, commit_id, applied_at) VALUES ('x', 'y', 'z')",
     "_cinch_log"),
    ("DELETE FROM _cinch_log", "_cinch_log"),
    ("UPDATE _cinch_log SET change_id = 'forged'", "_cinch_log"),
    ("DELETE FROM main._CINCH_LOG", "_cinch_log"),
    ("UPDATE sqlite_schema SET sql = 'x'", "may not be modified"),
    ("DELETE FROM sqlite_master", "may not be modified"),
    ("BEGIN", "BEGIN"),
    ("COMMIT", "COMMIT"),
    ("SAVEPOINT s1", "s1"),
    ("ANALYZE", "ANALYZE"),
    ("REINDEX", "REINDEX"),
    ("WITH x AS (SELECT 1) DELETE FROM _cinch_log", "_cinch_log"),
]


@pytest.mark.parametrize(("sql", "named"), REFUSED)
def test_refused_statements_change_nothing(
    conn: ts.CinchConnection, sql: str, named: str
) -> None:
    before = _state(conn)
    with pytest.raises(QueryRefused) as info:
        ts.run_query(conn, sql)
    assert named.lower() in info.value.message.lower()
    assert info.value.code == "query_refused"
    assert _state(conn) == before
    assert not conn.in_transaction
    # The connection is clean afterwards: the engine's own DDL still works on it.
    conn.execute("CREATE TABLE engine_owned(x)")
    conn.execute("DROP TABLE engine_owned")


def test_schema_refusal_points_at_change_sets(conn: ts.CinchConnection) -> None:
    with pytest.raises(QueryRefused, match="schema statements go through change sets"):
        ts.run_query(conn, "DROP TABLE parent")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM parent",
        "PRAGMA table_info(parent)",
        "PRAGMA index_list('child')",
        "PRAGMA foreign_key_list(child)",
        "PRAGMA main.user_version",
        "PRAGMA foreign_keys",
        "SELECT * FROM pragma_table_info('parent')",
        "SELECT value FROM json_each('[1, 2]')",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) "
        "SELECT sum(i) FROM n",
        "SELECT change_id FROM _cinch_log",
        "SELECT name FROM sqlite_schema",
        "SELECT upper(name), length(name), random() IS NOT NULL FROM parent",
    ],
)
def test_reads_are_allowed(conn: ts.CinchConnection, sql: str) -> None:
    result = ts.run_query(conn, sql, read_only=True)
    assert result.columns
    assert result.rows


def test_writes_bind_parameters_literally(conn: ts.CinchConnection) -> None:
    hostile = "x'); DROP TABLE child; --"
    result = ts.run_query(conn, "INSERT INTO parent(name) VALUES (?)", (hostile,))
    assert result.rowcount == 1 and result.lastrowid == 3 and result.columns == []
    named = ts.run_query(
        conn, "INSERT INTO parent(name) VALUES (:name)", {"name": "Robert'); --"}
    )
    assert named.rowcount == 1
    rows = ts.run_query(conn, "SELECT name FROM parent WHERE id >= ? ORDER BY id", [3]).rows
    assert rows == [(hostile,), ("Robert'); --",)]
    assert "child" in {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
    updated = ts.run_query(conn, "UPDATE parent SET name = upper(name) WHERE id <= 2")
    assert updated.rowcount == 2
    returning = ts.run_query(conn, "DELETE FROM parent WHERE id = ? RETURNING name", (1,))
    assert returning.rows == [("ONE",)] and returning.columns == ["name"]


def test_autoincrement_and_foreign_keys_work_through_the_guard(
    store: ts.TenantStore, template: Path
) -> None:
    path = store.create_from_template(template, "main", "main", "auto")
    with store.connection("main", "main", "auto") as conn:
        ts.apply_change(conn, "01C", "c3", [
            "CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)",
        ])
        ts.run_query(conn, "INSERT INTO seq(v) VALUES (?)", ("a",))  # writes sqlite_sequence
        assert ts.run_query(conn, "SELECT id FROM seq").rows == [(1,)]
        with pytest.raises(QueryError, match="FOREIGN KEY"):
            ts.run_query(conn, "INSERT INTO child(parent_id) VALUES (?)", (999,))
        with pytest.raises(QueryRefused, match="sqlite_sequence"):
            ts.run_query(conn, "UPDATE sqlite_sequence SET seq = 100")
    assert path.exists()


def test_read_only_refuses_writes(store: ts.TenantStore, conn: ts.CinchConnection) -> None:
    with pytest.raises(QueryRefused, match="read-only"):
        ts.run_query(conn, "INSERT INTO parent(name) VALUES ('x')", read_only=True)
    with pytest.raises(QueryRefused, match="read-only"):
        ts.run_query(conn, "UPDATE parent SET name = 'x'", read_only=True)
    with pytest.raises(QueryRefused, match="read-only"):
        ts.run_query(conn, "DELETE FROM parent", read_only=True)
    assert conn.execute("PRAGMA query_only").fetchone()[0] == 0  # toggled back
    with store.connection("main", "main", "acme", read_only=True) as ro:
        with pytest.raises(QueryRefused, match="read-only"):
            ts.run_query(ro, "DELETE FROM parent", read_only=True)
        # Asking a read-only connection for a write is refused by SQLite itself.
        with pytest.raises(QueryRefused, match="read-only"):
            ts.run_query(ro, "DELETE FROM parent")
    assert conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 2


def test_multiple_statements_are_refused_and_none_runs(conn: ts.CinchConnection) -> None:
    before = _state(conn)
    for sql in (
        "INSERT INTO parent(name) VALUES ('a'); INSERT INTO parent(name) VALUES ('b')",
        "SELECT 1; DROP TABLE child",
        "DELETE FROM parent; -- comment\nSELECT 1",
    ):
        with pytest.raises(QueryRefused, match="exactly one SQL statement"):
            ts.run_query(conn, sql)
    assert _state(conn) == before
    # A trailing semicolon or comment is still one statement.
    assert ts.run_query(conn, "SELECT 1; -- done").rows == [(1,)]


def test_errors_carry_sqlites_message(conn: ts.CinchConnection) -> None:
    with pytest.raises(QueryError, match="no such table: nope"):
        ts.run_query(conn, "SELECT * FROM nope")
    with pytest.raises(QueryError, match="syntax error"):
        ts.run_query(conn, "SELEC 1")
    with pytest.raises(QueryError, match="bindings"):
        ts.run_query(conn, "SELECT ?", ())
    with pytest.raises(QueryError, match=r"UNIQUE|PRIMARY KEY"):
        ts.run_query(conn, "INSERT INTO parent(id, name) VALUES (1, 'dup')")
    with pytest.raises(QueryError, match="empty"):
        ts.run_query(conn, "  ")
    with pytest.raises(QueryError):
        ts.run_query(conn, "SELECT ?", (object(),))


def test_max_rows_truncates(conn: ts.CinchConnection) -> None:
    conn.executemany("INSERT INTO parent(name) VALUES (?)", [(f"n{i}",) for i in range(50)])
    result = ts.run_query(conn, "SELECT id FROM parent ORDER BY id", max_rows=10)
    assert len(result.rows) == 10 and result.truncated and result.rowcount == 10
    full = ts.run_query(conn, "SELECT id FROM parent", max_rows=52)
    assert len(full.rows) == 52 and not full.truncated
    # The truncated statement was reset: it does not pin a read snapshot.
    ts.checkpoint(conn)
    assert ts.checkpoint(conn)[0] == 0


def test_no_unauthorized_statement_is_reused_from_the_cache(conn: ts.CinchConnection) -> None:
    """Statements the engine prepared unguarded must be re-authorized, never reused as is."""
    sql = "DELETE FROM _cinch_log WHERE change_id = 'nope'"
    conn.execute(sql)  # the engine's own statement: now in the statement cache
    with pytest.raises(QueryRefused):
        ts.run_query(conn, sql)
    ts.run_query(conn, "SELECT 1")
    conn.execute(sql)
    ts.run_query(conn, "SELECT 2")  # ...in any order
    with pytest.raises(QueryRefused):
        ts.run_query(conn, sql)
    # A write authorized for a read-write query is re-checked for a read-only one.
    insert = "INSERT INTO parent(name) VALUES ('w')"
    ts.run_query(conn, insert)
    with pytest.raises(QueryRefused, match="read-only"):
        ts.run_query(conn, insert, read_only=True)
    ts.run_query(conn, insert)
    assert conn.execute("SELECT count(*) FROM parent WHERE name = 'w'").fetchone()[0] == 2


def test_a_foreign_authorizer_resets_the_guard(conn: ts.CinchConnection) -> None:
    ts.run_query(conn, "SELECT 1")
    conn.set_authorizer(None)  # someone else manages the authorizer
    with pytest.raises(QueryRefused):
        ts.run_query(conn, "DROP TABLE child")
    plain = sqlite3.connect(":memory:", isolation_level=None)  # not a cinch connection
    plain.execute("CREATE TABLE t(x)")
    with pytest.raises(QueryRefused):
        ts.run_query(plain, "DROP TABLE t")
    plain.execute("DROP TABLE t")  # the authorizer was removed again
    plain.close()


def test_batch_is_all_or_nothing(conn: ts.CinchConnection) -> None:
    results = ts.run_batch(conn, [
        ("INSERT INTO parent(name) VALUES (?)", ("a",)),
        ("UPDATE parent SET name = ? WHERE name = ?", ("b", "a")),
        "SELECT count(*) FROM parent",
    ])
    assert [r.rowcount for r in results[:2]] == [1, 1]
    assert results[2].rows == [(3,)]
    before = _state(conn)
    with pytest.raises(QueryError) as info:
        ts.run_batch(conn, [
            ("INSERT INTO parent(name) VALUES (?)", ("c",)),
            ("INSERT INTO parent(id, name) VALUES (1, 'dup')", ()),
        ])
    assert info.value.details["index"] == 1
    assert "statement 2 of 2" in info.value.message
    with pytest.raises(QueryRefused) as refused:
        ts.run_batch(conn, [("INSERT INTO parent(name) VALUES ('d')", ()), ("COMMIT", ())])
    assert refused.value.details["index"] == 1
    with pytest.raises(QueryRefused):
        ts.run_batch(conn, ["DELETE FROM parent", "DROP TABLE child"])
    assert _state(conn) == before
    assert not conn.in_transaction
    assert ts.run_batch(conn, []) == []
    with pytest.raises(QueryRefused, match="read-only"):
        ts.run_batch(conn, ["SELECT 1", "DELETE FROM parent"], read_only=True)
    assert ts.run_batch(conn, ["SELECT count(*) FROM parent"], read_only=True)[0].rows == [(3,)]


def test_iter_query_pages(conn: ts.CinchConnection) -> None:
    conn.executemany("INSERT INTO parent(name) VALUES (?)", [(f"n{i}",) for i in range(1000)])
    pages = list(ts.iter_query(conn, "SELECT id FROM parent ORDER BY id", page_size=300))
    assert [len(p) for p in pages] == [300, 300, 300, 102]
    with ts.QueryCursor(conn, "SELECT id, name FROM parent WHERE id > ?", (1000,)) as cur:
        assert cur.columns == ["id", "name"]
        assert len(cur.fetchmany(5)) == 2
        assert cur.fetchmany(5) == []
    with pytest.raises(QueryRefused):
        list(ts.iter_query(conn, "DROP TABLE child"))
    # Abandoning a cursor early and closing it leaves the connection clean.
    cur = ts.QueryCursor(conn, "SELECT id FROM parent", read_only=True)
    assert len(cur.fetchmany(10)) == 10
    cur.close()
    cur.close()
    conn.execute("CREATE TABLE after_cursor(x)")
    assert ts.checkpoint(conn)[0] == 0


def test_timeout_stops_a_runaway_query(conn: ts.CinchConnection) -> None:
    forever = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    with pytest.raises(QueryTimeout, match=r"time budget of 0\.2 s") as stopped:
        ts.run_query(conn, forever, read_only=True, timeout=0.2)
    assert stopped.value.code == "query_timeout" and stopped.value.http_status == 503
    with pytest.raises(QueryTimeout):
        ts.run_batch(conn, ["INSERT INTO parent(name) VALUES ('kept?')", forever], timeout=0.2)
    # The batch's transaction was rolled back: its first statement left nothing.
    assert ts.run_query(conn, "SELECT count(*) FROM parent WHERE name = 'kept?'").rows == [(0,)]
    with pytest.raises(QueryTimeout):
        ts.run_query(conn, "INSERT INTO parent(name) SELECT 'kept?' FROM (" + forever + ")",
                     timeout=0.2)
    assert ts.run_query(conn, "SELECT count(*) FROM parent WHERE name = 'kept?'").rows == [(0,)]
    with pytest.raises(QueryTimeout):
        list(ts.iter_query(conn, forever, timeout=0.2))
    # The progress handler is gone afterwards.
    assert ts.run_query(conn, "SELECT count(*) FROM parent", timeout=5).rows == [(2,)]
    conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                 "WHERE x < 300000) SELECT count(*) FROM c").fetchone()


def test_a_pinned_reader_answers_with_the_columns_the_file_has_now(
        conn: ts.CinchConnection) -> None:
    """A point query's column names are kept while its statement stands; a schema change by
    another connection (a move) has SQLite compile it again, and the names follow."""
    pinned = ts.PinnedReader(ts.connect(conn.path, read_only=True, create=False))
    point, everything = "SELECT * FROM parent WHERE id = ?", "SELECT * FROM parent ORDER BY id"
    try:
        for _ in range(2):
            assert pinned.rows(point, [1]) == [{"id": 1, "name": "one"}]
        conn.execute("ALTER TABLE parent ADD COLUMN age INTEGER DEFAULT 7")
        assert pinned.rows(point, [1]) == [{"id": 1, "name": "one", "age": 7}]
        assert pinned.rows(everything) == [{"id": 1, "name": "one", "age": 7},
                                           {"id": 2, "name": "two", "age": 7}]
        # As many columns as before, another name: the count alone would not tell.
        conn.execute("ALTER TABLE parent RENAME COLUMN age TO years")
        assert pinned.rows(point, [2]) == [{"id": 2, "name": "two", "years": 7}]
        assert pinned.rows(point, [2]) == [{"id": 2, "name": "two", "years": 7}]
        # Another query in between, then the first again: each answers with its own names.
        assert pinned.rows("SELECT name AS n FROM parent WHERE id = ?", [1]) == [{"n": "one"}]
        assert pinned.rows(point, [1]) == [{"id": 1, "name": "one", "years": 7}]
        conn.execute("ALTER TABLE parent DROP COLUMN years")
        assert pinned.rows(point, [1]) == [{"id": 1, "name": "one"}]
    finally:
        pinned.conn.close()


def test_a_pinned_reader_stays_guarded_whatever_ran_before(conn: ts.CinchConnection) -> None:
    """A tenant handle's own reader is armed once for good: every statement it prepares is
    checked, after refusals, errors and timeouts alike, and it never runs a write."""
    with pytest.raises(QueryError, match="read-only"):
        ts.PinnedReader(conn)  # a writable connection cannot be pinned
    pinned = ts.PinnedReader(ts.connect(conn.path, read_only=True, create=False))
    reader = pinned.conn
    try:
        point = "SELECT name FROM parent WHERE id = ?"
        for _ in range(3):  # cached statements stay right, by either door
            assert ts.read_rows(reader, point, [1]) == [{"name": "one"}]
            assert pinned.rows(point, [2]) == [{"name": "two"}]
        assert pinned.rows("SELECT name FROM parent ORDER BY id") == [{"name": "one"},
                                                                      {"name": "two"}]
        assert pinned.rows(point, [3]) == []
        forever = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                   "SELECT count(*) FROM c")
        for sql, error in [(REFUSED[0][0], QueryRefused), ("DELETE FROM parent", QueryRefused),
                           ("SELECT nosuch FROM parent", QueryError),
                           ("PRAGMA journal_mode = DELETE", QueryRefused),
                           (forever, QueryTimeout)]:
            with pytest.raises(error):
                if error is QueryTimeout:
                    ts.run_query(reader, sql, read_only=True, timeout=0.1)
                else:
                    ts.read_rows(reader, sql)
            # Still armed, with nothing of the refusal or the budget left over.
            with pytest.raises(QueryRefused, match="change sets"):
                ts.read_rows(reader, "DROP TABLE child")
            assert ts.read_rows(reader, point, [2]) == [{"name": "two"}]
            assert ts.run_query(reader, "SELECT count(*) FROM parent",
                                read_only=True).rows == [(2,)]
        with pytest.raises(QueryError, match="read-only queries only"):
            ts.run_query(reader, "UPDATE parent SET name = 'x'")
        # Errors outside SQLite's (a bad parameter, not a string, nothing to run) are
        # reported as such, and leave nothing half-done.
        with pytest.raises(QueryError):
            ts.read_rows(reader, point, [object()])
        with pytest.raises(QueryError, match="must be a string, not int"):
            ts.read_rows(reader, 42)  # type: ignore[arg-type]
        for empty in ("", "  \n "):
            with pytest.raises(QueryError, match="the query is empty"):
                ts.read_rows(reader, empty)
            with pytest.raises(QueryError, match="the query is empty"):
                pinned.rows(empty)
        with pytest.raises(QueryRefused, match="change sets"):
            pinned.rows("DROP TABLE child")
        assert ts.read_rows(reader, point, [1]) == [{"name": "one"}]
        assert _state(conn)[2] == [(1, "one"), (2, "two")]
    finally:
        reader.close()


HOSTILE_NAMES = ["}", "'", '"', "r[0]", "__import__('os').system('touch pwned')", "\\", "é名",
                 "", "a b", "x\ny", "\x00z"]


def test_a_pinned_reader_reads_any_column_name_as_a_name(
        conn: ts.CinchConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are built by a function made for their columns: a name that looks like code is
    still only a key, a repeated name keeps its last value as dict(zip()) does, and a query
    of hundreds of columns answers like one of two."""
    monkeypatch.chdir(tmp_path)
    pinned = ts.PinnedReader(ts.connect(conn.path, read_only=True, create=False))
    try:
        aliases = ", ".join(f"id + {i} AS \"{n.replace(chr(34), chr(34) * 2)}\""
                            for i, n in enumerate(HOSTILE_NAMES) if "\x00" not in n)
        expected = {n: 1 + i for i, n in enumerate(HOSTILE_NAMES) if "\x00" not in n}
        sql = f"SELECT {aliases} FROM parent WHERE id = ?"
        for _ in range(2):
            got = pinned.rows(sql, [1])
            assert got == [expected] and list(got[0]) == list(expected)
        assert not (tmp_path / "pwned").exists()
        twice = pinned.rows("SELECT name AS n, id AS n, id AS m FROM parent ORDER BY id")
        assert twice == [{"n": 1, "m": 1}, {"n": 2, "m": 2}]
        assert [list(r) for r in twice] == [["n", "m"], ["n", "m"]]
        wide = ", ".join(f"id * {i} AS c{i}" for i in range(300))
        assert pinned.rows(f"SELECT {wide} FROM parent WHERE id = ?", [2]) == [
            {f"c{i}": 2 * i for i in range(300)}]
    finally:
        pinned.conn.close()


@pytest.mark.parametrize("width", [0, 1, 5, 64, 65, 200])
def test_row_builders_match_dict_of_zip(width: int) -> None:
    from cinch.stores.row_dicts import row_builder

    names = tuple(HOSTILE_NAMES[i % len(HOSTILE_NAMES)] + str(i % 7) for i in range(width))
    row = tuple(range(width))
    build = row_builder(names)
    assert build(row) == dict(zip(names, row, strict=True))
    assert list(build(row)) == list(dict(zip(names, row, strict=True)))
    assert row_builder(names) is build  # kept, not compiled again


def test_row_builders_stop_compiling_once_the_cache_is_full(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Column names ever new (a pivot's aliases) neither grow the cache nor evict the names
    queried again and again: past the bound they are built as dict(zip()) builds them."""
    from cinch.stores import row_dicts

    monkeypatch.setattr(row_dicts, "_BUILDERS", {})
    monkeypatch.setattr(row_dicts, "_MAX_KEPT", 3)
    kept = row_dicts.row_builder(("id", "name"))
    for i in range(10):
        names = (f"pivot_{i}", "id")
        assert row_dicts.row_builder(names)((i, 7)) == {f"pivot_{i}": i, "id": 7}
    assert len(row_dicts._BUILDERS) == 3
    assert row_dicts.row_builder(("id", "name")) is kept
