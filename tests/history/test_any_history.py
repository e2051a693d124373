"""Tenants follow any git history: two clones exchanging work, reset, rebase, squash,
a branch deleted and made again, drift that is skipped and repaired, a killed revert.

Each test drives `cinch` and the real `git` binary the way a team would. The git binary runs
cinch's hooks as real processes; cinch's own commands call the CLI's entry point in this process
(an interpreter's start per command was most of the time), except the revert that is killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tenants.conftest import run_cinch_here

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stdout}\n{proc.stderr}")
    return proc


cinch = run_cinch_here


def columns(root: Path, tenant: str = "x", table: str = "t") -> set[str]:
    out = cinch("query", f"SELECT name FROM pragma_table_info('{table}')", "-t", tenant,
                "-f", "json", cwd=root).stdout
    return {r["name"] for r in json.loads(out)}


def states(root: Path) -> dict[str, str]:
    out = cinch("tenant", "list", "-f", "json", cwd=root).stdout
    return {r["name"]: r["state"] for r in json.loads(out)}


def fresh_columns(root: Path, table: str = "t") -> set[str]:
    """What a tenant made now at HEAD holds: the schema every tenant must end with."""
    name = f"probe{time.monotonic_ns() % 10**9}"
    cinch("tenant", "create", name, cwd=root)
    try:
        return columns(root, name, table)
    finally:
        cinch("tenant", "delete", name, "--yes", cwd=root)


def start(root: Path) -> Path:
    cinch("init", str(root), cwd=root.parent)
    cinch("table", "create", "t", "name:TEXT", cwd=root)
    cinch("tenant", "create", "x", cwd=root)
    cinch("query", "INSERT INTO t(name) VALUES ('kept')", "-t", "x", cwd=root)
    return root


def rows(root: Path, tenant: str = "x") -> list[dict[str, object]]:
    out = cinch("query", "SELECT * FROM t ORDER BY name", "-t", tenant, "-f", "json",
                cwd=root).stdout
    return json.loads(out)


def test_two_clones_exchange_work_and_every_tenant_follows(tmp_path: Path) -> None:
    git("init", "--bare", "-q", "hub.git", cwd=tmp_path)
    alice = start(tmp_path / "alice")
    cinch("remote", "add", "origin", str(tmp_path / "hub.git"), cwd=alice)
    cinch("push", cwd=alice)
    cinch("clone", str(tmp_path / "hub.git"), str(tmp_path / "bob"), cwd=tmp_path)
    bob = tmp_path / "bob"
    cinch("tenant", "create", "x", cwd=bob)
    cinch("column", "add", "t", "a", "TEXT", cwd=alice)
    cinch("push", cwd=alice)
    cinch("column", "add", "t", "b", "TEXT", cwd=bob)
    cinch("pull", cwd=bob)
    cinch("push", cwd=bob)
    cinch("pull", cwd=alice)  # alice's tenant holds a, then receives b: another order
    for root in (alice, bob):
        assert columns(root) == {"id", "created_at", "updated_at", "name", "a", "b"}
        assert set(states(root).values()) == {"up to date"}
        assert cinch("sync", cwd=root).returncode == 0
    assert rows(alice)[0]["name"] == "kept"
    cinch("column", "add", "t", "c", "TEXT", cwd=alice)  # later changes still reach it
    assert "c" in columns(alice)


def test_fast_forward_onto_a_merge_made_elsewhere(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    cinch("switch", "-c", "feat", cwd=root)
    cinch("column", "add", "t", "plan", "TEXT", cwd=root)
    cinch("switch", "main", cwd=root)
    cinch("column", "add", "t", "phone", "TEXT", cwd=root)
    cinch("merge", "feat", cwd=root)
    cinch("switch", "feat", cwd=root)
    git("merge", "-q", "main", cwd=root)  # a fast-forward: feat's tenants receive phone
    assert columns(root) == fresh_columns(root)
    assert set(states(root).values()) == {"up to date"}
    assert cinch("sync", cwd=root).returncode == 0


def test_reset_unwinds_and_going_back_restores_the_values(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    cinch("column", "add", "t", "c1", "TEXT", cwd=root)
    cinch("query", "UPDATE t SET c1 = 'value'", "-t", "x", cwd=root)
    git("reset", "-q", "--hard", "HEAD~1", cwd=root)
    cinch("sync", cwd=root)
    assert "c1" not in columns(root)
    assert set(states(root).values()) == {"up to date"}
    cinch("column", "add", "t", "c2", "TEXT", cwd=root)  # the next command works
    assert "c2" in columns(root)
    git("reset", "-q", "--hard", "HEAD@{2}", cwd=root)  # back to where c1 was
    cinch("sync", cwd=root)
    assert "c1" in columns(root) and "c2" not in columns(root)
    assert rows(root)[0]["c1"] == "value"  # kept when unwound, put back when re-applied


def test_rebase_moves_the_feature_tenants(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    cinch("switch", "-c", "feat", cwd=root)
    cinch("column", "add", "t", "f", "TEXT", cwd=root)
    cinch("query", "UPDATE t SET f = 'feature'", "-t", "x", cwd=root)
    cinch("switch", "main", cwd=root)
    cinch("column", "add", "t", "m", "TEXT", cwd=root)
    cinch("switch", "feat", cwd=root)
    git("rebase", "-q", "main", cwd=root)
    assert columns(root) == fresh_columns(root)
    assert set(states(root).values()) == {"up to date"}
    assert rows(root)[0]["f"] == "feature"


def test_clean_squash_merge_reaches_the_tenants(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    cinch("switch", "-c", "feat", cwd=root)
    cinch("column", "add", "t", "s1", "TEXT", cwd=root)
    cinch("column", "add", "t", "s2", "TEXT", cwd=root)
    cinch("switch", "main", cwd=root)
    git("merge", "-q", "--squash", "feat", cwd=root)
    git("commit", "-q", "-m", "squashed", cwd=root)
    cinch("sync", cwd=root)
    assert {"s1", "s2"} <= columns(root)
    assert set(states(root).values()) == {"up to date"}


def test_a_branch_made_again_does_not_bring_back_old_tenants(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    cinch("branch", "feat", cwd=root)
    cinch("query", "INSERT INTO t(name) VALUES ('old')", "-t", "x", "--branch", "feat", cwd=root)
    git("branch", "-D", "feat", cwd=root)
    cinch("branch", "feat", cwd=root)  # no "tenant 'x' already exists"
    names = [r["name"] for r in json.loads(cinch(
        "query", "SELECT name FROM t", "-t", "x", "--branch", "feat", "-f", "json",
        cwd=root).stdout)]
    assert names == ["kept"]


def test_switching_copies_no_lazy_tenant_when_nothing_must_be_applied(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    cinch("tenant", "create", "y", "z", cwd=root)
    for name in ("a", "b"):
        cinch("branch", name, cwd=root)
    git("switch", "-q", "a", cwd=root)
    git("switch", "-q", "b", cwd=root)
    git("switch", "-q", "main", cwd=root)
    cinch("sync", cwd=root)
    for branch in ("a", "b"):
        listed = json.loads(cinch("tenant", "list", "--branch", branch, "-f", "json",
                                  cwd=root).stdout)
        assert {r["state"] for r in listed} == {"not copied yet"}, listed


def test_drifted_tenant_is_skipped_reported_and_repaired(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    cinch("tenant", "create", "y", cwd=root)
    path = root / ".cinch" / "tenants" / "main" / "main" / "y.db"
    assert path.is_file()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE extra(v)")
    conn.execute("INSERT INTO extra VALUES (1)")
    conn.commit()
    conn.close()
    assert states(root)["y"] == "drifted"
    change = cinch("column", "add", "t", "c", "TEXT", cwd=root, check=False)
    assert change.returncode != 0 and "drifted" in change.stderr
    assert "c" in columns(root, "x") and "c" not in columns(root, "y")  # untouched
    sync = cinch("sync", cwd=root, check=False)
    assert sync.returncode != 0 and "cinch tenant repair" in sync.stderr
    status = cinch("status", cwd=root, check=False)
    assert "repair" in status.stdout + status.stderr
    refused = cinch("tenant", "repair", "y", cwd=root, check=False)
    assert refused.returncode != 0 and "extra" in refused.stderr  # would lose its row
    plan = cinch("tenant", "repair", "y", "--dry-run", "--accept-loss", cwd=root).stdout
    assert ("DROP TABLE" in plan and "ADD COLUMN" not in plan) or "c" in plan
    assert states(root)["y"] == "drifted"  # a dry run changes nothing
    cinch("tenant", "repair", "y", "--accept-loss", cwd=root)
    assert states(root)["y"] == "up to date"
    assert columns(root, "y") == columns(root, "x")
    assert cinch("sync", cwd=root).returncode == 0


def test_edited_ledger_is_drift(tmp_path: Path) -> None:
    root = start(tmp_path / "p")
    path = root / ".cinch" / "tenants" / "main" / "main" / "x.db"
    conn = sqlite3.connect(path)
    conn.execute("UPDATE _cinch_log SET change_id = '01AAAAAAAAAAAAAAAAAAAAAAAA' "
                 "WHERE change_id IS NOT NULL")
    conn.commit()
    conn.close()
    assert states(root)["x"] == "drifted"
    cinch("column", "add", "t", "c", "TEXT", cwd=root, check=False)
    assert "c" not in columns(root, "x")
    cinch("tenant", "repair", "x", cwd=root)
    assert states(root)["x"] == "up to date"
    assert "c" in columns(root, "x") and rows(root)[0]["name"] == "kept"


@pytest.mark.usefixtures("real_processes")  # killed at once, not a moment later (tests/warm.py)
def test_killed_revert_then_sync_puts_the_values_back(tmp_path: Path) -> None:
    """Whatever the moment of the kill: once the revert is committed, `cinch sync` ends with
    every tenant holding the dropped values again; before that, nothing changed."""
    root = start(tmp_path / "p")
    cinch("column", "add", "t", "v", "TEXT", cwd=root)
    names = [f"n{i:03d}" for i in range(150)]
    cinch("tenant", "create", *names, cwd=root)
    folder = root / ".cinch" / "tenants" / "main" / "main"
    files = [folder / f"{name}.db" for name in [*names, "x"]]
    for path in files:
        conn = sqlite3.connect(path)
        conn.execute("INSERT INTO t(name) VALUES ('row')")
        conn.execute("UPDATE t SET v = 'val'")
        conn.commit()
        conn.close()
    cinch("column", "drop", "t", "v", cwd=root)
    drop = json.loads(cinch("log", "-f", "json", cwd=root).stdout)[0]["changes"][0]["id"]
    head = git("rev-parse", "HEAD", cwd=root).stdout
    proc = subprocess.Popen([sys.executable, "-m", "cinch.cli.app", "revert", drop, "--yes"],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if git("rev-parse", "HEAD", cwd=root).stdout != head:
            break  # the revert is committed: its apply is under way
        time.sleep(0.002)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    cinch("sync", cwd=root)
    reverted = git("rev-parse", "HEAD", cwd=root).stdout != head
    for path in files:
        conn = sqlite3.connect(path)
        try:
            cols = {r[1] for r in conn.execute("PRAGMA table_info(t)")}
            if reverted:
                values = [r[0] for r in conn.execute("SELECT v FROM t")]
                assert values and values == ["val"] * len(values), path.name
            else:
                assert "v" not in cols
        finally:
            conn.close()
