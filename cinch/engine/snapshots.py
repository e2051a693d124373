"""Snapshots of the data a drop destroys, so reverting the drop can bring the data back.

Before a change set that drops a table or a column is applied to a tenant (the apply path in
``tenants.py`` calls :func:`snapshot_step` or :func:`snapshot_before_drop`), the rows it
destroys are copied into ``.cinch/snapshots/<db>/<branch-key>/<tenant>/<change-id>.db``, a
plain SQLite file: every row of a dropped table, the ``id`` and the value of a dropped column.
Snapshots older than ``[tenants] snapshot_retention_days`` are pruned whenever one is written
(0 keeps none). ``cinch revert`` of the drop re-creates the definition, then :func:`restore`
puts the rows back, matched on ``id``; objects are found by stable id, so renames in between
are fine.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cinch.engine.config import CONFIG_FILE, TenantConfig, parse_config
from cinch.errors import TenantError
from cinch.models.operations import DESTRUCTIVE, DropColumn, DropTable, Operation
from cinch.models.schema import Schema, Table
from cinch.names import quote
from cinch.planner.plan import apply_op
from cinch.stores import tenantstore as ts

if TYPE_CHECKING:
    from cinch.engine.project import Project

SNAPSHOT_DIR = "snapshots"
FORMAT = 1
_BATCH = 1000
_META = (
    "CREATE TABLE _cinch_snapshot(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE _cinch_snapshot_objects(seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
    "table_id TEXT NOT NULL, table_name TEXT NOT NULL, column_id TEXT, column_name TEXT, "
    "rows INTEGER NOT NULL)",
    "CREATE TABLE _cinch_snapshot_columns(seq INTEGER NOT NULL, position INTEGER NOT NULL, "
    "column_id TEXT, name TEXT NOT NULL, PRIMARY KEY (seq, position))",
)


@dataclass(frozen=True)
class _Target:
    """One thing a change set drops, named as the tenant holds it *before* the change set."""

    kind: str  # "table" or "column"
    table_id: str
    table: str
    column_id: str | None = None
    column: str | None = None
    columns: tuple[tuple[str, str], ...] = ()  # (column id, name) of a dropped table


def snapshot_root(project: Project) -> Path:
    return project.state_dir / SNAPSHOT_DIR


def snapshot_path(root: Path, db: str, branch: str, tenant: str, change_id: str) -> Path:
    return root / db / ts.branch_key(branch) / tenant / f"{change_id}.db"


def destroys_data(ops: Sequence[Operation]) -> bool:
    return any(op.op in DESTRUCTIVE for op in ops)


# --- taking a snapshot (the apply path) ---------------------------------------------------


def snapshot_before_drop(conn: sqlite3.Connection, tenant_path: str | os.PathLike[str],
                         change_id: str, ops: Sequence[Operation],
                         snapshot_dir: str | os.PathLike[str], *,
                         retention_days: int | None = None,
                         before: Schema | None = None,
                         skip_if_held: bool = True) -> Path | None:
    """Keep what ``ops`` (change set ``change_id``) will drop from the tenant behind ``conn``.

    The snapshot goes to ``<snapshot_dir>/<change_id>.db``, ``snapshot_dir`` being the
    tenant's folder ``.cinch/snapshots/<db>/<branch-key>/<tenant>``. ``before`` (the schema
    just before the change set) resolves names by id; without it the operations' names are
    used. Snapshots in the folder older than ``retention_days`` (default: cinch.toml's default)
    are pruned. Returns the snapshot's path, or None when there was nothing to keep (no drop,
    the change is applied already, no rows, or retention 0). Call it outside a transaction
    right before applying; a failure raises :class:`TenantError`, so the drop is not applied
    to a tenant whose data could not be kept. ``skip_if_held=False`` for an unwind: the
    tenant holds the change set being taken away.
    """
    if retention_days is None:
        retention_days = TenantConfig().snapshot_retention_days
    if not destroys_data(ops) or retention_days == 0 or (
            skip_if_held and ts.has_change(conn, change_id)):
        return None
    tenant, folder = Path(tenant_path), Path(snapshot_dir)
    targets = [t for t in _targets(ops, before) if _holds_data(conn, t)]
    if not targets:
        return None  # nothing but NULLs or no rows: no file to write
    final = folder / f"{change_id}.db"
    tmp = folder / f".{change_id}.{os.getpid()}.tmp"
    try:
        if conn.in_transaction:
            raise sqlite3.OperationalError("the connection is inside a transaction")
        folder.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        kept = _write(conn, tmp, change_id, tenant.stem, targets)
        if kept:
            os.replace(tmp, final)
        else:
            tmp.unlink(missing_ok=True)
    except (sqlite3.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise TenantError(
            f"{tenant.name}: cannot keep a snapshot of the data change {change_id} drops "
            f"({exc}); the change was not applied to this tenant",
            hint="free disk space or fix the snapshot folder, then run `cinch sync`",
            path=str(tenant), change_id=change_id, reason=str(exc)) from exc
    prune(folder, retention_days)
    return final if kept else None


def _by_id(schema: Schema | None, table_id: str) -> Table | None:
    if schema is None:
        return None
    return next((t for t in schema.tables if t.id == table_id), None)


def _targets(ops: Sequence[Operation], before: Schema | None) -> list[_Target]:
    # Every row is read before any operation of the change set runs, so each object is named
    # as it is before the change set, not as an earlier operation of it would rename it.
    out = []
    for op in ops:
        if isinstance(op, DropTable):
            table = _by_id(before, op.table.id) or (None if before else op.table)
            if table is not None:
                out.append(_Target("table", table.id, table.name,
                                   columns=tuple((c.id, c.name) for c in table.columns)))
        elif isinstance(op, DropColumn):
            table = _by_id(before, op.table_id)
            column = table.find_column(op.column.id) if table else None
            if before is None:
                out.append(_Target("column", op.table_id, op.table, op.column.id, op.column.name))
            elif table is not None and column is not None and column.id == op.column.id:
                out.append(_Target("column", table.id, table.name, column.id, column.name))
    return out


def _holds_data(conn: sqlite3.Connection, target: _Target) -> bool:
    """Whether the tenant holds anything the target's drop would destroy (one cheap probe)."""
    present = {n.lower(): n for n in _columns_in(conn, target.table)}
    if not present:
        return False
    table = quote(target.table)
    if target.kind == "table":
        return conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
    column = present.get((target.column or "").lower())
    if column is None:
        return False
    return conn.execute(f"SELECT 1 FROM {table} WHERE {quote(column)} IS NOT NULL "
                        "LIMIT 1").fetchone() is not None


def _columns_in(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))]


def _write(conn: sqlite3.Connection, path: Path, change_id: str, tenant: str,
           targets: list[_Target]) -> int:
    """Copy the targets' rows into a new snapshot file at ``path``; the number of rows kept."""
    out = sqlite3.connect(path, isolation_level=None)
    total = 0
    try:
        out.execute("BEGIN")
        for sql in _META:
            out.execute(sql)
        out.executemany("INSERT INTO _cinch_snapshot VALUES (?, ?)", [
            ("format", str(FORMAT)), ("change_id", change_id), ("tenant", tenant),
            ("taken_at", datetime.now(UTC).isoformat(timespec="seconds"))])
        conn.execute("BEGIN")  # one read transaction: every target from the same moment
        try:
            for seq, target in enumerate(targets, 1):
                total += _copy(conn, out, seq, target)
        finally:
            conn.execute("COMMIT")
        out.execute("COMMIT")
    finally:
        out.close()
    return total


def _copy(conn: sqlite3.Connection, out: sqlite3.Connection, seq: int, target: _Target) -> int:
    present = _columns_in(conn, target.table)
    if not present:
        return 0  # the tenant does not hold the table: nothing to keep
    data = f"data_{seq}"
    if target.kind == "table":
        ids = {name.lower(): cid for cid, name in target.columns}
        source = f"SELECT * FROM {quote(target.table)}"
        out.executemany("INSERT INTO _cinch_snapshot_columns VALUES (?, ?, ?, ?)",
                        [(seq, i, ids.get(n.lower()), n) for i, n in enumerate(present)])
        width = len(present)
    else:
        by_lower = {n.lower(): n for n in present}
        column = by_lower.get((target.column or "").lower())
        if column is None or "id" not in by_lower:
            return 0
        source = f"SELECT {quote(by_lower['id'])}, {quote(column)} FROM {quote(target.table)}"
        width = 2
    # Untyped columns: values are kept exactly as stored (no affinity conversions).
    out.execute(f"CREATE TABLE {data} ({', '.join(f'c{i}' for i in range(width))})")
    insert = f"INSERT INTO {data} VALUES ({', '.join('?' * width)})"
    rows = 0
    cursor = conn.execute(source)
    while batch := cursor.fetchmany(_BATCH):
        out.executemany(insert, batch)
        rows += len(batch)
    out.execute("INSERT INTO _cinch_snapshot_objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, target.kind, target.table_id, target.table, target.column_id,
                 target.column, rows))
    return rows


def prune(folder: str | os.PathLike[str], retention_days: int, *,
          now: float | None = None) -> int:
    """Delete snapshot files under ``folder`` older than ``retention_days``; how many."""
    limit = (time.time() if now is None else now) - retention_days * 86_400
    removed = 0
    for path in Path(folder).rglob("*.db"):
        try:
            if retention_days == 0 or path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # pruned meanwhile by another process
    return removed


# --- the hook the apply path calls --------------------------------------------------------

_V = TypeVar("_V")
_cache_lock = threading.Lock()  # the server applies from several threads
_positions: OrderedDict[tuple[str, str], dict[str, int]] = OrderedDict()
_before: OrderedDict[tuple[str, str, str], Schema] = OrderedDict()


def _remember(cache: OrderedDict[Any, _V], key: Any, value: _V, size: int = 16) -> _V:
    with _cache_lock:
        cache[key] = value
        while len(cache) > size:
            cache.popitem(last=False)
    return value


def snapshot_step(project: Project, conn: sqlite3.Connection,
                  tenant_path: str | os.PathLike[str], db: str, branch: str, tenant: str,
                  head: str, change_id: str) -> Path | None:
    """The apply path's hook, before change set ``change_id`` of ``db``'s log at ``head`` is
    applied to a tenant: keep what it drops, with names resolved by id against the schema
    just before it and the retention of the branch's cinch.toml. A cheap no-op for change
    sets that drop nothing. Caches are keyed by commit id, which never changes meaning.
    """
    history = project.history
    log = history.log(head, db)
    positions = _positions.get((head, db)) or _remember(
        _positions, (head, db), {e.id: i for i, e in enumerate(log)})
    position = positions.get(change_id)
    if position is None:
        return None
    change = history.change(log[position])
    if not destroys_data(change.operations):
        return None
    key = (head, db, change_id)
    before = _before.get(key)
    if before is None:
        state = Schema()
        for entry in log[:position]:
            for op in history.change(entry).operations:
                apply_op(state, op, copy=False)
        before = _remember(_before, key, state)
    raw = project.git.read_file(head, CONFIG_FILE)
    retention = parse_config(raw).tenants.snapshot_retention_days if raw else None
    folder = snapshot_path(snapshot_root(project), db, branch, tenant, change_id).parent
    return snapshot_before_drop(conn, tenant_path, change_id, change.operations, folder,
                                retention_days=retention, before=before)


# --- restoring (cinch revert) -------------------------------------------------------------


def available(project: Project, db: str, branch: str, change_id: str) -> list[str]:
    """Tenants of (db, branch) holding a snapshot of change ``change_id``."""
    root = snapshot_root(project)
    return [name for name in project.tenants.names(db, branch)
            if snapshot_path(root, db, branch, name, change_id).is_file()]


def restore_into(conn: sqlite3.Connection, snap: Path, schema: Schema) -> int:
    """Put a snapshot's rows back inside the caller's transaction (the step of a move that
    re-creates what was dropped); ``schema`` is the schema once the objects are back."""
    src = sqlite3.connect(f"file:{snap}?mode=ro", uri=True)
    try:
        objects = src.execute("SELECT seq, kind, table_id, column_id FROM _cinch_snapshot_objects "
                              "ORDER BY seq").fetchall()
        # Rows of tables that reference each other come back in any order.
        conn.execute("PRAGMA defer_foreign_keys=ON")
        return sum(_restore_object(conn, src, *obj, schema) for obj in objects)
    finally:
        src.close()


def _restore_object(conn: sqlite3.Connection, src: sqlite3.Connection, seq: int, kind: str,
                    table_id: str, column_id: str | None, schema: Schema) -> int:
    table = _by_id(schema, table_id)
    if table is None:
        return 0  # the object is gone again: nothing to restore into
    data = f"data_{seq}"
    if kind == "column":
        column = next((c for c in table.columns if c.id == column_id), None)
        if column is None:
            return 0
        key = next((c.name for c in table.columns if c.auto == "id"), "id")
        sql = f"UPDATE {quote(table.name)} SET {quote(column.name)} = ? WHERE {quote(key)} = ?"
        return _stream(conn, src.execute(f"SELECT c1, c0 FROM {data}"), sql)
    positions, names = [], []
    for position, cid, name in src.execute(
            "SELECT position, column_id, name FROM _cinch_snapshot_columns WHERE seq = ? "
            "ORDER BY position", (seq,)):
        column = (next((c for c in table.columns if c.id == cid), None) if cid
                  else table.find_column(name))
        if column is not None:
            positions.append(position)
            names.append(quote(column.name))
    if not names:
        return 0
    select = f"SELECT {', '.join(f'c{p}' for p in positions)} FROM {data}"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(names)}) "
           f"VALUES ({', '.join('?' * len(names))})")
    return _stream(conn, src.execute(select), sql)


def _stream(conn: sqlite3.Connection, cursor: sqlite3.Cursor, sql: str) -> int:
    done = 0
    while batch := cursor.fetchmany(_BATCH):
        done += conn.executemany(sql, batch).rowcount
    return done
