"""revert, tag, remote, push, pull, clone: the git verbs that are not schema commands.

The engine is imported inside each command: the module is imported to run any of its
commands (or show their help), and one process runs one command.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cinch.cli import output
from cinch.cli.changes import report
from cinch.cli.context import BranchOpt, DryRunOpt, FormatOpt, MessageOpt, fmt, state
from cinch.cli.output import Format
from cinch.errors import ConfirmationRequired

if TYPE_CHECKING:
    from cinch import SyncResult

remote_app = typer.Typer(help="Other copies of the project's history to push to and pull from.")
RemoteArg = Annotated[str | None, typer.Argument(help="Remote (default: origin)")]
BranchArg = Annotated[str | None, typer.Argument(help="Branch (default: the current one)")]


def revert(ctx: typer.Context,
           change: Annotated[str, typer.Argument(help="Change id (or a 6+ character prefix)")],
           yes: Annotated[bool, typer.Option("--yes", "-y", help="Revert even if data is "
                                             "dropped or was dropped")] = False,
           no_restore: Annotated[bool, typer.Option("--no-restore", help="Do not put rows "
                                                    "back from drop snapshots")] = False,
           message: MessageOpt = None, dry_run: DryRunOpt = False, branch: BranchOpt = None,
           format: FormatOpt = None) -> None:
    """Commit a new change set that undoes CHANGE (history is never rewritten)."""
    st = state(ctx)
    kwargs = dict(branch=branch, database=st.database, message=message, dry_run=dry_run,
                  restore=not no_restore)
    try:
        result = st.project().revert(change, yes=yes, **kwargs)
    except ConfirmationRequired as exc:
        if not typer.get_text_stream("stdin").isatty():
            raise
        typer.confirm(f"{exc.message}. Revert?", abort=True)
        result = st.project().revert(change, yes=True, **kwargs)
    if fmt(ctx, format) is not Format.table:
        output.emit(result.to_dict(), fmt(ctx, format))
        return
    report(ctx, result.result)
    for tenant, restored in result.restored.items():
        if "error" in restored:
            output.err_console.print(f"[yellow]tenant {tenant}: rows not restored: "
                                     f"{restored['error']}[/yellow]")
        elif not st.quiet:
            output.console.print(f"  tenant {tenant}: {restored['rows']} row(s) restored")


def tag(ctx: typer.Context,
        name: Annotated[str | None, typer.Argument(help="Tag name (omit to list tags)")] = None,
        rev: Annotated[str | None, typer.Argument(help="Revision (default: HEAD)")] = None,
        message: Annotated[str | None, typer.Option("--message", "-m",
                                                    help="Annotated tag message")] = None,
        delete: Annotated[bool, typer.Option("--delete", "-d", help="Delete the tag")] = False,
        format: FormatOpt = None) -> None:
    """Name a schema version (a git tag); with no name, list the tags."""
    st = state(ctx)
    project = st.project()
    if name is None:
        rows = [t.to_dict() for t in project.tags()]
        output.emit(rows, fmt(ctx, format), columns=["name", "commit", "message"])
    elif delete:
        project.delete_tag(name)
        if not st.quiet:
            output.console.print(f"[green]✓[/green] tag {name} deleted")
    else:
        info = project.tag(name, rev, message=message)
        if not st.quiet:
            output.console.print(f"[green]✓[/green] tag {info.name} at {info.commit[:10]}")


@remote_app.command("add")
def remote_add(ctx: typer.Context, name: str,
               url: Annotated[str, typer.Argument(help="URL or path of a git repository")],
               ) -> None:
    """Add a remote (a bare repository on disk is enough)."""
    st = state(ctx)
    st.project().add_remote(name, url)
    if not st.quiet:
        output.console.print(f"[green]✓[/green] remote {name} added")


@remote_app.command("list")
def remote_list(ctx: typer.Context, format: FormatOpt = None) -> None:
    """List remotes."""
    output.emit(state(ctx).project().remotes(), fmt(ctx, format),
                columns=["name", "url"])


@remote_app.command("remove")
def remote_remove(ctx: typer.Context, name: str) -> None:
    """Remove a remote (the remote repository itself is untouched)."""
    st = state(ctx)
    st.project().remove_remote(name)
    if not st.quiet:
        output.console.print(f"[green]✓[/green] remote {name} removed")


def _sync_report(ctx: typer.Context, result: "SyncResult", format: Format | None) -> None:
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit(result.to_dict(), chosen)
    elif not state(ctx).quiet:
        tip = (result.after or "")[:10]
        output.console.print(f"[green]✓[/green] {result.branch} ⇄ {result.remote}/"
                             f"{result.branch}: {result.action} ({tip})", highlight=False)


def push(ctx: typer.Context, remote: RemoteArg = None, branch: BranchArg = None,
         force: Annotated[bool, typer.Option("--force", help="Overwrite the remote's history "
                                             "even if it is not a fast-forward")] = False,
         format: FormatOpt = None) -> None:
    """Push a branch's schema history to a remote (tenant data never leaves)."""
    _sync_report(ctx, state(ctx).project().push(remote, branch, force=force), format)


def pull(ctx: typer.Context, remote: RemoteArg = None, branch: BranchArg = None,
         format: FormatOpt = None) -> None:
    """Fetch and fast-forward (or merge) a branch, then bring its tenants to the new head."""
    _sync_report(ctx, state(ctx).project().pull(remote, branch), format)


def clone(ctx: typer.Context,
          url: Annotated[str, typer.Argument(help="URL or path of a cinch project's repository")],
          directory: Annotated[Path | None, typer.Argument(help="Folder to create")] = None,
          ) -> None:
    """Copy a project: same history, hooks installed, empty tenants at its schema."""
    import cinch

    base = state(ctx).directory
    target = directory if directory is None or base is None else base / directory
    project = cinch.clone(url, target)
    try:
        if not state(ctx).quiet:
            output.console.print(f"[green]✓[/green] cloned into {project.root} (branch "
                                 f"{project.current_branch})", highlight=False)
    finally:
        project.close()
