"""The change-set file: one immutable JSON document per schema change.

``schema/<db>/changes/<id>-<slug>.json``. ``format`` versions the document; the JSON Schema
published in ``cinch/schemas/changeset.schema.json`` is generated from these models.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from cinch.errors import CorruptChangeFile
from cinch.models.ids import is_ulid
from cinch.models.operations import Operation
from cinch.models.schema import Model, Name

FORMAT = 1
_SLUG = re.compile(r"[^a-z0-9]+")


class Author(Model):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(default="", max_length=320)


class ChangeSet(Model):
    format: Literal[1] = FORMAT
    id: str = Field(description="A ULID: unique without coordination, sorts by time")
    database: Name
    message: str = Field(min_length=1, max_length=10_000)
    author: Author
    created_at: datetime
    operations: list[Operation] = Field(min_length=1)
    sql: list[str] = Field(description="The statements the operations render to, for review")
    reverts: str | None = Field(
        default=None, description="The change set this one undoes: applying it to a tenant "
        "also puts back the rows kept when that change dropped them")

    @field_validator("id")
    @classmethod
    def _id_is_ulid(cls, value: str) -> str:
        if not is_ulid(value):
            raise ValueError("id must be a 26-character ULID")
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def filename(self) -> str:
        slug = _SLUG.sub("-", self.message.lower().split("\n")[0]).strip("-")[:40].strip("-")
        return f"{self.id}-{slug or 'change'}.json"

    def to_json(self) -> bytes:
        """Deterministic, diff-friendly JSON (sorted keys would scatter the SQL; keep model order)."""
        data = self.model_dump(mode="json", exclude_defaults=False)
        data["created_at"] = self.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if data.get("reverts") is None:
            data.pop("reverts", None)  # files of other changes read as before
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def change_id_of(filename: str) -> str | None:
    """The id a change file's name claims, or None if the name is not a change file's."""
    stem = filename.removesuffix(".json")
    if stem == filename or len(stem) < 26 or not is_ulid(stem[:26]):
        return None
    return stem[:26]


def parse_change(raw: bytes, path: str) -> ChangeSet:
    """Load a change file, naming the file and the field at fault when it is not valid."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptChangeFile(f"{path}: not valid JSON ({exc})", path=path) from exc
    try:
        change = ChangeSet.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise CorruptChangeFile(
            f"{path}: field {where}: {reason}",
            path=path, field=where, errors=len(exc.errors()),
        ) from exc
    claimed = change_id_of(path.rsplit("/", 1)[-1])
    if claimed is not None and claimed != change.id:
        raise CorruptChangeFile(
            f"{path}: field id: the file name says {claimed} but the file holds {change.id}",
            path=path, field="id",
        )
    return change


def json_schema() -> dict:
    schema = ChangeSet.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://cinch.dev/schemas/changeset.schema.json"
    return schema
