"""Tenants, queries and sync."""

from pathlib import Path
from typing import Annotated

import typer

from cinch.cli import output
from cinch.cli.context import BranchOpt, FormatOpt, fmt, state
from cinch.cli.output import Format
from cinch.cli.progress import progress_bar
from cinch.errors import CinchError, ConfirmationRequired, QueryRefused, UsageError

tenant_app = typer.Typer(help="Tenant databases: one SQLite file per customer, per branch.")
TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant (default: main)")]


def _branch(ctx: typer.Context, branch: str | None) -> str:
    return branch or state(ctx).project().current_branch


@tenant_app.command("create")
def tenant_create(ctx: typer.Context, names: list[str], branch: BranchOpt = None) -> None:
    """Create tenants at the branch's schema (a file copy: no replay)."""
    st = state(ctx)
    db = st.db(_branch(ctx, branch))
    db.tenants.create(*names)
    if not st.quiet:
        output.console.print(f"[green]✓[/green] {len(names)} tenant(s) created on "
                             f"{db.name}@{db.branch}")


@tenant_app.command("list")
def tenant_list(ctx: typer.Context, branch: BranchOpt = None, format: FormatOpt = None,
                limit: Annotated[int | None, typer.Option(
                    "--limit", min=1, help="At most this many tenants, in name order (from the "
                    "tenant catalog: only their files are opened)")] = None,
                after: Annotated[str | None, typer.Option(
                    "--after", help="With --limit: start after this tenant name")] = None,
                ) -> None:
    """Tenants with their size and schema state (up to date / behind / drifted)."""
    import cinch

    st = state(ctx)
    # A page answers from the tenant catalog on disk when it can (no git library, no models)
    rows = None if limit is None else cinch.glance(st.directory).tenant_page(
        st.database, branch, after=after, limit=limit)
    if rows is None:
        db = st.db(_branch(ctx, branch))
        rows = [t.to_dict() for t in db.tenants.list(limit=limit, after=after)]
    output.emit(rows, fmt(ctx, format), columns=["name", "size", "applied", "state", "detail"])


@tenant_app.command("copy")
def tenant_copy(ctx: typer.Context, source: str, target: str, branch: BranchOpt = None) -> None:
    """Copy a tenant, schema and data."""
    st = state(ctx)
    db = st.db(_branch(ctx, branch))
    db.tenants.copy(source, target)
    if not st.quiet:
        output.console.print(f"[green]✓[/green] tenant {source} copied to {target}")


@tenant_app.command("rename")
def tenant_rename(ctx: typer.Context, old: str, new: str, branch: BranchOpt = None) -> None:
    """Rename a tenant."""
    st = state(ctx)
    db = st.db(_branch(ctx, branch))
    db.tenants.rename(old, new)
    if not st.quiet:
        output.console.print(f"[green]✓[/green] tenant {old} renamed to {new}")


@tenant_app.command("delete")
def tenant_delete(ctx: typer.Context, name: str, branch: BranchOpt = None,
                  yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
                  ) -> None:
    """Delete a tenant and its data (asks first unless --yes). A tenant adopted in place is
    forgotten instead: cinch never deletes the file it stands for."""
    st = state(ctx)
    db = st.db(_branch(ctx, branch))
    if name not in db.tenants:  # NotFound before asking anything
        from cinch.errors import NotFound

        raise NotFound(f"no tenant named {name!r} on {db.name}@{db.branch}", tenant=name)
    kept = db.tenants.adopted_file(name)
    if not yes:
        if not typer.get_text_stream("stdin").isatty():
            what = (f"forgetting tenant {name!r} (its file {kept} stays)" if kept else
                    f"deleting tenant {name!r} destroys its data")
            raise ConfirmationRequired(f"{what}; pass --yes to confirm")
        typer.confirm(f"Forget tenant {name!r} of {db.name}@{db.branch}? Its file {kept} stays."
                      if kept else
                      f"Delete tenant {name!r} of {db.name}@{db.branch} and all its data?",
                      abort=True)
    db.tenants.delete(name)
    if not st.quiet:
        if kept:
            output.console.print(f"[green]✓[/green] tenant {name} forgotten; its file "
                                 f"{kept} stays where it is", highlight=False)
        else:
            output.console.print(f"[green]✓[/green] tenant {name} deleted")


SqlFileOpt = Annotated[Path | None, typer.Option(
    "--file", "-F", metavar="FILE",
    help="Read the SQL from this file (- for stdin); several statements run as one batch")]
ReadOnlyOpt = Annotated[bool, typer.Option("--read-only", help="Refuse writes")]
TimeoutOpt = Annotated[float | None, typer.Option(
    "--timeout", min=0.001, help="Stop a statement after this many seconds and keep nothing "
                                 "it wrote (default: no limit)")]


def query(ctx: typer.Context,
          sql: Annotated[str | None, typer.Argument(
              help="One SQL statement (or give --file)")] = None,
          file: SqlFileOpt = None,
          param: Annotated[list[str] | None, typer.Option(
              "--param", "-p", help="A bound parameter (repeat, in order)")] = None,
          tenant: TenantOpt = "main", branch: BranchOpt = None,
          read_only: ReadOnlyOpt = False, timeout: TimeoutOpt = None,
          format: FormatOpt = None) -> None:
    """Run one SQL statement on a tenant, parameters bound (never formatted into the SQL);
    with --file, every statement of the file in one transaction."""
    if (sql is None) == (file is None):
        raise UsageError("give one SQL statement or --file FILE (not both)",
                         hint="cinch query 'SELECT count(*) FROM users', or "
                              "cinch query --file changes.sql")
    statements = [sql] if sql is not None else _read_statements(file)
    if len(statements) == 1:
        _run_one(ctx, statements[0], param, tenant, branch, read_only, timeout, format)
        return
    if param:
        raise UsageError("--param binds the parameters of one statement; "
                         f"{file} holds {len(statements)}", hint="write the values in the file")
    _run_batch(ctx, statements, tenant, branch, read_only, timeout, format)


def batch(ctx: typer.Context,
          statements: Annotated[list[str] | None, typer.Argument(
              help="SQL statements, run in order (or give --file)")] = None,
          file: SqlFileOpt = None,
          tenant: TenantOpt = "main", branch: BranchOpt = None,
          read_only: ReadOnlyOpt = False, timeout: TimeoutOpt = None,
          format: FormatOpt = None) -> None:
    """Run several SQL statements on a tenant in one transaction: all of them or none."""
    if bool(statements) == (file is not None):
        raise UsageError("give the statements as arguments or --file FILE (not both)",
                         hint="cinch batch 'INSERT ...' 'UPDATE ...', or "
                              "cinch batch --file changes.sql")
    items = list(statements or []) if file is None else _read_statements(file)
    _run_batch(ctx, items, tenant, branch, read_only, timeout, format)


def _read_statements(file: Path | None) -> list[str]:
    """The statements of a SQL file, split by sqlparse (which knows quotes, comments and
    trigger bodies, where a split on `;` would not)."""
    import sqlparse

    if file is None or str(file) == "-":
        text = typer.get_text_stream("stdin").read()
    else:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {file}: {exc}", path=str(file)) from exc
    statements = [s.strip() for s in sqlparse.split(text)
                  if sqlparse.format(s, strip_comments=True).strip().strip(";").strip()]
    if not statements:
        raise UsageError(f"{file or 'stdin'} holds no SQL statement", path=str(file))
    return statements


def _run_one(ctx: typer.Context, sql: str, param: list[str] | None, tenant: str,
             branch: str | None, read_only: bool, timeout: float | None,
             format: Format | None) -> None:
    st = state(ctx)
    db = st.db(_branch(ctx, branch))
    try:
        result = db.tenants.get(tenant).query(
            sql, list(param or []), read_only=read_only, timeout=timeout)
    except QueryRefused as exc:
        if "exactly one SQL statement" in exc.message:
            exc.hint = ("run several statements together with `cinch batch STATEMENT...` or "
                        "`cinch query --file FILE` (one transaction: all or none)")
        raise
    chosen = fmt(ctx, format)
    if not result.columns:
        if chosen is Format.json:
            output.emit({"rowcount": result.rowcount}, chosen)
        elif not st.quiet:
            output.console.print(f"{result.rowcount} row(s) changed")
        return
    rows = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
    output.emit(rows, chosen, columns=result.columns)


def _run_batch(ctx: typer.Context, statements: list[str], tenant: str, branch: str | None,
               read_only: bool, timeout: float | None, format: Format | None) -> None:
    st = state(ctx)
    db = st.db(_branch(ctx, branch))
    handle = st.project().tenant(tenant, database=db.name, branch=db.branch)
    results = []
    with handle.transaction():  # the first statement that fails undoes every one before it
        for index, sql in enumerate(statements):
            try:
                results.append(handle.query(sql, read_only=read_only, timeout=timeout))
            except CinchError as exc:
                exc.message = (f"statement {index + 1} of {len(statements)}: {exc.message}; "
                               "none of the batch was kept")
                exc.details["index"] = index
                raise
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit([{"statement": sql, "columns": r.columns, "rowcount": r.rowcount,
                      "rows": [dict(zip(r.columns, row, strict=True)) for row in r.rows]}
                     for sql, r in zip(statements, results, strict=True)], chosen)
        return
    for result in results:
        if result.columns:
            output.emit([dict(zip(result.columns, r, strict=True)) for r in result.rows],
                        chosen, columns=result.columns)
        elif not st.quiet:
            output.console.print(f"{result.rowcount} row(s) changed")


def sync(ctx: typer.Context, branch: BranchOpt = None,
         workers: Annotated[int | None, typer.Option(
             "--workers", help="Tenants brought along at once (default: "
                               "CINCH_APPLY_WORKERS, else the number of cores)")] = None) -> None:
    """Bring every tenant of the branch to the branch head (safe to repeat; finishes a crash)."""
    st = state(ctx)
    project = st.project()
    with progress_bar("sync", quiet=st.quiet) as bar:
        result = project.sync(database=st.database, branch=branch, progress=bar, full=True,
                              workers=workers)
    if not st.quiet:
        for db, r in result.items():
            output.console.print(f"[green]✓[/green] {db}: {r['tenants']} tenant(s) at the head "
                                 f"({r['updated']} updated)")


@tenant_app.command("repair")
def tenant_repair(
        ctx: typer.Context,
        name: Annotated[str | None, typer.Argument(help="The tenant (or --all)")] = None,
        all_: Annotated[bool, typer.Option("--all", help="Every drifted tenant")] = False,
        branch: BranchOpt = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only")] = False,
        accept_loss: Annotated[bool, typer.Option(
            "--accept-loss", help="Repair even where data is lost (named in the plan)")] = False,
        format: FormatOpt = None) -> None:
    """Bring a drifted tenant from the schema it has to the branch head's (data kept)."""
    from cinch.errors import UsageError

    if (name is None) == (not all_):
        raise UsageError("name one tenant or pass --all",
                         hint="cinch tenant repair acme --dry-run, or cinch tenant repair --all")
    st = state(ctx)
    db = st.db(_branch(ctx, branch))
    if all_:
        plans = db.tenants.repair_all(dry_run=dry_run, accept_loss=accept_loss)
    else:
        assert name is not None
        plans = [db.tenants.repair(name, dry_run=dry_run, accept_loss=accept_loss)]
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit([p.to_dict() for p in plans], chosen)
        return
    if not plans:
        output.console.print("no drifted tenant")
    for p in plans:
        why = f" (drifted: {p.drifted})" if p.drifted else ""
        output.console.print(f"tenant {p.tenant}{why}:")
        for sql in p.statements:
            output.console.print(f"  {sql};", markup=False, highlight=False)
        for loss in p.losses:
            output.console.print(f"  [yellow]loses[/yellow] {loss}")
        if not p.statements and not p.ledger:
            output.console.print("  nothing to repair")
        elif p.applied:
            output.console.print(f"  [green]✓[/green] repaired: at the head of {db.branch} "
                                 f"({p.ledger} change set(s) in its ledger)")
        elif dry_run:
            output.console.print("  (dry run: nothing changed)")
