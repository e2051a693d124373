"""The FastAPI application over one project: ``create_app(project_path, settings)``."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

import cinch
from cinch.server import apidocs, console, docs_site, errors, fastpath
from cinch.server.deps import ServerContext
from cinch.server.fastpath import FastQuery
from cinch.server.keys import KeyRing
from cinch.server.live import LiveHub, serve_socket
from cinch.server.metrics import Metrics
from cinch.server.middleware import CinchMiddleware
from cinch.server.routers import (
    branches,
    codegen,
    databases,
    history,
    indexes,
    keys,
    merge_requests,
    meta,
    queries,
    tables,
    tenants,
    views,
)
from cinch.server.settings import ServerSettings
from cinch.server.state import StateStore, state_path

DESCRIPTION = """The HTTP API of a cinch project: schema branches, change sets, tenants, queries,
merge requests. Every route but `/health` and this document needs an API key
(`Authorization: Bearer <key>`, from `cinch keys create`). Errors always have the shape
`{"error": {"code", "message", "hint"?, "details"?}}`; lists are pages
(`{"items", "next_cursor"}`; pass `cursor` for the next page)."""


def operation_id(route: APIRoute) -> str:
    """``tag-name`` (``branches-list``): what generated TypeScript clients are named after."""
    return f"{route.tags[0]}-{route.name}"


# Queries first: routes are matched in order, and the query route is the hot path.
ROUTERS = (queries.router, meta.health_router, meta.router, meta.project_router,
           databases.router, branches.router, history.router, tables.router,
           tables.columns_router, indexes.router, views.router, tenants.router,
           merge_requests.router, keys.router, codegen.router)


SETTINGS_ENV = "CINCH_SERVER_SETTINGS"


class CinchAPI(FastAPI):
    """The app: ``POST .../tenants/{t}/query`` goes to the fast path (cinch.server.fastpath)
    before FastAPI's own stack; everything else, and any query request the fast path does not
    take, is FastAPI's."""

    fast_query: FastQuery | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] == "POST"
                and self.fast_query is not None):
            match = fastpath.PATH.fullmatch(scope["path"])
            if match is not None:
                await self.fast_query(scope, receive, send, match)
                return
        await super().__call__(scope, receive, send)


def app_from_environment() -> FastAPI:
    """The app factory uvicorn's worker processes call (``cinch serve --workers N``): the
    project comes from ``CINCH_PROJECT``, the settings from ``CINCH_SERVER_SETTINGS`` (JSON)."""
    raw = os.environ.get(SETTINGS_ENV)
    settings = ServerSettings(**json.loads(raw)) if raw else ServerSettings()
    return create_app(os.environ.get("CINCH_PROJECT"), settings)


def create_app(project_path: str | os.PathLike[str] | None = None,
               settings: ServerSettings | None = None,
               console_dir: Path = console.CONSOLE_DIR,
               docs_dir: Path = docs_site.DOCS_SITE_DIR) -> FastAPI:
    settings = settings or ServerSettings()
    project = cinch.open(Path(project_path) if project_path is not None else None)
    state = StateStore(state_path(project.state_dir))
    metrics = Metrics()
    limits = settings.resolved_limits(project.config(project.current_branch).limits)
    ctx = ServerContext(project=project, settings=settings, state=state, keys=KeyRing(state),
                        metrics=metrics, limits=limits, live=LiveHub(settings.live_poll_seconds))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await ctx.live.close()
        state.close()
        project.close()

    app = CinchAPI(title="cinch", version=cinch.__version__, description=DESCRIPTION,
                   generate_unique_id_function=operation_id, lifespan=lifespan,
                   separate_input_output_schemas=False, docs_url=None, redoc_url=None)
    app.state.cinch = ctx
    errors.install(app)
    apidocs.install(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.websocket("/databases/{db}/tenants/{tenant}/live", name="live")
    async def live(websocket: WebSocket, db: str, tenant: str) -> None:
        await serve_socket(websocket, websocket.app.state.cinch, db, tenant,
                           websocket.query_params.get("branch"))

    # Last: every API route is matched before the documentation and the console's pages.
    if docs_site.docs_site_built(docs_dir):
        app.mount(docs_site.MOUNT, docs_site.DocsSiteFiles(docs_dir), name="docs-site")
    if console.console_built(console_dir):
        app.mount("/", console.ConsoleFiles(console_dir), name="console")
    else:
        app.add_api_route("/", console.not_built, include_in_schema=False, tags=["console"])

    query_route = next(r for r in queries.router.routes if getattr(r, "name", "") == "run")
    app.fast_query = FastQuery(ctx, query_route.path,
                               lambda scope, receive, send: FastAPI.__call__(app, scope, receive, send))
    app.add_middleware(CinchMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        # Outermost, so a preflight (which carries no key) is answered before anything else.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"],
                           expose_headers=["Retry-After"], max_age=600)
    return app
