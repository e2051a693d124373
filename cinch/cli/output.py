"""Rendering for the CLI: rich tables for people, json/yaml/csv for scripts.

rich is imported on first use (``console``, ``err_console``, a table): a command printing json,
or nothing, should not pay for it at start. Where rich would print no colour (its output not a
terminal, nothing forcing one), a line of simple markup or a table of plain cells is written
here, as rich writes it (:func:`say`, :func:`emit`); anything else goes to rich.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
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


# --- without rich, where its output would be plain text --------------------------------------

# The markup cinch's own messages use; a line with any other ``[`` or ``]`` goes to rich.
_TAGS = re.compile(r"\[/?(?:bold|dim|green|red|yellow)\]")
# Text rich prints as it is: printable ASCII, no markup or escapes, no emoji code (``:x:``).
_AS_IS = re.compile(r"[ -Z^-~]*")
_EMOJI = re.compile(r":\S*?:")


@cache
def _plain_stdout() -> bool:
    """Whether rich would write to standard output without colour or other terminal codes
    (see rich.console.Console.is_terminal): not a terminal, and no variable forcing one."""
    if sys.platform == "win32" or os.environ.get("TTY_COMPATIBLE") == "1" \
            or os.environ.get("FORCE_COLOR") is not None:
        return False
    try:
        return not sys.stdout.isatty()
    except ValueError:
        return False


def _as_is(text: str) -> bool:
    return _AS_IS.fullmatch(text) is not None and _EMOJI.search(text) is None


def plain_line(markup: str) -> str | None:
    """``markup`` as rich prints it where it prints no colour; None if only rich can say."""
    if not _plain_stdout():
        return None
    text = _TAGS.sub("", markup)
    return text if _as_is(text) and "[" not in text and "]" not in text else None


def say(markup: str) -> None:
    """Print one line of markup to standard output (rich's ``console.print``)."""
    text = plain_line(markup)
    if text is None:
        _console().print(markup)
    else:
        sys.stdout.write(text + "\n")


def _width() -> int:
    """The width rich gives its console (rich.console.Console.size), not being a terminal."""
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns) or 80
    width = 0
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
        except (AttributeError, ValueError, OSError):
            continue
        break
    return width or 80


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str | None:
    """A table as rich draws a default ``Table`` of these cells where it prints no colour and
    the table fits the width; None if only rich can say (markup, other characters, wrapping)."""
    if not _plain_stdout() or not rows:
        return None
    cells = [list(columns), *(list(row) for row in rows)]
    if any(not _as_is(c) or c != c.strip() or "  " in c for row in cells for c in row):
        return None
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    if sum(widths) + 3 * len(widths) + 1 > _width():
        return None

    def line(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right + "\n"

    def row(edge: str, values: list[str]) -> str:
        return edge + edge.join(f" {v.ljust(w)} " for v, w in zip(values, widths,
                                                                 strict=True)) + edge + "\n"

    return (line("┏", "━", "┳", "┓") + row("┃", cells[0]) + line("┡", "━", "╇", "┩")
            + "".join(row("│", r) for r in cells[1:]) + line("└", "─", "┴", "┘"))


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
    if isinstance(data, dict) and columns is None:
        from rich.table import Table

        table = Table(show_header=False, box=None, title=title)
        table.add_column(style="bold")
        table.add_column()
        for key, value in data.items():
            table.add_row(str(key), _cell(value))
        _console().print(table)
        return
    if title is None:
        drawn = plain_table([str(c) for c in cols],
                            [[_cell(row.get(c)) for c in cols] for row in rows])
        if drawn is not None:
            sys.stdout.write(drawn)
            return
    from rich.table import Table

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
