"""The checked-out branch and its tip read from git's own files, without loading libgit2.

For the commands that answer from what is already on disk (``cinch status``, ``cinch table
list``): loading pygit2 cost more than the rest of such a command. Only git's plain layout is
read here: a ``HEAD`` naming a branch, loose refs and ``packed-refs``, a linked worktree's
``gitdir:`` file and ``commondir``. Anything else (a detached or unborn HEAD, a symbolic
branch ref, the reftable format, a file that does not read as expected) answers None, and the
caller asks :class:`cinch.stores.gitstore.GitStore`, which reads through libgit2.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from pathlib import Path

_OID = re.compile(rb"[0-9a-f]{40}")


class GitFiles:
    """git's files of the work tree at ``root`` (the folder holding ``.git``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.gitdir = self._find_gitdir()
        self.common = self._find_common() if self.gitdir is not None else None

    def _find_gitdir(self) -> Path | None:
        dot_git = self.root / ".git"
        if dot_git.is_dir():
            return dot_git
        try:  # a linked worktree (or a submodule): "gitdir: <path>"
            text = dot_git.read_bytes()
        except OSError:
            return None
        if not text.startswith(b"gitdir: "):
            return None
        target = Path(os.fsdecode(text[len(b"gitdir: "):].strip()))
        gitdir = target if target.is_absolute() else self.root / target
        return gitdir if gitdir.is_dir() else None

    def _find_common(self) -> Path | None:
        assert self.gitdir is not None
        try:
            shared = (self.gitdir / "commondir").read_bytes().strip()
        except FileNotFoundError:
            common = self.gitdir
        except OSError:
            return None
        else:
            path = Path(os.fsdecode(shared))
            common = path if path.is_absolute() else self.gitdir / path
        if (common / "reftable").exists() or not (common / "refs").is_dir():
            return None  # refs this module does not read
        try:
            config = (common / "config").read_bytes().lower()
        except OSError:
            return None
        if b"objectformat" in config or b"refstorage" in config:
            return None  # SHA-256 ids, or refs kept elsewhere
        return common

    def head_branch(self) -> str | None:
        """The branch HEAD names (``main``); None when HEAD is anything else."""
        if self.common is None:
            return None
        assert self.gitdir is not None
        try:
            head = (self.gitdir / "HEAD").read_bytes()
        except OSError:
            return None
        if not head.startswith(b"ref: refs/heads/") or not head.endswith(b"\n") \
                or head.count(b"\n") != 1:
            return None
        name = head[len(b"ref: refs/heads/"):-1]
        try:
            return name.decode() if name and not name.endswith(b"/") else None
        except UnicodeDecodeError:
            return None

    def branch_tip(self, branch: str) -> str | None:
        """The commit ``refs/heads/<branch>`` points at; None when the branch has no loose or
        packed ref naming a commit id (unborn, symbolic, or unreadable)."""
        if self.common is None or "\\" in branch or ".." in branch:
            return None
        refname = f"refs/heads/{branch}"
        try:
            loose = (self.common / refname).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return self._packed(refname.encode())
        except OSError:
            return None
        if len(loose) == 41 and loose.endswith(b"\n") and _OID.fullmatch(loose[:40]):
            return loose[:40].decode()
        return None

    def _packed(self, refname: bytes) -> str | None:
        try:
            packed = (self.common / "packed-refs").read_bytes()  # type: ignore[operator]
        except OSError:
            return None
        for line in packed.split(b"\n"):
            oid, _, name = line.partition(b" ")
            if name == refname:
                return oid.decode() if _OID.fullmatch(oid) else None
        return None

    # --- configuration ----------------------------------------------------------------------

    @property
    def hooks_dir(self) -> Path | None:
        """Where git runs this work tree's hooks from (as :attr:`GitStore.hooks_dir`); None
        when the configuration may say otherwise (``core.hooksPath``)."""
        text = self._config_text()
        if text is None or b"hookspath" in text.lower():
            return None
        assert self.gitdir is not None
        return self.gitdir / "hooks"

    def _config_text(self) -> bytes | None:
        """The repository's own config file, when it is the last word on what it holds: no
        includes, no per-worktree config."""
        if self.common is None:
            return None
        assert self.gitdir is not None
        if (self.gitdir / "config.worktree").exists():
            return None
        try:
            text = (self.common / "config").read_bytes()
        except OSError:
            return None
        return None if b"[include" in text.lower() else text

    def config_value(self, section: str, subsection: str, key: str) -> str | None:
        """``section.subsection.key`` as the repository's config file sets it (the last value
        wins); None when that file does not set it plainly (unquoted, on one line), which
        leaves the answer to the user's and the system's config, read by libgit2."""
        text = self._config_text()
        if text is None:
            return None
        header = f'[{section} "{subsection}"]'.encode()
        found = None
        inside = False
        for raw in text.split(b"\n"):
            line = raw.strip()
            if line.startswith(b"["):
                inside = line.lower() == header.lower() and line[len(section) + 2:] \
                    == header[len(section) + 2:]
                continue
            name, eq, value = line.partition(b"=")
            if inside and name.strip().lower() == key.lower().encode():
                found = _config_value(value) if eq else None
                if found is None:
                    return None
        return found


_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}


def _config_value(raw: bytes) -> str | None:
    """A config value as git reads it: quotes removed, escapes undone, a comment cut off;
    None for what this does not read (a continued line, an unknown escape)."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    out: list[str] = []
    quoted = False
    kept = 0  # length of ``out`` up to its last quoted or non-blank character
    chars = iter(text.strip())
    for char in chars:
        if char == '"':
            quoted = not quoted
        elif char == "\\":
            escaped = _ESCAPES.get(next(chars, ""))
            if escaped is None:
                return None
            out.append(escaped)
        elif char in ";#" and not quoted:
            break
        else:
            out.append(char)
            if not quoted and char.isspace():
                continue
        kept = len(out)
    return None if quoted else "".join(out[:kept])


# --- the work tree against the index ---------------------------------------------------------

_ENTRY = struct.Struct(">10I20sH")  # ctime s, ns, mtime s, ns, dev, ino, mode, uid, gid, size
_REGULAR = (0o100644, 0o100755)
_SYMLINK = 0o120000


def index_checksum(files: GitFiles) -> str | None:
    """The checksum git ends its index file with (it changes with any change to the index);
    None when there is no index this module reads."""
    read = _read_index(files)
    return read[1] if read is not None else None


def _read_index(files: GitFiles) -> tuple[bytes, str, int] | None:
    """(the index file, its checksum, its mtime in ns)."""
    if files.gitdir is None or files.common is None:
        return None
    try:
        with open(files.gitdir / "index", "rb") as fh:
            stamp = os.fstat(fh.fileno()).st_mtime_ns
            data = fh.read()
    except OSError:
        return None
    if len(data) < 32:
        return None
    # git replaces the index whole (index.lock, then a rename), so its last 20 bytes, the
    # SHA-1 of the rest, name this content: compared, never recomputed (hashlib is slow to
    # import, and the answer is only trusted if it equals what libgit2 was shown).
    return data, data[-20:].hex(), stamp


def clean_work_tree(files: GitFiles, checksum: str) -> bool:
    """Whether the work tree is exactly as the index ``checksum`` (found equal to the head's
    tree by libgit2) records it: every tracked file unchanged, nothing untracked but what the
    top ``.gitignore`` plainly ignores. False means "not proven": libgit2 must say.

    A file whose ``lstat`` is not the one the index recorded, or that changed too close to the
    index's own writing to tell (git's "racily clean" case), is read and hashed as git hashes
    it, as ``git status`` does.
    """
    read = _read_index(files)
    if read is None or read[1] != checksum:
        return False
    data, _, index_mtime = read
    entries = _entries(data)
    if entries is None:
        return False
    tracked: set[str] = set()
    folders: set[str] = {""}
    for path, mode, size, mtime_ns, ino, oid in entries:
        if not _unchanged(files.root / path, mode, size, mtime_ns, ino, oid, index_mtime):
            return False
        tracked.add(path)
        parts = path.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return _nothing_untracked(files.root, tracked, folders)


def _entries(data: bytes) -> list[tuple[str, int, int, int, int, bytes]] | None:
    """(path, mode, size, mtime ns, inode, blob id) of each entry of an index of version 2 or
    3 with only merged, plain entries; None for anything else (conflicts, sparse or split
    indexes, intent-to-add or skip-worktree entries, version 4's compressed paths)."""
    if data[:4] != b"DIRC":
        return None
    version, count = struct.unpack_from(">II", data, 4)
    if version not in (2, 3):
        return None
    pos, out = 12, []
    for _ in range(count):
        if pos + _ENTRY.size > len(data):
            return None
        (_, _, m_s, m_ns, _, ino, mode, _, _, size, oid, flags) = _ENTRY.unpack_from(data, pos)
        pos += _ENTRY.size
        if flags & 0xF000:  # assume-valid, extended flags, or a conflict stage
            return None
        end = data.find(b"\0", pos)
        if end < 0:
            return None
        try:
            path = data[pos:end].decode()
        except UnicodeDecodeError:
            return None
        pos = 12 + ((end - 12 + 8) // 8) * 8  # entries are padded with NULs to 8 bytes
        out.append((path, mode, size, m_s * 1_000_000_000 + m_ns, ino, oid))
    # Extensions: caches git may drop at will, except a split or sparse index's.
    while pos + 8 <= len(data) - 20:
        name, length = data[pos:pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
        if name in (b"link", b"sdir"):
            return None
        pos += 8 + length
    return out


def _unchanged(path: Path, mode: int, size: int, mtime_ns: int, ino: int, oid: bytes,
               index_mtime: int) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if mode in _REGULAR:
        if not stat.S_ISREG(st.st_mode) or bool(st.st_mode & 0o100) != (mode == 0o100755):
            return False
    elif mode != _SYMLINK or not stat.S_ISLNK(st.st_mode):
        return False  # a submodule, or the kind of file changed
    if (st.st_size & 0xFFFFFFFF == size and st.st_mtime_ns == mtime_ns
            and st.st_ino & 0xFFFFFFFF == ino and mtime_ns < index_mtime):
        return True
    try:  # git's blob id of what is there now
        content = (os.fsencode(os.readlink(path)) if mode == _SYMLINK
                   else path.read_bytes())
    except OSError:
        return False
    import hashlib  # only here: a file that may have changed since the index was written

    blob = hashlib.sha1(b"blob %d\0" % len(content))
    blob.update(content)
    return blob.digest() == oid


def _ignored_names(root: Path) -> tuple[set[str], set[str]] | None:
    """(names ignored anywhere, names ignored at the top) that the top ``.gitignore`` lists
    plainly, each a folder's or a file's; None when it negates a pattern (``!``), which only
    libgit2 should weigh."""
    try:
        text = (root / ".gitignore").read_text()
    except FileNotFoundError:
        return set(), set()
    except (OSError, UnicodeDecodeError):
        return None
    anywhere: set[str] = set()
    top: set[str] = set()
    for line in text.splitlines():
        if line.startswith("!"):
            return None
        if not line or line.startswith("#") or line != line.strip() \
                or any(c in line for c in "*?[\\"):
            continue
        name = line.strip("/")
        if not name or "/" in name:
            continue
        (top if line.startswith("/") else anywhere).add(name)
    return anywhere, top


def _nothing_untracked(root: Path, tracked: set[str], folders: set[str]) -> bool:
    ignored = _ignored_names(root)
    if ignored is None:
        return False
    anywhere, top = ignored
    stack = [""]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(root / folder if folder else root))
        except OSError:
            return False
        for entry in entries:
            rel = f"{folder}/{entry.name}" if folder else entry.name
            if rel == ".git" or rel in tracked:
                continue
            if folder and entry.name == ".gitignore":
                return False  # a lower .gitignore: libgit2 weighs it
            if entry.is_dir(follow_symlinks=False) and rel in folders:
                stack.append(rel)
            elif entry.name in anywhere or (not folder and entry.name in top):
                continue  # ignored (with all it holds)
            else:
                return False  # untracked, or ignored by a rule only libgit2 reads
    return True
