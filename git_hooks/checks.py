"""What post-checkout does for a branch made with plain git; all knowledge comes from the engine."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pygit2

from cinch.errors import CinchError

if TYPE_CHECKING:
    from cinch.engine.project import Project

Say = Callable[[str], None]


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


