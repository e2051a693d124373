"""One error shape everywhere, the status codes of the spec, and the security headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import Keys

QUERY = "/databases/main/tenants/acme/query"


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "hint", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_every_route_needs_a_key_and_says_so_the_same_way(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, ops in spec["paths"].items():
        for method in ops:
            if path == "/health":
                continue
            url = path.format(db="main", tenant="acme", table="users", column="name",
                              index="users_name", view="adults", branch="main", number=1,
                              change_id="ABCDEF", name="x", lang="python")
            response = client.request(method.upper(), url, json={})
            error = assert_error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
            assert "hint" in error
            checked += 1
    assert checked >= 40
    assert client.get("/health").status_code == 200
    assert client.get("/docs").status_code == 200


def test_a_wrong_or_malformed_key_is_401(client: TestClient, api_keys: Keys) -> None:
    for header in ("Bearer nope", "Bearer cinch_000000000000_wrong", "Basic abc",
                   "Bearer " + api_keys.admin[:-1] + "x"):
        assert_error(client.get("/project", headers={"Authorization": header}), 401,
                     "unauthorized")


def test_the_wrong_scope_is_403_with_the_engine_code(client: TestClient, api_keys: Keys) -> None:
    error = assert_error(client.get("/keys", headers=Keys.header(api_keys.read)), 403,
                         "forbidden")
    assert error["details"] == {"key": "read", "scope": "read", "needs": "admin"}


def test_engine_errors_keep_their_stable_code(client: TestClient, api_keys: Keys) -> None:
    h = Keys.header(api_keys.write)
    assert_error(client.get("/databases/main/tables/nope", headers=h), 404, "not_found")
    assert_error(client.get("/databases/sqlite_x/tables", headers=h), 422, "invalid_name")
    assert_error(client.get("/databases/Bad-Name/tables", headers=h), 422, "validation_error")
    assert_error(client.post("/databases/main/tables", headers=h, json={"name": "users"}), 409,
                 "already_exists")
    assert_error(client.post(QUERY, headers=h, json={"sql": "SELECT nope FROM users"}), 400,
                 "query_error")
    assert_error(client.post(QUERY, headers=h, json={"sql": "DROP TABLE users"}), 403,
                 "query_refused")


def test_rate_limit_is_429_with_retry_after(make_client: Callable[..., TestClient],
                                            api_keys: Keys) -> None:
    client = make_client(rate_limit=1.0, rate_burst=2)
    h = Keys.header(api_keys.read)
    statuses = [client.get("/project", headers=h).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429
    response = client.get("/project", headers=h)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    # Per key: another key is not limited by the first one's traffic.
    assert client.get("/project", headers=Keys.header(api_keys.write)).status_code == 200


def test_failed_authentications_are_rate_limited_per_address(
        make_client: Callable[..., TestClient], api_keys: Keys) -> None:
    client = make_client(auth_fail_limit=1.0)
    statuses = [client.get("/project", headers={"Authorization": "Bearer bad"}).status_code
                for _ in range(8)]
    assert 429 in statuses and statuses[0] == 401


def test_bodies_over_the_limit_are_413(make_client: Callable[..., TestClient],
                                       api_keys: Keys) -> None:
    client = make_client(max_body_bytes=1000)
    h = Keys.header(api_keys.write)
    big = {"sql": "SELECT 1 -- " + "x" * 2000}
    assert_error(client.post(QUERY, headers=h, json=big), 413, "payload_too_large")

    def chunks():  # no Content-Length: counted while read
        yield b'{"sql": "SELECT 1 -- '
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = client.post(QUERY, headers={**h, "content-type": "application/json"},
                           content=chunks())
    assert_error(response, 413, "payload_too_large")
    assert client.post(QUERY, headers=h, json={"sql": "SELECT 1"}).status_code == 200


@pytest.mark.parametrize(("body", "status", "code"), [
    (b'{"sql": "SELECT 1",}', 400, "invalid_json"),
    (b'{"sql": ', 400, "invalid_json"),
    (b'{"sql": "SELECT 1", "unknown": true}', 422, "validation_error"),
    (b'{"sql": 42}', 422, "validation_error"),
    (b'{}', 422, "validation_error"),
    (b'[1, 2]', 422, "validation_error"),
    (b'{"sql": "SELECT 1", "limit": 0}', 422, "validation_error"),
])
def test_malformed_bodies_are_clear_4xx(client: TestClient, api_keys: Keys, body: bytes,
                                        status: int, code: str) -> None:
    response = client.post(QUERY, content=body, headers={
        **Keys.header(api_keys.write), "content-type": "application/json"})
    error = assert_error(response, status, code)
    assert error["details"]["errors"]


def test_unknown_routes_and_methods_have_the_same_shape(client: TestClient,
                                                        api_keys: Keys) -> None:
    h = Keys.header(api_keys.read)
    assert_error(client.get("/nowhere", headers=h), 404, "not_found")
    assert_error(client.put("/project", headers=h), 405, "method_not_allowed")


def test_unexpected_errors_are_500_in_the_same_shape(client: TestClient, api_keys: Keys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from cinch.server.routers import meta

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(meta.cinch, "__version__", property(boom))
    monkeypatch.setattr(meta, "ProjectPublic", boom)
    response = client.get("/project", headers=Keys.header(api_keys.read))
    error = assert_error(response, 500, "internal")
    assert "secret internals" not in response.text
    assert error["message"]


def test_security_headers_on_every_response(client: TestClient, api_keys: Keys) -> None:
    for response in (client.get("/health"), client.get("/project"),
                     client.get("/project", headers=Keys.header(api_keys.read))):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]


def test_cors_only_when_configured(make_client: Callable[..., TestClient],
                                   api_keys: Keys) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    closed = make_client()
    assert "access-control-allow-origin" not in closed.options(QUERY, headers=preflight).headers
    open_ = make_client(cors_origins=["https://app.example"])
    response = open_.options(QUERY, headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    other = open_.options(QUERY, headers={**preflight, "Origin": "https://evil.example"})
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"
