"""The public Python API of a project: branches, merge, revert, history, remotes, tags.

Everything is imported from ``cinch`` (and ``cinch.errors``), as a user's script would, and
runs against a real git repository and real SQLite tenant files.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pygit2
import pytest

import cinch
from cinch import errors


def tables_in(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_%' "
            "ESCAPE '\\' AND name NOT LIKE 'sqlite%'")}
    finally:
        conn.close()


def columns(table: cinch.Table) -> list[str]:
    return [c.name for c in table.columns]


def test_branches_create_list_switch_and_delete(project: cinch.Project) -> None:
    info = project.create_branch("feature")
    assert isinstance(info, cinch.BranchInfo)
    assert info.name == "feature" and info.head == project.git.resolve("main")
    assert [b.name for b in project.branches()] == ["feature", "main"]
    assert project.current_branch == "main"

    switched = project.switch("feature")
    assert switched.current and project.current_branch == "feature"
    # git itself sees the switch: HEAD names the branch
    assert pygit2.Repository(str(project.root)).head.shorthand == "feature"

    made = project.switch("other", create=True)
    assert made.name == "other" and project.current_branch == "other"

    project.switch("main")
    was = project.delete_branch("feature")
    assert was == info.head
    assert [b.name for b in project.branches()] == ["main", "other"]
    with pytest.raises(errors.NotFound):
        project.branch("feature")


def test_create_branch_from_a_start_point(project: cinch.Project) -> None:
    first = project.log()[-1].commit
    info = project.create_branch("old", start=first)
    assert info.head == first
    assert project.database(branch="old").tables() == []


def test_delete_branch_refuses_unmerged_work_unless_forced(project: cinch.Project) -> None:
    project.create_branch("feature")
    project.database(branch="feature").create_table("notes", ["body:TEXT"])
    with pytest.raises(errors.BranchError, match="not merged"):
        project.delete_branch("feature")
    assert "feature" in {b.name for b in project.branches()}
    project.delete_branch("feature", force=True)
    assert "feature" not in {b.name for b in project.branches()}


def test_merge_brings_the_target_tenants_along(project: cinch.Project) -> None:
    project.database().tenants.create("acme")
    project.create_branch("feature")
    project.database(branch="feature").add_column("users", "nickname:TEXT")

    report = project.check_merge("feature", "main")
    assert isinstance(report, cinch.MergeReport)
    assert report.can_merge and report.conflicts == []
    assert len(report.changes["main"]["theirs"]) == 1

    dry = project.merge("feature", "main", dry_run=True)
    assert dry.dry_run and dry.commit is None
    assert "nickname" not in columns(project.database().table("users"))

    result = project.merge("feature")  # into the current branch
    assert isinstance(result, cinch.MergeResult)
    assert result.commit == project.git.resolve("main")
    assert "nickname" in columns(project.database().table("users"))
    acme = project.database().tenants.get("acme")
    acme.insert("users", {"name": "Ann", "nickname": "annie"})
    assert acme.rows("SELECT nickname FROM users") == [{"nickname": "annie"}]


def test_merge_conflict_is_refused_and_changes_nothing(project: cinch.Project) -> None:
    project.create_branch("a")
    project.create_branch("b")
    project.database(branch="a").add_column("users", "level:INTEGER")
    project.database(branch="b").add_column("users", "level:TEXT")
    project.merge("a", "main")
    before = project.git.resolve("main")
    report = project.check_merge("b", "main")
    assert not report.can_merge and report.conflicts
    with pytest.raises(errors.MergeConflict):
        project.merge("b", "main")
    assert project.git.resolve("main") == before


def test_revert_undoes_a_change(project: cinch.Project) -> None:
    project.create_branch("work")
    db = project.database(branch="work")
    change = db.add_column("users", "nickname:TEXT").change
    # A prefix of the id: 16 characters, past the time part of ids made within one second.
    prefix = change.id[:16]
    with pytest.raises(errors.ConfirmationRequired, match="destroys data"):
        project.revert(prefix, branch="work")  # dropping the column loses its data
    assert "nickname" in columns(db.table("users"))
    out = project.revert(prefix, branch="work", yes=True)
    assert isinstance(out, cinch.RevertResult)
    assert out.reverted.id == change.id
    assert "nickname" not in columns(db.table("users"))
    assert "nickname" not in {r["name"] for r in db.tenants.get("main").rows(
        "SELECT name FROM pragma_table_info('users')")}


def test_log_diff_show_and_status(project: cinch.Project) -> None:
    items = project.log()
    assert all(isinstance(i, cinch.LogItem) for i in items)
    assert items[0].commit == project.git.resolve("HEAD")
    assert len(project.log(n=2)) == 2
    assert [c["database"] for i in project.log(database="main") for c in i.changes] == \
        ["main"] * 3
    with pytest.raises(errors.NotFound):
        project.log(database="nope")

    project.create_branch("feature")
    project.database(branch="feature").create_table("notes", ["body:TEXT"])
    diff = project.diff("main", "feature")
    (entry,) = diff["databases"]
    assert any("notes" in s for s in entry["sql"])

    shown = project.show(items[0].changes[0]["id"])
    assert shown["kind"] == "change"

    status = project.status()
    assert status["branch"] == "main" and status["head"] == project.git.resolve("main")
    assert status["databases"][0]["tables"] == 1


def test_tags(project: cinch.Project) -> None:
    tag = project.tag("v1", message="first release")
    assert isinstance(tag, cinch.TagInfo)
    assert tag.commit == project.git.resolve("HEAD") and tag.message == "first release"
    assert [t.name for t in project.tags()] == ["v1"]
    assert project.git.resolve("v1") == tag.commit
    with pytest.raises(errors.BranchError):
        project.tag("v1")
    project.delete_tag("v1")
    assert project.tags() == []


def test_settings_are_read_set_committed_and_unset(project: cinch.Project) -> None:
    assert "merge.approvals.main" not in project.settings()
    assert project.settings()["limits.max_query_rows"] == 10000
    change = project.set_setting("merge.approvals.main", "2")
    assert isinstance(change, cinch.SettingChange) and change.changed and change.previous is None
    assert project.setting("merge.approvals.main") == 2
    assert project.config().merge.approvals["main"] == 2  # committed, read back from git
    assert not project.set_setting("merge.approvals.main", 2).changed  # nothing to commit
    with pytest.raises(errors.InvalidSetting, match="whole number"):
        project.set_setting("merge.approvals.main", "two")
    with pytest.raises(errors.InvalidSetting):
        project.set_setting("name", "other")  # read-only
    assert project.unset_setting("merge.approvals.main").value is None
    with pytest.raises(errors.NotFound):
        project.setting("merge.approvals.main")


def test_push_pull_between_two_clones(project: cinch.Project, tmp_path: Path) -> None:
    hub = tmp_path / "hub.git"
    pygit2.init_repository(str(hub), bare=True)
    project.add_remote("origin", str(hub))
    assert project.remotes() == [{"name": "origin", "url": str(hub)}]
    pushed = project.push("origin", "main")
    assert isinstance(pushed, cinch.SyncResult) and pushed.action == "pushed"

    with cinch.clone(str(hub), tmp_path / "other") as other:
        other.database().create_table("notes", ["body:TEXT"])
        assert other.push().action == "pushed"

    pulled = project.pull("origin", "main")
    assert pulled.action == "fast-forward"
    assert "notes" in [t.name for t in project.database().tables()]
    # the pull brought the tenants to the new head: the table exists in the tenant's file
    assert "notes" in tables_in(project.database().tenants.get("main").path)
    assert project.pull().action == "up to date"


def test_sync_finishes_tenants_left_behind(project: cinch.Project) -> None:
    project.database().tenants.create("acme")
    result = project.sync()
    assert result["main"]["tenants"] == 2
    assert project.database().tenants.info("acme").state == "up to date"


def test_public_signatures_name_no_any() -> None:
    """Every public method of the objects is typed without ``Any`` and documented (the new
    verbs at least; a few old one-liners explain themselves)."""
    import builtins
    import collections.abc
    import importlib
    import inspect
    import pkgutil
    import sys
    import typing

    import cinch.engine
    import cinch.stores

    documented = {
        cinch.Project: ["create_branch", "delete_branch", "branches", "switch", "merge",
                        "check_merge", "revert", "log", "diff", "status", "push", "pull",
                        "sync", "tag"],
        cinch.TenantCollection: ["create", "get", "list", "copy", "rename", "delete"],
        cinch.Tenant: ["executemany", "batch"],
    }
    # Names imported for type checking only live in the modules that define them.
    engine_types: dict[str, object] = {}
    for info in [*pkgutil.iter_modules(cinch.engine.__path__, "cinch.engine."),
                 *pkgutil.iter_modules(cinch.stores.__path__, "cinch.stores.")]:
        module = importlib.import_module(info.name)
        engine_types |= {k: v for k, v in vars(module).items() if k[:1].isupper()}
    checked = 0
    for cls in (cinch.Project, cinch.Database, cinch.TenantCollection, cinch.Tenant):
        for name, member in vars(cls).items():
            if name.startswith("_") and name not in ("__iter__", "__len__"):
                continue
            method = member.fget if isinstance(member, property) else member
            if not inspect.isfunction(method):
                continue
            names_in_scope = {**vars(builtins), **vars(collections.abc), **vars(typing),
                              **engine_types}
            names_in_scope |= {**vars(cinch), **vars(sys.modules[method.__module__])}
            hints = typing.get_type_hints(method, names_in_scope)
            assert "return" in hints or name == "__init__", f"{cls.__name__}.{name}"
            assert "Any" not in str(inspect.signature(method)), f"{cls.__name__}.{name}"
            assert typing.Any not in hints.values(), f"{cls.__name__}.{name}"
            checked += 1
        for name in documented.get(cls, []):
            assert getattr(cls, name).__doc__, f"{cls.__name__}.{name} has no docstring"
    assert checked > 80


def test_a_database_looked_up_again_follows_the_branch_where_it_moves(
        project: cinch.Project) -> None:
    """A lookup is remembered per branch tip: moved by plain git to a commit without the
    database, the branch no longer has it, and moved back it has it again."""
    before = project.git.resolve("main")
    project.create_database("billing").create_table("invoices", ["total:INTEGER"])
    project.database("billing").tenants.create("acme")
    after = project.git.resolve("main")
    assert project.database("BILLING").name == "billing"  # the name it was created with
    assert project.tenant("acme", database="billing").rows("SELECT * FROM invoices") == []

    repo = pygit2.Repository(str(project.root))
    repo.references["refs/heads/main"].set_target(before)
    with pytest.raises(errors.NotFound, match="no database named 'billing'"):
        project.database("billing")
    with pytest.raises(errors.NotFound, match="no database named 'billing'"):
        project.tenant("acme", database="billing")

    repo.references["refs/heads/main"].set_target(after)
    assert project.tenant("acme", database="billing").database == "billing"
    with pytest.raises(errors.InvalidName):
        project.database("../billing")
