"""The final replay of a merge runs theirs' change sets on a shadow of the part of ours' schema
they can reach: what they name, everything that reads that (views, foreign keys), and what all
of those read. Whatever else ours holds can neither fail nor be broken by them."""

from __future__ import annotations

import cinch
from cinch.engine.branches import create_branch
from cinch.engine.conflict_rules import _reachable
from cinch.engine.merge import check_merge


def _names(project: cinch.Project, source: str) -> set[str]:
    history, git = project.history, project.git
    target_head, source_head = git.branch_tip("main"), git.branch_tip(source)
    base = git.merge_base(target_head, source_head)
    known = {e.id for e in history.log(base, "main")}
    incoming = [c for c in history.changes(source_head, "main") if c.id not in known]
    part = _reachable(history.schema(target_head, "main"), incoming)
    return {t.name for t in part.tables} | {v.name for v in part.views} | {
        i.name for i in part.indexes}


def test_the_shadow_holds_what_incoming_changes_reach(project: cinch.Project) -> None:
    db = project.database()  # users (+ index users_name, view adults reading users)
    db.create_table("orders", ["user_id:INTEGER:references=users", "total:REAL"])
    db.create_table("lonely", ["x:TEXT"])
    db.create_table("lookup", ["code:TEXT"])
    db.create_view("big_orders", "SELECT o.total, k.code FROM orders o, lookup k")
    db.create_view("biggest", "SELECT * FROM big_orders")
    create_branch(project, "feature", start="main")
    project.database(branch="feature").add_column("users", "nick:TEXT")
    names = _names(project, "feature")
    # users, its index and view; orders references users, big_orders reads orders, biggest
    # reads big_orders; lookup is read by big_orders. lonely is reached by nothing.
    assert {"users", "adults", "orders", "big_orders", "biggest", "lookup"} <= names
    assert "lonely" not in names
    assert check_merge(project, "feature", "main").can_merge


def test_a_view_created_by_theirs_brings_what_it_reads(project: cinch.Project) -> None:
    db = project.database()
    db.create_table("lonely", ["x:TEXT"])
    db.create_table("other", ["y:TEXT"])
    create_branch(project, "feature", start="main")
    project.database(branch="feature").create_view("xs", "SELECT x FROM lonely")
    names = _names(project, "feature")
    assert "lonely" in names and "other" not in names and "users" not in names
    assert check_merge(project, "feature", "main").can_merge


def test_a_drop_that_breaks_an_ours_view_still_conflicts(project: cinch.Project) -> None:
    """theirs drops a column that a view made on ours reads through another view."""
    create_branch(project, "feature", start="main")
    db = project.database()
    db.create_view("named", "SELECT id, name, email FROM users")
    db.create_view("emails", "SELECT email FROM named")
    feature = project.database(branch="feature")
    feature.drop_column("users", "email")
    report = check_merge(project, "feature", "main")
    assert not report.can_merge
    assert "emails" in _names(project, "feature")
