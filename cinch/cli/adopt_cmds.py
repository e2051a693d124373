"""``cinch init --from PATH`` and ``cinch db adopt PATH``: existing SQLite files become tenants.

The plan (which files, which schema, which outliers and how they differ) is printed first;
``--dry-run`` stops there.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cinch.cli import output
from cinch.cli.context import DryRunOpt, FormatOpt, fmt, state
from cinch.cli.output import Format
from cinch.cli.schema_cmds import db_app

if TYPE_CHECKING:
    from cinch import Adoption

PatternOpt = Annotated[str, typer.Option("--pattern", help="Which files of the folder to read")]
InPlaceOpt = Annotated[bool, typer.Option(
    "--in-place/--copy", help="Copy the files into the tenant folder (default), or leave them "
    "where they are and link them as tenants: adopting writes nothing into them; later change "
    "sets do; deleting the tenant forgets the link and never deletes the file")]
RepairOpt = Annotated[bool, typer.Option(
    "--repair", help="Also adopt files whose schema differs, planned to the majority schema "
    "as `cinch tenant repair` does (their rows kept)")]


def show_adoption(ctx: typer.Context, plan: "Adoption", format: Format | None) -> None:
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit(plan.to_dict(), chosen)
        return
    if state(ctx).quiet:
        return
    c = output.console
    majority = [f for f in plan.files if f.status == "adopt"]
    c.print(f"Adopting {len(majority)} of {len(plan.files)} file(s) from {plan.source} as "
            f"database [bold]{plan.database}[/bold] "
            f"({'linked in place' if plan.mode == 'in_place' else 'copied'}); schema "
            f"{plan.fingerprint[:12]}:")
    for line in plan.operations:
        c.print(f"  {line}")
    for entry in plan.outliers:
        what = {"outlier": "[yellow]left alone[/yellow]", "repair": "[cyan]repaired[/cyan]",
                "refused": "[red]refused[/red]"}[entry.status]
        c.print(f"  {entry.path}: {what}")
        for line in entry.difference:
            c.print(f"      {line}")
    if plan.dry_run:
        c.print("(dry run: nothing changed)")
    elif plan.change:
        adopted = sum(f.adopted for f in plan.files)
        c.print(f"[green]✓[/green] change {plan.change} committed; {adopted} tenant(s) adopted")


def _adopt(ctx: typer.Context, project: Any, source: Path, *, database: str | None,
           pattern: str, in_place: bool, dry_run: bool, repair: bool, create: bool,
           format: Format | None) -> None:
    plan = project.adopt(source, database=database, pattern=pattern,
                         mode="in_place" if in_place else "copy", dry_run=dry_run,
                         repair=repair, create=create)
    show_adoption(ctx, plan, format)


@db_app.command("adopt")
def db_adopt(ctx: typer.Context,
             path: Annotated[Path, typer.Argument(help="A SQLite file or a folder of them")],
             name: Annotated[str | None, typer.Option(
                 "--db", "--name", help="The new database (default: --db of cinch)")] = None,
             pattern: PatternOpt = "*.db", in_place: InPlaceOpt = False,
             dry_run: DryRunOpt = False, repair: RepairOpt = False,
             format: FormatOpt = None) -> None:
    """Adopt existing SQLite files as a new database of the project, one tenant per file."""
    st = state(ctx)
    database = name or st.database
    if database is None:
        from cinch.errors import UsageError

        raise UsageError("name the new database: cinch db adopt PATH --db NAME")
    _adopt(ctx, st.project(), path, database=database, pattern=pattern, in_place=in_place,
           dry_run=dry_run, repair=repair, create=True, format=format)
