"""Tenants: one SQLite file per (database, branch, tenant), each following its branch.

Every tenant records in its own ledger which change sets it holds, so applying is idempotent
and resumable. A per-branch *template* (a tenant kept at the branch head) makes creating a
tenant a file copy, whatever the length of the history.

Branches fork their tenants lazily (see ``docs/tenants.md``): a new branch lists its parent's
tenants at the moment it was created, and copies each one when it is first used there, or just
before the parent changes it through cinch (schema change, write, delete), whichever is first.
"""

from __future__ import annotations

import json
import os
import shutil
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cinch.errors import (
    AlreadyExists,
    ApplyIncomplete,
    ApplyRefused,
    NotFound,
    TenantError,
    UsageError,
)
from cinch.models.schema import Schema
from cinch.names import check_tenant_name
from cinch.planner.plan import Plan, apply_op, plan
from cinch.stores import tenantstore as ts

if TYPE_CHECKING:
    from cinch.engine.project import Project

MAIN_TENANT = "main"
Progress = Callable[[int, int], None]


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
class Step:
    change_id: str
    statements: list[str]
    rebuild: bool
    destroys: bool  # drops a table or column: snapshot the data first


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
        self._steps_cache: dict[tuple[str, str, int], list[Step]] = {}
        self._forks: dict[tuple[str, str], Fork | None] = {}
        # Open Tenant handles (they may hold a read connection to their file).
        self.handles: weakref.WeakSet[Any] = weakref.WeakSet()
        # Children per branch, keyed by the forks folder's mtime: another process may fork.
        self._children_cache: dict[tuple[str, str], tuple[int, list[str]]] = {}

    def close(self) -> None:
        self._close_handles()
        self.pool.close_all()

    def _close_handles(self, db: str | None = None, branch: str | None = None,
                       name: str | None = None) -> None:
        for handle in list(self.handles):
            if (db is None or handle.database == db) and (branch is None or handle.branch ==
                                                           branch) and (name is None or
                                                                        handle.name == name):
                handle.close()

    # --- the change log as steps ----------------------------------------------------------

    def steps(self, db: str, head: str, start: int) -> list[Step]:
        """Statements for each change set of the log from position ``start`` to the head.

        Re-planned against the schema a tenant holds at that point, so a merged change set
        renders for the merged schema, not for the branch it was written on.
        """
        key = (db, head, start)
        if key in self._steps_cache:
            return self._steps_cache[key]
        history = self.project.history
        entries = history.log(head, db)
        state = Schema()
        for entry in entries[:start]:
            for op in history.change(entry).operations:
                apply_op(state, op, copy=False)
        steps = []
        for entry in entries[start:]:
            change = history.change(entry)
            total = Plan()
            for op in change.operations:
                step, state = plan(state, op)
                total.statements += step.statements
                total.rebuild = total.rebuild or step.rebuild
            destroys = any(op.op in ("drop_table", "drop_column") for op in change.operations)
            steps.append(Step(change.id, total.statements, total.rebuild, destroys))
        if len(self._steps_cache) > 256:
            self._steps_cache.clear()
        self._steps_cache[key] = steps
        return steps

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
        if not path.exists():
            tmp = path.with_name(f"template.{os.getpid()}.tmp")
            for extra in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                extra.unlink(missing_ok=True)
            conn = ts.connect(tmp)
            ts.ensure_ledger(conn)
            conn.close()
            self._bring_to(tmp, db, head, name="(template)")
            self.pool.close_path(tmp)
            ts.finalize_template(tmp)
            os.replace(tmp, path)
        else:
            try:
                changed = self._bring_to(path, db, head, name="(template)")
            except TenantError:
                # The template is derived state: if the branch moved under it (git reset,
                # rebase), build it again from the log instead of failing.
                self.pool.close_path(path)
                for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    extra.unlink(missing_ok=True)
                self._template_at.pop((db, branch), None)
                return self.template(db, branch)
            if changed:
                self.pool.close_path(path)
                ts.finalize_template(path)
        self._template_at[(db, branch)] = head
        return path

    def _head(self, branch: str) -> str:
        head = self.project.git.branch_tip(branch)
        if head is None:
            raise NotFound(f"no branch named {branch!r}", branch=branch)
        return head

    def _bring_to(self, path: Path, db: str, head: str, *, name: str, branch: str = "") -> int:
        """Apply what the file lacks of the log at ``head``; the number of change sets applied."""
        log = self.project.history.log(head, db)
        with self.pool.connection(path) as conn:
            held, last = _ledger_position(conn)
            if held > len(log) or (held and log[held - 1].id != last):
                raise TenantError(
                    f"tenant {name}: its ledger is not a prefix of the branch's change log "
                    "(drifted); it was left untouched", path=str(path), tenant=name)
            if held == len(log):
                return 0
            applied = 0
            for step in self.steps(db, head, held):
                if step.destroys and branch:
                    self._snapshot(conn, path, db, branch, name, step)
                # The ledger was just read: the step is missing (apply_change checks again
                # under the write lock, in case another process applied it meanwhile).
                if ts.apply_change(conn, step.change_id, head, step.statements,
                                   rebuild=step.rebuild, check_first=False):
                    applied += 1
            # No explicit checkpoint: the connection is closed when the pool evicts it (SQLite
            # checkpoints and removes the WAL then), wal_autocheckpoint bounds the WAL of the
            # few that stay open, and a checkpoint per tenant here cost as much as the change.
            return applied

    def _snapshot(self, conn: Any, path: Path, db: str, branch: str, name: str,
                  step: Step) -> None:
        """Keep the data a drop destroys, so reverting the drop can bring it back."""
        from cinch.engine import snapshots

        snapshots.snapshot_step(self.project, conn, path, db, branch, name, self._head(branch),
                                step.change_id)

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
        folder = self.project.state_dir / "forks" / db
        try:
            stamp = folder.stat().st_mtime_ns
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
        """Give a new branch its parent's tenants, copied lazily; O(1) in their size."""
        names = set(self.names(db, parent))
        self._save_fork(db, child, Fork(parent, self._head(parent), empty, names))
        return len(names)

    def _materialize(self, db: str, branch: str, name: str) -> None:
        fork = self._fork(db, branch)
        if fork is None or name not in fork.pending:
            return
        if fork.empty or (name == MAIN_TENANT and not self._exists(db, fork.parent, name)):
            self.store.create_from_template(self.template(db, branch), db, branch, name)
        else:
            self.path(db, fork.parent, name)  # the parent may itself hold it lazily
            copy = self.store.copy_branch_tenant(db, fork.parent, branch, name)
            try:
                self._bring_to(copy, db, self._head(branch), name=name, branch=branch)
            except BaseException:
                # Never leave a half-made copy under the tenant's name.
                self.pool.close_path(copy)
                self.store.delete(db, branch, name, missing_ok=True)
                raise
        fork.pending.discard(name)
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
            self.store.create_from_template(self.template(db, branch), db, branch, MAIN_TENANT)

    def create(self, db: str, branch: str, name: str) -> Path:
        check_tenant_name(name)
        if self._exists(db, branch, name):
            raise AlreadyExists(f"tenant {name!r} already exists on {db}@{branch}", tenant=name)
        return self.store.create_from_template(self.template(db, branch), db, branch, name)

    def create_many(self, db: str, branch: str, names: list[str]) -> list[Path]:
        """Create many tenants at once (all or none): one template, file copies in parallel."""
        if len(set(names)) != len(names):
            raise UsageError("a tenant name is given twice", names=names[:20])
        for name in names:
            check_tenant_name(name)
            if self._exists(db, branch, name):
                raise AlreadyExists(f"tenant {name!r} already exists on {db}@{branch}",
                                    tenant=name)
        return self.store.create_many_from_template(self.template(db, branch), db, branch, names)

    def path(self, db: str, branch: str, name: str, *, create_main: bool = True) -> Path:
        """The tenant's file, copied from the parent branch first if it is still lazy."""
        check_tenant_name(name)
        if name == MAIN_TENANT and create_main:
            self._ensure_main(db, branch)
        path = self.store.path(db, branch, name)  # resolved once: this runs per tenant
        fork = self._fork(db, branch)
        pending = fork is not None and name in fork.pending
        if not pending and not os.path.isfile(path):
            raise NotFound(f"no tenant named {name!r} on {db}@{branch}", tenant=name)
        if pending:
            self._materialize(db, branch, name)
        return path

    def delete(self, db: str, branch: str, name: str) -> None:
        check_tenant_name(name)
        if not self._exists(db, branch, name):
            raise NotFound(f"no tenant named {name!r} on {db}@{branch}", tenant=name)
        self.before_write(db, branch, name)
        fork = self._fork(db, branch)
        if fork is not None and name in fork.pending:
            fork.pending.discard(name)
            self._save_fork(db, branch, fork)
        else:
            self._close_handles(db, branch, name)
            self.store.delete(db, branch, name)

    def rename(self, db: str, branch: str, old: str, new: str) -> None:
        self.path(db, branch, old)
        check_tenant_name(new)
        if self._exists(db, branch, new):
            raise AlreadyExists(f"tenant {new!r} already exists", tenant=new)
        self.before_write(db, branch, old)
        self._close_handles(db, branch, old)
        self.store.rename(db, branch, old, new)

    def copy(self, db: str, branch: str, src: str, dst: str) -> None:
        self.path(db, branch, src)
        check_tenant_name(dst)
        if self._exists(db, branch, dst):
            raise AlreadyExists(f"tenant {dst!r} already exists", tenant=dst)
        self.store.copy(db, branch, src, dst)

    def delete_branch(self, db: str, branch: str) -> None:
        """Remove a branch's tenants; branches forked from it take their copies first."""
        for child in self._children(db, branch):
            fork = self._fork(db, child)
            for name in sorted(fork.pending if fork else ()):
                self._materialize(db, child, name)
        self._close_handles(db, branch)
        self.pool.close_under(self.store.folder(db, branch))
        self.store.delete_branch(db, branch)
        self._save_fork(db, branch, None)
        shutil.rmtree(self.template_path(db, branch).parent, ignore_errors=True)
        self._template_at.pop((db, branch), None)

    # --- following the branch -------------------------------------------------------------

    def precheck(self, db: str, branch: str, tip: str, plan_: Plan) -> dict[str, Any]:
        """Refuse, before anything is written, a change some tenant's data would make fail."""
        if not plan_.checks:
            return {"checked": 0}
        names = self.names(db, branch)
        for name in names:
            with self.pool.connection(self.path(db, branch, name), read_only=True) as conn:
                for check in plan_.checks:
                    if conn.execute(check.sql).fetchone() is not None:
                        raise ApplyRefused(
                            f"tenant {name!r}: {check.reason}; nothing was changed",
                            tenant=name, reason=check.reason, database=db, branch=branch)
        return {"checked": len(names)}

    def follow(self, db: str, branch: str, progress: Progress | None = None) -> dict[str, Any]:
        """Bring every tenant of the branch to its head. Safe to run again after a crash."""
        head = self._head(branch)
        self.template(db, branch)
        self._ensure_main(db, branch)
        files = self.store.paths(db, branch)  # one listing, not a path lookup per tenant
        fork = self._fork(db, branch)
        lazy = fork.pending if fork is not None else set()
        names = sorted(files.keys() | lazy)  # as names(), from the same listing
        children = self._children(db, branch)
        applied, failed = 0, []
        progress = progress or self.project.progress
        for done, name in enumerate(names, 1):
            try:
                for child in children:
                    self._materialize(db, child, name)
                path = files.get(name) if name not in lazy else None
                if self._bring_to(path or self.path(db, branch, name), db, head, name=name,
                                  branch=branch):
                    applied += 1
            except (TenantError, ApplyRefused, ApplyIncomplete) as exc:
                failed.append({"tenant": name, "reason": exc.message})
            if progress:
                progress(done, len(names))
        result = {"tenants": len(names), "updated": applied, "failed": failed}
        if failed:
            raise ApplyIncomplete(
                f"{len(failed)} tenant(s) of {db}@{branch} could not be brought to the head "
                f"(first: {failed[0]['tenant']}: {failed[0]['reason']}); the others are; fix "
                "and run `cinch sync`", **result)
        return result

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
        """Each tenant's schema state: up to date, behind (``cinch sync`` fixes) or drifted."""
        head = self._head(branch)
        log = [e.id for e in self.project.history.log(head, db)]
        with self.pool.connection(self.template(db, branch), read_only=True) as conn:
            expected = ts.schema_fingerprint(conn)
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
                fingerprint = ts.schema_fingerprint(conn) if held == log else None
            size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
            if held != log[:len(held)]:
                state, detail = "drifted", "its ledger is not a prefix of the branch's log"
            elif len(held) < len(log):
                state, detail = "behind", f"{len(log) - len(held)} change set(s) to apply"
            elif fingerprint != expected:
                state, detail = "drifted", "its schema differs from what its ledger says"
            else:
                state, detail = "up to date", ""
            out.append(TenantInfo(name, db, branch, str(path), size, len(held), state, detail))
        return out

    def summary(self, db: str, branch: str) -> dict[str, int]:
        counts = {"total": 0, "up to date": 0, "behind": 0, "drifted": 0, "not copied yet": 0}
        for info in self.infos(db, branch):
            counts["total"] += 1
            counts[info.state] += 1
        return {"total": counts["total"], "up_to_date": counts["up to date"],
                "behind": counts["behind"], "drifted": counts["drifted"],
                "lazy": counts["not copied yet"]}


def _ledger_position(conn: Any) -> tuple[int, str | None]:
    """How many change sets the tenant holds and the last one's id (one cheap query)."""
    ts.ensure_ledger(conn)
    row = conn.execute(
        "SELECT count(*), (SELECT change_id FROM _cinch_ledger ORDER BY seq DESC LIMIT 1) "
        "FROM _cinch_ledger").fetchone()
    return row[0], row[1]
