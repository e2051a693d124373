"""Tenants adopted in place: the file stays where its owner keeps it, and the tenant folder
holds a symbolic link to it (``<tenant>.db``) and a note beside the link (``<tenant>.link.json``)
saying what cinch adopted: the file's path, the change sets it holds and its schema
fingerprint at adoption.

Adoption writes nothing into the file. Until a change set is applied to it, the file has no
ledger of its own: the note stands in for it (:func:`seed`), and the first change set applied
writes the ledger from the note in the same transaction as its statements, so the file moves
all or nothing like any tenant. cinch never switches such a file to WAL (its owner's programs
may rely on the journal mode they chose) and never deletes it: deleting the tenant removes the
link and the note only.

A symbolic link (rather than a path kept only in a registry) lets every part of cinch that
lists, opens, moves or forks tenants see the file with no special case, and SQLite follows the
link to place its journal beside the real file, where the owner's programs look for it. The
note is what makes the link trusted: the tenant store follows a link out of the tenant folder
only when its note names that same file.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from dataclasses import dataclass

SUFFIX = ".link.json"


@dataclass(frozen=True)
class Seed:
    """What an in-place tenant held when it was adopted."""

    target: str
    changes: tuple[tuple[str, str], ...]  # (change id, commit id), in order
    bodies: tuple[tuple[str, bytes], ...]  # (change id, the change set's document)
    fingerprint: str

    def to_json(self) -> bytes:
        return json.dumps({
            "target": self.target, "changes": [list(c) for c in self.changes],
            "bodies": {cid: body.decode() for cid, body in self.bodies},
            "fingerprint": self.fingerprint}, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Seed:
        doc = json.loads(data)
        return cls(target=doc["target"], changes=tuple((c, k) for c, k in doc["changes"]),
                   bodies=tuple((c, b.encode()) for c, b in doc["bodies"].items()),
                   fingerprint=doc["fingerprint"])


# Every in-place file this process has resolved, by its real path: the ledger reads its seed
# there, and connections to it keep its journal mode.
_KNOWN: dict[str, Seed] = {}
_LOCK = threading.Lock()


def note_path(link: str | os.PathLike[str]) -> str:
    path = os.fspath(link)
    return (path[:-3] if path.endswith(".db") else path) + SUFFIX


def read(link: str | os.PathLike[str]) -> Seed | None:
    """The note of a link (None if it has none or it cannot be read: then it is not trusted)."""
    try:
        with open(note_path(link), "rb") as f:
            return Seed.from_json(f.read())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(seed: Seed) -> None:
    with _LOCK:
        _KNOWN[os.path.realpath(seed.target)] = seed


def seed(path: str | os.PathLike[str]) -> Seed | None:
    """The seed of the in-place file at ``path`` (its real path), if it is one."""
    return _KNOWN.get(os.fspath(path)) if _KNOWN else None


def create(link: str, seed_: Seed, *, durable: bool = True) -> None:
    """Write the note, then the link (each appears whole: a temporary name, then renamed). A
    crash in between leaves a note without a link, which nothing reads. Refuses an existing
    tenant name (FileExistsError)."""
    if os.path.lexists(link):
        raise FileExistsError(link)
    folder = os.path.dirname(link)
    tmp = os.path.join(folder, f".{os.path.basename(link)}.{uuid.uuid4().hex[:12]}.tmp")
    with open(tmp, "wb") as f:
        f.write(seed_.to_json())
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, note_path(link))
    os.symlink(seed_.target, tmp)
    try:
        os.rename(tmp, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    remember(seed_)


def remove(link: str) -> None:
    """The link first, then its note: the file it points to is never touched."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(link)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(note_path(link))


def move(old: str, new: str) -> None:
    """Rename a link and its note (the file stays where it is)."""
    if os.path.lexists(new):
        raise FileExistsError(new)
    os.replace(note_path(old), note_path(new))
    os.rename(old, new)


def is_link(path: str) -> bool:
    return os.path.islink(path) and os.path.exists(note_path(path))
