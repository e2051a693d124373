"""`make demo` (``python -m cinch.demo``) on the sample SaaS project of fixtures/saas.py: the open
branch merges and every tenant follows with its rows kept; the conflicting branch is refused
and changes nothing; the project it leaves behind says so too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cinch
from fixtures import saas


def test_the_demo_merges_into_every_tenant_and_refuses_the_conflict(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-m", "cinch.demo", str(tmp_path)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)  # cwd: not the checkout, as a user may
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "column_added     invoices.discount_cents" in out
    assert "same_object_different_definition: column invoices.currency" in out
    assert "main is unchanged; every tenant untouched" in out
    assert "Merge branch 'feature/usage' into main" in out

    with cinch.open(tmp_path / "saas") as project:
        assert project.database().changes()[-1].message == "Add column invoices.currency TEXT"
        for name in saas.TENANTS:
            tenant = project.tenant(name)
            columns = [r["name"] for r in tenant.rows("SELECT name FROM "
                                                      "pragma_table_info('invoices')")]
            assert columns[-2:] == ["discount_cents", "currency"]
            assert tenant.query("SELECT count(*) FROM invoices").rows == [(24,)]
            assert tenant.query("SELECT count(*) FROM invoices "
                                "WHERE discount_cents != 0").rows == [(0,)]
