"""`cinch hooks install`: (re)install the git hooks that keep plain git safe.

The engine is imported inside the command: the CLI imports every command module at start.
"""

import typer

from cinch.cli import output
from cinch.cli.context import state

hooks_app = typer.Typer(help="The git hooks that keep tenants in step with plain git.")


@hooks_app.command("install")
def hooks_install(ctx: typer.Context) -> None:
    """Install (or re-install) cinch's git hooks and the schema.sql merge driver."""
    from cinch.engine.hooks import install_hooks

    installed = install_hooks(state(ctx).project())
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] hooks installed: {', '.join(installed)}")
