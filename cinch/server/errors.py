"""One error shape for every response: ``{"error": {"code", "message", "hint"?, "details"?}}``.

``CinchError`` carries its stable code and HTTP status; FastAPI's validation errors, Starlette's
HTTP errors (unknown route, wrong method, body too large) and unexpected exceptions are rendered
the same way, so a client has one thing to parse.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cinch.errors import CinchError

log = logging.getLogger("cinch.server")

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 429: "rate_limited"}


class ErrorInfo(BaseModel):
    code: str
    message: str
    hint: str | None = None
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorInfo


def error_response(status: int, code: str, message: str, *, hint: str | None = None,
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    info: dict[str, Any] = {"code": code, "message": message}
    if hint:
        info["hint"] = hint
    if details:
        info["details"] = details
    return Response(json.dumps({"error": info}, default=str, ensure_ascii=False), status,
                    headers=headers, media_type="application/json")


def render_cinch_error(exc: CinchError) -> Response:
    headers = {}
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.http_status == 429 and "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    return error_response(exc.http_status, exc.code, exc.message, hint=exc.hint,
                          details=exc.details or None, headers=headers)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def _cinch_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CinchError)
    return render_cinch_error(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    if any(e["type"] == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON",
                              details={"errors": errors})
    return error_response(422, "validation_error", f"{_where(first['loc'])}: {first['msg']}",
                          details={"errors": errors})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 304:  # a schema read's ETag matched (cinch.server.etag): no body
        return Response(status_code=304, headers=dict(exc.headers or {}))
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail),
                          headers=dict(exc.headers or {}))


def internal_error(method: str, path: str, exc: BaseException | None = None) -> Response:
    """The 500 for an unexpected error: the traceback goes to the log, never to the client."""
    log.exception("unexpected error on %s %s", method, path, exc_info=exc or True)
    return error_response(500, "internal", "internal server error (the details are in the server "
                          "log)")


async def _unexpected(request: Request, exc: Exception) -> Response:
    return internal_error(request.method, request.url.path, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CinchError, _cinch_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


# Documented on every route, so generated clients know the error type.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in ((400, "Bad request"), (401, "No or invalid API key"),
                         (403, "The key's scope does not allow this"), (404, "Not found"),
                         (409, "Conflict"), (413, "Body too large"), (422, "Invalid input"),
                         (429, "Rate limited (see Retry-After)"), (500, "Internal error"))
}
