"""`cinch init --from`: 50 files, 3 with a hand-added column; the plan first, outliers left alone
unless --repair, source files never written.

Through the CLI's entry point in this process (an interpreter's start per call would be most of
the time); a refusal's exit code through the real `cinch` command."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from cinch.stores.tenantstore import shape_fingerprint
from tests.conftest import Cli, run_cinch

SCHEMA = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE,
                       CHECK (length(name) > 0));
CREATE TABLE invoice (customer_id INTEGER NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
                      number INTEGER NOT NULL, total REAL DEFAULT 0,
                      PRIMARY KEY (customer_id, number)) WITHOUT ROWID;
CREATE INDEX invoice_total ON invoice(total) WHERE total > 0;
"""


@pytest.fixture
def cli(cli_in_process: Cli) -> Cli:
    return cli_in_process


def _files(folder: Path, count: int = 50, odd: tuple[int, ...] = (7, 21, 42)) -> None:
    folder.mkdir()
    for i in range(count):
        conn = sqlite3.connect(folder / f"shop{i:02d}.db")
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO customer(name) VALUES (?)", (f"customer {i}",))
        conn.execute("INSERT INTO invoice VALUES (1, ?, ?)", (i, i * 1.5))
        if i in odd:
            conn.execute("ALTER TABLE customer ADD COLUMN note TEXT")
        conn.commit()
        conn.close()


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _tenant(project: Path, name: str) -> Path:
    return next((project / ".cinch").rglob(f"main/**/{name}.db"))


def test_outliers_are_listed_and_left_alone(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "shops"
    _files(src)
    before = _digests(src)
    dry = cli("init", str(tmp_path / "dry"), "--from", str(src), "--dry-run", "-f", "json")
    assert dry.rc == 0, dry
    plan = json.loads(dry.stdout)
    outliers = sorted(Path(f["path"]).name for f in plan["files"] if f["status"] != "adopt")
    assert outliers == ["shop07.db", "shop21.db", "shop42.db"]
    assert all("note" in f["difference"][0] for f in plan["files"] if f["status"] != "adopt")
    assert not (tmp_path / "dry").exists()  # --dry-run stops at the plan

    done = cli("init", str(tmp_path / "acme"), "--from", str(src))
    assert done.rc == 0, done
    assert "shop07.db: left alone" in done.stdout and "column note" not in done.stdout
    project = tmp_path / "acme"
    names = cli("-C", str(project), "tenant", "list", "-f", "json", check=True)
    tenants = {row["name"] for row in json.loads(names.stdout)}
    assert {f"shop{i:02d}" for i in range(50) if i not in (7, 21, 42)} <= tenants
    assert not tenants & {"shop07", "shop21", "shop42"}
    assert _digests(src) == before  # copied, never written
    schema_sql = (project / "schema/main/schema.sql").read_text()
    assert "WITHOUT ROWID" in schema_sql and "WHERE total > 0" in schema_sql

    # Later commands work on the adopted tables, and every tenant follows.
    cli("-C", str(project), "column", "add", "customer", "email:TEXT", check=True)
    for i in (0, 49):
        with sqlite3.connect(_tenant(project, f"shop{i:02d}")) as conn:
            assert conn.execute("SELECT name, email FROM customer").fetchall() == [
                (f"customer {i}", None)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_repair_brings_outliers_to_the_majority_with_their_rows(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "shops"
    _files(src, count=10, odd=(3, 5, 8))
    before = _digests(src)
    done = cli("init", str(tmp_path / "acme"), "--from", str(src), "--repair", "-f", "json")
    assert done.rc == 0, done
    plan = json.loads(done.stdout)
    assert plan["adopted"] == 10
    assert sorted(f["tenant"] for f in plan["files"] if f["status"] == "repair") == [
        "shop03", "shop05", "shop08"]
    with sqlite3.connect(src / "shop00.db") as conn:
        majority = shape_fingerprint(conn)
    for name in ("shop03", "shop05", "shop08"):
        with sqlite3.connect(_tenant(tmp_path / "acme", name)) as conn:
            assert shape_fingerprint(conn) == majority
            assert "note" not in {r[1] for r in conn.execute("PRAGMA table_info(customer)")}
            i = int(name[4:])
            assert conn.execute("SELECT name FROM customer").fetchall() == [(f"customer {i}",)]
            assert conn.execute("SELECT number, total FROM invoice").fetchall() == [(i, i * 1.5)]
    assert _digests(src) == before
    status = cli("-C", str(tmp_path / "acme"), "tenant", "list", "-f", "json", check=True)
    assert {row["state"] for row in json.loads(status.stdout)} == {"up to date"}


def test_a_folder_without_sqlite_files_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "junk"
    src.mkdir()
    (src / "a.db").write_text("not a database")
    result = run_cinch("init", str(tmp_path / "acme"), "--from", str(src))
    assert result.rc != 0 and "can be adopted" in result.stderr
    assert not (tmp_path / "acme").exists()


def test_db_adopt_adds_a_second_database(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "shops"
    _files(src, count=3, odd=())
    before = _digests(src)
    project = tmp_path / "acme"
    cli("init", str(project), check=True)
    refused = cli("-C", str(project), "db", "adopt", str(src), "--db", "main")
    assert refused.rc != 0 and "exists already" in refused.stderr
    in_place = cli("-C", str(project), "db", "adopt", str(src), "--db", "shops", "--in-place",
                   "--repair")  # repairing would write the files adopting in place never writes
    assert in_place.rc != 0 and "--copy --repair" in in_place.stderr
    done = cli("-C", str(project), "db", "adopt", str(src), "--db", "shops", "-f", "json")
    assert done.rc == 0, done
    assert json.loads(done.stdout)["adopted"] == 3
    cli("-C", str(project), "--db", "shops", "column", "add", "invoice", "paid:INTEGER",
        check=True)
    with sqlite3.connect(_tenant(project, "shop01")) as conn:
        assert "paid" in {r[1] for r in conn.execute("PRAGMA table_info(invoice)")}
        assert conn.execute("SELECT number FROM invoice").fetchall() == [(1,)]
    conn.close()
    assert _digests(src) == before
    listed = json.loads(cli("-C", str(project), "db", "list", "-f", "json", check=True).stdout)
    assert {row["name"] for row in listed} == {"main", "shops"}


def test_a_path_or_pattern_that_cannot_be_read_is_refused_by_name(tmp_path: Path,
                                                                  cli: Cli) -> None:
    too_long = tmp_path / ("x" * 5000)
    result = cli("init", str(tmp_path / "acme"), "--from", str(too_long))
    assert result.rc != 0 and "cannot read" in result.stderr
    src = tmp_path / "shops"
    src.mkdir()
    result = cli("init", str(tmp_path / "acme"), "--from", str(src), "--pattern", "/abs/*.db")
    assert result.rc != 0 and "pattern" in result.stderr
    assert not (tmp_path / "acme").exists()
