"""``cinch status``, ``cinch table list`` and a page of ``cinch tenant list`` answered from what
is already on disk.

Both commands ask the same few things of the branch head: which databases cinch.toml lists,
how long each change log is, how many tables and views the schema has, the tables' sizes and
the digest of the log tenants are compared against. A commit never changes, so those answers
are written once per commit, under ``.cinch/cache/glance/<commit>.json`` (local state, never
committed), by the command that computed them the long way (:func:`record`). A later command
reads the branch head from git's files (:mod:`cinch.stores.gitfiles`), the answers for that
commit from the file, and the tenants' states from the catalog, without loading libgit2,
pydantic or the change-set models.

A cached answer is never stale: it is looked up by the commit id the branch points at now, and
a file is used only if its first line names that commit and a check of what follows.
Whatever this module cannot answer so (no file yet, a detached HEAD, a git layout or a tenant
catalog that needs the full reader) it answers None, and the caller opens the project.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tomllib
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinch.errors import CinchError, NotAProject
from cinch.names import check_name
from cinch.stores import gitfiles, leftovers, synced
from cinch.stores.gitfiles import GitFiles

if TYPE_CHECKING:
    from cinch.engine.project import Project
    from cinch.models.schema import Schema
    from cinch.stores.catalog import Catalog

FORMAT = 1
CONFIG_FILE = "cinch.toml"
SCHEMA_DIR = "schema"
STATE_DIR = ".cinch"
KEEP = 64  # files kept; the oldest are removed when a new one is written
MAIN_TENANT = "main"
CLEAN_FILE = "clean"  # the commit and index checksum libgit2 last found clean


def find_root(start: Path | None = None) -> Path:
    """The project holding ``start``: ``CINCH_PROJECT``, else ``start`` or its nearest parent."""
    env = os.environ.get("CINCH_PROJECT")
    here = Path(start) if start is not None else Path(env) if env else Path.cwd()
    here = here.resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file() and (candidate / ".git").exists():
            return candidate
    raise NotAProject(
        f"{here} is not inside a cinch project (no {CONFIG_FILE} beside a .git folder here or "
        "above)", hint="run `cinch init NAME`, or pass -C DIR", path=str(here))


# --- writing: by the command that computed the answers ----------------------------------


def table_rows(schema: Schema) -> list[dict[str, Any]]:
    """What ``cinch table list`` prints of each table, in the schema's order."""
    return [{"name": t.name, "columns": len(t.columns), "strict": t.strict,
             "indexes": len(schema.indexes_of(t.id)), "id": t.id} for t in schema.tables]


def summarize(project: Project, commit: str) -> dict[str, Any]:
    """The answers of :mod:`glance` for ``commit``, computed through the history."""
    from cinch.engine.config import parse_config
    from cinch.stores.ledger import ledger_digest

    raw = project.git.read_file(commit, CONFIG_FILE)
    if raw is None:
        raise ValueError(f"{CONFIG_FILE} is missing from {commit}")
    config = parse_config(raw)
    history = project.history
    databases = {}
    for name in config.databases:
        log = history.log(commit, name)
        schema = history.schema(commit, name)
        databases[name] = {"changes": len(log), "views": len(schema.views),
                           "ledger": ledger_digest(e.id for e in log),
                           "tables": table_rows(schema)}
    return {"format": FORMAT, "commit": commit, "databases": databases,
            "order": list(config.databases), "protected": list(config.branches.protected)}


def _folder(root: Path) -> Path:
    return root / STATE_DIR / "cache" / "glance"


def record(project: Project, commit: str | None) -> None:
    """Write the answers for ``commit`` if no file has them yet (a cache: a failure to write
    only makes the next command slower)."""
    if commit is None:
        return
    if _load(project.root, commit) is not None:
        return  # written before (one that does not read back is written again)
    folder = _folder(project.root)
    path = folder / f"{commit}.json"
    try:
        summary = summarize(project, commit)
    except (CinchError, ValueError):
        return  # e.g. another database's damaged change set: the command that needs it says so
    body = json.dumps(summary).encode()
    data = f"{commit} {_check(body)}\n".encode() + body
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        _write(path, data)
        _prune(folder)


def index_checksum(root: Path) -> str | None:
    """The index's checksum now (see :func:`record_clean`)."""
    return gitfiles.index_checksum(GitFiles(root))


def record_clean(project: Project, commit: str | None, checksum: str | None) -> None:
    """Note that libgit2 found the work tree and the index equal to ``commit``, with the index
    at ``checksum`` both before and after it looked: while the index keeps that checksum and
    the branch that commit, a status need only compare the files with the index."""
    if commit is None or checksum is None or index_checksum(project.root) != checksum:
        return
    folder = _folder(project.root)
    line = f"{commit} {checksum}\n"
    with contextlib.suppress(OSError):
        if (folder / CLEAN_FILE).read_text() == line:
            return
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / CLEAN_FILE, line.encode())


def _write(path: Path, data: bytes) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _prune(folder: Path) -> None:
    entries = [e for e in os.scandir(folder) if e.name.endswith(".json")]
    if len(entries) > KEEP:
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for entry in entries[: len(entries) - KEEP]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _check(body: bytes) -> str:
    """A check of a file's body against a torn write or an edit (CRC-32: the file is local
    state written by cinch, and hashlib would cost every start its import)."""
    return f"{zlib.crc32(body):08x}-{len(body)}"


def _load(root: Path, commit: str) -> dict[str, Any] | None:
    try:
        data = (_folder(root) / f"{commit}.json").read_bytes()
    except OSError:
        return None
    first, _, body = data.partition(b"\n")
    if first != f"{commit} {_check(body)}".encode():
        return None  # torn or edited: the long way writes it again
    try:
        summary = json.loads(body)
    except ValueError:
        return None
    if summary.get("format") != FORMAT or summary.get("commit") != commit:
        return None
    return summary


# --- reading ----------------------------------------------------------------------------


class _Unsure(Exception):
    """The catalog needs the tenant files read (a crash to heal, a branch never seen whole)."""


class Glance:
    """The project at ``root`` as far as it can be answered without opening it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = GitFiles(root)

    def _head(self) -> tuple[str, str, dict[str, Any]] | None:
        branch = self.git.head_branch()
        commit = self.git.branch_tip(branch) if branch is not None else None
        if branch is None or commit is None:
            return None
        summary = _load(self.root, commit)
        return (branch, commit, summary) if summary is not None else None

    def tables(self, database: str | None) -> list[dict[str, Any]] | None:
        """``cinch table list``'s rows for ``database`` (main) on the current branch, or None
        when only the project can say (which also words any error)."""
        head = self._head()
        if head is None:
            return None
        name = _match(head[2], database)
        return None if name is None else head[2]["databases"][name]["tables"]

    def status(self) -> dict[str, Any] | None:
        """:meth:`cinch.Project.status`, or None when only the project can say."""
        head = self._head()
        if head is None:
            return None
        branch, commit, summary = head
        state = self.root / STATE_DIR
        if not state.is_dir():
            return None
        hooks = self._hooks_missing()
        if hooks is None or not self._clean(commit):
            return None  # only libgit2 can list what is uncommitted
        leftovers.recover(state / "tenants")
        leftovers.sweep_templates(state / "templates")
        leftovers.sweep_temp_tenants(state / "tenants")
        try:
            tenants = self._tenant_counts(state, branch, summary)
        except _Unsure:
            return None
        if tenants is None:
            return None
        dbs = [{"name": name, "changes": summary["databases"][name]["changes"],
                "tables": len(summary["databases"][name]["tables"]),
                "views": summary["databases"][name]["views"], "tenants": tenants[name]}
               for name in summary["order"]]
        return {"branch": branch, "head": commit, "protected": branch in summary["protected"],
                "databases": dbs, "uncommitted": [], "hooks_missing": hooks}

    def tenant_page(self, database: str | None, branch: str | None, *, after: str | None,
                    limit: int) -> list[dict[str, Any]] | None:
        """``cinch tenant list --limit``'s rows (:meth:`cinch.Tenants.page`), or None when only
        the project can say: states from the catalog, one ``stat`` per listed tenant."""
        if branch is None:
            branch = self.git.head_branch()
        commit = self.git.branch_tip(branch) if branch is not None else None
        summary = _load(self.root, commit) if commit is not None else None
        if branch is None or summary is None:
            return None
        name = _match(summary, database)
        state = self.root / STATE_DIR
        key = _short_key(branch)
        if name is None or key is None or not state.is_dir():
            return None
        leftovers.recover(state / "tenants")
        leftovers.sweep_temp_tenants(state / "tenants")
        root = os.path.realpath(state / "tenants")
        folder = os.path.realpath(os.path.join(root, name, key))
        if not folder.startswith(root + os.sep) or not os.path.isfile(
                os.path.join(folder, f"{MAIN_TENANT}.db")):
            return None  # a linked folder, or no main tenant yet: the store knows how
        facts = summary["databases"][name]
        catalog = _catalog(state)
        try:
            return self._page(catalog, state, name, branch, key, folder, facts, after, limit)
        except _Unsure:
            return None
        finally:
            catalog.close()

    def _page(self, catalog: Catalog, state: Path, db: str, branch: str, key: str, folder: str,
              facts: dict[str, Any], after: str | None, limit: int,
              ) -> list[dict[str, Any]] | None:
        parent: str | None = None
        rows: list[dict[str, Any]] = []
        for record in catalog.page(db, branch, after=after, limit=limit):
            path = os.path.join(folder, record.name + ".db")
            row = {"name": record.name, "database": db, "branch": branch, "path": path,
                   "size": 0, "applied": 0}
            if record.lazy:
                if parent is None:
                    parent = _fork_parent(state, db, key)
                row.update(state="not copied yet", detail=f"copied from {parent} on first use")
            else:
                try:
                    size = os.stat(path).st_size
                except FileNotFoundError:
                    return None  # gone behind cinch's back: the project tells the catalog
                with contextlib.suppress(FileNotFoundError):
                    size += os.stat(path + "-wal").st_size
                row["size"], row["applied"] = size, record.applied
                row["state"], row["detail"] = record.state(facts["ledger"], facts["changes"])
            rows.append(row)
        return rows

    # --- the git hooks ------------------------------------------------------------------

    def nothing_to_check(self) -> bool:
        """Whether the commit git is making now leaves ``schema/`` and cinch.toml as the
        checked-out commit has them, outside a merge: cinch's commit checks then have nothing
        to look at (no change set, no setting, no conflict), and the commit hooks answer
        without opening the project. False whenever that is not certain."""
        gitdir = self.git.gitdir
        if gitdir is None or any(key.startswith("GITHEAD_") for key in os.environ):
            return False  # GITHEAD_*: pre-merge-commit, before git writes MERGE_HEAD
        if any((gitdir / name).exists() for name in ("MERGE_HEAD", "SQUASH_MSG")):
            return False
        # GIT_INDEX_FILE, which git sets for `commit -a` or with paths, is honoured here too
        done = _git(self.root, "diff", "--cached", "--quiet", "--no-ext-diff", "HEAD", "--",
                    SCHEMA_DIR, CONFIG_FILE)
        return done is not None and done.returncode == 0

    def synced_after_commit(self) -> tuple[str, list[str]] | None:
        """After a commit that changed nothing under ``schema/`` nor cinch.toml, on a branch
        whose tenants were all brought to its parent: every tenant is at the new head too, so
        each database's synced mark moves to it, and the branch and its databases are returned.
        None when only the project can say (:meth:`cinch.Project.sync`)."""
        branch = self.git.head_branch()
        key = _short_key(branch) if branch is not None else None
        state = self.root / STATE_DIR
        done = _git(self.root, "rev-parse", "HEAD", "HEAD^1")
        commits = done.stdout.split() if done is not None and done.returncode == 0 else []
        if branch is None or key is None or len(commits) != 2:
            return None  # a detached HEAD, a name the store shortens, a first commit
        head, parent = (c.decode() for c in commits)
        same = _git(self.root, "diff", "--quiet", "--no-ext-diff", parent, head, "--",
                    SCHEMA_DIR, CONFIG_FILE)
        if same is None or same.returncode != 0:
            return None
        databases = self._databases(head)
        if databases is None:
            return None
        marks = [synced.path(state, db, key) for db in databases]
        if any(synced.read(mark, branch) not in (parent, head) for mark in marks):
            return None
        for mark in marks:
            synced.write(mark, head, branch)
        return branch, databases

    def synced_at_head(self) -> tuple[str, list[str]] | None:
        """After a branch switch: every tenant of the branch checked out is at its head
        already (each database's synced mark names the head, and its main tenant is there), so
        the post-checkout hook has nothing to fork nor apply. The branch and its databases;
        None when only the project can say (a branch new to cinch, one not copied yet, one
        moved since its tenants last followed it)."""
        branch = self.git.head_branch()
        key = _short_key(branch) if branch is not None else None
        head = self.git.branch_tip(branch) if branch is not None else None
        if branch is None or key is None or head is None:
            return None
        databases = self._databases(head)
        if databases is None:
            return None
        state = self.root / STATE_DIR
        for db in databases:
            if synced.read(synced.path(state, db, key), branch) != head:
                return None
            fork = _fork_record(state, db, key) or {}
            pending = fork.get("pending") if fork.get("branch") == branch else None
            waiting = isinstance(pending, list) and MAIN_TENANT in pending
            if not (_has_main(state, db, key) or waiting):
                return None  # the project makes the main tenant
        return branch, databases

    def _databases(self, commit: str) -> list[str] | None:
        """The databases cinch.toml lists at ``commit``; None if it cannot be read plainly."""
        config = _git(self.root, "show", f"{commit}:{CONFIG_FILE}")
        if config is None or config.returncode != 0:
            return None
        try:
            databases = tomllib.loads(config.stdout.decode()).get("databases", ["main"])
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        if not (isinstance(databases, list) and databases
                and all(isinstance(d, str) for d in databases)):
            return None
        try:  # each name becomes a folder under .cinch/synced: only names cinch would accept
            for db in databases:
                check_name(db, "database")
        except CinchError:
            return None
        return databases

    def _clean(self, commit: str) -> bool:
        """Whether the work tree is as ``commit`` has it, proven from the index that libgit2
        last found equal to that commit (see :func:`record_clean`)."""
        try:
            known, checksum = (_folder(self.root) / CLEAN_FILE).read_text().split()
        except (OSError, ValueError):
            return False
        return known == commit and gitfiles.clean_work_tree(self.git, checksum)

    def _hooks_missing(self) -> list[str] | None:
        """As :func:`cinch.engine.hooks.missing`; None when git's config may say more than
        the repository's own config file."""
        from cinch.engine.hooks import DRIVER, missing_in

        hooks_dir = self.git.hooks_dir
        driver = self.git.config_value("merge", DRIVER, "driver")
        if hooks_dir is None or driver is None:
            return None
        return missing_in(hooks_dir, driver)

    def _tenant_counts(self, state: Path, branch: str,
                       summary: dict[str, Any]) -> dict[str, dict[str, int]] | None:
        key = _short_key(branch)
        if key is None:
            return None
        for name in summary["order"]:
            if not _has_main(state, name, key):
                return None  # the project creates the main tenant first
        catalog = _catalog(state)
        try:
            return {name: catalog.counts(name, branch, summary["databases"][name]["ledger"])
                    for name in summary["order"]}
        finally:
            catalog.close()


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    """``git ARGS`` in the work tree (as git itself runs a hook there); None if it cannot run."""
    try:
        return subprocess.run(["git", *args], cwd=root, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _short_key(branch: str) -> str | None:
    """The tenant store's folder name for ``branch``; None for a name the store shortens (it
    knows how) or one it would refuse (it says why)."""
    if branch.startswith(".") or "\x00" in branch:
        return None
    key = branch.replace("%", "%25").replace("/", "%2F")
    return None if len(key.encode()) > 100 else key


def _catalog(state: Path) -> Catalog:
    """The tenant catalog, unable to read tenant files: what needs them is :class:`_Unsure`."""
    from cinch.stores.catalog import Catalog

    def unsure(*_: object) -> Any:
        raise _Unsure

    return Catalog(state / "catalog.db", probe=unsure, scan=unsure)


def _has_main(state: Path, db: str, key: str) -> bool:
    """Whether the branch (by its store key) has its main tenant's file."""
    return os.path.isfile(state / "tenants" / db / key / f"{MAIN_TENANT}.db")


def _fork_record(state: Path, db: str, key: str) -> dict[str, Any] | None:
    """The branch's fork record (parent, pending tenants), if it has a readable one."""
    try:
        data = json.loads((state / "forks" / db / f"{key}.json").read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _fork_parent(state: Path, db: str, key: str) -> str:
    record = _fork_record(state, db, key)
    parent = record.get("parent") if record is not None else None
    return str(parent) if parent is not None else "the parent branch"


def _match(summary: dict[str, Any], database: str | None) -> str | None:
    name = database or "main"
    check_name(name, "database")
    return next((d for d in summary["order"] if d.lower() == name.lower()), None)


def glance(directory: str | os.PathLike[str] | None = None) -> Glance:
    """The project holding ``directory`` (found as :func:`cinch.open` finds it), read only as
    far as it can be without opening it."""
    return Glance(find_root(Path(directory) if directory is not None else None))
