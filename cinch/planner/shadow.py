"""An in-memory SQLite database holding a schema, to validate operations before anything runs.

All tenants of a branch share its schema, so whatever succeeds here can only fail on a tenant
because of the tenant's data; those cases get data checks (see ``plan``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from cinch.errors import InvalidOperation, InvalidSQL
from cinch.models.schema import Schema
from cinch.names import quote
from cinch.planner.sqlgen import schema_statements

_READ_ONLY_ACTIONS = {
    sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


class Shadow:
    def __init__(self, schema: Schema) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.run(schema_statements(schema))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Shadow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, statements: Iterable[str], *, what: str = "the change") -> None:
        """Execute statements; a failure is the operation's fault, reported with SQLite's words."""
        for sql in statements:
            try:
                self.conn.execute(sql)
            except sqlite3.Error as exc:
                raise InvalidOperation(
                    f"{what} is not valid against the current schema: {exc}", sql=sql,
                ) from exc

    def check_select(self, sql: str) -> str:
        """Validate a view body: exactly one read-only SELECT that prepares against the schema."""
        body = sql.strip().rstrip(";").strip()
        if not body:
            raise InvalidSQL("the view's SQL is empty")
        if not sqlite3.complete_statement(body + ";"):
            raise InvalidSQL("the view's SQL does not end where it should: an unclosed quote "
                             "or comment, or a trailing -- comment", sql=body)
        if ";" in _strip_literals(body):
            raise InvalidSQL("a view is one SELECT statement; found more than one statement")
        refused: list[str] = []

        def authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
            if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
                refused.append("load_extension")
                return sqlite3.SQLITE_DENY
            if action in _READ_ONLY_ACTIONS:
                return sqlite3.SQLITE_OK
            refused.append(str(arg1 or action))
            return sqlite3.SQLITE_DENY

        self.conn.set_authorizer(authorize)
        try:
            self.conn.execute("EXPLAIN " + body)
        except sqlite3.Error as exc:
            if refused:
                raise InvalidSQL("a view may only read (SELECT); this SQL does more") from exc
            raise InvalidSQL(f"the view's SQL does not prepare: {exc}", sql=body) from exc
        finally:
            self.conn.set_authorizer(None)
        if not body.lstrip("( \n\t").upper().startswith(("SELECT", "WITH", "VALUES")):
            raise InvalidSQL("a view's SQL must be a SELECT statement", sql=body)
        return body

    def view_reads(self, view: str) -> set[tuple[str, str]]:
        """(table, column) pairs a view reads, directly or through other views (lower case)."""
        reads: set[tuple[str, str]] = set()
        view_names = {r[0].lower() for r in self.conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'view'")}

        def authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
            if action == sqlite3.SQLITE_READ and arg1 and arg1.lower() not in view_names:
                reads.add((arg1.lower(), (arg2 or "").lower()))
            return sqlite3.SQLITE_OK

        self.conn.set_authorizer(authorize)
        try:
            self.conn.execute(f"EXPLAIN SELECT * FROM {quote(view)}")
        finally:
            self.conn.set_authorizer(None)
        return reads

    def view_bodies(self) -> dict[str, str]:
        """Each view's SELECT as SQLite holds it now (renames rewrite view text)."""
        out = {}
        for name, sql in self.conn.execute(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'view'"):
            prefix = f"CREATE VIEW {quote(name)} AS "
            out[name.lower()] = sql[len(prefix):] if sql.startswith(prefix) else sql
        return out

    def broken_views(self) -> dict[str, str]:
        """Views that no longer prepare, with SQLite's reason."""
        out = {}
        for (name,) in self.conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'view'").fetchall():
            try:
                self.conn.execute(f"EXPLAIN SELECT * FROM {quote(name)}")
            except sqlite3.Error as exc:
                out[name] = str(exc)
        return out


def _strip_literals(sql: str) -> str:
    """Drop quoted strings and identifiers so a ';' inside them is not read as a separator."""
    out, quote_char = [], ""
    for ch in sql:
        if quote_char:
            if ch == quote_char:
                quote_char = ""
            continue
        if ch in "'\"`[":
            quote_char = "]" if ch == "[" else ch
            continue
        out.append(ch)
    return "".join(out)
