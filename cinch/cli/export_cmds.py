"""`cinch export migrations` and `cinch import migrations`: the change log as plain-SQL
migration files for other tools, and such files brought in as change sets.

The engine is imported inside the command: a command's --help opens no project.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cinch.cli import output
from cinch.cli.context import BranchOpt, DryRunOpt, state
from cinch.cli.output import Format

export_app = typer.Typer(help="Write the schema history in other tools' formats.")


class MigrationFormat(StrEnum):
    sql = "sql"
    dbmate = "dbmate"
    alembic = "alembic"


@export_app.command("migrations")
def export_migrations(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files to")],
    kind: Annotated[MigrationFormat, typer.Option(
        "--format", help="Migration format: sql (NNNN_name.up.sql and .down.sql, as "
                         "golang-migrate names them), dbmate (NNNN_name.sql with migrate:up and "
                         "migrate:down sections), alembic (one revision file per change set, for "
                         "alembic's versions/ folder)")
    ] = MigrationFormat.sql,
    database: Annotated[str | None, typer.Option(
        "--db", help="Database (default: the global --db, else main)")] = None,
    rev: Annotated[str | None, typer.Option(
        "--rev", help="Revision whose change log to export (default: the branch tip)")] = None,
    branch: BranchOpt = None,
) -> None:
    """The change log as migrations, one per change set: up, and down where an inverse exists.

    A summary in JSON with the global option: cinch -f json export migrations ..."""
    st = state(ctx)
    export = st.project().export_migrations(database=database or st.database, rev=rev,
                                            branch=branch, format=kind.value)
    base = st.directory
    target = base / out if base and not out.is_absolute() else out
    export.write(target)
    chosen = st.format
    if chosen is not Format.table:
        output.emit(export.to_dict(), chosen)
        return
    if st.quiet:
        return
    downs = sum(1 for m in export.migrations if m.down is not None)
    output.console.print(f"[green]✓[/green] {len(export.migrations)} {export.format} "
                         f"migration(s) of database {export.database} in {target} ({downs} "
                         "with a down)", highlight=False)
    for m in export.migrations:
        if m.down is None:
            output.console.print(f"  {m.stem}: no down ({m.why_no_down})", highlight=False)


import_app = typer.Typer(help="Bring another tool's schema history in as change sets.")


@import_app.command("migrations")
def import_migrations(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder of plain-SQL migration files")],
    database: Annotated[str | None, typer.Option(
        "--db", help="Database (default: the global --db, else main)")] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """One change set per *.sql file (name order; *.down.sql skipped), on the current branch.

    Only statements cinch models are taken (CREATE/DROP TABLE, INDEX, VIEW; ALTER TABLE
    RENAME, RENAME COLUMN, ADD COLUMN, DROP COLUMN); anything else refuses the whole import."""
    st = state(ctx)
    base = st.directory
    source = base / folder if base and not folder.is_absolute() else folder
    imported = st.project().import_migrations(source, database=database or st.database,
                                              dry_run=dry_run)
    if st.format is not Format.table:
        output.emit([i.to_dict() for i in imported], st.format)
        return
    if st.quiet:
        return
    verb = "would import" if dry_run else "imported"
    for item in imported:
        change = f" as {item.result.change.id}" if item.result else ""
        output.console.print(f"[green]✓[/green] {verb} {item.path}{change}: "
                             f"{len(item.operations)} operation(s)", highlight=False)
