"""``cinch revert``: a new change set that undoes an earlier one, like ``git revert``.

History is never rewritten: the inverse operations (``cinch.planner.invert``) go through the
one write path (``Database.change``), so they are validated, prechecked on every tenant's data,
committed and applied like any change. A change that dropped a table or column can only get
the definition back from git; the rows come back from the snapshots kept when the drop was
applied (``cinch.engine.snapshots``), if any, as part of applying the revert to each tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cinch.engine import snapshots
from cinch.engine.database import ChangeResult
from cinch.engine.inspect import find_change
from cinch.errors import CinchError, ConfirmationRequired, NotFound
from cinch.models.changeset import ChangeSet
from cinch.models.operations import DESTRUCTIVE, describe
from cinch.planner.invert import invert

if TYPE_CHECKING:
    from cinch.engine.project import Project


@dataclass
class RevertResult:
    reverted: ChangeSet
    result: ChangeResult
    destroyed: list[str] = field(default_factory=list)  # what the reverted change dropped
    restored: dict[str, dict[str, Any]] = field(default_factory=dict)  # tenant -> rows/error

    def to_dict(self) -> dict[str, Any]:
        return {"reverted": self.reverted.id, "database": self.reverted.database,
                "destroyed": self.destroyed, "restored": self.restored,
                **self.result.to_dict()}


def revert(project: Project, change_id: str, *, branch: str | None = None,
           database: str | None = None, yes: bool = False, message: str | None = None,
           dry_run: bool = False, restore: bool = True) -> RevertResult:
    """Commit a change set that undoes ``change_id`` on ``branch`` (the current one).

    Refuses with :class:`ConfirmationRequired` unless ``yes`` when the change dropped data (the
    revert brings back the definition, and the rows only where a snapshot was kept) or when
    undoing it drops data. ``restore=False`` leaves the snapshots unused.
    """
    branch = branch or project.current_branch
    if project.git.branch_tip(branch) is None:
        raise NotFound(f"no branch named {branch!r}", branch=branch)
    change = find_change(project, change_id, branch, database=database)
    db = project.database(change.database, branch=branch)
    with project.lock():  # nobody commits between reading the schema and the revert
        try:
            ops = invert(change.operations, db.schema())
        except CinchError as exc:
            raise type(exc)(f"change {change.id} cannot be reverted: {exc.message}",
                            hint=exc.hint, **exc.details) from exc
        destroyed = [describe(op) for op in change.operations if op.op in DESTRUCTIVE]
        destroying = [describe(op) for op in ops if op.op in DESTRUCTIVE]
        title = change.message.split("\n", 1)[0]
        message = message or f'Revert "{title}"\n\nThis reverts change {change.id}.'
        if (destroyed or destroying) and not yes and not dry_run:
            # A revert that would be refused anyway (protected branch, tenant data) says so
            # before asking for a confirmation.
            db.change(ops, message, dry_run=True)
            _confirm(project, db.name, branch, change, destroyed, destroying, restore)
        # The rows come back inside each tenant's apply of the revert (so a killed revert,
        # then `cinch sync`, still ends with them back): the change set names what it reverts.
        result = db.change(ops, message, dry_run=dry_run,
                           reverts=change.id if destroyed and restore else None)
        out = RevertResult(change, result, destroyed)
        if destroyed and restore and not dry_run:
            done = result.tenants.get("restored", {}) if isinstance(result.tenants, dict) else {}
            out.restored = {name: {"rows": rows.get(result.change.id, 0)}
                            for name, rows in done.items()}
        return out


def _confirm(project: Project, db: str, branch: str, change: ChangeSet, destroyed: list[str],
             destroying: list[str], restore: bool) -> None:
    if destroyed:
        tenants = project.tenants.names(db, branch)
        kept = len(snapshots.available(project, db, branch, change.id)) if restore else 0
        raise ConfirmationRequired(
            f"change {change.id} destroyed data ({'; '.join(destroyed)}): reverting it brings "
            f"back the definition; the data comes back from snapshots for {kept} of "
            f"{len(tenants)} tenant(s), the others get the column or table empty",
            hint="pass --yes to revert anyway", change=change.id, destroyed=destroyed,
            snapshots=kept, tenants=len(tenants))
    if destroying:
        raise ConfirmationRequired(
            f"reverting change {change.id} destroys data: {'; '.join(destroying)} (a snapshot "
            "is kept, so reverting the revert brings it back)",
            hint="pass --yes to revert anyway", change=change.id, destroying=destroying)
