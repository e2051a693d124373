"""The reference pages (docs/content/reference/) are what scripts/gen_docs_ref.py writes from
the code: a command, option, route, setting or error code added without regenerating fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_docs_ref.py"


def check(root: Path) -> subprocess.CompletedProcess[str]:
    """``gen_docs_ref.py --check`` over ``root``, importing that checkout's cinch."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, str(root / "scripts" / "gen_docs_ref.py"), "--check",
                           "--root", str(root)], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_committed_reference_pages_match_the_code() -> None:
    done = check(ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def copy_checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "cinch", copy / "cinch",
                    ignore=shutil.ignore_patterns("__pycache__", "console", "docs_site"))
    shutil.copytree(ROOT / "git_hooks", copy / "git_hooks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    (copy / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "openapi.json", copy / "docs" / "openapi.json")
    shutil.copytree(ROOT / "docs" / "content", copy / "docs" / "content")
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_drift_check_fails_for_each_kind_of_addition(tmp_path: Path) -> None:
    copy = copy_checkout(tmp_path)
    # a command with an option, an error code, a setting, a route
    edit(copy / "cinch" / "cli" / "app.py", '    "status": Entry(',
         '    "frobnicate": Entry("frob_cmds", "frobnicate", "Frobnicate the project."),\n'
         '    "status": Entry(')
    (copy / "cinch" / "cli" / "frob_cmds.py").write_text(
        'import typer\n\n\n'
        'def frobnicate(level: int = typer.Option(1, "--level", help="How hard")) -> None:\n'
        '    """Frobnicate the project."""\n')
    with (copy / "cinch" / "errors.py").open("a") as errors:
        errors.write('\n\nclass Frobbed(CinchError):\n    """Frobbed too hard."""\n\n'
                     '    code = "frobbed"\n    http_status = 418\n')
    edit(copy / "cinch" / "engine" / "config.py", "class LimitsConfig(BaseModel):\n",
         "class LimitsConfig(BaseModel):\n    frob_level: int = Field(default=3, "
         "description=\"How hard to frobnicate\")\n")
    spec = json.loads((copy / "docs" / "openapi.json").read_text())
    spec["paths"]["/frobs"] = {"get": {"tags": ["meta"], "operationId": "meta-frobs",
                                       "description": "Every frob."}}
    (copy / "docs" / "openapi.json").write_text(json.dumps(spec))
    done = check(copy)
    assert done.returncode == 1
    for added in ("`cinch frobnicate`", "--level", "`frobbed`", "`limits.frob_level`",
                  "`GET /frobs`"):
        assert added in done.stdout, f"{added} not reported as drift"
    assert "run `python scripts/gen_docs_ref.py`" in done.stderr
    # regenerating makes it whole again
    env = {**os.environ, "PYTHONPATH": str(copy)}
    subprocess.run([sys.executable, str(copy / "scripts" / "gen_docs_ref.py"), "--root",
                    str(copy)], cwd=copy, env=env, check=True, capture_output=True, timeout=120)
    assert check(copy).returncode == 0
