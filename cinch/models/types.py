"""Column types: SQLite's own, and the common names that map to its affinities."""

from __future__ import annotations

import re

from cinch.errors import InvalidType

# STRICT tables accept exactly these (https://sqlite.org/stricttables.html).
STRICT_TYPES = frozenset({"INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"})
_AFFINITY_NAMES = frozenset({
    "INTEGER", "INT", "TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT", "UNSIGNED BIG INT",
    "INT2", "INT8", "REAL", "DOUBLE", "DOUBLE PRECISION", "FLOAT", "NUMERIC", "DECIMAL",
    "BOOLEAN", "DATE", "DATETIME", "TIMESTAMP", "TEXT", "CHARACTER", "VARCHAR",
    "VARYING CHARACTER", "NCHAR", "NATIVE CHARACTER", "NVARCHAR", "CLOB", "BLOB", "JSON", "ANY",
})
_SIZED = frozenset({"VARCHAR", "CHARACTER", "NCHAR", "NVARCHAR", "VARYING CHARACTER",
                    "NATIVE CHARACTER", "DECIMAL", "NUMERIC", "CHAR"})
_TYPE = re.compile(r"([A-Za-z][A-Za-z0-9 ]*?)\s*(?:\(\s*(\d{1,5})\s*(?:,\s*(\d{1,5})\s*)?\))?")


def normalize_type(raw: str, *, strict: bool = False) -> str:
    """Validate a column type and return its canonical spelling (upper case, single spaces)."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidType("column type is empty")
    match = _TYPE.fullmatch(raw.strip())
    if not match:
        raise InvalidType(f"column type {raw!r} is malformed", type=raw)
    base = " ".join(match.group(1).upper().split())
    if base == "CHAR":
        base = "CHARACTER" if match.group(2) is None else "CHAR"
    if base not in _AFFINITY_NAMES and base != "CHAR":
        raise InvalidType(
            f"column type {raw!r} is not a SQLite type; use one of INTEGER, REAL, TEXT, BLOB, "
            "NUMERIC (or a common alias such as VARCHAR(n), BOOLEAN, DATETIME)",
            type=raw,
        )
    if match.group(2) is not None and base not in _SIZED:
        raise InvalidType(f"column type {base} takes no size", type=raw)
    if strict and base not in STRICT_TYPES:
        raise InvalidType(
            f"column type {base} is not allowed in a STRICT table; use INTEGER, INT, REAL, TEXT, "
            "BLOB or ANY",
            type=raw,
        )
    if base == "ANY" and not strict:
        raise InvalidType("column type ANY is only meaningful in a STRICT table", type=raw)
    if match.group(2) is None:
        return base
    size = match.group(2) if match.group(3) is None else f"{match.group(2)},{match.group(3)}"
    return f"{base}({size})"


def affinity(type_: str) -> str:
    """SQLite's column affinity for a declared type (https://sqlite.org/datatype3.html 3.1)."""
    t = type_.upper()
    if "INT" in t:
        return "INTEGER"
    if any(s in t for s in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in t or t == "ANY":
        return "BLOB"
    if any(s in t for s in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"
