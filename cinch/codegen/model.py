"""What generated code needs to know of a schema, whatever the language.

Each column gets a *kind* from its declared type (SQLite stores only five storage classes, so
the declared type is all that says a column holds booleans, timestamps or JSON), whether it
can read back NULL, whether an insert may leave it out, and whether callers may write it at
all (``created_at``/``updated_at`` are maintained by cinch). Views have no declared columns:
their names and declared types come from SQLite itself, on an in-memory copy of the schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from cinch.models.schema import Column, Schema, Table
from cinch.models.types import affinity
from cinch.names import quote
from cinch.planner.shadow import Shadow

Kind = Literal["integer", "real", "numeric", "text", "boolean", "datetime", "date", "json",
               "blob", "any"]
KINDS: tuple[Kind, ...] = ("integer", "real", "numeric", "text", "boolean", "datetime", "date",
                           "json", "blob", "any")
_BY_AFFINITY: dict[str, Kind] = {"INTEGER": "integer", "TEXT": "text", "BLOB": "blob",
                                 "REAL": "real", "NUMERIC": "numeric"}
_BY_NAME: dict[str, Kind] = {"BOOLEAN": "boolean", "DATETIME": "datetime",
                             "TIMESTAMP": "datetime", "DATE": "date", "JSON": "json", "ANY": "any"}


def kind_of(declared: str, auto: str | None = None) -> Kind:
    """The kind of a column declared ``declared`` (``""``: an expression in a view)."""
    if auto in ("created_at", "updated_at"):
        return "datetime"
    base = declared.split("(")[0].strip().upper()
    if not base:
        return "any"
    return _BY_NAME.get(base) or _BY_AFFINITY[affinity(base)]


@dataclass(frozen=True)
class ColumnInfo:
    name: str  # as in SQL
    declared: str  # the declared type, "" for a view expression
    kind: Kind
    nullable: bool  # may read back NULL
    generated: bool  # an insert may leave it out and the database fills it in
    writable: bool  # callers may set it (cinch maintains created_at/updated_at)
    override: str | None = None  # a type from cinch.toml [codegen.<language>], for JSON columns

    @property
    def insert_optional(self) -> bool:
        return self.generated or self.nullable


@dataclass(frozen=True)
class Relation:
    """A table or a view, as generated code sees it."""

    name: str
    columns: tuple[ColumnInfo, ...]
    is_view: bool = False
    strict: bool = False
    primary_key: tuple[str, ...] = field(default=())


def _rowid_alias(column: Column) -> bool:
    # https://sqlite.org/lang_createtable.html#rowid: only exactly "INTEGER PRIMARY KEY".
    return column.primary_key and column.type == "INTEGER"


def table_columns(table: Table, overrides: dict[str, str]) -> tuple[ColumnInfo, ...]:
    out = []
    for column in table.columns:
        rowid = _rowid_alias(column)
        # A non-INTEGER primary key may hold NULL in an ordinary table (an old SQLite quirk
        # kept for compatibility); a STRICT table refuses it.
        never_null = column.not_null or rowid or (column.primary_key and table.strict)
        out.append(ColumnInfo(
            name=column.name, declared=column.type, kind=kind_of(column.type, column.auto),
            nullable=not never_null,
            generated=column.has_default or column.auto is not None or rowid,
            writable=column.auto not in ("created_at", "updated_at"),
            override=_override(overrides, table.name, column.name),
        ))
    return tuple(out)


def _override(overrides: dict[str, str], relation: str, column: str) -> str | None:
    key = f"{relation}.{column}".lower()
    return next((v for k, v in overrides.items() if k.lower() == key), None)


def view_columns(schema: Schema, overrides: dict[str, str]) -> dict[str, tuple[ColumnInfo, ...]]:
    """Each view's columns with SQLite's declared types (a column read straight from a table
    keeps that column's type; an expression has none). A view may always yield NULL."""
    out: dict[str, tuple[ColumnInfo, ...]] = {}
    if not schema.views:
        return out
    with Shadow(schema) as shadow:
        for view in schema.views:
            rows = shadow.conn.execute(f"PRAGMA table_info({quote(view.name)})").fetchall()
            out[view.name] = tuple(
                ColumnInfo(name=name, declared=declared or "", kind=kind_of(declared or ""),
                           nullable=True, generated=False, writable=False,
                           override=_override(overrides, view.name, name))
                for _, name, declared, *_ in rows)
    return out


def relations(schema: Schema, overrides: dict[str, str] | None = None) -> list[Relation]:
    """Tables, then views, each sorted by name: output that does not depend on creation order."""
    overrides = overrides or {}
    tables = [Relation(name=t.name, columns=table_columns(t, overrides), strict=t.strict,
                       primary_key=tuple(c.name for c in t.columns if c.primary_key))
              for t in sorted(schema.tables, key=lambda t: t.name.lower())]
    views = view_columns(schema, overrides)
    return tables + [Relation(name=name, columns=views[name], is_view=True)
                     for name in sorted(views, key=str.lower)]


# --- names that are safe in generated code ------------------------------------------------

_NOT_WORD = re.compile(r"\W", re.ASCII)


def pascal(name: str) -> str:
    """``user_accounts`` -> ``UserAccounts``; anything not a letter or digit separates words."""
    words = [w for w in _NOT_WORD.sub("_", name).split("_") if w]
    out = "".join(w[:1].upper() + w[1:] for w in words) or "Relation"
    return out if not out[0].isdigit() else "R" + out


def unique(name: str, taken: set[str], *, suffix: str = "_") -> str:
    """``name``, or ``name`` with ``suffix`` (repeated, or numbered) until it is free."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}{suffix}" if suffix == "_" and n == 2 else f"{name}{n}"
    taken.add(candidate)
    return candidate
