"""The ``cinch`` command: verbs that mirror git, plus the schema and tenant nouns.

Every command pays for the CLI's start, so the root lists the commands from :data:`COMMANDS`
(names and one-line help) and imports a command's module only when that command runs (click's
lazy group: https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands).
tests/cli/test_startup.py holds the table to the commands the modules define.
"""

import importlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
import typer.core

from cinch.cli.coerce import spare_pydantic_in
from cinch.cli.context import State, state
from cinch.cli.output import Format
from cinch.errors import CinchError


class Entry(NamedTuple):
    """Where a command of the root lives, and what `cinch --help` says of it."""

    module: str  # in cinch.cli
    attribute: str  # a command function, or a typer.Typer of subcommands
    summary: str  # the first sentence of its help, as `cinch --help` shows it
    context: str | None = None  # the module's attribute holding the command's context settings


# In `cinch --help` order: commands, then the groups of subcommands (as typer lists them).
COMMANDS: dict[str, Entry] = {
    "init": Entry("history_cmds", "init", "Create a project: a git repository with cinch.toml, "
                  ".gitignore and schema/<db>/."),
    "status": Entry("history_cmds", "status", "The current branch, its databases and whether "
                    "every tenant is at the head."),
    "log": Entry("history_cmds", "log", "Change sets in the history of a branch, newest first."),
    "show": Entry("history_cmds", "show", "One change set or commit, with the SQL it runs."),
    "diff": Entry("history_cmds", "diff", "How the schema differs between two revisions: a "
                  "schema.sql patch, or --structured."),
    "query": Entry("tenant_cmds", "query", "Run one SQL statement on a tenant, parameters bound "
                   "(never formatted into the SQL); with --file, every statement of the file "
                   "in one transaction."),
    "batch": Entry("tenant_cmds", "batch", "Run several SQL statements on a tenant in one "
                   "transaction: all of them or none."),
    "sync": Entry("tenant_cmds", "sync", "Bring every tenant of the branch to the branch head "
                  "(safe to repeat; finishes a crash)."),
    "revert": Entry("remote_cmds", "revert", "Commit a new change set that undoes CHANGE "
                    "(history is never rewritten)."),
    "tag": Entry("remote_cmds", "tag", "Name a schema version (a git tag); with no name, list "
                 "the tags."),
    "branch": Entry("branch_cmds", "branch", "List branches, or create, delete, protect one "
                    "(like git branch)."),
    "switch": Entry("branch_cmds", "switch", "Switch the work tree to a branch (`-c` creates it "
                    "first, from START or the current one)."),
    "checkout": Entry("branch_cmds", "switch", "Switch the work tree to a branch (`-c` creates "
                      "it first, from START or the current one)."),
    "merge": Entry("branch_cmds", "merge", "Merge a branch: semantic conflict check, commit, "
                   "then every tenant of the target follows."),
    "config": Entry("config_cmds", "config", "List, get or set the settings committed in "
                    "cinch.toml (see docs/content/guides/config.md).", context="CONTEXT"),
    "push": Entry("remote_cmds", "push", "Push a branch's schema history to a remote (tenant "
                  "data never leaves)."),
    "pull": Entry("remote_cmds", "pull", "Fetch and fast-forward (or merge) a branch, then bring "
                  "its tenants to the new head."),
    "clone": Entry("remote_cmds", "clone", "Copy a project: same history, hooks installed, "
                   "empty tenants at its schema."),
    "serve": Entry("server_cmds", "serve", "Serve the project over HTTP (FastAPI + uvicorn); see "
                   "docs/content/guides/http.md."),
    "codegen": Entry("codegen_cmds", "codegen", "Typed models and query builders generated from "
                     "the change sets (never a tenant file)."),
    # adopt_cmds adds `db adopt` to schema_cmds' db group: reached through it, the group is whole
    "db": Entry("adopt_cmds", "db_app", "Databases of the project (each a schema of its own)."),
    "table": Entry("schema_cmds", "table_app", "Create, drop, rename, copy and inspect tables."),
    "column": Entry("schema_cmds", "column_app", "Add, drop, rename and alter columns."),
    "index": Entry("schema_cmds", "index_app", "Create, drop and list indexes."),
    "view": Entry("schema_cmds", "view_app", "Create, replace, drop and inspect views."),
    "tenant": Entry("tenant_cmds", "tenant_app", "Tenant databases: one SQLite file per "
                    "customer, per branch."),
    "hooks": Entry("hooks_cmds", "hooks_app", "The git hooks that keep tenants in step with "
                   "plain git."),
    "hub": Entry("hooks_cmds", "hub_app", "A shared bare repository that accepts only what "
                 "cinch would."),
    "remote": Entry("remote_cmds", "remote_app", "Other copies of the project's history to push "
                    "to and pull from."),
    "keys": Entry("server_cmds", "keys_app", "API keys of the HTTP server (`cinch serve`)."),
    "export": Entry("export_cmds", "export_app", "Write the schema history in other tools' "
                    "formats."),
    "import": Entry("export_cmds", "import_app", "Bring another tool's schema history in as "
                    "change sets."),
}

# The root's settings, which typer hands down to the commands it builds.
_SETTINGS: dict[str, Any] = {"rich_markup_mode": None, "pretty_exceptions_enable": False,
                             "add_completion": False}


def build_command(name: str) -> Any:
    """The click command ``name`` of the root, built by typer from its module as the root would
    build it (same settings), importing only that module."""
    entry = COMMANDS[name]
    module = importlib.import_module(f"cinch.cli.{entry.module}")
    target = getattr(module, entry.attribute)
    holder = typer.Typer(**_SETTINGS)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]
    context = getattr(module, entry.context) if entry.context else None
    holder.command(name, context_settings=context)(target)
    return typer.main.get_command(holder)


class _LazyCommands(Mapping[str, Any]):
    """The root's commands by name, each built on first look-up."""

    def __init__(self) -> None:
        self.loaded: dict[str, Any] = {}
        self.tidy = False  # set by _tidy_help: commands built later are tidied too

    def __getitem__(self, name: str) -> Any:
        if name not in self.loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            command = build_command(name)
            self.loaded[name] = _tidy_help(command) if self.tidy else command
        return self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyGroup(typer.core.TyperGroup):
    """typer's group, with commands from :data:`COMMANDS` built when they run."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # TyperGroup's layout and shortening, from the table's summaries (no command is built)
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, typer.core.TyperCommand(name=name, help=entry.summary,
                                               rich_markup_mode=None).get_short_help_str(limit))
                for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="cinch", cls=LazyGroup, no_args_is_help=True,
    help="A git-backed schema repository for multi-tenant SQLite.",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    **_SETTINGS,
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
    tree is walked once per run (idempotent: only what is still unset is set), and the root's
    commands not built yet are tidied when they are. The same walk gives each parameter
    cinch's converter for plain values (:mod:`cinch.cli.coerce`), which needs no pydantic.
    """
    spare_pydantic_in(command)
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
    commands = getattr(command, "commands", {})
    if isinstance(commands, _LazyCommands):
        commands.tidy = True
        commands = commands.loaded
    for sub in list(commands.values()):
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
