"""ETags on schema reads: a schema on a branch is a function of the branch head, so the head
(with the calling key, whose scope filters what it sees) names the answer. A client sending
it back as ``If-None-Match`` gets 304 with no body while the branch has not moved."""

from __future__ import annotations

from fastapi import Depends, Request, Response
from starlette.exceptions import HTTPException

from cinch.server.deps import BranchQuery, Engine, ReadKey, ReadTarget, require
from cinch.server.keys import ApiKey, Scope


def _answer(request: Request, response: Response, head: str | None, key: ApiKey) -> None:
    etag = f'"{head or "none"}.{key.id}"'
    if etag in request.headers.get("if-none-match", ""):
        raise HTTPException(304, headers={"ETag": etag})
    response.headers["ETag"] = etag


def conditional(request: Request, name: str, key: ApiKey) -> dict[str, str]:
    """The ETag headers of an answer ``name`` determines (a commit, a head); 304 when the
    client holds it already."""
    etag = f'"{name}.{key.id}"'
    if etag in request.headers.get("if-none-match", ""):
        raise HTTPException(304, headers={"ETag": etag})
    return {"ETag": etag}


def _database_etag(request: Request, response: Response, t: ReadTarget) -> None:
    _answer(request, response, t.ctx.branch_tip(t.branch), t.key)


def _databases_etag(request: Request, response: Response, ctx: Engine, key: ReadKey,
                    branch: BranchQuery = None) -> None:
    branch = ctx.branch_or_current(branch)
    require(key, Scope.read, branch=branch)
    _answer(request, response, ctx.branch_tip(branch), key)


# The ETag of a read of one database's schema on a branch (after the key's access check).
SchemaETag = Depends(_database_etag)
# The ETag of the list of databases on a branch.
DatabasesETag = Depends(_databases_etag)
