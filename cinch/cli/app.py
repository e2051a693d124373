"""The ``cinch`` command: verbs that mirror git, plus the schema and tenant nouns."""

import json
import sys
from pathlib import Path
from typing import Annotated

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
    help="A git-backed schema repository for multi-tenant SQLite.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; render every error as one `error:` line with its exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        rc = app(args=args, prog_name="cinch", obj=State(), standalone_mode=False)
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
        command = "" if "No such command" in exc.format_message() else \
            " ".join(a for a in args if not a.startswith("-"))[:60]
        sys.stderr.write(f"hint: see `cinch {command} --help`\n".replace("  ", " "))
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted; nothing was changed\n")
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
