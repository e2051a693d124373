"""Guarded user queries (``cinch query``, the HTTP query endpoint).

One statement per call, parameters always bound, and the policy of
:mod:`cinch.stores.authorizer` enforced by SQLite's authorizer. Refusals raise
:class:`~cinch.errors.QueryRefused`; anything else SQLite reports raises
:class:`~cinch.errors.QueryError` with SQLite's message.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeAlias

from cinch.errors import QueryError, QueryRefused
from cinch.stores.authorizer import READ_ONLY, WRITE, QueryGuard
from cinch.stores.sqlite_conn import CinchConnection

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]
BatchItem: TypeAlias = tuple[str, Params] | str

_SQLITE_READONLY = 8


@dataclass(slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    # Rows changed for INSERT/UPDATE/DELETE, else the number of rows returned.
    rowcount: int
    truncated: bool = False
    lastrowid: int | None = None


class _Guarded:
    """Switch the connection's guard on for one query (or batch), and off afterwards."""

    __slots__ = ("conn", "guard", "query_only_toggled", "read_only")

    def __init__(self, conn: sqlite3.Connection, read_only: bool) -> None:
        self.conn = conn
        self.read_only = read_only
        self.query_only_toggled = False
        self.guard: QueryGuard

    def __enter__(self) -> QueryGuard:
        conn = self.conn
        ours = isinstance(conn, CinchConnection)
        if self.read_only and not (ours and conn.read_only):
            # Belt and braces: a read-only query on a writable connection also runs query_only.
            # The toggle is prepared unguarded, which forces a re-prepare of the user's
            # statement: a connection opened read_only is the fast path.
            conn.execute("PRAGMA query_only=ON")
            self.query_only_toggled = True
        need = READ_ONLY if self.read_only else WRITE
        guard = conn._cinch_guard if ours else None
        if guard is None:
            guard = QueryGuard()
            guard.active = True
            guard.read_only = self.read_only
            # Installing expires every prepared statement: they re-prepare under the guard.
            sqlite3.Connection.set_authorizer(conn, guard)
            if ours:
                conn._cinch_guard = guard
        else:
            guard.active = True
            guard.read_only = self.read_only
            if guard.level < need:
                sqlite3.Connection.set_authorizer(conn, guard)  # expire unauthorized statements
        guard.level = need
        guard.denied = None
        self.guard = guard
        return guard

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self.conn
        self.guard.active = False
        if not isinstance(conn, CinchConnection):
            conn.set_authorizer(None)  # a foreign connection: leave it as we found it
        if self.query_only_toggled:
            conn.execute("PRAGMA query_only=OFF")


def _check_sql(sql: object) -> str:
    if not isinstance(sql, str):
        raise QueryError(f"a query must be a string, not {type(sql).__name__}")
    if not sql.strip():
        raise QueryError("the query is empty")
    return sql


def _translate(exc: BaseException, guard: QueryGuard, sql: str, where: str = "") -> Exception:
    if guard.denied is not None:
        return QueryRefused(where + guard.denied, sql=sql)
    message = str(exc)
    if isinstance(exc, sqlite3.ProgrammingError) and "one statement at a time" in message:
        return QueryRefused(
            where + "a query must be exactly one SQL statement",
            hint="send several statements as a batch", sql=sql,
        )
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == _SQLITE_READONLY:
            return QueryRefused(where + "the connection is read-only: writes are refused", sql=sql)
        if "may not be modified" in message:  # sqlite_schema and friends
            return QueryRefused(where + message, sql=sql)
        return QueryError(
            where + message, sql=sql, sqlite_error=getattr(exc, "sqlite_errorname", None)
        )
    return QueryError(where + message, sql=sql)


def _execute_one(
    conn: sqlite3.Connection,
    guard: QueryGuard,
    sql: str,
    params: Params,
    max_rows: int | None,
    where: str = "",
) -> QueryResult:
    try:
        cur = conn.execute(sql, params)
    except (sqlite3.Error, ValueError, OverflowError) as exc:
        raise _translate(exc, guard, sql, where) from exc
    try:
        description = cur.description
        if description is None:
            rows: list[tuple[Any, ...]] = []
            truncated = False
        elif max_rows is None:
            rows = cur.fetchall()
            truncated = False
        else:
            rows = cur.fetchmany(max_rows + 1)
            truncated = len(rows) > max_rows
            if truncated:
                del rows[max_rows:]
        columns = [d[0] for d in description] if description else []
        rowcount = cur.rowcount if cur.rowcount >= 0 else len(rows)
        return QueryResult(columns, rows, rowcount, truncated, cur.lastrowid)
    except sqlite3.Error as exc:
        raise _translate(exc, guard, sql, where) from exc
    finally:
        cur.close()  # an open read statement would pin the WAL snapshot and block checkpoints


def run_query(
    conn: sqlite3.Connection,
    sql: str,
    params: Params = (),
    *,
    read_only: bool = False,
    max_rows: int | None = None,
) -> QueryResult:
    """Run one guarded statement (autocommit) and return its result.

    ``max_rows`` caps the rows returned; ``truncated`` says whether more were available.
    For a read-only query prefer a connection opened ``read_only`` (the fast path).
    """
    _check_sql(sql)
    if max_rows is not None and max_rows < 0:
        raise QueryError("max_rows must not be negative")
    guarded = _Guarded(conn, read_only)
    with guarded as guard:
        return _execute_one(conn, guard, sql, params, max_rows)


def run_batch(
    conn: sqlite3.Connection,
    statements: Sequence[BatchItem],
    read_only: bool = False,
    *,
    max_rows: int | None = None,
) -> list[QueryResult]:
    """Run several guarded statements in one transaction: all of them or none.

    Each item is ``(sql, params)`` or a bare SQL string. Errors name the failing statement's
    position (``details["index"]``, 0-based) and roll everything back.
    """
    items = [(item, ()) if isinstance(item, str) else item for item in statements]
    for sql, _ in items:
        _check_sql(sql)
    if not items:
        return []
    if conn.in_transaction:
        raise QueryError("the connection already has an open transaction")
    results: list[QueryResult] = []
    # BEGIN/COMMIT run unguarded (users may not issue them); the BEGIN comes first so that
    # entering the guard expires it along with anything else prepared unguarded.
    conn.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
    try:
        with _Guarded(conn, read_only) as guard:
            for index, (sql, params) in enumerate(items):
                try:
                    results.append(
                        _execute_one(
                            conn, guard, sql, params, max_rows,
                            where=f"statement {index + 1} of {len(items)}: ",
                        )
                    )
                except (QueryError, QueryRefused) as exc:
                    exc.details["index"] = index
                    raise
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


class QueryCursor:
    """A guarded query read in pages, for results too large to hold at once.

    ``with QueryCursor(conn, sql) as qc: for page in qc.pages(500): ...``. The guard stays on
    until :meth:`close`, so do not use the connection for anything else meanwhile.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        sql: str,
        params: Params = (),
        *,
        read_only: bool = False,
    ) -> None:
        self.sql = _check_sql(sql)
        self._guarded: _Guarded | None = _Guarded(conn, read_only)
        guard = self._guarded.__enter__()
        self._guard = guard
        try:
            self._cur = conn.execute(sql, params)
        except BaseException as exc:
            self.close()
            if isinstance(exc, sqlite3.Error | ValueError | OverflowError):
                raise _translate(exc, guard, sql) from exc
            raise
        description = self._cur.description
        self.columns: list[str] = [d[0] for d in description] if description else []
        self.rowcount = self._cur.rowcount

    def fetchmany(self, size: int = 500) -> list[tuple[Any, ...]]:
        if self._guarded is None:
            return []
        try:
            return self._cur.fetchmany(size)
        except sqlite3.Error as exc:
            self.close()
            raise _translate(exc, self._guard, self.sql) from exc

    def pages(self, size: int = 500) -> Iterator[list[tuple[Any, ...]]]:
        while page := self.fetchmany(size):
            yield page

    def close(self) -> None:
        guarded, self._guarded = self._guarded, None
        if guarded is None:
            return
        cur = getattr(self, "_cur", None)
        if cur is not None:
            cur.close()
        guarded.__exit__(None, None, None)

    def __enter__(self) -> QueryCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_query(
    conn: sqlite3.Connection,
    sql: str,
    params: Params = (),
    *,
    read_only: bool = False,
    page_size: int = 500,
) -> Iterator[list[tuple[Any, ...]]]:
    """Yield the rows of a guarded query in pages of ``page_size`` (``fetchmany``).

    Exhaust or ``close()`` the generator before reusing the connection.
    """
    with QueryCursor(conn, sql, params, read_only=read_only) as cursor:
        yield from cursor.pages(page_size)
