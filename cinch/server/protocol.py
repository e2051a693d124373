"""uvicorn's httptools HTTP/1.1 protocol, with point queries answered in the protocol itself.

Under ``cinch serve`` a request costs uvicorn more than cinch spends on a point query: an
asyncio task, an ASGI scope and message dicts, awaits through ``send``, and two socket writes
(the head, then the body). For ``POST .../tenants/{t}/query`` this protocol instead collects the
body, calls :meth:`cinch.server.fastpath.FastQuery.respond_now` once the request is complete,
and writes the answer in one write, with uvicorn's own default headers (``date``).

Everything else is uvicorn's, untouched: other routes, and any query request that is not plain
(HTTP/1.0, ``Connection: close``, ``Expect: 100-continue``, an upgrade, a chunked body, a
request pipelined behind one still running, a paused transport, the access log on). A request
``respond_now`` cannot finish is given to uvicorn as if it had just arrived (the same parser
callbacks, in order), with what was done handed on in its scope.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from cinch.server.fastpath import HANDOFF, PATH, FastQuery, Handoff

log = logging.getLogger("cinch.server")


class _Pending:
    __slots__ = ("body", "match", "path", "query", "token")

    def __init__(self, match: Any, token: str, query: bytes, path: str) -> None:
        self.match = match
        self.token = token
        self.query = query
        self.path = path
        self.body = bytearray()


# What this class relies on in uvicorn's protocol; without any of it, it is uvicorn's as is.
_UVICORN_PARTS = ("app", "root_path", "limit_concurrency", "parser", "expect_100_continue",
                  "access_log", "cycle", "pipeline", "flow", "headers", "scope", "client",
                  "transport", "server_state", "on_response_complete")


class CinchHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: _Pending | None = None
        fast = getattr(self, "app", None)
        fast = getattr(fast, "fast_query", None)
        usable = (isinstance(fast, FastQuery)
                  and all(hasattr(self, part) for part in _UVICORN_PARTS)
                  and not self.root_path and self.limit_concurrency is None)
        self._fast: FastQuery | None = fast if usable else None

    def on_message_begin(self) -> None:
        self._pending = None
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        try:
            taken = self._fast is not None and self._take()
        except Exception:  # a uvicorn unlike the one this was written for: its own way
            log.exception("the query fast path is off: uvicorn's protocol is not as expected")
            self._fast = None
            taken = False
        if not taken:
            super().on_headers_complete()

    def _take(self) -> bool:
        """Whether this request is one to answer here (then its body is collected)."""
        parser = self.parser
        if (parser.get_method() != b"POST" or parser.get_http_version() != "1.1"
                or not parser.should_keep_alive() or parser.should_upgrade()
                or self.expect_100_continue or self.access_log):
            return False
        cycle = self.cycle
        if (cycle is not None and not cycle.response_complete) or self.pipeline \
                or self.flow.write_paused:
            return False
        try:  # the path as uvicorn puts it in the scope
            url = httptools.parse_url(self.url)
            path = url.path.decode("ascii")
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            return False
        if "%" in path:
            path = urllib.parse.unquote(path)
        match = PATH.fullmatch(path)
        if match is None:
            return False
        assert self._fast is not None
        token = self._fast.token(self.headers)
        if token is None:
            return False
        self._pending = _Pending(match, token, url.query or b"", path)
        return True

    def on_body(self, body: bytes) -> None:
        pending = self._pending
        if pending is None:
            super().on_body(body)
        else:
            pending.body += body

    def on_message_complete(self) -> None:
        pending = self._pending
        if pending is None:
            super().on_message_complete()
            return
        self._pending = None
        assert self._fast is not None
        try:
            outcome = self._fast.respond_now(
                pending.match, pending.token, bytes(pending.body), pending.query,
                self.client[0] if self.client else "unknown", pending.path)
        except Exception:  # respond_now answers its own errors: this is a bug; uvicorn's turn
            log.exception("the query fast path failed; serving the request the usual way")
            outcome = None
        if type(outcome) is tuple:
            status, headers, payload = outcome
            parts = [STATUS_LINE[status]]
            for name, value in (*self.server_state.default_headers, *headers):
                parts += (name, b": ", value, b"\r\n")
            parts += (b"\r\n", payload)
            self.transport.write(b"".join(parts))
            self.on_response_complete()  # uvicorn's bookkeeping: keep-alive timer, pipeline
            return
        # As if uvicorn had had the request all along.
        if isinstance(outcome, Handoff):
            self.scope[HANDOFF] = outcome  # type: ignore[literal-required]
        super().on_headers_complete()
        if pending.body:
            super().on_body(bytes(pending.body))
        super().on_message_complete()
