"""The git store: every read and write of the project's git repository, through pygit2.

Commits are built from the branch tip's tree in memory (never from the user's index), so
staged work of the user's is neither swept into a schema commit nor lost. The ref moves
atomically and only if the tip is still the parent we built on; the work tree follows after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pygit2

from cinch.errors import BranchError, GitError, NotAProject, UnknownRevision


@dataclass(frozen=True)
class CommitInfo:
    id: str
    message: str
    author: str
    email: str
    time: datetime
    parents: tuple[str, ...]

    @property
    def short(self) -> str:
        return self.id[:10]

    @property
    def summary(self) -> str:
        return self.message.split("\n", 1)[0]


def _info(commit: pygit2.Commit) -> CommitInfo:
    tz = timezone(timedelta(minutes=commit.author.offset))
    return CommitInfo(
        id=str(commit.id), message=commit.message.rstrip("\n"), author=commit.author.name,
        email=commit.author.email, time=datetime.fromtimestamp(commit.author.time, tz),
        parents=tuple(str(p) for p in commit.parent_ids),
    )


class IndexView:
    """A git index (the repository's, a file git named, or a merge's in memory) as the engine
    needs it: conflicted paths, entries added, a tree written. Nothing is saved before
    :meth:`write`."""

    def __init__(self, repo: pygit2.Repository, index: pygit2.Index) -> None:
        self._repo = repo
        self._index = index

    def conflicted(self) -> list[str]:
        if self._index.conflicts is None:
            return []
        return sorted({(o or t or a).path for a, o, t in self._index.conflicts})

    def take_ours(self, path: str) -> None:
        """Resolve ``path``'s conflict with our side (dropped if our side deleted it)."""
        ours = next(o for a, o, t in self._index.conflicts if (o or t or a).path == path)
        del self._index.conflicts[path]
        if ours is not None:
            self._index.add(pygit2.IndexEntry(path, ours.id, ours.mode))

    def drop_conflict(self, path: str) -> None:
        del self._index.conflicts[path]

    def read(self, path: str) -> bytes | None:
        try:
            return self._repo.get(self._index[path].id).data
        except KeyError:
            return None

    def add(self, path: str, data: bytes) -> None:
        self._index.add(pygit2.IndexEntry(path, self._repo.create_blob(data),
                                          pygit2.enums.FileMode.BLOB))

    def write_tree(self) -> str:
        return str(self._index.write_tree(self._repo))

    def write(self) -> None:
        self._index.write()


class GitStore:
    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._recent_trees: dict[str, pygit2.Tree] = {}  # see _tree

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path, branch: str = "main") -> GitStore:
        try:
            repo = pygit2.init_repository(str(path), bare=False, initial_head=branch)
        except pygit2.GitError as exc:
            raise GitError(f"cannot create a git repository at {path}: {exc}") from exc
        return cls(repo)

    @classmethod
    def open(cls, path: Path) -> GitStore:
        try:
            return cls(pygit2.Repository(str(path)))
        except (pygit2.GitError, KeyError) as exc:
            raise NotAProject(f"{path} is not a git repository") from exc

    @classmethod
    def init_bare(cls, path: Path, branch: str = "main") -> GitStore:
        try:
            return cls(pygit2.init_repository(str(path), bare=True, initial_head=branch))
        except pygit2.GitError as exc:
            raise GitError(f"cannot create a bare repository at {path}: {exc}") from exc

    @classmethod
    def open_receiving(cls, gitdir: Path, quarantine: str | None) -> GitStore:
        """A repository as its pre-receive hook sees it: the pushed objects wait in the
        quarantine folder git names until every hook accepted them."""
        repo = pygit2.Repository(str(gitdir))
        if quarantine:
            repo.odb.add_disk_alternate(quarantine)
        return cls(repo)

    @property
    def workdir(self) -> Path:
        return Path(self.repo.workdir)

    @property
    def gitdir(self) -> Path:
        return Path(self.repo.path)

    # --- refs -----------------------------------------------------------------------------

    def current_branch(self) -> str:
        if self.repo.head_is_detached:
            raise BranchError("HEAD is detached; switch to a branch first (cinch switch NAME)")
        ref = self.repo.lookup_reference("HEAD").target
        return str(ref).removeprefix("refs/heads/")

    @property
    def head_is_unborn(self) -> bool:
        return bool(self.repo.head_is_unborn)

    def head_branch(self) -> str | None:
        """The checked-out branch; None when HEAD is detached."""
        if self.repo.head_is_detached:
            return None
        return str(self.repo.lookup_reference("HEAD").target).removeprefix("refs/heads/")

    def head_commit(self) -> str:
        return str(self.repo.head.target)

    def last_head_move(self) -> str | None:
        """The message of HEAD's newest reflog entry (``checkout: moving from A to B``)."""
        try:
            entry = next(iter(self.repo.lookup_reference("HEAD").log()))
        except (StopIteration, KeyError, pygit2.GitError):
            return None
        return entry.message or ""

    def tip_watch(self) -> TipWatch:
        """A cheap "has this branch's tip, or HEAD, moved?" check (see :class:`TipWatch`)."""
        return TipWatch(self)

    def ref_tips(self, prefix: str) -> dict[str, str]:
        """Every reference under ``prefix`` (``refs/heads/``, ``refs/remotes/origin/``) and
        the commit it points at; references that name no commit are left out."""
        out = {}
        for name in self.repo.references:
            if name.startswith(prefix):
                try:
                    out[name] = str(self.repo.references[name].peel(pygit2.Commit).id)
                except (pygit2.GitError, ValueError, KeyError):
                    continue
        return out

    def has_object(self, oid: str) -> bool:
        try:
            return self.repo.get(oid) is not None
        except (ValueError, pygit2.GitError):
            return False

    def branch_tip(self, branch: str) -> str | None:
        ref = self.repo.references.get(f"refs/heads/{branch}")
        return str(ref.target) if ref is not None else None

    def branches(self) -> list[str]:
        return sorted(self.repo.branches.local)

    def tags(self) -> list[str]:
        return sorted(r.removeprefix("refs/tags/") for r in self.repo.references
                      if r.startswith("refs/tags/"))

    def resolve(self, rev: str) -> str:
        """A commit id for any git revision: branch, tag, HEAD~2, short id, ..."""
        if not rev or rev.startswith("-") or "\x00" in rev:
            raise UnknownRevision(f"{rev!r} is not a revision")
        try:
            obj = self.repo.revparse_single(rev)
            return str(obj.peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
            raise UnknownRevision(f"unknown revision {rev!r}", rev=rev) from exc

    def create_branch(self, name: str, commit: str) -> None:
        try:
            self.repo.branches.local.create(name, self.repo.get(commit))
        except pygit2.AlreadyExistsError as exc:
            raise BranchError(f"branch {name!r} already exists", branch=name) from exc
        except (ValueError, pygit2.GitError) as exc:
            raise BranchError(f"cannot create branch {name!r}: {exc}", branch=name) from exc

    def delete_branch(self, name: str) -> None:
        branch = self.repo.branches.local.get(name)
        if branch is None:
            raise BranchError(f"no branch named {name!r}", branch=name)
        branch.delete()

    def set_branch(self, name: str, commit: str, *, expected: str | None) -> None:
        """Move a branch, refusing if someone moved it since we read ``expected``."""
        ref_name = f"refs/heads/{name}"
        with self.repo.transaction() as txn:
            txn.lock_ref(ref_name)
            current = self.branch_tip(name)
            if current != expected:
                raise GitError(f"branch {name} moved while cinch worked; run the command again")
            txn.set_target(ref_name, pygit2.Oid(hex=commit), message=f"cinch: update {name}")

    def create_tag(self, name: str, commit: str, message: str | None,
                   author: tuple[str, str]) -> None:
        if f"refs/tags/{name}" in self.repo.references:
            raise BranchError(f"tag {name!r} already exists", tag=name)
        if message:
            self.repo.create_tag(name, pygit2.Oid(hex=commit), pygit2.enums.ObjectType.COMMIT,
                                 self._signature(author), message)
        else:
            self.repo.references.create(f"refs/tags/{name}", pygit2.Oid(hex=commit))

    # --- reading trees --------------------------------------------------------------------

    def _tree_at(self, commit: str, path: str) -> pygit2.Tree | None:
        tree = self.repo.get(commit).peel(pygit2.Tree)
        if not path:
            return tree
        try:
            entry = tree[path]
        except KeyError:
            return None
        obj = self.repo.get(entry.id)
        return obj if isinstance(obj, pygit2.Tree) else None

    def list_dir(self, commit: str, path: str) -> list[str]:
        tree = self._tree_at(commit, path)
        return [] if tree is None else sorted(e.name for e in tree)

    def read_dir(self, commit: str, path: str) -> dict[str, bytes]:
        tree = self._tree_at(commit, path)
        if tree is None:
            return {}
        return {e.name: self.repo.get(e.id).data for e in tree if e.type_str == "blob"}

    def dir_entries(self, commit: str, path: str) -> dict[str, str]:
        """name -> blob id, cheap: no blob contents are read."""
        tree = self._tree_at(commit, path)
        return {} if tree is None else {e.name: str(e.id) for e in tree if e.type_str == "blob"}

    def subtree_id(self, commit: str, path: str) -> str | None:
        """The id of the folder ``path`` at ``commit`` (None if absent): equal ids, equal folders."""
        try:
            entry = self.repo.get(commit).peel(pygit2.Tree)[path]
        except KeyError:
            return None
        return str(entry.id) if entry.type_str == "tree" else None

    def _tree(self, tree_id: str) -> pygit2.Tree:
        """A tree object; the last few are kept (walking a history diffs each folder version
        against the next, and libgit2 does not cache big trees)."""
        cache = self._recent_trees
        tree = cache.get(tree_id)
        if tree is None:
            if len(cache) >= 4:
                del cache[next(iter(cache))]
            tree = cache[tree_id] = self.repo.get(tree_id)
        return tree

    def dir_changes(self, old_tree: str | None, new_tree: str | None
                    ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """(added, deleted, modified): name -> blob id of the files directly in a folder that
        differ between two versions of it (tree ids from :meth:`subtree_id`; None: empty).

        libgit2 compares the two trees in C, so a folder of 10,000 files that gained one costs
        one sorted merge, not 10,000 Python objects.
        """
        added: dict[str, str] = {}
        deleted: dict[str, str] = {}
        modified: dict[str, str] = {}
        if old_tree == new_tree:
            return added, deleted, modified
        if new_tree is None:
            assert old_tree is not None
            diff = self._tree(old_tree).diff_to_tree(swap=False)
        elif old_tree is None:
            diff = self._tree(new_tree).diff_to_tree(swap=True)
        else:
            diff = self._tree(old_tree).diff_to_tree(self._tree(new_tree))
        blob_modes = (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE,
                      pygit2.enums.FileMode.LINK)
        status = pygit2.enums.DeltaStatus
        for delta in diff.deltas:
            old, new = delta.old_file, delta.new_file
            if delta.status != status.ADDED and "/" not in old.path and old.mode in blob_modes:
                was = str(old.id)
            else:
                was = None
            if delta.status != status.DELETED and "/" not in new.path and new.mode in blob_modes:
                now = str(new.id)
            else:
                now = None
            if was is not None and now is not None:
                modified[new.path] = now
            elif now is not None:
                added[new.path] = now
            elif was is not None:
                deleted[old.path] = was
        return added, deleted, modified

    def read_blob(self, blob_id: str) -> bytes:
        return self.repo.get(blob_id).data

    def read_file(self, commit: str, path: str) -> bytes | None:
        tree = self.repo.get(commit).peel(pygit2.Tree)
        try:
            entry = tree[path]
        except KeyError:
            return None
        obj = self.repo.get(entry.id)
        return obj.data if isinstance(obj, pygit2.Blob) else None

    # --- history --------------------------------------------------------------------------

    def commit_info(self, commit: str) -> CommitInfo:
        return _info(self.repo.get(commit))

    def parents(self, commit: str) -> tuple[str, ...]:
        return tuple(str(p) for p in self.repo.get(commit).parent_ids)

    def walk(self, commit: str, *, first_parent: bool = False) -> Iterator[CommitInfo]:
        walker = self.repo.walk(pygit2.Oid(hex=commit),
                                pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
        if first_parent:
            walker.simplify_first_parent()
        for commit_obj in walker:
            yield _info(commit_obj)

    def commits_between(self, new: str, hidden: Iterable[str]) -> list[str]:
        """Commits reachable from ``new`` and from none of ``hidden`` (ids this repository
        may not hold), parents first."""
        walker = self.repo.walk(pygit2.Oid(hex=new), pygit2.enums.SortMode.TOPOLOGICAL
                                | pygit2.enums.SortMode.REVERSE)
        for commit in hidden:
            if commit and self.has_object(commit):
                walker.hide(pygit2.Oid(hex=commit))
        return [str(c.id) for c in walker]

    def merge_base(self, a: str, b: str) -> str | None:
        base = self.repo.merge_base(pygit2.Oid(hex=a), pygit2.Oid(hex=b))
        return str(base) if base is not None else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return ancestor == descendant or self.repo.descendant_of(
            pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor))

    def ahead_behind(self, local: str, upstream: str) -> tuple[int, int]:
        return self.repo.ahead_behind(pygit2.Oid(hex=local), pygit2.Oid(hex=upstream))

    def changed_paths(self, old: str | None, new: str) -> list[str]:
        new_tree = self.repo.get(new).peel(pygit2.Tree)
        if old is None:
            diff = new_tree.diff_to_tree(swap=True)
        else:
            diff = self.repo.diff(self.repo.get(old).peel(pygit2.Tree), new_tree)
        return sorted({d.delta.new_file.path for d in diff} | {d.delta.old_file.path for d in diff})

    # --- merging --------------------------------------------------------------------------

    def file_merges_cleanly(self, base: str, ours: str, theirs: str, path: str) -> bool | None:
        """Whether git's text merge merges ``path`` of two commits from their base without a
        conflict, in memory (nothing is written to the object store). None: the same on both
        sides, nothing to merge; False also when one side deleted it."""
        b, o, t = (self._entry(c, path) for c in (base, ours, theirs))
        if o is not None and t is not None and (o.id, o.mode) == (t.id, t.mode):
            return None
        if o is None or t is None:
            return False
        return bool(self.repo.merge_file_from_index(b, o, t).automergeable)

    def _entry(self, commit: str, path: str) -> pygit2.IndexEntry | None:
        try:
            obj = self.repo.get(commit).peel(pygit2.Tree)[path]
        except KeyError:
            return None
        return pygit2.IndexEntry(path, obj.id, obj.filemode)

    def merge_index(self, ours: str, theirs: str) -> IndexView:
        """git's tree merge of two commits, in memory, to resolve and write a tree from."""
        return IndexView(self.repo, self.repo.merge_commits(pygit2.Oid(hex=ours),
                                                             pygit2.Oid(hex=theirs)))

    def staged_index(self, index_file: str | None = None) -> IndexView:
        """The index git commits: ``index_file`` when git named one (``commit -a``, paths),
        else the repository's, as on disk now."""
        if index_file:
            return IndexView(self.repo, pygit2.Index(os.path.abspath(index_file)))
        index = self.repo.index
        index.read()
        return IndexView(self.repo, index)

    def merge_in_progress(self) -> list[str] | None:
        """The commits a merge plain git left in progress is merging (empty: some other
        operation is in progress); None when there is none."""
        if self.repo.state() == pygit2.enums.RepositoryState.NONE:
            return None
        return [str(c) for c in self.repo.listall_mergeheads()]

    def reset_paths(self, paths: list[str]) -> None:
        """Put ``paths`` back to HEAD in the work tree and index, and clear git's merge
        state (``git merge --abort`` for those paths)."""
        if paths:
            self.repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE,
                                    paths=sorted(paths))
        self.repo.state_cleanup()

    # --- configuration and hooks ------------------------------------------------------------

    @property
    def hooks_dir(self) -> Path:
        return self.gitdir / "hooks"

    def config_get(self, key: str) -> str | None:
        try:
            return str(self.repo.config[key])
        except KeyError:
            return None

    def config_set(self, key: str, value: str) -> None:
        self.repo.config[key] = value

    # --- writing --------------------------------------------------------------------------

    def dangling_commit(self, tree: str, parents: list[str], message: str) -> str:
        """A commit object no ref names (what is about to be committed, for checks)."""
        sig = pygit2.Signature("cinch check", "check@localhost", 0, 0)
        return str(self.repo.create_commit(None, sig, sig, message, pygit2.Oid(hex=tree),
                                           [pygit2.Oid(hex=p) for p in parents]))

    def _signature(self, author: tuple[str, str]) -> pygit2.Signature:
        return pygit2.Signature(author[0], author[1] or "unknown@localhost")

    def build_tree(self, base_commit: str | None, files: dict[str, bytes | None]) -> str:
        """A tree: ``base_commit``'s with ``files`` written (None deletes)."""
        index = pygit2.Index()
        if base_commit is not None:
            index.read_tree(self.repo.get(base_commit).peel(pygit2.Tree))
        for path, data in files.items():
            if data is None:
                if path in index:
                    index.remove(path)
            else:
                blob = self.repo.create_blob(data)
                index.add(pygit2.IndexEntry(path, blob, pygit2.enums.FileMode.BLOB))
        return str(index.write_tree(self.repo))

    def commit(self, branch: str, files: dict[str, bytes | None], message: str,
               author: tuple[str, str], *, parents: list[str] | None = None,
               tree: str | None = None) -> str:
        """Commit ``files`` on ``branch``; the branch's tip is the first parent."""
        tip = self.branch_tip(branch)
        tree_id = tree or self.build_tree(tip, files)
        parent_ids = parents if parents is not None else ([tip] if tip else [])
        sig = self._signature(author)
        oid = self.repo.create_commit(None, sig, sig, message, pygit2.Oid(hex=tree_id),
                                      [pygit2.Oid(hex=p) for p in parent_ids])
        self.set_branch(branch, str(oid), expected=tip)
        if self._checked_out(branch):
            self.sync_workdir(tip, str(oid))
        return str(oid)

    def _checked_out(self, branch: str) -> bool:
        return (not self.repo.head_is_unborn and not self.repo.head_is_detached
                and self.current_branch() == branch) or (
            self.repo.head_is_unborn and
            str(self.repo.lookup_reference("HEAD").target) == f"refs/heads/{branch}")

    def sync_workdir(self, old: str | None, new: str) -> None:
        """Bring the work tree and index to ``new`` for the paths that differ from ``old``.

        Only those paths are touched, so the user's unrelated edits stay as they are.
        """
        paths = self.changed_paths(old, new)
        if not paths:
            return
        index = self.repo.index
        index.read()
        tree = self.repo.get(new).peel(pygit2.Tree)
        for path in paths:
            target = self.workdir / path
            try:
                entry = tree[path]
            except KeyError:
                entry = None
            if entry is None:
                if target.exists():
                    target.unlink()
                if path in index:
                    index.remove(path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.cinch-tmp")
            tmp.write_bytes(self.repo.get(entry.id).data)
            os.replace(tmp, target)
            index.add(path)
        index.write()

    def checkout(self, branch: str) -> None:
        """Switch HEAD to ``branch`` and update the work tree (safe: refuses to clobber edits)."""
        ref = f"refs/heads/{branch}"
        try:
            self.repo.checkout(ref, strategy=pygit2.enums.CheckoutStrategy.SAFE)
        except pygit2.GitError as exc:
            raise BranchError(
                f"cannot switch to {branch}: {exc}; commit or discard local edits first",
                branch=branch) from exc

    def dirty_paths(self) -> list[str]:
        """Paths with uncommitted changes (ignored files excluded)."""
        return sorted(p for p, flags in self.repo.status().items()
                      if flags not in (pygit2.enums.FileStatus.IGNORED,
                                       pygit2.enums.FileStatus.CURRENT))

    def config_identity(self) -> tuple[str, str] | None:
        try:
            cfg = self.repo.config
            email = cfg["user.email"] if "user.email" in cfg else ""  # noqa: SIM401
            return cfg["user.name"], email
        except (KeyError, pygit2.GitError):
            return None

    # === remotes and tags (cinch push / pull / clone / tag) ==================================
    # A separate section: everything below talks to other repositories through libgit2 (local
    # paths, file://, https://, ssh:// through the user's agent), so no git binary is needed.

    @classmethod
    def clone(cls, url: str, path: Path) -> GitStore:
        """Clone ``url`` into ``path`` and check out its default branch (see _adopt_branch)."""
        try:
            repo = pygit2.clone_repository(url, str(path), callbacks=cls._callbacks())
        except (pygit2.GitError, ValueError, KeyError) as exc:
            raise GitError(f"cannot clone {url}: {exc}", url=url) from exc
        store = cls(repo)
        if repo.head_is_unborn:
            store._adopt_branch("origin")
        return store

    def _adopt_branch(self, remote: str) -> str:
        """Check out a branch when the remote's HEAD names a branch it lacks.

        A bare repository made by ``git init --bare`` points HEAD at ``master`` even when only
        ``main`` was pushed to it; git then clones nothing checked out. cinch picks the branch
        HEAD names if there, else ``main``, else the first branch.
        """
        names = self.remote_branches(remote)
        if not names:
            raise GitError("the cloned repository has no branches: nothing to check out")
        head = str(self.repo.lookup_reference("HEAD").target).removeprefix("refs/heads/")
        branch = head if head in names else "main" if "main" in names else names[0]
        local = self.repo.branches.local.create(branch, self.repo.get(self.remote_tip(remote,
                                                                                      branch)))
        local.upstream = self.repo.branches.remote[f"{remote}/{branch}"]
        self.repo.set_head(f"refs/heads/{branch}")
        self.repo.checkout(f"refs/heads/{branch}", strategy=pygit2.enums.CheckoutStrategy.FORCE)
        return branch

    @staticmethod
    def _callbacks(rejected: list[tuple[str, str]] | None = None) -> pygit2.RemoteCallbacks:
        """Credentials from the ssh agent (once: libgit2 retries forever), and push refusals."""

        class Callbacks(pygit2.RemoteCallbacks):
            tried = False

            def credentials(self, url: str, username_from_url: str | None,
                            allowed_types: pygit2.enums.CredentialType) -> object:
                if allowed_types & pygit2.enums.CredentialType.SSH_KEY and not self.tried:
                    self.tried = True
                    return pygit2.KeypairFromAgent(username_from_url or "git")
                raise GitError(f"{url} asks for credentials cinch does not have",
                               hint="use a local path, an https URL that needs none, or ssh "
                                    "with a key loaded in ssh-agent")

            def push_update_reference(self, refname: str, message: str | None) -> None:
                if message and rejected is not None:
                    rejected.append((refname, message))

        return Callbacks()

    def _remote(self, name: str) -> pygit2.Remote:
        try:
            return self.repo.remotes[name]
        except (KeyError, ValueError, pygit2.GitError):
            from cinch.errors import NotFound  # local: keeps this section self-contained

            raise NotFound(f"no remote named {name!r}", hint="cinch remote add NAME URL",
                           remote=name) from None

    def remotes(self) -> list[tuple[str, str]]:
        """(name, url) of every remote, sorted by name."""
        return sorted((r.name, r.url) for r in self.repo.remotes)

    def add_remote(self, name: str, url: str) -> None:
        if name in set(self.repo.remotes.names()):
            raise BranchError(f"remote {name!r} already exists", remote=name)
        try:
            self.repo.remotes.create(name, url)
        except (ValueError, pygit2.GitError) as exc:
            raise GitError(f"cannot add remote {name!r}: {exc}", remote=name) from exc

    def remove_remote(self, name: str) -> None:
        self._remote(name)
        self.repo.remotes.delete(name)

    def fetch(self, remote: str) -> None:
        """Update ``refs/remotes/<remote>/*`` (and tags) from the remote."""
        try:
            self._remote(remote).fetch(callbacks=self._callbacks())
        except pygit2.GitError as exc:
            raise GitError(f"cannot fetch from {remote}: {exc}", remote=remote) from exc

    def remote_branches(self, remote: str) -> list[str]:
        prefix = f"refs/remotes/{remote}/"
        return sorted(r.removeprefix(prefix) for r in self.repo.references
                      if r.startswith(prefix) and r != f"{prefix}HEAD")

    def remote_tip(self, remote: str, branch: str) -> str | None:
        """The remote's branch tip as last fetched (``refs/remotes/<remote>/<branch>``)."""
        ref = self.repo.references.get(f"refs/remotes/{remote}/{branch}")
        return str(ref.peel(pygit2.Commit).id) if ref is not None else None

    def push(self, remote: str, refspecs: list[str]) -> None:
        """Push ``refspecs``; a ref the remote refuses raises with the remote's reason."""
        rejected: list[tuple[str, str]] = []
        try:
            self._remote(remote).push(refspecs, callbacks=self._callbacks(rejected))
        except pygit2.GitError as exc:
            raise GitError(f"push to {remote} failed: {exc}", remote=remote) from exc
        if rejected:
            ref, reason = rejected[0]
            raise GitError(f"{remote} refused {ref}: {reason}", remote=remote, ref=ref)

    def set_upstream(self, branch: str, remote: str) -> None:
        """Record ``remote/branch`` as the branch's upstream if it has none (git push -u)."""
        local = self.repo.branches.local.get(branch)
        tracking = self.repo.branches.remote.get(f"{remote}/{branch}")
        if local is not None and tracking is not None and local.upstream is None:
            local.upstream = tracking

    def fast_forward(self, branch: str, commit: str, *, expected: str | None) -> None:
        """Move ``branch`` forward to ``commit``; the work tree follows if it is checked out."""
        self.set_branch(branch, commit, expected=expected)
        if self._checked_out(branch):
            self.sync_workdir(expected, commit)

    def tag_info(self, name: str) -> tuple[str, str | None]:
        """(commit, message) of a tag; the message is None for a lightweight tag."""
        ref = self.repo.references.get(f"refs/tags/{name}")
        if ref is None:
            from cinch.errors import NotFound  # local: keeps this section self-contained

            raise NotFound(f"no tag named {name!r}", tag=name)
        target = self.repo.get(ref.target)
        message = target.message.rstrip("\n") if isinstance(target, pygit2.Tag) else None
        return str(ref.peel(pygit2.Commit).id), message

    def delete_tag(self, name: str) -> None:
        self.tag_info(name)
        self.repo.references.delete(f"refs/tags/{name}")


# What says a file is as it was: (inode, size, mtime, ctime), as git and libgit2 judge theirs;
# None: no such file.
_Stamp = tuple[int, int, int, int] | None
# File times are coarse (a clock tick): a file changed this recently may change again without
# its stamp changing, so what was read from it is trusted only once it is older than this.
_RACY_NS = 2_000_000_000


def _stamp(path: str) -> _Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read_ref_file(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


def _commit_id(data: bytes | None) -> str | None:
    """The id a loose ref file holds (SHA-1 or SHA-256, one line), else None."""
    if data is None or len(data) not in (41, 65) or data[-1:] != b"\n":
        return None
    text = data[:-1].decode("ascii", "replace")
    return text if _HEX.issuperset(text) else None


def _symbolic_branch(data: bytes | None) -> str | None:
    """The branch a HEAD file names (``ref: refs/heads/<branch>``), else None."""
    if data is None or not data.startswith(b"ref: refs/heads/") or not data.endswith(b"\n"):
        return None
    name = data[len(b"ref: refs/heads/"):-1]
    if not name or any(c <= 32 or c == 127 for c in name):
        return None
    try:
        return name.decode()
    except UnicodeDecodeError:
        return None


_HEX = frozenset("0123456789abcdef")


def _settled(stamp: _Stamp, now_ns: int) -> bool:
    return stamp is None or now_ns - max(stamp[2], stamp[3]) > _RACY_NS


class TipWatch:
    """Branch tips and the checked-out branch, read through libgit2 and kept while the files
    libgit2 read them from are unchanged: a ``stat`` instead of libgit2's several system
    calls, for a caller that asks on every request (the HTTP server).

    Only in git's plain layout (not a linked worktree, whose refs live elsewhere, nor
    reftable); otherwise every question goes to libgit2.
    """

    def __init__(self, git: GitStore) -> None:
        self._git = git
        gitdir = git.gitdir
        self._head_file = str(gitdir / "HEAD")
        plain = ((gitdir / "refs" / "heads").is_dir() and not (gitdir / "commondir").exists()
                 and not (gitdir / "reftable").exists())
        self._refs = str(gitdir / "refs" / "heads") + os.sep if plain else None
        self._packed_refs = str(gitdir / "packed-refs")
        # branch -> (stamp of its loose ref, stamp of packed-refs, tip)
        self._tips: dict[str, tuple[_Stamp, _Stamp, str | None]] = {}
        self._head: tuple[_Stamp, str] | None = None

    def current_branch(self) -> str:
        """The checked-out branch, read again only when HEAD changes (a switch)."""
        stamp = _stamp(self._head_file)
        head = self._head
        if head is not None and head[0] == stamp:
            return head[1]
        branch = _symbolic_branch(_read_ref_file(self._head_file)) if self._refs else None
        if branch is None:
            branch = self._git.current_branch()
        self._head = (stamp, branch) if _settled(stamp, time.time_ns()) else None
        return branch

    def tip(self, branch: str) -> str | None:
        """:meth:`GitStore.branch_tip`, kept while the branch's ref is unchanged."""
        if self._refs is None:
            return self._git.branch_tip(branch)
        loose = _stamp(self._refs + branch)
        packed = None if loose is not None else _stamp(self._packed_refs)  # loose ones win
        cached = self._tips.get(branch)
        if cached is not None and cached[0] == loose and cached[1] == packed:
            return cached[2]
        # Read after the stamps: a change in between shows as a changed stamp next time. A
        # loose ref holding a commit id is read as git reads it, in three system calls (a
        # ref just moved is read every time until it settles: a script writing to every
        # tenant right after a change asks once per tenant); anything else goes to libgit2.
        tip = _commit_id(_read_ref_file(self._refs + branch)) if loose is not None else None
        if tip is None:
            tip = self._git.branch_tip(branch)
        now = time.time_ns()
        if (_settled(loose, now) and _settled(packed, now)
                and (tip is None or not tip.startswith("refs/"))):  # not a symbolic ref
            if len(self._tips) > 4096:
                self._tips.clear()
            self._tips[branch] = (loose, packed, tip)
        return tip


def now_utc() -> datetime:
    return datetime.now(UTC)
