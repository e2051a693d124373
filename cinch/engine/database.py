"""A database of a project on a branch: its schema, its history, and the schema commands.

Every schema command goes one way (``Database.change``): validate against the branch's schema,
plan, dry-run, check the tenants' data, commit the change file and ``schema.sql`` on the branch,
then bring every tenant of the branch to the new commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cinch.engine.history import changes_dir, schema_file
from cinch.errors import DirtyWorkTree, NotFound, ProtectedBranch
from cinch.models.changeset import Author, ChangeSet
from cinch.models.ids import ulid
from cinch.models.operations import Operation, describe
from cinch.models.schema import Index, Schema, Table, View
from cinch.planner import build
from cinch.planner.columns import ColumnSpec, parse_column_spec, parse_default
from cinch.planner.plan import Plan, plan_many
from cinch.planner.sqlgen import schema_sql
from cinch.stores.gitstore import now_utc

if TYPE_CHECKING:
    from cinch.engine.codegen import Generated
    from cinch.engine.project import Project
    from cinch.engine.tenant_collection import TenantCollection

TRAILER_CHANGE = "Cinch-Change"
TRAILER_DATABASE = "Cinch-Database"


@dataclass
class ChangeResult:
    """What a schema command did (or, with ``dry_run``, would do)."""

    change: ChangeSet
    plan: Plan
    commit: str | None = None
    dry_run: bool = False
    tenants: dict[str, Any] = field(default_factory=dict)

    @property
    def sql(self) -> list[str]:
        return self.plan.statements

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.change.id, "database": self.change.database,
            "message": self.change.message, "commit": self.commit, "dry_run": self.dry_run,
            "operations": [describe(op) for op in self.change.operations],
            "sql": self.plan.statements,
            "checks": [c.reason for c in self.plan.checks],
            "tenants": self.tenants,
        }


def _specs(columns: list[str | ColumnSpec]) -> list[ColumnSpec]:
    return [c if isinstance(c, ColumnSpec) else parse_column_spec(c) for c in columns]


class Database:
    """A database of a project on a branch: get one with ``project.database(name)``."""

    def __init__(self, project: Project, name: str, branch: str) -> None:
        self.project = project
        self.name = name
        self.branch = branch

    def __repr__(self) -> str:
        return f"<cinch.Database {self.name}@{self.branch}>"

    @property
    def tenants(self) -> TenantCollection:
        """This database's tenants on this branch: create, get, list, copy, rename, delete."""
        from cinch.engine.tenant_collection import TenantCollection

        return TenantCollection(self)

    # --- reading --------------------------------------------------------------------------

    @property
    def head(self) -> str:
        tip = self.project._refs().tip(self.branch)  # a stat while the ref is unchanged
        if tip is None:
            raise NotFound(f"no branch named {self.branch!r}", branch=self.branch)
        return tip

    def schema(self, rev: str | None = None) -> Schema:
        commit = self.project.git.resolve(rev) if rev else self.head
        return self.project.history.schema(commit, self.name)

    def changes(self, rev: str | None = None) -> list[ChangeSet]:
        commit = self.project.git.resolve(rev) if rev else self.head
        return self.project.history.changes(commit, self.name)

    def change_count(self, rev: str | None = None) -> int:
        """How many change sets the database's log holds at ``rev`` (default: the tip)."""
        commit = self.project.git.resolve(rev) if rev else self.head
        return len(self.project.history.log(commit, self.name))

    def tables(self) -> list[Table]:
        return list(self.schema().tables)

    def table_rows(self) -> list[dict[str, object]]:
        """Each table's name, column and index counts, strictness and id at the branch tip, as
        `cinch table list` prints them; kept on disk for the next `cinch table list`."""
        from cinch.engine import glance

        head = self.head
        rows = glance.table_rows(self.project.history.schema(head, self.name))
        glance.record(self.project, head)
        return rows

    def table(self, name: str) -> Table:
        return self.schema().table(name)

    def views(self) -> list[View]:
        return list(self.schema().views)

    def view(self, name: str) -> View:
        found = self.schema().find_view(name)
        if found is None:
            raise NotFound(f"no view named {name!r}", view=name)
        return found

    def indexes(self, table: str | None = None) -> list[Index]:
        schema = self.schema()
        if table is None:
            return list(schema.indexes)
        return schema.indexes_of(schema.table(table).id)

    def schema_sql(self, rev: str | None = None) -> str:
        """The generated ``schema.sql`` at ``rev`` (any git revision; default: the branch tip)."""
        return schema_sql(self.schema(rev), self.name)

    def codegen(self, language: str, *, rev: str | None = None,
                int_mode: str = "number") -> Generated:
        """Typed client code (``python`` or ``typescript``) for the schema at ``rev`` (default:
        the branch tip); ``.write(folder)`` writes it, ``.check(folder)`` refuses stale files."""
        from cinch.engine.codegen import generate

        return generate(self.project, language, database=self.name, branch=self.branch,
                        rev=rev, int_mode=int_mode)

    # --- the one write path ---------------------------------------------------------------

    def change(self, ops: list[Operation], message: str | None = None, *,
               dry_run: bool = False, reverts: str | None = None) -> ChangeResult:
        """Validate, commit and apply ``ops`` as one change set (see module docstring).

        ``reverts`` names the change set this one undoes: each tenant gets back, in the same
        transaction as the change, the rows kept when that change dropped them."""
        project = self.project
        config = project.config(self.branch)
        if self.branch in config.branches.protected:
            raise ProtectedBranch(
                f"branch {self.branch} is protected: schema changes reach it only by merge",
                hint=f"cinch switch -c my-change, make the change there, then cinch merge "
                     f"my-change --into {self.branch}", branch=self.branch)
        # The tenants' lock too: no write through cinch between the data check and the apply.
        with project.lock(), project.tenants.moving(self.name, self.branch):
            tip = self.head
            before = project.history.schema(tip, self.name)
            after = build.check(before, ops)
            plan, _ = plan_many(before, ops)
            author = project.author()
            change = ChangeSet(
                id=ulid(), database=self.name,
                message=message or _sentence("; ".join(describe(op) for op in ops)),
                author=Author(name=author.name, email=author.email),
                created_at=now_utc(), operations=ops, sql=plan.statements, reverts=reverts,
            )
            result = ChangeResult(change=change, plan=plan, dry_run=dry_run)
            tenants = project.tenants
            result.tenants = tenants.precheck(self.name, self.branch, tip, plan)
            if dry_run:
                return result
            self._refuse_hand_edits()
            files = {
                f"{changes_dir(self.name)}/{change.filename}": change.to_json(),
                schema_file(self.name): schema_sql(after, self.name).encode(),
            }
            commit_message = (f"{change.message}\n\n{TRAILER_CHANGE}: {change.id}\n"
                              f"{TRAILER_DATABASE}: {self.name}\n")
            result.commit = project.git.commit(self.branch, files, commit_message,
                                               author.as_tuple())
            project.history.remember(result.commit, self.name, after)
            result.tenants = tenants.follow(self.name, self.branch)
            return result

    def _refuse_hand_edits(self) -> None:
        """schema.sql is generated from the change sets: a commit would overwrite an edit of it
        in the work tree, as it would cinch.toml's, so refuse and say how to drop the edit."""
        if self.branch != self.project.current_branch:
            return  # other branches have no work tree here
        path = schema_file(self.name)
        if path in self.project.git.dirty_paths():
            raise DirtyWorkTree(
                f"{path} has uncommitted edits; it is generated from the change sets, so "
                "change the schema with cinch commands instead", path=path,
                hint=f"see them with `git diff {path}`; drop them with "
                     f"`git checkout -- {path}`")

    def tenants_follow(self) -> dict[str, object]:
        return self.project.tenants.follow(self.name, self.branch)

    # --- schema commands (thin: build validated operations, then change) -----------------

    def create_table(self, name: str, columns: list[str | ColumnSpec], *, strict: bool = False,
                     timestamps: bool = True, message: str | None = None,
                     dry_run: bool = False) -> ChangeResult:
        ops = build.create_table(self.schema(), name, _specs(columns), strict=strict,
                                 timestamps=timestamps)
        return self.change(ops, message, dry_run=dry_run)

    def drop_table(self, name: str, *, cascade: bool = False, message: str | None = None,
                   dry_run: bool = False) -> ChangeResult:
        return self.change(build.drop_table(self.schema(), name, cascade=cascade), message,
                           dry_run=dry_run)

    def rename_table(self, old: str, new: str, *, cascade: bool = False,
                     message: str | None = None, dry_run: bool = False) -> ChangeResult:
        return self.change(build.rename_table(self.schema(), old, new, cascade=cascade),
                           message, dry_run=dry_run)

    def copy_table(self, source: str, new: str, *, data: bool = True,
                   message: str | None = None, dry_run: bool = False) -> ChangeResult:
        return self.change(build.copy_table(self.schema(), source, new, data=data), message,
                           dry_run=dry_run)

    def add_column(self, table: str, column: str | ColumnSpec, type: str | None = None, *,
                   message: str | None = None, dry_run: bool = False) -> ChangeResult:
        spec = column if isinstance(column, ColumnSpec) else parse_column_spec(column)
        if type is not None:
            spec.type = type
        return self.change(build.add_column(self.schema(), table, spec), message,
                           dry_run=dry_run)

    def drop_column(self, table: str, column: str, *, cascade: bool = False,
                    message: str | None = None, dry_run: bool = False) -> ChangeResult:
        return self.change(build.drop_column(self.schema(), table, column, cascade=cascade),
                           message, dry_run=dry_run)

    def rename_column(self, table: str, old: str, new: str, *, cascade: bool = False,
                      message: str | None = None, dry_run: bool = False) -> ChangeResult:
        ops = build.rename_column(self.schema(), table, old, new, cascade=cascade)
        return self.change(ops, message, dry_run=dry_run)

    def alter_column(self, table: str, column: str, *, message: str | None = None,
                     dry_run: bool = False, default_text: str | None = None,
                     **changes: str | int | float | bool | None) -> ChangeResult:
        """Change a column (``type``, ``not_null``, ``unique``, ``default``, ``default_expr``,
        ``references``); a table rebuild that keeps the rows. ``default_text``: a default as
        typed on a command line (``42``, ``'text'``, ``CURRENT_TIMESTAMP``, ``null``)."""
        if default_text is not None:
            value, expr = parse_default(default_text)
            changes["default_expr" if expr else "default"] = expr or value
        ops = build.alter_column(self.schema(), table, column, **changes)
        return self.change(ops, message, dry_run=dry_run)

    def create_index(self, table: str, columns: list[str], *, name: str | None = None,
                     unique: bool = False, message: str | None = None,
                     dry_run: bool = False) -> ChangeResult:
        ops = build.create_index(self.schema(), table, columns, name=name, unique=unique)
        return self.change(ops, message, dry_run=dry_run)

    def drop_index(self, name: str, *, message: str | None = None,
                   dry_run: bool = False) -> ChangeResult:
        return self.change(build.drop_index(self.schema(), name), message, dry_run=dry_run)

    def create_view(self, name: str, sql: str, *, message: str | None = None,
                    dry_run: bool = False) -> ChangeResult:
        return self.change(build.create_view(self.schema(), name, sql), message,
                           dry_run=dry_run)

    def replace_view(self, name: str, sql: str, *, message: str | None = None,
                     dry_run: bool = False) -> ChangeResult:
        return self.change(build.replace_view(self.schema(), name, sql), message,
                           dry_run=dry_run)

    def drop_view(self, name: str, *, cascade: bool = False, message: str | None = None,
                  dry_run: bool = False) -> ChangeResult:
        return self.change(build.drop_view(self.schema(), name, cascade=cascade), message,
                           dry_run=dry_run)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
