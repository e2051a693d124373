"""Reading the history: log, show, diff, status. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cinch.engine.history import changes_dir
from cinch.engine.schemadiff import diff_schemas, sql_diff
from cinch.errors import CorruptChangeFile, NotFound, UnknownRevision, UsageError
from cinch.models.changeset import ChangeSet, change_id_of
from cinch.models.ids import is_ulid
from cinch.models.operations import describe
from cinch.names import check_name

if TYPE_CHECKING:
    from cinch.engine.project import Project


@dataclass
class LogItem:
    commit: str
    summary: str
    author: str
    time: str
    parents: list[str]
    changes: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _new_change_ids(project: Project, commit: str, db: str) -> list[str]:
    """Ids of the change files ``commit`` adds to ``db`` (not in its first parent), from
    libgit2's diff of the changes folder, which reads nothing when its tree id did not change.
    Unlike the history's log, this lists a commit whatever the rest of the history holds."""
    git, folder = project.git, changes_dir(db)
    parents = git.parents(commit)
    here = git.subtree_id(commit, folder)
    before = git.subtree_id(parents[0], folder) if parents else None
    added, deleted, modified = git.dir_changes(before, here)
    kept = {change_id_of(n) for n in (*deleted, *modified)}  # renamed or re-encoded: not new
    return sorted({i for n in added if (i := change_id_of(n)) and i not in kept})


def log(project: Project, rev: str | None = None, *, db: str | None = None,
        limit: int | None = None, changes_only: bool = False) -> list[LogItem]:
    """Commits reachable from ``rev`` (the current branch), newest first, with their change sets."""
    head = project.git.resolve(rev or "HEAD")
    dbs = [_known_db(project, db, head)] if db else project.databases()
    # The whole log reads every commit anyway: compute (and cache) the history's log then;
    # a few commits of a history never cached are cheaper to diff one by one.
    use_history = {name: limit is None or project.history.near(head, name) for name in dbs}
    items: list[LogItem] = []
    for info in project.git.walk(head):
        item = LogItem(info.id, info.summary, info.author, info.time.isoformat(),
                       list(info.parents))
        for name in dbs:
            ids = None
            if use_history[name]:
                try:
                    ids = sorted(e.id for e in project.history.added(info.id, name))
                except CorruptChangeFile:  # a broken history still lists, from the files
                    use_history[name] = False
            if ids is None:
                ids = _new_change_ids(project, info.id, name)
            for change_id in ids:
                item.changes.append({"id": change_id, "database": name})
        if changes_only and not item.changes:
            continue
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    return items


MIN_PREFIX = 6  # characters of a change id that name it; fewer would match half the history


def find_change(project: Project, change_id: str, rev: str = "HEAD", *,
                database: str | None = None) -> ChangeSet:
    """A change set of ``rev``'s history (of ``database``, or of any) by its id or a unique
    prefix of 6+ characters, in any case. A shorter prefix, an empty one included, is refused
    rather than matched against every change."""
    wanted = change_id.strip().upper()
    if len(wanted) < MIN_PREFIX:
        raise UsageError(f"change id {change_id!r} is too short: give {MIN_PREFIX} or more "
                         "of its characters", change=change_id)
    head = project.git.resolve(rev)
    dbs = [database] if database else _dbs_at(project, head)
    found = [(db, entry) for db in dbs for entry in project.history.log(head, db)
             if entry.id.startswith(wanted)]
    if not found:
        raise NotFound(f"no change set {change_id!r} in the history of {rev}", change=change_id)
    if len({entry.id for _, entry in found}) > 1:
        ids = ", ".join(e.id for _, e in found[:5])
        raise UsageError(f"change id prefix {change_id!r} is ambiguous: it matches {ids}; "
                         "give more characters", change=change_id)
    return project.history.change(found[0][1])


def introducing_commit(project: Project, change: ChangeSet, rev: str = "HEAD") -> str:
    """The first-parent commit of ``rev`` that added ``change``'s file."""
    return _introducing_commit(project, project.git.resolve(rev), change.database, change.id)


def _introducing_commit(project: Project, head: str, db: str, change_id: str) -> str:
    found = head
    for info in project.git.walk(head, first_parent=True):
        ids = {change_id_of(n) for n in project.git.list_dir(info.id, changes_dir(db))}
        if change_id not in ids:
            break
        found = info.id
    return found


def show(project: Project, what: str) -> dict[str, Any]:
    """A change set (by id) or a commit (any revision), with its SQL.

    An upper-case id (prefix) is looked up as a change first; any other spelling (ids are
    case-insensitive) when it is not a revision, so commit ids keep their lower-case hex.
    """
    could_be_change = len(what) >= 6 and is_ulid(what.upper().ljust(26, "0"))
    if could_be_change and (len(what) == 26 or what.upper() == what):
        try:
            change = find_change(project, what)
            return {"kind": "change", "commit": introducing_commit(project, change),
                    **_change_dict(change)}
        except NotFound:
            if len(what) == 26:
                raise
    try:
        commit = project.git.resolve(what)
    except UnknownRevision as exc:
        if could_be_change:
            try:
                change = find_change(project, what)
                return {"kind": "change", "commit": introducing_commit(project, change),
                        **_change_dict(change)}
            except NotFound:
                pass
        raise NotFound(f"{what!r} is neither a change id nor a revision", what=what) from exc
    info = project.git.commit_info(commit)
    changes = []
    for db in project.databases():
        changes += [_change_dict(project.history.change(e))
                    for e in project.history.added(commit, db)]
    return {"kind": "commit", "commit": commit, "message": info.message, "author": info.author,
            "email": info.email, "time": info.time.isoformat(), "parents": list(info.parents),
            "changes": changes}


def _change_dict(change: ChangeSet) -> dict[str, Any]:
    return {"id": change.id, "database": change.database, "message": change.message,
            "author": f"{change.author.name} <{change.author.email}>",
            "created_at": change.created_at.isoformat(),
            "operations": [describe(op) for op in change.operations], "sql": change.sql}


def diff(project: Project, a: str, b: str, db: str | None = None) -> dict[str, Any]:
    """What changed in the schema between two revisions, per database."""
    old, new = project.git.resolve(a), project.git.resolve(b)
    names = [_known_db(project, db, old, new)] if db else sorted(
        set(_dbs_at(project, new)) | set(_dbs_at(project, old)))
    out = []
    for name in names:
        s_old = project.history.schema(old, name)
        s_new = project.history.schema(new, name)
        old_ids = {e.id for e in project.history.log(old, name)}
        added = [e for e in project.history.log(new, name) if e.id not in old_ids]
        out.append({
            "database": name,
            "changes": [{"id": e.id, "message": project.history.change(e).message}
                        for e in added],
            "diff": diff_schemas(s_old, s_new),
            "sql": [s for e in added for s in project.history.change(e).sql],
            "patch": sql_diff(s_old, s_new, name, a, b),
        })
    return {"from": old, "to": new, "databases": out}


def _dbs_at(project: Project, commit: str) -> list[str]:
    from cinch.engine.config import CONFIG_FILE, parse_config

    raw = project.git.read_file(commit, CONFIG_FILE)
    return parse_config(raw).databases if raw else []


def _known_db(project: Project, db: str, *commits: str) -> str:
    """``db`` as spelled at ``commits``; an unknown database is an error, not an empty answer."""
    check_name(db, "database")
    known = sorted({name for commit in commits for name in _dbs_at(project, commit)})
    match = next((name for name in known if name.lower() == db.lower()), None)
    if match is None:
        raise NotFound(f"no database named {db!r} here; databases: {', '.join(known)}",
                       database=db)
    return match


def status(project: Project, *, tenants: bool = True) -> dict[str, Any]:
    from cinch.engine import glance

    branch = project.current_branch
    head = project.git.branch_tip(branch)
    index = glance.index_checksum(project.root)  # before libgit2 compares the files
    config = project.config(branch)
    dbs = []
    for name in config.databases:
        schema = project.history.schema(head, name)
        entry: dict[str, Any] = {"name": name, "changes": len(project.history.log(head, name)),
                                 "tables": len(schema.tables), "views": len(schema.views)}
        if tenants:
            entry["tenants"] = project.tenants.summary(name, branch)
        dbs.append(entry)
    from cinch.engine.hooks import missing

    uncommitted = project.git.dirty_paths()
    # What the next status can read without opening the project (cinch.engine.glance)
    glance.record(project, head)
    if not uncommitted and project.git.branch_tip(branch) == head:
        glance.record_clean(project, head, index)
    return {"branch": branch, "head": head, "protected": branch in config.branches.protected,
            "databases": dbs, "uncommitted": uncommitted,
            "hooks_missing": missing(project)}
