"""Turning a tenant file into the ledger form an earlier cinch wrote: three tables, the ids
in ``_cinch_ledger``, the documents in ``_cinch_changes``, the record in ``_cinch_state``."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def to_legacy(path: str | Path, *, state: bool = True, changes: bool = True) -> None:
    """Rewrite the ledger of ``path`` (closed by every other connection) as an earlier cinch
    kept it; ``state``/``changes``: whether that cinch had the record and documents yet."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE _cinch_ledger(seq INTEGER PRIMARY KEY, change_id TEXT NOT "
                     "NULL UNIQUE, commit_id TEXT NOT NULL, applied_at TEXT NOT NULL)")
        conn.execute("INSERT INTO _cinch_ledger SELECT seq, change_id, commit_id, applied_at "
                     "FROM _cinch_log WHERE change_id IS NOT NULL")
        if changes:
            conn.execute("CREATE TABLE _cinch_changes(change_id TEXT PRIMARY KEY, "
                         "body BLOB NOT NULL) WITHOUT ROWID")
            conn.execute("INSERT INTO _cinch_changes SELECT l.change_id, d.body "
                         "FROM _cinch_log l JOIN _cinch_docs d ON d.seq = l.seq")
        if state:
            conn.execute("CREATE TABLE _cinch_state(key TEXT PRIMARY KEY, value TEXT NOT NULL) "
                         "WITHOUT ROWID")
            fingerprint, digest = conn.execute(
                "SELECT fingerprint, ledger FROM _cinch_log WHERE change_id IS NULL").fetchone()
            conn.executemany("INSERT INTO _cinch_state VALUES (?, ?)",
                             [("fingerprint", fingerprint), ("ledger", digest)])
        conn.execute("DROP TABLE _cinch_log")
        conn.execute("DROP TABLE _cinch_docs")
        conn.execute("COMMIT")
    finally:
        conn.close()
