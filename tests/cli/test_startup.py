"""What `cinch` imports at start: every command pays for it, so the CLI loads only what the
command run needs. Asserts on module sets, never on timings (those belong in bench/).

Each check runs a fresh interpreter: this test process has long since imported everything
(and its processes are not forked warm: tests/warm.py).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Set
from pathlib import Path

import pytest
import typer

import cinch

pytestmark = pytest.mark.usefixtures("real_processes")

# Never needed to import the CLI or print its help.
ENGINE = ("cinch.engine", "cinch.stores", "cinch.planner", "cinch.models", "cinch.server",
          "pygit2", "fastapi", "uvicorn", "starlette", "yaml")
# Needed only by the commands that merge, revert, push/pull, snapshot or serve, or (a thread
# pool, with the logging it imports) apply to several tenants at once.
RARE = ("cinch.engine.merge", "cinch.engine.conflict", "cinch.engine.resolutions",
        "cinch.engine.config_merge", "cinch.engine.revert",
        "cinch.engine.remotes", "cinch.engine.snapshots", "cinch.engine.settings",
        "cinch.planner.invert", "cinch.server", "fastapi", "uvicorn", "starlette", "yaml",
        "concurrent.futures", "logging")

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
    # Without the variables that start coverage in a child (`make coverage`): its modules are
    # not cinch's to answer for.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)
    assert "@@modules@@" in proc.stdout, proc.stdout + proc.stderr
    return set(json.loads(proc.stdout.rsplit("@@modules@@", 1)[1]))


_PROBED: dict[tuple[tuple[str, ...], bool], frozenset[str]] = {}


def probe(*args: str, cwd: Path) -> frozenset[str]:
    """The modules `cinch ARGS` loads in an empty folder or in a project: several tests ask
    about the same command line, and one fresh interpreter answers them all."""
    key = (args, (cwd / "cinch.toml").exists())
    if key not in _PROBED:
        _PROBED[key] = frozenset(loaded_by(_PROBE, *args, cwd=cwd))
    return _PROBED[key]


def among(modules: Set[str], prefixes: tuple[str, ...]) -> list[str]:
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
    assert among(probe(*args, cwd=tmp_path), ENGINE) == []


# `status` and `table list` are the everyday commands' (below), asked the same there.
@pytest.mark.parametrize("args", [
    ["log"], ["query", "SELECT 1"], ["tenant", "list"], ["branch"], ["show", "HEAD"],
], ids=" ".join)
def test_a_command_loads_only_what_it_uses(args: list[str],
                                           make_project: Callable[..., Path]) -> None:
    root = make_project("users")
    assert among(probe(*args, cwd=root), RARE) == []
    # json output needs no rich, and no progress bar was wanted
    assert among(probe("-f", "json", *args, cwd=root), ("rich",)) == []


# The third-party packages each everyday command may import (bench/bench_cli_start.py times
# them): the CLI library always; rich only for colour on a terminal (printed elsewhere, plain
# lines and tables are written by cinch.cli.output). `status`, `table list` and a page of
# `tenant list` answer from files on disk once a command has written them for the branch
# head (cinch.engine.glance); the first one opens the project: the models' validation and git.
# A web framework, YAML, templates, SQL parsing or a server is the sign of an import at a
# module's top that belongs inside the command using it.
CLI_LIBRARY = {"typer", "shellingham", "annotated_doc"}
PROJECT = CLI_LIBRARY | {"pydantic", "pydantic_core", "annotated_types", "typing_extensions",
                         "typing_inspection", "pygit2"}
MAY_IMPORT: dict[str, set[str]] = {
    "--help": CLI_LIBRARY,
    "status": CLI_LIBRARY,
    "table list": CLI_LIBRARY,
    "-f json status": CLI_LIBRARY,
    "-f json table list": CLI_LIBRARY,
    "tenant list --limit 100": CLI_LIBRARY,
    "-f json tenant list --limit 5 --after a": CLI_LIBRARY,
}


def third_party(modules: Set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules if m.split(".")[0] not in sys.stdlib_module_names
            and not m.startswith(("_", "cinch"))}


@pytest.mark.parametrize("command", MAY_IMPORT)
def test_everyday_commands_import_only_their_list(command: str,
                                                  make_project: Callable[..., Path]) -> None:
    root = make_project("users")
    first = loaded_by(_PROBE, *command.split(), cwd=root)
    assert among(first, RARE) == []
    may = MAY_IMPORT[command]
    cold = may | PROJECT | {"rich"} if command != "--help" else may
    assert third_party(first) <= cold, sorted(third_party(first) - cold)
    modules = loaded_by(_PROBE, *command.split(), cwd=root)
    assert among(modules, RARE) == []
    loaded = third_party(modules)
    assert loaded <= may, sorted(loaded - may)
    assert "typer" in loaded  # the probe ran the command (and would list what it imported)


def _callbacks(target: typer.Typer | Callable[..., object]) -> Iterator[Callable[..., object]]:
    if not isinstance(target, typer.Typer):
        yield target
        return
    if target.registered_callback and target.registered_callback.callback:
        yield target.registered_callback.callback
    for command in target.registered_commands:
        if command.callback:
            yield command.callback
    for group in target.registered_groups:
        if group.typer_instance:
            yield from _callbacks(group.typer_instance)


def _targets() -> Iterator[tuple[str, typer.Typer | Callable[..., object]]]:
    """Each command of the root: its name and what its table entry points at."""
    from cinch.cli.app import COMMANDS

    for name, entry in COMMANDS.items():
        yield name, getattr(importlib.import_module(f"cinch.cli.{entry.module}"), entry.attribute)


def test_command_annotations_are_objects_not_strings() -> None:
    """typer reads a command's signature when it runs; string annotations (``from __future__
    import annotations``) would be compiled and evaluated there, every time."""
    from cinch.cli.app import app

    callbacks = [*_callbacks(app)] + [f for _, target in _targets() for f in _callbacks(target)]
    stringly = [f"{f.__module__}.{f.__qualname__}" for f in callbacks
                if any(isinstance(a, str) for a in inspect.get_annotations(f).values())]
    assert stringly == []


def _root_help(load_all: bool) -> str:
    import typer.core
    import typer.main

    from cinch.cli.app import app

    root = typer.main.get_command(app)
    ctx = root.make_context("cinch", ["--help"], resilient_parsing=True)
    formatter = ctx.make_formatter()
    if load_all:  # typer's own listing, which builds every command
        typer.core.TyperGroup.format_commands(root, ctx, formatter)
    else:
        root.format_commands(ctx, formatter)
    return formatter.getvalue()


def test_the_command_table_matches_the_commands() -> None:
    """`cinch --help` lists the root's commands from a table of names and one-line help, so it
    imports no command module: the table must say what the commands themselves say."""
    from cinch.cli.app import COMMANDS, build_command

    for name, entry in COMMANDS.items():
        command = build_command(name)
        assert (command.name, command.hidden) == (name, False)
        assert command.get_short_help_str(10**6) == entry.summary, name
    assert _root_help(load_all=False) == _root_help(load_all=True)
    assert "  table     Create, drop, rename, copy and inspect tables." in _root_help(False)


def test_every_group_of_commands_is_in_the_table() -> None:
    """A typer group defined in a command module but missing from the table would be no
    command at all."""
    import pkgutil

    import cinch.cli
    from cinch.cli.app import app

    listed = {id(target) for _, target in _targets() if isinstance(target, typer.Typer)}
    nested = {id(g.typer_instance) for _, target in _targets() if isinstance(target, typer.Typer)
              for g in target.registered_groups}
    defined = {f"{info.name}.{name}": value
               for info in pkgutil.iter_modules(cinch.cli.__path__)
               for name, value in vars(importlib.import_module(f"cinch.cli.{info.name}")).items()
               if isinstance(value, typer.Typer) and value is not app}
    assert defined
    assert sorted(n for n, v in defined.items() if id(v) not in listed | nested) == []


@pytest.mark.parametrize(("args", "modules"), [
    (["--help"], []), (["no-such-command"], []),
    (["status", "--help"], ["cinch.cli.history_cmds"]),
    (["table", "list", "--help"], ["cinch.cli.schema_cmds"]),
    (["db", "--help"], ["cinch.cli.adopt_cmds", "cinch.cli.schema_cmds"]),
], ids=str)
def test_a_command_imports_only_its_own_module(args: list[str], modules: list[str],
                                               tmp_path: Path) -> None:
    loaded = probe(*args, cwd=tmp_path)
    assert "cinch.cli.app" in loaded
    assert sorted(m for m in among(loaded, ("cinch.cli.",)) if m.endswith("_cmds")) == modules


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
