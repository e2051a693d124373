"""What every route shares: the project, the caller's key, scope checks, paging.

Concurrency: the engine (pygit2 repository, history caches, the project's file lock) is not
made for several threads at once, so routes that touch it run one at a time under
``ServerContext.engine_lock`` (an asyncio lock: waiting for it holds no worker thread).
Queries only resolve their tenant under the lock and run their SQL outside it, in parallel,
on the tenant connection pool.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from cinch import Database, LimitsConfig, Project, Tenant
from cinch.errors import Forbidden, NotFound, RateLimited, Unauthorized, UsageError
from cinch.names import check_branch_name, check_name, check_tenant_name
from cinch.server.keys import ApiKey, KeyRing, Scope
from cinch.server.metrics import Metrics
from cinch.server.settings import ServerSettings
from cinch.server.state import StateStore


class TokenBuckets:
    """Token buckets by key (requests per key) or by address (failed authentications)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str) -> float:
        """0 if allowed, else the seconds until a token is free."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, last = self._buckets.get(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[who] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[who] = (tokens - 1, now)
        if len(self._buckets) > 10_000:  # forget idle callers: the map must stay bounded
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
        return 0.0


@dataclass
class ServerContext:
    project: Project
    settings: ServerSettings
    state: StateStore
    keys: KeyRing
    metrics: Metrics
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    engine_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    limiter: TokenBuckets = field(init=False)
    auth_failures: TokenBuckets = field(init=False)
    # (branch tip, database lowercased) -> the database's own spelling
    _db_names: dict[tuple[str, str], str] = field(default_factory=dict)
    # (database, branch, tenant) -> Tenant, reused while its file exists (queries' hot path)
    _tenants: dict[tuple[str, str, str], Tenant] = field(default_factory=dict)
    # (key id, db, tenant, ?branch=) -> (key, Tenant, its file, its branch's tip): what
    # tenant_target found for that very key object (a reloaded key ring makes new ones),
    # reused while the branch (without ?branch=, also HEAD) and the tenant file are unchanged
    _resolved: dict[tuple[str, str, str, str | None],
                    tuple[ApiKey, Tenant, str, str]] = field(default_factory=dict)
    live: Any = None

    def __post_init__(self) -> None:
        # Branch tips and HEAD are asked on every query: kept while git's refs are unchanged.
        self._watch = self.project.tip_watch()
        self.limiter = TokenBuckets(self.settings.rate_limit, self.settings.rate_burst)
        fail = self.settings.auth_fail_limit
        self.auth_failures = TokenBuckets(fail, fail * 4)

    def budget(self, key: ApiKey) -> float | None:
        """Seconds a query of this key may run: the key's own budget, else the server's;
        None: no limit."""
        ms = key.timeout_ms if key.timeout_ms is not None else self.limits.query_timeout_ms
        return ms / 1000 if ms else None

    def current_branch(self) -> str:
        """The checked-out branch, re-read only when it changes (`cinch switch`)."""
        return self._watch.current_branch()

    def branch_tip(self, branch: str) -> str | None:
        """The branch's tip, re-read only when it moves."""
        return self._watch.tip(branch)

    def branch_or_current(self, branch: str | None) -> str:
        """The branch asked for (validated, existing), else the project's current branch."""
        if branch is None:
            return self.current_branch()
        check_branch_name(branch)
        if self.branch_tip(branch) is None:
            raise NotFound(f"no branch named {branch!r}", branch=branch)
        return branch

    def database_name(self, db: str, branch: str) -> str:
        """The database's canonical name on the branch (cached per branch tip)."""
        check_name(db, "database")
        tip = self.branch_tip(branch)
        if tip is None:
            raise NotFound(f"no branch named {branch!r}", branch=branch)
        cached = self._db_names.get((tip, db.lower()))
        if cached is None:
            cached = self.project.database(db, branch=branch).name
            if len(self._db_names) > 4096:
                self._db_names.clear()
            self._db_names[(tip, db.lower())] = cached
        return cached


async def context(request: Request) -> ServerContext:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread.
    return request.app.state.cinch  # type: ignore[no-any-return]


Ctx = Annotated[ServerContext, Depends(context)]

# --- authentication -------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False, description="An API key from `cinch keys create`.")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(ctx: ServerContext, token: str | None, client: str) -> ApiKey:
    """The key a bearer token names, rate-limited; 401/429 otherwise. Shared with WebSockets."""
    if not token:
        raise Unauthorized("an API key is required",
                           hint="send `Authorization: Bearer <key>`; create a key with "
                                "`cinch keys create --name NAME --scope read`")
    key = ctx.keys.verify(token)
    if key is None:
        # Guessing keys is pointless (256-bit secrets), but hammering is still throttled.
        wait = ctx.auth_failures.take(client)
        if wait:
            raise RateLimited("too many failed authentications; slow down",
                              retry_after=max(1, round(wait + 0.5)))
        raise Unauthorized("the API key is not valid (unknown, revoked or mistyped)")
    wait = ctx.limiter.take(key.id)
    if wait:
        raise RateLimited(f"rate limit of {ctx.settings.rate_limit:g} requests/s for key "
                          f"{key.name} reached", retry_after=max(1, round(wait + 0.5)))
    return key


async def current_key(request: Request, ctx: Ctx,
                      creds: HTTPAuthorizationCredentials | None = Security(bearer)) -> ApiKey:
    return authenticate(ctx, creds.credentials if creds else None, _client(request))


Key = Annotated[ApiKey, Depends(current_key)]


def require(key: ApiKey, need: Scope, *, database: str | None = None,
            branch: str | None = None, tenant: str | None = None,
            action: str = "this") -> None:
    """403 unless the key's scope, database glob, branch glob and tenant glob all allow the
    action. A key limited to tenants writes nothing but rows of those tenants (``tenant``
    names the one a write goes to): no schema, branch, tenant or merge request changes."""
    if not key.can(need):
        raise Forbidden(f"key {key.name} has scope {key.scope.value}; {action} needs "
                        f"{need.value}", key=key.name, scope=key.scope.value, needs=need.value)
    if key.tenant is not None:
        if tenant is None and need is not Scope.read:
            raise Forbidden(f"key {key.name} is limited to tenants {key.tenant!r}: it may "
                            f"query them, but {action} needs a key not limited to tenants",
                            key=key.name, tenants=key.tenant)
        if tenant is not None and not key.covers_tenant(tenant):
            raise Forbidden(f"key {key.name} is limited to tenants {key.tenant!r}, not "
                            f"{tenant!r}", key=key.name, tenant=tenant)
    if database is not None and not key.covers_database(database):
        raise Forbidden(f"key {key.name} is limited to database {key.database!r}, not "
                        f"{database!r}", key=key.name, database=database)
    if branch is not None and not key.covers_branch(branch):
        raise Forbidden(f"key {key.name} is limited to branches {key.branch!r}, not "
                        f"{branch!r}", key=key.name, branch=branch)


def require_databases(key: ApiKey, databases: Iterable[str], action: str) -> None:
    """403 if an action that touches these databases reaches one outside the key's scope."""
    outside = sorted(db for db in databases if not key.covers_database(db))
    if outside:
        # Named by count only: the key must not learn the names of databases it cannot see.
        raise Forbidden(f"key {key.name} is limited to database {key.database!r}; {action} "
                        f"also touches {len(outside)} other database(s)", key=key.name)


def needs(scope: Scope) -> Any:
    async def dep(key: Key) -> ApiKey:
        require(key, scope)
        return key
    return Depends(dep)


async def _key_manager(key: Key) -> ApiKey:
    require(key, Scope.admin, action="managing keys")
    if key.database is not None or key.branch is not None:
        # Else a key limited to one database could make itself a key for all of them.
        raise Forbidden(f"key {key.name} is limited (--db or --branch); managing keys needs "
                        "an admin key without limits", key=key.name)
    return key


ReadKey = Annotated[ApiKey, needs(Scope.read)]
WriteKey = Annotated[ApiKey, needs(Scope.write)]
AdminKey = Annotated[ApiKey, needs(Scope.admin)]
KeyManager = Annotated[ApiKey, Depends(_key_manager)]


async def _engine_session(ctx: Ctx) -> AsyncIterator[ServerContext]:
    async with ctx.engine_lock:
        yield ctx


# One Depends object: FastAPI resolves it once per request; the lock is released when the
# route function returns (scope="function"), before the response is sent.
Engine = Annotated[ServerContext, Depends(_engine_session, scope="function")]

# --- (database, branch) targets ---------------------------------------------------------------

# The naming rules of cinch.names, published so clients (and fuzzers) know them up front;
# the engine still checks every name itself.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
BranchQuery = Annotated[str | None, Query(
    max_length=200, description="Branch (default: the project's current branch)",
    examples=["main"])]
DbPath = Annotated[str, Path(max_length=63, pattern=NAME_PATTERN, description="Database name",
                             examples=["main"])]
TenantPath = Annotated[str, Path(max_length=63, pattern=TENANT_PATTERN, description="Tenant name",
                                 examples=["main"])]


def name_path(what: str, example: str) -> Any:
    return Path(max_length=63, pattern=NAME_PATTERN, description=f"{what} name",
                examples=[example])


@dataclass
class Target:
    """A database on a branch that the caller's key may use at the route's scope."""

    ctx: ServerContext
    key: ApiKey
    name: str
    branch: str

    @property
    def project(self) -> Project:
        return self.ctx.project

    @property
    def db(self) -> Database:
        return Database(self.ctx.project, self.name, self.branch)


def _resolve(ctx: ServerContext, key: ApiKey, scope: Scope, db: str,
             branch: str | None) -> Target:
    require(key, scope)
    branch = ctx.branch_or_current(branch)
    # Scope before existence: a key must not learn which databases exist elsewhere.
    require(key, scope, database=db, branch=branch)
    return Target(ctx, key, ctx.database_name(db, branch), branch)


def target(scope: Scope) -> Any:
    def dep(ctx: Engine, key: Key, db: DbPath, branch: BranchQuery = None) -> Target:
        return _resolve(ctx, key, scope, db, branch)
    return Depends(dep)


ReadTarget = Annotated[Target, target(Scope.read)]
WriteTarget = Annotated[Target, target(Scope.write)]


@dataclass
class TenantAccess:
    """A tenant the caller's key may query (at least read), with that key."""

    ctx: ServerContext
    key: ApiKey
    tenant: Tenant


async def tenant_target(ctx: ServerContext, key: ApiKey, db: str, tenant: str,
                        branch: str | None) -> Tenant:
    """The tenant a query runs on; resolved under the engine lock, used outside it."""
    async with ctx.engine_lock:
        found = tenant_target_now(ctx, key, db, tenant, branch)
        if found is not None:
            return found
        before = _tip_before(ctx, branch)
        t = _resolve(ctx, key, Scope.read, db, branch)
        # Creating "main" or copying a lazily forked tenant takes real work: off the loop.
        found = await run_in_threadpool(Tenant, ctx.project, t.name, t.branch, tenant)
        _remember(ctx, found)
        _remember_resolved(ctx, key, db, tenant, branch, found, before)
        return found


def tenant_target_now(ctx: ServerContext, key: ApiKey, db: str, tenant: str,
                      branch: str | None) -> Tenant | None:
    """``tenant_target`` without waiting: for a caller on the event loop that has seen the
    engine lock free (so, running to the end without yielding, it holds the engine as surely
    as the lock would). None if the tenant must first be made in a worker thread."""
    found = _resolved(ctx, key, db, tenant, branch)
    if found is not None:
        return found
    require(key, Scope.read)
    check_tenant_name(tenant)
    require(key, Scope.read, tenant=tenant)
    before = _tip_before(ctx, branch)
    found = _known_tenant(ctx, _resolve(ctx, key, Scope.read, db, branch), tenant)
    if found is not None:
        _remember_resolved(ctx, key, db, tenant, branch, found, before)
    return found


def _resolved(ctx: ServerContext, key: ApiKey, db: str, tenant: str,
              branch: str | None) -> Tenant | None:
    """What ``tenant_target`` found for the same key and names, if all it was found from is
    unchanged: the branch (without ``?branch=``, the checked-out one), its tip, the tenant's
    file. The checks this skips (names, the key's scope and globs) depend on nothing else."""
    hit = ctx._resolved.get((key.id, db, tenant, branch))
    if hit is None or hit[0] is not key:
        return None
    _, found, path, tip = hit
    if branch is None and ctx.current_branch() != found.branch:
        return None
    if ctx.branch_tip(found.branch) != tip or not os.path.isfile(path):
        return None
    return found


def _tip_before(ctx: ServerContext, branch: str | None) -> tuple[str, str | None]:
    """The branch a resolution is about to use, and its tip, read before it (the same checks
    first, so any error is the one the resolution would raise)."""
    name = ctx.branch_or_current(branch)
    return name, ctx.branch_tip(name)


def _remember_resolved(ctx: ServerContext, key: ApiKey, db: str, tenant: str,
                       branch: str | None, found: Tenant, before: tuple[str, str | None]) -> None:
    name, tip = before
    # Remembered only if the branch and its tip were the same before and after resolving.
    if tip is None or found.branch != name or ctx.branch_tip(name) != tip:
        return
    if len(ctx._resolved) > 4096:
        ctx._resolved.clear()
    ctx._resolved[(key.id, db, tenant, branch)] = (key, found, os.fspath(found.path), tip)


def _known_tenant(ctx: ServerContext, t: Target, tenant: str) -> Tenant | None:
    cached = ctx._tenants.get((t.name, t.branch, tenant))
    if cached is not None and os.path.isfile(cached.path):
        return cached  # the hot path: one stat, no git, no thread
    if t.db.tenants.ready(tenant):
        return _remember(ctx, Tenant(ctx.project, t.name, t.branch, tenant))
    return None


def _remember(ctx: ServerContext, found: Tenant) -> Tenant:
    if len(ctx._tenants) > 4096:
        ctx._tenants.clear()
    ctx._tenants[(found.database, found.branch, found.name)] = found
    return found


async def tenant_access(request: Request, db: DbPath, tenant: TenantPath,
                        branch: BranchQuery = None,
                        creds: HTTPAuthorizationCredentials | None = Security(bearer),
                        ) -> TenantAccess:
    # One flat dependency: each extra layer costs FastAPI real time on every query.
    ctx: ServerContext = request.app.state.cinch
    key = authenticate(ctx, creds.credentials if creds else None, _client(request))
    return TenantAccess(ctx, key, await tenant_target(ctx, key, db, tenant, branch))


TenantDep = Annotated[TenantAccess, Depends(tenant_access)]

# --- paging ----------------------------------------------------------------------------------

LimitQuery = Annotated[int, Query(ge=1, le=1000, description="Items per page")]
CursorQuery = Annotated[str | None, Query(
    max_length=500, description="`next_cursor` of the previous page")]


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError("the cursor is not one this server issued", cursor=cursor) from exc
    if not isinstance(data, dict):
        raise UsageError("the cursor is not one this server issued", cursor=cursor)
    return data


def page_slice(items: list[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of an in-memory list and the cursor of the next (None on the last page)."""
    offset = 0
    if cursor:
        offset = decode_cursor(cursor).get("o", 0)
        if not isinstance(offset, int) or offset < 0:
            raise UsageError("the cursor is not one this server issued", cursor=cursor)
    chunk = items[offset:offset + limit]
    more = offset + limit < len(items)
    return chunk, encode_cursor({"o": offset + limit}) if more else None
