"""Tenant tests: a project with a plain users table (isolation comes from tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import cinch
from tests.conftest import run_cinch_in_process


def run_cinch(*args: str, cwd: Path, check: bool = True,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "cinch.cli.app", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
    if check and proc.returncode != 0:
        raise AssertionError(f"cinch {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def run_cinch_here(*args: str, cwd: Path,
                   check: bool = True) -> subprocess.CompletedProcess[str]:
    """:func:`run_cinch` through the console script's entry point in this process (the same
    code, rendering and exit codes, without an interpreter's start): for tests whose subject
    is a command's effect, not the process running it."""
    result = run_cinch_in_process(*args, cwd=cwd)
    proc = subprocess.CompletedProcess(list(args), result.rc, result.stdout, result.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"cinch {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def project(tmp_path: Path) -> cinch.Project:
    p = cinch.init(tmp_path / "acme")
    p.database().create_table("users", ["name:TEXT", "email:TEXT", "age:INTEGER"])
    yield p
    p.close()
