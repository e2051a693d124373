"""The merge-request flow on a real server, with tenants on both branches."""

from __future__ import annotations

import httpx

import cinch
from tests.server.conftest import Keys, RealServer, set_config


def tenant_columns(http: httpx.Client, key: str, branch: str) -> dict[str, list[str]]:
    h = Keys.header(key)
    out = {}
    for tenant in http.get(f"/databases/main/tenants?branch={branch}", headers=h).json()["items"]:
        result = http.post(f"/databases/main/tenants/{tenant['name']}/query?branch={branch}",
                           headers=h, json={"sql": "SELECT name FROM pragma_table_info('users')",
                                            "read_only": True}).json()
        out[tenant["name"]] = [r[0] for r in result["rows"]]
    return out


def test_open_review_approve_merge(real_server: RealServer, http: httpx.Client,
                                   api_keys: Keys) -> None:
    with cinch.open(real_server.root) as project:
        set_config(project, "main", merge__approvals={"main": 1, "release/*": 2})
    dev, reviewer, admin = (Keys.header(k) for k in (api_keys.feature, api_keys.write,
                                                      api_keys.admin))
    # The dev key may not fork main (the branch would hold main's tenants): the reviewer does.
    assert http.post("/branches", headers=dev, json={"name": "feature/phone"}).status_code == 403
    assert http.post("/branches", headers=reviewer,
                     json={"name": "feature/phone"}).status_code == 201
    # A tenant only the branch has, beside the three it forked from main.
    assert http.post("/databases/main/tenants?branch=feature/phone", headers=dev,
                     json={"name": "sandbox"}).status_code == 201
    added = http.post("/databases/main/tables/users/columns?branch=feature/phone", headers=dev,
                      json={"name": "phone", "type": "TEXT"})
    assert added.status_code == 200, added.text

    opened = http.post("/merge-requests", headers=dev, json={
        "source": "feature/phone", "target": "main", "title": "Add users.phone",
        "description": "Customers asked for it."})
    assert opened.status_code == 201, opened.text
    mr = opened.json()
    number = mr["number"]
    assert mr["state"] == "open" and mr["author"] == "feature"
    assert mr["check"]["conflicts"] == [] and mr["check"]["tenants"] == {"main": 3}
    assert [c["message"] for c in mr["check"]["changes"]["main"]["theirs"]] == [
        "Add column users.phone TEXT"]
    assert mr["approvals_required"] == 1 and not mr["can_merge_now"]
    assert mr["blockers"] == ["needs 1 approval(s) of the current head, has 0"]
    [db] = mr["diff"]["databases"]
    assert db["diff"] == [{"kind": "column_added", "object": "users.phone", "type": "TEXT"}]
    assert db["sql"] == ['ALTER TABLE "users" ADD COLUMN "phone" TEXT']
    duplicate = http.post("/merge-requests", headers=dev, json={
        "source": "feature/phone", "target": "main", "title": "again"})
    assert duplicate.status_code == 409

    # Review: comments, approvals (not by the author, not by a key that cannot touch main).
    comment = http.post(f"/merge-requests/{number}/comments", headers=reviewer,
                        json={"body": "Looks right; TEXT keeps the leading +."})
    assert comment.status_code == 201 and comment.json()["author"] == "write"
    assert http.post(f"/merge-requests/{number}/approvals", headers=dev).status_code == 403
    early = http.post(f"/merge-requests/{number}/merge", headers=reviewer, json={})
    assert early.status_code == 409 and early.json()["error"]["code"] == "approvals_required"
    approved = http.post(f"/merge-requests/{number}/approvals", headers=reviewer).json()
    assert approved["approvals"][0]["approver"] == "write" and approved["can_merge_now"]

    # The source moves after the approval: the approval is stale, merging needs a new one.
    http.post("/databases/main/tables/users/columns?branch=feature/phone", headers=dev,
              json={"name": "phone_verified", "type": "INTEGER", "not_null": True,
                    "default": 0})
    stale = http.get(f"/merge-requests/{number}", headers=reviewer).json()
    assert stale["approvals"][0]["current"] is False and stale["approvals_current"] == 0
    refused = http.post(f"/merge-requests/{number}/merge", headers=reviewer, json={})
    assert refused.json()["error"]["code"] == "approvals_required"
    http.post(f"/merge-requests/{number}/approvals", headers=reviewer)

    # The target moves too (a change made straight on main): the request re-checks itself.
    http.post("/databases/main/tables/users/columns", headers=admin, json={"name": "nick"})
    moved = http.get(f"/merge-requests/{number}", headers=reviewer).json()
    assert moved["target_head"] == moved["check"]["target_head"] != mr["target_head"]
    assert [c["message"] for c in moved["check"]["changes"]["main"]["ours"]] == [
        "Add column users.nick TEXT"]
    assert moved["can_merge_now"], moved["blockers"]

    preview = http.post(f"/merge-requests/{number}/merge", headers=reviewer,
                        json={"dry_run": True}).json()
    assert preview["result"]["dry_run"] and preview["merge_request"]["state"] == "open"
    assert tenant_columns(http, api_keys.admin, "main")["acme"][-1] == "nick"
    merged = http.post(f"/merge-requests/{number}/merge", headers=reviewer, json={})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["merge_request"]["state"] == "merged"
    assert body["merge_request"]["merged_by"] == "write"
    assert body["result"]["tenants"]["main"]["failed"] == []
    # Every tenant of main has the merged schema; the branch's own tenant stayed on the branch.
    after = tenant_columns(http, api_keys.admin, "main")
    assert set(after) == {"acme", "globex", "main"}
    for columns in after.values():
        assert {"nick", "phone", "phone_verified"} <= set(columns)
    assert "sandbox" in tenant_columns(http, api_keys.admin, "feature/phone")
    rows = http.post("/databases/main/tenants/acme/query", headers=reviewer, json={
        "sql": "SELECT name, phone, phone_verified FROM users"}).json()["rows"]
    assert rows == [["acme-ann", None, 0]]
    listed = http.get("/merge-requests?state=merged", headers=reviewer).json()["items"]
    assert [m["number"] for m in listed] == [number]
    shown = http.get(f"/merge-requests/{number}", headers=reviewer).json()
    assert {d["object"] for d in shown["diff"]["databases"][0]["diff"]} == {
        "users.phone", "users.phone_verified"}
    again = http.post(f"/merge-requests/{number}/merge", headers=reviewer, json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_mergeable"


def test_conflicts_block_the_merge_and_change_nothing(real_server: RealServer,
                                                      http: httpx.Client,
                                                      api_keys: Keys) -> None:
    w = Keys.header(api_keys.write)
    http.post("/branches", headers=w, json={"name": "feature/a"})
    http.post("/branches", headers=w, json={"name": "feature/b"})
    for branch, kind in (("feature/a", "TEXT"), ("feature/b", "INTEGER")):
        assert http.post(f"/databases/main/tables/users/columns?branch={branch}", headers=w,
                         json={"name": "score", "type": kind}).status_code == 200
    first = http.post("/merge-requests", headers=w, json={
        "source": "feature/a", "target": "main", "title": "score as text"}).json()
    second = http.post("/merge-requests", headers=w, json={
        "source": "feature/b", "target": "main", "title": "score as integer"}).json()
    assert first["can_merge_now"] and second["can_merge_now"]
    assert http.post(f"/merge-requests/{first['number']}/merge", headers=w,
                     json={}).status_code == 200
    before = tenant_columns(http, api_keys.admin, "main")
    head = http.get("/branches/main", headers=w).json()["head"]

    clash = http.get(f"/merge-requests/{second['number']}", headers=w).json()
    assert not clash["can_merge_now"] and clash["check"]["can_merge"] is False
    [conflict] = clash["check"]["conflicts"]
    assert "users.score" in conflict["object"] and conflict["resolutions"]
    assert conflict["ours"]["sql"] and conflict["theirs"]["sql"]
    assert any("conflict" in b for b in clash["blockers"])
    refused = http.post(f"/merge-requests/{second['number']}/merge", headers=w, json={})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "not_mergeable" and error["details"]["conflicts"]
    assert tenant_columns(http, api_keys.admin, "main") == before
    assert http.get("/branches/main", headers=w).json()["head"] == head

    closed = http.post(f"/merge-requests/{second['number']}/close", headers=w).json()
    assert closed["state"] == "closed" and closed["closed_by"] == "write"
    assert [m["number"] for m in http.get("/merge-requests?state=open",
                                          headers=w).json()["items"]] == []
    reopened = http.post(f"/merge-requests/{second['number']}/reopen", headers=w).json()
    assert reopened["state"] == "open" and reopened["check"]["conflicts"]
    # The read key sees merge requests, but cannot comment, approve or merge.
    r = Keys.header(api_keys.read)
    assert http.get(f"/merge-requests/{second['number']}/comments", headers=r).json() == {
        "items": [], "next_cursor": None}
    for action in ("approvals", "merge", "comments", "close"):
        response = http.post(f"/merge-requests/{second['number']}/{action}", headers=r,
                             json={"body": "x"} if action == "comments" else {})
        assert response.status_code == 403, action
