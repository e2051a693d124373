"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request).

Every HTTP response gets the security headers and is counted and timed for ``/metrics``; a
request body over the limit is refused with 413 before or while it is read.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cinch.server.errors import error_response
from cinch.server.metrics import Metrics

_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc (/docs, /redoc) load their assets from this server (cinch.server.apidocs)
# and run one inline script; ReDoc starts a worker from a blob.
_DOCS_CSP = (b"default-src 'none'; script-src 'self' 'unsafe-inline'; "
             b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
             b"worker-src blob:; frame-ancestors 'none'")
_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
# What an API response carries (the query fast path adds them itself).
SECURITY_HEADERS = (*_HEADERS, (b"content-security-policy", _API_CSP))


class CinchMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # until a response starts
        started = False
        csp = _DOCS_CSP if scope["path"] in ("/docs", "/redoc") else _API_CSP

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                headers = message.setdefault("headers", [])
                # A console page brings its own policy and build assets their own caching.
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in _HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body:
                response = error_response(
                    413, "payload_too_large",
                    f"the request body is {declared} bytes; the limit is {self.max_body}")
                await response(scope, receive, send_wrapper)
                return
            try:
                await self.app(scope, self._limited(receive), send_wrapper)
            except HTTPException as exc:
                # Raised by _limited where no FastAPI handler is around (the query fast path).
                if exc.status_code != 413 or started:
                    raise
                await error_response(413, "payload_too_large", str(exc.detail))(
                    scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "<unmatched>"
            self.metrics.observe_request(scope["method"], path, status,
                                         time.perf_counter() - start)

    def _limited(self, receive: Receive) -> Receive:
        """Count a chunked body as it arrives: Content-Length may be absent or a lie."""
        seen = 0
        limit = self.max_body

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # FastAPI re-raises an HTTPException from body reading unchanged.
                    raise HTTPException(413, f"the request body is over the limit of {limit} "
                                             "bytes")
            return message

        return wrapped


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
