"""Typed schema operations: each kind of change is its own type (discriminated on ``op``).

Operations that destroy or rewrite something keep the definition they replaced, so a change
set can be reverted and a merge can see what each side touched.
"""

from __future__ import annotations

from typing import Annotated, Literal, assert_never

from pydantic import Field

from cinch.models.schema import Column, Index, Model, Name, SqlObject, Table, View


class CreateTable(Model):
    op: Literal["create_table"] = "create_table"
    table: Table


class DropTable(Model):
    op: Literal["drop_table"] = "drop_table"
    table: Table  # the definition dropped, for revert
    indexes: list[Index] = []


class RenameTable(Model):
    op: Literal["rename_table"] = "rename_table"
    table_id: str
    old: Name
    new: Name


class CopyTable(Model):
    op: Literal["copy_table"] = "copy_table"
    source_id: str
    source: Name
    table: Table  # the copy, with ids of its own
    data: bool = True


class AddColumn(Model):
    op: Literal["add_column"] = "add_column"
    table_id: str
    table: Name
    column: Column


class DropColumn(Model):
    op: Literal["drop_column"] = "drop_column"
    table_id: str
    table: Name
    column: Column  # the definition dropped, for revert


class RenameColumn(Model):
    op: Literal["rename_column"] = "rename_column"
    table_id: str
    table: Name
    column_id: str
    old: Name
    new: Name


class AlterColumn(Model):
    op: Literal["alter_column"] = "alter_column"
    table_id: str
    table: Name
    before: Column
    after: Column


class CreateIndex(Model):
    op: Literal["create_index"] = "create_index"
    index: Index


class DropIndex(Model):
    op: Literal["drop_index"] = "drop_index"
    index: Index


class CreateView(Model):
    op: Literal["create_view"] = "create_view"
    view: View


class ReplaceView(Model):
    op: Literal["replace_view"] = "replace_view"
    before: View
    after: View


class DropView(Model):
    op: Literal["drop_view"] = "drop_view"
    view: View


class CreateObject(Model):
    """Create something cinch carries as verbatim SQL (a trigger, a virtual table, ...)."""

    op: Literal["create_object"] = "create_object"
    object: SqlObject


class DropObject(Model):
    op: Literal["drop_object"] = "drop_object"
    object: SqlObject  # the definition dropped, for revert


Operation = Annotated[
    CreateTable | DropTable | RenameTable | CopyTable | AddColumn | DropColumn | RenameColumn
    | AlterColumn | CreateIndex | DropIndex | CreateView | ReplaceView | DropView
    | CreateObject | DropObject,
    Field(discriminator="op"),
]

# Operations after which rows may be gone: reverting them cannot bring data back by itself.
DESTRUCTIVE = ("drop_table", "drop_column")


def describe(op: Operation) -> str:
    """One line a person reads in ``cinch log`` and in conflict reports."""
    match op:
        case CreateTable(table=t):
            return f"create table {t.name}"
        case DropTable(table=t):
            return f"drop table {t.name}"
        case RenameTable(old=old, new=new):
            return f"rename table {old} to {new}"
        case CopyTable(source=s, table=t):
            return f"copy table {s} to {t.name}"
        case AddColumn(table=t, column=c):
            return f"add column {t}.{c.name} {c.type}"
        case DropColumn(table=t, column=c):
            return f"drop column {t}.{c.name}"
        case RenameColumn(table=t, old=old, new=new):
            return f"rename column {t}.{old} to {new}"
        case AlterColumn(table=t, before=b):
            return f"alter column {t}.{b.name}"
        case CreateIndex(index=i):
            return f"create {'unique ' if i.unique else ''}index {i.name} on {i.table}"
        case DropIndex(index=i):
            return f"drop index {i.name}"
        case CreateView(view=v):
            return f"create view {v.name}"
        case ReplaceView(after=v):
            return f"replace view {v.name}"
        case DropView(view=v):
            return f"drop view {v.name}"
        case CreateObject(object=o):
            return f"create {o.type} {o.name}"
        case DropObject(object=o):
            return f"drop {o.type} {o.name}"
        case _:
            assert_never(op)
