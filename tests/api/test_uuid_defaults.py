"""The id default any writer gets: tables made now use the short SQL (UUID), tables made
before keep theirs (UUID4) word for word; both give RFC 4122 version-4 UUIDs in SQLite alone."""

from __future__ import annotations

import re
import sqlite3
import uuid

import cinch
from cinch.engine.database import ColumnSpec
from cinch.planner.sqlgen import UUID4_SQL, UUID_SQL

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_both_spellings_give_version_4_uuids_in_plain_sqlite(empty_project: cinch.Project) -> None:
    db = empty_project.database()
    db.create_table("things", ["label:TEXT", ColumnSpec("old", "TEXT", default_expr="UUID4")])
    path = empty_project.tenant("main").path
    conn = sqlite3.connect(path)  # a writer that is not cinch, naming no id
    try:
        with conn:
            conn.executemany("INSERT INTO things (label) VALUES (?)", [(str(i),) for i in range(2000)])
        rows = conn.execute("SELECT id, old FROM things").fetchall()
        ddl = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'things'").fetchone()[0]
    finally:
        conn.close()
    # The id column made now takes the short form; a column asking for UUID4 keeps the old.
    assert f"DEFAULT ({UUID_SQL})" in ddl and f"DEFAULT ({UUID4_SQL})" in ddl
    for column in (0, 1):
        values = [r[column] for r in rows]
        assert len(set(values)) == 2000
        for value in values:
            assert UUID_TEXT.fullmatch(value), value
            parsed = uuid.UUID(value)
            assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == value
    # Every hex digit a random one may take turns up (no bit is stuck).
    ids = "".join(r[0].replace("-", "") for r in rows)
    assert set(ids) == set("0123456789abcdef")


def test_the_id_column_is_recorded_as_uuid_and_shown_so(empty_project: cinch.Project) -> None:
    db = empty_project.database()
    db.create_table("things", ["label:TEXT"])
    column = db.schema().table("things").columns[0]
    assert (column.name, column.default_expr) == ("id", "UUID")
