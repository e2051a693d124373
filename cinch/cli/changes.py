"""How the CLI reports a schema change (or its dry run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cinch.cli import output
from cinch.cli.context import fmt, state
from cinch.cli.output import Format

if TYPE_CHECKING:
    from cinch import ChangeResult


def report(ctx: typer.Context, result: ChangeResult, format: Format | None = None) -> None:
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit(result.to_dict(), chosen)
        return
    if result.dry_run:
        output.err_console.print(
            f"[yellow]dry run[/yellow]: {result.change.message} — nothing was changed; "
            "the SQL it would run:")
        output.sql(result.sql)
        return
    if state(ctx).quiet:
        return
    tenants = result.tenants or {}
    count = tenants.get("tenants")
    where = f", {count} tenant{'s' if count != 1 else ''} updated" if count is not None else ""
    output.console.print(
        f"[green]✓[/green] {result.change.message} "
        f"[dim](change {result.change.id}, commit {result.commit[:10] if result.commit else '-'}"
        f"{where})[/dim]")
