"""`cinch codegen typescript`: golden files, and `tsc --noEmit --strict` on fresh output."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import cinch
from tests.codegen.conftest import stable

GOLDEN = Path(__file__).parent / "golden" / "typescript"
UPDATE = os.environ.get("CINCH_UPDATE_GOLDEN") == "1"
TS = Path(__file__).parent / "ts"
TSC = TS / "node_modules" / ".bin" / "tsc"


def test_output_matches_the_golden_files(shop: cinch.Project) -> None:
    files = shop.database().codegen("typescript").files
    assert sorted(files) == ["index.ts", "query.ts", "schema.ts"]
    for name, text in files.items():
        golden = GOLDEN / name
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(stable(text))
        assert stable(text) == golden.read_text(), f"{name} differs from {golden}"


def tsc(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    if not TSC.exists():
        pytest.fail(f"{TSC} is missing: run `make install-all` (npm ci in {TS})")
    shutil.copy(TS / "tsconfig.json", folder / "tsconfig.json")
    return subprocess.run([str(TSC), "-p", "tsconfig.json", "--noEmit", "--strict", *options],
                          cwd=folder, capture_output=True, text=True, timeout=300)


def test_tsc_strict_compiles_fresh_output_refuses_misuse_and_a_type_error(
        shop: cinch.Project, tmp_path: Path) -> None:
    """One compile (a tsc start is seconds of CPU) of every int mode's output beside the checks
    that use its types the way applications do, and of a copy with one column's type broken.
    Each `@ts-expect-error` line in the checks is a misuse tsc must refuse (an unused one is an
    error of its own); the only errors allowed are the broken copy's."""
    for int_mode, check in (("number", "use.ts"), ("bigint", "wide.ts"), ("string", None)):
        shop.database().codegen("typescript", int_mode=int_mode).write(tmp_path / int_mode / "db")
        if check:
            (tmp_path / int_mode / "checks").mkdir()
            shutil.copy(TS / "checks" / check, tmp_path / int_mode / "checks" / check)
    shop.database().codegen("typescript").write(tmp_path / "broken" / "db")
    schema = tmp_path / "broken" / "db" / "schema.ts"
    schema.write_text(schema.read_text().replace("email: string;", "email: strin;", 1))
    result = tsc(tmp_path)
    errors = [line for line in result.stdout.splitlines() if ": error TS" in line]
    assert result.returncode != 0 and errors, result.stdout + result.stderr
    assert all(line.startswith("broken/") for line in errors), result.stdout
    assert any("strin" in line for line in errors), result.stdout
