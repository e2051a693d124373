"""Column specs as people type them: ``name:TYPE[:flag...]``.

Flags: ``unique``, ``not-null``, ``primary-key``, ``default=VALUE`` (a number, text, ``null``, or
one of CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME, UUID, NOW; UUID4 is UUID's older SQL),
``references=TABLE.COLUMN``, ``on-delete=cascade|set-null|restrict|set-default|no-action``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cinch.errors import UsageError
from cinch.models.schema import DefaultValue
from cinch.names import check_name

EXPRESSIONS = {"CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "UUID", "UUID4", "NOW"}
_ON_DELETE = {"cascade": "CASCADE", "set-null": "SET NULL", "restrict": "RESTRICT",
              "set-default": "SET DEFAULT", "no-action": "NO ACTION"}


@dataclass
class ColumnSpec:
    name: str
    type: str = "TEXT"
    not_null: bool = False
    unique: bool = False
    primary_key: bool = False
    default: DefaultValue = None
    default_expr: str | None = None
    references: str | None = None  # "table.column" or "table" (its id column)
    on_delete: str = "NO ACTION"


def parse_default(text: str) -> tuple[DefaultValue, str | None]:
    """A default as typed: numbers stay numbers, quotes are optional for text."""
    if text.upper() in EXPRESSIONS:
        return None, text.upper()
    if text.lower() == "null":
        return None, None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1], None
    for convert in (int, float):
        try:
            return convert(text), None
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true", None
    return text, None


def parse_column_spec(text: str) -> ColumnSpec:
    parts = text.split(":")
    if not parts[0]:
        raise UsageError(f"column spec {text!r} has no name; write name:TYPE[:flags]")
    spec = ColumnSpec(name=check_name(parts[0], "column"))
    if len(parts) > 1 and parts[1]:
        spec.type = parts[1]
    for flag in parts[2:]:
        key, _, value = flag.partition("=")
        key = key.strip().lower().replace("_", "-")
        if key in ("unique",):
            spec.unique = True
        elif key in ("not-null", "notnull", "required"):
            spec.not_null = True
        elif key in ("primary-key", "pk"):
            spec.primary_key = True
        elif key == "default":
            spec.default, spec.default_expr = parse_default(value)
        elif key in ("references", "ref", "fk"):
            if not value.strip():
                raise UsageError(f"references= in {text!r} names no table; write "
                                 "references=TABLE or references=TABLE.COLUMN")
            spec.references = value
        elif key == "on-delete":
            if value.lower() not in _ON_DELETE:
                raise UsageError(f"on-delete must be one of {', '.join(_ON_DELETE)}, not {value!r}")
            spec.on_delete = _ON_DELETE[value.lower()]
        else:
            raise UsageError(
                f"unknown column flag {flag!r} in {text!r}; use unique, not-null, primary-key, "
                "default=VALUE, references=TABLE.COLUMN, on-delete=ACTION"
            )
    return spec
