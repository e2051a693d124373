"""Merge requests: the review workflow around the engine's merge (open, check, approve, merge,
close). The merge itself, its conflict check and its all-or-nothing tenant update are the
engine's (``cinch.engine.merge``); this module keeps the review state in ``state.db`` and
decides only *whether* a merge may be asked for: open, conflict-free, approved enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from cinch import Project
from cinch.errors import AlreadyExists, CinchError, MergeConflict, NotFound, UsageError
from cinch.names import check_branch_name
from cinch.server.keys import ApiKey
from cinch.server.metrics import Metrics
from cinch.server.state import MergeRequestRow, StateStore, now


class ApprovalsRequired(CinchError):
    """The merge request lacks the approvals of its current head that the target branch needs."""

    code = "approvals_required"
    http_status = 409


class NotMergeable(CinchError):
    """The merge request cannot merge now: closed, merged, or blocked (the blockers say why)."""

    code = "not_mergeable"
    http_status = 409


@dataclass
class ApprovalView:
    approver: str
    approved_at: str
    source_head: str
    current: bool  # given for the source's current head (a later push makes it stale)


class BlockerKind(StrEnum):
    closed = "closed"  # the merge request is closed or merged
    branch_gone = "branch_gone"
    check_failed = "check_failed"
    conflicts = "conflicts"
    up_to_date = "up_to_date"
    cannot_merge = "cannot_merge"
    approvals = "approvals"  # not enough approvals of the source's current head


@dataclass(frozen=True)
class Blocker:
    """One reason a merge request cannot be merged now."""

    kind: BlockerKind
    message: str


@dataclass
class ReviewView:
    """A merge request with everything the review page shows."""

    mr: MergeRequestRow
    source_head: str | None
    target_head: str | None
    approvals: list[ApprovalView]
    approvals_required: int
    blockers: list[Blocker] = field(default_factory=list)

    @property
    def approvals_current(self) -> int:
        return sum(1 for a in self.approvals if a.current)

    @property
    def can_merge_now(self) -> bool:
        return not self.blockers


def required_approvals(project: Project, target: str) -> int:
    """cinch.toml ``[merge] approvals`` of the target branch; the strictest matching glob."""
    rules = project.config(target).merge.approvals
    return max((n for pattern, n in rules.items() if fnmatchcase(target, pattern)), default=0)


def _tip(project: Project, branch: str) -> str | None:
    return project.tip(branch)


def _check(project: Project, source: str, target: str) -> dict[str, Any]:
    return project.check_merge(source, target).to_dict()


def open_request(project: Project, store: StateStore, key: ApiKey, *, source: str, target: str,
                 title: str, description: str) -> int:
    for branch in (source, target):
        check_branch_name(branch)
        if _tip(project, branch) is None:
            raise NotFound(f"no branch named {branch!r}", branch=branch)
    if source == target:
        raise UsageError("a merge request needs two different branches")
    for other in store.merge_requests(state="open", source=source, target=target):
        raise AlreadyExists(f"merge request #{other.number} already proposes {source} into "
                            f"{target}", merge_request=other.number)
    number = store.add_merge_request(title=title, description=description, source=source,
                                     target=target, author=key.name)
    refresh(project, store, store.merge_request(number))
    return number


def refresh(project: Project, store: StateStore, mr: MergeRequestRow) -> MergeRequestRow:
    """Re-check an open merge request whose source or target moved since its last check."""
    if mr.state != "open":
        return mr
    source, target = _tip(project, mr.source), _tip(project, mr.target)
    if source is None or target is None:
        return mr
    if (source, target) == (mr.checked_source, mr.checked_target) and mr.check is not None:
        return mr
    try:
        check = _check(project, mr.source, mr.target)
    except CinchError as exc:
        check = {"error": exc.to_dict(), "can_merge": False}
    store.record_check(mr.number, check, source, target)
    return store.merge_request(mr.number)


def view(project: Project, store: StateStore, number: int) -> ReviewView:
    mr = refresh(project, store, store.merge_request(number))
    source, target = _tip(project, mr.source), _tip(project, mr.target)
    approvals = [ApprovalView(a.approver, a.created_at, a.source_head, a.source_head == source)
                 for a in mr.approvals]
    out = ReviewView(mr, source, target, approvals, required_approvals(project, mr.target)
                     if target else 0)
    def block(kind: BlockerKind, message: str) -> None:
        out.blockers.append(Blocker(kind, message))

    if mr.state != "open":
        block(BlockerKind.closed, f"the merge request is {mr.state}")
    for name, tip in ((mr.source, source), (mr.target, target)):
        if tip is None:
            block(BlockerKind.branch_gone, f"branch {name} no longer exists")
    if mr.state == "open" and source and target:
        check = mr.check or {}
        if "error" in check:
            block(BlockerKind.check_failed,
                  f"the merge check failed: {check['error'].get('message')}")
        elif check.get("conflicts"):
            block(BlockerKind.conflicts,
                  f"{len(check['conflicts'])} conflict(s) to resolve on {mr.source}")
        elif check.get("up_to_date"):
            block(BlockerKind.up_to_date,
                  f"nothing to merge: {mr.target} already has every change of {mr.source}")
        elif not check.get("can_merge", False):
            block(BlockerKind.cannot_merge, "the merge check says it cannot merge")
        if out.approvals_current < out.approvals_required:
            block(BlockerKind.approvals, f"needs {out.approvals_required} approval(s) of the "
                                         f"current head, has {out.approvals_current}")
    return out


def approve(project: Project, store: StateStore, key: ApiKey, number: int) -> ReviewView:
    mr = store.merge_request(number)
    if mr.state != "open":
        raise NotMergeable(f"merge request #{number} is {mr.state}: nothing to approve")
    if mr.author == key.name:
        raise UsageError("the author of a merge request cannot approve it",
                         hint="ask someone with another key to review it")
    source = _tip(project, mr.source)
    if source is None:
        raise NotFound(f"branch {mr.source} no longer exists", branch=mr.source)
    store.approve(number, key.name, source)
    return view(project, store, number)


def set_state(store: StateStore, key: ApiKey, number: int, state: str) -> None:
    mr = store.merge_request(number)
    if mr.state == "merged":
        raise NotMergeable(f"merge request #{number} is merged; it cannot be {state}")
    if state == "closed":
        store.update_merge_request(number, state="closed", closed_by=key.name, closed_at=now())
    else:
        store.update_merge_request(number, state="open", closed_by=None, closed_at=None,
                                   checked_source=None, checked_target=None)


def merge(project: Project, store: StateStore, key: ApiKey, number: int, *,
          message: str | None, dry_run: bool, metrics: Metrics) -> dict[str, Any]:
    """Merge through the engine if nothing blocks; record the outcome."""

    review = view(project, store, number)
    mr = review.mr
    if mr.state != "open":
        raise NotMergeable(f"merge request #{number} is {mr.state}")
    if review.approvals_current < review.approvals_required:
        raise ApprovalsRequired(
            f"merging into {mr.target} needs {review.approvals_required} approval(s) of the "
            f"current head of {mr.source}; it has {review.approvals_current}",
            required=review.approvals_required, current=review.approvals_current)
    others = [b.message for b in review.blockers if b.kind is not BlockerKind.approvals]
    if others:
        raise NotMergeable(f"merge request #{number} cannot be merged: {'; '.join(others)}",
                           blockers=others, conflicts=(mr.check or {}).get("conflicts", []))
    try:
        result = project.merge(mr.source, mr.target, dry_run,
                               message=message or f"Merge request #{number}: {mr.title}",
                               ).to_dict()
    except MergeConflict:
        metrics.apply_run("merge", "conflict")
        store.update_merge_request(number, checked_source=None, checked_target=None)
        raise
    except CinchError:
        metrics.apply_run("merge", "failed")
        raise
    metrics.apply_run("merge", "dry_run" if dry_run else "applied")
    if not dry_run:
        commit = result.get("commit") or _tip(project, mr.target)
        store.update_merge_request(number, state="merged", merged_commit=commit,
                                   merged_by=key.name, merged_at=now())
    return result
