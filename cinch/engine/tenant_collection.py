"""``Database.tenants``: the tenants of one database on one branch, as a collection.

A thin face over the tenant engine (``cinch.engine.tenants``): every method names the tenants
by name only, and the engine takes the project lock for what changes files.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cinch.engine.tenant import Tenant
from cinch.engine.tenants import TenantInfo
from cinch.errors import UsageError

if TYPE_CHECKING:
    from cinch.engine.database import Database
    from cinch.engine.repair import RepairPlan


class TenantCollection:
    """The tenants of ``database`` on its branch. Iterating gives their names (sorted);
    :meth:`get` gives a :class:`~cinch.Tenant` to query and write.

    >>> db.tenants.create("acme", "globex")
    >>> [t.name for t in db.tenants.list(limit=10)]
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._engine = database.project.tenants

    def __repr__(self) -> str:
        return f"<cinch.TenantCollection of {self.database.name}@{self.database.branch}>"

    @property
    def _where(self) -> tuple[str, str]:
        return self.database.name, self.database.branch

    def names(self) -> list[str]:
        """Every tenant's name, sorted (``main`` always exists)."""
        return self._engine.names(*self._where)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def ready(self, name: str) -> bool:
        """Whether ``name`` has a file of its own here now, so :meth:`get` creates and copies
        nothing (False for a tenant of a new branch not copied yet, and for none at all)."""
        return self._engine.store.exists(*self._where, name)

    def create(self, *names: str) -> list[Tenant]:
        """Create tenants at the branch's schema (file copies of the branch template), all
        of them or none; :class:`~cinch.errors.AlreadyExists` if one exists already."""
        if not names:
            raise UsageError("name at least one tenant to create")
        self._engine.create_many(*self._where, list(names))
        return [self.get(name) for name in names]

    def create_many(self, names: list[str]) -> list[Tenant]:
        """``create(*names)`` for a list."""
        return self.create(*names)

    def get(self, name: str) -> Tenant:
        """The tenant ``name``; :class:`~cinch.errors.NotFound` if there is none. A tenant of
        a new branch not copied from its parent yet is copied now."""
        db, branch = self._where
        return Tenant(self.database.project, db, branch, name, owner=self.database)

    def info(self, name: str) -> TenantInfo:
        """One tenant's size and schema state; looking never copies a lazy tenant."""
        return self._engine.info(*self._where, name)

    def list(self, limit: int | None = None, after: str | None = None) -> builtins.list[TenantInfo]:
        """Tenants sorted by name with their size and schema state (up to date, behind,
        drifted, not copied yet): the first ``limit`` after the name ``after``."""
        if limit is not None and limit < 0:
            raise UsageError(f"limit must be 0 or more, not {limit}", limit=limit)
        if limit is None and after is None:
            return self._engine.infos(*self._where)
        if limit is None:
            names = [n for n in self.names() if n > after]  # type: ignore[operator]
            return self._engine.infos(*self._where, names)
        # A page: the tenant catalog picks the names, only their files are opened.
        rows = self._engine.page(*self._where, after=after, limit=limit)[0]
        from cinch.engine import glance

        # what the next page can be answered from without opening the project
        glance.record(self._engine.project, self._engine._head(self._where[1]))
        return rows

    def page(self, *, after: str | None = None, limit: int = 100,
             keep: Callable[[str], bool] | None = None,
             ) -> tuple[builtins.list[TenantInfo], str | None]:
        """Up to ``limit`` tenants in name order after ``after`` (those ``keep`` accepts), and
        the name to continue after (None at the end), read from the tenant catalog."""
        return self._engine.page(*self._where, after=after, limit=limit, keep=keep)

    def copy(self, source: str, target: str) -> Tenant:
        """Copy a tenant, schema and rows, under a new name."""
        self._engine.copy(*self._where, source, target)
        return self.get(target)

    def rename(self, old: str, new: str) -> Tenant:
        """Rename a tenant (its file moves; branches forked from this one keep theirs)."""
        self._engine.rename(*self._where, old, new)
        return self.get(new)

    def adopted_file(self, name: str) -> Path | None:
        """The file a tenant adopted in place stands for (None for a tenant cinch keeps itself)."""
        target = self._engine.linked(*self._where, name)
        return Path(target) if target is not None else None

    def delete(self, name: str) -> None:
        """Delete a tenant and its data (branches forked from this one keep their copy). A
        tenant adopted in place is forgotten: its link goes, the file it stands for stays."""
        self._engine.delete(*self._where, name)

    def repair(self, name: str, *, dry_run: bool = False,
               accept_loss: bool = False) -> RepairPlan:
        """Bring a drifted tenant from the schema it has to the branch head's, rows kept;
        refused where data would be lost unless ``accept_loss``."""
        from cinch.engine import repair

        return repair.repair(self.database.project, *self._where, name, dry_run=dry_run,
                             accept_loss=accept_loss)

    def repair_all(self, *, dry_run: bool = False,
                   accept_loss: bool = False) -> builtins.list[RepairPlan]:
        """:meth:`repair` for every drifted tenant."""
        from cinch.engine import repair

        return repair.repair_all(self.database.project, *self._where, dry_run=dry_run,
                                 accept_loss=accept_loss)

    def summary(self) -> dict[str, int]:
        """How many tenants are up to date, behind, drifted, not copied yet."""
        return self._engine.summary(*self._where)
