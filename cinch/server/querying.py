"""Running a client's SQL on a tenant and rendering the result as JSON.

The SQL runs through :mod:`cinch.stores.query` (the authorizer guard ``Tenant.query`` uses:
schema statements, ATTACH, transaction control and ``load_extension`` are refused) on a
connection leased from the project's tenant pool. A read key's query runs read-only, whatever
its SQL says.

Large results are paged with an opaque cursor: the next page re-runs the statement read-only
and skips the rows already sent, so no server-side cursor holds a connection or pins the WAL
between requests. Only read-only queries page: a statement that may write is never re-run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from cinch import Tenant
from cinch.errors import LimitExceeded, QueryError
from cinch.server.deps import ServerContext, decode_cursor, encode_cursor
from cinch.server.keys import ApiKey, Scope
from cinch.server.models import Request

JsonScalar = str | int | float | bool | None
SqliteType = Literal["null", "integer", "real", "text", "blob"]
Params = list[JsonScalar] | dict[str, JsonScalar]


def finite_params(params: Params) -> Params:
    """Refuse NaN and ±Infinity (which Python's JSON reads): SQLite would store them as NULL
    or as a REAL no JSON answer can carry back. The error names the parameter."""
    pairs = enumerate(params) if isinstance(params, list) else params.items()
    for name, value in pairs:
        if type(value) is float and not math.isfinite(value):
            where = f"parameter {name + 1}" if isinstance(name, int) else f"parameter :{name}"
            raise ValueError(f"{where} is {value}: parameters must be finite numbers "
                             "(NaN and Infinity are not values SQL stores)")
    return params


class QueryRequest(Request):
    sql: str = Field(min_length=1, max_length=100_000, description="One SQL statement")
    params: Params = Field(default=[], description="Bound parameters: a list for ?, an object "
                                                   "for :name; numbers must be finite")
    read_only: bool = Field(default=False, description="Refuse writes (always on for read keys)")
    limit: int = Field(default=1000, ge=1, le=10_000, description="Rows per page")
    cursor: str | None = Field(default=None, max_length=500,
                               description="`next_cursor` of the previous page (same sql/params)")

    _finite = field_validator("params")(finite_params)


class QueryResultPublic(BaseModel):
    columns: list[str]
    types: list[list[SqliteType]] = Field(description="SQLite type of each value, row by row")
    rows: list[list[JsonScalar]] = Field(description="Values; blobs base64, ±Infinity as text")
    rowcount: int = Field(description="Rows changed by a write, else rows returned")
    truncated: bool = Field(description="More rows exist than were returned")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page (reads only)")
    lastrowid: int | None = None


class BatchStatement(Request):
    sql: str = Field(min_length=1, max_length=100_000)
    params: Params = []

    _finite = field_validator("params")(finite_params)


class BatchRequest(Request):
    statements: list[BatchStatement] = Field(
        min_length=1, max_length=10_000,
        description="At most the server's `limits.max_batch_statements` (100 by default)")
    read_only: bool = False
    limit: int = Field(default=1000, ge=1, le=10_000, description="Rows per statement")


class BatchResult(BaseModel):
    results: list[QueryResultPublic]


def _cell(value: Any) -> tuple[JsonScalar, str]:
    kind = type(value)
    if value is None:
        return None, "null"
    if kind is int:
        return value, "integer"
    if kind is str:
        return value, "text"
    if kind is float:
        if math.isfinite(value):
            return value, "real"
        return ("Infinity" if value > 0 else "-Infinity"), "real"  # JSON has no infinities
    if kind is bytes:
        return base64.b64encode(value).decode(), "blob"
    return str(value), "text"


def render(columns: list[str], rows: list[tuple[Any, ...]], *, rowcount: int, truncated: bool,
           next_cursor: str | None = None, lastrowid: int | None = None) -> dict[str, Any]:
    values, types = [], []
    for row in rows:
        cells = [_cell(v) for v in row]
        values.append([c[0] for c in cells])
        types.append([c[1] for c in cells])
    return {"columns": columns, "types": types, "rows": values, "rowcount": rowcount,
            "truncated": truncated, "next_cursor": next_cursor, "lastrowid": lastrowid}


def _fingerprint(sql: str, params: Any) -> str:
    raw = json.dumps([sql, params], sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def run_query(tenant: Tenant, body: QueryRequest, read_only: bool,
              timeout: float | None = None) -> dict[str, Any]:
    """One statement: the first page, or the page a cursor names. A write must come after
    ``prepare_write`` (under the engine lock); its SQL runs outside that lock."""
    if body.cursor:
        return _next_page(tenant, body, timeout)
    if read_only:  # Tenant.read: this runs in worker threads, several at once
        result = tenant.read(body.sql, body.params, max_rows=body.limit, timeout=timeout)
    else:
        result = tenant.write(body.sql, body.params, max_rows=body.limit, timeout=timeout)
    cursor = None
    if result.truncated and read_only:  # only a statement known not to write is re-run
        cursor = encode_cursor({"q": _fingerprint(body.sql, body.params), "o": body.limit})
    return render(result.columns, result.rows, rowcount=result.rowcount,
                  truncated=result.truncated, next_cursor=cursor,
                  lastrowid=None if read_only or result.columns else result.lastrowid)


# Read-only queries first run on the event loop itself: a point query costs ~20 µs there, less
# than a hop to a worker thread and back (which, under load, also fights for the GIL). A read
# that outgrows this budget of SQLite VM steps is interrupted, which is harmless for a read,
# and run again in a worker thread.
INLINE_STEPS = 100_000


def run_read_inline(tenant: Tenant, body: QueryRequest) -> dict[str, Any] | None:
    """The read's result if it fits the inline budget, else None (run it in a thread)."""
    if body.cursor or body.limit > 1000:
        return None
    result = tenant.read_within(body.sql, body.params, steps=INLINE_STEPS, max_rows=body.limit)
    if result is None:
        return None
    cursor = None
    if result.truncated:
        cursor = encode_cursor({"q": _fingerprint(body.sql, body.params), "o": body.limit})
    return render(result.columns, result.rows, rowcount=result.rowcount,
                  truncated=result.truncated, next_cursor=cursor)


def reads_only(key: ApiKey, body: QueryRequest | BatchRequest) -> bool:
    """A read key's query runs read-only, whatever ``read_only`` says."""
    return body.read_only or not key.can(Scope.write)


def check_limits(ctx: ServerContext, body: QueryRequest | BatchRequest) -> None:
    """cinch.toml's ``[limits]`` on what one request may ask for. A request that leaves
    ``limit`` to its default gets this server's largest page if that is smaller."""
    rows = ctx.limits.max_query_rows
    if body.limit > rows:
        if "limit" in body.model_fields_set:
            raise LimitExceeded(f"limit {body.limit} is over this server's {rows} rows per page",
                                hint="ask for fewer rows and page with next_cursor",
                                limit=body.limit, max_query_rows=rows)
        body.limit = rows
    if isinstance(body, BatchRequest):
        most = ctx.limits.max_batch_statements
        if len(body.statements) > most:
            raise LimitExceeded(f"a batch holds at most {most} statements, not "
                                f"{len(body.statements)}", hint="split it into several batches",
                                statements=len(body.statements), max_batch_statements=most)


def prepare_write(tenant: Tenant) -> None:
    """Branches forked from the tenant's branch take their copy of it first (copy before
    write). Engine work: the caller holds the engine lock, and releases it before the SQL."""
    tenant.prepare_write()


async def answer(ctx: ServerContext, key: ApiKey, tenant: Tenant, body: QueryRequest, *,
                 inline: bool = True) -> dict[str, Any]:
    """``POST .../query``: the route and the fast path (:mod:`cinch.server.fastpath`) both
    answer through this. ``inline=False``: the read was already tried inline and outgrew it.

    Every statement runs within the key's time budget (``ServerContext.budget``), stopped
    inside SQLite past it, and holds no lock another request needs: reads never take the
    engine lock, writes take it only to copy the tenant into forked branches first.
    """
    check_limits(ctx, body)
    timeout = ctx.budget(key)
    if reads_only(key, body):
        # Inline, a read is stopped after INLINE_STEPS (a few ms), far inside any budget.
        result = run_read_inline(tenant, body) if inline else None
        if result is None:
            result = await run_in_threadpool(run_query, tenant, body, True, timeout)
        return result
    async with ctx.engine_lock:
        await run_in_threadpool(prepare_write, tenant)
    return await run_in_threadpool(run_query, tenant, body, False, timeout)


async def answer_batch(ctx: ServerContext, key: ApiKey, tenant: Tenant,
                       body: BatchRequest) -> dict[str, Any]:
    """``POST .../batch``: all statements in one transaction, within one time budget."""
    check_limits(ctx, body)
    timeout = ctx.budget(key)
    if reads_only(key, body):
        return await run_in_threadpool(run_batch, tenant, body, True, timeout)
    async with ctx.engine_lock:
        await run_in_threadpool(prepare_write, tenant)
    return await run_in_threadpool(run_batch, tenant, body, False, timeout)


def _next_page(tenant: Tenant, body: QueryRequest, timeout: float | None) -> dict[str, Any]:
    data = decode_cursor(body.cursor or "")
    offset = data.get("o")
    if data.get("q") != _fingerprint(body.sql, body.params) or not isinstance(offset, int) \
            or offset < 0:
        raise QueryError("the cursor belongs to another query: send the same sql and params "
                         "as the first page")
    with tenant.cursor(body.sql, body.params, timeout=timeout) as cursor:
        skipped = 0
        while skipped < offset:
            chunk = cursor.fetchmany(min(1000, offset - skipped))
            if not chunk:
                break
            skipped += len(chunk)
        rows = cursor.fetchmany(body.limit + 1)
        columns = cursor.columns
    more = len(rows) > body.limit
    rows = rows[:body.limit]
    next_cursor = encode_cursor({"q": data["q"], "o": offset + body.limit}) if more else None
    return render(columns, rows, rowcount=len(rows), truncated=more, next_cursor=next_cursor)


def run_batch(tenant: Tenant, body: BatchRequest, read_only: bool,
              timeout: float | None = None) -> dict[str, Any]:
    """Several statements in one transaction: all of them or none (past ``timeout``, none).

    A writing batch must come after ``prepare_write`` (branches forked from this one take
    their copy of the tenant first).
    """
    statements = [(s.sql, s.params) for s in body.statements]
    if read_only:
        results = tenant.batch(statements, read_only=True, max_rows=body.limit,
                               timeout=timeout)
    else:  # waits while the branch's tenants move (a change's check and apply)
        results = tenant.write_batch(statements, max_rows=body.limit, timeout=timeout)
    return {"results": [render(r.columns, r.rows, rowcount=r.rowcount, truncated=r.truncated,
                               lastrowid=None if read_only or r.columns else r.lastrowid)
                        for r in results]}

