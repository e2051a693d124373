"""The history's caches: logs and schemas on disk under ``.cinch/cache/`` give the same answers
as a reader with no cache at all, and a missing, corrupt or foreign cache file is ignored and
written again."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import cinch
from cinch.engine import inspect
from cinch.engine.branches import create_branch
from cinch.engine.history import History
from cinch.engine.merge import merge
from cinch.errors import CorruptChangeFile


@pytest.fixture
def persist_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every computed log and schema goes to disk (the real threshold is 64 commits)."""
    monkeypatch.setattr(History, "PERSIST_AFTER", 1)


def _history_project(project: cinch.Project) -> list[str]:
    """main with changes, a feature branch merged back (a merge commit) and a README commit."""
    db = project.database()
    db.add_column("users", "nick:TEXT")
    create_branch(project, "feature", start="main")
    feature = project.database(branch="feature")
    feature.create_table("orders", ["total:REAL"])
    feature.add_column("orders", "note:TEXT")
    db.add_column("users", "city:TEXT")  # main moves on: the merge is a merge commit
    merge(project, "feature", "main")
    project.git.commit("main", {"README.md": b"hello\n"}, "readme", ("a", "a@x"))
    db.create_index("users", ["city"])
    head = project.git.branch_tip("main")
    return [info.id for info in project.git.walk(head)]


def _answers(project: cinch.Project, commits: list[str]) -> dict[str, object]:
    history = project.history
    out: dict[str, object] = {}
    for commit in commits:
        out[f"log {commit}"] = history.log(commit, "main")
        out[f"added {commit}"] = history.added(commit, "main")
        out[f"schema {commit}"] = history.schema(commit, "main")
    out["inspect.log"] = [i.to_dict() for i in inspect.log(project)]
    out["inspect.log -n 3"] = [i.to_dict() for i in inspect.log(project, limit=3)]
    return out


def _uncached(project: cinch.Project, commits: list[str]) -> dict[str, object]:
    """The same answers from a reader with no disk cache and nothing in memory."""
    with cinch.open(project.root) as fresh:
        fresh.history = History(fresh.git)
        return _answers(fresh, commits)


def _cache_files(root: Path, kind: str) -> list[Path]:
    return sorted((root / ".cinch" / "cache" / kind / "main").glob("*.json"))


@dataclass
class Built:
    commits: list[str]  # newest first
    expected: dict[str, object]  # the answers of a reader with no cache at all


@pytest.fixture
def built(project: cinch.Project, persist_always: None) -> Built:
    """The history of _history_project, and what an uncached reader answers about it."""
    commits = _history_project(project)
    return Built(commits, _uncached(project, commits))


def test_cached_answers_equal_uncached_ones(project: cinch.Project, built: Built) -> None:
    commits, expected = built.commits, built.expected
    with cinch.open(project.root) as first:  # computes and writes the cache
        assert _answers(first, commits) == expected
    assert _cache_files(project.root, "log") and _cache_files(project.root, "schema")
    with cinch.open(project.root) as second:  # reads it
        assert _answers(second, commits) == expected
    # The log added by each commit is what its tree adds to its first parent's.
    with cinch.open(project.root) as third:
        for commit in commits:
            by_files = inspect._new_change_ids(third, commit, "main")
            assert sorted(e.id for e in third.history.added(commit, "main")) == by_files


def test_the_log_of_a_head_gives_every_first_parent_ancestor(project: cinch.Project, built: Built) -> None:
    commits, expected = built.commits, built.expected
    with cinch.open(project.root) as p:
        p.history.log(commits[0], "main")
    for path in _cache_files(project.root, "log"):  # keep only the head's file
        if path.stem != commits[0]:
            path.unlink()
    with cinch.open(project.root) as p:
        p.history.log(commits[0], "main")
        calls: list[str] = []
        real = p.git.dir_changes
        p.git.dir_changes = lambda *a: calls.append("diff") or real(*a)  # type: ignore[method-assign]
        first_parents = [c.id for c in p.git.walk(commits[0], first_parent=True)]
        for commit in first_parents:
            assert p.history.log(commit, "main") == expected[f"log {commit}"]
        assert calls == []  # no tree was read: the head's file knew them all


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[]", b'{"format": 1}',
                                     b'{"format": 1, "db": "main", "commit": "x", "chain": [], '
                                     b'"entries": []}'])
def test_a_corrupt_cache_file_is_ignored_and_rebuilt(project: cinch.Project, built: Built,
                                                      garbage: bytes) -> None:
    commits, expected = built.commits, built.expected
    with cinch.open(project.root) as p:
        _answers(p, commits)
    files = _cache_files(project.root, "log") + _cache_files(project.root, "schema")
    for path in files:
        path.write_bytes(garbage)
    with cinch.open(project.root) as p:
        assert _answers(p, commits) == expected
    head = commits[0]
    for kind in ("log", "schema"):
        rebuilt = project.root / ".cinch" / "cache" / kind / "main" / f"{head}.json"
        assert rebuilt.read_bytes() != garbage
        json.loads(rebuilt.read_bytes().partition(b"\n")[0])  # (a schema file: header, body)
    with cinch.open(project.root) as p:  # and the rebuilt files read back
        assert _answers(p, commits) == expected


def test_a_cache_file_of_another_commit_is_refused(project: cinch.Project, built: Built) -> None:
    commits, expected = built.commits, built.expected
    with cinch.open(project.root) as p:
        p.history.log(commits[0], "main")
        p.history.log(commits[3], "main")
    folder = project.root / ".cinch" / "cache" / "log" / "main"
    # The head's file under an older commit's name: the older commit must not get its log.
    (folder / f"{commits[3]}.json").write_bytes((folder / f"{commits[0]}.json").read_bytes())
    with cinch.open(project.root) as p:
        assert p.history.log(commits[3], "main") == expected[f"log {commits[3]}"]


def test_no_cache_folder_and_an_unwritable_one(project: cinch.Project, built: Built) -> None:
    commits, expected = built.commits, built.expected
    cache = project.root / ".cinch" / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    (cache / "log").write_text("a file where a folder should be")
    with cinch.open(project.root) as p:
        assert _answers(p, commits) == expected


def test_an_edit_after_a_cached_commit_is_still_refused(project: cinch.Project,
                                                        persist_always: None) -> None:
    first = project.database().changes()[0]
    with cinch.open(project.root) as p:
        p.history.log(p.git.resolve("HEAD"), "main")  # the log at HEAD goes to disk
    path = f"schema/main/changes/{first.filename}"
    raw = project.git.read_file(project.git.resolve("HEAD"), path)
    assert raw is not None
    data = json.loads(raw)
    data["message"] = "rewritten"
    project.git.commit("main", {path: json.dumps(data).encode()}, "edit", ("a", "a@x"))
    with cinch.open(project.root) as p, pytest.raises(CorruptChangeFile) as info:
        p.history.log(p.git.resolve("HEAD"), "main")
    assert info.value.details["field"] == "message"
    # `cinch log` still lists the history, from the files themselves.
    with cinch.open(project.root) as p:
        assert [i.summary for i in inspect.log(p, limit=2)] == ["edit", "Create view adults"]


def test_a_deleted_change_file_is_refused_whatever_is_cached(project: cinch.Project,
                                                             persist_always: None) -> None:
    first = project.database().changes()[0]
    with cinch.open(project.root) as p:
        p.history.schema(p.git.resolve("HEAD"), "main")
    project.git.commit("main", {f"schema/main/changes/{first.filename}": None}, "delete",
                       ("a", "a@x"))
    with cinch.open(project.root) as p, pytest.raises(CorruptChangeFile) as info:
        p.history.schema(p.git.resolve("HEAD"), "main")
    assert info.value.details["change"] == first.id


def test_a_cached_schema_reads_back_equal_to_a_validated_one(project: cinch.Project) -> None:
    """The schema file is rebuilt without validation (it is ours, checked by its digest): the
    result equals the validated model, foreign keys, defaults, indexes and views included."""
    from cinch.engine.history import _schema_file
    from cinch.models.schema import Schema

    db = project.database()
    db.create_table("orders", ["user_id:INTEGER:references=users:on-delete=cascade",
                               "total:REAL:not-null:default=0", "note:TEXT:default=none",
                               "paid:INTEGER:default=1", "at:TEXT:default=CURRENT_TIMESTAMP"])
    db.create_index("orders", ["total", "note"], unique=True)
    schema = db.schema()
    head = project.git.resolve("HEAD")
    with cinch.open(project.root) as p:
        folder = project.root / ".cinch" / "cache" / "schema" / "main"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{head}.json").write_bytes(_schema_file("main", head, schema))
        loaded = p.history.schema(head, "main")
    validated = Schema.model_validate_json(schema.model_dump_json())
    assert loaded == validated == schema
    assert loaded.model_dump() == schema.model_dump()
    assert type(loaded.tables[-1].columns[1].references).__name__ == "ForeignKey"
