"""`cinch status`, `cinch table list` and a page of `cinch tenant list` from the files on disk
(cinch.engine.glance): the same answers as the opened project, never a stale one. Branches are
moved with the git binary, as a user (or another tool) moves them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cinch
from cinch.engine.glance import Glance
from cinch.errors import ApplyIncomplete

Git = Callable[..., str]
Cli = Callable[..., Any]


def full_status(root: Path) -> dict[str, Any]:
    with cinch.open(root) as project:
        return project.status()


def full_tables(root: Path, database: str | None = None) -> list[dict[str, Any]]:
    with cinch.open(root) as project:
        return project.database(database).table_rows()


def test_answers_once_the_project_has_and_the_same(make_project: Callable[..., Path]) -> None:
    root = make_project("users")
    for path in (root / ".cinch" / "cache").glob("glance/*"):
        path.unlink()
    glance = Glance(root)
    assert glance.status() is None and glance.tables(None) is None  # nothing written yet
    status = full_status(root)
    assert glance.status() == status
    assert glance.tables(None) == full_tables(root) == full_tables(root, "MAIN")
    assert glance.tables("MAIN") == glance.tables(None)
    assert glance.tables("nosuch") is None  # the project words the refusal


def test_a_branch_moved_by_plain_git_is_never_answered_stale(
        make_project: Callable[..., Path], git: Git) -> None:
    root = make_project("users")
    with cinch.open(root) as project:
        project.switch("feature", create=True)
        project.database().create_table("orders", ["total:REAL"])
        project.status()
    glance = Glance(root)
    feature = glance.status()
    assert feature is not None and feature["branch"] == "feature"
    assert [t["name"] for t in glance.tables(None) or []] == ["users", "orders"]

    git("checkout", "-q", "main", cwd=root)
    assert glance.status() is None  # the work tree was proven clean at feature's head only
    full = full_status(root)
    assert glance.status() == full and full["branch"] == "main"
    assert [t["name"] for t in glance.tables(None) or []] == ["users"]

    # A commit the cache has never seen: the project answers, then the cache does
    git("merge", "-q", "--no-ff", "-m", "merge feature", "feature", cwd=root)
    assert glance.tables(None) is None
    assert [t["name"] for t in full_tables(root)] == ["users", "orders"]
    assert glance.tables(None) == full_tables(root)
    git("commit", "-q", "--allow-empty", "-m", "no schema change", cwd=root)
    assert glance.status() is None
    full = full_status(root)
    assert glance.status() == full and full["head"] == git("rev-parse", "HEAD", cwd=root).strip()


def test_what_it_cannot_prove_goes_to_the_project(make_project: Callable[..., Path],
                                                  git: Git) -> None:
    root = make_project("users")
    full_status(root)
    glance = Glance(root)
    assert glance.status() is not None
    (root / "notes.txt").write_text("untracked")
    assert glance.status() is None
    assert full_status(root)["uncommitted"] == ["notes.txt"]
    (root / "notes.txt").unlink()
    assert glance.status() == full_status(root)

    git("checkout", "-q", "--detach", cwd=root)
    assert glance.status() is None and glance.tables(None) is None
    git("checkout", "-q", "main", cwd=root)

    cache = next((root / ".cinch" / "cache" / "glance").glob("*.json"))
    cache.write_bytes(cache.read_bytes().replace(b'"views": 1', b'"views": 7'))
    assert glance.status() is None  # its check no longer matches: not trusted
    assert glance.status() is None
    full = full_status(root)  # and writes it again
    assert full["databases"][0]["views"] == 1
    assert glance.status() == full


def test_tenants_are_counted_as_the_project_counts_them(
        make_project: Callable[..., Path], git: Git) -> None:
    root = make_project("users")
    with cinch.open(root) as project:
        project.database().tenants.create_many(["t1", "t2"])
        project.status()
    glance = Glance(root)
    assert glance.status() == full_status(root)
    assert glance.status()["databases"][0]["tenants"]["total"] == 3  # type: ignore[index]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "yaml"])
def test_the_commands_print_the_same_either_way(make_project: Callable[..., Path],
                                                cli: Cli, fmt: str) -> None:
    root = make_project("users")
    for path in (root / ".cinch" / "cache").glob("glance/*"):
        path.unlink()
    with cinch.open(root) as project:
        project.database().tenants.create_many(["t1", "t2", "t3"])
    for command in (["status"], ["table", "list"], ["tenant", "list", "--limit", "2"],
                    ["tenant", "list", "--limit", "5", "--after", "t1"]):
        first = cli("-f", fmt, *command, cwd=root, check=True)  # opens the project
        again = cli("-f", fmt, *command, cwd=root, check=True)  # from the files
        assert (again.stdout, again.stderr) == (first.stdout, first.stderr)
        assert first.stdout


def full_page(root: Path, branch: str, after: str | None, limit: int) -> list[dict[str, Any]]:
    with cinch.open(root) as project:
        tenants = project.database(branch=branch).tenants
        return [t.to_dict() for t in tenants.list(limit=limit, after=after)]


def test_a_page_of_tenants_is_the_projects_page(make_project: Callable[..., Path]) -> None:
    root = make_project("users")
    with cinch.open(root) as project:
        project.database().tenants.create_many([f"t{i}" for i in range(1, 7)])
        project.create_branch("feature")  # forked lazily: its tenants are not copied yet
        with sqlite3.connect(project.tenants.path("main", "main", "t2")) as conn:
            conn.execute("ALTER TABLE users ADD COLUMN sneaky TEXT")  # behind cinch's back
        with pytest.raises(ApplyIncomplete):
            project.database().add_column("users", "plan:TEXT")  # t2 is found drifted
        project.database(branch="feature").tenants.get("t5").insert("users", {"name": "x"})
    glance = Glance(root)
    assert glance.tenant_page(None, "main", after=None, limit=3) is None  # not written yet
    pages = [("main", None, 3), ("main", "t1", 4), ("main", "t6", 5), ("feature", None, 10),
             ("feature", "t4", 2)]
    for branch, after, limit in pages:
        full = full_page(root, branch, after, limit)
        assert glance.tenant_page(None, branch, after=after, limit=limit) == full
        assert glance.tenant_page("MAIN", branch, after=after, limit=limit) == full
    states = {row["name"]: row["state"] for row in full_page(root, "main", None, 10)}
    assert states["t2"] == "drifted" and states["t1"] == "up to date"
    lazy = {row["name"]: row["state"] for row in full_page(root, "feature", None, 10)}
    assert lazy["t4"] == "up to date" and lazy["t2"] == "not copied yet"  # copied on write
    assert glance.tenant_page("nosuch", "main", after=None, limit=3) is None
    assert glance.tenant_page(None, "nosuch", after=None, limit=3) is None

    # A file removed behind cinch's back: the project answers (and the catalog learns it)
    (root / ".cinch" / "tenants" / "main" / "main" / "t3.db").unlink()
    assert glance.tenant_page(None, "main", after=None, limit=10) is None
    full = full_page(root, "main", None, 10)
    assert "t3" not in [row["name"] for row in full]
    assert glance.tenant_page(None, "main", after=None, limit=10) == full


def test_the_commit_hook_answer_never_follows_a_hostile_database_name(
        make_project: Callable[..., Path], git: Git) -> None:
    """post-commit's quick answer reads cinch.toml's databases with the git binary: a name
    cinch would refuse (committed past the hooks) sends it to the project, and no synced mark
    is read or written outside .cinch/synced."""
    root = make_project("users")
    full_status(root)
    nohooks = ("-c", "core.hooksPath=/dev/null")
    config = root / "cinch.toml"
    config.write_text(config.read_text().replace('databases = [\n    "main",\n]',
                                                 'databases = ["main", "../../outside"]'))
    assert "../../outside" in config.read_text()
    git(*nohooks, "commit", "-q", "-am", "a name cinch refuses", cwd=root)
    (root / "README.md").write_text("notes\n")
    git("add", "README.md", cwd=root)
    git(*nohooks, "commit", "-q", "-m", "other files", cwd=root)
    parent = git("rev-parse", "HEAD^1", cwd=root).strip()
    marks = [m for m in (root / ".cinch" / "synced" / "main").iterdir()
             if not m.name.startswith(".")]
    planted = root / "outside" / marks[0].name
    planted.parent.mkdir()
    for mark in (*marks, planted):  # every mark names the parent: all else would allow it
        mark.write_text(f"{parent} main")
    assert Glance(root).synced_after_commit() is None
    assert planted.read_text() == f"{parent} main"
