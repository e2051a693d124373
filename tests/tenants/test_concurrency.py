"""Several `cinch` processes changing one project at once: each schema command runs alone
(validated against the head it will commit on), none is lost, and every tenant ends with all
of them; two that clash leave one winner and a clear error, never a corrupt history."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pygit2

import cinch
from tests.tenants.conftest import run_cinch


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cinch.cli.app", *args], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    out = []
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        out.append((proc.returncode, err))
    return out


def _columns(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[1] for r in conn.execute("SELECT * FROM pragma_table_info('users')")]


def test_concurrent_schema_commands_all_land_on_every_tenant(project: cinch.Project) -> None:
    root = project.root
    project.tenants.create_many("main", "main", [f"t{i}" for i in range(20)])
    project.close()
    procs = [_start(root, "-q", "column", "add", "users", f"c{i}", "TEXT") for i in range(4)]
    procs.append(_start(root, "-q", "index", "create", "users", "email"))
    results = _finish(procs)
    assert all(rc == 0 for rc, _ in results), results
    repo = pygit2.Repository(str(root))
    history = [c for c in repo.walk(repo.head.target)]
    assert all(len(c.parents) <= 1 for c in history)  # one line: no commit was overwritten
    assert len(history) == 2 + 5  # init, users, then the five commands
    with cinch.open(root) as p:
        columns = [c.name for c in p.database().schema().table("users").columns]
        assert {f"c{i}" for i in range(4)} <= set(columns)
        for info in p.tenants.infos("main", "main"):
            assert info.state == "up to date", info
            assert _columns(Path(info.path)) == columns, info.name
    assert run_cinch("status", "--format", "json", cwd=root).returncode == 0


def test_two_processes_adding_the_same_column_leave_one_winner(project: cinch.Project) -> None:
    root = project.root
    project.tenants.create("main", "main", "acme")
    project.close()
    procs = [_start(root, "column", "add", "users", "nick", kind) for kind in ("TEXT", "INTEGER")]
    results = _finish(procs)
    assert sorted(rc == 0 for rc, _ in results) == [False, True], results
    [(_, loser)] = [r for r in results if r[0] != 0]
    assert "error:" in loser and "nick" in loser
    with cinch.open(root) as p:
        assert [c.name for c in p.database().schema().table("users").columns].count("nick") == 1
        assert {i.state for i in p.tenants.infos("main", "main")} == {"up to date"}
