"""The layers hold: every import of every module (read with ``ast``, imports inside functions
and under ``TYPE_CHECKING`` included) points down.

faces (cinch/cli, cinch/server, git_hooks, cinch/demo.py) -> ``cinch`` (the public API),
``cinch.errors`` and ``cinch.names``; engine -> stores, planner, codegen, models; planner and
codegen -> models; stores -> models; models -> the base (errors, names). pygit2 is imported
in ``cinch/stores`` only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BASE = ("cinch.errors", "cinch.names")
# What each layer may import (module prefixes), besides the standard library and third-party
# packages. A face also imports its own package.
ALLOWED: dict[str, tuple[str, ...]] = {
    "face": ("cinch", *BASE),
    "root": ("cinch.engine", "cinch.stores", "cinch.planner", "cinch.codegen", "cinch.models",
             *BASE),  # cinch/__init__.py: re-exports the public names, resolved on first use
    "engine": ("cinch.engine", "cinch.stores", "cinch.planner", "cinch.codegen",
               "cinch.models", *BASE),
    "codegen": ("cinch.codegen", "cinch.planner", "cinch.models", *BASE),
    "planner": ("cinch.planner", "cinch.models", *BASE),
    "stores": ("cinch.stores", "cinch.models", *BASE),
    "models": ("cinch.models", *BASE),
    "base": BASE,
}
OWN = {"cli": ("cinch.cli", "cinch.server"),  # `cinch serve` starts the server face
       "server": ("cinch.server",), "git_hooks": ("git_hooks",), "demo": ()}
GIT_BINDINGS = "pygit2"


def layer_of(rel: str) -> tuple[str, str]:
    """(layer, face) of a module by its path inside the repository."""
    parts = rel.removesuffix(".py").split("/")
    if parts[0] == "git_hooks":
        return "face", "git_hooks"
    if rel == "cinch/demo.py":
        return "face", "demo"
    if rel == "cinch/__init__.py":
        return "root", ""
    if parts[1] in ("cli", "server"):
        return "face", parts[1]
    if parts[1] in ("errors", "names"):
        return "base", ""
    if parts[1] in ("engine", "codegen", "planner", "stores", "models"):
        return parts[1], ""
    raise AssertionError(f"{rel}: in no layer; add it to tests/test_layers.py")


def imported(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) of every import in ``source``; ``from a import b`` gives ``a.b``, so a
    submodule imported by name counts as that submodule."""
    out = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return out


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(rel: str, source: str) -> list[str]:
    """What in the module at ``rel`` breaks a layer rule (empty: nothing)."""
    layer, face = layer_of(rel)
    module = rel.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    allowed = ALLOWED[layer] + OWN.get(face, ())
    out = []
    for line, name in imported(source, module):
        where = f"{rel}:{line} imports {name}"
        if _within(name, (GIT_BINDINGS,)):
            if layer != "stores":
                out.append(f"{where}: pygit2 belongs in cinch/stores only")
            continue
        if not _within(name, ("cinch", "git_hooks")):
            continue  # the standard library or a third-party package
        if layer == "face" and name.startswith("cinch.") and not _within(
                name, BASE + OWN.get(face, ())):
            # `from cinch import Tenant` reads as cinch.Tenant: the public API, allowed.
            attribute = name.removeprefix("cinch.")
            if "." not in attribute and (attribute[:1].isupper()
                                         or attribute in _public_functions()):
                continue
            out.append(f"{where}: a face uses the public API (`cinch`), not the layers below")
            continue
        if not _within(name, allowed) and name != "cinch":
            out.append(f"{where}: {layer} may import only {', '.join(allowed)}")
    return out


def _public_functions() -> set[str]:
    import cinch

    return {name for name in cinch.__all__ if name[:1].islower()}


def modules() -> list[Path]:
    return sorted([*ROOT.glob("cinch/**/*.py"), *ROOT.glob("git_hooks/*.py")])


def test_every_module_keeps_to_its_layer() -> None:
    found = [v for path in modules()
             for v in violations(path.relative_to(ROOT).as_posix(), path.read_text())]
    assert found == []


def test_every_module_has_a_layer() -> None:
    assert len(modules()) > 100
    for path in modules():
        layer_of(path.relative_to(ROOT).as_posix())


@pytest.mark.parametrize(("rel", "source", "words"), [
    ("cinch/cli/x.py", "from cinch.planner.columns import parse_default", "public API"),
    ("cinch/server/x.py", "def f():\n    from cinch.stores import query\n", "public API"),
    ("git_hooks/x.py", "import cinch.engine.checks", "public API"),
    ("cinch/server/x.py", "from cinch.models.schema import Table", "public API"),
    ("cinch/engine/x.py", "import pygit2", "pygit2"),
    ("git_hooks/x.py", "from pygit2 import Repository", "pygit2"),
    ("cinch/engine/x.py", "from cinch.server import app", "engine may import only"),
    ("cinch/engine/x.py", "from cinch.cli.output import emit", "engine may import only"),
    ("cinch/stores/x.py", "from cinch.engine import tenants", "stores may import only"),
    ("cinch/stores/x.py", "from cinch.planner.plan import Plan", "stores may import only"),
    ("cinch/planner/x.py", "from cinch.stores import tenantstore", "planner may import only"),
    ("cinch/models/x.py", "from cinch.planner import build", "models may import only"),
    ("cinch/errors.py", "from cinch.models import Schema", "base may import only"),
    ("cinch/planner/x.py", "from ..engine import merge", "planner may import only"),
], ids=lambda v: v if "/" in str(v) and "\n" not in str(v) else None)
def test_a_broken_rule_is_found(rel: str, source: str, words: str) -> None:
    found = violations(rel, source)
    assert len(found) == 1 and words in found[0], found


@pytest.mark.parametrize(("rel", "source"), [
    ("cinch/cli/x.py", "import cinch\nfrom cinch import Tenant, clone\nfrom cinch.errors import "
                       "NotFound\nfrom cinch.cli.output import emit\nimport typer"),
    ("cinch/server/x.py", "from cinch.names import quote\nfrom cinch.server.deps import Engine"),
    ("cinch/engine/x.py", "from cinch.stores.gitstore import GitStore\nimport sqlite3"),
    ("cinch/stores/x.py", "import pygit2\nfrom cinch.models.schema import Schema"),
])
def test_what_the_rules_allow_passes(rel: str, source: str) -> None:
    assert violations(rel, source) == []
