"""``cinch.toml``: the committed project settings."""

from __future__ import annotations

import re
import tomllib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cinch.errors import ConfigError, InvalidName
from cinch.names import check_branch_name, check_name

CONFIG_FILE = "cinch.toml"


def _plain(check: Any, *args: str) -> str:
    """A naming check as a pydantic validator: a ValueError, so the error names its field."""
    try:
        return check(*args)
    except InvalidName as exc:
        raise ValueError(exc.message) from None


# What git refuses in a signature (or silently mangles); one bad value would break every commit.
_BAD_IDENT = re.compile(r"[<>\x00-\x1f\x7f]")
# Glob characters, swapped out so a pattern's literal parts meet git's branch-name rules.
_GLOB = re.compile(r"[*?\[\]]")


class AuthorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", description=(
        "Author of the commits cinch makes; empty: CINCH_AUTHOR_NAME (or GIT_AUTHOR_NAME), "
        "else git's user.name, else the login name"))
    email: str = Field(default="", description=(
        "The author's email, used with author.name (ignored while that is empty)"))

    @field_validator("name", "email")
    @classmethod
    def _ident(cls, value: str) -> str:
        value = value.strip()
        if _BAD_IDENT.search(value):
            raise ValueError(f"{value!r} holds '<', '>' or a control character, which git "
                             "refuses in an author")
        return value


class BranchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protected: list[str] = Field(default=[], description=(
        "Branches that take schema changes only by merge; merging into them needs an admin key"))

    @field_validator("protected")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return [_plain(check_branch_name, v) for v in value]


class MergeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approvals: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default={}, description="Approvals a merge request needs per target branch (glob patterns "
        "allowed): `merge.approvals.main = 1`")

    @field_validator("approvals")
    @classmethod
    def _patterns(cls, value: dict[str, int]) -> dict[str, int]:
        for pattern in value:
            try:
                check_branch_name(_GLOB.sub("x", pattern))
            except InvalidName:
                raise ValueError(f"{pattern!r} is not a branch name or a glob of branch "
                                 "names") from None
        return value


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snapshot_retention_days: int = Field(default=30, ge=0, description=(
        "Days a snapshot of dropped data is kept, so reverting a drop can bring rows back"))


class CodegenConfig(BaseModel):
    """Column types for generated code, per language: ``"table.column" = "type"`` (or
    ``"database.table.column"``), for JSON columns above all (``"users.prefs" = "dict[str, int]"``)."""

    model_config = ConfigDict(extra="forbid")
    python: dict[str, str] = Field(default={}, description=(
        "Python types for columns of generated code: `\"table.column\" = \"type\"`"))
    typescript: dict[str, str] = Field(default={}, description=(
        "TypeScript types for columns of generated code: `\"table.column\" = \"type\"`"))

    @field_validator("python", "typescript")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key, type_ in value.items():
            parts = key.split(".")
            if len(parts) not in (2, 3):
                raise ValueError(f"{key!r} is not table.column or database.table.column")
            for part in parts:
                _plain(check_name, part, "object")
            if not type_.strip():
                raise ValueError(f"{key!r} has an empty type")
        return value

    def overrides(self, database: str, language: str) -> dict[str, str]:
        """The overrides of one database and language, keyed ``table.column``."""
        out = {}
        for key, type_ in getattr(self, language).items():
            parts = key.split(".")
            if len(parts) == 3:
                if parts[0].lower() != database.lower():
                    continue
                parts = parts[1:]
            out[".".join(parts)] = type_
        return out


class LimitsConfig(BaseModel):
    """What one request may cost the HTTP server (``cinch serve`` reads them when it starts)."""

    model_config = ConfigDict(extra="forbid")
    query_timeout_ms: int = Field(default=5000, ge=0, description=(
        "Milliseconds a query, batch or live query may run before SQLite stops it; 0: no limit"))
    max_query_rows: int = Field(default=10_000, ge=1, description=(
        "Rows one query page (and one live query result) may hold"))
    max_batch_statements: int = Field(default=100, ge=1, description=(
        "Statements one batch may hold"))


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: int = Field(default=1, description="cinch.toml's format version; cinch sets it")
    name: str = Field(description="The project's name, given by `cinch init`")
    databases: list[str] = Field(default=["main"], description=(
        "The project's databases; add one with `cinch db create NAME`"))
    author: AuthorConfig = AuthorConfig()
    branches: BranchConfig = BranchConfig()
    merge: MergeConfig = MergeConfig()
    tenants: TenantConfig = TenantConfig()
    codegen: CodegenConfig = CodegenConfig()
    limits: LimitsConfig = LimitsConfig()

    @field_validator("databases")
    @classmethod
    def _dbs(cls, value: list[str]) -> list[str]:
        for db in value:
            _plain(check_name, db, "database")
        if len({v.lower() for v in value}) != len(value):
            raise ValueError("database names must be unique")
        return value

    def to_toml(self) -> bytes:
        data: dict[str, Any] = self.model_dump(exclude_defaults=False)
        if self.codegen == CodegenConfig():
            del data["codegen"]  # an optional section: not written until used
        header = "# cinch project settings (committed). See docs/config.md.\n"
        import tomli_w  # only here: most commands read cinch.toml and never write it

        return (header + tomli_w.dumps(data)).encode()


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The first problem of a validation error: (dotted field, message)."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return field, str(first["msg"]).removeprefix("Value error, ")


def parse_config(raw: bytes, where: str = CONFIG_FILE) -> Config:
    try:
        data = tomllib.loads(raw.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})", path=where) from exc
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise ConfigError(f"{where}: {field}: {message}", path=where, field=field) from exc


def flatten(config: Config) -> dict[str, Any]:
    """Every setting as ``section.field`` (``merge.approvals.<pattern>``, one per pattern)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, data: dict[str, Any]) -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            else:
                out[prefix + key] = value

    walk("", config.model_dump())
    return out
