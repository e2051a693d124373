"""`cinch revert` through the API (and once through the real CLI): every operation kind, the
--yes rule, data snapshots of drops and their restore, and reverts after renames elsewhere."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cinch
from cinch.engine import snapshots
from cinch.engine.inspect import find_change
from cinch.engine.revert import revert
from cinch.errors import ConfirmationRequired, NotFound, UsageError
from cinch.models.operations import DropColumn
from cinch.models.schema import Schema
from cinch.stores import tenantstore as ts
from tests.conftest import Cli, assert_refused, run_cinch


def _norm(schema: Schema) -> dict[str, Any]:
    """Up to column order and the quoting SQLite adds to view bodies on renames."""
    return {
        "tables": {t.id: (t.name, sorted((c.model_dump() for c in t.columns),
                                         key=lambda c: c["id"])) for t in schema.tables},
        "indexes": {i.id: i.model_dump() for i in schema.indexes},
        "views": {v.id: (v.name, " ".join(v.sql.replace('"', "").split())) for v in schema.views},
    }


def _tenant_schema(project: cinch.Project, tenant: str) -> dict[str, list[str]]:
    """What the tenant file itself holds: columns of each table, and its other objects."""
    conn = sqlite3.connect(project.tenants.path("main", "main", tenant))
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite%' AND name NOT LIKE "
            "'\\_cinch%' ESCAPE '\\' ORDER BY name")]
        return {n: sorted(r[1] for r in conn.execute(f'PRAGMA table_info("{n}")'))
                for n in names}
    finally:
        conn.close()


def _up_to_date(project: cinch.Project) -> None:
    states = {i.name: i.state for i in project.tenants.infos("main", "main")}
    assert set(states.values()) == {"up to date"}, states


OPERATIONS: dict[str, Callable[[cinch.Database], Any]] = {
    "create_table": lambda db: db.create_table("tags", ["label:TEXT"]),
    "drop_table": lambda db: db.drop_table("users", cascade=True),
    "rename_table": lambda db: db.rename_table("notes", "memos"),
    "copy_table": lambda db: db.copy_table("users", "users_copy"),
    "add_column": lambda db: db.add_column("users", "nick:TEXT"),
    "drop_column": lambda db: db.drop_column("users", "age", cascade=True),
    "rename_column": lambda db: db.rename_column("users", "email", "mail"),
    "alter_column": lambda db: db.alter_column("users", "age", type="REAL"),
    "create_index": lambda db: db.create_index("users", ["email", "age"]),
    "drop_index": lambda db: db.drop_index("users_name_idx"),
    "create_view": lambda db: db.create_view("names", "SELECT name FROM users"),
    "replace_view": lambda db: db.replace_view("adults", "SELECT id FROM users"),
    "drop_view": lambda db: db.drop_view("adults"),
}


@pytest.mark.parametrize("kind", sorted(OPERATIONS))
def test_revert_each_operation(project: cinch.Project, kind: str) -> None:
    db = project.database()
    db.create_table("notes", ["body:TEXT"])
    project.tenants.create("main", "main", "acme")
    before, files = db.schema(), _tenant_schema(project, "acme")
    change = OPERATIONS[kind](db).change
    head = db.head
    result = revert(project, change.id, yes=True)
    assert result.result.commit != head and db.head == result.result.commit
    assert _norm(db.schema()) == _norm(before)
    assert _tenant_schema(project, "acme") == files == _tenant_schema(project, "main")
    _up_to_date(project)
    # The revert is an ordinary change set: in the log, reviewed like any other.
    assert db.changes()[-1].id == result.result.change.id
    assert db.changes()[-1].message.startswith(f'Revert "{change.message}"')


def test_a_change_that_destroyed_data_needs_yes(project: cinch.Project) -> None:
    db = project.database()
    drop = db.drop_column("users", "age", cascade=True).change
    head = db.head
    with pytest.raises(ConfirmationRequired, match="destroyed data") as err:
        revert(project, drop.id)
    assert "drop column users.age" in err.value.message
    assert db.head == head  # nothing was committed
    revert(project, drop.id, yes=True)
    assert db.table("users").find_column("age") is not None


def test_a_revert_that_destroys_data_needs_yes(project: cinch.Project) -> None:
    db = project.database()
    add = db.add_column("users", "nick:TEXT").change
    head = db.head
    with pytest.raises(ConfirmationRequired, match=r"drop column users\.nick"):
        revert(project, add.id)
    assert db.head == head
    # A dry run changes nothing, so it needs no confirmation.
    dry = revert(project, add.id, dry_run=True)
    assert dry.result.dry_run and db.head == head
    assert any("DROP COLUMN" in s for s in dry.result.sql)
    # Non-destructive reverts need no --yes.
    rename = db.rename_column("users", "email", "mail").change
    revert(project, rename.id)
    assert db.table("users").find_column("email") is not None


def test_revert_refuses_what_no_longer_makes_sense(project: cinch.Project) -> None:
    db = project.database()
    create = db.create_table("tags", ["label:TEXT"]).change
    db.drop_table("tags")
    with pytest.raises(NotFound, match=f"change {create.id} cannot be reverted.*table tags"):
        revert(project, create.id, yes=True)
    # reverting twice: the second finds nothing left to undo
    add = db.add_column("users", "nick:TEXT").change
    revert(project, add.id, yes=True)
    with pytest.raises(NotFound, match="nick"):
        revert(project, add.id, yes=True)


def test_find_change_by_prefix(project: cinch.Project) -> None:
    change = project.database().add_column("users", "nick:TEXT").change
    assert find_change(project, change.id[:12].lower(), "main").id == change.id
    assert find_change(project, f" {change.id} ").id == change.id
    for short in ("", "   ", change.id[:3]):
        with pytest.raises(UsageError, match="too short"):
            find_change(project, short, "main")
    with pytest.raises(NotFound):
        find_change(project, "0" * 26, "main")


def test_a_prefix_shared_by_two_changes_is_ambiguous(project: cinch.Project) -> None:
    # ids begin with their creation time: two changes a moment apart share 6 characters
    first = project.database().add_column("users", "nick:TEXT").change
    second = project.database().add_column("users", "city:TEXT").change
    assert first.id[:6] == second.id[:6]
    with pytest.raises(UsageError, match="ambiguous"):
        find_change(project, first.id[:6])
    with pytest.raises(UsageError, match="too short"):
        revert(project, "", yes=True)


def test_cli_show_and_revert_refuse_an_empty_change_id(make_project: Callable[..., Path],
                                                       cli: Cli) -> None:
    root = make_project("users")
    for args in (["revert", "", "--yes"], ["show", ""]):
        assert_refused(cli(*args, cwd=root), ["too short"] if args[0] == "revert" else [])


def test_revert_after_a_rename_elsewhere(project: cinch.Project) -> None:
    db = project.database()
    db.create_table("notes", ["body:TEXT"])
    add = db.add_column("notes", "title:TEXT").change
    project.tenant("main").insert("notes", {"body": "b", "title": "t"})
    db.rename_table("notes", "memos")
    db.rename_column("memos", "title", "heading")
    result = revert(project, add.id, yes=True)
    assert [str(op.table) for op in result.result.change.operations] == ["memos"]
    assert "heading" not in _tenant_schema(project, "main")["memos"]
    # A drop reverted after its table was renamed: the column comes back into the new name.
    drop = db.drop_column("memos", "body").change
    db.rename_table("memos", "journal")
    revert(project, drop.id, yes=True)
    assert project.tenant("main").rows("SELECT body FROM journal") == [{"body": "b"}]


# --- snapshots of dropped data ------------------------------------------------------------


def _fill(project: cinch.Project, tenants: list[str]) -> dict[str, dict[str, int]]:
    """Rows with distinct ages in every tenant: tenant -> {row id: age}."""
    out = {}
    for t, name in enumerate(tenants):
        rows = [project.tenant(name).insert(
            "users", {"name": f"{name}{i}", "email": f"{name}{i}@x", "age": 10 * t + i})
            for i in range(5)]
        out[name] = {r["id"]: r["age"] for r in rows}
    return out


def test_drop_column_revert_restores_values(project: cinch.Project) -> None:
    project.tenants.create_many("main", "main", ["a", "b"])
    ages = _fill(project, ["main", "a", "b"])
    db = project.database()
    drop = db.drop_column("users", "age", cascade=True).change  # drops view adults too
    folder = project.state_dir / "snapshots" / "main" / "main"
    assert sorted(p.parent.name for p in folder.glob(f"*/{drop.id}.db")) == ["a", "b", "main"]
    # A row written after the drop has no snapshot value: it gets the column's default.
    late = project.tenant("a").insert("users", {"name": "late", "email": "late@x"})

    with pytest.raises(ConfirmationRequired, match="snapshots for 3 of 3 tenant"):
        revert(project, drop.id)
    result = revert(project, drop.id, yes=True)
    assert result.restored == {name: {"rows": 5} for name in ("a", "b", "main")}
    for name, expected in ages.items():
        got = {r["id"]: r["age"] for r in project.tenant(name).rows(
            "SELECT id, age FROM users WHERE name != 'late'")}
        assert got == expected
    assert project.tenant("a").get("users", late["id"])["age"] == 0
    assert db.view("adults")  # the cascaded view came back too
    assert len(project.tenant("b").rows("SELECT * FROM adults")) == 5  # ages 20..24
    _up_to_date(project)


def test_drop_table_revert_restores_rows(project: cinch.Project) -> None:
    db = project.database()
    db.create_table("notes", ["body:TEXT", "user_id:TEXT:references=users.id"])
    owner = project.tenant("main").insert("users", {"name": "o", "email": "o@x"})
    rows = [project.tenant("main").insert("notes", {"body": f"n{i}", "user_id": owner["id"]})
            for i in range(3)]
    drop = db.drop_table("notes").change
    result = revert(project, drop.id, yes=True)
    assert result.restored == {"main": {"rows": 3}}
    # Every column comes back as it was, ids and timestamps included.
    assert project.tenant("main").rows("SELECT * FROM notes ORDER BY body") == rows


def test_no_restore_leaves_the_snapshot_unused(project: cinch.Project) -> None:
    _fill(project, ["main"])
    drop = project.database().drop_column("users", "age", cascade=True).change
    result = revert(project, drop.id, yes=True, restore=False)
    assert result.restored == {}
    assert {r["age"] for r in project.tenant("main").rows("SELECT age FROM users")} == {0}


def test_reverting_a_create_keeps_a_snapshot_so_the_revert_reverts(
        project: cinch.Project) -> None:
    db = project.database()
    create = db.create_table("notes", ["body:TEXT"]).change
    row = project.tenant("main").insert("notes", {"body": "kept"})
    undo = revert(project, create.id, yes=True).result.change
    assert db.schema().find_table("notes") is None
    redo = revert(project, undo.id, yes=True)
    assert redo.restored == {"main": {"rows": 1}}
    assert project.tenant("main").get("notes", row["id"]) == row


def test_snapshot_writer_retention_and_pruning(project: cinch.Project, tmp_path: Path) -> None:
    _fill(project, ["main"])
    db = project.database()
    op = DropColumn(table_id=db.table("users").id, table="users",
                    column=db.table("users").column("age"))
    tenant = project.tenants.path("main", "main", "main")
    folder = tmp_path / "snaps"
    old = folder / "01OLDSNAPSHOT000000000000.db"
    folder.mkdir()
    old.write_bytes(b"")
    os.utime(old, (time.time() - 3 * 86_400,) * 2)
    with project.tenants.pool.connection(tenant) as conn:
        path = snapshots.snapshot_before_drop(conn, tenant, "01TESTCHANGE0000000000000A", [op],
                                              folder, retention_days=2)
        assert path == folder / "01TESTCHANGE0000000000000A.db" and path.is_file()
        assert not old.exists()  # pruned: older than the retention
        snap = sqlite3.connect(path)
        assert snap.execute("SELECT count(*), count(DISTINCT c0) FROM data_1").fetchone() == (5, 5)
        assert snap.execute("SELECT kind, column_name, rows FROM _cinch_snapshot_objects"
                            ).fetchall() == [("column", "age", 5)]
        snap.close()
        # retention 0 keeps nothing; a change the tenant holds already is not snapshotted
        assert snapshots.snapshot_before_drop(conn, tenant, "01TESTCHANGE0000000000000B", [op],
                                              folder, retention_days=0) is None
        applied = ts.read_ledger(conn)[-1]
        assert snapshots.snapshot_before_drop(conn, tenant, applied, [op], folder) is None
        assert not conn.in_transaction
    assert snapshots.prune(folder, 0) == 1


def _set_retention(project: cinch.Project, days: int) -> None:
    from cinch.engine.config import CONFIG_FILE

    config = project.config()
    config.tenants.snapshot_retention_days = days
    project.git.commit("main", {CONFIG_FILE: config.to_toml()}, f"Keep snapshots {days} days",
                       project.author().as_tuple())


def test_snapshot_step_uses_the_branch_retention(project: cinch.Project, tmp_path: Path) -> None:
    """The apply-path hook: finds the change's drops, names them as the tenant holds them,
    and keeps snapshots as long as cinch.toml says (0: none)."""
    _fill(project, ["main"])
    db = project.database()
    # A tenant file still before the drop (a copy of main, in a tenant-shaped folder).
    copy = tmp_path / "tenants" / "main" / "main" / "copy.db"
    copy.parent.mkdir(parents=True)
    src = sqlite3.connect(project.tenants.path("main", "main", "main"))
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    drop = db.drop_column("users", "age", cascade=True).change
    _set_retention(project, 0)
    with project.tenants.pool.connection(copy) as conn:
        assert snapshots.snapshot_step(project, conn, copy, "main", "main", "copy", db.head,
                                       drop.id) is None
        _set_retention(project, 5)
        path = snapshots.snapshot_step(project, conn, copy, "main", "main", "copy", db.head,
                                       drop.id)
        assert path == snapshots.snapshot_path(snapshots.snapshot_root(project), "main",
                                               "main", "copy", drop.id)
        # a change that drops nothing is a cheap no-op
        assert snapshots.snapshot_step(project, conn, copy, "main", "main", "copy", db.head,
                                       db.changes()[0].id) is None
    snap = sqlite3.connect(path)
    assert snap.execute("SELECT count(*) FROM data_1").fetchone() == (5,)
    snap.close()


# --- the CLI ------------------------------------------------------------------------------
# Through the console script's entry point in this process (the same code, rendering and exit
# codes); the confirmation asked for without a terminal runs the real `cinch` command.


@pytest.fixture
def cli(cli_in_process: Cli) -> Cli:
    return cli_in_process



def test_cli_revert_and_tag(project: cinch.Project, cli: Cli) -> None:
    root = str(project.root)
    drop = project.database().drop_column("users", "age", cascade=True).change
    refused = run_cinch("-C", root, "revert", drop.id)
    assert refused.rc != 0 and "destroyed data" in refused.stderr, refused
    assert "--yes" in refused.stderr
    dry = cli("-C", root, "revert", drop.id[:16], "--dry-run")  # a prefix, past the time part
    assert dry.rc == 0 and "ADD COLUMN" in dry.stdout.upper(), dry
    done = cli("-C", root, "revert", drop.id, "--yes", "-m", "Bring age back")
    assert done.rc == 0, done
    assert "Bring age back" in done.stdout
    assert cli("-C", root, "tag", "v1", "-m", "first release").rc == 0
    assert cli("-C", root, "tag", "v0", "HEAD~1").rc == 0
    listed = cli("-C", root, "tag", "-f", "json")
    assert [t["name"] for t in json.loads(listed.stdout)] == ["v0", "v1"]
    assert cli("-C", root, "tag", "v1").rc != 0  # exists already
    assert cli("-C", root, "tag", "-d", "v0").rc == 0
    assert project.git.tags() == ["v1"]


def test_revert_on_a_protected_branch_is_refused_before_asking(project: cinch.Project) -> None:
    from cinch.engine.config import CONFIG_FILE
    from cinch.errors import ProtectedBranch

    drop = project.database().drop_column("users", "age", cascade=True).change
    config = project.config()
    config.branches.protected = ["main"]
    project.git.commit("main", {CONFIG_FILE: config.to_toml()}, "Protect main",
                       project.author().as_tuple())
    with pytest.raises(ProtectedBranch):
        revert(project, drop.id)  # not ConfirmationRequired: --yes would not help
