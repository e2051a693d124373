"""Every kind of merge conflict, both ways, refused with a report and nothing changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import cinch
from cinch.engine.config import Config
from cinch.engine.conflicts import merge_config
from cinch.engine.merge import check_merge, merge
from cinch.errors import MergeConflict
from tests.conftest import Cli, Snapshot
from tests.merge.conftest import Edit, fork, tenant_bytes


@dataclass
class Case:
    kind: str
    object: str
    left: Edit
    right: Edit
    empty: tuple[str, ...] = ()
    setup: Callable[[cinch.Project], object] | None = None


def _rows(project: cinch.Project) -> None:
    project.tenant("main").insert("users", {"name": "Ann", "email": "ann@example.com"})


def _teams(project: cinch.Project) -> None:
    # Without an index, so renaming it does not run into the planner's index-and-view rename.
    project.database().create_table("teams", ["name:TEXT", "city:TEXT"])


CASES = [
    Case("same_object_different_definition", "column users.nickname",
         lambda db: db.add_column("users", "nickname:TEXT"),
         lambda db: db.add_column("users", "nickname:INTEGER")),
    Case("same_object_different_definition", "table orders",
         lambda db: db.create_table("orders", ["total:REAL"]),
         lambda db: db.create_table("orders", ["total:TEXT"])),
    Case("same_object_different_definition", "table/view stats",  # a table here, a view there
         lambda db: db.create_table("stats", ["n:INTEGER"]),
         lambda db: db.create_view("stats", "SELECT count(*) AS n FROM users")),
    Case("same_object_different_ids", "table tags",
         lambda db: db.create_table("tags", ["label:TEXT"]),
         lambda db: db.create_table("tags", ["label:TEXT"])),
    Case("same_object_different_definition", "column users.handle",  # a rename meets an add
         lambda db: db.rename_column("users", "email", "handle"),
         lambda db: db.add_column("users", "handle:TEXT")),
    Case("drop_vs_alter", "column users.email",
         lambda db: db.drop_column("users", "email"),
         lambda db: db.create_index("users", ["email", "name"])),
    Case("drop_vs_alter", "table users",
         lambda db: db.drop_table("users", cascade=True),
         lambda db: db.add_column("users", "nickname:TEXT")),
    Case("drop_vs_alter", "column users.email",
         lambda db: db.drop_column("users", "email"),
         lambda db: db.alter_column("users", "email", type="BLOB")),
    Case("drop_vs_alter", "column users.age",  # a rename breaks a view written by name
         lambda db: db.rename_column("users", "age", "years", cascade=True),
         lambda db: db.create_view("ages", "SELECT age FROM users")),
    Case("drop_vs_alter", "table teams",
         lambda db: db.rename_table("teams", "squads"),
         lambda db: db.create_index("teams", ["city"]), setup=_teams),
    Case("rename_rename", "table teams",
         lambda db: db.rename_table("teams", "squads"),
         lambda db: db.rename_table("teams", "crews"), setup=_teams),
    Case("rename_rename", "column users.email",  # the same new name, two change sets
         lambda db: db.rename_column("users", "email", "mail"),
         lambda db: db.rename_column("users", "email", "mail")),
    Case("drop_drop", "column users.email",
         lambda db: db.drop_column("users", "email"),
         lambda db: db.drop_column("users", "email")),
    Case("not_null_without_default_meets_rows", "column users.code",
         lambda db: db.add_column("users", "code:TEXT:not-null"),
         lambda db: db.add_column("users", "city:TEXT"),
         empty=("left",), setup=_rows),
    Case("replay_failed", "",  # a view on a view: only running the SQL finds it
         lambda db: db.drop_view("adults"),
         lambda db: db.create_view("old_adults", "SELECT name FROM adults")),
]
IDS = [f"{c.kind}-{c.object or 'view-on-view'}".replace(" ", "-") for c in CASES]


def _prepare(project: cinch.Project, case: Case) -> None:
    if case.setup:
        case.setup(project)
    fork(project, case.left, case.right, empty=case.empty)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_kind_is_found_both_ways(project: cinch.Project, case: Case) -> None:
    _prepare(project, case)
    one = check_merge(project, "left", "right")
    other = check_merge(project, "right", "left")
    for report in (one, other):
        assert not report.can_merge
        assert [c.kind for c in report.conflicts] == [case.kind], report.to_dict()
        if case.object:
            assert report.conflicts[0].object == case.object
    # Symmetry: the same conflict, ours and theirs swapped.
    a, b = one.conflicts[0], other.conflicts[0]
    if case.kind != "replay_failed":  # replay names the change set that failed, per direction
        assert a.object == b.object
        assert a.ours == b.theirs and a.theirs == b.ours
    for conflict in (a, b):
        assert len(conflict.resolutions) == 2
        assert all("cinch " in way for way in conflict.resolutions)
        assert conflict.theirs is not None


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_conflicting_merge_changes_nothing(project: cinch.Project, snapshot: Snapshot,
                                            case: Case,
                                            two_ways: tuple[tuple[str, str], ...]) -> None:
    _prepare(project, case)
    root = project.root
    project.close()  # pooled connections closed: files as any other process would see them
    git_before, tenants_before = snapshot(root), tenant_bytes(root)
    for source, target in two_ways:
        with cinch.open(root) as again, pytest.raises(MergeConflict) as refused:
            merge(again, source, target)
        conflicts = refused.value.details["conflicts"]
        assert [c["kind"] for c in conflicts] == [case.kind]
        assert refused.value.details["source"] == source
        assert snapshot(root) == git_before
        assert tenant_bytes(root) == tenants_before


def test_each_conflict_names_both_change_sets_and_their_sql(project: cinch.Project) -> None:
    fork(project, lambda db: db.add_column("users", "nickname:TEXT", message="left nick"),
         lambda db: db.add_column("users", "nickname:INTEGER", message="right nick"))
    conflict = check_merge(project, "left", "right").conflicts[0].to_dict()
    assert conflict["database"] == "main"
    assert conflict["ours"]["message"] == "right nick"
    assert conflict["theirs"]["message"] == "left nick"
    assert conflict["theirs"]["sql"] == ['ALTER TABLE "users" ADD COLUMN "nickname" TEXT']
    assert conflict["ours"]["change_id"] != conflict["theirs"]["change_id"]
    assert "right" in conflict["message"] and "left" in conflict["message"]
    keep_target, keep_source = conflict["resolutions"]
    assert "cinch switch -c left-2 right" in keep_target
    assert "cinch column rename users nickname nickname_old" in keep_source


def test_following_a_way_out_clears_the_conflict(project: cinch.Project) -> None:
    """Way out 2 of a name clash: free the name on the target, then the source merges."""
    fork(project, lambda db: db.add_column("users", "nickname:TEXT"),
         lambda db: db.add_column("users", "nickname:INTEGER"))
    project.database(branch="right").rename_column("users", "nickname", "nickname_old")
    result = merge(project, "left", "right")
    columns = [c.name for c in project.database(branch="right").table("users").columns]
    assert {"nickname", "nickname_old"} <= set(columns)
    assert result.commit == project.git.branch_tip("right")


def test_the_same_change_set_on_both_sides_counts_once(project: cinch.Project) -> None:
    fork(project, lambda db: db.add_column("users", "nickname:TEXT"), None)
    merge(project, "left", "right")  # right now holds left's change set too
    project.database(branch="left").add_column("users", "city:TEXT")
    project.database(branch="right").add_column("users", "zip:TEXT")
    report = check_merge(project, "left", "right")
    assert report.can_merge
    assert [c["message"] for c in report.changes["main"]["theirs"]] == ["Add column users.city TEXT"]


def test_renames_on_one_side_meet_unrelated_changes_cleanly(project: cinch.Project) -> None:
    """Stable ids: a rename is not a drop plus an add, so other work on the table merges."""
    fork(project, lambda db: db.rename_column("users", "email", "mail"),
         lambda db: db.create_table("orders", ["total:REAL"]))
    for source, target in (("left", "right"), ("right", "left")):
        assert check_merge(project, source, target).can_merge


def test_cli_prints_two_ways_out_and_json_is_structured(project: cinch.Project, cli: Cli,
                                                        snapshot: Snapshot) -> None:
    fork(project, lambda db: db.drop_column("users", "email"),
         lambda db: db.create_index("users", ["email", "name"]))
    root = project.root
    project.close()
    before = snapshot(root), tenant_bytes(root)
    text = cli("merge", "left", "--into", "right", cwd=root)
    assert text.rc == 4, text
    assert "CONFLICT (drop_vs_alter) in database main: column users.email" in text.stdout
    assert "way out 1:" in text.stdout and "way out 2:" in text.stdout
    assert text.error_lines[0].startswith("error: cannot merge left into right: 1 conflict")
    as_json = cli("merge", "left", "--into", "right", "--format", "json", cwd=root)
    assert as_json.rc == 4
    body = json.loads(as_json.stdout)
    assert body["merged"] is False
    assert body["conflicts"][0]["kind"] == "drop_vs_alter"
    assert len(body["conflicts"][0]["resolutions"]) == 2
    error = json.loads(as_json.stderr)["error"]
    assert error["code"] == "merge_conflict"
    assert error["details"]["conflicts"] == body["conflicts"]
    assert (snapshot(root), tenant_bytes(root)) == before


def test_files_other_than_the_schema_conflict_like_git(project: cinch.Project) -> None:
    fork(project, None, None)
    for branch, text in (("left", b"left\n"), ("right", b"right\n")):
        project.git.commit(branch, {"README.md": text}, f"readme on {branch}", ("T", "t@x"))
    report = check_merge(project, "left", "right")
    assert [(c.kind, c.object) for c in report.conflicts] == [("file_conflict", "README.md")]


def test_settings_merge_by_meaning() -> None:
    base = Config(name="acme", databases=["main"])
    ours = Config(name="acme", databases=["main", "billing"],
                  branches={"protected": ["main"]})
    theirs = Config(name="acme", databases=["main", "analytics"], author={"name": "Bo"})
    merged, conflicts = merge_config(base, ours, theirs, target="main", source="feature")
    assert conflicts == []
    assert merged.databases == ["main", "billing", "analytics"]
    assert merged.branches.protected == ["main"]
    assert merged.author.name == "Bo"
    clash = Config(name="acme-2", databases=["main"])
    _, conflicts = merge_config(base, ours.model_copy(update={"name": "acme-1"}), clash,
                                target="main", source="feature")
    assert [(c.kind, c.object) for c in conflicts] == [("config_conflict", "cinch.toml name")]
    assert len(conflicts[0].resolutions) == 2


def test_a_settings_conflict_names_the_cinch_config_commands_that_resolve_it() -> None:
    base = Config(name="acme", databases=["main"])
    ours = Config(name="acme", databases=["main"], merge={"approvals": {"main": 2}})
    theirs = Config(name="acme", databases=["main"], merge={"approvals": {"main": 3}})
    _, conflicts = merge_config(base, ours, theirs, target="main", source="feature")
    [conflict] = conflicts
    assert conflict.object == "cinch.toml merge.approvals.main"
    assert conflict.resolutions == [
        "Keep main's value: `cinch config merge.approvals.main 2 --branch feature`, then merge "
        "again.",
        "Keep feature's value: on a branch from main, `cinch config merge.approvals.main 3`, "
        "merge it into main, then merge feature again."]
