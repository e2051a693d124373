"""GET /databases/{db}/codegen/{lang} on a real `cinch serve`: the files `cinch codegen` writes."""

from __future__ import annotations

import httpx

import cinch
from cinch.engine.branches import create_branch
from tests.server.conftest import Keys, make_keys, start_server, stop_server


def test_the_route_serves_the_files_codegen_writes(shop: cinch.Project) -> None:
    db = shop.database()
    expected = {lang: db.codegen(lang).files for lang in ("python", "typescript")}
    create_branch(shop, "feature")
    shop.database(branch="feature").add_column("users", "nickname:TEXT")
    keys: Keys = make_keys(shop.root)
    server = start_server(shop.root, "--rate-limit", "0")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for lang, files in expected.items():
                got = http.get(f"/databases/main/codegen/{lang}", headers=Keys.header(keys.read))
                assert got.status_code == 200, got.text
                body = got.json()
                assert body["files"] == files and body["language"] == lang
                assert body["commit"] == db.head and body["change"] == db.changes()[-1].id
            feature = http.get("/databases/main/codegen/python", params={"branch": "feature"},
                               headers=Keys.header(keys.read)).json()["files"]["__init__.py"]
            assert "nickname" in feature and "nickname" not in expected["python"]["__init__.py"]
            wide = http.get("/databases/main/codegen/typescript", params={"int_mode": "bigint"},
                            headers=Keys.header(keys.read)).json()["files"]["schema.ts"]
            assert "export type Int = bigint;" in wide
            refused = {
                "/databases/main/codegen/python": (keys.other_db, 403, "forbidden"),
                "/databases/main/codegen/cobol": (keys.read, 422, None),
                "/databases/nope/codegen/python": (keys.read, 404, "not_found"),
            }
            for path, (key, status, code) in refused.items():
                r = http.get(path, headers=Keys.header(key))
                assert r.status_code == status, (path, r.text)
                if code:
                    assert r.json()["error"]["code"] == code
            assert http.get("/databases/main/codegen/python").status_code == 401
    finally:
        stop_server(server)
