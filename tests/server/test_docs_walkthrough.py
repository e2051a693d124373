"""docs/content/guides/http.md's curl walkthrough, run as written: a newcomer's path from `cinch init` to a
merged merge request that every tenant follows, a refused conflicting one and a live query."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN
from tests.server.conftest import free_port
from tests.warm import WarmServer

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "content" / "guides" / "http.md"


def walkthrough_script(port: int, out: Path) -> str:
    """The walkthrough's shell blocks, in order, as one script on ``port``.

    Adaptations a person typing along does not need: output goes to ``out`` (so the script can
    see the live query's first result before it writes, where a person waits a second), the
    server is given a moment to answer before the first request, background jobs stop when the
    script ends, and the listener gets a deadline so a missed notification fails, not hangs."""
    text = DOC.read_text()
    section = text[text.index("## A walkthrough with curl"):text.index("## The API in one page")]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 7, "the walkthrough's sections are ```sh blocks"
    script = "\n".join(blocks).replace("8123", str(port))
    api_line = f"API=http://127.0.0.1:{port}\n"
    assert api_line in script
    script = script.replace(api_line, api_line + "until curl -sf $API/health > /dev/null; "
                                                 "do sleep 0.2; done\n", 1)
    assert "\nsleep 1\n" in script
    script = script.replace("\nsleep 1\n", "\nLISTENER=$!\nuntil grep -qx '\\[\\[1\\]\\]' "
                            f"{shlex.quote(str(out))}; do kill -0 $LISTENER || break; sleep 0.1; done\n",
                            1)
    return (f"set -u\nexec > {shlex.quote(str(out))}\n"
            "trap 'kill $(jobs -p) 2> /dev/null' EXIT\n" + script +
            "\n( sleep 60; kill $LISTENER ) > /dev/null 2>&1 &\nwait $LISTENER\n")


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")),
                    reason="the walkthrough uses curl and jq (.ci/run installs them)")
def test_the_http_walkthrough_runs_as_written(tmp_path: Path, warm: WarmServer) -> None:
    env = os.environ.copy()
    # each `cinch` forked warm (tests/warm.py); `cinch serve` is the real command
    env["PATH"] = os.pathsep.join([str(warm.bin), str(VENV_BIN), env["PATH"]])
    env["PYTHONUNBUFFERED"] = "1"  # the listener's lines reach the output file as printed
    output = tmp_path / "out.txt"
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(["bash", "-c", walkthrough_script(free_port(), output)], cwd=work,
                          env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)
    out = output.read_text()
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    compact = re.sub(r"\s+", "", out)
    # 1. keys and the one route without a key
    assert '{"status":"ok"' in compact and '"code":"unauthorized"' in compact
    # 2. a branch key cannot touch main
    assert "key dev is limited to branches 'feature/*', not 'main'" in out
    # 3. the request waits for its approval
    assert '"number":1,"can_merge_now":false' in compact
    assert "needs 1 approval(s) of the current head, has 0" in out
    # 4. a write key cannot merge into a protected branch; an admin key can
    assert "merging into protected branch main needs admin" in out
    assert '"state":"merged"' in compact
    # 5. every tenant has the new column
    for tenant in ("main", "shop1", "shop2"):
        assert f'["{tenant}",["id","name","email","created_at","updated_at","phone"]]' in out
    # 6. the second score column conflicts: reported, refused with 409, closed
    assert '"kind":"same_object_different_definition","object":"column users.score"' in out
    assert re.search(r"^409$", out, flags=re.M) and '"closed"' in out
    # 7. the live query saw the row another process inserted
    assert re.search(r"^\[\[1\]\]$", out, flags=re.M) and re.search(r"^\[\[2\]\]$", out,
                                                                     flags=re.M)
