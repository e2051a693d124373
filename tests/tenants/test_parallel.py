"""Applying with several workers ends exactly where applying one tenant after the other does,
and a branch's first change copies each tenant once, in the same pass as its apply."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

import cinch
from cinch.engine import parallel
from cinch.engine.branches import create_branch
from cinch.errors import ApplyIncomplete, UsageError
from cinch.stores import tenantstore as ts
from tests.tenants.conftest import run_cinch
from tests.tenants.test_crash import _kill_after

TENANTS = 40


def _build(root: Path) -> None:
    project = cinch.init(root)
    project.database().create_table("users", ["name:TEXT", "email:TEXT", "age:INTEGER"])
    names = [f"t{i:02d}" for i in range(TENANTS)]
    project.tenants.create_many("main", "main", names)
    for index, name in enumerate(names):
        tenant = project.tenant(name)
        with tenant.transaction():
            for row in range(index % 5 + 1):
                tenant.insert("users", {"name": f"{name}-{row}", "age": row})
        tenant.close()
    project.close()


def _state(project: cinch.Project, branch: str = "main") -> dict[str, tuple[object, ...]]:
    """Per tenant: the change sets held, the schema, and every row (ids aside)."""
    out = {}
    for name in project.tenants.names("main", branch):
        conn = sqlite3.connect(project.tenants.store.path("main", branch, name))
        held = tuple(r[0] for r in conn.execute(
            "SELECT change_id FROM _cinch_log WHERE change_id IS NOT NULL ORDER BY seq"))
        rows = tuple(conn.execute("SELECT name, email, age FROM users ORDER BY name"))
        out[name] = (held, ts.schema_fingerprint(conn), rows)
        conn.close()
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parallel") / "acme"
    _build(root)
    return root


def _changes(project: cinch.Project) -> None:
    db = project.database()
    db.add_column("users", "nick:TEXT")
    db.alter_column("users", "age", type="REAL")  # a table rebuild: every row copied
    db.create_index("users", ["email"])


def test_parallel_apply_ends_where_serial_apply_ends(built: Path, tmp_path: Path) -> None:
    results = {}
    for workers in (1, 4):
        root = tmp_path / f"w{workers}"
        shutil.copytree(built, root)
        project = cinch.open(root)
        project.tenants.apply_workers = workers
        _changes(project)
        # The change sets' ids differ between the two projects: their count is compared.
        results[workers] = {name: (len(held), *rest)
                            for name, (held, *rest) in _state(project).items()}
        assert all(i.state == "up to date" for i in project.tenants.infos("main", "main"))
        project.close()
    assert len(results[4]) == TENANTS + 1
    assert results[4] == results[1]
    held, _, rows = results[4]["t03"]
    assert held == 4 and [r[0] for r in rows] == [f"t03-{i}" for i in range(4)]


def test_a_drifted_tenant_is_reported_and_the_others_move(built: Path, tmp_path: Path) -> None:
    shutil.copytree(built, tmp_path / "acme")
    project = cinch.open(tmp_path / "acme")
    project.tenants.apply_workers = 3
    conn = sqlite3.connect(project.tenants.path("main", "main", "t07"))
    conn.execute("CREATE TABLE stray (x)")  # made outside cinch: drift
    conn.close()
    with pytest.raises(ApplyIncomplete) as caught:
        project.database().add_column("users", "nick:TEXT")
    assert [d["tenant"] for d in caught.value.details["drifted"]] == ["t07"]
    for name in project.tenants.names("main", "main"):  # the others' files hold the change
        path = project.tenants.path("main", "main", name)
        assert _file_alone_has(path, tmp_path / f"{name}.copy", "nick") == (name != "t07")
    states = {i.name: i.state for i in project.tenants.infos("main", "main")}
    assert states.pop("t07") == "drifted"
    assert set(states.values()) == {"up to date"}
    project.close()


def test_worker_count_comes_from_the_setting_or_the_cores(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(parallel.ENV, raising=False)
    assert parallel.worker_count() == parallel.cores() >= 1
    assert parallel.worker_count(3) == 3
    monkeypatch.setenv(parallel.ENV, "5")
    assert parallel.worker_count() == 5
    monkeypatch.setenv(parallel.ENV, "many")
    with pytest.raises(UsageError, match="CINCH_APPLY_WORKERS"):
        parallel.worker_count()
    with pytest.raises(UsageError, match="1 or more"):
        parallel.worker_count(0)


def test_each_reports_a_failure_and_goes_on() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n * n

    for workers in (1, 2, 8):
        out = dict(parallel.each(range(50), work, workers))
        assert isinstance(out.pop(3), ValueError)
        assert out == {n: n * n for n in range(50) if n != 3}


def test_first_change_on_a_fork_copies_every_tenant_once(built: Path, tmp_path: Path) -> None:
    shutil.copytree(built, tmp_path / "acme")
    project = cinch.open(tmp_path / "acme")
    create_branch(project, "feature", start="main")
    before = _state(project)
    project.database(branch="feature").add_column("users", "nick:TEXT")
    after = _state(project, "feature")
    assert after.keys() == before.keys()
    for name, (held, _, rows) in after.items():
        assert held[:-1] == before[name][0] and rows == before[name][2]
    assert _state(project) == before  # main untouched
    fork = project.tenants._fork_file("main", "feature")
    assert not fork.exists(), fork.read_text()  # nothing left lazy
    folder = project.tenants.store.folder("main", "feature")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.db" for n in after)
    project.close()


def test_a_copy_published_before_its_record_was_saved_is_moved_not_refused(
        built: Path, tmp_path: Path) -> None:
    """A kill between publishing a branch's copy and saving the fork record: the record still
    says "not copied yet" while the file is there. The next apply moves that file."""
    shutil.copytree(built, tmp_path / "acme")
    project = cinch.open(tmp_path / "acme")
    create_branch(project, "feature", start="main")
    store = project.tenants.store
    store.path("main", "feature", "t05").parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(store.path("main", "main", "t05"), store.path("main", "feature", "t05"))
    project.close()
    project = cinch.open(tmp_path / "acme")
    project.database(branch="feature").add_column("users", "nick:TEXT")
    count = "SELECT count(*) AS n FROM users"
    assert project.tenant("t05", branch="feature").rows(count) == \
        project.tenant("t05", branch="main").rows(count) == [{"n": 1}]
    assert {i.state for i in project.tenants.infos("main", "feature")} == {"up to date"}
    project.close()


def test_sync_takes_a_worker_count(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "acme"
    shutil.copytree(built, root)
    run_cinch("column", "add", "users", "nick", "TEXT", cwd=root)
    out = run_cinch("sync", "--workers", "3", cwd=root)
    assert "at the head" in out.stdout
    bad = run_cinch("sync", "--workers", "0", cwd=root, check=False)
    assert bad.returncode != 0 and "1 or more" in (bad.stdout + bad.stderr)


@pytest.mark.usefixtures("real_processes")  # the kills land at moments a real process took
def test_kill_during_a_forks_first_change_then_sync(built: Path, tmp_path: Path) -> None:
    """The first change on a fork copies and applies in one pass on several workers: a kill
    anywhere in it leaves every tenant either not copied yet or a whole copy, and `cinch sync`
    brings them all to the head with their rows."""
    template = tmp_path / "template"
    shutil.copytree(built, template)
    project = cinch.open(template)
    create_branch(project, "feature", start="main", switch=True)
    expected = {name: rows for name, (_, _, rows) in _state(project).items()}
    project.close()
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    start = time.perf_counter()
    run_cinch("column", "add", "users", "nick", "TEXT", cwd=probe)
    full = time.perf_counter() - start
    for i, fraction in enumerate((0.5, 0.7, 0.85, 0.95)):
        root = tmp_path / f"run{i}"
        shutil.copytree(template, root)
        _kill_after(["column", "add", "users", "nick", "TEXT"], root, full * fraction)
        run_cinch("sync", cwd=root)
        project = cinch.open(root)
        if len(project.database(branch="feature").changes()) == 2:  # the commit landed
            assert {i.state for i in project.tenants.infos("main", "feature")} == \
                {"up to date"}
            assert {n: rows for n, (_, _, rows) in _state(project, "feature").items()} == \
                expected
        project.close()


def _file_alone_has(path: Path, copy: Path, column: str) -> bool:
    """Whether the database file by itself (copied without its WAL, as a file-level backup
    would be) has ``column`` in users."""
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy)
    try:
        return column in [r[1] for r in conn.execute("PRAGMA table_info(users)")]
    finally:
        conn.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_apply_leaves_every_file_holding_its_change_by_itself(
        built: Path, tmp_path: Path, workers: int) -> None:
    """Once an apply returns, each tenant's .db file holds the change even while cinch keeps
    the tenant open, and the connections it keeps write with the usual syncs again."""
    shutil.copytree(built, tmp_path / "acme")
    project = cinch.open(tmp_path / "acme")
    project.tenants.apply_workers = workers
    project.database().add_column("users", "nick:TEXT")
    assert project.tenants.pool.open_count > 0  # files still open in the pool
    for name in project.tenants.names("main", "main"):
        path = project.tenants.path("main", "main", name)
        assert _file_alone_has(path, tmp_path / f"{name}.copy", "nick"), name
        with project.tenants.pool.connection(path) as conn:
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    tenant = project.tenant("t04")
    tenant.insert("users", {"name": "later", "nick": "n"})  # an ordinary write goes on
    assert tenant.rows("SELECT nick FROM users WHERE name = 'later'") == [{"nick": "n"}]
    project.close()


def test_a_small_pool_applies_in_small_groups(built: Path, tmp_path: Path) -> None:
    shutil.copytree(built, tmp_path / "acme")
    for max_open in (3, 7):
        project = cinch.open(tmp_path / "acme")
        project.tenants.pool.max_open = max_open
        project.tenants.apply_workers = 2
        project.database().add_column("users", f"c{max_open}:TEXT")
        assert {i.state for i in project.tenants.infos("main", "main")} == {"up to date"}
        assert project.tenants.pool.open_count <= max_open
        project.close()
