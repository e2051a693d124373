"""API keys (admin keys without --db/--branch/--tenant limits only): the same code as
`cinch keys`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from cinch.server import keys
from cinch.server.deps import Ctx, CursorQuery, KeyManager, LimitQuery, page_slice
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.keys import Scope
from cinch.server.models import Page, Request

router = APIRouter(prefix="/keys", tags=["keys"], responses=ERROR_RESPONSES)


class KeyPublic(BaseModel):
    id: str
    name: str
    scope: Scope
    database: str | None = Field(description="Database glob (null: every database)")
    branch: str | None = Field(description="Branch glob (null: every branch)")
    created_at: str
    tenant: str | None = Field(default=None, description="Tenant glob (null: every tenant); a "
                               "key limited to tenants writes nothing but their rows")
    timeout_ms: int | None = Field(default=None, description="The key's own query budget "
                                   "(null: the server's limits.query_timeout_ms)")


class KeyPage(Page[KeyPublic]):
    pass


class KeyCreate(Request):
    name: str = Field(min_length=1, max_length=63)
    scope: Scope
    database: str | None = Field(default=None, max_length=200)
    branch: str | None = Field(default=None, max_length=200)
    tenant: str | None = Field(default=None, max_length=200)
    timeout_ms: int | None = Field(default=None, ge=1, le=keys.MAX_TIMEOUT_MS)


class KeyCreated(KeyPublic):
    secret: str = Field(description="Shown once: send it as `Authorization: Bearer <secret>`")


@router.get("", name="list")
def list_keys(ctx: Ctx, key: KeyManager, limit: LimitQuery = 100,
              cursor: CursorQuery = None) -> KeyPage:
    items, next_cursor = page_slice([KeyPublic(**k.to_dict()) for k in keys.list_keys(ctx.state)],
                                    limit, cursor)
    return KeyPage(items=items, next_cursor=next_cursor)


@router.post("", name="create", status_code=201)
def create_key(ctx: Ctx, key: KeyManager, body: KeyCreate) -> KeyCreated:
    created, secret = keys.create_key(ctx.state, body.name, body.scope, database=body.database,
                                      branch=body.branch, tenant=body.tenant,
                                      timeout_ms=body.timeout_ms)
    ctx.keys.invalidate()
    return KeyCreated(**created.to_dict(), secret=secret)


@router.delete("/{name}", name="revoke", status_code=204)
def revoke_key(ctx: Ctx, key: KeyManager, name: Annotated[str, Path(max_length=63)]) -> Response:
    """Revoke a key: it stops working on the next request."""
    keys.revoke_key(ctx.state, name)
    ctx.keys.invalidate()
    return Response(status_code=204)
