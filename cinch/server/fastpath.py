"""The hot path of the API, ``POST /databases/{db}/tenants/{tenant}/query`` with
``"read_only": true``, answered without FastAPI's per-request machinery (dependency solving
costs more than the query itself).

It is an optimisation, not a second implementation: the body is validated by the same
``QueryRequest`` model, the key by the same ``authenticate``, the tenant by the same
``tenant_target``, the SQL by the same ``run_read_inline``, errors rendered by the same
renderer. Anything else (a write, a cursor, an invalid body or name, no key, a read too big to
run inline) goes on to the FastAPI route with the body replayed, so behaviour is identical.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cinch.errors import CinchError
from cinch.server.deps import ServerContext, authenticate, tenant_target
from cinch.server.errors import render_cinch_error
from cinch.server.querying import QueryRequest, run_read_inline

_PATH = re.compile(r"/databases/([A-Za-z_][A-Za-z0-9_]{0,62})/tenants/"
                   r"([A-Za-z0-9][A-Za-z0-9_.-]{0,62})/query")


class FastQuery:
    def __init__(self, app: ASGIApp, *, ctx: ServerContext, route: Any) -> None:
        self.app = app
        self.ctx = ctx
        self.route = route  # the FastAPI route, so metrics label the request as it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive)
        if more is None:  # the client went away
            return
        replay = _replayer(body, more, receive)
        token = _bearer(scope)
        try:
            request = QueryRequest.model_validate_json(body) if token and not more else None
        except ValidationError:
            request = None
        if request is None or not request.read_only or request.cursor:
            await self.app(scope, replay, send)
            return
        scope["route"] = self.route
        try:
            branch = _branch(scope)
            key = authenticate(self.ctx, token, scope["client"][0] if scope.get("client")
                               else "unknown")
            tenant = await tenant_target(self.ctx, key, match[1], match[2], branch)
            result = run_read_inline(tenant, request)
        except CinchError as exc:
            await render_cinch_error(exc)(scope, replay, send)
            return
        if result is None:  # too big for the event loop: the route runs it in a thread
            await self.app(scope, replay, send)
            return
        payload = json.dumps(result, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


async def _read(receive: Receive) -> tuple[bytes, bool | None]:
    """The first chunk of the body (all of it, for any normal client) and whether more
    follows; ``None`` for ``more`` if the client disconnected."""
    message = await receive()
    if message["type"] != "http.request":
        return b"", None
    return message.get("body", b""), bool(message.get("more_body", False))


def _replayer(body: bytes, more: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def _branch(scope: Scope) -> str | None:
    query = scope.get("query_string", b"")
    if not query:
        return None
    values = parse_qs(query.decode("latin-1")).get("branch")
    return values[-1] if values else None
