"""config: read and change cinch.toml's committed settings (like git config), through the
Project's setting methods. rich is imported inside the command: `cinch config --help` opens no
project, and one process runs one command.
"""

from typing import TYPE_CHECKING, Annotated

import typer

from cinch.cli import output
from cinch.cli.context import BranchOpt, FormatOpt, fmt, state
from cinch.cli.output import Format
from cinch.errors import UsageError

if TYPE_CHECKING:
    from cinch import SettingChange

# Lets a negative number through as VALUE (`cinch config merge.approvals.main -1`), so the
# engine refuses it with its own message rather than click calling it an unknown option.
CONTEXT: dict[str, bool] = {"ignore_unknown_options": True}


def config(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(
        help="A setting, e.g. merge.approvals.main (none: list them all)")] = None,
    value: Annotated[str | None, typer.Argument(
        help="New value (lists comma-separated); commits cinch.toml")] = None,
    unset: Annotated[bool, typer.Option(
        "--unset", help="Back to the default (an approvals pattern: removed)")] = False,
    branch: BranchOpt = None,
    format: FormatOpt = None,
) -> None:
    """List, get or set the settings committed in cinch.toml (see docs/content/guides/config.md)."""
    project, chosen = state(ctx).project(), fmt(ctx, format)
    if unset:
        if key is None or value is not None:
            raise UsageError("--unset takes one setting and no value",
                             hint="cinch config --unset KEY")
        _report(ctx, project.unset_setting(key, branch), chosen)
    elif key is None:
        rows = [{"key": k, "value": v} for k, v in
                project.settings(branch).items()]
        if chosen is Format.csv:  # csv cells are text: lists as `cinch config` reads them
            rows = [{"key": r["key"], "value": show(r["value"])} for r in rows]
        output.emit(rows, chosen, columns=["key", "value"])
    elif value is None:
        current = project.setting(key, branch)
        if chosen is Format.table:  # the bare value, for $(cinch config KEY)
            output.console.print(show(current), markup=False, highlight=False)
        else:
            output.emit({"key": key, "value": current}, chosen)
    else:
        _report(ctx, project.set_setting(key, value, branch), chosen)


def _report(ctx: typer.Context, change: "SettingChange", chosen: Format) -> None:
    from rich.markup import escape

    if chosen is not Format.table:
        output.emit(change.to_dict(), chosen)
        return
    if state(ctx).quiet:
        return
    value = quoted(change.value)
    if change.changed:
        what = f"{change.key} unset" if change.value is None else f"{change.key} = {value}"
        output.console.print(f"[green]✓[/green] {escape(what)} on {change.branch} "
                             f"[dim](commit {(change.commit or '')[:10]})[/dim]",
                             highlight=False)
    else:
        what = f"{change.key} is not set" if change.value is None else \
            f"{change.key} is already {value}"
        output.console.print(f"{what} on {change.branch}; nothing to commit",
                             highlight=False, markup=False)


def show(value: object) -> str:
    """A value as one line of text: lists comma-separated, as `cinch config KEY VALUE` reads them."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def quoted(value: object) -> str:
    """As :func:`show`, with an empty value shown as ``""``."""
    return show(value) or '""'
