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

import pygit2

from cinch.engine import checks
from cinch.engine.history import History
from cinch.engine.hooks import hook_script
from cinch.errors import GitError, ProjectExists
from cinch.stores.gitstore import GitStore

HUB_HOOKS = ("pre-receive",)


def init_hub(path: str | os.PathLike[str], *, branch: str = "main") -> Path:
    """Create a bare repository at ``path`` with cinch's pre-receive hook."""
    root = Path(path).resolve()
    if root.exists() and any(root.iterdir()):
        raise ProjectExists(f"{root} exists and is not empty", path=str(root))
    try:
        pygit2.init_repository(str(root), bare=True, initial_head=branch)
    except pygit2.GitError as exc:
        raise GitError(f"cannot create a bare repository at {root}: {exc}") from exc
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


def _open(gitdir: Path) -> pygit2.Repository:
    """The hub as its pre-receive hook sees it: the pushed objects wait in a quarantine folder
    git names in the environment until every hook accepted them."""
    repo = pygit2.Repository(str(gitdir))
    quarantine = os.environ.get("GIT_QUARANTINE_PATH")
    if quarantine:
        repo.odb.add_disk_alternate(quarantine)
    return repo


def check_receive(gitdir: Path, updates: list[tuple[str, ...]]) -> list[checks.Problem]:
    """Problems with a push of ``(old, new, ref)`` updates (empty: accept it)."""
    git = GitStore(_open(gitdir))
    repo = checks.Repo(git, History(git))
    branches = {ref: old for old, _new, ref in updates}
    known = [str(git.repo.references[name].peel(pygit2.Commit).id)
             for name in git.repo.references
             if name.startswith("refs/heads/") and name not in branches]
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
