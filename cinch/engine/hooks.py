"""Installs the git hooks that keep tenants in step with plain git (see git_hooks/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cinch.engine.project import Project


def install_hooks(project: Project) -> list[str]:
    return []
