"""Fixtures for the tenant store tests: real SQLite files in tmp_path, no mocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cinch.stores import tenantstore as ts

SCHEMA = [
    "CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE child(id INTEGER PRIMARY KEY, "
    "parent_id INTEGER REFERENCES parent(id), note TEXT)",
    "CREATE INDEX child_parent ON child(parent_id)",
]


@pytest.fixture
def pool() -> Iterator[ts.ConnectionPool]:
    pool = ts.ConnectionPool(max_open=16)
    yield pool
    pool.close_all()


@pytest.fixture
def store(tmp_path: Path, pool: ts.ConnectionPool) -> ts.TenantStore:
    return ts.TenantStore(tmp_path / ".cinch" / "tenants", pool=pool)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A finalized template: the schema above, and two change sets in its ledger."""
    path = tmp_path / "templates" / "main.db"
    path.parent.mkdir(parents=True)
    conn = ts.connect(path)
    try:
        ts.apply_change(conn, "01A", "c1", SCHEMA[:2])
        ts.apply_change(conn, "01B", "c2", SCHEMA[2:])
    finally:
        conn.close()
    ts.finalize_template(path)
    return path


@pytest.fixture
def tenant(store: ts.TenantStore, template: Path) -> Path:
    return store.create_from_template(template, "main", "main", "acme")
