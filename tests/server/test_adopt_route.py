"""`POST /databases/adopt` on a real server: admin only, the plan with dry_run, then a new
database whose tenants are the files, queryable over HTTP."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests.server.conftest import Keys


def _files(folder: Path) -> None:
    folder.mkdir()
    for i in range(4):
        with sqlite3.connect(folder / f"shop{i}.db") as conn:
            conn.executescript("CREATE TABLE item (sku TEXT NOT NULL, n INTEGER, "
                               "PRIMARY KEY (sku, n)) WITHOUT ROWID;")
            conn.execute("INSERT INTO item VALUES (?, ?)", (f"sku{i}", i))
            if i == 3:
                conn.execute("CREATE TABLE extra (x)")
        conn.close()


def test_admin_adopts_files_as_a_new_database(http: httpx.Client, api_keys: Keys,
                                              tmp_path: Path) -> None:
    src = tmp_path / "shops"
    _files(src)
    body = {"path": str(src), "database": "shops", "dry_run": True}
    refused = http.post("/databases/adopt", json=body, headers=Keys.header(api_keys.write))
    assert refused.status_code == 403
    plan = http.post("/databases/adopt", json=body, headers=Keys.header(api_keys.admin))
    assert plan.status_code == 200, plan.text
    data = plan.json()
    assert data["dry_run"] and data["adopted"] == 0 and data["change"] is None
    assert {f["tenant"]: f["status"] for f in data["files"]} == {
        "shop0": "adopt", "shop1": "adopt", "shop2": "adopt", "shop3": "outlier"}
    assert http.get("/databases/shops", headers=Keys.header(api_keys.admin)).status_code == 404

    done = http.post("/databases/adopt", json={**body, "dry_run": False},
                     headers=Keys.header(api_keys.admin))
    assert done.status_code == 200, done.text
    assert done.json()["adopted"] == 3
    rows = http.post("/databases/shops/tenants/shop2/query", json={"sql": "SELECT * FROM item"},
                     headers=Keys.header(api_keys.read))
    assert rows.status_code == 200, rows.text
    assert rows.json()["rows"] == [["sku2", 2]]
    missing = http.post("/databases/adopt", json={"path": str(tmp_path / "nowhere"),
                                                  "database": "more"},
                        headers=Keys.header(api_keys.admin))
    assert missing.status_code == 400 and "nowhere" in missing.json()["error"]["message"]


def test_in_place_only_below_the_servers_adopt_root(http: httpx.Client, api_keys: Keys,
                                                    server_root: Path, tmp_path: Path) -> None:
    """A server started without --adopt-root refuses in_place; one started with it adopts in
    place below that folder only, and the files stay where they are."""
    from tests.server.conftest import start_server, stop_server

    src = tmp_path / "data" / "shops"
    src.parent.mkdir()
    _files(src)
    admin = Keys.header(api_keys.admin)
    body = {"path": str(src), "database": "shops", "mode": "in_place"}
    refused = http.post("/databases/adopt", json=body, headers=admin)
    assert refused.status_code == 403, refused.text
    assert "--adopt-root" in refused.json()["error"]["message"]

    server = start_server(server_root, "--rate-limit", "0", "--adopt-root",
                          str(tmp_path / "data"))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as rooted:
            outside = rooted.post("/databases/adopt", json={**body, "path": str(tmp_path)},
                                  headers=admin)
            assert outside.status_code == 403 and "outside" in outside.text
            done = rooted.post("/databases/adopt", json=body, headers=admin)
            assert done.status_code == 200, done.text
            assert done.json()["adopted"] == 3 and done.json()["mode"] == "in_place"
            rows = rooted.post("/databases/shops/tenants/shop1/query",
                               json={"sql": "SELECT * FROM item"},
                               headers=Keys.header(api_keys.read))
            assert rows.json()["rows"] == [["sku1", 1]]
    finally:
        stop_server(server)
    link = next(server_root.joinpath(".cinch").rglob("shops/**/shop1.db"))
    assert link.is_symlink() and link.resolve() == (src / "shop1.db").resolve()
    with sqlite3.connect(src / "shop1.db") as conn:  # nothing written into it by adopting
        assert conn.execute("SELECT name FROM sqlite_schema WHERE name LIKE '_cinch%'"
                            ).fetchall() == []
    conn.close()
