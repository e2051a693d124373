"""Turn what a person asks for into validated operations against the current schema.

Every check happens here, before anything is written: names, types, existence, the shared
namespace of tables/views/indexes, and what depends on what (views, indexes, foreign keys).
``cascade`` turns a refusal over dependents into explicit extra operations.
"""

from __future__ import annotations

import sqlite3

from cinch.errors import AlreadyExists, DependencyError, InvalidOperation, InvalidType, NotFound
from cinch.models.ids import object_id
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
from cinch.models.schema import Column, ForeignKey, Index, Schema, Table, View
from cinch.models.types import affinity, normalize_type
from cinch.names import check_name, quote
from cinch.planner import ddl
from cinch.planner.columns import ColumnSpec
from cinch.planner.plan import plan_many
from cinch.planner.shadow import Shadow
from cinch.planner.sqlgen import literal

AUTO_COLUMNS = ("id", "created_at", "updated_at")


def auto_columns() -> tuple[Column, Column, Column]:
    return (
        Column(id=object_id("c"), name="id", type="TEXT", primary_key=True, not_null=True,
               default_expr="UUID", auto="id"),
        Column(id=object_id("c"), name="created_at", type="TEXT", not_null=True,
               default_expr="NOW", auto="created_at"),
        Column(id=object_id("c"), name="updated_at", type="TEXT", not_null=True,
               default_expr="NOW", auto="updated_at"),
    )


def _free(schema: Schema, name: str, kind: str) -> str:
    check_name(name, kind)
    taken = schema.name_taken(name)
    if taken:
        article = "an" if taken[0] in "aeiou" else "a"
        raise AlreadyExists(f"{article} {taken} named {name!r} already exists", name=name,
                            kind=taken)
    return name


def _table(schema: Schema, name: str) -> Table:
    check_name(name, "table")
    return schema.table(name)


def _column(schema: Schema, spec: ColumnSpec, *, strict: bool) -> Column:
    references = None
    if spec.references:
        ref_table, _, ref_col = spec.references.partition(".")
        target = _table(schema, ref_table)
        target_col = target.column(ref_col or "id")
        if not (target_col.primary_key or target_col.unique):
            raise InvalidOperation(
                f"{target.name}.{target_col.name} is neither a primary key nor unique, so it "
                "cannot be referenced", table=target.name, column=target_col.name)
        references = ForeignKey(table_id=target.id, table=target.name, column_id=target_col.id,
                                column=target_col.name, on_delete=spec.on_delete)
    column = Column(
        id=object_id("c"), name=check_name(spec.name, "column"),
        type=normalize_type(spec.type, strict=strict), not_null=spec.not_null,
        unique=spec.unique, primary_key=spec.primary_key, default=spec.default,
        default_expr=spec.default_expr, references=references,
    )
    _check_default(column, strict=strict)
    return column


def _check_default(column: Column, *, strict: bool) -> None:
    """A default must fit its column. A STRICT column refuses one of another type, but only
    when a row uses it; any other column would store a text default in a number column as
    text (``qty INTEGER DEFAULT 'abc'``). Refuse both now, not at a tenant's first insert."""
    if column.default is None:
        return
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE TABLE t ({quote(column.name)} {column.type} "
                     f"DEFAULT {literal(column.default)}){' STRICT' if strict else ''}")
        conn.execute("INSERT INTO t DEFAULT VALUES")
        stored = conn.execute(f"SELECT typeof({quote(column.name)}) FROM t").fetchone()[0]
    except sqlite3.Error as exc:
        raise InvalidType(
            f"default {column.default!r} of column {column.name} does not fit a STRICT "
            f"{column.type} column ({exc})", column=column.name, type=column.type) from exc
    finally:
        conn.close()
    if affinity(column.type) in ("INTEGER", "REAL", "NUMERIC") and stored in ("text", "blob"):
        raise InvalidType(
            f"default {column.default!r} of column {column.name} is not a number, so it does "
            f"not fit the column's type {column.type}", column=column.name, type=column.type,
            hint="give a number, or make the column TEXT")


def check(schema: Schema, ops: list[Operation], *, what: str = "the change") -> Schema:
    """Dry-run ``ops`` on an in-memory copy of the schema; return the schema after them."""
    result, after = plan_many(schema, ops)
    with Shadow(schema) as shadow:
        if result.rebuild:
            shadow.conn.execute("PRAGMA foreign_keys=OFF")
        shadow.run(result.statements, what=what)
        broken = shadow.broken_views()
    if broken:
        name, reason = next(iter(broken.items()))
        raise DependencyError(f"{what} would break view {name!r}: {reason}", view=name)
    return after


# --- tables -------------------------------------------------------------------------------


def create_table(schema: Schema, name: str, specs: list[ColumnSpec], *, strict: bool = False,
                 timestamps: bool = True) -> list[Operation]:
    _free(schema, name, "table")
    id_col, created, updated = auto_columns()
    user_cols = [_column(schema, s, strict=strict) for s in specs]
    if any(c.primary_key for c in user_cols):
        raise InvalidOperation(
            "tables get an automatic 'id' primary key; use unique for other keys", table=name)
    reserved = {c.name.lower() for c in user_cols} & set(AUTO_COLUMNS)
    if reserved:
        raise InvalidOperation(
            f"column {sorted(reserved)[0]!r} is maintained by cinch; choose another name",
            table=name)
    columns = [id_col, *user_cols, *([created, updated] if timestamps else [])]
    try:
        table = Table(id=object_id("t"), name=name, columns=columns, strict=strict)
    except ValueError as exc:
        raise InvalidOperation(f"table {name!r}: {_first_error(exc)}", table=name) from exc
    return [CreateTable(table=table)]


def drop_table(schema: Schema, name: str, *, cascade: bool = False) -> list[Operation]:
    table = _table(schema, name)
    for other in schema.tables:
        for column in other.columns:
            if other.id != table.id and column.references and \
                    column.references.table_id == table.id:
                raise DependencyError(
                    f"{other.name}.{column.name} references table {table.name}; drop or alter "
                    "that column first", table=table.name, referenced_by=f"{other.name}.{column.name}")
    views = _dependent_views(schema, table.name)
    ops: list[Operation] = _drop_views(schema, views, cascade, f"table {table.name}")
    ops.append(DropTable(table=table, indexes=schema.indexes_of(table.id)))
    return ops


def rename_table(schema: Schema, old: str, new: str, *, cascade: bool = False) -> list[Operation]:
    table = _table(schema, old)
    if new.lower() != table.name.lower():
        _free(schema, new, "table")
    else:
        check_name(new, "table")
    if new == table.name:
        raise InvalidOperation(f"table {table.name!r} already has that name")
    views = _dependent_views(schema, table.name)
    if views and not cascade:
        raise _dependency(f"rename table {table.name}", views)
    return [RenameTable(table_id=table.id, old=table.name, new=new)]


def copy_table(schema: Schema, source: str, new: str, *, data: bool = True) -> list[Operation]:
    src = _table(schema, source)
    _free(schema, new, "table")
    columns = [c.model_copy(update={"id": object_id("c")}) for c in src.columns]
    return [CopyTable(source_id=src.id, source=src.name, data=data,
                      table=Table(id=object_id("t"), name=new, columns=columns,
                                  strict=src.strict))]


# --- columns ------------------------------------------------------------------------------


def add_column(schema: Schema, table_name: str, spec: ColumnSpec) -> list[Operation]:
    table = _table(schema, table_name)
    if table.find_column(spec.name):
        raise AlreadyExists(f"table {table.name} already has a column {spec.name!r}",
                            table=table.name, column=spec.name)
    if spec.primary_key:
        raise InvalidOperation(f"table {table.name} already has its primary key 'id'")
    return [AddColumn(table_id=table.id, table=table.name,
                      column=_column(schema, spec, strict=table.strict))]


def _user_column(table: Table, name: str, verb: str) -> Column:
    check_name(name, "column")
    column = table.column(name)
    if column.auto:
        raise InvalidOperation(
            f"cannot {verb} {table.name}.{column.name}: cinch maintains it", column=column.name)
    return column


def drop_column(schema: Schema, table_name: str, name: str, *,
                cascade: bool = False) -> list[Operation]:
    table = _table(schema, table_name)
    column = _user_column(table, name, "drop")
    for other in schema.tables:
        for c in other.columns:
            if c.references and c.references.column_id == column.id:
                raise DependencyError(
                    f"{other.name}.{c.name} references {table.name}.{column.name}",
                    referenced_by=f"{other.name}.{c.name}")
    naming = ddl.constraints_naming(table, column.name)
    if naming:
        raise DependencyError(
            f"{table.name}.{column.name} is named by {naming[0]!r} in the table's own "
            "definition; dropping the column would break that constraint (nothing changed)",
            constraint=naming[0], column=column.name)
    ops: list[Operation] = []
    indexes = [i for i in schema.indexes_of(table.id) if column.id in i.column_ids]
    if indexes and not cascade:
        raise DependencyError(
            f"index {indexes[0].name!r} uses {table.name}.{column.name}; drop it first or pass "
            "--cascade", index=indexes[0].name)
    views = _dependent_views(schema, table.name, column.name)
    ops += _drop_views(schema, views, cascade, f"column {table.name}.{column.name}")
    ops += [DropIndex(index=i) for i in indexes]
    ops.append(DropColumn(table_id=table.id, table=table.name, column=column))
    return ops


def rename_column(schema: Schema, table_name: str, old: str, new: str, *,
                  cascade: bool = False) -> list[Operation]:
    table = _table(schema, table_name)
    column = _user_column(table, old, "rename")
    check_name(new, "column")
    if new in AUTO_COLUMNS:
        raise InvalidOperation(f"column name {new!r} is maintained by cinch; choose another")
    clash = table.find_column(new)
    if clash and clash.id != column.id:
        raise AlreadyExists(f"table {table.name} already has a column {new!r}")
    if new == column.name:
        raise InvalidOperation(f"column {table.name}.{column.name} already has that name")
    views = _dependent_views(schema, table.name, column.name)
    if views and not cascade:
        raise _dependency(f"rename column {table.name}.{column.name}", views)
    return [RenameColumn(table_id=table.id, table=table.name, column_id=column.id,
                         old=column.name, new=new)]


_UNSET = object()


def alter_column(schema: Schema, table_name: str, name: str, *, type: str | None = None,
                 not_null: bool | None = None, unique: bool | None = None,
                 default: object = _UNSET, default_expr: object = _UNSET,
                 references: str | object | None = _UNSET,
                 on_delete: str = "NO ACTION") -> list[Operation]:
    table = _table(schema, table_name)
    before = _user_column(table, name, "alter")
    changes: dict[str, object] = {}
    if type is not None:
        changes["type"] = normalize_type(type, strict=table.strict)
    if not_null is not None:
        changes["not_null"] = not_null
    if unique is not None:
        changes["unique"] = unique
    if default is not _UNSET:
        changes["default"], changes["default_expr"] = default, None
    if default_expr is not _UNSET:
        changes["default_expr"], changes["default"] = default_expr, None
    if references is not _UNSET:
        if references is None:
            changes["references"] = None
        else:
            spec = ColumnSpec(name=before.name, references=str(references), on_delete=on_delete)
            changes["references"] = _column(schema, spec, strict=False).references
    after = before.model_copy(update=changes)
    after = Column.model_validate(after.model_dump())
    _check_default(after, strict=table.strict)
    if after == before:
        raise InvalidOperation(f"nothing to change: {table.name}.{before.name} is already so")
    return [AlterColumn(table_id=table.id, table=table.name, before=before, after=after)]


# --- indexes and views --------------------------------------------------------------------


def create_index(schema: Schema, table_name: str, columns: list[str], *,
                 name: str | None = None, unique: bool = False) -> list[Operation]:
    table = _table(schema, table_name)
    if not columns:
        raise InvalidOperation("an index needs at least one column")
    cols = [table.column(check_name(c, "column")) for c in columns]
    if len({c.id for c in cols}) != len(cols):
        raise InvalidOperation("an index lists each column once")
    name = name or f"{table.name}_{'_'.join(c.name for c in cols)}_{'uniq' if unique else 'idx'}"
    _free(schema, name[:63], "index")
    return [CreateIndex(index=Index(
        id=object_id("i"), name=name[:63], table_id=table.id, table=table.name,
        column_ids=[c.id for c in cols], columns=[c.name for c in cols], unique=unique))]


def drop_index(schema: Schema, name: str) -> list[Operation]:
    index = schema.find_index(check_name(name, "index"))
    if index is None:
        raise NotFound(f"no index named {name!r}", index=name)
    return [DropIndex(index=index)]


def create_view(schema: Schema, name: str, sql: str) -> list[Operation]:
    _free(schema, name, "view")
    with Shadow(schema) as shadow:
        body = shadow.check_select(sql)
    return [CreateView(view=View(id=object_id("v"), name=name, sql=body))]


def replace_view(schema: Schema, name: str, sql: str) -> list[Operation]:
    view = schema.find_view(check_name(name, "view"))
    if view is None:
        raise NotFound(f"no view named {name!r}", view=name)
    with Shadow(schema) as shadow:
        body = shadow.check_select(sql)
    if body == view.sql:
        raise InvalidOperation(f"view {view.name} already has that SQL")
    return [ReplaceView(before=view, after=view.model_copy(update={"sql": body, "ddl": None}))]


def drop_view(schema: Schema, name: str, *, cascade: bool = False) -> list[Operation]:
    view = schema.find_view(check_name(name, "view"))
    if view is None:
        raise NotFound(f"no view named {name!r}", view=name)
    with Shadow(schema) as shadow:
        shadow.run([f'DROP VIEW "{view.name}"'])
        broken = [v.name for v in schema.views if v.name in shadow.broken_views()]
    ops: list[Operation] = _drop_views(schema, broken, cascade, f"view {view.name}")
    ops.append(DropView(view=view))
    return ops


# --- dependencies -------------------------------------------------------------------------


def _dependent_views(schema: Schema, table: str, column: str | None = None) -> list[str]:
    if not schema.views:
        return []
    with Shadow(schema) as shadow:
        out = []
        for view in schema.views:
            reads = shadow.view_reads(view.name)
            if any(t == table.lower() and (column is None or c == column.lower())
                   for t, c in reads):
                out.append(view.name)
        return out


def _drop_views(schema: Schema, names: list[str], cascade: bool, what: str) -> list[Operation]:
    if names and not cascade:
        raise _dependency(f"drop {what}", names)
    # Newest first: a view built on another goes before the one it reads.
    return [DropView(view=v) for v in reversed(schema.views) if v.name in names]


def _dependency(action: str, views: list[str]) -> DependencyError:
    listed = ", ".join(repr(v) for v in views)
    plural = len(views) > 1
    return DependencyError(
        f"cannot {action}: view{'s' if plural else ''} {listed} read{'' if plural else 's'} "
        "it; drop or replace the view first, or pass --cascade",
        views=views,
    )


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return str(errors()[0].get("msg", exc)).removeprefix("Value error, ")
    return str(exc)
