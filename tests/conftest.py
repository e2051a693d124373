"""Fixtures shared by every test: isolation from the machine, the real `cinch`, projects.

* The whole session runs with a temporary HOME, no GIT_*/CINCH_* variables of the developer,
  no global or system git config (for the git binary and for libgit2), and a fixed author.
* ``cli`` runs the ``cinch`` console script as a process of its own (rc, stdout, stderr), forked
  warm (tests/warm.py) unless the test takes ``real_processes``; ``cli_in_process`` calls its
  entry point in this process (fast, for long case lists).
* ``git`` runs the git binary with a fixed identity (for hand edits and for checking).
* ``snapshot`` reads every file of a project (``.git`` included, ``.cinch/`` excluded).
* Projects are built once per session and copied (``shutil.copytree``) per test.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import click
import pygit2
import pytest
import typer
import typer.main

import cinch
from tests.warm import CINCH as WARM_CINCH
from tests.warm import CODE as WARM_CODE

if TYPE_CHECKING:
    from tests.warm import WarmServer

AUTHOR_NAME = "Cinch Tester"
AUTHOR_EMAIL = "tester@example.com"
# The interpreter and console script cinch was installed with, read before the session's
# `warm_processes` fixture points sys.executable at the warm one (tests/warm.py).
REAL_PYTHON = sys.executable
VENV_BIN = Path(REAL_PYTHON).parent
_BIN = shutil.which("cinch", path=str(VENV_BIN))
CINCH_COMMAND: list[str] = [_BIN] if _BIN else [REAL_PYTHON, "-m", "cinch.cli.app"]

# The schema most tests start from: the issue's `users` table, its index and a view on it.
USERS_COLUMNS = ["name:TEXT", "email:TEXT:unique", "age:INTEGER:not-null:default=0"]
ADULTS_SQL = "SELECT id, name FROM users WHERE age >= 18"


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    def __str__(self) -> str:
        return (f"cinch {' '.join(self.args)} -> rc {self.rc}\n--- stdout\n{self.stdout}"
                f"--- stderr\n{self.stderr}")


Cli = Callable[..., CliResult]
Git = Callable[..., str]
Snapshot = Callable[[Path], dict[str, bytes]]


def run_cinch(*args: str, cwd: Path | None = None, env: Mapping[str, str | None] | None = None,
              check: bool = False) -> CliResult:
    """Run a ``cinch`` process (warm unless the test asks for ``real_processes``: tests/warm.py);
    ``env`` entries override (None removes) variables."""
    environ = os.environ.copy()
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    proc = subprocess.run([*(WARM_CINCH or CINCH_COMMAND), *args], cwd=cwd, env=environ,
                          capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    result = CliResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)
    if check and result.rc != 0:
        raise AssertionError(str(result))
    return result


_real_get_command = typer.main.get_command


def assert_refused(result: CliResult, words: list[str]) -> None:
    """Exit code != 0, nothing on stdout, one `error:` line (a `hint:` may follow)."""
    assert result.rc != 0, str(result)
    assert result.stdout == "", str(result)
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("error: "), str(result)
    assert all(line.startswith("hint: ") for line in lines[1:]), str(result)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


@functools.cache
def _cached_get_command(app: typer.Typer) -> click.Command:
    """Typer rebuilds the click command tree on every call (most of a call's time); the tree
    holds no per-run state (each run gets a fresh click context), so build it once."""
    return _real_get_command(app)


def run_cinch_in_process(*args: str, cwd: Path | None = None, check: bool = False) -> CliResult:
    """``cinch.cli.app.main`` (the console script's entry point) in this process: the same
    code and rendering as :func:`run_cinch` without a new interpreter per call, for the long
    parametrized lists. Environment overrides go through ``monkeypatch``."""
    from cinch.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd or previous)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                mock.patch("typer.main.get_command", _cached_get_command):
            try:
                main(list(args))
                rc = 0
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(previous)
    result = CliResult(tuple(args), rc, out.getvalue(), err.getvalue())
    if check and result.rc != 0:
        raise AssertionError(str(result))
    return result


def run_git(*args: str, cwd: Path, check: bool = True) -> str:
    """The git binary, with an identity of its own (the environment has none)."""
    proc = subprocess.run(
        ["git", "-c", f"user.name={AUTHOR_NAME}", "-c", f"user.email={AUTHOR_EMAIL}",
         "-c", "core.pager=cat", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc.stdout + proc.stderr


def take_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (``.git`` included), by relative path, except ``.cinch/``;
    folders too (as ``path/``), so an added empty folder is a difference."""
    out: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        if rel == ".":
            dirs[:] = [d for d in dirs if d != ".cinch"]
            rel = ""
        else:
            rel = rel.replace(os.sep, "/") + "/"
            out[rel] = b""
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                with open(path, "rb") as fh:
                    out[rel + name] = fh.read()
    return out


# --- isolation ------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def isolated_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No developer git config, git identity or cinch setting reaches a test or its children."""
    home = tmp_path_factory.mktemp("home")
    empty = tmp_path_factory.mktemp("no-git-config")
    levels = [pygit2.enums.ConfigLevel.SYSTEM, pygit2.enums.ConfigLevel.XDG,
              pygit2.enums.ConfigLevel.GLOBAL]
    saved_paths = {level: pygit2.settings.search_path[level] for level in levels}
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith(("GIT_", "CINCH_")):
                mp.delenv(key)
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        mp.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("CINCH_AUTHOR_NAME", AUTHOR_NAME)
        mp.setenv("CINCH_AUTHOR_EMAIL", AUTHOR_EMAIL)
        # Stable, plain CLI output: wide, no colour, no terminal tricks.
        mp.setenv("COLUMNS", "240")
        mp.setenv("NO_COLOR", "1")
        mp.setenv("TERM", "dumb")
        mp.delenv("FORCE_COLOR", raising=False)
        for level in levels:
            pygit2.settings.search_path[level] = str(empty)
        try:
            yield home
        finally:
            for level, value in saved_paths.items():
                pygit2.settings.search_path[level] = value


# --- helpers as fixtures ------------------------------------------------------------------


@pytest.fixture(scope="session")
def cli() -> Cli:
    return run_cinch


@pytest.fixture(scope="session")
def cli_in_process() -> Cli:
    return run_cinch_in_process


@pytest.fixture(scope="session")
def git() -> Git:
    return run_git


@pytest.fixture(scope="session")
def snapshot() -> Snapshot:
    return take_snapshot


# --- projects -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def project_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Projects built once: ``empty`` (just initialised) and ``users`` (users + index + view)."""
    base = tmp_path_factory.mktemp("templates")
    empty = cinch.init(base / "empty")
    empty.close()
    users = cinch.init(base / "users")
    db = users.database()
    db.create_table("users", USERS_COLUMNS, message="users")
    db.create_index("users", ["name"])
    db.create_view("adults", ADULTS_SQL)
    users.close()
    return {"empty": empty.root, "users": users.root}


@pytest.fixture
def make_project(project_templates: dict[str, Path], tmp_path: Path) -> Callable[..., Path]:
    """A fresh copy of a template project (``empty`` or ``users``); returns its folder."""
    def make(kind: str = "users", name: str = "acme") -> Path:
        target = tmp_path / name
        shutil.copytree(project_templates[kind], target, symlinks=True)
        return target

    return make


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Iterator[cinch.Project]:
    """A project holding the ``users`` table, its name index and the ``adults`` view."""
    with cinch.open(make_project("users")) as p:
        yield p


@pytest.fixture
def empty_project(make_project: Callable[..., Path]) -> Iterator[cinch.Project]:
    with cinch.open(make_project("empty")) as p:
        yield p


@pytest.fixture(scope="session")
def warm(tmp_path_factory: pytest.TempPathFactory,
         isolated_machine: Path) -> Iterator[WarmServer]:
    """``cinch`` and the hooks' ``python -m git_hooks`` as real processes forked from one that
    imported cinch once (tests/warm.py), for tests that do not test a process's start."""
    from tests.warm import WarmServer

    server = WarmServer(tmp_path_factory.mktemp("warm"))
    yield server
    server.close()


@pytest.fixture(scope="session", autouse=True)
def warm_processes(warm: WarmServer) -> Iterator[None]:
    """Every cinch process a test starts starts warm: ``run_cinch`` and the HTTP tests' servers
    run the warm ``cinch``, and sys.executable is the warm ``python``, so ``python -m
    cinch.cli.app`` and the hooks cinch installs (it writes sys.executable into them) do too;
    anything else that python runs is the real interpreter."""
    WARM_CINCH[:] = [str(warm.cinch)]
    WARM_CODE[:] = [str(warm.python_c)]
    sys.executable = str(warm.python)
    try:
        yield
    finally:
        sys.executable = REAL_PYTHON
        WARM_CINCH.clear()
        WARM_CODE.clear()


@pytest.fixture
def real_processes() -> Iterator[None]:
    """The test's cinch processes and hooks start on the real interpreter: for tests whose
    subject is a process's start, or its death at a chosen moment (killing a warm command's
    client ends the command a moment later, not at once)."""
    saved, code, executable = WARM_CINCH[:], WARM_CODE[:], sys.executable
    WARM_CINCH.clear()
    WARM_CODE.clear()
    sys.executable = REAL_PYTHON
    try:
        yield
    finally:
        WARM_CINCH[:], WARM_CODE[:] = saved, code
        sys.executable = executable


def python_c(code: str, *args: str) -> list[str]:
    """The command line of ``python -c CODE ARGS``, forked warm (tests/warm.py) unless the test
    asks for ``real_processes``: for scripts that drive cinch the way a user's program would."""
    return [*(WARM_CODE or [REAL_PYTHON, "-c"]), code, *args]
