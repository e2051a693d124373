"""The tenant catalog: one small SQLite file (``.cinch/catalog.db``) recording, per database and
branch, each tenant's name, the digest of the change sets it holds, whether it is still lazy
(not copied from its parent branch yet) and why it drifted, if a move found it so.

It lets ``cinch status`` and a page of ``tenant list`` answer without opening every tenant file:
a status is one ``GROUP BY`` over a handful of distinct digests, a page one range read.

Crash safety, without a global lock: every change to tenants is written to the catalog *before*
the files change, as the state they will have, marked with the changing operation's token, and
the mark is cleared once the files changed (:meth:`Catalog.changing`). A token names its process,
which holds an ``flock`` on ``.cinch/catalog-locks/<process>`` for as long as it lives. A reader
that meets a marked row whose process no longer holds its lock knows that process died midway:
it asks the file (``probe``) what is true and corrects the row. So after a crash only the rows
that were being changed are checked again, lazily, by the next reader of their branch. A branch
the catalog has never seen complete (an older project, a crash while its rows were being
dropped) is rebuilt from its files when first read.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import itertools
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    db TEXT NOT NULL,
    branch TEXT NOT NULL,
    name TEXT NOT NULL,
    ledger TEXT,
    applied INTEGER NOT NULL DEFAULT 0,
    lazy INTEGER NOT NULL DEFAULT 0,
    drifted TEXT,
    pending TEXT,
    PRIMARY KEY (db, branch, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tenants_pending ON tenants (pending, db, branch)
    WHERE pending IS NOT NULL;
-- How many tenants of a branch share a state, kept by triggers: a status reads a few rows.
CREATE TABLE IF NOT EXISTS counts (
    db TEXT NOT NULL,
    branch TEXT NOT NULL,
    ledger TEXT NOT NULL,
    lazy INTEGER NOT NULL,
    drifted INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (db, branch, ledger, lazy, drifted)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS tenants_counted AFTER INSERT ON tenants BEGIN
    INSERT INTO counts VALUES (new.db, new.branch, coalesce(new.ledger, ''), new.lazy,
                               new.drifted IS NOT NULL, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS tenants_uncounted AFTER DELETE ON tenants BEGIN
    UPDATE counts SET n = n - 1 WHERE db = old.db AND branch = old.branch
        AND ledger = coalesce(old.ledger, '') AND lazy = old.lazy
        AND drifted = (old.drifted IS NOT NULL);
END;
CREATE TRIGGER IF NOT EXISTS tenants_recounted AFTER UPDATE OF ledger, lazy, drifted ON tenants
WHEN coalesce(old.ledger, '') != coalesce(new.ledger, '') OR old.lazy != new.lazy
    OR (old.drifted IS NULL) != (new.drifted IS NULL) BEGIN
    UPDATE counts SET n = n - 1 WHERE db = old.db AND branch = old.branch
        AND ledger = coalesce(old.ledger, '') AND lazy = old.lazy
        AND drifted = (old.drifted IS NOT NULL);
    INSERT INTO counts VALUES (new.db, new.branch, coalesce(new.ledger, ''), new.lazy,
                               new.drifted IS NOT NULL, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TABLE IF NOT EXISTS branches (
    db TEXT NOT NULL,
    branch TEXT NOT NULL,
    PRIMARY KEY (db, branch)
) WITHOUT ROWID;
"""
_BATCH = 2000
_UPSERT = ("INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
           "ledger = excluded.ledger, applied = excluded.applied, lazy = excluded.lazy, "
           "drifted = excluded.drifted, pending = excluded.pending")


@dataclass(frozen=True)
class Record:
    """What the catalog knows of one tenant."""

    name: str
    ledger: str | None
    applied: int = 0
    lazy: bool = False
    drifted: str | None = None

    def state(self, head_ledger: str, head_changes: int) -> tuple[str, str]:
        """``tenant list``'s state and detail of a copied tenant, against the branch head's
        ledger digest and number of change sets."""
        if self.drifted:
            return "drifted", self.drifted
        if self.ledger == head_ledger:
            return "up to date", ""
        return "behind", (f"holds {self.applied} change set(s), the head {head_changes}: "
                          "`cinch sync` moves it")


# The truth about one tenant, from its file (None: there is no such tenant).
Probe = Callable[[str, str, str], Record | None]
# Every tenant of a branch, from its files (for a branch the catalog has not seen complete).
Scan = Callable[[str, str], Iterator[Record]]


class Catalog:
    """The catalog at ``path``; ``probe`` and ``scan`` read the tenant files when the catalog
    cannot be trusted (see the module's docstring)."""

    def __init__(self, path: str | os.PathLike[str], probe: Probe, scan: Scan) -> None:
        self.path = Path(path)
        self.locks = self.path.parent / "catalog-locks"
        self.probe = probe
        self.scan = scan
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._process = ""
        self._lock_fd = -1
        self._ops = itertools.count()

    # --- connection and process identity --------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # a forked child opens its own
            self._conn = None
            self._process = ""
            self._lock_fd = -1
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut loses only the tail
            conn.execute("PRAGMA recursive_triggers=ON")  # so deletes by REPLACE are counted
            conn.executescript(_SCHEMA)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
                if self._lock_fd >= 0:
                    os.close(self._lock_fd)
                    (self.locks / self._process).unlink(missing_ok=True)
            self._conn, self._process, self._lock_fd = None, "", -1

    def _token(self) -> str:
        """A new operation's token: ``<process>:<n>``, the process holding its lock file."""
        self._db()
        if not self._process:
            process = uuid.uuid4().hex[:16]
            self.locks.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.locks / process, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._process, self._lock_fd = process, fd
            self._sweep_locks()
            atexit.register(self.close)
        return f"{self._process}:{next(self._ops)}"

    def _sweep_locks(self) -> None:
        """Lock files of processes that are gone and left no marked row (a killed CLI)."""
        for entry in os.scandir(self.locks):
            process = entry.name
            if process == self._process or self._alive(process):
                continue
            if self._db().execute("SELECT 1 FROM tenants INDEXED BY tenants_pending WHERE "
                                  "pending > ? AND pending < ? LIMIT 1",
                                  (f"{process}:", f"{process};")).fetchone() is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)

    def _alive(self, process: str) -> bool:
        if process == self._process:
            return True
        try:
            fd = os.open(self.locks / process, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return True
            raise
        finally:
            os.close(fd)
        return False

    # --- writing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def changing(self, db: str, branch: str, after: Iterable[Record] = (),
                 gone: Iterable[str] = ()) -> Iterator[set[str]]:
        """Around a change to tenant files: ``after`` are the tenants as they will be, ``gone``
        the names that will no longer exist. Written marked first; unmarked (and ``gone``
        dropped) when the block succeeds; asked of the files again when it fails.

        The block gets a set to add the names of tenants whose change did not happen as
        announced (a move refused or failed while others of the same batch went on): those
        are asked of their files at the end, the rest unmarked."""
        gone = list(gone)
        with self._lock:
            self.ensure_built(db, branch)
            token = self._token()
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for chunk in _chunks(after):
                    conn.executemany(
                        _UPSERT,
                        [(db, branch, r.name, r.ledger, r.applied, int(r.lazy), r.drifted,
                          token) for r in chunk])
                conn.executemany(
                    "UPDATE tenants SET pending = ? WHERE db = ? AND branch = ? AND name = ?",
                    [(token, db, branch, name) for name in gone])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        recheck: set[str] = set()
        try:
            yield recheck
        except BaseException:
            with self._lock:
                self._heal(db, branch, token)
            raise
        with self._lock:
            truth = [(name, self.probe(db, branch, name)) for name in sorted(recheck)]
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("DELETE FROM tenants WHERE db = ? AND branch = ? AND name = ? "
                             "AND pending = ?", [(db, branch, name, token) for name in gone])
            for name, record in truth:
                if record is None:
                    conn.execute("DELETE FROM tenants WHERE db = ? AND branch = ? AND name = ? "
                                 "AND pending = ?", (db, branch, name, token))
                else:
                    conn.execute(_UPSERT, (db, branch, name, record.ledger, record.applied,
                                           int(record.lazy), record.drifted, None))
            conn.execute("UPDATE tenants SET pending = NULL WHERE pending = ?", (token,))
            conn.execute("COMMIT")

    def put(self, db: str, branch: str, record: Record) -> None:
        """Record a fact learnt without changing the file (say, that a tenant drifted)."""
        with self._lock:
            self._db().execute(
                "INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO UPDATE "
                "SET ledger = excluded.ledger, applied = excluded.applied, lazy = excluded.lazy,"
                " drifted = excluded.drifted WHERE pending IS NULL",
                (db, branch, record.name, record.ledger, record.applied, int(record.lazy),
                 record.drifted))

    def forget(self, db: str, branch: str, name: str) -> None:
        """A tenant found missing from its files (removed behind cinch's back)."""
        with self._lock:
            self._db().execute("DELETE FROM tenants WHERE db = ? AND branch = ? AND name = ? "
                               "AND pending IS NULL", (db, branch, name))

    def forget_branch(self, db: str, branch: str) -> None:
        """Before a branch's files go: the branch is no longer complete in the catalog (a
        crash from here on leaves it to be rebuilt from whatever files remain)."""
        with self._lock:
            self._db().execute("DELETE FROM branches WHERE db = ? AND branch = ?", (db, branch))

    def drop_branch(self, db: str, branch: str) -> None:
        """After a branch's files are gone: its rows go, and it is complete (empty)."""
        with self._lock:
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM tenants WHERE db = ? AND branch = ?", (db, branch))
            conn.execute("INSERT OR IGNORE INTO branches VALUES (?, ?)", (db, branch))
            conn.execute("COMMIT")

    def fork(self, db: str, parent: str, child: str, empty: bool) -> None:
        """A new branch lists its parent's tenants, every one lazy (one statement, no file)."""
        with self._lock:
            self.ensure_built(db, parent)
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM tenants WHERE db = ? AND branch = ?", (db, child))
            conn.execute(
                "INSERT INTO tenants (db, branch, name, ledger, applied, lazy) "
                "SELECT db, ?, name, CASE WHEN ? THEN NULL ELSE ledger END, "
                "CASE WHEN ? THEN 0 ELSE applied END, 1 FROM tenants "
                "WHERE db = ? AND branch = ?", (child, empty, empty, db, parent))
            conn.execute("INSERT OR IGNORE INTO branches VALUES (?, ?)", (db, child))
            conn.execute("COMMIT")

    # --- healing --------------------------------------------------------------------------

    def ensure_built(self, db: str, branch: str) -> None:
        """Rebuild the branch from its files if the catalog has never seen it complete."""
        with self._lock:
            conn = self._db()
            if conn.execute("SELECT 1 FROM branches WHERE db = ? AND branch = ?",
                            (db, branch)).fetchone():
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Rows another live process is changing keep their mark; the rest are redone.
                conn.execute("DELETE FROM tenants WHERE db = ? AND branch = ? AND pending IS "
                             "NULL", (db, branch))
                for chunk in _chunks(self.scan(db, branch)):
                    conn.executemany(
                        "INSERT OR IGNORE INTO tenants VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                        [(db, branch, r.name, r.ledger, r.applied, int(r.lazy), r.drifted)
                         for r in chunk])
                conn.execute("INSERT INTO branches VALUES (?, ?)", (db, branch))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def heal(self, db: str, branch: str) -> int:
        """Correct, from the files, the rows of this branch left marked by a process that
        died while changing them; how many were checked."""
        with self._lock:
            self.ensure_built(db, branch)
            tokens = [t for (t,) in self._db().execute(
                "SELECT DISTINCT pending FROM tenants INDEXED BY tenants_pending "
                "WHERE pending IS NOT NULL AND db = ? AND branch = ?", (db, branch))]
            checked = 0
            dead: set[str] = set()
            for token in tokens:
                process = token.partition(":")[0]
                if process in dead or not self._alive(process):
                    dead.add(process)
                    checked += self._heal(db, branch, token)
            for process in dead:
                (self.locks / process).unlink(missing_ok=True)
            return checked

    def _heal(self, db: str, branch: str, token: str) -> int:
        conn = self._db()
        names = [n for (n,) in conn.execute(
            "SELECT name FROM tenants WHERE pending = ? AND db = ? AND branch = ?",
            (token, db, branch))]
        for chunk in _chunks(names):
            truth = [(name, self.probe(db, branch, name)) for name in chunk]
            conn.execute("BEGIN IMMEDIATE")
            for name, record in truth:
                if record is None:
                    conn.execute("DELETE FROM tenants WHERE db = ? AND branch = ? AND name = ?",
                                 (db, branch, name))
                else:
                    conn.execute(_UPSERT, (db, branch, name, record.ledger, record.applied,
                                           int(record.lazy), record.drifted, None))
            conn.execute("COMMIT")
        return len(names)

    # --- reading --------------------------------------------------------------------------

    def counts(self, db: str, branch: str, head_ledger: str) -> dict[str, int]:
        """How many tenants of the branch are at the head's ledger, behind it (or elsewhere in
        history), drifted, or lazy: one pass over the branch's rows in SQLite."""
        self.heal(db, branch)
        out = {"total": 0, "up_to_date": 0, "behind": 0, "drifted": 0, "lazy": 0}
        with self._lock:
            rows = self._db().execute(
                "SELECT ledger, lazy, drifted, n FROM counts WHERE db = ? AND branch = ? "
                "AND n > 0", (db, branch)).fetchall()
        for ledger, lazy, drifted, count in rows:
            out["total"] += count
            if lazy:
                out["lazy"] += count
            elif drifted:
                out["drifted"] += count
            elif ledger == head_ledger:
                out["up_to_date"] += count
            else:
                out["behind"] += count
        return out

    def page(self, db: str, branch: str, after: str | None = None,
             limit: int = 100) -> list[Record]:
        """Up to ``limit`` tenants in name order, after the name ``after``."""
        self.heal(db, branch)
        with self._lock:
            rows = self._db().execute(
                "SELECT name, ledger, applied, lazy, drifted FROM tenants WHERE db = ? AND "
                "branch = ? AND name > ? ORDER BY name LIMIT ?",
                (db, branch, after or "", limit)).fetchall()
        return [Record(n, led, a, bool(lz), d) for n, led, a, lz, d in rows]

    def ledgers(self, db: str, branch: str) -> dict[str, str]:
        """Each copied tenant's ledger digest, where the catalog is sure of it (not drifted,
        no change under way)."""
        self.heal(db, branch)
        with self._lock:
            return dict(self._db().execute(
                "SELECT name, ledger FROM tenants WHERE db = ? AND branch = ? AND NOT lazy AND "
                "drifted IS NULL AND pending IS NULL AND ledger IS NOT NULL", (db, branch)))

    def get(self, db: str, branch: str, name: str) -> Record | None:
        with self._lock:
            row = self._db().execute(
                "SELECT name, ledger, applied, lazy, drifted FROM tenants WHERE db = ? AND "
                "branch = ? AND name = ?", (db, branch, name)).fetchone()
        return None if row is None else Record(row[0], row[1], row[2], bool(row[3]), row[4])


def _chunks(items: Iterable[Record] | Iterable[str]) -> Iterator[list]:  # type: ignore[type-arg]
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, _BATCH)):
        yield chunk
