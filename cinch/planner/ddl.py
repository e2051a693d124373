"""Edit an adopted table's own CREATE TABLE text, one column definition at a time.

An adopted table is held as SQLite's text of it, so everything cinch does not model (composite
keys, CHECK, COLLATE, generated columns, WITHOUT ROWID, foreign-key actions) survives a rebuild.
A rebuild that adds, drops or alters a column changes only that column's definition; the rest
of the text is kept as written. Splitting needs only SQLite's lexical rules (quotes, comments,
parentheses), not a grammar: the body of a CREATE TABLE is a comma-separated list.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from cinch.models.schema import Column, Table
from cinch.planner import coldef

_CONSTRAINTS = ("constraint", "primary", "unique", "check", "foreign")


def _scan(text: str, start: int) -> list[tuple[int, str]]:
    """(position, character) of every character outside quotes and comments from ``start``."""
    out: list[tuple[int, str]] = []
    i, n = start, len(text)
    while i < n:
        if text[i] in coldef.CLOSERS:
            i = coldef.after_quote(text, i)
        elif (after := coldef.after_comment(text, i)) != i:
            i = after
        else:
            out.append((i, text[i]))
            i += 1
    return out


def split(ddl: str) -> tuple[str, list[str], str]:
    """``CREATE TABLE x (`` , the definitions between the outer parentheses, ``) ...``."""
    chars = _scan(ddl, 0)
    depth, open_at, commas, close_at = 0, -1, [], -1
    for pos, ch in chars:
        if ch == "(":
            depth += 1
            if depth == 1 and open_at < 0:
                open_at = pos
        elif ch == ")":
            depth -= 1
            if depth == 0 and open_at >= 0:
                close_at = pos
                break
        elif ch == "," and depth == 1:
            commas.append(pos)
    if open_at < 0 or close_at < 0:
        raise ValueError("not a CREATE TABLE with a column list")
    bounds = [open_at, *commas, close_at]
    parts = [ddl[a + 1:b] for a, b in itertools.pairwise(bounds)]
    return ddl[:open_at + 1], parts, ddl[close_at:]


def _first_name(part: str) -> str:
    text = _from_first_token(part)
    if text[:1] in "\"`[":
        close = {"[": "]"}.get(text[0], text[0])
        end = 1
        while True:
            end = text.find(close, end)
            if end == -1:
                return text[1:]
            if close != "]" and text[end + 1:end + 2] == close:
                end += 2
                continue
            inner = text[1:end]
            return inner.replace(close * 2, close) if close != "]" else inner
    word = ""
    for ch in text:
        if ch.isspace() or ch in "(,":
            break
        word += ch
    return word


def _from_first_token(part: str) -> str:
    """``part`` from its first token on: a comment before it (after the comma that ends the
    previous definition, say) is not the column's name."""
    i = 0
    while i < len(part):
        if part[i].isspace():
            i += 1
        elif (after := coldef.after_comment(part, i)) != i:
            i = after
        else:
            break
    return part[i:].rstrip()


def column_name(part: str) -> str | None:
    """The column a definition declares, or None for a table constraint."""
    name = _first_name(part)
    return None if name.lower() in _CONSTRAINTS else name


def rewrite(before: Table, after: Table, render: Callable[[Column], str]) -> str:
    """``before.ddl`` with the column definitions of ``after``: kept as written where the
    column is unchanged, edited clause by clause where it is altered (its CHECK, COLLATE and
    every other clause cinch does not model kept: see ``cinch.planner.coldef``), rendered by
    ``render`` where it is new, left out where dropped; new columns go after the last column,
    before the table constraints."""
    assert before.ddl is not None
    head, parts, tail = split(before.ddl)
    by_name = {}
    for i, part in enumerate(parts):
        name = column_name(part)
        if name is not None:
            by_name[name.lower()] = i
    columns: list[str] = []
    unkept: list[tuple[str, str]] = []  # (table constraint kind, column) no longer declared
    for column in after.columns:
        old = before.find_column(column.id)
        if old is not None and old.name.lower() in by_name:
            part = parts[by_name[old.name.lower()]]
            if old == column:
                columns.append(part)
                continue
            columns.append(" " + coldef.edit(part, old, column))
            if old.unique and not column.unique:
                unkept.append(("unique", old.name))
            if old.references is not None and column.references != old.references:
                unkept.append(("foreign", old.name))
        else:
            columns.append(" " + render(column))
    constraints = [p for p in parts if column_name(p) is None
                   and not any(_single_column(p, kind, name) for kind, name in unkept)]
    body = ",".join(columns + constraints)
    return head + body + tail


def _single_column(part: str, kind: str, column: str) -> bool:
    """Whether a table constraint is ``UNIQUE (column)`` or ``FOREIGN KEY (column) ...``: the
    one that made the column unique or a reference, taken away with that property."""
    toks = coldef.tokens(part)
    if toks[:1] and toks[0].word == "constraint":
        toks = toks[2:]
    words = [t.word for t in toks]
    at = {"unique": 1, "foreign": 2}[kind]
    if words[:at] != (["unique"] if kind == "unique" else ["foreign", "key"]) or \
            len(toks) <= at or not toks[at].text.startswith("("):
        return False
    inner = coldef.tokens(toks[at].text[1:-1])
    return len(inner) == 1 and coldef.unquote(inner[0].text).lower() == column.lower()


def constraints_naming(table: Table, column: str) -> list[str]:
    """The CHECK constraints and generated-column expressions of ``table``'s text that name
    ``column`` (other than its own definition's): what dropping the column would break."""
    if table.ddl is None:
        return []
    _, parts, _ = split(table.ddl)
    found = []
    for part in parts:
        own = column_name(part)
        if own is not None and own.lower() == column.lower():
            continue
        if own is None:
            if _names(part, column) and any(t.word == "check" for t in coldef.tokens(part)):
                found.append(" ".join(part.split()))
            continue
        try:
            parsed = coldef.parse(part)
        except ValueError:
            continue
        found += [" ".join(part[c.start:c.end].split()) for c in parsed.clauses
                  if c.kind in ("check", "generated") and _names(part[c.start:c.end], column)]
    return found


def _names(text: str, column: str) -> bool:
    for tok in coldef.tokens(text):
        if tok.text.startswith("("):
            if _names(tok.text[1:-1], column):
                return True
        elif tok.text[:1] != "'" and coldef.unquote(tok.text).lower() == column.lower():
            return True
    return False
