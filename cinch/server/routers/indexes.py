"""Indexes of a database on a branch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cinch.server.deps import ReadTarget, WriteTarget, name_path
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.etag import SchemaETag
from cinch.server.models import ChangeResultPublic, Request
from cinch.server.routers.changes import DryRun, Message, run_change

router = APIRouter(prefix="/databases/{db}/indexes", tags=["indexes"], responses=ERROR_RESPONSES)

IndexPath = Annotated[str, name_path("Index", "users_name_idx")]


class IndexPublic(BaseModel):
    id: str
    name: str
    table: str
    columns: list[str]
    unique: bool


class IndexCreate(Request):
    table: str = Field(min_length=1, max_length=63)
    columns: list[str] = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=63, description="Default: derived")
    unique: bool = False
    message: str | None = Field(default=None, max_length=2000)


@router.get("", name="list", dependencies=[SchemaETag])
def list_indexes(t: ReadTarget, table: Annotated[str | None, Query(max_length=63)] = None,
                 ) -> list[IndexPublic]:
    """Indexes (of one table, or all)."""
    return [IndexPublic(id=i.id, name=i.name, table=i.table, columns=i.columns, unique=i.unique)
            for i in t.db.indexes(table)]


@router.post("", name="create")
def create_index(t: WriteTarget, body: IndexCreate, dry_run: DryRun = False) -> ChangeResultPublic:
    """Create an index; a UNIQUE one is refused if any tenant holds duplicates."""
    return run_change(t, lambda: t.db.create_index(body.table, body.columns, name=body.name,
                                                   unique=body.unique, message=body.message,
                                                   dry_run=dry_run))


@router.delete("/{index}", name="drop")
def drop_index(t: WriteTarget, index: IndexPath, message: Message = None,
               dry_run: DryRun = False) -> ChangeResultPublic:
    return run_change(t, lambda: t.db.drop_index(index, message=message, dry_run=dry_run))
