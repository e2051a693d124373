"""`--in-place`: the files stay where they are, registered as tenants by a link. Adoption
writes nothing into them; change sets later apply to them like to any tenant (the ledger
written with the first one); deleting the tenant forgets the link and keeps the file.

The CLI's entry point runs in this process (the same code and rendering); the confirmation a
command asks for without a terminal runs the real `cinch` command."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

import cinch
from cinch.errors import NotFound, UsageError
from tests.conftest import Cli, run_cinch

SCHEMA = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE,
                       CHECK (length(name) > 0));
CREATE TABLE visit (customer_id INTEGER NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
                    day TEXT NOT NULL, PRIMARY KEY (customer_id, day)) WITHOUT ROWID;
"""


@pytest.fixture
def cli(cli_in_process: Cli) -> Cli:
    return cli_in_process


def _files(folder: Path, count: int = 6) -> None:
    folder.mkdir()
    for i in range(count):
        conn = sqlite3.connect(folder / f"shop{i}.db")
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO customer(name) VALUES (?)", (f"Customer {i}",))
        conn.execute("INSERT INTO visit VALUES (1, '2026-12-01')")
        conn.commit()
        conn.close()
    # an outlier: listed, never touched
    with sqlite3.connect(folder / "odd.db") as conn:
        conn.execute("CREATE TABLE other (x)")
    conn.close()


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _json(cli: Cli, *args: str) -> object:
    return json.loads(cli(*args, "-f", "json", check=True).stdout)


def test_adopting_in_place_writes_nothing_and_later_changes_reach_the_files(
        tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "shops"
    _files(src)
    before = _digests(src)
    project = tmp_path / "acme"
    done = cli("init", str(project), "--from", str(src), "--in-place")
    assert done.rc == 0, done
    assert "linked in place" in done.stdout and "odd.db: left alone" in done.stdout
    run = ("-C", str(project))

    # Nothing in the source folder changed: same bytes, no journal, WAL or cinch table.
    assert _digests(src) == before
    assert sorted(os.listdir(src)) == sorted(before)
    status = _json(cli, *run, "status")
    assert status["databases"][0]["tenants"]["total"] == 7  # six files and main
    assert status["databases"][0]["tenants"]["up_to_date"] == 7
    names = {row["name"] for row in _json(cli, *run, "tenant", "list")}
    assert names == {"main"} | {f"shop{i}" for i in range(6)}
    rows = _json(cli, *run, "query", "-t", "shop3", "SELECT name FROM customer")
    assert rows == [{"name": "Customer 3"}]
    cli(*run, "sync", check=True)
    assert _digests(src) == before  # reading and syncing wrote nothing either

    # A change set applies to the files where they are, with its ledger, in their own
    # journal mode (never switched to WAL).
    cli(*run, "column", "add", "customer", "email:TEXT", check=True)
    head = cinch.open(project).database().changes()
    for i in range(6):
        conn = sqlite3.connect(src / f"shop{i}.db")
        try:
            assert conn.execute("SELECT name, email FROM customer").fetchall() == [
                (f"Customer {i}", None)]
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            assert [r[0] for r in conn.execute(
                "SELECT change_id FROM _cinch_log WHERE change_id IS NOT NULL ORDER BY seq"
            )] == [c.id for c in head]
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            # the owner's own program still writes its file
            conn.execute("INSERT INTO customer(name, email) VALUES ('New', 'n@x')")
            conn.commit()
        finally:
            conn.close()
    assert not any(n.endswith(("-wal", "-shm", "-journal")) for n in os.listdir(src))
    assert _digests(src)["odd.db"] == before["odd.db"]
    status = _json(cli, *run, "status")
    assert status["databases"][0]["tenants"]["up_to_date"] == 7
    # cinch reads what the owner's program wrote
    rows = _json(cli, *run, "query", "-t", "shop0", "SELECT count(*) AS n FROM customer")
    assert rows == [{"n": 2}]


def test_a_refused_change_leaves_the_files_untouched(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "shops"
    _files(src, count=3)
    with sqlite3.connect(src / "shop1.db") as conn:  # a duplicate name in one file
        conn.execute("INSERT INTO customer(name) VALUES ('Customer 1')")
    conn.close()
    project = tmp_path / "acme"
    cli("init", str(project), "--from", str(src), "--in-place", check=True)
    before = _digests(src)
    refused = cli("-C", str(project), "index", "create", "customer", "name", "--unique")
    assert refused.rc != 0 and "shop1" in refused.stderr, refused
    assert _digests(src) == before
    with cinch.open(project) as p:
        assert len(p.database().changes()) == 1


def test_deleting_renaming_and_a_missing_file(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "shops"
    _files(src, count=3)
    project = tmp_path / "acme"
    cli("init", str(project), "--from", str(src), "--in-place", check=True)
    run = ("-C", str(project))
    before = _digests(src)

    # Deleting the tenant forgets it, and says so; the owner's file stays, byte for byte.
    asked = run_cinch(*run, "tenant", "delete", "shop0")  # no terminal to confirm on
    assert asked.rc != 0 and "forgetting tenant 'shop0'" in asked.stderr, asked
    done = cli(*run, "tenant", "delete", "shop0", "--yes", check=True)
    assert "forgotten" in done.stdout and str(src / "shop0.db") in done.stdout, done
    assert _digests(src) == before
    names = {row["name"] for row in _json(cli, *run, "tenant", "list")}
    assert "shop0" not in names

    # Renaming renames the tenant, not the file.
    cli(*run, "tenant", "rename", "shop1", "north", check=True)
    assert _digests(src) == before
    rows = _json(cli, *run, "query", "-t", "north", "SELECT name FROM customer")
    assert rows == [{"name": "Customer 1"}]

    # A file moved away: every command that needs it names the path; a change is refused
    # before it is committed, and forgetting the tenant is still possible.
    (src / "shop2.db").rename(tmp_path / "elsewhere.db")
    missing = str(src / "shop2.db")
    for args in (("sync",), ("query", "-t", "shop2", "SELECT 1"),
                 ("column", "add", "customer", "email:TEXT")):
        result = cli(*run, *args)
        assert result.rc != 0 and missing in result.stderr, (args, result)
    with cinch.open(project) as p:
        assert len(p.database().changes()) == 1
        with pytest.raises(NotFound, match="missing"):
            p.database().tenants.get("shop2").query("SELECT 1")
    cli(*run, "tenant", "delete", "shop2", "--yes", check=True)
    assert (tmp_path / "elsewhere.db").exists()
    cli(*run, "column", "add", "customer", "email:TEXT", check=True)
    with sqlite3.connect(src / "shop1.db") as conn:
        assert "email" in [r[1] for r in conn.execute("PRAGMA table_info(customer)")]
    conn.close()


def test_in_place_with_repair_is_refused_before_anything(tmp_path: Path) -> None:
    src = tmp_path / "shops"
    _files(src, count=2)
    project = cinch.init(tmp_path / "acme")
    with pytest.raises(UsageError, match="--repair"):
        project.adopt(src, mode="in_place", repair=True)
    assert project.database().changes() == []
    project.close()


def test_a_change_failing_on_an_in_place_file_leaves_it_as_it_was(tmp_path: Path,
                                                                  cli: Cli) -> None:
    """The ledger is written from the note in the change's own transaction: a statement that
    fails rolls back the ledger with it, and the file is byte for byte what it was."""
    from cinch.stores import tenantstore as ts

    src = tmp_path / "shops"
    _files(src, count=2)
    project = tmp_path / "acme"
    cli("init", str(project), "--from", str(src), "--in-place", check=True)
    before = _digests(src)
    with cinch.open(project) as p:
        held = [c.id for c in p.database().changes()]
        with p.tenants.store.connection("main", "main", "shop0") as conn:
            assert ts.read_ledger(conn) == held  # from the note: the file has no ledger
            assert ts.drift(conn) is None
            with pytest.raises(cinch.errors.TenantError, match="no such table"):
                ts.apply_change(conn, "01ZZZZZZZZZZZZZZZZZZZZZZZZ", "c0ffee",
                                ["ALTER TABLE customer ADD COLUMN email TEXT",
                                 "INSERT INTO nowhere VALUES (1)"])
    assert _digests(src) == before

    # A branch made afterwards gets copies; the files stay the main branch's tenants.
    cli("-C", str(project), "branch", "feature", check=True)
    cli("-C", str(project), "switch", "feature", check=True)
    cli("-C", str(project), "column", "add", "customer", "email:TEXT", check=True)
    assert _digests(src) == before
    cli("-C", str(project), "switch", "main", check=True)
    cli("-C", str(project), "column", "add", "customer", "phone:TEXT", check=True)
    with sqlite3.connect(src / "shop1.db") as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(customer)")]
    conn.close()
    assert columns == ["id", "name", "phone"]
