"""The SaaS sample project (fixtures/saas.py) that the docs walk through: its schema holds
together (foreign keys, unique emails, views over joins), its history has a real merge and an
open branch, and every tenant has its generated rows."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

import cinch
from fixtures import saas


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> saas.SaasProject:
    return saas.build(tmp_path_factory.mktemp("fixture") / "saas")


def test_every_tenant_has_its_rows_and_the_views_read_them(built: saas.SaasProject) -> None:
    with cinch.open(built.root) as project:
        for name in built.tenants:
            tenant = project.tenant(name)
            for table, count in built.rows[name].items():
                assert tenant.query(f"SELECT count(*) FROM {table}").rows == [(count,)]
            paid = tenant.query("SELECT sum(amount_cents) FROM invoices WHERE status = 'paid'")
            revenue = tenant.query("SELECT sum(paid_cents) FROM revenue_by_account")
            assert paid.rows == revenue.rows
            assert tenant.query("SELECT count(*) FROM open_invoices").rows == tenant.query(
                "SELECT count(*) FROM invoices WHERE status = 'open'").rows


def test_foreign_keys_and_unique_emails_are_enforced(built: saas.SaasProject) -> None:
    with cinch.open(built.root) as project:
        tenant = project.tenant("acme")
        with pytest.raises(cinch.CinchError):
            tenant.insert("invoices", {"account_id": "no-such-account", "number": "X-1",
                                       "amount_cents": 100})
        email = tenant.query("SELECT email FROM users LIMIT 1").rows[0][0]
        account = tenant.query("SELECT id FROM accounts LIMIT 1").rows[0][0]
        with pytest.raises(cinch.CinchError):
            tenant.insert("users", {"account_id": account, "email": email})


def test_the_history_has_a_merge_and_an_open_branch(built: saas.SaasProject) -> None:
    repo = pygit2.Repository(str(built.root))
    main = repo.revparse_single("main")
    assert len(main.parents) == 2, "feature/usage came in by a merge commit"
    assert repo.branches.local[saas.MERGED_BRANCH].target in {p.id for p in main.parents}
    with cinch.open(built.root) as project:
        main_invoices = project.database(branch="main").table("invoices")
        open_invoices = project.database(branch=saas.OPEN_BRANCH).table("invoices")
        assert "discount_cents" not in str(main_invoices)
        assert "discount_cents" in str(open_invoices)
        assert "usage_events" in [t.name for t in project.database().schema().tables]


def test_two_builds_hold_the_same_generated_rows(tmp_path: Path,
                                                 built: saas.SaasProject) -> None:
    again = saas.build(tmp_path / "again", accounts=1, users_per_account=1,
                       invoices_per_account=2)
    query = "SELECT name, plan, country FROM accounts ORDER BY rowid LIMIT 1"
    with cinch.open(built.root) as first, cinch.open(again.root) as second:
        assert first.tenant("acme").query(query).rows == second.tenant("acme").query(query).rows
