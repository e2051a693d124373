"""The ``cinch`` command: verbs that mirror git, plus the schema and tenant nouns."""

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cinch.cli import (  # adopt_cmds: imported for `cinch db adopt`, which it registers
    adopt_cmds,  # noqa: F401
    branch_cmds,
    codegen_cmds,
    config_cmds,
    export_cmds,
    history_cmds,
    hooks_cmds,
    remote_cmds,
    schema_cmds,
    server_cmds,
    tenant_cmds,
)
from cinch.cli.context import State, state
from cinch.cli.output import Format
from cinch.errors import CinchError

app = typer.Typer(
    name="cinch", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="A git-backed schema repository for multi-tenant SQLite.",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version  # only here: it is slow to import

        sys.stdout.write(f"cinch {version('cinch')}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Option(
        "-C", help="Run as if started in this folder (like git -C)")] = None,
    database: Annotated[str | None, typer.Option(
        "--db", help="Database to work on (default: main)")] = None,
    format: Annotated[Format, typer.Option(
        "--format", "-f", help="Default output format")] = Format.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only what is asked")] = False,
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print cinch's version and exit")] = False,
) -> None:
    st = state(ctx)
    st.directory, st.database, st.format, st.quiet = directory, database, format, quiet
    ctx.call_on_close(st.close)


app.command("init")(history_cmds.init)
app.command("status")(history_cmds.status)
app.command("log")(history_cmds.log)
app.command("show")(history_cmds.show)
app.command("diff")(history_cmds.diff)
app.command("query")(tenant_cmds.query)
app.command("batch")(tenant_cmds.batch)
app.command("sync")(tenant_cmds.sync)
app.add_typer(schema_cmds.db_app, name="db")
app.add_typer(schema_cmds.table_app, name="table")
app.add_typer(schema_cmds.column_app, name="column")
app.add_typer(schema_cmds.index_app, name="index")
app.add_typer(schema_cmds.view_app, name="view")
app.add_typer(tenant_cmds.tenant_app, name="tenant")
app.add_typer(hooks_cmds.hooks_app, name="hooks")
app.add_typer(hooks_cmds.hub_app, name="hub")
app.command("revert")(remote_cmds.revert)
app.command("tag")(remote_cmds.tag)
app.add_typer(remote_cmds.remote_app, name="remote")
app.command("branch")(branch_cmds.branch)
app.command("switch")(branch_cmds.switch)
app.command("checkout")(branch_cmds.switch)
app.command("merge")(branch_cmds.merge)
app.command("config", context_settings=config_cmds.CONTEXT)(config_cmds.config)
app.command("push")(remote_cmds.push)
app.command("pull")(remote_cmds.pull)
app.command("clone")(remote_cmds.clone)
app.command("serve")(server_cmds.serve)
app.add_typer(server_cmds.keys_app, name="keys")
app.command("codegen")(codegen_cmds.codegen)
app.add_typer(export_cmds.export_app, name="export")
app.add_typer(export_cmds.import_app, name="import")


def _wants_json(argv: list[str]) -> bool:
    for i, arg in enumerate(argv):
        if arg in ("--format", "-f") and i + 1 < len(argv) and argv[i + 1] == "json":
            return True
        if arg == "--format=json":
            return True
    return False


# Typer's click exceptions, found through a public class so no private module is imported.
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


_METAVARS = {"INTO": "BRANCH", "DIRECTORY": "DIR"}  # where the option's name says too little


def _tidy_help(command: Any) -> Any:
    """Help that reads like other command-line tools': an option's value as a name in capitals
    (``--db NAME``, ``-f [table|json|yaml|csv]``), flags as bare flags, each default once.

    typer names values by their Python types (``<str>``, ``<list[str]>``, ``<bool>``); the
    tree is walked once per run (idempotent: only what is still unset is set).
    """
    for param in command.params:
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            if param.default is False:
                param.show_default = False  # an absent flag is off: nothing to say
            continue
        if param.metavar is None:
            desc = getattr(param, "type_descriptor", None)
            choices = desc.choices if desc is not None and desc.is_choice else None
            if choices:
                param.metavar = "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
            else:
                param.metavar = (param.name or "value").upper()
                param.metavar = _METAVARS.get(param.metavar, param.metavar)
            if param.param_type_name == "argument":
                # its name is already the metavar: do not print a type beside it
                param.display_type_rich = lambda ctx: None
        if param.help and "default" in param.help:
            param.show_default = False  # the help text says it in words
    for sub in getattr(command, "commands", {}).values():
        _tidy_help(sub)
    return command


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; render every error as one `error:` line with its exit code."""
    args = sys.argv[1:] if argv is None else argv
    # cinch uses no pydantic plugin; looking for some scans every installed package's metadata
    # on the first model, at each start.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if not args:  # `cinch` alone is a request for help, not a mistake
        args = ["--help"]
    try:
        command = _tidy_help(typer.main.get_command(app))
        rc = command.main(args=args, prog_name="cinch", obj=State(), standalone_mode=False)
    except CinchError as exc:
        if _wants_json(args):
            sys.stderr.write(json.dumps({"error": exc.to_dict()}, default=str) + "\n")
        else:
            sys.stderr.write(f"error: {exc.message}\n")
            if exc.hint:
                sys.stderr.write(f"hint: {exc.hint}\n")
        sys.exit(exc.exit_code)
    except _CLICK_ERROR as exc:
        sys.stderr.write(f"error: {exc.format_message()}\n")
        # The command as the user typed it up to the one that refused (`cinch table create`),
        # never the arguments after it.
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None and ctx.command_path else "cinch"
        sys.stderr.write(f"hint: see `{where} --help`\n")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted; nothing was changed\n")
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
