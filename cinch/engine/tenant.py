"""One tenant: query it and write rows through the Python API."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinch.engine.row_inserts import InsertPlan, given_columns, plan_insert
from cinch.errors import InvalidOperation, NotFound, QueryError, QueryRefused
from cinch.names import quote
from cinch.stores import tenantstore as ts
from cinch.stores.query import BatchItem
from cinch.stores.row_dicts import described_row_builder, row_builder

if TYPE_CHECKING:
    from cinch.engine.database import Database
    from cinch.engine.project import Project
    from cinch.models.schema import Table

# What SQLite stores and gives back (bool is stored as 0/1).
Value = str | int | float | bytes | bool | None
Params = Sequence[Value] | Mapping[str, Value]
Row = dict[str, Value]


class Tenant:
    """A tenant database of (database, branch). Get one with ``project.tenant(name)``."""

    def __init__(self, project: Project, db: str, branch: str, name: str, *,
                 owner: Database | None = None) -> None:
        self.project = project
        self.database = db
        self.branch = branch
        self.name = name
        tenants = project.tenants
        # The pool's key (resolved by the store); a Path is built only when asked for.
        self._key = tenants.file(db, branch, name)
        self._path: Path | None = None
        self._pool = tenants.pool
        self._conn: sqlite3.Connection | None = None  # set inside transaction()
        self._tables: dict[str, Table] = {}  # looked up inside the transaction
        self._plans: dict[tuple[str, tuple[str, ...]], InsertPlan] = {}  # likewise
        # Its database (given by whoever looked it up already, else at the first write).
        self._db: Database | None = owner
        # A read connection of this handle's own, kept open between queries: a point query
        # then costs what it costs on a raw reused sqlite3 connection. Closed by close(), and
        # by cinch before the tenant's file is renamed or deleted. ``_point`` is its rows().
        self._reader: sqlite3.Connection | None = None
        self._point: Callable[[str, Params], list[Row]] | None = None

    @property
    def path(self) -> Path:
        """The tenant's file."""
        path = self._path
        if path is None:
            path = self._path = Path(self._key)
        return path

    def close(self) -> None:
        """Release this handle's connections: its own reader, and the pooled connection its
        writes left open if no one is using it (each is reopened if the tenant is used
        again). A script going through many tenants closes each one when done with it."""
        reader, self._reader, self._point = self._reader, None, None
        if reader is not None:
            reader.close()
        if self._conn is None:  # not inside transaction(): its connection is leased
            self._pool.close_idle(self._key)

    def _open_reader(self) -> ts.PinnedReader:
        # Guarded read-only for its whole life: a point query only runs the statement.
        pinned = ts.PinnedReader(ts.connect(self._key, read_only=True, create=False))
        self._reader, self._point = pinned.conn, pinned.rows
        # Known to the engine from now on, which closes it before the file is renamed or
        # deleted (a handle without a reader holds nothing open of its own).
        self.project.tenants.handles.add(self)
        return pinned

    def __enter__(self) -> Tenant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<cinch.Tenant {self.name} of {self.database}@{self.branch}>"

    @contextmanager
    def _connection(self, read_only: bool = False) -> Iterator[sqlite3.Connection]:
        if self._conn is not None:
            yield self._conn
            return
        if read_only:
            with self.project.tenants.pool.connection(self._key, read_only=True) as conn:
                yield conn
            return
        tenants = self.project.tenants
        with tenants.writing(self.database, self.branch):
            tenants.before_write(self.database, self.branch, self.name)
            with tenants.pool.connection(self._key) as conn:
                yield conn

    def query(self, sql: str, params: Params = (), *, read_only: bool = False,
              max_rows: int | None = None, timeout: float | None = None) -> ts.QueryResult:
        """Run one statement with bound parameters; schema statements are refused.

        ``timeout`` (seconds): SQLite stops the statement past it with
        :class:`~cinch.errors.QueryTimeout`, and nothing it wrote is kept.
        """
        if self._conn is not None:
            return ts.run_query(self._conn, sql, params, read_only=read_only, max_rows=max_rows,
                                timeout=timeout)
        if read_only:
            reader = self._reader or self._open_reader().conn
            return ts.run_query(reader, sql, params, read_only=True, max_rows=max_rows,
                                timeout=timeout)
        self.project.tenants.before_write(self.database, self.branch, self.name)
        return self.write(sql, params, max_rows=max_rows, timeout=timeout)

    def write(self, sql: str, params: Params = (), *, max_rows: int | None = None,
              timeout: float | None = None) -> ts.QueryResult:
        """``query`` that may write, for a caller that already made branches forked from this
        one take their copy of the tenant (``project.tenants.before_write``): the server does
        that under its engine lock, then runs the statement outside it. A write waits while
        the branch's tenants move, so a change's data check and its apply see the same rows."""
        with self.project.tenants.writing(self.database, self.branch):
            conn = self._pool.acquire(self._key, False)
            try:
                return ts.run_query(conn, sql, params, read_only=False, max_rows=max_rows,
                                    timeout=timeout)
            finally:
                self._pool.release(conn)

    def read(self, sql: str, params: Params = (), *, max_rows: int | None = None,
             timeout: float | None = None) -> ts.QueryResult:
        """A read-only query on a pooled connection: safe from several threads at once, where
        ``query(read_only=True)`` uses this handle's own reader, one thread at a time."""
        if self._conn is not None:
            return ts.run_query(self._conn, sql, params, read_only=True, max_rows=max_rows,
                                timeout=timeout)
        conn = self._pool.acquire(self._key, True)
        try:
            return ts.run_query(conn, sql, params, read_only=True, max_rows=max_rows,
                                timeout=timeout)
        finally:
            self._pool.release(conn)

    def read_within(self, sql: str, params: Params = (), *, steps: int,
                    max_rows: int | None = None) -> ts.QueryResult | None:
        """A read-only query on a pooled connection if it finishes within about ``steps``
        SQLite VM steps, else None (nothing is lost: run it again with :meth:`read`). For a
        caller that must not block long, such as the server's event loop."""
        every = 1_000
        budget = max(1, steps // every)
        calls = 0

        def progress() -> int:
            nonlocal calls
            calls += 1
            return 1 if calls > budget else 0

        conn = self._pool.acquire(self._key, True)
        try:
            conn.set_progress_handler(progress, every)
            try:
                return ts.run_query(conn, sql, params, read_only=True, max_rows=max_rows)
            except (QueryError, QueryRefused):
                if calls > budget:
                    return None
                raise
            finally:
                conn.set_progress_handler(None, 0)
        finally:
            self._pool.release(conn)

    @contextmanager
    def cursor(self, sql: str, params: Params = (), *,
               timeout: float | None = None) -> Iterator[ts.QueryCursor]:
        """A read-only query's rows fetched as they are wanted (``fetchmany``), on a pooled
        connection held until the block ends."""
        with self._pool.connection(self._key, read_only=True) as conn, \
                ts.QueryCursor(conn, sql, params, read_only=True, timeout=timeout) as cursor:
            yield cursor

    def executemany(self, sql: str, seq_of_params: Iterable[Params], *,
                    timeout: float | None = None) -> int:
        """Run one statement once per parameter set, all in one transaction (all or none);
        the rows changed in total."""
        items: list[BatchItem] = [(sql, params) for params in seq_of_params]
        return sum(r.rowcount for r in self.batch(items, timeout=timeout))

    def batch(self, statements: Sequence[BatchItem], *, read_only: bool = False,
              max_rows: int | None = None,
              timeout: float | None = None) -> list[ts.QueryResult]:
        """Several statements (``sql`` or ``(sql, params)``) in one transaction: all of them
        or none. A failing statement raises with its position in ``details["index"]``;
        ``timeout`` bounds the whole batch."""
        if self._conn is not None:  # inside transaction(): already atomic
            return [ts.run_query(self._conn, *((item, ()) if isinstance(item, str) else item),
                                 read_only=read_only, max_rows=max_rows, timeout=timeout)
                    for item in statements]
        tenants = self.project.tenants
        if read_only:
            with tenants.pool.connection(self._key, read_only=True) as conn:
                return ts.run_batch(conn, statements, read_only=True, max_rows=max_rows,
                                    timeout=timeout)
        tenants.before_write(self.database, self.branch, self.name)
        return self.write_batch(statements, max_rows=max_rows, timeout=timeout)

    def write_batch(self, statements: Sequence[BatchItem], *, max_rows: int | None = None,
                    timeout: float | None = None) -> list[ts.QueryResult]:
        """:meth:`batch` that may write, for a caller that already made forked branches take
        their copy (see :meth:`write`)."""
        tenants = self.project.tenants
        with tenants.writing(self.database, self.branch), tenants.pool.connection(
                self._key) as conn:
            return ts.run_batch(conn, statements, read_only=False, max_rows=max_rows,
                                timeout=timeout)

    def prepare_write(self) -> None:
        """Make branches forked from this tenant's branch take their copy of it first (copy
        before write), for :meth:`write` and :meth:`write_batch`."""
        self.project.tenants.before_write(self.database, self.branch, self.name)

    def watch(self) -> DataWatch:
        """A connection of its own that tells when the tenant's data changes."""
        return DataWatch(self.path)

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        """A SELECT's rows as dicts (column -> value)."""
        if self._conn is None:  # on this handle's own reader: the point-query path
            point = self._point or self._open_reader().rows
            return point(sql, params)
        result = self.query(sql, params)
        return list(map(row_builder(tuple(result.columns)), result.rows))

    def _table(self, name: str) -> Table:
        if self._conn is not None:
            # Inside a transaction the schema holds still (a mover waits for the write lock
            # it holds): look each table up once, not once per row.
            found = self._tables.get(name)
            if found is None:
                found = self._tables[name] = self._schema_table(name)
            return found
        return self._schema_table(name)

    def _schema_table(self, name: str) -> Table:
        db = self._db
        if db is None:
            db = self._db = self.project.database(self.database, branch=self.branch)
        return db.schema().table(name)

    def _update_statement(self, table: Table, keys: tuple[str, ...]) -> str:
        """The UPDATE for ``table`` setting the columns ``keys``; built, and the keys checked,
        once per schema and set of keys (see ``_STATEMENTS``)."""
        found = _STATEMENTS.get((id(table), keys))
        if found is not None and found[0] is table:
            return found[1]
        cols = given_columns(table, keys)
        if not cols:
            raise InvalidOperation("nothing to update")
        sets = ", ".join(f"{quote(c)} = ?" for c in cols)
        sql = f"UPDATE {quote(table.name)} SET {sets} WHERE \"id\" = ? RETURNING \"id\""
        if len(_STATEMENTS) >= _STATEMENTS_KEPT:
            _STATEMENTS.clear()
        _STATEMENTS[(id(table), keys)] = (table, sql)
        return sql

    def insert(self, table: str, row: Mapping[str, Value]) -> Row:
        """Insert a row; ``id`` and the timestamps are filled in. Returns the stored row."""
        keys = tuple(row)
        conn = self._conn
        if conn is not None:  # inside transaction(): the schema holds still
            plan = self._plans.get((table, keys))
            if plan is None:
                plan = self._plans[(table, keys)] = plan_insert(self._table(table), keys)
            if plan.insert is not None:  # the common case, in one call
                try:
                    stored = plan.insert(conn.execute, row)
                except sqlite3.Error as exc:
                    raise QueryError(f"tenant {self.name}: {exc}", tenant=self.name) from exc
                if stored is not None:
                    return stored
        else:
            plan = plan_insert(self._table(table), keys)
        values = list(row.values())
        if not plan.bind(values):
            return plan.returned(self._write_returning(plan.returning, values)[0])
        params = plan.params(values)
        assert plan.plain is not None  # bind() says so
        try:
            if conn is not None:  # inside transaction(): the common case
                conn.execute(plan.plain, params)
            else:
                with self._connection() as conn:
                    conn.execute(plan.plain, params)
        except sqlite3.Error as exc:
            raise QueryError(f"tenant {self.name}: {exc}", tenant=self.name) from exc
        return plan.row(params)

    def update(self, table: str, id: str, values: Mapping[str, Value]) -> Row:
        """Update the row with ``id``; ``updated_at`` moves by itself."""
        t = self._table(table)
        sql = self._update_statement(t, tuple(values))
        rows = self._write_returning(sql, [*values.values(), id])
        if not rows:
            raise NotFound(f"no row with id {id!r} in {t.name}", id=id)
        # RETURNING runs before AFTER triggers: read the row back for the new updated_at.
        with self._connection() as conn:
            cur = conn.execute(f"SELECT * FROM {quote(t.name)} WHERE \"id\" = ?", [id])
            cols = [d[0] for d in cur.description]
            return dict(zip(cols, cur.fetchone(), strict=True))

    def delete(self, table: str, id: str) -> bool:
        t = self._table(table)
        return bool(self._write_returning(
            f"DELETE FROM {quote(t.name)} WHERE \"id\" = ? RETURNING \"id\"", [id]))

    def get(self, table: str, id: str) -> Row | None:
        t = self._table(table)
        rows = self.rows(f"SELECT * FROM {quote(t.name)} WHERE \"id\" = ?", [id])
        return rows[0] if rows else None

    def _write_returning(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        conn = self._conn
        if conn is not None:  # inside transaction(): the common case, without a generator
            return self._returning(conn, sql, params)
        with self._connection() as conn:
            return self._returning(conn, sql, params)

    def _returning(self, conn: sqlite3.Connection, sql: str,
                   params: list[Any]) -> list[dict[str, Any]]:
        try:
            cur = conn.execute(sql, params)
            rows = cur.fetchall()
            if len(rows) == 1:  # one row written
                return [dict(zip(map(_name, cur.description), rows[0], strict=True))]
            return list(map(described_row_builder(cur.description), rows))
        except sqlite3.Error as exc:
            raise QueryError(f"tenant {self.name}: {exc}", tenant=self.name) from exc

    def transaction(self) -> Transaction:
        """All writes inside commit together, or not at all (``with tenant.transaction():``;
        one inside another is part of the outer one)."""
        return Transaction(self)


_name = itemgetter(0)  # a column's name in a cursor's description

# UPDATE statements by (table, the keys a row names): a table is an immutable part of the
# schema of one commit, kept by the history's cache, so a statement built and checked for it
# stays right for as long as that table object is the one looked up. The entry holds the table,
# so its id cannot be reused for another while the entry lives.
_STATEMENTS: dict[tuple[int, tuple[str, ...]], tuple[Table, str]] = {}
_STATEMENTS_KEPT = 1024


class Transaction:
    """``with tenant.transaction():`` the branch's write lock held shared, a pooled
    connection in ``BEGIN IMMEDIATE``; committed when the block ends, rolled back if it raises.
    (A class, not a generator: a script writing to thousands of tenants takes one each.)"""

    __slots__ = ("_lease", "_lock", "_outer", "_tenant")

    def __init__(self, tenant: Tenant) -> None:
        self._tenant = tenant
        self._outer = False
        self._lock: Any = None
        self._lease: Any = None

    def __enter__(self) -> Tenant:
        tenant = self._tenant
        if tenant._conn is not None:  # inside another: part of that one
            return tenant
        tenants = tenant.project.tenants
        lock = tenants.writing(tenant.database, tenant.branch)
        lock.__enter__()
        try:
            lease = tenants.pool.connection(tenant._key)
            conn = lease.__enter__()
            try:
                tenants.before_write(tenant.database, tenant.branch, tenant.name)
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                lease.__exit__(None, None, None)
                raise
        except BaseException:
            lock.__exit__(None, None, None)
            raise
        self._lock, self._lease, self._outer = lock, lease, True
        tenant._conn = conn
        return tenant

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if not self._outer:
            return
        self._outer = False
        tenant = self._tenant
        conn = tenant._conn
        assert conn is not None
        try:
            try:
                conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
            finally:
                tenant._conn = None
                tenant._tables.clear()
                tenant._plans.clear()
                self._lease.__exit__(None, None, None)
        finally:
            self._lock.__exit__(None, None, None)


class DataWatch:
    """A read connection of its own to one tenant file: :meth:`version` changes whenever any
    connection commits a change to the file (SQLite's ``data_version``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = ts.connect(path, read_only=True, create=False)

    def version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
