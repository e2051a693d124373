"""Tenants written by an earlier cinch keep their ledger in three tables: ``_cinch_ledger``
(the ids), ``_cinch_changes`` (their documents) and ``_cinch_state`` (the record). This reads
them as they are, for the readers that never write (status, drift, the catalog), and carries
them into today's log and documents inside the first write transaction that moves the tenant
(:func:`upgrade`), so a file is read in either form and written in one.
"""

from __future__ import annotations

import sqlite3

TABLES = ("_cinch_ledger", "_cinch_changes", "_cinch_state")
_PRESENT = ("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN "
            f"{TABLES!r}")
Row = tuple[int, str, str, str]


def present(conn: sqlite3.Connection) -> set[str]:
    """Which of the three tables the file has."""
    return {row[0] for row in conn.execute(_PRESENT)}


def rows(conn: sqlite3.Connection, tables: set[str]) -> list[Row]:
    """(seq, change id, commit id, applied at) in the order applied."""
    if "_cinch_ledger" not in tables:
        return []
    return list(conn.execute(
        "SELECT seq, change_id, commit_id, applied_at FROM _cinch_ledger ORDER BY seq"))


def state(conn: sqlite3.Connection, tables: set[str]) -> dict[str, str]:
    """The record ({} for a tenant made before cinch kept one)."""
    if "_cinch_state" not in tables:
        return {}
    return dict(conn.execute("SELECT key, value FROM _cinch_state"))


def bodies(conn: sqlite3.Connection, tables: set[str]) -> dict[str, bytes]:
    if "_cinch_changes" not in tables:
        return {}
    return {cid: bytes(body) for cid, body in conn.execute(
        "SELECT change_id, body FROM _cinch_changes")}


def upgrade(conn: sqlite3.Connection, tables: set[str], now: str) -> None:
    """Inside the caller's write transaction, with ``_cinch_log`` and ``_cinch_docs`` just
    made: copy the ledger, the documents and the record into them (the record last, as it
    always is), then drop the three tables. All or nothing with the step that called it."""
    if "_cinch_ledger" in tables:
        conn.execute(
            "INSERT INTO _cinch_log(seq, change_id, commit_id, applied_at) "
            "SELECT seq, change_id, commit_id, applied_at FROM _cinch_ledger ORDER BY seq")
        if "_cinch_changes" in tables:
            conn.execute(
                "INSERT INTO _cinch_docs(seq, body) SELECT l.seq, c.body FROM _cinch_ledger l "
                "JOIN _cinch_changes c ON c.change_id = l.change_id")
    record = state(conn, tables)
    if record.get("fingerprint"):
        cookie = record.get("schema_version")
        conn.execute(
            "INSERT INTO _cinch_log(seq, applied_at, fingerprint, ledger, schema_version) "
            "VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM _cinch_log), ?, ?, ?, ?)",
            (now, record["fingerprint"], record.get("ledger", ""),
             int(cookie) if cookie and cookie.isdigit() else None))
    for table in TABLES:
        if table in tables:
            conn.execute(f"DROP TABLE {table}")
