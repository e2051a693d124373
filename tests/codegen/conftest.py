"""A project whose schema has every column type, constraint and SQLite pitfall codegen handles,
built once per session; each test gets a copy."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import cinch
from cinch.engine.branches import commit_config

# Every column kind and flag, keyword and non-identifier names, JSON with and without a type
# override, integers that need 64 bits, both kinds of table.
USERS = [
    "email:TEXT:unique:not-null", "name:TEXT", "age:INTEGER:not-null:default=0",
    "active:BOOLEAN:not-null:default=true", "score:REAL", "balance:NUMERIC",
    "price:DECIMAL(10,2)", "born:DATE", "seen_at:DATETIME", "stamp:TIMESTAMP:default=NOW",
    "prefs:JSON", "meta:JSON", "avatar:BLOB", "class:TEXT", "_secret:TEXT", "model_type:TEXT",
    "json:TEXT", "big:BIGINT", "code:VARCHAR(8):not-null:default=x", "token:TEXT:default=UUID4",
    "from:INTEGER",
]
THINGS = ["n:INTEGER:not-null", "anything:ANY", "label:TEXT:not-null:default=x", "amount:REAL",
          "owner:TEXT:references=users:on-delete=cascade", "data:BLOB", "count:INT"]
ORDER = ["select:TEXT", "user_id:TEXT:references=users.id", "total:REAL:not-null:default=0"]
ADULTS_SQL = ("SELECT id, email, active, prefs, age >= 18 AS grown, big FROM users "
              "WHERE age >= 18")
TOTALS_SQL = 'SELECT user_id, count(*), sum(total) AS "sum total" FROM "order" GROUP BY user_id'
OVERRIDES = {"python": {"users.prefs": "dict[str, int]"},
             "typescript": {"main.users.prefs": "Record<string, number>"}}


def build_fixture(root: Path) -> None:
    with cinch.init(root) as project:
        db = project.database()
        db.create_table("users", USERS, message="users with every kind of column")
        db.create_index("users", ["name", "age"])
        db.create_table("things", THINGS, strict=True, message="a STRICT table")
        db.create_table("order", ORDER, message="a table named by a keyword")
        db.create_view("adults", ADULTS_SQL)
        db.create_view("order_totals", TOTALS_SQL)
        config = project.config()
        config.codegen.python = OVERRIDES["python"]
        config.codegen.typescript = OVERRIDES["typescript"]
        commit_config(project, "main", config, "Type the JSON column users.prefs")
        project.tenants.create("main", "main", "acme")


@pytest.fixture(scope="session")
def codegen_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("codegen") / "shop"
    build_fixture(root)
    return root


@pytest.fixture
def shop(codegen_template: Path, tmp_path: Path) -> Iterator[cinch.Project]:
    """A copy of the fixture project, with one tenant, ``acme``."""
    root = tmp_path / "shop"
    shutil.copytree(codegen_template, root, symlinks=True)
    with cinch.open(root) as project:
        yield project


_HEADER_IDS = re.compile(r"at commit [0-9a-f]{40}|change set [0-9A-Z]{26}")


def stable(text: str) -> str:
    """A generated file with the commit and change id of its header made fixed (they differ
    for every build of the fixture)."""
    return _HEADER_IDS.sub(lambda m: m.group(0).split(" ")[0] + " " +
                           m.group(0).split(" ")[1] + " <id>", text)


def import_generated(folder: Path, package: str) -> Callable[[], object]:
    """Import the package generated in ``folder/package`` (fresh: folder is per test)."""
    import importlib

    sys.path.insert(0, str(folder))
    try:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        return importlib.import_module(package)  # type: ignore[return-value]
    finally:
        sys.path.remove(str(folder))


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the session: the standard library's and cinch's stubs are read once
    (the generated package's entries are checked again: it is another file each time)."""
    return tmp_path_factory.mktemp("mypy-cache")


def run_mypy(folder: Path, *paths: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """mypy --strict over ``paths`` in ``folder``, with the cinch sources it imports typed
    (their own errors are not the generated code's)."""
    (folder / "mypy.ini").write_text(f"[mypy]\nstrict = True\ncache_dir = {cache}\n\n"
                                     "[mypy-cinch.*]\nfollow_imports = silent\n")
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", *paths],
        cwd=folder, capture_output=True, text=True, timeout=300,
        env={"MYPYPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(folder)},
    )
