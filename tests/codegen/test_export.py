"""`cinch export migrations --format sql`: numbered up/down files that plain SQLite can run."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import cinch
from cinch.engine.export import migrations
from tests.conftest import VENV_BIN


def user_schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Tables, indexes, views and triggers, without SQLite's and cinch's own."""
    return sorted(conn.execute(
        "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_cinch%' ESCAPE '\\' "
        "AND name NOT LIKE '_cinch_meta%'").fetchall())


def run_script(conn: sqlite3.Connection, path: Path) -> None:
    conn.executescript(path.read_text())


def evolve(project: cinch.Project) -> None:
    """A history with every kind of change, a table rebuild among them."""
    db = project.database()
    db.add_column("users", "nickname:TEXT")
    db.rename_column("users", "nickname", "handle")
    db.alter_column("users", "handle", not_null=True, default="anon")
    db.rename_table("things", "items")
    db.drop_view("order_totals")
    db.drop_index("users_name_age_idx")
    db.drop_column("users", "meta")
    db.drop_table("order")


def test_ups_build_the_schema_and_downs_take_it_away(shop: cinch.Project, tmp_path: Path,
                                                     cli: Any) -> None:
    evolve(shop)
    out = tmp_path / "migrations"
    result = cli("-C", str(shop.root), "export", "migrations", "--format", "sql", "--out",
                 str(out))
    assert result.rc == 0, str(result)
    log = shop.database().changes()
    ups = sorted(out.glob("*.up.sql"))
    downs = sorted(out.glob("*.down.sql"))
    assert [p.name[:5] for p in ups] == [f"{n:04d}_" for n in range(1, len(log) + 1)]
    assert len(downs) == len(ups)  # every change of this history has an inverse
    assert ups[6].name == "0007_add_column_users_nickname_text.up.sql"
    assert log[0].id in ups[0].read_text().splitlines()[0]
    assert "PRAGMA foreign_keys = OFF" in ups[8].read_text()  # the ALTER is a table rebuild

    conn = sqlite3.connect(":memory:")
    for up in ups:
        run_script(conn, up)
    tenant = sqlite3.connect(shop.tenants.path("main", "main", "acme"))
    assert user_schema(conn) == user_schema(tenant)
    for down in reversed(downs):
        run_script(conn, down)
    assert user_schema(conn) == []
    # ... and up again, from nothing, to the same schema
    for up in ups:
        run_script(conn, up)
    assert user_schema(conn) == user_schema(tenant)


def test_export_at_a_revision_and_as_json(shop: cinch.Project, tmp_path: Path, cli: Any) -> None:
    first = shop.database().head
    evolve(shop)
    result = cli("-C", str(shop.root), "-f", "json", "export", "migrations", "--rev", first,
                 "--out", str(tmp_path / "m"))
    data = json.loads(result.stdout)
    assert data["commit"] == first and len(data["migrations"]) == 6
    assert data["migrations"][0]["down"] == "0001_users_with_every_kind_of_column.down.sql"
    assert len(list((tmp_path / "m").iterdir())) == 12


def test_export_never_overwrites_other_files(shop: cinch.Project, tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    mine = out / "0001_users_with_every_kind_of_column.up.sql"
    mine.write_text("CREATE TABLE mine (x);\n")
    export = migrations(shop)
    try:
        export.write(out)
    except cinch.CinchError as exc:
        assert "was not exported by cinch" in exc.message
    else:
        raise AssertionError("overwrote a file cinch did not write")
    assert mine.read_text() == "CREATE TABLE mine (x);\n"
    assert sorted(p.name for p in out.iterdir()) == [mine.name]


def test_an_unknown_format_is_refused(shop: cinch.Project, tmp_path: Path, cli: Any) -> None:
    result = cli("-C", str(shop.root), "export", "migrations", "--format", "flyway", "--out",
                 str(tmp_path / "m"))
    assert result.rc == 2 and "flyway" in result.stderr
    assert not (tmp_path / "m").exists()


def alembic(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("alembic", path=str(VENV_BIN))
    assert binary, "alembic is a dev dependency"
    return subprocess.run([binary, *args], cwd=folder, capture_output=True, text=True,
                          timeout=120)


def test_alembic_revisions_upgrade_a_fresh_database_to_cinchs_schema(
        shop: cinch.Project, tmp_path: Path, cli: Any) -> None:
    """A real alembic environment (`alembic init`) over a fresh SQLite file: `upgrade head`
    runs the exported revisions to the schema cinch gives a tenant, `downgrade base` undoes
    them all, and upgrading again arrives at the same schema."""
    evolve(shop)
    work = tmp_path / "app"
    work.mkdir()
    made = alembic(work, "init", "migrations")
    assert made.returncode == 0, made.stderr
    ini = work / "alembic.ini"
    database = work / "app.db"
    ini.write_text("\n".join(f"sqlalchemy.url = sqlite:///{database}"
                             if line.startswith("sqlalchemy.url") else line
                             for line in ini.read_text().splitlines()) + "\n")
    versions = work / "migrations" / "versions"
    result = cli("-C", str(shop.root), "export", "migrations", "--format", "alembic", "--out",
                 str(versions))
    assert result.rc == 0, str(result)
    log = shop.database().changes()
    files = sorted(versions.glob("*.py"))
    assert len(files) == len(log)
    assert f"down_revision = {log[0].id.lower()!r}" in files[1].read_text()

    history = alembic(work, "history")
    assert history.returncode == 0, history.stderr
    assert f"-> {log[-1].id.lower()} (head)" in history.stdout

    upgraded = alembic(work, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    tenant = sqlite3.connect(shop.tenants.path("main", "main", "acme"))
    conn = sqlite3.connect(database)
    mine = [row for row in user_schema(conn) if row[1] != "alembic_version"]
    assert mine == user_schema(tenant)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
        (log[-1].id.lower(),)]
    conn.close()

    down = alembic(work, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    conn = sqlite3.connect(database)
    assert [row for row in user_schema(conn) if row[1] != "alembic_version"] == []
    conn.close()
    assert alembic(work, "upgrade", "head").returncode == 0
    conn = sqlite3.connect(database)
    assert [row for row in user_schema(conn) if row[1] != "alembic_version"] == \
        user_schema(tenant)


def test_dbmate_files_hold_both_directions(shop: cinch.Project, tmp_path: Path) -> None:
    """dbmate's one file per migration: its up section builds the schema, its down sections
    (newest first) take it away, split as dbmate splits them."""
    evolve(shop)
    export = migrations(shop, format="dbmate")
    export.write(tmp_path / "db")
    files = sorted((tmp_path / "db").glob("*.sql"))
    assert [f.name for f in files] == sorted(export.files)
    assert files[6].name == "0007_add_column_users_nickname_text.sql"
    conn = sqlite3.connect(":memory:")
    sections = []
    for path in files:
        text = path.read_text()
        assert text.count("-- migrate:up\n") == text.count("-- migrate:down\n") == 1
        up, down = text.split("-- migrate:up\n")[1].split("-- migrate:down\n")
        sections.append(down)
        conn.executescript(up)
    tenant = sqlite3.connect(shop.tenants.path("main", "main", "acme"))
    assert user_schema(conn) == user_schema(tenant)
    for down in reversed(sections):
        conn.executescript(down)
    assert user_schema(conn) == []
