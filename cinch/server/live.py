"""Live queries: a client subscribes to a query on a tenant and gets its result again whenever
the tenant's data changes, whoever changed it (this server, the CLI, another process).

One :class:`Watcher` per tenant file polls ``PRAGMA data_version`` on a dedicated read
connection (it changes when any *other* connection commits) every ``poll`` seconds and wakes
the sockets watching that file; each socket re-runs its queries read-only and sends those
whose result changed.

Protocol (JSON text frames), after the key (``Authorization`` header, or a first frame
``{"type": "auth", "key": "cinch_..."}`` for browsers, which cannot set headers):

* client: ``{"type": "subscribe", "id": "q1", "sql": "...", "params": [...]}``,
  ``{"type": "unsubscribe", "id": "q1"}``, ``{"type": "ping"}``
* server: ``{"type": "ready", ...}``, ``{"type": "result", "id", "result": QueryResult}``,
  ``{"type": "unsubscribed", "id"}``, ``{"type": "pong"}``,
  ``{"type": "error", "id"?, "error": {"code", "message"}}``
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from cinch import DataWatch, Tenant
from cinch.errors import CinchError, QueryError, Unauthorized
from cinch.server.deps import ServerContext, authenticate, require, tenant_target
from cinch.server.keys import ApiKey, Scope
from cinch.server.querying import finite_params, render

AUTH_TIMEOUT = 5.0


class Watcher:
    """Polls one tenant file; ``changed`` is set for each listener when its data changes."""

    def __init__(self, path: Path, poll: float) -> None:
        self.path = path
        self.poll = poll
        self.listeners: set[asyncio.Event] = set()
        self.gone = False
        self._data = DataWatch(path)
        # The baseline is taken before any subscriber's first result: no change is missed.
        self._version = self._read()
        self._task: asyncio.Task[None] | None = None

    def _read(self) -> int:
        return self._data.version()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.poll)
                if not os.path.exists(self.path):
                    self.gone = True  # deleted: this connection would read the unlinked file
                    self._wake()
                    return
                version = await asyncio.to_thread(self._read)
                if version != self._version:
                    self._version = version
                    self._wake()
        except sqlite3.Error:
            self.gone = True
            self._wake()

    def _wake(self) -> None:
        for event in self.listeners:
            event.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._data.close()


class LiveHub:
    """The watchers of this server, shared by every socket watching the same file."""

    def __init__(self, poll: float) -> None:
        self.poll = poll
        self._watchers: dict[str, Watcher] = {}

    async def listen(self, path: Path, event: asyncio.Event) -> Watcher:
        key = str(path)
        watcher = self._watchers.get(key)
        if watcher is None or watcher.gone:
            watcher = await run_in_threadpool(Watcher, path, self.poll)
            watcher.start()
            self._watchers[key] = watcher
        watcher.listeners.add(event)
        return watcher

    async def leave(self, watcher: Watcher, event: asyncio.Event) -> None:
        watcher.listeners.discard(event)
        if not watcher.listeners:
            if self._watchers.get(str(watcher.path)) is watcher:
                del self._watchers[str(watcher.path)]
            await watcher.stop()

    async def close(self) -> None:
        for watcher in list(self._watchers.values()):
            await watcher.stop()
        self._watchers.clear()


@dataclass
class Subscription:
    sql: str
    params: list[Any] | dict[str, Any]
    digest: str = ""


@dataclass
class Session:
    ws: WebSocket
    ctx: ServerContext
    key: ApiKey
    tenant: Tenant
    subs: dict[str, Subscription] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send_text(json.dumps(message, default=str))

    async def push(self, sub_id: str, sub: Subscription, *, always: bool = False) -> None:
        """Run the query (read-only) and send the result if it differs from the last one."""
        try:
            result = await run_in_threadpool(self._run, sub)
        except CinchError as exc:
            await self.send({"type": "error", "id": sub_id, "error": _error(exc)})
            return
        digest = hashlib.sha256(json.dumps(result, default=str).encode()).hexdigest()
        if digest == sub.digest and not always:
            return
        sub.digest = digest
        if sub_id in self.subs:  # not unsubscribed meanwhile
            self.ctx.metrics.live(pushed=0 if always else 1)
            await self.send({"type": "result", "id": sub_id, "result": result})

    def _run(self, sub: Subscription) -> dict[str, Any]:
        limit = self.ctx.limits.max_query_rows
        # Tenant.read: this runs in worker threads, several at once; each run has the key's
        # whole budget (a query stopped now is tried again on the next change).
        result = self.tenant.read(sub.sql, sub.params, max_rows=limit,
                                  timeout=self.ctx.budget(self.key))
        return render(result.columns, result.rows, rowcount=result.rowcount,
                      truncated=result.truncated)


def _error(exc: CinchError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message}


async def _authenticate(ws: WebSocket, ctx: ServerContext) -> ApiKey:
    header = ws.headers.get("authorization", "")
    client = ws.client.host if ws.client else "unknown"
    if header.lower().startswith("bearer "):
        return authenticate(ctx, header[7:].strip(), client)
    try:
        first = json.loads(await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT))
    except (TimeoutError, ValueError) as exc:
        raise Unauthorized("an API key is required: send the Authorization header or a first "
                           'frame {"type": "auth", "key": "..."}') from exc
    token = first.get("key") if isinstance(first, dict) and first.get("type") == "auth" else None
    return authenticate(ctx, token if isinstance(token, str) else None, client)


async def serve_socket(ws: WebSocket, ctx: ServerContext, db: str, tenant_name: str,
                       branch: str | None) -> None:
    await ws.accept()
    try:
        key = await _authenticate(ws, ctx)
        require(key, Scope.read)
        tenant = await tenant_target(ctx, key, db, tenant_name, branch)
    except CinchError as exc:
        await ws.send_text(json.dumps({"type": "error", "error": _error(exc)}))
        await ws.close(code=4000 + exc.http_status)
        return
    session = Session(ws, ctx, key, tenant)
    changed = asyncio.Event()
    watcher = await ctx.live.listen(tenant.path, changed)
    pusher = asyncio.create_task(_push_changes(session, watcher, changed))
    await session.send({"type": "ready", "database": tenant.database, "branch": tenant.branch,
                        "tenant": tenant.name})
    try:
        await _read_messages(session)
    except WebSocketDisconnect:
        pass
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
        ctx.metrics.live(delta=-len(session.subs))
        session.subs.clear()
        await ctx.live.leave(watcher, changed)


async def _push_changes(session: Session, watcher: Watcher, changed: asyncio.Event) -> None:
    while True:
        await changed.wait()
        changed.clear()
        if watcher.gone:
            await session.send({"type": "error", "error": {
                "code": "not_found", "message": f"tenant {session.tenant.name} was deleted"}})
            await session.ws.close(code=4404)
            return
        for sub_id, sub in list(session.subs.items()):
            await session.push(sub_id, sub)


async def _read_messages(session: Session) -> None:
    limit = session.ctx.settings.max_live_subscriptions
    while True:
        raw = await session.ws.receive_text()
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError:
            await session.send({"type": "error", "error": {
                "code": "invalid_json", "message": "each frame must be a JSON object"}})
            continue
        kind, sub_id = message.get("type"), message.get("id")
        if kind == "ping":
            await session.send({"type": "pong"})
        elif kind == "subscribe":
            error = _check_subscribe(message, session, limit)
            if error:
                await session.send({"type": "error", "id": sub_id, "error": _error(error)})
                continue
            sub = Subscription(message["sql"], message.get("params") or [])
            session.subs[sub_id] = sub
            session.ctx.metrics.live(delta=1)
            await session.push(sub_id, sub, always=True)
        elif kind == "unsubscribe" and sub_id in session.subs:
            del session.subs[sub_id]
            session.ctx.metrics.live(delta=-1)
            await session.send({"type": "unsubscribed", "id": sub_id})
        else:
            await session.send({"type": "error", "id": sub_id, "error": {
                "code": "usage", "message": "expected a frame of type subscribe, unsubscribe "
                                            "(of a known id) or ping"}})


def _check_subscribe(message: dict[str, Any], session: Session, limit: int) -> CinchError | None:
    sub_id, sql, params = message.get("id"), message.get("sql"), message.get("params", [])
    if not isinstance(sub_id, str) or not 0 < len(sub_id) <= 100:
        return QueryError("a subscription needs an id: a string of 1 to 100 characters")
    if sub_id in session.subs:
        return QueryError(f"subscription {sub_id!r} exists; unsubscribe first")
    if len(session.subs) >= limit:
        return QueryError(f"at most {limit} subscriptions per connection")
    if not isinstance(sql, str) or not sql.strip() or len(sql) > 100_000:
        return QueryError("sql must be a non-empty string of at most 100000 characters")
    if not isinstance(params, list | dict):
        return QueryError("params must be a list or an object")
    try:
        finite_params(params)
    except ValueError as exc:
        return QueryError(str(exc))
    return None
