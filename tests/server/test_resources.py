"""Project, databases, branches, history, tables, columns, indexes, views and tenants."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.conftest import Keys


def test_project_and_databases(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.read)
    project = client.get("/project", headers=h).json()
    assert project["current_branch"] == "main" and project["databases"] == ["main"]
    [db] = client.get("/databases", headers=h).json()
    assert db["name"] == "main" and db["tables"] == 1 and db["views"] == 1
    detail = client.get("/databases/MAIN", headers=h).json()
    assert detail["name"] == "main" and 'CREATE TABLE "users"' in detail["schema_sql"]
    assert client.get("/databases/nope", headers=h).status_code == 404
    assert client.get("/databases/main?branch=nope", headers=h).status_code == 404


def test_schema_changes_preview_then_apply(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    body = {"name": "posts", "columns": [
        {"name": "title", "type": "TEXT", "not_null": True, "default": ""},
        {"name": "user_id", "references": "users"}]}
    preview = client.post("/databases/main/tables?dry_run=true", headers=h, json=body).json()
    assert preview["dry_run"] and preview["commit"] is None
    assert any('CREATE TABLE "posts"' in s for s in preview["sql"])
    assert client.get("/databases/main/tables/posts", headers=h).status_code == 404
    done = client.post("/databases/main/tables", headers=h, json=body).json()
    assert done["commit"] and done["tenants"]["tenants"] == 3
    table = client.get("/databases/main/tables/posts", headers=h).json()
    assert [c["name"] for c in table["columns"]] == ["id", "title", "user_id", "created_at",
                                                    "updated_at"]
    assert table["columns"][2]["references"] == "users.id"

    steps = [
        ("POST", "/databases/main/tables/posts/columns", {"name": "body"}),
        ("PATCH", "/databases/main/tables/posts/columns/body", {"name": "content"}),
        ("PATCH", "/databases/main/tables/posts/columns/content", {"not_null": True,
                                                                    "default": "x"}),
        ("POST", "/databases/main/views", {"name": "titles", "sql": "SELECT title FROM posts"}),
        ("PATCH", "/databases/main/tables/posts?cascade=true", {"name": "articles"}),
        ("PUT", "/databases/main/views/titles", {"sql": "SELECT title, content FROM articles"}),
        ("POST", "/databases/main/indexes", {"table": "articles", "columns": ["title"]}),
        ("POST", "/databases/main/tables/articles/copy", {"name": "drafts", "data": False}),
    ]
    for method, url, payload in steps:
        response = client.request(method, url, headers=h, json=payload)
        assert response.status_code == 200, (url, response.text)
        assert response.json()["commit"]
    views = client.get("/databases/main/views", headers=h).json()
    assert {v["name"] for v in views} == {"adults", "titles"}
    assert "articles" in client.get("/databases/main/views/titles", headers=h).json()["sql"]
    indexes = client.get("/databases/main/indexes?table=articles", headers=h).json()
    assert [i["columns"] for i in indexes] == [["title"]]
    columns = client.get("/databases/main/tables/articles/columns", headers=h).json()
    assert next(c for c in columns if c["name"] == "content")["not_null"] is True
    mixed = client.patch("/databases/main/tables/articles/columns/content", headers=h,
                         json={"name": "c2", "type": "INTEGER"})
    assert mixed.status_code == 400 and mixed.json()["error"]["code"] == "usage"

    for url in ("/databases/main/views/titles", f"/databases/main/indexes/{indexes[0]['name']}",
                "/databases/main/tables/articles/columns/content",
                "/databases/main/tables/drafts"):
        dry = client.delete(url + "?dry_run=true", headers=h)
        assert dry.status_code == 200 and dry.json()["dry_run"], dry.text
        assert client.delete(url, headers=h).json()["commit"]
    dependent = client.delete("/databases/main/tables/users", headers=h)
    assert dependent.status_code == 409 and dependent.json()["error"]["code"] == "dependency"


def test_history_and_one_change(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.read)
    page = client.get("/history?limit=2&changes_only=true", headers=h).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/history?limit=2&changes_only=true&cursor={page['next_cursor']}",
                      headers=h).json()
    assert rest["items"] and rest["items"][0]["commit"] != page["items"][-1]["commit"]
    change_id = page["items"][0]["changes"][0]["id"]
    change = client.get(f"/changes/{change_id}", headers=h).json()
    assert change["id"] == change_id and change["sql"] and change["commit"]
    assert client.get(f"/changes/{change_id[:16]}", headers=h).json()["id"] == change_id
    assert client.get("/changes/ZZZZZZZZ", headers=h).status_code == 404


def test_branches_compare_and_delete(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    made = client.post("/branches", headers=h, json={"name": "feature/x"})
    assert made.status_code == 201 and made.json()["name"] == "feature/x"
    assert client.post("/branches", headers=h, json={"name": "feature/x"}).status_code == 409
    client.post("/databases/main/tables/users/columns?branch=feature/x", headers=h,
                json={"name": "nick"})
    diff = client.get("/compare?base=main&head=feature/x", headers=h).json()
    [db] = diff["databases"]
    assert db["diff"] == [{"kind": "column_added", "object": "users.nick", "type": "TEXT"}]
    assert db["sql"] == ['ALTER TABLE "users" ADD COLUMN "nick" TEXT'] and "+  \"nick\"" in \
        db["patch"]
    # The branch's tenants were forked from main's: same rows, new column.
    rows = client.post("/databases/main/tenants/acme/query?branch=feature/x", headers=h,
                       json={"sql": "SELECT name, nick FROM users"}).json()["rows"]
    assert rows == [["acme-ann", None]]
    assert client.get("/branches/feature/x", headers=h).json()["ahead"] == 1
    unmerged = client.delete("/branches/feature/x", headers=h)
    assert unmerged.status_code == 409
    assert client.delete("/branches/feature/x?force=true", headers=h).status_code == 204
    assert client.get("/branches/feature/x", headers=h).status_code == 404


def test_tenants_of_a_new_branch_show_that_they_are_not_copied_yet(
        client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    assert client.post("/branches", headers=h, json={"name": "feature/y"}).status_code == 201
    listed = client.get("/databases/main/tenants?branch=feature/y", headers=h)
    assert listed.status_code == 200, listed.text
    states = {t["name"]: t["state"] for t in listed.json()["items"]}
    assert states == {"acme": "not copied yet", "globex": "not copied yet",
                      "main": "not copied yet"}
    # A write copies the tenant first; the parent's tenant keeps its rows unchanged.
    wrote = client.post("/databases/main/tenants/acme/query?branch=feature/y", headers=h,
                        json={"sql": "UPDATE users SET name = 'changed'"})
    assert wrote.status_code == 200, wrote.text
    one = client.get("/databases/main/tenants/acme?branch=feature/y", headers=h).json()
    assert one["state"] == "up to date" and one["applied"] >= 1
    assert client.get("/databases/main/tenants/globex?branch=feature/y",
                      headers=h).json()["state"] == "not copied yet"
    parent = client.post("/databases/main/tenants/acme/query", headers=h,
                         json={"sql": "SELECT name FROM users"}).json()["rows"]
    assert parent == [["acme-ann"]]


def test_tenants_lifecycle(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    page = client.get("/databases/main/tenants?limit=2", headers=h).json()
    assert [t["name"] for t in page["items"]] == ["acme", "globex"] and page["next_cursor"]
    last = client.get(f"/databases/main/tenants?limit=2&cursor={page['next_cursor']}",
                      headers=h).json()
    assert [t["name"] for t in last["items"]] == ["main"] and last["next_cursor"] is None
    assert all("path" not in t for t in page["items"])
    assert client.post("/databases/main/tenants", headers=h,
                       json={"name": "initech"}).json()["state"] == "up to date"
    copy = client.post("/databases/main/tenants/acme/copy", headers=h, json={"name": "acme2"})
    assert copy.status_code == 201
    rows = client.post("/databases/main/tenants/acme2/query", headers=h,
                       json={"sql": "SELECT name FROM users"}).json()["rows"]
    assert rows == [["acme-ann"]]
    assert client.post("/databases/main/tenants", headers=h,
                       json={"name": "acme"}).status_code == 409
    assert client.delete("/databases/main/tenants/acme2", headers=h).status_code == 204
    assert client.get("/databases/main/tenants/acme2", headers=h).status_code == 404


def test_metrics_count_requests_and_apply_runs(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    client.post("/databases/main/tables/users/columns", headers=h, json={"name": "nick"})
    client.get("/project", headers=h)
    text = client.get("/metrics", headers=h).text
    assert 'cinch_http_requests_total{method="GET",route="/project",status="200"} 1' in text
    assert 'cinch_apply_runs_total{kind="schema_change",outcome="applied"} 1' in text
    assert "cinch_http_request_duration_seconds_bucket" in text
    assert client.get("/metrics").status_code == 401
