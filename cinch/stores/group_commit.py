"""Commits to many tenant files made durable together: two file-system syncs for a group of
files instead of SQLite's own syncs in each one.

Applying a change set to a tenant in WAL mode costs SQLite several syncs per file: the new
WAL's header at the first commit, the WAL again before a checkpoint copies it into the file,
the file after it. Across thousands of small tenants those waits are most of an apply. In a
group, each file's connection runs with ``synchronous=OFF`` and no automatic checkpoint, so
what it commits stays in its WAL and the database file itself is not written. :meth:`finish`
then

1. syncs the file system (syncfs(2)): every WAL is on disk, so every commit is durable;
2. checkpoints each WAL into its file (PASSIVE: the WAL stays whole);
3. syncs the file system again: every database file is on disk;

and hands the connections back to their pool with the usual pragmas, so closing one later has
nothing left to copy and only removes its WAL. A power cut before ``finish`` returns loses at
most the group's commits, never a file's consistency: the database files were not written
before step 2, SQLite ignores WAL frames of a transaction that did not all reach the disk, and
a WAL is removed only after step 3. Callers report a tenant done only after ``finish``.

Only where the platform has syncfs (Linux); elsewhere :func:`available` is false and each file
syncs as usual. A file not in WAL mode (one adopted in place that kept its rollback journal) is
left to its own syncs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from types import TracebackType

from cinch.errors import TenantError
from cinch.stores.sqlite_conn import WAL_AUTOCHECKPOINT_PAGES, CinchConnection, ConnectionPool

_DEFERRED = "PRAGMA synchronous=OFF; PRAGMA wal_autocheckpoint=0;"
_USUAL = f"PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES};"

_syncfs: Callable[[int], int] | None = None
_looked = False


def _find_syncfs() -> Callable[[int], int] | None:
    global _syncfs, _looked
    if not _looked:
        # ctypes only here: most commands never apply to a group of tenants
        import ctypes

        try:
            fn = ctypes.CDLL(None, use_errno=True).syncfs
        except (OSError, AttributeError):
            fn = None
        if fn is not None:
            fn.argtypes = [ctypes.c_int]
            fn.restype = ctypes.c_int

            def call(fd: int) -> int:
                if fn(fd) != 0:
                    return ctypes.get_errno() or -1
                return 0

            _syncfs = call
        _looked = True
    return _syncfs


def available() -> bool:
    """Whether groups can be used here (the platform has syncfs)."""
    return _find_syncfs() is not None


def sync_filesystem(folder: str) -> None:
    """Write every dirty page of the file system holding ``folder`` to the disk and wait."""
    syncfs = _find_syncfs()
    if syncfs is None:
        raise TenantError("this platform cannot sync a file system", path=folder)
    # A directory, never a database file: closing any descriptor of a file drops every POSIX
    # lock this process holds on it, SQLite's included.
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        err = syncfs(fd)
    finally:
        os.close(fd)
    if err:
        raise TenantError(
            f"the file system holding {folder} could not write tenant files to the disk: "
            f"{os.strerror(err) if err > 0 else 'unknown error'}",
            path=folder, hint="check the disk; then `cinch sync` finishes the apply")


class GroupCommit:
    """A group of tenant files written with deferred syncs (see the module's docstring).

    ``with group.connection(path) as conn:`` leases a connection from ``pool``; one that
    committed anything stays leased by the group until :meth:`finish`, so the pool never
    closes it (a close would checkpoint unsynced frames). Thread-safe: workers add files
    concurrently. Keep a group smaller than the pool leaves free for the workers."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._held: list[CinchConnection] = []
        self._lock = threading.Lock()

    def connection(self, path: str | os.PathLike[str]) -> _GroupLease:
        return _GroupLease(self, path)

    def __len__(self) -> int:
        return len(self._held)

    def _hold(self, conn: CinchConnection) -> None:
        with self._lock:
            self._held.append(conn)

    def finish(self) -> None:
        """Make every held file's commits durable and give its connection back."""
        with self._lock:
            held, self._held = self._held, []
        if not held:
            return
        try:
            folders = _one_folder_per_device(held)
            for folder in folders:
                sync_filesystem(folder)
            for conn in held:
                # A reader elsewhere may keep part of a WAL from being copied: that part is
                # durable already and a later checkpoint (with syncs) copies it.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            for folder in folders:
                sync_filesystem(folder)
        finally:
            for conn in held:
                _give_back(self._pool, conn)


def _one_folder_per_device(conns: list[CinchConnection]) -> list[str]:
    # A file adopted in place is a link to a file that may live on another file system.
    named = {os.path.dirname(os.path.realpath(conn.path) if os.path.islink(conn.path)
                             else conn.path) for conn in conns}
    folders: dict[int, str] = {}
    for folder in sorted(named):
        try:
            device = os.stat(folder).st_dev
        except OSError:
            continue  # gone meanwhile: nothing of it to sync
        folders.setdefault(device, folder)
    return list(folders.values())


def _give_back(pool: ConnectionPool, conn: CinchConnection) -> None:
    try:
        conn.executescript(_USUAL)
    except sqlite3.Error:
        # A connection that cannot be put back to normal syncs is never reused.
        pool.close_path(conn.path)
    pool.release(conn)


class _GroupLease:
    __slots__ = ("_changes", "_conn", "_deferred", "_group", "_path")

    def __init__(self, group: GroupCommit, path: str | os.PathLike[str]) -> None:
        self._group = group
        self._path = path
        self._conn: CinchConnection | None = None
        self._deferred = False
        self._changes = 0

    def __enter__(self) -> CinchConnection:
        conn = self._group._pool.acquire(self._path)
        try:
            if conn.wal:  # known since it was opened: no journal_mode query per lease
                conn.executescript(_DEFERRED)
                self._deferred = True
        except BaseException:
            self._group._pool.release(conn)
            raise
        self._changes = conn.total_changes
        self._conn = conn
        return conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        pool = self._group._pool
        if not self._deferred:
            pool.release(conn)
            return
        if conn.in_transaction:  # a caller bailed out mid-transaction
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pool.close_path(conn.path)
        if conn.total_changes == self._changes:
            _give_back(pool, conn)  # nothing committed: nothing to sync
        else:
            self._group._hold(conn)  # earlier steps of a failed move did commit
