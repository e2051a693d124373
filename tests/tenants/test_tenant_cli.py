"""The tenant and query commands through the CLI's entry point (in this process: the same code,
rendering and exit codes); a refusal's exit code through the real `cinch` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cinch
from tests.tenants.conftest import run_cinch, run_cinch_here


@pytest.fixture
def root(project: cinch.Project) -> Path:
    project.close()
    return project.root


def test_tenant_lifecycle(root: Path) -> None:
    run_cinch_here("tenant", "create", "acme", cwd=root)
    run_cinch_here("query", "INSERT INTO users(name, email, age) VALUES (?, ?, ?)", "--tenant", "acme",
              "-p", "Ann", "-p", "a@x", "-p", "30", cwd=root)
    out = run_cinch_here("query", "SELECT name, email, age FROM users", "--tenant", "acme",
                    "--format", "json", cwd=root).stdout
    assert json.loads(out) == [{"name": "Ann", "email": "a@x", "age": 30}]
    run_cinch_here("tenant", "copy", "acme", "acme-staging", cwd=root)
    run_cinch_here("tenant", "rename", "acme-staging", "acme-qa", cwd=root)
    listed = json.loads(run_cinch_here("tenant", "list", "--format", "json", cwd=root).stdout)
    assert [t["name"] for t in listed] == ["acme", "acme-qa", "main"]
    assert all(t["state"] == "up to date" for t in listed)
    copied = run_cinch_here("query", "SELECT name FROM users", "-t", "acme-qa", "-f", "csv",
                       cwd=root).stdout
    assert copied.splitlines() == ["name", "Ann"]
    refused = run_cinch_here("tenant", "delete", "acme-qa", cwd=root, check=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    run_cinch_here("tenant", "delete", "acme-qa", "--yes", cwd=root)
    listed = json.loads(run_cinch_here("tenant", "list", "--format", "json", cwd=root).stdout)
    assert [t["name"] for t in listed] == ["acme", "main"]


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "", "x" * 64, "con", "a\x01b",
                                  "_cinch_x", "-rf", "a b"])
def test_hostile_tenant_names(root: Path, name: str) -> None:
    before = sorted(p.relative_to(root) for p in root.parent.rglob("*"))
    proc = run_cinch_here("tenant", "create", "--", name, cwd=root, check=False)
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: ") and "tenant name" in proc.stderr
    assert sorted(p.relative_to(root) for p in root.parent.rglob("*")) == before


def test_query_refusals_and_read_only(root: Path) -> None:
    for sql in ("DROP TABLE users", "ATTACH 'x.db' AS x", "PRAGMA writable_schema=ON"):
        proc = run_cinch_here("query", sql, cwd=root, check=False)
        assert proc.returncode != 0 and proc.stderr.startswith("error: "), sql
    proc = run_cinch("query", "INSERT INTO users(name) VALUES ('x')", "--read-only", cwd=root,
                     check=False)
    assert proc.returncode != 0
    assert json.loads(run_cinch_here("query", "SELECT count(*) AS n FROM users", "-f", "json",
                                cwd=root).stdout) == [{"n": 0}]


def test_sync_brings_a_tenant_restored_from_an_older_backup_to_the_head(root: Path) -> None:
    """A file put back by hand (a backup from before the last change) is behind although cinch
    left every tenant at the head: `cinch sync` looks at the files and moves it, rows kept."""
    run_cinch_here("tenant", "create", "acme", cwd=root)
    run_cinch_here("query", "INSERT INTO users(name, email, age) VALUES ('Ann', 'a@x', 30)",
              "--tenant", "acme", cwd=root)
    with cinch.open(root) as project:
        path = project.tenants.path("main", "main", "acme")
    backup = root.parent / "acme-backup.db"
    backup.write_bytes(path.read_bytes())
    run_cinch_here("column", "add", "users", "plan:TEXT", cwd=root)
    path.write_bytes(backup.read_bytes())  # the restore
    states = {t["name"]: t["state"] for t in json.loads(
        run_cinch_here("tenant", "list", "--format", "json", cwd=root).stdout)}
    assert states["acme"] == "behind"
    run_cinch_here("sync", cwd=root)
    rows = json.loads(run_cinch_here("query", "SELECT name, plan FROM users", "--tenant", "acme",
                                "--format", "json", cwd=root).stdout)
    assert rows == [{"name": "Ann", "plan": None}]
    states = {t["name"]: t["state"] for t in json.loads(
        run_cinch_here("tenant", "list", "--format", "json", cwd=root).stdout)}
    assert set(states.values()) == {"up to date"}
