"""Models shared by several routers. Request models forbid unknown fields: a typo is a 422,
never a silently ignored option."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """A page of a list; pass ``next_cursor`` as ``cursor`` for the next one.

    Routers subclass it per item type (``class BranchPage(Page[BranchPublic])``) so the
    OpenAPI document names it ``BranchPage``, not ``Page_BranchPublic_``.
    """

    items: list[T]
    next_cursor: str | None = None


class ChangeResultPublic(BaseModel):
    """What a schema change did or, with ``dry_run``, would do (the SQL is the preview)."""

    id: str
    database: str
    message: str
    commit: str | None
    dry_run: bool
    operations: list[str]
    sql: list[str]
    checks: list[str]
    tenants: dict[str, Any]


class ChangeRef(BaseModel):
    id: str
    message: str


class DatabaseDiff(BaseModel):
    database: str
    changes: list[ChangeRef]
    diff: list[dict[str, Any]] = Field(description="Structured: {kind, object, ...} entries")
    sql: list[str] = Field(description="The SQL of the change sets, in order")
    patch: str = Field(description="A unified diff of schema.sql")


class SchemaDiff(BaseModel):
    base: str = Field(description="Commit the diff starts from")
    head: str = Field(description="Commit the diff goes to")
    databases: list[DatabaseDiff]


def schema_diff(data: dict[str, Any]) -> SchemaDiff:
    """``cinch.engine.inspect.diff``'s answer as the public model."""
    return SchemaDiff(base=data["from"], head=data["to"], databases=data["databases"])
