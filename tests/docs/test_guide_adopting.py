"""docs/content/guides/adopting.md run as written: SQLite files an application already has
become a project's first change set and its tenants, rows kept and the original files
untouched; an outlier is left alone, then repaired."""

from __future__ import annotations

from pathlib import Path

from tests.docs.examples import run_shell_page
from tests.warm import WarmServer


def test_the_adopting_guide_runs_as_written(tmp_path: Path, warm: WarmServer) -> None:
    out = run_shell_page("guides/adopting.md", tmp_path, ("sqlite3",), warm=warm)
    assert "customers/hooli.db: left alone" in out and "(dry run: nothing changed)" in out
    assert "customers/hooli.db: repaired" in out and "4 tenant(s) adopted" in out
    assert "acme HQ,free\nacme West,free" in out
    assert "hooli HQ,free" in out  # repaired to the majority schema, its row kept
    assert "\nid\nname\n" in out  # the original file is as it was
    assert "kind\nlogin" in out  # the second database, adopted
    assert "initech HQ,\ninitech West," in out  # a later change reached every tenant
    assert (tmp_path / "app" / ".cinch").is_dir() and not (tmp_path / "customers" / ".cinch").exists()

