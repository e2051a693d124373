"""Python output: a package of pydantic v2 models and typed query builders.

``__init__.py`` holds, per table, ``<Name>Row``, ``<Name>Insert`` (columns the database fills
in are optional), ``<Name>Update`` (every field optional), a ``<Name>Columns`` holder and the
table object (``users.select()...``); per view, a frozen row model and a select-only object.
``_runtime.py`` is the builder itself, the same for every schema.
"""

from __future__ import annotations

import ast
import keyword
from dataclasses import dataclass

from cinch.codegen.model import ColumnInfo, Kind, Relation, pascal, unique
from cinch.codegen.render import render
from cinch.errors import ConfigError

# What a column holds, as written and compared in Python (None is added for nullable ones).
_TYPES: dict[Kind, str] = {
    "integer": "_rt.Int64", "real": "float", "numeric": "int | float", "text": "str",
    "boolean": "bool", "datetime": "_dt.datetime", "date": "_dt.date",
    "json": "_pd.JsonValue", "blob": "bytes", "any": "int | float | str | bytes",
}
_COMPARE: dict[Kind, str] = {**_TYPES, "integer": "int"}
# Names a field may not take: pydantic's own attributes, and the names the models' annotations
# use (a field named ``str`` would hide the type in the class body).
_RESERVED = {"copy", "dict", "json", "parse_obj", "parse_raw", "parse_file", "from_orm",
             "construct", "schema", "schema_json", "validate", "update_forward_refs", "fields",
             "str", "int", "float", "bool", "bytes", "typing", "c"}
# Module-level names of the generated package a table's object may not take.
_MODULE_NAMES = {"typing", "annotations"}


@dataclass(frozen=True)
class Field:
    name: str
    field: str
    kind: Kind
    writable: bool
    row_type: str
    row_default: str
    insert_type: str
    insert_default: str
    update_type: str
    update_default: str
    compare_type: str


@dataclass(frozen=True)
class PyRelation:
    name: str
    is_view: bool
    strict: bool
    var: str
    row: str
    insert: str
    update: str
    columns: str
    fields: list[Field]


def field_name(name: str, taken: set[str]) -> str:
    """A name safe as a pydantic field: an identifier, not a keyword, no leading underscore
    (pydantic keeps those private), not one of BaseModel's attributes."""
    ident = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in name)
    ident = ident.lstrip("_")
    if not ident or ident[0].isdigit():
        ident = "f_" + ident
    if keyword.iskeyword(ident) or ident in _RESERVED or ident.startswith("model_"):
        ident += "_"
    return unique(ident, taken)


def _override(column: ColumnInfo, relation: str) -> str | None:
    if column.override is None:
        return None
    try:
        ast.parse(column.override, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(
            f"cinch.toml [codegen.python] {relation}.{column.name}: {column.override!r} is not "
            f"a Python type expression ({exc.msg})", relation=relation, column=column.name,
        ) from exc
    return column.override


def _field(column: ColumnInfo, relation: str, taken: set[str]) -> Field:
    py = field_name(column.name, taken)
    override = _override(column, relation)
    base = override or _TYPES[column.kind]
    row = base
    if column.kind == "json":
        row = f"typing.Annotated[{override}, _pd.BeforeValidator(_rt.parse_json)]" if override \
            else "_rt.JsonText"
    compare = override or _COMPARE[column.kind]
    if column.nullable:
        base, row, compare = f"{base} | None", f"{row} | None", f"{compare} | None"
    alias = ""
    if py != column.name:
        alias = (f"validation_alias=_pd.AliasChoices({column.name!r}, {py!r}), "
                 f"serialization_alias={column.name!r}")
    optional = f" = _rt.optional({alias})"
    return Field(
        name=column.name, field=py, kind=column.kind, writable=column.writable,
        row_type=row, row_default=f" = _pd.Field({alias})" if alias else "",
        insert_type=base,
        insert_default=optional if column.insert_optional else
        (f" = _pd.Field({alias})" if alias else ""),
        update_type=base, update_default=optional, compare_type=compare,
    )


def relations_for_python(relations: list[Relation]) -> list[PyRelation]:
    taken = set(_MODULE_NAMES)
    out = []
    for relation in relations:
        var = field_name(relation.name, taken)
        cls = pascal(relation.name)
        row, insert, update, columns = (unique(cls + suffix, taken, suffix="")
                                        for suffix in ("Row", "Insert", "Update", "Columns"))
        fields_taken: set[str] = set()
        fields = [_field(c, relation.name, fields_taken) for c in relation.columns]
        out.append(PyRelation(name=relation.name, is_view=relation.is_view,
                              strict=relation.strict, var=var, row=row, insert=insert,
                              update=update, columns=columns, fields=fields))
    return out


def generate(relations: list[Relation], *, database: str, header: list[str]) -> dict[str, str]:
    """The package's files by relative path."""
    rels = relations_for_python(relations)
    head = "\n".join(f"# {line}" if line else "#" for line in header)
    example = rels[0].var if rels else "users"
    context = {"header": head, "database": database, "relations": rels, "example": example,
               "package_hint": "your_package.db"}
    return {
        "__init__.py": render("python/__init__.py.j2", context),
        "_runtime.py": render("python/_runtime.py.j2", context),
        "py.typed": "",
    }
