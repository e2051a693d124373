"""The generated TypeScript builder against a live `cinch serve`, through the workspace's real
`@cinch/sdk` (tests/codegen/ts depends on sdk-ts): random values of every kind JSON can carry
round-trip through insert and select."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cinch
from cinch.planner.columns import parse_column_spec
from tests.codegen.test_typescript import TS, tsc
from tests.server.conftest import make_keys, start_server, stop_server

# BLOBs are left out: the HTTP query route binds JSON values only.
COLUMNS = {"i": "INTEGER", "r": "REAL", "n": "NUMERIC", "t": "TEXT", "b": "BOOLEAN",
           "d": "DATE", "ts": "DATETIME", "j": "JSON"}
_SAFE = st.integers(-(2**53), 2**53)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(st.none() | st.booleans() | _SAFE | _FLOATS | st.text(),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(), inner, max_size=3), max_leaves=6)
VALUES = {
    "i": st.integers(-(2**63), 2**63 - 1).map(str),  # string int mode: all 64 bits
    "r": _FLOATS, "n": _SAFE | _FLOATS, "t": st.text(), "b": st.booleans(),
    "d": st.dates().map(dt.date.isoformat),
    "ts": st.datetimes().map(lambda d: d.isoformat(timespec="microseconds")),
    "j": _JSON,
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str, str]]:
    """A project with table samples and tenant t1, served; the compiled round-trip script."""
    base = tmp_path_factory.mktemp("tslive")
    project = cinch.init(base / "p")
    project.database().create_table(
        "samples", [parse_column_spec(f"{n}:{t}") for n, t in COLUMNS.items()])
    project.tenants.create("main", "main", "t1")
    project.database().codegen("typescript", int_mode="string").write(base / "build" / "db")
    project.close()
    build = base / "build"
    (build / "checks").mkdir()
    shutil.copy(TS / "checks" / "roundtrip.ts", build / "checks")
    (build / "package.json").write_text('{"type": "module"}\n')
    # The SDK as tests/codegen/ts installed it: a link to the workspace's sdk-ts (built).
    (build / "node_modules").symlink_to(TS / "node_modules", target_is_directory=True)
    if not (TS / "node_modules" / "@cinch" / "sdk" / "dist" / "index.js").exists():
        pytest.fail("the SDK is not built: run `make install-all`")
    # DOM's lib for the SDK's fetch, Request/Response, AbortSignal and WebSocket types.
    compiled = tsc(build, "--noEmit", "false", "--outDir", "out", "--lib", "ES2022,DOM")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    key = make_keys(base / "p").write
    server = start_server(base / "p", "--rate-limit", "0")
    try:
        yield base / "p", build / "out" / "checks" / "roundtrip.js", server.url, key
    finally:
        stop_server(server)


def doubles(value: Any) -> Any:
    """Numbers as the doubles JavaScript holds: JSON may spell one double with other digits
    (JavaScript writes 5.1e16 as 51000000000000000)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [doubles(v) for v in value]
    return {k: doubles(v) for k, v in value.items()}


def run_node(script: Path, url: str, key: str, rows: list[dict[str, Any]]) -> Any:
    node = shutil.which("node")
    assert node, "node is needed for the TypeScript tests"
    proc = subprocess.run([node, str(script)], input=json.dumps(rows), capture_output=True,
                          text=True, timeout=120, env={"CINCH_URL": url, "CINCH_KEY": key})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# No shrinking: each example is a node process and HTTP round trips, and a failing example is
# small already (a few rows).
@settings(max_examples=12, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries(
    {}, optional={k: s | st.none() for k, s in VALUES.items()}), min_size=1, max_size=6))
def test_random_values_round_trip_through_the_typescript_builder(
        live: tuple[Path, Path, str, str], rows: list[dict[str, Any]]) -> None:
    root, script, url, key = live
    result = run_node(script, url, key, rows)
    assert result["updated"] == result["done"] == result["deleted"] == len(rows)
    for sent, read in zip(rows, result["read"], strict=True):
        for name, value in sent.items():
            got = read[name]
            if name in ("r", "n", "j"):
                got, value = doubles(got), doubles(value)
            assert got == value, (name, value, got)
            if isinstance(value, bool):
                assert read[name] is value  # 0/1 in SQLite, a boolean again in TypeScript
    with cinch.open(root) as project:
        assert project.tenant("t1").rows("SELECT count(*) AS n FROM samples") == [{"n": 0}]


def test_the_largest_integer_and_false_survive_json(live: tuple[Path, Path, str, str]) -> None:
    _, script, url, key = live
    big = str(2**63 - 1)
    [read] = run_node(script, url, key, [{"i": big, "b": False, "j": {"k": [1]}}])["read"]
    assert read["i"] == big and read["b"] is False and read["j"] == {"k": [1]}
