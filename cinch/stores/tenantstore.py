"""The tenant store: one SQLite file per (database, branch, tenant), and the files' lifecycle.

Layout: ``<root>/<database>/<branch-key>/<tenant>.db`` with ``root = <project>/.cinch/tenants``.
This layer knows nothing about git or change-set models: it moves files and runs plain SQL
strings. New files are written under a temporary name in the same folder and linked into place,
so a crash never leaves a half-written file under a tenant's name, and creating never clobbers
an existing tenant.

This module is also the store's public face: it re-exports connections, the ledger and guarded
queries (``from cinch.stores import tenantstore as ts``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import sqlite3
import stat
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cinch.errors import AlreadyExists, InvalidName, NotFound, TenantError, UsageError
from cinch.names import check_branch_name, check_name, check_tenant_name
from cinch.stores import links
from cinch.stores.ledger import (
    Known,
    LedgerRow,
    apply_change,
    change_bodies,
    data_version,
    drift,
    dry_run,
    ensure_ledger,
    has_change,
    holds_ledger,
    ledger_digest,
    read_ledger,
    read_ledger_rows,
    read_recorded,
    read_state,
    record_state,
    reset_ledger,
    schema_cookie,
    schema_fingerprint,
    seed_adopted,
    seed_copy,
    shape_fingerprint,
    unwind_change,
)
from cinch.stores.leftovers import record_intent, recover, sweep_temp_files, sweep_templates
from cinch.stores.query import (
    PinnedReader,
    QueryCursor,
    QueryResult,
    iter_query,
    read_rows,
    run_batch,
    run_query,
)
from cinch.stores.sqlite_conn import (
    CinchConnection,
    ConnectionPool,
    Lease,
    bare_reader,
    checkpoint,
    close_path_everywhere,
    close_under_everywhere,
    connect,
    private_copy,
)

__all__ = [
    "CinchConnection",
    "ConnectionPool",
    "Known",
    "Lease",
    "LedgerRow",
    "PinnedReader",
    "QueryCursor",
    "QueryResult",
    "TenantStore",
    "apply_change",
    "branch_from_key",
    "branch_key",
    "change_bodies",
    "checkpoint",
    "connect",
    "data_version",
    "drift",
    "dry_run",
    "ensure_ledger",
    "finalize_template",
    "has_change",
    "holds_ledger",
    "iter_query",
    "ledger_digest",
    "private_copy",
    "read_ledger",
    "read_ledger_rows",
    "read_recorded",
    "read_rows",
    "read_state",
    "record_state",
    "recover",
    "reset_ledger",
    "run_batch",
    "run_query",
    "schema_cookie",
    "schema_fingerprint",
    "seed_adopted",
    "seed_copy",
    "shape_fingerprint",
    "sweep_templates",
    "unwind_change",
]

_SUFFIX = ".db"
_SIDECARS = ("-wal", "-shm", "-journal")
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Folder names stay well under NAME_MAX (255 bytes) whatever the branch name.
_KEY_LIMIT = 200
_BRANCH_MARKER = ".branch"
_LINKS_MARKER = ".linked"  # some tenant of this folder was adopted in place
_TMP_PREFIX = "."
_TMP_SUFFIX = ".tmp"
# A template bigger than this is streamed by the kernel instead of read into memory.
_IN_MEMORY_TEMPLATE = 64 * 1024 * 1024
_FIRST_READ = 256 * 1024
_KEY_ESCAPE = re.compile(r"%(25|2F)")

# Aliases: the class below has a method called ``list``, which shadows the builtin in it.
_TenantNames = list[str]
_Paths = list[Path]


def branch_key(branch: str) -> str:
    """The branch name as one safe path component: ``feature/x`` -> ``feature%2Fx``.

    ``%`` and ``/`` are percent-encoded (reversibly). A key that would be too long for a file
    name is cut and suffixed ``~<hash>`` (``~`` never occurs in a git branch name); the full
    name is then kept in a ``.branch`` file inside the folder.
    """
    check_branch_name(branch)
    key = branch.replace("%", "%25").replace("/", "%2F")
    raw = key.encode()
    if len(raw) > _KEY_LIMIT:
        digest = hashlib.sha256(branch.encode()).hexdigest()[:16]
        key = raw[: _KEY_LIMIT - 17].decode("utf-8", "ignore") + "~" + digest
    return key


def branch_from_key(key: str) -> str | None:
    """Invert :func:`branch_key`; None for a hashed key (read its ``.branch`` file instead)."""
    if "~" in key:
        return None
    return _KEY_ESCAPE.sub(lambda m: "%" if m.group(1) == "25" else "/", key)


def finalize_template(path: str | os.PathLike[str]) -> Path:
    """Make a template's single ``.db`` file complete, so it can be copied as is.

    Closes pooled connections to it (in every pool of the process), VACUUMs it if it has free
    pages (a smaller file is a faster copy for every tenant), and checkpoints the WAL with
    TRUNCATE. Raises :class:`TenantError` if a reader keeps the WAL from being emptied.
    """
    p = os.fspath(path)
    close_path_everywhere(p)
    conn = connect(p, create=False)
    try:
        if conn.execute("PRAGMA freelist_count").fetchone()[0]:
            conn.execute("VACUUM")
        busy, _, _ = checkpoint(conn, "TRUNCATE")
    except sqlite3.Error as exc:
        raise TenantError(f"cannot finalize template {p}: {exc}", path=p) from exc
    finally:
        conn.close()
    if busy:
        raise TenantError(
            f"template {p} could not be checkpointed: another connection is reading it",
            path=p, hint="close other connections to the template and retry",
        )
    return Path(p)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _read_all(fd: int, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.read(fd, size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _fill(fd: int, source: bytes | str, durable: bool) -> None:
    """Write the template (bytes, or a path for a big one) into ``fd``."""
    if isinstance(source, bytes):
        view = memoryview(source)
        while view:
            view = view[os.write(fd, view):]
    else:
        with open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                os.write(fd, chunk)  # a regular file: writes are complete
    if durable:
        os.fsync(fd)


def _fsync_dir(folder: str) -> None:
    _fsync_file(folder)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(tmp: str) -> None:
    """A temporary copy that will not be published, with its sidecars."""
    for extra in ("", *_SIDECARS):
        _unlink_quietly(tmp + extra)


def copy_database(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """A file outside cinch as it is, committed pages included: SQLite's backup (read-only)
    when a WAL beside it may hold some, else a plain copy (the fast path)."""
    src = os.fspath(source)
    if os.path.exists(src + "-wal"):
        reader = sqlite3.connect(f"{Path(src).resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(dest)
        try:
            reader.backup(target)
        finally:
            target.close()
            reader.close()
    else:
        shutil.copyfile(src, dest)


# How long a file must have been left alone before :func:`_quiet_copy` trusts its timestamps:
# over a clock tick (file systems stamp writes with a coarse clock) where they keep fractions
# of a second; two seconds where they keep whole seconds (or two: FAT).
_QUIET_FINE_S = 0.05
_QUIET_COARSE_S = 2.0


def _quiet_copy(src: str, tmp: str) -> bool:
    """Copy a database no connection holds open with the file system alone, as ``cp`` would:
    True when the copy is a consistent snapshot. False (``tmp`` left absent) when SQLite's
    backup must do it: a WAL, a rollback journal or a shared-memory file is beside it (some
    connection has it open), or it was written too recently to tell from its timestamps.

    Consistent because a database with no sidecar changes only through a new connection, whose
    commits go to a new WAL; the file itself changes only at a checkpoint, and any write to
    it moves its modification and change times, compared before and after the copy."""
    try:
        before = os.lstat(src)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(before.st_mode) or links.seed(src) is not None:
        return False  # a file adopted in place: its owner's, under its own rules
    coarse = before.st_mtime_ns % 1_000_000_000 == 0
    if time.time() - before.st_mtime < (_QUIET_COARSE_S if coarse else _QUIET_FINE_S):
        return False
    if any(os.path.lexists(src + extra) for extra in _SIDECARS):
        return False
    shutil.copyfile(src, tmp)
    after = os.lstat(src)
    if (after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns) == (
            before.st_ino, before.st_size, before.st_mtime_ns, before.st_ctime_ns):
        return True
    _discard(tmp)
    return False


class TenantStore:
    """Tenant files under ``root`` (``<project>/.cinch/tenants``).

    ``pool`` is the store's :class:`ConnectionPool` (one is made if none is given); file
    operations (delete, rename, delete_branch) close the file's connections in *every* pool of
    the process first. Other processes must not hold connections to a tenant being deleted or
    renamed (rename checks and refuses; delete cannot tell).
    """

    def __init__(self, root: str | os.PathLike[str], pool: ConnectionPool | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        self._root = str(self.root)
        self._prefix = self._root + os.sep
        self.pool = pool if pool is not None else ConnectionPool()
        self._ready: dict[tuple[str, str], str] = {}
        self._resolved: dict[tuple[str, str], str] = {}  # (db, branch) -> resolved folder
        self._anonymous_files = hasattr(os, "O_TMPFILE")  # cleared if the FS refuses them

    # -- paths ---------------------------------------------------------------------------------
    def _inside(self, candidate: str) -> str:
        # Defence in depth: names are validated already, and the resolved path (symlinks
        # followed) must still be under the root.
        real = os.path.realpath(candidate)
        if not real.startswith(self._prefix):
            return self._linked(candidate, real)
        return real

    def _linked(self, candidate: str, real: str) -> str:
        """A tenant adopted in place (see ``cinch.stores.links``): followed out of the root
        only when the link is the tenant's own entry and its note names that very file."""
        seed = links.read(candidate) if os.path.islink(candidate) else None
        if seed is None or os.path.realpath(seed.target) != real or \
                not os.path.dirname(os.path.abspath(candidate)).startswith(self._prefix):
            raise InvalidName(
                f"{candidate} resolves outside the tenant root {self._root}", path=candidate
            )
        if not os.path.isfile(real):
            name = os.path.basename(candidate)[: -len(_SUFFIX)]
            raise NotFound(
                f"tenant {name!r} is the file {seed.target}, adopted in place, and that file "
                "is missing (moved or deleted?)", tenant=name, path=seed.target,
                hint=f"put the file back at {seed.target}, or forget the tenant with "
                f"`cinch tenant delete {name}` (cinch never deletes the file itself)")
        links.remember(seed)
        return real

    def linked(self, db: str, branch: str, tenant: str) -> str | None:
        """The file a tenant adopted in place stands for (None for a tenant of cinch's own)."""
        leaf = os.path.join(str(self.folder(db, branch)), check_tenant_name(tenant) + _SUFFIX)
        seed = links.read(leaf) if os.path.islink(leaf) else None
        return seed.target if seed is not None else None

    def link(self, db: str, branch: str, tenant: str, seed: links.Seed) -> Path:
        """Register the file ``seed.target`` as a tenant where it is (nothing is written to it)."""
        check_tenant_name(tenant)
        folder = self._make_folder(db, branch)
        leaf = os.path.join(folder, tenant + _SUFFIX)
        marker = os.path.join(folder, _LINKS_MARKER)
        if not os.path.exists(marker):
            Path(marker).touch()
        try:
            links.create(leaf, seed)
        except FileExistsError:
            raise AlreadyExists(f"tenant {tenant!r} already exists", tenant=tenant,
                                path=leaf) from None
        return Path(seed.target)

    def check_links(self, db: str, branch: str) -> None:
        """Raise :class:`NotFound`, naming the file, if a tenant adopted in place lost its
        file: before a change is committed, so it is refused rather than left half applied.
        Free for a branch that never had one (a marker file says whether it did)."""
        folder = str(self.folder(db, branch))
        if not os.path.exists(os.path.join(folder, _LINKS_MARKER)):
            return
        for _, entry in self._entries(db, branch):
            if entry.is_symlink():
                self._inside(entry.path)

    def folder(self, db: str, branch: str) -> Path:
        """The folder holding the tenants of ``db`` on ``branch`` (it may not exist yet)."""
        check_name(db, "database")
        return Path(self._inside(os.path.join(self._root, db, branch_key(branch))))

    def path(self, db: str, branch: str, tenant: str) -> Path:
        return Path(self.file(db, branch, tenant))

    def file(self, db: str, branch: str, tenant: str) -> str:
        """:meth:`path` as text (what the connection pool keys on; no ``Path`` built)."""
        candidate = self._candidate(db, branch, tenant)
        # Resolved once per folder (a tenant's handle is made per request: realpath is a
        # stat per path component); a tenant file that is a symlink is resolved each time.
        return self._inside(candidate) if os.path.islink(candidate) else candidate

    def existing_file(self, db: str, branch: str, tenant: str) -> str | None:
        """:meth:`file` if the tenant's file exists, else None: one ``lstat`` for both."""
        candidate = self._candidate(db, branch, tenant)
        try:
            mode = os.lstat(candidate).st_mode
        except (OSError, ValueError):
            return None
        if stat.S_ISLNK(mode):
            real = self._inside(candidate)  # an adopted file that is missing says so
            return real if os.path.isfile(real) else None
        return candidate if stat.S_ISREG(mode) else None

    def _candidate(self, db: str, branch: str, tenant: str) -> str:
        check_tenant_name(tenant)
        folder = self._resolved.get((db, branch))
        if folder is None:
            folder = str(self.folder(db, branch))
            if os.path.isdir(folder):  # a folder still to be made is resolved again
                if len(self._resolved) > 4096:
                    self._resolved.clear()
                self._resolved[(db, branch)] = folder
        return os.path.join(folder, tenant + _SUFFIX)

    def _make_folder(self, db: str, branch: str) -> str:
        """The validated, resolved, existing folder for ``db``/``branch`` (cached: creating
        10,000 tenants must not resolve the same folder 10,000 times)."""
        folder = self._ready.get((db, branch))
        if folder is not None:
            return folder  # if it was removed since, writing raises FileNotFoundError: retry
        folder = str(self.folder(db, branch))
        os.makedirs(folder, exist_ok=True)
        if "~" in os.path.basename(folder):
            Path(folder, _BRANCH_MARKER).write_text(branch, encoding="utf-8")
        if len(self._ready) > 4096:
            self._ready.clear()
        self._ready[(db, branch)] = folder
        return folder

    def exists(self, db: str, branch: str, tenant: str) -> bool:
        if self.linked(db, branch, tenant) is not None:
            return True  # even if its file went missing: it can still be deleted (forgotten)
        return os.path.isfile(self.path(db, branch, tenant))

    def size(self, db: str, branch: str, tenant: str) -> int:
        """Bytes on disk: the database file plus its WAL."""
        path = str(self.path(db, branch, tenant))
        try:
            total = os.stat(path).st_size
        except FileNotFoundError:
            raise self._missing(db, branch, tenant) from None
        with contextlib.suppress(FileNotFoundError):
            total += os.stat(path + "-wal").st_size
        return total

    # -- listing -------------------------------------------------------------------------------
    def list(self, db: str, branch: str) -> _TenantNames:
        """Tenant names of ``db`` on ``branch``, sorted (one scandir, no stat per file)."""
        return sorted(name for name, _ in self._entries(db, branch))

    def paths(self, db: str, branch: str) -> dict[str, Path]:
        """Each tenant of ``db`` on ``branch`` (as :meth:`list`) and its file, from the same one
        scandir: the folder is resolved once, and only a file that is a symlink is resolved
        (and must stay under the root, as :meth:`path` requires)."""
        found = {name: Path(self._inside(entry.path) if entry.is_symlink() else entry.path)
                 for name, entry in self._entries(db, branch)}
        return dict(sorted(found.items()))

    def _entries(self, db: str, branch: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        try:
            entries = os.scandir(str(self.folder(db, branch)))
        except FileNotFoundError:
            return
        with entries:
            for entry in entries:
                name = entry.name
                # Temporary files start with '.'; anything that is not a valid tenant is skipped.
                if not name.endswith(_SUFFIX) or name.startswith(".") or not (
                        entry.is_file() or entry.is_symlink()):  # a link whose file is gone
                    continue                                    # is listed: opening it says so
                try:
                    tenant = check_tenant_name(name[: -len(_SUFFIX)])
                except InvalidName:
                    continue
                yield tenant, entry

    def databases(self) -> _TenantNames:
        """Databases that have a tenant folder."""
        try:
            with os.scandir(self._root) as entries:
                found = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
        except FileNotFoundError:
            return []
        return sorted(found)

    def branches(self, db: str) -> _TenantNames:
        """Branch names that have a tenant folder for ``db``."""
        check_name(db, "database")
        base = os.path.join(self._root, db)
        found = []
        try:
            with os.scandir(base) as entries:
                for entry in entries:
                    if not entry.is_dir() or entry.name.startswith("."):
                        continue
                    branch = branch_from_key(entry.name)
                    if branch is None:
                        marker = os.path.join(entry.path, _BRANCH_MARKER)
                        with contextlib.suppress(OSError):
                            branch = Path(marker).read_text(encoding="utf-8")
                    if branch:
                        found.append(branch)
        except FileNotFoundError:
            return []
        return sorted(found)

    # -- connections ---------------------------------------------------------------------------
    def connection(self, db: str, branch: str, tenant: str, read_only: bool = False) -> Lease:
        """``with store.connection(db, branch, tenant) as conn:``, from the store's pool."""
        return self.pool.connection(self.path(db, branch, tenant), read_only)

    # -- creating ------------------------------------------------------------------------------
    def _tmp_name(self, folder: str, tenant: str) -> str:
        return os.path.join(folder, f"{_TMP_PREFIX}{tenant}.{uuid.uuid4().hex[:12]}{_TMP_SUFFIX}")

    def _publish(self, src: str, dest: str, tenant: str, *, temporary: bool = True) -> None:
        """Move a complete file to its tenant name, atomically, never over an existing tenant.

        ``src`` is a temporary file (removed if publishing fails) or, for a rename, the old
        tenant (left alone if publishing fails).
        """
        def exists_error() -> AlreadyExists:
            if temporary:
                _unlink_quietly(src)
            return AlreadyExists(f"tenant {tenant!r} already exists", tenant=tenant, path=dest)

        if os.path.lexists(dest):
            raise exists_error()
        # A -wal left by a deleted tenant of the same name would be replayed into the new file.
        for sidecar in _SIDECARS:
            _unlink_quietly(dest + sidecar)
        try:
            os.link(src, dest)  # atomic, and unlike os.replace it refuses to overwrite
        except FileExistsError:
            raise exists_error() from None
        except OSError:
            # No hard links on this file system: fall back to an atomic replace.
            if os.path.lexists(dest):
                raise exists_error() from None
            os.replace(src, dest)
            return
        os.unlink(src)

    def _write_file(self, dest: str, tenant: str, source: bytes | str, durable: bool) -> None:
        """Write a new tenant file at ``dest`` from template bytes (or a template path).

        Linux: an unnamed O_TMPFILE inode, filled and then linked to its name (linkat through
        /proc/self/fd): atomic, nothing to clean up after a crash, and linkat refuses an
        existing name. Elsewhere: a named temporary file, then link.
        """
        # A -wal left behind by a tenant deleted outside cinch would be replayed into the new
        # file: clear it first (delete() removes sidecars before the .db, so this is rare).
        if os.path.lexists(dest + "-wal"):
            if os.path.lexists(dest):
                raise AlreadyExists(f"tenant {tenant!r} already exists", tenant=tenant, path=dest)
            for sidecar in _SIDECARS:
                _unlink_quietly(dest + sidecar)
        folder = os.path.dirname(dest)
        if self._anonymous_files:
            try:
                fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
                self._anonymous_files = False
            else:
                try:
                    _fill(fd, source, durable)
                    # src_dir_fd forces linkat(..., AT_SYMLINK_FOLLOW); the path is absolute.
                    os.link(f"/proc/self/fd/{fd}", dest, src_dir_fd=fd, follow_symlinks=True)
                    return
                except FileExistsError:
                    raise AlreadyExists(
                        f"tenant {tenant!r} already exists", tenant=tenant, path=dest
                    ) from None
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EACCES):
                        raise
                    self._anonymous_files = False  # no /proc: use named temporary files
                finally:
                    os.close(fd)
        tmp = self._tmp_name(folder, tenant)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            _fill(fd, source, durable)
        except BaseException:
            os.close(fd)
            _unlink_quietly(tmp)
            raise
        os.close(fd)
        self._publish(tmp, dest, tenant)

    def _template_source(self, template_path: str | os.PathLike[str]) -> bytes | str:
        path = os.fspath(template_path)
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path + "-wal").st_size:
                raise TenantError(
                    f"template {path} has changes still in its WAL",
                    path=path, hint="call finalize_template() after changing the template",
                )
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(f"template {path} does not exist", path=path) from None
        try:
            # One read usually returns the whole (small) template: no fstat needed.
            data = os.read(fd, _FIRST_READ)
            if len(data) == _FIRST_READ:
                size = os.fstat(fd).st_size
                big = size > _IN_MEMORY_TEMPLATE
                if not big:
                    data += _read_all(fd, size - len(data))
            else:
                big = False
        finally:
            os.close(fd)
        if not data.startswith(_SQLITE_MAGIC):
            raise TenantError(f"template {path} is not a SQLite database", path=path)
        return path if big else data

    def create_from_template(
        self,
        template_path: str | os.PathLike[str],
        db: str,
        branch: str,
        tenant: str,
        *,
        durable: bool = False,
    ) -> Path:
        """A new tenant as a copy of a finalized template (schema and ledger included).

        A file copy, no SQLite open. ``durable`` adds fsyncs so the new file also survives a
        power cut (a crash of the process is always safe: the file appears whole or not at all).
        """
        check_tenant_name(tenant)
        source = self._template_source(template_path)
        folder = self._make_folder(db, branch)
        dest = os.path.join(folder, tenant + _SUFFIX)
        try:
            self._write_file(dest, tenant, source, durable)
        except FileNotFoundError:  # the folder went away (delete_branch elsewhere): remake it
            self._ready.pop((db, branch), None)
            folder = self._make_folder(db, branch)
            self._write_file(dest, tenant, source, durable)
        if durable:
            _fsync_dir(folder)
        return Path(dest)

    def create_many_from_template(
        self,
        template_path: str | os.PathLike[str],
        db: str,
        branch: str,
        tenants: Iterable[str],
        *,
        durable: bool = False,
        workers: int = 2,
    ) -> _Paths:
        """Create many tenants from one template: all of them, or (on error) none.

        ``workers`` threads write files in parallel (the work is in the kernel, off the GIL).
        """
        names = [check_tenant_name(t) for t in tenants]
        twice = sorted(n for n, count in Counter(names).items() if count > 1)
        if twice:
            raise UsageError(f"tenant {twice[0]!r} is listed twice", tenants=twice)
        clash = sorted(set(names) & set(self.list(db, branch)))
        if clash:
            raise AlreadyExists(
                f"{len(clash)} tenant(s) already exist: {', '.join(clash[:5])}", tenants=clash
            )
        source = self._template_source(template_path)
        self._ready.pop((db, branch), None)  # re-check the folder once per batch
        folder = self._make_folder(db, branch)
        dests = [os.path.join(folder, name + _SUFFIX) for name in names]
        created: _TenantNames = []
        # All or none even if the process is killed: the batch is recorded before its first
        # file appears and forgotten after its last; a batch whose process died is undone by
        # recover() (run when a project is opened).
        intent = record_intent(self.root, dests, durable)

        def write(chunk: range) -> None:
            for i in chunk:
                self._write_file(dests[i], names[i], source, durable)
                created.append(dests[i])  # list.append is atomic under the GIL

        workers = max(1, min(workers, len(names) // 256 + 1))
        try:
            if workers == 1:
                write(range(len(names)))
            else:
                from concurrent.futures import ThreadPoolExecutor  # costs every start at the top

                with ThreadPoolExecutor(workers) as pool:
                    for future in [pool.submit(write, range(w, len(names), workers))
                                   for w in range(workers)]:
                        future.result()
            if durable:
                _fsync_dir(folder)
        except BaseException:
            for dest in created:
                _unlink_quietly(dest)
            _unlink_quietly(intent)
            raise
        _unlink_quietly(intent)
        return [Path(p) for p in dests]

    def create(self, db: str, branch: str, tenant: str) -> Path:
        """A new empty tenant (WAL mode, with an empty ledger): e.g. the start of a template."""
        dest = str(self.path(db, branch, tenant))
        if os.path.lexists(dest):
            raise AlreadyExists(f"tenant {tenant!r} already exists", tenant=tenant, path=dest)
        folder = self._make_folder(db, branch)
        tmp = self._tmp_name(folder, tenant)
        try:
            conn = connect(tmp, create=True)
            try:
                ensure_ledger(conn)
                checkpoint(conn)
            finally:
                conn.close()
        except BaseException:
            _discard(tmp)
            raise
        self._publish(tmp, dest, tenant)
        return Path(dest)

    # -- copying -------------------------------------------------------------------------------
    def _backup(self, src: str, dest: str, tenant: str, durable: bool,
                prepare: Callable[[Path], bool] | None = None) -> None:
        """Copy a live database consistently (sqlite3 backup API, one step, one snapshot).

        ``prepare(copy)`` runs on the copy before it is published (it may change it: bring it
        to a branch head, say) and says whether it left the file synced (a WAL checkpoint
        syncs it); else it is synced here. So the copy is written with no journal of its own
        and no syncs but one, and is still never seen half-made. Such a copy of a file no
        connection holds open is a plain file copy (:func:`_quiet_copy`)."""
        if not os.path.isfile(src):
            raise NotFound(f"tenant {os.path.basename(src)[:-3]!r} does not exist", path=src)
        if os.path.lexists(dest):
            raise AlreadyExists(f"tenant {tenant!r} already exists", tenant=tenant, path=dest)
        folder = os.path.dirname(dest)
        os.makedirs(folder, exist_ok=True)
        tmp = self._tmp_name(folder, tenant)
        try:
            if not (prepare is not None and _quiet_copy(src, tmp)):
                self._backup_into(src, tmp, unpublished=prepare is not None)
            seed_copy(src, tmp)  # a file adopted in place may hold its ledger in its note
            synced = prepare(Path(tmp)) if prepare is not None else False
            if (durable or prepare is not None) and not synced:
                _fsync_file(tmp)
        except sqlite3.Error as exc:
            _discard(tmp)
            raise TenantError(f"cannot copy {src}: {exc}", path=src, reason=str(exc)) from exc
        except BaseException:
            _discard(tmp)
            raise
        self._publish(tmp, dest, tenant)
        if durable:
            _fsync_dir(folder)

    def _backup_into(self, src: str, tmp: str, *, unpublished: bool) -> None:
        """SQLite's backup of ``src`` into the new file ``tmp``; ``unpublished``: a branch's
        copy, brought along before it is published."""
        # A branch's copies come many in a row: the pool's reader when the caller has just
        # opened it to look at the source; else a bare read-only connection, which the backup
        # opens without reading the schema.
        lease = (self.pool.connection(src, read_only=True)
                 if unpublished and self.pool.holds(src, read_only=True) else None)
        source = lease.__enter__() if lease is not None else (
            bare_reader(src) if unpublished else connect(src, read_only=True))
        try:
            # A plain (rollback-journal) connection: the copy keeps the source's page size and
            # its WAL flag in the header, and leaves no -wal behind.
            target = sqlite3.connect(tmp, isolation_level=None)
            try:
                if unpublished:
                    # Unpublished until synced: a crash leaves a temporary file to sweep, so
                    # the copy needs no journal and no syncs of its own.
                    target.execute("PRAGMA journal_mode=OFF")
                    target.execute("PRAGMA synchronous=OFF")
                source.backup(target)  # pages=-1: the whole file in one read transaction
            finally:
                target.close()
        finally:
            if lease is not None:
                lease.__exit__(None, None, None)
            else:
                source.close()

    def create_from_file(self, source: str | os.PathLike[str], db: str, branch: str,
                         tenant: str, prepare: Callable[[Path], None]) -> Path:
        """A new tenant from a file outside cinch (adoption): copied under a temporary name
        (SQLite's backup when a WAL beside it may hold committed pages, else a plain copy),
        made ready by ``prepare`` (its ledger written), synced once, then published under its name. A
        crash leaves at most a temporary file to sweep, never a half-made tenant."""
        src = os.fspath(source)
        folder = self._make_folder(db, branch)
        dest = os.path.join(folder, check_tenant_name(tenant) + _SUFFIX)
        if os.path.lexists(dest):
            raise AlreadyExists(f"tenant {tenant!r} already exists", tenant=tenant, path=dest)
        tmp = self._tmp_name(folder, tenant)
        try:
            copy_database(src, tmp)
            prepare(Path(tmp))
            _fsync_file(tmp)
        except sqlite3.Error as exc:
            _discard(tmp)
            raise TenantError(f"cannot adopt {src}: {exc}", path=src, reason=str(exc)) from exc
        except BaseException:
            _discard(tmp)
            raise
        self._publish(tmp, dest, tenant)
        return Path(dest)

    def sync_folder(self, db: str, branch: str) -> None:
        """Make the names published in a tenant folder survive a power cut (one fsync)."""
        _fsync_dir(str(self.folder(db, branch)))

    def copy(self, db: str, branch: str, src: str, dst: str, *, durable: bool = False) -> Path:
        """Copy tenant ``src`` to a new ``dst``, consistently even while ``src`` is written."""
        source = str(self.path(db, branch, src))
        dest = str(self.path(db, branch, dst))
        self._backup(source, dest, dst, durable)
        return Path(dest)

    def copy_branch_tenant(
        self, db: str, src_branch: str, dst_branch: str, tenant: str, *, durable: bool = False,
        prepare: Callable[[Path], bool] | None = None,
    ) -> Path:
        """Copy one tenant from ``src_branch`` to ``dst_branch`` (same name); ``prepare``: see
        :meth:`_backup`."""
        source = str(self.path(db, src_branch, tenant))
        dest = str(self.path(db, dst_branch, tenant))
        self._make_folder(db, dst_branch)
        self._backup(source, dest, tenant, durable, prepare)
        return Path(dest)

    def copy_branch(
        self, db: str, src_branch: str, dst_branch: str, *, skip_existing: bool = False
    ) -> _TenantNames:
        """Copy every tenant of ``src_branch`` to ``dst_branch``; returns the names copied.

        Refuses (before copying anything) if a tenant exists on both, unless ``skip_existing``.
        """
        names = self.list(db, src_branch)
        existing = set(self.list(db, dst_branch))
        if existing & set(names) and not skip_existing:
            clash = sorted(existing & set(names))
            raise AlreadyExists(
                f"{len(clash)} tenant(s) already exist on {dst_branch}: {', '.join(clash[:5])}",
                tenants=clash,
            )
        copied = [n for n in names if n not in existing]
        for name in copied:
            self.copy_branch_tenant(db, src_branch, dst_branch, name)
        return copied

    # -- removing and renaming -----------------------------------------------------------------
    def _missing(self, db: str, branch: str, tenant: str) -> NotFound:
        return NotFound(
            f"no tenant named {tenant!r} on {db}@{branch}", tenant=tenant, database=db,
            branch=branch,
        )

    def delete(self, db: str, branch: str, tenant: str, *, missing_ok: bool = False) -> None:
        """Delete a tenant file and its -wal/-shm, closing pooled connections to it first.

        A tenant adopted in place is forgotten instead: its link and note go, and the file it
        stands for is left exactly where and as it is."""
        target = self.linked(db, branch, tenant)
        if target is not None:
            close_path_everywhere(os.path.realpath(target))
            links.remove(os.path.join(str(self.folder(db, branch)), tenant + _SUFFIX))
            return
        path = str(self.path(db, branch, tenant))
        if not os.path.lexists(path):
            if missing_ok:
                return
            raise self._missing(db, branch, tenant)
        close_path_everywhere(path)
        # Sidecars first, the .db last: a crash midway leaves a tenant that still exists
        # (delete again), never a stray -wal that a new tenant of that name would replay.
        for sidecar in _SIDECARS:
            _unlink_quietly(path + sidecar)
        _unlink_quietly(path)

    def rename(self, db: str, branch: str, old: str, new: str) -> Path:
        """Rename a tenant; refuses if ``new`` exists or ``old`` is open elsewhere."""
        if self.linked(db, branch, old) is not None:
            folder = str(self.folder(db, branch))
            dest = os.path.join(folder, check_tenant_name(new) + _SUFFIX)
            try:  # the file stays; its link and note take the new name
                links.move(os.path.join(folder, old + _SUFFIX), dest)
            except FileExistsError:
                raise AlreadyExists(f"tenant {new!r} already exists", tenant=new,
                                    path=dest) from None
            return Path(self.path(db, branch, new))
        source = str(self.path(db, branch, old))
        dest = str(self.path(db, branch, new))
        if not os.path.isfile(source):
            raise self._missing(db, branch, old)
        if os.path.lexists(dest):
            raise AlreadyExists(f"tenant {new!r} already exists", tenant=new, path=dest)
        self._quiesce(source, old)
        self._publish(source, dest, new, temporary=False)  # link, then unlink the old name
        return Path(dest)

    def _quiesce(self, path: str, tenant: str) -> None:
        """Fold the WAL into the file and make sure no one else has it open."""
        close_path_everywhere(path)
        conn = connect(path, create=False)
        try:
            busy, _, _ = checkpoint(conn)
        finally:
            conn.close()
        # The last connection to close deletes the -wal: if it is still there, someone
        # (another process) has the tenant open and would keep writing to the old name.
        if busy or os.path.exists(path + "-wal"):
            raise TenantError(
                f"tenant {tenant!r} is in use by another connection", tenant=tenant, path=path,
                hint="retry when it is idle",
            )

    def delete_branch(self, db: str, branch: str) -> int:
        """Delete the tenant folder of ``db`` on ``branch``; returns how many tenants it had."""
        folder = str(self.folder(db, branch))
        if not os.path.isdir(folder):
            return 0
        count = len(self.list(db, branch))
        close_under_everywhere(folder)
        for name in self.list(db, branch):  # files adopted in place: only their links go
            target = self.linked(db, branch, name)
            if target is not None:
                close_path_everywhere(os.path.realpath(target))
        self._ready.pop((db, branch), None)
        self._resolved.pop((db, branch), None)
        shutil.rmtree(folder)
        return count

    def sweep_temp_files(self, db: str, branch: str, older_than: float = 3600.0) -> int:
        """Remove temporary files a crashed process left behind; returns how many."""
        return sweep_temp_files(self.folder(db, branch), older_than)
