"""``python -m git_hooks HOOK [ARGS...]``: what each git hook does.

- pre-commit, pre-merge-commit, prepare-commit-msg: refuse a commit cinch would not have made
  (``cinch.engine.checks``: change files valid and immutable, schema.sql as rendered, no
  schema conflict, protection, the tenants' data). git runs different ones per verb
  (cherry-pick, revert and rebase run only prepare-commit-msg), so all three check; a staged
  tree checked once is not checked again.
- post-merge, post-rewrite: bring the tenants of the current branch to its new head.
- post-checkout: a branch created with plain git forks its tenants from the previous branch;
  then the tenants of the checked-out branch are brought to its head (a branch whose tenants
  are marked at its head already is answered without the engine).
- reference-transaction: a branch deleted with plain git loses its local tenants, as with
  ``cinch branch -D``.
- pre-push: refuse to push commits the hooks would have refused (made with hooks off, or in a
  clone without them).
- pre-receive (a hub made by ``cinch hub init``): the same checks for every pushed commit.
- merge-driver: regenerate ``schema/<db>/schema.sql`` instead of text-merging it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import cinch  # its engine is imported on first use: a hook must start fast
from cinch.errors import CinchError

ZERO = "0" * 40


def _root() -> Path:
    return Path(os.environ.get("GIT_WORK_TREE") or os.getcwd())


def _project() -> cinch.Project:
    return cinch.open(_root())


def _say(text: str) -> None:
    sys.stderr.write(f"cinch: {text}\n")


def _report(problems: list, what: str) -> int:
    if not problems:
        return 0
    for problem in problems:
        _say(f"{problem.message}")
        if problem.hint:
            _say(f"  way out: {problem.hint}")
    _say(f"{what} refused: {len(problems)} problem(s); nothing was changed")
    if os.environ.get("CINCH_HOOK_JSON"):
        sys.stderr.write(json.dumps({"problems": [p.to_dict() for p in problems]}) + "\n")
    return 1


def _glance() -> Any:
    """The project as far as git's files and cinch's state say (None: not a project)."""
    try:
        return cinch.glance(_root())
    except CinchError:
        return None  # the project's own open says why


def _check_commit(hook: str) -> int:
    glance = _glance()
    if glance is not None and glance.nothing_to_check():
        return 0  # nothing under schema/ nor cinch.toml: no engine to start
    project = _project()
    try:
        return _report(project.check_commit(hook), "commit")
    finally:
        project.close()


def pre_commit(args: list[str]) -> int:
    return _check_commit("pre-commit")


def pre_merge_commit(args: list[str]) -> int:
    return _check_commit("pre-merge-commit")


def prepare_commit_msg(args: list[str]) -> int:
    if _no_verify():
        return 0
    return _check_commit("prepare-commit-msg")


def _sync(label: str) -> int:
    project = _project()
    try:
        branch = project.current_branch
    except CinchError:
        return 0  # detached HEAD: no branch to follow
    result = project.sync(branch=branch)
    total = sum(r["updated"] for r in result.values())
    count = sum(r["tenants"] for r in result.values())
    _say(f"{label}: {count} tenant(s) of {branch} at the head ({total} updated)")
    project.close()
    return 0


def post_merge(args: list[str]) -> int:
    return _sync("after merge")


def post_rewrite(args: list[str]) -> int:
    return _sync("after rewrite")


def post_checkout(args: list[str]) -> int:
    from git_hooks.checks import fork_if_new

    if len(args) >= 3 and args[2] != "1":
        return 0  # a file checkout, not a branch switch
    glance = _glance()
    synced = glance.synced_at_head() if glance is not None else None
    if synced is not None:  # switched back to a branch whose tenants are at its head
        branch, databases = synced
        _say(f"after checkout: the tenants of {branch} are at its head ({', '.join(databases)})")
        return 0
    project = _project()
    fork_if_new(project, _say)
    project.close()
    return _sync("after checkout")


def _updates() -> list[list[str]]:
    return [line.split() for line in sys.stdin.read().splitlines() if line.strip()]


def _git_args() -> list[bytes]:
    """The command line of the git that runs this hook (a parent process: the hook's shell
    runs us); empty where it cannot be read."""
    pid = os.getppid()
    for _ in range(3):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return []
        if args and os.path.basename(args[0]).startswith(b"git"):
            return args
    return []


def _resetting(updates: list[list[str]]) -> bool:
    """Whether this is `git reset` moving the checked-out branch (through HEAD)."""
    moved = any(len(u) >= 3 and u[2] == "HEAD" and u[0] != u[1] for u in updates)
    return moved and b"reset" in _git_args()


def _renaming() -> bool:
    """Whether git is renaming a branch: its deletion of the old name is not a deletion of
    the branch's tenants."""
    args = _git_args()
    return b"branch" in args and any(a in args for a in (b"-m", b"-M", b"--move"))


def _no_verify() -> bool:
    """`git commit --no-verify` (or -n) and `git merge --no-verify` skip pre-commit and
    pre-merge-commit; prepare-commit-msg, which git runs anyway, honours them too."""
    args = _git_args()
    if b"commit" in args:
        return b"--no-verify" in args or b"-n" in args
    return b"merge" in args and b"--no-verify" in args


def reference_transaction(args: list[str]) -> int:
    every = _updates()
    updates = [u for u in every if len(u) >= 3 and u[2].startswith("refs/heads/")]
    if args and args[0] == "prepared":
        return _fast_forwards(updates)
    if not args or args[0] != "committed" or _renaming():
        return 0
    if _resetting(every):
        return _sync("after reset")  # git reset runs no other hook: tenants follow here
    deleted = [ref.removeprefix("refs/heads/") for _old, new, ref, *_ in updates if new == ZERO]
    if not deleted:
        return 0
    project = _project()
    try:
        for branch in deleted:
            if project.forget_branch(branch):
                _say(f"branch {branch} deleted: its local tenants were removed")
    finally:
        project.close()
    return 0


def _fast_forwards(updates: list[list[str]]) -> int:
    """A merge or pull moving a branch forward without a merge commit runs no commit hook:
    check it here, before git moves the ref, and put the work tree back if it is refused."""
    project = _project()
    try:
        git = project.git
        for old, new, ref, *_ in updates:
            if ZERO in (old, new) or not git.is_ancestor(old, new) or old == new:
                continue
            branch = ref.removeprefix("refs/heads/")
            problems = project.check_fast_forward(branch, old, new)
            if problems:
                return _report(problems, f"fast-forward of {branch}")
        return 0
    finally:
        project.close()


def post_commit(args: list[str]) -> int:
    glance = _glance()
    synced = glance.synced_after_commit() if glance is not None else None
    if synced is not None:
        branch, databases = synced
        _say(f"after commit: no change set; the tenants of {branch} stay at the head "
             f"({', '.join(databases)})")
        return 0
    return _sync("after commit")


def pre_push(args: list[str]) -> int:
    remote = args[0] if args else "origin"
    project = _project()
    try:
        problems = []
        for _local_ref, local, remote_ref, remote_sha, *_ in _updates():
            if local != ZERO and remote_ref.startswith("refs/heads/"):
                problems += project.check_push(remote, remote_ref.removeprefix("refs/heads/"),
                                               remote_sha, local)
        return _report(problems, "push")
    finally:
        project.close()


def pre_receive(args: list[str]) -> int:
    return _report(cinch.check_receive(Path(os.environ.get("GIT_DIR") or os.getcwd()),
                                 [tuple(u[:3]) for u in _updates()]), "push")


def merge_driver(args: list[str]) -> int:
    _base, ours, _theirs, path = args[:4]
    text = _project().generated_file(path)
    if text is None:
        _say(f"{path} is generated from the change sets and git cannot tell which ones this "
             "commit holds: resolve the other files, then run `cinch hooks resolve` (it "
             "writes and stages it) and continue (`git cherry-pick --continue`, "
             "`git revert --continue`, `git rebase --continue` or `git commit`)")
        return 1
    Path(ours).write_bytes(text)
    return 0


HANDLERS = {
    "pre-commit": pre_commit, "pre-merge-commit": pre_merge_commit,
    "prepare-commit-msg": prepare_commit_msg, "post-commit": post_commit,
    "post-merge": post_merge,
    "post-rewrite": post_rewrite, "post-checkout": post_checkout,
    "reference-transaction": reference_transaction, "pre-push": pre_push,
    "pre-receive": pre_receive, "merge-driver": merge_driver,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in HANDLERS:
        _say(f"unknown hook {argv[:1]}; known: {', '.join(HANDLERS)}")
        return 2
    if os.environ.get("CINCH_HOOKS") == "off":
        return 0
    # cinch uses no pydantic plugin; looking for some scans every installed package's metadata
    # on the first model, at each start of each hook (as `cinch` itself does, cinch/cli/app.py).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        return HANDLERS[argv[0]](argv[1:])
    except CinchError as exc:
        _say(f"error: {exc.message}")
        if exc.hint:
            _say(f"hint: {exc.hint}")
        if os.environ.get("CINCH_HOOK_JSON"):
            sys.stderr.write(json.dumps({"error": exc.to_dict()}, default=str) + "\n")
        # A failing post-* hook cannot undo git's work: say so and leave `cinch sync` to finish.
        if argv[0].startswith("post-") or argv[0] == "reference-transaction":
            _say("the tenants were left as they are; run `cinch sync` once fixed")
            return 0
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
