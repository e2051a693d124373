"""Databases of the project on a branch."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cinch import Database
from cinch.server.deps import BranchQuery, Engine, ReadKey, ReadTarget, require
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.etag import DatabasesETag, SchemaETag
from cinch.server.keys import Scope

router = APIRouter(prefix="/databases", tags=["databases"], responses=ERROR_RESPONSES)


class DatabasePublic(BaseModel):
    name: str
    branch: str
    head: str
    tables: int
    views: int
    indexes: int
    changes: int


class DatabaseDetail(DatabasePublic):
    schema_sql: str


@router.get("", name="list", dependencies=[DatabasesETag])
def list_databases(ctx: Engine, key: ReadKey, branch: BranchQuery = None) -> list[DatabasePublic]:
    """The databases on the branch that the key may see."""
    branch = ctx.branch_or_current(branch)
    require(key, Scope.read, branch=branch)
    project = ctx.project
    head = project.tip(branch) or ""
    out = []
    for name in project.databases(branch):
        if not key.covers_database(name):
            continue
        db = Database(project, name, branch)
        schema = db.schema(head)
        out.append(DatabasePublic(name=name, branch=branch, head=head, tables=len(schema.tables),
                                  views=len(schema.views), indexes=len(schema.indexes),
                                  changes=db.change_count(head)))
    return out


@router.get("/{db}", name="get", dependencies=[SchemaETag])
def get_database(t: ReadTarget) -> DatabaseDetail:
    """One database: counts and its whole schema as SQL."""
    db = t.db
    head = db.head
    schema = db.schema(head)
    return DatabaseDetail(name=db.name, branch=db.branch, head=head, tables=len(schema.tables),
                          views=len(schema.views), indexes=len(schema.indexes),
                          changes=db.change_count(head),
                          schema_sql=db.schema_sql())
