"""One column definition of an adopted table, clause by clause, so an alteration edits only
the clauses it changes.

SQLite's grammar of a column definition (https://sqlite.org/syntax/column-constraint.html) is
short: a name, a type, then constraints each of which starts with a keyword (optionally after
``CONSTRAINT name``). Altering a column's type, default, nullability, uniqueness or foreign
key replaces or removes that clause and adds a missing one; everything else (CHECK, COLLATE,
GENERATED ALWAYS AS, conflict clauses, AUTOINCREMENT, ON UPDATE, DEFERRABLE, comments between
clauses) is kept as written, so a rebuild never drops a constraint the file's owner relied on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cinch.errors import InvalidOperation
from cinch.models.schema import Column
from cinch.names import quote
from cinch.planner.sqlgen import default_sql, references_sql

_STARTS = {"constraint", "primary", "not", "null", "unique", "check", "default", "collate",
           "references", "generated", "as"}
CLOSERS = {'"': '"', "'": "'", "`": "`", "[": "]"}


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str

    @property
    def word(self) -> str:
        """The token as a keyword (lower case); quoted names and strings never are one."""
        return self.text.lower() if self.text[:1].isalpha() or self.text[:1] == "_" else ""


def tokens(text: str) -> list[Token]:
    """Names, strings, numbers, operators and whole parenthesised groups (comments skipped)."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        start = i
        if ch.isspace():
            i += 1
            continue
        if (after := after_comment(text, i)) != i:
            i = after
            continue
        if ch in CLOSERS:
            i = after_quote(text, i)
        elif ch == "(":
            depth = 0
            while i < n:
                if text[i] in CLOSERS:
                    i = after_quote(text, i)
                    continue
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
                if depth == 0:
                    break
        elif ch.isalnum() or ch in "_$.":
            while i < n and (text[i].isalnum() or text[i] in "_$."):
                i += 1
        else:
            i += 1
        out.append(Token(start, i, text[start:i]))
    return out


def after_comment(text: str, i: int) -> int:
    """Where the comment starting at ``i`` ends (``i`` itself when none starts there)."""
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end == -1 else end + 1
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end == -1 else end + 2
    return i


def after_quote(text: str, i: int) -> int:
    """Where the quoted name or string starting at ``i`` ends."""
    close = CLOSERS[text[i]]
    end = text.find(close, i + 1)
    while end != -1 and close != "]" and text[end + 1:end + 2] == close:
        end = text.find(close, end + 2)  # a doubled quote is part of the text
    return len(text) if end == -1 else end + 1


def unquote(text: str) -> str:
    if text[:1] in ('"', "`"):
        return text[1:-1].replace(text[0] * 2, text[0])
    if text[:1] == "[":
        return text[1:-1]
    return text


@dataclass
class Clause:
    kind: str  # primary | not_null | null | unique | check | default | collate | references
    #            | generated
    start: int  # where it starts in the definition (its CONSTRAINT name included)
    end: int


@dataclass
class Definition:
    """A column definition split into its name, its type and its clauses."""

    text: str
    name: Token
    type_span: tuple[int, int]  # empty (start == end) when the column has no type
    clauses: list[Clause] = field(default_factory=list)

    def find(self, kind: str) -> Clause | None:
        return next((c for c in self.clauses if c.kind == kind), None)


class _Unreadable(ValueError):
    pass


def parse(text: str) -> Definition:
    toks = tokens(text)
    if not toks:
        raise _Unreadable("empty column definition")
    i = 1
    while i < len(toks) and toks[i].word not in _STARTS:
        i += 1
    type_end = toks[i - 1].end if i > 1 else toks[0].end
    out = Definition(text, toks[0], (toks[1].start if i > 1 else toks[0].end, type_end))
    while i < len(toks):
        start = toks[i].start
        if toks[i].word == "constraint":
            i += 2
        if i >= len(toks):
            raise _Unreadable("CONSTRAINT names no constraint")
        kind, i = _clause(toks, i)
        out.clauses.append(Clause(kind, start, toks[i - 1].end))
    return out


def _words(toks: list[Token], i: int, *options: str) -> int:
    """Past the words of whichever option (space-separated words) follows at ``i``."""
    for option in options:
        words = option.split()
        if [t.word for t in toks[i:i + len(words)]] == words:
            return i + len(words)
    return i


def _group(toks: list[Token], i: int) -> int:
    if i >= len(toks) or not toks[i].text.startswith("("):
        raise _Unreadable(f"expected a parenthesised expression at {toks[min(i, len(toks) - 1)].text!r}")
    return i + 1


def _conflict(toks: list[Token], i: int) -> int:
    if _words(toks, i, "on conflict") != i:
        return i + 3
    return i


def _clause(toks: list[Token], i: int) -> tuple[str, int]:
    word = toks[i].word
    if word == "primary":
        i = _words(toks, i, "primary key")
        i = _conflict(toks, _words(toks, i, "asc", "desc"))
        return "primary", _words(toks, i, "autoincrement")
    if word == "not":
        return "not_null", _conflict(toks, _words(toks, i, "not null"))
    if word in ("null", "unique"):
        return word, _conflict(toks, i + 1)
    if word == "check":
        return "check", _group(toks, i + 1)
    if word == "default":
        i += 1
        if i < len(toks) and toks[i].text in ("+", "-"):
            i += 1
        if i >= len(toks):
            raise _Unreadable("DEFAULT without a value")
        return "default", i + 1
    if word == "collate":
        return "collate", i + 2
    if word == "references":
        i += 2
        if i < len(toks) and toks[i].text.startswith("("):
            i += 1
        while True:
            j = _words(toks, i, "on delete set null", "on delete set default", "on delete cascade",
                       "on delete restrict", "on delete no action", "on update set null",
                       "on update set default", "on update cascade", "on update restrict",
                       "on update no action", "not deferrable initially deferred",
                       "not deferrable initially immediate", "not deferrable",
                       "deferrable initially deferred", "deferrable initially immediate",
                       "deferrable")
            if j == i and toks[i:i + 1] and toks[i].word == "match":
                j = i + 2
            if j == i:
                return "references", i
            i = j
    if word in ("generated", "as"):
        i = _group(toks, _words(toks, i, "generated always as", "as"))
        return "generated", _words(toks, i, "stored", "virtual")
    raise _Unreadable(f"unexpected {toks[i].text!r}")


def edit(text: str, before: Column, after: Column) -> str:
    """``text`` (``before`` as the file declares it) changed to ``after``: changed clauses
    replaced, removed or added, every other clause kept as written."""
    try:
        parsed = parse(text)
    except _Unreadable as exc:
        raise InvalidOperation(
            f"cannot alter column {before.name}: its definition {text.strip()!r} could not be "
            f"read ({exc}), and rewriting it would drop what it declares",
            column=before.name, definition=text.strip()) from None
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), non-overlapping
    added: list[str] = []

    def put(kind: str, wanted: bool, sql: str | None, changed: bool) -> None:
        clause = parsed.find(kind)
        if not changed:
            return
        if clause is not None:
            edits.append((clause.start, clause.end, sql if wanted and sql else ""))
        elif wanted and sql:
            added.append(sql)

    if after.name != before.name:
        edits.append((parsed.name.start, parsed.name.end, quote(after.name)))
    if after.type != before.type:
        start, end = parsed.type_span
        edits.append((start, end, (" " if start == end else "") + after.type))
    put("primary", after.primary_key, "PRIMARY KEY", after.primary_key != before.primary_key)
    put("not_null", after.not_null, "NOT NULL", after.not_null != before.not_null)
    if after.not_null and not before.not_null and parsed.find("null") is not None:
        put("null", False, None, True)  # an explicit NULL clause would contradict NOT NULL
    put("unique", after.unique, "UNIQUE", after.unique != before.unique)
    put("default", after.has_default, default_sql(after),
        (after.default, after.default_expr) != (before.default, before.default_expr))
    put("references", after.references is not None, references_sql(after),
        after.references != before.references)
    if after.name != before.name:
        for clause in parsed.clauses:
            if clause.kind in ("check", "generated"):
                edits.append((clause.start, clause.end, _renamed(
                    text[clause.start:clause.end], before.name, after.name)))
    out = text
    for start, end, sql in sorted(edits, reverse=True):
        if not sql:  # a clause removed: the space after it goes too
            while end < len(out) and out[end].isspace():
                end += 1
        out = out[:start] + sql + out[end:]
    return " ".join([out.strip(), *added])


def _renamed(text: str, old: str, new: str) -> str:
    """An expression with every name token ``old`` (any case, quoted or not) made ``new``;
    parenthesised groups are searched too."""
    out = text
    for tok in sorted(tokens(text), key=lambda t: t.start, reverse=True):
        if tok.text.startswith("("):
            replacement = "(" + _renamed(tok.text[1:-1], old, new) + ")"
        elif tok.text[:1] != "'" and unquote(tok.text).lower() == old.lower():
            replacement = quote(new)
        else:
            continue
        out = out[:tok.start] + replacement + out[tok.end:]
    return out
