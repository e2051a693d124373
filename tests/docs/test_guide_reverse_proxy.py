"""docs/content/guides/reverse-proxy.md run as written: the page's nginx `location` block, in a
real nginx on a free port, in front of a real `cinch serve --workers 2`; the console, the API
and a live query's WebSocket are reached through the proxy only."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.examples import CONTENT, blocks, run_shell_page
from tests.warm import WarmServer

PAGE = "guides/reverse-proxy.md"


def _location(text: str) -> list[str]:
    body = text[text.index("location / {"):]
    return [line.strip() for line in body[:body.index("}") + 1].splitlines()]


def test_the_run_uses_the_documented_location_block() -> None:
    documented = _location(blocks(CONTENT / PAGE, "nginx")[0])
    assert "proxy_set_header Upgrade $http_upgrade;     # live queries" in documented
    assert documented == _location("\n".join(blocks(CONTENT / PAGE, "sh")))


def test_the_reverse_proxy_guide_runs_as_written(tmp_path: Path, warm: WarmServer) -> None:
    out = run_shell_page(PAGE, tmp_path, ("curl", "jq", "nginx"), warm=warm)
    assert '{"status":"ok"' in out
    assert "<title>cinch console</title>" in out  # make install-all builds it
    assert '{"name":"shop","databases":["main"]}' in out
    assert re.search(r"^1$", out, flags=re.M)  # the write's rowcount
    assert out.splitlines()[-3:] == ["ready", "live: [[1]]", "live: [[2]]"]
