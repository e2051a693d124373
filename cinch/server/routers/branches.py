"""Branches (git branches, shared by every database) and comparing two of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from cinch.errors import Forbidden
from cinch.names import check_branch_name
from cinch.server.deps import (
    CursorQuery,
    Engine,
    LimitQuery,
    ReadKey,
    ServerContext,
    WriteKey,
    page_slice,
    require,
    require_databases,
)
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.keys import Scope
from cinch.server.models import Page, Request, SchemaDiff, schema_diff

router = APIRouter(tags=["branches"], responses=ERROR_RESPONSES)

BranchPath = Annotated[str, Path(max_length=200, description="Branch name (may contain /)")]


class BranchPublic(BaseModel):
    name: str
    head: str
    protected: bool
    current: bool
    ahead: int | None = Field(description="Commits not on the default branch")
    behind: int | None = Field(description="Commits of the default branch not on this one")


class BranchPage(Page[BranchPublic]):
    pass


class BranchCreate(Request):
    name: str = Field(min_length=1, max_length=200)
    start: str | None = Field(default=None, max_length=200,
                              description="Branch or commit to start from (default: current)")
    empty: bool = Field(default=False, description="Start with no tenants (else copy them)")


def _branch(ctx: ServerContext, name: str) -> BranchPublic:
    return BranchPublic(**ctx.project.branch(name).to_dict())


@router.get("/branches", name="list")
def list_branches(ctx: Engine, key: ReadKey, limit: LimitQuery = 100,
                  cursor: CursorQuery = None) -> BranchPage:
    """Branches the key may see."""
    names = [b for b in ctx.project.branch_names() if key.covers_branch(b)]
    chunk, next_cursor = page_slice(sorted(names), limit, cursor)
    return BranchPage(items=[_branch(ctx, n) for n in chunk], next_cursor=next_cursor)


@router.post("/branches", name="create", status_code=201)
def create_branch(ctx: Engine, key: WriteKey, body: BranchCreate) -> BranchPublic:
    """Create a branch (schema and, unless `empty`, tenants copied from the start point)."""
    check_branch_name(body.name)
    require(key, Scope.write, branch=body.name, action="creating a branch")
    # The new branch holds a copy of what it starts from: the key must be able to read that,
    # whether it is named or (no `start`) the current branch.
    start = body.start if body.start is not None else ctx.current_branch()
    if ctx.branch_tip(start) is not None:
        require(key, Scope.read, branch=start, action="branching from it")
    elif key.branch is not None:
        raise Forbidden(f"key {key.name} is limited to branches {key.branch!r}: it may start a "
                        f"branch only from one of them, not from revision {start!r}",
                        key=key.name, start=start)
    ctx.project.create_branch(body.name, start, empty=body.empty)
    return _branch(ctx, body.name)


@router.get("/compare", name="compare")
def compare(ctx: Engine, key: ReadKey,
            base: Annotated[str, Query(max_length=200, description="Branch to compare from")],
            head: Annotated[str, Query(max_length=200, description="Branch to compare to")],
            db: Annotated[str | None, Query(max_length=63, description="One database")] = None,
            ) -> SchemaDiff:
    """The schema diff between two branch tips (structured, SQL and schema.sql patch)."""
    for branch in (base, head):
        ctx.branch_or_current(branch)
        require(key, Scope.read, branch=branch)
    if db is not None:
        require(key, Scope.read, database=db)
        db = ctx.database_name(db, head)
    diff = schema_diff(ctx.project.diff(base, head, database=db))
    diff.databases = [d for d in diff.databases if key.covers_database(d.database)]
    return diff


@router.get("/branches/{branch:path}", name="get")
def get_branch(ctx: Engine, key: ReadKey, branch: BranchPath) -> BranchPublic:
    """One branch."""
    ctx.branch_or_current(branch)
    require(key, Scope.read, branch=branch)
    return _branch(ctx, branch)


@router.delete("/branches/{branch:path}", name="delete", status_code=204)
def delete_branch(ctx: Engine, key: WriteKey, branch: BranchPath,
                  force: Annotated[bool, Query(description="Delete even if not merged")] = False,
                  ) -> Response:
    """Delete a branch and its tenants (every database). Protected branches need admin."""
    ctx.branch_or_current(branch)
    protected = ctx.project.branch(branch).protected
    require(key, Scope.admin if protected else Scope.write, branch=branch,
            action="deleting this branch")
    # The branch holds every database's tenants: all of them must be the key's.
    require_databases(key, ctx.project.databases(branch), f"deleting branch {branch}")
    ctx.project.delete_branch(branch, force=force)
    return Response(status_code=204)
