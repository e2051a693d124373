"""Clean merges: fast-forward, merge commits, tenants of the target following, dry runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pygit2
import pytest

import cinch
from cinch.engine.branches import create_branch, protect, switch
from cinch.engine.history import schema_file
from cinch.engine.merge import abort, check_merge, merge
from cinch.errors import ApplyRefused, DirtyWorkTree, ProtectedBranch
from cinch.planner.sqlgen import schema_sql
from tests.conftest import Cli, Git, Snapshot
from tests.merge.conftest import tenant_bytes


def _ledger(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute(
            "SELECT change_id FROM _cinch_log WHERE change_id IS NOT NULL ORDER BY seq")]
    finally:
        conn.close()


def _columns(project: cinch.Project, branch: str, tenant: str = "main") -> list[str]:
    t = project.tenant(tenant, branch=branch)
    return [r["name"] for r in t.rows("SELECT name FROM pragma_table_info('users')")]


@pytest.fixture
def diverged(project: cinch.Project) -> cinch.Project:
    """main and feature both moved on; main's tenants hold rows written after the fork."""
    create_branch(project, "feature")
    feature = project.database(branch="feature")
    feature.add_column("users", "nickname:TEXT", message="nickname")
    feature.create_table("orders", ["total:REAL"], message="orders")
    main = project.database(branch="main")
    main.add_column("users", "city:TEXT", message="city")
    project.tenants.create("main", "main", "acme")
    project.tenant("main").insert("users", {"name": "Ann", "email": "a@x", "city": "Oslo"})
    project.tenant("acme").insert("users", {"name": "Bo", "email": "b@x", "city": "Rome"})
    return project


def test_merge_commit_brings_the_source_to_every_tenant_of_the_target(
        diverged: cinch.Project) -> None:
    project = diverged
    main_tip, feature_tip = (project.git.branch_tip(b) for b in ("main", "feature"))
    result = merge(project, "feature", "main")
    assert not result.fast_forward
    assert project.git.parents(result.commit) == (main_tip, feature_tip)
    assert result.tenants["main"]["tenants"] == 2
    for tenant, name in (("main", "Ann"), ("acme", "Bo")):
        assert {"city", "nickname"} <= set(_columns(project, "main", tenant))
        rows = project.tenant(tenant).rows("SELECT name, city FROM users")
        assert rows == [{"name": name, "city": "Oslo" if name == "Ann" else "Rome"}]
        assert project.tenant(tenant).rows("SELECT count(*) AS n FROM orders") == [{"n": 0}]
    # The committed schema.sql is regenerated from the merged schema, not text-merged.
    merged = project.database(branch="main").schema()
    committed = project.git.read_file(result.commit, schema_file("main")).decode()
    assert committed == schema_sql(merged, "main")
    assert (project.root / schema_file("main")).read_text() == committed  # work tree follows


def test_order_of_application_is_target_log_then_source_in_its_order(
        diverged: cinch.Project) -> None:
    project = diverged
    main_log = [e.id for e in project.history.log(project.git.branch_tip("main"), "main")]
    feature_new = [c["id"] for c in check_merge(project, "feature", "main")
                   .changes["main"]["theirs"]]
    assert [c.message for c in project.database(branch="feature").changes()][-2:] == \
        ["nickname", "orders"]
    result = merge(project, "feature", "main")
    log = [e.id for e in project.history.log(result.commit, "main")]
    assert log == main_log + feature_new
    assert _ledger(project.tenants.path("main", "main", "acme")) == log
    # The source's columns come after the target's, as a tenant applied them.
    assert _columns(project, "main")[-2:] == ["city", "nickname"]


def test_fast_forward_moves_the_ref_and_the_work_tree(project: cinch.Project) -> None:
    create_branch(project, "feature")
    project.database(branch="feature").add_column("users", "nickname:TEXT")
    project.tenant("main").insert("users", {"name": "Ann", "email": "a@x"})
    tip = project.git.branch_tip("feature")
    result = merge(project, "feature")  # into the current branch, main
    assert result.fast_forward and result.commit == tip
    assert project.git.branch_tip("main") == tip
    assert "nickname" in (project.root / schema_file("main")).read_text()
    assert "nickname" in _columns(project, "main")
    assert project.tenant("main").rows("SELECT name FROM users") == [{"name": "Ann"}]
    assert merge(project, "feature").up_to_date  # again: nothing to do


def test_merging_into_a_branch_that_is_not_checked_out(diverged: cinch.Project) -> None:
    project = diverged
    result = merge(project, "main", "feature")
    assert project.current_branch == "main"
    assert project.git.branch_tip("feature") == result.commit
    assert {"city", "nickname"} <= set(_columns(project, "feature"))


def test_dry_run_changes_nothing(diverged: cinch.Project, snapshot: Snapshot) -> None:
    project = diverged
    root = project.root
    project.close()
    before = snapshot(root), tenant_bytes(root)
    with cinch.open(root) as again:
        result = merge(again, "feature", "main", dry_run=True)
    assert result.dry_run and result.commit is None
    assert any("nickname" in s for s in result.sql["main"])
    assert (snapshot(root), tenant_bytes(root)) == before


def test_data_that_would_fail_refuses_the_merge_and_changes_nothing(
        project: cinch.Project, snapshot: Snapshot) -> None:
    for name in ("Ann", "Ann"):
        project.tenant("main").insert("users", {"name": name})
    create_branch(project, "feature", empty=True)  # no rows there: the index passes
    project.database(branch="feature").create_index("users", ["name"], name="one_name",
                                                   unique=True)
    project.database(branch="main").add_column("users", "city:TEXT")
    root = project.root
    project.close()
    before = snapshot(root)
    with cinch.open(root) as again, pytest.raises(ApplyRefused) as refused:
        merge(again, "feature", "main")
    assert "duplicate" in refused.value.message and "nothing was changed" in refused.value.message
    assert snapshot(root) == before


def test_protected_branch_refuses_schema_commands_and_accepts_merges(
        diverged: cinch.Project) -> None:
    project = diverged
    assert protect(project, "main")
    with pytest.raises(ProtectedBranch):
        project.database(branch="main").add_column("users", "zip:TEXT")
    result = merge(project, "feature", "main")
    assert "nickname" in _columns(project, "main")
    # The protection survives the merge (cinch.toml merged by meaning, both ways).
    assert project.config("main").branches.protected == ["main"]
    merge(project, "main", "feature")
    assert project.config("feature").branches.protected == ["main"]
    assert result.commit in project.git.parents(project.git.branch_tip("feature"))


def test_a_database_created_on_the_source_arrives_with_its_tenants(
        project: cinch.Project) -> None:
    switch(project, "feature", create=True)
    project.create_database("analytics")
    project.database("analytics").create_table("events", ["kind:TEXT"])
    switch(project, "main")
    project.database(branch="main").add_column("users", "city:TEXT")
    result = merge(project, "feature", "main")
    assert project.databases("main") == ["main", "analytics"]
    assert result.tenants["analytics"]["tenants"] == 1
    events = project.tenant("main", database="analytics", branch="main")
    assert events.rows("SELECT count(*) AS n FROM events") == [{"n": 0}]


def test_uncommitted_edits_the_merge_would_overwrite_refuse_it(
        diverged: cinch.Project) -> None:
    project = diverged
    path = project.root / schema_file("main")
    path.write_text(path.read_text() + "-- my note\n")
    with pytest.raises(DirtyWorkTree):
        merge(project, "feature", "main")
    assert path.read_text().endswith("-- my note\n")


def test_cli_merge_and_dry_run(diverged: cinch.Project, cli: Cli) -> None:
    root = diverged.root
    diverged.close()
    dry = cli("merge", "feature", "--dry-run", cwd=root)
    assert dry.rc == 0, dry
    assert "would be a merge commit bringing 2 change set(s)" in dry.stderr
    assert 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;' in dry.stdout
    done = cli("merge", "feature", "--into", "main", "-m", "Bring feature", "--format", "json",
               cwd=root)
    assert done.rc == 0, done
    body = json.loads(done.stdout)
    assert body["fast_forward"] is False and body["tenants"]["main"]["tenants"] == 2
    with cinch.open(root) as project:
        assert project.git.commit_info(body["commit"]).summary == "Bring feature"


def test_abort_clears_a_merge_plain_git_left(diverged: cinch.Project, git: Git,
                                            cli: Cli) -> None:
    for branch in ("main", "feature"):  # a file git cannot merge: the merge stops half-way
        diverged.git.commit(branch, {"README.md": f"{branch}\n".encode()}, "readme",
                            ("T", "t@x"))
    root = diverged.root
    diverged.close()
    git("merge", "feature", cwd=root, check=False)
    repo = pygit2.Repository(str(root))
    assert repo.state() == pygit2.enums.RepositoryState.MERGE
    done = cli("merge", "--abort", cwd=root)
    assert done.rc == 0, done
    repo = pygit2.Repository(str(root))
    assert repo.state() == pygit2.enums.RepositoryState.NONE
    assert repo.index.conflicts is None
    assert git("status", "--porcelain", cwd=root).strip() == ""
    with cinch.open(root) as project, pytest.raises(Exception, match="no merge in progress"):
        abort(project)
