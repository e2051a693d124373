"""Tenants: one SQLite file per (database, branch, tenant), each following its branch.

Every tenant records in its own ledger which change sets it holds, so applying is idempotent
and resumable. A per-branch *template* (a tenant kept at the branch head) makes creating a
tenant a file copy, whatever the length of the history.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinch.errors import AlreadyExists, ApplyIncomplete, ApplyRefused, NotFound, TenantError
from cinch.models.schema import Schema
from cinch.names import check_tenant_name
from cinch.planner.plan import Plan, apply_op, plan
from cinch.stores import tenantstore as ts

if TYPE_CHECKING:
    from cinch.engine.project import Project

MAIN_TENANT = "main"
Progress = Callable[[int, int], None]


@dataclass
class TenantInfo:
    name: str
    database: str
    branch: str
    path: str
    size: int
    applied: int
    state: str  # "up to date", "behind", "drifted"
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Step:
    change_id: str
    statements: list[str]
    rebuild: bool


class Tenants:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.pool = ts.ConnectionPool(max_open=64)
        self.store = ts.TenantStore(project.state_dir / "tenants", pool=self.pool)
        self._template_at: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self.pool.close_all()

    # --- the change log as steps ----------------------------------------------------------

    def _steps(self, db: str, head: str, start: int) -> list[Step]:
        """Statements for each change set of the log from position ``start`` to the head.

        Re-planned against the schema each tenant holds at that point, so a merged change set
        renders for the merged schema, not for the branch it was written on.
        """
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
            steps.append(Step(change.id, total.statements, total.rebuild))
        return steps

    # --- templates ------------------------------------------------------------------------

    def template_path(self, db: str, branch: str) -> Path:
        return (self.project.state_dir / "templates" / db / ts.branch_key(branch)
                / "template.db")

    def template(self, db: str, branch: str) -> Path:
        """The branch's template, brought to the branch head first."""
        head = self.project.git.branch_tip(branch)
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
            self._bring_to(tmp, db, head)
            ts.finalize_template(tmp)
            os.replace(tmp, path)
        else:
            self._bring_to(path, db, head)
            ts.finalize_template(path)
        self._template_at[(db, branch)] = head
        return path

    def _bring_to(self, path: Path, db: str, head: str) -> int:
        """Apply what the file lacks of the log at ``head``; the number of change sets applied."""
        log = [e.id for e in self.project.history.log(head, db)]
        with self.pool.connection(path) as conn:
            ts.ensure_ledger(conn)
            held = ts.read_ledger(conn)
            if held != log[:len(held)]:
                raise TenantError(
                    f"{path.name}: its ledger is not a prefix of the branch's change log "
                    "(drifted); it is left untouched", path=str(path))
            applied = 0
            for step in self._steps(db, head, len(held)):
                if ts.apply_change(conn, step.change_id, head, step.statements,
                                   rebuild=step.rebuild):
                    applied += 1
            return applied

    # --- listing and lifecycle ------------------------------------------------------------

    def names(self, db: str, branch: str) -> list[str]:
        self._ensure_main(db, branch)
        return self.store.list(db, branch)

    def _ensure_main(self, db: str, branch: str) -> None:
        if not self.store.exists(db, branch, MAIN_TENANT):
            self.store.create_from_template(self.template(db, branch), db, branch, MAIN_TENANT)

    def create(self, db: str, branch: str, name: str) -> Path:
        check_tenant_name(name)
        if self.store.exists(db, branch, name):
            raise AlreadyExists(f"tenant {name!r} already exists on {db}@{branch}", tenant=name)
        return self.store.create_from_template(self.template(db, branch), db, branch, name)

    def path(self, db: str, branch: str, name: str, *, create_main: bool = True) -> Path:
        check_tenant_name(name)
        if name == MAIN_TENANT and create_main:
            self._ensure_main(db, branch)
        if not self.store.exists(db, branch, name):
            raise NotFound(f"no tenant named {name!r} on {db}@{branch}", tenant=name)
        return self.store.path(db, branch, name)

    def delete(self, db: str, branch: str, name: str) -> None:
        self.path(db, branch, name, create_main=False)
        self.store.delete(db, branch, name)

    def rename(self, db: str, branch: str, old: str, new: str) -> None:
        self.path(db, branch, old)
        check_tenant_name(new)
        if self.store.exists(db, branch, new):
            raise AlreadyExists(f"tenant {new!r} already exists", tenant=new)
        self.store.rename(db, branch, old, new)

    def copy(self, db: str, branch: str, src: str, dst: str) -> None:
        self.path(db, branch, src)
        check_tenant_name(dst)
        if self.store.exists(db, branch, dst):
            raise AlreadyExists(f"tenant {dst!r} already exists", tenant=dst)
        self.store.copy(db, branch, src, dst)

    def delete_branch(self, db: str, branch: str) -> None:
        self.store.delete_branch(db, branch)
        shutil.rmtree(self.template_path(db, branch).parent, ignore_errors=True)
        self._template_at.pop((db, branch), None)

    # --- following the branch -------------------------------------------------------------

    def precheck(self, db: str, branch: str, tip: str, plan_: Plan) -> dict[str, Any]:
        """Refuse, before anything is written, a change some tenant's data would make fail."""
        if not plan_.checks:
            return {"checked": 0}
        names = self.names(db, branch)
        for name in names:
            with self.pool.connection(self.store.path(db, branch, name), read_only=True) as conn:
                for check in plan_.checks:
                    if conn.execute(check.sql).fetchone() is not None:
                        raise ApplyRefused(
                            f"tenant {name!r}: {check.reason}; nothing was changed",
                            tenant=name, reason=check.reason, database=db, branch=branch)
        return {"checked": len(names)}

    def follow(self, db: str, branch: str, progress: Progress | None = None) -> dict[str, Any]:
        """Bring every tenant of the branch to its head. Safe to run again after a crash."""
        head = self.project.git.branch_tip(branch)
        if head is None:
            raise NotFound(f"no branch named {branch!r}", branch=branch)
        self.template(db, branch)
        names = self.names(db, branch)
        applied, failed = 0, []
        for done, name in enumerate(names, 1):
            try:
                if self._bring_to(self.store.path(db, branch, name), db, head):
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

    def infos(self, db: str, branch: str) -> list[TenantInfo]:
        """Each tenant's schema state: up to date, behind (``cinch sync`` fixes) or drifted."""
        head = self.project.git.branch_tip(branch)
        log = [e.id for e in self.project.history.log(head, db)]
        with self.pool.connection(self.template(db, branch), read_only=True) as conn:
            expected = ts.schema_fingerprint(conn)
        out = []
        for name in self.names(db, branch):
            path = self.store.path(db, branch, name)
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
        counts = {"total": 0, "up to date": 0, "behind": 0, "drifted": 0}
        for info in self.infos(db, branch):
            counts["total"] += 1
            counts[info.state] += 1
        return {"total": counts["total"], "up_to_date": counts["up to date"],
                "behind": counts["behind"], "drifted": counts["drifted"]}
