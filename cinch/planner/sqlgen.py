"""Render schema objects as SQLite DDL, deterministically (same object, same text)."""

from __future__ import annotations

import re

from cinch.models.schema import Column, DefaultValue, Index, Schema, Table, View
from cinch.names import quote, quote_literal

# The head of a CREATE TABLE statement up to its name, as SQLite accepts it.
_TABLE_HEAD = re.compile(
    r'\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?'
    r'(?:"(?:[^"]|"")+"|\[[^\]]+\]|`(?:[^`]|``)+`|\'(?:[^\']|\'\')+\'|[^\s(]+)\s*', re.I)

NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
# RFC 4122 version-4 UUIDs from SQLite built-ins, so any writer (not just cinch) gets one.
# SQLite parses every column's DEFAULT each time a connection first reads the schema, so the
# cost of this text is paid by every open of every tenant: UUID_SQL (five random() calls
# formatted by printf, the version and variant bits added) costs a third of UUID4_SQL's
# parse. UUID4_SQL is the form of the tables made before UUID_SQL, rendered unchanged for them:
# their schema.sql, template and tenants must keep the text they were made with.
UUID_SQL = (
    "printf('%08x-%04x-%04x-%04x-%012x', random() & 4294967295, random() & 65535, "
    "16384 + (random() & 4095), 32768 + (random() & 16383), random() & 281474976710655)"
)
UUID4_SQL = (
    "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || "
    "substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || "
    "lower(hex(randomblob(6)))"
)
_EXPR_SQL = {
    "CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
    "CURRENT_DATE": "CURRENT_DATE",
    "CURRENT_TIME": "CURRENT_TIME",
    "UUID": f"({UUID_SQL})",
    "UUID4": f"({UUID4_SQL})",
    "NOW": f"({NOW_SQL})",
}


def literal(value: DefaultValue) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return quote_literal(value)


def default_sql(column: Column) -> str | None:
    """The column's ``DEFAULT`` clause, or None without a default."""
    if column.default is not None:
        return f"DEFAULT {literal(column.default)}"
    if column.default_expr is not None:
        return f"DEFAULT {_EXPR_SQL[column.default_expr]}"
    return None


def references_sql(column: Column) -> str | None:
    """The column's ``REFERENCES`` clause, or None without a foreign key."""
    ref = column.references
    if ref is None:
        return None
    clause = f"REFERENCES {quote(ref.table)}({quote(ref.column)})"
    return clause if ref.on_delete == "NO ACTION" else f"{clause} ON DELETE {ref.on_delete}"


def column_sql(column: Column) -> str:
    parts = [quote(column.name), column.type]
    if column.primary_key:
        parts.append("PRIMARY KEY")
    if column.not_null:
        parts.append("NOT NULL")
    if column.unique and not column.primary_key:
        parts.append("UNIQUE")
    parts += [c for c in (default_sql(column), references_sql(column)) if c]
    return " ".join(parts)


def create_table_sql(table: Table, name: str | None = None) -> str:
    if table.ddl is not None:
        if name is None:
            return table.ddl
        head = _TABLE_HEAD.match(table.ddl)
        assert head is not None, table.ddl  # SQLite's own text of a CREATE TABLE
        return f"CREATE TABLE {quote(name)} " + table.ddl[head.end():]
    body = ",\n  ".join(column_sql(c) for c in table.columns)
    strict = " STRICT" if table.strict else ""
    return f"CREATE TABLE {quote(name or table.name)} (\n  {body}\n){strict}"


def touch_trigger_name(table: Table) -> str:
    # Named by the table's stable id, so renaming the table leaves the trigger's name valid.
    return f"_cinch_touch_{table.id}"


def touch_trigger_sql(table: Table) -> str | None:
    """The trigger that keeps ``updated_at`` current whoever writes the row."""
    updated = next((c for c in table.columns if c.auto == "updated_at"), None)
    if updated is None:
        return None
    t, col = quote(table.name), quote(updated.name)
    return (
        f"CREATE TRIGGER {quote(touch_trigger_name(table))} AFTER UPDATE ON {t} FOR EACH ROW "
        f"WHEN NEW.{col} IS OLD.{col} BEGIN "
        f"UPDATE {t} SET {col} = {NOW_SQL} WHERE rowid = NEW.rowid; END"
    )


def create_index_sql(index: Index) -> str:
    if index.ddl is not None:
        return index.ddl
    unique = "UNIQUE " if index.unique else ""
    cols = ", ".join(quote(c) for c in index.columns)
    return f"CREATE {unique}INDEX {quote(index.name)} ON {quote(index.table)} ({cols})"


def create_view_sql(view: View) -> str:
    if view.ddl is not None:
        return view.ddl
    return f"CREATE VIEW {quote(view.name)} AS {view.sql}"


def schema_statements(schema: Schema) -> list[str]:
    """Every statement that builds ``schema`` in an empty database, in dependency order."""
    out: list[str] = []
    for table in schema.tables:
        out.append(create_table_sql(table))
        trigger = touch_trigger_sql(table)
        if trigger:
            out.append(trigger)
    # Verbatim objects go after what they may need: virtual tables after the tables, partial
    # and expression indexes after the indexes, triggers (which may name views) last.
    out.extend(o.sql for o in schema.objects if o.type == "table")
    out.extend(create_index_sql(i) for i in schema.indexes)
    out.extend(o.sql for o in schema.objects if o.type == "index")
    out.extend(create_view_sql(v) for v in schema.views)
    out.extend(o.sql for o in schema.objects if o.type in ("view", "trigger"))
    return out


def schema_sql(schema: Schema, database: str) -> str:
    """The generated ``schema/<db>/schema.sql``: the whole schema, so git diffs show effects."""
    header = (
        f"-- Generated by cinch: the schema of database '{database}'.\n"
        "-- Do not edit: change it with cinch commands; this file is regenerated on every change.\n"
    )
    body = "\n\n".join(s + ";" for s in schema_statements(schema))
    return header + ("\n" + body + "\n" if body else "")
