"""Adopt a folder of existing SQLite files (one per customer) as a database of the project.

Every file is read (never written); files are grouped by schema fingerprint and the largest
group's schema, exactly as SQLite holds it, becomes the database's first change set. Every file
of that group is registered as a tenant holding that change set: copied into the tenant folder
(``copy``), or left where it is and linked (``in_place``: see ``cinch.stores.links``; adoption
writes nothing into the file, which gets its ledger with the first change set applied to it).
The others are outliers, listed with how their schema differs; with ``repair`` they are copied
too and planned to the majority schema as ``cinch tenant repair`` plans a drifted tenant,
keeping their rows (a file whose repair would lose data is left out and says so).
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cinch.engine import parallel
from cinch.engine.tenant_catalog import at_head_many
from cinch.errors import CinchError, InvalidName, UsageError
from cinch.models.operations import describe
from cinch.names import check_tenant_name
from cinch.stores import tenantstore as ts
from cinch.stores.links import Seed
from cinch.stores.schema_reader import read_operations

if TYPE_CHECKING:
    from cinch.engine.project import Project

Mode = Literal["copy", "in_place"]
_USER = ("name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cinch%' ESCAPE '\\'")


@dataclass
class AdoptedFile:
    path: str
    tenant: str
    fingerprint: str = ""
    status: str = "adopt"  # adopt | outlier | repair | refused
    difference: list[str] = field(default_factory=list)
    adopted: bool = False


@dataclass
class Adoption:
    """The plan (and, once carried out, the result) of an adoption."""

    database: str
    source: str
    mode: Mode
    files: list[AdoptedFile] = field(default_factory=list)
    fingerprint: str = ""
    operations: list[str] = field(default_factory=list)
    change: str | None = None
    commit: str | None = None
    dry_run: bool = False

    @property
    def outliers(self) -> list[AdoptedFile]:
        return [f for f in self.files if f.status != "adopt"]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["adopted"] = sum(f.adopted for f in self.files)
        return out


def _user_objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(f"SELECT type, name, sql FROM sqlite_schema WHERE {_USER} "
                        "AND sql IS NOT NULL").fetchall()
    return {(kind, name): " ".join(sql.split()) for kind, name, sql in rows}


def _difference(mine: dict[tuple[str, str], str], majority: dict[tuple[str, str], str]
                ) -> list[str]:
    out = []
    for key in sorted(set(mine) | set(majority)):
        kind, name = key
        if key not in majority:
            out.append(f"{kind} {name} only here: {mine[key]}")
        elif key not in mine:
            out.append(f"{kind} {name} missing")
        elif mine[key] != majority[key]:
            out.append(f"{kind} {name} differs: {mine[key]}")
    return out


def _files(source: Path, pattern: str) -> list[Path]:
    try:
        if source.is_file():
            return [source]
        is_dir = source.is_dir()
    except OSError as exc:  # a name too long, a folder that cannot be read, ...
        raise UsageError(f"cannot read {str(source)[:200]}: {exc.strerror or exc}",
                         path=str(source)[:200]) from exc
    if not is_dir:
        raise UsageError(f"{source} is neither a SQLite file nor a folder", path=str(source))
    try:
        files = sorted(p for p in source.glob(pattern) if p.is_file())
    except (OSError, ValueError, NotImplementedError) as exc:
        raise UsageError(f"cannot list {source} with the pattern {pattern!r}: {exc}",
                         path=str(source), pattern=pattern) from exc
    if not files:
        raise UsageError(f"{source} holds no files matching {pattern!r}", path=str(source),
                         pattern=pattern)
    return files


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def plan_adoption(source: str | os.PathLike[str], *, database: str = "main",
                  pattern: str = "*.db", mode: Mode = "copy",
                  repair: bool = False, dry_run: bool = True) -> tuple[Adoption, list[Any]]:
    """Read every file; the plan, and the operations building the majority schema. With
    ``dry_run=False`` a mode that could not be carried out is refused first."""
    check_mode(mode, dry_run=dry_run, repair=repair)
    root = Path(source)
    plan = Adoption(database=database, source=str(root), mode=mode)
    objects: dict[str, dict[tuple[str, str], str]] = {}
    representative: dict[str, Path] = {}
    names: Counter[str] = Counter()
    for path in _files(root, pattern):
        entry = AdoptedFile(path=str(path), tenant=path.stem)
        plan.files.append(entry)
        names[path.stem] += 1
        try:
            check_tenant_name(entry.tenant)
        except InvalidName as exc:
            entry.status, entry.difference = "refused", [exc.message]
            continue
        try:
            conn = _open_read_only(path)
            try:
                if ts.holds_ledger(conn):
                    entry.status, entry.difference = "refused", ["already a cinch tenant"]
                    continue
                entry.fingerprint = ts.schema_fingerprint(conn)
                objects.setdefault(entry.fingerprint, _user_objects(conn))
                representative.setdefault(entry.fingerprint, path)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            entry.status, entry.difference = "refused", [f"not a SQLite database ({exc})"]
    for entry in plan.files:
        if names[entry.tenant] > 1 and entry.status == "adopt":
            entry.status, entry.difference = "refused", [
                f"another file also becomes tenant {entry.tenant!r}"]
    counts = Counter(f.fingerprint for f in plan.files if f.status == "adopt")
    if not counts:
        raise UsageError(f"no SQLite file under {root} can be adopted", path=str(root),
                         files=[asdict(f) for f in plan.files[:20]])
    # The largest group wins; a tie goes to the group whose first file sorts first.
    order = [f.fingerprint for f in plan.files if f.status == "adopt"]
    plan.fingerprint = max(counts, key=lambda fp: (counts[fp], -order.index(fp)))
    majority = objects[plan.fingerprint]
    for entry in plan.files:
        if entry.status == "adopt" and entry.fingerprint != plan.fingerprint:
            entry.status = "repair" if repair else "outlier"
            entry.difference = _difference(objects[entry.fingerprint], majority)
    conn = _open_read_only(representative[plan.fingerprint])
    try:
        ops = read_operations(conn)
    finally:
        conn.close()
    if not ops:
        raise UsageError(f"{representative[plan.fingerprint]} holds no schema to adopt",
                         path=str(representative[plan.fingerprint]))
    plan.operations = [describe(op) for op in ops]
    return plan, ops


def check_mode(mode: str, *, dry_run: bool = False, repair: bool = False) -> None:
    """Refuse a mode adoption cannot carry out, before anything is made."""
    if mode not in ("copy", "in_place"):
        raise UsageError(f"mode must be copy or in_place, not {mode!r}", mode=mode)
    if mode == "in_place" and repair:
        # Repairing writes the file, and adopting in place promises not to.
        raise UsageError("--repair changes the outliers' files, which adopting in place never "
                         "does: adopt in place without --repair (outliers are listed and left "
                         "alone), or adopt with --copy --repair", mode=mode)


def adopt(project: Project, source: str | os.PathLike[str], *, database: str | None = None,
          pattern: str = "*.db", mode: Mode = "copy", dry_run: bool = False,
          repair: bool = False, create: bool = False) -> Adoption:
    """Plan, and unless ``dry_run`` carry out, the adoption of ``source`` (see module doc).

    ``create`` makes ``database`` first (``cinch db adopt``); otherwise it must exist and have
    no change set yet (a project just made by ``cinch init``)."""
    check_mode(mode, dry_run=dry_run, repair=repair)
    name = database or project.config().databases[0]
    exists = any(d.lower() == name.lower() for d in project.databases())
    if create and exists:
        raise UsageError(f"database {name!r} exists already; adopt into a new one", database=name)
    if not create and not exists:
        raise UsageError(f"no database named {name!r}; cinch db adopt PATH --db {name} makes "
                         "one", database=name)
    if exists and project.database(name).changes():
        raise UsageError(f"database {name!r} has change sets already; adopt into a new "
                         "database (cinch db adopt PATH --db NAME)", database=name)
    plan, ops = plan_adoption(source, database=name, pattern=pattern, mode=mode, repair=repair)
    plan.dry_run = dry_run
    if dry_run:
        return plan
    if create:
        project.create_database(name)
    db = project.database(name)
    adopted = sum(f.status == "adopt" for f in plan.files)
    result = db.change(ops, f"Adopt the schema of {adopted} database file(s) from "
                            f"{Path(source).name or source}")
    plan.change, plan.commit = result.change.id, result.commit
    target = [(result.change.id, result.change.to_json())]
    schema = db.schema()
    tenants = project.tenants
    # The majority first (copied on parallel workers), then the outliers being repaired.
    registering = [f for f in plan.files if f.status == "adopt"] + \
        [f for f in plan.files if f.status == "repair"]
    with tenants.moving(name, db.branch):
        # The catalog learns of every tenant (status and tenant list read it, not the files)
        # before the files appear; one refused on the way is forgotten again.
        records = at_head_many(tenants, name, result.commit, [f.tenant for f in registering])
        with tenants.catalog.changing(name, db.branch, records):
            fast = [f for f in registering if f.status == "adopt" and mode == "copy"]
            _copy_all(project, plan, fast, target)
            for entry in registering[len(fast):] if mode == "copy" else registering:
                _register(project, plan, entry, target, schema)
        for entry in registering:
            if not entry.adopted:
                tenants.catalog.forget(name, db.branch, entry.tenant)
    return plan


def _copy_all(project: Project, plan: Adoption, entries: list[AdoptedFile],
              target: list[tuple[str, bytes]]) -> None:
    """The files of the majority schema, copied as tenants on parallel workers: each copy
    gets its ledger in one pass with no journal (it is not a tenant until published), one
    fsync, then its name; the folder is synced once at the end. Every file of the group has
    the same schema, so the state recorded in each is known without reading it again."""
    tenants = project.tenants
    db, branch = plan.database, project.database(plan.database).branch
    commit = plan.commit or ""

    def one(entry: AdoptedFile) -> None:
        dest = tenants.store.path(db, branch, entry.tenant)
        if os.path.lexists(dest):
            # Only the tenant made with the database (``main``) can be here: empty, replaced.
            tenants.pool.close_path(dest)
            tenants.store.delete(db, branch, entry.tenant)
        tenants.store.create_from_file(
            Path(entry.path).resolve(), db, branch, entry.tenant,
            lambda tmp: ts.seed_adopted(tmp, target, commit, plan.fingerprint))

    for entry, outcome in parallel.each(entries, one, parallel.worker_count()):
        if isinstance(outcome, CinchError):
            entry.status, entry.difference = "refused", [*entry.difference, outcome.message]
        elif isinstance(outcome, Exception):
            raise outcome
        else:
            entry.adopted = True
    if entries:
        tenants.store.sync_folder(db, branch)


def _register(project: Project, plan: Adoption, entry: AdoptedFile,
              target: list[tuple[str, bytes]], schema: Any) -> None:
    from cinch.engine.repair import plan_repair

    tenants = project.tenants
    db, branch = plan.database, project.database(plan.database).branch
    dest = tenants.store.path(db, branch, entry.tenant)
    if dest.exists():
        # Only the tenant made with the database (``main``) can be here: empty, replaced.
        tenants.pool.close_path(dest)
        tenants.store.delete(db, branch, entry.tenant)
    if plan.mode == "in_place":
        (change_id, body), = target
        tenants.store.link(db, branch, entry.tenant, Seed(
            target=str(Path(entry.path).resolve()), changes=((change_id, plan.commit or ""),),
            bodies=((change_id, body),), fingerprint=entry.fingerprint))
        entry.adopted = True
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    ts.copy_database(Path(entry.path).resolve(), dest)
    statements: list[str] = []
    try:
        with tenants.pool.connection(dest) as conn:
            if entry.status == "repair":
                statements, losses = plan_repair(conn, schema, db)
                if losses:
                    raise UsageError(f"repairing it would lose data: {'; '.join(losses)}")
            ts.reset_ledger(conn, statements, target, plan.commit or "")
    except CinchError as exc:
        tenants.pool.close_path(dest)
        dest.unlink()
        entry.difference.append(exc.message)
        entry.status = "refused"
        return
    entry.adopted = True


