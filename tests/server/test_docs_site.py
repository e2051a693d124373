"""The documentation site served at ``/docs-site/`` beside the API and the console."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cinch.server.app import create_app
from tests.server.test_console import export

PAGE = b'<html><script>self.__next_f.push([1,"docs"])</script>tour</html>'


def site(tmp_path: Path) -> Path:
    """A small export laid out as the docs build writes it (``trailingSlash``, pagefind)."""
    out = tmp_path / "docs_site"
    (out / "getting-started" / "tour").mkdir(parents=True)
    (out / "_pagefind").mkdir()
    (out / "index.html").write_bytes(PAGE.replace(b"tour", b"home"))
    (out / "getting-started" / "tour" / "index.html").write_bytes(PAGE)
    (out / "_pagefind" / "pagefind.js").write_bytes(b"export const search = 1;")
    (out / "_pagefind" / "pagefind-worker.js").write_bytes(b"fetch('index.pf_meta');")
    return out


def test_the_site_is_served_under_its_base_path_with_search_allowed(server_root: Path,
                                                                     tmp_path: Path) -> None:
    app = create_app(server_root, console_dir=export(tmp_path), docs_dir=site(tmp_path))
    with TestClient(app, raise_server_exceptions=False) as client:
        tour = client.get("/docs-site/getting-started/tour/")
        assert tour.status_code == 200 and b"tour" in tour.content
        csp = tour.headers["content-security-policy"]
        assert "'wasm-unsafe-eval'" in csp.split("script-src")[1].split(";")[0]
        assert client.get("/docs-site/getting-started/tour",
                          follow_redirects=False).headers["location"].endswith("/tour/")
        assert b"home" in client.get("/docs-site/").content
        assert client.get("/docs-site/_pagefind/pagefind.js").status_code == 200
        # the search worker may fetch the index and run it (the API's policy would stop it)
        worker = client.get("/docs-site/_pagefind/pagefind-worker.js").headers
        assert "connect-src 'self'" in worker["content-security-policy"]
        assert "'wasm-unsafe-eval'" in worker["content-security-policy"]
        # the console keeps "/", and its own pages do not allow WebAssembly
        assert b"dashboard" in client.get("/").content
        assert "wasm" not in client.get("/").headers["content-security-policy"]
        assert client.get("/health").json()["status"] == "ok"


def test_without_a_built_site_the_path_is_the_apis_404(server_root: Path, tmp_path: Path) -> None:
    app = create_app(server_root, console_dir=export(tmp_path), docs_dir=tmp_path / "none")
    with TestClient(app, raise_server_exceptions=False) as client:
        missing = client.get("/docs-site/")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
