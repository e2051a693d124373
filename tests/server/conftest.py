"""Fixtures for the HTTP API: projects with tenants, API keys, an in-process TestClient and a
real ``cinch serve`` (uvicorn in a process of its own, on a free loopback port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import cinch
from cinch.engine.config import CONFIG_FILE
from cinch.server import keys as keystore
from cinch.server.app import create_app
from cinch.server.settings import ServerSettings
from cinch.server.state import StateStore, state_path
from tests.conftest import CINCH_COMMAND
from tests.warm import CINCH as WARM_CINCH

TENANTS = ("acme", "globex")


@dataclass
class Keys:
    admin: str
    write: str
    read: str
    feature: str  # write, branches feature/*
    other_db: str  # write, database "other" only

    @staticmethod
    def header(secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}


def make_keys(root: Path) -> Keys:
    store = StateStore(state_path(Path(root) / ".cinch"))
    try:
        made = {name: keystore.create_key(store, name, scope, database=db, branch=branch)[1]
                for name, scope, db, branch in (
                    ("admin", "admin", None, None), ("write", "write", None, None),
                    ("read", "read", None, None), ("feature", "write", None, "feature/*"),
                    ("other_db", "write", "other", None))}
    finally:
        store.close()
    return Keys(**made)


def set_config(project: cinch.Project, branch: str, **changes: object) -> None:
    """Commit a cinch.toml change on ``branch`` (e.g. approvals, protected branches)."""
    config = project.config(branch)
    for dotted, value in changes.items():
        section, field = dotted.split("__")
        setattr(getattr(config, section), field, value)
    project.git.commit(branch, {CONFIG_FILE: config.to_toml()}, "Configure",
                       project.author().as_tuple())


@pytest.fixture(scope="session")
def server_template(project_templates: dict[str, Path],
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``users`` project plus two tenants with rows, built once."""
    root = tmp_path_factory.mktemp("server-template") / "acme"
    shutil.copytree(project_templates["users"], root, symlinks=True)
    with cinch.open(root) as project:
        for name in TENANTS:
            project.tenants.create("main", "main", name)
            project.tenant(name).insert("users", {"name": f"{name}-ann", "email": f"ann@{name}"})
    return root


@pytest.fixture
def server_root(server_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "acme"
    shutil.copytree(server_template, root, symlinks=True)
    return root


@pytest.fixture
def api_keys(server_root: Path) -> Keys:
    return make_keys(server_root)


@pytest.fixture
def make_client(server_root: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        app = create_app(server_root, ServerSettings(**settings))  # type: ignore[arg-type]
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient], api_keys: Keys) -> TestClient:
    return make_client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RealServer:
    url: str
    root: Path
    process: subprocess.Popen[bytes]


def start_server(root: Path, *extra: str) -> RealServer:
    """``cinch serve`` in a subprocess; returns once /health answers. A port taken between
    choosing it and binding it (another test worker) means another port, not a failure."""
    for _ in range(4):
        try:
            return _start_server_on(free_port(), root, *extra)
        except PortTaken:
            continue
    raise AssertionError("cinch serve found no free port in four tries")


class PortTaken(Exception):
    pass


def _start_server_on(port: int, root: Path, *extra: str) -> RealServer:
    process = subprocess.Popen(
        [*(WARM_CINCH or CINCH_COMMAND), "-C", str(root), "serve", "--port", str(port),
         "--log-level", "warning", *extra], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            message = process.stderr.read().decode()  # type: ignore[union-attr]
            if "address already in use" in message.lower():
                raise PortTaken(message)
            raise AssertionError(f"cinch serve exited: {message}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return RealServer(url, root, process)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("cinch serve did not answer /health within 30 s")


def stop_server(server: RealServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def real_server(server_root: Path, api_keys: Keys) -> Iterator[RealServer]:
    server = start_server(server_root, "--rate-limit", "0")
    yield server
    stop_server(server)


@pytest.fixture
def http(real_server: RealServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def shared_server(server_template: Path, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[tuple[RealServer, Keys]]:
    """One server for a module whose tests change nothing (they check that they do not)."""
    root = tmp_path_factory.mktemp("shared") / "acme"
    shutil.copytree(server_template, root, symlinks=True)
    keys = make_keys(root)
    server = start_server(root, "--rate-limit", "0")
    yield server, keys
    stop_server(server)
