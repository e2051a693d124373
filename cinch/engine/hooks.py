"""Installs the git hooks (from ``git_hooks/``) and the schema.sql merge driver."""

from __future__ import annotations

import os
import stat
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cinch.engine.project import Project

HOOKS = ("pre-commit", "pre-merge-commit", "post-merge", "post-checkout", "post-rewrite")
MARKER = "# cinch hook"
DRIVER = "cinch-schema"


def _template() -> str:
    return resources.files("git_hooks").joinpath("hook.sh.in").read_text()


def install_hooks(project: Project) -> list[str]:
    """Write cinch's hooks into ``.git/hooks`` (a user's own hook is kept as ``NAME.local``
    and still runs first) and register the merge driver named in ``.gitattributes``."""
    hooks_dir = Path(project.git.repo.path) / "hooks"
    hooks_dir.mkdir(exist_ok=True)
    python = sys.executable
    template = _template()
    installed = []
    for name in HOOKS:
        path = hooks_dir / name
        if path.exists() and MARKER not in path.read_text(errors="replace"):
            os.replace(path, hooks_dir / f"{name}.local")
        path.write_text(template.replace("@PYTHON@", python).replace("@HOOK@", name))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        installed.append(name)
    config = project.git.repo.config
    config[f"merge.{DRIVER}.name"] = "cinch: regenerate schema.sql from the merged change sets"
    config[f"merge.{DRIVER}.driver"] = f'"{python}" -m git_hooks merge-driver %O %A %B %P'
    return installed
