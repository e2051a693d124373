"""Tenant files: layout, path safety, creation from templates, copy, rename, delete."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import cinch
from cinch.errors import AlreadyExists, InvalidName, NotFound, TenantError, UsageError
from cinch.stores import tenantstore as ts

HOSTILE_TENANTS = [
    "../x", "a/b", "a\\b", "x\x00y", "..", ".", "", "a" * 64, "con", "CON.db", "nul",
    "_cinch_ledger", "-rf", " a", "a b", "a..b", "é", "/etc/passwd",
]


def _schema(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return ts.schema_fingerprint(conn)
    finally:
        conn.close()


# -- paths ---------------------------------------------------------------------------------------


def test_layout_and_branch_key(store: ts.TenantStore) -> None:
    path = store.path("main", "feature/x", "acme")
    assert path == store.root / "main" / "feature%2Fx" / "acme.db"
    assert ts.branch_key("feature/x") == "feature%2Fx"
    assert ts.branch_key("100%/a%2F") == "100%25%2Fa%252F"
    for branch in ("main", "feature/x", "100%/a%2F", "a/b/c"):
        assert ts.branch_from_key(ts.branch_key(branch)) == branch


def test_long_branch_names_get_a_short_key_and_are_listed(
    store: ts.TenantStore, template: Path
) -> None:
    branch = "/".join(["segment"] * 25)  # 199 chars, 24 slashes: 247 once encoded
    key = ts.branch_key(branch)
    assert len(key.encode()) <= 200 and "~" in key
    store.create_from_template(template, "main", branch, "acme")
    assert store.list("main", branch) == ["acme"]
    assert set(store.branches("main")) == {branch}


@pytest.mark.parametrize("name", HOSTILE_TENANTS)
def test_hostile_tenant_names_are_refused(
    store: ts.TenantStore, template: Path, name: str
) -> None:
    with pytest.raises(InvalidName):
        store.path("main", "main", name)
    with pytest.raises(InvalidName):
        store.create_from_template(template, "main", "main", name)
    with pytest.raises(InvalidName):
        store.exists("main", "main", name)
    with pytest.raises(InvalidName):
        store.delete("main", "main", name)
    with pytest.raises(InvalidName):
        store.copy("main", "main", "acme", name)
    with pytest.raises(InvalidName):
        store.rename("main", "main", "acme", name)
    files = [p for p in store.root.parent.parent.rglob("*") if p.is_file()]
    assert files == [template]


@pytest.mark.parametrize("db", ["../main", "a/b", "", "sqlite_x", "_cinch", "1abc"])
def test_hostile_database_names_are_refused(store: ts.TenantStore, db: str) -> None:
    with pytest.raises(InvalidName):
        store.path(db, "main", "acme")


@pytest.mark.parametrize("branch", ["..", "../x", "a/../b", "x\x00", "-x", "a b", "a.lock", ""])
def test_hostile_branch_names_are_refused(store: ts.TenantStore, branch: str) -> None:
    with pytest.raises(InvalidName):
        store.path("main", branch, "acme")


def test_symlink_out_of_the_root_is_refused(store: ts.TenantStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "main").mkdir(parents=True)
    (store.root / "main" / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidName, match="outside the tenant root"):
        store.path("main", "evil", "acme")


def test_existing_file_is_the_tenants_regular_file_or_none(store: ts.TenantStore,
                                                            template: Path,
                                                            tmp_path: Path) -> None:
    store.create_from_template(template, "main", "main", "acme")
    assert store.existing_file("main", "main", "acme") == store.file("main", "main", "acme")
    assert store.existing_file("main", "main", "nobody") is None
    assert store.existing_file("main", "no-branch", "acme") is None
    (store.folder("main", "main") / "dir.db").mkdir()  # not a file: no tenant
    assert store.existing_file("main", "main", "dir") is None
    for hostile in ("../acme", "a/b", "", "x\x00"):
        with pytest.raises(InvalidName):
            store.existing_file("main", "main", hostile)
    # A link in the tenant folder that is not a tenant adopted in place is refused, not
    # followed out of the root.
    outside = tmp_path / "elsewhere.db"
    outside.write_bytes(b"")
    (store.folder("main", "main") / "sneaky.db").symlink_to(outside)
    with pytest.raises(InvalidName, match="outside the tenant root"):
        store.existing_file("main", "main", "sneaky")


# -- listing -------------------------------------------------------------------------------------


def test_list_is_sorted_and_skips_foreign_files(store: ts.TenantStore, template: Path) -> None:
    for name in ("b", "a", "c.d"):
        store.create_from_template(template, "main", "main", name)
    folder = store.folder("main", "main")
    (folder / ".a.1234.tmp").write_bytes(b"partial")
    (folder / "notes.txt").write_text("x")
    (folder / "bad name.db").write_bytes(b"")
    (folder / "sub.db").mkdir()
    assert store.list("main", "main") == ["a", "b", "c.d"]
    assert store.list("main", "nobranch") == []
    assert store.databases() == ["main"]
    assert store.branches("main") == ["main"]


# -- creating from a template ------------------------------------------------------------------


def test_create_from_template_1000(store: ts.TenantStore, template: Path) -> None:
    expected = _schema(template)
    names = [f"t{i:04d}" for i in range(1000)]
    for name in names[:500]:
        store.create_from_template(template, "main", "main", name)
    store.create_many_from_template(template, "main", "main", names[500:])
    assert store.list("main", "main") == names
    for name in names[::97]:
        path = store.path("main", "main", name)
        assert _schema(path) == expected
        with store.connection("main", "main", name) as conn:
            assert ts.read_ledger(conn) == ["01A", "01B"]
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    leftovers = [n for n in os.listdir(store.folder("main", "main")) if not n.endswith(".db")]
    assert leftovers == [] or all(n.endswith(("-wal", "-shm")) for n in leftovers)


def test_create_from_template_never_clobbers(store: ts.TenantStore, template: Path) -> None:
    path = store.create_from_template(template, "main", "main", "acme")
    with store.connection("main", "main", "acme") as conn:
        conn.execute("INSERT INTO parent(name) VALUES ('keep me')")
    with pytest.raises(AlreadyExists):
        store.create_from_template(template, "main", "main", "acme")
    with store.connection("main", "main", "acme") as conn:
        assert conn.execute("SELECT name FROM parent").fetchall() == [("keep me",)]
    assert path.exists()


def test_create_many_is_all_or_nothing(store: ts.TenantStore, template: Path) -> None:
    store.create_from_template(template, "main", "main", "t5")
    with pytest.raises(AlreadyExists):
        store.create_many_from_template(template, "main", "main", [f"t{i}" for i in range(10)])
    assert store.list("main", "main") == ["t5"]
    with pytest.raises(UsageError):
        store.create_many_from_template(template, "main", "main", ["x", "y", "x"])
    with pytest.raises(InvalidName):
        store.create_many_from_template(template, "main", "main", ["ok", "../bad"])
    assert store.list("main", "main") == ["t5"]


def test_unfinalized_or_missing_template_is_refused(
    store: ts.TenantStore, template: Path, tmp_path: Path
) -> None:
    writer = ts.connect(template)  # keeps the -wal alive with un-checkpointed frames
    try:
        writer.execute("INSERT INTO parent(name) VALUES ('pending')")
        with pytest.raises(TenantError, match=r"finalize|WAL"):
            store.create_from_template(template, "main", "main", "acme")
        ts.finalize_template(template)
        store.create_from_template(template, "main", "main", "acme")
    finally:
        writer.close()
    with store.connection("main", "main", "acme") as conn:
        assert conn.execute("SELECT name FROM parent").fetchall() == [("pending",)]
    with pytest.raises(NotFound):
        store.create_from_template(tmp_path / "nope.db", "main", "main", "other")
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"not a database at all")
    with pytest.raises(TenantError, match="not a SQLite database"):
        store.create_from_template(bogus, "main", "main", "other")


def test_stale_wal_of_a_deleted_tenant_is_not_replayed(
    store: ts.TenantStore, template: Path
) -> None:
    path = store.create_from_template(template, "main", "main", "acme")
    conn = ts.connect(path)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE stale(x)")
    # Simulate a crash: copy the live -wal aside, drop the tenant outside cinch, put it back.
    wal = Path(f"{path}-wal").read_bytes()
    conn.close()
    os.unlink(path)
    Path(f"{path}-wal").write_bytes(wal)
    store.create_from_template(template, "main", "main", "acme")
    with store.connection("main", "main", "acme") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
    assert "stale" not in names


def test_create_empty_tenant(store: ts.TenantStore) -> None:
    path = store.create("main", "main", "blank")
    with store.connection("main", "main", "blank") as conn:
        assert ts.read_ledger(conn) == []
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert path.exists()
    with pytest.raises(AlreadyExists):
        store.create("main", "main", "blank")


def test_finalize_template_leaves_a_complete_file(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = ts.connect(path)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t(x)")
    assert Path(f"{path}-wal").stat().st_size > 0
    ts.finalize_template(path)
    assert Path(f"{path}-wal").stat().st_size == 0  # our open connection keeps the file
    conn.close()
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    check = sqlite3.connect(copy)
    assert check.execute("SELECT name FROM sqlite_schema").fetchall() == [("t",)]
    check.close()


# -- copy, rename, delete ------------------------------------------------------------------------


def test_copy_rename_delete_size(store: ts.TenantStore, tenant: Path) -> None:
    with store.connection("main", "main", "acme") as conn:
        conn.execute("INSERT INTO parent(name) VALUES ('a')")
    copied = store.copy("main", "main", "acme", "beta")
    assert store.list("main", "main") == ["acme", "beta"]
    with store.connection("main", "main", "beta", read_only=True) as conn:
        assert conn.execute("SELECT name FROM parent").fetchall() == [("a",)]
        assert ts.read_ledger(conn) == ["01A", "01B"]
    with pytest.raises(AlreadyExists):
        store.copy("main", "main", "acme", "beta")
    with pytest.raises(NotFound):
        store.copy("main", "main", "nobody", "gamma")

    assert store.size("main", "main", "beta") >= copied.stat().st_size > 0
    store.rename("main", "main", "beta", "gamma")
    assert store.list("main", "main") == ["acme", "gamma"]
    with pytest.raises(AlreadyExists):
        store.rename("main", "main", "gamma", "acme")
    with pytest.raises(NotFound):
        store.rename("main", "main", "beta", "delta")
    with store.connection("main", "main", "gamma") as conn:
        assert conn.execute("SELECT name FROM parent").fetchall() == [("a",)]

    store.delete("main", "main", "gamma")
    assert store.list("main", "main") == ["acme"]
    folder = store.folder("main", "main")
    assert not any(n.startswith("gamma") for n in os.listdir(folder))
    with pytest.raises(NotFound):
        store.delete("main", "main", "gamma")
    store.delete("main", "main", "gamma", missing_ok=True)
    with pytest.raises(NotFound):
        store.size("main", "main", "gamma")


def test_delete_closes_pooled_connections_so_a_new_tenant_is_really_new(
    store: ts.TenantStore, template: Path, tenant: Path
) -> None:
    with store.connection("main", "main", "acme") as conn:
        conn.execute("INSERT INTO parent(name) VALUES ('old')")
    other_pool = ts.ConnectionPool(max_open=4)
    with other_pool.connection(tenant) as conn:
        conn.execute("SELECT 1")
    store.delete("main", "main", "acme")
    assert store.pool.open_count == 0 and other_pool.open_count == 0
    store.create_from_template(template, "main", "main", "acme")
    with store.connection("main", "main", "acme") as conn:
        assert conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 0
    with pytest.raises(NotFound), store.connection("main", "main", "ghost"):  # never creates
        pass
    assert not store.exists("main", "main", "ghost")


def test_rename_keeps_committed_wal_data_and_refuses_when_in_use(
    store: ts.TenantStore, tenant: Path
) -> None:
    with store.connection("main", "main", "acme") as conn:
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("INSERT INTO parent(name) VALUES ('in the wal')")
    other_process_like = sqlite3.connect(tenant)  # not in any pool: rename cannot close it
    other_process_like.execute("SELECT count(*) FROM parent").fetchall()
    with pytest.raises(TenantError, match="in use"):
        store.rename("main", "main", "acme", "renamed")
    other_process_like.close()
    store.rename("main", "main", "acme", "renamed")
    with store.connection("main", "main", "renamed") as conn:
        assert conn.execute("SELECT name FROM parent").fetchall() == [("in the wal",)]


def test_branch_operations(store: ts.TenantStore, template: Path) -> None:
    store.create_many_from_template(template, "main", "main", ["a", "b", "c"])
    store.copy_branch_tenant("main", "main", "feature/x", "a")
    assert store.list("main", "feature/x") == ["a"]
    with pytest.raises(AlreadyExists):
        store.copy_branch("main", "main", "feature/x")
    assert store.copy_branch("main", "main", "feature/x", skip_existing=True) == ["b", "c"]
    assert store.list("main", "feature/x") == ["a", "b", "c"]
    assert store.branches("main") == ["feature/x", "main"]
    with store.connection("main", "feature/x", "a") as conn:
        conn.execute("SELECT 1")
    assert store.delete_branch("main", "feature/x") == 3
    assert store.list("main", "feature/x") == []
    assert store.pool.open_count == 0
    assert store.delete_branch("main", "feature/x") == 0
    store.create_from_template(template, "main", "feature/x", "again")  # folder is remade
    assert store.list("main", "feature/x") == ["again"]


def test_sweep_temp_files(store: ts.TenantStore, tenant: Path) -> None:
    folder = store.folder("main", "main")
    stale = folder / ".acme.deadbeef.tmp"
    stale.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    (folder / ".fresh.cafe.tmp").write_bytes(b"x")
    assert store.sweep_temp_files("main", "main") == 1
    assert sorted(os.listdir(folder))[0] == ".fresh.cafe.tmp"



def test_opening_a_project_sweeps_what_a_crash_left(make_project: Callable[..., Path]) -> None:
    """A killed write leaves `.<tenant>.<random>.tmp` files; opening the project removes those
    an hour old (a younger one may be a live writer's), at most once an hour."""
    root = make_project("users")
    with cinch.open(root) as p:
        p.tenants.create("main", "main", "acme")
        folder = p.tenants.store.folder("main", "main")
    old = time.time() - 7200
    stale = folder / ".acme.0123456789ab.tmp"
    for path in (stale, Path(f"{stale}-journal")):
        path.write_bytes(b"half a tenant")
        os.utime(path, (old, old))
    live = folder / ".acme.ba9876543210.tmp"
    live.write_bytes(b"being written")
    swept = root / ".cinch" / ".tenants-swept"
    os.utime(swept, (old, old))  # the last sweep was two hours ago
    cinch.open(root).close()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [live.name]
    os.utime(live, (old, old))
    cinch.open(root).close()  # swept within the hour: not again yet
    assert live.exists()


# -- consistency under concurrent writes -------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
    conn.execute("PRAGMA journal_mode=WAL")
    print("ready", flush=True)
    deadline = time.time() + float(sys.argv[2])
    i = 0
    while time.time() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO parent(name) VALUES (?)", (f"p{i}",))
        conn.execute("INSERT INTO child(parent_id, note) VALUES (last_insert_rowid(), 'x')")
        conn.execute("COMMIT")
        i += 1
    print(i, flush=True)
    """
)


def test_copy_is_consistent_while_another_process_writes(
    store: ts.TenantStore, tenant: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tenant), "3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for i in range(15):
            time.sleep(0.05)
            store.copy("main", "main", "acme", f"copy{i}")
            with store.connection("main", "main", f"copy{i}", read_only=True) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                parents = conn.execute("SELECT count(*) FROM parent").fetchone()[0]
                children = conn.execute("SELECT count(*) FROM child").fetchone()[0]
                assert parents == children  # each writer transaction adds one of each
                assert ts.read_ledger(conn) == ["01A", "01B"]
    finally:
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert int(out.strip()) > 0


def test_finalize_template_vacuums_and_closes_pooled_connections(
    store: ts.TenantStore, tmp_path: Path
) -> None:
    path = tmp_path / "t.db"
    conn = ts.connect(path)
    ts.apply_change(conn, "01A", "c1", ["CREATE TABLE big(x)"])
    conn.executemany("INSERT INTO big VALUES (?)", [("x" * 1000,) for _ in range(500)])
    ts.apply_change(conn, "01B", "c2", ["DROP TABLE big", "CREATE TABLE small(x)"])
    conn.close()
    with store.pool.connection(path) as pooled:
        pooled.execute("SELECT 1")
    ts.finalize_template(path)
    assert store.pool.open_count == 0
    assert not Path(f"{path}-wal").exists()  # the last connection closed: one file
    # schema, small, ledger and its index, the kept change sets, the state record
    assert path.stat().st_size <= 7 * 4096
    tenant = store.create_from_template(path, "main", "main", "acme")
    check = ts.connect(tenant, read_only=True)
    assert ts.read_ledger(check) == ["01A", "01B"]
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
