"""Schema commands: db, table, column, index, view. Each builds nothing itself: it calls the engine.

Engine, planner and model imports live inside the commands (or under TYPE_CHECKING): the module
is imported to run (or show the help of) any of its commands, and they are heavy to import.
"""

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from cinch.cli import output
from cinch.cli.changes import report
from cinch.cli.context import CascadeOpt, DryRunOpt, FormatOpt, MessageOpt, fmt, state
from cinch.errors import UsageError

if TYPE_CHECKING:
    from cinch import Schema, Table

db_app = typer.Typer(help="Databases of the project (each a schema of its own).")
table_app = typer.Typer(help="Create, drop, rename, copy and inspect tables.")
column_app = typer.Typer(help="Add, drop, rename and alter columns.")
index_app = typer.Typer(help="Create, drop and list indexes.")
view_app = typer.Typer(help="Create, replace, drop and inspect views.")


# --- db -----------------------------------------------------------------------------------

@db_app.command("create")
def db_create(ctx: typer.Context, name: str, dry_run: DryRunOpt = False) -> None:
    """Create a database (commits it to cinch.toml on the current branch)."""
    state(ctx).project().create_database(name, dry_run=dry_run)
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] database {name} created"
                             + (" (dry run: nothing changed)" if dry_run else ""))


@db_app.command("list")
def db_list(ctx: typer.Context, format: FormatOpt = None) -> None:
    """List the databases of the project on the current branch."""
    project = state(ctx).project()
    rows = []
    for name in project.databases():
        schema = project.database(name).schema()
        rows.append({"name": name, "tables": len(schema.tables), "views": len(schema.views),
                     "indexes": len(schema.indexes)})
    output.emit(rows, fmt(ctx, format), columns=["name", "tables", "views", "indexes"])


# --- table --------------------------------------------------------------------------------

@table_app.command("create")
def table_create(
    ctx: typer.Context,
    name: str,
    columns: Annotated[list[str] | None, typer.Argument(
        help="Columns as name:TYPE[:unique][:not-null][:default=V][:references=T.C]")] = None,
    strict: Annotated[bool, typer.Option(help="A STRICT table (types enforced)")] = False,
    timestamps: Annotated[bool, typer.Option(help="Add created_at/updated_at")] = True,
    message: MessageOpt = None, dry_run: DryRunOpt = False, format: FormatOpt = None,
) -> None:
    """Create a table. Every table gets an `id` (UUID) and created_at/updated_at timestamps."""
    result = state(ctx).db().create_table(name, list(columns or []), strict=strict,
                                          timestamps=timestamps, message=message,
                                          dry_run=dry_run)
    report(ctx, result, format)


@table_app.command("drop")
def table_drop(ctx: typer.Context, name: str, cascade: CascadeOpt = False,
               message: MessageOpt = None, dry_run: DryRunOpt = False,
               format: FormatOpt = None) -> None:
    """Drop a table (its rows are gone from every tenant of the branch)."""
    report(ctx, state(ctx).db().drop_table(name, cascade=cascade, message=message,
                                           dry_run=dry_run), format)


@table_app.command("rename")
def table_rename(ctx: typer.Context, old: str, new: str, cascade: CascadeOpt = False,
                 message: MessageOpt = None, dry_run: DryRunOpt = False,
                 format: FormatOpt = None) -> None:
    """Rename a table (data kept)."""
    report(ctx, state(ctx).db().rename_table(old, new, cascade=cascade, message=message,
                                             dry_run=dry_run), format)


@table_app.command("copy")
def table_copy(ctx: typer.Context, source: str, new: str,
               data: Annotated[bool, typer.Option(help="Copy the rows too")] = True,
               message: MessageOpt = None, dry_run: DryRunOpt = False,
               format: FormatOpt = None) -> None:
    """Copy a table's definition (and rows, unless --no-data) to a new table."""
    report(ctx, state(ctx).db().copy_table(source, new, data=data, message=message,
                                           dry_run=dry_run), format)


@table_app.command("list")
def table_list(ctx: typer.Context, format: FormatOpt = None) -> None:
    """List tables."""
    import cinch

    st = state(ctx)
    # From the files on disk when they can say (no git library, no models), else the project
    rows = cinch.glance(st.directory).tables(st.database)
    if rows is None:
        rows = st.db().table_rows()
    output.emit(rows, fmt(ctx, format), columns=["name", "columns", "indexes", "strict", "id"])


def _column_rows(table: "Table") -> list[dict]:
    rows = []
    for c in table.columns:
        default = c.default_expr or (None if c.default is None else c.default)
        rows.append({
            "name": c.name, "type": c.type, "not_null": c.not_null, "unique": c.unique,
            "primary_key": c.primary_key, "default": default,
            "references": f"{c.references.table}.{c.references.column}" if c.references else None,
            "auto": c.auto, "id": c.id,
        })
    return rows


@table_app.command("show")
def table_show(ctx: typer.Context, name: str, format: FormatOpt = None) -> None:
    """Show a table's columns, indexes and SQL."""
    db = state(ctx).db()
    table = db.table(name)
    chosen = fmt(ctx, format)
    indexes = [{"name": i.name, "columns": i.columns, "unique": i.unique}
               for i in db.indexes(table.name)]
    if chosen is not output.Format.table:
        output.emit({"name": table.name, "id": table.id, "strict": table.strict,
                     "columns": _column_rows(table), "indexes": indexes}, chosen)
        return
    output.emit(_column_rows(table), chosen, title=f"table {table.name}",
                columns=["name", "type", "not_null", "unique", "default", "references", "auto"])
    if indexes:
        output.emit(indexes, chosen, title="indexes")


# --- column -------------------------------------------------------------------------------

@column_app.command("add")
def column_add(ctx: typer.Context, table: str,
               column: Annotated[str, typer.Argument(help="name, or name:TYPE[:flags]")],
               type: Annotated[str | None, typer.Argument(help="Type (default TEXT)")] = None,
               message: MessageOpt = None, dry_run: DryRunOpt = False,
               format: FormatOpt = None) -> None:
    """Add a column (plain ALTER where SQLite allows it, else a table rebuild)."""
    report(ctx, state(ctx).db().add_column(table, column, type, message=message,
                                           dry_run=dry_run), format)


@column_app.command("drop")
def column_drop(ctx: typer.Context, table: str, column: str, cascade: CascadeOpt = False,
                message: MessageOpt = None, dry_run: DryRunOpt = False,
                format: FormatOpt = None) -> None:
    """Drop a column (its values are gone from every tenant of the branch)."""
    report(ctx, state(ctx).db().drop_column(table, column, cascade=cascade, message=message,
                                            dry_run=dry_run), format)


@column_app.command("rename")
def column_rename(ctx: typer.Context, table: str, old: str, new: str,
                  cascade: CascadeOpt = False, message: MessageOpt = None,
                  dry_run: DryRunOpt = False, format: FormatOpt = None) -> None:
    """Rename a column (data kept)."""
    report(ctx, state(ctx).db().rename_column(table, old, new, cascade=cascade,
                                              message=message, dry_run=dry_run), format)


@column_app.command("alter")
def column_alter(
    ctx: typer.Context, table: str, column: str,
    type: Annotated[str | None, typer.Option("--type", help="New type")] = None,
    not_null: Annotated[bool | None, typer.Option("--not-null/--nullable")] = None,
    unique: Annotated[bool | None, typer.Option("--unique/--no-unique")] = None,
    default: Annotated[str | None, typer.Option(help="New default (or 'null' for none)")] = None,
    references: Annotated[str | None, typer.Option(help="TABLE.COLUMN, or 'none'")] = None,
    message: MessageOpt = None, dry_run: DryRunOpt = False, format: FormatOpt = None,
) -> None:
    """Change a column's type, nullability, default, uniqueness or reference (a rebuild; data kept)."""
    changes: dict = {}
    if type is not None:
        changes["type"] = type
    if not_null is not None:
        changes["not_null"] = not_null
    if unique is not None:
        changes["unique"] = unique
    if default is not None:
        changes["default_text"] = default
    if references is not None:
        changes["references"] = None if references.lower() == "none" else references
    if not changes:
        raise UsageError("nothing to alter: pass --type, --not-null/--nullable, --unique, "
                         "--default or --references")
    report(ctx, state(ctx).db().alter_column(table, column, message=message, dry_run=dry_run,
                                             **changes), format)


# --- index --------------------------------------------------------------------------------

@index_app.command("create")
def index_create(ctx: typer.Context, table: str, columns: list[str],
                 name: Annotated[str | None, typer.Option(help="Index name")] = None,
                 unique: Annotated[bool, typer.Option("--unique")] = False,
                 message: MessageOpt = None, dry_run: DryRunOpt = False,
                 format: FormatOpt = None) -> None:
    """Create an index on one or more columns."""
    db = state(ctx).db()
    if unique and len(columns) == 1:
        _warn_if_unique_already(db.schema(), table, columns[0])
    report(ctx, db.create_index(table, columns, name=name, unique=unique, message=message,
                                dry_run=dry_run), format)


def _warn_if_unique_already(schema: "Schema", table: str, column: str) -> None:
    found = schema.find_table(table)
    col = found.find_column(column) if found is not None else None
    if col is not None and (col.unique or col.primary_key):
        what = "the primary key" if col.primary_key else "UNIQUE"
        sys.stderr.write(f"warning: {found.name}.{col.name} is {what} already and SQLite keeps "
                         "an index for that, so this one only makes every write do the work "
                         "twice\n")


@index_app.command("drop")
def index_drop(ctx: typer.Context, name: str, message: MessageOpt = None,
               dry_run: DryRunOpt = False, format: FormatOpt = None) -> None:
    """Drop an index."""
    report(ctx, state(ctx).db().drop_index(name, message=message, dry_run=dry_run), format)


@index_app.command("list")
def index_list(ctx: typer.Context, table: Annotated[str | None, typer.Argument()] = None,
               format: FormatOpt = None) -> None:
    """List indexes (of one table, or all)."""
    rows = [{"name": i.name, "table": i.table, "columns": i.columns, "unique": i.unique}
            for i in state(ctx).db().indexes(table)]
    output.emit(rows, fmt(ctx, format), columns=["name", "table", "columns", "unique"])


# --- view ---------------------------------------------------------------------------------

@view_app.command("create")
def view_create(ctx: typer.Context, name: str, sql: str, message: MessageOpt = None,
                dry_run: DryRunOpt = False, format: FormatOpt = None) -> None:
    """Create a view; its SELECT is checked against the branch's schema."""
    report(ctx, state(ctx).db().create_view(name, sql, message=message, dry_run=dry_run),
           format)


@view_app.command("replace")
def view_replace(ctx: typer.Context, name: str, sql: str, message: MessageOpt = None,
                 dry_run: DryRunOpt = False, format: FormatOpt = None) -> None:
    """Replace a view's SELECT."""
    report(ctx, state(ctx).db().replace_view(name, sql, message=message, dry_run=dry_run),
           format)


@view_app.command("drop")
def view_drop(ctx: typer.Context, name: str, cascade: CascadeOpt = False,
              message: MessageOpt = None, dry_run: DryRunOpt = False,
              format: FormatOpt = None) -> None:
    """Drop a view."""
    report(ctx, state(ctx).db().drop_view(name, cascade=cascade, message=message,
                                          dry_run=dry_run), format)


@view_app.command("list")
def view_list(ctx: typer.Context, format: FormatOpt = None) -> None:
    """List views."""
    rows = [{"name": v.name, "sql": v.sql} for v in state(ctx).db().views()]
    output.emit(rows, fmt(ctx, format), columns=["name", "sql"])


@view_app.command("show")
def view_show(ctx: typer.Context, name: str, format: FormatOpt = None) -> None:
    """Show a view's SQL."""
    view = state(ctx).db().view(name)
    output.emit({"name": view.name, "id": view.id, "sql": view.sql}, fmt(ctx, format))
