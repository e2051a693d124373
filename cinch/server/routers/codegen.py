"""Generated client code for a database on a branch (what `cinch codegen` writes), for the
console and for CI jobs that fetch it instead of running the CLI."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cinch.server.deps import ReadTarget
from cinch.server.errors import ERROR_RESPONSES

router = APIRouter(prefix="/databases/{db}/codegen", tags=["codegen"],
                   responses=ERROR_RESPONSES)


class GeneratedCode(BaseModel):
    language: Literal["python", "typescript"]
    database: str
    commit: str = Field(description="The branch tip the schema was read at")
    schema_commit: str = Field(description="The last commit that changed the schema; the "
                                           "files' header names it")
    change: str | None = Field(description="The last change set's id; null for no tables")
    files: dict[str, str] = Field(description="File contents by path relative to the output "
                                              "folder")


@router.get("/{lang}", name="generate")
def generate_code(t: ReadTarget, lang: Literal["python", "typescript"],
                  int_mode: Annotated[Literal["number", "bigint", "string"], Query(
                      description="TypeScript: integers as number, bigint or string")] = "number",
                  ) -> GeneratedCode:
    """Typed models and a query builder for the schema at the branch tip (from its change
    sets); the same files `cinch codegen LANG` writes."""
    return GeneratedCode(**t.db.codegen(lang, int_mode=int_mode).to_dict())
