"""Read an existing SQLite file's schema as cinch operations, keeping SQLite's own text.

Every table, index and view is modelled (columns, keys, plain indexes) *and* keeps the exact
statement SQLite holds, so nothing the model lacks is lost: composite and INTEGER primary keys,
WITHOUT ROWID, CHECK, COLLATE, generated columns, foreign-key actions and DEFERRABLE. What has
no model at all (triggers, virtual tables, partial and expression indexes, objects whose names
cinch refuses) is carried as a verbatim SQL object. SQLite's pragmas answer what a column is;
no SQL parser of cinch's own decides it.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from pydantic import ValidationError

from cinch.models.ids import object_id
from cinch.models.operations import CreateIndex, CreateObject, CreateTable, CreateView, Operation
from cinch.models.schema import Column, ForeignKey, Index, SqlObject, Table, View
from cinch.names import quote

_USER = ("name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cinch%' ESCAPE '\\'")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EXPRESSIONS = {"CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"}
_ON_DELETE = {"NO ACTION", "CASCADE", "SET NULL", "RESTRICT", "SET DEFAULT"}
_ID = r'(?:"(?:[^"]|"")+"|\[[^\]]+\]|`(?:[^`]|``)+`|[^\s(]+)'
_VIEW = re.compile(rf"\s*CREATE\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?{_ID}\s+AS\s+(.+)",
                   re.IGNORECASE | re.DOTALL)


def _default(text: str | None) -> tuple[Any, str | None]:
    """A default cinch models (a literal or CURRENT_*), else nothing: the text keeps it."""
    if text is None or text.upper() == "NULL":
        return None, None
    if text.upper() in _EXPRESSIONS:
        return None, text.upper()
    if _NUMBER.fullmatch(text):
        return (float(text) if any(c in text for c in ".eE") else int(text)), None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'"), None
    return None, None


def _shadow_tables(conn: sqlite3.Connection) -> set[str]:
    """Tables a virtual table made for itself (FTS's _data, _idx, ...): it re-creates them."""
    try:
        rows = conn.execute("SELECT name FROM pragma_table_list WHERE type = 'shadow'")
        return {name.lower() for (name,) in rows}
    except sqlite3.Error:  # pragma: no cover - SQLite before 3.37
        return set()


def _columns(conn: sqlite3.Connection, name: str) -> list[Column]:
    rows = conn.execute(f"PRAGMA table_xinfo({quote(name)})").fetchall()
    keys = [r for r in rows if r[5]]
    unique = set()
    for _, index, is_unique, origin, _partial in conn.execute(
            f"PRAGMA index_list({quote(name)})").fetchall():
        cols = [r[2] for r in conn.execute(f"PRAGMA index_info({quote(index)})").fetchall()]
        if origin == "u" and is_unique and len(cols) == 1 and cols[0] is not None:
            unique.add(cols[0].lower())
    out = []
    for _, col, declared, not_null, default, pk, hidden in rows:
        value, expr = _default(default)
        out.append(Column(
            id=object_id("c"), name=col, type=declared or "", not_null=bool(not_null),
            unique=col.lower() in unique, primary_key=bool(pk) and len(keys) == 1,
            default=value, default_expr=expr, declared=True, generated=hidden in (2, 3)))
    return out


def _link_foreign_keys(conn: sqlite3.Connection, tables: dict[str, Table]) -> None:
    """Single-column foreign keys onto modelled tables become model references (so cinch sees
    what depends on what); the text keeps every key as written either way."""
    for table in tables.values():
        groups: dict[int, list[tuple[Any, ...]]] = {}
        for row in conn.execute(f"PRAGMA foreign_key_list({quote(table.name)})"):
            groups.setdefault(row[0], []).append(row)
        for rows in groups.values():
            if len(rows) != 1:
                continue
            _, _, target_name, source, to, _on_update, on_delete, _ = rows[0]
            target = tables.get(target_name.lower())
            column = table.find_column(source)
            if target is None or column is None or on_delete.upper() not in _ON_DELETE:
                continue
            if to is None:
                to_col = next((c for c in target.columns if c.primary_key), None)
            else:
                to_col = target.find_column(to)
            if to_col is None:
                continue
            column.references = ForeignKey(
                table_id=target.id, table=target.name, column_id=to_col.id, column=to_col.name,
                on_delete=on_delete.upper())


def read_operations(conn: sqlite3.Connection) -> list[Operation]:
    """The operations that build the user schema of ``conn`` exactly as SQLite holds it."""
    shadows = _shadow_tables(conn)
    rows = conn.execute(
        f"SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND {_USER} "
        "ORDER BY rowid").fetchall()
    tables: dict[str, Table] = {}
    ops: list[Operation] = []

    def verbatim(kind: str, name: str, table: str, sql: str) -> None:
        ops.append(CreateObject(object=SqlObject(id=object_id("o"), type=kind, name=name,
                                                 table=table, sql=sql)))

    for kind, name, table_name, sql in rows:
        if kind == "table" and name.lower() in shadows:
            continue
        if kind == "table":
            if sql.lstrip()[:14].upper().replace(" ", "").startswith("CREATEVIRTUAL"):
                verbatim(kind, name, table_name, sql)
                continue
            try:
                strict = bool(conn.execute(
                    "SELECT strict FROM pragma_table_list WHERE name = ? AND schema = 'main'",
                    (name,)).fetchone()[0])
                table = Table(id=object_id("t"), name=name, columns=_columns(conn, name),
                              strict=strict, ddl=sql)
            except (ValidationError, sqlite3.Error, TypeError):
                verbatim(kind, name, table_name, sql)
                continue
            tables[name.lower()] = table
            ops.append(CreateTable(table=table))
        elif kind == "index":
            table = tables.get(table_name.lower())
            index = _plain_index(conn, name, table, sql) if table is not None else None
            if index is None:
                verbatim(kind, name, table_name, sql)
            else:
                ops.append(CreateIndex(index=index))
        elif kind == "view":
            match = _VIEW.match(sql)
            try:
                if match is None:
                    raise ValueError(name)
                ops.append(CreateView(view=View(id=object_id("v"), name=name,
                                                sql=match.group(1).strip(), ddl=sql)))
            except (ValidationError, ValueError):
                verbatim(kind, name, table_name, sql)
        else:
            verbatim(kind, name, table_name, sql)
    _link_foreign_keys(conn, tables)
    return ops


def _plain_index(conn: sqlite3.Connection, name: str, table: Table, sql: str) -> Index | None:
    """A modelled index over plain columns (any order or collation: the text keeps those), or
    None for a partial or expression index."""
    listed = next((r for r in conn.execute(f"PRAGMA index_list({quote(table.name)})")
                   if r[1].lower() == name.lower()), None)
    keys = [r for r in conn.execute(f"PRAGMA index_xinfo({quote(name)})") if r[5]]
    if listed is None or listed[4] or not keys or any(r[1] < 0 for r in keys):
        return None
    columns = [table.find_column(r[2]) for r in keys]
    if any(c is None for c in columns):
        return None
    try:
        return Index(id=object_id("i"), name=name, table_id=table.id, table=table.name,
                     column_ids=[c.id for c in columns if c], columns=[c.name for c in columns if c],
                     unique=bool(listed[2]), ddl=sql)
    except ValidationError:
        return None
