"""The code blocks of the documentation pages, by language, for the tests that run them.

A block whose info string says ``fragment`` (```` ```python fragment ````) is an excerpt that
needs context the page does not give; every other block of a checked language runs.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "docs" / "content"
_FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", flags=re.S | re.M)


def blocks(page: Path, *languages: str) -> list[str]:
    """The page's blocks in these languages, in order, fragments left out."""
    return [body for language, info, body in _FENCE.findall(page.read_text())
            if language in languages and "fragment" not in info.split()]


def pages() -> list[Path]:
    """Every written page (the generated references hold signatures, not examples)."""
    return sorted(p for p in CONTENT.rglob("*.md*")
                  if "reference" not in p.relative_to(CONTENT).parts)
