"""cinch.toml settings as dotted keys (the engine behind `cinch config`), on real git repos."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

import cinch
from cinch.engine.branches import create_branch
from cinch.engine.config import CONFIG_FILE, parse_config
from cinch.engine.merge import merge
from cinch.engine.settings import get_setting, list_settings, set_setting, unset_setting
from cinch.errors import ConfigError, DirtyWorkTree, InvalidSetting, NotFound
from cinch.server.reviews import required_approvals

Snapshot = Callable[[Path], dict[str, bytes]]


def committed(project: cinch.Project, branch: str = "main") -> dict[str, object]:
    """cinch.toml as committed at the branch tip, parsed."""
    raw = project.git.read_file(project.git.branch_tip(branch) or "", CONFIG_FILE)
    assert raw is not None
    return tomllib.loads(raw.decode())


def test_list_shows_every_setting_with_its_default(project: cinch.Project) -> None:
    assert list_settings(project) == {
        "format": 1, "name": "users", "databases": ["main"], "author.name": "",
        "author.email": "", "branches.protected": [], "tenants.snapshot_retention_days": 30,
        "limits.query_timeout_ms": 5000, "limits.max_query_rows": 10_000,
        "limits.max_batch_statements": 100}


def test_set_commits_cinch_toml_and_the_merge_rules_read_it(project: cinch.Project) -> None:
    before = project.git.branch_tip("main")
    change = set_setting(project, "merge.approvals.main", "2")
    assert change.changed and (change.previous, change.value) == (None, 2)
    assert project.git.branch_tip("main") == change.commit
    info = project.git.commit_info(change.commit or "")
    assert info.message.strip() == "Set merge.approvals.main = 2"
    assert project.git.resolve(f"{change.commit}~1") == before
    assert committed(project)["merge"] == {"approvals": {"main": 2}}
    assert (project.root / CONFIG_FILE).read_bytes() == project.git.read_file(
        change.commit or "", CONFIG_FILE)  # the checked-out work tree follows
    assert project.config("main").merge.approvals == {"main": 2}
    assert required_approvals(project, "main") == 2  # what an HTTP merge request needs
    assert get_setting(project, "merge.approvals.main") == 2
    assert list_settings(project)["merge.approvals.main"] == 2


def test_each_kind_of_value_round_trips(project: cinch.Project) -> None:
    set_setting(project, "branches.protected", " main, release/1,main ,")
    set_setting(project, "author.name", "  Ann Lee ")
    set_setting(project, "author.email", "ann@example.com")
    set_setting(project, "tenants.snapshot_retention_days", "7")
    set_setting(project, "merge.approvals.release/*", 3)
    assert {k: get_setting(project, k) for k in (
        "branches.protected", "author.name", "author.email",
        "tenants.snapshot_retention_days", "merge.approvals.release/*")} == {
        "branches.protected": ["main", "release/1"], "author.name": "Ann Lee",
        "author.email": "ann@example.com", "tenants.snapshot_retention_days": 7,
        "merge.approvals.release/*": 3}
    assert project.config().branches.protected == ["main", "release/1"]
    # The new author signs the next commit.
    change = set_setting(project, "merge.approvals.main", "1")
    assert project.git.commit_info(change.commit or "").author == "Ann Lee"


def test_unset_goes_back_to_the_default_or_removes_the_pattern(project: cinch.Project) -> None:
    set_setting(project, "merge.approvals.main", "2")
    set_setting(project, "tenants.snapshot_retention_days", "7")
    removed = unset_setting(project, "merge.approvals.main")
    assert removed.changed and (removed.previous, removed.value) == (2, None)
    assert "merge.approvals.main" not in list_settings(project)
    assert project.config().merge.approvals == {}
    with pytest.raises(NotFound, match=r"merge\.approvals\.main is not set"):
        get_setting(project, "merge.approvals.main")
    back = unset_setting(project, "tenants.snapshot_retention_days")
    assert back.value == 30 and committed(project)["tenants"] == {"snapshot_retention_days": 30}
    messages = [project.git.commit_info(c.commit or "").message.strip() for c in (removed, back)]
    assert messages == ["Unset merge.approvals.main",
                        "Unset tenants.snapshot_retention_days (back to 30)"]


def test_the_same_value_commits_nothing(project: cinch.Project, snapshot: Snapshot) -> None:
    set_setting(project, "merge.approvals.main", "2")
    before = snapshot(project.root)
    for change in (set_setting(project, "merge.approvals.main", "2"),
                   set_setting(project, "tenants.snapshot_retention_days", "30"),
                   set_setting(project, "branches.protected", ""),
                   unset_setting(project, "merge.approvals.nosuch"),
                   unset_setting(project, "author.name")):
        assert not change.changed and change.commit is None
    assert snapshot(project.root) == before


def test_another_branch_changes_alone(project: cinch.Project) -> None:
    create_branch(project, "feature")
    work_tree = (project.root / CONFIG_FILE).read_bytes()
    main_tip = project.git.branch_tip("main")
    change = set_setting(project, "merge.approvals.main", "1", branch="feature")
    assert change.branch == "feature" and project.git.branch_tip("feature") == change.commit
    assert project.git.branch_tip("main") == main_tip
    assert (project.root / CONFIG_FILE).read_bytes() == work_tree  # main stays checked out
    assert get_setting(project, "merge.approvals.main", branch="feature") == 1
    assert "merge.approvals.main" not in list_settings(project)


def test_a_protected_branch_still_takes_settings(project: cinch.Project) -> None:
    """Protection guards the schema; settings change as `cinch branch --protect` does."""
    set_setting(project, "branches.protected", "main")
    assert set_setting(project, "merge.approvals.main", "1").changed


BAD: list[tuple[str, str, str | None, type[Exception], list[str]]] = [
    ("negative-approvals", "merge.approvals.main", "-1", InvalidSetting,
     ["merge.approvals.main", "greater than or equal to 0"]),
    ("non-integer-approvals", "merge.approvals.main", "two", InvalidSetting,
     ["merge.approvals.main", "'two'", "not a whole number"]),
    ("float-retention", "tenants.snapshot_retention_days", "1.5", InvalidSetting,
     ["tenants.snapshot_retention_days", "not a whole number"]),
    ("negative-retention", "tenants.snapshot_retention_days", "-3", InvalidSetting,
     ["tenants.snapshot_retention_days", "greater than or equal to 0"]),
    ("huge-approvals", "merge.approvals.main", "9" * 30, InvalidSetting, ["too large"]),
    ("bad-pattern", "merge.approvals.a b", "1", InvalidSetting,
     ["'a b'", "not a branch name or a glob"]),
    ("bad-protected", "branches.protected", "main,a..b", InvalidSetting,
     ["branches.protected", "'a..b'", "not a valid git branch name"]),
    ("author-angle", "author.name", "Ann <a@x>", InvalidSetting, ["author.name", "'<'"]),
    ("author-newline", "author.email", "a@x\nb", InvalidSetting,
     ["author.email", "control character"]),
    ("unknown-key", "merge.aprovals.main", "1", InvalidSetting,
     ["no setting named 'merge.aprovals.main'"]),
    ("bare-approvals", "merge.approvals", "1", InvalidSetting, ["needs a branch or glob"]),
    ("read-only-databases", "databases", "main,other", InvalidSetting, ["databases", "read-only"]),
    ("read-only-name", "name", "other", InvalidSetting, ["name", "read-only"]),
    ("read-only-format", "format", "2", InvalidSetting, ["format", "read-only"]),
    ("unset-read-only", "databases", None, InvalidSetting, ["databases cannot be unset"]),
    ("unset-unknown", "nosuch", None, InvalidSetting, ["no setting named 'nosuch'"]),
]


@pytest.mark.parametrize(("key", "value", "error", "words"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_input_is_refused_and_writes_nothing(
        project: cinch.Project, snapshot: Snapshot, key: str, value: str | None,
        error: type[Exception], words: list[str]) -> None:
    before = snapshot(project.root)
    with pytest.raises(error) as caught:
        if value is None:
            unset_setting(project, key)
        else:
            set_setting(project, key, value)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert snapshot(project.root) == before


def test_unknown_key_hints_the_known_ones(project: cinch.Project) -> None:
    with pytest.raises(InvalidSetting) as caught:
        set_setting(project, "merge.aprovals.main", "1")
    hint = caught.value.hint or ""
    assert hint.startswith("did you mean merge.approvals.main?")
    assert "tenants.snapshot_retention_days" in hint and "branches.protected" in hint
    with pytest.raises(InvalidSetting) as read_only:
        set_setting(project, "databases", "x")
    assert "cinch db create" in (read_only.value.hint or "")


def test_unknown_branch(project: cinch.Project, snapshot: Snapshot) -> None:
    before = snapshot(project.root)
    with pytest.raises(NotFound, match="no branch named 'nosuch'"):
        set_setting(project, "merge.approvals.main", "1", branch="nosuch")
    with pytest.raises(NotFound):
        list_settings(project, "nosuch")
    assert snapshot(project.root) == before


def test_uncommitted_cinch_toml_is_refused(project: cinch.Project, snapshot: Snapshot) -> None:
    path = project.root / CONFIG_FILE
    path.write_bytes(path.read_bytes() + b"# a hand edit\n")
    before = snapshot(project.root)
    with pytest.raises(DirtyWorkTree, match=r"cinch\.toml has uncommitted edits"):
        set_setting(project, "merge.approvals.main", "1")
    with pytest.raises(DirtyWorkTree):
        set_setting(project, "tenants.snapshot_retention_days", "1")
    assert snapshot(project.root) == before
    # Another branch's cinch.toml is not the one being edited: that goes ahead.
    create_branch(project, "feature")
    assert set_setting(project, "merge.approvals.main", "1", branch="feature").changed
    assert path.read_bytes().endswith(b"# a hand edit\n")


def test_hand_edited_negative_approvals_are_refused_on_read() -> None:
    raw = b'name = "x"\n[merge.approvals]\nmain = -1\n'
    with pytest.raises(ConfigError, match=r"merge\.approvals\.main"):
        parse_config(raw)


def test_a_pattern_with_dots_survives_a_merge(project: cinch.Project) -> None:
    create_branch(project, "feature")
    set_setting(project, "merge.approvals.release/1.x", "2", branch="feature")
    merge(project, "feature", "main")
    assert project.config("main").merge.approvals == {"release/1.x": 2}
