"""SQL on one tenant: a statement (paged) or a batch in one transaction."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cinch.server.deps import TenantDep
from cinch.server.errors import ERROR_RESPONSES, ErrorBody
from cinch.server.querying import (
    BatchRequest,
    BatchResult,
    QueryRequest,
    QueryResultPublic,
    answer,
    answer_batch,
)

router = APIRouter(prefix="/databases/{db}/tenants/{tenant}", tags=["queries"],
                   responses={**ERROR_RESPONSES, 503: {
                       "model": ErrorBody,
                       "description": "query_timeout: the query ran past its time budget and "
                                      "was stopped; nothing it did was kept"}})


# Async routes: a read runs on the event loop when it is small (see run_read_inline), else in a
# worker thread; the result goes out as a ready JSONResponse (no second validation pass).
# Every statement runs within the key's time budget; a write takes the engine lock only to copy
# the tenant into branches forked from it first, never while its SQL runs.
# Most requests to /query never get here: cinch.server.fastpath answers them through the same
# `answer`, before FastAPI's machinery; this route serves the rest (invalid bodies, chunked
# bodies, browsers' cross-origin calls) with identical results.
@router.post("/query", name="run", response_model=QueryResultPublic)
async def query(access: TenantDep, body: QueryRequest) -> JSONResponse:
    """Run one SQL statement with bound parameters. A read key's query is read-only. Results
    over `limit` rows page with `next_cursor` when the query is read-only."""
    return JSONResponse(await answer(access.ctx, access.key, access.tenant, body))


@router.post("/batch", name="batch", response_model=BatchResult)
async def batch(access: TenantDep, body: BatchRequest) -> JSONResponse:
    """Run several statements in one transaction: all of them or none (the failing one is
    named in `details.index`; past the time budget, `query_timeout` and none of them)."""
    return JSONResponse(await answer_batch(access.ctx, access.key, access.tenant, body))
