"""The tour's and the guides' shell blocks, run as written with the real ``cinch`` in an empty
folder: a page whose commands stop working fails here. The guides that start a server or need
other programs run in files of their own (test_guide_*.py), to keep each file short."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.examples import CONTENT, blocks, pages, run_shell_page
from tests.warm import WarmServer

RUNNABLE = ["getting-started/tour.md", "guides/team-hub.md", "guides/backups.md",
            "guides/sample-project.md"]
# page -> the test file that runs it
ELSEWHERE = {"guides/http.md": "tests/server/test_docs_walkthrough.py",
             "guides/ci.md": "tests/docs/test_guide_ci.py",
             "guides/reverse-proxy.md": "tests/docs/test_guide_reverse_proxy.py",
             "guides/adopting.md": "tests/docs/test_guide_adopting.py",
             "guides/migrating-from-cinchdb.md": "tests/docs/test_guide_cinchdb.py"}


def test_the_runnable_pages_are_the_ones_with_shell_blocks() -> None:
    with_shell = {str(p.relative_to(CONTENT)) for p in pages() if blocks(p, "sh", "bash")}
    assert with_shell == set(RUNNABLE) | set(ELSEWHERE), (
        "a page with ```sh blocks is run here or by the file ELSEWHERE names; a listing that "
        "needs context the page does not give is marked ```sh fragment")
    root = CONTENT.parents[1]
    assert all((root / test).is_file() for test in ELSEWHERE.values())


@pytest.mark.parametrize("page", RUNNABLE)
def test_the_shell_blocks_run_as_written(page: str, tmp_path: Path, warm: WarmServer) -> None:
    run_shell_page(page, tmp_path, warm=warm)
