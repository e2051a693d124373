"""Plan apart from apply: an operation and the schema before it give the statements to run,
the schema after it, and the checks a tenant's data must pass. No side effects.

Plain ``ALTER TABLE`` is used only where SQLite allows it (https://sqlite.org/lang_altertable.html);
everything else is SQLite's documented 12-step rebuild
(https://sqlite.org/lang_altertable.html#otheralter): create the new table, copy, drop, rename,
re-create indexes, triggers and the views that read the table. The caller runs a rebuild with
foreign keys off outside the transaction and ``PRAGMA foreign_key_check`` before commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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
)
from cinch.models.schema import Column, Schema, Table
from cinch.names import quote
from cinch.planner.sqlgen import (
    create_index_sql,
    create_table_sql,
    create_view_sql,
    touch_trigger_sql,
)


@dataclass(frozen=True)
class DataCheck:
    """A query that returns a row when a tenant's data would make the change fail."""

    sql: str
    reason: str


@dataclass
class Plan:
    statements: list[str] = field(default_factory=list)
    rebuild: bool = False  # run with foreign keys off and a foreign_key_check before commit
    checks: list[DataCheck] = field(default_factory=list)


def plan(schema: Schema, op: Operation) -> tuple[Plan, Schema]:
    """Statements for ``op`` against ``schema``, and the schema after it."""
    after = apply_op(schema, op)
    result = Plan()
    match op:
        case CreateTable(table=t):
            result.statements.append(create_table_sql(t))
            _add_trigger(result, t)
        case DropTable(table=t):
            result.statements.append(f"DROP TABLE {quote(schema.table(t.id).name)}")
        case RenameTable(table_id=tid, new=new):
            result.statements.append(
                f"ALTER TABLE {quote(schema.table(tid).name)} RENAME TO {quote(new)}")
        case CopyTable(source_id=sid, table=t, data=data):
            result.statements.append(create_table_sql(t))
            _add_trigger(result, t)
            if data:
                src = schema.table(sid)
                cols = ", ".join(quote(c.name) for c in src.columns)
                result.statements.append(
                    f"INSERT INTO {quote(t.name)} ({cols}) SELECT {cols} FROM {quote(src.name)}")
        case AddColumn(table_id=tid, column=c):
            table = schema.table(tid)
            if _alterable_add(c):
                result.statements.append(
                    f"ALTER TABLE {quote(table.name)} ADD COLUMN {_column_def(c)}")
            else:
                _rebuild(result, schema, after, tid)
                _add_column_checks(result, table, c)
        case DropColumn(table_id=tid, column=c):
            table = schema.table(tid)
            current = table.column(c.id)
            for index in schema.indexes_of(tid):
                if current.id in index.column_ids:
                    result.statements.append(f"DROP INDEX {quote(index.name)}")
            if _alterable_drop(schema, table, current):
                result.statements.append(
                    f"ALTER TABLE {quote(table.name)} DROP COLUMN {quote(current.name)}")
            else:
                _rebuild(result, schema, after, tid, skip_index_of=current.id)
        case RenameColumn(table_id=tid, column_id=cid, new=new):
            table = schema.table(tid)
            result.statements.append(
                f"ALTER TABLE {quote(table.name)} RENAME COLUMN "
                f"{quote(table.column(cid).name)} TO {quote(new)}")
        case AlterColumn(table_id=tid, before=b, after=a):
            _rebuild(result, schema, after, tid)
            _alter_checks(result, schema.table(tid), b, a)
        case CreateIndex(index=i):
            result.statements.append(create_index_sql(i))
            if i.unique:
                result.checks.append(_duplicates_check(schema, i.table_id, i.column_ids, i.name))
        case DropIndex(index=i):
            result.statements.append(f"DROP INDEX {quote(schema.find_index(i.id).name)}")
        case CreateView(view=v):
            result.statements.append(create_view_sql(v))
        case ReplaceView(after=v):
            result.statements.append(f"DROP VIEW {quote(v.name)}")
            result.statements.append(create_view_sql(v))
        case DropView(view=v):
            result.statements.append(f"DROP VIEW {quote(v.name)}")
    return result, after


def replay(ops: Iterable[Operation], schema: Schema | None = None) -> Schema:
    """The schema a sequence of operations builds (from ``schema``, or from nothing)."""
    state = Schema() if schema is None else schema.model_copy(deep=True)
    for op in ops:
        apply_op(state, op, copy=False)
    return state


def plan_many(schema: Schema, ops: Iterable[Operation]) -> tuple[Plan, Schema]:
    """Plan a change set: its operations in order, as one unit."""
    total = Plan()
    for op in ops:
        step, schema = plan(schema, op)
        total.statements += step.statements
        total.checks += step.checks
        total.rebuild = total.rebuild or step.rebuild
    return total, schema


# --- state transitions ------------------------------------------------------------------


def apply_op(schema: Schema, op: Operation, *, copy: bool = True) -> Schema:
    """The schema after ``op``; objects are resolved by id so renames elsewhere don't matter.

    ``copy=False`` changes ``schema`` in place (replaying a long history without copies).
    """
    s = schema.model_copy(deep=True) if copy else schema
    match op:
        case CreateTable(table=t):
            s.tables.append(t.model_copy(deep=True))
        case DropTable(table=t):
            s.tables = [x for x in s.tables if x.id != t.id]
            s.indexes = [i for i in s.indexes if i.table_id != t.id]
        case RenameTable(table_id=tid, new=new):
            s.table(tid).name = new
            for index in s.indexes_of(tid):
                index.table = new
            for table in s.tables:
                for column in table.columns:
                    if column.references and column.references.table_id == tid:
                        column.references.table = new
            _rename_in_views(s, op)
        case CopyTable(table=t):
            s.tables.append(t.model_copy(deep=True))
        case AddColumn(table_id=tid, column=c):
            s.table(tid).columns.append(c.model_copy(deep=True))
        case DropColumn(table_id=tid, column=c):
            table = s.table(tid)
            table.columns = [x for x in table.columns if x.id != c.id]
            s.indexes = [i for i in s.indexes if c.id not in i.column_ids]
        case RenameColumn(table_id=tid, column_id=cid, new=new):
            s.table(tid).column(cid).name = new
            for index in s.indexes_of(tid):
                index.columns = [new if i == cid else n
                                 for i, n in zip(index.column_ids, index.columns, strict=True)]
            for table in s.tables:
                for column in table.columns:
                    if column.references and column.references.column_id == cid:
                        column.references.column = new
            _rename_in_views(s, op)
        case AlterColumn(table_id=tid, after=a):
            table = s.table(tid)
            table.columns = [a.model_copy(deep=True) if c.id == a.id else c for c in table.columns]
        case CreateIndex(index=i):
            s.indexes.append(i.model_copy(deep=True))
        case DropIndex(index=i):
            s.indexes = [x for x in s.indexes if x.id != i.id]
        case CreateView(view=v):
            s.views.append(v.model_copy(deep=True))
        case ReplaceView(after=v):
            s.views = [v.model_copy(deep=True) if x.id == v.id else x for x in s.views]
        case DropView(view=v):
            s.views = [x for x in s.views if x.id != v.id]
    return s


def _rename_in_views(schema: Schema, op: RenameTable | RenameColumn) -> None:
    """SQLite rewrites the views a rename touches; mirror that so the model matches tenants."""
    if not schema.views:
        return
    from cinch.planner.shadow import Shadow  # local: shadow imports sqlgen, not plan

    before = schema.model_copy(deep=True)
    # The shadow must hold the schema *before* the rename, with the names as they were.
    if isinstance(op, RenameTable):
        before.table(op.table_id).name = op.old
    else:
        before.table(op.table_id).column(op.column_id).name = op.old
    with Shadow(before) as shadow:
        if isinstance(op, RenameTable):
            shadow.run([f"ALTER TABLE {quote(op.old)} RENAME TO {quote(op.new)}"])
        else:
            table = before.table(op.table_id)
            shadow.run([f"ALTER TABLE {quote(table.name)} RENAME COLUMN "
                        f"{quote(op.old)} TO {quote(op.new)}"])
        bodies = shadow.view_bodies()
    for view in schema.views:
        view.sql = bodies.get(view.name.lower(), view.sql)


# --- helpers ------------------------------------------------------------------------------


def _column_def(column: Column) -> str:
    from cinch.planner.sqlgen import column_sql

    return column_sql(column)


def _add_trigger(result: Plan, table: Table) -> None:
    trigger = touch_trigger_sql(table)
    if trigger:
        result.statements.append(trigger)


def _alterable_add(column: Column) -> bool:
    """ADD COLUMN's limits: no PRIMARY KEY/UNIQUE, constant default, NOT NULL needs a default,
    and with foreign keys on, a REFERENCES column must default to NULL."""
    if column.primary_key or column.unique or column.default_expr is not None:
        return False
    if column.not_null and column.default is None:
        return False
    return not (column.references is not None and column.default is not None)


def _alterable_drop(schema: Schema, table: Table, column: Column) -> bool:
    """DROP COLUMN fails on PRIMARY KEY, UNIQUE and foreign-key columns, either end."""
    if column.primary_key or column.unique or column.references is not None:
        return False
    return not any(
        c.references and c.references.column_id == column.id
        for t in schema.tables for c in t.columns
    )


def _views_reading(schema: Schema, table_name: str) -> list[str]:
    if not schema.views:
        return []
    from cinch.planner.shadow import Shadow

    with Shadow(schema) as shadow:
        return [v.name for v in schema.views
                if any(t == table_name.lower() for t, _ in shadow.view_reads(v.name))]


def _rebuild(result: Plan, before: Schema, after: Schema, table_id: str,
             skip_index_of: str | None = None) -> None:
    old, new = before.table(table_id), after.table(table_id)
    tmp = f"_cinch_new_{new.name}"[:63]
    kept = [c for c in new.columns if old.find_column(c.id) is not None]
    src = ", ".join(quote(old.column(c.id).name) for c in kept)
    dst = ", ".join(quote(c.name) for c in kept)
    views = _views_reading(before, old.name)
    result.rebuild = True
    result.statements += [f"DROP VIEW {quote(v)}" for v in views]
    result.statements.append(create_table_sql(new, name=tmp))
    if kept:
        result.statements.append(
            f"INSERT INTO {quote(tmp)} ({dst}) SELECT {src} FROM {quote(old.name)}")
    result.statements.append(f"DROP TABLE {quote(old.name)}")
    result.statements.append(f"ALTER TABLE {quote(tmp)} RENAME TO {quote(new.name)}")
    result.statements += [create_index_sql(i) for i in after.indexes_of(table_id)]
    _add_trigger(result, new)
    result.statements += [create_view_sql(v) for v in after.views if v.name in views]


def _add_column_checks(result: Plan, table: Table, column: Column) -> None:
    t = quote(table.name)
    if column.not_null and not column.has_default:
        result.checks.append(DataCheck(
            f"SELECT 1 FROM {t} LIMIT 1",
            f"table {table.name} has rows, so a NOT NULL column {column.name} needs a default",
        ))
    if column.unique and column.has_default and column.default_expr != "UUID4":
        result.checks.append(DataCheck(
            f"SELECT 1 FROM {t} LIMIT 1 OFFSET 1",
            f"table {table.name} has more than one row, so a UNIQUE column {column.name} "
            "with one default value would hold duplicates",
        ))


def _alter_checks(result: Plan, table: Table, before: Column, after: Column) -> None:
    t, c = quote(table.name), quote(before.name)
    if after.not_null and not before.not_null:
        result.checks.append(DataCheck(
            f"SELECT 1 FROM {t} WHERE {c} IS NULL LIMIT 1",
            f"column {table.name}.{before.name} holds NULLs, so it cannot become NOT NULL",
        ))
    if after.unique and not before.unique:
        result.checks.append(DataCheck(
            f"SELECT 1 FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} HAVING count(*) > 1 LIMIT 1",
            f"column {table.name}.{before.name} holds duplicate values, so it cannot be UNIQUE",
        ))
    if after.references is not None and after.references != before.references:
        ref = after.references
        result.checks.append(DataCheck(
            f"SELECT 1 FROM {t} WHERE {c} IS NOT NULL AND {c} NOT IN "
            f"(SELECT {quote(ref.column)} FROM {quote(ref.table)}) LIMIT 1",
            f"column {table.name}.{before.name} holds values missing from "
            f"{ref.table}.{ref.column}",
        ))
    if table.strict and after.type != before.type:
        result.checks.append(DataCheck(
            f"SELECT 1 FROM {t} WHERE {c} IS NOT NULL AND typeof({c}) NOT IN "
            f"({_strict_accepts(after.type)}) LIMIT 1",
            f"column {table.name}.{before.name} holds values a STRICT {after.type} column refuses",
        ))


def _strict_accepts(type_: str) -> str:
    accepts = {"INT": "'integer'", "INTEGER": "'integer'", "REAL": "'real', 'integer'",
               "TEXT": "'text'", "BLOB": "'blob'", "ANY": "'integer','real','text','blob'"}
    return accepts.get(type_, "'text'")


def _duplicates_check(schema: Schema, table_id: str, column_ids: list[str], name: str) -> DataCheck:
    table = schema.table(table_id)
    cols = [quote(table.column(c).name) for c in column_ids]
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    return DataCheck(
        f"SELECT 1 FROM {quote(table.name)} WHERE {not_null} GROUP BY {', '.join(cols)} "
        "HAVING count(*) > 1 LIMIT 1",
        f"table {table.name} holds duplicate values for unique index {name}",
    )
