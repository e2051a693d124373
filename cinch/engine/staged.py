"""What plain git is about to commit: the staged tree, its parents, and the generated files.

git runs the hooks before it writes the commit, so the hooks check a *candidate*: a commit
object for the staged tree with the parents git will give it (HEAD, and MERGE_HEAD during a
merge), written to the object store only. ``cinch.engine.checks`` then reads it as it reads
any commit. The same candidate regenerates ``schema/<db>/schema.sql`` when git could not
(``cinch hooks resolve``, and the merge driver during merges and rebases).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cinch.engine import checks
from cinch.engine.history import schema_file
from cinch.errors import BranchError, CommitRefused
from cinch.models.schema import Schema
from cinch.planner.plan import apply_op
from cinch.planner.sqlgen import schema_sql

if TYPE_CHECKING:
    from cinch.engine.project import Project
    from cinch.stores.gitstore import IndexView

_SCHEMA_SQL = re.compile(r"schema/([^/]+)/schema\.sql")
_MARKER = "cinch-checked"


@dataclass
class Pending:
    """The commit git is making: its tree, parents, and a merge made without a merge commit."""

    tree: str
    parents: list[str]
    branch: str | None
    squash_source: str | None

    @property
    def key(self) -> str:
        return checks.candidate_key(self.tree, [*self.parents, self.squash_source or ""])


def _gitdir(project: Project) -> Path:
    return project.git.gitdir


def merge_heads(project: Project) -> list[str]:
    """The commits being merged: MERGE_HEAD, or (in pre-merge-commit and the merge driver,
    before git writes MERGE_HEAD) the ``GITHEAD_<sha>`` variables git sets for them."""
    path = _gitdir(project) / "MERGE_HEAD"
    if path.exists():
        return path.read_text().split()
    found = [key.removeprefix("GITHEAD_") for key in os.environ if key.startswith("GITHEAD_")]
    return sorted(sha for sha in found if re.fullmatch(r"[0-9a-f]{40}", sha))


def squash_source(project: Project) -> str | None:
    """After ``git merge --squash``, the tip that was squashed (SQUASH_MSG lists it first)."""
    path = _gitdir(project) / "SQUASH_MSG"
    if not path.exists():
        return None
    match = re.search(r"^commit ([0-9a-f]{40})$", path.read_text(errors="replace"), re.M)
    return match.group(1) if match else None


def _index(project: Project) -> IndexView:
    """The index git commits: ``GIT_INDEX_FILE`` when git set one (``commit -a``, paths)."""
    return project.git.staged_index(os.environ.get("GIT_INDEX_FILE"))


def pending(project: Project) -> Pending | None:
    """What is staged to be committed now (None on an unborn branch)."""
    git = project.git
    if git.head_is_unborn:
        return None
    index = _index(project)
    paths = index.conflicted()
    if paths:
        raise CommitRefused(f"unresolved conflicts in {', '.join(paths[:5])}",
                            hint="resolve them (`cinch hooks resolve` writes schema.sql), "
                                 "then commit", paths=paths)
    tree = index.write_tree()
    branch = git.head_branch()
    heads = merge_heads(project)
    return Pending(tree, [git.head_commit(), *heads], branch,
                   None if heads else squash_source(project))


def check_pending(project: Project, *, hook: str = "") -> list[checks.Problem]:
    """Problems with the commit git is making (empty: let it through).

    The commit hooks git runs differ by verb (``git commit`` and ``git merge`` run pre-commit or
    pre-merge-commit, then prepare-commit-msg; cherry-pick, revert and rebase only
    prepare-commit-msg), so every one of them checks, and a candidate checked once in a row is
    not checked again.
    """
    state = pending(project)
    if state is None:
        return []
    marker = _gitdir(project) / _MARKER
    if hook == "prepare-commit-msg" and marker.exists():
        seen = marker.read_text()
        marker.unlink(missing_ok=True)
        if seen == state.key:
            return []
    commit = checks.candidate(project.git, state.tree, state.parents)
    problems = checks.check_commit(checks.Repo.of(project), commit, branch=state.branch,
                                   merge_source=state.squash_source, data=True)
    if not problems and hook != "prepare-commit-msg":
        marker.write_text(state.key)
    return problems


# --- schema.sql, regenerated --------------------------------------------------------------


def resolve_generated(project: Project) -> list[str]:
    """Write and stage ``schema/<db>/schema.sql`` for the staged change files (a merge, a
    cherry-pick, a rebase or a revert that stopped on it). Returns the paths written."""
    git = project.git
    if git.head_is_unborn:
        raise BranchError("nothing is committed yet; nothing to resolve")
    index = git.staged_index()
    left = []
    for path in index.conflicted():
        if _SCHEMA_SQL.fullmatch(path):
            index.take_ours(path)
        else:
            left.append(path)
    if left:
        raise CommitRefused(f"resolve the other conflicts first: {', '.join(left[:5])}",
                            hint="then run `cinch hooks resolve` again", paths=left)
    tree = index.write_tree()
    commit = checks.candidate(git, tree, [git.head_commit(), *merge_heads(project)])
    config = checks.config_at(project.git, commit)
    written = []
    for db in config.databases if config else []:
        path = schema_file(db)
        text = schema_sql(project.history.schema(commit, db), db).encode()
        (project.root / path).parent.mkdir(parents=True, exist_ok=True)
        (project.root / path).write_bytes(text)
        index.add(path, text)
        written.append(path)
    index.write()
    return written


def _rebase_pick(project: Project) -> str | None:
    """The commit a rebase is replaying now (the last line of rebase-merge/done)."""
    done = _gitdir(project) / "rebase-merge" / "done"
    if not done.exists():
        return None
    lines = [line.split() for line in done.read_text().splitlines() if line.strip()]
    picks = [parts[1] for parts in lines if len(parts) > 1 and not parts[0].startswith("#")]
    if not picks:
        return None
    try:
        return project.git.resolve(picks[-1])
    except Exception:
        return None


def merge_driver_text(project: Project, path: str) -> bytes | None:
    """What ``schema.sql`` at ``path`` must hold in the merge git is making, or None when the
    other side is not known (a cherry-pick or revert: then `cinch hooks resolve`)."""
    match = _SCHEMA_SQL.fullmatch(path)
    if match is None:
        return None
    db = match.group(1)
    history = project.history
    head = project.git.resolve("HEAD")
    log = list(history.log(head, db))
    held = {e.id for e in log}
    other = _merge_source(project)
    if other is not None:
        log += [e for e in history.log(other, db) if e.id not in held]
    else:
        pick = _rebase_pick(project)
        if pick is None:
            return None
        parents = project.git.parents(pick)
        before = {e.id for e in history.log(parents[0], db)} if parents else set()
        new = [e for e in history.log(pick, db) if e.id not in before and e.id not in held]
        log += sorted(new, key=lambda e: e.id)
    schema = Schema()
    for entry in log:
        for op in history.change(entry).operations:
            apply_op(schema, op, copy=False)
    return schema_sql(schema, db).encode()


def _merge_source(project: Project) -> str | None:
    heads = merge_heads(project)
    return heads[0] if heads else None
