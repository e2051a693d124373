"""The tenant catalog agrees with the tenant files after every kind of operation, and corrects
itself after a process died between changing files and confirming the change."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import cinch
from cinch.engine import branches, merge
from cinch.engine.tenants import TenantInfo
from cinch.errors import ApplyIncomplete
from tests.tenants.conftest import run_cinch

_STATES = {"up to date": "up_to_date", "behind": "behind", "drifted": "drifted",
           "not copied yet": "lazy"}


def _catalog_states(project: cinch.Project, db: str, branch: str) -> dict[str, str]:
    tenants = project.tenants
    _, digest = tenants.target(db, project.git.branch_tip(branch))
    out = {}
    for record in tenants.catalog.page(db, branch, limit=10**6):
        out[record.name] = ("not copied yet" if record.lazy else "drifted" if record.drifted
                            else "up to date" if record.ledger == digest else "behind")
    return out


def assert_agrees(project: cinch.Project, branch: str = "main") -> None:
    """What the catalog says of each tenant is what opening every file says, and so are the
    counts of `cinch status`, in this process and in a fresh one."""
    truth = {i.name: i.state for i in project.tenants.infos("main", branch)}
    assert _catalog_states(project, "main", branch) == truth
    counts = Counter(_STATES[s] for s in truth.values())
    expected = {"total": len(truth), **{k: counts.get(k, 0) for k in _STATES.values()}}
    assert project.tenants.summary("main", branch) == expected
    fresh = cinch.open(project.root)
    try:
        assert fresh.tenants.summary("main", branch) == expected
        assert _catalog_states(fresh, "main", branch) == truth
    finally:
        fresh.close()


def test_every_operation_keeps_the_catalog_true(project: cinch.Project) -> None:
    tenants = project.tenants
    tenants.create_many("main", "main", [f"c{i:02d}" for i in range(12)])
    assert_agrees(project)
    tenants.create("main", "main", "solo")
    tenants.copy("main", "main", "solo", "solo2")
    tenants.rename("main", "main", "c00", "renamed")
    tenants.delete("main", "main", "c01")
    assert_agrees(project)
    assert "c00" not in _catalog_states(project, "main", "main")
    project.database().add_column("users", "plan", "TEXT")  # an apply moves every tenant
    assert_agrees(project)
    branches.create_branch(project, "feature", start="main")  # a lazy fork: nothing copied
    assert set(_catalog_states(project, "main", "feature").values()) == {"not copied yet"}
    assert_agrees(project, "feature")
    project.database(branch="feature").add_column("users", "tier", "INTEGER")
    project.tenants.create("main", "feature", "fresh")
    project.tenants.delete("main", "feature", "c02")
    assert_agrees(project, "feature")
    assert_agrees(project)
    merge.merge(project, "feature", "main")
    assert_agrees(project)
    assert project.tenants.summary("main", "main")["up_to_date"] == len(
        tenants.names("main", "main"))


def test_a_drifted_tenant_is_recorded_when_a_move_meets_it(project: cinch.Project) -> None:
    project.tenants.create_many("main", "main", ["a", "b"])
    conn = sqlite3.connect(project.tenants.path("main", "main", "b"))
    conn.execute("CREATE TABLE sneaky(x)")  # behind cinch's back
    conn.close()
    with pytest.raises(ApplyIncomplete, match="drifted"):
        project.database().add_column("users", "plan", "TEXT")
    assert _catalog_states(project, "main", "main")["b"] == "drifted"
    assert_agrees(project)


def test_list_pages_walk_every_tenant_once(project: cinch.Project) -> None:
    names = [f"p{i:03d}" for i in range(150)]
    project.tenants.create_many("main", "main", names)
    seen: list[TenantInfo] = []
    after = None
    while True:
        page, after = project.tenants.page("main", "main", after=after, limit=40)
        seen += page
        if after is None:
            break
    assert [i.name for i in seen] == sorted([*names, "main"])
    assert {i.state for i in seen} == {"up to date"}
    assert seen == project.tenants.infos("main", "main")  # what opening every file says
    # A tenant removed behind cinch's back leaves the listing (and the catalog) once read.
    os.unlink(project.tenants.store.path("main", "main", "p000"))
    page, _ = project.tenants.page("main", "main", limit=3)
    assert [i.name for i in page] == ["main", "p001", "p002"]
    assert "p000" not in _catalog_states(project, "main", "main")


_DIE_MIDWAY = textwrap.dedent("""
    import os, sys
    import cinch
    from cinch.stores.catalog import Record
    project = cinch.open(sys.argv[1])
    tenants = project.tenants
    # Told the catalog, changed some of the files, then died before confirming.
    with tenants.catalog.changing("main", "main", [Record("ghost", "x", 1), Record("made", "y")],
                                  gone=["doomed", "kept"]):
        tenants.store.create_from_template(tenants.template("main", "main"), "main", "main",
                                           "made")
        tenants.store.delete("main", "main", "doomed")
        os._exit(9)
""")


def test_a_process_killed_midway_leaves_a_catalog_that_heals(project: cinch.Project) -> None:
    project.tenants.create_many("main", "main", ["doomed", "kept", "other"])
    project.close()
    proc = subprocess.run([sys.executable, "-c", _DIE_MIDWAY, str(project.root)],
                          capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 9, proc.stderr
    reopened = cinch.open(project.root)
    try:
        # The next reader finds rows marked by a process that is gone and asks the files.
        assert_agrees(reopened)
        assert set(_catalog_states(reopened, "main", "main")) == {"main", "made", "kept",
                                                                  "other"}
        # A dead process's lock file goes once nothing of its remains marked.
        quit_early = ("import os, sys, cinch; p = cinch.open(sys.argv[1]); "
                      "p.tenants.create('main', 'main', 'quick'); os._exit(0)")
        subprocess.run([sys.executable, "-c", quit_early, str(project.root)], check=True,
                       env=os.environ.copy())
        reopened.tenants.create("main", "main", "late")
        locks = reopened.root / ".cinch" / "catalog-locks"
        assert len(list(locks.iterdir())) == 1  # this process's own
    finally:
        reopened.close()


def test_a_lost_catalog_is_rebuilt_from_the_files(project: cinch.Project) -> None:
    project.tenants.create_many("main", "main", ["a", "b"])
    project.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{project.root}/.cinch/catalog.db{suffix}").unlink(missing_ok=True)
    reopened = cinch.open(project.root)
    try:
        assert reopened.tenants.summary("main", "main")["up_to_date"] == 3
        assert_agrees(reopened)
    finally:
        reopened.close()


def test_status_and_paged_list_through_the_cli(project: cinch.Project) -> None:
    project.tenants.create_many("main", "main", [f"z{i}" for i in range(5)])
    root = project.root
    project.close()
    listed = run_cinch("tenant", "list", "--limit", "2", "--format", "json", cwd=root)
    assert [row["name"] for row in json.loads(listed.stdout)] == ["main", "z0"]
    later = run_cinch("tenant", "list", "--limit", "10", "--after", "z2", "--format", "json",
                      cwd=root)
    assert [row["name"] for row in json.loads(later.stdout)] == ["z3", "z4"]


def test_a_repaired_tenant_is_up_to_date_in_the_catalog(project: cinch.Project) -> None:
    from cinch.engine import repair

    project.tenants.create_many("main", "main", ["a", "b"])
    conn = sqlite3.connect(project.tenants.path("main", "main", "b"))
    conn.execute("CREATE TABLE sneaky(x)")
    conn.close()
    with pytest.raises(ApplyIncomplete):
        project.database().add_column("users", "plan", "TEXT")
    assert project.tenants.summary("main", "main")["drifted"] == 1
    repair.repair(project, "main", "main", "b", accept_loss=True)
    assert project.tenants.summary("main", "main")["drifted"] == 0
    assert_agrees(project)
