"""The synced mark of a branch's tenants in one database: the head every tenant was last brought
to, as ``<commit> <branch>`` in ``.cinch/synced/<db>/<branch key>`` (the branch kept beside the
commit: two branch names can share a key). Written whole (a temporary file, then renamed);
absent while tenants are moving. Read and written by the engine and by the git hooks' quick
answers, without loading the engine."""

from __future__ import annotations

import os
from pathlib import Path


def path(state_dir: Path, db: str, key: str) -> Path:
    return state_dir / "synced" / db / key


def read(mark: Path, branch: str) -> str | None:
    """The commit the mark names for ``branch``; None without one (or for another branch)."""
    try:
        text = mark.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    commit, _, owner = text.partition(" ")
    return commit if owner == branch else None


def write(mark: Path, commit: str | None, branch: str) -> None:
    """Mark ``commit`` for ``branch``; None removes the mark."""
    if commit is None:
        mark.unlink(missing_ok=True)
        return
    mark.parent.mkdir(parents=True, exist_ok=True)
    tmp = mark.with_name(f".{mark.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{commit} {branch}")
    os.replace(tmp, mark)
