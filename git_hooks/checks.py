"""What post-checkout does for a branch made with plain git; all knowledge is the engine's."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cinch import Project

Say = Callable[[str], None]


def fork_if_new(project: Project, say: Say) -> None:
    """A branch made with `git checkout -b` gets its parent's tenants, as `cinch branch` does."""
    for db, parent, count in project.adopt_branch():
        say(f"branch {project.current_branch} takes the {count} tenant(s) of {parent} ({db}), "
            "copied on first use")
