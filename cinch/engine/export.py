"""``cinch export migrations``: a database's change log as migration files for other tools.

Formats, one migration per change set in apply order:

- ``sql``: ``0001_<slug>.up.sql`` holds the SQL the change set records, ``0001_<slug>.down.sql``
  the SQL of its inverse against the schema right after it (``cinch.planner.invert``); the
  names golang-migrate reads, and any tool (or shell loop) that runs numbered files;
- ``dbmate``: one ``0001_<slug>.sql`` with ``-- migrate:up`` and ``-- migrate:down`` sections;
- ``alembic``: one revision file ``0001_<slug>.py`` whose ``upgrade()``/``downgrade()`` run the
  same statements through ``op.execute``; the revision id is the change set's id and
  ``down_revision`` the previous one's, so the files chain in alembic's ``versions/`` folder.

A change with no inverse (its undo would not make sense) gets no down file (an empty down
section, a ``downgrade()`` that refuses). A down restores definitions, never rows: a dropped
table comes back empty.
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

FORMATS = ("sql", "dbmate", "alembic")
MARKER = "-- Exported by cinch"
# What write() looks for before overwriting a file: every format's header carries it.
_SIGNATURE = "Exported by cinch"
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class Migration:
    number: int
    change: ChangeSet
    up: str
    down: str | None
    why_no_down: str | None = None
    commit: str = ""
    up_statements: list[str] = field(default_factory=list)
    down_statements: list[str] | None = None

    @property
    def stem(self) -> str:
        slug = _SLUG.sub("_", self.change.message.lower().split("\n")[0]).strip("_")[:40]
        return f"{self.number:04d}_{slug.strip('_') or 'change'}"


@dataclass
class Export:
    database: str
    commit: str
    migrations: list[Migration] = field(default_factory=list)
    format: str = "sql"

    def _names(self, m: Migration) -> tuple[str, str | None]:
        """The file of a migration's up, and of its down (None: none, or the same file)."""
        if self.format == "sql":
            return f"{m.stem}.up.sql", f"{m.stem}.down.sql" if m.down is not None else None
        return f"{m.stem}.{'py' if self.format == 'alembic' else 'sql'}", None

    @property
    def files(self) -> dict[str, str]:
        out = {}
        previous: str | None = None
        for m in self.migrations:
            up, down = self._names(m)
            if self.format == "alembic":
                out[up] = _alembic(m, previous)
                previous = _revision(m)
            elif self.format == "dbmate":
                out[up] = _dbmate(m)
            else:
                out[up] = m.up
                if down is not None and m.down is not None:
                    out[down] = m.down
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "commit": self.commit, "format": self.format,
                "migrations": [{"number": m.number, "change": m.change.id,
                                "message": m.change.message, "file": self._names(m)[0],
                                "down": self._names(m)[1], "has_down": m.down is not None,
                                "why_no_down": m.why_no_down} for m in self.migrations]}

    def write(self, out: str | os.PathLike[str]) -> list[str]:
        """Write every file under ``out``; a file there that cinch did not export is never
        overwritten (nothing is written then)."""
        root = Path(out)
        files = self.files
        for name in files:
            path = root / name
            if path.exists() and _SIGNATURE not in path.read_text(errors="replace")[:200]:
                raise UsageError(f"{path} exists and was not exported by cinch; nothing was "
                                 "written", hint="choose another --out folder", path=str(path))
        root.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        return sorted(files)


def _statements(statements: list[str], plan: Plan) -> list[str]:
    if plan.rebuild:
        # A table rebuild (https://sqlite.org/lang_altertable.html#otheralter) runs with foreign
        # keys off; they are switched back on and checked afterwards.
        return ["PRAGMA foreign_keys = OFF", *statements, "PRAGMA foreign_key_check",
                "PRAGMA foreign_keys = ON"]
    return list(statements)


def _script(statements: list[str], plan: Plan) -> str:
    return "".join(f"{s};\n" for s in _statements(statements, plan))


def _dbmate(m: Migration) -> str:
    """dbmate's one file: both directions, each section its statements."""
    down = "".join(f"{s};\n" for s in m.down_statements or [])
    if m.down_statements is None:
        down = f"-- No down: {m.why_no_down}\n"
    return (_header(m.change, "up and down", m.commit) + "-- migrate:up\n"
            + "".join(f"{s};\n" for s in m.up_statements) + "\n-- migrate:down\n" + down)


def _revision(m: Migration) -> str:
    # The change set's id: unique, stable across exports, sortable like the log.
    return m.change.id.lower()


def _alembic(m: Migration, previous: str | None) -> str:
    """An alembic revision: upgrade()/downgrade() run cinch's statements through op.execute."""
    # The docstring's first line: no quotes or backslashes to end or escape it, and short, so
    # the signature stays in the file's first 200 characters.
    first = re.sub(r'["\\]', "'", m.change.message.split("\n")[0])[:100]
    down = ("    _run(DOWN)\n" if m.down_statements is not None else
            f"    raise NotImplementedError({m.why_no_down!r})\n")
    return (
        f'"""{first}\n\n'
        f"Exported by cinch from commit {m.commit}: change set {m.change.id}.\n"
        f"Author: {m.change.author.name} <{m.change.author.email}>, "
        f"{m.change.created_at.strftime('%Y-%m-%dT%H:%M:%SZ')}\n\n"
        f"Revision ID: {_revision(m)}\nRevises: {previous or ''}\n"
        '"""\n\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {_revision(m)!r}\ndown_revision = {previous!r}\n"
        "branch_labels = None\ndepends_on = None\n\n"
        f"UP = {_pylist(m.up_statements)}\n"
        f"DOWN = {_pylist(m.down_statements or [])}\n\n\n"
        "def _run(statements: list[str]) -> None:\n"
        "    for statement in statements:\n"
        "        # text() would read \":word\" in a literal as a bound parameter; cinch binds none.\n"
        "        op.execute(sa.text(statement.replace(\":\", \"\\\\:\")))\n\n\n"
        "def upgrade() -> None:\n    _run(UP)\n\n\n"
        f"def downgrade() -> None:\n{down}"
    )


def _pylist(statements: list[str]) -> str:
    if not statements:
        return "[]"
    return "[\n" + "".join(f"    {s!r},\n" for s in statements) + "]"


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
    export = Export(database=db.name, commit=commit, format=format)
    schema = Schema()
    for number, change in enumerate(project.history.changes(commit, db.name), start=1):
        up_plan, after = plan_many(schema, change.operations)
        up = _header(change, "up", commit) + _script(change.sql, up_plan)
        down: str | None = None
        down_statements: list[str] | None = None
        why: str | None = None
        try:
            down_plan, _ = plan_many(after, invert(change.operations, after))
        except CinchError as exc:
            why = exc.message
        else:
            down = _header(change, "down", commit) + _script(down_plan.statements, down_plan)
            down_statements = _statements(down_plan.statements, down_plan)
        export.migrations.append(Migration(number, change, up, down, why, commit,
                                           _statements(change.sql, up_plan), down_statements))
        schema = after
    return export
