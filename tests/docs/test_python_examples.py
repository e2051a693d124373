"""The pages' Python blocks, run like a doctest session: each page's blocks in order, in one
namespace, in an empty folder, with the real ``cinch`` package."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from tests.docs.examples import CONTENT, blocks, pages

WITH_PYTHON = [str(p.relative_to(CONTENT)) for p in pages() if blocks(p, "python")]


def test_some_page_has_python_to_run() -> None:
    assert "guides/python.md" in WITH_PYTHON


@pytest.mark.parametrize("page", WITH_PYTHON)
def test_the_python_blocks_run(page: str, tmp_path: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    printed = io.StringIO()
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for number, code in enumerate(blocks(CONTENT / page, "python"), 1):
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"{page} block {number}", "exec"), namespace)
    finally:
        os.chdir(cwd)
        project = namespace.get("project")
        if hasattr(project, "close"):
            project.close()
    # what the page's comments promise is what it printed
    for promised in ("already_exists", "'Acme Inc', 'free'"):
        if promised in (CONTENT / page).read_text():
            assert promised in printed.getvalue()
