"""Counting a bench's instructions under valgrind's callgrind, for the counted benchmarks.

A bench re-runs itself under callgrind with instrumentation off at the start; the child
switches it on around the part to count (:func:`instrument`) and the parent reads the total
from the output file (:func:`count`). ``PYTHONHASHSEED=0`` keeps set and dict orders, and so
the counts, the same from run to run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MISSING = "skipped: valgrind is not installed (Debian: apt-get install valgrind)"


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def instrument(state: str) -> None:
    """From inside the counted process: ``"on"`` or ``"off"``."""
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True,
                   capture_output=True)


def count(script: str, args: list[str], out: Path) -> int:
    """Instructions counted while ``python script *args`` ran under callgrind with
    instrumentation on."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={out}", sys.executable, script, *args],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = out.read_text()
    # "summary:" sits in the header and stays 0 when instrumentation starts off
    found = (re.search(r"^totals: (\d+)", text, re.MULTILINE)
             or re.search(r"^summary: (\d+)", text, re.MULTILINE))
    if found is None:
        raise SystemExit(f"no total in {out}")
    return int(found.group(1))


def work_folder(prefix: str) -> Path:
    """A folder for a counted run's project, in ``/dev/shm`` when it is there (no disk waits:
    only instructions are counted anyway), with the commit author cinch needs set."""
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix=prefix,
                                 dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))
