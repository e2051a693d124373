"""What `cinch` imports at start: every command pays for it, so the CLI loads only what the
command run needs. Asserts on module sets, never on timings (those belong in bench/).

Each check runs a fresh interpreter: this test process has long since imported everything.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer

import cinch

# Never needed to import the CLI or print its help.
ENGINE = ("cinch.engine", "cinch.stores", "cinch.planner", "cinch.models", "cinch.server",
          "pygit2", "fastapi", "uvicorn", "starlette", "yaml")
# Needed only by the commands that merge, revert, push/pull, snapshot or serve.
RARE = ("cinch.engine.merge", "cinch.engine.conflict", "cinch.engine.resolutions",
        "cinch.engine.config_merge", "cinch.engine.revert",
        "cinch.engine.remotes", "cinch.engine.snapshots", "cinch.engine.settings",
        "cinch.planner.invert", "cinch.server", "fastapi", "uvicorn", "starlette", "yaml")

# Runs the CLI's entry point on argv, then prints the loaded modules after a marker line.
_PROBE = """
import json, sys
from cinch.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.write("\\n@@modules@@" + json.dumps(sorted(sys.modules)))
"""


def loaded_by(code: str, *args: str, cwd: Path | None = None) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert "@@modules@@" in proc.stdout, proc.stdout + proc.stderr
    return set(json.loads(proc.stdout.rsplit("@@modules@@", 1)[1]))


def among(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.startswith(prefixes))


def test_importing_cinch_loads_no_engine() -> None:
    modules = loaded_by("import sys, json, cinch; "
                        "print('@@modules@@' + json.dumps(sorted(sys.modules)))")
    assert among(modules, ENGINE) == []


def test_importing_the_cli_loads_no_engine_and_no_rich() -> None:
    modules = loaded_by("import sys, json, cinch.cli.app; "
                        "print('@@modules@@' + json.dumps(sorted(sys.modules)))")
    assert among(modules, (*ENGINE, "rich")) == []


@pytest.mark.parametrize("args", [
    ["--help"], ["merge", "--help"], ["table", "create", "--help"], ["serve", "--help"],
    ["no-such-command"],
], ids=" ".join)
def test_help_and_usage_errors_load_no_engine(args: list[str], tmp_path: Path) -> None:
    assert among(loaded_by(_PROBE, *args, cwd=tmp_path), ENGINE) == []


@pytest.mark.parametrize("args", [
    ["status"], ["log"], ["table", "list"], ["query", "SELECT 1"], ["tenant", "list"],
    ["branch"], ["show", "HEAD"],
], ids=" ".join)
def test_a_command_loads_only_what_it_uses(args: list[str],
                                           make_project: Callable[..., Path]) -> None:
    root = make_project("users")
    assert among(loaded_by(_PROBE, *args, cwd=root), RARE) == []
    # json output needs no rich, and no progress bar was wanted
    assert among(loaded_by(_PROBE, "-f", "json", *args, cwd=root), ("rich",)) == []


# The third-party packages each everyday command may import (bench/bench_cli_start.py times
# them): the CLI library always; the models' validation and git for a command that opens the
# project; rich for a table on the screen. A web framework, YAML, templates, SQL parsing or a
# server is the sign of an import at a module's top that belongs inside the command using it.
CLI_LIBRARY = {"typer", "shellingham", "annotated_doc"}
PROJECT = CLI_LIBRARY | {"pydantic", "pydantic_core", "annotated_types", "typing_extensions",
                         "typing_inspection", "pygit2"}
MAY_IMPORT: dict[str, set[str]] = {
    "--help": CLI_LIBRARY,
    "status": PROJECT | {"rich"},
    "table list": PROJECT | {"rich"},
    "-f json status": PROJECT,
    "-f json table list": PROJECT,
}


def third_party(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules if m.split(".")[0] not in sys.stdlib_module_names
            and not m.startswith(("_", "cinch"))}


@pytest.mark.parametrize("command", MAY_IMPORT)
def test_everyday_commands_import_only_their_list(command: str,
                                                  make_project: Callable[..., Path]) -> None:
    root = make_project("users")
    loaded = third_party(loaded_by(_PROBE, *command.split(), cwd=root))
    assert loaded <= MAY_IMPORT[command], sorted(loaded - MAY_IMPORT[command])
    assert "typer" in loaded  # the probe ran the command (and would list what it imported)


def _callbacks(app: typer.Typer) -> Iterator[Callable[..., object]]:
    if app.registered_callback and app.registered_callback.callback:
        yield app.registered_callback.callback
    for command in app.registered_commands:
        if command.callback:
            yield command.callback
    for group in app.registered_groups:
        if group.typer_instance:
            yield from _callbacks(group.typer_instance)


def test_command_annotations_are_objects_not_strings() -> None:
    """typer reads every command's signature at each start; string annotations (``from
    __future__ import annotations``) would be compiled and evaluated there, every time."""
    from cinch.cli.app import app

    stringly = [f"{f.__module__}.{f.__qualname__}" for f in _callbacks(app)
                if any(isinstance(a, str) for a in inspect.get_annotations(f).values())]
    assert stringly == []


def test_package_exports_resolve_on_use() -> None:
    from cinch.engine import database, project, tenant

    assert cinch.open is project.open_project
    assert cinch.init is project.init
    assert cinch.Project is project.Project
    assert cinch.Database is database.Database
    assert cinch.ChangeResult is database.ChangeResult
    assert cinch.Tenant is tenant.Tenant
    assert set(cinch.__all__) <= set(dir(cinch))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = cinch.no_such_name  # type: ignore[attr-defined]
