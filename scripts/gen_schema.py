"""Generate the published JSON Schema of change-set files from the pydantic models.

    python scripts/gen_schema.py           # (re)write cinch/schemas/changeset.schema.json
    python scripts/gen_schema.py --check   # exit 1 if the shipped copy differs from the models
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "cinch" / "schemas" / "changeset.schema.json"


def render() -> bytes:
    """The schema file's bytes: ``cinch.models.changeset.json_schema()``, stably formatted."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from cinch.models.changeset import json_schema

    return (json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False)
            + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; fail if the shipped schema is stale")
    args = parser.parse_args(argv)
    expected = render()
    if args.check:
        current = TARGET.read_bytes() if TARGET.exists() else b""
        if current != expected:
            sys.stderr.write(f"{TARGET.relative_to(ROOT)} is stale: run "
                             "python scripts/gen_schema.py\n")
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(expected)
    sys.stdout.write(f"wrote {TARGET.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
