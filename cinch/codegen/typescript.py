"""TypeScript output: a Kysely-style ``DB`` interface and a typed query builder.

``schema.ts`` holds one interface per table and view (``Generated<T>`` for columns the database
fills in, ``ReadOnly<T>`` for those cinch maintains), their row, insert and update types, the
``DB`` interface and each column's kind; ``query.ts`` the builder, which runs through an
``Executor`` (``sdkExecutor`` adapts a client with ``tenants.query``); ``index.ts`` both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from cinch.codegen.model import ColumnInfo, Kind, Relation, pascal, unique
from cinch.codegen.render import render

_TYPES: dict[Kind, str] = {
    "integer": "Int", "real": "number", "numeric": "number", "text": "string",
    "boolean": "boolean", "datetime": "string", "date": "string", "json": "JsonValue",
    "blob": "Uint8Array", "any": "SqlValue",
}
_INT_TYPES = {"number": "number", "bigint": "bigint", "string": "string"}
_INT_DOCS = {
    "number": "numbers (exact up to 2^53; use --int-mode bigint or string for more)",
    "bigint": "bigint (read as text and converted, so all 64 bits survive)",
    "string": "decimal strings (read as text, so all 64 bits survive)",
}
# Type names schema.ts itself declares.
_RESERVED = {"Int", "JsonValue", "SqlValue", "ColumnType", "Generated", "ReadOnly",
             "SelectType", "InsertType", "UpdateType", "Writable", "OptionalOnInsert",
             "Selectable", "Insertable", "Updateable", "DB", "TableName", "ColumnKind"}
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class TsField:
    key: str
    type: str
    kind: Kind


@dataclass(frozen=True)
class TsRelation:
    name: str
    key: str
    is_view: bool
    strict: bool
    type: str
    row: str
    insert: str
    update: str
    fields: list[TsField]


def property_key(name: str) -> str:
    """A property name as written in an interface: bare if it is an identifier, else quoted."""
    return name if _IDENTIFIER.fullmatch(name) else json.dumps(name)


def _field(column: ColumnInfo, is_view: bool) -> TsField:
    base = column.override or _TYPES[column.kind]
    if column.nullable:
        base = f"{base} | null"
    if not is_view and not column.writable:
        base = f"ReadOnly<{base}>"
    elif not is_view and column.generated:
        base = f"Generated<{base}>"
    return TsField(key=property_key(column.name), type=base, kind=column.kind)


def relations_for_typescript(relations: list[Relation]) -> list[TsRelation]:
    taken = set(_RESERVED)
    out = []
    for relation in relations:
        name = pascal(relation.name)
        type_, row, insert, update = (unique(name + suffix, taken, suffix="")
                                      for suffix in ("", "Row", "Insert", "Update"))
        out.append(TsRelation(
            name=relation.name, key=property_key(relation.name), is_view=relation.is_view,
            strict=relation.strict, type=type_, row=row, insert=insert, update=update,
            fields=[_field(c, relation.is_view) for c in relation.columns]))
    return out


def generate(relations: list[Relation], *, database: str, header: list[str],
             int_mode: str = "number") -> dict[str, str]:
    head = "\n".join(f"// {line}" for line in header)
    context = {"header": head, "database": database,
               "relations": relations_for_typescript(relations), "int_mode": int_mode,
               "int_type": _INT_TYPES[int_mode], "int_doc": _INT_DOCS[int_mode]}
    return {name: render(f"typescript/{name}.j2", context)
            for name in ("index.ts", "query.ts", "schema.ts")}
