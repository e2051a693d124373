"""Moving a tenant to any commit: the steps from the change sets it holds to the target's.

A tenant's ledger is a set of change ids. To bring it to a commit, the change sets it holds
that the target's log lacks are *unwound* (their inverse, newest first, against the schema the
tenant holds then), and the target's change sets it lacks are *applied*, in the target's
order. Change sets that reached two clones in another order commute (the semantic merge check
is what guarantees it); the tenant's schema is compared with the target's after the last step.

Data is never dropped silently: a step whose statements drop a table or a column keeps the
rows in a snapshot first (``cinch.engine.snapshots``), and the step that brings the object
back puts them back inside its own transaction:

- unwinding a change set that dropped something restores the rows kept when it was applied;
- re-applying a change set that was unwound restores the rows kept when it was unwound;
- applying a revert change set (``reverts``) restores the rows the reverted change dropped.

Pure planning: no files. Plans are shared by every tenant holding the same set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cinch.errors import CinchError, TenantError
from cinch.models.changeset import ChangeSet
from cinch.models.operations import DESTRUCTIVE, Operation
from cinch.models.schema import Schema
from cinch.planner.plan import apply_op, plan_many

UNWOUND = ".unwound"  # snapshot key suffix: the rows an unwind dropped


@dataclass
class Step:
    change_id: str
    forward: bool  # apply (True) or unwind (False)
    statements: list[str]
    rebuild: bool
    ops: list[Operation]  # the operations the statements render (inverse ones for an unwind)
    before: Schema  # the schema the tenant holds before the step
    after: Schema
    body: bytes | None = None  # the change set's document, kept in the tenant on apply
    snapshot: str | None = None  # key to keep dropped rows under, before the statements
    restore: list[str] = field(default_factory=list)  # keys to restore from, first found wins

    @property
    def verb(self) -> str:
        return "apply" if self.forward else "unwind"


@dataclass
class MovePlan:
    steps: list[Step]
    target: Schema


Lookup = Callable[[str], ChangeSet]


def held_schema(held: Sequence[str], lookup: Lookup) -> Schema:
    state = Schema()
    for change_id in held:
        for op in lookup(change_id).operations:
            apply_op(state, op, copy=False)
    return state


def plan_move(held: Sequence[str], target: Sequence[ChangeSet], lookup: Lookup) -> MovePlan:
    """The steps taking a tenant holding ``held`` (ids, in the order applied) to ``target``
    (the target log's change sets, in order). ``lookup`` finds a held change set by id."""
    wanted = {c.id for c in target}
    holding = set(held)
    state = held_schema(held, lookup)
    steps: list[Step] = []
    for change_id in reversed(held):
        if change_id in wanted:
            continue
        change = lookup(change_id)
        from cinch.planner.invert import invert  # only a move that unwinds pays its import

        try:
            ops = invert(change.operations, state)
            result, after = plan_many(state, ops)
        except CinchError as exc:
            raise TenantError(
                f"change {change_id} cannot be unwound: {exc.message}",
                hint="the tenant was left as it is; `cinch tenant repair` plans its way to "
                     "the branch head from the schema it has", change_id=change_id) from exc
        steps.append(Step(
            change_id, False, result.statements, result.rebuild, ops, state, after,
            snapshot=f"{change_id}{UNWOUND}" if _destroys(ops) else None,
            restore=[change_id] if _destroys(change.operations) else []))
        state = after
    for change in target:
        if change.id in holding:
            continue
        result, after = plan_many(state, change.operations)
        restore = [f"{change.id}{UNWOUND}"]
        if change.reverts:
            restore.append(change.reverts)
        steps.append(Step(
            change.id, True, result.statements, result.rebuild, list(change.operations),
            state, after, body=change.to_json(),
            snapshot=change.id if _destroys(change.operations) else None, restore=restore))
        state = after
    return MovePlan(steps, state)


def _destroys(ops: Sequence[Operation]) -> bool:
    return any(op.op in DESTRUCTIVE for op in ops)
