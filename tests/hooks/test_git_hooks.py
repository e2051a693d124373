"""Plain git stays safe: the installed hooks, driven by the real `git` binary (cinch's own
commands call its entry point in this process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import cinch
from tests.conftest import REAL_PYTHON, run_cinch_in_process

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The git binary commits here (merges), so it needs an identity; tests/conftest.py
    already keeps the developer's own git config out."""
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stdout}\n{proc.stderr}")
    return proc


def cinch_cli(*args: str, cwd: Path) -> str:
    result = run_cinch_in_process(*args, cwd=cwd)
    assert result.rc == 0, result.stderr
    return result.stdout


def columns(root: Path, tenant: str = "main", branch: str | None = None) -> list[str]:
    args = ["query", "SELECT name FROM pragma_table_info('users')", "-t", tenant, "-f", "json"]
    if branch:
        args += ["--branch", branch]
    return [r["name"] for r in json.loads(cinch_cli(*args, cwd=root))]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = cinch.init(tmp_path / "acme")
    project.database().create_table("users", ["name:TEXT"])
    project.tenants.create("main", "main", "acme")
    project.tenant("acme").insert("users", {"name": "Ann"})
    project.close()
    return tmp_path / "acme"


def test_hooks_installed(root: Path) -> None:
    hooks = root / ".git" / "hooks"
    for name in ("pre-commit", "pre-merge-commit", "post-merge", "post-checkout",
                 "post-rewrite"):
        assert os.access(hooks / name, os.X_OK), name
    assert "cinch-schema" in git("config", "--get", "merge.cinch-schema.driver", cwd=root,
                                 check=False).stdout or git("config", "--list", cwd=root).stdout


# The hooks run with the interpreter cinch was installed with, as a user's do, in one test that
# takes a new branch, a switch and a merge; elsewhere they start warm
# (tests/warm.py): a hook pays for importing cinch at each start.
@pytest.mark.usefixtures("real_processes")
def test_git_checkout_b_forks_and_git_merge_applies(root: Path) -> None:
    assert f'"{REAL_PYTHON}" -m git_hooks' in (root / ".git/hooks/post-checkout").read_text()
    git("checkout", "-b", "feature", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    # The branch's copy of tenant acme has its data and the new column; main's has neither.
    rows = json.loads(cinch_cli("query", "SELECT name, plan FROM users", "-t", "acme", "-f",
                                "json", cwd=root))
    assert rows == [{"name": "Ann", "plan": None}]
    git("checkout", "main", cwd=root)
    assert "plan" not in columns(root, "acme")
    git("merge", "--no-edit", "feature", cwd=root)  # fast-forward: post-merge applies
    assert "plan" in columns(root, "acme") and "plan" in columns(root, "main")
    rows = json.loads(cinch_cli("query", "SELECT name FROM users", "-t", "acme", "-f", "json",
                                cwd=root))
    assert rows == [{"name": "Ann"}]


def test_true_merge_regenerates_schema_sql(root: Path) -> None:
    for branch, table in (("left", "orders"), ("right", "items")):
        git("checkout", "-q", "-b", branch, "main", cwd=root)
        cinch_cli("table", "create", table, "total:REAL", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    git("merge", "--no-edit", "left", cwd=root)
    git("merge", "--no-edit", "right", cwd=root)  # both sides changed schema.sql
    text = (root / "schema/main/schema.sql").read_text()
    assert 'CREATE TABLE "orders"' in text and 'CREATE TABLE "items"' in text
    assert "<<<<<<<" not in text
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    assert len(git("rev-list", "--parents", "-n1", head, cwd=root).stdout.split()) == 3
    tables = json.loads(cinch_cli("query", "SELECT name FROM sqlite_schema WHERE type='table' "
                                  "AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name", "-t",
                                  "acme", "-f", "json", cwd=root))
    assert [t["name"] for t in tables] == ["items", "orders", "users"]
    status = json.loads(cinch_cli("status", "-f", "json", cwd=root))
    assert status["databases"][0]["tenants"]["up_to_date"] == 2


def test_conflicting_git_merge_is_stopped(root: Path) -> None:
    for branch, type_ in (("a", "INTEGER"), ("b", "TEXT")):
        git("checkout", "-q", "-b", branch, "main", cwd=root)
        cinch_cli("column", "add", "users", "score", type_, cwd=root)
    git("checkout", "-q", "main", cwd=root)
    git("merge", "--no-edit", "a", cwd=root)
    head = git("rev-parse", "HEAD", cwd=root).stdout.strip()
    before = columns(root, "acme")
    proc = git("merge", "--no-edit", "b", cwd=root, check=False)
    assert proc.returncode != 0
    assert "users.score" in proc.stderr and "refused" in proc.stderr
    assert git("rev-parse", "HEAD", cwd=root).stdout.strip() == head
    assert columns(root, "acme") == before
    git("merge", "--abort", cwd=root)
    assert git("status", "--porcelain", cwd=root).stdout == ""


def test_git_pull_applies(root: Path, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git("clone", "-q", "--bare", str(root), str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=root)
    work = tmp_path / "work"
    git("clone", "-q", str(bare), str(work), cwd=tmp_path)
    cinch_cli("hooks", "install", cwd=work)
    cinch_cli("column", "add", "users", "email", "TEXT", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    git("pull", "-q", "--no-rebase", "origin", "main", cwd=root)
    assert "email" in columns(root, "acme")


def test_pre_commit_rejects_bad_change_files(root: Path) -> None:
    changes = sorted((root / "schema/main/changes").glob("*.json"))
    committed = changes[0]
    committed.write_text(committed.read_text().replace("users", "people"))
    git("add", "-A", cwd=root)
    proc = git("commit", "-m", "edit", cwd=root, check=False)
    assert proc.returncode != 0 and "may not be edited" in proc.stderr
    git("checkout", "HEAD", "--", ".", cwd=root)
    git("reset", "-q", cwd=root)
    bad = root / "schema/main/changes/01ARZ3NDEKTSV4RRFFQ69G5FAV-bad.json"
    bad.write_text('{"format": 1, "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}')
    git("add", str(bad), cwd=root)
    proc = git("commit", "-m", "bad", cwd=root, check=False)
    assert proc.returncode != 0 and "01ARZ3NDEKTSV4RRFFQ69G5FAV-bad.json" in proc.stderr
    assert "field" in proc.stderr
