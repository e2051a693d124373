"""The change log of a database at a commit, in the order tenants apply it.

Order is defined by git's first-parent history: a commit's log is its first parent's log, then
the change sets its merge brought in (in the second parent's own order), then any others new in
the commit (by id, which sorts by time). So a tenant that followed its branch commit by commit
holds exactly a prefix of the log, and a merge appends: it never reorders what was applied.

Caches. Commits are immutable, so nothing cached here ever goes stale:

- in memory, every commit of a first-parent line shares one list (each holds a prefix of it),
  so knowing the log of every commit of a 10,000-commit branch costs one list, not 10,000;
- a commit's step is found from the ``schema/<db>/changes`` folder's tree id and libgit2's tree
  diff against its first parent (unchanged folder: nothing to read);
- on disk, under ``.cinch/cache/`` (local state, never committed): the log of a commit with the
  log lengths of all its first-parent ancestors (``log/<db>/<commit>.json``) and the schema
  replayed at a commit (``schema/<db>/<commit>.json``), written atomically once a result took
  real work, a few per database kept. A missing, unreadable or corrupt file is ignored (and
  written again); a fresh process then starts from the nearest cached point instead of the root.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
import types
import typing
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cinch.errors import CorruptChangeFile
from cinch.models.changeset import ChangeSet, change_id_of, parse_change
from cinch.models.schema import Schema
from cinch.planner.plan import apply_op
from cinch.stores.gitstore import GitStore

CACHE_FORMAT = 1


def changes_dir(db: str) -> str:
    return f"schema/{db}/changes"


def schema_file(db: str) -> str:
    return f"schema/{db}/schema.sql"


@dataclass(frozen=True)
class LogEntry:
    id: str
    path: str
    blob: str


class _Run:
    """One log shared by the commits of a first-parent line: each holds a prefix of it.

    Only ever appended to, so a (run, length) pair stays valid; a line that leaves another one
    part-way gets its own copy of the prefix.
    """

    __slots__ = ("entries", "pos")

    def __init__(self, entries: list[LogEntry]) -> None:
        self.entries = entries
        self.pos = {e.id: i for i, e in enumerate(entries)}

    def has(self, change_id: str, length: int) -> bool:
        return self.pos.get(change_id, length) < length

    def extended(self, length: int, new: list[LogEntry]) -> _Run:
        run = self if length == len(self.entries) else _Run(self.entries[:length])
        for entry in new:
            run.pos[entry.id] = len(run.entries)
            run.entries.append(entry)
        return run


class _Chain:
    """A log file read from disk: the log of its commit, and the log length at each of the
    commit's first-parent ancestors (looked up on demand, not copied into the node table)."""

    __slots__ = ("commits", "index", "lengths", "run")

    def __init__(self, run: _Run, commits: list[str], lengths: list[int]) -> None:
        self.run, self.commits, self.lengths = run, commits, lengths
        self.index = dict(zip(commits, range(len(commits)), strict=True))


class History:
    """Reads and caches change logs and schemas. Commits are immutable, so caches never go stale."""

    # A result is written to the disk cache once it took this many commits walked (logs) or
    # change sets replayed (schemas) past the nearest cached point; KEEP files per database.
    PERSIST_AFTER = 64
    KEEP = 16

    def __init__(self, git: GitStore, cache_dir: Path | None = None) -> None:
        self.git = git
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        # (commit, db) -> (run, length, commits since a point on disk)
        self._nodes: dict[tuple[str, str], tuple[_Run, int, int]] = {}
        self._parent: dict[str, str | None] = {}  # first parents of the commits walked
        self._chains: dict[str, list[_Chain]] = {}  # per database, the log files read
        self._logs: OrderedDict[tuple[str, str], tuple[LogEntry, ...]] = OrderedDict()
        self._changes: OrderedDict[str, ChangeSet] = OrderedDict()
        self._schemas: OrderedDict[tuple[str, str], Schema] = OrderedDict()
        self._on_disk: dict[tuple[str, str], set[str]] = {}  # (kind, db) -> commits with a file
        self._rewrite: set[tuple[str, str, str]] = set()  # (kind, db, commit) found corrupt
        self._primed: set[str] = set()
        # Runs are appended to in place: one thread at a time computes (the server shares a
        # Project between request threads). Re-entrant: a merge's step reads its other parent.
        self._lock = threading.RLock()

    # --- the log --------------------------------------------------------------------------

    def log(self, commit: str, db: str) -> tuple[LogEntry, ...]:
        """Entries of ``db``'s change log at ``commit``, in apply order."""
        key = (commit, db)
        with self._lock:
            cached = self._logs.get(key)
            if cached is not None:
                self._logs.move_to_end(key)
                return cached
            run, length, _ = self._node(commit, db)
            out = tuple(run.entries[:length])
            if len(self._logs) >= 64:
                self._logs.popitem(last=False)
            self._logs[key] = out
            return out

    def added(self, commit: str, db: str) -> list[LogEntry]:
        """The entries ``commit`` appended to its first parent's log (all of them for a root)."""
        with self._lock:
            run, length, _ = self._node(commit, db)
            parent = self._first_parent(commit)
            start = self._node(parent, db)[1] if parent is not None else 0
            return run.entries[start:length]

    def near(self, commit: str, db: str) -> bool:
        """Whether ``commit``'s log is known or a short walk from a known one (no tree read)."""
        limit = 2 * self.PERSIST_AFTER
        with self._lock:
            if db not in self._primed:
                self._prime(db)
            cursor: str | None = commit
            for _ in range(limit):
                if cursor is None:
                    return True  # the root is close: a short walk from nothing
                if self._known(cursor, db) is not None or cursor in self._listed("log", db):
                    return True
                cursor = self._first_parent(cursor)
            return False

    def _first_parent(self, commit: str) -> str | None:
        try:
            return self._parent[commit]
        except KeyError:
            for chains in self._chains.values():
                for chain in chains:
                    i = chain.index.get(commit)
                    if i is not None and i + 1 < len(chain.commits):
                        parent = self._parent[commit] = chain.commits[i + 1]
                        return parent
            parents = self.git.parents(commit)
            parent = self._parent[commit] = parents[0] if parents else None
            return parent

    def _known(self, commit: str, db: str) -> tuple[_Run, int, int] | None:
        """The node of a commit already computed, or known from a log file read."""
        node = self._nodes.get((commit, db))
        if node is None:
            for chain in self._chains.get(db, ()):
                i = chain.index.get(commit)
                if i is not None:
                    node = self._nodes[(commit, db)] = (chain.run, chain.lengths[i], 0)
                    break
        return node

    def _node(self, commit: str, db: str) -> tuple[_Run, int, int]:
        key = (commit, db)
        node = self._known(commit, db)
        if node is not None:
            return node
        if self._load_log(commit, db):
            return self._nodes[key]
        if db not in self._primed:
            self._prime(db)
            node = self._known(commit, db)
            if node is not None:
                return node
        # Walk first parents back to a known point, then build forwards (no deep recursion).
        chain = []
        cursor: str | None = commit
        while cursor is not None:
            if self._known(cursor, db) is not None or (chain and self._load_log(cursor, db)):
                break
            chain.append(cursor)
            cursor = self._first_parent(cursor)
        if cursor is None:
            run, length, depth = _Run([]), 0, 0
        else:
            found = self._known(cursor, db)
            assert found is not None
            run, length, depth = found
        folder = changes_dir(db)
        tree = self.git.subtree_id(cursor, folder) if cursor is not None else None
        for c in reversed(chain):
            here = self.git.subtree_id(c, folder)
            if here != tree:
                run, length = self._extend(c, db, run, length, tree, here)
                tree = here
            depth += 1
            self._nodes[(c, db)] = (run, length, depth)
        if depth >= self.PERSIST_AFTER or ("log", db, commit) in self._rewrite:
            self._save_log(commit, db)
        return self._nodes[key]

    def _extend(self, commit: str, db: str, run: _Run, length: int, before: str | None,
                here: str | None) -> tuple[_Run, int]:
        """The log at ``commit`` from its first parent's (``run[:length]``, folder ``before``)."""
        folder = changes_dir(db)
        added, deleted, modified = self.git.dir_changes(before, here)
        present: dict[str, LogEntry] = {}  # the change files that are new or changed here
        for name in sorted({*added, *modified}):
            change_id = change_id_of(name)
            if change_id is None:
                if name.endswith(".json"):
                    raise CorruptChangeFile(
                        f"{folder}/{name}: a change file is named <ULID>-<slug>.json",
                        path=f"{folder}/{name}")
                continue
            present[change_id] = LogEntry(change_id, f"{folder}/{name}",
                                          added.get(name) or modified[name])
        gone = {i for n in deleted if (i := change_id_of(n)) is not None
                and run.has(i, length) and i not in present}
        if gone:  # unless another file of the folder still carries the id
            gone -= {change_id_of(n) for n in self.git.dir_entries(commit, folder)}
        if gone:
            first = sorted(gone)[0]
            raise CorruptChangeFile(
                f"change set {first} of database {db} was deleted in commit {commit[:10]}; "
                "committed change sets are immutable (revert them with `cinch revert`)",
                change=first, commit=commit)
        new: dict[str, LogEntry] = {}
        for change_id, entry in present.items():
            if run.has(change_id, length):
                known = run.entries[run.pos[change_id]]
                if known.blob != entry.blob:
                    self._check_unedited(known, entry, commit)
            else:
                new[change_id] = entry
        if not new:
            return run, length
        ordered: list[LogEntry] = []
        placed: set[str] = set()
        for other in self.git.parents(commit)[1:]:
            other_run, other_length, _ = self._node(other, db)
            hits = sorted((other_run.pos[i], i) for i in new
                          if i not in placed and other_run.has(i, other_length))
            for _, change_id in hits:
                ordered.append(new[change_id])
                placed.add(change_id)
        ordered += sorted((e for i, e in new.items() if i not in placed), key=lambda e: e.id)
        return run.extended(length, ordered), length + len(ordered)

    def _check_unedited(self, old: LogEntry, now: LogEntry, commit: str) -> None:
        """A committed change set's file may be re-encoded, never edited: name the edit."""
        edited = self.change(now)  # a broken file is reported with its path and field
        original = self.change(old)
        if edited != original:
            where = _first_difference(original.model_dump(mode="json"),
                                      edited.model_dump(mode="json")) or "(document)"
            raise CorruptChangeFile(
                f"{now.path}: field {where}: change set {old.id} was edited in commit "
                f"{commit[:10]}; committed change sets are immutable (revert the edit)",
                path=now.path, field=where, change=old.id, commit=commit)

    def change(self, entry: LogEntry) -> ChangeSet:
        cached = self._changes.get(entry.blob)
        if cached is None:
            cached = parse_change(self.git.read_blob(entry.blob), entry.path)
            if len(self._changes) > 20_000:
                self._changes.popitem(last=False)
            self._changes[entry.blob] = cached
        return cached

    def changes(self, commit: str, db: str) -> list[ChangeSet]:
        return [self.change(e) for e in self.log(commit, db)]

    # --- the schema -----------------------------------------------------------------------

    def schema(self, commit: str | None, db: str) -> Schema:
        """The schema the log at ``commit`` builds (replayed from the nearest cached point)."""
        if commit is None:
            return Schema()
        with self._lock:
            cached = self._schemas.get((commit, db))
            if cached is not None:
                self._schemas.move_to_end((commit, db))
                return cached
            return self._compute_schema(commit, db)

    def _compute_schema(self, commit: str, db: str) -> Schema:
        key = (commit, db)
        state = self._load_schema(commit, db)
        if state is not None:
            self._remember(key, state)
            return state
        run, length, _ = self._node(commit, db)
        # The nearest first-parent ancestor whose schema is known: its log is a prefix of ours.
        base, start = None, 0
        cursor: str | None = commit
        while (cursor := self._first_parent(cursor)) is not None:
            node = self._known(cursor, db)
            if node is None:
                break
            base = self._schemas.get((cursor, db))
            if base is None:
                base = self._load_schema(cursor, db)
            if base is not None:
                self._remember((cursor, db), base)
                start = node[1]
                break
        entries = run.entries[start:length]
        if base is None:
            state = Schema()
            for entry in entries:
                for op in self.change(entry).operations:
                    apply_op(state, op, copy=False)
        else:
            state = base
            for entry in entries:  # copy-on-write: the cached base is left as it is
                for op in self.change(entry).operations:
                    state = apply_op(state, op)
        self._remember(key, state)
        if len(entries) >= self.PERSIST_AFTER or ("schema", db, commit) in self._rewrite:
            self._save("schema", db, commit, _schema_file(db, commit, state))
        return state

    def _remember(self, key: tuple[str, str], schema: Schema) -> None:
        if len(self._schemas) > 64:
            self._schemas.popitem(last=False)
        self._schemas[key] = schema

    def remember(self, commit: str, db: str, schema: Schema) -> None:
        """The engine just computed the schema at a commit it made: keep it."""
        with self._lock:
            self._remember((commit, db), schema)

    # --- the disk cache -------------------------------------------------------------------

    def _folder(self, kind: str, db: str) -> Path | None:
        return self.cache_dir / kind / db if self.cache_dir is not None else None

    def _listed(self, kind: str, db: str) -> set[str]:
        """Commits with a cache file of ``kind``, listed once per History (then kept current)."""
        found = self._on_disk.get((kind, db))
        if found is None:
            folder = self._folder(kind, db)
            try:
                names = os.listdir(folder) if folder is not None else []
            except OSError:
                names = []
            found = self._on_disk[(kind, db)] = {
                n.removesuffix(".json") for n in names
                if n.endswith(".json") and not n.startswith(".")}
        return found

    def _read(self, kind: str, db: str, commit: str) -> bytes | None:
        if commit not in self._listed(kind, db):
            return None
        folder = self._folder(kind, db)
        assert folder is not None
        try:
            return (folder / f"{commit}.json").read_bytes()
        except OSError:
            self._listed(kind, db).discard(commit)
            return None

    def _corrupt(self, kind: str, db: str, commit: str) -> None:
        """Ignore a cache file that does not read back; it is written again once computed."""
        self._listed(kind, db).discard(commit)
        self._rewrite.add((kind, db, commit))
        folder = self._folder(kind, db)
        if folder is not None:
            with contextlib.suppress(OSError):
                (folder / f"{commit}.json").unlink()

    def _save(self, kind: str, db: str, commit: str, data: bytes) -> None:
        """Write atomically (temporary file, then rename); keep the KEEP newest files."""
        self._rewrite.discard((kind, db, commit))
        folder = self._folder(kind, db)
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{commit}.json"
            tmp = folder / f".{commit}.{os.getpid()}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, target)
            listed = self._listed(kind, db)
            listed.add(commit)
            if len(listed) > self.KEEP:
                files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
                for old in files[:max(0, len(files) - self.KEEP)]:
                    old.unlink(missing_ok=True)
                    listed.discard(old.stem)
        except OSError:
            pass  # a cache: a read-only or full disk only makes the next start slower

    def _save_log(self, commit: str, db: str) -> None:
        run, length, _ = self._nodes[(commit, db)]
        commits: list[str] = []
        lengths: list[int] = []
        cursor: str | None = commit
        while cursor is not None and (node := self._known(cursor, db)) is not None:
            commits.append(cursor)
            lengths.append(node[1])
            cursor = self._first_parent(cursor)
        prefix = f"{changes_dir(db)}/"
        data = {"format": CACHE_FORMAT, "db": db, "commit": commit, "commits": commits,
                "lengths": lengths, "entries": [[e.id, e.path.removeprefix(prefix), e.blob]
                                                for e in run.entries[:length]]}
        self._save("log", db, commit, json.dumps(data, separators=(",", ":")).encode())
        self._nodes[(commit, db)] = (run, length, 0)

    def _load_log(self, commit: str, db: str) -> bool:
        raw = self._read("log", db, commit)
        if raw is None:
            return False
        try:
            data = json.loads(raw)
            if data["format"] != CACHE_FORMAT or data["commit"] != commit or data["db"] != db:
                raise ValueError("another commit's file")
            prefix = f"{changes_dir(db)}/"
            entries = []
            for change_id, name, blob in data["entries"]:
                if not (isinstance(change_id, str) and isinstance(name, str) and
                        isinstance(blob, str) and len(change_id) == 26 and
                        name.startswith(change_id) and len(blob) == 40):
                    raise ValueError("not an entry")
                entries.append(LogEntry(change_id, prefix + name, blob))
            run = _Run(entries)
            if len(run.pos) != len(entries):
                raise ValueError("a change set twice")
            commits, lengths = data["commits"], data["lengths"]
            if not (isinstance(commits, list) and isinstance(lengths, list) and
                    len(commits) == len(lengths) and commits and commits[0] == commit and
                    lengths[0] == len(entries)):
                raise ValueError("the chain does not start at the commit")
            if not all(isinstance(c, str) and len(c) == 40 for c in commits):
                raise ValueError("not a commit id")
            if not (all(type(n) is int for n in lengths) and lengths[-1] >= 0 and
                    all(a >= b for a, b in itertools.pairwise(lengths))):
                raise ValueError("log lengths do not shrink towards the root")
        except (ValueError, TypeError, KeyError, AttributeError):
            self._corrupt("log", db, commit)
            return False
        self._chains.setdefault(db, []).append(_Chain(run, commits, lengths))
        self._nodes.setdefault((commit, db), (run, len(entries), 0))
        return True

    def _prime(self, db: str) -> None:
        """Load the newest log file of ``db``: it knows every first-parent ancestor of a recent
        head, so an older commit of that line needs no walk at all."""
        self._primed.add(db)
        folder = self._folder(db=db, kind="log")
        listed = self._listed("log", db)
        if folder is None or not listed:
            return
        newest = None
        with contextlib.suppress(OSError):
            newest = max(listed, key=lambda c: (folder / f"{c}.json").stat().st_mtime_ns)
        if newest is not None and self._known(newest, db) is None:
            self._load_log(newest, db)

    def _load_schema(self, commit: str, db: str) -> Schema | None:
        raw = self._read("schema", db, commit)
        if raw is None:
            return None
        try:
            head, _, body = raw.partition(b"\n")
            meta = json.loads(head)
            if meta != {"format": CACHE_FORMAT, "db": db, "commit": commit,
                        "sha256": hashlib.sha256(body).hexdigest()}:
                raise ValueError("not this commit's schema, or damaged")
            # Written by us from a validated Schema and checked by its digest: rebuilt without
            # validating every column again (a large schema's validation is most of `status`).
            return _trusted(Schema, json.loads(body))
        except (ValueError, TypeError, KeyError, AttributeError):
            self._corrupt("schema", db, commit)
            return None


def _schema_file(db: str, commit: str, schema: Schema) -> bytes:
    """A schema cache file: one line naming the commit and the body's digest, then the body."""
    body = schema.model_dump_json().encode()
    meta = {"format": CACHE_FORMAT, "db": db, "commit": commit,
            "sha256": hashlib.sha256(body).hexdigest()}
    return json.dumps(meta).encode() + b"\n" + body


_PLANS: dict[type, list[tuple[str, str, type | None]]] = {}


def _plan(model: type[BaseModel]) -> list[tuple[str, str, type | None]]:
    """How to rebuild each field of ``model`` from its JSON: as is, as a model, a list of
    models, or a model or None. Any other shape holding a model is refused (so validated)."""
    plan = _PLANS.get(model)
    if plan is not None:
        return plan
    plan = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        args = typing.get_args(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            plan.append((name, "model", ann))
        elif typing.get_origin(ann) is list and args and isinstance(args[0], type) and \
                issubclass(args[0], BaseModel):
            plan.append((name, "list", args[0]))
        elif typing.get_origin(ann) in (typing.Union, types.UnionType) and any(
                isinstance(a, type) and issubclass(a, BaseModel) for a in args):
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if len(models) != 1 or set(args) - {models[0], type(None)}:
                raise TypeError(f"{model.__name__}.{name}: no trusted rebuild")
            plan.append((name, "optional", models[0]))
        elif "BaseModel" in repr(ann) or any(
                isinstance(a, type) and issubclass(a, BaseModel) for a in args):
            raise TypeError(f"{model.__name__}.{name}: no trusted rebuild")
        else:
            plan.append((name, "plain", None))
    _PLANS[model] = plan
    return plan


def _trusted(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """``model`` from the JSON its own ``model_dump_json`` wrote, without validation."""
    values: dict[str, Any] = {}
    for name, kind, sub in _plan(model):
        if name not in data:
            continue
        value = data[name]
        if kind == "model" or (kind == "optional" and value is not None):
            value = _trusted(sub, value)  # type: ignore[arg-type]
        elif kind == "list":
            value = [_trusted(sub, item) for item in value]  # type: ignore[arg-type]
        values[name] = value
    return model.model_construct(**values)


def _first_difference(a: object, b: object, where: str = "") -> str | None:
    """The dotted path of the first place two JSON values differ (None if they are equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            found = _first_difference(a.get(key), b.get(key), f"{where}.{key}" if where else key)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            found = _first_difference(a[i] if i < len(a) else None, b[i] if i < len(b) else None,
                                      f"{where}.{i}" if where else str(i))
            if found is not None:
                return found
        return None
    return None if a == b else where
