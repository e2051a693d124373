"""The tour's and the guides' shell blocks, run as written with the real ``cinch`` in an empty
folder: a page whose commands stop working fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.examples import CONTENT, ROOT, blocks, pages

RUNNABLE = ["getting-started/tour.md", "guides/team-hub.md", "guides/backups.md",
            "guides/sample-project.md"]


def test_the_runnable_pages_are_the_ones_with_shell_blocks() -> None:
    with_shell = {str(p.relative_to(CONTENT)) for p in pages() if blocks(p, "sh", "bash")}
    assert with_shell == set(RUNNABLE) | {"guides/http.md"}, (
        "a page with ```sh blocks is run here (or, for the HTTP guide, by "
        "tests/server/test_docs_walkthrough.py); a listing that needs context the page does "
        "not give is marked ```sh fragment")


@pytest.mark.parametrize("page", RUNNABLE)
def test_the_shell_blocks_run_as_written(page: str, tmp_path: Path) -> None:
    script = "set -euo pipefail\n" + "\n".join(blocks(CONTENT / page, "sh"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}  # fixtures/ for the sample project's page
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{page}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
