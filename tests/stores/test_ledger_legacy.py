"""Tenant files of an earlier cinch (the ledger in three tables) are read as they are and
carried into the one table by their first move, all or nothing with it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cinch.errors import TenantError
from cinch.stores import tenantstore as ts
from tests.stores.legacy import to_legacy

LEGACY = {"_cinch_ledger", "_cinch_changes", "_cinch_state"}
CURRENT = {"_cinch_log", "_cinch_docs"}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}


@pytest.fixture
def tenant(tenant: Path) -> Path:
    """The store's tenant, its change sets' documents kept (as every move keeps them)."""
    conn = sqlite3.connect(tenant)
    with conn:
        conn.execute("INSERT OR REPLACE INTO _cinch_docs SELECT seq, CAST('{\"id\": \"' || "
                     "change_id || '\"}' AS BLOB) FROM _cinch_log WHERE change_id IS NOT NULL")
    conn.close()
    return tenant


def _read(path: Path) -> tuple[object, ...]:
    conn = ts.connect(path)
    try:
        return (ts.read_ledger(conn), [r[:3] for r in ts.read_ledger_rows(conn)],
                # the cookie aside: carrying the tables over moves it
                {k: v for k, v in ts.read_state(conn).items() if k != "schema_version"},
                ts.change_bodies(conn), ts.drift(conn),
                ts.has_change(conn, "01A"), ts.has_change(conn, "01Z"))
    finally:
        conn.close()


def test_an_earlier_ledger_reads_as_the_same_ledger(tenant: Path) -> None:
    before = _read(tenant)
    ts.close_path_everywhere(tenant)
    to_legacy(tenant)
    assert _read(tenant) == before
    conn = ts.connect(tenant)
    try:
        assert _tables(conn) >= LEGACY and not _tables(conn) & CURRENT
        assert ts.holds_ledger(conn)
        recorded = ts.read_recorded(conn)
        assert recorded.ids == ["01A", "01B"] and not recorded.complete
    finally:
        conn.close()


@pytest.mark.parametrize(("state", "changes"), [(True, True), (False, True), (False, False)])
def test_the_first_move_carries_the_ledger_over(tenant: Path, state: bool,
                                                changes: bool) -> None:
    bodies = _read(tenant)[3]
    ts.close_path_everywhere(tenant)
    to_legacy(tenant, state=state, changes=changes)
    conn = ts.connect(tenant)
    try:
        assert ts.apply_change(conn, "01C", "c3", ["CREATE TABLE added(x)"], body=b"{}") is True
        tables = _tables(conn)
        assert tables >= CURRENT and not tables & LEGACY
        assert ts.read_ledger(conn) == ["01A", "01B", "01C"]
        assert [r.commit_id for r in ts.read_ledger_rows(conn)] == ["c1", "c2", "c3"]
        kept = ts.change_bodies(conn)
        assert kept == ({**bodies, "01C": b"{}"} if changes else {"01C": b"{}"})
        assert ts.read_state(conn)["ledger"] == ts.ledger_digest(["01A", "01B", "01C"])
        assert ts.drift(conn) is None
        # and it moves back as any tenant does
        assert ts.unwind_change(conn, "01C", "c2", ["DROP TABLE added"]) is True
        assert ts.read_ledger(conn) == ["01A", "01B"] and ts.drift(conn) is None
    finally:
        conn.close()


def test_a_failed_first_move_leaves_the_earlier_ledger_as_it_was(tenant: Path) -> None:
    ts.close_path_everywhere(tenant)
    to_legacy(tenant)
    before = _read(tenant)
    conn = ts.connect(tenant)
    try:
        with pytest.raises(TenantError):
            ts.apply_change(conn, "01C", "c3", ["CREATE TABLE broken(x"])
        assert _tables(conn) >= LEGACY and not _tables(conn) & CURRENT
    finally:
        conn.close()
    assert _read(tenant) == before


def test_ensure_ledger_carries_an_earlier_ledger_over(tenant: Path) -> None:
    before = _read(tenant)
    ts.close_path_everywhere(tenant)
    to_legacy(tenant)
    conn = ts.connect(tenant)
    try:
        ts.ensure_ledger(conn)
        assert not _tables(conn) & LEGACY and not conn.in_transaction
    finally:
        conn.close()
    assert _read(tenant) == before
