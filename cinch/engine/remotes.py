"""Remotes: push, pull and clone a project's schema history, like git (through libgit2).

Only the schema travels: change sets, schema.sql and cinch.toml are committed; tenant data
lives under ``.cinch/`` and never leaves the machine. A pull or clone therefore ends by
bringing the local tenants to the new head (a clone's tenants start empty).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinch.engine.config import CONFIG_FILE
from cinch.errors import BranchError, DirtyWorkTree, NotAProject, NotFound, ProjectExists
from cinch.names import check_branch_name
from cinch.stores.gitstore import GitStore

if TYPE_CHECKING:
    from cinch.engine.project import Project

DEFAULT_REMOTE = "origin"


@dataclass
class SyncResult:
    """What a push or pull did to one branch."""

    remote: str
    branch: str
    before: str | None
    after: str | None
    action: str  # "up to date", "pushed", "forced", "fast-forward", "merged", "ahead"
    tenants: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- remote configuration -----------------------------------------------------------------


def add_remote(project: Project, name: str, url: str) -> None:
    check_branch_name(name)  # remote names follow ref-name rules (they become refs/remotes/NAME)
    project.git.add_remote(name, _url(url))


def remove_remote(project: Project, name: str) -> None:
    project.git.remove_remote(name)


def list_remotes(project: Project) -> list[dict[str, str]]:
    return [{"name": n, "url": u} for n, u in project.git.remotes()]


def _url(url: str) -> str:
    """A local path becomes absolute, so the remote still works from another folder."""
    if "://" in url or url.startswith("git@") or ":" in url.split("/", 1)[0]:
        return url
    return str(Path(url).expanduser().resolve())


# --- push and pull ------------------------------------------------------------------------


def push(project: Project, remote: str | None = None, branch: str | None = None, *,
         force: bool = False) -> SyncResult:
    """Push ``branch`` (the current one) to ``remote`` (origin); refuse a non-fast-forward.

    The remote's tip is fetched first so the check is made on what the remote holds now.
    """
    remote = remote or DEFAULT_REMOTE
    branch = branch or project.current_branch
    git = project.git
    local = git.branch_tip(branch)
    if local is None:
        raise NotFound(f"no branch named {branch!r}", branch=branch)
    git.fetch(remote)
    theirs = git.remote_tip(remote, branch)
    if theirs == local:
        return SyncResult(remote, branch, theirs, local, "up to date")
    from cinch.engine.checks import check_push, refusal

    problems = check_push(project, remote, branch, theirs, local)
    if problems:  # what the hooks would have refused, committed without them
        raise refusal(problems, f"push of {branch} to {remote}")
    if theirs is not None and not git.is_ancestor(theirs, local) and not force:
        raise BranchError(
            f"{remote}/{branch} has commits that {branch} does not (non-fast-forward); nothing "
            "was pushed", hint=f"run `cinch pull {remote} {branch}` first, or push --force to "
            "overwrite the remote's history", remote=remote, branch=branch)
    git.push(remote, [f"{'+' if force else ''}refs/heads/{branch}:refs/heads/{branch}"])
    git.set_upstream(branch, remote)
    forced = theirs is not None and not git.is_ancestor(theirs, local)
    return SyncResult(remote, branch, theirs, local, "forced" if forced else "pushed")


def pull(project: Project, remote: str | None = None, branch: str | None = None) -> SyncResult:
    """Fetch, then fast-forward ``branch``; if both sides moved, merge semantically. Then bring
    every tenant of the branch to the new head."""
    remote = remote or DEFAULT_REMOTE
    branch = branch or project.current_branch
    git = project.git
    with project.lock():
        git.fetch(remote)
        theirs = git.remote_tip(remote, branch)
        if theirs is None:
            raise NotFound(f"{remote} has no branch {branch!r}", remote=remote, branch=branch)
        local = git.branch_tip(branch)
        if local is None:
            git.create_branch(branch, theirs)
            action = "fast-forward"
        elif local == theirs or git.is_ancestor(theirs, local):
            action = "up to date" if local == theirs else "ahead"
        elif git.is_ancestor(local, theirs):
            _refuse_clobber(project, branch, local, theirs)
            git.fast_forward(branch, theirs, expected=local)
            action = "fast-forward"
        else:
            _merge(project, remote, branch)
            action = "merged"
        after = git.branch_tip(branch)
        tenants = {db: project.tenants.follow(db, branch) for db in project.databases(branch)}
    return SyncResult(remote, branch, local, after, action, tenants)


def _refuse_clobber(project: Project, branch: str, old: str, new: str) -> None:
    """A fast-forward rewrites the files that changed; refuse if the user edited one of them."""
    git = project.git
    if git.head_branch() != branch:
        return
    touched = set(git.changed_paths(old, new)) & set(git.dirty_paths())
    if touched:
        raise DirtyWorkTree(
            f"pulling would overwrite local edits to {', '.join(sorted(touched))}; nothing was "
            "changed", hint="commit or discard those edits, then pull again",
            paths=sorted(touched))


def _merge(project: Project, remote: str, branch: str) -> None:
    try:
        from cinch.engine.merge import merge
    except ImportError as exc:
        if exc.name != "cinch.engine.merge":
            raise  # the merge engine exists but is broken: don't hide that
        raise BranchError(
            f"{branch} and {remote}/{branch} have both moved on (diverged), and the semantic "
            "merge engine is not available in this build; nothing was changed",
            hint=f"push your work to another branch, or reset {branch} to {remote}/{branch}",
            remote=remote, branch=branch) from exc
    # "origin/main" resolves to refs/remotes/origin/main and reads well in the merge commit.
    merge(project, f"{remote}/{branch}", branch)


# --- clone --------------------------------------------------------------------------------


def clone(url: str, directory: str | Path | None = None) -> Project:
    """Clone a cinch project: the same commits, hooks installed, and the ``main`` tenant of
    each database created empty at the schema of the checked-out branch."""
    from cinch.engine.hooks import install_hooks
    from cinch.engine.project import Project

    source = _url(url)
    root = Path(directory or Path(source.rstrip("/")).name.removesuffix(".git")).resolve()
    if root.exists() and any(root.iterdir()):
        raise ProjectExists(f"{root} exists and is not empty", path=str(root))
    created = not root.exists()
    try:
        git = GitStore.clone(source, root)
        if git.read_file(git.branch_tip(git.current_branch()), CONFIG_FILE) is None:
            raise NotAProject(f"{url} is a git repository but not a cinch project "
                              f"(no {CONFIG_FILE} on its default branch)", url=url)
        project = Project(root)
        install_hooks(project)
        project.sync()
        return project
    except BaseException:
        # Leave nothing half-made behind: the folder is ours only if we created it.
        if created:
            shutil.rmtree(root, ignore_errors=True)
        else:
            _empty(root)
        raise


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
