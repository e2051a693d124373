"""Tenants moving along git's history: a reset of 5 change sets, a pull of a merge made in
another clone, and a branch switch with nothing to apply, against raw sqlite3.

The floor runs the same statements with Python's sqlite3 alone, file by file, one transaction
per change set (what a hand-written migration loop would do). Ratios, measured in one run.

    python bench/bench_moves.py --tenants 1000 --tenants 10000
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import fill, floor_apply, timed

import cinch
from cinch.engine import branches, remotes

RESET = 5


def _git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "CINCH_HOOKS": "off", "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def run(n: int, work: Path) -> list[tuple[str, float, float]]:
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    hub = work / "hub.git"
    _git("init", "-q", "--bare", str(hub), cwd=work)
    project = cinch.init(work / "a")
    db = project.database()
    db.create_table("users", ["name:TEXT", "email:TEXT", "age:INTEGER"])
    names = [f"t{i:05d}" for i in range(n)]
    project.tenants.create_many("main", "main", names)
    files = [project.tenants.store.path("main", "main", name) for name in names]
    fill(files, 10)
    remotes.add_remote(project, "origin", str(hub))
    remotes.push(project, "origin", "main")
    floor_dir = work / "floor"
    shutil.copytree(files[0].parent, floor_dir)
    floor_files = [floor_dir / f.name for f in files]

    # A reset of 5 change sets: tenants unwind them (each a DROP COLUMN).
    for i in range(RESET):
        db.add_column("users", f"c{i}:TEXT")
    drops = [[f'ALTER TABLE "users" DROP COLUMN "c{i}"'] for i in reversed(range(RESET))]
    adds = [[f'ALTER TABLE "users" ADD COLUMN "c{i}" TEXT'] for i in range(RESET)]
    floor_apply(floor_files, adds)
    _git("reset", "-q", "--hard", f"HEAD~{RESET}", cwd=project.root)
    project.close()
    project = cinch.open(project.root)
    t_reset = timed(lambda: project.sync(branch="main"))
    t_reset_floor = timed(lambda: floor_apply(floor_files, drops))

    # A pull of a merge made in another clone: a fast-forward that brings two change sets.
    other = remotes.clone(str(hub), work / "b")
    branches.create_branch(other, "feature")
    other.database(branch="feature").add_column("users", "plan:TEXT")
    other.database().add_column("users", "phone:TEXT")
    from cinch.engine.merge import merge

    merge(other, "feature", "main")
    remotes.push(other, "origin", "main")
    other.close()
    pulled = [['ALTER TABLE "users" ADD COLUMN "phone" TEXT'],
              ['ALTER TABLE "users" ADD COLUMN "plan" TEXT']]
    t_pull = timed(lambda: remotes.pull(project, "origin", "main"))
    t_pull_floor = timed(lambda: floor_apply(floor_files, pulled))

    # A switch between branches with nothing to apply (the post-checkout hook's sync).
    branches.create_branch(project, "side")
    project.sync(branch="side")

    def switch() -> None:
        for branch in ("side", "main"):
            project.sync(branch=branch)

    t_switch = timed(switch) / 2

    def floor_open() -> None:  # the least a per-tenant check can cost: open each file
        for path in floor_files:
            sqlite3.connect(path).execute("SELECT 1").fetchall()

    t_switch_floor = timed(floor_open)
    project.close()
    return [(f"reset {RESET} x {n}", t_reset, t_reset_floor),
            (f"pull of a merge x {n}", t_pull, t_pull_floor),
            (f"switch, nothing x {n}", t_switch, t_switch_floor)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, action="append")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cores")
    print(f"{'what':<28}{'cinch s':>10}{'floor s':>10}{'ratio':>8}")
    for n in args.tenants or [1000, 10000]:
        with tempfile.TemporaryDirectory(prefix="cinch-bench-") as tmp:
            for what, ours, floor in run(n, Path(tmp)):
                print(f"{what:<28}{ours:>10.3f}{floor:>10.3f}{ours / floor:>8.2f}", flush=True)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
