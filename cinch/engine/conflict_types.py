"""What a semantic merge reports: conflicts as typed values (as in Dolt), with where each side's
intent came from, and the sides it compares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from cinch.models.changeset import ChangeSet
from cinch.models.operations import (
    Operation,
    describe,
)
from cinch.models.schema import Schema
from cinch.planner.plan import Plan

Probe = Callable[[str, str], str | None]
"""``probe(branch, sql)``: the first tenant of ``branch`` (this database) for which the read-only
``sql`` returns a row, or None."""

KINDS = (
    "same_object_different_definition",  # one name created on both sides, defined differently
    "same_object_different_ids",  # one name created on both sides, same definition, two ids
    "drop_vs_alter",  # one side drops or renames what the other alters, extends, indexes, reads
    "rename_rename",  # both sides rename the same object (by id)
    "drop_drop",  # both sides drop the same object, in different change sets
    "not_null_without_default_meets_rows",
    "replay_failed",  # ours then theirs does not plan or run on the shadow
    "config_conflict",  # cinch.toml: one setting changed on both sides to different values
    "file_conflict",  # another committed file that git's text merge cannot merge
)

Touch = tuple[ChangeSet, Operation]


@dataclass(frozen=True)
class Origin:
    """What one side did: the change set (when there is one), its message and its SQL."""

    change_id: str | None
    message: str
    sql: list[str] = field(default_factory=list)
    operation: str = ""

    @classmethod
    def of(cls, touch: Touch | None) -> Origin | None:
        if touch is None:
            return None
        change, op = touch
        return cls(change.id, change.message, list(change.sql), describe(op))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Conflict:
    kind: str
    database: str
    object: str
    ours: Origin | None
    theirs: Origin | None
    message: str
    resolutions: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "database": self.database, "object": self.object,
                "ours": self.ours.to_dict() if self.ours else None,
                "theirs": self.theirs.to_dict() if self.theirs else None,
                "message": self.message, "resolutions": list(self.resolutions)}


@dataclass
class Side:
    """One side of the merge: its branch, its change sets new since the base (in its log's
    order) and its schema at the tip."""

    branch: str
    changes: list[ChangeSet]
    schema: Schema


@dataclass
class SchemaMerge:
    schema: Schema | None  # None when there are conflicts
    conflicts: list[Conflict]
    plan: Plan  # what theirs' new change sets run on ours' tenants, with their data checks


def summarize(conflicts: Iterable[Conflict]) -> str:
    kinds: dict[str, int] = {}
    for c in conflicts:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in kinds.items())

