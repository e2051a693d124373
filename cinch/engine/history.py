"""The change log of a database at a commit, in the order tenants apply it.

Order is defined by git's first-parent history: a commit's log is its first parent's log, then
the change sets its merge brought in (in the second parent's own order), then any others new in
the commit (by id, which sorts by time). So a tenant that followed its branch commit by commit
holds exactly a prefix of the log, and a merge appends: it never reorders what was applied.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from cinch.errors import CorruptChangeFile
from cinch.models.changeset import ChangeSet, change_id_of, parse_change
from cinch.models.schema import Schema
from cinch.planner.plan import apply_op
from cinch.stores.gitstore import GitStore


def changes_dir(db: str) -> str:
    return f"schema/{db}/changes"


def schema_file(db: str) -> str:
    return f"schema/{db}/schema.sql"


@dataclass(frozen=True)
class LogEntry:
    id: str
    path: str
    blob: str


class History:
    """Reads and caches change logs and schemas. Commits are immutable, so caches never go stale."""

    def __init__(self, git: GitStore) -> None:
        self.git = git
        self._order: dict[tuple[str, str], tuple[LogEntry, ...]] = {}
        self._changes: OrderedDict[str, ChangeSet] = OrderedDict()
        self._schemas: OrderedDict[tuple[str, str], Schema] = OrderedDict()

    def _entries(self, commit: str, db: str) -> dict[str, LogEntry]:
        out = {}
        folder = changes_dir(db)
        for name, blob in self.git.dir_entries(commit, folder).items():
            change_id = change_id_of(name)
            if change_id is None:
                if name.endswith(".json"):
                    raise CorruptChangeFile(
                        f"{folder}/{name}: a change file is named <ULID>-<slug>.json",
                        path=f"{folder}/{name}")
                continue
            out[change_id] = LogEntry(change_id, f"{folder}/{name}", blob)
        return out

    def log(self, commit: str, db: str) -> tuple[LogEntry, ...]:
        """Entries of ``db``'s change log at ``commit``, in apply order."""
        key = (commit, db)
        if key in self._order:
            return self._order[key]
        # Walk first parents back to a known point, then build forwards (no deep recursion).
        chain = []
        cursor: str | None = commit
        while cursor is not None and (cursor, db) not in self._order:
            chain.append(cursor)
            parents = self.git.parents(cursor)
            cursor = parents[0] if parents else None
        base: tuple[LogEntry, ...] = self._order[(cursor, db)] if cursor else ()
        for c in reversed(chain):
            base = self._extend(c, db, base)
            self._order[(c, db)] = base
        return base

    def _extend(self, commit: str, db: str, base: tuple[LogEntry, ...]) -> tuple[LogEntry, ...]:
        here = self._entries(commit, db)
        known = {e.id for e in base}
        missing = known - here.keys()
        if missing:
            gone = sorted(missing)[0]
            raise CorruptChangeFile(
                f"change set {gone} of database {db} was deleted in commit {commit[:10]}; "
                "committed change sets are immutable (revert them with `cinch revert`)",
                change=gone, commit=commit)
        for entry in base:
            if here[entry.id].blob != entry.blob:
                self._check_unedited(entry, here[entry.id], commit)
        new = [e for i, e in here.items() if i not in known]
        if not new:
            return base
        parents = self.git.parents(commit)
        ordered: list[LogEntry] = []
        if len(parents) > 1:
            new_ids = {e.id for e in new}
            for other in parents[1:]:
                for entry in self.log(other, db):
                    if entry.id in new_ids and entry not in ordered:
                        ordered.append(here[entry.id])
        ordered += sorted((e for e in new if e not in ordered), key=lambda e: e.id)
        return base + tuple(ordered)

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

    def schema(self, commit: str | None, db: str) -> Schema:
        """The schema the log at ``commit`` builds (replayed from the nearest cached point)."""
        if commit is None:
            return Schema()
        key = (commit, db)
        if key in self._schemas:
            return self._schemas[key]
        entries = self.log(commit, db)
        state = Schema()
        for entry in entries:
            change = self.change(entry)
            for op in change.operations:
                apply_op(state, op, copy=False)
        self._remember(key, state)
        return state

    def _remember(self, key: tuple[str, str], schema: Schema) -> None:
        if len(self._schemas) > 64:
            self._schemas.popitem(last=False)
        self._schemas[key] = schema

    def remember(self, commit: str, db: str, schema: Schema) -> None:
        """The engine just computed the schema at a commit it made: keep it."""
        self._remember((commit, db), schema)


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
