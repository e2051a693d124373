"""branch, switch (checkout), merge: the branching verbs. Each calls the engine and renders.

The engine is imported inside each command: the module is imported to run (or show the help
of) any of its commands, and the merge engine (conflicts, planner, shadow databases) is heavy to import.
"""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cinch.cli import output
from cinch.cli.context import FormatOpt, fmt, state
from cinch.cli.output import Format
from cinch.errors import MergeConflict, UsageError

if TYPE_CHECKING:
    from cinch import MergeResult

NameArg = Annotated[str | None, typer.Argument(help="Branch name")]
# Branches are compared with this one in listings (ahead/behind).
DEFAULT_BRANCH = "main"
StartArg = Annotated[str | None, typer.Argument(help="Start point (default: the current branch)")]


def branch(
    ctx: typer.Context, name: NameArg = None, start: StartArg = None,
    delete: Annotated[bool, typer.Option("--delete", "-d", help="Delete a merged branch")] = False,
    force_delete: Annotated[bool, typer.Option("-D", help="Delete even if unmerged")] = False,
    protect: Annotated[str | None, typer.Option("--protect", help="Protect a branch")] = None,
    unprotect: Annotated[str | None, typer.Option("--unprotect", help="Unprotect it")] = None,
    empty: Annotated[bool, typer.Option(
        "--empty", help="New branch's tenants get the schema but no rows")] = False,
    format: FormatOpt = None,
) -> None:
    """List branches, or create, delete, protect one (like git branch)."""
    st = state(ctx)
    project = st.project()
    if protect or unprotect:
        target = protect or unprotect or ""
        changed = project.protect(target, on=bool(protect))
        _say(ctx, f"branch {target} {'protected' if protect else 'unprotected'}"
             + ("" if changed else " already"))
    elif delete or force_delete:
        was = project.delete_branch(_need(name), force=force_delete)
        _say(ctx, f"deleted branch {name} (was {was[:10]}) and its tenants")
    elif name:
        info = project.create_branch(name, start, empty=empty)
        _say(ctx, f"branch {name} created at {info.head[:10]}" + (" (empty tenants)" if empty else ""))
    else:
        rows = [b.to_dict() for b in project.branches()]
        chosen = fmt(ctx, format)
        if chosen is not Format.table:
            output.emit(rows, chosen)
            return
        for b in rows:
            vs = "" if b["ahead"] is None or b["name"] == DEFAULT_BRANCH else \
                f" [dim](ahead {b['ahead']}, behind {b['behind']})[/dim]"
            mark = "[green]*[/green]" if b["current"] else " "
            lock = " [yellow](protected)[/yellow]" if b["protected"] else ""
            output.console.print(f"{mark} {b['name']} [dim]{b['head'][:10]}[/dim]{lock}{vs}",
                                 highlight=False)


def switch(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Branch to switch to")],
    start: StartArg = None,
    create: Annotated[bool, typer.Option("--create", "-c", "-b", help="Create it first")] = False,
) -> None:
    """Switch the work tree to a branch (`-c` creates it first, from START or the current one)."""
    if start and not create:
        raise UsageError("a start point only makes sense with -c (create)")
    info = state(ctx).project().switch(name, create, start=start)
    _say(ctx, f"switched to {'a new ' if create else ''}branch {name} at {info.head[:10]}")


def merge(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Argument(help="Branch to merge")] = None,
    into: Annotated[str | None, typer.Option(
        "--into", help="Target branch (default: the current one)")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Report what it would do; change nothing")] = False,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message")] = None,
    abort: Annotated[bool, typer.Option("--abort", help="Clear a merge plain git left")] = False,
    format: FormatOpt = None,
) -> None:
    """Merge a branch: semantic conflict check, commit, then every tenant of the target follows."""
    project, chosen = state(ctx).project(), fmt(ctx, format)
    if abort:
        paths = project.abort_merge()
        _say(ctx, f"merge aborted; {len(paths)} path(s) back to HEAD")
        return
    try:
        result = project.merge(_need(source), into, dry_run, message=message)
    except MergeConflict as exc:
        if chosen is not Format.table:
            output.emit({"merged": False, **exc.details}, chosen)
        else:
            _print_conflicts(exc.details.get("conflicts", []))
        raise
    if chosen is not Format.table:
        output.emit(result.to_dict(), chosen)
    else:
        _print_result(ctx, result)


def _need(name: str | None) -> str:
    if not name:
        raise UsageError("name a branch")
    return name


def _say(ctx: typer.Context, text: str) -> None:
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] {text}", highlight=False)


def _print_conflicts(conflicts: list[dict[str, Any]]) -> None:
    c = output.console
    for conflict in conflicts:
        where = f" in database {conflict['database']}" if conflict["database"] else ""
        c.print(f"[red]CONFLICT[/red] ({conflict['kind']}){where}: [bold]{conflict['object']}"
                f"[/bold]\n  {conflict['message']}", highlight=False)
        for side in ("ours", "theirs"):
            origin = conflict[side]
            if origin:
                change = f"change {origin['change_id']}: " if origin["change_id"] else ""
                c.print(f"  {side:6} {change}{origin['message']}", highlight=False)
                for stmt in origin["sql"][:3]:
                    c.print(f"         [dim]{stmt.splitlines()[0]}[/dim]", highlight=False)
        for i, way in enumerate(conflict["resolutions"], 1):
            c.print(f"  way out {i}: {way}", highlight=False)
        c.print()


def _print_result(ctx: typer.Context, result: "MergeResult") -> None:
    report = result.report
    if result.up_to_date:
        _say(ctx, f"{report.target} already contains {report.source}; nothing to merge")
        return
    incoming = sum(len(c["theirs"]) for c in report.changes.values())
    how = "fast-forward" if result.fast_forward else "merge commit"
    if result.dry_run:
        output.err_console.print(f"[yellow]dry run[/yellow]: {report.source} into "
                                 f"{report.target} would be a {how} bringing {incoming} change "
                                 "set(s); nothing was changed; the SQL tenants would run:")
        output.sql([s for stmts in result.sql.values() for s in stmts])
        return
    tenants = sum(t.get("tenants", 0) for t in result.tenants.values())
    _say(ctx, f"merged {report.source} into {report.target} ({how} "
         f"{(result.commit or '')[:10]}): {incoming} change set(s), {tenants} tenant(s) updated")
