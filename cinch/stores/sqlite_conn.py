"""Opening tenant databases, and a bounded pool of open connections.

Every connection cinch opens goes through :func:`connect` so the pragmas are always the same:
WAL (readers never block the writer), ``synchronous=NORMAL`` (durable at checkpoints, safe in WAL),
a busy timeout, foreign keys on, and bounded WAL growth. Setup happens once per open; a pooled
connection is reused as is, so a point query costs what it costs on a raw ``sqlite3`` connection.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import quote_from_bytes

from cinch.errors import NotFound, TenantError
from cinch.stores import links

BUSY_TIMEOUT_MS = 5000
# WAL is checkpointed every ~1000 pages (~4 MiB at 4 KiB pages) and truncated back to this size
# afterwards, so a big transaction does not leave a big -wal file behind for every tenant.
WAL_AUTOCHECKPOINT_PAGES = 1000
JOURNAL_SIZE_LIMIT_BYTES = 8 * 1024 * 1024

# One executescript (no statement cache entries, one Python call) for the per-connection settings
# SQLite does not already have: the busy timeout is set by ``sqlite3.connect(timeout=...)``, and
# the WAL autocheckpoint only where this SQLite was built with another default (see _settings).
_SETTINGS = (
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES};"
)
_settings: str | None = None


def _settings_for(conn: sqlite3.Connection) -> str:
    """The settings script, decided once per process from how SQLite was built."""
    global _settings
    if _settings is None:
        default = f"DEFAULT_WAL_AUTOCHECKPOINT={WAL_AUTOCHECKPOINT_PAGES}"
        options = {row[0] for row in conn.execute("PRAGMA compile_options")}
        _settings = _SETTINGS if default in options else (
            _SETTINGS + f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES};")
    return _settings


class CinchConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` that remembers its file and mode.

    ``_cinch_guard`` is the query guard installed by :mod:`cinch.stores.query` (if any). Any
    foreign call to :meth:`set_authorizer` forgets it, so the guard's bookkeeping about which
    cached statements were authorized can never go stale.
    """

    path: str
    read_only: bool
    wal: bool  # in WAL mode (a file adopted in place may keep its rollback journal)
    _cinch_guard: Any
    _cinch_pinned: Any  # its PinnedReader, once pinned (cinch.stores.query)

    def set_authorizer(self, authorizer_callback: Any) -> None:
        self._cinch_guard = None
        super().set_authorizer(authorizer_callback)


def _uri(path: str, create: bool) -> str:
    # A URI with mode=rw so a typo never silently creates an empty tenant. Quoting escapes '%'
    # (branch keys contain it), '?' and '#'; it is what Path.as_uri does, without building a
    # Path on every open. An absolute path's quoting is kept: a tenant is opened again and
    # again, and quoting it cost a fifth of what SQLite takes to open it.
    absolute = path.startswith(os.sep)
    quoted = _QUOTED.get(path) if absolute else None
    if quoted is None:
        quoted = quote_from_bytes(os.fsencode(os.path.abspath(path)))
        if absolute:
            if len(_QUOTED) >= 8192:
                _QUOTED.clear()
            _QUOTED[path] = quoted
    return "file://" + quoted + ("?mode=rwc" if create else "?mode=rw")


_QUOTED: dict[str, str] = {}


def bare_reader(path: str) -> sqlite3.Connection:
    """A read-only connection with none of cinch's settings, for SQLite's backup: it reads
    pages, so the schema is never parsed (cinch's settings would parse it)."""
    uri = "file://" + quote_from_bytes(os.fsencode(os.path.abspath(path))) + "?mode=ro"
    return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                           timeout=BUSY_TIMEOUT_MS / 1000)


# Bytes 18 and 19 of a database's header: 2 and 2 in WAL mode, 1 and 1 in a rollback mode.
_MODE_BYTES = 18
_WAL_MODE = b"\x02\x02"
_ROLLBACK_MODE = b"\x01\x01"


@contextlib.contextmanager
def private_copy(path: str | os.PathLike[str]) -> Iterator[CinchConnection]:
    """A connection to a copy no one else can open yet (a tenant's copy before it is published
    under the tenant's name), for work that leaves no file beside it: the copy is switched to
    a rollback mode on disk (the two header bytes that say so, as SQLite's own switch writes
    them) and opened with its rollback journal in memory and no syncs; on leaving, it is put
    back in WAL mode, unsynced (the caller syncs it once before publishing it). A crash leaves
    a temporary file, swept later, never a tenant: that is what makes the journal unneeded.
    A WAL's -wal and -shm files, made and removed again for every copy, are most of what such
    a copy costs the file system."""
    p = os.fspath(path)
    fd = os.open(p, os.O_RDWR)
    try:
        mode = os.pread(fd, 2, _MODE_BYTES)
        if mode == _WAL_MODE:
            os.pwrite(fd, _ROLLBACK_MODE, _MODE_BYTES)
    finally:
        os.close(fd)
    conn = sqlite3.connect(_uri(p, False), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                           isolation_level=None, check_same_thread=False,
                           factory=CinchConnection)
    assert isinstance(conn, CinchConnection)
    try:
        conn.path, conn.read_only, conn._cinch_guard, conn.wal = p, False, None, False
        conn.executescript("PRAGMA journal_mode=MEMORY;PRAGMA synchronous=OFF;"
                           "PRAGMA foreign_keys=ON;")
        yield conn
    finally:
        conn.close()
    if mode == _WAL_MODE:
        fd = os.open(p, os.O_RDWR)
        try:
            os.pwrite(fd, _WAL_MODE, _MODE_BYTES)
        finally:
            os.close(fd)


def connect(
    path: str | os.PathLike[str], read_only: bool = False, *, create: bool | None = None
) -> CinchConnection:
    """Open a tenant database with cinch's pragmas.

    ``isolation_level=None``: cinch issues BEGIN/COMMIT itself. ``read_only`` sets
    ``query_only=ON`` (the file stays in WAL mode and shared with writers). ``create`` (default:
    true for writable connections) creates a missing file in WAL mode; without it a missing
    file raises :class:`NotFound` instead of becoming an empty database.
    """
    p = os.fspath(path)
    if create is None:
        create = not read_only
    try:
        conn = sqlite3.connect(
            _uri(p, create),
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=CinchConnection,
        )
    except sqlite3.Error as exc:
        if not create and not os.path.exists(p):
            raise NotFound(f"tenant database {p} does not exist", path=p) from exc
        raise TenantError(f"cannot open {p}: {exc}", path=p, reason=str(exc)) from exc
    assert isinstance(conn, CinchConnection)
    try:
        conn.path = p
        conn.read_only = read_only
        conn._cinch_guard = None
        conn.wal = True
        conn.executescript(_settings or _settings_for(conn))
        if links.seed(p) is not None:
            # A file adopted in place keeps the journal mode its owner chose; outside WAL,
            # NORMAL would not sync at every commit.
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA synchronous=FULL")
                conn.wal = False
            mode = "wal"
        else:
            # Setting WAL on a file already in WAL is a no-op that takes no lock.
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise TenantError(
                f"{p} could not be switched to WAL mode (journal_mode={mode})",
                path=p, hint="is the file on a network file system?",
            )
        if read_only:
            conn.execute("PRAGMA query_only=ON")
    except sqlite3.Error as exc:
        conn.close()
        raise TenantError(f"cannot set up {p}: {exc}", path=p, reason=str(exc)) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def checkpoint(conn: sqlite3.Connection, mode: str = "TRUNCATE") -> tuple[int, int, int]:
    """Checkpoint the WAL into the database file (after bulk work, before copying a file).

    Returns sqlite's ``(busy, wal_frames, checkpointed_frames)``; ``busy == 1`` means a reader
    kept the checkpoint from finishing.
    """
    if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
        raise ValueError(f"unknown checkpoint mode {mode!r}")
    row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _key(path: str | os.PathLike[str]) -> str:
    p = os.fspath(path)
    return p if p.startswith(os.sep) else os.path.abspath(p)


_PoolKey = tuple[str, bool]


class ConnectionPool:
    """An LRU cache of open connections keyed by ``(path, read_only)``, capped at ``max_open``.

    However many tenants exist, at most ``max_open`` files are open: a miss evicts the least
    recently used idle connection. A leased connection belongs to one thread until released;
    when every connection is leased, :meth:`acquire` waits up to ``acquire_timeout`` seconds.
    Several threads may hold connections to the same tenant at once (each gets its own).
    """

    def __init__(self, max_open: int = 64, *, acquire_timeout: float = 30.0) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.max_open = max_open
        self.acquire_timeout = acquire_timeout
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._idle: OrderedDict[_PoolKey, list[CinchConnection]] = OrderedDict()
        self._leased: dict[CinchConnection, _PoolKey] = {}
        self._doomed: set[CinchConnection] = set()  # leased, to be closed on release
        self._open = 0  # idle + leased + being opened
        self._waiting = 0  # threads blocked in acquire
        with _POOLS_LOCK:
            _POOLS.add(self)

    # -- leasing -------------------------------------------------------------------------------
    def connection(self, path: str | os.PathLike[str], read_only: bool = False) -> Lease:
        """``with pool.connection(path) as conn:`` leases a connection for the block."""
        return Lease(self, path, read_only)

    def acquire(self, path: str | os.PathLike[str], read_only: bool = False) -> CinchConnection:
        p = os.fspath(path)
        # startswith, not os.path.isabs: this runs on every checkout (a Python call costs).
        key = (p if p.startswith(os.sep) else os.path.abspath(p), read_only)
        victims: list[CinchConnection] = []
        deadline = None
        conn: CinchConnection | None
        with self._lock:
            while True:
                idle = self._idle.get(key)
                if idle:  # the hot path: a hit
                    conn = idle.pop()
                    if idle:
                        self._idle.move_to_end(key)
                    else:
                        del self._idle[key]
                    self._leased[conn] = key
                    break
                if self._open < self.max_open:
                    conn = None
                    break
                if self._idle:  # full: evict the least recently used idle connection
                    victims.append(self._pop_lru())
                    continue
                if deadline is None:
                    deadline = time.monotonic() + self.acquire_timeout
                remaining = deadline - time.monotonic()
                self._waiting += 1
                try:
                    if remaining <= 0 or not self._freed.wait(remaining):
                        raise TenantError(
                            f"all {self.max_open} pooled connections are in use",
                            hint="raise max_open or release connections sooner",
                        )
                finally:
                    self._waiting -= 1
            if conn is None:
                self._open += 1  # reserve the slot before opening outside the lock
        for victim in victims:
            _close_quietly(victim)
        if conn is not None:
            return conn
        try:
            # Never create: a query for a deleted tenant must fail, not resurrect an empty file.
            conn = connect(key[0], read_only, create=False)
        except BaseException:
            with self._lock:
                self._open -= 1
                if self._waiting:
                    self._freed.notify()
            raise
        with self._lock:
            self._leased[conn] = key
        return conn

    def release(self, conn: CinchConnection) -> None:
        guard = conn._cinch_guard
        if guard is not None:
            guard.active = False
        broken = False
        if conn.in_transaction:  # a caller bailed out mid-transaction: never hand that on
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                broken = True
        with self._lock:
            key = self._leased.pop(conn, None)
            if key is None:
                raise ValueError("connection is not leased from this pool")
            close = broken or (self._doomed and conn in self._doomed)
            if close:
                self._doomed.discard(conn)
                self._open -= 1
            else:
                idle = self._idle.get(key)
                if idle is None:
                    self._idle[key] = [conn]
                else:
                    idle.append(conn)
                    self._idle.move_to_end(key)
            if self._waiting:  # Condition.notify is not free: only when someone waits
                self._freed.notify()
        if close:
            _close_quietly(conn)

    def holds(self, path: str | os.PathLike[str], read_only: bool = False) -> bool:
        """Whether an idle connection to ``path`` is open (a lease would not open one)."""
        with self._lock:
            return (_key(path), read_only) in self._idle

    # -- closing -------------------------------------------------------------------------------
    def close_path(self, path: str | os.PathLike[str]) -> None:
        """Close every connection to ``path`` (leased ones when they are released)."""
        p = _key(path)
        self._close_matching(lambda k: k == p)

    def close_idle(self, path: str | os.PathLike[str]) -> None:
        """Close the idle connections to ``path`` (leased ones are left alone): for a caller
        done with the file. Closing it while its pages are still in the CPU's caches costs
        less than closing it later as the least recently used one."""
        with self._lock:
            victims = self._idle.pop((_key(path), False), None)
            if not victims:
                return
            self._open -= len(victims)
            if self._waiting:
                self._freed.notify_all()
        for conn in victims:
            _close_quietly(conn)

    def close_under(self, folder: str | os.PathLike[str]) -> None:
        """Close every connection to a file under ``folder`` (before deleting the folder)."""
        prefix = _key(folder).rstrip(os.sep) + os.sep
        self._close_matching(lambda k: k.startswith(prefix))

    def close_all(self) -> None:
        self._close_matching(lambda k: True)

    def _close_matching(self, match: Any) -> None:
        victims: list[CinchConnection] = []
        with self._lock:
            for key in [k for k in self._idle if match(k[0])]:
                conns = self._idle.pop(key)
                victims.extend(conns)
                self._open -= len(conns)
            for conn, key in self._leased.items():
                if match(key[0]):
                    self._doomed.add(conn)
            if self._waiting:
                self._freed.notify_all()
        for conn in victims:
            _close_quietly(conn)

    def _pop_lru(self) -> CinchConnection:
        key, conns = next(iter(self._idle.items()))
        conn = conns.pop(0)
        if not conns:
            del self._idle[key]
        self._open -= 1
        return conn

    # -- introspection -------------------------------------------------------------------------
    @property
    def open_count(self) -> int:
        with self._lock:
            return self._open

    @property
    def idle_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._idle.values())

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()


class Lease:
    """``with pool.connection(path) as conn:`` (a class: cheaper than @contextmanager)."""

    __slots__ = ("_conn", "_path", "_pool", "_read_only")

    def __init__(self, pool: ConnectionPool, path: str | os.PathLike[str], read_only: bool):
        self._pool = pool
        self._path = path
        self._read_only = read_only
        self._conn: CinchConnection | None = None

    def __enter__(self) -> CinchConnection:
        self._conn = self._pool.acquire(self._path, self._read_only)
        return self._conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn)


# Every live pool in the process, so deleting or renaming a tenant file closes its connections
# in all of them: a stale pooled connection would keep reading the unlinked file.
_POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()
_POOLS_LOCK = threading.Lock()


def close_path_everywhere(path: str | os.PathLike[str]) -> None:
    """Close connections to ``path`` in every :class:`ConnectionPool` of this process."""
    with _POOLS_LOCK:
        pools = list(_POOLS)
    for pool in pools:
        pool.close_path(path)


def close_under_everywhere(folder: str | os.PathLike[str]) -> None:
    """Close connections to files under ``folder`` in every pool of this process."""
    with _POOLS_LOCK:
        pools = list(_POOLS)
    for pool in pools:
        pool.close_under(folder)


def _close_quietly(conn: sqlite3.Connection) -> None:
    try:  # noqa: SIM105 (every tenant's close passes here: suppress costs an object, 2 calls)
        conn.close()
    except sqlite3.Error:
        pass
