"""The one naming rule for schema objects, tenants and branches, and identifier quoting.

Schema names (tables, columns, views, indexes, databases): ASCII letters, digits and ``_``, not
starting with a digit, at most 63 characters, not prefixed ``sqlite_`` or ``_cinch`` (both
reserved: SQLite's own objects and cinch's bookkeeping). Case-insensitively unique, as in SQLite.
"""

from __future__ import annotations

import re

from cinch.errors import InvalidName

MAX_NAME = 63
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESERVED_PREFIXES = ("sqlite_", "_cinch")
# Names of files a tenant must never be mistaken for, on any platform.
_RESERVED_TENANTS = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}


def _describe(name: object) -> str:
    return repr(name) if isinstance(name, str) else f"<{type(name).__name__}>"


def check_name(name: str, kind: str = "name") -> str:
    """Return ``name`` if it is a valid schema name, else raise :class:`InvalidName`."""
    if not isinstance(name, str) or not name:
        raise InvalidName(f"{kind} name is empty", kind=kind)
    if len(name) > MAX_NAME:
        raise InvalidName(
            f"{kind} name {_describe(name[:20] + '...')} is {len(name)} characters long; "
            f"the limit is {MAX_NAME}",
            kind=kind, name=name,
        )
    if not _SCHEMA_NAME.fullmatch(name):
        raise InvalidName(
            f"{kind} name {_describe(name)} is not allowed: use ASCII letters (a-z, A-Z), "
            "digits and _, not starting with a digit",
            kind=kind, name=name,
        )
    lowered = name.lower()
    for prefix in RESERVED_PREFIXES:
        if lowered.startswith(prefix):
            raise InvalidName(
                f"{kind} name {_describe(name)} is reserved: names may not start with {prefix!r}",
                kind=kind, name=name,
            )
    return name


def check_tenant_name(name: str) -> str:
    """Tenant names become file names: refuse anything that could leave the tenant folder."""
    if not isinstance(name, str) or not name:
        raise InvalidName("tenant name is empty", kind="tenant")
    if len(name) > MAX_NAME:
        raise InvalidName(
            f"tenant name is {len(name)} characters long; the limit is {MAX_NAME}",
            kind="tenant", name=name,
        )
    if not _TENANT_NAME.fullmatch(name) or ".." in name:
        raise InvalidName(
            f"tenant name {_describe(name)} is not allowed: use ASCII letters (a-z, A-Z), "
            "digits, '_', '-' and '.', starting with a letter or digit (no '/', '..', spaces or "
            "control characters)",
            kind="tenant", name=name,
        )
    if name.lower().split(".")[0] in _RESERVED_TENANTS or name.lower().startswith("_cinch"):
        raise InvalidName(f"tenant name {_describe(name)} is reserved", kind="tenant", name=name)
    return name


_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
# Names git would read as another ref (`git rev-parse NAME` tries NAME, refs/NAME,
# refs/tags/NAME, refs/heads/NAME, refs/remotes/NAME in that order), or as a commit id.
_REF_PREFIXES = ("refs/", "heads/", "tags/", "remotes/")
_SPECIAL_REF = re.compile(r"[A-Z_]*HEAD|AUTO_MERGE|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


def check_branch_name(name: str) -> str:
    """Git's ref-name rules (git check-ref-format), plus a length cap; and no name that git
    would read as another ref (``refs/...``, ``HEAD``, ``ORIG_HEAD``, a commit id)."""
    if not isinstance(name, str) or not name:
        raise InvalidName("branch name is empty", kind="branch")
    bad = (
        len(name) > 200
        or _BAD_REF.search(name) is not None
        or name.startswith(("-", "/", "."))
        or name.endswith(("/", ".", ".lock"))
        or ".." in name
        or "//" in name
        or "@{" in name
        or name == "@"
        or any(part.startswith(".") or part.endswith(".lock") for part in name.split("/"))
    )
    if bad:
        raise InvalidName(
            f"branch name {_describe(name)} is not a valid git branch name",
            kind="branch", name=name,
        )
    if name.startswith(_REF_PREFIXES) or _SPECIAL_REF.fullmatch(name):
        raise InvalidName(
            f"branch name {_describe(name)} would be read by git as another ref or a commit "
            "(names starting with refs/, heads/, tags/ or remotes/, HEAD and the like, commit "
            "ids are refused); choose another name", kind="branch", name=name,
        )
    return name


def quote(name: str) -> str:
    """Quote an identifier for SQL. Names are validated already; quoting is belt and braces."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
