"""``cinch tenant repair``: bring a drifted tenant from the schema it *is* to the branch head's.

A state diff, not a replay: the tenant's objects are compared with the head's (a shadow
database built from the head's ``schema.sql``). Tables that differ are rebuilt keeping every
column both sides share; missing objects are created; objects the head lacks are dropped.
Anything that would lose data (a table with rows, a column with values the head lacks) is
refused unless ``accept_loss``, naming what would go. Then the ledger is set to the head's
change sets. One transaction, foreign keys checked before it commits.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from cinch.engine import tenant_catalog
from cinch.errors import ApplyRefused, NotFound, TenantError
from cinch.models.schema import Schema
from cinch.names import quote
from cinch.planner.sqlgen import create_table_sql, schema_sql
from cinch.stores import tenantstore as ts

if TYPE_CHECKING:
    from cinch.engine.project import Project

_USER = ("name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cinch%' ESCAPE '\\'")


@dataclass
class RepairPlan:
    tenant: str
    database: str
    branch: str
    drifted: str | None  # why it drifted; None when it was only behind or up to date
    statements: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    ledger: int = 0  # change sets the ledger is set to
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(f"SELECT type, name, sql FROM sqlite_schema WHERE {_USER}").fetchall()
    return {(kind, name.lower()): sql or "" for kind, name, sql in rows}


def _names(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(f"SELECT name FROM sqlite_schema WHERE type = 'table' AND {_USER}")
    return {name.lower(): name for (name,) in rows}


def _table_shape(conn: sqlite3.Connection, table: str) -> Any:
    q = quote(table)
    return (sorted(tuple(c[1:]) for c in conn.execute(f"PRAGMA table_xinfo({q})")),
            sorted(tuple(k[2:]) for k in conn.execute(f"PRAGMA foreign_key_list({q})")),
            sorted((i[2], i[3]) for i in conn.execute(f"PRAGMA index_list({q})") if i[3] != "c"),
            " ".join(conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?",
                                  (table,)).fetchone()[0].split()).rsplit(")", 1)[-1].upper())


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return {r[1].lower(): r[1] for r in conn.execute(f"PRAGMA table_xinfo({quote(table)})")
            if r[6] == 0}  # hidden 0: an ordinary column, not a generated one


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def plan_repair(conn: sqlite3.Connection, schema: Schema, db: str) -> tuple[list[str], list[str]]:
    """The statements taking the tenant behind ``conn`` to ``schema``, and what they lose."""
    shadow = sqlite3.connect(":memory:")
    try:
        shadow.executescript(schema_sql(schema, db))
        want, have = _objects(shadow), _objects(conn)
        want_tables, have_tables = _names(shadow), _names(conn)
        statements: list[str] = []
        losses: list[str] = []
        # Views read tables: they go first and come back last, as the head has them.
        statements += [f"DROP VIEW {quote(n)}" for (k, n) in sorted(have) if k == "view"]
        for kind in ("trigger", "index"):
            for (k, name), sql in sorted(have.items()):
                if k == kind and not _same(sql, want.get((kind, name), "")):
                    statements.append(f"DROP {kind.upper()} {quote(name)}")
        rebuilt: set[str] = set()
        for key, name in sorted(have_tables.items()):
            if key not in want_tables:
                rows = conn.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]
                if rows:
                    losses.append(f"table {name} ({rows} row(s))")
                statements.append(f"DROP TABLE {quote(name)}")
        for key, name in sorted(want_tables.items()):
            if key not in have_tables:
                statements.append(want[("table", key)])
                continue
            current = have_tables[key]
            if _table_shape(conn, current) == _table_shape(shadow, name):
                continue
            rebuilt.add(key)
            model = schema.table(name)
            theirs, ours = _columns(conn, current), _columns(shadow, name)
            for col in sorted(set(theirs) - set(ours)):
                values = conn.execute(f"SELECT count(*) FROM {quote(current)} "
                                      f"WHERE {quote(theirs[col])} IS NOT NULL").fetchone()[0]
                if values:
                    losses.append(f"column {current}.{theirs[col]} ({values} value(s))")
            kept = sorted(set(theirs) & set(ours))
            tmp = f"_cinch_repair_{name}"[:63]
            statements.append(create_table_sql(model, name=tmp))
            if kept:
                statements.append(
                    f"INSERT INTO {quote(tmp)} ({', '.join(quote(ours[c]) for c in kept)}) "
                    f"SELECT {', '.join(quote(theirs[c]) for c in kept)} FROM {quote(current)}")
            statements.append(f"DROP TABLE {quote(current)}")
            statements.append(f"ALTER TABLE {quote(tmp)} RENAME TO {quote(name)}")
        for kind in ("index", "trigger", "view"):
            for (k, name), sql in sorted(want.items()):
                if k != kind:
                    continue
                table = shadow.execute("SELECT lower(tbl_name) FROM sqlite_schema WHERE name = ?",
                                       (name,)).fetchone()[0]
                kept_as_is = _same(have.get((kind, name), ""), sql) and table not in rebuilt
                if kind == "view" or not kept_as_is:
                    statements.append(sql)
        return statements, losses
    finally:
        shadow.close()


def repair(project: Project, db: str, branch: str, name: str, *, dry_run: bool = False,
           accept_loss: bool = False) -> RepairPlan:
    """Plan (and unless ``dry_run`` carry out) the way from the tenant's schema to the head's."""
    tenants = project.tenants
    head = tenants._head(branch)
    target, _ = tenants.target(db, head)
    schema = project.history.schema(head, db)
    path = tenants.path(db, branch, name, create_main=False)
    with tenants.moving(db, branch), tenants.pool.connection(path) as conn:
        reason = ts.drift(conn)
        out = RepairPlan(name, db, branch, reason, ledger=len(target))
        out.statements, out.losses = plan_repair(conn, schema, db)
        held = set(ts.read_ledger(conn))
        if not out.statements and not reason and held == {c.id for c in target}:
            out.ledger = 0
            return out  # nothing to repair
        if out.losses and not accept_loss:
            raise ApplyRefused(
                f"tenant {name}: repairing it would lose data: {'; '.join(out.losses)}; "
                "nothing was changed", tenant=name, losses=out.losses,
                statements=out.statements,
                hint=f"keep what you need elsewhere, then cinch tenant repair {name} "
                     "--accept-loss")
        if dry_run:
            return out
        _, shape = tenants.expected(db, branch)

        def check(c: sqlite3.Connection) -> None:
            if ts.shape_fingerprint(c) != shape:
                raise TenantError(f"tenant {name}: the repaired schema still differs from the "
                                  "head's; nothing was changed", tenant=name)

        # The catalog is told first (a failed repair has it read the file again).
        with tenants.catalog.changing(db, branch, [tenant_catalog.at_head(tenants, db, head,
                                                                          name)]):
            ts.reset_ledger(conn, out.statements, [(c.id, c.to_json()) for c in target], head,
                            check=check)
        out.applied = True
        return out


def repair_all(project: Project, db: str, branch: str, *, dry_run: bool = False,
               accept_loss: bool = False) -> list[RepairPlan]:
    """Repair every drifted tenant of the branch (the others are moved by ``cinch sync``)."""
    drifted = [i.name for i in project.tenants.infos(db, branch) if i.state == "drifted"]
    if not drifted:
        return []
    out = []
    for name in drifted:
        try:
            out.append(repair(project, db, branch, name, dry_run=dry_run,
                              accept_loss=accept_loss))
        except NotFound:
            continue  # deleted meanwhile
    return out
