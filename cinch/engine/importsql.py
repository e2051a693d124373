"""``cinch import migrations DIR``: a folder of plain-SQL migration files as change sets.

Files are read in name order (``*.sql``; ``*.down.sql`` are skipped), one change set per file.
Each statement must be one cinch models: CREATE/DROP TABLE, INDEX and VIEW, and ALTER TABLE
RENAME, RENAME COLUMN, ADD COLUMN and DROP COLUMN (transaction control is skipped). SQLite
itself reads each statement, on an in-memory copy of the schema, and the result is read back
with its pragmas, so no SQL parser of cinch's own decides what a column is. Anything cinch
cannot represent exactly (a CHECK, a COLLATE, a composite or INTEGER primary key, an expression
default, a partial index, data statements) is refused, naming the file and the statement.
Every file is checked before the first is committed: a refusal imports nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlparse

from cinch.errors import CinchError, InvalidSQL, UsageError
from cinch.models.operations import Operation
from cinch.models.schema import Schema
from cinch.names import quote
from cinch.planner import build
from cinch.planner.columns import ColumnSpec
from cinch.planner.shadow import Shadow
from cinch.planner.sqlgen import NOW_SQL, UUID4_SQL, UUID_SQL

if TYPE_CHECKING:
    from cinch.engine.database import ChangeResult
    from cinch.engine.project import Project

_ID = r'(?:"(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)'
_FLAGS = re.IGNORECASE | re.DOTALL
_FORMS = [
    ("skip", re.compile(r"(?:BEGIN|COMMIT|END)(?:\s+(?:DEFERRED|IMMEDIATE|EXCLUSIVE))?"
                        r"(?:\s+TRANSACTION)?", _FLAGS)),
    # cinch's own updated_at trigger (in exported files): the table's timestamps bring it back
    ("skip", re.compile(r'CREATE\s+TRIGGER\s+"?_cinch_touch_\w+"?\s.*', _FLAGS)),
    ("create_table", re.compile(rf"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_ID})\s*\(.*",
                                _FLAGS)),
    ("create_index", re.compile(rf"CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?({_ID})"
                                rf"\s+ON\s+({_ID})\s*\(.*", _FLAGS)),
    ("create_view", re.compile(rf"CREATE\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?({_ID})\s+AS\s+(.+)",
                               _FLAGS)),
    ("drop", re.compile(rf"DROP\s+(TABLE|INDEX|VIEW)\s+(IF\s+EXISTS\s+)?({_ID})", _FLAGS)),
    ("rename_table", re.compile(rf"ALTER\s+TABLE\s+({_ID})\s+RENAME\s+TO\s+({_ID})", _FLAGS)),
    ("rename_column", re.compile(rf"ALTER\s+TABLE\s+({_ID})\s+RENAME\s+(?:COLUMN\s+)?({_ID})\s+"
                                 rf"TO\s+({_ID})", _FLAGS)),
    ("drop_column", re.compile(rf"ALTER\s+TABLE\s+({_ID})\s+DROP\s+(?:COLUMN\s+)?({_ID})",
                               _FLAGS)),
    ("add_column", re.compile(rf"ALTER\s+TABLE\s+({_ID})\s+ADD\s+(?:COLUMN\s+)?.+", _FLAGS)),
]
# Column and table features cinch's model has no place for.
_UNMODELLED = re.compile(r"\b(CHECK|COLLATE|GENERATED|AUTOINCREMENT|WITHOUT\s+ROWID|AS\s*\()",
                         re.IGNORECASE)
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EXPRESSIONS = {"CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"}
# cinch's own default expressions, as its DDL (and so an exported migration) spells them.
# (SQLite's pragmas may give them without the outer parentheses.)
_CINCH_EXPRESSIONS = {f"({UUID_SQL})": "UUID", f"({UUID4_SQL})": "UUID4", f"({NOW_SQL})": "NOW",
                      UUID_SQL: "UUID", UUID4_SQL: "UUID4", NOW_SQL: "NOW"}
_ON_DELETE = {"NO ACTION", "CASCADE", "SET NULL", "RESTRICT", "SET DEFAULT"}


class Unsupported(InvalidSQL):
    """A statement cinch does not model; raised with the file and statement by the caller."""


@dataclass
class ImportedFile:
    path: str
    operations: list[Operation]
    result: ChangeResult | None = None

    def to_dict(self) -> dict[str, Any]:
        from cinch.models.operations import describe

        return {"file": self.path, "operations": [describe(op) for op in self.operations],
                "change": self.result.change.id if self.result else None,
                "commit": self.result.commit if self.result else None}


def _name(token: str) -> str:
    if token[0] in "\"`[":
        inner = token[1:-1]
        return inner.replace('""', '"') if token[0] == '"' else inner
    return token


def statements(text: str) -> list[str]:
    out = []
    for raw in sqlparse.split(text):
        stmt = sqlparse.format(raw, strip_comments=True).strip().rstrip(";").strip()
        if stmt:
            out.append(stmt)
    return out


def _default(text: str | None) -> tuple[Any, str | None]:
    if text is None or text.upper() == "NULL":
        return None, None
    if text.upper() in _EXPRESSIONS:
        return None, text.upper()
    if text in _CINCH_EXPRESSIONS:
        return None, _CINCH_EXPRESSIONS[text]
    if _NUMBER.fullmatch(text):
        return (float(text) if any(c in text for c in ".eE") else int(text)), None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'"), None
    raise Unsupported(f"default {text} is an expression cinch does not model; use a number, "
                      "text, NULL, CURRENT_TIMESTAMP, CURRENT_DATE or CURRENT_TIME")


def _column_specs(conn: Any, table: str, columns: list[tuple[Any, ...]]) -> list[ColumnSpec]:
    unique: set[str] = set()
    for _, index, is_unique, origin, _partial in conn.execute(
            f"PRAGMA index_list({quote(table)})").fetchall():
        cols = [r[2] for r in conn.execute(f"PRAGMA index_info({quote(index)})").fetchall()]
        if origin == "u" and is_unique:
            if len(cols) != 1:
                raise Unsupported(f"table {table}: a UNIQUE constraint over several columns; "
                                  "create a unique index instead")
            unique.add(cols[0].lower())
    refs = {}
    for row in conn.execute(f"PRAGMA foreign_key_list({quote(table)})").fetchall():
        _, seq, target, source, to, _on_update, on_delete, _ = row
        if seq:
            raise Unsupported(f"table {table}: a foreign key over several columns")
        refs[source.lower()] = (f"{target}.{to}" if to else target, on_delete.upper())
    specs = []
    for _, name, declared, not_null, default, pk, hidden in columns:
        if hidden:
            raise Unsupported(f"column {table}.{name} is generated; cinch does not model it")
        if pk:
            raise Unsupported(f"column {table}.{name} is a primary key; cinch tables have an "
                              "automatic TEXT id primary key (declare it as id TEXT PRIMARY KEY, "
                              "or leave it out)")
        if not declared:
            raise Unsupported(f"column {table}.{name} has no type")
        value, expr = _default(default)
        ref, on_delete = refs.get(name.lower(), (None, "NO ACTION"))
        if on_delete not in _ON_DELETE:
            raise Unsupported(f"column {table}.{name}: ON DELETE {on_delete}")
        specs.append(ColumnSpec(name=name, type=declared, not_null=bool(not_null),
                                unique=name.lower() in unique, default=value, default_expr=expr,
                                references=ref, on_delete=on_delete))
    return specs


def _create_table(schema: Schema, stmt: str) -> list[Operation]:
    with Shadow(schema) as shadow:
        before = {r[0] for r in shadow.conn.execute("SELECT name FROM sqlite_schema")}
        shadow.conn.execute(stmt)
        name = next(r[0] for r in shadow.conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table'") if r[0] not in before)
        strict = bool(shadow.conn.execute(
            f"SELECT strict FROM pragma_table_list({quote(name)})").fetchone()[0])
        columns = shadow.conn.execute(f"PRAGMA table_xinfo({quote(name)})").fetchall()
        keys = [c for c in columns if c[5]]
        if len(keys) == 1 and keys[0][1] == "id" and keys[0][2].upper() == "TEXT":
            columns = [c for c in columns if c is not keys[0]]  # cinch's own id column
        auto = [c for c in columns if c[1].lower() in ("created_at", "updated_at")]
        timestamps = len(auto) == 2 and all(c[2].upper() == "TEXT" for c in auto)
        if timestamps:
            columns = [c for c in columns if c not in auto]
        specs = _column_specs(shadow.conn, name, columns)
    return build.create_table(schema, name, specs, strict=strict, timestamps=timestamps)


def _add_column(schema: Schema, stmt: str, table: str) -> list[Operation]:
    with Shadow(schema) as shadow:
        shadow.conn.execute(stmt)
        columns = shadow.conn.execute(f"PRAGMA table_xinfo({quote(table)})").fetchall()
        [spec] = _column_specs(shadow.conn, table, columns[-1:])
    return build.add_column(schema, table, spec)


def _create_index(schema: Schema, stmt: str, name: str, table: str,
                  unique: bool) -> list[Operation]:
    with Shadow(schema) as shadow:
        shadow.conn.execute(stmt)
        partial = next(r[4] for r in shadow.conn.execute(f"PRAGMA index_list({quote(table)})")
                       if r[1].lower() == name.lower())
        keys = [r for r in shadow.conn.execute(f"PRAGMA index_xinfo({quote(name)})") if r[5]]
    if partial or any(r[1] < 0 for r in keys) or any(r[4] != "BINARY" for r in keys):
        raise Unsupported(f"index {name} is partial, on an expression or with a collation; "
                          "cinch models indexes on plain columns")
    return build.create_index(schema, table, [r[2] for r in keys], name=name, unique=unique)


def operations_for(schema: Schema, stmt: str) -> list[Operation]:
    """The operations one statement amounts to, against ``schema``."""
    for kind, form in _FORMS:
        m = form.fullmatch(stmt)
        if m is None:
            continue
        if kind == "skip":
            return []
        if kind in ("create_table", "add_column") and _UNMODELLED.search(
                _LITERALS.sub("''", stmt)):
            raise Unsupported("CHECK, COLLATE, generated columns, AUTOINCREMENT and WITHOUT "
                              "ROWID are not modelled by cinch")
        if kind == "create_table":
            return _create_table(schema, stmt)
        if kind == "add_column":
            return _add_column(schema, stmt, _name(m.group(1)))
        if kind == "create_index":
            return _create_index(schema, stmt, _name(m.group(2)), _name(m.group(3)),
                                 bool(m.group(1)))
        if kind == "create_view":
            return build.create_view(schema, _name(m.group(1)), m.group(2).strip())
        if kind == "drop":
            what, name = m.group(1).upper(), _name(m.group(3))
            if m.group(2) and schema.name_taken(name) is None:
                return []
            drop = {"TABLE": build.drop_table, "INDEX": build.drop_index,
                    "VIEW": build.drop_view}[what]
            return drop(schema, name)
        if kind == "rename_table":
            return build.rename_table(schema, _name(m.group(1)), _name(m.group(2)))
        if kind == "rename_column":
            return build.rename_column(schema, _name(m.group(1)), _name(m.group(2)),
                                       _name(m.group(3)))
        return build.drop_column(schema, _name(m.group(1)), _name(m.group(2)))
    raise Unsupported("not a schema statement cinch models (CREATE/DROP TABLE, INDEX or VIEW; "
                      "ALTER TABLE RENAME, RENAME COLUMN, ADD COLUMN or DROP COLUMN)")


def import_migrations(project: Project, folder: str | os.PathLike[str], *,
                      database: str | None = None, dry_run: bool = False) -> list[ImportedFile]:
    """Check every file against the branch's schema, then commit one change set per file."""
    db = project.database(database)
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{folder} is not a folder", path=str(folder))
    files = sorted(p for p in root.glob("*.sql") if not p.name.endswith(".down.sql"))
    if not files:
        raise UsageError(f"{folder} holds no .sql files", path=str(folder))
    schema = db.schema()
    out: list[ImportedFile] = []
    for path in files:
        ops: list[Operation] = []
        for n, stmt in enumerate(statements(path.read_text(encoding="utf-8")), start=1):
            try:
                new = operations_for(schema, stmt)
                if new:
                    schema = build.check(schema, new, what=f"{path.name} statement {n}")
            except CinchError as exc:
                raise InvalidSQL(f"{path.name}, statement {n}: {exc.message}; nothing was "
                                 "imported", file=path.name, statement=n, sql=stmt) from exc
            except Exception as exc:  # sqlite3 refusing the statement itself
                raise InvalidSQL(f"{path.name}, statement {n}: {exc}; nothing was imported",
                                 file=path.name, statement=n, sql=stmt) from exc
            ops += new
        if ops:
            out.append(ImportedFile(path.name, ops))
    if not dry_run:
        for item in out:
            item.result = db.change(item.operations, f"Import {item.path}")
    return out
