"""Branches: real git branches shared by every database, each with its own tenants.

Creating a branch is a git ref (O(1)) plus a fork of the parent's tenants; deleting one removes
the ref, then its tenants. Protection lives in the branch's own committed ``cinch.toml``
(``[branches] protected``), so it travels with the branch and merges like any setting.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cinch.engine.config import CONFIG_FILE, Config
from cinch.errors import (
    AlreadyExists,
    BranchError,
    CinchError,
    DirtyWorkTree,
    NotFound,
    ProtectedBranch,
)
from cinch.names import check_branch_name, check_name

if TYPE_CHECKING:
    from cinch.engine.project import Project

DEFAULT_BRANCH = "main"


@dataclass
class BranchInfo:
    name: str
    current: bool
    protected: bool
    head: str
    ahead: int | None  # commits on this branch and not on the default branch
    behind: int | None  # commits on the default branch and not on this one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tip_of(project: Project, name: str) -> str:
    """The branch's head commit; NotFound naming the branch if there is none."""
    tip = project.git.branch_tip(name)
    if tip is None:
        raise NotFound(f"no branch named {name!r}", hint="list them with `cinch branch`",
                       branch=name)
    return tip


def current_or_none(project: Project) -> str | None:
    try:
        return project.current_branch
    except BranchError:  # detached HEAD: no branch is current
        return None


def is_protected(project: Project, name: str) -> bool:
    return name in project.config(name).branches.protected


def info(project: Project, name: str) -> BranchInfo:
    head = tip_of(project, name)
    main = project.git.branch_tip(DEFAULT_BRANCH)
    ahead, behind = project.git.ahead_behind(head, main) if main else (None, None)
    return BranchInfo(name, name == current_or_none(project), is_protected(project, name), head,
                      ahead, behind)


def list_branches(project: Project) -> list[BranchInfo]:
    return [info(project, name) for name in project.git.branches()]


def create_branch(project: Project, name: str, *, start: str | None = None, empty: bool = False,
                  switch: bool = False) -> BranchInfo:
    """A new branch at ``start`` (a branch or any revision; default: the current branch).

    Its tenants are forked from the start branch's (``empty``: the schema only, no rows). A
    start that is not a branch has no tenants to fork: the new branch starts empty.
    """
    check_branch_name(name)
    with project.lock():
        if project.git.branch_tip(name) is not None:
            raise AlreadyExists(f"branch {name!r} already exists", hint=f"cinch switch {name}",
                                branch=name)
        parent = start or current_or_none(project) or DEFAULT_BRANCH
        parent_tip = project.git.branch_tip(parent)
        commit = parent_tip or project.git.resolve(parent)
        project.git.create_branch(name, commit)
        try:
            _fork_tenants(project, parent if parent_tip else None, name, empty)
        except BaseException:
            # The branch and its tenants land together or not at all.
            for db in project.databases(name):
                project.tenants.delete_branch(db, name)
            project.git.delete_branch(name)
            raise
    if switch:
        project.git.checkout(name)
    return info(project, name)


def _fork_tenants(project: Project, parent: str | None, child: str, empty: bool) -> None:
    fork = getattr(project.tenants, "fork", None)
    if fork is None:  # tenants are then created lazily from the branch's template
        return
    for db in project.databases(child):
        if parent is not None and db in project.databases(parent):
            fork(db, parent, child, empty=empty)


def switch(project: Project, name: str, *, create: bool = False,
           start: str | None = None) -> BranchInfo:
    """Check out ``name`` (``create``: make it first, from ``start`` or the current branch)."""
    if create:
        return create_branch(project, name, start=start, switch=True)
    tip_of(project, name)
    project.git.checkout(name)
    return info(project, name)


def delete_branch(project: Project, name: str, *, force: bool = False) -> str:
    """Delete a branch and its tenants; the commit it pointed at (to recreate it by hand).

    Refused for the current branch, a protected one, and (without ``force``) one whose commits
    are in neither the current branch nor the default branch.
    """
    with project.lock():
        tip = tip_of(project, name)
        current = current_or_none(project)
        if name == current:
            others = [b for b in project.git.branches() if b != name]
            away = (DEFAULT_BRANCH if DEFAULT_BRANCH in others else others[0]) if others else None
            hint = (f"switch to another branch first (`cinch switch {away}`), then delete it"
                    if away else "it is the only branch: a project always has one")
            raise BranchError(f"cannot delete {name}: it is the current branch", hint=hint,
                              branch=name)
        if is_protected(project, name):
            raise ProtectedBranch(f"branch {name} is protected",
                                  hint=f"cinch branch --unprotect {name} first", branch=name)
        if not force and not _merged(project, tip, current):
            raise BranchError(
                f"branch {name} is not merged; deleting it loses its change sets and tenants",
                hint=f"merge it first (cinch merge {name}), or delete anyway: "
                     f"cinch branch -D {name}", branch=name)
        databases = project.databases(name)
        for db in databases:
            project.tenants.release_children(db, name)
        project.git.delete_branch(name)
        # After the ref: a crash leaves stray files, never a lost branch.
        _remove_tenants(project, name, databases)
        return tip


def adopt_current(project: Project) -> list[tuple[str, str, int]]:
    """The current branch, made with plain git (``git checkout -b``), gets its parent's
    tenants as ``cinch branch`` would have given them: ``(database, parent, tenants)`` for
    each database forked; nothing when cinch knows the branch already or finds no parent."""
    branch = current_or_none(project)
    if branch is None:
        return []
    tenants = project.tenants
    out = []
    with project.lock():
        for db in project.databases(branch):
            if tenants.known_branch(db, branch):
                continue
            parent = _parent_of(project, branch)
            if parent is None:
                continue
            out.append((db, parent, tenants.fork(db, parent, branch)))
    return out


def _previous_branch(project: Project) -> str | None:
    """The branch HEAD left, from the reflog ('checkout: moving from A to B')."""
    match = re.match(r"checkout: moving from (\S+) to (\S+)", project.git.last_head_move() or "")
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


def forget_tenants(project: Project, name: str) -> list[str]:
    """Remove the local tenants of a branch git deleted (``git branch -D``), as ``cinch branch
    -d`` would have: a branch made again under that name then starts from its parent, not
    from the old branch's files. Nothing is removed while the branch exists. Returns the
    databases whose tenants were removed."""
    with project.lock():
        if project.git.branch_tip(name) is not None:
            return []
        state = project.state_dir
        databases = sorted({entry.name for folder in ("tenants", "forks", "templates")
                            if (state / folder).is_dir()
                            for entry in (state / folder).iterdir() if entry.is_dir()})
        return _remove_tenants(project, name, databases)


def _remove_tenants(project: Project, name: str, databases: list[str]) -> list[str]:
    removed = []
    for db in databases:
        try:
            check_name(db, "database")
        except CinchError:
            continue  # not a database's folder
        project.tenants.delete_branch(db, name)
        removed.append(db)
    return removed


def _merged(project: Project, tip: str, current: str | None) -> bool:
    into = {b for b in (current, DEFAULT_BRANCH) if b}
    return any(project.git.is_ancestor(tip, head) for b in into
               if (head := project.git.branch_tip(b)) is not None)


def protect(project: Project, name: str, on: bool = True) -> bool:
    """List (or unlist) ``name`` in its own cinch.toml; commits on that branch. Whether it changed.

    A protected branch refuses schema commands (``Database.change``); only merges change it.
    """
    with project.lock():
        tip_of(project, name)
        config = project.config(name)
        listed = name in config.branches.protected
        if listed == on:
            return False
        protected = config.branches.protected
        config.branches.protected = [*protected, name] if on else \
            [b for b in protected if b != name]
        commit_config(project, name, config, f"{'Protect' if on else 'Unprotect'} branch {name}")
        return True


def commit_config(project: Project, name: str, config: Config, message: str) -> str:
    """Commit ``config`` as cinch.toml on branch ``name``, never over uncommitted edits of it."""
    if name == current_or_none(project) and CONFIG_FILE in project.git.dirty_paths():
        raise DirtyWorkTree(f"{CONFIG_FILE} has uncommitted edits; commit or discard them",
                            hint=f"git diff {CONFIG_FILE}", path=CONFIG_FILE)
    return project.git.commit(name, {CONFIG_FILE: config.to_toml()}, message,
                              project.author().as_tuple())
