"""What every command shares: the chosen project, database, branch and output format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cinch.cli.output import Format
from cinch.cli.progress import LazyBar

if TYPE_CHECKING:
    from cinch import Database, Project


@dataclass
class State:
    directory: Path | None = None
    database: str | None = None
    format: Format = Format.table
    quiet: bool = False
    _project: Project | None = field(default=None, repr=False)

    def project(self) -> Project:
        if self._project is None:
            # Imported here, as in every command module: the engine is heavy to import, and
            # `cinch --help` (or a command's own --help) never opens a project.
            import cinch

            self._project = cinch.open(self.directory)
            if not self.quiet:
                self._project.progress = LazyBar("applying to tenants")
        return self._project

    def db(self, branch: str | None = None) -> Database:
        return self.project().database(self.database, branch=branch)

    def close(self) -> None:
        if self._project is not None:
            if isinstance(self._project.progress, LazyBar):
                self._project.progress.close()
            self._project.close()


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def fmt(ctx: typer.Context, override: Format | None) -> Format:
    return override or state(ctx).format


FormatOpt = Annotated[
    Format | None, typer.Option("--format", "-f", help="Output: table, json, yaml or csv")]
MessageOpt = Annotated[str | None, typer.Option("--message", "-m", help="Change-set message")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print the SQL it would run; change nothing")]
CascadeOpt = Annotated[
    bool, typer.Option("--cascade", help="Also drop or rewrite the views that depend on it")]
BranchOpt = Annotated[
    str | None, typer.Option("--branch", "-b", help="Branch (default: the current one)")]
