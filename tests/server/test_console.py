"""The web console served at ``/`` beside the API: pages with their own CSP, API first."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cinch.server.app import create_app
from tests.server.conftest import Keys

ROOT = Path(__file__).resolve().parents[2]
INLINE = b'self.__next_f.push([1,"page"])'


def export(tmp_path: Path) -> Path:
    """A small export laid out as ``next build`` with ``trailingSlash`` writes one."""
    out = tmp_path / "console"
    (out / "schema").mkdir(parents=True)
    (out / "_next" / "static" / "chunks").mkdir(parents=True)
    page = b'<html><script src="/_next/static/chunks/a.js"></script><script>' + INLINE + b"</script>"
    (out / "index.html").write_bytes(page + b"dashboard</html>")
    (out / "schema" / "index.html").write_bytes(page + b"schema</html>")
    (out / "404.html").write_bytes(b"<html>not found</html>")
    (out / "_next" / "static" / "chunks" / "a.js").write_bytes(b"console.log(1)")
    return out


def console_client(server_root: Path, directory: Path) -> TestClient:
    return TestClient(create_app(server_root, console_dir=directory), raise_server_exceptions=False)


def test_pages_are_served_with_a_policy_allowing_only_their_own_inline_scripts(
        server_root: Path, tmp_path: Path) -> None:
    with console_client(server_root, export(tmp_path)) as client:
        home = client.get("/")
        assert home.status_code == 200 and b"dashboard" in home.content
        digest = base64.b64encode(hashlib.sha256(INLINE).digest()).decode()
        csp = home.headers["content-security-policy"]
        assert f"script-src 'self' 'sha256-{digest}';" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert client.get("/schema", follow_redirects=False).headers["location"].endswith("/schema/")
        assert b"schema" in client.get("/schema/").content
        asset = client.get("/_next/static/chunks/a.js")
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]


def test_api_routes_keep_precedence_and_unknown_paths_get_the_json_error(
        server_root: Path, tmp_path: Path, api_keys: Keys) -> None:
    with console_client(server_root, export(tmp_path)) as client:
        refused = client.get("/project")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        project = client.get("/project", headers=Keys.header(api_keys.read)).json()
        assert project["key"]["name"] == "read" and project["key"]["scope"] == "read"
        missing = client.get("/no-such-page/")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert client.get("/404.html").status_code == 404
        assert client.get("/health").json()["status"] == "ok"


def test_without_a_build_the_root_says_the_console_is_not_built(server_root: Path,
                                                                tmp_path: Path) -> None:
    with console_client(server_root, tmp_path / "empty") as client:
        answer = client.get("/")
        assert answer.status_code == 404 and "console is not built" in answer.text


def test_no_console_page_is_named_like_an_api_route(server_root: Path) -> None:
    pages = {p.parent.name for p in (ROOT / "frontend" / "app").glob("*/page.tsx")}
    assert {"signin", "schema", "query"} <= pages
    app = create_app(server_root)
    api = {route.path.strip("/").split("/")[0] for route in app.routes if isinstance(route, APIRoute)}
    api |= {"docs", "redoc", "openapi.json", "_next"}
    assert not pages & api, pages & api
