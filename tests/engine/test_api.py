"""The Python API end to end: every operation kind, against real git and real tenant files."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygit2
import pytest

import cinch
from cinch import errors
from cinch.engine.project import Project

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def head(project: Project) -> str:
    return project.git.resolve("HEAD")


def tenant_schema(project: Project) -> dict[str, str]:
    """name -> type of every object in the main tenant's file (what SQLite really holds)."""
    path = project.tenant("main").path
    conn = sqlite3.connect(path)
    try:
        return {name: kind for kind, name in conn.execute(
            "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")}
    finally:
        conn.close()


def raw(project: Project, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(project.tenant("main").path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def committed_ops(project: Project, commit: str) -> list[str]:
    """The ``op`` of every operation of the change set ``commit`` added (main database)."""
    before = {c.id for c in project.database().changes(f"{commit}~1")}
    return [op.op for c in project.database().changes(commit) if c.id not in before
            for op in c.operations]


# --- init and open ------------------------------------------------------------------------


def test_init_makes_a_git_repository_with_one_commit(tmp_path: Path) -> None:
    project = cinch.init(tmp_path / "acme")
    repo = pygit2.Repository(str(tmp_path / "acme"))
    first = repo.revparse_single("HEAD")
    assert list(first.parent_ids) == []
    assert repo.head.shorthand == "main"
    names = {e.name for e in first.tree}
    assert {"cinch.toml", ".gitignore", "schema"} <= names
    assert first.tree["schema/main/schema.sql"] is not None
    assert b".cinch/" in first.tree[".gitignore"].data
    assert (first.author.name, first.author.email) == ("Cinch Tester", "tester@example.com")
    assert project.databases() == ["main"]
    assert project.database().tables() == []
    assert project.git.dirty_paths() == []
    project.close()


def test_init_refuses_an_existing_project(project: Project) -> None:
    with pytest.raises(errors.ProjectExists) as info:
        cinch.init(project.root)
    assert info.value.code == "project_exists"


def test_open_finds_the_project_from_a_subfolder(project: Project) -> None:
    sub = project.root / "schema" / "main"
    with cinch.open(sub) as again:
        assert again.root == project.root
        assert [t.name for t in again.database().tables()] == ["users"]


def test_open_outside_a_project_is_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(errors.NotAProject) as info:
        cinch.open(tmp_path)
    assert info.value.code == "not_a_project"
    assert isinstance(info.value, cinch.CinchError)


# --- tables and rows ----------------------------------------------------------------------


def test_tables_get_a_uuid4_id_and_timestamps(project: Project) -> None:
    users = project.database().table("users")
    assert [c.name for c in users.columns] == [
        "id", "name", "email", "age", "created_at", "updated_at"]
    id_col = users.column("id")
    assert id_col.primary_key and id_col.auto == "id" and id_col.type == "TEXT"
    row = project.tenant("main").insert("users", {"name": "Ann", "email": "ann@example.com"})
    parsed = uuid.UUID(row["id"])
    assert parsed.version == 4 and str(parsed) == row["id"]
    assert row["age"] == 0
    assert ISO_UTC.fullmatch(row["created_at"]) and row["created_at"] == row["updated_at"]
    # Any writer, not only the API, gets an id from the column default.
    project.tenant("main").query("INSERT INTO users (name) VALUES ('raw')")
    ids = [r[0] for r in raw(project, "SELECT id FROM users")]
    assert len(set(ids)) == 2 and all(uuid.UUID(i).version == 4 for i in ids)


def test_updated_at_moves_on_update_and_created_at_stays(project: Project) -> None:
    tenant = project.tenant("main")
    row = tenant.insert("users", {"name": "Ann"})
    time.sleep(0.005)
    tenant.update("users", row["id"], {"name": "Anna"})
    stored = tenant.get("users", row["id"])
    assert stored is not None and stored["name"] == "Anna"
    assert stored["created_at"] == row["created_at"]
    assert stored["updated_at"] > row["updated_at"]
    # The trigger works for plain SQL writers too.
    time.sleep(0.005)
    tenant.query("UPDATE users SET age = 40 WHERE id = ?", [row["id"]])
    again = tenant.get("users", row["id"])
    assert again is not None and again["updated_at"] > stored["updated_at"]


def test_update_returns_the_moved_updated_at(project: Project) -> None:
    tenant = project.tenant("main")
    row = tenant.insert("users", {"name": "Ann"})
    time.sleep(0.005)
    updated = tenant.update("users", row["id"], {"name": "Anna"})
    assert updated == tenant.get("users", row["id"])


def test_tenant_crud_and_query(project: Project) -> None:
    tenant = project.tenant("main")
    ann = tenant.insert("users", {"name": "Ann", "age": 30})
    tenant.insert("users", {"name": "Bob", "age": 12})
    assert tenant.rows("SELECT name FROM adults") == [{"name": "Ann"}]
    result = tenant.query("SELECT count(*) AS n FROM users WHERE age > ?", [1])
    assert result.columns == ["n"] and result.rows[0][0] == 2
    assert tenant.delete("users", ann["id"]) is True
    assert tenant.get("users", ann["id"]) is None
    with pytest.raises(errors.NotFound):
        tenant.insert("users", {"nosuch": 1})
    with pytest.raises(errors.InvalidOperation):
        tenant.insert("users", {"updated_at": "x"})


def test_create_table_commits_one_change_set(empty_project: Project) -> None:
    project = empty_project
    before = head(project)
    result = project.database().create_table("things", ["label:TEXT:not-null:default=x"],
                                              message="things")
    assert result.commit == head(project) and result.commit != before
    assert project.git.parents(result.commit) == (before,)
    assert result.change.message == "things"
    assert [op.op for op in result.change.operations] == ["create_table"]
    assert result.sql[0].startswith('CREATE TABLE "things"')
    assert any("_cinch_touch_" in s for s in result.sql)
    changed = project.git.changed_paths(before, result.commit)
    assert changed == sorted([f"schema/main/changes/{result.change.filename}",
                              "schema/main/schema.sql"])
    assert result.tenants["tenants"] == 1
    assert tenant_schema(project)["things"] == "table"


def test_create_table_without_timestamps(empty_project: Project) -> None:
    empty_project.database().create_table("plain", ["a:TEXT"], timestamps=False)
    table = empty_project.database().table("plain")
    assert [c.name for c in table.columns] == ["id", "a"]
    assert not any(name.startswith("_cinch_touch_") for name in tenant_schema(empty_project))


def test_strict_tables_enforce_types(empty_project: Project) -> None:
    db = empty_project.database()
    with pytest.raises(errors.InvalidType) as info:
        db.create_table("s", ["when:DATETIME"], strict=True)
    assert info.value.code == "invalid_type" and "STRICT" in info.value.message
    db.create_table("s", ["n:INTEGER", "label:TEXT", "blob:ANY"], strict=True)
    assert db.table("s").strict
    assert ") STRICT" in (empty_project.root / "schema/main/schema.sql").read_text()
    tenant = empty_project.tenant("main")
    tenant.insert("s", {"n": 1, "label": "a", "blob": b"\x00"})
    with pytest.raises(errors.QueryError) as qe:
        tenant.insert("s", {"n": "not a number"})
    assert "INTEGER" in qe.value.message
    with pytest.raises(errors.InvalidType):
        db.alter_column("s", "n", type="BOOLEAN")
    with pytest.raises(errors.InvalidType):
        db.create_table("loose", ["x:ANY"])
    with pytest.raises(errors.ApplyRefused):  # the row holds an integer
        db.alter_column("s", "n", type="TEXT")
    db.alter_column("s", "n", type="REAL")
    assert tenant.rows("SELECT typeof(n) AS t FROM s") == [{"t": "real"}]
    with pytest.raises(errors.InvalidType):
        db.alter_column("s", "n", default="abc")


def test_strict_default_must_fit_the_column_type(empty_project: Project) -> None:
    db = empty_project.database()
    before = head(empty_project)
    with pytest.raises(cinch.CinchError) as info:
        db.create_table("s", ["n:INTEGER:default=abc"], strict=True)
    assert "default" in info.value.message and "'abc'" in info.value.message
    assert head(empty_project) == before


def test_foreign_keys_by_references(project: Project) -> None:
    db = project.database()
    db.create_table("posts", ["title:TEXT", "user_id:TEXT:references=users.id:on-delete=cascade"])
    ref = db.table("posts").column("user_id").references
    assert ref is not None and (ref.table, ref.column, ref.on_delete) == ("users", "id", "CASCADE")
    sql = (project.root / "schema/main/schema.sql").read_text()
    assert '"user_id" TEXT REFERENCES "users"("id") ON DELETE CASCADE' in sql
    tenant = project.tenant("main")
    ann = tenant.insert("users", {"name": "Ann"})
    tenant.insert("posts", {"title": "hello", "user_id": ann["id"]})
    with pytest.raises(errors.QueryError) as info:
        tenant.insert("posts", {"title": "orphan", "user_id": "nobody"})
    assert "FOREIGN KEY" in info.value.message
    tenant.delete("users", ann["id"])
    assert tenant.rows("SELECT * FROM posts") == []
    # A referenced table cannot be dropped; a non-unique column cannot be referenced.
    with pytest.raises(errors.DependencyError) as dep:
        db.drop_table("users", cascade=True)
    assert "posts.user_id" in dep.value.message
    with pytest.raises(errors.InvalidOperation):
        db.add_column("posts", "by_name:TEXT:references=users.name")
    # `references=users` means users.id.
    db.add_column("posts", "editor_id:TEXT:references=users")
    assert db.table("posts").column("editor_id").references.column == "id"


# --- columns ------------------------------------------------------------------------------


def test_add_rename_drop_column(project: Project) -> None:
    db = project.database()
    tenant = project.tenant("main")
    ann = tenant.insert("users", {"name": "Ann", "age": 3})
    result = db.add_column("users", "nickname", "TEXT")
    assert result.sql == ['ALTER TABLE "users" ADD COLUMN "nickname" TEXT']
    assert not result.plan.rebuild
    result = db.rename_column("users", "nickname", "handle")
    assert result.sql == ['ALTER TABLE "users" RENAME COLUMN "nickname" TO "handle"']
    tenant.update("users", ann["id"], {"handle": "annie"})
    result = db.drop_column("users", "handle")
    assert result.sql == ['ALTER TABLE "users" DROP COLUMN "handle"']
    assert db.table("users").find_column("handle") is None
    stored = tenant.get("users", ann["id"])
    assert stored is not None and "handle" not in stored and stored["name"] == "Ann"
    ops = [op.op for c in db.changes() for op in c.operations]
    assert ops[-3:] == ["add_column", "rename_column", "drop_column"]


def test_add_column_that_sqlite_cannot_alter_is_a_rebuild(project: Project) -> None:
    tenant = project.tenant("main")
    tenant.insert("users", {"name": "Ann"})
    result = project.database().add_column("users", "code:TEXT:unique")
    assert result.plan.rebuild
    assert any(s.startswith('CREATE TABLE "_cinch_new_users"') for s in result.sql)
    assert tenant.rows("SELECT name, code FROM users") == [{"name": "Ann", "code": None}]


def test_alter_column_rebuild_keeps_data_indexes_triggers_views_and_fks(
        project: Project) -> None:
    db = project.database()
    db.create_table("posts", ["title:TEXT", "user_id:TEXT:references=users.id"])
    tenant = project.tenant("main")
    rows = [tenant.insert("users", {"name": n, "email": f"{n}@x", "age": a})
            for n, a in (("Ann", 30), ("Bob", 12), ("Cy", 18))]
    tenant.insert("posts", {"title": "p", "user_id": rows[0]["id"]})
    before = {name for name in tenant_schema(project)}

    result = db.alter_column("users", "age", type="REAL")
    assert result.plan.rebuild
    assert result.change.operations[0].op == "alter_column"
    stmts = result.sql
    assert stmts[0] == 'DROP VIEW "adults"'
    assert any(s.startswith('INSERT INTO "_cinch_new_users"') for s in stmts)
    assert 'ALTER TABLE "_cinch_new_users" RENAME TO "users"' in stmts
    assert stmts[-1].startswith('CREATE VIEW "adults"')

    assert db.table("users").column("age").type == "REAL"
    got = raw(project, "SELECT id, name, email, age, typeof(age), created_at FROM users "
                       "ORDER BY name")
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in got] == [
        (r["id"], r["name"], r["email"], float(r["age"]), "real", r["created_at"]) for r in rows]
    assert {name for name in tenant_schema(project)} == before
    assert tenant.rows("SELECT name FROM adults ORDER BY name") == [
        {"name": "Ann"}, {"name": "Cy"}]
    assert raw(project, "PRAGMA foreign_key_check") == []
    assert raw(project, "SELECT count(*) FROM posts JOIN users ON users.id = posts.user_id") \
        == [(1,)]
    # Unique constraint and trigger survived the rebuild.
    with pytest.raises(errors.QueryError):
        tenant.insert("users", {"name": "dup", "email": "Ann@x"})
    time.sleep(0.005)
    tenant.update("users", rows[1]["id"], {"age": 13.5})
    moved = tenant.get("users", rows[1]["id"])
    assert moved is not None and moved["updated_at"] > rows[1]["updated_at"]


def test_rebuild_recreates_views_built_on_views(project: Project) -> None:
    db = project.database()
    db.create_view("adult_names", "SELECT name FROM adults")
    project.tenant("main").insert("users", {"name": "Ann", "age": 20})
    result = db.alter_column("users", "age", type="REAL")
    assert result.sql[:2] == ['DROP VIEW "adults"', 'DROP VIEW "adult_names"']
    assert [s.split(" AS ")[0] for s in result.sql[-2:]] == [
        'CREATE VIEW "adults"', 'CREATE VIEW "adult_names"']
    assert project.tenant("main").rows("SELECT name FROM adult_names") == [{"name": "Ann"}]


def test_alter_column_checks_tenant_data_before_committing(project: Project) -> None:
    db = project.database()
    tenant = project.tenant("main")
    tenant.insert("users", {"name": None})
    tenant.insert("users", {"name": "Bob"})
    before = head(project)
    with pytest.raises(errors.ApplyRefused) as info:
        db.alter_column("users", "name", not_null=True)
    assert info.value.code == "apply_refused" and "NULL" in info.value.message
    assert head(project) == before
    assert db.table("users").column("name").not_null is False
    tenant.insert("users", {"name": "Bob"})
    with pytest.raises(errors.ApplyRefused):
        db.create_index("users", ["name"], unique=True)
    db_posts = db.create_table("posts", ["user_id:TEXT"]).commit
    tenant.insert("posts", {"user_id": "ghost"})
    with pytest.raises(errors.ApplyRefused) as info:
        db.alter_column("posts", "user_id", references="users.id")
    assert "missing from users.id" in info.value.message
    with pytest.raises(errors.ApplyRefused) as info:
        db.add_column("users", "code:TEXT:not-null")
    assert "needs a default" in info.value.message
    assert head(project) == db_posts


def test_alter_column_default_unique_and_references(project: Project) -> None:
    db = project.database()
    db.alter_column("users", "age", default=18)
    assert db.table("users").column("age").default == 18
    assert project.tenant("main").insert("users", {"name": "x"})["age"] == 18
    db.alter_column("users", "name", unique=True)
    assert db.table("users").column("name").unique
    db.create_table("posts", ["user_id:TEXT"])
    db.alter_column("posts", "user_id", references="users.id")
    assert db.table("posts").column("user_id").references.table == "users"
    db.alter_column("posts", "user_id", references=None)
    assert db.table("posts").column("user_id").references is None
    with pytest.raises(errors.InvalidOperation):
        db.alter_column("users", "age", default=18)


# --- tables: rename, copy, drop -----------------------------------------------------------


def test_copy_table_with_and_without_data(project: Project) -> None:
    db = project.database()
    tenant = project.tenant("main")
    for name in ("Ann", "Bob"):
        tenant.insert("users", {"name": name, "email": f"{name}@x"})
    result = db.copy_table("users", "users_copy")
    assert result.change.operations[0].op == "copy_table"
    copy = db.table("users_copy")
    source = db.table("users")
    assert [c.name for c in copy.columns] == [c.name for c in source.columns]
    assert copy.id != source.id and not {c.id for c in copy.columns} & {c.id for c in source.columns}
    assert tenant.rows("SELECT id, name, email FROM users_copy ORDER BY name") == \
        tenant.rows("SELECT id, name, email FROM users ORDER BY name")
    db.copy_table("users", "users_shape", data=False)
    assert tenant.rows("SELECT * FROM users_shape") == []
    assert f"_cinch_touch_{copy.id}" in tenant_schema(project)


def test_rename_table_keeps_data_and_follows_references(project: Project) -> None:
    db = project.database()
    db.drop_view("adults")
    db.create_table("posts", ["user_id:TEXT:references=users.id"])
    ann = project.tenant("main").insert("users", {"name": "Ann"})
    result = db.rename_table("users", "people")
    assert result.sql == ['ALTER TABLE "users" RENAME TO "people"']
    assert db.schema().find_table("users") is None
    assert db.table("posts").column("user_id").references.table == "people"
    assert project.tenant("main").get("people", ann["id"])["name"] == "Ann"
    assert [i.table for i in db.indexes()] == ["people"]
    time.sleep(0.005)
    project.tenant("main").update("people", ann["id"], {"name": "Anna"})
    assert project.tenant("main").get("people", ann["id"])["updated_at"] > ann["updated_at"]
    sql = (project.root / "schema/main/schema.sql").read_text()
    assert 'REFERENCES "people"("id")' in sql and '"users"' not in sql


def test_rename_table_by_case_only(project: Project) -> None:
    """SQLite refuses `RENAME TO` a name differing only in case; cinch goes via a temporary."""
    db = project.database()
    ann = project.tenant("main").insert("users", {"name": "Ann", "age": 20})
    result = db.rename_table("users", "Users", cascade=True)
    assert len(result.sql) == 2 and result.sql[-1].endswith('RENAME TO "Users"')
    assert [t.name for t in db.tables()] == ["Users"]
    assert "Users" in db.view("adults").sql
    names = tenant_schema(project)
    assert "Users" in names and "users" not in names
    assert project.tenant("main").rows("SELECT name FROM adults") == [{"name": "Ann"}]
    assert project.tenant("main").get("Users", ann["id"])["name"] == "Ann"
    db.rename_column("Users", "email", "Email")
    assert db.table("Users").column("Email").name == "Email"


def test_drop_table(project: Project) -> None:
    db = project.database()
    db.create_table("scratch", ["x:TEXT"])
    db.create_index("scratch", ["x"])
    result = db.drop_table("scratch")
    assert result.sql == ['DROP TABLE "scratch"']
    assert result.change.operations[0].table.name == "scratch"  # kept for revert
    assert "scratch" not in tenant_schema(project)
    assert [i.name for i in db.indexes()] == ["users_name_idx"]


# --- indexes and views --------------------------------------------------------------------


def test_indexes(project: Project) -> None:
    db = project.database()
    result = db.create_index("users", ["email", "age"], name="by_email_age", unique=True)
    assert result.sql == ['CREATE UNIQUE INDEX "by_email_age" ON "users" ("email", "age")']
    assert {i.name for i in db.indexes("users")} == {"users_name_idx", "by_email_age"}
    assert tenant_schema(project)["by_email_age"] == "index"
    db.drop_index("by_email_age")
    assert "by_email_age" not in tenant_schema(project)
    with pytest.raises(errors.AlreadyExists) as info:
        db.create_index("users", ["name"])
    assert info.value.message == "an index named 'users_name_idx' already exists"


def test_views_create_replace_drop(project: Project) -> None:
    db = project.database()
    tenant = project.tenant("main")
    tenant.insert("users", {"name": "Ann", "age": 30})
    db.create_view("names", "SELECT name FROM users ORDER BY name;")
    assert db.view("names").sql == "SELECT name FROM users ORDER BY name"
    result = db.replace_view("adults", "SELECT id, name, age FROM users WHERE age >= 21")
    assert [op.op for op in result.change.operations] == ["replace_view"]
    assert result.sql == ['DROP VIEW "adults"',
                          'CREATE VIEW "adults" AS SELECT id, name, age FROM users WHERE age >= 21']
    assert tenant.rows("SELECT name, age FROM adults") == [{"name": "Ann", "age": 30}]
    db.drop_view("names")
    assert [v.name for v in db.views()] == ["adults"]
    assert "names" not in tenant_schema(project)


def test_views_are_validated_against_the_schema(project: Project) -> None:
    db = project.database()
    before = head(project)
    for sql, code in [
        ("SELECT nosuch FROM users", "invalid_sql"),
        ("SELECT 1; DROP TABLE users", "invalid_sql"),
        ("DELETE FROM users", "invalid_sql"),
        ("ATTACH DATABASE 'x.db' AS x", "invalid_sql"),
    ]:
        with pytest.raises(errors.CinchError) as info:
            db.create_view("v", sql)
        assert info.value.code == code, sql
    assert head(project) == before


def test_cascade_drops_and_rewrites_dependent_views(project: Project) -> None:
    db = project.database()
    db.create_view("adult_names", "SELECT name FROM adults")
    db.drop_index("users_name_idx")
    before = head(project)
    with pytest.raises(errors.DependencyError) as info:
        db.drop_column("users", "name")
    assert info.value.code == "dependency"
    assert "'adults'" in info.value.message and "'adult_names'" in info.value.message
    with pytest.raises(errors.DependencyError) as info:
        db.drop_view("adults")
    assert "'adult_names'" in info.value.message
    with pytest.raises(errors.DependencyError) as info:
        db.drop_table("users")
    assert "'adults'" in info.value.message
    assert head(project) == before

    result = db.drop_column("users", "name", cascade=True)
    assert [op.op for op in result.change.operations] == ["drop_view", "drop_view", "drop_column"]
    assert [op.view.name for op in result.change.operations[:2]] == ["adult_names", "adults"]
    assert db.views() == [] and "adults" not in tenant_schema(project)

    db.create_view("adults", "SELECT id, age FROM users WHERE age >= 18")
    with pytest.raises(errors.DependencyError):
        db.rename_column("users", "age", "years")
    db.rename_column("users", "age", "years", cascade=True)
    assert db.view("adults").sql == 'SELECT id, "years" FROM users WHERE "years" >= 18'
    db.rename_table("users", "people", cascade=True)
    assert db.view("adults").sql == 'SELECT id, "years" FROM "people" WHERE "years" >= 18'
    project.tenant("main").insert("people", {"years": 20})
    project.tenant("main").insert("people", {"years": 2})
    assert len(project.tenant("main").rows("SELECT * FROM adults")) == 1
    assert tenant_schema(project)["adults"] == "view"
    result = db.drop_table("people", cascade=True)
    assert [op.op for op in result.change.operations] == ["drop_view", "drop_table"]
    assert db.tables() == [] and db.views() == []
    assert committed_ops(project, head(project)) == ["drop_view", "drop_table"]


def test_cascade_drops_indexes_on_a_dropped_column(project: Project) -> None:
    db = project.database()
    db.drop_view("adults")
    with pytest.raises(errors.DependencyError) as info:
        db.drop_column("users", "name")
    assert "'users_name_idx'" in info.value.message
    result = db.drop_column("users", "name", cascade=True)
    assert [op.op for op in result.change.operations] == ["drop_index", "drop_column"]
    assert db.indexes() == [] and "users_name_idx" not in tenant_schema(project)


# --- dry runs, databases, errors ----------------------------------------------------------


def test_dry_run_changes_nothing(project: Project, snapshot: Callable[[Path], dict]) -> None:
    before, files = head(project), snapshot(project.root)
    result = project.database().add_column("users", "nickname", "TEXT", dry_run=True)
    assert result.dry_run and result.commit is None
    assert result.sql == ['ALTER TABLE "users" ADD COLUMN "nickname" TEXT']
    assert head(project) == before and snapshot(project.root) == files
    assert project.database().table("users").find_column("nickname") is None
    assert "nickname" not in str(project.tenant("main").rows("SELECT * FROM users LIMIT 0"))
    assert project.create_database("other", dry_run=True) is None
    assert project.databases() == ["main"] and head(project) == before


def test_several_databases(project: Project) -> None:
    analytics = project.create_database("analytics")
    assert project.databases() == ["main", "analytics"]
    assert analytics.name == "analytics" and analytics.tables() == []
    analytics.create_table("events", ["kind:TEXT"])
    assert [t.name for t in project.database("analytics").tables()] == ["events"]
    assert [t.name for t in project.database().tables()] == ["users"]
    assert (project.root / "schema/analytics/schema.sql").is_file()
    assert len(list((project.root / "schema/analytics/changes").iterdir())) == 1
    event = project.tenant("main", database="analytics").insert("events", {"kind": "click"})
    assert event["kind"] == "click"
    with pytest.raises(errors.AlreadyExists):
        project.create_database("ANALYTICS")
    with pytest.raises(errors.NotFound):
        project.database("nosuch")


ERROR_CASES: list[tuple[str, Callable[[Any], object], type[errors.CinchError], str]] = [
    ("unknown table", lambda db: db.add_column("nosuch", "x", "TEXT"), errors.NotFound,
     "not_found"),
    ("duplicate column", lambda db: db.add_column("users", "EMAIL", "TEXT"),
     errors.AlreadyExists, "already_exists"),
    ("duplicate table", lambda db: db.create_table("users", []), errors.AlreadyExists,
     "already_exists"),
    ("table name is a view", lambda db: db.create_table("adults", []), errors.AlreadyExists,
     "already_exists"),
    ("hostile name", lambda db: db.create_table('x"; DROP TABLE users; --', []),
     errors.InvalidName, "invalid_name"),
    ("reserved name", lambda db: db.create_table("sqlite_stat9", []), errors.InvalidName,
     "invalid_name"),
    ("cinch name", lambda db: db.create_view("_cinch_v", "SELECT 1"), errors.InvalidName,
     "invalid_name"),
    ("long name", lambda db: db.add_column("users", "c" * 64, "TEXT"), errors.InvalidName,
     "invalid_name"),
    ("bad type", lambda db: db.add_column("users", "x", "TEXT; DROP TABLE users"),
     errors.InvalidType, "invalid_type"),
    ("auto column", lambda db: db.drop_column("users", "updated_at"), errors.InvalidOperation,
     "invalid_operation"),
    ("auto column name", lambda db: db.create_table("t", ["created_at:TEXT"]),
     errors.InvalidOperation, "invalid_operation"),
    ("duplicate new column", lambda db: db.create_table("t", ["a:TEXT", "A:INTEGER"]),
     errors.InvalidOperation, "invalid_operation"),
    ("view reads it", lambda db: db.rename_column("users", "name", "full_name"),
     errors.DependencyError, "dependency"),
    ("view injection", lambda db: db.replace_view("adults", "SELECT 1; DELETE FROM users"),
     errors.InvalidSQL, "invalid_sql"),
    ("unknown view", lambda db: db.drop_view("nosuch"), errors.NotFound, "not_found"),
    ("unknown index", lambda db: db.drop_index("nosuch"), errors.NotFound, "not_found"),
]


@pytest.mark.parametrize(("label", "call", "kind", "code"), ERROR_CASES,
                         ids=[c[0] for c in ERROR_CASES])
def test_errors_are_cinch_errors_with_stable_codes(
        project: Project, label: str, call: Callable[[Any], object],
        kind: type[errors.CinchError], code: str) -> None:
    before = head(project)
    with pytest.raises(kind) as info:
        call(project.database())
    assert isinstance(info.value, cinch.CinchError)
    assert info.value.code == code
    assert "\n" not in info.value.message and info.value.message
    assert info.value.to_dict()["code"] == code
    assert head(project) == before
    assert project.git.dirty_paths() == []
