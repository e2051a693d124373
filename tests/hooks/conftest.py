"""Helpers for driving a project with the real git binary and `cinch`.

The git binary runs cinch's hooks as real processes: they are what these tests are about. The
hooks installed here start warm (tests/warm.py: each is forked from a process that imported
cinch once, with git's argv, environment, folder, stdin/stdout/stderr and parent; an
interpreter's start and imports were most of each hook's time); test_git_hooks.py keeps the
installed interpreter itself. cinch's own commands call the CLI's entry point in this process
(an interpreter's start per command was most of the time)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

import cinch
from cinch.models.changeset import Author, ChangeSet
from cinch.models.ids import object_id, ulid
from cinch.models.operations import CreateView
from cinch.models.schema import View
from tests.conftest import run_cinch_in_process


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The git binary commits here, so it needs an identity; tests/conftest.py already keeps
    the developer's own git config out."""
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")


def git(*args: str, cwd: Path, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    environ = {**os.environ, **(env or {})}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=environ, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stdout}\n{proc.stderr}")
    return proc


def cinch_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = run_cinch_in_process(*args, cwd=cwd)
    return subprocess.CompletedProcess(list(args), result.rc, result.stdout, result.stderr)


def cinch_cli(*args: str, cwd: Path) -> str:
    proc = cinch_run(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def rows(root: Path, sql: str, tenant: str = "acme", branch: str | None = None) -> list[dict]:
    args = ["query", sql, "-t", tenant, "-f", "json"]
    if branch:
        args += ["--branch", branch]
    return json.loads(cinch_cli(*args, cwd=root))


def columns(root: Path, tenant: str = "acme", branch: str | None = None) -> list[str]:
    return [r["name"] for r in rows(root, "SELECT name FROM pragma_table_info('users')",
                                    tenant, branch)]


def head(root: Path) -> str:
    return git("rev-parse", "HEAD", cwd=root).stdout.strip()


def view_change(sql: str, *, name: str = "v", change_id: str | None = None) -> ChangeSet:
    """A change set creating a view, as a hand-written file would hold it."""
    return ChangeSet(id=change_id or ulid(), database="main", message=f"Create view {name}",
                     author=Author(name="Test"), created_at=datetime.now(UTC),
                     operations=[CreateView(view=View(id=object_id("v"), name=name, sql=sql))],
                     sql=[f'CREATE VIEW "{name}" AS {sql}'])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project: table users(name), tenant acme holding one row, hooks installed."""
    project = cinch.init(tmp_path / "acme")
    project.database().create_table("users", ["name:TEXT"])
    project.tenants.create("main", "main", "acme")
    project.tenant("acme").insert("users", {"name": "Ann"})
    project.close()
    return tmp_path / "acme"


Write = Callable[[Path, ChangeSet], Path]


@pytest.fixture
def write_change() -> Write:
    def write(root: Path, change: ChangeSet) -> Path:
        path = root / "schema" / change.database / "changes" / change.filename
        path.write_bytes(change.to_json())
        return path

    return write
