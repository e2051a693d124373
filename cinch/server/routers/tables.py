"""Tables and their columns: read on any branch, change on unprotected ones (the engine's
validated operations; ``dry_run`` previews)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cinch import Column, ColumnSpec, DefaultExpr, DefaultValue, Table
from cinch.errors import UsageError
from cinch.server.deps import ReadTarget, Target, WriteTarget, name_path
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.etag import SchemaETag
from cinch.server.models import ChangeResultPublic, Request
from cinch.server.routers.changes import Cascade, DryRun, Message, run_change

router = APIRouter(prefix="/databases/{db}/tables", tags=["tables"], responses=ERROR_RESPONSES)
columns_router = APIRouter(prefix="/databases/{db}/tables/{table}/columns", tags=["columns"],
                           responses=ERROR_RESPONSES)

TablePath = Annotated[str, name_path("Table", "users")]
ColumnPath = Annotated[str, name_path("Column", "name")]
OnDelete = Literal["NO ACTION", "CASCADE", "SET NULL", "RESTRICT", "SET DEFAULT"]


class ColumnPublic(BaseModel):
    id: str
    name: str
    type: str
    not_null: bool
    unique: bool
    primary_key: bool
    default: DefaultValue
    default_expr: DefaultExpr | None
    references: str | None = Field(description="TABLE.COLUMN it references")
    on_delete: OnDelete | None
    auto: Literal["id", "created_at", "updated_at"] | None


class IndexSummary(BaseModel):
    name: str
    columns: list[str]
    unique: bool


class TablePublic(BaseModel):
    id: str
    name: str
    strict: bool
    columns: list[ColumnPublic]
    indexes: list[IndexSummary]


class ColumnCreate(Request):
    name: str = Field(min_length=1, max_length=63)
    type: str = Field(default="TEXT", max_length=64)
    not_null: bool = False
    unique: bool = False
    primary_key: bool = False
    default: DefaultValue = None
    default_expr: DefaultExpr | None = None
    references: str | None = Field(default=None, max_length=130,
                                   description="TABLE.COLUMN, or TABLE for its id")
    on_delete: OnDelete = "NO ACTION"

    def spec(self) -> ColumnSpec:
        return ColumnSpec(**self.model_dump())


class ColumnUpdate(Request):
    """Either `name` (a rename) or the attributes to alter (one table rebuild), not both."""

    name: str | None = Field(default=None, min_length=1, max_length=63)
    type: str | None = Field(default=None, max_length=64)
    not_null: bool | None = None
    unique: bool | None = None
    default: DefaultValue = None
    default_expr: DefaultExpr | None = None
    references: str | None = Field(default=None, max_length=130,
                                   description="TABLE.COLUMN; null removes the reference")
    on_delete: OnDelete = "NO ACTION"
    message: str | None = Field(default=None, max_length=2000)


class TableCreate(Request):
    name: str = Field(min_length=1, max_length=63)
    columns: list[ColumnCreate] = Field(default=[], max_length=500)
    strict: bool = False
    timestamps: bool = Field(default=True, description="Add created_at/updated_at")
    message: str | None = Field(default=None, max_length=2000)


class TableUpdate(Request):
    name: str = Field(min_length=1, max_length=63, description="New name (a rename)")
    message: str | None = Field(default=None, max_length=2000)


class TableCopy(Request):
    name: str = Field(min_length=1, max_length=63, description="Name of the copy")
    data: bool = Field(default=True, description="Copy the rows too")
    message: str | None = Field(default=None, max_length=2000)


def column_public(c: Column) -> ColumnPublic:
    ref = c.references
    return ColumnPublic(id=c.id, name=c.name, type=c.type, not_null=c.not_null, unique=c.unique,
                        primary_key=c.primary_key, default=c.default,
                        default_expr=c.default_expr,
                        references=f"{ref.table}.{ref.column}" if ref else None,
                        on_delete=ref.on_delete if ref else None, auto=c.auto)


def table_public(t: Target, table: Table) -> TablePublic:
    indexes = [IndexSummary(name=i.name, columns=i.columns, unique=i.unique)
               for i in t.db.schema().indexes_of(table.id)]
    return TablePublic(id=table.id, name=table.name, strict=table.strict,
                       columns=[column_public(c) for c in table.columns], indexes=indexes)


@router.get("", name="list", dependencies=[SchemaETag])
def list_tables(t: ReadTarget) -> list[TablePublic]:
    """Tables of the database on the branch, with columns and indexes."""
    return [table_public(t, table) for table in t.db.tables()]


@router.get("/{table}", name="get", dependencies=[SchemaETag])
def get_table(t: ReadTarget, table: TablePath) -> TablePublic:
    return table_public(t, t.db.table(table))


@router.post("", name="create")
def create_table(t: WriteTarget, body: TableCreate, dry_run: DryRun = False) -> ChangeResultPublic:
    """Create a table (every table gets an `id` and, by default, timestamps)."""
    return run_change(t, lambda: t.db.create_table(
        body.name, [c.spec() for c in body.columns], strict=body.strict,
        timestamps=body.timestamps, message=body.message, dry_run=dry_run))


@router.patch("/{table}", name="rename")
def rename_table(t: WriteTarget, table: TablePath, body: TableUpdate, cascade: Cascade = False,
                 dry_run: DryRun = False) -> ChangeResultPublic:
    return run_change(t, lambda: t.db.rename_table(table, body.name, cascade=cascade,
                                                   message=body.message, dry_run=dry_run))


@router.post("/{table}/copy", name="copy")
def copy_table(t: WriteTarget, table: TablePath, body: TableCopy,
               dry_run: DryRun = False) -> ChangeResultPublic:
    return run_change(t, lambda: t.db.copy_table(table, body.name, data=body.data,
                                                 message=body.message, dry_run=dry_run))


@router.delete("/{table}", name="drop")
def drop_table(t: WriteTarget, table: TablePath, cascade: Cascade = False,
               message: Message = None, dry_run: DryRun = False) -> ChangeResultPublic:
    """Drop a table: its rows are gone from every tenant of the branch."""
    return run_change(t, lambda: t.db.drop_table(table, cascade=cascade, message=message,
                                                 dry_run=dry_run))


@columns_router.get("", name="list", dependencies=[SchemaETag])
def list_columns(t: ReadTarget, table: TablePath) -> list[ColumnPublic]:
    return [column_public(c) for c in t.db.table(table).columns]


@columns_router.post("", name="add")
def add_column(t: WriteTarget, table: TablePath, body: ColumnCreate, message: Message = None,
               dry_run: DryRun = False) -> ChangeResultPublic:
    """Add a column (plain ALTER where SQLite allows it, else a rebuild)."""
    return run_change(t, lambda: t.db.add_column(table, body.spec(), message=message,
                                                 dry_run=dry_run))


@columns_router.patch("/{column}", name="alter")
def alter_column(t: WriteTarget, table: TablePath, column: ColumnPath, body: ColumnUpdate,
                 cascade: Cascade = False, dry_run: DryRun = False) -> ChangeResultPublic:
    """Rename a column (`name`), or alter its type, nullability, default, uniqueness or
    reference (data kept)."""
    fields = body.model_fields_set - {"message", "on_delete"}
    if "name" in fields:
        if fields - {"name"}:
            raise UsageError("a rename cannot be combined with other changes: send two requests")
        return run_change(t, lambda: t.db.rename_column(
            table, column, body.name or "", cascade=cascade, message=body.message,
            dry_run=dry_run))
    changes: dict[str, Any] = {f: getattr(body, f) for f in fields}
    if "references" in changes:
        changes["on_delete"] = body.on_delete
    if not changes:
        raise UsageError("nothing to alter: send name, type, not_null, unique, default, "
                         "default_expr or references")
    return run_change(t, lambda: t.db.alter_column(table, column, message=body.message,
                                                   dry_run=dry_run, **changes))


@columns_router.delete("/{column}", name="drop")
def drop_column(t: WriteTarget, table: TablePath, column: ColumnPath, cascade: Cascade = False,
                message: Message = None, dry_run: DryRun = False) -> ChangeResultPublic:
    """Drop a column: its values are gone from every tenant of the branch."""
    return run_change(t, lambda: t.db.drop_column(table, column, cascade=cascade,
                                                  message=message, dry_run=dry_run))
