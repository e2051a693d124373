"""Altering or renaming an adopted column keeps the constraints the file declared on it: the
rebuild edits the column's definition clause by clause, so its CHECK, COLLATE and the table's
CHECKs stay in force on every tenant, named anew when the column is renamed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import cinch
from cinch.errors import CinchError
from cinch.planner import build
from tests.conftest import Cli, run_cinch

SCHEMA = """
CREATE TABLE item (
  id INTEGER PRIMARY KEY,
  name TEXT COLLATE NOCASE CONSTRAINT item_name_filled CHECK (length(name) > 0),
  qty INTEGER NOT NULL DEFAULT 0 CHECK (qty >= 0),
  note TEXT,
  CHECK (qty < 1000000)
);
"""
TENANTS = ("north", "south", "west")


@pytest.fixture
def cli(cli_in_process: Cli) -> Cli:
    """The CLI's entry point in this process (the same code, rendering and exit codes); the
    refused drop runs the real `cinch` command."""
    return cli_in_process


def _adopted(tmp_path: Path, cli: Cli) -> Path:
    src = tmp_path / "shops"
    src.mkdir()
    for i, name in enumerate(TENANTS):
        with sqlite3.connect(src / f"{name}.db") as conn:
            conn.executescript(SCHEMA)
            conn.execute("INSERT INTO item(name, qty) VALUES ('Apple', ?)", (i + 1,))
        conn.close()
    project = tmp_path / "acme"
    cli("init", str(project), "--from", str(src), check=True)
    return project


def _tenants(project: Path) -> list[Path]:
    files = sorted((project / ".cinch").rglob("main/**/*.db"))
    assert {f.stem for f in files} >= set(TENANTS)
    return [f for f in files if f.stem in TENANTS]


def _refused(conn: sqlite3.Connection, sql: str, *args: object) -> str:
    with pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute(sql, args)
    conn.rollback()
    return str(caught.value)


def _assert_constraints_hold(project: Path, qty: str) -> None:
    for path in _tenants(project):
        conn = sqlite3.connect(path)
        try:
            assert "CHECK" in _refused(conn, f"INSERT INTO item(name, {qty}) VALUES ('Pear', -1)")
            assert "CHECK" in _refused(
                conn, f"INSERT INTO item(name, {qty}) VALUES ('Pear', 1000000)")
            assert "item_name_filled" in _refused(conn, "INSERT INTO item(name) VALUES ('')")
            # COLLATE NOCASE: comparisons and lookups ignore case
            assert conn.execute("SELECT count(*) FROM item WHERE name = 'APPLE'").fetchone() == (1,)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()


def test_alter_and_rename_keep_check_and_collate_on_every_tenant(tmp_path: Path,
                                                                  cli: Cli) -> None:
    project = _adopted(tmp_path, cli)
    run = ("-C", str(project))
    cli(*run, "column", "alter", "item", "qty", "--default", "5", check=True)
    cli(*run, "column", "alter", "item", "name", "--not-null", "--type", "TEXT", check=True)
    cli(*run, "column", "alter", "item", "qty", "--type", "BIGINT", check=True)
    _assert_constraints_hold(project, "qty")
    for path in _tenants(project):
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO item(name) VALUES ('Plum')")
            assert conn.execute("SELECT qty FROM item WHERE name = 'PLUM'").fetchone() == (5,)
            with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
                conn.execute("INSERT INTO item(name) VALUES (NULL)")
        conn.close()

    cli(*run, "column", "rename", "item", "qty", "quantity", check=True)
    _assert_constraints_hold(project, "quantity")
    schema_sql = (project / "schema/main/schema.sql").read_text()
    assert 'CHECK ("quantity" >= 0)' in schema_sql and "COLLATE NOCASE" in schema_sql
    assert "qty" not in schema_sql
    assert cli(*run, "status", check=True).rc == 0

    # Undoing the default change puts DEFAULT 0 back; the constraints stay.
    with cinch.open(project) as p:
        first_alter = p.database().changes()[1].id
        p.revert(first_alter)
    _assert_constraints_hold(project, "quantity")
    with sqlite3.connect(_tenants(project)[0]) as conn:
        conn.execute("INSERT INTO item(name) VALUES ('Fig')")
        assert conn.execute("SELECT quantity FROM item WHERE name = 'fig'").fetchone() == (0,)
    conn.close()


def test_a_rename_and_an_alteration_in_one_change_set(tmp_path: Path, cli: Cli) -> None:
    """Folded into one rebuild: the column's own CHECK and the table's name it anew."""
    project = _adopted(tmp_path, cli)
    with cinch.open(project) as p:
        db = p.database()
        schema = db.schema()
        ops = build.rename_column(schema, "item", "qty", "stock")
        ops += build.alter_column(build.check(schema, ops), "item", "stock", type="REAL",
                                  default=1.5)
        result = db.change(ops, "stock in fractions")
        assert any("INSERT INTO" in s for s in result.sql)  # one rebuild, rows copied
        ddl = db.table("item").ddl
    assert ddl is not None and 'CHECK ("stock" >= 0)' in ddl and "COLLATE NOCASE" in ddl
    _assert_constraints_hold(project, "stock")
    for path in _tenants(project):
        with sqlite3.connect(path) as conn:
            held = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'item'").fetchone()[0]
            assert " ".join(held.split()) == " ".join(ddl.split())
        conn.close()


def test_dropping_a_column_a_table_check_names_is_refused_clearly(tmp_path: Path,
                                                                  cli: Cli) -> None:
    project = _adopted(tmp_path, cli)
    before = [p.read_bytes() for p in _tenants(project)]
    result = run_cinch("-C", str(project), "column", "drop", "item", "qty")
    assert result.rc != 0
    assert "CHECK (qty < 1000000)" in result.stderr and "nothing changed" in result.stderr, result
    assert [p.read_bytes() for p in _tenants(project)] == before
    with cinch.open(project) as p, pytest.raises(CinchError) as caught:
        p.database().drop_column("item", "qty")
    assert "qty" in caught.value.message
