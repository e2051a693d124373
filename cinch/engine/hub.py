"""A hub: a bare repository a team pushes to, accepting only what cinch would have made.

``cinch hub init PATH`` creates it with a pre-receive hook that runs ``cinch.engine.checks`` on
every commit a push brings (change files valid and immutable, schema.sql as rendered, no
schema conflict in a merge, a protected branch changed only by merge commits) and refuses the
whole push, with the reasons, if one fails. A hub holds no tenants: there is no data to check.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from cinch.engine import checks
from cinch.engine.history import History
from cinch.engine.hooks import hook_script
from cinch.errors import ProjectExists
from cinch.stores.gitstore import GitStore

HUB_HOOKS = ("pre-receive",)


def init_hub(path: str | os.PathLike[str], *, branch: str = "main") -> Path:
    """Create a bare repository at ``path`` with cinch's pre-receive hook."""
    root = Path(path).resolve()
    if root.exists() and any(root.iterdir()):
        raise ProjectExists(f"{root} exists and is not empty", path=str(root))
    GitStore.init_bare(root, branch)
    install_hub_hooks(root)
    return root


def install_hub_hooks(root: Path) -> list[str]:
    hooks = root / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in HUB_HOOKS:
        target = hooks / name
        target.write_text(hook_script(name, sys.executable))
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return list(HUB_HOOKS)


def check_receive(gitdir: Path, updates: list[tuple[str, ...]]) -> list[checks.Problem]:
    """Problems with a push of ``(old, new, ref)`` updates (empty: accept it)."""
    # The pushed objects wait in a quarantine folder git names until every hook accepted them.
    git = GitStore.open_receiving(gitdir, os.environ.get("GIT_QUARANTINE_PATH"))
    repo = checks.Repo(git, History(git))
    branches = {ref: old for old, _new, ref in updates}
    known = [tip for name, tip in git.ref_tips("refs/heads/").items() if name not in branches]
    problems: list[checks.Problem] = []
    for old, new, ref in updates:
        if not ref.startswith("refs/heads/"):
            continue
        branch = ref.removeprefix("refs/heads/")
        if new == checks.ZERO:
            config = checks.config_at(git, old)
            if config is not None and branch in config.branches.protected:
                problems.append(checks.Problem(
                    "protected_branch", f"branch {branch} is protected; it cannot be deleted",
                    f"unprotect it first: `cinch branch --unprotect {branch}`, then push"))
            continue
        problems += checks.check_update(repo, branch, None if old == checks.ZERO else old,
                                        new, known)
    return problems
