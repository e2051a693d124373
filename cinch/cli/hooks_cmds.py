"""`cinch hooks install|resolve` and `cinch hub init`: the git side of plain-git safety.

The engine is imported inside the command: a command's --help opens no project.
"""

from pathlib import Path
from typing import Annotated

import typer

from cinch.cli import output
from cinch.cli.context import state

hooks_app = typer.Typer(help="The git hooks that keep tenants in step with plain git.")


@hooks_app.command("install")
def hooks_install(ctx: typer.Context) -> None:
    """Install (or re-install) cinch's git hooks and the schema.sql merge driver."""
    installed = state(ctx).project().install_hooks()
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] hooks installed: {', '.join(installed)}")


@hooks_app.command("resolve")
def hooks_resolve(ctx: typer.Context) -> None:
    """Write and stage schema/<db>/schema.sql for the change files staged now (after a merge,
    cherry-pick, revert or rebase stopped on it); then continue with git."""
    written = state(ctx).project().resolve_generated()
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] regenerated and staged: {', '.join(written)}")


hub_app = typer.Typer(help="A shared bare repository that accepts only what cinch would.")


@hub_app.command("init")
def hub_init(path: Annotated[Path, typer.Argument(help="Folder of the bare repository")],
             ctx: typer.Context) -> None:
    """Create a bare repository whose pre-receive hook refuses pushes cinch would not make."""
    from cinch import init_hub

    root = init_hub(path)
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] hub created at {root}; add it with "
                             f"`cinch remote add origin {root}`", highlight=False)
