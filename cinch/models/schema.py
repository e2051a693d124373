"""The schema of one database at one commit: what replaying its change sets produces.

Objects carry stable ids (``t_...``, ``c_...``) so a rename is told apart from a drop plus an
add, across branches. Names are kept beside ids for readability and re-resolved on rename.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from cinch.errors import InvalidName, InvalidType, NotFound
from cinch.models.types import normalize_type
from cinch.names import MAX_NAME, check_name


def _valid_name(value: str) -> str:
    """``check_name`` as a pydantic validator: a ValueError, so the error names its field."""
    try:
        return check_name(value, "object")
    except InvalidName as exc:
        raise ValueError(exc.message) from None


def _valid_type(value: str, *, strict: bool) -> str:
    try:
        return normalize_type(value, strict=strict)
    except InvalidType as exc:
        raise ValueError(exc.message) from None


# The published JSON Schema states the naming rule too (ECMA-262 pattern: reserved prefixes
# refused case-insensitively), so tools other than cinch can check a change file.
NAME_JSON_SCHEMA = {
    "type": "string", "minLength": 1, "maxLength": MAX_NAME,
    "pattern": "^(?![Ss][Qq][Ll][Ii][Tt][Ee]_|_[Cc][Ii][Nn][Cc][Hh])[A-Za-z_][A-Za-z0-9_]*$",
}
Name = Annotated[str, AfterValidator(_valid_name), WithJsonSchema(NAME_JSON_SCHEMA)]
DefaultValue = int | float | str | bool | None
# UUID and UUID4 give the same values (a random version-4 UUID's text); UUID4 is the longer
# SQL of the tables made before UUID existed, kept as they were written (see sqlgen).
DefaultExpr = Literal["CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "UUID", "UUID4", "NOW"]
OnDelete = Literal["NO ACTION", "CASCADE", "SET NULL", "RESTRICT", "SET DEFAULT"]
AutoKind = Literal["id", "created_at", "updated_at"]


class Model(BaseModel):
    # defer_build: validators are built on first use, not at import (every CLI start pays the
    # import; `cinch log` never validates a model).
    model_config = ConfigDict(extra="forbid", frozen=False, defer_build=True)


def _unset(value: object) -> bool:
    """Fields added for adopted schemas are left out of documents when unused, so change files
    and ``schema.sql`` of projects made before them read and render byte for byte as before."""
    return value is None or value is False or value == []


def Verbatim(description: str) -> Any:
    return Field(default=None, exclude_if=_unset, description=description)


class ForeignKey(Model):
    """``REFERENCES table(column)``, resolved by id so renames on either side are safe."""

    table_id: str
    table: Name
    column_id: str
    column: Name
    on_delete: OnDelete = "NO ACTION"


class Column(Model):
    id: str
    name: Name
    type: str
    not_null: bool = False
    unique: bool = False
    primary_key: bool = False
    default: DefaultValue = None
    default_expr: DefaultExpr | None = None
    references: ForeignKey | None = None
    auto: AutoKind | None = Field(default=None, description="Maintained by cinch, not the caller")
    declared: bool = Field(
        default=False, exclude_if=_unset,
        description="Adopted as the file declares it: the type is kept as written (any SQLite "
        "accepts) and the definition may hold what cinch does not model (CHECK, COLLATE, ...)")

    generated: bool = Field(default=False, exclude_if=_unset,
                            description="Computed by SQLite (GENERATED ALWAYS AS): never copied")

    @model_validator(mode="after")
    def _check(self) -> Column:
        if self.declared:
            return self
        self.type = _valid_type(self.type, strict=self.type.upper() == "ANY")
        if self.default is not None and self.default_expr is not None:
            raise ValueError("a column has either a default value or a default expression")
        return self

    @property
    def has_default(self) -> bool:
        return self.default is not None or self.default_expr is not None


class Table(Model):
    id: str
    name: Name
    columns: list[Column]
    strict: bool = False
    ddl: str | None = Verbatim(
        "An adopted table's CREATE TABLE statement as SQLite holds it (any key, CHECK, COLLATE, "
        "generated columns, WITHOUT ROWID): rendered as is, kept current through every change")

    @model_validator(mode="after")
    def _unique_columns(self) -> Table:
        seen: set[str] = set()
        for column in self.columns:
            key = column.name.lower()
            if key in seen:
                raise ValueError(f"duplicate column {column.name!r}")
            seen.add(key)
            if self.strict and not column.declared:
                _valid_type(column.type, strict=True)
        return self

    def column(self, name_or_id: str) -> Column:
        for column in self.columns:
            if column.id == name_or_id or column.name.lower() == name_or_id.lower():
                return column
        raise NotFound(
            f"table {self.name!r} has no column {name_or_id!r}",
            table=self.name, column=name_or_id,
        )

    def find_column(self, name_or_id: str) -> Column | None:
        try:
            return self.column(name_or_id)
        except NotFound:
            return None


class Index(Model):
    id: str
    name: Name
    table_id: str
    table: Name
    column_ids: list[str] = Field(min_length=1)
    columns: list[Name] = Field(min_length=1)
    unique: bool = False
    ddl: str | None = Verbatim("An adopted index's CREATE INDEX statement as SQLite holds it")


class View(Model):
    id: str
    name: Name
    sql: str = Field(min_length=1, max_length=100_000)
    ddl: str | None = Verbatim("An adopted view's CREATE VIEW statement as SQLite holds it")


SqlObjectKind = Literal["table", "index", "view", "trigger"]


class SqlObject(Model):
    """Something cinch does not model (a trigger, a virtual table, a partial or expression
    index), carried as its verbatim SQL: created after the tables it needs, re-created when a
    rebuild of its table drops it."""

    id: str
    type: SqlObjectKind
    name: str = Field(min_length=1, max_length=1000)
    table: str = Field(min_length=1, max_length=1000, description="The table it belongs to")
    sql: str = Field(min_length=1, max_length=1_000_000)


class Schema(Model):
    """Tables, indexes and views in creation order (which is the order ``schema.sql`` uses)."""

    tables: list[Table] = []
    indexes: list[Index] = []
    views: list[View] = []
    objects: list[SqlObject] = Field(default=[], exclude_if=_unset)

    @property
    def verbatim(self) -> bool:
        """Whether anything in the schema is held as SQLite's own text (an adopted schema)."""
        return bool(self.objects) or any(t.ddl for t in self.tables) or \
            any(i.ddl for i in self.indexes) or any(v.ddl for v in self.views)

    def find_object(self, name_or_id: str) -> SqlObject | None:
        key = name_or_id.lower()
        return next((o for o in self.objects if o.id == name_or_id or o.name.lower() == key),
                    None)

    def table(self, name_or_id: str) -> Table:
        found = self.find_table(name_or_id)
        if found is None:
            raise NotFound(f"no table named {name_or_id!r}", table=name_or_id)
        return found

    def find_table(self, name_or_id: str) -> Table | None:
        key = name_or_id.lower()
        for table in self.tables:
            if table.id == name_or_id or table.name.lower() == key:
                return table
        return None

    def find_index(self, name_or_id: str) -> Index | None:
        key = name_or_id.lower()
        return next((i for i in self.indexes if i.id == name_or_id or i.name.lower() == key), None)

    def find_view(self, name_or_id: str) -> View | None:
        key = name_or_id.lower()
        return next((v for v in self.views if v.id == name_or_id or v.name.lower() == key), None)

    def name_taken(self, name: str) -> str | None:
        """Tables, views and indexes share SQLite's one namespace: which kind holds ``name``."""
        key = name.lower()
        if any(t.name.lower() == key for t in self.tables):
            return "table"
        if any(v.name.lower() == key for v in self.views):
            return "view"
        if any(i.name.lower() == key for i in self.indexes):
            return "index"
        found = next((o for o in self.objects if o.name.lower() == key), None)
        return found.type if found else None

    def indexes_of(self, table_id: str) -> list[Index]:
        return [i for i in self.indexes if i.table_id == table_id]
