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


@pytest.mark.parametrize(("int_mode", "check"), [("number", "use.ts"), ("bigint", "wide.ts"),
                                                 ("string", None)])
def test_tsc_strict_compiles_fresh_output_and_refuses_misuse(
        shop: cinch.Project, tmp_path: Path, int_mode: str, check: str | None) -> None:
    """The checks use the generated types the way applications do; each `@ts-expect-error`
    line in them is a misuse tsc must refuse (an unused one fails the compile)."""
    shop.database().codegen("typescript", int_mode=int_mode).write(tmp_path / "db")
    if check:
        (tmp_path / "checks").mkdir()
        shutil.copy(TS / "checks" / check, tmp_path / "checks" / check)
    result = tsc(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_fails_on_a_type_error_in_generated_code(shop: cinch.Project,
                                                     tmp_path: Path) -> None:
    """The check above can fail: the same compile with one column's type broken does."""
    shop.database().codegen("typescript").write(tmp_path / "db")
    schema = tmp_path / "db" / "schema.ts"
    schema.write_text(schema.read_text().replace("email: string;", "email: strin;", 1))
    result = tsc(tmp_path)
    assert result.returncode != 0 and "strin" in result.stdout
