"""The policy for user queries, enforced by SQLite's authorizer (never by matching SQL text).

SQLite calls the authorizer for every action a statement would take while it *prepares* the
statement, after parsing, with the real object names; a denial fails the prepare, so nothing
runs. The policy is an allowlist: reads, plain DML on user tables, a few read-only pragmas and
functions. Everything else (schema statements, ATTACH, VACUUM, transaction control, writable
pragmas, ``load_extension``, writes to ``_cinch*``/``sqlite_*`` tables) is refused.

One :class:`QueryGuard` lives on each connection and is switched on and off rather than
installed and removed per query: installing an authorizer expires every prepared statement
(sqlite3_set_authorizer), which would make each guarded point query re-prepare (~2.5x slower).
Instead the guard tracks ``level``, the policy every statement prepared since the last expiry
satisfies; a statement prepared while the guard is off drops it to ``NONE`` and forces an expiry
(re-install) before the next guarded query, so an unauthorized cached statement is never reused.
"""

from __future__ import annotations

import sqlite3

OK = sqlite3.SQLITE_OK
DENY = sqlite3.SQLITE_DENY

# Levels: what all statements prepared since the last expiry are known to satisfy.
NONE, WRITE, READ_ONLY = 0, 1, 2

_SCHEMA_ACTIONS = {
    getattr(sqlite3, name): name.removeprefix("SQLITE_").replace("_", " ")
    for name in (
        "SQLITE_CREATE_INDEX", "SQLITE_CREATE_TABLE", "SQLITE_CREATE_TEMP_INDEX",
        "SQLITE_CREATE_TEMP_TABLE", "SQLITE_CREATE_TEMP_TRIGGER", "SQLITE_CREATE_TEMP_VIEW",
        "SQLITE_CREATE_TRIGGER", "SQLITE_CREATE_VIEW", "SQLITE_CREATE_VTABLE",
        "SQLITE_DROP_INDEX", "SQLITE_DROP_TABLE", "SQLITE_DROP_TEMP_INDEX",
        "SQLITE_DROP_TEMP_TABLE", "SQLITE_DROP_TEMP_TRIGGER", "SQLITE_DROP_TEMP_VIEW",
        "SQLITE_DROP_TRIGGER", "SQLITE_DROP_VIEW", "SQLITE_DROP_VTABLE", "SQLITE_ALTER_TABLE",
    )
}
_WRITE_ACTIONS = {
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE",
}

# Pragmas that only read. Those whose argument names a table/index (still read-only):
PRAGMAS_WITH_TARGET = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check",
})
# Those allowed only without an argument (with one, they write a setting):
PRAGMAS_READ_ONLY = frozenset({
    "user_version", "application_id", "schema_version", "data_version", "page_size",
    "page_count", "freelist_count", "encoding", "journal_mode", "foreign_keys", "query_only",
    "collation_list", "function_list", "module_list", "pragma_list", "compile_options",
})
# database_list is left out on purpose: it discloses server file paths.

DENIED_FUNCTIONS = frozenset({
    "load_extension",  # loads native code
    "fts3_tokenizer",  # can register a tokenizer from a raw pointer
    "readfile", "writefile", "edit",
})

SCHEMA_HINT = "schema statements go through change sets: use `cinch table ...`"
_TX_HINT = "transactions are managed by cinch: send several statements as one batch"


_SCHEMA_TABLES = frozenset({
    "sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema",
})


def _reserved(table: str | None) -> bool:
    lowered = (table or "").lower()
    return lowered.startswith(("_cinch", "sqlite_"))


class QueryGuard:
    """Authorizer callback; see the module docstring for ``active`` and ``level``."""

    __slots__ = ("_incidental", "active", "budget", "deadline", "denied", "level", "pinned",
                 "prepared", "read_only")

    def __init__(self) -> None:
        self.active = False
        self.read_only = False
        self.level = NONE
        self.denied: str | None = None
        self.deadline: float | None = None  # time.monotonic() limit, set by the query layer
        self.budget = 0.0  # the seconds that deadline allowed, for the error message
        self._incidental = False
        # Armed read-only for good (see pin): never switched off, so every statement the
        # connection prepares is checked and a query need not switch it on.
        self.pinned = False
        # Calls so far: SQLite asks at every (re)compile of a statement, and only then, so an
        # unchanged count says no statement was prepared again (see PinnedReader.rows).
        self.prepared = 0

    def pin(self) -> None:
        """Arm the read-only policy for the connection's whole life: for a connection that
        runs nothing but guarded reads (a tenant handle's own reader)."""
        self.arm(True)
        self.pinned = True

    def arm(self, read_only: bool) -> None:
        """Switch the policy on for one query (or batch)."""
        self.active = True
        self.read_only = read_only
        self.denied = None
        self._incidental = False

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
    ) -> int:
        self.prepared += 1
        if not self.active:
            self.level = NONE  # something was prepared unguarded and may sit in the cache
            return OK
        if action == sqlite3.SQLITE_READ or action == sqlite3.SQLITE_SELECT:
            return OK
        reason = self.check(action, arg1, arg2)
        if reason is None:
            return OK
        # Report what the user wrote, not its side effects: ANALYZE first creates sqlite_stat1,
        # so a denial about a sqlite_* object is kept only if nothing better comes.
        if self.denied is None or (self._incidental and not _reserved(arg1)):
            self.denied = reason
            self._incidental = _reserved(arg1) and arg1 is not None
        return DENY

    def check(self, action: int, arg1: str | None, arg2: str | None) -> str | None:
        """Return why ``action`` is refused, or None if it is allowed."""
        if action in _WRITE_ACTIONS:
            verb = _WRITE_ACTIONS[action]
            if (arg1 or "").lower() in _SCHEMA_TABLES:
                # SQLite itself refuses writes to the schema tables (writable_schema is denied
                # below), and reports internal writes to them: the first time a table-valued
                # function (json_each, pragma_table_info) is used on a connection, and before
                # the CREATE action of a schema statement (which is then refused by name).
                return None
            if self.read_only:
                return f"{verb} on {arg1} refused: this query is read-only"
            if _reserved(arg1):
                return f"{verb} on {arg1} refused: the table belongs to cinch or SQLite"
            return None
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            return f"function {name}() is refused" if name in DENIED_FUNCTIONS else None
        if action == sqlite3.SQLITE_RECURSIVE:
            return None
        if action == sqlite3.SQLITE_PRAGMA:
            return _check_pragma((arg1 or "").lower(), arg2)
        if action in _SCHEMA_ACTIONS:
            target = f" {arg1}" if arg1 else ""
            return f"{_SCHEMA_ACTIONS[action]}{target} refused: {SCHEMA_HINT}"
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            # VACUUM attaches a temporary database internally, so it lands here too.
            return "ATTACH/DETACH (and VACUUM) refused: a query works on its own tenant only"
        if action == sqlite3.SQLITE_TRANSACTION:
            return f"{arg1 or 'transaction'} refused: {_TX_HINT}"
        if action == sqlite3.SQLITE_SAVEPOINT:  # arg1: BEGIN/RELEASE/ROLLBACK, arg2: its name
            return f"SAVEPOINT {arg2} ({arg1}) refused: {_TX_HINT}"
        if action in (sqlite3.SQLITE_ANALYZE, sqlite3.SQLITE_REINDEX):
            verb = "ANALYZE" if action == sqlite3.SQLITE_ANALYZE else "REINDEX"
            return f"{verb} refused: maintenance statements are not allowed in queries"
        return f"statement refused (SQLite action {action})"


def _check_pragma(name: str, arg: str | None) -> str | None:
    if name in PRAGMAS_WITH_TARGET:
        return None
    if name in PRAGMAS_READ_ONLY:
        if arg is None:
            return None
        return f"PRAGMA {name} = {arg} refused: pragmas that change settings are not allowed"
    allowed = ", ".join(sorted(PRAGMAS_WITH_TARGET | PRAGMAS_READ_ONLY))
    return f"PRAGMA {name} refused: only read-only pragmas are allowed ({allowed})"
