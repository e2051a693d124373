"""``cinch export migrations``: a database's change log as numbered plain-SQL migration files,
so other tools (golang-migrate, dbmate, sqlx, a hand-run script) can run cinch's history.

One pair per change set, in apply order: ``0001_<slug>.up.sql`` holds the SQL the change set
records, ``0001_<slug>.down.sql`` the SQL of its inverse against the schema right after it
(``cinch.planner.invert``). A change with no inverse (its undo would not make sense) gets no
down file. A down file restores definitions, never rows: a dropped table comes back empty.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinch.errors import CinchError, UsageError
from cinch.models.changeset import ChangeSet
from cinch.models.schema import Schema
from cinch.planner.invert import invert
from cinch.planner.plan import Plan, plan_many

if TYPE_CHECKING:
    from cinch.engine.project import Project

FORMATS = ("sql",)
MARKER = "-- Exported by cinch"
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class Migration:
    number: int
    change: ChangeSet
    up: str
    down: str | None
    why_no_down: str | None = None

    @property
    def stem(self) -> str:
        slug = _SLUG.sub("_", self.change.message.lower().split("\n")[0]).strip("_")[:40]
        return f"{self.number:04d}_{slug.strip('_') or 'change'}"


@dataclass
class Export:
    database: str
    commit: str
    migrations: list[Migration] = field(default_factory=list)

    @property
    def files(self) -> dict[str, str]:
        out = {}
        for m in self.migrations:
            out[f"{m.stem}.up.sql"] = m.up
            if m.down is not None:
                out[f"{m.stem}.down.sql"] = m.down
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "commit": self.commit,
                "migrations": [{"number": m.number, "change": m.change.id,
                                "message": m.change.message, "file": f"{m.stem}.up.sql",
                                "down": f"{m.stem}.down.sql" if m.down is not None else None,
                                "why_no_down": m.why_no_down} for m in self.migrations]}

    def write(self, out: str | os.PathLike[str]) -> list[str]:
        """Write every file under ``out``; a file there that cinch did not export is never
        overwritten (nothing is written then)."""
        root = Path(out)
        files = self.files
        for name in files:
            path = root / name
            if path.exists() and MARKER not in path.read_text(errors="replace")[:200]:
                raise UsageError(f"{path} exists and was not exported by cinch; nothing was "
                                 "written", hint="choose another --out folder", path=str(path))
        root.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        return sorted(files)


def _script(statements: list[str], plan: Plan) -> str:
    body = "".join(f"{s};\n" for s in statements)
    if plan.rebuild:
        # A table rebuild (https://sqlite.org/lang_altertable.html#otheralter) runs with foreign
        # keys off; they are switched back on and checked afterwards.
        body = ("PRAGMA foreign_keys = OFF;\n" + body + "PRAGMA foreign_key_check;\n"
                "PRAGMA foreign_keys = ON;\n")
    return body


def _header(change: ChangeSet, direction: str, commit: str) -> str:
    first = change.message.split("\n")[0]
    return (f"{MARKER} from commit {commit}: change set {change.id} ({direction}).\n"
            f"-- {first}\n-- Author: {change.author.name} <{change.author.email}>, "
            f"{change.created_at.strftime('%Y-%m-%dT%H:%M:%SZ')}\n\n")


def migrations(project: Project, *, database: str | None = None, rev: str | None = None,
               branch: str | None = None, format: str = "sql") -> Export:
    """The change log of ``database`` at ``rev`` (default: the branch tip) as migrations."""
    if format not in FORMATS:
        raise UsageError(f"export format {format!r} is not supported; choose one of "
                         f"{', '.join(FORMATS)}", format=format)
    db = project.database(database, branch=branch)
    commit = project.git.resolve(rev) if rev else db.head
    export = Export(database=db.name, commit=commit)
    schema = Schema()
    for number, change in enumerate(project.history.changes(commit, db.name), start=1):
        up_plan, after = plan_many(schema, change.operations)
        up = _header(change, "up", commit) + _script(change.sql, up_plan)
        down: str | None = None
        why: str | None = None
        try:
            down_plan, _ = plan_many(after, invert(change.operations, after))
        except CinchError as exc:
            why = exc.message
        else:
            down = _header(change, "down", commit) + _script(down_plan.statements, down_plan)
        export.migrations.append(Migration(number, change, up, down, why))
        schema = after
    return export
