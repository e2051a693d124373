"""cinch: a git-backed schema repository for multi-tenant SQLite.

    import cinch
    project = cinch.init("acme")          # or cinch.open("acme")
    db = project.database()               # "main"
    db.create_table("users", ["name:TEXT", "email:TEXT:unique"])
    project.tenant("main").insert("users", {"name": "Ann"})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cinch.errors import CinchError

__version__ = "0.1.0"
__all__ = ["ChangeResult", "CinchError", "Database", "Project", "Tenant", "init", "open"]

# The engine's public names, imported on first use (PEP 562): importing any cinch module
# imports this package first, and the engine is too heavy to load for every `cinch` command.
_ENGINE_EXPORTS: dict[str, tuple[str, str]] = {
    "ChangeResult": ("cinch.engine.database", "ChangeResult"),
    "Database": ("cinch.engine.database", "Database"),
    "Project": ("cinch.engine.project", "Project"),
    "Tenant": ("cinch.engine.tenant", "Tenant"),
    "init": ("cinch.engine.project", "init"),
    "open": ("cinch.engine.project", "open_project"),
}

if TYPE_CHECKING:
    from cinch.engine.database import ChangeResult, Database
    from cinch.engine.project import Project, init
    from cinch.engine.project import open_project as open
    from cinch.engine.tenant import Tenant
else:  # a module __getattr__ seen by type checkers would hide misspelt names from them

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = _ENGINE_EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module 'cinch' has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later look-ups skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ENGINE_EXPORTS})
