"""One exception hierarchy for every face.

Each error has a stable ``code`` (used by the CLI's JSON output and the HTTP error body),
an ``http_status`` and an ``exit_code``. Faces render errors; they never invent their own.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CinchError(Exception):
    """Base of every error cinch raises on purpose."""

    code: ClassVar[str] = "cinch_error"
    http_status: ClassVar[int] = 400
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body


class UsageError(CinchError):
    """The command line or the call is malformed: a missing or contradictory argument."""

    code = "usage"
    exit_code = 2


class NotAProject(CinchError):
    """The folder (or -C, CINCH_PROJECT) is not inside a cinch project."""

    code = "not_a_project"
    http_status = 404
    exit_code = 3


class ProjectExists(CinchError):
    """`cinch init` would overwrite a folder that already holds a project."""

    code = "project_exists"
    http_status = 409


class InvalidName(CinchError):
    """A database, branch, table, column, index, view or tenant name breaks the naming rules."""

    code = "invalid_name"
    http_status = 422


class InvalidType(CinchError):
    """A column type cinch does not know (it takes SQLite's type affinities)."""

    code = "invalid_type"
    http_status = 422


class InvalidOperation(CinchError):
    """The operation does not make sense against the current schema."""

    code = "invalid_operation"
    http_status = 422


class NotFound(CinchError):
    """The database, branch, table, column, index, view, tenant, key or change named does not
    exist."""

    code = "not_found"
    http_status = 404


class AlreadyExists(CinchError):
    """Something of that name already exists where it would be created."""

    code = "already_exists"
    http_status = 409


class DependencyError(CinchError):
    """A view (or index) depends on what the operation would drop or rename."""

    code = "dependency"
    http_status = 409


class CorruptChangeFile(CinchError):
    """A committed change file no longer parses or validates against the change-set schema."""

    code = "corrupt_change_file"
    http_status = 500


class InvalidSQL(CinchError):
    """SQL (a view's SELECT, a default, a query) that SQLite or the parser refuses."""

    code = "invalid_sql"
    http_status = 422


class UnknownRevision(CinchError):
    """A commit, branch, tag or change id that names nothing in the repository."""

    code = "unknown_revision"
    http_status = 404


class DirtyWorkTree(CinchError):
    """Uncommitted edits in the work tree would be overwritten; commit or stash them first."""

    code = "dirty_work_tree"
    http_status = 409


class GitError(CinchError):
    """The git repository refused an operation (libgit2's error is in the message)."""

    code = "git_error"
    http_status = 500


class ConfigError(CinchError):
    """cinch.toml is missing or does not validate."""

    code = "config_error"
    http_status = 500


class InvalidSetting(CinchError):
    """An unknown, read-only or badly typed cinch.toml setting (``cinch config``)."""

    code = "invalid_setting"
    http_status = 422


class TenantError(CinchError):
    """A tenant cannot be created, copied, moved or deleted as asked."""

    code = "tenant_error"
    http_status = 409


class TenantDrifted(TenantError):
    """The tenant's schema or ledger differs from cinch's record of it: no apply touches it."""

    code = "tenant_drifted"


class ApplyRefused(CinchError):
    """A change would fail on at least one tenant; nothing was changed."""

    code = "apply_refused"
    http_status = 409


class ApplyIncomplete(CinchError):
    """The change is committed but some tenants could not take it; `cinch sync` finishes."""

    code = "apply_incomplete"
    http_status = 500


class QueryRefused(CinchError):
    """The query is not allowed for this caller (a write through a read-only key, a schema
    statement)."""

    code = "query_refused"
    http_status = 403


class QueryError(CinchError):
    """SQLite refused the query (a syntax error, a failed constraint, a missing table)."""

    code = "query_error"
    http_status = 400


class StaleCode(CinchError):
    """Generated code differs from what the schema generates now (``cinch codegen --check``)."""

    code = "stale_code"
    http_status = 409


class QueryTimeout(CinchError):
    """A query ran past its time budget and was stopped; its transaction was rolled back."""

    code = "query_timeout"
    http_status = 503


class LimitExceeded(CinchError):
    """A request asks for more than the server's limits allow (``[limits]`` in cinch.toml)."""

    code = "limit_exceeded"
    http_status = 422


class ProtectedBranch(CinchError):
    """The branch is protected: schema changes reach it only by a merge (into it, by an admin)."""

    code = "protected_branch"
    http_status = 403


class BranchError(CinchError):
    """A branch cannot be created, switched to or deleted as asked (not merged, current,
    exists)."""

    code = "branch_error"
    http_status = 409


class MergeConflict(CinchError):
    """The merge has semantic schema conflicts; nothing was changed (the report lists each)."""

    code = "merge_conflict"
    http_status = 409
    exit_code = 4


class CommitRefused(CinchError):
    """A commit (or push) that cinch would not have made: an invalid or edited change file,
    a stale schema.sql, a schema conflict, a protected branch, data a tenant cannot take."""

    code = "commit_refused"
    http_status = 409


class Unauthorized(CinchError):
    """No API key, or one the server does not know."""

    code = "unauthorized"
    http_status = 401


class Forbidden(CinchError):
    """The API key's scope, database, branch or tenant globs do not cover the request."""

    code = "forbidden"
    http_status = 403


class RateLimited(CinchError):
    """Too many requests from one key, or too many failed authentications; slow down."""

    code = "rate_limited"
    http_status = 429


class ConfirmationRequired(CinchError):
    """An operation would destroy or lose data (a revert of a drop): it needs an explicit yes (`--yes`)."""

    code = "confirmation_required"
    http_status = 409
