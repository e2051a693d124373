"""The tenant catalog seen from the engine: what a tenant's file says (for the catalog to
correct itself after a crash), the branch summary ``cinch status`` prints, and a page of
``tenant list``, each without opening every tenant (see ``cinch.stores.catalog``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from cinch.stores import tenantstore as ts
from cinch.stores.catalog import Catalog, Record

__all__ = ["Record", "open_catalog"]

if TYPE_CHECKING:
    from cinch.engine.tenants import TenantInfo, Tenants


def open_catalog(tenants: Tenants) -> Catalog:
    return Catalog(tenants.project.state_dir / "catalog.db",
                   probe=lambda db, branch, name: probe(tenants, db, branch, name),
                   scan=lambda db, branch: scan(tenants, db, branch))


def probe(tenants: Tenants, db: str, branch: str, name: str) -> Record | None:
    """The tenant as its file (or its branch's fork record) has it; None if there is none."""
    path = tenants.store.path(db, branch, name)
    if os.path.isfile(path):
        return _read(tenants, name, path)
    tenants._forks.pop((db, branch), None)  # another process may have changed it
    fork = tenants._fork(db, branch)
    if fork is not None and name in fork.pending:
        return Record(name, None, 0, lazy=True)
    return None


def scan(tenants: Tenants, db: str, branch: str) -> Iterator[Record]:
    """Every tenant of the branch, from its files: for a branch the catalog never saw whole."""
    tenants._forks.pop((db, branch), None)
    fork = tenants._fork(db, branch)
    files = tenants.store.paths(db, branch)
    for name, path in files.items():
        yield _read(tenants, name, path)
    for name in sorted(fork.pending - files.keys()) if fork is not None else ():
        yield Record(name, None, 0, lazy=True)


def _read(tenants: Tenants, name: str, path: os.PathLike[str]) -> Record:
    with tenants.pool.connection(path, read_only=True) as conn:
        state = ts.read_state(conn)
        held = ts.read_ledger(conn)
        reason = ts.drift(conn, held, state)
    return Record(name, state.get("ledger") or ts.ledger_digest(held), len(held), False, reason)


def at_head(tenants: Tenants, db: str, head: str, name: str) -> Record:
    """A tenant as it is once brought to ``head`` (a copy of the template, or moved)."""
    changes, digest = tenants.target(db, head)
    return Record(name, digest, len(changes))


def at_head_many(tenants: Tenants, db: str, head: str, names: list[str]) -> Iterator[Record]:
    changes, digest = tenants.target(db, head)
    return (Record(name, digest, len(changes)) for name in names)


def renamed(tenants: Tenants, db: str, branch: str, old: str, new: str) -> Record:
    found = probe(tenants, db, branch, old)
    return Record(new, found.ledger if found else None, found.applied if found else 0,
                  found.lazy if found else False, found.drifted if found else None)


def summary(tenants: Tenants, db: str, branch: str) -> dict[str, int]:
    """How many tenants are up to date, behind, drifted (as last found by a move or by reading
    the file) and not copied yet: from the catalog, one grouped read."""
    _, digest = tenants.target(db, tenants._head(branch))
    return tenants.catalog.counts(db, branch, digest)


def page(tenants: Tenants, db: str, branch: str, *, after: str | None, limit: int,
         keep: Callable[[str], bool] | None = None) -> tuple[list[TenantInfo], str | None]:
    """Up to ``limit`` tenants after the name ``after`` (those ``keep`` accepts) and the name
    to continue after (None at the end): states from the catalog, sizes from one ``stat`` per
    tenant of the page; no tenant file is opened."""
    from cinch.engine.tenants import TenantInfo

    head_changes, digest = tenants.target(db, tenants._head(branch))
    folder = os.fspath(tenants.store.folder(db, branch))
    fork = tenants._fork(db, branch)
    parent = fork.parent if fork is not None else "the parent branch"
    out: list[TenantInfo] = []
    cursor = after
    batch = max(limit, 64)
    while len(out) < limit:
        records = tenants.catalog.page(db, branch, after=cursor, limit=batch)
        for record in records:
            cursor = record.name
            if keep is not None and not keep(record.name):
                continue
            path = os.path.join(folder, record.name + ".db")
            if record.lazy:
                out.append(TenantInfo(record.name, db, branch, path, 0, 0, "not copied yet",
                                      f"copied from {parent} on first use"))
            else:
                try:
                    size = os.stat(path).st_size
                except FileNotFoundError:  # gone behind cinch's back: the catalog learns it
                    tenants.catalog.forget(db, branch, record.name)
                    continue
                with contextlib.suppress(FileNotFoundError):
                    size += os.stat(path + "-wal").st_size
                out.append(_info(TenantInfo, record, db, branch, path, size, digest,
                                 len(head_changes)))
            if len(out) == limit:
                break
        if len(records) < batch:
            break
    more = bool(out) and bool(tenants.catalog.page(db, branch, after=cursor, limit=1))
    return out, (cursor if more else None)


def _info(info: type[TenantInfo], record: Record, db: str, branch: str, path: str, size: int,
          digest: str, head_count: int) -> TenantInfo:
    state, detail = record.state(digest, head_count)
    return info(record.name, db, branch, path, size, record.applied, state,  # type: ignore[arg-type]
                detail)
