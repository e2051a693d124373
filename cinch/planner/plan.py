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
from typing import Any, assert_never

from cinch.errors import NotFound
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
)
from cinch.models.schema import Column, Index, Schema, Table
from cinch.names import quote
from cinch.planner import ddl
from cinch.planner.sqlgen import (
    column_sql,
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
    after = _apply_model(schema, op, copy=True)
    result = _statements(schema, op, after)
    if _rewrites_text(schema, op):
        after = _refresh_text(schema, after, result.statements)
    return result, after


def _statements(schema: Schema, op: Operation, after: Schema) -> Plan:
    result = Plan()
    match op:
        case CreateTable(table=t):
            result.statements.append(create_table_sql(t))
            _add_trigger(result, t)
        case DropTable(table=t):
            result.statements.append(f"DROP TABLE {quote(schema.table(t.id).name)}")
        case RenameTable(table_id=tid, new=new):
            result.statements += rename_table_sql(schema.table(tid).name, new, tid)
        case CopyTable(source_id=sid, table=t, data=data):
            result.statements.append(create_table_sql(t))
            _add_trigger(result, t)
            if data:
                src = schema.table(sid)
                cols = ", ".join(quote(c.name) for c in src.columns if not c.generated)
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
        case CreateObject(object=o):
            result.statements.append(o.sql)
        case DropObject(object=o):
            kind = "TABLE" if o.type == "table" else o.type.upper()
            result.statements.append(f"DROP {kind} {quote(o.name)}")
        case _:
            assert_never(op)
    return result


def replay(ops: Iterable[Operation], schema: Schema | None = None) -> Schema:
    """The schema a sequence of operations builds (from ``schema``, or from nothing)."""
    state = Schema() if schema is None else schema.model_copy(deep=True)
    for op in ops:
        apply_op(state, op, copy=False)
    return state


def plan_many(schema: Schema, ops: Iterable[Operation]) -> tuple[Plan, Schema]:
    """Plan a change set: its operations in order, as one unit.

    Consecutive alterations of one table of which some need a rebuild are planned as one
    rebuild from the table before the first to the table after the last: every row is copied
    once, not once per alteration. Their data checks stay each its own."""
    total = Plan()
    ops = list(ops)
    i = 0
    while i < len(ops):
        end = _foldable_run(schema, ops, i)
        if end - i > 1:
            before = schema
            rebuilds = 0
            for op in ops[i:end]:
                step, schema = plan(schema, op)
                total.checks += step.checks
                rebuilds += step.rebuild
            if rebuilds:
                _rebuild(total, before, schema, _table_of(ops[i]))
                i = end
                continue
            schema = before  # no rebuild among them: plain ALTERs, planned one by one
        step, schema = plan(schema, ops[i])
        total.statements += step.statements
        total.checks += step.checks
        total.rebuild = total.rebuild or step.rebuild
        i += 1
    return total, schema


_ALTERATIONS = (AddColumn, DropColumn, AlterColumn, RenameColumn)


def _table_of(op: Operation) -> str:
    assert isinstance(op, _ALTERATIONS)
    return op.table_id


def _foldable_run(schema: Schema, ops: list[Operation], start: int) -> int:
    """The end of the run of alterations of one table from ``start`` that one rebuild can
    stand for. Not folded: a table other tables reference (a rename rewrites their foreign
    keys, a rebuild would not) and a column altered twice (each conversion of its values is
    kept as it was planned)."""
    first = ops[start]
    if not isinstance(first, _ALTERATIONS):
        return start + 1
    table_id = first.table_id
    if _referencing(schema, lambda ref: ref.table_id == table_id):
        return start + 1
    altered: set[str] = set()
    end = start
    while end < len(ops) and isinstance(ops[end], _ALTERATIONS) and \
            _table_of(ops[end]) == table_id:
        op = ops[end]
        if isinstance(op, AlterColumn):
            if op.before.id in altered:
                break
            altered.add(op.before.id)
        end += 1
    return end


# --- state transitions ------------------------------------------------------------------


def apply_op(schema: Schema, op: Operation, *, copy: bool = True) -> Schema:
    """The schema after ``op``; objects are resolved by id so renames elsewhere don't matter.

    Copy-on-write: the result shares every object ``op`` does not touch with ``schema``, so
    planning a long log costs what the changes touch, not the schema's size per operation.
    ``copy=False`` changes ``schema`` in place (replaying a history from scratch).
    """
    if not _rewrites_text(schema, op):
        return _apply_model(schema, op, copy=copy)
    before = schema.model_copy(deep=True) if not copy else schema
    after = _apply_model(schema, op, copy=copy)
    result = _refresh_text(before, after, _statements(before, op, after).statements)
    if not copy:  # in place, as the caller asked
        schema.tables, schema.indexes = result.tables, result.indexes
        schema.views, schema.objects = result.views, result.objects
        return schema
    return result


def _rewrites_text(schema: Schema, op: Operation) -> bool:
    """Whether ``op`` changes the SQL text SQLite holds for objects kept verbatim."""
    return schema.verbatim and isinstance(
        op, RenameTable | RenameColumn | AddColumn | DropColumn | AlterColumn)


def _refresh_text(before: Schema, after: Schema, statements: list[str]) -> Schema:
    """Take the text of every verbatim object from SQLite after running ``statements`` on
    ``before``: a rename rewrites every trigger, index and foreign key naming what it renames,
    and the model keeps matching what the tenants hold."""
    from cinch.planner.shadow import Shadow  # local: shadow imports sqlgen, not plan

    with Shadow(before) as shadow:
        shadow.conn.execute("PRAGMA foreign_keys=OFF")
        shadow.run(statements)
        held = {name.lower(): sql for name, sql in shadow.conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL")}
    s = _Writable(after, copy=True)
    for table in after.tables:
        if table.ddl is not None and held.get(table.name.lower(), table.ddl) != table.ddl:
            s.table(table.id).ddl = held[table.name.lower()]
    for index in after.indexes:
        if index.ddl is not None and held.get(index.name.lower(), index.ddl) != index.ddl:
            s.index(index.id).ddl = held[index.name.lower()]
    for view in after.views:
        if view.ddl is not None and held.get(view.name.lower(), view.ddl) != view.ddl:
            s._own(s.schema.views, view.id).ddl = held[view.name.lower()]
    s.schema.objects = [
        o if held.get(o.name.lower(), o.sql) == o.sql else o.model_copy(
            update={"sql": held[o.name.lower()]})
        for o in after.objects if o.name.lower() in held]
    return s.schema


def _apply_model(schema: Schema, op: Operation, *, copy: bool) -> Schema:
    s = _Writable(schema, copy)
    match op:
        case CreateTable(table=t) | CopyTable(table=t):
            s.schema.tables.append(t.model_copy(deep=True))
        case DropTable(table=t):
            name = s.schema.table(t.id).name.lower()
            s.schema.tables = [x for x in s.schema.tables if x.id != t.id]
            s.schema.indexes = [i for i in s.schema.indexes if i.table_id != t.id]
            # SQLite drops a table's triggers and indexes with it
            s.schema.objects = [o for o in s.schema.objects
                                if o.type == "table" or o.table.lower() != name]
        case RenameTable(table_id=tid, new=new):
            bodies = _renamed_view_bodies(s.schema, op)
            old_name = s.schema.table(tid).name.lower()
            s.schema.objects = [o.model_copy(update={"table": new})
                                if o.table.lower() == old_name else o for o in s.schema.objects]
            s.table(tid).name = new
            for index in s.schema.indexes_of(tid):
                s.index(index.id).table = new
            for table in _referencing(s.schema, lambda ref: ref.table_id == tid):
                for column in s.table(table.id).columns:
                    if column.references and column.references.table_id == tid:
                        column.references.table = new
            s.set_view_bodies(bodies)
        case AddColumn(table_id=tid, column=c):
            table = s.table(tid)
            old = table.model_copy(deep=True)
            table.columns.append(c.model_copy(deep=True))
            _rewrite_ddl(old, table)
        case DropColumn(table_id=tid, column=c):
            table = s.table(tid)
            old = table.model_copy(deep=True)
            table.columns = [x for x in table.columns if x.id != c.id]
            s.schema.indexes = [i for i in s.schema.indexes if c.id not in i.column_ids]
            _rewrite_ddl(old, table)
        case RenameColumn(table_id=tid, column_id=cid, new=new):
            bodies = _renamed_view_bodies(s.schema, op)
            s.table(tid).column(cid).name = new
            for index in s.schema.indexes_of(tid):
                if cid in index.column_ids:
                    owned = s.index(index.id)
                    owned.columns = [new if i == cid else n for i, n in
                                     zip(owned.column_ids, owned.columns, strict=True)]
            for table in _referencing(s.schema, lambda ref: ref.column_id == cid):
                for column in s.table(table.id).columns:
                    if column.references and column.references.column_id == cid:
                        column.references.column = new
            s.set_view_bodies(bodies)
        case AlterColumn(table_id=tid, after=a):
            table = s.table(tid)
            old = table.model_copy(deep=True)
            table.columns = [a.model_copy(deep=True) if c.id == a.id else c for c in table.columns]
            _rewrite_ddl(old, table)
        case CreateIndex(index=i):
            s.schema.indexes.append(i.model_copy(deep=True))
        case DropIndex(index=i):
            s.schema.indexes = [x for x in s.schema.indexes if x.id != i.id]
        case CreateView(view=v):
            s.schema.views.append(v.model_copy(deep=True))
        case ReplaceView(after=v):
            s.schema.views = [v.model_copy(deep=True) if x.id == v.id else x
                              for x in s.schema.views]
        case DropView(view=v):
            s.schema.views = [x for x in s.schema.views if x.id != v.id]
        case CreateObject(object=o):
            s.schema.objects.append(o.model_copy(deep=True))
        case DropObject(object=o):
            s.schema.objects = [x for x in s.schema.objects if x.id != o.id]
        case _:
            assert_never(op)
    return s.schema


def _rewrite_ddl(before: Table, after: Table) -> None:
    """An adopted table's text with its columns as they are now (see ``cinch.planner.ddl``);
    where a plain ALTER did the change, the text SQLite writes replaces this one."""
    if before.ddl is not None:
        after.ddl = ddl.rewrite(before, after, column_sql)


class _Writable:
    """A schema whose lists are its own, handing out private copies of objects on first write."""

    def __init__(self, schema: Schema, copy: bool) -> None:
        self.copy = copy
        self.schema = Schema.model_construct(
            tables=list(schema.tables), indexes=list(schema.indexes), views=list(schema.views),
            objects=list(schema.objects),
        ) if copy else schema
        self._owned: set[int] = set()

    def _own(self, items: list, obj_id: str) -> Any:
        for i, item in enumerate(items):
            if item.id == obj_id:
                if self.copy and id(item) not in self._owned:
                    item = items[i] = item.model_copy(deep=True)
                    self._owned.add(id(item))
                return item
        raise NotFound(f"no object with id {obj_id!r} in the schema", id=obj_id)

    def table(self, name_or_id: str) -> Table:
        return self._own(self.schema.tables, self.schema.table(name_or_id).id)

    def index(self, index_id: str) -> Index:
        return self._own(self.schema.indexes, index_id)

    def set_view_bodies(self, bodies: dict[str, str]) -> None:
        for view in list(self.schema.views):
            body = bodies.get(view.name.lower())
            if body is not None and body != view.sql:
                self._own(self.schema.views, view.id).sql = body


def _referencing(schema: Schema, match: Any) -> list[Table]:
    return [t for t in schema.tables
            if any(c.references is not None and match(c.references) for c in t.columns)]


def _renamed_view_bodies(before: Schema, op: RenameTable | RenameColumn) -> dict[str, str]:
    """SQLite rewrites the views a rename touches; compute that on the schema *before* the
    rename, so the model keeps matching what the tenants hold."""
    if not before.views:
        return {}
    from cinch.planner.shadow import Shadow  # local: shadow imports sqlgen, not plan

    with Shadow(before) as shadow:
        if isinstance(op, RenameTable):
            shadow.run(rename_table_sql(before.table(op.table_id).name, op.new, op.table_id))
        else:
            table = before.table(op.table_id)
            old = table.column(op.column_id).name
            shadow.run([f"ALTER TABLE {quote(table.name)} RENAME COLUMN "
                        f"{quote(old)} TO {quote(op.new)}"])
        return shadow.view_bodies()


# --- helpers ------------------------------------------------------------------------------


def rename_table_sql(old: str, new: str, table_id: str) -> list[str]:
    """``ALTER TABLE ... RENAME TO``; SQLite refuses a new name that differs only in case
    (it finds the table itself), so such a rename goes through a temporary name."""
    if old.lower() != new.lower():
        return [f"ALTER TABLE {quote(old)} RENAME TO {quote(new)}"]
    tmp = f"_cinch_rename_{table_id}"[:63]
    return [f"ALTER TABLE {quote(old)} RENAME TO {quote(tmp)}",
            f"ALTER TABLE {quote(tmp)} RENAME TO {quote(new)}"]


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
    kept = [c for c in new.columns if old.find_column(c.id) is not None and not c.generated]
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
    # triggers and partial or expression indexes went with the old table
    result.statements += [o.sql for o in after.objects
                          if o.type in ("index", "trigger") and o.table.lower() == new.name.lower()]
    _add_trigger(result, new)
    result.statements += [create_view_sql(v) for v in after.views if v.name in views]


def _add_column_checks(result: Plan, table: Table, column: Column) -> None:
    t = quote(table.name)
    if column.not_null and not column.has_default:
        result.checks.append(DataCheck(
            f"SELECT 1 FROM {t} LIMIT 1",
            f"table {table.name} has rows, so a NOT NULL column {column.name} needs a default",
        ))
    if column.unique and column.has_default and column.default_expr not in ("UUID", "UUID4"):
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
