"""Command-line values turned into the types a command declares, without pydantic at start.

typer (0.26 and later) converts every parameter's value through a pydantic ``TypeAdapter`` it
builds on first use, for every parameter parsed, the root's ``-C``, ``--db`` and ``-f``
included, and even when the value is absent: importing pydantic and building the adapters was
the largest part of every command's start. The values cinch's everyday options take (absent,
text, a whole number, a choice of an enum, a path) convert here as typer's adapters convert
them; anything else (a signed or fractional number, a list, a value these rules do not cover)
goes to typer's own conversion, so its results and its error messages are typer's.
tests/cli/test_coerce.py compares the two on every parameter of the CLI.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

_UNSURE = object()


class CheapCoercion:
    """Stands where typer keeps a parameter's converter (``_runtime_param``, built lazily by
    ``get_runtime_param``): the cases below are answered here, the rest by typer's converter,
    built on first need."""

    __slots__ = ("annotation", "info")

    def __init__(self, annotation: Any, info: Any) -> None:
        self.annotation, self.info = annotation, info

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        quick = self.quick(value, param, ctx)
        if quick is not _UNSURE:
            return quick
        param._runtime_param = None  # typer builds its own converter and keeps it
        return param.get_runtime_param().coerce(value, param=param, ctx=ctx)

    def quick(self, value: Any, param: Any, ctx: Any) -> Any:
        multiple = param.multiple or param.nargs == -1
        if value is None:
            return () if multiple else None
        if multiple:
            return _UNSURE
        kind = self.annotation
        if kind is str:
            return value if type(value) is str else _UNSURE
        if kind is bool:
            return value if type(value) is bool else _UNSURE
        if kind is int:
            return _whole(value, self.info)
        if isinstance(kind, type) and issubclass(kind, Enum):
            return _choice(kind, value, self.info.case_sensitive, ctx)
        if isinstance(kind, type) and issubclass(kind, Path) and type(value) is str:
            try:  # typer's own checks of a path (exists, readable...), pydantic left out
                from typer._param_types import coerce_cli_path
            except ImportError:  # a typer that moved it: its converter does the lot
                return _UNSURE

            # typer's adapter makes the Path (pydantic: ``Path(value)``), then checks it
            path_type = self.info.path_type or kind
            if path_type is not kind:
                return _UNSURE
            return coerce_cli_path(kind(value), self.info, path_type=path_type, param=param,
                                   ctx=ctx)
        return _UNSURE


def _whole(value: Any, info: Any) -> Any:
    """A number of ASCII digits within the option's bounds; anything else (a sign, spaces,
    a bound crossed, clamping) is typer's to convert or refuse."""
    if type(value) is str and value.isascii() and value.isdigit():
        value = int(value)
    elif type(value) is not int:
        return _UNSURE
    if getattr(info, "clamp", False) or (info.min is not None and value < info.min) \
            or (info.max is not None and value > info.max):
        return _UNSURE
    return value


def _choice(kind: type[Enum], value: Any, case_sensitive: bool, ctx: Any) -> Any:
    if isinstance(value, kind):
        return value
    if type(value) is not str or not case_sensitive or ctx is None \
            or ctx.token_normalize_func is not None:
        return _UNSURE
    for member in kind:
        if str(member.value) == value:
            return member
    return _UNSURE  # typer words the refusal


def _plain(param: Any) -> bool:
    """Whether typer would convert ``param`` through a pydantic adapter we can stand in for."""
    desc = param.type_descriptor
    info = desc.parameter_info
    if desc.is_file or info.parser is not None:
        return False
    kind = desc.annotation
    if kind is str or kind is bool or kind is int:  # a flag left out comes as None
        return True
    if isinstance(kind, type) and issubclass(kind, Enum):
        return True
    return isinstance(kind, type) and issubclass(kind, Path)


def spare_pydantic(param: Any) -> None:
    """Give ``param`` the cheap converter when typer would build a pydantic one for it (a
    typer that builds none, before 0.26, has no ``_runtime_param``: nothing to do)."""
    if getattr(param, "_runtime_param", _UNSURE) is None and hasattr(param, "type_descriptor") \
            and _plain(param):
        desc = param.type_descriptor
        param._runtime_param = CheapCoercion(desc.annotation, desc.parameter_info)


def spare_pydantic_in(command: Any) -> None:
    """:func:`spare_pydantic` for each parameter of ``command``, its help option included
    (click makes that one when a command is parsed, so it is given the converter then)."""
    for param in command.params:
        spare_pydantic(param)
    make = command.get_help_option
    if getattr(make, "spares_pydantic", False):
        return

    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            spare_pydantic(option)
        return option

    get_help_option.spares_pydantic = True  # type: ignore[attr-defined]
    command.get_help_option = get_help_option
