"""`GET /databases/{db}/schema.sql?rev=`: the schema.sql of any commit of a branch's history,
over a real `cinch serve`; and the merge request ETag a page revalidates to see a branch move.
One server for the module: each test adds columns and branches of names of its own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import cinch
from cinch.engine import inspect
from tests.server.conftest import Keys, RealServer


@pytest.fixture(scope="module")
def real_server(shared_server: tuple[RealServer, Keys]) -> RealServer:
    return shared_server[0]


@pytest.fixture(scope="module")
def api_keys(shared_server: tuple[RealServer, Keys]) -> Keys:
    return shared_server[1]


@pytest.fixture(scope="module")
def http(real_server: RealServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_server.url, timeout=30) as client:
        yield client


def commits(root: object, branch: str = "main") -> list[str]:
    with cinch.open(root) as project:  # type: ignore[arg-type]
        return [i.commit for i in inspect.log(project, branch, changes_only=True)]


def test_an_older_commit_has_the_schema_it_had(http: httpx.Client, api_keys: Keys,
                                               real_server: RealServer) -> None:
    h = Keys.header(api_keys.write)
    added = http.post("/databases/main/tables/users/columns", headers=h,
                      json={"name": "phone", "type": "TEXT"})
    assert added.status_code == 200, added.text
    head = http.get("/databases/main/schema.sql", headers=h)
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/plain")
    assert '"phone" TEXT' in head.text or "phone TEXT" in head.text
    assert head.text == http.get("/databases/main", headers=h).json()["schema_sql"]

    newest, before = commits(real_server.root)[:2]
    assert head.headers["x-cinch-commit"] == newest
    old = http.get("/databases/main/schema.sql", headers=h, params={"rev": before[:10]})
    assert old.status_code == 200 and old.headers["x-cinch-commit"] == before
    assert "phone" not in old.text and "CREATE TABLE" in old.text
    assert http.get("/databases/main/schema.sql", headers=h,
                    params={"rev": "main~1"}).text == old.text


def test_a_commit_answer_revalidates_for_good(http: httpx.Client, api_keys: Keys,
                                              real_server: RealServer) -> None:
    h = Keys.header(api_keys.read)
    first = commits(real_server.root)[-1]
    answer = http.get("/databases/main/schema.sql", headers=h, params={"rev": first})
    etag = answer.headers["etag"]
    added = http.post("/databases/main/tables/users/columns",
                      headers=Keys.header(api_keys.write), json={"name": "fax"})
    assert added.status_code == 200, added.text
    again = http.get("/databases/main/schema.sql", headers={**h, "If-None-Match": etag},
                     params={"rev": first})
    assert again.status_code == 304 and again.content == b""
    tip = http.get("/databases/main/schema.sql", headers={**h, "If-None-Match": etag})
    assert tip.status_code == 200 and "fax" in tip.text


def test_bad_revisions_are_named(http: httpx.Client, api_keys: Keys,
                                 real_server: RealServer) -> None:
    h = Keys.header(api_keys.admin)
    unknown = http.get("/databases/main/schema.sql", headers=h, params={"rev": "nosuchthing"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_revision"
    assert "nosuchthing" in unknown.json()["error"]["message"]
    # A commit only another branch has is not in main's history: a key limited to main's
    # history must not read it through ?rev=.
    made = http.post("/branches", headers=h, json={"name": "feature/x"})
    assert made.status_code in (200, 201), made.text
    http.post("/databases/main/tables/users/columns?branch=feature/x", headers=h,
              json={"name": "nickname"})
    feature_tip = commits(real_server.root, "feature/x")[0]
    elsewhere = http.get("/databases/main/schema.sql", headers=h, params={"rev": feature_tip})
    assert elsewhere.status_code == 404
    assert "not in the history of branch 'main'" in elsewhere.json()["error"]["message"]
    there = http.get("/databases/main/schema.sql", headers=h,
                     params={"rev": feature_tip, "branch": "feature/x"})
    assert there.status_code == 200 and "nickname" in there.text
    refused = http.get("/databases/main/schema.sql", headers=Keys.header(api_keys.feature),
                       params={"rev": "main"})
    assert refused.status_code == 403


def test_a_merge_request_etag_moves_with_either_branch(http: httpx.Client, api_keys: Keys) -> None:
    h = Keys.header(api_keys.admin)
    assert http.post("/branches", headers=h, json={"name": "feat"}).status_code in (200, 201)
    http.post("/databases/main/tables/users/columns?branch=feat", headers=h, json={"name": "a"})
    opened = http.post("/merge-requests", headers=h,
                       json={"source": "feat", "target": "main", "title": "a"})
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    first = http.get(f"/merge-requests/{number}", headers=h)
    etag = first.headers["etag"]
    same = http.get(f"/merge-requests/{number}", headers={**h, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""

    http.post("/databases/main/tables/users/columns?branch=feat", headers=h, json={"name": "b"})
    moved = http.get(f"/merge-requests/{number}", headers={**h, "If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag
    assert any("b" in " ".join(d["sql"]) for d in moved.json()["diff"]["databases"])

    etag = moved.headers["etag"]
    http.post("/databases/main/tables", headers=h, json={"name": "other"})
    target_moved = http.get(f"/merge-requests/{number}", headers={**h, "If-None-Match": etag})
    assert target_moved.status_code == 200
    etag = target_moved.headers["etag"]
    http.post(f"/merge-requests/{number}/close", headers=h)
    closed = http.get(f"/merge-requests/{number}", headers={**h, "If-None-Match": etag})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    # The ETag does not skip the scope check.
    other = http.get(f"/merge-requests/{number}",
                     headers={**Keys.header(api_keys.feature), "If-None-Match": etag})
    assert other.status_code == 403
