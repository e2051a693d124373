"""Benchmark merging: semantic conflict detection for 200 change sets on each side, and branch
creation with 10,000 tenants.

Run: ``.venv/bin/python bench/bench_merge.py [--changes 200] [--tenants 10000]``. Targets:
detection < 100 ms, branch create < 100 ms. Everything happens in a temporary folder that is
removed afterwards. Each figure is the best of several runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cinch
from cinch.engine.branches import create_branch, delete_branch
from cinch.engine.conflicts import Side, detect, merge_schemas
from cinch.engine.database import Database
from cinch.engine.merge import check_merge

TARGET_MS = 100.0


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def _side(db: Database, prefix: str, count: int) -> None:
    """``count`` change sets of the usual mix: tables, columns on base tables, indexes, views."""
    made = 0
    n = 0
    while made < count:
        table = f"{prefix}_t{n}"
        db.create_table(table, ["name:TEXT", "qty:INTEGER"])
        db.add_column(f"base{n % 20}", f"{prefix}_c{n}:TEXT")
        db.add_column(table, "note:TEXT")
        db.create_index(table, ["name"])
        made += 4
        if n % 10 == 0 and made < count:
            db.create_view(f"{prefix}_v{n}", f"SELECT name FROM {table}")
            made += 1
        n += 1


def build(root: Path, changes: int) -> cinch.Project:
    project = cinch.init(root)
    main = project.database()
    for i in range(20):
        main.create_table(f"base{i}", ["name:TEXT", "email:TEXT"])
    for name, prefix in (("left", "l"), ("right", "r")):
        create_branch(project, name, empty=True)
        _side(project.database(branch=name), prefix, changes)
    return project


def bench_detection(project: cinch.Project, runs: int,
                    changes: int = 200) -> tuple[float, float, float, float]:
    history, git = project.history, project.git
    left, right = git.branch_tip("left"), git.branch_tip("right")
    base = git.merge_base(left, right)
    known = {e.id for e in history.log(base, "main")}

    def side(branch: str, tip: str) -> Side:
        return Side(branch, [c for c in history.changes(tip, "main") if c.id not in known],
                    history.schema(tip, "main"))

    ours, theirs = side("right", right), side("left", left)
    assert len(ours.changes) >= changes and len(theirs.changes) >= changes
    base_schema = history.schema(base, "main")
    rules = best_of(runs, lambda: detect("main", base_schema, ours, theirs))
    replay = best_of(max(1, runs // 2), lambda: merge_schemas("main", base_schema, ours, theirs))
    warm = best_of(max(1, runs // 2), lambda: check_merge(project, "left", "right"))

    def cold() -> None:
        with cinch.open(project.root) as fresh:  # re-reads every change set from git
            check_merge(fresh, "left", "right")

    return rules, replay, warm, best_of(1, cold)


def bench_branch(project: cinch.Project, tenants: int, runs: int) -> tuple[float, float]:
    names = [f"t{i:05d}" for i in range(tenants - 1)]
    for start in range(0, len(names), 1000):
        project.tenants.create_many("main", "main", names[start:start + 1000])
    assert len(project.tenants.names("main", "main")) == tenants
    counter = iter(range(10_000))

    def create(empty: bool) -> float:
        def work() -> None:
            create_branch(project, f"b{next(counter)}", start="main", empty=empty)
        return best_of(runs, work)

    forked, empty = create(False), create(True)
    for info in list(project.git.branches()):
        if info.startswith("b"):
            delete_branch(project, info, force=True)
    return forked, empty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    with tempfile.TemporaryDirectory(prefix="cinch-bench-merge-") as tmp:
        start = time.perf_counter()
        project = build(Path(tmp) / "acme", args.changes)
        print(f"setup: {args.changes} change sets on each side in "
              f"{time.perf_counter() - start:.1f} s")
        rules, replay, warm, cold = bench_detection(project, args.runs, args.changes)
        print(f"conflict detection (the rules), {args.changes}+{args.changes} change sets: "
              f"{rules:.1f} ms ({rules / TARGET_MS:.2f}x the {TARGET_MS:.0f} ms target)")
        print(f"  with the final replay of {args.changes} change sets on a shadow: "
              f"{replay:.1f} ms ({replay / TARGET_MS:.2f}x)")
        print(f"  check_merge (logs, schemas cached): {warm:.1f} ms; "
              f"from a fresh process (parses every change file): {cold:.1f} ms")
        forked, empty = bench_branch(project, args.tenants, args.runs)
        print(f"branch create at {args.tenants} tenants: {forked:.1f} ms "
              f"({forked / TARGET_MS:.2f}x target); --empty: {empty:.1f} ms "
              f"({empty / TARGET_MS:.2f}x)")
        project.close()


if __name__ == "__main__":
    main()
