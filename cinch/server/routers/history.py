"""The history of a branch: commits with their change sets, and one change set with its SQL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from cinch import describe
from cinch.server.deps import (
    BranchQuery,
    CursorQuery,
    Engine,
    LimitQuery,
    ReadKey,
    decode_cursor,
    encode_cursor,
    require,
)
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.keys import Scope
from cinch.server.models import Page

router = APIRouter(tags=["history"], responses=ERROR_RESPONSES)


class ChangeInLog(BaseModel):
    id: str
    database: str


class LogItemPublic(BaseModel):
    commit: str
    summary: str
    author: str
    time: str
    parents: list[str]
    changes: list[ChangeInLog]


class LogPage(Page[LogItemPublic]):
    pass


class ChangeDetail(BaseModel):
    id: str
    database: str
    commit: str
    message: str
    author: str
    created_at: str
    operations: list[str]
    sql: list[str]


@router.get("/history", name="log")
def log(ctx: Engine, key: ReadKey, branch: BranchQuery = None,
        db: Annotated[str | None, Query(max_length=63, description="One database")] = None,
        changes_only: Annotated[bool, Query(description="Only commits with change sets")] = False,
        limit: LimitQuery = 50, cursor: CursorQuery = None) -> LogPage:
    """Commits of the branch, newest first, with the change sets each brought (for a key
    limited to databases, only the commits that brought theirs)."""
    branch = ctx.branch_or_current(branch)
    require(key, Scope.read, branch=branch)
    if db is not None:
        require(key, Scope.read, database=db)
        db = ctx.database_name(db, branch)
    offset = int(decode_cursor(cursor).get("o", 0)) if cursor else 0
    if key.database is None:
        items = ctx.project.log(offset + limit + 1, db, rev=branch,
                                changes_only=changes_only)
    else:
        # A key limited to databases sees their history: the commits that brought their change
        # sets (another commit may be another database's, or name it, as its creation does).
        items = [i for i in ctx.project.log(database=db, rev=branch, changes_only=True)
                 if any(key.covers_database(c["database"]) for c in i.changes)]
    page = []
    for item in items[offset:offset + limit]:
        data = item.to_dict()
        data["changes"] = [c for c in data["changes"] if key.covers_database(c["database"])]
        page.append(LogItemPublic(**data))
    more = len(items) > offset + limit
    return LogPage(items=page,
                               next_cursor=encode_cursor({"o": offset + limit}) if more else None)


@router.get("/changes/{change_id}", name="change")
def get_change(ctx: Engine, key: ReadKey,
               change_id: Annotated[str, Path(min_length=6, max_length=26,
                                              pattern=r"^[0-9A-Za-z]+$")],
               branch: BranchQuery = None) -> ChangeDetail:
    """One change set (by id or a unique prefix of 6+ characters) with its SQL."""
    branch = ctx.branch_or_current(branch)
    require(key, Scope.read, branch=branch)
    change, commit = ctx.project.find_change(change_id, rev=branch)
    require(key, Scope.read, database=change.database)
    return ChangeDetail(
        id=change.id, database=change.database, commit=commit, message=change.message,
        author=f"{change.author.name} <{change.author.email}>",
        created_at=change.created_at.isoformat(),
        operations=[describe(op) for op in change.operations], sql=change.sql)
