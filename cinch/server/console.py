"""The web console: the static export of ``frontend/`` served at ``/`` beside the API.

``make install`` builds the console and copies it into ``cinch/server/console/`` (package data,
git-ignored), so ``pip install .`` ships it. Without it (no node on the machine that installed
cinch), ``/`` says the console is not built and the API works as ever.

API routes are matched before the console, so a console page can never hide one; the pages are
named apart from the API's paths (a test checks). Each page gets a Content-Security-Policy that
allows exactly its own inline scripts (Next.js writes its page data inline) by their hashes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CONSOLE_DIR = Path(__file__).parent / "console"
NOT_BUILT = ("The web console is not built: it needs node and npm when cinch is installed "
             "(`make install` builds it). The HTTP API is served as usual; see /docs.\n")

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
_IMMUTABLE = b"public, max-age=31536000, immutable"


def console_built(directory: Path = CONSOLE_DIR) -> bool:
    return (directory / "index.html").is_file()


def page_csp(html: bytes) -> bytes:
    """A policy for one exported page: its inline scripts by hash, everything else same-origin."""
    hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
                     for body in _INLINE_SCRIPT.findall(html)})
    return ("default-src 'self'; script-src 'self' " + " ".join(hashes) + "; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
            "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; "
            "form-action 'self'").encode()


class ConsoleFiles(StaticFiles):
    """StaticFiles for the export: ``/schema`` -> ``/schema/`` -> ``schema/index.html``, with the
    page's own CSP; hashed build assets cached for good; no 404 page, so an unknown path gets
    the API's JSON 404."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True)
        self._csp: dict[str, bytes] = {}

    def _policy(self, path: str) -> bytes:
        policy = self._csp.get(path)
        if policy is None:
            policy = self._csp[path] = page_csp(Path(path).read_bytes())
        return policy

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path == "404.html":  # a page for people, not an answer to a mistyped API path
            return "", None
        return super().lookup_path(path)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        full = getattr(response, "path", None)
        if isinstance(full, str) and full.endswith(".html"):
            response.headers["content-security-policy"] = self._policy(full).decode()
        elif path.startswith("_next/static/"):
            response.headers["cache-control"] = _IMMUTABLE.decode()
        return response


async def not_built() -> Response:
    return PlainTextResponse(NOT_BUILT, status_code=404)
