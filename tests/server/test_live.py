"""Live queries over WebSocket: a write by another process is pushed to the subscriber.

The tests that write get a server of their own; the ones that only read and get refused share
one server for the module (each checks that it changes nothing it reads)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import run_cinch
from tests.server.conftest import Keys, RealServer

COUNT = "SELECT count(*) AS n FROM users"


def ws_url(server: RealServer, tenant: str = "acme") -> str:
    return server.url.replace("http://", "ws://") + f"/databases/main/tenants/{tenant}/live"


def receive(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def test_a_write_from_another_process_is_pushed(real_server: RealServer,
                                                api_keys: Keys) -> None:
    with connect(ws_url(real_server), additional_headers=Keys.header(api_keys.read)) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send(json.dumps({"type": "subscribe", "id": "n", "sql": COUNT}))
        first = receive(ws)
        assert first["type"] == "result" and first["result"]["rows"] == [[1]]
        run_cinch("-C", str(real_server.root), "query", "--tenant", "acme",
                  "INSERT INTO users (name, email) VALUES ('cli', 'cli@x')", check=True)
        pushed = receive(ws)
        assert pushed == {"type": "result", "id": "n", "result": {**first["result"],
                                                                   "rows": [[2]]}}
        # A change to another tenant pushes nothing here.
        run_cinch("-C", str(real_server.root), "query", "--tenant", "globex",
                  "DELETE FROM users", check=True)
        ws.send(json.dumps({"type": "ping"}))
        assert receive(ws) == {"type": "pong"}
        ws.send(json.dumps({"type": "unsubscribe", "id": "n"}))
        assert receive(ws) == {"type": "unsubscribed", "id": "n"}
        run_cinch("-C", str(real_server.root), "query", "--tenant", "acme",
                  "DELETE FROM users WHERE name = 'cli'", check=True)
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)


@pytest.fixture
def shared(shared_server: tuple[RealServer, Keys]) -> RealServer:
    return shared_server[0]


@pytest.fixture
def keys(shared_server: tuple[RealServer, Keys]) -> Keys:
    return shared_server[1]


def test_browsers_authenticate_with_a_first_frame(shared: RealServer, keys: Keys) -> None:
    real_server, api_keys = shared, keys
    with connect(ws_url(real_server)) as ws:
        ws.send(json.dumps({"type": "auth", "key": api_keys.read}))
        assert receive(ws)["type"] == "ready"
        ws.send(json.dumps({"type": "subscribe", "id": "a", "sql": "SELECT name FROM users"}))
        assert receive(ws)["result"]["rows"] == [["acme-ann"]]


def test_live_queries_are_read_only_and_checked(shared: RealServer, keys: Keys) -> None:
    real_server, api_keys = shared, keys
    with connect(ws_url(real_server), additional_headers=Keys.header(api_keys.admin)) as ws:
        receive(ws)
        ws.send(json.dumps({"type": "subscribe", "id": "w", "sql": "DELETE FROM users"}))
        error = receive(ws)
        assert error["type"] == "error" and error["error"]["code"] == "query_refused"
        ws.send(json.dumps({"type": "subscribe", "id": "x",
                            "sql": "ATTACH DATABASE 'x' AS x"}))
        assert receive(ws)["error"]["code"] == "query_refused"
        ws.send("not json")
        assert receive(ws)["error"]["code"] == "invalid_json"
        ws.send(json.dumps({"type": "subscribe", "sql": COUNT}))
        assert receive(ws)["error"]["code"] == "query_error"
        ws.send(json.dumps({"type": "subscribe", "id": "ok", "sql": COUNT}))
        assert receive(ws)["result"]["rows"] == [[1]]


@pytest.mark.parametrize(("headers", "path", "close_code"), [
    ({}, "acme", 4401),
    ({"Authorization": "Bearer cinch_000000000000_nope"}, "acme", 4401),
    (None, "nobody", 4404),
    (None, "..", 4422),
])
def test_refused_sockets_get_an_error_and_a_close_code(
        shared: RealServer, keys: Keys, headers: dict[str, str] | None, path: str,
        close_code: int) -> None:
    real_server, api_keys = shared, keys
    with connect(ws_url(real_server, path),
                 additional_headers=Keys.header(api_keys.read) if headers is None else headers,
                 ) as ws:
        if headers == {}:
            ws.send(json.dumps({"type": "subscribe", "id": "n", "sql": COUNT}))
        message = receive(ws)
        assert message["type"] == "error"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == close_code


def test_a_branch_key_cannot_watch_main(shared: RealServer, keys: Keys) -> None:
    real_server, api_keys = shared, keys
    with connect(ws_url(real_server), additional_headers=Keys.header(api_keys.feature)) as ws:
        assert receive(ws)["error"]["code"] == "forbidden"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 4403
