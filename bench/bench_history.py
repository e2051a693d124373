"""Reading a long history: `cinch status` and `cinch log` on a branch of 10,000 commits.

The project has four databases (so `status` reads four logs and schemas). ``main`` gets a few
hundred change sets through the engine's own write path (including feature branches merged
back, so the log has merge commits); then the bulk of the commits goes straight through
``git fast-import``, one valid change-set file per commit as cinch writes them, round robin over
the databases (far cheaper than 10,000 trips through the write path); then a few more engine
changes on top (through the engine, whose tenants follow them). The templates of the bulk are
written at the head directly (final schema and ledger), which is what applying 10,000 change
sets one by one would leave, minus minutes of setup: apply speed is bench_merge_apply.py's.

Every figure is printed beside a floor measured in the same run, as a ratio (machines are shared
and noisy: absolute times drift, ratios hold): ``git log`` / ``git status`` with the git binary
and a raw pygit2 walk on the same repository. "cold" means a fresh Project (API) or a fresh
process (CLI) with nothing in memory; "no disk cache" also removes ``.cinch/cache`` first (the
first run ever on a clone); otherwise the cache is as the engine's own commands left it.

    python bench/bench_history.py [--commits 10000] [--real 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pygit2

import cinch
from cinch.engine import inspect
from cinch.engine.branches import create_branch, delete_branch
from cinch.engine.database import TRAILER_CHANGE, TRAILER_DATABASE
from cinch.engine.history import changes_dir
from cinch.engine.merge import merge
from cinch.models.changeset import Author, ChangeSet
from cinch.models.ids import ulid
from cinch.models.schema import Schema
from cinch.planner import build
from cinch.planner.columns import ColumnSpec
from cinch.planner.plan import plan_many
from cinch.planner.sqlgen import schema_statements
from cinch.stores import tenantstore as ts
from cinch.stores.gitstore import now_utc

_SCRIPT = Path(sys.executable).with_name("cinch")
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c",
                                               "from cinch.cli.app import main; main()"]
TARGET_S = 2.0


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


# --- building the project -------------------------------------------------------------------


def _real_changes(project: cinch.Project, count: int) -> int:
    """``count`` change sets through the write path; every 10th pair lands through a merge."""
    made, n = 0, 0
    db = project.database()
    db.create_table("users", ["name:TEXT", "email:TEXT"])
    made += 1
    while made < count:
        if n % 10 == 9:  # a feature branch with two change sets, merged back
            name = f"feature{n}"
            create_branch(project, name, start="main")
            feature = project.database(branch=name)
            feature.create_table(f"f{n}", ["title:TEXT"])
            feature.add_column(f"f{n}", "body:TEXT")
            db.add_column("users", f"m{n}:TEXT")  # main moves on meanwhile
            merge(project, name, "main")
            delete_branch(project, name)
            made += 3
        elif n % 4 == 0:
            db.create_table(f"r{n}", ["name:TEXT", "qty:INTEGER"])
            made += 1
        elif n % 4 == 3:
            db.create_index(f"r{n - n % 4}", ["name"])
            made += 1
        else:
            db.add_column(f"r{n - n % 4}", f"c{n}:TEXT")
            made += 1
        n += 1
    return made


ALIVE = 40


def _bulk_changes(schemas: dict[str, Schema], count: int) -> list[ChangeSet]:
    """``count`` valid change sets, round robin over the databases of ``schemas`` (changed in
    place): tables, columns, indexes, as the write path would have built them."""
    author = Author(name="bench", email="bench@localhost")
    out = []
    tables: dict[str, str] = {}
    dbs = sorted(schemas)
    for n in range(count):
        db, i = dbs[n % len(dbs)], n // len(dbs)
        schema = schemas[db]
        if i % 25 == 0:
            tables[db] = table = f"b{i}"
            ops = build.create_table(schema, table, [ColumnSpec("name"), ColumnSpec("qty",
                                                                                    "INTEGER")])
            message = f"Create table {table}"
            if i >= 25 * ALIVE:  # the schema keeps ALIVE bulk tables: history has churn
                old = f"b{i - 25 * ALIVE}"
                ops = build.drop_table(schema, old) + ops
                message = f"Replace table {old} with {table}"
        elif i % 25 == 24:
            table = tables[db]
            ops = build.create_index(schema, table, ["name"])
            message = f"Index {table}.name"
        else:
            table = tables[db]
            ops = build.add_column(schema, table, ColumnSpec(f"c{i}"))
            message = f"Add column {table}.c{i}"
        result, after = plan_many(schema, ops)
        schema.tables, schema.indexes, schema.views = after.tables, after.indexes, after.views
        out.append(ChangeSet(id=ulid(), database=db, message=message, author=author,
                             created_at=now_utc(), operations=ops, sql=result.statements))
    return out


def _fast_import(root: Path, changes: list[ChangeSet]) -> None:
    """One commit per change set on main, through git fast-import (a pack, deltified)."""
    tip = subprocess.run(["git", "rev-parse", "refs/heads/main"], cwd=root, check=True,
                         capture_output=True, text=True).stdout.strip()
    stamp = int(time.time())
    chunks: list[bytes] = []
    for n, change in enumerate(changes):
        message = (f"{change.message}\n\n{TRAILER_CHANGE}: {change.id}\n"
                   f"{TRAILER_DATABASE}: {change.database}\n").encode()
        body = change.to_json()
        chunks.append(b"commit refs/heads/main\n")
        chunks.append(f"committer bench <bench@localhost> {stamp} +0000\n".encode())
        chunks.append(b"data %d\n%s\n" % (len(message), message))
        if n == 0:
            chunks.append(f"from {tip}\n".encode())
        chunks.append(f"M 100644 inline {changes_dir(change.database)}/{change.filename}\n"
                      .encode())
        chunks.append(b"data %d\n%s\n" % (len(body), body))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(chunks),
                   check=True)
    # The work tree and index follow the new tip (as cinch's own commits keep them).
    subprocess.run(["git", "reset", "--hard", "--quiet"], cwd=root, check=True)


DATABASES = ("main", "analytics", "billing", "audit")


def _templates_at_head(project: cinch.Project, schemas: dict[str, Schema]) -> None:
    """Each database's template at the head, written directly: the final schema and a ledger
    row per change set of the log, which is what applying the bulk one change set at a time
    would leave (the apply path is what bench_apply.py and bench_merge_apply.py measure; here
    it would only make the setup minutes longer). The main tenants are then copied from them."""
    head = project.git.branch_tip("main")
    assert head is not None
    for db in DATABASES:
        project.tenants.delete(db, "main", "main")
        path = project.tenants.template_path(db, "main")
        project.tenants.pool.close_path(path)
        for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            extra.unlink(missing_ok=True)
        tmp = path.with_name("bench.tmp")
        conn = ts.connect(tmp)
        ts.ensure_ledger(conn)
        conn.execute("BEGIN")
        for sql in schema_statements(schemas[db]):
            conn.execute(sql)
        conn.executemany("INSERT INTO _cinch_log(seq, change_id, commit_id, applied_at) "
                         "VALUES (?, ?, ?, ?)", [(seq, e.id, head, "2026-01-01T00:00:00.000Z")
                                                 for seq, e in enumerate(
                                                     project.history.log(head, db), 1)])
        conn.execute("COMMIT")
        conn.close()
        ts.finalize_template(tmp)
        os.replace(tmp, path)


def build_project(root: Path, commits: int, real: int) -> tuple[cinch.Project, dict[str, float]]:
    times: dict[str, float] = {}
    start = time.perf_counter()
    project = cinch.init(root)
    for name in DATABASES[1:]:
        project.create_database(name)
    made = _real_changes(project, real)
    times["engine"] = time.perf_counter() - start
    start = time.perf_counter()
    head = project.git.branch_tip("main")
    tail = 5
    bulk = commits - len(list(project.git.walk(head))) - tail
    schemas = {db: project.history.schema(head, db).model_copy(deep=True) for db in DATABASES}
    _fast_import(root, _bulk_changes(schemas, bulk))
    times["fast-import"] = time.perf_counter() - start
    start = time.perf_counter()
    project.close()
    project = cinch.open(root)
    _templates_at_head(project, schemas)
    db = project.database()
    for i in range(tail):  # the head is the engine's own commit, its tenants follow
        db.add_column("users", f"tail{i}:TEXT")
    project.sync()
    times["tenants + tail"] = time.perf_counter() - start
    times["engine change sets"] = made
    return project, times


# --- measuring ------------------------------------------------------------------------------


def _cli(root: Path, *args: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run([*CLI, "-C", str(root), *args], check=True, stdout=subprocess.DEVNULL)
    return run


def _git(root: Path, *args: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(["git", *args], cwd=root, check=True, stdout=subprocess.DEVNULL)
    return run


def _pygit2_walk(root: Path, limit: int | None) -> Callable[[], None]:
    def run() -> None:
        repo = pygit2.Repository(str(root))
        walker = repo.walk(repo.head.target, pygit2.enums.SortMode.TOPOLOGICAL |
                           pygit2.enums.SortMode.TIME)
        for n, commit in enumerate(walker, 1):
            commit.message  # noqa: B018 - what a log line reads
            if limit is not None and n >= limit:
                break
    return run


def _api(root: Path, what: Callable[[cinch.Project], object], *,
         disk_cache: bool) -> Callable[[], None]:
    def run() -> None:
        if not disk_cache:
            shutil.rmtree(root / ".cinch" / "cache", ignore_errors=True)
        with cinch.open(root) as project:  # nothing in memory
            what(project)
    return run


def measure(project: cinch.Project, runs: int) -> list[tuple[str, float, float, str]]:
    root = project.root
    rows: list[tuple[str, float, float, str]] = []
    git_50 = best_of(runs, _git(root, "log", "--oneline", "-n", "50"))
    git_all = best_of(runs, _git(root, "log"))
    git_status = best_of(runs, _git(root, "status", "--short"))
    walk_50 = best_of(runs, _pygit2_walk(root, 50))
    walk_all = best_of(runs, _pygit2_walk(root, None))
    startup = best_of(runs, lambda: subprocess.run([*CLI, "--help"], check=True,
                                                   stdout=subprocess.DEVNULL))
    rows.append(("cinch --help (startup, no project)", startup, git_status, "git status"))

    def status(p: cinch.Project) -> object:
        return inspect.status(p)

    def log50(p: cinch.Project) -> object:
        return inspect.log(p, limit=50)

    def log_all(p: cinch.Project) -> object:
        return inspect.log(p)

    for label, disk in (("no disk cache", False), ("disk cache", True)):
        if disk:  # fill it once
            _api(root, status, disk_cache=True)()
            _api(root, log50, disk_cache=True)()
        rows.append((f"API status, cold, {label}", best_of(runs, _api(root, status,
                                                                       disk_cache=disk)),
                     git_status, "git status"))
        rows.append((f"API log -n 50, cold, {label}", best_of(runs, _api(root, log50,
                                                                          disk_cache=disk)),
                     walk_50, "pygit2 walk 50"))
        rows.append((f"API log (all), cold, {label}", best_of(
            max(1, runs // 2), _api(root, log_all, disk_cache=disk)), walk_all,
            "pygit2 walk all"))
    # The CLI, a fresh process each time (the disk cache as the runs above left it).
    rows.append(("CLI status", best_of(runs, _cli(root, "status")), git_status, "git status"))
    rows.append(("CLI log -n 50", best_of(runs, _cli(root, "log", "-n", "50")), git_50,
                 "git log --oneline -n 50"))
    rows.append(("CLI log --all-commits -n 50", best_of(
        runs, _cli(root, "log", "--all-commits", "-n", "50")), git_50, "git log --oneline -n 50"))
    rows.append(("CLI log (all)", best_of(max(1, runs // 2), _cli(root, "log")), git_all,
                 "git log"))
    rows.append(("CLI status, no disk cache", best_of(runs, lambda: (
        shutil.rmtree(root / ".cinch" / "cache", ignore_errors=True), _cli(root, "status")())),
        git_status, "git status"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--real", type=int, default=300, help="change sets via the engine")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"pygit2 {pygit2.__version__} (libgit2 {pygit2.LIBGIT2_VERSION}), "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="cinch-bench-history-") as tmp:
        project, times = build_project(Path(tmp) / "acme", args.commits, args.real)
        head = project.git.branch_tip("main")
        count = sum(1 for _ in project.git.walk(head))
        entries = sum(len(project.history.log(head, db)) for db in DATABASES)
        print(f"setup: {count} commits on main, {entries} change sets in {len(DATABASES)} "
              "databases "
              f"({int(times.pop('engine change sets'))} through the engine); "
              + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
        project.close()
        print(f"{'what':<40}{'cinch s':>9}{'floor s':>9}{'ratio':>8}  floor")
        for what, ours, floor, floor_name in measure(project, args.runs):
            flag = "  (over the 2 s target)" if what.startswith(("CLI status", "CLI log -n")) \
                and ours > TARGET_S else ""
            print(f"{what:<40}{ours:>9.3f}{floor:>9.3f}{ours / floor:>8.1f}  {floor_name}{flag}",
                  flush=True)


if __name__ == "__main__":
    main()
