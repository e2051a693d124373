"""Large applies on worker processes end exactly where an apply in one process ends: the same
files, ledgers and catalog, the same report of a drifted tenant; a worker killed
mid-apply leaves every tenant at a commit of its branch, and `cinch sync` finishes.

Each apply runs in a process of its own (a real parent forking real workers, started warm:
tests/warm.py): this test process may have threads (pytest-xdist's), and cinch never forks a
process with threads.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

import cinch
from cinch.stores import tenantstore as ts
from tests.conftest import python_c
from tests.tenants.conftest import run_cinch
from tests.tenants.test_catalog import assert_agrees

TENANTS = 70
ROWS = 10

# Opens the project, applies the named steps with the given workers (processes from a low
# threshold), and prints what happened: the worker pids of each apply, the progress calls, the
# error (code, message, details) if one was raised. argv: root, workers, processes_from, a
# signal at a progress call ("SIGKILL@1": to a worker; "SIGINT@1": to this process, as a
# terminal's ^C; "-": none), steps.
_APPLY = """
import json, os, signal, sys
import cinch
from cinch.errors import CinchError

# A terminal's ^C raises KeyboardInterrupt, even where the process running this test left
# SIGINT ignored or blocked (a child inherits both)
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
root, workers, processes_from, kill, *steps = sys.argv[1:]
what, _, kill_at = kill.partition("@")
project = cinch.open(root)
project.tenants.apply_workers = int(workers)
project.tenants.processes_from = int(processes_from)
progress, pids = [], []

def seen(done, total):
    progress.append([done, total])
    if project.tenants.worker_processes not in pids:
        pids.append(list(project.tenants.worker_processes))
    if kill_at and done == int(kill_at):
        if what == "SIGKILL":
            os.kill(project.tenants.worker_processes[0], signal.SIGKILL)
        else:
            os.kill(os.getpid(), signal.SIGINT)

def reaped(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False

project.progress = seen
db = project.database()
error, interrupted = None, False
try:
    for step in steps:
        if step == "add":
            db.add_column("users", "nick:TEXT")
        elif step == "rebuild":
            db.alter_column("users", "age", type="REAL")
        elif step == "drop":
            db.drop_column("users", "email")
        elif step == "sync":
            project.sync()
        elif step == "branch":  # forked lazily: every tenant still reads main's file
            from cinch.engine.branches import create_branch
            create_branch(project, "feature", start="main")
        elif step == "feature-add":  # the branch's first change copies each tenant
            project.database(branch="feature").add_column("users", "nick:TEXT")
except CinchError as exc:
    error = {"code": exc.code, "message": exc.message, "details": exc.details}
except KeyboardInterrupt:
    interrupted = True
project.close()
print(json.dumps({"pids": pids, "progress": progress, "error": error,
                  "interrupted": interrupted, "reaped": all(map(reaped, pids[-1]))}))
"""


def apply(root: Path, *steps: str, workers: int, processes_from: int = 10,
          kill: str = "-") -> dict[str, Any]:
    proc = subprocess.run(python_c(_APPLY, str(root), str(workers), str(processes_from), kill,
                                   *steps),
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _build(root: Path) -> None:
    project = cinch.init(root)
    project.database().create_table("users", ["name:TEXT", "email:TEXT", "age:INTEGER"])
    names = [f"t{i:03d}" for i in range(TENANTS)]
    project.tenants.create_many("main", "main", names)
    for name in ["main", *names]:
        conn = sqlite3.connect(project.tenants.path("main", "main", name), isolation_level=None)
        conn.executemany("INSERT INTO users (name, email, age) VALUES (?, ?, ?)",
                         [(f"{name}-{i}", f"{i}@x", i) for i in range(ROWS)])
        conn.close()
    project.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("processes") / "acme"
    _build(root)
    return root


def _copy(built: Path, to: Path) -> Path:
    shutil.copytree(built, to)
    return to


def _files(root: Path, branch: str = "main") -> dict[str, tuple[object, ...]]:
    """Per tenant, from its file alone: how many change sets its ledger holds, its schema and
    every row; and how many snapshots cinch kept of it. (Change ids differ between projects.)"""
    project = cinch.open(root)
    snapshots = root / ".cinch" / "snapshots"
    out = {}
    for name in project.tenants.names("main", branch):
        conn = sqlite3.connect(project.tenants.path("main", branch, name))
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), name
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",), name
        held = conn.execute("SELECT count(change_id) FROM _cinch_log").fetchone()[0]
        rows = tuple(conn.execute("SELECT * FROM users ORDER BY name"))
        kept = len(list(snapshots.rglob(f"{name}/*.db")))
        out[name] = (held, ts.schema_fingerprint(conn), rows, kept)
        conn.close()
    assert_agrees(project, branch)  # the catalog says what the files say
    project.close()
    return out


def test_processes_end_where_one_process_ends(built: Path, tmp_path: Path) -> None:
    steps = ("rebuild", "drop")  # a table rebuild, and a drop that keeps a snapshot
    serial = apply(_copy(built, tmp_path / "serial"), *steps, workers=1)
    forked = apply(_copy(built, tmp_path / "forked"), *steps, workers=2)
    assert serial["error"] is None and forked["error"] is None
    assert serial["pids"] == [[]]  # one worker: no process forked
    assert len(forked["pids"]) == len(steps)  # each apply forked its own two workers
    assert all(len(pids) == 2 and os.getpid() not in pids for pids in forked["pids"])
    assert forked["progress"][-1] == [TENANTS + 1, TENANTS + 1]
    assert [d for d, _ in forked["progress"]] == \
        [d for _ in steps for d in range(1, TENANTS + 2)]
    files = _files(tmp_path / "forked")
    assert files == _files(tmp_path / "serial")
    held, _, rows, kept = files["t004"]
    assert held == 3 and kept == 1 and len(rows) == ROWS
    assert len(rows[0]) == 5  # id, name, age and the two timestamps: email dropped


def _copied(root: Path, *, killed: bool = False) -> tuple[set[str], set[str]]:
    """The feature branch's tenants that are files of its own, and those still read from main
    (with nothing but published tenants beside them: no WAL or journal, and no temporary copy
    unless a worker was ``killed`` making it: one is swept once it is an hour old)."""
    folder = root / ".cinch" / "tenants" / "main" / "feature"
    files = {p.stem for p in folder.glob("*.db")}
    left = [p.name for p in folder.iterdir() if not (killed and p.name.startswith(".")
                                                      and p.name.endswith(".tmp"))]
    assert sorted(left) == sorted(f"{n}.db" for n in files)
    record = root / ".cinch" / "forks" / "main" / "feature.json"
    pending = set(json.loads(record.read_text())["pending"]) if record.exists() else set()
    return files, pending


def test_a_lazy_branch_first_change_on_processes_ends_where_one_process_ends(
        built: Path, tmp_path: Path) -> None:
    """The branch's first change copies every tenant from main and brings the copy along on
    the worker processes; this process keeps the fork record and the catalog."""
    serial = apply(_copy(built, tmp_path / "serial"), "branch", "feature-add", workers=1)
    forked = apply(_copy(built, tmp_path / "forked"), "branch", "feature-add", workers=2)
    assert serial["error"] is None and forked["error"] is None
    assert serial["pids"] == [[]] and len(forked["pids"][-1]) == 2
    assert forked["progress"][-1] == [TENANTS + 1, TENANTS + 1]
    files = _files(tmp_path / "forked", "feature")
    assert files == _files(tmp_path / "serial", "feature")
    held, _, rows, _ = files["t004"]
    assert held == 2 and len(rows) == ROWS and len(rows[0]) == 7  # nick added
    assert _copied(tmp_path / "forked") == ({"main", *(f"t{i:03d}" for i in range(TENANTS))},
                                            set())
    # main is untouched: its tenants hold one change set, without the column
    assert {v[0] for v in _files(tmp_path / "forked").values()} == {1}


def test_an_apply_under_a_lazy_branch_copies_into_it_on_processes_first(
        built: Path, tmp_path: Path) -> None:
    """A change on main while `feature` still reads main's files: each tenant is copied into
    `feature` before it changes, on the worker processes, then the change itself runs there
    too; both branches end where one process leaves them."""
    serial = apply(_copy(built, tmp_path / "serial"), "branch", "add", workers=1)
    forked = apply(_copy(built, tmp_path / "forked"), "branch", "add", workers=2)
    assert serial["error"] is None and forked["error"] is None
    assert serial["pids"] == [[]] and len(forked["pids"][-1]) == 2
    for branch in ("main", "feature"):
        assert _files(tmp_path / "forked", branch) == _files(tmp_path / "serial", branch)
    everyone = {"main", *(f"t{i:03d}" for i in range(TENANTS))}
    assert _copied(tmp_path / "forked") == (everyone, set())
    held, _, rows, _ = _files(tmp_path / "forked", "feature")["t004"]
    assert held == 1 and len(rows) == ROWS and len(rows[0]) == 6  # as main was: no nick
    assert {v[0] for v in _files(tmp_path / "forked").values()} == {2}


def test_a_lazy_copy_takes_what_an_open_connection_committed(built: Path,
                                                             tmp_path: Path) -> None:
    """A tenant of main held open by a writer, with commits still in its WAL, is copied with
    them (SQLite's backup; a file copy would miss them)."""
    root = _copy(built, tmp_path / "acme")
    writer = sqlite3.connect(root / ".cinch" / "tenants" / "main" / "main" / "t005.db",
                             isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("INSERT INTO users (name, email, age) VALUES ('late', 'l@x', 99)")
        assert (root / ".cinch" / "tenants" / "main" / "main" / "t005.db-wal").stat().st_size
        out = apply(root, "branch", "feature-add", workers=2)
        assert out["error"] is None and len(out["pids"][-1]) == 2
    finally:
        writer.close()
    files = _files(root, "feature")
    assert len(files["t005"][2]) == ROWS + 1 and len(files["t006"][2]) == ROWS
    assert ("late", 99) in {(r[1], r[3]) for r in files["t005"][2]}


def test_a_killed_worker_leaves_a_lazy_branch_whole_and_sync_finishes(
        built: Path, tmp_path: Path) -> None:
    """Killed while copying: each tenant of the branch is either still read from main or a
    whole copy at a commit of the branch; `cinch sync` on the branch finishes the rest."""
    root = _copy(built, tmp_path / "acme")
    out = apply(root, "branch", "feature-add", workers=2, kill="SIGKILL@1")
    error = out["error"]
    assert error is not None and error["code"] == "apply_incomplete", out
    files, pending = _copied(root, killed=True)
    everyone = {"main", *(f"t{i:03d}" for i in range(TENANTS))}
    assert files | pending == everyone and not files & pending
    assert error["details"]["failed"] and pending  # the killed worker's chunks are not done
    for name in files:
        conn = sqlite3.connect(root / ".cinch" / "tenants" / "main" / "feature" / f"{name}.db")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), name
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (ROWS,), name
        conn.close()
    project = cinch.open(root)
    assert_agrees(project, "feature")
    project.close()
    run_cinch("switch", "feature", cwd=root)
    run_cinch("sync", cwd=root)
    assert _copied(root, killed=True) == (everyone, set())
    files_after = _files(root, "feature")
    assert {v[0] for v in files_after.values()} == {2}
    assert all(len(v[2]) == ROWS and len(v[2][0]) == 7 for v in files_after.values())


def test_a_small_apply_stays_on_threads(built: Path, tmp_path: Path) -> None:
    root = _copy(built, tmp_path / "acme")
    out = apply(root, "add", workers=2, processes_from=TENANTS + 2)
    assert out["error"] is None and out["pids"] == [[]]
    assert out["progress"][-1] == [TENANTS + 1, TENANTS + 1]


@pytest.mark.parametrize("steps", [("add",), ("branch", "feature-add")],
                         ids=["main", "a-lazy-branch"])
def test_a_drifted_tenant_is_reported_as_by_one_process(built: Path, tmp_path: Path,
                                                        steps: tuple[str, ...]) -> None:
    """On a branch forked lazily, the copy of the drifted tenant is thrown away whole: it
    stays uncopied, read from main."""
    reports = {}
    for workers in (1, 2):
        root = _copy(built, tmp_path / f"w{workers}")
        conn = sqlite3.connect(root / ".cinch" / "tenants" / "main" / "main" / "t017.db")
        conn.execute("CREATE TABLE stray (x)")  # made outside cinch: drift
        conn.close()
        out = apply(root, *steps, workers=workers)
        assert len(out["pids"][-1]) == (2 if workers == 2 else 0)
        assert out["progress"][-1] == [TENANTS + 1, TENANTS + 1]
        reports[workers] = json.dumps(out["error"]).replace(str(root), "ROOT")
        if "branch" in steps:
            files, pending = _copied(root)
            assert pending == {"t017"} and "t017" not in files and len(files) == TENANTS
    assert reports[2] == reports[1]
    error = json.loads(reports[2])
    assert error["code"] == "apply_incomplete"
    assert [d["tenant"] for d in error["details"]["drifted"]] == ["t017"]
    assert error["details"]["updated"] == TENANTS


def test_a_killed_worker_leaves_tenants_at_commits_and_sync_finishes(
        built: Path, tmp_path: Path) -> None:
    root = _copy(built, tmp_path / "acme")
    # Killed at the first outcome: the first worker was handed two chunks of 32 tenants and
    # the second one of 7, so the first still has a chunk to report.
    out = apply(root, "rebuild", workers=2, kill="SIGKILL@1")
    error = out["error"]
    assert error is not None and error["code"] == "apply_incomplete", out
    killed = out["pids"][0][0]
    lost = error["details"]["failed"]
    assert lost and all(f"apply worker process {killed} was killed (SIGKILL)" in f["reason"]
                        for f in lost)
    assert error["details"]["updated"] + len(lost) == TENANTS + 1
    _at_commits_then_sync(root)


def test_an_interrupt_waits_for_the_workers(built: Path, tmp_path: Path) -> None:
    root = _copy(built, tmp_path / "acme")
    out = apply(root, "rebuild", workers=2, kill="SIGINT@1")
    assert out["interrupted"] and out["error"] is None, out
    assert len(out["pids"][-1]) == 2 and out["reaped"]  # both ended before the interrupt rose
    _at_commits_then_sync(root)


def _at_commits_then_sync(root: Path) -> None:
    """Every tenant is at a commit of main (before the change or after it, never between) with
    its rows, the catalog agrees, and `cinch sync` brings them all to the head."""
    project = cinch.open(root)
    log = [e.id for e in project.history.log(project.git.branch_tip("main"), "main")]
    fingerprints: dict[int, str] = {}
    for name in project.tenants.names("main", "main"):
        conn = sqlite3.connect(project.tenants.path("main", "main", name))
        held = ts.read_ledger(conn)
        assert held == log[:len(held)], name
        assert conn.execute("SELECT count(*), sum(age) FROM users").fetchone() == \
            (ROWS, sum(range(ROWS))), name
        fingerprint = ts.schema_fingerprint(conn)
        assert fingerprints.setdefault(len(held), fingerprint) == fingerprint, name
        conn.close()
    assert_agrees(project)
    project.close()
    run_cinch("sync", cwd=root)
    project = cinch.open(root)
    assert {i.state for i in project.tenants.infos("main", "main")} == {"up to date"}
    assert project.database().table("users").column("age").type == "REAL"
    assert project.tenants.summary("main", "main")["up_to_date"] == TENANTS + 1
    project.close()
