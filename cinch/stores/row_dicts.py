"""Rows as dicts (column -> value), built by a function made for their columns.

``dict(zip(names, row))`` makes a zip object and walks two iterators for every row, and hashes
the names anew when SQLite handed back new strings. A function whose body is the dict literal
``{"id": r[0], "name": r[1], ...}`` builds the same dict in half the time: its keys are
constants, hashed once, and the literal is one bytecode. The function is compiled from a syntax
tree whose keys are constant nodes, so a column's name is never read as code, whatever it says.

Built functions are kept per tuple of names: a point query compiles once (some 55 µs) and then
only looks its function up. Once the cache is full, names not in it get the zip builder and no
compile: a workload of ever new column names pays what it paid before, never a compile a query.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

RowBuilder = Callable[[Sequence[Any]], dict[str, Any]]

# Past this many columns a literal gains little on zip and its code grows with every column.
_MAX_LITERAL = 64
_MAX_KEPT = 512
_BUILDERS: dict[tuple[str, ...], RowBuilder] = {}
_name = itemgetter(0)  # a column's name in a cursor's description


def row_builder(names: tuple[str, ...]) -> RowBuilder:
    """A function turning a row of these columns into a dict, as ``dict(zip(names, row))``
    does: the same keys in the same order, a repeated name keeping its last value."""
    found = _BUILDERS.get(names)
    if found is None:
        if len(_BUILDERS) >= _MAX_KEPT:
            return _zipped(names)
        found = _literal(names) if len(names) <= _MAX_LITERAL else _zipped(names)
        _BUILDERS[names] = found
    return found


def described_row_builder(description: Sequence[Sequence[Any]]) -> RowBuilder:
    """:func:`row_builder` for the columns of a cursor's ``description``."""
    return row_builder(tuple(map(_name, description)))


def _zipped(names: tuple[str, ...]) -> RowBuilder:
    def build(row: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(names, row))  # noqa: B905 -- a row is as long as its description

    return build


def _literal(names: tuple[str, ...]) -> RowBuilder:
    row = ast.Name("r", ast.Load())
    body = ast.Dict(
        keys=[ast.Constant(name) for name in names],
        values=[ast.Subscript(row, ast.Constant(i), ast.Load()) for i in range(len(names))],
    )
    args = ast.arguments(posonlyargs=[], args=[ast.arg("r")], kwonlyargs=[], kw_defaults=[], defaults=[])
    tree = ast.fix_missing_locations(ast.Expression(ast.Lambda(args, body)))
    # Only constants and the row's subscripts are in the tree: nothing of a name is evaluated.
    built: RowBuilder = eval(compile(tree, "<cinch row>", "eval"), {"__builtins__": {}})
    return built
