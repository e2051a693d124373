"""What a killed process leaves among the local files, and putting it right.

Kept apart from the tenant store (and light to import): a project runs :func:`recover` and
:func:`sweep_templates` each time it is opened.

- A batch of new tenant files (``TenantStore.create_many_from_template``) is recorded under
  ``<tenants>/.batches/`` before its first file appears and forgotten after its last; a record
  whose process died names files of an unfinished batch, which are removed (all or none).
- A template is built as ``template.<pid>.tmp`` and renamed into place; one whose process
  died or failed is removed.
- A tenant file is written as ``.<tenant>.<random>.tmp`` beside its final name and renamed
  into place; the name says nothing of its process, so one left for an hour is taken for a
  crash's and removed (:func:`sweep_temp_tenants`, at most once an hour: it lists every
  tenant folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from pathlib import Path

_TMP_SUFFIX = ".tmp"
_SIDECARS = ("-wal", "-shm", "-journal")


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


_INTENTS = ".batches"  # under the store root; a dot: never taken for a database


def record_intent(root: Path, dests: list[str], durable: bool) -> str:
    """Write down a batch of files about to be created (whose process, and which paths)."""
    folder = root / _INTENTS
    folder.mkdir(parents=True, exist_ok=True)
    path = str(folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}.json")
    tmp = path + _TMP_SUFFIX
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"pid": os.getpid(), "paths": dests}, fh)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(root: str | os.PathLike[str]) -> int:
    """Undo the batches of tenant files (``create_many_from_template``) whose process died
    before finishing them; returns how many files were removed. Safe to run at any time:
    a batch still being written by a live process is left alone."""
    folder = Path(root) / _INTENTS
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    prefix = os.path.realpath(root) + os.sep
    removed = 0
    for entry in entries:
        if not entry.name.endswith(".json"):
            if entry.name.endswith(_TMP_SUFFIX) and not _alive(_pid_of(entry.name)):
                _unlink_quietly(entry.path)
            continue
        try:
            data = json.loads(Path(entry.path).read_text(encoding="utf-8"))
            pid, paths = int(data["pid"]), [str(p) for p in data["paths"]]
        except (OSError, ValueError, KeyError, TypeError):
            _unlink_quietly(entry.path)
            continue
        if _alive(pid):
            continue
        for path in paths:
            if os.path.realpath(path).startswith(prefix):  # never outside the store
                for extra in _SIDECARS:
                    _unlink_quietly(path + extra)
                if os.path.lexists(path):
                    _unlink_quietly(path)
                    removed += 1
        _unlink_quietly(entry.path)
    return removed


def _pid_of(name: str) -> int:
    try:
        return int(name.split("-", 1)[0])
    except ValueError:
        return 0


_TEMPLATE_TMP = re.compile(r"template\.(\d+)\.tmp(-wal|-shm|-journal)?")


def sweep_templates(folder: str | os.PathLike[str]) -> int:
    """Remove the temporary templates (``template.<pid>.tmp``) of processes that died or
    failed; returns how many files were removed."""
    removed = 0
    try:
        databases = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for db in databases:
        if not db.is_dir():
            continue
        for branch in os.scandir(db.path):
            if not branch.is_dir():
                continue
            for entry in os.scandir(branch.path):
                match = _TEMPLATE_TMP.fullmatch(entry.name)
                if match and not _alive(int(match.group(1))):
                    _unlink_quietly(entry.path)
                    removed += 1
    return removed


SWEEP_AGE = 3600.0  # seconds: a temporary tenant file this old has no live writer
_SWEPT = ".tenants-swept"  # touched each time the tenant folders are swept


def sweep_temp_files(folder: str | os.PathLike[str], older_than: float = SWEEP_AGE) -> int:
    """Remove the temporary tenant files (``.<tenant>.<random>.tmp`` and their sidecars) of
    one folder that are older than ``older_than`` seconds; returns how many."""
    limit = time.time() - older_than
    removed = 0
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    with entries:
        for entry in entries:
            name = entry.name
            if not name.startswith(".") or _TMP_SUFFIX not in name:
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.stat(follow_symlinks=False).st_mtime < limit:
                    os.unlink(entry.path)
                    removed += 1
    return removed


def sweep_temp_tenants(root: str | os.PathLike[str], older_than: float = SWEEP_AGE,
                       every: float = SWEEP_AGE) -> int:
    """:func:`sweep_temp_files` in every database and branch folder under ``root``, unless
    that was done less than ``every`` seconds ago; returns how many files were removed."""
    # Beside the tenant folder, not in it: written at the project's first open, before any
    # tenant exists, so later opens add no file.
    stamp = Path(root).parent / _SWEPT
    try:
        if time.time() - stamp.stat().st_mtime < every:
            return 0
    except FileNotFoundError:
        pass
    if not Path(root).is_dir():
        stamp.touch()
        return 0
    removed = 0
    for db in os.scandir(root):
        if db.is_dir(follow_symlinks=False) and not db.name.startswith("."):
            for branch in os.scandir(db.path):
                if branch.is_dir(follow_symlinks=False):
                    removed += sweep_temp_files(branch.path, older_than)
    stamp.touch()
    return removed
