"""Guarded user queries (``cinch query``, the HTTP query endpoint).

One statement per call, parameters always bound, and the policy of
:mod:`cinch.stores.authorizer` enforced by SQLite's authorizer. Refusals raise
:class:`~cinch.errors.QueryRefused`; anything else SQLite reports raises
:class:`~cinch.errors.QueryError` with SQLite's message.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from cinch.errors import QueryError, QueryRefused, QueryTimeout
from cinch.stores.authorizer import READ_ONLY, WRITE, QueryGuard
from cinch.stores.row_dicts import RowBuilder, described_row_builder
from cinch.stores.sqlite_conn import CinchConnection

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]
BatchItem: TypeAlias = tuple[str, Params] | str

_SQLITE_READONLY = 8
_PROGRESS_STEPS = 1000


@dataclass(slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    # Rows changed for INSERT/UPDATE/DELETE, else the number of rows returned.
    rowcount: int
    truncated: bool = False
    lastrowid: int | None = None


def _arm(
    conn: sqlite3.Connection, read_only: bool, timeout: float | None = None
) -> tuple[QueryGuard, bool]:
    """Switch the connection's guard on; returns it and whether query_only was toggled.

    Plain functions rather than a context manager: this runs on every query.
    """
    ours = conn if isinstance(conn, CinchConnection) else None
    toggled = False
    if read_only and not (ours is not None and ours.read_only):
        # Belt and braces: a read-only query on a writable connection also runs query_only.
        # The toggle is prepared unguarded, which forces a re-prepare of the user's
        # statement: a connection opened read_only is the fast path.
        conn.execute("PRAGMA query_only=ON")
        toggled = True
    guard = ours._cinch_guard if ours is not None else None
    if guard is not None and guard.pinned and not read_only:
        raise QueryError("this connection runs read-only queries only")
    need = READ_ONLY if read_only else WRITE
    if guard is None:
        guard = QueryGuard()
        guard.arm(read_only)
        # Installing expires every prepared statement: they re-prepare under the guard.
        sqlite3.Connection.set_authorizer(conn, guard)
        if ours is not None:
            ours._cinch_guard = guard
    else:
        guard.arm(read_only)
        if guard.level < need:
            sqlite3.Connection.set_authorizer(conn, guard)  # expire unauthorized statements
    guard.level = need
    guard.deadline = None
    if timeout is not None:
        guard.budget = timeout
        deadline = guard.deadline = time.monotonic() + timeout
        # Called every ~1000 VM steps: a runaway recursive CTE stops at the deadline.
        conn.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    return guard, toggled


def _disarm(conn: sqlite3.Connection, guard: QueryGuard, toggled: bool) -> None:
    if guard.deadline is not None:
        conn.set_progress_handler(None, 0)
    if guard.pinned:  # stays armed; its next query starts clean (read_rows does not arm it)
        guard.denied = None
        guard.deadline = None
        return
    guard.active = False
    if not isinstance(conn, CinchConnection):
        conn.set_authorizer(None)  # a foreign connection: leave it as we found it
    if toggled:
        conn.execute("PRAGMA query_only=OFF")


def _check_sql(sql: object) -> str:
    if not isinstance(sql, str):
        raise QueryError(f"a query must be a string, not {type(sql).__name__}")
    if not sql or sql.isspace():
        raise QueryError("the query is empty")
    return sql


def _translate(exc: BaseException, guard: QueryGuard, sql: str, where: str = "") -> Exception:
    if guard.denied is not None:
        return QueryRefused(where + guard.denied, sql=sql)
    message = str(exc)
    if guard.deadline is not None and message == "interrupted":
        return QueryTimeout(where + f"the query ran past its time budget of "
                            f"{guard.budget:g} s and was stopped; nothing it did was kept",
                            sql=sql, timeout_seconds=guard.budget,
                            hint="narrow the query (an index, a LIMIT), or ask for a key "
                                 "with a larger budget")
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
    timeout: float | None = None,
) -> QueryResult:
    """Run one guarded statement (autocommit) and return its result.

    ``max_rows`` caps the rows returned; ``truncated`` says whether more were available.
    ``timeout`` (seconds) stops a runaway query with :class:`QueryError`. For a read-only
    query prefer a connection opened ``read_only`` (the fast path).
    """
    _check_sql(sql)
    if max_rows is not None and max_rows < 0:
        raise QueryError("max_rows must not be negative")
    guard, toggled = _arm(conn, read_only, timeout)
    try:
        return _execute_one(conn, guard, sql, params, max_rows)
    finally:
        _disarm(conn, guard, toggled)


class PinnedReader:
    """A connection opened ``read_only`` and guarded for good (:meth:`QueryGuard.pin`): for
    one that runs nothing but guarded reads (a tenant handle's own). :meth:`rows` only runs
    the statement; every check that costs is made when something is wrong."""

    __slots__ = ("_build", "_cur", "_guard", "_prepared", "_sql", "conn")

    def __init__(self, conn: CinchConnection) -> None:
        if not conn.read_only:
            raise QueryError("only a connection opened read-only can be pinned")
        guard = QueryGuard()
        guard.pin()
        # Installing expires every statement prepared so far (cinch's settings): from here on
        # each one is prepared under the read-only policy.
        sqlite3.Connection.set_authorizer(conn, guard)
        guard.level = READ_ONLY
        conn._cinch_guard = guard
        conn._cinch_pinned = self
        self.conn = conn
        self._guard = guard
        # One cursor reused query after query (a new one per query cost 5% of a point query);
        # one that failed is closed and replaced.
        self._cur: sqlite3.Cursor | None = None
        # The last query's row builder (its columns' dict literal), kept while its statement
        # is not prepared again: the names SQLite hands back are new strings at each execute.
        self._sql: str | None = None
        self._prepared = -1
        self._build: RowBuilder = dict

    def rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """:func:`read_rows` on this connection: the point-query path of ``Tenant.rows``."""
        cur = self._cur
        if cur is None:
            cur = self._cur = self.conn.cursor()
        try:
            # fetchall runs to the end: the statement is reset, no snapshot is held.
            rows = cur.execute(sql, params).fetchall()
        except BaseException as exc:
            self._cur = None
            cur.close()  # an open read statement would pin the WAL snapshot
            if isinstance(exc, sqlite3.Error | ValueError | OverflowError | TypeError):
                _check_sql(sql)  # not a string: say so
                raise _pinned_error(exc, self._guard, sql) from exc
            raise
        if not rows:
            return _dicts(rows, cur, sql)
        if self._prepared != self._guard.prepared or sql != self._sql:
            # A (re)compiled statement may have other columns (SELECT * after ALTER)
            self._build = described_row_builder(cur.description)
            self._sql, self._prepared = sql, self._guard.prepared
        if len(rows) == 1:
            return [self._build(rows[0])]
        return list(map(self._build, rows))


def read_rows(conn: CinchConnection, sql: str, params: Params = ()) -> list[dict[str, Any]]:
    """A guarded read's rows as dicts (column -> value), on a connection opened ``read_only``.

    What :func:`run_query` does for such a connection with no row cap and no time budget,
    without the result object between. On a pinned reader (:class:`PinnedReader`) it only runs
    the statement (:meth:`PinnedReader.rows`).
    """
    guard = conn._cinch_guard
    if guard is not None and guard.pinned:
        return conn._cinch_pinned.rows(sql, params)  # type: ignore[no-any-return]
    rows, cur = _read_armed(conn, _check_sql(sql), params)
    return _dicts(rows, cur, sql)


def _dicts(rows: list[Any], cur: sqlite3.Cursor, sql: str) -> list[dict[str, Any]]:
    if not rows:
        if not sql or sql.isspace():
            _check_sql(sql)  # nothing ran: say the query was empty
        return []
    return list(map(described_row_builder(cur.description), rows))


def _pinned_error(exc: BaseException, guard: QueryGuard, sql: str) -> Exception:
    error = _translate(exc, guard, sql)
    guard.denied = None  # the guard stays armed: the next query starts clean
    return error


def _read_armed(conn: CinchConnection, sql: str,
                params: Params) -> tuple[list[Any], sqlite3.Cursor]:
    if not conn.read_only:
        raise QueryError("read_rows needs a connection opened read-only")
    guard = conn._cinch_guard
    if guard is not None and guard.level == READ_ONLY:
        # What _arm does for a read-only connection whose cached statements were all prepared
        # under the read-only policy: switch the guard on (no query_only toggle, no budget).
        guard.arm(True)
        guard.deadline = None
    else:
        guard, _ = _arm(conn, True)
    cur = None
    try:
        cur = conn.execute(sql, params)
        return cur.fetchall(), cur
    except BaseException as exc:
        if cur is not None:
            cur.close()  # an open read statement would pin the WAL snapshot
        if isinstance(exc, sqlite3.Error | ValueError | OverflowError):
            raise _translate(exc, guard, sql) from exc
        raise
    finally:
        guard.active = False


def run_batch(
    conn: sqlite3.Connection,
    statements: Sequence[BatchItem],
    read_only: bool = False,
    *,
    max_rows: int | None = None,
    timeout: float | None = None,
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
        guard, toggled = _arm(conn, read_only, timeout)
        try:
            for index, (sql, params) in enumerate(items):
                try:
                    results.append(
                        _execute_one(
                            conn, guard, sql, params, max_rows,
                            where=f"statement {index + 1} of {len(items)}: ",
                        )
                    )
                except (QueryError, QueryRefused, QueryTimeout) as exc:
                    exc.details["index"] = index
                    raise
        finally:
            _disarm(conn, guard, toggled)
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
        timeout: float | None = None,
    ) -> None:
        self.sql = _check_sql(sql)
        self._conn = conn
        guard, self._toggled = _arm(conn, read_only, timeout)
        self._guard = guard
        self._open = True
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
        if not self._open:
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
        if not self._open:
            return
        self._open = False
        cur = getattr(self, "_cur", None)
        if cur is not None:
            cur.close()
        _disarm(self._conn, self._guard, self._toggled)

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
    timeout: float | None = None,
) -> Iterator[list[tuple[Any, ...]]]:
    """Yield the rows of a guarded query in pages of ``page_size`` (``fetchmany``).

    Exhaust or ``close()`` the generator before reusing the connection.
    """
    with QueryCursor(conn, sql, params, read_only=read_only, timeout=timeout) as cursor:
        yield from cursor.pages(page_size)
