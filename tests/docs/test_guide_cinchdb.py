"""docs/content/guides/migrating-from-cinchdb.md run as written (the cinch side): tenant files
laid out as cinchdb 0.1.24 writes them become a project's tenants, rows kept, its template
refused by name; the SQL route imports one change set per file."""

from __future__ import annotations

from pathlib import Path

from tests.docs.examples import run_shell_page
from tests.warm import WarmServer


def test_the_cinchdb_guide_runs_as_written(tmp_path: Path, warm: WarmServer) -> None:
    out = run_shell_page("guides/migrating-from-cinchdb.md", tmp_path, ("sqlite3",), warm=warm)
    assert "__empty__.db: refused" in out and "2 tenant(s) adopted" in out
    assert "u1,Ann,ann@a.example" in out
    assert "orders\nusers" in out  # the merged branch reached an adopted tenant
    assert "imported 0002_plan.sql" in out
