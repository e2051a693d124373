"""init, status, log, show, diff: the git-like reading verbs.

The engine is imported inside each command: the module is imported to run any of its
commands (or show their help), and one process runs one command.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from cinch.cli import output
from cinch.cli.context import FormatOpt, fmt, state
from cinch.cli.output import Format


def init(ctx: typer.Context,
         directory: Annotated[Path, typer.Argument(help="Folder to create the project in")],
         branch: Annotated[str, typer.Option(help="Name of the first branch")] = "main",
         database: Annotated[str, typer.Option("--database", help="First database")] = "main",
         adopt_from: Annotated[Path | None, typer.Option(
             "--from", help="Adopt these SQLite files (a file or a folder) as the first "
             "database's tenants; see cinch db adopt")] = None,
         pattern: Annotated[str, typer.Option(help="With --from: which files to read")] = "*.db",
         in_place: Annotated[bool, typer.Option(
             "--in-place/--copy", help="With --from: leave the files where they are, linked "
             "as tenants (adopting writes nothing into them; see cinch db adopt)")] = False,
         dry_run: Annotated[bool, typer.Option(
             "--dry-run", help="With --from: print the plan; create nothing")] = False,
         repair: Annotated[bool, typer.Option(
             "--repair", help="With --from: adopt outliers too, repaired to the majority "
             "schema")] = False,
         format: FormatOpt = None,
         ) -> None:
    """Create a project: a git repository with cinch.toml, .gitignore and schema/<db>/."""
    from cinch import init as init_project

    base = state(ctx).directory
    database = state(ctx).database or database
    if adopt_from is not None:
        from cinch import plan_adoption
        from cinch.cli.adopt_cmds import show_adoption

        plan, _ = plan_adoption(adopt_from, database=database, pattern=pattern,
                                mode="in_place" if in_place else "copy", repair=repair,
                                dry_run=dry_run)
        if dry_run:
            plan.dry_run = True
            show_adoption(ctx, plan, format)
            return
    project = init_project((base / directory) if base else directory, branch=branch,
                           database=database)
    if adopt_from is not None:
        show_adoption(ctx, project.adopt(adopt_from, database=database, pattern=pattern,
                                         mode="in_place" if in_place else "copy",
                                         repair=repair), format)
        return
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] cinch project created in {project.root} "
                             f"(branch {branch}, database {database})")


def status(ctx: typer.Context, format: FormatOpt = None) -> None:
    """The current branch, its databases and whether every tenant is at the head."""
    import cinch

    st = state(ctx)
    # From the files on disk when they can say (no git library, no models), else the project
    data = cinch.glance(st.directory).status() or st.project().status()
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit(data, chosen)
        return
    output.say(f"On branch [bold]{data['branch']}[/bold]"
               + (" [yellow](protected)[/yellow]" if data["protected"] else "")
               + f" at {data['head'][:10]}")
    for db in data["databases"]:
        t = db.get("tenants", {})
        line = (f"  database [bold]{db['name']}[/bold]: {db['tables']} tables, {db['views']} "
                f"views, {db['changes']} change sets; tenants: {t.get('total', 0)}")
        advice = []
        if t.get("behind"):
            advice.append(f"[yellow]{t['behind']} behind[/yellow]: run `cinch sync`")
        if t.get("drifted"):
            advice.append(f"[red]{t['drifted']} drifted[/red]: see `cinch tenant list`, then "
                          "`cinch tenant repair NAME --dry-run`")
        if advice:
            line += f" ({'; '.join(advice)})"
        else:
            line += " (all up to date)"
        output.say(line)
    if data["uncommitted"]:
        output.say("[yellow]Uncommitted files:[/yellow] " + ", ".join(data["uncommitted"]))
    if data["hooks_missing"]:
        output.say("[yellow]Plain git is not checked in this clone[/yellow] (missing: "
                   + ", ".join(data["hooks_missing"]) + "): run `cinch hooks install`")


def log(ctx: typer.Context,
        rev: Annotated[str | None, typer.Argument(help="Revision (default: HEAD)")] = None,
        limit: Annotated[int | None, typer.Option("--limit", "-n")] = None,
        all_commits: Annotated[bool, typer.Option(
            "--all-commits", help="Also commits without change sets")] = False,
        graph: Annotated[bool, typer.Option("--graph", help="Show merge structure")] = False,
        format: FormatOpt = None) -> None:
    """Change sets in the history of a branch, newest first."""
    st = state(ctx)
    items = st.project().log(limit, st.database, rev=rev, changes_only=not all_commits)
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit([i.to_dict() for i in items], chosen)
        return
    if not items and not st.quiet:
        # stderr: a script reading the log's lines still reads none
        what = "commits" if all_commits else "change sets"
        sys.stderr.write(f"no history yet: no {what} on {rev or 'this branch'}"
                         f"{' in database ' + st.database if st.database else ''}; "
                         "the first comes with `cinch table create NAME COLUMN:TYPE`\n")
        return
    for item in items:
        mark = ("*" if len(item.parents) < 2 else "M") if graph else ""
        ids = ", ".join(f"{c['database']}/{c['id']}" for c in item.changes)
        output.console.print(f"{mark + ' ' if mark else ''}[yellow]{item.commit[:10]}[/yellow] "
                             f"{item.summary} [dim]({item.author}, {item.time[:19]})"
                             f"{' ' + ids if ids else ''}[/dim]", highlight=False)


def show(ctx: typer.Context,
         what: Annotated[str, typer.Argument(help="A change id (or prefix) or a revision")],
         format: FormatOpt = None) -> None:
    """One change set or commit, with the SQL it runs."""
    data = state(ctx).project().show(what)
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit(data, chosen)
        return
    changes = [data] if data["kind"] == "change" else data["changes"]
    if data["kind"] == "commit":
        output.console.print(f"[yellow]commit {data['commit']}[/yellow]\n"
                             f"Author: {data['author']} <{data['email']}>\nDate:   {data['time']}"
                             f"\n\n    {data['message']}\n", highlight=False)
    for change in changes:
        output.console.print(f"[bold]change {change['id']}[/bold] ({change['database']}): "
                             f"{change['message']}", highlight=False)
        for op in change["operations"]:
            output.console.print(f"  - {op}", highlight=False)
        sys.stdout.flush()
        output.sql(change["sql"])


def diff(ctx: typer.Context,
         a: Annotated[str, typer.Argument(help="From revision")] = "HEAD",
         b: Annotated[str | None, typer.Argument(help="To revision (default: work tree head)")] = None,
         structured: Annotated[bool, typer.Option("--structured", help="Objects, not SQL")] = False,
         format: FormatOpt = None) -> None:
    """How the schema differs between two revisions: a schema.sql patch, or --structured."""
    st = state(ctx)
    data = st.project().diff(a, b or "HEAD", database=st.database)
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit(data, chosen)
        return
    for db in data["databases"]:
        if structured:
            output.emit(db["diff"], Format.table, columns=["kind", "object"],
                        title=f"database {db['database']}")
        elif db["patch"]:
            sys.stdout.write(db["patch"])
