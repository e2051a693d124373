"""The hot path of the API, ``POST /databases/{db}/tenants/{tenant}/query``, answered before
FastAPI's per-request machinery (its middleware stack, routing and dependency solving cost
several times the query itself).

Two entries share the code below:

- ``CinchAPI.__call__`` (:mod:`cinch.server.app`) hands every such ASGI request to
  :meth:`FastQuery.__call__` first (this is what the TestClient and any ASGI server see);
- under ``cinch serve``, the HTTP protocol (:mod:`cinch.server.protocol`) calls
  :meth:`FastQuery.respond_now` as soon as a request is complete, and writes the answer with no
  ASGI round trip at all. What cannot be answered there and then (the engine is busy, the
  tenant must first be made, a write, a read too big to run on the event loop) goes on as an
  ASGI request, with what was already done (the key checked, the tenant found) handed on in the
  scope (``HANDOFF``), so nothing runs or counts twice.

It is an optimisation, not a second implementation: the body is validated by the same
``QueryRequest`` model, the key by the same ``authenticate`` (the secret hashed and compared in
constant time, the rate limit taken, on every request), the tenant found by the same
``tenant_target``, the SQL run by the same code as the route (``answer``), errors rendered by
the same renderer; the response carries the same security headers and is counted in the same
metrics as :class:`~cinch.server.middleware.CinchMiddleware` does for every other route.
Anything else (a body that is not plain JSON or does not validate, a chunked or oversized body,
no bearer key, a cross-origin browser call when CORS is on) goes on to the FastAPI app with the
body replayed, so the answer is the route's own.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from cinch import Tenant
from cinch.errors import CinchError
from cinch.server.deps import ServerContext, authenticate, tenant_target, tenant_target_now
from cinch.server.errors import internal_error, render_cinch_error
from cinch.server.keys import ApiKey
from cinch.server.middleware import SECURITY_HEADERS
from cinch.server.querying import (
    QueryRequest,
    answer,
    check_limits,
    reads_only,
    run_read_inline,
)

try:  # several times faster than json, both ways; only a speed-up
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

log = logging.getLogger("cinch.server")

PATH = re.compile(r"/databases/([A-Za-z_][A-Za-z0-9_]{0,62})/tenants/"
                  r"([A-Za-z0-9][A-Za-z0-9_.-]{0,62})/query")
HANDOFF = "cinch.fast_query"  # scope key: a request the protocol started, for the ASGI path
_BRANCH_MAX = 200  # BranchQuery's max_length: a longer one goes to the route, for its 422
_I64 = 2.0 ** 63

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]  # status, headers, body


@dataclass(slots=True)
class Handoff:
    """A request the protocol began (the key is checked and counted) and the ASGI path ends."""

    key: ApiKey
    tenant: Tenant | None  # None: still to find (it must be made in a worker thread)
    body: QueryRequest
    branch: str | None
    start: float
    inline_tried: bool  # the read already outgrew the event loop: straight to a thread


if orjson is not None:
    _loads: Callable[[bytes], Any] = orjson.loads
    _JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)

    def _dumps(result: dict[str, Any]) -> bytes:
        try:
            return orjson.dumps(result)
        except TypeError:  # a value orjson does not take (an integer over 64 bits)
            return _json_dumps(result)
else:  # pragma: no cover
    _loads = json.loads
    _JSON_ERRORS = (ValueError,)

    def _dumps(result: dict[str, Any]) -> bytes:
        return _json_dumps(result)


def _json_dumps(result: dict[str, Any]) -> bytes:
    # What the route's JSONResponse renders.
    return json.dumps(result, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode()


class FastQuery:
    """Answers ``/query`` requests; ``fallback`` is the whole FastAPI app."""

    def __init__(self, ctx: ServerContext, route_path: str,
                 fallback: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.ctx = ctx
        self.route_path = route_path  # metrics label the request as the route would be
        self.fallback = fallback
        self.max_body = ctx.settings.max_body_bytes
        self.cors = bool(ctx.settings.cors_origins)

    # --- what both entries share ---------------------------------------------------------

    def token(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The bearer token if the headers let this request take the fast path, else None."""
        token = None
        length = -1
        json_body = cross_origin = False
        for name, value in headers:
            if name == b"authorization":
                if token is None:  # the first one, as Starlette's headers.get
                    token = _bearer(value)
            elif name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"content-type":
                json_body = _is_json(value)
            elif name == b"origin":
                cross_origin = True
            elif name == b"transfer-encoding":
                return None
        if (not token or not json_body or length < 0 or length > self.max_body
                or (cross_origin and self.cors)):
            return None
        return token

    @staticmethod
    def parse(raw: bytes, query_string: bytes) -> tuple[QueryRequest, str | None] | None:
        """The body as the route would validate it, and ``?branch=``; None: the route's
        business (it answers 400 or 422)."""
        try:
            data = _loads(raw)
            if type(data) is not dict:
                return None
            if _huge_number(data.get("params")):
                data = json.loads(raw)  # what the route reads (see _huge_number)
            body = QueryRequest.model_validate(data)
        except (ValidationError, ValueError, RecursionError, *_JSON_ERRORS):
            return None
        branch = _branch(query_string)
        if branch is not None and len(branch) > _BRANCH_MAX:
            return None
        return body, branch

    def _ok(self, result: dict[str, Any]) -> Answer:
        payload = _dumps(result)
        return 200, [(b"content-length", str(len(payload)).encode()),
                     (b"content-type", b"application/json"), *SECURITY_HEADERS], payload

    @staticmethod
    def _error(exc: CinchError) -> Answer:
        response = render_cinch_error(exc)
        return exc.http_status, [*response.raw_headers, *SECURITY_HEADERS], response.body

    @staticmethod
    def _unexpected(method: str, path: str) -> Answer:
        response = internal_error(method, path)
        return 500, [*response.raw_headers, *SECURITY_HEADERS], response.body

    # --- the protocol's entry: no ASGI, no task, no await ----------------------------------

    def respond_now(self, match: re.Match[str], token: str, raw: bytes, query_string: bytes,
                    client: str, path: str) -> Answer | Handoff | None:
        """Answer a complete request without yielding to the event loop, if that can be done.

        None: nothing was done (the body is the route's business, or the engine is busy):
        serve the request as any other. A ``Handoff``: the key is checked and counted, the
        rest must wait (see the module docstring).
        """
        start = time.perf_counter()
        parsed = self.parse(raw, query_string)
        ctx = self.ctx
        if parsed is None:
            return None
        body, branch = parsed
        status = 500
        try:
            key = authenticate(ctx, token, client)
            if ctx.engine_lock.locked():  # the ASGI path waits for it, with what is known
                status = 0
                return Handoff(key, None, body, branch, start, False)
            tenant = tenant_target_now(ctx, key, match[1], match[2], branch)
            if tenant is None or not reads_only(key, body):
                status = 0
                return Handoff(key, tenant, body, branch, start, False)
            check_limits(ctx, body)
            result = run_read_inline(tenant, body)
            if result is None:
                status = 0
                return Handoff(key, tenant, body, branch, start, True)
            status = 200
            return self._ok(result)
        except CinchError as exc:
            status = exc.http_status
            return self._error(exc)
        except Exception:
            status = 500
            return self._unexpected("POST", path)
        finally:
            if status:  # a handoff is counted when the ASGI path ends it
                ctx.metrics.observe_request("POST", self.route_path, status,
                                            time.perf_counter() - start)

    # --- the ASGI entry -------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send,
                       match: re.Match[str]) -> None:
        handoff: Handoff | None = scope.get(HANDOFF)
        if handoff is None:
            start = time.perf_counter()
            token = self.token(scope["headers"])
            if token is None:
                await self.fallback(scope, receive, send)
                return
            message = await receive()
            parsed = None
            if (message["type"] == "http.request" and not message.get("more_body", False)
                    and len(message.get("body", b"")) <= self.max_body):
                parsed = self.parse(message.get("body", b""), scope.get("query_string", b""))
            if parsed is None:
                await self.fallback(scope, _replayer(message, receive), send)
                return
            key, tenant, inline = None, None, True
            body, branch = parsed
        else:
            start, key, tenant = handoff.start, handoff.key, handoff.tenant
            body, branch, inline = handoff.body, handoff.branch, not handoff.inline_tried
        ctx = self.ctx
        status = 500
        started = False
        try:
            try:
                if key is None:
                    client = scope.get("client")
                    key = authenticate(ctx, token, client[0] if client else "unknown")
                if tenant is None:
                    tenant = await tenant_target(ctx, key, match[1], match[2], branch)
                status, headers, payload = self._ok(await answer(ctx, key, tenant, body,
                                                                 inline=inline))
            except CinchError as exc:
                status, headers, payload = self._error(exc)
            except Exception:
                status, headers, payload = self._unexpected(scope["method"], scope["path"])
            started = True
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
        finally:
            if not started:
                status = 500  # cancelled before answering
            ctx.metrics.observe_request("POST", self.route_path, status,
                                        time.perf_counter() - start)


def _replayer(first: Message, receive: Receive) -> Receive:
    """``receive`` with the message already read handed out again first."""
    pending: Message | None = first

    async def replay() -> Message:
        nonlocal pending
        if pending is not None:
            message, pending = pending, None
            return message
        return await receive()

    return replay


def _huge_number(params: Any) -> bool:
    """Whether orjson may have read an integer literal past 64 bits (as a float, where the
    route's json reads an int): a float param of that size. Other fields take no such value."""
    values = params if type(params) is list else params.values() if type(params) is dict else ()
    return any(type(v) is float and not -_I64 <= v <= _I64 for v in values)


def _bearer(value: bytes) -> str | None:
    scheme, _, token = value.decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _is_json(value: bytes) -> bool:
    """``application/json``, with parameters or not (anything else: the route decides)."""
    return value.split(b";", 1)[0].strip().lower() == b"application/json"


def _branch(query: bytes) -> str | None:
    if not query:
        return None
    # As Starlette's QueryParams: blank values kept, the last of repeated names wins.
    branch = None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name == "branch":
            branch = value
    return branch
