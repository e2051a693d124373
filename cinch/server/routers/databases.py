"""Databases of the project on a branch."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from cinch import Database
from cinch.errors import Forbidden, UnknownRevision
from cinch.server.deps import AdminKey, BranchQuery, Engine, ReadKey, ReadTarget, require
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.etag import DatabasesETag, SchemaETag, conditional
from cinch.server.keys import Scope
from cinch.server.models import Request as Body

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


RevQuery = Annotated[str | None, Query(
    max_length=200, description="A commit (full or short id), tag or branch in the history of "
                                "`branch`; default: the branch tip", examples=["HEAD~1"])]


# response_class=Response (no media type): the errors stay JSON in the OpenAPI document, the
# answer is text.
@router.get("/{db}/schema.sql", name="schema-sql", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "headers": {"X-Cinch-Commit": {
                                 "description": "The commit the schema was read at",
                                 "schema": {"type": "string"}}}}})
def get_schema_sql(request: Request, t: ReadTarget, rev: RevQuery = None) -> PlainTextResponse:
    """The database's generated `schema.sql` at a commit of the branch's history (default: its
    tip), as text. A commit names its answer for good: its ETag never goes stale."""
    tip = t.ctx.branch_tip(t.branch) or ""
    commit = tip
    if rev is not None:
        commit = t.project.git.resolve(rev)
        # Only history the key may read: the commit must be on the branch it was checked for.
        if not t.project.git.is_ancestor(commit, tip):
            raise UnknownRevision(f"{rev!r} is not in the history of branch {t.branch!r}",
                                  rev=rev, branch=t.branch,
                                  hint="pass ?branch= naming a branch that contains it")
    headers = conditional(request, commit, t.key)
    headers["X-Cinch-Commit"] = commit
    return PlainTextResponse(t.db.schema_sql(commit), headers=headers,
                             media_type="text/plain; charset=utf-8")


class AdoptionCreate(Body):
    path: str = Field(min_length=1, max_length=4096, description="A SQLite file or a folder of "
                      "them, on the server's machine")
    database: str = Field(min_length=1, max_length=63, description="The new database")
    pattern: str = Field(default="*.db", max_length=200, description="Which files of the folder")
    mode: Literal["copy", "in_place"] = Field(
        default="copy", description="Copy the files into the tenant folder, or link them where "
        "they are (in_place: only below the server's --adopt-root, nothing written to the files "
        "until a change set is applied to them)")
    repair: bool = Field(default=False, description="Also adopt files whose schema differs, "
                         "planned to the majority schema (rows kept)")
    dry_run: bool = Field(default=False, description="Only the plan; change nothing")


class AdoptedFilePublic(BaseModel):
    path: str
    tenant: str
    fingerprint: str
    status: Literal["adopt", "outlier", "repair", "refused"]
    difference: list[str]
    adopted: bool


class AdoptionPublic(BaseModel):
    database: str
    source: str
    mode: str
    fingerprint: str = Field(description="The majority schema's fingerprint")
    operations: list[str]
    files: list[AdoptedFilePublic]
    adopted: int
    change: str | None
    commit: str | None
    dry_run: bool


@router.post("/adopt", name="adopt", status_code=200)
def adopt_database(ctx: Engine, key: AdminKey, body: AdoptionCreate) -> AdoptionPublic:
    """Adopt existing SQLite files as a new database (one tenant per file), on the current
    branch: the majority schema becomes its first change set. An admin operation (it reads
    files of the server's machine)."""
    require(key, Scope.admin, database=body.database, branch=ctx.current_branch(),
            action="adopting files")
    _check_adopt_path(ctx.settings.adopt_root, body.path, body.mode)
    plan: Any = ctx.project.adopt(body.path, database=body.database, pattern=body.pattern,
                                  mode=body.mode, dry_run=body.dry_run, repair=body.repair,
                                  create=True)
    return AdoptionPublic(**plan.to_dict())


def _check_adopt_path(root: str | None, path: str, mode: str) -> None:
    """In place, a file of the server's machine becomes a tenant that keys write to: only
    below the folder the server was started with (``--adopt-root``), which also bounds what
    may be read and copied."""
    if root is None:
        if mode == "in_place":
            raise Forbidden("adopting in place over HTTP needs a server started with "
                            "--adopt-root FOLDER (files below it may be adopted in place)",
                            mode=mode)
        return
    real, base = os.path.realpath(path), os.path.realpath(root)
    if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
        raise Forbidden(f"{path} is outside the folder this server adopts from ({root})",
                        path=path, adopt_root=root)
