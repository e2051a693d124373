"""The OpenAPI document: committed, named for generated clients, and fuzzed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.server.conftest import Keys, RealServer

ROOT = Path(__file__).resolve().parents[2]


def test_docs_openapi_json_has_not_drifted() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_openapi.py"),
                             "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_operation_ids_are_tag_name_and_models_are_named(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert op["operationId"].startswith(op["tags"][0] + "-"), path
            assert re.fullmatch(r"[a-z]+(-[a-z]+)*", op["operationId"]), op["operationId"]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body:
                assert "$ref" in body["schema"], (path, "request bodies are named models")
            if path != "/health":
                assert op["security"] == [{"HTTPBearer": []}], path
            if path not in ("/health", "/metrics"):
                assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"}
    names = set(spec["components"]["schemas"])
    assert not [n for n in names if "_" in n or "[" in n], "generic names leak into clients"
    assert {"BranchPage", "TenantPage", "MergeRequestDetail", "QueryResultPublic",
            "ErrorBody"} <= names


def test_schemathesis_finds_no_server_error(real_server: RealServer, api_keys: Keys,
                                            tmp_path: Path) -> None:
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is a dev dependency"
    result = subprocess.run(
        [binary, "run", f"{real_server.url}/openapi.json", "--checks", "not_a_server_error",
         "-H", f"Authorization: Bearer {api_keys.admin}", "--max-examples", "5", "--seed", "1",
         "--max-time", "40", "--no-shrink", "--suppress-health-check", "all",
         "--request-timeout", "20", "--warnings", "off"],
        capture_output=True, text=True, timeout=170, cwd=tmp_path, stdin=subprocess.DEVNULL)
    tail = result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert re.search(r"\d+ passed", result.stdout), tail
    assert "failed" not in result.stdout.split("SUMMARY")[-1].lower(), tail
    assert real_server.process.poll() is None  # still serving


def test_docs_pages_load_everything_from_the_server_itself(real_server: RealServer) -> None:
    """Swagger UI and ReDoc work on a machine without internet: every script, style and
    image they name is served by cinch serve, and the page's CSP allows no other host."""
    import httpx

    for page in ("/docs", "/redoc"):
        response = httpx.get(real_server.url + page, timeout=30)
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        assert "http" not in csp, csp
        assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', response.text)
        assert assets and all(a.startswith("/") for a in assets), (page, assets)
        for asset in assets:
            loaded = httpx.get(real_server.url + asset, timeout=30)
            assert loaded.status_code == 200 and len(loaded.content) > 1000, asset
        assert "https://" not in re.sub(r"https://(github|swagger)\S*", "", response.text)
