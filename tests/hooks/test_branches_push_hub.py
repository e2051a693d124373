"""Branch deletion, pushes, a hub and clones without hooks, driven by the real `git`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.hooks.conftest import (
    Write,
    cinch_cli,
    cinch_run,
    columns,
    git,
    head,
    rows,
    view_change,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")
OFF = {"CINCH_HOOKS": "off"}


def names(root: Path, branch: str | None = None) -> list[str]:
    return sorted(r["name"] for r in rows(root, "SELECT name FROM users", "acme", branch))


# --- branch deletion ------------------------------------------------------------------------


def test_git_branch_d_removes_the_branch_tenants(root: Path) -> None:
    cinch_cli("branch", "feat", cwd=root)
    cinch_cli("query", "INSERT INTO users (name) VALUES ('Old')", "-t", "acme", "--branch",
              "feat", cwd=root)
    assert names(root, "feat") == ["Ann", "Old"]
    cinch_cli("sync", "--branch", "feat", cwd=root)  # marked synced at its head
    assert (root / ".cinch/synced/main/feat").exists()
    proc = git("branch", "-D", "feat", cwd=root)
    assert "local tenants were removed" in proc.stderr
    assert not (root / ".cinch/tenants/main/feat").exists()
    assert not (root / ".cinch/synced/main/feat").exists()  # no mark for a branch made again
    # Made again with plain git: forked from main, not the old branch's files.
    git("checkout", "-q", "-b", "feat", cwd=root)
    assert names(root) == ["Ann"]
    git("checkout", "-q", "main", cwd=root)
    git("branch", "-D", "feat", cwd=root)
    # Made again with cinch: no "tenant already exists".
    cinch_cli("branch", "feat", cwd=root)
    assert names(root, "feat") == ["Ann"]


def test_switching_back_to_a_branch_at_its_head_is_answered_without_the_engine(
        root: Path) -> None:
    """git checkout to a branch whose tenants followed it to its tip says so at once; one
    moved behind cinch's back (hooks off) goes through the engine and its tenants follow."""
    git("checkout", "-q", "-b", "feat", cwd=root)  # forked lazily: acme not copied yet
    for branch in ("main", "feat", "main"):
        proc = git("checkout", "-q", branch, cwd=root)
        assert f"after checkout: the tenants of {branch} are at its head (main)" in proc.stderr
    assert not (root / ".cinch/tenants/main/feat/acme.db").exists()  # nothing was copied
    git("checkout", "-q", "feat", cwd=root)
    cinch_cli("column", "add", "users", "nick", "TEXT", cwd=root)
    moved = head(root)
    git("checkout", "-q", "main", cwd=root)
    git("update-ref", "refs/heads/main", moved, cwd=root, env=OFF)  # main moves, unseen
    git("checkout", "-q", "-f", "feat", cwd=root, env=OFF)
    proc = git("checkout", "-q", "main", cwd=root)
    assert "tenant(s) of main at the head (2 updated)" in proc.stderr, proc.stderr
    assert "nick" in columns(root, branch="main")
    proc = git("checkout", "-q", "feat", cwd=root)
    assert "the tenants of feat are at its head" in proc.stderr


def test_git_branch_m_keeps_the_tenants(root: Path) -> None:
    cinch_cli("branch", "feat", cwd=root)
    cinch_cli("query", "INSERT INTO users (name) VALUES ('Kept')", "-t", "acme", "--branch",
              "feat", cwd=root)
    git("branch", "-m", "feat", "feature", cwd=root)
    assert (root / ".cinch/tenants/main/feat/acme.db").exists()


# --- pushes ---------------------------------------------------------------------------------


def _conflicting_merge_without_hooks(root: Path) -> str:
    for branch, type_ in (("a", "INTEGER"), ("b", "TEXT")):
        git("checkout", "-q", "-b", branch, "main", cwd=root)
        cinch_cli("column", "add", "users", "score", type_, cwd=root)
    git("checkout", "-q", "main", cwd=root)
    git("merge", "-q", "--no-edit", "a", cwd=root)
    if git("merge", "--no-edit", "b", cwd=root, check=False, env=OFF).returncode:
        git("add", "-A", cwd=root, env=OFF)
        git("commit", "-qm", "merge b by hand", cwd=root, env=OFF)
    assert len(git("rev-list", "--parents", "-n1", "HEAD", cwd=root).stdout.split()) == 3
    return head(root)


@pytest.fixture
def bare(root: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=root)
    git("push", "-q", "origin", "main", cwd=root)
    return bare


def test_pre_push_refuses_what_the_hooks_would_refuse(root: Path, bare: Path) -> None:
    _conflicting_merge_without_hooks(root)
    proc = git("push", "origin", "main", cwd=root, check=False)
    assert proc.returncode != 0
    assert "users.score" in proc.stderr and "push refused" in proc.stderr
    remote = git("rev-parse", "main", cwd=bare).stdout.strip()
    assert remote != head(root)
    # cinch push runs the same checks (libgit2 runs no hooks).
    proc = cinch_run("push", cwd=root)
    assert proc.returncode != 0 and "users.score" in proc.stderr


def test_pre_push_refuses_an_invalid_change_file(root: Path, bare: Path,
                                                 write_change: Write) -> None:
    write_change(root, view_change("SELECT 1 AS x; DROP TABLE users"))
    git("add", "-A", cwd=root)
    git("commit", "-qm", "sneak", cwd=root, env=OFF)
    proc = git("push", "origin", "main", cwd=root, check=False)
    assert proc.returncode != 0 and "more than one statement" in proc.stderr


def test_a_valid_push_goes_through(root: Path, bare: Path) -> None:
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    git("push", "-q", "origin", "main", cwd=root)
    assert git("rev-parse", "main", cwd=bare).stdout.strip() == head(root)


# --- a hub ----------------------------------------------------------------------------------


@pytest.fixture
def hub(root: Path, tmp_path: Path) -> Path:
    hub = tmp_path / "hub.git"
    out = cinch_cli("hub", "init", str(hub), cwd=tmp_path)
    assert "hub created" in out
    cinch_cli("remote", "add", "origin", str(hub), cwd=root)
    cinch_cli("push", cwd=root)
    return hub


def test_a_hub_accepts_what_cinch_makes_from_two_clones(root: Path, hub: Path,
                                                        tmp_path: Path) -> None:
    bob = tmp_path / "bob"
    cinch_cli("clone", str(hub), str(bob), cwd=tmp_path)
    cinch_cli("switch", "-c", "plan", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    git("push", "-q", "origin", "plan", cwd=root)  # plain git push, checked by pre-receive
    cinch_cli("column", "add", "users", "phone", "TEXT", cwd=bob)
    cinch_cli("push", cwd=bob)
    git("fetch", "-q", "origin", cwd=bob)
    git("merge", "--no-edit", "origin/plan", cwd=bob)
    git("push", "-q", "origin", "main", cwd=bob)
    assert git("rev-parse", "main", cwd=hub).stdout.strip() == head(bob)


def test_a_hub_refuses_what_cinch_would_not_make(root: Path, hub: Path,
                                                 tmp_path: Path) -> None:
    # A plain git clone: no hooks, no merge driver, and cinch status says so.
    plain = tmp_path / "plain"
    git("clone", "-q", str(hub), str(plain), cwd=tmp_path)
    status = cinch_run("status", cwd=plain)
    assert status.returncode == 0
    assert "cinch hooks install" in status.stdout and "merge driver" in status.stdout
    data = json.loads(cinch_cli("status", "-f", "json", cwd=plain))
    assert "pre-commit" in data["hooks_missing"]
    # A stale schema.sql, committed where nothing checks it, is refused by the hub.
    path = plain / "schema/main/schema.sql"
    path.write_text(path.read_text() + "-- edited\n")
    git("commit", "-qam", "edit schema.sql", cwd=plain)
    proc = git("push", "origin", "main", cwd=plain, check=False)
    assert proc.returncode != 0
    assert "schema.sql" in proc.stderr and "push refused" in proc.stderr
    # So is a conflicting merge made with the hooks off.
    before = git("rev-parse", "main", cwd=hub).stdout.strip()
    _conflicting_merge_without_hooks(root)
    proc = git("push", "--no-verify", "origin", "main", cwd=root, check=False)
    assert proc.returncode != 0 and "users.score" in proc.stderr
    assert git("rev-parse", "main", cwd=hub).stdout.strip() == before
    # With hooks installed, that clone's status is quiet about them.
    cinch_cli("hooks", "install", cwd=plain)
    assert "cinch hooks install" not in cinch_cli("status", cwd=plain)


def test_a_hub_protects_a_protected_branch(root: Path, hub: Path) -> None:
    cinch_cli("branch", "--protect", "main", cwd=root)
    cinch_cli("push", cwd=root)
    git("checkout", "-q", "-b", "feat", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    # A fast-forward of main, made where no hook looks (a plain update-ref), is refused.
    git("update-ref", "refs/heads/main", head(root), cwd=root, env=OFF)
    proc = git("push", "--no-verify", "origin", "main", cwd=root, check=False)
    assert proc.returncode != 0 and "main is protected" in proc.stderr
    proc = git("push", "--no-verify", "origin", ":main", cwd=root, check=False)
    assert proc.returncode != 0 and "cannot be deleted" in proc.stderr
    # Through a merge commit it goes.
    git("update-ref", "refs/heads/main", "origin/main", cwd=root, env=OFF)
    git("checkout", "-q", "main", cwd=root, env=OFF)
    git("merge", "--no-ff", "--no-edit", "feat", cwd=root)
    git("push", "-q", "origin", "main", cwd=root)
    assert "plan" in columns(root)


# --- rebase and resets (tenants moving along the DAG) ---------------------------------------


def test_rebase_regenerates_schema_sql(root: Path) -> None:
    git("checkout", "-q", "-b", "feat", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    cinch_cli("column", "add", "users", "phone", "TEXT", cwd=root)
    git("checkout", "-q", "feat", cwd=root)
    proc = git("rebase", "main", cwd=root, check=False)
    assert proc.returncode == 0, proc.stderr
    text = (root / "schema/main/schema.sql").read_text()
    assert '"plan"' in text and '"phone"' in text and "<<<<<<<" not in text


def test_rebase_moves_the_tenants(root: Path) -> None:
    test_rebase_regenerates_schema_sql(root)
    assert {"plan", "phone"} <= set(columns(root))
    assert cinch_run("sync", cwd=root).returncode == 0


def test_reset_moves_the_tenants_back(root: Path) -> None:
    cinch_cli("column", "add", "users", "c1", "TEXT", cwd=root)
    git("reset", "-q", "--hard", "HEAD~1", cwd=root)
    assert "c1" not in columns(root)
    assert cinch_run("sync", cwd=root).returncode == 0
    cinch_cli("column", "add", "users", "c2", "TEXT", cwd=root)


def test_pull_of_diverged_clones_moves_the_tenants(root: Path, hub: Path,
                                                   tmp_path: Path) -> None:
    bob = tmp_path / "bob"
    cinch_cli("clone", str(hub), str(bob), cwd=tmp_path)
    cinch_cli("column", "add", "users", "a", "TEXT", cwd=root)
    cinch_cli("push", cwd=root)
    cinch_cli("column", "add", "users", "b", "TEXT", cwd=bob)
    cinch_cli("pull", cwd=bob)
    cinch_cli("push", cwd=bob)
    cinch_cli("pull", cwd=root)
    assert {"a", "b"} <= set(columns(root))
    assert names(root) == ["Ann"]
