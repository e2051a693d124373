"""Tags: names for schema versions (``cinch tag v1``), plain git tags through the git store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cinch.names import check_branch_name

if TYPE_CHECKING:
    from cinch.engine.project import Project


@dataclass
class TagInfo:
    name: str
    commit: str
    message: str | None  # None: a lightweight tag

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def create_tag(project: Project, name: str, rev: str | None = None,
               message: str | None = None) -> TagInfo:
    """Tag ``rev`` (the current branch's head by default); annotated when there is a message."""
    check_branch_name(name)  # git's ref-name rules are the same for tags
    commit = project.git.resolve(rev or "HEAD")
    project.git.create_tag(name, commit, message, project.author().as_tuple())
    return tag_info(project, name)


def tag_info(project: Project, name: str) -> TagInfo:
    commit, message = project.git.tag_info(name)
    return TagInfo(name, commit, message)


def list_tags(project: Project) -> list[TagInfo]:
    return [tag_info(project, name) for name in project.git.tags()]


def delete_tag(project: Project, name: str) -> None:
    project.git.delete_tag(name)
