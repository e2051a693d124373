"""The semantic three-way merge of one database's schema: conflicts are values (as in Dolt).

``merge_schemas(db, base, ours, theirs)`` returns the merged schema and a list of typed
:class:`Conflict`; exceptions are kept for the unexpected. Pure: no git, no files; tenant data
is reached only through the ``probe`` the caller passes in.

*Ours* is the merge target, *theirs* the source. The merged log is ours' log, then theirs' new
change sets in theirs' order (see the merging concept page), so every rule below asks one question: does
appending theirs to ours do what both sides meant? Objects are matched by stable id (a rename
is not a drop plus an add); where ids cannot meet (both sides created something) by name and
definition. Every rule is applied in both directions, so A into B and B into A report the same
conflicts with the sides swapped.
"""

from __future__ import annotations

import re
import shlex
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from cinch.engine.config import Config, flatten
from cinch.engine.settings import READ_ONLY, show
from cinch.errors import CinchError
from cinch.models.changeset import ChangeSet
from cinch.models.operations import (
    AddColumn,
    AlterColumn,
    CopyTable,
    CreateIndex,
    CreateTable,
    CreateView,
    DropColumn,
    DropIndex,
    DropTable,
    DropView,
    Operation,
    RenameColumn,
    RenameTable,
    ReplaceView,
    describe,
)
from cinch.models.schema import Column, Index, Schema, Table, View
from cinch.names import quote
from cinch.planner.plan import Plan, plan_many
from cinch.planner.shadow import Shadow

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


def merge_schemas(db: str, base: Schema, ours: Side, theirs: Side,
                  probe: Probe | None = None) -> SchemaMerge:
    """Three-way merge of ``db``'s schema. The same change set on both sides counts once.

    The rules first (cheap, and they name both sides' intent); only when none fires, the final
    check: theirs' new change sets planned and run on ours' schema on a shadow database.
    """
    conflicts = detect(db, base, ours, theirs, probe)
    if conflicts:
        # The replay would only restate the first of them in SQLite's words.
        return SchemaMerge(None, conflicts, Plan())
    shared = {c.id for c in ours.changes} & {c.id for c in theirs.changes}
    incoming = [c for c in theirs.changes if c.id not in shared]
    return _replay(db, ours.schema, incoming, _Ways(db, ours.branch, theirs.branch))


def detect(db: str, base: Schema, ours: Side, theirs: Side,
           probe: Probe | None = None) -> list[Conflict]:
    """The conflicts the rules find, each rule applied both ways, sorted by object."""
    shared = {c.id for c in ours.changes} & {c.id for c in theirs.changes}
    mine, other = _Facts(base, ours, shared), _Facts(base, theirs, shared)
    # Reading view bodies needs a shadow database: only worth it when something is destroyed.
    mine.add_uses(base, views=bool(other.drops or other.renames))
    other.add_uses(base, views=bool(mine.drops or mine.renames))
    ways = _Ways(db, ours.branch, theirs.branch)
    found: dict[tuple[str, str], Conflict] = {}
    both_ways = ((mine, other, True), (other, mine, False))
    listed = [c for a, b, a_is_ours in both_ways for c in _destroyed(db, a, b, a_is_ours, ways)]
    listed += _renamed_twice(db, mine, other, ways) + _dropped_twice(db, mine, other, ways)
    listed += _same_names(db, mine, other, ways)
    if probe is not None:
        listed += [c for a, b, a_is_ours in both_ways
                   for c in _not_null_meets_rows(db, a, b, a_is_ours, ways, probe)]
    for conflict in listed:
        found.setdefault((conflict.kind, conflict.object), conflict)
    return sorted(found.values(), key=lambda c: (c.object, c.kind))


# --- what each side did --------------------------------------------------------------------


@dataclass
class _Use:
    """A side relying on base objects ``ids``: altering, extending, indexing, reading them."""

    ids: frozenset[str]
    what: str
    touch: Touch | None
    undo: str  # how to take this use back, for the way out
    command: str | None = None  # ... as a cinch command (without the leading "cinch")
    rename: bool = False


class _Facts:
    """Drops, renames, uses and newly taken names of one side, relative to the base."""

    def __init__(self, base: Schema, side: Side, shared: set[str]) -> None:
        self.side = side
        self.ops: list[Touch] = [(c, op) for c in side.changes if c.id not in shared
                                 for op in c.operations]
        self.base_tables = {t.id: t for t in base.tables}
        self.base_columns = {c.id: (t, c) for t in base.tables for c in t.columns}
        self.base_views = {v.id: v for v in base.views}
        self.touches: dict[str, list[Touch]] = {}
        for touch in self.ops:
            for obj_id in _op_ids(touch[1]):
                self.touches.setdefault(obj_id, []).append(touch)
        self.drops: dict[str, tuple[str, Touch]] = {}
        self.renames: dict[str, tuple[str, str, Touch | None]] = {}
        self.uses: list[_Use] = []
        self.names: dict[tuple[str, str], tuple[str, str, Any, str]] = {}
        self._drops()
        self._tables()
        self._new_names(base)

    def last(self, obj_id: str, kinds: tuple[type, ...] | None = None) -> Touch | None:
        for touch in reversed(self.touches.get(obj_id, ())):
            if kinds is None or isinstance(touch[1], kinds):
                return touch
        return None

    def _drops(self) -> None:
        # Op by op, not net: a drop then a re-add on the source would still drop the target's
        # version of the object when the merged log is applied.
        for change, op in self.ops:
            match op:
                case DropTable(table=t) if t.id in self.base_tables:
                    self.drops[t.id] = (f"table {self.base_tables[t.id].name}", (change, op))
                case DropColumn(column=c) if c.id in self.base_columns:
                    self.drops[c.id] = (_column_label(*self.base_columns[c.id]), (change, op))
                case DropView(view=v) if v.id in self.base_views:
                    self.drops[v.id] = (f"view {self.base_views[v.id].name}", (change, op))

    def _tables(self) -> None:
        """Names taken and renames, of tables and their columns: every rule needs them."""
        for table in self.side.schema.tables:
            old = self.base_tables.get(table.id)
            if old is None or old.name.lower() != table.name.lower():
                self.names[("", table.name.lower())] = (
                    "table", table.id, _table_shape(table), f"table {table.name}")
            if old is None:
                continue
            if old.name != table.name:
                self.renames[table.id] = (f"table {old.name}", table.name,
                                          self.last(table.id, (RenameTable,)))
            before = {c.id: c for c in old.columns}
            for column in table.columns:
                prev = before.get(column.id)
                if prev is None or prev.name.lower() != column.name.lower():
                    self.names[(table.id, column.name.lower())] = (
                        "column", column.id, _column_shape(column),
                        f"column {table.name}.{column.name}")
                if prev is not None and prev.name != column.name:
                    self.renames[column.id] = (_column_label(old, prev), column.name,
                                               self.last(column.id, (RenameColumn,)))

    def _new_names(self, base: Schema) -> None:
        base_indexes = {i.id for i in base.indexes}
        for index in self.side.schema.indexes:
            if index.id not in base_indexes:
                self.names[("", index.name.lower())] = (
                    "index", index.id, _index_shape(index), f"index {index.name}")
        for view in self.side.schema.views:
            if view.id not in self.base_views:
                self.names[("", view.name.lower())] = (
                    "view", view.id, _view_shape(view), f"view {view.name}")

    def add_uses(self, base: Schema, *, views: bool) -> None:
        """What this side relies on, for the drop/rename rule (views only when asked: slow)."""
        tip = {t.id: t for t in self.side.schema.tables}
        for old in base.tables:
            table = tip.get(old.id)
            if table is None:
                continue
            if old.name != table.name:
                self.uses.append(_Use(
                    frozenset({table.id}), f"renames it to {table.name}",
                    self.renames[table.id][2], "rename it back",
                    f"table rename {table.name} {old.name}", rename=True))
            self._column_uses(old, table)
        self._index_uses(base)
        if views:
            self._view_uses()

    def _column_uses(self, old: Table, table: Table) -> None:
        before = {c.id: c for c in old.columns}
        for column in table.columns:
            prev = before.get(column.id)
            label = f"column {table.name}.{column.name}"
            ref = column.references
            if ref is not None and ref.table_id in self.base_tables and (
                    prev is None or prev.references != ref):
                self.uses.append(_Use(
                    frozenset({ref.table_id, ref.column_id}), f"references it from {label}",
                    self.last(column.id), f"drop {label}",
                    f"column drop {table.name} {column.name}"))
            if prev is None:
                self.uses.append(_Use(frozenset({table.id}), f"adds {label}",
                                      self.last(column.id), f"drop {label}",
                                      f"column drop {table.name} {column.name}"))
                continue
            if prev.name != column.name:
                self.uses.append(_Use(
                    frozenset({table.id, column.id}), f"renames it to {column.name}",
                    self.renames[column.id][2], "rename it back",
                    f"column rename {table.name} {column.name} {prev.name}", rename=True))
            if _column_shape(prev, by_id=True) != _column_shape(column, by_id=True):
                self.uses.append(_Use(
                    frozenset({table.id, column.id}), f"alters {label}",
                    self.last(column.id, (AlterColumn,)) or self.last(column.id),
                    f"alter {label} back to its definition at the merge base",
                    f"column alter {table.name} {column.name} ..."))

    def _index_uses(self, base: Schema) -> None:
        base_indexes = {i.id for i in base.indexes}
        for index in self.side.schema.indexes:
            if index.id not in base_indexes and index.table_id in self.base_tables:
                self.uses.append(_Use(
                    frozenset({index.table_id, *index.column_ids}),
                    f"indexes it (index {index.name})", self.last(index.id),
                    f"drop index {index.name}", f"index drop {index.name}"))

    def _view_uses(self) -> None:
        tip = self.side.schema
        fresh = [v for v in tip.views if v.id not in self.base_views
                 or self.last(v.id, (ReplaceView,)) is not None]
        if not fresh:
            return
        tables = {t.name.lower(): t for t in tip.tables}
        with Shadow(tip) as shadow:
            for view in fresh:
                ids: set[str] = {view.id} if view.id in self.base_views else set()
                for table_name, column_name in shadow.view_reads(view.name):
                    table = tables.get(table_name)
                    if table is None or table.id not in self.base_tables:
                        continue
                    ids.add(table.id)
                    column = table.find_column(column_name) if column_name else None
                    if column is not None and column.id in self.base_columns:
                        ids.add(column.id)
                if ids:
                    self.uses.append(_Use(
                        frozenset(ids), f"reads it in view {view.name}", self.last(view.id),
                        f"drop or replace view {view.name}", f"view drop {view.name}"))


def _op_ids(op: Operation) -> set[str]:
    match op:
        case CreateTable(table=t) | CopyTable(table=t) | DropTable(table=t):
            return {t.id, *(c.id for c in t.columns)}
        case RenameTable(table_id=tid):
            return {tid}
        case AddColumn(column=c) | DropColumn(column=c) | AlterColumn(after=c):
            return {c.id}
        case RenameColumn(column_id=cid):
            return {cid}
        case CreateIndex(index=i) | DropIndex(index=i):
            return {i.id}
        case CreateView(view=v) | ReplaceView(after=v) | DropView(view=v):
            return {v.id}
    return set()


def _column_label(table: Table, column: Column) -> str:
    return f"column {table.name}.{column.name}"


def _column_shape(c: Column, *, by_id: bool = False) -> tuple[Any, ...]:
    """A column's definition without its id (and name): what two sides can agree on."""
    ref: tuple[Any, ...] | None = None
    if c.references is not None:
        r = c.references
        ref = (r.table_id, r.column_id, r.on_delete) if by_id else \
            (r.table.lower(), r.column.lower(), r.on_delete)
    return (c.type, c.not_null, c.unique, c.primary_key, repr(c.default), c.default_expr, ref,
            c.auto)


def _table_shape(t: Table) -> tuple[Any, ...]:
    return (t.strict, tuple((c.name.lower(), _column_shape(c)) for c in t.columns))


def _index_shape(i: Index) -> tuple[Any, ...]:
    return (i.table.lower(), tuple(c.lower() for c in i.columns), i.unique)


def _view_shape(v: View) -> str:
    return " ".join(v.sql.split())


# --- the rules -----------------------------------------------------------------------------


def _pair(a: Origin | None, b: Origin | None,
          a_is_ours: bool) -> tuple[Origin | None, Origin | None]:
    """(ours, theirs), whichever side ``a`` is."""
    return (a, b) if a_is_ours else (b, a)


def _destroyed(db: str, a: _Facts, b: _Facts, a_is_ours: bool, ways: _Ways) -> list[Conflict]:
    """``a`` drops or renames a base object that ``b`` alters, extends, indexes or reads."""
    out = []
    destroyers = [(i, label, "drops", touch, False) for i, (label, touch) in a.drops.items()]
    destroyers += [(i, label, f"renames it to {new}", touch, True)
                   for i, (label, new, touch) in a.renames.items() if i not in a.drops]
    for obj_id, label, verb, touch, is_rename in destroyers:
        use = next((u for u in b.uses if obj_id in u.ids and not (is_rename and u.rename)), None)
        if use is None:
            continue
        o, t = _pair(Origin.of(touch), Origin.of(use.touch), a_is_ours)
        message = (f"{a.side.branch} {verb} {label} (change {_cid(touch)}) while "
                   f"{b.side.branch} {use.what} (change {_cid(use.touch)})")
        out.append(Conflict("drop_vs_alter", db, label, o, t, message,
                            ways.destroyed(label, a_is_ours, is_rename, touch, use)))
    return out


def _renamed_twice(db: str, ours: _Facts, theirs: _Facts, ways: _Ways) -> list[Conflict]:
    out = []
    for obj_id, (label, new_ours, touch_ours) in ours.renames.items():
        if obj_id not in theirs.renames:
            continue
        _, new_theirs, touch_theirs = theirs.renames[obj_id]
        same = " (the same name, in two change sets)" if new_ours == new_theirs else ""
        message = (f"{ways.target} renames {label} to {new_ours} while {ways.source} renames it "
                   f"to {new_theirs}{same}")
        out.append(Conflict("rename_rename", db, label, Origin.of(touch_ours),
                            Origin.of(touch_theirs), message,
                            ways.renamed_twice(label, touch_ours, touch_theirs)))
    return out


def _dropped_twice(db: str, ours: _Facts, theirs: _Facts, ways: _Ways) -> list[Conflict]:
    out = []
    for obj_id, (label, touch_ours) in ours.drops.items():
        if obj_id in theirs.drops:
            touch_theirs = theirs.drops[obj_id][1]
            message = (f"both branches drop {label}, in different change sets; the second drop "
                       "would find nothing to drop")
            out.append(Conflict("drop_drop", db, label, Origin.of(touch_ours),
                                Origin.of(touch_theirs), message,
                                ways.dropped_twice(label, touch_theirs)))
    return out


def _same_names(db: str, ours: _Facts, theirs: _Facts, ways: _Ways) -> list[Conflict]:
    """One name taken on both sides by objects of different ids.

    Identical definitions still conflict: both change sets stay in the merged log, so the
    second CREATE would fail on every tenant, and later change sets on each side refer to
    their own ids. Reconciling the ids would mean rewriting immutable change sets.
    """
    out = []
    for key, (kind, id_ours, shape_ours, label) in ours.names.items():
        other = theirs.names.get(key)
        if other is None or other[1] == id_ours:
            continue
        kind_theirs, id_theirs, shape_theirs, label_theirs = other
        identical = kind == kind_theirs and shape_ours == shape_theirs
        if identical:
            message = (f"both branches create {label} with the same definition but as two "
                       "objects (two ids, two change sets); both creates cannot be applied")
        else:
            message = (f"{ways.target} has {label} and {ways.source} has {label_theirs}, "
                       "defined differently")
        # Named the same whichever way the merge goes: "table/view stats" when kinds differ.
        name = label.partition(" ")[2]
        obj = min(label, label_theirs) if kind == kind_theirs else \
            f"{'/'.join(sorted((kind, kind_theirs)))} {name}"
        out.append(Conflict(
            "same_object_different_ids" if identical else "same_object_different_definition",
            db, obj, Origin.of(ours.last(id_ours)), Origin.of(theirs.last(id_theirs)),
            message, ways.same_name(label, theirs.last(id_theirs))))
    return out


def _not_null_meets_rows(db: str, a: _Facts, b: _Facts, a_is_ours: bool, ways: _Ways,
                         probe: Probe) -> list[Conflict]:
    """``a`` adds a NOT NULL column without default to a base table in which ``b``'s tenants
    hold rows: the rebuild that adds it would fail on them. Checked on both sides' tenants,
    because the merged schema is meant to reach both branches."""
    out = []
    for change, op in a.ops:
        if not (isinstance(op, AddColumn) and op.column.not_null and not op.column.has_default):
            continue
        mine = a.side.schema.find_table(op.table_id)
        theirs = b.side.schema.find_table(op.table_id)
        if op.table_id not in a.base_tables or theirs is None or mine is None or \
                mine.find_column(op.column.id) is None:
            continue
        tenant = probe(b.side.branch, f"SELECT 1 FROM {quote(theirs.name)} LIMIT 1")
        if tenant is None:
            continue
        label = f"column {mine.name}.{op.column.name}"
        data = Origin(None, f"tenant {tenant} of {b.side.branch} has rows in {theirs.name}")
        o, t = _pair(Origin.of((change, op)), data, a_is_ours)
        message = (f"{a.side.branch} adds NOT NULL {label} without a default, and tenant "
                   f"{tenant} of {b.side.branch} has rows in {theirs.name}")
        out.append(Conflict("not_null_without_default_meets_rows", db, label, o, t, message,
                            ways.not_null(label, theirs.name, a_is_ours, tenant, (change, op))))
    return out


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _strings(value: Any, out: set[str]) -> set[str]:
    """Every string inside a dumped operation (ids and names), lower-cased."""
    if isinstance(value, str):
        out.add(value.lower())
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)
    return out


def _reachable(ours: Schema, incoming: list[ChangeSet]) -> Schema:
    """The part of ours' schema that theirs' new change sets can touch, break or need.

    SQLite reloads the whole schema on every ALTER TABLE, so replaying on a shadow of all of
    ours costs (ALTERs x schema size). Only these matter: the tables and views the incoming
    operations name (by id, or by name in their SQL), everything that reads those
    (transitively: views, foreign keys), since a drop or rename there is what breaks a reader,
    and everything all of these read, so that they exist and prepare. Anything else can
    neither make an incoming statement fail nor be broken by one. Over-including only costs
    time, so names are matched as words, whatever the context.
    """
    kind: dict[str, Table | View] = {t.name.lower(): t for t in ours.tables}
    kind.update({v.name.lower(): v for v in ours.views})
    owner: dict[str, str] = {}  # object ids and index names -> the table or view they are of
    for t in ours.tables:
        owner[t.id.lower()] = t.name.lower()
        for c in t.columns:
            owner[c.id.lower()] = t.name.lower()
    for i in ours.indexes:
        owner[i.id.lower()] = owner[i.name.lower()] = i.table.lower()
    for v in ours.views:
        owner[v.id.lower()] = v.name.lower()
    reads: dict[str, set[str]] = {}
    for name, obj in kind.items():
        if isinstance(obj, View):
            words = {w.lower() for w in _WORD.findall(obj.sql)}
        else:
            words = {c.references.table.lower() for c in obj.columns if c.references}
        reads[name] = {w for w in words if w in kind and w != name}
    readers: dict[str, set[str]] = {}
    for name, used in reads.items():
        for other in used:
            readers.setdefault(other, set()).add(name)
    words: set[str] = set()
    for change in incoming:
        for sql in change.sql:
            words.update(w.lower() for w in _WORD.findall(sql))
        for op in change.operations:
            _strings(op.model_dump(), words)
    touched = {w for w in words if w in kind} | {owner[w] for w in words if w in owner}

    def closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
        found, stack = set(start), list(start)
        while stack:
            for other in edges.get(stack.pop(), ()):
                if other not in found:
                    found.add(other)
                    stack.append(other)
        return found

    keep = closure(closure(touched, readers), reads)
    return Schema.model_construct(
        tables=[t for t in ours.tables if t.name.lower() in keep],
        indexes=[i for i in ours.indexes if i.table.lower() in keep],
        views=[v for v in ours.views if v.name.lower() in keep])


def _replay(db: str, ours: Schema, incoming: list[ChangeSet], ways: _Ways) -> SchemaMerge:
    """The final check: theirs' new change sets planned and run on ours' schema, in order.

    One shadow for all of them, holding the part of ours they can reach (see _reachable).
    """
    state, total = ours, Plan()
    with Shadow(_reachable(ours, incoming)) as shadow:
        for change in incoming:
            try:
                step, after = plan_many(state, change.operations)
                if step.rebuild:
                    shadow.conn.execute("PRAGMA foreign_keys=OFF")
                shadow.run(step.statements, what=f"change set {change.id}")
                shadow.conn.execute("PRAGMA foreign_keys=ON")
                # Only a drop, a rename, a rebuild or a new view can leave a view broken.
                risky = step.rebuild or any(x.startswith(("DROP", "ALTER", "CREATE VIEW"))
                                            for x in step.statements)
                broken = shadow.broken_views() if risky else {}
                if broken:
                    name, reason = next(iter(broken.items()))
                    raise CinchError(f"it would break view {name!r}: {reason}")
            except (CinchError, sqlite3.Error, LookupError, AttributeError, ValueError) as exc:
                reason = exc.message if isinstance(exc, CinchError) else str(exc)
                touch = (change, change.operations[0])
                conflict = Conflict(
                    "replay_failed", db, f"change set {change.id}", None, Origin.of(touch),
                    f"{ways.source}'s change set {change.id} ({change.message!r}) does not apply "
                    f"after {ways.target}'s change sets: {reason}",
                    ways.replay(change))
                return SchemaMerge(None, [conflict], Plan())
            state = after
            total.statements += step.statements
            total.checks += step.checks
            total.rebuild = total.rebuild or step.rebuild
    return SchemaMerge(state, [], total)


# --- two ways out per conflict -------------------------------------------------------------


def _cid(touch: Touch | None) -> str:
    return touch[0].id if touch else "-"


class _Ways:
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
                  destroyer: Touch | None, use: _Use) -> list[str]:
        if not target_destroys:  # the source drops or renames what the target uses
            return [f"Keep {self.target}'s use of {label}: " + self.restart(destroyer),
                    f"Keep {self.source}'s change: " +
                    self.on_target(use.undo, use.command)]
        if is_rename:
            return ["Keep the new name: " + self.restart(
                        use.touch, f", writing its change to {label} against the new name"),
                    f"Keep {self.source}'s change: " +
                    self.on_target(f"rename {label} back", _rename_back(label, destroyer))]
        readd = self.cinch(_re_add(label))
        return ["Keep the drop: " + self.restart(use.touch, f" ({label} is gone there)"),
                f"Keep {label}: " + self.restart(
                    use.touch, f", first adding {label} back (`{readd}`) and redoing that "
                    "change against it")]

    def renamed_twice(self, label: str, ours: Touch | None, theirs: Touch | None) -> list[str]:
        return ["Keep the target's name: " + self.restart(theirs),
                f"Keep {self.source}'s name: " +
                self.on_target(f"rename {label} back", _rename_back(label, ours))]

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


def _rename_back(label: str, renamer: Touch | None) -> str:
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


def _re_add(label: str) -> str:
    kind, _, name = label.partition(" ")
    if kind == "column":
        table, _, column = name.rpartition(".")
        return f"column add {table} {column}:TYPE"
    return f"{kind} create {name} ..."


# --- cinch.toml ----------------------------------------------------------------------------


def merge_config(base: Config | None, ours: Config, theirs: Config, *, target: str,
                 source: str) -> tuple[Config, list[Conflict]]:
    """Three-way merge of the settings: lists as sets (additions and removals of both sides
    kept, ours' order first), other values taken from whichever side changed them."""
    b = flatten(base) if base is not None else {}
    o, t = flatten(ours), flatten(theirs)
    merged: dict[str, Any] = {}
    conflicts = []
    for key in sorted(o.keys() | t.keys(), key=lambda k: (k not in o, k)):
        bv, ov, tv = b.get(key), o.get(key), t.get(key)
        if isinstance(ov, list) or isinstance(tv, list):
            merged[key] = _merge_list(bv or [], ov or [], tv or [])
        elif ov == tv or tv == bv:
            merged[key] = ov
        elif ov == bv:
            merged[key] = tv
        else:
            merged[key] = ov
            conflicts.append(Conflict(
                "config_conflict", "", f"cinch.toml {key}",
                Origin(None, f"{key} = {ov!r}"), Origin(None, f"{key} = {tv!r}"),
                f"{target} sets {key} to {ov!r} and {source} sets it to {tv!r}",
                _config_ways(key, ov, tv, source, target)))
    return Config.model_validate(_unflatten({k: v for k, v in merged.items() if v is not None})), \
        conflicts


def _config_ways(key: str, ours: Any, theirs: Any, source: str, target: str) -> list[str]:
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


def _merge_list(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    removed = {x for x in base if x not in ours or x not in theirs}
    out = [x for x in ours if x not in removed]
    out += [x for x in theirs if x not in removed and x not in out]
    return out


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        # Settings nest at most three deep; the third part is a merge.approvals pattern,
        # which may itself hold dots (release/1.x).
        *parents, leaf = key.split(".", 2)
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def summarize(conflicts: Iterable[Conflict]) -> str:
    kinds: dict[str, int] = {}
    for c in conflicts:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in kinds.items())
