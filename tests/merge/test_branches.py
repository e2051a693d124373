"""Branches: create, list, switch, delete and protect, with their tenants."""

from __future__ import annotations

import json

import pytest

import cinch
from cinch.engine.branches import (
    create_branch,
    delete_branch,
    list_branches,
    protect,
    switch,
)
from cinch.engine.merge import merge
from cinch.errors import AlreadyExists, BranchError, InvalidName, NotFound, ProtectedBranch
from tests.conftest import Cli, run_cinch


def _names(project: cinch.Project, branch: str) -> list[str]:
    return project.tenants.names("main", branch)


def test_create_is_a_ref_at_the_current_branch_with_its_tenants(project: cinch.Project) -> None:
    project.tenants.create("main", "main", "acme")
    project.tenant("acme").insert("users", {"name": "Ann"})
    info = create_branch(project, "feature")
    assert info.head == project.git.branch_tip("main")
    assert not info.current and project.current_branch == "main"
    assert _names(project, "feature") == ["acme", "main"]
    copy = project.tenant("acme", branch="feature")
    assert copy.rows("SELECT name FROM users") == [{"name": "Ann"}]
    copy.insert("users", {"name": "Bo"})  # the copy is the branch's own
    assert project.tenant("acme").rows("SELECT count(*) AS n FROM users") == [{"n": 1}]


def test_create_empty_gives_the_schema_without_rows(project: cinch.Project) -> None:
    project.tenant("main").insert("users", {"name": "Ann"})
    create_branch(project, "scratch", empty=True)
    assert project.tenant("main", branch="scratch").rows("SELECT * FROM users") == []


def test_create_from_a_start_point_and_refusals(project: cinch.Project) -> None:
    first = project.git.branch_tip("main")
    project.database().add_column("users", "nickname:TEXT")
    old = create_branch(project, "old", start=first)
    assert old.head == first
    assert "nickname" not in [c.name for c in project.database(branch="old").table("users").columns]
    with pytest.raises(AlreadyExists):
        create_branch(project, "old")
    with pytest.raises(InvalidName):
        create_branch(project, "bad..name")


def test_list_marks_current_protected_and_ahead_behind_main(project: cinch.Project) -> None:
    create_branch(project, "feature", switch=True)
    project.database().add_column("users", "nickname:TEXT")
    project.database(branch="main").add_column("users", "city:TEXT")
    protect(project, "main")
    rows = {b.name: b for b in list_branches(project)}
    assert rows["feature"].current and not rows["main"].current
    assert rows["main"].protected and not rows["feature"].protected
    assert (rows["feature"].ahead, rows["feature"].behind) == (1, 2)  # city, then protect
    assert (rows["main"].ahead, rows["main"].behind) == (0, 0)


def test_switch_and_create_on_switch(project: cinch.Project) -> None:
    create_branch(project, "feature")
    assert switch(project, "feature").current
    assert project.current_branch == "feature"
    info = switch(project, "other", create=True, start="main")
    assert info.current and project.current_branch == "other"
    with pytest.raises(NotFound):
        switch(project, "nowhere")


def test_delete_rules(project: cinch.Project) -> None:
    create_branch(project, "done")
    create_branch(project, "wip")
    project.database(branch="wip").add_column("users", "nickname:TEXT")
    with pytest.raises(BranchError, match="current branch"):
        delete_branch(project, "main", force=True)
    with pytest.raises(BranchError, match="not merged"):
        delete_branch(project, "wip")
    folder = project.tenants.store.folder("main", "wip")
    project.tenant("main", branch="wip").rows("SELECT 1")  # make its tenant a real file
    assert folder.exists()
    assert delete_branch(project, "wip", force=True)
    assert not folder.exists() and project.git.branch_tip("wip") is None
    assert delete_branch(project, "done")  # merged: its tip is in main
    assert [b.name for b in list_branches(project)] == ["main"]


def test_a_merged_branch_deletes_without_force(project: cinch.Project) -> None:
    create_branch(project, "feature")
    project.database(branch="feature").add_column("users", "nickname:TEXT")
    project.database(branch="main").add_column("users", "city:TEXT")
    merge(project, "feature", "main")
    folder = project.tenants.store.folder("main", "feature")
    assert delete_branch(project, "feature")
    assert project.git.branch_tip("feature") is None and not folder.exists()
    assert [b.name for b in list_branches(project)] == ["main"]
    # the merge is what made it deletable: main's history holds the branch's change
    users = project.database(branch="main").schema().table("users")
    assert "nickname" in [c.name for c in users.columns]


def test_protect_commits_on_the_branch_and_guards_it(project: cinch.Project) -> None:
    create_branch(project, "feature")
    before = project.git.branch_tip("main")
    assert protect(project, "main")
    assert not protect(project, "main")  # already
    assert project.git.parents(project.git.branch_tip("main")) == (before,)
    assert project.config("main").branches.protected == ["main"]
    assert project.config("feature").branches.protected == []  # committed on main only
    switch(project, "feature")
    with pytest.raises(ProtectedBranch):
        delete_branch(project, "main", force=True)
    assert protect(project, "main", on=False)
    assert project.config("main").branches.protected == []


def test_cli_branch_switch_checkout_delete(project: cinch.Project, cli_in_process: Cli) -> None:
    """Through the console script's entry point in this process (the same code, rendering and
    exit codes); one refusal through the real `cinch` command."""
    cli = cli_in_process
    root = project.root
    project.close()
    assert cli("branch", "feature", cwd=root).rc == 0
    assert cli("switch", "-c", "other", cwd=root).rc == 0
    listed = cli("branch", cwd=root)
    assert "* other" in listed.stdout and "  feature" in listed.stdout
    assert cli("checkout", "feature", cwd=root).rc == 0
    as_json = json.loads(cli("branch", "--format", "json", cwd=root).stdout)
    assert [b["name"] for b in as_json if b["current"]] == ["feature"]
    refused = run_cinch("branch", "-d", "feature", cwd=root)
    assert refused.rc != 0 and "current branch" in refused.stderr
    assert cli("--db", "main", "column", "add", "users", "nickname:TEXT", cwd=root).rc == 0
    assert cli("switch", "main", cwd=root).rc == 0
    unmerged = cli("branch", "-d", "feature", cwd=root)
    assert unmerged.rc != 0 and "cinch branch -D feature" in unmerged.stderr
    assert cli("branch", "-D", "feature", cwd=root).rc == 0
    assert cli("branch", "--protect", "main", cwd=root).rc == 0
    blocked = cli("column", "add", "users", "zip:TEXT", cwd=root)
    assert blocked.rc != 0 and "protected" in blocked.stderr
    assert "(protected)" in cli("branch", cwd=root).stdout
