"""The INSERT behind ``Tenant.insert``, and the stored row it returns without asking SQLite.

``INSERT ... RETURNING *`` gives the stored row but costs a result row, a description and the
defaults' SQL (a UUID out of ``randomblob`` calls, ``strftime``) per insert. The row is known
without it when nothing SQLite does on the way in can change a value: every value the caller
gives is of a Python type the column's affinity stores unchanged, and every column not given
is filled by cinch (a UUID, a timestamp, computed here and bound like the rest) or has a
constant default, or none. A table cinch does not fully model (adopted verbatim, generated
columns) or a value that SQLite might convert takes the ``RETURNING *`` statement instead,
which gives the same row. Triggers do not matter: ``RETURNING`` does not see their changes
either (https://sqlite.org/lang_returning.html, limitation 7).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from cinch.errors import InvalidOperation, NotFound
from cinch.models.types import affinity
from cinch.names import quote

if TYPE_CHECKING:
    from cinch.models.schema import Column, Table

_NONE = type(None)
# (execute, row) -> the stored row, or None when the general way must take it
Inserter = Callable[[Callable[..., Any], Mapping[str, Any]], dict[str, Any] | None]
# The Python types each affinity stores as given (https://sqlite.org/datatype3.html 3.0): a
# BLOB is never converted; TEXT turns numbers into text; INTEGER and NUMERIC turn numeric text
# and whole floats into integers; REAL turns integers into floats (done here, exactly, before
# binding: see InsertPlan.bind). bool (stored as 0/1) and subclasses of these types are left to
# RETURNING.
_EXACT: dict[str, frozenset[type]] = {
    "TEXT": frozenset({str, bytes, _NONE}),
    "INTEGER": frozenset({int, bytes, _NONE}),
    "NUMERIC": frozenset({int, bytes, _NONE}),
    "REAL": frozenset({int, float, bytes, _NONE}),
    "BLOB": frozenset({str, int, float, bytes, _NONE}),
}
_INT64 = range(-(2**63), 2**63)
_EXACT_FLOAT = range(-(2**53), 2**53 + 1)  # integers a double holds exactly
_FILLED = ("UUID", "UUID4", "NOW", "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME")
_UUIDS = ("UUID", "UUID4")  # the same values, two spellings in SQL


@dataclass(frozen=True, slots=True)
class InsertPlan:
    """How to insert a row naming one set of columns into one table (of one schema)."""

    returning: str  # INSERT ... RETURNING *: always right
    # The plain INSERT naming the given columns then the filled ones, or None when the stored
    # row cannot be known without RETURNING for any values.
    plain: str | None
    exact: tuple[frozenset[type], ...]  # per given value: the types stored unchanged
    real: tuple[bool, ...]  # per given value: whether its column has REAL affinity
    any_real: bool
    reals: tuple[str, ...]  # the REAL columns of the table
    fill: tuple[str, ...]  # per filled column: UUID, NOW, CURRENT_TIMESTAMP, ...
    consts: tuple[Any, ...]  # constant defaults of the columns left out
    names: tuple[str, ...]  # every column, in the table's order (the row's keys)
    # The row's values, in the table's order, out of given + filled + constants.
    pick: Callable[[list[Any]], tuple[Any, ...]]
    # The whole plain insert as one function of (execute, row), or None (see _compile).
    insert: Inserter | None = None

    def bind(self, values: list[Any]) -> bool:
        """Whether SQLite stores ``values`` as given (then the plain INSERT serves), after
        making what a REAL column would convert the float it would become: an integer, and
        -0.0 (stored as 0.0)."""
        if self.plain is None:
            return False
        if self.any_real:
            return self._bind_real(values)
        # The common case in C loops: every value's type is one its column keeps as given.
        kinds = list(map(type, values))
        if not all(map(frozenset.__contains__, self.exact, kinds)):
            return False
        # A float (in a BLOB column) is kept unless it is NaN, which is stored as NULL.
        return float not in kinds or all(v == v for v in values)

    def _bind_real(self, values: list[Any]) -> bool:
        real = self.real
        for i, types in enumerate(self.exact):
            value = values[i]
            kind = type(value)
            if kind not in types:
                return False
            if kind is float:
                if value != value:  # NaN is stored as NULL
                    return False
                if real[i] and not value:
                    values[i] = 0.0
            elif kind is int and real[i]:
                if value not in _EXACT_FLOAT:
                    return False
                values[i] = float(value)
        return True

    def returned(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row ``RETURNING *`` gave, as it reads back: SQLite (3.40) reports a whole
        number bound for a REAL column as the integer it was given, where the column holds
        and gives back a float."""
        for name in self.reals:
            value = row.get(name)
            if type(value) is int:
                row[name] = float(value)
        return row

    def params(self, values: list[Any]) -> list[Any]:
        """The given values followed by the filled ones, as the plain INSERT binds them."""
        fill = self.fill
        if not fill:
            return values
        stamp: tuple[str, str, str] | None = None
        for kind in fill:
            if kind in _UUIDS:
                values.append(uuid4())
                continue
            if stamp is None:
                stamp = _clock()
            date, hms, millis = stamp
            if kind == "NOW":
                values.append(f"{date}T{hms}.{millis}Z")
            elif kind == "CURRENT_TIMESTAMP":
                values.append(f"{date} {hms}")
            elif kind == "CURRENT_DATE":
                values.append(date)
            else:
                values.append(hms)
        return values

    def row(self, params: list[Any]) -> dict[str, Any]:
        """The stored row, from what the plain INSERT bound."""
        return dict(zip(self.names, self.pick(params + list(self.consts) if self.consts
                                              else params), strict=True))


def plan_insert(table: Table, keys: tuple[str, ...]) -> InsertPlan:
    """The plan for ``keys`` (checked against the table: unknown columns and the timestamps
    cinch keeps are refused), cached for as long as ``table`` is the schema's object."""
    cached = _PLANS.get((id(table), keys))
    if cached is not None and cached[0] is table:
        return cached[1]
    plan = _build(table, keys)
    if len(_PLANS) >= _PLANS_KEPT:
        _PLANS.clear()
    _PLANS[(id(table), keys)] = (table, plan)
    return plan


def given_columns(table: Table, keys: Iterable[str]) -> list[str]:
    """The columns ``keys`` name (case as the table spells them); refuses unknown columns and
    the timestamps cinch maintains."""
    names = []
    for key in keys:
        column = table.find_column(key)
        if column is None:
            raise NotFound(f"table {table.name} has no column {key!r}", column=key)
        if column.auto in ("created_at", "updated_at"):
            raise InvalidOperation(f"{table.name}.{column.name} is maintained by cinch")
        names.append(column.name)
    return names


def _build(table: Table, keys: tuple[str, ...]) -> InsertPlan:
    given = given_columns(table, keys)
    name = quote(table.name)
    if given:
        returning = (f"INSERT INTO {name} ({', '.join(quote(c) for c in given)}) "
                     f"VALUES ({', '.join('?' for _ in given)}) RETURNING *")
    else:
        returning = f"INSERT INTO {name} DEFAULT VALUES RETURNING *"
    by_name = {c.name: c for c in table.columns}
    exact = tuple(_EXACT[affinity(by_name[c].type)] for c in given)
    position = {c: i for i, c in enumerate(given)}
    filled: list[str] = []
    fill: list[str] = []
    consts: list[Any] = []
    sources: list[tuple[str, int]] = []  # per column: where its value comes from
    plain_ok = table.ddl is None and len(position) == len(given)
    for column in table.columns:
        if column.name in position:
            sources.append(("given", position[column.name]))
            continue
        source = _default(column)
        if source is None:
            plain_ok = False
            break
        kind, value = source
        if kind == "fill":
            filled.append(column.name)
            fill.append(value)
            sources.append(("fill", len(fill) - 1))
        else:
            consts.append(value)
            sources.append(("const", len(consts) - 1))
    if plain_ok and any(c.declared or c.generated for c in table.columns):
        plain_ok = False
    real = tuple(affinity(by_name[c].type) == "REAL" for c in given)
    reals = tuple(c.name for c in table.columns if affinity(c.type) == "REAL")
    if not plain_ok:
        return InsertPlan(returning, None, exact, real, any(real), reals, (), (), (), _never)
    columns = [*given, *filled]
    plain = (f"INSERT INTO {name} ({', '.join(quote(c) for c in columns)}) "
             f"VALUES ({', '.join('?' for _ in columns)})" if columns
             else f"INSERT INTO {name} DEFAULT VALUES")
    offsets = {"given": 0, "fill": len(given), "const": len(given) + len(fill)}
    indexes = [offsets[kind] + i for kind, i in sources]
    pick: Callable[[list[Any]], tuple[Any, ...]]
    if len(indexes) == 1:
        only = indexes[0]
        pick = lambda params: (params[only],)  # noqa: E731 (itemgetter of one gives no tuple)
    else:
        pick = itemgetter(*indexes)
    names = tuple(c.name for c in table.columns)
    insert = None
    if not any(real) and all(kind in _UUIDS or kind == "NOW" for kind in fill):
        insert = _compile(plain, exact, fill, consts, names, sources)
    return InsertPlan(returning, plain, exact, real, any(real), reals, tuple(fill), tuple(consts),
                      names, pick, insert)


def _compile(plain: str, exact: tuple[frozenset[type], ...], fill: list[str],
             consts: list[Any], names: tuple[str, ...],
             sources: list[tuple[str, int]]) -> Inserter:
    """The plain insert of one plan as one function, ``insert(execute, row)``: it checks each
    value's type, fills the id and timestamps, runs the INSERT and returns the stored row, or
    returns None, having done nothing, when a value is one SQLite might convert (the caller
    then takes the general way). Its locals and a dict display cost a third of what the general
    way's calls and iterators do per row.

    Made as ``dataclasses`` makes its methods, from source, but once per shape (how many values
    are given, which may be floats, what is filled, where each column's value comes from) and
    not per plan: compiling costs a quarter of a millisecond. The source holds only names made
    here; the statement, the types, constants and column names are the closure's."""
    shape = (tuple(float in types for types in exact),
             tuple("UUID" if kind in _UUIDS else kind for kind in fill), len(consts),
             tuple(sources))
    make = _MAKERS.get(shape)
    if make is None:
        if len(_MAKERS) >= 256:
            _MAKERS.clear()
        make = _MAKERS[shape] = _maker(*shape)
    return make(plain, exact, tuple(consts), names, _now, uuid4)


def _maker(floats: tuple[bool, ...], fill: tuple[str, ...], consts: int,
           sources: tuple[tuple[str, int], ...]) -> Callable[..., Inserter]:
    given = [f"v{i}" for i in range(len(floats))]
    lines = ["def make(PLAIN, E, C, N, _now, _uuid4):"]
    for prefix, count in (("E", len(floats)), ("C", consts), ("N", len(sources))):
        if count:
            lines.append(f"    {''.join(f'{prefix}{i}, ' for i in range(count))}= {prefix}")
    lines.append("    def insert(execute, row):")
    if given:
        lines.append(f"        {''.join(f'{v}, ' for v in given)}= row.values()")
    checks = []
    for i, may_be_float in enumerate(floats):
        checks.append(f"type(v{i}) not in E{i}")
        if may_be_float:
            checks.append(f"v{i} != v{i}")  # NaN, stored as NULL
    if checks:
        lines += [f"        if {' or '.join(checks)}:", "            return None"]
    if "NOW" in fill:
        lines.append("        now = _now()")  # one clock reading for every timestamp of the row
    filled = []
    for j, kind in enumerate(fill):
        if kind == "UUID":
            lines.append(f"        f{j} = _uuid4()")
        filled.append(f"f{j}" if kind == "UUID" else "now")
    lines.append(f"        execute(PLAIN, ({''.join(f'{b}, ' for b in given + filled)}))")
    value_of = {"given": given, "fill": filled, "const": [f"C{k}" for k in range(consts)]}
    items = ", ".join(f"N{n}: {value_of[kind][i]}" for n, (kind, i) in enumerate(sources))
    lines += [f"        return {{{items}}}", "    return insert"]
    env: dict[str, Any] = {}
    exec("\n".join(lines), env)
    return env["make"]  # type: ignore[no-any-return]


# Functions that make a plan's insert, by the plan's shape (see _compile).
_MAKERS: dict[tuple[Any, ...], Callable[..., Inserter]] = {}


def _default(column: Column) -> tuple[str, Any] | None:
    """Where a column left out of an INSERT gets its value: ("fill", kind) computed here,
    ("const", value) stored by SQLite from the DDL, or None when only SQLite can tell (an
    INTEGER PRIMARY KEY's rowid, a default SQLite would convert)."""
    if column.default_expr is not None:
        return ("fill", column.default_expr) if column.default_expr in _FILLED else None
    value = column.default
    if value is None:
        return None if column.primary_key else ("const", None)
    if isinstance(value, bool):
        value = int(value)  # rendered as 1 or 0
    if type(value) is float or (type(value) is int and value not in _INT64):
        return None  # SQLite parses the literal: leave the rounding to it
    kind = affinity(column.type)
    if kind == "REAL":
        return None  # converted by SQLite: left to RETURNING
    return ("const", value) if type(value) in _EXACT[kind] else None


def _never(params: list[Any]) -> tuple[Any, ...]:
    raise AssertionError("a plan without a plain INSERT builds no row")


def uuid4() -> str:
    """A random (version 4) UUID's text, as ``str(uuid.uuid4())`` gives it: the same random
    bytes and bits set, without building a ``uuid.UUID`` (Python code, 3 µs a row)."""
    h = os.urandom(16).hex()
    return (f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")


# The RFC 4122 variant: the top two bits of the 17th hex digit are 10 (8, 9, a or b).
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}

# The second the last timestamp fell in, as (epoch second, date, time of day, the text of
# 'now' up to its milliseconds): formatted once a second. Replaced whole, never changed in
# place, so threads read a consistent tuple.
_second: tuple[int, str, str, str] = (-1, "", "", "")


def _clock() -> tuple[str, str, str]:
    """Now in UTC as SQLite's ``'now'`` gives it: the date, the time of day and the
    milliseconds (truncated, like SQLite's clock)."""
    second, millis = divmod(time.time_ns() // 1_000_000, 1000)
    cached = _second
    if cached[0] != second:
        cached = _format(second)
    return cached[1], cached[2], f"{millis:03d}"


def _now() -> str:
    """``strftime('%Y-%m-%dT%H:%M:%fZ', 'now')``, the default of cinch's timestamps."""
    second, millis = divmod(time.time_ns() // 1_000_000, 1000)
    cached = _second
    if cached[0] != second:
        cached = _format(second)
    return f"{cached[3]}{millis:03d}Z"


def _format(second: int) -> tuple[int, str, str, str]:
    global _second
    moment = time.gmtime(second)
    date, hms = time.strftime("%Y-%m-%d", moment), time.strftime("%H:%M:%S", moment)
    _second = (second, date, hms, f"{date}T{hms}.")
    return _second


# Plans by (table, keys): a table is an immutable part of the schema of one commit, kept by the
# history's cache, so a plan built and checked for it stays right for as long as that table
# object is the one looked up. The entry holds the table, so its id cannot be reused meanwhile.
_PLANS: dict[tuple[int, tuple[str, ...]], tuple[Table, InsertPlan]] = {}
_PLANS_KEPT = 1024
