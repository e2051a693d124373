"""``cinch serve`` (the HTTP API) and ``cinch keys`` (its API keys)."""

import dataclasses
import errno
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cinch.cli import output
from cinch.cli.context import FormatOpt, fmt, state
from cinch.cli.output import Format

if TYPE_CHECKING:
    from cinch.server.state import StateStore

keys_app = typer.Typer(help="API keys of the HTTP server (`cinch serve`).")


def _store(ctx: typer.Context) -> "StateStore":
    # Imported here: the CLI must start fast and must not need the server's dependencies.
    from cinch.server.state import StateStore, state_path

    return StateStore(state_path(state(ctx).project().state_dir))


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    cors_origin: Annotated[list[str] | None, typer.Option(
        "--cors-origin", help="Allow browser calls from this origin (repeat)")] = None,
    rate_limit: Annotated[float, typer.Option(
        help="Requests per second per key (0: no limit)")] = 100.0,
    max_body: Annotated[int, typer.Option(help="Largest request body, in bytes")] = 1024 * 1024,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log",
        help="Log every request (off by default: it costs more than a point query)")] = False,
    workers: Annotated[int, typer.Option(
        help="Worker processes (each with its own rate limits and live watchers)")] = 1,
    adopt_root: Annotated[Path | None, typer.Option(
        help="POST /databases/adopt reads files only below this folder, and may adopt them "
        "in place (without it: files anywhere are copied, never adopted in place)")] = None,
) -> None:
    """Serve the project over HTTP (FastAPI + uvicorn); see docs/content/guides/http.md."""
    import uvicorn

    from cinch.server.app import SETTINGS_ENV, create_app
    from cinch.server.console import console_built
    from cinch.server.settings import ServerSettings

    settings = ServerSettings(host=host, port=port, cors_origins=list(cors_origin or []),
                              rate_limit=rate_limit, rate_burst=max(1, int(rate_limit * 2)),
                              max_body_bytes=max_body,
                              adopt_root=str(adopt_root.resolve()) if adopt_root else None)
    root = state(ctx).project().root
    _check_port_free(host, port)  # before any banner: a taken port is the only thing said
    options = dict(host=host, port=port, log_level=log_level, proxy_headers=False,
                   server_header=False, ws_max_size=settings.max_body_bytes,
                   access_log=access_log, loop=_best("uvloop", "auto"), http=_http_protocol())
    if not state(ctx).quiet:
        output.err_console.print(f"cinch serving {root} on http://{host}:{port} (docs: /docs)")
        output.err_console.print(f"console: http://{host}:{port}/" if console_built()
                                 else "console: not built (it needs node when cinch is installed)")
        if not _any_key(ctx):
            output.err_console.print(
                "warning: no API key exists yet, so every request will be refused; make one "
                "with `cinch keys create --name admin --scope admin` (its secret is printed "
                "once)", highlight=False)
    if workers > 1:
        # Worker processes build their own app: hand them the project and settings.
        os.environ["CINCH_PROJECT"] = str(root)
        os.environ[SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings))
        uvicorn.run("cinch.server.app:app_from_environment", factory=True, workers=workers,
                    **options)  # type: ignore[arg-type]
        return
    uvicorn.run(create_app(root, settings), **options)  # type: ignore[arg-type]


def _any_key(ctx: typer.Context) -> bool:
    from cinch.server.keys import list_keys

    store = _store(ctx)
    try:
        return bool(list_keys(store))
    finally:
        store.close()


def _check_port_free(host: str, port: int) -> None:
    """Bind the address as uvicorn will (address reuse on, so a closing connection does not
    count), then let go: a port another process listens on is refused here, plainly."""
    import socket

    from cinch.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = "is in use by another program" if exc.errno == errno.EADDRINUSE \
                else f"cannot be bound ({exc.strerror})"
            raise UsageError(f"port {port} on {host} {reason}", host=host, port=port,
                             hint=f"pick another with `cinch serve --port {port + 1}`, or stop "
                                  "the program using it") from exc


def _best(module: str, fallback: str) -> str:
    import importlib.util

    return module if importlib.util.find_spec(module) else fallback


def _http_protocol() -> object:
    """uvicorn's httptools protocol with cinch's query fast path (cinch.server.protocol), or
    uvicorn's choice without httptools."""
    if _best("httptools", "") == "":
        return "auto"
    from cinch.server.protocol import CinchHttpProtocol

    return CinchHttpProtocol


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="A name to recognise the key by")],
    scope: Annotated[str, typer.Option("--scope", help="read, write or admin")] = "read",
    db: Annotated[str | None, typer.Option("--db", help="Only this database (a glob)")] = None,
    branch: Annotated[str | None, typer.Option(
        "--branch", help="Only branches matching this glob, e.g. 'feature/*'")] = None,
    tenant: Annotated[str | None, typer.Option(
        "--tenant", help="Only query tenants matching this glob, e.g. 'acme*' (a key for "
                         "customers: it changes no schema, branch or tenant list)")] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0.001, max=86_400, help="The key's own query time budget in seconds "
                                                 "(default: cinch.toml limits.query_timeout_ms)",
    )] = None,
    format: FormatOpt = None,
) -> None:
    """Create an API key; its secret is printed once and never stored."""
    from cinch.errors import UsageError
    from cinch.server.keys import Scope, create_key

    if scope not in Scope.__members__:
        raise UsageError(f"scope must be read, write or admin, not {scope!r}")
    store = _store(ctx)
    try:
        key, secret = create_key(store, name, scope, database=db, branch=branch, tenant=tenant,
                                 timeout_ms=None if timeout is None else
                                 max(1, round(timeout * 1000)))
    finally:
        store.close()
    chosen = fmt(ctx, format)
    if chosen is not Format.table:
        output.emit({**key.to_dict(), "secret": secret}, chosen)
        return
    output.err_console.print(f"[green]✓[/green] key {key.name} ({key.scope.value}"
                             f"{', db ' + key.database if key.database else ''}"
                             f"{', branch ' + key.branch if key.branch else ''}"
                             f"{', tenant ' + key.tenant if key.tenant else ''}) created; "
                             "its secret, shown once:")
    output.console.print(secret)


@keys_app.command("list")
def keys_list(ctx: typer.Context, format: FormatOpt = None) -> None:
    """List API keys (never their secrets)."""
    from cinch.server.keys import list_keys

    store = _store(ctx)
    try:
        rows = [k.to_dict() for k in list_keys(store)]
    finally:
        store.close()
    output.emit(rows, fmt(ctx, format),
                columns=["name", "scope", "database", "branch", "tenant", "timeout_ms",
                         "created_at", "id"])


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, name: str) -> None:
    """Revoke an API key: a running server refuses it from its next request."""
    from cinch.server.keys import revoke_key

    store = _store(ctx)
    try:
        revoke_key(store, name)
    finally:
        store.close()
    if not state(ctx).quiet:
        output.console.print(f"[green]✓[/green] key {name} revoked")
