"""cinch's converter of command-line values (cinch.cli.coerce) answers as typer's own
pydantic-built converter does, on every parameter of every command, errors included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer._coercion

from cinch.cli.app import COMMANDS, _tidy_help, build_command
from cinch.cli.coerce import CheapCoercion


def _params(command: Any, ctx: typer.Context) -> Iterator[tuple[str, Any]]:
    for param in [*command.params, command.get_help_option(ctx)]:
        if param is not None:
            yield f"{command.name} {param.name}", param
    for sub in getattr(command, "commands", {}).values():
        yield from _params(sub, typer.Context(sub, parent=ctx))


def _all_params() -> list[tuple[str, Any, typer.Context]]:
    from cinch.cli.app import app

    root = _tidy_help(typer.main.get_command(app))
    out = []
    for cmd in [root, *(_tidy_help(build_command(name)) for name in COMMANDS)]:
        ctx = typer.Context(cmd, help_option_names=["-h", "--help"])
        out += [(name, param, ctx) for name, param in _params(cmd, ctx)]
    return out


def _outcome(convert: Any, value: Any, param: Any, ctx: typer.Context) -> tuple[str, Any]:
    try:
        return "value", convert.coerce(value, param=param, ctx=ctx)
    except typer.BadParameter as exc:
        return "error", exc.format_message()


def _samples(param: Any, tmp: Path) -> list[Any]:
    (tmp / "file.txt").write_text("x")
    values: list[Any] = [None, "", "main", "json", "JSON", "yes", "1", "../x", str(tmp),
                         str(tmp / "file.txt"), str(tmp / "missing"), True, False, b"bytes",
                    "0", "3", "007", "100000", "-2", "+3", " 3", "3.5", "1e3", "\u0663", 0, 5,
                    -1, 10**6]
    choices = param.type_descriptor.choices or ()
    return values + list(choices) + [str(getattr(c, "value", c)) for c in choices]


def test_cheap_conversion_matches_typers(tmp_path: Path) -> None:
    checked = 0
    for name, param, ctx in _all_params():
        if not isinstance(param._runtime_param, CheapCoercion):
            continue
        cheap = param._runtime_param
        typers = typer._coercion.build_runtime_param(param.type_descriptor)
        for value in _samples(param, tmp_path):
            ours = _outcome(cheap, value, param, ctx)
            param._runtime_param = cheap  # a fallback installs typer's converter: undo it
            assert ours == _outcome(typers, value, param, ctx), (name, value)
            checked += 1
    assert checked > 500  # every command's options were reached


@pytest.mark.parametrize("name", ["cinch directory", "cinch database", "cinch format",
                                  "cinch quiet", "cinch help", "status format", "list format",
                                  "list limit", "list after", "log limit"])
def test_everyday_options_have_the_cheap_converter(name: str) -> None:
    kinds = {n: type(p._runtime_param).__name__ for n, p, _ in _all_params()}
    assert kinds[name] == "CheapCoercion"
