"""Write the HTTP API's OpenAPI document to docs/openapi.json (the TypeScript SDK's input).

    python scripts/export_openapi.py          # write it
    python scripts/export_openapi.py --check  # exit 1 if the committed file has drifted
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The document of an app over a throwaway project (the API does not depend on it)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("CINCH_AUTHOR_NAME", "cinch")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "cinch@localhost")
    import cinch
    from cinch.server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        cinch.init(Path(tmp) / "project").close()
        return create_app(Path(tmp) / "project").openapi()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json drifted")
    args = parser.parse_args()
    text = render(openapi_document())
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python scripts/export_openapi.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
