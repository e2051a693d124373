"""`cinch codegen`: typed client code for a database's schema at a revision.

The engine is imported inside the command: `cinch codegen --help` opens no project.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cinch.cli import output
from cinch.cli.context import BranchOpt, state


class Language(StrEnum):
    python = "python"
    typescript = "typescript"


class IntMode(StrEnum):
    number = "number"
    bigint = "bigint"
    string = "string"


def codegen(
    ctx: typer.Context,
    language: Annotated[Language, typer.Argument(help="python or typescript")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files to")],
    database: Annotated[str | None, typer.Option(
        "--db", help="Database (default: the global --db, else main)")] = None,
    rev: Annotated[str | None, typer.Option(
        "--rev", help="Revision to read the schema at (default: the branch tip)")] = None,
    branch: BranchOpt = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 if the files in --out are out of date")] = False,
    int_mode: Annotated[IntMode, typer.Option(
        "--int-mode", help="TypeScript: integers as number, bigint or string")] = IntMode.number,
) -> None:
    """Typed models and query builders generated from the change sets (never a tenant file)."""
    st = state(ctx)
    generated = st.project().codegen(language.value, database=database or st.database,
                                     rev=rev, branch=branch, int_mode=int_mode.value)
    base = st.directory
    target = base / out if base and not out.is_absolute() else out
    if check:
        generated.check(target)
        if not st.quiet:
            output.console.print(f"[green]✓[/green] {target} is up to date with "
                                 f"{generated.schema_commit[:10]}", highlight=False)
        return
    changed = generated.write(target)
    if not st.quiet:
        what = ", ".join(changed) if changed else "nothing changed"
        output.console.print(f"[green]✓[/green] {generated.language} code for database "
                             f"{generated.database} in {target} ({what})", highlight=False)
