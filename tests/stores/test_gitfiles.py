"""git's files read without libgit2 (cinch.stores.gitfiles) say what libgit2 says, or nothing:
HEAD and branch tips in every layout git writes, the repository's config, and a work tree
proven unchanged against the index. Repositories are changed with the git binary."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

import cinch
from cinch.stores import gitfiles
from cinch.stores.gitfiles import GitFiles
from cinch.stores.gitstore import GitStore

Git = Callable[..., str]


def pygit2_head(root: Path) -> tuple[str | None, str | None]:
    store = GitStore.open(root)
    branch = store.head_branch()
    return branch, store.branch_tip(branch) if branch else None


def test_head_and_tips_as_libgit2_reads_them(project: cinch.Project, git: Git) -> None:
    root = project.root
    files = GitFiles(root)
    assert (files.head_branch(), files.branch_tip("main")) == pygit2_head(root)
    git("branch", "feature/x", cwd=root)
    git("commit", "--allow-empty", "-m", "moved on", cwd=root)
    assert files.branch_tip("main") == GitStore.open(root).branch_tip("main")
    assert files.branch_tip("feature/x") == GitStore.open(root).branch_tip("feature/x")
    assert files.branch_tip("feature/x") != files.branch_tip("main")

    # Packed: the loose files go, packed-refs has them (and a newer loose one wins)
    git("pack-refs", "--all", cwd=root)
    assert not (root / ".git" / "refs" / "heads" / "main").exists()
    assert files.branch_tip("main") == GitStore.open(root).branch_tip("main")
    assert files.branch_tip("feature/x") == GitStore.open(root).branch_tip("feature/x")
    git("commit", "--allow-empty", "-m", "loose again", cwd=root)
    assert files.branch_tip("main") == GitStore.open(root).branch_tip("main")
    assert files.branch_tip("no-such") is None

    git("switch", "feature/x", cwd=root)
    assert (files.head_branch(), files.branch_tip("feature/x")) == pygit2_head(root)


def test_what_only_libgit2_reads_answers_nothing(project: cinch.Project, git: Git) -> None:
    root = project.root
    files = GitFiles(root)
    git("symbolic-ref", "refs/heads/alias", "refs/heads/main", cwd=root)
    assert files.branch_tip("alias") is None
    git("checkout", "--detach", cwd=root)
    assert files.head_branch() is None
    git("checkout", "--orphan", "unborn", cwd=root)
    assert files.head_branch() == "unborn"
    assert files.branch_tip("unborn") is None


def test_a_linked_worktree_reads_its_own_head(project: cinch.Project, git: Git,
                                              tmp_path: Path) -> None:
    other = tmp_path / "other"
    git("worktree", "add", "-b", "side", str(other), cwd=project.root)
    git("commit", "--allow-empty", "-m", "on side", cwd=other)
    files = GitFiles(other)
    assert files.head_branch() == "side"
    assert (files.head_branch(), files.branch_tip("side")) == pygit2_head(other)
    assert files.branch_tip("main") == GitStore.open(other).branch_tip("main")
    assert files.hooks_dir == GitStore.open(other).hooks_dir
    assert GitFiles(project.root).head_branch() == "main"


def test_config_values_as_git_reads_them(project: cinch.Project, git: Git) -> None:
    root = project.root
    files = GitFiles(root)
    driver = files.config_value("merge", "cinch-schema", "driver")
    assert driver == git("config", "--get", "merge.cinch-schema.driver", cwd=root).strip()
    assert "git_hooks" in driver
    for raw in ('a "quoted ; part" b ; comment', 'a\\tb  # comment', 'x "y\\"z"  '):
        with (root / ".git" / "config").open("a") as fh:
            fh.write(f'[merge "cinch-schema"]\n\tdriver = {raw}\n')
        value = files.config_value("merge", "cinch-schema", "driver")
        assert value == git("config", "--get", "merge.cinch-schema.driver", cwd=root)[:-1]
    assert value == 'x y"z'
    assert files.config_value("merge", "other", "driver") is None
    assert files.hooks_dir == root / ".git" / "hooks"
    git("config", "include.path", "elsewhere", cwd=root)
    assert files.config_value("merge", "cinch-schema", "driver") is None
    assert files.hooks_dir is None


def libgit2_clean(root: Path) -> str:
    """The index checksum, after libgit2 found the work tree and index as HEAD has them."""
    before = gitfiles.index_checksum(GitFiles(root))
    assert GitStore.open(root).dirty_paths() == []
    assert before is not None and before == gitfiles.index_checksum(GitFiles(root))
    return before


def test_a_work_tree_is_proven_unchanged_or_not_at_all(project: cinch.Project,
                                                       git: Git) -> None:
    root = project.root
    files = GitFiles(root)
    checksum = libgit2_clean(root)
    assert gitfiles.clean_work_tree(files, checksum)
    config = root / "cinch.toml"
    text = config.read_bytes()

    # Same bytes, new times (racy or not): hashed, still clean
    os.utime(config, None)
    assert gitfiles.clean_work_tree(files, checksum)
    # Same size, other bytes, and the old times put back: the hash tells
    stat = config.stat()
    config.write_bytes(text.replace(b"[", b"{", 1))
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert GitStore.open(root).dirty_paths() == ["cinch.toml"]
    assert not gitfiles.clean_work_tree(files, checksum)
    config.write_bytes(text)
    assert gitfiles.clean_work_tree(files, checksum)

    config.chmod(0o755)
    assert not gitfiles.clean_work_tree(files, checksum)
    config.chmod(0o644)

    # Untracked: anywhere but what the top .gitignore lists plainly (.cinch/)
    (root / ".cinch" / "anything").write_text("x")
    assert gitfiles.clean_work_tree(files, checksum)
    (root / "schema" / "notes.txt").write_text("x")
    assert not gitfiles.clean_work_tree(files, checksum)
    (root / "schema" / "notes.txt").unlink()
    assert gitfiles.clean_work_tree(files, checksum)

    # Staged: the index changes, so the checksum no longer names it
    config.write_bytes(text + b"\n")
    git("add", "cinch.toml", cwd=root)
    assert not gitfiles.clean_work_tree(files, checksum)
    git("reset", "-q", "--hard", cwd=root)
    assert gitfiles.clean_work_tree(files, libgit2_clean(root))

    tracked = sorted((root / "schema").rglob("*.json"))[0]
    tracked.unlink()
    assert not gitfiles.clean_work_tree(files, gitfiles.index_checksum(files) or "")


def test_an_index_it_does_not_read_proves_nothing(project: cinch.Project, git: Git) -> None:
    root = project.root
    files = GitFiles(root)
    git("update-index", "--index-version", "4", cwd=root)
    checksum = gitfiles.index_checksum(files)
    assert checksum is not None and GitStore.open(root).dirty_paths() == []
    assert not gitfiles.clean_work_tree(files, checksum)
    git("update-index", "--index-version", "2", cwd=root)
    checksum = gitfiles.index_checksum(files)
    assert checksum is not None and gitfiles.clean_work_tree(files, checksum)
    git("config", "extensions.objectFormat", "sha256", cwd=root)  # ids this does not read
    assert GitFiles(root).head_branch() is None
    assert not gitfiles.clean_work_tree(GitFiles(root), checksum)


@pytest.mark.parametrize(("pattern", "trusted"), [
    ("keep.txt", True), ("/keep.txt", True), ("!keep.txt", False), ("*.txt", False),
    ("sub/../keep.txt", False)])
def test_only_plain_ignore_rules_are_trusted(project: cinch.Project, pattern: str,
                                             trusted: bool) -> None:
    """An untracked file is taken as ignored only by a plain name in the top .gitignore;
    for any other rule libgit2 must say (it says clean for all of these but the negation)."""
    root = project.root
    (root / ".gitignore").write_text(f".cinch/\n{pattern}\n")
    repo = pygit2.Repository(str(root))
    repo.index.add(".gitignore")
    repo.index.write()
    (root / "keep.txt").write_text("x")
    files = GitFiles(root)
    assert gitfiles.clean_work_tree(files, gitfiles.index_checksum(files) or "") is trusted
