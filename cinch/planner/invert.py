"""The operations that undo a change set, against the schema as it is *now*. Pure: no files.

Objects are resolved by stable id, so an inverse uses today's names even if the object was
renamed since the change. An inverse that no longer makes sense (the object is gone, its name
is taken, a later change altered the same thing) is refused with an error naming the object.
The inverse of a destroying operation brings back the definition, never the data: restoring
rows is the engine's job (``cinch.engine.snapshots``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, assert_never

from cinch.errors import AlreadyExists, InvalidOperation, NotFound
from cinch.models.operations import (
    AddColumn,
    AlterColumn,
    CopyTable,
    CreateIndex,
    CreateObject,
    CreateTable,
    CreateView,
    DropColumn,
    DropIndex,
    DropObject,
    DropTable,
    DropView,
    Operation,
    RenameColumn,
    RenameTable,
    ReplaceView,
    describe,
)
from cinch.models.schema import Column, Index, Schema, Table, View
from cinch.planner import build
from cinch.planner.plan import apply_op

_Obj = TypeVar("_Obj", Index, View)

# Column attributes an ALTER may change (the id and the name are not among them).
_ALTERABLE = ("type", "not_null", "unique", "primary_key", "default", "default_expr",
              "references", "auto")


def invert(ops: Sequence[Operation], schema: Schema) -> list[Operation]:
    """Operations that undo ``ops`` (one change set), given the current ``schema``.

    The operations are undone last first, each against the schema the previous inverses leave,
    so e.g. a column comes back before the view that read it.
    """
    state = schema.model_copy(deep=True)
    out: list[Operation] = []
    for op in reversed(ops):
        for inverse in invert_op(op, state):
            state = apply_op(state, inverse)
            out.append(inverse)
    return out


def invert_op(op: Operation, schema: Schema) -> list[Operation]:
    """The operations that undo one operation against ``schema``."""
    match op:
        case CreateTable(table=t) | CopyTable(table=t):
            table = _table(schema, t.id, t.name, op)
            return build.drop_table(schema, table.name)
        case DropTable(table=t, indexes=indexes):
            return _recreate_table(schema, t, indexes, op)
        case RenameTable(table_id=tid, old=old):
            table = _table(schema, tid, op.new, op)
            if table.name == old:
                raise InvalidOperation(f"cannot undo {describe(op)}: the table is named {old} "
                                       "again already", table=old)
            return build.rename_table(schema, table.name, old, cascade=True)
        case AddColumn(table_id=tid, column=c):
            table = _table(schema, tid, op.table, op)
            column = _column(table, c.id, c.name, op)
            return build.drop_column(schema, table.name, column.name)
        case DropColumn(table_id=tid, column=c):
            table = _table(schema, tid, op.table, op)
            _name_free_in(table, c, op)
            return [AddColumn(table_id=tid, table=table.name,
                              column=_relink_column(schema, c, op))]
        case RenameColumn(table_id=tid, column_id=cid, old=old, new=new):
            table = _table(schema, tid, op.table, op)
            column = _column(table, cid, new, op)
            if column.name == old:
                raise InvalidOperation(f"cannot undo {describe(op)}: the column is named {old} "
                                       "again already", column=old)
            return build.rename_column(schema, table.name, column.name, old, cascade=True)
        case AlterColumn():
            return [_alter_back(schema, op)]
        case CreateIndex(index=i):
            index = _by_id(schema.indexes, i.id)
            if index is None:
                raise _gone("index", i.name, op)
            return [DropIndex(index=index)]
        case DropIndex(index=i):
            return [CreateIndex(index=_relink_index(schema, i, op))]
        case CreateView(view=v):
            view = _by_id(schema.views, v.id)
            if view is None:
                raise _gone("view", v.name, op)
            return build.drop_view(schema, view.name)
        case DropView(view=v):
            _name_free(schema, v.name, op)
            return [CreateView(view=v.model_copy(deep=True))]
        case ReplaceView(before=b):
            view = _by_id(schema.views, b.id)
            if view is None:
                raise _gone("view", b.name, op)
            if view.sql == b.sql:
                raise InvalidOperation(f"cannot undo {describe(op)}: view {view.name} has that "
                                       "SQL already", view=view.name)
            return [ReplaceView(before=view, after=view.model_copy(update={"sql": b.sql}))]
        case CreateObject(object=o):
            found = next((x for x in schema.objects if x.id == o.id), None)
            if found is None:
                raise _gone(o.type, o.name, op)
            return [DropObject(object=found)]
        case DropObject(object=o):
            _name_free(schema, o.name, op)
            return [CreateObject(object=o.model_copy(deep=True))]
        case _:
            assert_never(op)


# --- resolving against the current schema -------------------------------------------------


def _by_id(items: list[_Obj], object_id: str) -> _Obj | None:
    return next((x for x in items if x.id == object_id), None)


def _gone(kind: str, name: str, op: Operation) -> NotFound:
    return NotFound(f"cannot undo {describe(op)}: {kind} {name} no longer exists", **{kind: name})


def _table(schema: Schema, table_id: str, name: str, op: Operation) -> Table:
    table = next((t for t in schema.tables if t.id == table_id), None)
    if table is None:
        raise _gone("table", name, op)
    return table


def _column(table: Table, column_id: str, name: str, op: Operation) -> Column:
    column = next((c for c in table.columns if c.id == column_id), None)
    if column is None:
        raise NotFound(f"cannot undo {describe(op)}: column {table.name}.{name} no longer "
                       "exists", table=table.name, column=name)
    return column


def _name_free(schema: Schema, name: str, op: Operation) -> None:
    taken = schema.name_taken(name)
    if taken:
        raise AlreadyExists(f"cannot undo {describe(op)}: a {taken} named {name} exists now",
                            name=name, kind=taken)


def _name_free_in(table: Table, column: Column, op: Operation) -> None:
    if any(c.id == column.id for c in table.columns):
        raise AlreadyExists(f"cannot undo {describe(op)}: the column is in {table.name} already",
                            table=table.name, column=column.name)
    if table.find_column(column.name) is not None:
        raise AlreadyExists(f"cannot undo {describe(op)}: table {table.name} has a column named "
                            f"{column.name} now", table=table.name, column=column.name)


def _relink_column(schema: Schema, column: Column, op: Operation) -> Column:
    """``column`` with its foreign key pointing at the referenced column's current names."""
    out = column.model_copy(deep=True)
    ref = out.references
    if ref is None:
        return out
    target = next((t for t in schema.tables if t.id == ref.table_id), None)
    target_col = target and next((c for c in target.columns if c.id == ref.column_id), None)
    if target is None or target_col is None:
        raise NotFound(f"cannot undo {describe(op)}: column {column.name} references "
                       f"{ref.table}.{ref.column}, which no longer exists",
                       references=f"{ref.table}.{ref.column}")
    ref.table, ref.column = target.name, target_col.name
    return out


def _recreate_table(schema: Schema, table: Table, indexes: list[Index],
                    op: DropTable) -> list[Operation]:
    if any(t.id == table.id for t in schema.tables):
        raise AlreadyExists(f"cannot undo {describe(op)}: the table exists already",
                            table=table.name)
    _name_free(schema, table.name, op)
    # A self-reference resolves against the table being re-created.
    with_self = schema.model_copy(update={"tables": [*schema.tables, table]})
    columns = [_relink_column(with_self, c, op) for c in table.columns]
    out: list[Operation] = [CreateTable(table=table.model_copy(update={"columns": columns},
                                                               deep=True))]
    for index in indexes:
        _name_free(schema, index.name, op)
        out.append(CreateIndex(index=index.model_copy(update={"table": table.name}, deep=True)))
    return out


def _relink_index(schema: Schema, index: Index, op: DropIndex) -> Index:
    table = _table(schema, index.table_id, index.table, op)
    names = [_column(table, cid, name, op).name
             for cid, name in zip(index.column_ids, index.columns, strict=True)]
    _name_free(schema, index.name, op)
    return index.model_copy(update={"table": table.name, "columns": names}, deep=True)


def _same(field: str, a: Column, b: Column) -> bool:
    """Equal for an ALTER's purpose: a foreign key is compared by ids (renames don't count)."""
    x, y = getattr(a, field), getattr(b, field)
    if field == "references" and x is not None and y is not None:
        return (x.table_id, x.column_id, x.on_delete) == (y.table_id, y.column_id, y.on_delete)
    return x == y


def _alter_back(schema: Schema, op: AlterColumn) -> AlterColumn:
    """Undo only the attributes ``op`` changed, and refuse if a later change touched them."""
    table = _table(schema, op.table_id, op.table, op)
    current = _column(table, op.before.id, op.after.name, op)
    changed = [f for f in _ALTERABLE if not _same(f, op.before, op.after)]
    moved = [f for f in changed if not _same(f, current, op.after)]
    if moved:
        raise InvalidOperation(
            f"cannot undo {describe(op)}: a later change altered its {', '.join(moved)} again; "
            "alter the column by hand instead", table=table.name, column=current.name)
    updates = {f: getattr(op.before, f) for f in changed}
    target = current.model_copy(update=updates, deep=True)
    target = _relink_column(schema, Column.model_validate(target.model_dump()), op)
    if target == current:
        raise InvalidOperation(f"cannot undo {describe(op)}: nothing left to change",
                               table=table.name, column=current.name)
    return AlterColumn(table_id=table.id, table=table.name, before=current, after=target)
