"""An adopted table's constraints written apart from the column (``UNIQUE (email)``,
``FOREIGN KEY (team_id) REFERENCES ...``) go with the property when an alteration takes it
away, and stay in force otherwise; comments and quoted names in the table's text are read as
SQLite reads them. Checked on the tenant's real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import cinch
from cinch.errors import CinchError

SCHEMA = """
CREATE TABLE team (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE "member" (
  id INTEGER PRIMARY KEY,
  "email" TEXT, -- a comment, with a comma
  team_id INTEGER /* (a parenthesis in a comment */,
  [nick] TEXT CHECK ([nick] <> ''),
  CONSTRAINT one_mail UNIQUE ("email"),
  FOREIGN KEY (team_id) REFERENCES team(id),
  UNIQUE (team_id, [nick]),
  CHECK (length("email") > 3)
);
"""


@pytest.fixture
def adopted(tmp_path: Path) -> tuple[cinch.Project, Path]:
    src = tmp_path / "shops"
    src.mkdir()
    with sqlite3.connect(src / "north.db") as conn:
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO team (id, name) VALUES (1, 'red')")
        conn.execute("INSERT INTO member (\"email\", team_id, [nick]) "
                     "VALUES ('ann@x', 1, 'ann')")
    conn.close()
    project = cinch.init(tmp_path / "acme")
    project.adopt(src)
    tenant = next((project.root / ".cinch").rglob("north.db"))
    return project, tenant


def table_sql(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT sql FROM sqlite_master WHERE name = 'member'").fetchone()[0]
    finally:
        conn.close()


def insert(path: Path, mail: str, team: int, nick: str) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute('INSERT INTO member ("email", team_id, [nick]) VALUES (?, ?, ?)',
                         (mail, team, nick))
    finally:
        conn.close()


def test_dropping_unique_takes_the_table_constraint_that_made_it(
        adopted: tuple[cinch.Project, Path]) -> None:
    project, tenant = adopted
    with project:
        project.database().alter_column("member", 'email', unique=False)
    sql = table_sql(tenant)
    assert "one_mail" not in sql
    assert "UNIQUE (team_id, [nick])" in sql  # two columns: not the one taken away
    assert "FOREIGN KEY (team_id) REFERENCES team(id)" in sql
    assert "-- a comment, with a comma" in sql
    insert(tenant, "ann@x", 1, "twin")  # the same mail twice is allowed now
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        insert(tenant, "a@x", 1, "bo")  # the table's CHECK is kept


def test_dropping_a_reference_takes_its_foreign_key_and_keeps_the_rest(
        adopted: tuple[cinch.Project, Path]) -> None:
    project, tenant = adopted
    with project:
        project.database().alter_column("member", "team_id", references=None)
    sql = table_sql(tenant)
    assert "FOREIGN KEY" not in sql and "one_mail" in sql
    insert(tenant, "bob@x", 99, "bob")  # no team 99: no reference to refuse it
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        insert(tenant, "bob@x", 1, "bob2")


def test_dropping_a_column_a_check_names_is_refused_naming_the_check(
        adopted: tuple[cinch.Project, Path]) -> None:
    project, tenant = adopted
    before = table_sql(tenant)
    with project, pytest.raises(CinchError) as caught:
        project.database().drop_column("member", 'email')
    assert 'CHECK (length("email") > 3)' in str(caught.value)
    assert table_sql(tenant) == before
