"""Connections: pragmas, read-only mode, and the pool's cap, reuse and thread safety."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from cinch.errors import NotFound, TenantError
from cinch.stores import sqlite_conn
from cinch.stores import tenantstore as ts


def _open_db_files(folder: Path) -> int:
    """How many file descriptors of this process point at ``*.db`` files under ``folder``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)) and target.endswith(".db"):
            count += 1
    return count


def test_connect_sets_the_pragmas(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        def pragma(name: str) -> object:
            return conn.execute(f"PRAGMA {name}").fetchone()[0]

        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("busy_timeout") == 5000
        assert pragma("foreign_keys") == 1
        assert pragma("journal_size_limit") == sqlite_conn.JOURNAL_SIZE_LIMIT_BYTES
        assert pragma("wal_autocheckpoint") == sqlite_conn.WAL_AUTOCHECKPOINT_PAGES
        assert pragma("query_only") == 0
        assert conn.isolation_level is None
        assert conn.path == str(tenant) and conn.read_only is False
        # isolation_level=None: nothing happens behind our back, we BEGIN ourselves.
        conn.execute("INSERT INTO parent(name) VALUES ('x')")
        assert not conn.in_transaction
        with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced
            conn.execute("INSERT INTO child(parent_id) VALUES (999)")
        with pytest.raises(sqlite3.OperationalError, match="not authorized"):
            conn.execute("SELECT load_extension('x')")
    finally:
        conn.close()


def test_read_only_connection_stays_wal_and_refuses_writes(tenant: Path) -> None:
    conn = ts.connect(tenant, read_only=True)
    try:
        assert conn.execute("PRAGMA query_only").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO parent(name) VALUES ('x')")
        assert conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 0
    finally:
        conn.close()


def test_connect_never_creates_by_accident(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(NotFound):
        ts.connect(missing, create=False)
    with pytest.raises(NotFound):
        ts.connect(missing, read_only=True)
    assert not missing.exists()
    conn = ts.connect(tmp_path / "odd %2F name?#.db")  # URI metacharacters in the path
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    assert (tmp_path / "odd %2F name?#.db").exists()


def test_checkpoint_truncates_the_wal(tenant: Path) -> None:
    conn = ts.connect(tenant)
    try:
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.executemany("INSERT INTO parent(name) VALUES (?)", [(str(i),) for i in range(100)])
        assert Path(f"{tenant}-wal").stat().st_size > 0
        busy, _, _ = ts.checkpoint(conn)
        assert busy == 0
        assert Path(f"{tenant}-wal").stat().st_size == 0
        with pytest.raises(ValueError):
            ts.checkpoint(conn, "NOW; DROP TABLE parent")
    finally:
        conn.close()


def test_pool_caps_open_files(store: ts.TenantStore, template: Path) -> None:
    pool = ts.ConnectionPool(max_open=16)
    names = [f"t{i:03d}" for i in range(200)]
    store.create_many_from_template(template, "main", "main", names)
    folder = store.folder("main", "main")
    try:
        for round_ in range(2):
            for i, name in enumerate(names):
                with pool.connection(store.path("main", "main", name), read_only=i % 2 == 0) as c:
                    assert c.execute("SELECT count(*) FROM parent").fetchone()[0] == 0
                assert pool.open_count <= 16
                if i % 25 == 0:
                    assert _open_db_files(folder) <= 16
            assert pool.open_count == 16 and pool.idle_count == 16, round_
    finally:
        pool.close_all()
    assert pool.open_count == 0
    assert _open_db_files(folder) == 0


def test_pool_reuses_connections_per_path_and_mode(tenant: Path) -> None:
    pool = ts.ConnectionPool(max_open=4)
    try:
        with pool.connection(tenant) as first:
            pass
        with pool.connection(tenant) as again:
            assert again is first
        with pool.connection(tenant, read_only=True) as ro:
            assert ro is not first and ro.read_only
        with pool.connection(tenant) as a, pool.connection(tenant) as b:
            assert a is not b  # two leases of one tenant at once get two connections
        assert pool.open_count == 3
    finally:
        pool.close_all()


def test_pool_rolls_back_what_a_caller_left_open(tenant: Path) -> None:
    pool = ts.ConnectionPool(max_open=2)
    try:
        with pytest.raises(RuntimeError), pool.connection(tenant) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO parent(name) VALUES ('half')")
            raise RuntimeError("boom")
        with pool.connection(tenant) as conn:
            assert not conn.in_transaction
            assert conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 0
    finally:
        pool.close_all()


def test_pool_waits_then_times_out_when_every_connection_is_leased(
    store: ts.TenantStore, template: Path
) -> None:
    pool = ts.ConnectionPool(max_open=1, acquire_timeout=0.2)
    a, b = store.create_many_from_template(template, "main", "main", ["a", "b"])
    try:
        conn = pool.acquire(a)
        with pytest.raises(TenantError, match="in use"):
            pool.acquire(b)
        released = threading.Timer(0.05, pool.release, args=(conn,))
        released.start()
        pool.acquire_timeout = 5
        other = pool.acquire(b)  # waits for the release, evicts a's connection, opens b
        released.join()
        assert pool.open_count == 1
        pool.release(other)
        with pytest.raises(ValueError):
            pool.release(other)
    finally:
        pool.close_all()


def test_close_path_closes_leased_connections_on_release(tenant: Path) -> None:
    pool = ts.ConnectionPool(max_open=4)
    conn = pool.acquire(tenant)
    pool.close_path(tenant)
    conn.execute("SELECT 1")  # still usable by its holder until released
    pool.release(conn)
    assert pool.open_count == 0
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")


def test_pool_is_thread_safe(store: ts.TenantStore, template: Path) -> None:
    names = [f"t{i}" for i in range(12)]
    paths = store.create_many_from_template(template, "main", "main", names)
    pool = ts.ConnectionPool(max_open=4)
    errors: list[BaseException] = []
    peak = 0

    def work(seed: int) -> None:
        nonlocal peak
        try:
            for i in range(60):
                path = paths[(seed * 7 + i) % len(paths)]
                with pool.connection(path, read_only=i % 3 == 0) as conn:
                    if conn.read_only:
                        conn.execute("SELECT count(*) FROM parent").fetchone()
                    else:
                        conn.execute("INSERT INTO parent(name) VALUES (?)", (f"{seed}-{i}",))
                    peak = max(peak, pool.open_count)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert peak <= 4
        total = 0
        for path in paths:
            with pool.connection(path) as conn:
                total += conn.execute("SELECT count(*) FROM parent").fetchone()[0]
        assert total == 8 * 40  # two writes in every three operations
    finally:
        pool.close_all()
