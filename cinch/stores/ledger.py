"""The ledger inside each tenant: which change sets it has, so state travels with the file.

The ledger is ``_cinch_log``: a row for each change set the tenant holds (its id, the commit
it came with, when), in the order applied (``seq``; the held ids are a *set*, the order only
says how they arrived), and as its last row cinch's record of the file: the schema
fingerprint, a digest of the held ids and SQLite's schema cookie as cinch left them (the row
without a change id). ``_cinch_docs`` holds each change set's document under its row's
``seq``, so the change can be unwound later without git. A tenant whose file disagrees with
its own record has drifted (edited by hand) and is never moved, only repaired on request.
:func:`apply_change` adds one change set, :func:`unwind_change` takes one away, each
atomically with its statements.

A move reads the log in one statement and writes one page of it (the new row and the record
sit side by side at its end) and one of the documents (appended at theirs). The documents
live apart because they are large (a column add's is about 750 bytes): beside the ids they
would make every read of the ids read every document's page too. Files of an earlier cinch
(three tables) are read as they are and carried over by their first move
(:mod:`cinch.stores.ledger_legacy`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cinch.errors import TenantError
from cinch.stores import ledger_legacy, links

_CREATE_LOG = (
    "CREATE TABLE IF NOT EXISTS _cinch_log("
    "seq INTEGER PRIMARY KEY, "  # the order applied; the record is the last row
    "change_id TEXT, "  # NULL on the record
    "commit_id TEXT, "
    "applied_at TEXT NOT NULL, "
    "fingerprint TEXT, ledger TEXT, schema_version INTEGER)"  # the record's, else NULL
)
_CREATE_DOCS = ("CREATE TABLE IF NOT EXISTS _cinch_docs("
                "seq INTEGER PRIMARY KEY, "  # the seq of the change set's row in the log
                "body BLOB NOT NULL)")
_ADD_DOC = "INSERT OR REPLACE INTO _cinch_docs(seq, body) VALUES (?, ?)"
_ADD_ROW = "INSERT INTO _cinch_log(seq, change_id, commit_id, applied_at) VALUES (?, ?, ?, ?)"
_LOG_PRESENT = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_cinch_log'"
_MAX_VIOLATIONS_REPORTED = 10
_COOKIE = "schema_version"  # the record's copy of SQLite's schema cookie
# The last row (the record, when it has no change id) and every held id in one statement. The
# ids come joined in one value, in the order applied (a scan of the table in seq order): a row
# each cost Python a tuple and three strings, and a tenant's ledger grows with every change
# set it ever took.
_READ_RECORDED = (
    "SELECT seq, change_id, fingerprint, ledger, schema_version, "
    "(SELECT group_concat(change_id, char(10)) FROM _cinch_log) "
    "FROM _cinch_log ORDER BY seq DESC LIMIT 1")
_READ_IDS = "SELECT group_concat(change_id, char(10)) FROM _cinch_log"
_RECORD_STATE = ("INSERT OR REPLACE INTO _cinch_log(seq, applied_at, fingerprint, ledger, "
                 "schema_version) VALUES (?, ?, ?, ?, ?)")
# A change set's row (over the record's place) and the record after it, in one statement.
_ADD_AND_RECORD = (
    "INSERT OR REPLACE INTO _cinch_log(seq, change_id, commit_id, applied_at, "
    "fingerprint, ledger, schema_version) "
    "VALUES (?, ?, ?, ?, NULL, NULL, NULL), (?, NULL, NULL, ?, ?, ?, ?)")
# The user schema (not sqlite_* or _cinch* objects); LIKE treats '_' as a wildcard, hence ESCAPE.
_USER_SCHEMA = ("SELECT type, name, tbl_name, sql FROM sqlite_schema "
                "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                "AND name NOT LIKE '\\_cinch%' ESCAPE '\\'")
Hook = Callable[[sqlite3.Connection], None]
Check = Callable[[sqlite3.Connection, str], None]  # given the new schema fingerprint


class Known(NamedTuple):
    """What a caller read of a tenant before its write transaction, so the step need not read
    it again under the write lock: the ledger's change ids, where the next row goes
    (``top``, as :class:`Recorded`), ``PRAGMA data_version`` read just before them, and the
    schema the file was found to have (``fingerprint``, None when it has no record, and its
    schema ``cookie``). Used only if ``data_version`` is unchanged under the lock: then no
    other connection committed to the file since."""

    ids: list[str]
    data_version: int
    fingerprint: str | None
    cookie: int
    top: int


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
    """Make the ledger table if missing, carrying over an earlier cinch's tables (in a write
    transaction of its own when the caller has none open)."""
    if _log_exists(conn):
        return
    if conn.in_transaction:
        _ensure_seeded_ledger(conn)
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        _ensure_seeded_ledger(conn)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _no_such_table(exc: sqlite3.OperationalError) -> bool:
    return str(exc).startswith("no such table")


def _log_exists(conn: sqlite3.Connection) -> bool:
    return conn.execute(_LOG_PRESENT).fetchone() is not None


def holds_ledger(conn: sqlite3.Connection) -> bool:
    """Whether the file has a ledger of cinch's (of today or of an earlier cinch)."""
    return _log_exists(conn) or "_cinch_ledger" in ledger_legacy.present(conn)


def _seed(conn: sqlite3.Connection) -> links.Seed | None:
    """For a file adopted in place that no change set was applied to yet: what it held when
    adopted, which stands in for the ledger it does not have (see ``cinch.stores.links``)."""
    return links.seed(_db_path(conn))


def _seed_rows(conn: sqlite3.Connection) -> list[LedgerRow]:
    seed = _seed(conn)
    if seed is None:
        return []
    return [LedgerRow(i, cid, commit, "") for i, (cid, commit) in enumerate(seed.changes, 1)]


def _rows_without_log(conn: sqlite3.Connection) -> list[LedgerRow]:
    """A file without the table: an earlier cinch's ledger, else its seed, else nothing."""
    tables = ledger_legacy.present(conn)
    if tables:
        return [LedgerRow(*row) for row in ledger_legacy.rows(conn, tables)]
    return _seed_rows(conn)


def read_ledger_rows(conn: sqlite3.Connection) -> list[LedgerRow]:
    """Every ledger row in application order; [] for a database without a ledger."""
    # Read first, and ask whether the table exists only when that fails: one statement for
    # every tenant cinch made, more for a file without a ledger.
    try:
        cur = conn.execute("SELECT seq, change_id, commit_id, applied_at FROM _cinch_log "
                           "WHERE change_id IS NOT NULL ORDER BY seq")
    except sqlite3.OperationalError as exc:
        if _no_such_table(exc) and not _log_exists(conn):
            return _rows_without_log(conn)
        raise
    return [LedgerRow(*row) for row in cur]


def read_ledger(conn: sqlite3.Connection) -> list[str]:
    """The change ids this tenant has, in the order they were applied."""
    try:
        joined = conn.execute(_READ_IDS).fetchone()[0]
    except sqlite3.OperationalError as exc:
        if _no_such_table(exc) and not _log_exists(conn):
            return [row.change_id for row in _rows_without_log(conn)]
        raise
    return joined.split("\n") if joined else []


def has_change(conn: sqlite3.Connection, change_id: str) -> bool:
    try:
        cur = conn.execute("SELECT 1 FROM _cinch_log WHERE change_id = ?", (change_id,))
    except sqlite3.OperationalError as exc:
        if _no_such_table(exc) and not _log_exists(conn):
            return change_id in read_ledger(conn)
        raise
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
    body: bytes | None = None,
    after: Hook | None = None,
    check: Check | None = None,
    ledger_ready: bool = False,
    known: Known | None = None,
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
    ``body`` (the change set's document) is kept beside the ledger row so the change can be
    unwound later without git; ``after`` runs inside the transaction once the statements did
    (restoring rows), ``check`` last with the new schema fingerprint (comparing the result
    with what was expected): raising in either rolls everything back. ``ledger_ready``: the
    caller just found the ledger table there (:func:`read_recorded`), so it is not looked
    for again; ``known``: what the caller read of the file just before (see
    :class:`Known`), taken as it is when no other connection committed since.
    """
    if check_first and has_change(conn, change_id):
        return False  # cheap read first: a sync over applied tenants never writes
    return _step(conn, change_id, commit_id, statements, rebuild, forward=True, body=body,
                 after=after, check=check, ready=ledger_ready, known=known)


def unwind_change(
    conn: sqlite3.Connection,
    change_id: str,
    commit_id: str,
    statements: Sequence[str],
    *,
    rebuild: bool = False,
    after: Hook | None = None,
    check: Check | None = None,
    ledger_ready: bool = False,
    known: Known | None = None,
) -> bool:
    """Take change set ``change_id`` out of the tenant: run its inverse ``statements`` and drop
    it from the ledger, atomically. False if the tenant does not hold it. Errors,
    ``ledger_ready`` and ``known`` as :func:`apply_change`."""
    return _step(conn, change_id, commit_id, statements, rebuild, forward=False, after=after,
                 check=check, ready=ledger_ready, known=known)


def _step(conn: sqlite3.Connection, change_id: str, commit_id: str, statements: Sequence[str],
          rebuild: bool, *, forward: bool, body: bytes | None = None,
          after: Hook | None = None, check: Check | None = None, ready: bool = False,
          known: Known | None = None) -> bool:
    _refuse_open_transaction(conn, change_id)
    if rebuild:
        _set_foreign_keys(conn, False)
    try:
        _begin(conn, change_id)
        try:
            prior: tuple[str, int] | None = None
            if known is not None and data_version(conn) == known.data_version:
                ids, top = list(known.ids), known.top  # no other connection committed since
                if known.fingerprint is not None and after is None:
                    prior = (known.fingerprint, known.cookie)
            else:
                # Read again under the write lock: another process may have moved it meanwhile.
                ids, top = _ledger_ids(conn, ready)
            if (change_id in ids) == forward:
                _rollback(conn)
                return False
            failure = _run_statements(conn, statements, rebuild)
            if failure is None:
                if after is not None:
                    after(conn)
                entry = None
                if forward:
                    # over the record, which goes one row further on: one page written
                    entry = (change_id, commit_id)
                    if body is not None:
                        _on_docs(conn, _ADD_DOC, (top, body))
                    ids.append(change_id)
                    top += 1
                else:
                    _on_docs(conn, "DELETE FROM _cinch_docs WHERE seq IN "
                             "(SELECT seq FROM _cinch_log WHERE change_id = ?)", (change_id,))
                    conn.execute("DELETE FROM _cinch_log WHERE change_id = ?", (change_id,))
                    ids.remove(change_id)
                fingerprint = record_state(conn, ids, prior=prior, statements=statements, at=top,
                                           entry=entry)
                if check is not None:
                    check(conn, fingerprint)
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
    verb = "failed on" if forward else "could not be unwound from"
    raise TenantError(
        f"change {change_id} {verb} {path}: {_describe(failure, len(statements))}",
        hint="the tenant was rolled back and is unchanged",
        path=path, change_id=change_id, commit_id=commit_id,
        statement=failure.statement, statement_index=failure.index, reason=failure.reason,
        sqlite_error=failure.sqlite_error, violations=[list(v) for v in failure.violations],
    )


def reset_ledger(conn: sqlite3.Connection, statements: Sequence[str],
                 changes: Sequence[tuple[str, bytes]], commit_id: str, *,
                 check: Hook | None = None) -> None:
    """Run ``statements`` and set the ledger to exactly ``changes`` (id, document), atomically:
    a repair. Foreign keys are checked before COMMIT; ``check`` may refuse the result."""
    _refuse_open_transaction(conn, "<repair>")
    _set_foreign_keys(conn, False)
    try:
        _begin(conn, "<repair>")
        try:
            _ensure_seeded_ledger(conn)
            failure = _run_statements(conn, statements, True)
            if failure is None:
                conn.execute("DELETE FROM _cinch_log")
                _on_docs(conn, "DELETE FROM _cinch_docs", ())
                _write_entries(conn, [(cid, commit_id, body) for cid, body in changes])
                record_state(conn, [cid for cid, _ in changes], at=len(changes) + 1)
                if check is not None:
                    check(conn)
                conn.execute("COMMIT")
                return
        except BaseException:
            _rollback(conn)
            raise
        _rollback(conn)
    finally:
        _set_foreign_keys(conn, True)
    path = _db_path(conn)
    raise TenantError(
        f"repair failed on {path}: {_describe(failure, len(statements))}",
        hint="the tenant was rolled back and is unchanged", path=path,
        statement=failure.statement, reason=failure.reason)


def _on_docs(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> None:
    """A write to the documents inside the caller's transaction. A file whose documents'
    table was dropped by hand gets it back, empty: the documents it held are gone, and a
    move back finds them in git instead."""
    try:
        conn.execute(sql, params)
    except sqlite3.OperationalError as exc:
        if not _no_such_table(exc):
            raise
        conn.execute(_CREATE_DOCS)
        conn.execute(sql, params)


def _ledger_ids(conn: sqlite3.Connection, ready: bool) -> tuple[list[str], int]:
    """Inside the caller's write transaction: the change ids the ledger holds and where its
    next row goes, the table made first where it is missing (``ready``: the caller just saw
    it). One statement for every tenant cinch made."""
    if not ready:
        _ensure_seeded_ledger(conn)
    recorded = _read_log(conn)
    assert recorded is not None  # the table is there
    return recorded.ids, recorded.top


def _ensure_seeded_ledger(conn: sqlite3.Connection) -> None:
    """The ledger table, inside the caller's write transaction. An earlier cinch's ledger is
    carried into it; a file adopted in place gets its first ledger here, from its seed; either
    is written with the step that called this, all or nothing."""
    if _log_exists(conn):
        return  # every tenant cinch made: one read
    legacy = ledger_legacy.present(conn)
    seed = None if "_cinch_ledger" in legacy else _seed(conn)
    conn.execute(_CREATE_LOG)
    conn.execute(_CREATE_DOCS)
    if legacy:
        ledger_legacy.upgrade(conn, legacy, _now())
    elif seed is not None:
        bodies = dict(seed.bodies)
        _write_entries(conn, [(cid, commit, bodies.get(cid)) for cid, commit in seed.changes])


def _write_entries(conn: sqlite3.Connection,
                   entries: Sequence[tuple[str, str, bytes | None]]) -> None:
    """Rows 1..n of an empty log (id, commit, document), in one transaction of the caller's."""
    now = _now()
    conn.executemany(_ADD_ROW, [(seq, cid, commit, now)
                                for seq, (cid, commit, _) in enumerate(entries, 1)])
    conn.executemany(_ADD_DOC, [(seq, body) for seq, (_, _, body) in enumerate(entries, 1)
                                if body is not None])


def seed_adopted(path: str | os.PathLike[str], changes: Sequence[tuple[str, bytes]],
                 commit_id: str, fingerprint: str) -> None:
    """Make an adopted file, copied under a name no one else opens yet, a tenant holding
    ``changes``: its ledger and recorded state (its schema is ``fingerprint`` already), and
    WAL mode, in one pass with no journal and no sync of its own (the caller syncs the file
    once and publishes it; a crash before that leaves a temporary file, never a tenant).
    Refused (:class:`TenantError`) if its rows break its own foreign keys, which a later
    rebuild would refuse too."""
    conn = sqlite3.connect(os.fspath(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        violations = conn.execute("PRAGMA foreign_key_check").fetchmany(_MAX_VIOLATIONS_REPORTED)
        if violations:
            shown = "; ".join(f"{table} rowid {rowid} references a missing {parent} row"
                              for table, rowid, parent, _ in violations)
            raise TenantError(f"its rows break its foreign keys: {shown}", path=os.fspath(path))
        conn.execute("BEGIN")
        conn.execute(_CREATE_LOG)
        conn.execute(_CREATE_DOCS)
        _write_entries(conn, [(cid, commit_id, body) for cid, body in changes])
        # no cookie: the file's schema was not hashed here, so the first drift check hashes it
        conn.execute(_RECORD_STATE, (len(changes) + 1, _now(), fingerprint,
                                     ledger_digest(cid for cid, _ in changes), None))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def seed_copy(source: str | os.PathLike[str], copy: str | os.PathLike[str]) -> None:
    """A copy of a file adopted in place that no change set reached yet (a branch's copy, a
    tenant copy): the copy is a tenant of cinch's own, so it gets the ledger its source's note
    stands in for, written into it."""
    seed = links.seed(source)
    if seed is None:
        return
    conn = sqlite3.connect(os.fspath(copy))
    try:
        held = holds_ledger(conn)
    finally:
        conn.close()
    if not held:
        commit = seed.changes[0][1] if seed.changes else ""
        seed_adopted(copy, seed.bodies, commit, seed.fingerprint)


# --- the tenant's own record of what cinch left in it ---------------------------------------


def ledger_digest(change_ids: Iterable[str]) -> str:
    """A digest of a set of change ids (order does not matter: the ledger is a set)."""
    ids = change_ids if isinstance(change_ids, list) else list(change_ids)
    # Every tenant of an apply digests the same ids, twice (the drift check, the record):
    # joining them is a small part of sorting and hashing them, so the join is the key.
    key = "\n".join(ids)
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
        if len(_DIGESTS) >= _DIGESTS_KEPT:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


_DIGESTS: dict[str, str] = {}  # ids joined in the order given -> their digest
_DIGESTS_KEPT = 64



def record_state(conn: sqlite3.Connection, ids: Iterable[str] | None = None, *,
                 prior: tuple[str, int] | None = None, statements: Sequence[str] = (),
                 at: int | None = None, entry: tuple[str, str] | None = None) -> str:
    """Write the schema fingerprint and ledger digest as they are now (inside the caller's
    transaction): what later drift checks compare the file against. Returns the fingerprint.
    ``ids``: the change ids the ledger holds, when the caller knows them (else read back).
    ``at``: the record's row, when the caller knows it is the last (else the record moves to
    the end); ``entry``: a change set's row (id, commit) written at ``at - 1`` in the same
    statement. ``prior``: the fingerprint and cookie the file had before ``statements`` ran in
    this transaction, when the caller knows them: SQLite writes a schema's text from the text
    before and the statement alone, so the fingerprint after is the one the first tenant of
    the same schema and statements had (kept per process) and is not hashed again.

    The schema cookie goes beside them: SQLite moves it with every schema change, so a file
    whose cookie is still the recorded one has the recorded schema, and :func:`drift` need not
    hash the schema again (a file whose cookie moved is hashed, as one without it)."""
    if at is None:
        conn.execute("DELETE FROM _cinch_log WHERE change_id IS NULL")
        at = int(conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM _cinch_log").fetchone()[0])
    if ids is None:
        ids = read_ledger(conn)
    cookie = schema_cookie(conn)
    key = None
    fingerprint = None
    if prior is not None:
        # the cookie's move is part of the key: the same statements move it alike
        key = (prior[0], cookie - prior[1], tuple(statements))
        fingerprint = _FINGERPRINTS_AFTER.get(key)
    if fingerprint is None:
        fingerprint = schema_fingerprint(conn)
        if key is not None:
            if len(_FINGERPRINTS_AFTER) >= _FINGERPRINTS_KEPT:
                _FINGERPRINTS_AFTER.clear()
            _FINGERPRINTS_AFTER[key] = fingerprint
    now = _now()
    if entry is None:
        conn.execute(_RECORD_STATE, (at, now, fingerprint, ledger_digest(ids), cookie))
    else:
        conn.execute(_ADD_AND_RECORD, (at - 1, *entry, now,
                                       at, now, fingerprint, ledger_digest(ids), cookie))
    return fingerprint


# (fingerprint before, cookie moved by, statements) -> fingerprint after; see record_state
_FINGERPRINTS_AFTER: dict[tuple[str, int, tuple[str, ...]], str] = {}
_FINGERPRINTS_KEPT = 256


def data_version(conn: sqlite3.Connection) -> int:
    """SQLite's ``PRAGMA data_version``: the same value twice on one connection means no other
    connection committed to the file in between."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def schema_cookie(conn: sqlite3.Connection) -> int:
    """SQLite's schema cookie: it moves with every schema change."""
    return int(conn.execute("PRAGMA schema_version").fetchone()[0])


class Recorded(NamedTuple):
    """What a tenant's file says of itself: the recorded state (as :func:`read_state`), the
    change ids of its ledger in the order applied (as :func:`read_ledger`), whether the
    ledger table was there (``ledger_ready`` for :func:`apply_change`), and where the next
    change set's row goes (``top``: the record's row, which moves one on; 0 when the table is
    not there)."""

    state: dict[str, str]
    ids: list[str]
    complete: bool
    top: int = 0


def _read_log(conn: sqlite3.Connection) -> Recorded | None:
    """The record and the ids in one statement; None when the table is missing."""
    try:
        row = conn.execute(_READ_RECORDED).fetchone()
    except sqlite3.OperationalError as exc:
        if _no_such_table(exc) and not _log_exists(conn):
            return None
        raise
    if row is None:
        return Recorded({}, [], True, 1)
    seq, change_id, fingerprint, digest, cookie, joined = row
    ids = joined.split("\n") if joined else []
    if change_id is not None:  # no record: the next row goes after the last
        return Recorded({}, ids, True, seq + 1)
    state = {"fingerprint": fingerprint or "", "ledger": digest or ""}
    if cookie is not None:
        state[_COOKIE] = str(cookie)
    return Recorded(state, ids, True, seq)


def read_recorded(conn: sqlite3.Connection) -> Recorded:
    """The state and the ledger in one statement (one snapshot) for every tenant cinch made;
    a file without the table is read as the separate readers read it."""
    recorded = _read_log(conn)
    if recorded is None:
        return Recorded(read_state(conn), read_ledger(conn), False)
    return recorded


def read_state(conn: sqlite3.Connection) -> dict[str, str]:
    """The recorded state ({} for a tenant made before cinch recorded it)."""
    recorded = _read_log(conn)
    if recorded is not None:
        return recorded.state
    tables = ledger_legacy.present(conn)
    if tables:
        return ledger_legacy.state(conn, tables)
    seed = _seed(conn)
    if seed is None:
        return {}
    return {"fingerprint": seed.fingerprint,
            "ledger": ledger_digest(cid for cid, _ in seed.changes)}


def drift(conn: sqlite3.Connection, held: Sequence[str] | None = None,
          state: dict[str, str] | None = None, *, cookie: int | None = None) -> str | None:
    """Why the tenant's file differs from cinch's record of it, or None when it does not
    (``held``, ``state`` and the schema ``cookie``: the ledger, the record and
    :func:`schema_cookie`, when the caller just read them).

    A tenant without a record (made by an older cinch) is taken as it is."""
    if state is None:
        state = read_state(conn)
    if not state:
        return None
    ids = read_ledger(conn) if held is None else held
    if state.get("ledger") != ledger_digest(ids):
        return "its ledger was edited outside cinch"
    recorded = state.get(_COOKIE)
    if recorded is not None and recorded == str(
            schema_cookie(conn) if cookie is None else cookie):
        return None  # no schema change since the record (see record_state)
    if state.get("fingerprint") != schema_fingerprint(conn):
        return "its schema was changed outside cinch"
    return None




def change_bodies(conn: sqlite3.Connection) -> dict[str, bytes]:
    """The documents of the change sets the tenant holds, by id (where they were kept)."""
    try:
        cur = conn.execute("SELECT l.change_id, d.body FROM _cinch_log l "
                           "JOIN _cinch_docs d ON d.seq = l.seq WHERE l.change_id IS NOT NULL")
    except sqlite3.OperationalError as exc:
        if not _no_such_table(exc):
            raise
        if _log_exists(conn):
            return {}  # the documents' table dropped by hand (see _on_docs)
        tables = ledger_legacy.present(conn)
        if tables:
            return ledger_legacy.bodies(conn, tables)
        seed = _seed(conn)
        return dict(seed.bodies) if seed is not None else {}
    return {cid: bytes(body) for cid, body in cur}


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
    digest = hashlib.sha256()
    for row in conn.execute(_USER_SCHEMA + " ORDER BY type, name"):
        digest.update(json.dumps(row, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def shape_fingerprint(conn: sqlite3.Connection) -> str:
    """sha256 over what the user schema *means*, not how its SQL reads: columns by name, with
    type, NOT NULL, default and key; foreign keys; indexes by their columns; views and
    triggers by their SQL. Two tenants that received the same change sets in another order
    (two clones, a rebase) differ in column order, so :func:`schema_fingerprint` tells them
    apart; this does not."""
    digest = hashlib.sha256()
    objects = conn.execute(_USER_SCHEMA + " ORDER BY type, name").fetchall()
    for kind, name, table, sql in objects:
        if kind == "table":
            quoted = '"' + name.replace('"', '""') + '"'
            columns = sorted(tuple(c[1:]) for c in conn.execute(f"PRAGMA table_xinfo({quoted})"))
            keys = sorted(tuple(k[2:]) for k in conn.execute(f"PRAGMA foreign_key_list({quoted})"))
            unique = sorted(
                (i[2], i[3], tuple(c[2] for c in conn.execute(
                    f"PRAGMA index_info(\"{i[1].replace(chr(34), chr(34) * 2)}\")")))
                for i in conn.execute(f"PRAGMA index_list({quoted})") if i[3] != "c")
            flags = " ".join(word for word in ("STRICT", "WITHOUT ROWID")
                             if word in (sql or "").upper().rsplit(")", 1)[-1])
            entry: Any = [kind, name, columns, keys, unique, flags]
        else:
            entry = [kind, name, table, " ".join((sql or "").split())]
        digest.update(json.dumps(entry, ensure_ascii=False, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()
