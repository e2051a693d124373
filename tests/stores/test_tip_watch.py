"""TipWatch: branch tips and HEAD as the git store reads them, kept only while git's ref files
are unchanged. Refs are moved with the git binary, as another process would move them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import cinch
from cinch.errors import BranchError

Git = Callable[..., str]


def age(path: Path) -> None:
    """Make a ref file look written a minute ago, so the watch may keep what it read."""
    then = time.time() - 60
    os.utime(path, (then, then))


def test_a_moved_tip_is_seen_even_when_the_old_one_was_kept(project: cinch.Project,
                                                            git: Git) -> None:
    root = project.root
    first = git("rev-list", "--max-parents=0", "main", cwd=root).strip()
    head = git("rev-parse", "main", cwd=root).strip()
    ref = root / ".git" / "refs" / "heads" / "main"
    age(ref)
    watch = project.tip_watch()
    assert watch.tip("main") == head
    assert watch.tip("main") == head  # kept: the ref file is as it was

    git("update-ref", "refs/heads/main", first, cwd=root)
    assert watch.tip("main") == first
    age(ref)
    assert watch.tip("main") == first

    # Packed, the loose file goes: the tip is read from packed-refs, and moves there too.
    git("pack-refs", "--all", cwd=root)
    assert not ref.exists()
    assert watch.tip("main") == first
    age(root / ".git" / "packed-refs")
    git("update-ref", "refs/heads/main", head, cwd=root)
    assert watch.tip("main") == head


def test_new_and_deleted_branches_and_head(project: cinch.Project, git: Git) -> None:
    root = project.root
    watch = project.tip_watch()
    assert watch.tip("feature") is None
    git("branch", "feature", cwd=root)
    assert watch.tip("feature") == git("rev-parse", "feature", cwd=root).strip()
    assert watch.current_branch() == "main"
    age(root / ".git" / "HEAD")
    assert watch.current_branch() == "main"
    git("checkout", "-q", "feature", cwd=root)
    assert watch.current_branch() == "feature"
    git("checkout", "-q", "main", cwd=root)
    git("branch", "-D", "feature", cwd=root)
    assert watch.tip("feature") is None


def test_refs_just_written_are_read_as_git_reads_them(project: cinch.Project,
                                                      git: Git) -> None:
    """Within the moments after a ref moved nothing is kept, and every answer is the file's."""
    root = project.root
    watch = project.tip_watch()
    first = git("rev-list", "--max-parents=0", "main", cwd=root).strip()
    head = git("rev-parse", "main", cwd=root).strip()
    for tip in (first, head, first):
        git("update-ref", "refs/heads/main", tip, cwd=root)
        assert watch.tip("main") == tip
    # A symbolic ref in the loose file, HEAD detached, a branch with a slash: as libgit2 says.
    git("symbolic-ref", "refs/heads/alias", "refs/heads/main", cwd=root)
    assert watch.tip("alias") == project.git.branch_tip("alias")
    git("branch", "team/x", cwd=root)
    git("checkout", "-q", "team/x", cwd=root)
    assert watch.current_branch() == "team/x"
    assert watch.tip("team/x") == first
    git("checkout", "-q", "--detach", cwd=root)
    with pytest.raises(BranchError):
        watch.current_branch()


@pytest.mark.parametrize(("data", "expected"), [
    (b"a" * 40 + b"\n", "a" * 40),
    (b"0123456789abcdef" * 4 + b"\n", "0123456789abcdef" * 4),  # SHA-256
    (b"a" * 39 + b"g\n", None),  # not hex: libgit2 is asked
    (b"A" * 40 + b"\n", None),  # git writes lowercase
    (b"a" * 40, None),  # no newline: a write not finished
    (b"ref: refs/heads/main\n", None),
    (b"\xff" * 40 + b"\n", None),
    (None, None),
])
def test_a_loose_ref_is_read_only_when_it_holds_a_commit_id(data: bytes | None,
                                                            expected: str | None) -> None:
    from cinch.stores.gitstore import _commit_id

    assert _commit_id(data) == expected
