"""Rendering for the CLI: rich tables for people, json/yaml/csv for scripts.

rich is imported on first use (``console``, ``err_console``, a table): a command printing json,
or nothing, should not pay for it at start.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    console: Console  # stdout
    err_console: Console  # stderr
else:  # a module __getattr__ seen by type checkers would hide misspelt names from them

    def __getattr__(name: str) -> Any:
        """``console`` and ``err_console``, made on first use (PEP 562)."""
        if name == "console":
            return _console()
        if name == "err_console":
            return _console(stderr=True)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    csv = "csv"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return value


def _json_value(value: Any) -> Any:
    """What json cannot hold as it is: a blob as hex (as in a table or csv), else its text."""
    return value.hex() if isinstance(value, bytes) else str(value)


def emit(data: Any, fmt: Format, *, columns: Sequence[str] | None = None,
         title: str | None = None) -> None:
    """Print ``data`` (a list of row dicts, or one dict) in the chosen format."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(data, indent=2, default=_json_value, ensure_ascii=False) + "\n")
        return
    if fmt is Format.yaml:
        import yaml  # only here: importing it costs every command's start

        sys.stdout.write(yaml.safe_dump(json.loads(json.dumps(data, default=_json_value)),
                                        sort_keys=False, allow_unicode=True))
        return
    rows = data if isinstance(data, list) else [data]
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(cols)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in cols])
        sys.stdout.write(buf.getvalue())
        return
    from rich.table import Table

    if isinstance(data, dict) and columns is None:
        table = Table(show_header=False, box=None, title=title)
        table.add_column(style="bold")
        table.add_column()
        for key, value in data.items():
            table.add_row(str(key), _cell(value))
        _console().print(table)
        return
    table = Table(title=title, header_style="bold")
    for c in cols:
        table.add_column(str(c))
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in cols))
    _console().print(table)


def _csv_cell(value: Any) -> str | int | float:
    """A flat value a spreadsheet reads as it is: no Python spellings (``None``, ``True``,
    ``['a', 'b']``) in a cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        # a list of records (a commit's changes, a status's databases) by what names each
        return ", ".join(str(v.get("id", v.get("name", json.dumps(v, default=_json_value)))
                             if isinstance(v, dict) else _csv_cell(v)) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=_json_value, ensure_ascii=False)
    return str(_plain(value))


def _cell(value: Any) -> str:
    if value is None:
        return "[dim]NULL[/dim]"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=_json_value)
    return str(_plain(value)).replace("[", r"\[")


def sql(statements: Sequence[str]) -> None:
    """Print SQL statements, one per paragraph, so it can be piped to sqlite3."""
    sys.stdout.write("".join(s + ";\n" for s in statements))
