"""The warm `cinch serve` the HTTP tests run (tests/warm.py) stops as the real process does:
a signal sent to the command reaches the server, and a command killed outright takes its
server with it (no server is left holding a port)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.server.conftest import Keys, RealServer, start_server
from tests.warm import CINCH as WARM_CINCH


def _port_closed(server: RealServer, within: float = 10) -> bool:
    port = int(server.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.05)
    return False


def test_terminate_stops_the_server_and_kill_takes_it_along(server_root: Path,
                                                            api_keys: Keys) -> None:
    assert WARM_CINCH, "the HTTP tests' servers start warm"
    server = start_server(server_root, "--rate-limit", "0")
    wrote = httpx.post(f"{server.url}/databases/main/tenants/acme/query",
                       headers=Keys.header(api_keys.write), timeout=30,
                       json={"sql": "INSERT INTO users (name) VALUES ('ann')"})
    assert wrote.status_code == 200, wrote.text
    wal = server_root / ".cinch" / "tenants" / "main" / "main" / "acme.db-wal"
    assert wal.exists()  # the server holds the tenant open
    server.process.terminate()
    assert server.process.wait(timeout=20) == -15  # what uvicorn's own process exits with
    assert _port_closed(server)
    assert not wal.exists()  # it shut down as asked: its connections closed, WAL checkpointed

    server = start_server(server_root, "--rate-limit", "0")
    server.process.kill()  # SIGKILL cannot be passed on: the warm server ends the process
    server.process.wait(timeout=20)
    assert _port_closed(server)
