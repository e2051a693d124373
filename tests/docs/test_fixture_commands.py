"""fixtures/commands.py, which the console's and the SDK's end-to-end runs make their projects
with: the command lines run in order in one process, each one's output comes back in a list,
and the first that fails stops the run with its own exit code and error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cinch_in_process
from tests.warm import ROOT


def commands(*argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fixtures.commands", json.dumps(argv)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_each_command_runs_in_order_and_its_output_comes_back(tmp_path: Path) -> None:
    root = str(tmp_path / "acme")
    done = commands(["--quiet", "init", root],
                    ["--quiet", "-C", root, "table", "create", "users", "name:TEXT"],
                    ["-C", root, "tenant", "create", "shop1"],
                    ["-C", root, "-f", "json", "tenant", "list"])
    assert done.returncode == 0, done.stderr
    outputs = json.loads(done.stdout)
    assert len(outputs) == 4
    assert {t["name"] for t in json.loads(outputs[-1])} == {"main", "shop1"}


def test_the_first_failing_command_stops_the_run_with_its_code(tmp_path: Path) -> None:
    root = str(tmp_path / "acme")
    done = commands(["--quiet", "init", root],
                    ["-C", root, "table", "create", "users", "name:NOT_A_TYPE"],
                    ["-C", root, "tenant", "create", "never"])
    alone = run_cinch_in_process("-C", root, "table", "create", "users", "name:NOT_A_TYPE")
    assert alone.rc != 0
    assert done.returncode == alone.rc, done.stderr
    assert alone.stderr in done.stderr
    assert "`cinch -C" in done.stderr and "failed" in done.stderr
    assert not (tmp_path / "acme" / ".cinch" / "tenants" / "main" / "main" / "never.db").exists()
    assert done.stdout == ""
