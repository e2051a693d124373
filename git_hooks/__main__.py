"""``python -m git_hooks HOOK [ARGS...]``: what each git hook does.

- pre-commit: refuse a malformed change file, or an edit/deletion of a committed one;
  during a merge, also refuse a semantic schema conflict (git runs pre-commit, not
  pre-merge-commit, when a merge needed manual resolution).
- pre-merge-commit: refuse a merge whose two sides conflict on the schema, with the same
  report as `cinch merge`; nothing is committed and no tenant is touched.
- post-merge, post-rewrite: bring the tenants of the current branch to its new head.
- post-checkout: a branch created with plain git forks its tenants from the previous branch;
  then the tenants of the checked-out branch are brought to its head.
- merge-driver: regenerate `schema/<db>/schema.sql` instead of text-merging it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from cinch.errors import CinchError


def _project():  # imported lazily: a hook must start fast
    from cinch.engine.project import open_project

    return open_project(Path(os.environ.get("GIT_WORK_TREE") or os.getcwd()))


def _say(text: str) -> None:
    sys.stderr.write(f"cinch: {text}\n")


def pre_commit(args: list[str]) -> int:
    from git_hooks.checks import check_merge_in_progress, check_staged_changes

    project = _project()
    problems = check_staged_changes(project)
    if problems:
        for problem in problems:
            _say(problem)
        _say("commit refused: change sets are immutable and must be valid; "
             "use cinch commands (cinch revert undoes a change)")
        return 1
    return check_merge_in_progress(project, _say)


def pre_merge_commit(args: list[str]) -> int:
    from git_hooks.checks import check_merge_in_progress

    return check_merge_in_progress(_project(), _say)


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
    project = _project()
    fork_if_new(project, _say)
    project.close()
    return _sync("after checkout")


def merge_driver(args: list[str]) -> int:
    from git_hooks.checks import regenerate_schema_sql

    _base, ours, _theirs, path = args[:4]
    return regenerate_schema_sql(_project(), Path(ours), path, _say)


HANDLERS = {
    "pre-commit": pre_commit, "pre-merge-commit": pre_merge_commit, "post-merge": post_merge,
    "post-rewrite": post_rewrite, "post-checkout": post_checkout, "merge-driver": merge_driver,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in HANDLERS:
        _say(f"unknown hook {argv[:1]}; known: {', '.join(HANDLERS)}")
        return 2
    if os.environ.get("CINCH_HOOKS") == "off":
        return 0
    try:
        return HANDLERS[argv[0]](argv[1:])
    except CinchError as exc:
        _say(f"error: {exc.message}")
        if exc.hint:
            _say(f"hint: {exc.hint}")
        if os.environ.get("CINCH_HOOK_JSON"):
            sys.stderr.write(json.dumps({"error": exc.to_dict()}, default=str) + "\n")
        # A failing post-* hook cannot undo git's work: say so and leave `cinch sync` to finish.
        if argv[0].startswith("post-"):
            _say("the tenants were left as they are; run `cinch sync` once fixed")
            return 0
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
