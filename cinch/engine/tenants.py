"""Tenants: one SQLite file per (database, branch, tenant), each following its branch.

Every tenant records in its own ledger the *set* of change sets it holds, so it can be moved to
any commit of git's history (``cinch.engine.moves``): forward, back after a reset, sideways
after a pull. Moving is idempotent and resumable, one transaction per change set; a tenant
whose file disagrees with cinch's record of it (drift) is never moved. A per-branch *template*
(a tenant kept at the branch head) makes creating a tenant a file copy.

Branches fork their tenants lazily (see ``docs/content/concepts/tenants.md``): a new branch lists its parent's
tenants at the moment it was created, and copies each one when it is first used there, or just
before the parent changes it through cinch (schema change, write, delete), whichever is first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from cinch.engine import parallel, processes, tenant_catalog
from cinch.engine.moves import UNWOUND, MovePlan, Step, plan_move
from cinch.errors import (
    AlreadyExists,
    ApplyIncomplete,
    ApplyRefused,
    CinchError,
    NotFound,
    TenantDrifted,
    TenantError,
    UsageError,
)
from cinch.models.changeset import ChangeSet, parse_change
from cinch.names import check_tenant_name
from cinch.planner.plan import Plan
from cinch.stores import group_commit, synced
from cinch.stores import tenantstore as ts

if TYPE_CHECKING:
    from cinch.engine.project import Project
    from cinch.stores.sqlite_conn import CinchConnection

MAIN_TENANT = "main"
# Tenants of an apply whose catalog rows are written (marked, then confirmed) together. On
# worker processes, more: every worker waits for the slowest at the end of a batch.
_CATALOG_BATCH = 256
_CATALOG_BATCH_FORKED = 1024
# Tenants whose commits are made durable together (two file-system syncs for the group): a
# group holds its connections open until then, so it stays well inside the pool.
_GROUP_COMMIT = 32
# From this many tenants in one apply, several workers are processes rather than threads:
# forking them costs a few milliseconds each, about what threads lose to the GIL over a few
# hundred tenants (bench/bench_parallel.py).
_PROCESSES_FROM = 500
Progress = Callable[[int, int], None]
R = TypeVar("R")


# "not copied yet": a tenant of a lazy fork that still reads its parent's file.
TenantState = Literal["up to date", "behind", "drifted", "not copied yet"]


@dataclass
class TenantInfo:
    name: str
    database: str
    branch: str
    path: str
    size: int
    applied: int
    state: TenantState
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fork:
    parent: str
    commit: str
    empty: bool
    pending: set[str]


class Tenants:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.pool = ts.ConnectionPool(max_open=64)
        self.store = ts.TenantStore(project.state_dir / "tenants", pool=self.pool)
        self._template_at: dict[tuple[str, str], str] = {}
        self._targets: dict[tuple[str, str], tuple[list[ChangeSet], str]] = {}
        self._plans: dict[tuple[str, str, tuple[str, ...]], MovePlan] = {}
        self._expected: dict[tuple[str, str], tuple[str, str]] = {}
        self._snapshot_bases: dict[tuple[str, str], str] = {}
        self._move_locks: dict[tuple[str, str], threading.RLock] = {}
        self._move_depth: dict[tuple[str, str], tuple[int, int, int]] = {}  # depth, fd, thread
        self._forks: dict[tuple[str, str], Fork | None] = {}
        # Open Tenant handles (they may hold a read connection to their file).
        self.handles: weakref.WeakSet[Any] = weakref.WeakSet()
        # Children per branch, keyed by the forks folder's mtime: another process may fork.
        self._children_cache: dict[tuple[str, str], tuple[int, list[str]]] = {}
        self._forks_folders: dict[str, str] = {}  # db -> its forks folder
        self._lock_files: dict[tuple[str, str], str] = {}  # (db, branch) -> its lock file
        # Workers bringing tenants along at once; None: CINCH_APPLY_WORKERS, else the cores.
        self.apply_workers: int | None = None
        # Applies to at least this many tenants fork worker processes (:mod:`processes`);
        # the pids of the last apply's processes (none: it ran on threads or alone).
        self.processes_from = _PROCESSES_FROM
        self.worker_processes: list[int] = []
        # In a worker process: what needs git is the parent's (see _find_held, _retention).
        self._in_worker = False
        self._pinned_retention: dict[str, int | None] = {}
        # Each tenant's state, kept by every operation below that changes a tenant file
        # (`with self.catalog.changing(...)`), so status and list pages need not open them all.
        self.catalog = tenant_catalog.open_catalog(self)

    def close(self) -> None:
        self._close_handles()
        self.pool.close_all()
        self.catalog.close()

    def _close_handles(self, db: str | None = None, branch: str | None = None,
                       name: str | None = None) -> None:
        for handle in list(self.handles):
            if (db is None or handle.database == db) and (branch is None or handle.branch ==
                                                           branch) and (name is None or
                                                                        handle.name == name):
                handle.close()

    # --- moves: from the change sets a tenant holds to a commit's -------------------------

    def target(self, db: str, head: str) -> tuple[list[ChangeSet], str]:
        """The change sets of ``db``'s log at ``head``, and the digest of their ids."""
        key = (db, head)
        cached = self._targets.get(key)
        if cached is None:
            history = self.project.history
            changes = [history.change(e) for e in history.log(head, db)]
            cached = (changes, ts.ledger_digest(c.id for c in changes))
            if len(self._targets) > 64:
                self._targets.clear()
            self._targets[key] = cached
        return cached

    def plan_move(self, db: str, head: str, held: Sequence[str],
                  bodies: Callable[[], dict[str, bytes]],
                  commits: Callable[[], Sequence[str]] = tuple) -> MovePlan:
        """Steps from the set ``held`` (in the order applied) to the log at ``head``; shared
        by every tenant holding the same set. ``bodies`` and ``commits`` (the commits the
        tenant's changes were applied at, latest first) are read only for a held change set
        the log lacks."""
        key = (db, head, tuple(held))
        cached = self._plans.get(key)
        if cached is not None:
            return cached
        target, _ = self.target(db, head)
        known = {c.id: c for c in target}

        def lookup(change_id: str) -> ChangeSet:
            found = known.get(change_id)
            if found is None:
                found = self._find_held(db, change_id, bodies, commits)
                known[change_id] = found
            return found

        plan_ = plan_move(held, target, lookup)
        if len(self._plans) > 256:
            self._plans.clear()
        self._plans[key] = plan_
        return plan_

    def _find_held(self, db: str, change_id: str, bodies: Callable[[], dict[str, bytes]],
                   commits: Callable[[], Sequence[str]]) -> ChangeSet:
        """A change set the tenant holds but the target lacks: from the copy the tenant kept,
        else from the commits it was applied at (still in git after a reset or rebase)."""
        body = bodies().get(change_id)
        if body is not None:
            return parse_change(body, f"(tenant copy of {change_id})")
        if self._in_worker:
            raise processes.ParentOnly(f"change {change_id} is read from git")
        history = self.project.history
        for commit in dict.fromkeys(commits()):
            try:
                entries = history.log(commit, db)
            except CinchError:
                continue  # that commit is gone (git gc): try the others
            for entry in entries:
                if entry.id == change_id:
                    return history.change(entry)
        raise TenantError(
            f"change {change_id} is held by the tenant but found neither in the tenant nor in "
            "git, so it cannot be unwound", change_id=change_id,
            hint="`cinch tenant repair` plans the tenant's way to the branch head from the "
                 "schema it has")

    # --- templates ------------------------------------------------------------------------

    def template_path(self, db: str, branch: str) -> Path:
        return (self.project.state_dir / "templates" / db / ts.branch_key(branch)
                / "template.db")

    def template(self, db: str, branch: str) -> Path:
        """The branch's template, brought to the branch head first."""
        head = self._head(branch)
        path = self.template_path(db, branch)
        if self._template_at.get((db, branch)) == head and path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and self._template_moves_forward(path, db, head):
            try:
                changed = self._move(path, db, head, name="(template)", verify=False)
            except TenantError:
                changed = -1
            if changed < 0:
                self._drop_template(db, branch)
                return self.template(db, branch)
            if changed:
                self.pool.close_path(path)
                ts.finalize_template(path)
        else:
            # New, or the branch moved back or sideways under it (git reset, rebase): the
            # template is derived state, built again from the log in the log's order.
            self._drop_template(db, branch)
            tmp = path.with_name(f"template.{os.getpid()}.tmp")
            try:
                conn = ts.connect(tmp)
                ts.ensure_ledger(conn)
                conn.close()
                self._move(tmp, db, head, name="(template)", verify=False)
                self.pool.close_path(tmp)
                ts.finalize_template(tmp)
                os.replace(tmp, path)
            finally:
                self.pool.close_path(tmp)
                for extra in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                    extra.unlink(missing_ok=True)
        self._template_at[(db, branch)] = head
        return path

    def _template_moves_forward(self, path: Path, db: str, head: str) -> bool:
        wanted = {c.id for c in self.target(db, head)[0]}
        with self.pool.connection(path, read_only=True) as conn:
            return set(ts.read_ledger(conn)) <= wanted

    def _drop_template(self, db: str, branch: str) -> None:
        path = self.template_path(db, branch)
        self.pool.close_path(path)
        for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            extra.unlink(missing_ok=True)
        self._template_at.pop((db, branch), None)

    def expected(self, db: str, branch: str) -> tuple[str, str]:
        """The exact and the shape fingerprint of the branch head's schema (its template's)."""
        head = self._head(branch)
        cached = self._expected.get((db, head))
        if cached is None:
            with self.pool.connection(self.template(db, branch), read_only=True) as conn:
                cached = (ts.schema_fingerprint(conn), ts.shape_fingerprint(conn))
            self._expected[(db, head)] = cached
        return cached

    def _head(self, branch: str) -> str:
        head = self.project.git.branch_tip(branch)
        if head is None:
            raise NotFound(f"no branch named {branch!r}", branch=branch)
        return head

    def at_head(self, path: Path, db: str, head: str) -> bool:
        """Whether the tenant's recorded ledger is the head's set (one small read)."""
        _, digest = self.target(db, head)
        with self.pool.connection(path, read_only=True) as conn:
            return ts.read_state(conn).get("ledger") == digest

    def _move(self, path: Path, db: str, head: str, *, name: str, branch: str = "",
              verify: bool = True, report: dict[str, int] | None = None,
              before: Callable[[], None] | None = None, marked: bool = False,
              group: group_commit.GroupCommit | None = None,
              expected: tuple[str, str] | None = None,
              conn: CinchConnection | None = None) -> int:
        """:meth:`_move_file`, the catalog told first where the tenant is going (a failed or
        refused move has the catalog read the file again); ``marked``: the caller told it
        already, for a batch of tenants."""
        if not branch or marked:  # a template (not a tenant), or the catalog knows
            return self._move_file(path, db, head, name=name, branch=branch, verify=verify,
                                   report=report, before=before, group=group,
                                   expected=expected, conn=conn)
        with self.catalog.changing(db, branch, [tenant_catalog.at_head(self, db, head, name)]):
            return self._move_file(path, db, head, name=name, branch=branch, verify=verify,
                                   report=report, before=before, conn=conn)

    def _move_file(self, path: Path, db: str, head: str, *, name: str, branch: str = "",
                   verify: bool = True, report: dict[str, int] | None = None,
                   before: Callable[[], None] | None = None,
                   group: group_commit.GroupCommit | None = None,
                   expected: tuple[str, str] | None = None,
                   conn: CinchConnection | None = None) -> int:
        """Bring the file to the log at ``head``: unwind what it holds that the log lacks,
        apply what it lacks. The number of steps taken; a drifted tenant raises
        :class:`TenantDrifted` untouched. In a ``group``, the commits are durable only once
        the group finishes; ``expected``: :meth:`expected` for the branch, when the caller
        just computed it; ``conn``: a connection to the file the caller holds."""
        _, digest = self.target(db, head)
        with (contextlib.nullcontext(conn) if conn is not None else self.pool.connection(path)
              if group is None else group.connection(path)) as conn:
            # In an apply to many tenants nearly every one moves: what is read here then
            # stands in for the step's own reads under the write lock (see ts.Known).
            seen = ts.data_version(conn) if group is not None else None
            recorded = ts.read_recorded(conn)  # the record and the ledger: one read
            state, held, ready = recorded.state, recorded.ids, recorded.complete
            if state.get("ledger") == digest:
                return 0
            if not state and self._holds_exactly(db, head, held):
                return 0  # made before cinch kept a record: nothing to move
            cookie = ts.schema_cookie(conn)
            reason = ts.drift(conn, held, state, cookie=cookie)
            if reason:
                raise TenantDrifted(
                    f"tenant {name} has drifted: {reason}; it was left untouched",
                    hint=f"cinch tenant repair {name} --dry-run shows the way back",
                    tenant=name, path=str(path))
            plan_ = self.plan_move(
                db, head, held, lambda: ts.change_bodies(conn),
                lambda: [r.commit_id for r in reversed(ts.read_ledger_rows(conn))])
            if before is not None:
                before()  # e.g. copy-before-write: only now that the tenant will change
            if not (verify and branch):
                expected = None
            elif expected is None:
                expected = self.expected(db, branch)
            kept = self._has_snapshots(db, branch, name) if branch else False
            known = (ts.Known(held, seen, state.get("fingerprint"), cookie, recorded.top)
                     if seen is not None and ready else None)
            moved = 0
            for index, step in enumerate(plan_.steps):
                last = index == len(plan_.steps) - 1
                if step.snapshot and branch:
                    self._snapshot(conn, path, db, branch, name, step)
                    kept = True
                found = self._kept_for(db, branch, name, step) if kept else None
                restore = self._restorer(step, found, report)
                check = self._checker(name, step, expected) if last else None
                if step.forward:
                    done = ts.apply_change(conn, step.change_id, head, step.statements,
                                           rebuild=step.rebuild, check_first=False,
                                           body=step.body, after=restore, check=check,
                                           ledger_ready=ready,
                                           known=None if step.snapshot else known)
                else:
                    done = ts.unwind_change(conn, step.change_id, head, step.statements,
                                            rebuild=step.rebuild, after=restore, check=check,
                                            ledger_ready=ready,
                                            known=None if step.snapshot else known)
                known = None  # the first step only: the file has moved since
                moved += done
                if done and found is not None and found.stem.endswith(UNWOUND):
                    found.unlink(missing_ok=True)  # rows kept by an unwind go back once
            return moved

    def _holds_exactly(self, db: str, head: str, held: list[str]) -> bool:
        wanted = {c.id for c in self.target(db, head)[0]}
        return set(held) == wanted and len(held) == len(wanted)

    def _snapshot_folder(self, db: str, branch: str, name: str) -> Path:
        """``.cinch/snapshots/<db>/<branch-key>/<tenant>`` (the branch part computed once)."""
        return Path(self._snapshot_base(db, branch), name)

    def _has_snapshots(self, db: str, branch: str, name: str) -> bool:
        # A str path, checked for every tenant a move reaches: a Path costs more than the stat.
        return os.path.isdir(os.path.join(self._snapshot_base(db, branch), name))

    def _snapshot_base(self, db: str, branch: str) -> str:
        base = self._snapshot_bases.get((db, branch))
        if base is None:
            from cinch.engine import snapshots

            base = str(snapshots.snapshot_path(snapshots.snapshot_root(self.project), db,
                                               branch, "t", "x").parent.parent)
            self._snapshot_bases[(db, branch)] = base
        return base

    def _snapshot(self, conn: Any, path: Path, db: str, branch: str, name: str,
                  step: Step) -> None:
        """Keep the rows a step drops, so the step that brings the object back restores them."""
        from cinch.engine import snapshots

        assert step.snapshot is not None
        folder = snapshots.snapshot_path(snapshots.snapshot_root(self.project), db, branch,
                                         name, step.snapshot).parent
        snapshots.snapshot_before_drop(conn, path, step.snapshot, step.ops, folder,
                                       retention_days=self._retention(branch),
                                       before=step.before, skip_if_held=step.forward)

    def _retention(self, branch: str) -> int | None:
        if branch in self._pinned_retention:
            return self._pinned_retention[branch]
        if self._in_worker:
            raise processes.ParentOnly(f"the settings of {branch} are read from git")
        return self.project.config(branch).tenants.snapshot_retention_days

    def _kept_for(self, db: str, branch: str, name: str, step: Step) -> Path | None:
        """The snapshot a step restores from: the first of its keys kept for this tenant."""
        folder = self._snapshot_folder(db, branch, name)
        return next((path for key in step.restore
                     if (path := folder / f"{key}.db").is_file()), None)

    @staticmethod
    def _restorer(step: Step, found: Path | None,
                  report: dict[str, int] | None) -> Callable[[Any], None] | None:
        """Inside the step's transaction: put back the rows kept for it."""
        if found is None:
            return None
        from cinch.engine import snapshots

        def restore(conn: Any) -> None:
            rows = snapshots.restore_into(conn, found, step.after)
            if report is not None:
                report[step.change_id] = report.get(step.change_id, 0) + rows

        return restore

    @staticmethod
    def _checker(name: str, step: Step,
                 expected: tuple[str, str] | None) -> Callable[[Any, str], None] | None:
        """After the last step: the tenant must have the head's schema (column order aside),
        else that step rolls back and the tenant is reported."""
        if expected is None:
            return None
        exact, shape = expected

        def check(conn: Any, fingerprint: str) -> None:
            if fingerprint != exact and ts.shape_fingerprint(conn) != shape:
                raise TenantError(
                    f"tenant {name}: after the move its schema differs from the head's "
                    f"(change {step.change_id} did not commute with what it held); the last "
                    "step was rolled back", tenant=name, change_id=step.change_id,
                    hint=f"cinch tenant repair {name} --dry-run shows the way to the head")

        return check

    # --- forks (branches) -----------------------------------------------------------------

    def _fork_file(self, db: str, branch: str) -> Path:
        return self.project.state_dir / "forks" / db / f"{ts.branch_key(branch)}.json"

    def _fork(self, db: str, branch: str) -> Fork | None:
        key = (db, branch)
        if key not in self._forks:
            path = self._fork_file(db, branch)
            if path.exists():
                data = json.loads(path.read_text())
                self._forks[key] = Fork(data["parent"], data["commit"], data["empty"],
                                        set(data["pending"]))
            else:
                self._forks[key] = None
        return self._forks[key]

    def _save_fork(self, db: str, branch: str, fork: Fork | None) -> None:
        path = self._fork_file(db, branch)
        self._forks[(db, branch)] = fork
        if fork is None or not fork.pending:
            path.unlink(missing_ok=True)
            self._forks[(db, branch)] = None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"branch": branch, "parent": fork.parent,
                                   "commit": fork.commit, "empty": fork.empty,
                                   "pending": sorted(fork.pending)}))
        os.replace(tmp, path)

    def _children(self, db: str, branch: str) -> list[str]:
        folder = self._forks_folders.get(db)
        if folder is None:
            folder = self._forks_folders[db] = os.path.join(self.project.state_dir, "forks", db)
        try:
            stamp = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            return []
        cached = self._children_cache.get((db, branch))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        self._forks = {k: v for k, v in self._forks.items() if k[0] != db}
        out = []
        for entry in os.scandir(folder):
            if not entry.name.endswith(".json"):
                continue
            child = ts.branch_from_key(entry.name.removesuffix(".json"))
            if child is None:  # a long branch name's hashed key: the file names the branch
                try:
                    child = json.loads(Path(entry.path).read_text())["branch"]
                except (OSError, ValueError, KeyError):
                    continue
            if child:
                fork = self._fork(db, child)
                if fork is not None and fork.parent == branch:
                    out.append(child)
        self._children_cache[(db, branch)] = (stamp, out)
        return out

    def fork(self, db: str, parent: str, child: str, *, empty: bool = False) -> int:
        """Give a new branch its parent's tenants, copied lazily; O(1) in their size.

        Whatever a deleted branch of the same name left (tenant files, fork record, template)
        is stale: it goes first, so old rows never come back under the new branch."""
        if self.store.folder(db, child).exists() or self._fork(db, child) is not None:
            self.delete_branch(db, child)
        names = set(self.names(db, parent))
        self.catalog.forget_branch(db, child)
        self._save_fork(db, child, Fork(parent, self._head(parent), empty, names))
        self.catalog.fork(db, parent, child, empty)
        return len(names)

    def _materialize(self, db: str, branch: str, name: str, *, save: bool = True) -> None:
        fork = self._fork(db, branch)
        if fork is None or name not in fork.pending:
            return
        with self.catalog.changing(db, branch, [self._at_head(db, branch, name)]):
            self._materialize_file(db, branch, name, fork, save=save)

    def _materialize_file(self, db: str, branch: str, name: str, fork: Fork, *, save: bool,
                          head: str | None = None, marked: bool = False) -> None:
        """``marked``: the caller told the catalog (a worker process does not write it)."""
        if head is None:
            head = self._head(branch)
        if self.store.exists(db, branch, name):
            # Copied and published before a crash kept the record from saying so: a copy is
            # published whole (and synced), so only the move may be left to do.
            self._move(self.store.path(db, branch, name), db, head, name=name, branch=branch,
                       marked=marked)
        elif fork.empty or (name == MAIN_TENANT and not self._exists(db, fork.parent, name)):
            self.store.create_from_template(self.template(db, branch), db, branch, name)
        else:
            self.path(db, fork.parent, name)  # the parent may itself hold it lazily

            def settle(copy: Path) -> bool:
                # The copy reaches the head before it gets the tenant's name: one pass over
                # the new file, and never a half-made copy under that name; the store syncs
                # it once after.
                with ts.private_copy(copy) as conn:
                    self._move(copy, db, head, name=name, branch=branch, marked=marked,
                               conn=conn)
                return False

            self.store.copy_branch_tenant(db, fork.parent, branch, name, prepare=settle)
        fork.pending.discard(name)
        if save:
            self._save_fork(db, branch, fork)

    def before_write(self, db: str, branch: str, name: str) -> None:
        """Copy-before-write: branches forked from this one take their copy first."""
        for child in self._children(db, branch):
            self._materialize(db, child, name)

    def readable(self, db: str, branch: str) -> dict[str, Path | None]:
        """Each tenant and the file holding its rows right now, creating and copying nothing:
        a tenant not copied yet reads its parent's file (copy-before-write keeps them equal),
        one forked empty has no rows (None)."""
        out: dict[str, Path | None] = dict(self.store.paths(db, branch))
        fork = self._fork(db, branch)
        if fork is not None:
            parent = {} if fork.empty else self.readable(db, fork.parent)
            for name in fork.pending:
                out.setdefault(name, parent.get(name))
        return out

    def known_branch(self, db: str, branch: str) -> bool:
        """Whether cinch holds tenants of the branch, or a fork record for it."""
        return self.store.folder(db, branch).exists() or self._fork(db, branch) is not None

    def _exists(self, db: str, branch: str, name: str) -> bool:
        fork = self._fork(db, branch)
        return self.store.exists(db, branch, name) or (fork is not None and name in fork.pending)

    # --- listing and lifecycle ------------------------------------------------------------

    def names(self, db: str, branch: str) -> list[str]:
        self._ensure_main(db, branch)
        own = set(self.store.list(db, branch))
        fork = self._fork(db, branch)
        return sorted(own | fork.pending) if fork else sorted(own)

    def _ensure_main(self, db: str, branch: str) -> None:
        if not self._exists(db, branch, MAIN_TENANT):
            self.create(db, branch, MAIN_TENANT)

    # Creating, copying, renaming and deleting tenants take the project lock here, in the
    # engine, so every caller (CLI, HTTP, a Python script) is serialised with schema changes.

    def create(self, db: str, branch: str, name: str) -> Path:
        check_tenant_name(name)
        with self.project.lock():
            if self._exists(db, branch, name):
                raise AlreadyExists(f"tenant {name!r} already exists on {db}@{branch}",
                                    tenant=name)
            template = self.template(db, branch)
            with self.catalog.changing(db, branch, [self._at_head(db, branch, name)]):
                return self.store.create_from_template(template, db, branch, name)

    def _at_head(self, db: str, branch: str, name: str) -> tenant_catalog.Record:
        return tenant_catalog.at_head(self, db, self._head(branch), name)

    def create_many(self, db: str, branch: str, names: list[str]) -> list[Path]:
        """Create many tenants at once (all or none): one template, file copies in parallel."""
        if len(set(names)) != len(names):
            raise UsageError("a tenant name is given twice", names=names[:20])
        for name in names:
            check_tenant_name(name)
        with self.project.lock():
            for name in names:
                if self._exists(db, branch, name):
                    raise AlreadyExists(f"tenant {name!r} already exists on {db}@{branch}",
                                        tenant=name)
            template = self.template(db, branch)
            records = tenant_catalog.at_head_many(self, db, self._head(branch), names)
            with self.catalog.changing(db, branch, records):
                return self.store.create_many_from_template(template, db, branch, names)

    def path(self, db: str, branch: str, name: str, *, create_main: bool = True) -> Path:
        """The tenant's file, copied from the parent branch first if it is still lazy."""
        return Path(self.file(db, branch, name, create_main=create_main))

    def file(self, db: str, branch: str, name: str, *, create_main: bool = True) -> str:
        """:meth:`path` as text: a tenant handle is made per request, a ``Path`` costs."""
        if name == MAIN_TENANT and create_main:
            self._ensure_main(db, branch)
        fork = self._fork(db, branch)
        if fork is not None and name in fork.pending:
            path = self.store.file(db, branch, name)  # checks the name
            self._materialize(db, branch, name)
            return path
        found = self.store.existing_file(db, branch, name)  # checks the name; one lstat
        if found is None:
            raise NotFound(f"no tenant named {name!r} on {db}@{branch}", tenant=name)
        return found

    def linked(self, db: str, branch: str, name: str) -> str | None:
        """The file a tenant adopted in place stands for (None for a tenant of cinch's own)."""
        return self.store.linked(db, branch, name)

    def delete(self, db: str, branch: str, name: str) -> None:
        check_tenant_name(name)
        with self.project.lock():
            self._delete(db, branch, name)

    def _delete(self, db: str, branch: str, name: str) -> None:
        if not self._exists(db, branch, name):
            raise NotFound(f"no tenant named {name!r} on {db}@{branch}", tenant=name)
        self.before_write(db, branch, name)
        fork = self._fork(db, branch)
        with self.catalog.changing(db, branch, gone=[name]):
            if fork is not None and name in fork.pending:
                fork.pending.discard(name)
                self._save_fork(db, branch, fork)
            else:
                self._close_handles(db, branch, name)
                self.store.delete(db, branch, name)

    def rename(self, db: str, branch: str, old: str, new: str) -> None:
        with self.project.lock():
            self.path(db, branch, old)
            check_tenant_name(new)
            if self._exists(db, branch, new):
                raise AlreadyExists(f"tenant {new!r} already exists", tenant=new)
            self.before_write(db, branch, old)
            self._close_handles(db, branch, old)
            record = tenant_catalog.renamed(self, db, branch, old, new)
            with self.catalog.changing(db, branch, [record], gone=[old]):
                self.store.rename(db, branch, old, new)

    def copy(self, db: str, branch: str, src: str, dst: str) -> None:
        with self.project.lock():
            self.path(db, branch, src)
            check_tenant_name(dst)
            if self._exists(db, branch, dst):
                raise AlreadyExists(f"tenant {dst!r} already exists", tenant=dst)
            record = tenant_catalog.renamed(self, db, branch, src, dst)
            with self.catalog.changing(db, branch, [record]):
                self.store.copy(db, branch, src, dst)

    def release_children(self, db: str, branch: str) -> None:
        """Branches forked from this one take their copies of its tenants now: before the
        branch goes, while its head (which a copy of a lazy tenant is moved to) still exists."""
        for child in self._children(db, branch):
            fork = self._fork(db, child)
            for name in sorted(fork.pending if fork else ()):
                self._materialize(db, child, name)

    def delete_branch(self, db: str, branch: str) -> None:
        """Remove a branch's tenants; branches forked from it take their copies first."""
        self.release_children(db, branch)
        self._close_handles(db, branch)
        self.pool.close_under(self.store.folder(db, branch))
        self.catalog.forget_branch(db, branch)
        self.store.delete_branch(db, branch)
        self._save_fork(db, branch, None)
        self.catalog.drop_branch(db, branch)
        self._mark_synced(db, branch, None)  # a branch made again under the name starts unsynced
        shutil.rmtree(self.template_path(db, branch).parent, ignore_errors=True)
        self._template_at.pop((db, branch), None)

    # --- following the branch -------------------------------------------------------------

    def precheck(self, db: str, branch: str, tip: str, plan_: Plan) -> dict[str, Any]:
        """Refuse, before anything is written, a change some tenant's data would make fail
        (or that a tenant adopted in place whose file went missing could not take)."""
        self.store.check_links(db, branch)
        if not plan_.checks:
            return {"checked": 0}
        files = self.readable(db, branch)  # a tenant not copied yet is checked where it is
        names = sorted(files)
        for name in names:
            path = files[name]
            if path is None:
                continue  # forked empty: no rows to check
            with self.pool.connection(path, read_only=True) as conn:
                if ts.drift(conn) is not None:
                    continue  # drifted: no apply reaches it, so its data cannot refuse one
                for check in plan_.checks:
                    if conn.execute(check.sql).fetchone() is not None:
                        raise ApplyRefused(
                            f"tenant {name!r}: {check.reason}; nothing was changed",
                            tenant=name, reason=check.reason, database=db, branch=branch)
        return {"checked": len(names)}

    @contextlib.contextmanager
    def moving(self, db: str, branch: str) -> Iterator[None]:
        """Hold the branch's tenants still: one mover at a time, and no write through cinch
        (see :meth:`writing`) between a change's data check and its apply. Re-entrant in a
        thread; across threads and processes an exclusive ``flock``."""
        key = (db, branch)
        lock = self._move_locks.setdefault(key, threading.RLock())
        with lock:
            depth, fd, _ = self._move_depth.get(key, (0, -1, 0))
            if depth == 0:
                fd = self._lock_fd(db, branch)
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._move_depth[key] = (depth + 1, fd, threading.get_ident())
            try:
                yield
            finally:
                depth, fd, owner = self._move_depth[key]
                self._move_depth[key] = (depth - 1, fd, owner)
                if depth == 1:
                    os.close(fd)  # closing releases the flock
                    del self._move_depth[key]

    def writing(self, db: str, branch: str) -> SharedWrite:
        """Writes to tenants through cinch share this; a mover waits for them, they wait for it.
        (A class, not a generator: every transaction of every tenant takes it.)"""
        return SharedWrite(self, db, branch)

    def _shared_lock(self, db: str, branch: str) -> int:
        """The branch's lock file, open and locked shared; -1 when this thread is the mover
        (say, a revert putting rows back), which already holds it exclusively."""
        held = self._move_depth.get((db, branch))
        if held is not None and held[2] == threading.get_ident():
            return -1
        fd = self._lock_fd(db, branch)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _lock_fd(self, db: str, branch: str) -> int:
        path = self._lock_files.get((db, branch))
        if path is None:  # every write takes this lock: build its path once
            path = os.path.join(self.project.state_dir, "locks", "tenants", db,
                                ts.branch_key(branch))
            if len(self._lock_files) > 4096:
                self._lock_files.clear()
            self._lock_files[(db, branch)] = path
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def _synced_file(self, db: str, branch: str) -> Path:
        return synced.path(self.project.state_dir, db, ts.branch_key(branch))

    def _synced_at(self, db: str, branch: str) -> str | None:
        """The head every tenant of the branch was last brought to, if nothing moved since."""
        return synced.read(self._synced_file(db, branch), branch)

    def _still_synced(self, db: str, branch: str, head: str) -> bool:
        """Whether every tenant of the branch is at ``head`` without looking at one: the branch
        was marked synced at ``head``, or at a commit with the same change log (a commit that
        changed other files: the mark moves on to ``head``)."""
        marked = self._synced_at(db, branch)
        if marked is None:
            return False
        if marked == head:
            return True
        history = self.project.history
        try:
            same = [e.id for e in history.log(marked, db)] == [e.id for e in history.log(head, db)]
        except CinchError:  # the marked commit is gone (git gc): look at the tenants
            return False
        if same:
            self._mark_synced(db, branch, head)
        return same

    def _mark_synced(self, db: str, branch: str, head: str | None) -> None:
        synced.write(self._synced_file(db, branch), head, branch)

    def follow(self, db: str, branch: str, progress: Progress | None = None, *,
               full: bool = False) -> dict[str, Any]:
        """Bring every tenant of the branch to its head, wherever in git's history each one
        is (behind, ahead after a reset, sideways after a pull). Safe to run again after a
        crash. Drifted tenants are skipped and reported; lazy ones are copied only when a
        change set must reach them. ``full`` looks at every tenant even when the branch is
        marked synced at its head: a file put back from a backup is behind without cinch
        having moved it."""
        with self.moving(db, branch):
            head = self._head(branch)
            files = self.store.paths(db, branch)  # one listing, not a path lookup per tenant
            fork = self._fork(db, branch)
            if fork is not None and fork.pending & files.keys():
                fork.pending -= files.keys()  # copied before a crash kept the record from saying so
                self._save_fork(db, branch, fork)
                fork = self._fork(db, branch)
            lazy = set(fork.pending) if fork is not None else set()
            names = sorted(files.keys() | lazy)
            if not full and MAIN_TENANT in names and self._still_synced(db, branch, head):
                return {"tenants": len(names), "updated": 0, "failed": [], "drifted": []}
            self._mark_synced(db, branch, None)  # until every tenant is at the head again
            self.template(db, branch)
            if MAIN_TENANT not in names:
                self._ensure_main(db, branch)
                names = sorted({*names, MAIN_TENANT})
            children = self._children(db, branch)
            fork = self._fork(db, branch)  # the record copies update (_children reloads them)
            sources = (self.readable(db, fork.parent) if fork is not None and lazy
                       and not fork.empty else {})
            applied, failed, drifted = 0, [], []
            restored: dict[str, dict[str, int]] = {}
            progress = progress or self.project.progress

            def one(name: str, group: group_commit.GroupCommit | None,
                    ) -> tuple[int, dict[str, int]]:
                if name in lazy:
                    if self._in_worker:  # only names of copy_now reach a worker
                        assert fork is not None
                        return self._copy_lazy(db, branch, name, fork, head), {}
                    return self._follow_lazy(db, branch, sources.get(name), name, head), {}
                path = files.get(name) or self.store.path(db, branch, name)
                report: dict[str, int] = {}
                return self._move(path, db, head, name=name, branch=branch, report=report,
                                  before=self._copy_into(db, children, name),
                                  marked=True, group=group, expected=expected), report

            if children and len(files) >= self.processes_from and self.workers() >= 2:
                # A large apply: the children take their copies first, on worker processes,
                # so the apply itself is free to use them too.
                children = self._copy_into_children_first(db, children, files.keys())
            # Copies into child branches and a lazy parent's copies change shared records: one
            # tenant after the other then.
            alone = bool(children) or (fork is not None and self._fork(db, fork.parent) is not None)
            workers = 1 if alone else self.workers()
            expected = self.expected(db, branch)  # once here, not by every worker
            # A lazy tenant whose source the catalog knows to be off the head (a branch's first
            # change) is copied and moved by a worker process like any other tenant; this
            # process keeps the fork record and decides the rest (staying lazy is one read).
            copy_now = (self._off_head(db, fork.parent, head, lazy)
                        if workers >= 2 and lazy and fork is not None and not fork.empty
                        else set())
            here = lazy - copy_now
            forked = (workers >= 2 and len(names) - len(here) >= self.processes_from
                      and processes.usable())
            done = 0
            # pending names per child branch, as last saved (see _save_children)
            pending = {child: len(f.pending) for child in children
                       if (f := self._fork(db, child)) is not None}
            try:
                with self._worker_processes(db, branch, one, workers if forked else 0) as procs:
                    # The catalog is told where a batch of tenants is going in one write, and
                    # that they got there in one more, rather than twice per tenant.
                    size = _CATALOG_BATCH if procs is None else _CATALOG_BATCH_FORKED
                    for start in range(0, len(names), size):
                        batch = names[start:start + size]
                        announced = (lambda n: n not in lazy) if procs is None else (
                            lambda n: n not in here)
                        going = [tenant_catalog.at_head(self, db, head, name) for name in batch
                                 if announced(name)]
                        # closing: on an interrupt, every worker is done before the
                        # catalog reads the batch's files again
                        with self.catalog.changing(db, branch, going) as recheck, \
                                contextlib.closing(
                                    self._each_split(procs, batch, one, here)
                                    if procs is not None
                                    else self._each_grouped(batch, one, workers)) as outcomes:
                            for name, outcome in outcomes:
                                done += 1
                                if isinstance(outcome, Exception) and announced(name):
                                    recheck.add(name)
                                    if name in lazy and self.store.exists(db, branch, name):
                                        # published by a worker that died before saying so:
                                        # a copy is published whole, at the head
                                        assert fork is not None
                                        fork.pending.discard(name)
                                if isinstance(outcome, TenantDrifted):
                                    drifted.append({"tenant": name, "reason": outcome.message})
                                elif isinstance(outcome, TenantError | ApplyRefused | ApplyIncomplete):
                                    failed.append({"tenant": name, "reason": outcome.message})
                                elif isinstance(outcome, Exception):
                                    raise outcome
                                else:
                                    applied += bool(outcome[0])
                                    if outcome[1]:
                                        restored[name] = outcome[1]
                                    if outcome[0] and name in lazy:
                                        assert fork is not None
                                        fork.pending.discard(name)  # copied (perhaps by a worker)
                                if progress:
                                    progress(done, len(names))
                        self._save_children(db, children, pending)
            finally:
                self._save_children(db, children, pending)
                if fork is not None and lazy:
                    self._save_fork(db, branch, fork)  # once, for every tenant copied
            result = {"tenants": len(names), "updated": applied, "failed": failed,
                      "drifted": drifted}
            if restored:
                result["restored"] = restored
            if failed or drifted:
                first = (failed or drifted)[0]
                advice = ("`cinch tenant repair NAME --dry-run` shows how to bring a drifted "
                          "tenant back" if drifted else "fix and run `cinch sync`")
                raise ApplyIncomplete(
                    f"{len(failed) + len(drifted)} tenant(s) of {db}@{branch} could not be "
                    f"brought to the head (first: {first['tenant']}: {first['reason']}); the "
                    f"others are; {advice}", **result)
            self._mark_synced(db, branch, head)
            return result

    def _each_grouped(self, names: list[str], one: Callable[..., R], workers: int,
                      ) -> Iterator[tuple[str, R | Exception]]:
        """``one(name, group)`` for every name on ``workers`` threads, in groups whose commits
        are made durable together (:mod:`cinch.stores.group_commit`); each group's outcomes
        are handed on only once its files are durable."""
        size = min(_GROUP_COMMIT, self.pool.max_open - 2 * workers)
        if size < 2 or not group_commit.available():
            yield from parallel.each(names, lambda name: one(name, None), workers)
            return
        for start in range(0, len(names), size):
            group = group_commit.GroupCommit(self.pool)
            try:
                outcomes = list(parallel.each(names[start:start + size],
                                              lambda name, g=group: one(name, g), workers))
            finally:
                group.finish()
            yield from outcomes

    @contextlib.contextmanager
    def _worker_processes(self, db: str, branch: str, one: Callable[..., R], count: int,
                          ) -> Iterator[processes.Workers | None]:
        """``count`` worker processes moving tenants with ``one`` (None: none were forked, the
        apply runs on threads). Before the fork, this process lets go of every connection a
        worker could open too and reads from git what a worker's move needs."""
        self.worker_processes = []
        if count < 2:
            yield None
            return
        self._close_handles()
        self.pool.close_all()
        ts.close_under_everywhere(self.store.folder(db, branch))
        if self.pool.open_count or not processes.usable():  # a connection is leased
            yield None
            return
        self._pinned_retention[branch] = self._retention(branch)
        try:
            try:
                workers = processes.Workers(
                    lambda names, stopped: self._move_chunk(names, one, stopped), count,
                    leave=self.pool.close_all)
            except OSError:  # no process to be had (a limit, memory): threads do it
                yield None
                return
            with workers:
                self.worker_processes = workers.pids
                yield workers
        finally:
            self._pinned_retention.pop(branch, None)

    def _move_chunk(self, names: list[str], one: Callable[..., R], stopped: Callable[[], bool],
                    ) -> list[tuple[str, R | Exception]]:
        """In a worker process: ``one(name, group)`` for each name in one group commit, each
        outcome handed back once the group is durable; stops early when ``stopped()``."""
        self._in_worker = True
        group = group_commit.GroupCommit(self.pool) if group_commit.available() else None
        done: list[tuple[str, R | Exception]] = []
        try:
            for name in names:
                if stopped():
                    break
                try:
                    done.append((name, one(name, group)))
                except Exception as exc:
                    done.append((name, exc))
        finally:
            if group is not None:
                group.finish()
        return done

    @staticmethod
    def _each_in(workers: processes.Workers, names: list[str], one: Callable[..., R],
                 ) -> Iterator[tuple[str, R | Exception]]:
        """``one(name, group)`` for every name on the worker processes, a group commit per
        chunk; a tenant whose move needs git is moved here."""
        chunks = [names[i:i + _GROUP_COMMIT] for i in range(0, len(names), _GROUP_COMMIT)]
        with contextlib.closing(workers.map(chunks)) as outcomes:
            for name, outcome in outcomes:
                if isinstance(outcome, processes.ParentOnly):
                    try:
                        outcome = one(name, None)
                    except Exception as exc:
                        outcome = exc
                yield name, outcome  # type: ignore[misc]

    def _each_split(self, workers: processes.Workers, names: list[str], one: Callable[..., R],
                    here: set[str]) -> Iterator[tuple[str, R | Exception]]:
        """:meth:`_each_in` for the names not in ``here``; those in ``here`` are moved by this
        process, one after each outcome a worker sends (the workers keep a chunk in reserve,
        so both run at once)."""
        mine = iter([n for n in names if n in here])

        def move_here(name: str) -> tuple[str, R | Exception]:
            try:
                return name, one(name, None)
            except Exception as exc:
                return name, exc

        outcomes = self._each_in(workers, [n for n in names if n not in here], one)
        try:
            for outcome in outcomes:
                yield outcome
                name = next(mine, None)
                if name is not None:
                    yield move_here(name)
            for name in mine:
                yield move_here(name)
        finally:
            outcomes.close()

    def _off_head(self, db: str, parent: str, head: str, lazy: set[str]) -> set[str]:
        """The lazy tenants whose file on ``parent`` the catalog records at another log than
        ``head``'s: each must be copied (a copy found at the head after all is only a wasted
        copy; a tenant the catalog is unsure of is left to :meth:`_follow_lazy`, which reads
        its source)."""
        _, digest = self.target(db, head)
        known = self.catalog.ledgers(db, parent)
        return {name for name in lazy
                if (ledger := known.get(name)) is not None and ledger != digest}

    def _copy_into_children_first(self, db: str, children: list[str],
                                  names: Iterable[str]) -> list[str]:
        """Before a large apply to a branch: copy each of ``names`` (tenant files of the
        branch) that a lazily forked child still reads from it into that child, on the worker
        processes, as :meth:`_copy_into` would just before each file changes (a moment
        earlier, with nothing written in between: the branch is locked). Returns the children
        that still read some of ``names`` (a copy failed: the apply copies those one by one)."""
        wanted = set(names)
        left = []
        for child in children:
            fork = self._fork(db, child)
            if fork is not None and not fork.empty and fork.pending & wanted:
                self._copy_children_batches(db, child, fork, sorted(fork.pending & wanted))
            fork = self._fork(db, child)
            if fork is not None and fork.pending & wanted:
                left.append(child)
        return left

    def _copy_children_batches(self, db: str, child: str, fork: Fork, todo: list[str]) -> None:
        head = self._head(child)
        self.expected(db, child)  # planned here (the template is read from git), not by workers

        def one(name: str, group: group_commit.GroupCommit | None) -> tuple[int, dict[str, int]]:
            return self._copy_lazy(db, child, name, fork, head), {}

        try:
            with self._worker_processes(db, child, one, self.workers()) as procs:
                if procs is None:
                    return  # no process to be had: the apply copies them one by one
                for start in range(0, len(todo), _CATALOG_BATCH_FORKED):
                    batch = todo[start:start + _CATALOG_BATCH_FORKED]
                    going = [tenant_catalog.at_head(self, db, head, name) for name in batch]
                    with self.catalog.changing(db, child, going) as recheck, \
                            contextlib.closing(self._each_in(procs, batch, one)) as outcomes:
                        for name, outcome in outcomes:
                            if not isinstance(outcome, Exception):
                                fork.pending.discard(name)
                            elif isinstance(outcome, CinchError):
                                recheck.add(name)
                                if self.store.exists(db, child, name):
                                    fork.pending.discard(name)  # published whole, at the head
                            else:
                                raise outcome
                    self._save_fork(db, child, fork)
        finally:
            self._save_fork(db, child, fork)

    def _copy_lazy(self, db: str, branch: str, name: str, fork: Fork, head: str) -> int:
        """In a worker process: copy a lazy tenant from the parent branch and bring the copy to
        ``head`` (the parent told the catalog and keeps the fork record)."""
        if not os.path.isfile(self.store.path(db, fork.parent, name)):
            raise processes.ParentOnly(f"tenant {name} is not a file on {fork.parent}")
        self._materialize_file(db, branch, name, fork, save=False, head=head, marked=True)
        return 1

    def _copy_into(self, db: str, children: list[str], name: str) -> Callable[[], None]:
        """Copy-before-write into the branches forked from this one, run only when the
        tenant is about to change."""
        def copy() -> None:
            for child in children:
                # follow saves the child's record once per batch: saving it per tenant
                # rewrote every pending name each time (quadratic in the tenants)
                self._materialize(db, child, name, save=False)

        return copy

    def _save_children(self, db: str, children: list[str], pending: dict[str, int]) -> None:
        """Save the fork record of each child branch whose pending tenants copies took away
        (``pending``: how many it had when last saved)."""
        for child in children:
            fork = self._fork(db, child)
            left = len(fork.pending) if fork is not None else 0
            if left != pending.get(child, left):
                self._save_fork(db, child, fork)
                pending[child] = left

    def _follow_lazy(self, db: str, branch: str, source: Path | None, name: str,
                     head: str) -> int:
        """A tenant not copied yet stays lazy while the file it reads holds the head's set
        (one forked empty is made from the template when first used: always at the head)."""
        if source is None or self.at_head(source, db, head):
            return 0
        self._materialize(db, branch, name, save=False)  # follow saves the record once
        return 1

    def workers(self) -> int:
        """Tenants brought along at once (``CINCH_APPLY_WORKERS``, else the cores)."""
        return parallel.worker_count(self.apply_workers)

    # --- state ----------------------------------------------------------------------------

    def info(self, db: str, branch: str, name: str) -> TenantInfo:
        """One tenant's schema state; looking does not copy a lazy tenant."""
        check_tenant_name(name)
        if name == MAIN_TENANT:
            self._ensure_main(db, branch)
        elif not self._exists(db, branch, name):
            raise NotFound(f"no tenant named {name!r} on {db}@{branch}", tenant=name)
        return self.infos(db, branch, [name])[0]

    def infos(self, db: str, branch: str, names: list[str] | None = None) -> list[TenantInfo]:
        """Each tenant's schema state: up to date, behind (``cinch sync`` moves it: change
        sets to apply or to unwind) or drifted (``cinch tenant repair``)."""
        head = self._head(branch)
        wanted = {c.id for c in self.target(db, head)[0]}
        exact, shape = self.expected(db, branch)
        fork = self._fork(db, branch)
        out = []
        for name in self.names(db, branch) if names is None else names:
            path = self.store.path(db, branch, name)
            if fork is not None and name in fork.pending:
                out.append(TenantInfo(name, db, branch, str(path), 0, 0, "not copied yet",
                                      f"copied from {fork.parent} on first use"))
                continue
            with self.pool.connection(path, read_only=True) as conn:
                held = ts.read_ledger(conn)
                reason = ts.drift(conn, held)
                # Made before cinch kept a record: compare with the head's schema instead.
                if (reason is None and not ts.read_state(conn) and set(held) == wanted
                        and ts.schema_fingerprint(conn) != exact
                        and ts.shape_fingerprint(conn) != shape):
                    reason = "its schema differs from what its ledger says"
            size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
            missing = len(wanted - set(held))
            extra = len(set(held) - wanted)
            if reason:
                state, detail = "drifted", reason
            elif missing or extra:
                parts = [f"{missing} change set(s) to apply"] if missing else []
                parts += [f"{extra} to unwind"] if extra else []
                state, detail = "behind", ", ".join(parts)
            else:
                state, detail = "up to date", ""
            out.append(TenantInfo(name, db, branch, str(path), size, len(held), state, detail))
        return out

    def summary(self, db: str, branch: str) -> dict[str, int]:
        """How many tenants are in each state, from the catalog (no tenant file opened)."""
        self._ensure_main(db, branch)
        return tenant_catalog.summary(self, db, branch)

    def page(self, db: str, branch: str, *, after: str | None = None, limit: int = 100,
             keep: Callable[[str], bool] | None = None) -> tuple[list[TenantInfo], str | None]:
        """Up to ``limit`` tenants in name order after ``after`` (and the name to continue
        after, None at the end): the catalog picks them, only their files are opened."""
        self._ensure_main(db, branch)
        return tenant_catalog.page(self, db, branch, after=after, limit=limit, keep=keep)


class SharedWrite:
    """``with tenants.writing(db, branch):`` the branch's lock held shared for the block."""

    __slots__ = ("_args", "_fd", "_tenants")

    def __init__(self, tenants: Tenants, db: str, branch: str) -> None:
        self._tenants = tenants
        self._args = (db, branch)
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = self._tenants._shared_lock(*self._args)

    def __exit__(self, *exc: object) -> None:
        fd, self._fd = self._fd, -1
        if fd != -1:
            os.close(fd)  # closing releases the flock
