"""Installs the git hooks (from ``git_hooks/``) and the schema.sql merge driver."""

from __future__ import annotations

import os
import stat
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from cinch.engine.project import Project

HOOKS = ("pre-commit", "pre-merge-commit", "prepare-commit-msg", "post-commit", "post-merge",
         "post-checkout", "post-rewrite", "reference-transaction", "pre-push")
# Hooks git feeds on standard input: a user's own hook (NAME.local) gets a copy of it.
STDIN_HOOKS = ("post-rewrite", "reference-transaction", "pre-push", "pre-receive")
MARKER = "# cinch hook"
DRIVER = "cinch-schema"


def _template() -> str:
    from importlib import resources  # only here: `cinch status` reads this module's names

    return resources.files("git_hooks").joinpath("hook.sh.in").read_text()


def hook_script(name: str, python: str) -> str:
    """The shell script installed as hook ``name``, running ``python -m git_hooks name``."""
    return (_template().replace("@PYTHON@", python).replace("@HOOK@", name)
            .replace("@STDIN@", "1" if name in STDIN_HOOKS else ""))


def missing(project: Project) -> list[str]:
    """What of cinch's git setup this clone lacks (a plain `git clone` has none of it): hook
    names, and ``merge driver``."""
    return missing_in(project.git.hooks_dir, project.git.config_get(f"merge.{DRIVER}.driver") or "")


def missing_in(hooks_dir: Path, driver: str) -> list[str]:
    """:func:`missing`, given the hooks folder and the merge driver's configured command."""
    out = []
    for name in HOOKS:
        path = hooks_dir / name
        try:
            ours = MARKER in path.read_text(errors="replace") and os.access(path, os.X_OK)
        except OSError:
            ours = False
        if not ours:
            out.append(name)
    if "git_hooks" not in driver:
        out.append("merge driver")
    return out


def install_hooks(project: Project) -> list[str]:
    """Write cinch's hooks into ``.git/hooks`` (a user's own hook is kept as ``NAME.local``
    and still runs first) and register the merge driver named in ``.gitattributes``."""
    hooks_dir = project.git.hooks_dir
    hooks_dir.mkdir(exist_ok=True)
    python = sys.executable
    installed = []
    for name in HOOKS:
        path = hooks_dir / name
        if path.exists() and MARKER not in path.read_text(errors="replace"):
            os.replace(path, hooks_dir / f"{name}.local")
        path.write_text(hook_script(name, python))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        installed.append(name)
    git = project.git
    git.config_set(f"merge.{DRIVER}.name", "cinch: regenerate schema.sql from the merged change sets")
    git.config_set(f"merge.{DRIVER}.driver", f'"{python}" -m git_hooks merge-driver %O %A %B %P')
    return installed
