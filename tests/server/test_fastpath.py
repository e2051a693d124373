"""The query fast path: ``cinch.server.protocol`` answers point queries inside uvicorn's HTTP
protocol, ``cinch.server.fastpath`` before FastAPI's stack. Both must answer exactly as the
route does (errors, headers, metrics, rate limits, revoked keys) and leave every other request
to uvicorn and FastAPI."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from uvicorn.config import Config
from uvicorn.server import ServerState

import cinch
from cinch.engine.branches import create_branch
from cinch.server.app import create_app
from cinch.server.keys import revoke_key
from cinch.server.protocol import CinchHttpProtocol
from cinch.server.settings import ServerSettings
from cinch.server.state import StateStore, state_path
from cinch.stores import gitstore
from tests.server.conftest import Keys, RealServer, start_server, stop_server

QUERY = "/databases/main/tenants/acme/query"
SECURITY = ("x-content-type-options", "x-frame-options", "referrer-policy", "cache-control",
            "content-security-policy")

# (path, body): answered by the fast path when sent plainly; each one also through the route.
CASES: list[tuple[str, Any]] = [
    (QUERY, {"sql": "SELECT name, email, age FROM users", "read_only": True}),
    (QUERY, {"sql": "SELECT name FROM users"}),  # a read key: read-only anyway
    (QUERY, {"sql": "SELECT ? AS a, x'01' AS b, 1e308 * 10 AS c", "params": [1.25]}),
    (QUERY, {"sql": "SELECT ?, ?", "params": [18446744073709551616, 2]}),  # past 64 bits
    (QUERY, {"sql": "SELECT :a", "params": {"a": "ü ✓"}, "read_only": True, "limit": 5}),
    (QUERY, {"sql": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 30) SELECT x FROM c", "limit": 7}),
    (QUERY, {"sql": "SELECT nope"}),
    (QUERY, {"sql": "DELETE FROM users"}),
    (QUERY, {"sql": "ATTACH 'x' AS x"}),
    (QUERY, {"sql": "SELECT 1", "unknown": 1}),
    (QUERY, {"sql": ""}),
    (QUERY, {"sql": "SELECT 1", "read_only": "yes"}),
    (QUERY, [1, 2]),
    (QUERY, "not json"),
    (QUERY + "?branch=nope", {"sql": "SELECT 1"}),
    (QUERY + "?branch=", {"sql": "SELECT 1"}),
    (QUERY + "?branch=" + "b" * 201, {"sql": "SELECT 1"}),
    (QUERY + "?branch=main&branch=..%2Fx", {"sql": "SELECT 1"}),
    ("/databases/main/tenants/nobody/query", {"sql": "SELECT 1"}),
    ("/databases/Main/tenants/acme/query", {"sql": "SELECT count(*) FROM users"}),
    ("/databases/other/tenants/acme/query", {"sql": "SELECT 1"}),
]


def _raw(body: Any) -> bytes:
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def _answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k in SECURITY or k in (
        "content-type", "www-authenticate", "retry-after")}
    return response.status_code, response.json(), headers


# --- against a real `cinch serve` ----------------------------------------------------------

@pytest.fixture(scope="module")
def served(shared_server: tuple[RealServer, Keys]) -> Iterator[tuple[httpx.Client, Keys]]:
    server, keys = shared_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http, keys


@pytest.mark.parametrize(("path", "body"), CASES)
def test_a_real_server_answers_like_the_route(served: tuple[httpx.Client, Keys], path: str,
                                              body: Any) -> None:
    http, keys = served
    h = {**Keys.header(keys.read), "content-type": "application/json"}
    fast = http.post(path, headers=h, content=_raw(body))
    # A body without Content-Length (chunked) is never taken by the fast path: the route's.
    route = http.post(path, headers=h, content=iter([_raw(body)]))
    assert "content-length" not in route.request.headers
    assert _answer(fast) == _answer(route), (path, body)
    assert fast.headers["date"]


def test_keys_are_checked_on_every_request(served: tuple[httpx.Client, Keys]) -> None:
    http, keys = served
    body = {"sql": "SELECT 1", "read_only": True}
    for headers in ({}, {"Authorization": "Bearer cinch_000000000000_nope"},
                    {"Authorization": keys.read}, {"Authorization": f"Basic {keys.read}"},
                    {"Authorization": f"Bearer {keys.read}x"},
                    {"Authorization": f"Bearer {keys.read[:-1]}"}):
        fast = http.post(QUERY, headers=headers, json=body)
        route = http.post(QUERY, headers=headers, content=iter([_raw(body)]))
        assert fast.status_code == 401, headers
        assert _answer(fast) == _answer(route)
        assert fast.headers["www-authenticate"] == "Bearer"
    feature = http.post(QUERY, headers=Keys.header(keys.feature), json=body)
    assert feature.status_code == 403 and feature.json()["error"]["code"] == "forbidden"
    other = http.post(QUERY, headers=Keys.header(keys.other_db), json=body)
    assert other.status_code == 403


def test_fast_answers_are_counted_in_the_metrics(served: tuple[httpx.Client, Keys]) -> None:
    http, keys = served
    h = Keys.header(keys.read)

    def count(status: int) -> int:
        text = http.get("/metrics", headers=h).text
        found = re.search(r'cinch_http_requests_total\{method="POST",route="/databases/\{db\}/'
                          rf'tenants/\{{tenant\}}/query",status="{status}"\}} (\d+)', text)
        return int(found[1]) if found else 0

    before = count(200), count(404)
    for _ in range(3):
        assert http.post(QUERY, headers=h, json={"sql": "SELECT 1"}).status_code == 200
    assert http.post("/databases/main/tenants/nobody/query", headers=h,
                     json={"sql": "SELECT 1"}).status_code == 404
    assert (count(200), count(404)) == (before[0] + 3, before[1] + 1)


@pytest.fixture(scope="module")
def real_server_url(shared_server: tuple[RealServer, Keys]) -> str:
    return shared_server[0].url


def test_keep_alive_and_pipelined_requests_answer_in_order(real_server_url: str,
                                                          served: tuple[httpx.Client, Keys],
                                                          ) -> None:
    _, keys = served
    host, port = real_server_url.removeprefix("http://").split(":")

    def post(sql: str, extra: str = "") -> bytes:
        body = json.dumps({"sql": sql, "read_only": True}).encode()
        return (f"POST {QUERY} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {keys.read}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}"
                "\r\n").encode() + body

    health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        # Five requests in one write: fast, uvicorn's, fast, fast (100-continue: uvicorn's),
        # and a last one that closes the connection.
        sock.sendall(post("SELECT 1") + health + post("SELECT 2")
                     + post("SELECT 3", "Expect: 100-continue\r\n")
                     + post("SELECT 4", "Connection: close\r\n"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answers = [a for a in _responses([data]) if a[0] != 100]
    assert [(a[0], a[2].get("rows", a[2].get("status"))) for a in answers] == [
        (200, [[1]]), (200, "ok"), (200, [[2]]), (200, [[3]]), (200, [[4]])]
    assert all(name in a[1] for a in answers for name in SECURITY[:3])


# --- state that changes under a running server ---------------------------------------------

@pytest.fixture
def limited_server(server_root: Path, api_keys: Keys) -> Iterator[RealServer]:
    server = start_server(server_root, "--rate-limit", "0.1")  # burst 1, +1 in 10 s
    yield server
    stop_server(server)


def test_handed_over_requests_take_one_token(limited_server: RealServer,
                                             api_keys: Keys) -> None:
    """A write query is begun in the protocol (the key checked and counted) and finished on
    the ASGI side: it must not be counted twice."""
    with httpx.Client(base_url=limited_server.url, timeout=30) as http:
        h = Keys.header(api_keys.write)
        insert = {"sql": "INSERT INTO users (name, email) VALUES ('r', ?)"}
        statuses = [http.post(QUERY, headers=h, json={**insert, "params": [f"r{i}@x"]})
                    .status_code for i in range(2)]
        assert statuses == [200, 429]
        limited = http.post(QUERY, headers=h, json={"sql": "SELECT 1", "read_only": True})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_revoked_keys_and_deleted_tenants_fail_at_once(real_server: RealServer,
                                                       api_keys: Keys) -> None:
    with httpx.Client(base_url=real_server.url, timeout=30) as http:
        h = Keys.header(api_keys.read)
        for _ in range(3):  # warm: the key, the tenant and its branch are all remembered
            assert http.post(QUERY, headers=h, json={"sql": "SELECT 1"}).status_code == 200
        store = StateStore(state_path(real_server.root / ".cinch"))
        try:
            revoke_key(store, "read")
        finally:
            store.close()
        assert http.post(QUERY, headers=h, json={"sql": "SELECT 1"}).status_code == 401
        admin = Keys.header(api_keys.admin)
        assert http.post(QUERY, headers=admin, json={"sql": "SELECT 1"}).status_code == 200
        assert http.delete("/databases/main/tenants/acme", headers=admin).status_code in (
            200, 204)
        gone = http.post(QUERY, headers=admin, json={"sql": "SELECT 1", "read_only": True})
        assert gone.status_code == 404, gone.text


# --- the protocol, in process ----------------------------------------------------------------

class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000),
                "peername": ("127.0.0.1", 40000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.fixture
def protocol(server_root: Path, api_keys: Keys,
             ) -> Iterator[Callable[..., tuple[CinchHttpProtocol, _Transport, ServerState]]]:
    loop = asyncio.new_event_loop()
    apps = []

    def make(**settings: Any) -> tuple[CinchHttpProtocol, _Transport, ServerState]:
        app = create_app(server_root, ServerSettings(**settings))
        apps.append(app)
        config = Config(app, log_config=None, access_log=False, http=CinchHttpProtocol,
                        proxy_headers=False, server_header=False)
        config.load()
        state = ServerState()
        state.default_headers = [(b"date", b"Thu, 01 Jan 2026 00:00:00 GMT")]
        proto = CinchHttpProtocol(config=config, server_state=state, app_state={}, _loop=loop)
        transport = _Transport()
        proto.connection_made(transport)
        return proto, transport, state

    make.loop = loop  # type: ignore[attr-defined]
    yield make
    loop.run_until_complete(asyncio.sleep(0))
    for app in apps:
        app.state.cinch.state.close()
        app.state.cinch.project.close()
    loop.close()


def _request(key: str, body: dict[str, Any], path: str = QUERY, extra: str = "") -> bytes:
    raw = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n{extra}\r\n"
            ).encode() + raw


def _responses(writes: list[bytes]) -> list[tuple[int, dict[str, str], Any]]:
    out = []
    for part in re.split(rb"(?=HTTP/1\.1 \d{3} )", b"".join(writes)):
        if not part:
            continue
        head, _, body = part.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        pairs = (line.split(": ", 1) for line in lines[1:])
        headers = {name.lower(): value for name, value in pairs}
        out.append((int(lines[0].split()[1]), headers, json.loads(body) if body else None))
    return out


def test_the_protocol_answers_a_point_query_in_one_write(protocol: Any,
                                                         api_keys: Keys) -> None:
    proto, transport, state = protocol(rate_limit=0)
    proto.data_received(_request(api_keys.read, {"sql": "SELECT name FROM users"}))
    assert len(transport.writes) == 1 and not state.tasks  # no ASGI task, one write
    [(status, headers, body)] = _responses(transport.writes)
    assert status == 200 and body["rows"] == [["acme-ann"]]
    assert headers["date"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert headers["content-type"] == "application/json"
    assert all(name in headers for name in SECURITY)
    assert int(headers["content-length"]) == len(json.dumps(body, separators=(",", ":")))
    # Two pipelined in one packet, then an error: in order, each in one write. (An unknown
    # tenant is not among them: whether it may be made is found out in a worker thread.)
    transport.writes.clear()
    proto.data_received(_request(api_keys.read, {"sql": "SELECT 1"})
                        + _request(api_keys.read, {"sql": "SELECT 2"})
                        + _request(api_keys.read, {"sql": "SELECT 1"},
                                   path=QUERY + "?branch=nope"))
    assert len(transport.writes) == 3 and not state.tasks
    assert [(s, b.get("rows")) for s, _, b in _responses(transport.writes)] == [
        (200, [[1]]), (200, [[2]]), (404, None)]
    assert state.total_requests == 4


def test_the_protocol_leaves_the_rest_to_uvicorn(protocol: Any, api_keys: Keys) -> None:
    make = protocol
    proto, transport, state = make(rate_limit=0)
    loop = make.loop
    for request in (
            _request(api_keys.write, {"sql": "INSERT INTO users (name, email) VALUES "
                                             "('p', 'p@x')"}),  # a write: handed over
            _request(api_keys.read, {"sql": "SELECT 1", "bogus": 1}),  # the route's 422
            _request(api_keys.read, {"sql": "SELECT 1"}, extra="Expect: 100-continue\r\n"),
            _request(api_keys.read, {"sql": "SELECT 1"}).replace(b"application/json",
                                                                 b"text/plain")):
        transport.writes.clear()
        proto.data_received(request)
        assert state.tasks, request  # an ASGI task: uvicorn's (and FastAPI's) turn
        for _ in range(100):
            loop.run_until_complete(asyncio.sleep(0.01))
            if not state.tasks:
                break
        answers = [a for a in _responses([w for w in transport.writes
                                          if not w.startswith(b"HTTP/1.1 100")])]
        assert len(answers) == 1, transport.writes
    assert answers[0][0] == 422


def test_engine_busy_means_the_asgi_path(protocol: Any, api_keys: Keys) -> None:
    make = protocol
    proto, transport, state = make(rate_limit=0)
    loop = make.loop
    lock = proto.app.state.cinch.engine_lock

    async def hold() -> None:
        await lock.acquire()

    loop.run_until_complete(hold())
    proto.data_received(_request(api_keys.read, {"sql": "SELECT 7"}))
    loop.run_until_complete(asyncio.sleep(0.05))
    assert state.tasks and not transport.writes  # waiting for the engine, as the route does
    lock.release()
    for _ in range(100):
        loop.run_until_complete(asyncio.sleep(0.01))
        if transport.writes:
            break
    assert _responses(transport.writes)[0][2]["rows"] == [[7]]


# --- what the hot path remembers ---------------------------------------------------------------

def test_branch_tips_are_reread_when_the_ref_changes(make_client: Callable[..., TestClient],
                                                     api_keys: Keys, server_root: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gitstore, "_RACY_NS", -10**18)  # trust even a fresh ref file at once
    client = make_client()
    ctx = client.app.state.cinch  # type: ignore[attr-defined]
    with cinch.open(server_root) as project:
        create_branch(project, "feature/x")
        first = ctx.branch_tip("feature/x")
        assert first == project.git.branch_tip("feature/x")
        assert ctx._watch._tips["feature/x"][2] == first  # remembered
        h = Keys.header(api_keys.admin)
        url = "/databases/main/tenants/acme/query?branch=feature/x"
        assert client.post(url, headers=h, json={"sql": "SELECT 1"}).status_code == 200
        changed = client.post("/databases/main/tables?branch=feature/x", headers=h,
                              json={"name": "extra", "columns": [{"name": "v",
                                                                  "type": "TEXT"}]})
        assert changed.status_code in (200, 201), changed.text
        assert ctx.branch_tip("feature/x") == project.git.branch_tip("feature/x") != first
        rows = client.post(url, headers=h, json={"sql": "SELECT count(*) FROM extra"})
        assert rows.status_code == 200, rows.text
        assert client.delete("/branches/feature/x?force=true", headers=h).status_code == 204
        assert ctx.branch_tip("feature/x") is None
        gone = client.post(url, headers=h, json={"sql": "SELECT 1", "read_only": True})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_cross_origin_calls_get_their_cors_headers(make_client: Callable[..., TestClient],
                                                   api_keys: Keys) -> None:
    client = make_client(cors_origins=["https://app.example"])
    h = {**Keys.header(api_keys.read), "Origin": "https://app.example"}
    response = client.post(QUERY, headers=h, json={"sql": "SELECT 1", "read_only": True})
    assert response.status_code == 200 and response.json()["rows"] == [[1]]
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert response.headers["x-content-type-options"] == "nosniff"
