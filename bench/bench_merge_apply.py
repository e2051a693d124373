"""Merge, then apply: a feature branch of 3 change sets merged into main across many tenants.

``main`` holds a ``users`` table and N tenants with rows in it; the ``feature`` branch adds a
column, creates a table and creates an index (3 change sets, through the engine). Timed:
``cinch.engine.merge.merge(project, "feature", "main")``, i.e. the semantic check, the merge
commit and every tenant of main brought to the merged head (one transaction per change set per
tenant, each recorded in the tenant's ledger).

The floor, measured in the same run (machines are shared and noisy: absolute times drift,
ratios hold): the same statements applied with Python's sqlite3 alone to a copy of the same
tenant files, file by file, one transaction per change set per file (as bench_apply.py does),
once before and once after the merge (on two copies), the mean of the two.
Target: ratio <= 1.5.

    python bench/bench_merge_apply.py [--tenants 1000 --tenants 10000] [--rows 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_apply import fill, floor_apply, timed  # this folder: the same floor as bench_apply

import cinch
from cinch.engine.branches import create_branch
from cinch.engine.merge import merge

TARGET = 1.5


def run(n: int, rows: int, work: Path) -> tuple[float, float, dict[str, float]]:
    setup: dict[str, float] = {}
    start = time.perf_counter()
    project = cinch.init(work / f"p{n}")
    main = project.database()
    main.create_table("users", ["name:TEXT", "email:TEXT", "age:INTEGER"])
    names = [f"t{i:05d}" for i in range(n - 1)]  # with "main": n tenants
    for chunk in range(0, len(names), 1000):
        project.tenants.create_many("main", "main", names[chunk:chunk + 1000])
    files = [project.tenants.path("main", "main", name) for name in ["main", *names]]
    fill(files, rows)
    setup["tenants"] = time.perf_counter() - start

    start = time.perf_counter()
    create_branch(project, "feature", start="main")
    feature = project.database(branch="feature")
    change_sets = [
        feature.add_column("users", "nick:TEXT").sql,
        feature.create_table("orders", ["user_id:INTEGER", "total:REAL"]).sql,
        feature.create_index("users", ["email"]).sql,
    ]
    setup["feature branch"] = time.perf_counter() - start

    copies = []
    for k in (1, 2):  # the floor runs before and after the merge: the mean evens out drift
        floor_dir = work / f"floor{n}-{k}"
        shutil.copytree(files[0].parent, floor_dir)
        copies.append([floor_dir / f.name for f in files])
    project.close()
    project = cinch.open(project.root)  # nothing in memory, as a fresh `cinch merge`

    t_before = timed(lambda: floor_apply(copies[0], change_sets))
    result: list[object] = []
    t_merge = timed(lambda: result.append(merge(project, "feature", "main")))
    t_after = timed(lambda: floor_apply(copies[1], change_sets))
    t_floor = (t_before + t_after) / 2
    setup["floor before/after"] = t_before  # shown, not added: see below
    setup["floor after"] = t_after
    outcome = result[0].tenants["main"]  # type: ignore[attr-defined]
    assert outcome["tenants"] == n and outcome["updated"] == n and not outcome["failed"], outcome
    with sqlite3.connect(files[-1]) as conn:  # the last tenant has the merged schema and rows
        assert conn.execute("SELECT count(*) FROM users WHERE nick IS NULL").fetchone()[0] == rows
        assert conn.execute("SELECT count(change_id) FROM _cinch_log").fetchone()[0] == 4
    project.close()
    return t_merge, t_floor, setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, action="append")
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    sizes = args.tenants or [1000, 10000]
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cores; {args.rows} rows per tenant; 3 change sets merged")
    print(f"{'what':<36}{'cinch s':>9}{'floor s':>9}{'ratio':>8}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="cinch-bench-merge-apply-") as tmp:
            ours, floor, setup = run(n, args.rows, Path(tmp))
            verdict = "" if ours / floor <= TARGET else f"  (over the {TARGET} target)"
            print(f"{f'merge + apply x {n} tenants':<36}{ours:>9.3f}{floor:>9.3f}"
                  f"{ours / floor:>8.2f}{verdict}", flush=True)
            before, after = setup.pop("floor before/after"), setup.pop("floor after")
            print(f"  floor before the merge {before:.3f} s, after {after:.3f} s (mean used); "
                  "setup (not timed): " + ", ".join(f"{k} {v:.1f} s" for k, v in
                                                     setup.items()), flush=True)


if __name__ == "__main__":
    main()
