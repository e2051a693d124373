from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import cinch


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer git config or cinch settings leak into a test."""
    for key in list(os.environ):
        if key.startswith(("GIT_", "CINCH_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("CINCH_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("CINCH_AUTHOR_EMAIL", "test@example.com")


def run_cinch(*args: str, cwd: Path, check: bool = True,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "cinch.cli.app", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
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
