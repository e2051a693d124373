"""Schema reads carry the branch head as an ETag; If-None-Match answers 304 until it moves."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.conftest import Keys

SCHEMA_READS = ("/databases", "/databases/main", "/databases/main/tables",
                "/databases/main/tables/users", "/databases/main/tables/users/columns",
                "/databases/main/views", "/databases/main/indexes")


def test_schema_reads_revalidate_until_the_branch_moves(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    tags = {}
    for path in SCHEMA_READS:
        first = client.get(path, headers=h)
        assert first.status_code == 200 and first.headers["etag"].startswith('"')
        tags[path] = first.headers["etag"]
        again = client.get(path, headers={**h, "If-None-Match": tags[path]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tags[path]

    client.post("/databases/main/tables/users/columns", headers=h, json={"name": "phone"})
    for path in SCHEMA_READS:
        moved = client.get(path, headers={**h, "If-None-Match": tags[path]})
        assert moved.status_code == 200 and moved.headers["etag"] != tags[path]
    assert "phone" in [c["name"] for c in
                       client.get("/databases/main/tables/users/columns", headers=h).json()]


def test_a_matching_etag_does_not_skip_the_key_check(client: TestClient, api_keys: Keys) -> None:
    etag = client.get("/databases/main/tables", headers=Keys.header(api_keys.read)).headers["etag"]
    refused = client.get("/databases/main/tables", headers={"If-None-Match": etag})
    assert refused.status_code == 401
    other = client.get("/databases/main/tables",
                       headers={**Keys.header(api_keys.other_db), "If-None-Match": etag})
    assert other.status_code == 403
    # Another key's ETag is not this key's: its answer may differ (keys filter what they see).
    other_read = client.get("/databases", headers={**Keys.header(api_keys.admin),
                                                   "If-None-Match": etag})
    assert other_read.status_code == 200
