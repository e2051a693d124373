"""What a commit must be before it enters a project's history, whoever makes it.

cinch's own verbs build commits that pass these checks by construction; every other way in
runs them: the git hooks (``git commit``, ``git merge`` of every kind, cherry-pick, revert,
rebase), ``cinch push`` and the pre-push hook, and a hub's pre-receive hook. One commit is
accepted when, for every database of its ``cinch.toml``:

- the change files it adds load as the engine loads them (JSON, fields, ``<ULID>-<slug>.json``
  names, the database they claim), no committed one is edited or deleted (a ``git revert`` of
  a change-set commit is refused with the ``cinch revert`` command that does it right), and no
  id is used twice;
- the change sets new relative to its first parent, in the order tenants will apply them, pass
  the same validation a schema command runs (``build.check``: planned and run on a shadow of
  the schema; view bodies one read-only SELECT);
- ``schema/<db>/schema.sql`` is exactly what the change log renders;
- a merge has two parents (octopus merges are refused) and passes ``check_merge``;
- on a branch protected in its ``cinch.toml``, change sets arrive only in merge commits;
- and, where the tenants are at hand (a local commit), the tenants' data takes the new change
  sets (the checks ``cinch merge`` runs before it commits).

Nothing here writes a ref, the index or a tenant; a refused commit changes nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cinch.engine.config import CONFIG_FILE, Config, parse_config
from cinch.engine.history import History, changes_dir, schema_file
from cinch.errors import ApplyRefused, CinchError, CommitRefused, CorruptChangeFile
from cinch.models.changeset import ChangeSet, change_id_of, parse_change
from cinch.models.operations import CreateView, ReplaceView
from cinch.models.schema import Schema
from cinch.planner import build
from cinch.planner.plan import Plan, apply_op, plan_many
from cinch.planner.shadow import Shadow
from cinch.planner.sqlgen import schema_sql
from cinch.stores.gitstore import GitStore

if TYPE_CHECKING:
    from cinch.engine.project import Project

ZERO = "0" * 40


@dataclass(frozen=True)
class Problem:
    """Why a commit is refused: a stable ``code``, what is wrong, and the way out."""

    code: str
    message: str
    hint: str = ""
    commit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Repo:
    """The git side a check needs: a project's, or a bare hub's (no tenants there)."""

    def __init__(self, git: GitStore, history: History, project: Project | None = None) -> None:
        self.git = git
        self.history = history
        self.project = project

    @classmethod
    def of(cls, project: Project) -> Repo:
        return cls(project.git, project.history, project)

    @property
    def tenants(self) -> Any:
        return self.project.tenants if self.project is not None else None


def refusal(problems: list[Problem], what: str) -> CommitRefused:
    """One error for a list of problems: the first named, all in the details."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return CommitRefused(f"{what} refused: {first.message}{more}", hint=first.hint or None,
                         problems=[p.to_dict() for p in problems])


# --- one commit -------------------------------------------------------------------------------


def config_at(git: GitStore, commit: str | None) -> Config | None:
    raw = git.read_file(commit, CONFIG_FILE) if commit else None
    if raw is None:
        return None
    try:
        return parse_config(raw)
    except (CinchError, ValueError):
        return None


def check_commit(repo: Repo, commit: str, *, branch: str | None = None,
                 merge_source: str | None = None, data: bool = False) -> list[Problem]:
    """Everything wrong with ``commit`` (empty: cinch accepts it).

    ``branch``: the branch it is (to be) on, for protection and tenant data. ``merge_source``:
    a commit merged without a merge commit (``git merge --squash``), checked as a merge.
    ``data``: also run the tenant data checks on ``branch``'s tenants (needs a project).
    """
    git = repo.git
    parents = list(git.parents(commit))
    problems: list[Problem] = []
    if len(parents) > 2:
        return [Problem("octopus_merge",
                        f"commit {commit[:10]} merges {len(parents) - 1} branches at once; cinch "
                        "checks a merge of two histories only",
                        "merge the branches one at a time: `git merge --abort`, then "
                        "`git merge A` and `git merge B` (or `cinch merge A`, `cinch merge B`)",
                        commit)]
    config = config_at(git, commit)
    if config is None:
        return [Problem("config", f"commit {commit[:10]} has no valid {CONFIG_FILE}",
                        f"restore it: `git checkout HEAD -- {CONFIG_FILE}`", commit)]
    parent = parents[0] if parents else None
    before = config_at(git, parent)
    other = parents[1] if len(parents) == 2 else merge_source
    merged: dict[str, Plan] | None = None
    if other is not None and parent is not None:
        # First: a conflict's report names both sides and the ways out.
        problems, merged = _check_merge(repo, commit, parent, other, branch)
        if problems:
            return problems
    new_total = 0
    plans: dict[str, Plan] = {}
    for db in config.databases:
        found, new, plan_ = _check_database(repo, commit, parent, db)
        problems += found
        new_total += new
        if plan_ is not None:
            plans[db] = plan_
    if problems:
        return problems
    if branch and before is not None and branch in before.branches.protected and \
            len(parents) < 2 and new_total:
        problems.append(Problem(
            "protected_branch",
            f"branch {branch} is protected: change sets reach it only through a merge commit, "
            f"and commit {commit[:10]} adds {new_total} without one",
            f"make the change on another branch and merge it: `cinch switch -c work`, the schema "
            f"commands, then `cinch switch {branch}` and `cinch merge work` "
            "(or `git merge --no-ff work`)", commit))
    elif data and branch and repo.tenants is not None:
        problems += _data_checks(repo, branch, parent, merged if merged is not None else plans)
    return problems


def _check_database(repo: Repo, commit: str, parent: str | None, db: str
                    ) -> tuple[list[Problem], int, Plan | None]:
    """Problems of one database at ``commit``, how many change sets it adds, and their plan."""
    git, history = repo.git, repo.history
    folder = changes_dir(db)
    try:
        before_log = history.log(parent, db) if parent else ()
    except CinchError as exc:
        return [Problem("history", f"the parent {parent[:10] if parent else ''} of commit "
                        f"{commit[:10]} is not valid: {exc.message}", commit=commit)], 0, None
    held = {e.id: e for e in before_log}
    old_tree = git.subtree_id(parent, folder) if parent else None
    added, deleted, modified = git.dir_changes(old_tree, git.subtree_id(commit, folder))
    problems: list[Problem] = []
    remaining = {change_id_of(n) for n in git.dir_entries(commit, folder)}
    for name in sorted(deleted):
        change_id = change_id_of(name)
        if change_id in held and change_id not in remaining:
            problems.append(_deleted(commit, db, f"{folder}/{name}", change_id))
    new_ids: dict[str, str] = {}
    for name, blob in sorted({**added, **modified}.items()):
        path = f"{folder}/{name}"
        if change_id_of(name) is None:
            if name.endswith(".json"):
                problems.append(Problem("invalid_change_file",
                                        f"{path}: a change file is named <ULID>-<slug>.json",
                                        "create change sets with cinch's schema commands",
                                        commit))
            continue
        try:
            change = parse_change(git.read_blob(blob), path)
        except CorruptChangeFile as exc:
            problems.append(Problem("invalid_change_file", exc.message,
                                    "create change sets with cinch's schema commands", commit))
            continue
        if change.database != db:
            problems.append(Problem(
                "invalid_change_file", f"{path}: field database: says {change.database!r} but "
                f"the file is under schema/{db}/", "create change sets with cinch's schema "
                "commands", commit))
            continue
        known = held.get(change.id)
        moved = known is not None and known.path != path and \
            known.path.rsplit("/", 1)[-1] in deleted
        if known is not None and (known.path == path or moved):
            if history.change(known) != change:
                problems.append(Problem(
                    "edited_change", f"{path}: change set {change.id} was edited; a committed "
                    "change set may not be edited",
                    f"undo the edit (`git checkout HEAD -- {path}`); to change the schema, add a "
                    "change set with a schema command (`cinch revert` undoes one)", commit))
            continue
        if known is not None or change.id in new_ids:
            other = known.path if known is not None else new_ids[change.id]
            problems.append(Problem(
                "duplicate_change_id", f"{path}: change id {change.id} is already used by "
                f"{other}", "every change set has its own id: create change sets with cinch's "
                "schema commands", commit))
            continue
        new_ids[change.id] = path
    if problems:
        return problems, len(new_ids), None
    try:
        log = history.log(commit, db)
    except CinchError as exc:
        return [Problem("invalid_change_file", exc.message, exc.hint or "", commit)], 0, None
    entries = [e for e in log if e.id not in held]
    schema = history.schema(parent, db) if parent else Schema()
    changes = [history.change(e) for e in entries]
    for change, entry in zip(changes, entries, strict=True):
        try:
            schema = validate_change(schema, change, entry.path)
        except CinchError as exc:
            return [Problem("invalid_change", f"{entry.path}: {exc.message}",
                            "this change set cannot be applied after the ones before it; "
                            "create change sets with cinch's schema commands", commit)], 0, None
    expected = schema_sql(history.schema(commit, db), db).encode()
    actual = git.read_file(commit, schema_file(db))
    if actual != expected:
        why = "is missing" if actual is None else (
            "holds conflict markers" if b"<<<<<<<" in actual else
            "differs from what the change log renders")
        problems.append(Problem(
            "schema_sql", f"{schema_file(db)} {why} (it is generated from the change sets)",
            "regenerate and stage it: `cinch hooks resolve`", commit))
    plan_ = plan_many(history.schema(parent, db) if parent else Schema(),
                      (op for c in changes for op in c.operations))[0] if changes else None
    return problems, len(entries), plan_


def _deleted(commit: str, db: str, path: str, change_id: str) -> Problem:
    flag = "" if db == "main" else f" --db {db}"
    return Problem(
        "deleted_change",
        f"{path}: change set {change_id} is deleted; a committed change set may not be deleted "
        "(a git revert of a change-set commit would leave every tenant holding it)",
        f"drop the staged revert with `git reset --merge`, then undo the change set with "
        f"`cinch{flag} revert {change_id}`", commit)


def validate_change(schema: Schema, change: ChangeSet, path: str) -> Schema:
    """The checks a schema command runs, on a change set read from a file: each view body is
    one read-only SELECT, and the operations plan and run on a shadow of ``schema``. Returns
    the schema after the change set."""
    state = schema
    for op in change.operations:
        view = op.view if isinstance(op, CreateView) else \
            op.after if isinstance(op, ReplaceView) else None
        if view is not None:
            with Shadow(state) as shadow:
                body = shadow.check_select(view.sql)
            if body != view.sql:
                raise CorruptChangeFile(f"view {view.name}: its SQL is not in the form cinch "
                                        "writes (one SELECT, no trailing ';')", path=path)
        state = apply_op(state, op)
    return build.check(schema, change.operations, what=f"change set {change.id}")


def _check_merge(repo: Repo, commit: str, ours: str, theirs: str, branch: str | None
                 ) -> tuple[list[Problem], dict[str, Plan]]:
    """The semantic check of ``cinch merge``; its conflicts, and the incoming plan per database."""
    from cinch.engine.merge import check_merge

    # Named by a branch where one points at it: the ways out then read as commands.
    source = next((b for b in repo.git.branches() if repo.git.branch_tip(b) == theirs), theirs)
    report = check_merge(repo, source, branch or ours, target_head=ours)
    out = []
    for conflict in report.conflicts:
        info = conflict.to_dict()
        ways = info.get("resolutions") or []
        out.append(Problem(
            "merge_conflict", f"{info.get('kind')}: {info.get('message') or info.get('object')}",
            (ways[0] + " " if ways else "") + "Abort with `git merge --abort`.", commit))
    return out, report.plans


def _data_checks(repo: Repo, branch: str, tip: str | None, plans: dict[str, Plan]
                 ) -> list[Problem]:
    """The incoming change sets' data checks on the branch's tenants (read-only)."""
    out = []
    for db, plan_ in plans.items():
        try:
            repo.tenants.precheck(db, branch, tip, plan_)
        except ApplyRefused as exc:
            out.append(Problem("tenant_data", f"database {db}: {exc.message}",
                               "fix that tenant's data (`cinch query`), then commit again",
                               ""))
        except sqlite3.Error as exc:
            out.append(Problem("tenant_data", f"database {db}: the tenant data check could not "
                               f"run ({exc})", "bring the tenants to the head with `cinch "
                               "sync`, then commit again", ""))
    return out


# --- what is about to be committed ------------------------------------------------------------


def candidate(git: GitStore, tree: str, parents: list[str]) -> str:
    """A commit object for a tree that is about to be committed, so the checks read it as they
    read any commit. It is written to the object store only (no ref names it)."""
    return git.dangling_commit(tree, parents, "candidate")


def candidate_key(tree: str, parents: Iterable[str]) -> str:
    return hashlib.sha256(" ".join([tree, *parents]).encode()).hexdigest()


# --- a range of commits (push, receive) -------------------------------------------------------


def new_commits(git: GitStore, new: str, known: Iterable[str]) -> list[str]:
    """Commits reachable from ``new`` and from none of ``known``, parents first."""
    return git.commits_between(new, [c for c in known if c != ZERO])


def check_update(repo: Repo, branch: str, old: str | None, new: str,
                 known: Iterable[str]) -> list[Problem]:
    """Moving ``branch`` from ``old`` to ``new`` (a push): every commit it brings that is in
    none of ``known`` must pass :func:`check_commit`; commits on the branch's own first-parent
    line are also held to its protection."""
    git = repo.git
    fresh = new_commits(git, new, [*known, old or ZERO])
    own = set(_first_parent_line(git, new, old))
    problems: list[Problem] = []
    for commit in fresh:
        problems += check_commit(repo, commit, branch=branch if commit in own else None)
        if len(problems) >= 20:
            break
    return problems


def _first_parent_line(git: GitStore, new: str, old: str | None) -> list[str]:
    """The commits made on the branch itself: first parents from ``new`` back to ``old``."""
    out = []
    cursor: str | None = new
    while cursor is not None and cursor != old and not (
            old and old != ZERO and git.is_ancestor(cursor, old)):
        out.append(cursor)
        parents = git.parents(cursor)
        cursor = parents[0] if parents else None
    return out


def remote_tips(git: GitStore, remote: str) -> list[str]:
    """The commits a remote is known to hold (its remote-tracking branches)."""
    return list(git.ref_tips(f"refs/remotes/{remote}/").values())


def check_push(project: Project, remote: str, branch: str, old: str | None,
               new: str) -> list[Problem]:
    """Problems with pushing ``new`` to ``remote``'s ``branch`` (whose tip is ``old``): the
    commits the remote does not hold yet are checked as the hooks would have checked them."""
    git = project.git
    if old in (None, ZERO) or not git.has_object(old):
        old = None
    return check_update(Repo.of(project), branch, old, new, remote_tips(git, remote))


def check_fast_forward(project: Project, branch: str, old: str, new: str) -> list[Problem]:
    """Moving ``branch`` from ``old`` forward to ``new`` without a merge commit (``git merge``
    that fast-forwards, ``git pull``): the commits were checked when they were made, so what
    is left is what depends on the branch: its protection, and its tenants' data."""
    git, history = project.git, project.history
    before = config_at(git, old)
    config = config_at(git, new)
    if config is None:
        return []
    if before is not None and branch in before.branches.protected:
        for commit in _first_parent_line(git, new, old):
            parents = git.parents(commit)
            if len(parents) < 2 and _adds_changes(history, commit, parents, config.databases):
                return [Problem(
                    "protected_branch",
                    f"branch {branch} is protected: change sets reach it only through a merge "
                    f"commit, and this fast-forward would bring commit {commit[:10]} onto it",
                    "merge with a merge commit: `git merge --no-ff SOURCE` or `cinch merge "
                    "SOURCE`", commit)]
    plans = {}
    for db in config.databases:
        held = {e.id for e in history.log(old, db)}
        changes = [history.change(e) for e in history.log(new, db) if e.id not in held]
        if changes:
            plans[db] = plan_many(history.schema(old, db),
                                  (op for c in changes for op in c.operations))[0]
    return _data_checks(Repo.of(project), branch, old, plans)


def _adds_changes(history: History, commit: str, parents: tuple[str, ...],
                  databases: list[str]) -> bool:
    for db in databases:
        held = {e.id for e in history.log(parents[0], db)} if parents else set()
        if any(e.id not in held for e in history.log(commit, db)):
            return True
    return False
