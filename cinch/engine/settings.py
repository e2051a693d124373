"""``cinch config``: cinch.toml as flat dotted keys, read and changed one at a time.

Values are read from the branch's committed cinch.toml, never the work tree: that is what every
command and the server act on. A change is one commit of cinch.toml on the branch, validated by
the :class:`Config` model first, so a refused value writes nothing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from cinch.engine.branches import commit_config, tip_of
from cinch.engine.config import Config, first_error, flatten
from cinch.errors import InvalidSetting, NotFound

if TYPE_CHECKING:
    from cinch.engine.project import Project

APPROVALS = "merge.approvals."
# The settings changed here, by how their value is read from text.
EDITABLE: dict[str, str] = {
    "author.name": "text",
    "author.email": "text",
    "branches.protected": "list",
    "tenants.snapshot_retention_days": "int",
    "limits.query_timeout_ms": "int",
    "limits.max_query_rows": "int",
    "limits.max_batch_statements": "int",
}
# Shown, but changed elsewhere: each with the hint saying where.
READ_ONLY: dict[str, str] = {
    "format": "format is cinch.toml's format version; cinch sets it",
    "name": "name is the project's name, given by `cinch init`",
    "databases": "add a database with `cinch db create NAME`",
}
KNOWN: list[str] = [*READ_ONLY, *EDITABLE, APPROVALS + "<branch or glob>"]
_EXPECTED = {"int": "a whole number, 0 or more",
             "list": "branch names separated by commas, e.g. main,release",
             "text": "text"}
_INT = re.compile(r"[+-]?[0-9]+")
_INT_MAX = 2**63 - 1  # TOML integers are 64-bit

Value = str | int | list[str]


@dataclass
class SettingChange:
    key: str
    branch: str
    previous: Any  # None: was not set (an approvals pattern)
    value: Any  # None: no longer set
    commit: str | None  # None: the value was already so and nothing was committed

    @property
    def changed(self) -> bool:
        return self.commit is not None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.changed}


_DEFAULTS = flatten(Config(name=""))


def list_settings(project: Project, branch: str | None = None) -> dict[str, Any]:
    return flatten(project.config(_branch(project, branch)))


def get_setting(project: Project, key: str, branch: str | None = None) -> Any:
    _kind(key)
    name = _branch(project, branch)
    values = flatten(project.config(name))
    if key not in values:  # only an approvals pattern can be absent
        raise NotFound(f"{key} is not set on branch {name}",
                       hint=f"set it: cinch config {key} 1", key=key, branch=name)
    return values[key]


def set_setting(project: Project, key: str, value: Value,
                branch: str | None = None) -> SettingChange:
    """Set ``key`` (text parsed for its type) and commit cinch.toml on the branch."""
    kind = _kind(key)
    if kind == "read-only":
        raise InvalidSetting(f"{key} is read-only here", hint=READ_ONLY[key], key=key)
    return _write(project, key, _parse(key, kind, value), branch, shown=value,
                  expected=_EXPECTED[kind])


def unset_setting(project: Project, key: str, branch: str | None = None) -> SettingChange:
    """Back to the default; an approvals pattern is removed."""
    kind = _kind(key)
    if kind == "read-only":
        raise InvalidSetting(f"{key} cannot be unset", hint=READ_ONLY[key], key=key)
    return _write(project, key, _DEFAULTS.get(key), branch, shown=None,
                  expected=_EXPECTED[kind])


def _branch(project: Project, branch: str | None) -> str:
    name = branch or project.current_branch
    tip_of(project, name)
    return name


def _kind(key: str) -> str:
    """How the key's value is read ("read-only" for shown-only keys), or why it is unknown."""
    if key in EDITABLE:
        return EDITABLE[key]
    if key in READ_ONLY:
        return "read-only"
    if key.startswith(APPROVALS) and len(key) > len(APPROVALS):
        return "int"
    if key.rstrip(".") == APPROVALS.rstrip("."):
        raise InvalidSetting(f"{key!r} needs a branch or glob after it",
                             hint=f"e.g. cinch config {APPROVALS}main 1", key=key)
    # A typo in the section still finds its setting: merge.aprovals.main -> merge.approvals.main.
    candidates = [*READ_ONLY, *EDITABLE]
    if key.count(".") >= 2:
        candidates.append(APPROVALS + key.split(".", 2)[2])
    close = difflib.get_close_matches(key, candidates, n=1)
    hint = (f"did you mean {close[0]}? " if close else "") + "settings: " + ", ".join(KNOWN)
    raise InvalidSetting(f"no setting named {key!r}", hint=hint, key=key)


def _parse(key: str, kind: str, raw: Value) -> Any:
    def refuse(problem: str) -> InvalidSetting:
        return InvalidSetting(f"cannot set {key} to {raw!r}: {problem}",
                              hint=f"{key} takes {_EXPECTED[kind]}", key=key)

    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise refuse("not a whole number")
        if isinstance(raw, str):
            if not _INT.fullmatch(raw.strip()):
                raise refuse("not a whole number")
            raw_int = int(raw)
        else:
            raw_int = raw
        if abs(raw_int) > _INT_MAX:
            raise refuse("too large")
        return raw_int
    if kind == "list":
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise refuse("not a list of names")
        # Blanks and repeats carry no meaning: `main, ,main` protects main once.
        return list(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not isinstance(raw, str):
        raise refuse("not text")
    return raw


def _write(project: Project, key: str, new: Any, branch: str | None, *,
           shown: Value | None, expected: str) -> SettingChange:
    with project.lock():
        name = _branch(project, branch)
        config = project.config(name)
        previous = flatten(config).get(key)
        data = config.model_dump()
        _put(data, key, new)
        try:
            updated = Config.model_validate(data)
        except ValidationError as exc:
            field, problem = first_error(exc)
            # The approvals table itself failing means the pattern (the key) is what is wrong.
            hint = "after merge.approvals. comes a branch name or a glob such as release/*" \
                if field == APPROVALS.rstrip(".") else f"{key} takes {expected}"
            raise InvalidSetting(f"cannot set {key} to {shown!r}: "
                                 f"{problem[:1].lower()}{problem[1:]}", hint=hint,
                                 key=key) from None
        value = flatten(updated).get(key)  # as the model normalised it
        if value == previous:
            return SettingChange(key, name, previous, value, None)
        message = f"Set {key} = {quoted(value)}" if shown is not None else \
            f"Unset {key}" + (f" (back to {value})" if isinstance(value, int) else "")
        commit = commit_config(project, name, updated, message)
        return SettingChange(key, name, previous, value, commit)


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    """Write ``value`` at ``key`` in a model dump (None removes an approvals pattern)."""
    if key.startswith(APPROVALS):
        approvals = data["merge"]["approvals"]
        pattern = key.removeprefix(APPROVALS)
        if value is None:
            approvals.pop(pattern, None)
        else:
            approvals[pattern] = value
        return
    section, field = key.split(".")
    data[section][field] = value


def show(value: Any) -> str:
    """A value as one line of text: lists comma-separated (how `cinch config` reads them)."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def quoted(value: Any) -> str:
    """As :func:`show`, with an empty value shown as ``""``."""
    text = show(value)
    return text if text else '""'
