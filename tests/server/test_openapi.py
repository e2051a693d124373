"""The OpenAPI document: committed, named for generated clients, and fuzzed."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import VENV_BIN
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


def run_schemathesis(server: RealServer, keys: Keys, cwd: Path, *, seed: int,
                     max_examples: int, timeout: float = 280) -> None:
    """Every phase (examples, coverage, fuzzing, stateful) against a real ``cinch serve``:
    no operation may answer 5xx, and the server must still be serving after."""
    binary = shutil.which("schemathesis", path=str(VENV_BIN))
    assert binary, "schemathesis is a dev dependency"
    result = subprocess.run(
        [binary, "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error",
         "-H", f"Authorization: Bearer {keys.admin}", "--max-examples", str(max_examples),
         "--seed", str(seed), "--no-shrink",
         "--suppress-health-check", "all", "--request-timeout", "20", "--warnings", "off"],
        capture_output=True, text=True, timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL)
    tail = result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert re.search(r"\d+ passed", result.stdout), tail
    assert "failed" not in result.stdout.split("SUMMARY")[-1].lower(), tail
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in result.stdout, (phase, tail)
    assert server.process.poll() is None  # still serving


def test_schemathesis_finds_no_server_error(real_server: RealServer, api_keys: Keys,
                                            tmp_path: Path) -> None:
    """A fixed seed and a fixed number of cases: the same requests on every machine."""
    run_schemathesis(real_server, api_keys, tmp_path, seed=1, max_examples=2)


@pytest.mark.long
@pytest.mark.timeout(1300)
def test_schemathesis_with_a_fresh_seed(real_server: RealServer, api_keys: Keys,
                                        tmp_path: Path) -> None:
    seed = random.randrange(2**31)
    print(f"schemathesis seed {seed}")
    run_schemathesis(real_server, api_keys, tmp_path, seed=seed, max_examples=25,
                     timeout=1200)


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
