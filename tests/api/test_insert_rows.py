"""``Tenant.insert`` returns the row exactly as SQLite stored it, whichever way it was written
(a plain INSERT whose row cinch builds, or ``RETURNING *`` when SQLite may convert a value),
on real tenant files read back with ``sqlite3``."""

from __future__ import annotations

import enum
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

import cinch
from cinch import errors
from cinch.engine.database import ColumnSpec

AFFINITIES = ["TEXT", "INTEGER", "REAL", "NUMERIC", "BLOB"]
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Colour(enum.StrEnum):
    RED = "red"


# Values SQLite stores as given in some columns and converts in others.
VALUES: list[Any] = [
    "abc", "", "12", " 12", "1e3", "3.0", 12, 0, -7, 2**62, -(2**63), 3.0, 1.5, -0.0, 0.0,
    float("inf"), float("nan"), True, False, b"", b"\x00x", None, Colour.RED,
]


def typed(row: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """A row with each value's type and repr: 0 == 0.0 == -0.0 == False for ``==``."""
    return {k: (type(v).__name__, repr(v)) for k, v in row.items()}


def stored(path: Path, table: str, id_: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        cur = conn.execute(f'SELECT * FROM "{table}" WHERE id = ?', [id_])
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True))
    finally:
        conn.close()


def sqlite_now(path: Path, expr: str) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute(f"SELECT {expr}").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def typed_project(empty_project: cinch.Project) -> cinch.Project:
    db = empty_project.database()
    db.create_table("v", [f"{a.lower()}_col:{a}" for a in AFFINITIES])
    db.create_table("w", [ColumnSpec(f"{a.lower()}_col", a) for a in AFFINITIES if a != "REAL"]
                    + [ColumnSpec("note", "TEXT", default="n"), ColumnSpec("k", "INTEGER",
                                                                            default=3)])
    return empty_project


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_returned_row_is_the_stored_row_for_every_affinity(
        typed_project: cinch.Project, value: Any) -> None:
    tenant = typed_project.tenant("main")
    row = tenant.insert("v", {f"{a.lower()}_col": value for a in AFFINITIES})
    assert typed(row) == typed(stored(tenant.path, "v", row["id"]))
    with tenant.transaction():  # the same inside a transaction
        again = tenant.insert("v", {f"{a.lower()}_col": value for a in AFFINITIES})
    assert typed(again) == typed(stored(tenant.path, "v", again["id"]))
    # Without a REAL column, a transaction's inserts take the plan's one-call insert whenever
    # no value would be converted: every value, alone and with others, reads back the same.
    with tenant.transaction():
        rows = [tenant.insert("w", {f"{a.lower()}_col": v for a in AFFINITIES if a != "REAL"})
                for v in (value, "abc", 12, b"\x01", None, value)]
        rows.append(tenant.insert("w", {"blob_col": value}))
        rows.append(tenant.insert("w", {"text_col": value, "note": "x"}))
    for row in rows:
        assert typed(row) == typed(stored(tenant.path, "w", row["id"]))


def test_defaults_left_out_are_in_the_returned_row(empty_project: cinch.Project) -> None:
    db = empty_project.database()
    db.create_table("d", [
        ColumnSpec("label", "TEXT", default="x"),
        ColumnSpec("n", "INTEGER", default=5),
        ColumnSpec("flag", "BOOLEAN", default=True),
        ColumnSpec("ratio", "REAL", default=2.5),
        ColumnSpec("code", "INTEGER", default="12"),  # SQLite makes it 12
        ColumnSpec("digits", "TEXT", default=7),  # SQLite makes it '7'
        ColumnSpec("note", "TEXT"),
        ColumnSpec("ts", "TEXT", default_expr="CURRENT_TIMESTAMP"),
        ColumnSpec("day", "TEXT", default_expr="CURRENT_DATE"),
        ColumnSpec("hour", "TEXT", default_expr="CURRENT_TIME"),
        ColumnSpec("stamp", "TEXT", default_expr="NOW"),
        ColumnSpec("token", "TEXT", default_expr="UUID4"),
    ])
    tenant = empty_project.tenant("main")
    path = tenant.path
    before = {e: sqlite_now(path, e) for e in (
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", "CURRENT_TIMESTAMP", "CURRENT_DATE")}
    row = tenant.insert("d", {})
    after = {e: sqlite_now(path, e) for e in before}
    assert typed(row) == typed(stored(path, "d", row["id"]))
    assert list(row) == ["id", "label", "n", "flag", "ratio", "code", "digits", "note", "ts",
                         "day", "hour", "stamp", "token", "created_at", "updated_at"]
    assert (row["label"], row["n"], row["flag"], row["code"], row["digits"], row["note"]) == \
        ("x", 5, 1, 12, "7", None)
    # The timestamps read SQLite's clock as SQLite's own defaults would, in its formats.
    iso, ts, day = before
    assert ISO_MS.fullmatch(row["created_at"]) and row["created_at"] == row["updated_at"]
    assert before[iso] <= row["created_at"] <= after[iso]
    assert before[iso] <= row["stamp"] <= after[iso]
    assert before[ts] <= row["ts"] <= after[ts] and len(row["ts"]) == len(before[ts])
    assert before[day] <= row["day"] <= after[day]
    assert row["ts"].endswith(row["hour"])
    assert uuid.UUID(row["token"]).version == 4 and row["token"] != row["id"]


def test_ids_are_uuid4_unless_given(project: cinch.Project) -> None:
    tenant = project.tenant("main")
    with tenant.transaction():
        made = [tenant.insert("users", {"name": f"u{i}"}) for i in range(200)]
    ids = [r["id"] for r in made]
    assert len(set(ids)) == 200
    for i in ids:
        parsed = uuid.UUID(i)
        assert str(parsed) == i and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    given = tenant.insert("users", {"id": "mine", "NAME": "Ann"})
    assert given["id"] == "mine" and given["name"] == "Ann"  # the table's spelling
    assert typed(given) == typed(stored(tenant.path, "users", "mine"))


def test_bad_rows_are_refused_and_nothing_is_stored(project: cinch.Project) -> None:
    tenant = project.tenant("main")
    with pytest.raises(errors.NotFound) as missing:
        tenant.insert("users", {"name": "Ann", "nosuch": 1})
    assert missing.value.details["column"] == "nosuch"
    with pytest.raises(errors.InvalidOperation, match="created_at"):
        tenant.insert("users", {"created_at": "2020-01-01"})
    tenant.insert("users", {"name": "Ann", "email": "ann@x"})
    with pytest.raises(errors.QueryError, match="UNIQUE"):
        tenant.insert("users", {"name": "Ann again", "email": "ann@x"})
    with pytest.raises(errors.QueryError, match="NOT NULL"):
        tenant.insert("users", {"name": "Bob", "age": None})
    with pytest.raises(errors.QueryError, match="UNIQUE"), tenant.transaction():
        tenant.insert("users", {"name": "Cy", "email": "cy@x"})
        tenant.insert("users", {"name": "Cy", "email": "cy@x"})
    names = [r["name"] for r in tenant.rows("SELECT name FROM users ORDER BY name")]
    assert names == ["Ann"]


def test_a_row_written_outside_a_transaction_is_committed(project: cinch.Project) -> None:
    tenant = project.tenant("main")
    row = tenant.insert("users", {"name": "Ann"})
    other = sqlite3.connect(tenant.path)  # another connection sees it at once
    try:
        assert other.execute("SELECT name FROM users WHERE id = ?", [row["id"]]).fetchone() \
            == ("Ann",)
    finally:
        other.close()


def test_an_adopted_table_returns_what_sqlite_assigned(tmp_path: Path) -> None:
    src = tmp_path / "shops"
    src.mkdir()
    conn = sqlite3.connect(src / "north.db")
    conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, label TEXT DEFAULT 'x', "
                 "price REAL, total REAL GENERATED ALWAYS AS (price * 2))")
    conn.commit()
    conn.close()
    project = cinch.init(tmp_path / "acme")
    with project:
        project.adopt(src)
        tenant = project.tenant("north")
        first = tenant.insert("item", {"price": 2})
        second = tenant.insert("item", {"price": 1.5, "label": "y"})
        assert first == {"id": 1, "label": "x", "price": 2.0, "total": 4.0}
        assert second == {"id": 2, "label": "y", "price": 1.5, "total": 3.0}
