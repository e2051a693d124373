"""A structured diff of two schemas, matched by stable ids (a rename is a rename)."""

from __future__ import annotations

import difflib
from typing import Any

from cinch.models.schema import Column, Schema
from cinch.planner.sqlgen import schema_sql


def _col(c: Column) -> dict[str, Any]:
    return c.model_dump(exclude={"id"}, exclude_none=True, exclude_defaults=True)


def diff_schemas(old: Schema, new: Schema) -> list[dict[str, Any]]:
    """Differences as ``{"kind", "object", ...}`` entries, in a stable order."""
    out: list[dict[str, Any]] = []
    old_tables = {t.id: t for t in old.tables}
    new_tables = {t.id: t for t in new.tables}
    for tid, table in new_tables.items():
        before = old_tables.get(tid)
        if before is None:
            out.append({"kind": "table_added", "object": table.name})
            continue
        if before.name != table.name:
            out.append({"kind": "table_renamed", "object": table.name, "from": before.name})
        old_cols = {c.id: c for c in before.columns}
        new_cols = {c.id: c for c in table.columns}
        for cid, col in new_cols.items():
            was = old_cols.get(cid)
            obj = f"{table.name}.{col.name}"
            if was is None:
                out.append({"kind": "column_added", "object": obj, "type": col.type})
                continue
            if was.name != col.name:
                out.append({"kind": "column_renamed", "object": obj, "from": was.name})
            if _col(was) | {"name": None} != _col(col) | {"name": None}:
                out.append({"kind": "column_altered", "object": obj,
                            "from": _col(was), "to": _col(col)})
        for cid, was in old_cols.items():
            if cid not in new_cols:
                out.append({"kind": "column_dropped", "object": f"{table.name}.{was.name}"})
    for tid, table in old_tables.items():
        if tid not in new_tables:
            out.append({"kind": "table_dropped", "object": table.name})
    for kind, old_items, new_items in (("index", old.indexes, new.indexes),
                                       ("view", old.views, new.views)):
        before = {i.id: i for i in old_items}
        after = {i.id: i for i in new_items}
        for oid, item in after.items():
            if oid not in before:
                out.append({"kind": f"{kind}_added", "object": item.name})
            elif before[oid].model_dump(exclude={"table", "columns"}) != item.model_dump(
                    exclude={"table", "columns"}):
                out.append({"kind": f"{kind}_changed", "object": item.name})
        for oid, item in before.items():
            if oid not in after:
                out.append({"kind": f"{kind}_dropped", "object": item.name})
    return out


def sql_diff(old: Schema, new: Schema, db: str, old_label: str, new_label: str) -> str:
    """A unified diff of the two schemas' ``schema.sql``."""
    a = schema_sql(old, db).splitlines(keepends=True)
    b = schema_sql(new, db).splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, fromfile=f"{old_label}:schema/{db}/schema.sql",
                                        tofile=f"{new_label}:schema/{db}/schema.sql"))
