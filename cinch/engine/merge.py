"""Merging one branch into another: check first (a report; nothing written), then commit and
bring the target's tenants along.

1. merge base by libgit2; per database, the change sets new on each side since the base;
2. the semantic three-way check (``conflicts.merge_schemas``) plus cinch.toml and any other
   committed file; any conflict refuses the merge with a structured report, nothing changed;
3. the incoming plan's data checks on the target's tenants (``tenants.precheck``), read-only;
4. a fast-forward (the ref moves) or a merge commit (parents: target tip, source tip; tree: git's
   tree merge with ``schema/<db>/schema.sql`` regenerated from the merged schema and cinch.toml
   merged by meaning);
5. ``tenants.follow`` brings every tenant of the target to the new head: the target's log, then
   the source's new change sets in the source's order (``History`` defines that order).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinch.engine.branches import current_or_none
from cinch.engine.config import CONFIG_FILE, Config, parse_config
from cinch.engine.conflicts import Conflict, Origin, Probe, Side, merge_config, merge_schemas, summarize
from cinch.engine.history import schema_file
from cinch.errors import BranchError, DirtyWorkTree, GitError, MergeConflict, NotFound, UsageError
from cinch.models.changeset import ChangeSet
from cinch.models.operations import describe
from cinch.models.schema import Schema
from cinch.planner.plan import Plan
from cinch.planner.sqlgen import schema_sql

if TYPE_CHECKING:
    from cinch.engine.checks import Repo
    from cinch.engine.project import Project
    from cinch.stores.gitstore import IndexView

RESOLUTION = (
    "A merged log is the target's change sets followed by the source's new ones, and committed "
    "change sets never change. So each conflict is resolved either on the target first (a "
    "change set on a small branch from the target, merged into it) or by starting the source "
    "again from the target and redoing its change sets so they fit; then merge again. Each "
    "conflict lists two concrete ways out."
)
_SCHEMA_SQL = re.compile(r"schema/[^/]+/schema\.sql")
_CHANGE_FILE = re.compile(r"schema/[^/]+/changes/[^/]+\.json")


@dataclass
class MergeReport:
    source: str
    target: str
    base: str | None
    source_head: str
    target_head: str
    fast_forward: bool
    up_to_date: bool
    changes: dict[str, dict[str, list[dict[str, Any]]]]
    conflicts: list[Conflict]
    tenants: dict[str, int]
    # What the merge would write, kept for merge(): not part of the public report.
    schemas: dict[str, Schema] = field(default_factory=dict, repr=False)
    plans: dict[str, Plan] = field(default_factory=dict, repr=False)
    config: Config | None = field(default=None, repr=False)

    @property
    def can_merge(self) -> bool:
        return not self.conflicts

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "base": self.base,
            "source_head": self.source_head, "target_head": self.target_head,
            "fast_forward": self.fast_forward, "up_to_date": self.up_to_date,
            "can_merge": self.can_merge, "changes": self.changes,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "tenants": self.tenants,
            "resolution": RESOLUTION if self.conflicts else None,
        }


@dataclass
class MergeResult:
    commit: str | None
    fast_forward: bool
    report: MergeReport
    tenants: dict[str, Any] = field(default_factory=dict)  # per database: tenants.follow's result
    sql: dict[str, list[str]] = field(default_factory=dict)  # per database: what tenants run
    dry_run: bool = False
    up_to_date: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "fast_forward": self.fast_forward,
                "up_to_date": self.up_to_date, "dry_run": self.dry_run,
                "tenants": self.tenants, "sql": self.sql, "report": self.report.to_dict()}


# --- checking -------------------------------------------------------------------------------


def check_merge(project: Project | Repo, source: str, target: str, *,
                target_head: str | None = None) -> MergeReport:
    """What merging ``source`` into ``target`` would do, and every conflict. Writes nothing.

    ``target_head``: the commit merged into (default: ``target``'s tip), for checking a merge
    git is making or has made (``cinch.engine.checks``); ``project`` may then be a bare
    repository's :class:`~cinch.engine.checks.Repo`, without tenants.
    """
    git, history = project.git, project.history
    target_head = target_head or git.branch_tip(target)
    if target_head is None:
        raise NotFound(f"no branch named {target!r}", branch=target)
    source_head = git.branch_tip(source) or git.resolve(source)
    base = git.merge_base(target_head, source_head)
    if base is None:
        raise BranchError(f"{source} and {target} share no history; they cannot be merged",
                          source=source, target=target)
    up_to_date = base == source_head
    config, conflicts = _merge_configs(project, base, target_head, source_head, target, source)
    before = _config_at(project, target_head)
    # A protected branch takes change sets only in merge commits: its history shows every
    # merge, and a pushed history can be checked for that (cinch.engine.checks).
    protected = before is not None and target in before.branches.protected
    report = MergeReport(source, target, base, source_head, target_head,
                         fast_forward=base == target_head and not up_to_date and not protected,
                         up_to_date=up_to_date, changes={}, conflicts=conflicts, tenants={},
                         config=config)
    for db in config.databases:
        known = {e.id for e in history.log(base, db)}
        ours_log, theirs_log = history.log(target_head, db), history.log(source_head, db)
        if theirs_log[:len(ours_log)] != ours_log:
            # Moving the ref would reorder what the target's tenants hold (its tip is reached
            # through a merge's second parent): a merge commit appends instead.
            report.fast_forward = False
        ours = [history.change(e) for e in ours_log if e.id not in known]
        theirs = [history.change(e) for e in theirs_log if e.id not in known]
        report.changes[db] = {"ours": [_summary(c) for c in ours],
                              "theirs": [_summary(c) for c in theirs]}
        report.tenants[db] = len(tenant_files(project, db, target))
        if up_to_date:
            continue
        result = merge_schemas(
            db, history.schema(base, db),
            Side(target, ours, history.schema(target_head, db)),
            Side(source, theirs, history.schema(source_head, db)),
            probe=_probe(project, db))
        report.conflicts += result.conflicts
        if result.schema is not None:
            report.schemas[db], report.plans[db] = result.schema, result.plan
    if not up_to_date:
        report.conflicts += _file_conflicts(project, base, target_head, source_head, target,
                                            source)
    return report


def _summary(change: ChangeSet) -> dict[str, Any]:
    return {"id": change.id, "message": change.message, "author": change.author.name,
            "operations": [describe(op) for op in change.operations]}


def _probe(project: Project | Repo, db: str) -> Probe | None:
    """Read-only: never creates a tenant, never copies a lazily forked one."""
    tenants = project.tenants
    if tenants is None:  # a bare repository: no tenants to look at
        return None

    def probe(branch: str, sql: str) -> str | None:
        for name, path in tenant_files(project, db, branch).items():
            if path is None:
                continue
            try:
                with tenants.pool.connection(path, read_only=True) as conn:
                    if conn.execute(sql).fetchone() is not None:
                        return name
            except sqlite3.Error:  # a tenant behind its branch may not have the table yet
                continue
        return None

    return probe


def tenant_files(project: Project | Repo, db: str, branch: str) -> dict[str, Path | None]:
    """Each tenant of ``db@branch`` and the file that holds its rows now, without side effects:
    a lazily forked tenant reads its parent's file (copy-before-write keeps them equal); None
    for one forked empty."""
    tenants = project.tenants
    if tenants is None:
        return {}
    readable = getattr(tenants, "readable", None)  # the tenants engine's own, when it has one
    if readable is not None:
        return dict(readable(db, branch))
    out: dict[str, Path | None] = {n: tenants.store.path(db, branch, n)
                                   for n in tenants.store.list(db, branch)}
    fork = getattr(tenants, "_fork", lambda *_: None)(db, branch)
    if fork is not None:
        parent = {} if fork.empty else tenant_files(project, db, fork.parent)
        for name in fork.pending:
            out.setdefault(name, parent.get(name))
    return out


def _config_at(project: Project | Repo, commit: str) -> Config | None:
    raw = project.git.read_file(commit, CONFIG_FILE)
    return parse_config(raw) if raw is not None else None


def _merge_configs(project: Project | Repo, base: str, ours: str, theirs: str, target: str,
                   source: str) -> tuple[Config, list[Conflict]]:
    mine, other = _config_at(project, ours), _config_at(project, theirs)
    if mine is None or other is None:
        raise GitError(f"{CONFIG_FILE} is missing from {target if mine is None else source}")
    return merge_config(_config_at(project, base), mine, other, target=target, source=source)


def _file_conflicts(project: Project | Repo, base: str, ours: str, theirs: str, target: str,
                    source: str) -> list[Conflict]:
    """Other committed files changed on both sides that git's text merge cannot merge.

    Merged file by file in memory: ``merge_commits`` would write blobs into the object store,
    and a refused merge must leave the repository byte for byte as it was.
    """
    git = project.git
    out = []
    both = set(git.changed_paths(base, ours)) & set(git.changed_paths(base, theirs))
    for path in sorted(both):
        if path == CONFIG_FILE or _SCHEMA_SQL.fullmatch(path):
            continue  # regenerated and merged by meaning
        clean = git.file_merges_cleanly(base, ours, theirs, path)
        if clean is None:
            continue  # the same on both sides
        if not clean or _CHANGE_FILE.fullmatch(path):
            why = ("a committed change set differs between the branches" if
                   _CHANGE_FILE.fullmatch(path) else "git cannot merge the two versions")
            out.append(Conflict(
                "file_conflict", "", path, Origin(None, f"{path} on {target}"),
                Origin(None, f"{path} on {source}"), f"{path}: {why}",
                [f"Keep {target}'s version: on {source}, `git checkout {target} -- {path}`, "
                 f"commit, then merge again.",
                 f"Merge it by hand: on {source}, edit {path} to hold both changes, commit, "
                 f"then merge again."]))
    return out


# --- merging --------------------------------------------------------------------------------


def merge(project: Project, source: str, target: str | None = None, *,
          message: str | None = None, dry_run: bool = False) -> MergeResult:
    """Merge ``source`` into ``target`` (the current branch by default), or refuse with
    :class:`MergeConflict` and change nothing."""
    target = target or project.current_branch
    if source == target:
        raise UsageError(f"cannot merge {target} into itself")
    with project.lock():
        report = check_merge(project, source, target)
        if report.conflicts:
            raise _refusal(report)
        if report.up_to_date:
            return MergeResult(report.target_head, False, report, dry_run=dry_run,
                               up_to_date=True)
        sql = {db: plan.statements for db, plan in report.plans.items() if plan.statements}
        for db, plan in report.plans.items():  # raises ApplyRefused before anything is written
            project.tenants.precheck(db, target, report.target_head, plan)
        if dry_run:
            return MergeResult(None, report.fast_forward, report, sql=sql, dry_run=True)
        _refuse_dirty(project, report)
        commit = _fast_forward(project, report) if report.fast_forward else \
            _merge_commit(project, report, message)
        tenants = {db: project.tenants.follow(db, target) for db in project.databases(target)}
    return MergeResult(commit, report.fast_forward, report, tenants=tenants, sql=sql)


def _refusal(report: MergeReport) -> MergeConflict:
    count = len(report.conflicts)
    return MergeConflict(
        f"cannot merge {report.source} into {report.target}: {count} conflict"
        f"{'s' if count != 1 else ''} ({summarize(report.conflicts)}); nothing was changed",
        hint=f"each conflict names two ways out; `cinch merge {report.source} --into "
             f"{report.target} --dry-run` shows them again",
        source=report.source, target=report.target, base=report.base,
        conflicts=[c.to_dict() for c in report.conflicts], resolution=RESOLUTION)


def _refuse_dirty(project: Project, report: MergeReport) -> None:
    """The merge rewrites files of a checked-out target: never over the user's edits."""
    if current_or_none(project) != report.target:
        return
    touched = set(project.git.changed_paths(report.base, report.source_head))
    touched |= {schema_file(db) for db in report.schemas} | {CONFIG_FILE}
    dirty = sorted(set(project.git.dirty_paths()) & touched)
    if dirty:
        raise DirtyWorkTree(
            f"uncommitted edits to {', '.join(dirty)} would be overwritten by the merge; "
            "nothing was changed", hint="commit or discard them, then merge again", paths=dirty)


def _fast_forward(project: Project, report: MergeReport) -> str:
    git = project.git
    git.set_branch(report.target, report.source_head, expected=report.target_head)
    if current_or_none(project) == report.target:
        git.sync_workdir(report.target_head, report.source_head)
    return report.source_head


def _merge_commit(project: Project, report: MergeReport, message: str | None) -> str:
    text = message or f"Merge branch '{report.source}' into {report.target}"
    text = f"{text.rstrip()}\n\nCinch-Merge: {report.source}\n"
    return project.git.commit(report.target, {}, text, project.author().as_tuple(),
                              parents=[report.target_head, report.source_head],
                              tree=_merged_tree(project, report))


def _merged_tree(project: Project, report: MergeReport) -> str:
    """git's tree merge, with the generated and the settings files written by meaning."""
    index = project.git.merge_index(report.target_head, report.source_head)
    files = {schema_file(db): schema_sql(schema, db).encode()
             for db, schema in report.schemas.items()}
    assert report.config is not None
    conflicted = index.conflicted()
    if CONFIG_FILE in conflicted or _config_in(index) != report.config:
        files[CONFIG_FILE] = report.config.to_toml()
    for path in conflicted:
        if path not in files:  # check_merge reported it; someone committed since
            raise GitError(f"{path} no longer merges cleanly; run the merge again", path=path)
        index.drop_conflict(path)
    for path, data in files.items():
        index.add(path, data)
    return index.write_tree()


def _config_in(index: IndexView) -> Config | None:
    raw = index.read(CONFIG_FILE)
    try:
        return parse_config(raw) if raw is not None else None
    except ValueError:
        return None


# --- a merge left by plain git --------------------------------------------------------------


def abort(project: Project) -> list[str]:
    """Clear a merge that plain git left in progress: the paths it touched back to HEAD.

    Like ``git merge --abort``: edits made to those paths since are discarded too.
    """
    git = project.git
    paths = set(git.staged_index().conflicted())
    merging = git.merge_in_progress()
    if merging is None and not paths:
        raise BranchError("no merge in progress; nothing to abort")
    head = git.head_commit()
    for merge_head in merging or []:
        paths |= set(git.changed_paths(head, merge_head))
    git.reset_paths(sorted(paths))
    return sorted(paths)
