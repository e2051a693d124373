"""Views of a database on a branch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cinch.server.deps import ReadTarget, WriteTarget, name_path
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.etag import SchemaETag
from cinch.server.models import ChangeResultPublic, Request
from cinch.server.routers.changes import Cascade, DryRun, Message, run_change

router = APIRouter(prefix="/databases/{db}/views", tags=["views"], responses=ERROR_RESPONSES)

ViewPath = Annotated[str, name_path("View", "adults")]


class ViewPublic(BaseModel):
    id: str
    name: str
    sql: str


class ViewCreate(Request):
    name: str = Field(min_length=1, max_length=63)
    sql: str = Field(min_length=1, max_length=100_000, description="The SELECT")
    message: str | None = Field(default=None, max_length=2000)


class ViewUpdate(Request):
    sql: str = Field(min_length=1, max_length=100_000, description="The new SELECT")
    message: str | None = Field(default=None, max_length=2000)


@router.get("", name="list", dependencies=[SchemaETag])
def list_views(t: ReadTarget) -> list[ViewPublic]:
    return [ViewPublic(id=v.id, name=v.name, sql=v.sql) for v in t.db.views()]


@router.get("/{view}", name="get", dependencies=[SchemaETag])
def get_view(t: ReadTarget, view: ViewPath) -> ViewPublic:
    v = t.db.view(view)
    return ViewPublic(id=v.id, name=v.name, sql=v.sql)


@router.post("", name="create")
def create_view(t: WriteTarget, body: ViewCreate, dry_run: DryRun = False) -> ChangeResultPublic:
    """Create a view; its SELECT is checked against the branch's schema."""
    return run_change(t, lambda: t.db.create_view(body.name, body.sql, message=body.message,
                                                  dry_run=dry_run))


@router.put("/{view}", name="replace")
def replace_view(t: WriteTarget, view: ViewPath, body: ViewUpdate,
                 dry_run: DryRun = False) -> ChangeResultPublic:
    return run_change(t, lambda: t.db.replace_view(view, body.sql, message=body.message,
                                                   dry_run=dry_run))


@router.delete("/{view}", name="drop")
def drop_view(t: WriteTarget, view: ViewPath, cascade: Cascade = False, message: Message = None,
              dry_run: DryRun = False) -> ChangeResultPublic:
    return run_change(t, lambda: t.db.drop_view(view, cascade=cascade, message=message,
                                                dry_run=dry_run))
