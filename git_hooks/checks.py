"""The checks and repairs the hooks run; all schema knowledge comes from the engine."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

from cinch.errors import CinchError, CorruptChangeFile
from cinch.models.changeset import parse_change
from cinch.planner.plan import replay
from cinch.planner.sqlgen import schema_sql

if TYPE_CHECKING:
    from cinch.engine.project import Project

Say = Callable[[str], None]
_CHANGE_PATH = re.compile(r"schema/([^/]+)/changes/[^/]+\.json")


def check_staged_changes(project: Project) -> list[str]:
    """Problems with the change files staged for commit (empty when all is well)."""
    repo = project.git.repo
    if repo.head_is_unborn:
        return []
    index = repo.index
    index.read()
    head_tree = repo.head.peel(pygit2.Commit).tree
    problems = []
    for patch in index.diff_to_tree(head_tree):
        delta = patch.delta
        # diff_to_tree compares tree (old) -> index (new).
        path = delta.new_file.path or delta.old_file.path
        match = _CHANGE_PATH.fullmatch(path)
        if not match:
            continue
        status = delta.status_char()
        if status == "D":
            problems.append(f"{path}: a committed change set may not be deleted")
        elif status == "M":
            problems.append(f"{path}: a committed change set may not be edited")
        elif status in ("A", "R", "C"):
            blob = repo.get(delta.new_file.id)
            try:
                change = parse_change(blob.data, path)
            except CorruptChangeFile as exc:
                problems.append(exc.message)
                continue
            if change.database != match.group(1):
                problems.append(f"{path}: field database: says {change.database!r} but the "
                                f"file is under schema/{match.group(1)}/")
    return problems


def _merge_head(project: Project) -> str | None:
    """The commit being merged in: MERGE_HEAD, or (inside a merge driver, before git writes
    MERGE_HEAD) the GITHEAD_<sha> variable git sets for the other side."""
    path = Path(project.git.repo.path) / "MERGE_HEAD"
    if path.exists():
        return path.read_text().split()[0]
    for key, value in os.environ.items():
        if key.startswith("GITHEAD_") and value != "HEAD" and len(key) >= 48:
            return key.removeprefix("GITHEAD_")
    return None


def check_merge_in_progress(project: Project, say: Say) -> int:
    """Refuse the merge commit git is about to make if the two sides conflict on the schema."""
    merge_head = _merge_head(project)
    if merge_head is None:
        return 0
    from cinch.engine.merge import check_merge

    target = project.current_branch
    report = check_merge(project, _merge_source(project, merge_head), target)
    if not report.conflicts:
        return 0
    say(f"merge of {merge_head[:10]} into {target} refused: "
        f"{len(report.conflicts)} schema conflict(s); nothing was committed")
    for conflict in report.conflicts:
        data = conflict.to_dict()
        say(f"  {data.get('kind')}: {data.get('object')} — {data.get('message', '')}")
        for side in ("ours", "theirs"):
            origin = data.get(side) or {}
            if origin:
                say(f"    {side}: change {origin.get('change_id')} {origin.get('message', '')}")
        for way in data.get("resolutions", [])[:2]:
            say(f"    way out: {way}")
    say("abort with `git merge --abort`; resolve on the source branch, then merge again")
    return 1


def _merge_source(project: Project, merge_head: str) -> str:
    """The branch being merged when git's MERGE_MSG names it, else the commit id."""
    msg = Path(project.git.repo.path) / "MERGE_MSG"
    if msg.exists():
        match = re.match(r"Merge (?:remote-tracking )?branch '([^']+)'", msg.read_text())
        if match and project.git.branch_tip(match.group(1)) == merge_head:
            return match.group(1)
    return merge_head


def _previous_branch(project: Project) -> str | None:
    """The branch HEAD left, from the reflog ('checkout: moving from A to B')."""
    try:
        entry = next(iter(project.git.repo.lookup_reference("HEAD").log()))
    except (StopIteration, KeyError, pygit2.GitError):
        return None
    match = re.match(r"checkout: moving from (\S+) to (\S+)", entry.message or "")
    if not match or project.git.branch_tip(match.group(1)) is None:
        return None
    return match.group(1)


def _parent_of(project: Project, branch: str) -> str | None:
    """The branch a plain-git branch was made from: one whose tip is the new head (the
    branch just left first), else one whose tip is an ancestor of it."""
    head = project.git.branch_tip(branch)
    previous = _previous_branch(project)
    others = [b for b in project.git.branches() if b not in (branch, previous)]
    candidates = [b for b in [previous, *others] if b]
    for name in candidates:
        if project.git.branch_tip(name) == head:
            return name
    for name in candidates:
        tip = project.git.branch_tip(name)
        if tip and head and project.git.is_ancestor(tip, head):
            return name
    return None


def fork_if_new(project: Project, say: Say) -> None:
    """A branch made with `git checkout -b` gets its parent's tenants, as `cinch branch` does."""
    try:
        branch = project.current_branch
    except CinchError:
        return
    tenants = project.tenants
    for db in project.databases(branch):
        folder = tenants.store.folder(db, branch)
        if folder.exists() or tenants._fork(db, branch) is not None:
            continue
        parent = _parent_of(project, branch)
        if parent is None:
            continue
        count = tenants.fork(db, parent, branch)
        say(f"branch {branch} takes the {count} tenant(s) of {parent} ({db}), copied on first use")


def regenerate_schema_sql(project: Project, ours: Path, path: str, say: Say) -> int:
    """Write the merged schema into git's 'ours' file instead of a text merge."""
    match = re.fullmatch(r"schema/([^/]+)/schema\.sql", path)
    merge_head = _merge_head(project)
    if match is None or merge_head is None:
        say(f"{path}: cannot regenerate outside a merge; resolve it with a cinch command")
        return 1
    db = match.group(1)
    history = project.git.resolve("HEAD")
    log = list(project.history.log(history, db))
    held = {e.id for e in log}
    log += [e for e in project.history.log(merge_head, db) if e.id not in held]
    schema = replay(op for e in log for op in project.history.change(e).operations)
    ours.write_text(schema_sql(schema, db))
    return 0
