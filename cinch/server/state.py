"""The server's own state: API keys, merge requests, comments, approvals.

It lives in ``.cinch/server/state.db`` (local, never in git): review state is about this server,
not about the schema, so it must not travel with the repository. One SQLite file in WAL mode,
shared by the server and by ``cinch keys`` in another process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cinch.errors import AlreadyExists, NotFound

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL,
  scope TEXT NOT NULL,
  database TEXT,
  branch TEXT,
  created_at TEXT NOT NULL,
  tenant TEXT,
  timeout_ms INTEGER
);
CREATE TABLE IF NOT EXISTS merge_requests (
  number INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL,
  target TEXT NOT NULL,
  state TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  merged_commit TEXT,
  merged_by TEXT,
  merged_at TEXT,
  closed_by TEXT,
  closed_at TEXT,
  check_json TEXT,
  checked_source TEXT,
  checked_target TEXT,
  checked_at TEXT
);
CREATE INDEX IF NOT EXISTS merge_requests_state ON merge_requests(state, number);
CREATE TABLE IF NOT EXISTS comments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mr INTEGER NOT NULL REFERENCES merge_requests(number),
  author TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_mr ON comments(mr, id);
CREATE TABLE IF NOT EXISTS approvals (
  mr INTEGER NOT NULL REFERENCES merge_requests(number),
  approver TEXT NOT NULL,
  source_head TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (mr, approver)
);
"""
# What each version adds to a state.db made by the one before it.
_UPGRADES = {
    2: "ALTER TABLE api_keys ADD COLUMN tenant TEXT;"
       "ALTER TABLE api_keys ADD COLUMN timeout_ms INTEGER;",
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_path(state_dir: Path) -> Path:
    return Path(state_dir) / "server" / "state.db"


@dataclass
class KeyRow:
    id: str
    name: str
    hash: str
    scope: str
    database: str | None
    branch: str | None
    created_at: str
    tenant: str | None = None  # a glob of tenant names (None: any)
    timeout_ms: int | None = None  # the key's own query budget (None: the server's)


@dataclass
class Approval:
    approver: str
    source_head: str
    created_at: str


@dataclass
class Comment:
    id: int
    author: str
    body: str
    created_at: str


@dataclass
class MergeRequestRow:
    number: int
    title: str
    description: str
    source: str
    target: str
    state: str  # open, closed, merged
    author: str
    created_at: str
    updated_at: str
    merged_commit: str | None = None
    merged_by: str | None = None
    merged_at: str | None = None
    closed_by: str | None = None
    closed_at: str | None = None
    check: dict[str, Any] | None = None
    checked_source: str | None = None
    checked_target: str | None = None
    checked_at: str | None = None
    approvals: list[Approval] = field(default_factory=list)


_MR_COLUMNS = ("number, title, description, source, target, state, author, created_at, "
               "updated_at, merged_commit, merged_by, merged_at, closed_by, closed_at, "
               "check_json, checked_source, checked_target, checked_at")


class StateStore:
    """Thread-safe access to ``state.db`` (one connection, one lock: the traffic is small)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = self._open()
        with self._lock:
            self._upgrade()
        # A second connection only to ask whether *another* connection changed the file
        # (PRAGMA data_version ignores this connection's own commits, by design).
        self._watch = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _upgrade(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have just upgraded it.
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                script = _SCHEMA
            else:
                script = "".join(_UPGRADES[v] for v in range(version + 1, SCHEMA_VERSION + 1))
            for statement in filter(str.strip, script.split(";")):
                self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._watch.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def data_version(self) -> int:
        """Changes when another connection (another process: ``cinch keys``) commits."""
        with self._lock:
            return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    # --- keys -----------------------------------------------------------------------------

    def add_key(self, row: KeyRow) -> None:
        try:
            with self._tx() as conn:
                conn.execute("INSERT INTO api_keys (id, name, hash, scope, database, branch, "
                             "created_at, tenant, timeout_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (row.id, row.name, row.hash, row.scope, row.database, row.branch,
                              row.created_at, row.tenant, row.timeout_ms))
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"an API key named {row.name!r} already exists",
                                hint="revoke it first, or choose another name",
                                key=row.name) from exc

    def api_keys(self) -> list[KeyRow]:
        rows = self._read("SELECT id, name, hash, scope, database, branch, created_at, tenant, "
                          "timeout_ms FROM api_keys ORDER BY name")
        return [KeyRow(*r) for r in rows]

    def delete_key(self, name: str) -> None:
        with self._tx() as conn:
            if conn.execute("DELETE FROM api_keys WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no API key named {name!r}", key=name)

    # --- merge requests -------------------------------------------------------------------

    def add_merge_request(self, *, title: str, description: str, source: str, target: str,
                          author: str) -> int:
        stamp = now()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO merge_requests (title, description, source, target, state, author,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
                (title, description, source, target, author, stamp, stamp))
            return int(cur.lastrowid or 0)

    def merge_request(self, number: int) -> MergeRequestRow:
        rows = self._read(f"SELECT {_MR_COLUMNS} FROM merge_requests WHERE number = ?",
                          (number,))
        if not rows:
            raise NotFound(f"no merge request #{number}", merge_request=number)
        mr = _mr(rows[0])
        mr.approvals = [Approval(*r) for r in self._read(
            "SELECT approver, source_head, created_at FROM approvals WHERE mr = ? "
            "ORDER BY created_at", (number,))]
        return mr

    def merge_requests(self, *, state: str | None = None, source: str | None = None,
                       target: str | None = None) -> list[MergeRequestRow]:
        where, params = [], []
        for column, value in (("state", state), ("source", source), ("target", target)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT number FROM merge_requests {'WHERE ' + ' AND '.join(where) if where else ''}"
        numbers = [r[0] for r in self._read(sql + " ORDER BY number DESC", tuple(params))]
        return [self.merge_request(n) for n in numbers]

    def update_merge_request(self, number: int, **values: Any) -> None:
        if "check" in values:
            values["check_json"] = json.dumps(values.pop("check"), default=str)
        values["updated_at"] = now()
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as conn:
            conn.execute(f"UPDATE merge_requests SET {sets} WHERE number = ?",
                         (*values.values(), number))

    def record_check(self, number: int, check: dict[str, Any], source: str, target: str) -> None:
        # A re-check is not an edit: updated_at stays.
        with self._tx() as conn:
            conn.execute("UPDATE merge_requests SET check_json = ?, checked_source = ?, "
                         "checked_target = ?, checked_at = ? WHERE number = ?",
                         (json.dumps(check, default=str), source, target, now(), number))

    def approve(self, number: int, approver: str, source_head: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO approvals VALUES (?, ?, ?, ?) ON CONFLICT (mr, approver) "
                         "DO UPDATE SET source_head = excluded.source_head, "
                         "created_at = excluded.created_at",
                         (number, approver, source_head, now()))

    def add_comment(self, number: int, author: str, body: str) -> Comment:
        stamp = now()
        with self._tx() as conn:
            cur = conn.execute("INSERT INTO comments (mr, author, body, created_at) "
                               "VALUES (?, ?, ?, ?)", (number, author, body, stamp))
            return Comment(int(cur.lastrowid or 0), author, body, stamp)

    def comments(self, number: int) -> list[Comment]:
        return [Comment(*r) for r in self._read(
            "SELECT id, author, body, created_at FROM comments WHERE mr = ? ORDER BY id",
            (number,))]


def _mr(row: tuple[Any, ...]) -> MergeRequestRow:
    values = list(row)
    check = json.loads(values[14]) if values[14] else None
    return MergeRequestRow(*values[:14], check, *values[15:])  # type: ignore[arg-type]
