"""Merge requests (PR-style): open, review, approve, merge, close. The review state lives in
the server's state database; the merge is the engine's."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field
from starlette.requests import Request as HttpRequest

from cinch.errors import Forbidden
from cinch.server import reviews
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
from cinch.server.errors import ERROR_RESPONSES, ErrorInfo
from cinch.server.etag import conditional
from cinch.server.keys import ApiKey, Scope
from cinch.server.models import Page, Request, SchemaDiff, schema_diff
from cinch.server.state import MergeRequestRow

router = APIRouter(prefix="/merge-requests", tags=["merge-requests"], responses=ERROR_RESPONSES)

Number = Annotated[int, Path(ge=1, le=2**62, description="Merge request number")]
State = Literal["open", "closed", "merged"]


class MergeRequestCreate(Request):
    source: str = Field(min_length=1, max_length=200, description="Branch to merge from")
    target: str = Field(min_length=1, max_length=200, description="Branch to merge into")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)


class ApprovalPublic(BaseModel):
    approver: str
    approved_at: str
    source_head: str
    current: bool = Field(description="Given for the source's current head")


class ConflictOrigin(BaseModel):
    """What one side did: its change set, message, SQL and operation."""

    change_id: str | None
    message: str
    sql: list[str]
    operation: str


class ConflictPublic(BaseModel):
    kind: str = Field(description="e.g. drop_vs_alter, same_object_different_definition")
    database: str
    object: str
    ours: ConflictOrigin | None = Field(description="The target's side")
    theirs: ConflictOrigin | None = Field(description="The source's side")
    message: str
    resolutions: list[str] = Field(description="Concrete ways out")


class ChangeSummary(BaseModel):
    id: str
    message: str
    author: str
    operations: list[str]


class SideChanges(BaseModel):
    ours: list[ChangeSummary] = Field(description="New on the target since the merge base")
    theirs: list[ChangeSummary] = Field(description="New on the source: what the merge brings")


class MergeCheck(BaseModel):
    """The engine's merge check (cinch.engine.merge.check_merge), re-run when a branch moves."""

    can_merge: bool = Field(description="No conflicts")
    up_to_date: bool = Field(default=False, description="The target already has everything")
    fast_forward: bool = False
    base: str | None = None
    source_head: str | None = None
    target_head: str | None = None
    changes: dict[str, SideChanges] = Field(default={}, description="Per database")
    conflicts: list[ConflictPublic] = []
    tenants: dict[str, int] = Field(default={}, description="Per database: tenants of the "
                                                            "target the merge will update")
    resolution: str | None = None
    error: ErrorInfo | None = Field(default=None, description="The check itself failed")
    checked_at: str | None = None


class MergeRequestPublic(BaseModel):
    number: int
    title: str
    description: str
    source: str
    target: str
    state: State
    author: str
    created_at: str
    updated_at: str
    source_head: str | None
    target_head: str | None
    approvals: list[ApprovalPublic]
    approvals_required: int
    approvals_current: int
    check: MergeCheck | None
    can_merge_now: bool
    blockers: list[str] = Field(description="Why it cannot be merged now (empty: it can)")
    merged_commit: str | None
    merged_by: str | None
    merged_at: str | None
    closed_by: str | None
    closed_at: str | None


class MergeRequestPage(Page[MergeRequestPublic]):
    pass


class MergeRequestDetail(MergeRequestPublic):
    diff: SchemaDiff | None = Field(description="What the source brings since the merge base")


class CommentCreate(Request):
    body: str = Field(min_length=1, max_length=20_000)


class CommentPublic(BaseModel):
    id: int
    author: str
    body: str
    created_at: str


class CommentPage(Page[CommentPublic]):
    pass


class MergeRequestMerge(Request):
    message: str | None = Field(default=None, max_length=2000)
    dry_run: bool = Field(default=False, description="Check and preview; change nothing")


class MergeOutcome(BaseModel):
    merge_request: MergeRequestPublic
    result: dict[str, Any] = Field(description="The engine's MergeResult")


def _scoped_check(key: ApiKey, check: dict[str, Any]) -> dict[str, Any]:
    """The merge check as far as the key's databases go: another database's change sets,
    conflicts and tenant counts are not its business."""
    if key.database is None:
        return check
    out = dict(check)
    for per_db in ("changes", "tenants"):
        if isinstance(check.get(per_db), dict):
            out[per_db] = {db: v for db, v in check[per_db].items() if key.covers_database(db)}
    if isinstance(check.get("conflicts"), list):
        out["conflicts"] = [c for c in check["conflicts"]
                            if key.covers_database(c.get("database", ""))]
    return out


def touched_databases(check: dict[str, Any]) -> list[str]:
    """The databases whose tenants a merge changes: those the source brings change sets to."""
    return [db for db, sides in (check.get("changes") or {}).items() if sides.get("theirs")]


def _public(key: ApiKey, review: reviews.ReviewView) -> MergeRequestPublic:
    mr = review.mr
    check = None
    if mr.check is not None:
        known = {k: v for k, v in _scoped_check(key, mr.check).items()
                 if k in MergeCheck.model_fields}
        check = MergeCheck(**{"can_merge": False, **known, "checked_at": mr.checked_at})
    return MergeRequestPublic(
        number=mr.number, title=mr.title, description=mr.description, source=mr.source,
        target=mr.target, state=mr.state, author=mr.author,  # type: ignore[arg-type]
        created_at=mr.created_at, updated_at=mr.updated_at, source_head=review.source_head,
        target_head=review.target_head,
        approvals=[ApprovalPublic(**a.__dict__) for a in review.approvals],
        approvals_required=review.approvals_required,
        approvals_current=review.approvals_current, check=check,
        can_merge_now=review.can_merge_now, blockers=[b.message for b in review.blockers],
        merged_commit=mr.merged_commit, merged_by=mr.merged_by, merged_at=mr.merged_at,
        closed_by=mr.closed_by, closed_at=mr.closed_at)


def _visible(key: ApiKey, mr: MergeRequestRow) -> bool:
    return key.covers_branch(mr.source) or key.covers_branch(mr.target)


def _load(ctx: ServerContext, key: ApiKey, number: int) -> reviews.ReviewView:
    review = reviews.view(ctx.project, ctx.state, number)
    if not _visible(key, review.mr):
        raise Forbidden(f"key {key.name} covers neither {review.mr.source} nor "
                        f"{review.mr.target}", key=key.name, merge_request=number)
    return review


@router.get("", name="list")
def list_merge_requests(
    ctx: Engine, key: ReadKey,
    state: Annotated[State | None, Query(description="Only this state")] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    limit: LimitQuery = 50, cursor: CursorQuery = None,
) -> MergeRequestPage:
    """Merge requests the key may see, newest first; open ones re-check if a branch moved."""
    rows = [r for r in ctx.state.merge_requests(state=state, source=source, target=target)
            if _visible(key, r)]
    chunk, next_cursor = page_slice(rows, limit, cursor)
    items = [_public(key, reviews.view(ctx.project, ctx.state, r.number)) for r in chunk]
    return MergeRequestPage(items=items, next_cursor=next_cursor)


@router.post("", name="open", status_code=201)
def open_merge_request(ctx: Engine, key: WriteKey, body: MergeRequestCreate) -> MergeRequestDetail:
    """Propose merging `source` into `target`; the conflict check runs at once. Needs write
    on the source only: proposing touches neither branch (a `feature/*` key may propose into
    `main`; merging needs a key for `main`)."""
    require(key, Scope.write, branch=body.source, action="proposing this branch")
    number = reviews.open_request(ctx.project, ctx.state, key, source=body.source,
                                  target=body.target, title=body.title,
                                  description=body.description)
    return _detail(ctx, key, number)


def _detail_etag(request: HttpRequest, response: Response, ctx: Engine, key: ReadKey,
                 number: Number) -> None:
    """A request's page is a function of both branch tips and its review row (state,
    approvals, the approvals its target needs): their digest names it, so a client can ask
    cheaply whether anything moved (304 when not) instead of fetching the whole check."""
    mr = ctx.state.merge_request(number)
    if not _visible(key, mr):
        return  # the route refuses it
    parts = [mr.state, mr.updated_at, ctx.branch_tip(mr.source) or "",
             ctx.branch_tip(mr.target) or "",
             str(reviews.required_approvals(ctx.project, mr.target)),
             *(f"{a.approver}@{a.source_head}@{a.created_at}" for a in mr.approvals)]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    response.headers.update(conditional(request, digest, key))


@router.get("/{number}", name="get", dependencies=[Depends(_detail_etag)])
def get_merge_request(ctx: Engine, key: ReadKey, number: Number) -> MergeRequestDetail:
    """One merge request: its schema diff (SQL and structured), conflicts, approvals, the
    tenants it will touch and whether it can be merged now. Its `ETag` changes when either
    branch moves or the review does (`If-None-Match` answers 304 until then)."""
    return _detail(ctx, key, number)


def _detail(ctx: ServerContext, key: ApiKey, number: int) -> MergeRequestDetail:
    review = _load(ctx, key, number)
    diff = None
    mr = review.mr
    check = mr.check or {}
    if mr.state == "merged" and mr.merged_commit:
        # What the merge brought: the target as last checked before it, to the merge commit.
        base, head = check.get("target_head"), mr.merged_commit
    elif review.source_head and review.target_head:
        base = check.get("base") or ctx.project.merge_base(review.source_head,
                                                              review.target_head)
        head = review.source_head
    else:
        base = head = None
    if base and head:
        diff = schema_diff(ctx.project.diff(base, head))
        diff.databases = [d for d in diff.databases if key.covers_database(d.database)]
    return MergeRequestDetail(**_public(key, review).model_dump(), diff=diff)


@router.post("/{number}/approvals", name="approve", status_code=201)
def approve(ctx: Engine, key: WriteKey, number: Number) -> MergeRequestPublic:
    """Approve the source's current head (a later change to the source makes it stale)."""
    review = _load(ctx, key, number)
    require(key, Scope.write, branch=review.mr.target, action="approving into this branch")
    return _public(key, reviews.approve(ctx.project, ctx.state, key, number))


@router.post("/{number}/merge", name="merge")
def merge(ctx: Engine, key: WriteKey, number: Number, body: MergeRequestMerge) -> MergeOutcome:
    """Merge through the engine: every tenant of the target is brought to the merged schema,
    or nothing changes. Needs the approvals cinch.toml asks for; a protected target needs an
    admin key."""
    review = _load(ctx, key, number)
    target = review.mr.target
    protected = target in ctx.project.config(target).branches.protected
    require(key, Scope.admin if protected else Scope.write, branch=target,
            action=f"merging into {'protected ' if protected else ''}branch {target}")
    # Checked on the merge check as it is now (view() re-ran it if a branch moved).
    require_databases(key, touched_databases(review.mr.check or {}),
                      f"merging {review.mr.source} into {target}")
    result = reviews.merge(ctx.project, ctx.state, key, number, message=body.message,
                           dry_run=body.dry_run, metrics=ctx.metrics)
    if key.database is not None:
        for per_db in ("tenants", "sql"):
            if isinstance(result.get(per_db), dict):
                result[per_db] = {db: v for db, v in result[per_db].items()
                                  if key.covers_database(db)}
        if isinstance(result.get("report"), dict):
            result["report"] = _scoped_check(key, result["report"])
    return MergeOutcome(merge_request=_public(key, reviews.view(ctx.project, ctx.state, number)),
                        result=result)


@router.post("/{number}/close", name="close")
def close(ctx: Engine, key: WriteKey, number: Number) -> MergeRequestPublic:
    review = _load(ctx, key, number)
    require(key, Scope.write, branch=review.mr.source if key.covers_branch(review.mr.source)
            else review.mr.target, action="closing it")
    reviews.set_state(ctx.state, key, number, "closed")
    return _public(key, reviews.view(ctx.project, ctx.state, number))


@router.post("/{number}/reopen", name="reopen")
def reopen(ctx: Engine, key: WriteKey, number: Number) -> MergeRequestPublic:
    review = _load(ctx, key, number)
    require(key, Scope.write, branch=review.mr.source if key.covers_branch(review.mr.source)
            else review.mr.target, action="reopening it")
    reviews.set_state(ctx.state, key, number, "open")
    return _public(key, reviews.view(ctx.project, ctx.state, number))


@router.get("/{number}/comments", name="list-comments")
def list_comments(ctx: Engine, key: ReadKey, number: Number, limit: LimitQuery = 100,
                  cursor: CursorQuery = None) -> CommentPage:
    _load(ctx, key, number)
    items, next_cursor = page_slice(
        [CommentPublic(**c.__dict__) for c in ctx.state.comments(number)], limit, cursor)
    return CommentPage(items=items, next_cursor=next_cursor)


@router.post("/{number}/comments", name="comment", status_code=201)
def comment(ctx: Engine, key: WriteKey, number: Number, body: CommentCreate) -> CommentPublic:
    _load(ctx, key, number)
    return CommentPublic(**ctx.state.add_comment(number, key.name, body.body).__dict__)
