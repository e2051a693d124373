"""`cinch import migrations DIR`: plain-SQL migration files become change sets, or nothing.

The CLI's entry point runs in this process (the same code, rendering and exit codes); the
usage error's exit code comes from the real `cinch` command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import cinch
from cinch.engine.export import migrations
from cinch.engine.importsql import import_migrations
from tests.conftest import run_cinch

INIT = """-- the first migration
BEGIN;
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT DEFAULT 'it''s',
  age INTEGER NOT NULL DEFAULT 0,
  seen DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX users_name ON users (name);
COMMIT;
"""
POSTS = """CREATE TABLE "posts" (title TEXT NOT NULL,
  author TEXT REFERENCES users(id) ON DELETE CASCADE, created_at TEXT, updated_at TEXT) STRICT;
ALTER TABLE users ADD COLUMN nick TEXT;
ALTER TABLE users RENAME COLUMN nick TO handle;
CREATE VIEW titles AS SELECT title FROM posts;
DROP INDEX IF EXISTS no_such_index;
"""


@pytest.fixture
def cli(cli_in_process: Any) -> Any:
    return cli_in_process


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_each_file_becomes_one_change_set(empty_project: cinch.Project, tmp_path: Path,
                                          cli: Any) -> None:
    folder = write(tmp_path / "m", {"001_init.sql": INIT, "002_posts.sql": POSTS,
                                    "002_posts.down.sql": "DROP TABLE posts;"})
    result = cli("-C", str(empty_project.root), "import", "migrations", str(folder))
    assert result.rc == 0, str(result)
    changes = empty_project.database().changes()
    assert [c.message for c in changes] == ["Import 001_init.sql", "Import 002_posts.sql"]
    schema = empty_project.database().schema()
    users, posts = schema.table("users"), schema.table("posts")
    assert [c.name for c in users.columns] == ["id", "email", "name", "age", "seen", "handle"]
    email, name, age, seen = (users.column(n) for n in ("email", "name", "age", "seen"))
    assert (email.not_null, email.unique) == (True, True)
    assert (name.default, age.default, age.not_null) == ("it's", 0, True)
    assert seen.default_expr == "CURRENT_TIMESTAMP" and users.column("id").auto == "id"
    assert posts.strict and posts.column("created_at").auto == "created_at"
    ref = posts.column("author").references
    assert ref is not None and (ref.table, ref.column, ref.on_delete) == ("users", "id", "CASCADE")
    assert [i.name for i in schema.indexes] == ["users_name"]
    assert [v.name for v in schema.views] == ["titles"]


def test_exported_migrations_import_to_the_same_schema(shop: cinch.Project,
                                                       empty_project: cinch.Project,
                                                       tmp_path: Path) -> None:
    migrations(shop).write(tmp_path / "m")
    imported = import_migrations(empty_project, tmp_path / "m")
    assert len(imported) == len(shop.database().changes())

    def sql(project: cinch.Project) -> str:  # trigger names carry each table's own id
        return re.sub(r"_cinch_touch_t_\w+", "_cinch_touch", project.database().schema_sql())

    assert sql(empty_project) == sql(shop)


@pytest.mark.parametrize(("statement", "words"), [
    ("INSERT INTO users (email) VALUES ('a')", "not a schema statement"),
    ("CREATE TABLE t (n INTEGER PRIMARY KEY)", "automatic TEXT id primary key"),
    ("CREATE TABLE t (n INTEGER CHECK (n > 0))", "CHECK"),
    ("CREATE TABLE t (a TEXT, b TEXT, UNIQUE (a, b))", "several columns"),
    ("CREATE TABLE t (a TEXT DEFAULT (random()))", "expression"),
    ("CREATE INDEX partial ON users (email) WHERE email IS NOT NULL", "partial"),
    ("CREATE TABLE t (a TEXT,", "incomplete input"),
    ("DROP TABLE nosuch", "nosuch"),
])
def test_a_statement_cinch_does_not_model_refuses_the_whole_import(
        empty_project: cinch.Project, tmp_path: Path, cli: Any, statement: str,
        words: str) -> None:
    folder = write(tmp_path / "m", {"001_init.sql": INIT, "002_bad.sql": f"{statement};\n"})
    head = empty_project.database().head
    result = cli("-C", str(empty_project.root), "import", "migrations", str(folder))
    assert result.rc != 0 and result.stdout == ""
    assert "002_bad.sql, statement 1:" in result.stderr and words in result.stderr, str(result)
    assert "nothing was imported" in result.stderr
    assert empty_project.database().head == head  # 001 was not committed either


def test_dry_run_and_an_empty_folder(empty_project: cinch.Project, tmp_path: Path,
                                     cli: Any) -> None:
    folder = write(tmp_path / "m", {"001_init.sql": INIT})
    head = empty_project.database().head
    dry = cli("-C", str(empty_project.root), "import", "migrations", str(folder), "--dry-run")
    assert dry.rc == 0 and "would import 001_init.sql" in dry.stdout
    assert empty_project.database().head == head
    (tmp_path / "none").mkdir()
    empty = run_cinch("-C", str(empty_project.root), "import", "migrations",
                      str(tmp_path / "none"))
    assert empty.rc == 2 and "holds no .sql files" in empty.stderr
