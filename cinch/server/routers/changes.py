"""How every schema-changing route reports: the engine's ChangeResult, counted in metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Query

from cinch import ChangeResult
from cinch.errors import CinchError
from cinch.server.deps import Target
from cinch.server.models import ChangeResultPublic

DryRun = Annotated[bool, Query(description="Preview: validate and return the SQL; change nothing")]
Cascade = Annotated[bool, Query(description="Also drop or rewrite the views that depend on it")]
Message = Annotated[str | None, Query(max_length=2000, description="Change-set message")]


def run_change(t: Target, call: Callable[[], ChangeResult]) -> ChangeResultPublic:
    try:
        result = call()
    except CinchError:
        t.ctx.metrics.apply_run("schema_change", "refused")
        raise
    t.ctx.metrics.apply_run("schema_change", "dry_run" if result.dry_run else "applied")
    return ChangeResultPublic(**result.to_dict())
