"""The ledger inside each tenant: which change sets it has, so state travels with the file.

:func:`apply_change` applies one change set atomically and idempotently: its statements and its
ledger row commit together or not at all, and a change already in the ledger is skipped.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cinch.errors import TenantError

LEDGER_TABLE = "_cinch_ledger"
_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS _cinch_ledger("
    "seq INTEGER PRIMARY KEY, "
    "change_id TEXT NOT NULL UNIQUE, "
    "commit_id TEXT NOT NULL, "
    "applied_at TEXT NOT NULL)"
)
_MAX_VIOLATIONS_REPORTED = 10


class LedgerRow(NamedTuple):
    seq: int
    change_id: str
    commit_id: str
    applied_at: str


def _db_path(conn: sqlite3.Connection) -> str:
    path = getattr(conn, "path", None)
    if path:
        return str(path)
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file)
    return ""  # pragma: no cover


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ensure_ledger(conn: sqlite3.Connection) -> None:
    """Create the ledger table if it is missing (harmless inside or outside a transaction)."""
    conn.execute(_CREATE_LEDGER)


def _ledger_exists(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (LEDGER_TABLE,)
    ).fetchone()
    return row is not None


def read_ledger_rows(conn: sqlite3.Connection) -> list[LedgerRow]:
    """Every ledger row in application order; [] for a database without a ledger."""
    if not _ledger_exists(conn):
        return []
    cur = conn.execute(
        "SELECT seq, change_id, commit_id, applied_at FROM _cinch_ledger ORDER BY seq"
    )
    return [LedgerRow(*row) for row in cur]


def read_ledger(conn: sqlite3.Connection) -> list[str]:
    """The change ids this tenant has, in the order they were applied."""
    if not _ledger_exists(conn):
        return []
    return [row[0] for row in conn.execute("SELECT change_id FROM _cinch_ledger ORDER BY seq")]


def has_change(conn: sqlite3.Connection, change_id: str) -> bool:
    if not _ledger_exists(conn):
        return False
    cur = conn.execute("SELECT 1 FROM _cinch_ledger WHERE change_id = ?", (change_id,))
    return cur.fetchone() is not None


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why statements failed: a statement and SQLite's error, or foreign-key violations."""

    index: int | None
    statement: str | None
    reason: str
    sqlite_error: str | None = None
    violations: tuple[tuple[Any, ...], ...] = ()


def _run_statements(
    conn: sqlite3.Connection, statements: Sequence[str], rebuild: bool
) -> _Failure | None:
    """Run statements inside the caller's transaction; return the failure, if any."""
    for index, statement in enumerate(statements):
        try:
            conn.execute(statement)
        except sqlite3.Error as exc:
            return _Failure(index, statement, str(exc), getattr(exc, "sqlite_errorname", None))
    if rebuild:
        violations = conn.execute("PRAGMA foreign_key_check").fetchmany(
            _MAX_VIOLATIONS_REPORTED
        )
        if violations:
            shown = "; ".join(
                f"{table} rowid {rowid} references a missing {parent} row"
                for table, rowid, parent, _ in violations
            )
            return _Failure(
                None, None, f"foreign key violations after rebuild: {shown}",
                violations=tuple(tuple(v) for v in violations),
            )
    return None


def _describe(failure: _Failure, count: int) -> str:
    if failure.index is None:
        return failure.reason
    return f"statement {failure.index + 1} of {count} failed: {failure.reason}"


def _begin(conn: sqlite3.Connection, change_id: str) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise TenantError(
            f"cannot start a write transaction on {_db_path(conn)}: {exc}",
            path=_db_path(conn), change_id=change_id, reason=str(exc),
            sqlite_error=getattr(exc, "sqlite_errorname", None),
        ) from exc


def _rollback(conn: sqlite3.Connection) -> None:
    # Some errors (disk full, I/O) make SQLite roll back on its own already.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _set_foreign_keys(conn: sqlite3.Connection, on: bool) -> None:
    # A no-op inside a transaction, which is why the 12-step rebuild toggles it outside one.
    conn.execute("PRAGMA foreign_keys=ON" if on else "PRAGMA foreign_keys=OFF")


def _refuse_open_transaction(conn: sqlite3.Connection, change_id: str) -> None:
    if conn.in_transaction:
        raise TenantError(
            "cannot apply or dry-run a change inside an open transaction",
            path=_db_path(conn), change_id=change_id,
        )


def apply_change(
    conn: sqlite3.Connection,
    change_id: str,
    commit_id: str,
    statements: Sequence[str],
    *,
    rebuild: bool = False,
    check_first: bool = True,
) -> bool:
    """Apply one change set to the tenant behind ``conn``, atomically and idempotently.

    Returns False if ``change_id`` is already in the ledger, True once applied. On failure the
    transaction is rolled back (the tenant is unchanged) and :class:`TenantError` is raised with
    details ``path``, ``change_id``, ``commit_id``, ``statement``, ``statement_index``,
    ``reason`` (SQLite's message) and ``sqlite_error``. Each statement is one SQL statement.

    ``rebuild=True`` follows SQLite's 12-step table rebuild: foreign keys are switched off
    outside the transaction, ``PRAGMA foreign_key_check`` runs before COMMIT (violations roll
    back, details ``violations``), and foreign keys are switched back on whatever happens.

    ``check_first=False`` skips the read before the write transaction (the caller just read the
    ledger and knows the change is missing); the check under the write lock always runs.
    """
    if check_first and has_change(conn, change_id):
        return False  # cheap read first: a sync over applied tenants never writes
    _refuse_open_transaction(conn, change_id)
    if rebuild:
        _set_foreign_keys(conn, False)
    try:
        _begin(conn, change_id)
        try:
            ensure_ledger(conn)
            # Re-check under the write lock: another process may have applied it meanwhile.
            if conn.execute(
                "SELECT 1 FROM _cinch_ledger WHERE change_id = ?", (change_id,)
            ).fetchone():
                _rollback(conn)
                return False
            failure = _run_statements(conn, statements, rebuild)
            if failure is None:
                conn.execute(
                    "INSERT INTO _cinch_ledger(change_id, commit_id, applied_at) "
                    "VALUES (?, ?, ?)",
                    (change_id, commit_id, _now()),
                )
                conn.execute("COMMIT")
                return True
        except BaseException:
            _rollback(conn)
            raise
        _rollback(conn)
    finally:
        if rebuild:
            _set_foreign_keys(conn, True)
    path = _db_path(conn)
    raise TenantError(
        f"change {change_id} failed on {path}: {_describe(failure, len(statements))}",
        hint="the tenant was rolled back and is unchanged",
        path=path, change_id=change_id, commit_id=commit_id,
        statement=failure.statement, statement_index=failure.index, reason=failure.reason,
        sqlite_error=failure.sqlite_error, violations=[list(v) for v in failure.violations],
    )


def dry_run(
    conn: sqlite3.Connection, statements: Sequence[str], *, rebuild: bool = False
) -> str | None:
    """Run ``statements`` in a transaction that is always rolled back.

    Returns None if they would succeed, else a message naming the failing statement and
    SQLite's reason (or the foreign-key violations a rebuild would leave).
    """
    _refuse_open_transaction(conn, "<dry run>")
    if rebuild:
        _set_foreign_keys(conn, False)
    try:
        try:
            _begin(conn, "<dry run>")
        except TenantError as exc:
            return exc.message
        try:
            failure = _run_statements(conn, statements, rebuild)
        finally:
            _rollback(conn)
    finally:
        if rebuild:
            _set_foreign_keys(conn, True)
    if failure is None:
        return None
    text = _describe(failure, len(statements))
    return text if failure.statement is None else f"{text}: {failure.statement}"


def schema_fingerprint(conn: sqlite3.Connection) -> str:
    """sha256 over the user schema (not ``sqlite_*`` or ``_cinch*`` objects): drift detection."""
    # LIKE treats '_' as a wildcard, hence ESCAPE.
    cur = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema "
        "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cinch%' ESCAPE '\\' "
        "ORDER BY type, name"
    )
    digest = hashlib.sha256()
    for row in cur:
        digest.update(json.dumps(row, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()
