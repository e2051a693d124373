"""Random real schemas (the constructs ORMs and people write) survive adoption exactly: the
rendered schema.sql, run into a fresh file, gives the same sqlite_master modulo whitespace; and
after a later cinch change, a tenant that ran the change's SQL matches the new schema.sql."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from cinch.planner import build
from cinch.planner.columns import ColumnSpec
from cinch.planner.plan import plan_many, replay
from cinch.planner.sqlgen import schema_sql
from cinch.stores.schema_reader import read_operations

TYPES = ["INTEGER", "integer", "TEXT", "varchar(40)", "bool", "datetime", "REAL", "BLOB",
         "decimal(10, 2)", "smallint unsigned", ""]


@dataclass
class Built:
    statements: list[str] = field(default_factory=list)
    tables: list[tuple[str, list[str], str | None]] = field(default_factory=list)


def _ident(draw: st.DrawFn, name: str) -> str:
    return draw(st.sampled_from([name, f'"{name}"', f"[{name}]", f"`{name}`", name.upper()]))


@st.composite
def schemas(draw: st.DrawFn) -> Built:
    out = Built()
    for t in range(draw(st.integers(1, 4))):
        name = f"t{t}"
        ncols = draw(st.integers(1, 5))
        cols = [f"c{i}" for i in range(ncols)]
        key = draw(st.sampled_from(["none", "rowid", "autoinc", "composite", "without_rowid"]))
        if key in ("composite", "without_rowid") and ncols < 2:
            key = "rowid"
        defs = []
        for i, col in enumerate(cols):
            type_ = draw(st.sampled_from(TYPES))
            if i == 0 and key in ("rowid", "autoinc"):
                parts = [_ident(draw, col), "INTEGER PRIMARY KEY"]
                if key == "autoinc":
                    parts.append("AUTOINCREMENT")
            else:
                parts = [_ident(draw, col), type_]
                if draw(st.booleans()):
                    parts.append("NOT NULL DEFAULT " + draw(st.sampled_from(
                        ["0", "''", "'x'", "CURRENT_TIMESTAMP", "(1 + 2)", "-1.5"])))
                if draw(st.booleans()) and type_.lower() in ("text", "varchar(40)", ""):
                    parts.append("COLLATE NOCASE")
                if draw(st.booleans()):
                    parts.append(f"CHECK ({col} IS NOT NULL OR {col} IS NULL)")
                if draw(st.booleans()) and i > 0 and key == "none":
                    parts.append("UNIQUE")
            defs.append(" ".join(parts))
        if draw(st.booleans()):
            defs.append(f"g{t} TEXT GENERATED ALWAYS AS (c0 || 'g') "
                        + draw(st.sampled_from(["VIRTUAL", "STORED"])))
        if out.tables and draw(st.booleans()):
            parent, _, parent_key = draw(st.sampled_from(out.tables))
            if parent_key:
                action = draw(st.sampled_from(["", " ON DELETE CASCADE", " ON DELETE SET NULL",
                                               " ON UPDATE CASCADE ON DELETE RESTRICT"]))
                deferrable = draw(st.sampled_from(["", " DEFERRABLE INITIALLY DEFERRED"]))
                defs.append(f"FOREIGN KEY ({cols[-1]}) REFERENCES {parent}({parent_key})"
                            f"{action}{deferrable}")
        if key in ("composite", "without_rowid"):
            defs.append(f"PRIMARY KEY ({cols[0]}, {cols[1]})")
        if draw(st.booleans()):
            defs.append(f"CHECK ({cols[0]} IS NOT NULL OR 1)")
        tail = ") WITHOUT ROWID" if key == "without_rowid" else ")"
        sep = draw(st.sampled_from([", ", ",\n  ", " , "]))
        out.statements.append(f"CREATE TABLE {_ident(draw, name)} ({sep.join(defs)}{tail}")
        out.tables.append((name, cols, cols[0] if key in ("rowid", "autoinc") else None))
    for n, (table, cols, _) in enumerate(out.tables):
        kind = draw(st.sampled_from(["none", "plain", "unique", "partial", "expression", "desc"]))
        col = draw(st.sampled_from(cols))
        sql = {"plain": f"CREATE INDEX i{n} ON {table}({col})",
               "unique": f"CREATE UNIQUE INDEX i{n} ON {table}({', '.join(cols[:2])})",
               "partial": f"CREATE INDEX i{n} ON {table}({col}) WHERE {col} IS NOT NULL",
               "expression": f"CREATE INDEX i{n} ON {table}(lower({col}))",
               "desc": f"CREATE INDEX i{n} ON {table}({col} DESC, {cols[0]} COLLATE NOCASE)",
               }.get(kind)
        if sql:
            out.statements.append(sql)
        if draw(st.booleans()):
            out.statements.append(f"CREATE VIEW v{n} AS SELECT {col} FROM {table}")
        if draw(st.booleans()):
            out.statements.append(
                f"CREATE TRIGGER tr{n} AFTER INSERT ON {table} BEGIN SELECT 1; END")
    if draw(st.booleans()):
        out.statements.append("CREATE VIRTUAL TABLE notes USING fts5(body, title)")
    return out


def _master(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                        "WHERE sql IS NOT NULL").fetchall()
    return sorted((t, n, tb, " ".join(s.split())) for t, n, tb, s in rows)


def _fresh(sql: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(sql)
    return conn


@seed(20261201)
@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(schemas())
def test_adopted_schema_renders_back_exactly(built: Built) -> None:
    original = sqlite3.connect(":memory:")
    for statement in built.statements:
        original.execute(statement)
    schema = replay(read_operations(original))
    assert _master(_fresh(schema_sql(schema, "main"))) == _master(original)

    # A later change made by cinch: the tenant runs its SQL, schema.sql renders the result.
    table = schema.tables[0]
    ops = build.add_column(schema, table.name, ColumnSpec(name="added", type="TEXT"))
    first = next(c for c in table.columns if not c.generated)
    after = build.check(schema, ops)
    ops2 = build.rename_column(after, table.name, first.name, "renamed", cascade=True)
    after2 = build.check(after, ops2)
    # a rebuild: the altered column is rendered anew, the rest of the text kept as written
    columns = after2.table(table.id).columns  # the user's own last, then the one just added
    last = next(c for c in [*columns[-2::-1], columns[-1]] if not c.generated and not c.primary_key)
    ops3 = build.alter_column(after2, table.name, last.id,
                              type="BLOB" if last.type != "BLOB" else "TEXT")
    after3 = build.check(after2, ops3)
    assert after3.table(table.name).ddl is not None
    plan, _ = plan_many(schema, ops + ops2 + ops3)
    original.execute("PRAGMA foreign_keys=OFF")
    for statement in plan.statements:
        original.execute(statement)
    assert _master(_fresh(schema_sql(after3, "main"))) == _master(original)
    assert original.execute("PRAGMA foreign_key_check").fetchall() == []


def test_replaying_the_log_keeps_the_text_sqlite_rewrote() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript("CREATE TABLE line (id INTEGER PRIMARY KEY, note TEXT);"
                       "CREATE INDEX line_note ON line (lower(note));")
    log = read_operations(conn)
    schema = replay(log)
    for old, new in (("note", "memo"), ("memo", "note"), ("note", "text")):
        ops = build.rename_column(schema, "line", old, new)
        schema = build.check(schema, ops)
        log += ops
    replayed = replay(log)  # from nothing, in place: what history does with the change files
    assert replayed.objects[0].sql == 'CREATE INDEX line_note ON line (lower("text"))'
    assert replayed.table("line").ddl == 'CREATE TABLE line (id INTEGER PRIMARY KEY, "text" TEXT)'


def test_cinch_own_tables_keep_their_documents_and_rendering() -> None:
    """The fields adoption added stay out of change files and schema.sql of cinch's own tables."""
    from datetime import UTC, datetime

    from cinch.models.changeset import ChangeSet, parse_change
    from cinch.models.ids import ulid

    ops = build.create_table(replay([]), "users", [ColumnSpec(name="email", unique=True)])
    change = ChangeSet(id=ulid(), database="main", message="m", author={"name": "a"},
                       created_at=datetime.now(UTC), operations=ops, sql=["-"])
    text = change.to_json().decode()
    for field_name in ('"ddl"', '"declared"', '"generated"', '"objects"'):
        assert field_name not in text
    assert parse_change(change.to_json(), change.filename) == change
    sql = schema_sql(replay(ops), "main")
    assert 'CREATE TABLE "users" (\n  "id" TEXT PRIMARY KEY NOT NULL' in sql
