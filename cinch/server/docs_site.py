"""The documentation site: the static export of ``docs/`` served at ``/docs-site/``.

``make build-all`` (and ``make docs-package``) copies the built site into
``cinch/server/docs_site/`` (package data, git-ignored), like the console, so a wheel built then
ships the documentation of its own version. Without it, ``/docs-site/`` is not mounted and
answers the API's JSON 404.

Pages get the console's policy (their own inline scripts by hash, everything else same-origin)
plus ``'wasm-unsafe-eval'``: the search index (pagefind) runs as WebAssembly, in the page or in
its web worker. A worker is governed by its own script's policy, so the worker script gets one
that lets it fetch the index and run it (the API's ``default-src 'none'`` would stop it).
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.types import Scope

from cinch.server.console import ConsoleFiles, page_csp

DOCS_SITE_DIR = Path(__file__).parent / "docs_site"
MOUNT = "/docs-site"
WORKER_CSP = "default-src 'none'; connect-src 'self'; script-src 'self' 'wasm-unsafe-eval'"


def docs_site_built(directory: Path = DOCS_SITE_DIR) -> bool:
    return (directory / "index.html").is_file()


class DocsSiteFiles(ConsoleFiles):
    """The console's static files, with the search index's WebAssembly allowed."""

    def _policy(self, path: str) -> bytes:
        policy = self._csp.get(path)
        if policy is None:
            policy = self._csp[path] = page_csp(Path(path).read_bytes()).replace(
                b"script-src 'self'", b"script-src 'self' 'wasm-unsafe-eval'", 1)
        return policy

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if path.startswith("_pagefind/") and path.endswith("-worker.js"):
            response.headers["content-security-policy"] = WORKER_CSP
        return response
