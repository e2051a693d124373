"""The ways out of each conflict, written as the commands a person runs: every conflict a merge
reports carries two of them.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from cinch.engine.conflict_types import Touch
from cinch.engine.settings import READ_ONLY, show
from cinch.models.changeset import ChangeSet
from cinch.models.operations import (
    RenameColumn,
    RenameTable,
)

if TYPE_CHECKING:
    from cinch.engine.conflict_rules import Use


def cid(touch: Touch | None) -> str:
    return touch[0].id if touch else "-"


class Ways:
    """The two concrete ways out of each kind of conflict, as commands to run.

    A merged log is the target's log followed by the source's new change sets, and change sets
    are immutable, so a conflict is undone either on the target first (on a small branch merged
    into it: the target may be protected) or by starting the source again from the target.
    """

    def __init__(self, db: str, target: str, source: str) -> None:
        self.db, self.target, self.source = db, target, source

    def cinch(self, args: str) -> str:
        return f"cinch --db {self.db} {args}" if self.db != "main" else f"cinch {args}"

    def restart(self, touch: Touch | None, extra: str = "") -> str:
        again = f"{self.source}-2"
        skip = f" except {touch[0].id} ({touch[0].message!r})" if touch else ""
        return (f"start {self.source} again from {self.target}: `cinch switch -c {again} "
                f"{self.target}`, redo its change sets there{skip}{extra}, then "
                f"`cinch merge {again} --into {self.target}`.")

    def on_target(self, what: str, command: str | None) -> str:
        fix = f"fix-{self.source}".replace("/", "-")
        run = f" (`{self.cinch(command)}`)" if command else ""
        return (f"change {self.target} first: `cinch switch -c {fix} {self.target}`, {what}{run}, "
                f"`cinch merge {fix} --into {self.target}`, then "
                f"`cinch merge {self.source} --into {self.target}` again.")

    def same_name(self, label: str, theirs: Touch | None) -> list[str]:
        kind, _, name = label.partition(" ")
        table, _, column = name.rpartition(".")
        free = {"table": f"table rename {name} {name}_old",
                "column": f"column rename {table} {column} {column}_old",
                "index": f"index drop {name}", "view": f"view drop {name}"}[kind]
        return [f"Keep {self.target}'s {label}: " + self.restart(theirs),
                f"Keep {self.source}'s {label}: " +
                self.on_target(f"rename or drop its {label} to free the name", free)]

    def destroyed(self, label: str, target_destroys: bool, is_rename: bool,
                  destroyer: Touch | None, use: Use) -> list[str]:
        if not target_destroys:  # the source drops or renames what the target uses
            return [f"Keep {self.target}'s use of {label}: " + self.restart(destroyer),
                    f"Keep {self.source}'s change: " +
                    self.on_target(use.undo, use.command)]
        if is_rename:
            return ["Keep the new name: " + self.restart(
                        use.touch, f", writing its change to {label} against the new name"),
                    f"Keep {self.source}'s change: " +
                    self.on_target(f"rename {label} back", rename_back(label, destroyer))]
        readd = self.cinch(re_add(label))
        return ["Keep the drop: " + self.restart(use.touch, f" ({label} is gone there)"),
                f"Keep {label}: " + self.restart(
                    use.touch, f", first adding {label} back (`{readd}`) and redoing that "
                    "change against it")]

    def renamed_twice(self, label: str, ours: Touch | None, theirs: Touch | None) -> list[str]:
        return ["Keep the target's name: " + self.restart(theirs),
                f"Keep {self.source}'s name: " +
                self.on_target(f"rename {label} back", rename_back(label, ours))]

    def dropped_twice(self, label: str, theirs: Touch | None) -> list[str]:
        return [f"It is dropped on {self.target} already: " + self.restart(theirs),
                f"If {self.source} holds nothing else worth keeping, delete it: "
                f"`cinch branch -D {self.source}`."]

    def not_null(self, label: str, table: str, target_adds: bool, tenant: str,
                 touch: Touch) -> list[str]:
        column = label.rpartition(".")[2]
        holder = self.source if target_adds else self.target
        delete = self.cinch(f"query 'DELETE FROM \"{table}\"' -t {tenant} -b {holder}")
        empty = (f"Empty {table} on {holder}'s tenants that hold rows (first: {tenant}), e.g. "
                 f"`{delete}`, then merge again.")
        if not target_adds:
            add = self.cinch(f"column add {table} {column}:TYPE:not-null:default=VALUE")
            return ["Add it with a default: " + self.restart(
                        touch, f", adding {column} with a default (`{add}`) or nullable"), empty]
        again = f"{self.source}-2"
        return [empty, f"Start {self.source} again from {self.target} with empty tenants: "
                       f"`cinch branch {again} {self.target} --empty`, `cinch switch {again}`, "
                       f"redo its change sets, then `cinch merge {again} --into {self.target}`."]

    def replay(self, change: ChangeSet) -> list[str]:
        return ["Make room on the target: " + self.on_target(
                    f"change what {change.id} collides with", None),
                "Rewrite the change: " + self.restart(
                    (change, change.operations[0]),
                    f", writing {change.id} again against {self.target}'s schema")]


def rename_back(label: str, renamer: Touch | None) -> str:
    """The command that undoes a rename (the label names the object as it was at the base)."""
    kind, _, name = label.partition(" ")
    op = renamer[1] if renamer else None
    if kind == "table":
        new = op.new if isinstance(op, RenameTable) else "NEW_NAME"
        return f"table rename {new} {name}"
    table, _, column = name.rpartition(".")
    if isinstance(op, RenameColumn):
        return f"column rename {op.table} {op.new} {column}"
    return f"column rename {table} NEW_NAME {column}"


def re_add(label: str) -> str:
    kind, _, name = label.partition(" ")
    if kind == "column":
        table, _, column = name.rpartition(".")
        return f"column add {table} {column}:TYPE"
    return f"{kind} create {name} ..."


def config_ways(key: str, ours: Any, theirs: Any, source: str, target: str) -> list[str]:
    if key in READ_ONLY:  # not settable with `cinch config`: edit the file
        return [f"Keep {target}'s value: on {source}, set {key} = {ours!r} in cinch.toml, "
                "commit it, then merge again.",
                f"Keep {source}'s value: on a branch from {target}, set {key} = {theirs!r} in "
                f"cinch.toml, commit, merge it into {target}, then merge {source} again."]

    def arg(value: Any) -> str:  # as `cinch config` takes it on a shell command line
        return "--unset" if value is None else shlex.quote(show(value))

    return [f"Keep {target}'s value: `cinch config {key} {arg(ours)} --branch {source}`, "
            "then merge again.",
            f"Keep {source}'s value: on a branch from {target}, `cinch config {key} "
            f"{arg(theirs)}`, merge it into {target}, then merge {source} again."]
