"""A group of tenant files committed with deferred syncs: the database files are not written
until the group finishes (what keeps them whole through a power cut), and after it each file
holds its commits by itself, with its connection back to the usual syncs."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from cinch.stores import group_commit, links
from cinch.stores.sqlite_conn import WAL_AUTOCHECKPOINT_PAGES, ConnectionPool, connect

pytestmark = pytest.mark.skipif(not group_commit.available(), reason="no syncfs here")


def _tenants(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"t{i}.db"
        conn = connect(path)
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.close()
        paths.append(path)
    return paths


def _file_alone(path: Path, into: Path) -> sqlite3.Connection:
    """The database file copied without its WAL: what a file-level backup would hold."""
    shutil.copyfile(path, into)
    return sqlite3.connect(into)


def test_files_are_untouched_until_the_group_finishes_then_hold_their_commits(
        tmp_path: Path) -> None:
    paths = _tenants(tmp_path, 5)
    before = {p: p.read_bytes() for p in paths}
    pool = ConnectionPool(max_open=16)
    group = group_commit.GroupCommit(pool)
    for path in paths:
        with group.connection(path) as conn:
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 0
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ALTER TABLE users ADD COLUMN nick TEXT")
            conn.execute("INSERT INTO users (name, nick) VALUES ('ann', 'a')")
            conn.execute("COMMIT")
    assert len(group) == 5
    assert all(p.read_bytes() == before[p] for p in paths)  # everything is in the WALs
    # readers see the commits meanwhile
    with pool.connection(paths[0], read_only=True) as reader:
        assert reader.execute("SELECT nick FROM users").fetchall() == [("a",)]
    group.finish()
    assert len(group) == 0
    for i, path in enumerate(paths):
        alone = _file_alone(path, tmp_path / f"copy{i}.db")
        assert alone.execute("SELECT name, nick FROM users").fetchall() == [("ann", "a")]
        alone.close()
        with pool.connection(path) as conn:  # the same connection, back to the usual syncs
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == \
                WAL_AUTOCHECKPOINT_PAGES
    assert pool.open_count == 6  # given back, not closed (five writers, one reader)
    pool.close_all()


def test_a_file_that_committed_nothing_goes_straight_back(tmp_path: Path) -> None:
    (path,) = _tenants(tmp_path, 1)
    pool = ConnectionPool(max_open=4)
    group = group_commit.GroupCommit(pool)
    with group.connection(path) as conn:
        conn.execute("SELECT count(*) FROM users").fetchone()
    assert len(group) == 0 and pool.idle_count == 1
    with pool.connection(path) as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    pool.close_all()


def test_a_transaction_left_open_is_rolled_back_and_earlier_commits_kept(
        tmp_path: Path) -> None:
    (path,) = _tenants(tmp_path, 1)
    pool = ConnectionPool(max_open=4)
    group = group_commit.GroupCommit(pool)
    with pytest.raises(RuntimeError), group.connection(path) as conn:
        conn.execute("INSERT INTO users (name) VALUES ('kept')")  # autocommit
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO users (name) VALUES ('lost')")
        raise RuntimeError("a step failed")
    assert len(group) == 1  # the first insert committed: it must be synced
    group.finish()
    alone = _file_alone(path, tmp_path / "copy.db")
    assert alone.execute("SELECT name FROM users").fetchall() == [("kept",)]
    alone.close()
    pool.close_all()


def test_a_file_outside_wal_keeps_its_own_syncs(tmp_path: Path) -> None:
    path = tmp_path / "rollback.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    raw.close()
    # A file adopted in place keeps its owner's rollback journal (the only way cinch holds
    # a connection outside WAL), so the group leaves it to SQLite's own syncs.
    links.remember(links.Seed(str(path.resolve()), (), (), ""))
    pool = ConnectionPool(max_open=4)
    group = group_commit.GroupCommit(pool)
    with group.connection(path) as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        conn.execute("INSERT INTO users (name) VALUES ('x')")
    assert len(group) == 0
    pool.close_all()


def test_syncing_a_folder_that_is_gone_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        group_commit.sync_filesystem(str(tmp_path / "missing"))
    group_commit.sync_filesystem(str(tmp_path))
