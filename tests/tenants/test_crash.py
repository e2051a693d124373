"""Kill a cinch process (SIGKILL) at many points of an apply; `cinch sync` must finish it.

Invariant under test: after any kill, each tenant is at some commit of its branch (never half a
change set), the tenant catalog tells each tenant's state as its file does, and after `cinch
sync` every tenant is at the head with no row lost.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import cinch
from cinch.stores import tenantstore as ts
from tests.conftest import REAL_PYTHON
from tests.stores.legacy import to_legacy
from tests.tenants.conftest import run_cinch
from tests.tenants.test_catalog import assert_agrees

# Enough tenants that a kill lands mid-apply; few enough rows to build and copy quickly.
TENANTS = 60
ROWS = 40
NAMES = [f"t{i:03d}" for i in range(TENANTS)]


def _build(root: Path) -> Path:
    project = cinch.init(root)
    db = project.database()
    db.create_table("users", ["name:TEXT", "email:TEXT", "age:INTEGER"])
    project.tenants.create_many("main", "main", NAMES)
    for name in ["main", *NAMES]:
        path = project.tenants.path("main", "main", name)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.executemany("INSERT INTO users(name, email, age) VALUES (?, ?, ?)",
                         [(f"u{i}", f"u{i}@x", i) for i in range(ROWS)])
        conn.close()
    project.close()
    return root


def _check_consistent(root: Path, *, at_head: bool) -> dict[str, int]:
    """Every tenant holds a prefix of the log and a schema matching that prefix; rows intact."""
    project = cinch.open(root)
    log = [e.id for e in project.history.log(project.git.branch_tip("main"), "main")]
    positions: dict[str, int] = {}
    fingerprints: dict[int, str] = {}
    for name in project.tenants.names("main", "main"):
        path = project.tenants.store.path("main", "main", name)
        conn = sqlite3.connect(path)
        held = ts.read_ledger(conn)
        assert held == log[:len(held)], f"{name}: ledger is not a prefix of the log"
        count, total = conn.execute("SELECT count(*), sum(age) FROM users").fetchone()
        assert (count, total) == (ROWS, sum(range(ROWS))), f"{name}: rows lost"
        fingerprint = ts.schema_fingerprint(conn)
        conn.close()
        # Tenants at the same ledger position have the same schema: no half change set.
        assert fingerprints.setdefault(len(held), fingerprint) == fingerprint, name
        positions[name] = len(held)
    if at_head:
        assert set(positions.values()) == {len(log)}
    project.close()
    return positions


# The killed processes, and the one run that times where the kills land, start on the real
# interpreter (a warm one's client dies at once, its command a moment later: tests/warm.py).
def _real(args: list[str], cwd: Path) -> None:
    subprocess.run([REAL_PYTHON, "-m", "cinch.cli.app", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
                   timeout=120)


def _kill_after(args: list[str], cwd: Path, delay: float) -> int | None:
    proc = subprocess.Popen([REAL_PYTHON, "-m", "cinch.cli.app", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=os.environ.copy())
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


@pytest.fixture(scope="module")
def template_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("crash") / "acme")


ALTER = ["column", "alter", "users", "age", "--type", "REAL"]


def _then_sync(root: Path) -> dict[str, int]:
    """After a kill: the catalog agrees with the files, a kill during `cinch sync` is harmless
    too, and a whole `cinch sync` brings every tenant to the head."""
    project = cinch.open(root)
    assert_agrees(project)  # the killed apply's marked rows are read again from the files
    project.close()
    _kill_after(["sync"], root, 0.6)
    _check_consistent(root, at_head=False)
    run_cinch("sync", cwd=root)
    after = _check_consistent(root, at_head=True)
    project = cinch.open(root)
    assert project.database().table("users").column("age").type == "REAL" or \
        len(project.history.log(project.git.branch_tip("main"), "main")) == 1
    assert all(state.state == "up to date"
               for state in project.tenants.infos("main", "main")), after
    assert project.tenants.summary("main", "main")["up_to_date"] == TENANTS + 1
    project.close()
    return after


def test_kill_anywhere_then_sync(template_project: Path, tmp_path: Path) -> None:
    """Kills at moments spread over one uninterrupted run's length: before, during or after
    the apply, as the machine's speed has it; whatever each hits, the invariants hold."""
    probe = tmp_path / "probe"
    shutil.copytree(template_project, probe)
    start = time.perf_counter()
    _real(ALTER, probe)
    full = time.perf_counter() - start
    for i, fraction in enumerate((0.2, 0.45, 0.65, 0.8, 0.95)):
        root = tmp_path / f"run{i}"
        shutil.copytree(template_project, root)
        _kill_after(ALTER, root, full * fraction)
        _check_consistent(root, at_head=False)
        _then_sync(root)


def _moved(files: list[Path]) -> bool:
    """Whether any of these tenants holds the change set the apply adds (a second ledger row)."""
    for path in files:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
        try:
            if len(ts.read_ledger(conn)) > 1:  # either ledger form (see the legacy test)
                return True
        finally:
            conn.close()
    return False


@pytest.mark.parametrize("form", ["current", "earlier"])
def test_a_kill_mid_apply_then_sync(template_project: Path, tmp_path: Path, form: str) -> None:
    """A kill that lands mid-apply whatever the machine's speed: this test holds one tenant's
    write lock, so the apply moves the others and waits there; it is killed once another
    tenant has moved. The tenants are left at two positions, the held one before the change,
    and `cinch sync` finishes. ``earlier``: every tenant's ledger in an earlier cinch's three
    tables, carried over by the move that is killed midway."""
    root = tmp_path / "acme"
    shutil.copytree(template_project, root)
    held = "t030"
    with cinch.open(root) as project:
        files = {name: project.tenants.store.path("main", "main", name) for name in NAMES}
        every = [project.tenants.store.path("main", "main", n) for n in ["main", *NAMES]]
    if form == "earlier":
        for path in every:
            to_legacy(path)
    others = [path for name, path in files.items() if name != held]
    lock = sqlite3.connect(files[held], isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        proc = subprocess.Popen([REAL_PYTHON, "-m", "cinch.cli.app", *ALTER], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=os.environ.copy())
        deadline = time.monotonic() + 60
        while not _moved(others):
            if proc.poll() is not None:
                pytest.fail(f"the apply ended before a tenant moved: {proc.stderr.read()!r}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("no tenant moved within 60 s")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    finally:
        if lock.in_transaction:
            lock.rollback()
        lock.close()
    positions = _check_consistent(root, at_head=False)
    assert positions[held] == 1
    assert set(positions.values()) == {1, 2}, positions
    _then_sync(root)
    for path in every:  # every file in today's form once it moved, none half carried over
        conn = sqlite3.connect(path)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
        conn.close()
        assert {"_cinch_log", "_cinch_docs"} <= tables, path
        assert not tables & {"_cinch_ledger", "_cinch_changes", "_cinch_state"}, path
