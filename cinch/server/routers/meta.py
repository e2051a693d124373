"""Health, metrics and the project itself."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

import cinch
from cinch.server.deps import Ctx, Engine, ReadKey
from cinch.server.errors import ERROR_RESPONSES
from cinch.server.routers.keys import KeyPublic

health_router = APIRouter(tags=["meta"])
router = APIRouter(tags=["meta"], responses=ERROR_RESPONSES)
project_router = APIRouter(tags=["project"], responses=ERROR_RESPONSES)


class Health(BaseModel):
    status: str
    version: str


class ProjectPublic(BaseModel):
    name: str
    current_branch: str
    head: str
    databases: list[str]
    protected_branches: list[str]
    approvals: dict[str, int]
    version: str
    key: KeyPublic = Field(description="The calling key: what a client may offer its user")


@health_router.get("/health", name="health")
async def health() -> Health:
    """Liveness; needs no key."""
    return Health(status="ok", version=cinch.__version__)


@router.get("/metrics", name="metrics", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(ctx: Ctx, key: ReadKey) -> PlainTextResponse:
    """Request counts and latencies, apply runs, live subscriptions (Prometheus text)."""
    return PlainTextResponse(ctx.metrics.render(),
                             media_type="text/plain; version=0.0.4; charset=utf-8")


@project_router.get("/project", name="get")
def get_project(ctx: Engine, key: ReadKey) -> ProjectPublic:
    """The project's name, current branch, the databases the key may see, merge rules and
    the calling key."""
    project = ctx.project
    branch = project.current_branch
    config = project.config(branch)
    return ProjectPublic(name=config.name, current_branch=branch,
                         head=project.tip(branch) or "",
                         databases=[d for d in config.databases if key.covers_database(d)],
                         protected_branches=config.branches.protected,
                         approvals=config.merge.approvals, version=cinch.__version__,
                         key=KeyPublic(**key.to_dict()))
