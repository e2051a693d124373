"""The code blocks of the documentation pages, by language, for the tests that run them.

A block whose info string says ``fragment`` (```` ```python fragment ````) is an excerpt that
needs context the page does not give; every other block of a checked language runs.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import VENV_BIN

if TYPE_CHECKING:
    from tests.warm import WarmServer

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "docs" / "content"
_FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", flags=re.S | re.M)


def blocks(page: Path, *languages: str) -> list[str]:
    """The page's blocks in these languages, in order, fragments left out."""
    return [body for language, info, body in _FENCE.findall(page.read_text())
            if language in languages and "fragment" not in info.split()]


def pages() -> list[Path]:
    """Every written page (the generated references hold signatures, not examples)."""
    return sorted(p for p in CONTENT.rglob("*.md*")
                  if "reference" not in p.relative_to(CONTENT).parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_shell_page(page: str, folder: Path, tools: tuple[str, ...] = (),
                   warm: WarmServer | None = None) -> str:
    """Run the page's ``sh`` blocks in order as one bash script in ``folder``; its output.

    With ``warm`` each ``cinch`` (and each hook git runs) is forked from a process that has
    imported cinch already (tests/warm.py): the same code, files and output, without an
    interpreter's start per command; ``cinch serve`` is the real command.

    A page that starts a server reads its ports from PORT and PROXY_PORT (a reader gets 8000
    and 8080); a server left running when a block fails is stopped with the script."""
    # nginx is installed in /usr/sbin, which a user's PATH may leave out
    path = os.pathsep.join([*([str(warm.bin)] if warm else []), str(VENV_BIN),
                            os.environ["PATH"], "/usr/sbin"])
    missing = [tool for tool in tools if not shutil.which(tool, path=path)]
    if missing:
        pytest.skip(f"{page} needs {', '.join(missing)} (.ci/run installs them)")
    script = ("set -euo pipefail\ntrap 'kill $(jobs -p) 2> /dev/null || true' EXIT\n"
              + "\n".join(blocks(CONTENT / page, "sh")))
    env = {**os.environ, "PATH": path,
           "PYTHONPATH": str(ROOT),  # fixtures/ for the sample project's page
           "PORT": str(free_port()), "PROXY_PORT": str(free_port())}
    done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{page}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout
