"""Editing an adopted column's definition clause by clause (cinch.planner.coldef): the clauses
an alteration changes are replaced, removed or added, everything else is kept as written, and
the result is a definition SQLite accepts and enforces. A definition that cannot be read is
refused with the column named, never rewritten without what it declared."""

from __future__ import annotations

import sqlite3

import pytest

from cinch.errors import InvalidOperation
from cinch.models.schema import Column, ForeignKey
from cinch.planner.coldef import edit

PARENT = "CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE)"


def col(name: str = "qty", type_: str = "INTEGER", **kw: object) -> Column:
    return Column(id="c1", name=name, type=type_, declared=True, **kw)


def table_with(definition: str) -> sqlite3.Connection:
    """A real SQLite table whose only column besides ``id`` is ``definition``."""
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(PARENT)
    conn.execute("INSERT INTO parent (id, code) VALUES (1, 'a')")
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {definition})")
    return conn


def refuses(conn: sqlite3.Connection, sql: str) -> str:
    with pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute(sql)
    return str(caught.value)


def test_comments_and_odd_quoting_are_kept_while_the_type_changes() -> None:
    text = ('[qty] INTEGER /* counted by hand */ CHECK ("qty" >= 0) -- never negative\n'
            "COLLATE BINARY")
    out = edit(text, col(), col(type_="REAL"))
    assert out.startswith("[qty] REAL /* counted by hand */ CHECK (\"qty\" >= 0)")
    assert "-- never negative" in out and out.rstrip().endswith("COLLATE BINARY")
    conn = table_with(out)
    assert "CHECK" in refuses(conn, "INSERT INTO t (qty) VALUES (-1)")
    conn.execute("INSERT INTO t (qty) VALUES (1.5)")
    assert conn.execute("SELECT qty FROM t").fetchone() == (1.5,)


def test_a_rename_renames_the_column_inside_its_check_and_generated_expressions() -> None:
    text = ("`qty` INTEGER CHECK (QTY >= 0 AND (qty < 100 OR \"qty\" = 'qty'))")
    out = edit(text, col(), col(name="amount"))
    assert out == ('"amount" INTEGER CHECK ("amount" >= 0 AND ("amount" < 100 OR "amount" = '
                   "'qty'))")  # the string 'qty' is data, not the column
    conn = table_with(out)
    assert "CHECK" in refuses(conn, "INSERT INTO t (amount) VALUES (100)")

    assert edit("[qty] INTEGER CHECK ([qty] > 0)", col(), col(name="n")) == \
        '"n" INTEGER CHECK ("n" > 0)'

    generated = "qty INTEGER GENERATED ALWAYS AS (id * 2) STORED"
    renamed = edit("doubled INTEGER AS (qty * 2) VIRTUAL", col(name="doubled"),
                   col(name="twice"))
    assert renamed == '"twice" INTEGER AS (qty * 2) VIRTUAL'
    assert edit(generated, col(), col(name="n")) == ('"n" INTEGER GENERATED ALWAYS AS (id * 2) '
                                                    "STORED")


def test_not_null_replaces_an_explicit_null_clause_and_keeps_the_conflict_clause() -> None:
    out = edit("qty INTEGER NULL UNIQUE ON CONFLICT REPLACE", col(unique=True),
               col(unique=True, not_null=True))
    assert out == "qty INTEGER UNIQUE ON CONFLICT REPLACE NOT NULL"
    conn = table_with(out)
    assert "NOT NULL" in refuses(conn, "INSERT INTO t (qty) VALUES (NULL)")
    conn.execute("INSERT INTO t (id, qty) VALUES (1, 5)")
    conn.execute("INSERT INTO t (id, qty) VALUES (2, 5)")  # ON CONFLICT REPLACE, kept
    assert conn.execute("SELECT id FROM t").fetchall() == [(2,)]


def test_defaults_signed_and_named_constraints_are_replaced_or_dropped() -> None:
    text = "qty INTEGER CONSTRAINT qty_default DEFAULT -1 CONSTRAINT qty_set NOT NULL"
    assert edit(text, col(not_null=True, default=-1), col(not_null=True, default=7)) == \
        "qty INTEGER DEFAULT 7 CONSTRAINT qty_set NOT NULL"
    assert edit(text, col(not_null=True, default=-1), col(not_null=False, default=-1)) == \
        "qty INTEGER CONSTRAINT qty_default DEFAULT -1"
    conn = table_with(edit(text, col(not_null=True, default=-1), col(not_null=True)))
    assert "NOT NULL" in refuses(conn, "INSERT INTO t (id) VALUES (1)")  # no default left


def test_a_foreign_key_with_its_actions_is_replaced_whole() -> None:
    before_ref = ForeignKey(table_id="p", table="parent", column_id="i", column="id",
                            on_delete="CASCADE")
    text = ("parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE ON UPDATE NO ACTION "
            "MATCH SIMPLE DEFERRABLE INITIALLY DEFERRED CHECK (parent_id > 0)")
    after_ref = ForeignKey(table_id="p", table="parent", column_id="c", column="id")
    out = edit(text, col("parent_id", references=before_ref),
               col("parent_id", references=after_ref))
    assert out == 'parent_id INTEGER REFERENCES "parent"("id") CHECK (parent_id > 0)'
    conn = table_with(out)
    assert "FOREIGN KEY" in refuses(conn, "INSERT INTO t (parent_id) VALUES (9)")
    assert "CHECK" in refuses(conn, "INSERT INTO t (parent_id) VALUES (0)")
    # and dropped: the rest stays
    assert edit(text, col("parent_id", references=before_ref), col("parent_id")) == \
        "parent_id INTEGER CHECK (parent_id > 0)"


def test_a_column_without_a_type_gets_one_and_a_primary_key() -> None:
    out = edit("id", col("id", ""), col("id", "INTEGER", primary_key=True))
    assert out == "id INTEGER PRIMARY KEY"
    sqlite3.connect(":memory:").execute(f"CREATE TABLE k ({out})")
    assert edit("id INTEGER PRIMARY KEY DESC ON CONFLICT ABORT AUTOINCREMENT",
                col("id", primary_key=True), col("id")) == "id INTEGER"


@pytest.mark.parametrize(("text", "why"), [
    ("qty INTEGER CONSTRAINT", "CONSTRAINT names no constraint"),
    ("qty INTEGER DEFAULT", "DEFAULT without a value"),
    ("qty INTEGER CHECK qty > 0", "expected a parenthesised expression"),
    ("qty INTEGER NOT NULL WITHOUT", "unexpected 'WITHOUT'"),
    ("  -- only a comment", "empty column definition"),
])
def test_an_unreadable_definition_is_refused_naming_the_column(text: str, why: str) -> None:
    with pytest.raises(InvalidOperation) as caught:
        edit(text, col(), col(type_="TEXT"))
    message = str(caught.value)
    assert "cannot alter column qty" in message and why in message
    assert "would drop what it declares" in message
    assert caught.value.code == "invalid_operation"


def test_unterminated_comments_and_quotes_end_the_definition() -> None:
    assert edit("qty INTEGER /* left open", col(), col(type_="TEXT")) == \
        "qty TEXT /* left open"
    assert edit('"qty" INTEGER DEFAULT \'it\'\'s', col(default="it's"), col(default="x")) == \
        "\"qty\" INTEGER DEFAULT 'x'"
