"""API keys: created by ``cinch keys`` or ``POST /keys``, checked on every request.

A key is ``cinch_<id>_<secret>``. Only ``sha256(secret)`` is stored: the secret is shown once.
The id is public (it finds the row); the secret is compared in constant time. The secret has
256 bits of entropy, so a plain sha256 is enough (no slow KDF: nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from cinch.errors import InvalidName, UsageError
from cinch.server.state import KeyRow, StateStore, now

PREFIX = "cinch"
_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_GLOB = re.compile(r"[A-Za-z0-9_.*?/\[\]-]{1,200}")


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Scope.read: 1, Scope.write: 2, Scope.admin: 3}


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret. ``database``/``branch``/``tenant`` are globs (None:
    any); ``timeout_ms`` is its own query budget (None: the server's ``limits``)."""

    id: str
    name: str
    scope: Scope
    database: str | None
    branch: str | None
    created_at: str
    tenant: str | None = None
    timeout_ms: int | None = None

    def can(self, need: Scope) -> bool:
        return self.scope.rank >= need.rank

    def covers_database(self, db: str) -> bool:
        # Database names are case-insensitive, as in SQLite.
        return self.database is None or fnmatchcase(db.lower(), self.database.lower())

    def covers_branch(self, branch: str) -> bool:
        return self.branch is None or fnmatchcase(branch, self.branch)

    def covers_tenant(self, tenant: str) -> bool:
        return self.tenant is None or fnmatchcase(tenant, self.tenant)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "scope": self.scope.value}


def _key(row: KeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, Scope(row.scope), row.database, row.branch, row.created_at,
                  row.tenant, row.timeout_ms)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_glob(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not _GLOB.fullmatch(value) or ".." in value:
        raise InvalidName(f"{what} pattern {value!r} is not allowed: use letters, digits, "
                          "'_', '-', '.', '/' and the globs * ? [ ]", kind=what)
    return value


# The largest per-key budget: a day. A key that may run longer is a key without a budget.
MAX_TIMEOUT_MS = 86_400_000


def create_key(store: StateStore, name: str, scope: Scope | str, *, database: str | None = None,
               branch: str | None = None, tenant: str | None = None,
               timeout_ms: int | None = None) -> tuple[ApiKey, str]:
    """Store a new key; return it and its secret (the only time the secret is seen).

    ``tenant``: a glob of the tenants the key may query (customer-facing keys);
    ``timeout_ms``: the key's own query budget, instead of cinch.toml's ``limits``.
    """
    if not isinstance(name, str) or not _KEY_NAME.fullmatch(name):
        raise InvalidName(f"key name {name!r} is not allowed: letters, digits, '_', '-', '.', "
                          "at most 63 characters", kind="key")
    if timeout_ms is not None and (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int)
                                   or not 0 < timeout_ms <= MAX_TIMEOUT_MS):
        raise UsageError(f"a key's query timeout must be 1 to {MAX_TIMEOUT_MS} milliseconds, "
                         f"not {timeout_ms!r}", timeout_ms=timeout_ms)
    scope = Scope(scope)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = KeyRow(key_id, name, _hash(secret), scope.value, _check_glob(database, "database"),
                 _check_glob(branch, "branch"), now(), _check_glob(tenant, "tenant"), timeout_ms)
    store.add_key(row)
    return _key(row), f"{PREFIX}_{key_id}_{secret}"


def list_keys(store: StateStore) -> list[ApiKey]:
    return [_key(r) for r in store.api_keys()]


def revoke_key(store: StateStore, name: str) -> None:
    store.delete_key(name)


def split_token(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyRing:
    """The server's view of the keys, reloaded whenever ``state.db`` changes.

    Another process (``cinch keys revoke``) changes the file: ``PRAGMA data_version`` tells,
    so a revoked key stops working on the next request without a restart.
    """

    def __init__(self, store: StateStore) -> None:
        self.store = store
        # id -> (stored sha256 of the secret, the key): built once per change of state.db
        self._rows: dict[str, tuple[str, ApiKey]] = {}
        self._version: int | None = None

    def invalidate(self) -> None:
        self._version = None

    def _refresh(self) -> None:
        version = self.store.data_version()
        if version != self._version:
            self._rows = {r.id: (r.hash, _key(r)) for r in self.store.api_keys()}
            self._version = version

    def verify(self, token: str) -> ApiKey | None:
        """The key a token names, if its secret hashes to the stored hash. The secret is
        hashed on every call and the digests compared in constant time; nothing is cached by
        secret."""
        parsed = split_token(token)
        if parsed is None:
            return None
        self._refresh()  # every call: a revoked key fails on its next request
        row = self._rows.get(parsed[0])
        if row is None:
            return None
        if not hmac.compare_digest(_hash(parsed[1]), row[0]):  # ASCII hex digests
            return None
        return row[1]
