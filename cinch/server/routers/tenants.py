"""Tenants of a database on a branch: one SQLite file each, all at the branch's schema."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from cinch import TenantInfo, TenantState
from cinch.errors import UsageError
from cinch.server.deps import (
    CursorQuery,
    LimitQuery,
    ReadTarget,
    Target,
    TenantPath,
    WriteTarget,
    decode_cursor,
    encode_cursor,
    require,
)
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.keys import Scope
from cinch.server.models import Page, Request

router = APIRouter(prefix="/databases/{db}/tenants", tags=["tenants"], responses=ERROR_RESPONSES)


class TenantPublic(BaseModel):
    name: str
    database: str
    branch: str
    size: int = Field(description="Bytes on disk, WAL included")
    applied: int = Field(description="Change sets the tenant holds")
    state: TenantState = Field(description="'not copied yet': a tenant of a new branch that "
                               "still reads its parent's file; copied on first write")
    detail: str


class TenantPage(Page[TenantPublic]):
    pass


class TenantCreate(Request):
    name: str = Field(min_length=1, max_length=63)


class TenantCopy(Request):
    name: str = Field(min_length=1, max_length=63, description="Name of the copy")


def _public(info: TenantInfo) -> TenantPublic:
    data = info.to_dict()
    data.pop("path")  # server file paths are not the client's business
    return TenantPublic(**data)


def _info(t: Target, name: str) -> TenantPublic:
    return _public(t.db.tenants.info(name))


@router.get("", name="list")
def list_tenants(t: ReadTarget, limit: LimitQuery = 100,
                 cursor: CursorQuery = None) -> TenantPage:
    """Tenants with their size and schema state (up to date, behind, drifted, not copied yet);
    a key limited to tenants sees only those."""
    after = decode_cursor(cursor).get("after") if cursor else None
    if cursor and not isinstance(after, str):
        raise UsageError("the cursor is not one this server issued", cursor=cursor)
    # From the tenant catalog: only the page's files are opened, whatever the tenant count.
    infos, last = t.db.tenants.page(after=after, limit=limit, keep=t.key.covers_tenant)
    return TenantPage(items=[_public(i) for i in infos],
                      next_cursor=encode_cursor({"after": last}) if last else None)


@router.get("/{tenant}", name="get")
def get_tenant(t: ReadTarget, tenant: TenantPath) -> TenantPublic:
    require(t.key, Scope.read, tenant=tenant)
    return _info(t, tenant)


@router.post("", name="create", status_code=201)
def create_tenant(t: WriteTarget, body: TenantCreate) -> TenantPublic:
    """Create a tenant at the branch's schema (a file copy of the branch template)."""
    t.db.tenants.create(body.name)
    return _info(t, body.name)


@router.post("/{tenant}/copy", name="copy", status_code=201)
def copy_tenant(t: WriteTarget, tenant: TenantPath, body: TenantCopy) -> TenantPublic:
    """Copy a tenant, schema and data."""
    t.db.tenants.copy(tenant, body.name)
    return _info(t, body.name)


@router.delete("/{tenant}", name="delete", status_code=204)
def delete_tenant(t: WriteTarget, tenant: TenantPath) -> Response:
    """Delete a tenant and its data."""
    t.db.tenants.delete(tenant)
    return Response(status_code=204)
