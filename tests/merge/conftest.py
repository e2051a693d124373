"""Helpers for merge tests: two branches made from the shared ``users`` project, and what
"nothing changed" means (the git repository and every tenant file, byte for byte)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import cinch
from cinch.engine.branches import create_branch
from cinch.engine.database import Database

Edit = Callable[[Database], object]


def fork(project: cinch.Project, left: Edit | None, right: Edit | None, *,
         empty: tuple[str, ...] = ()) -> None:
    """Branches ``left`` and ``right`` from main, each changed by its own edit."""
    for name, edit in (("left", left), ("right", right)):
        create_branch(project, name, start="main", empty=name in empty)
        if edit is not None:
            edit(project.database(branch=name))


def tenant_bytes(root: Path) -> dict[str, bytes]:
    """Every file of local state that holds data (tenants, templates, forks), by path.

    ``-shm`` files are SQLite's shared-memory index, rewritten by any reader; locks are locks.
    """
    out = {}
    for path in sorted((root / ".cinch").rglob("*")):
        if path.is_file() and not path.name.endswith("-shm") and path.parent.name != "locks":
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


@pytest.fixture
def two_ways() -> tuple[tuple[str, str], tuple[str, str]]:
    """(source, target) pairs: every merge case runs both ways to prove symmetry."""
    return ("left", "right"), ("right", "left")
